"""The classes of the lot pages (list, detail with trace, inspection form)."""

PAGES = {
    ("GET", "/production/lots"): "production.read",
    ("GET", "/production/lots/{lot_id}"): "production.read",
    ("POST", "/production/lots/{lot_id}/inspect"): "production.write",
}

# A valid-looking form: a role with production.write reaches the service (404 for the id in the path), one
# without it is refused before.
FORMS = {"/production/lots/{lot_id}/inspect": {"result": "pass", "note": "checked"}}
