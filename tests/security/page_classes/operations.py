"""The classes of the operations pages: stock counts (inventory), toll manufacturing and planning (production)."""

# (method, path) -> what it demands.
PAGES = {
    ("GET", "/stock-counts"): "inventory.read", ("GET", "/stock-counts/new"): "inventory.write",
    ("POST", "/stock-counts"): "inventory.write", ("GET", "/stock-counts/{count_id}"): "inventory.read",
    ("GET", "/stock-counts/{count_id}/count"): "inventory.write",
    ("POST", "/stock-counts/{count_id}/count"): "inventory.write",
    ("POST", "/stock-counts/{count_id}/submit"): "inventory.write",
    ("POST", "/stock-counts/{count_id}/approve"): "inventory.write",
    ("POST", "/stock-counts/{count_id}/cancel"): "inventory.write",
}

# A valid-looking form per guarded POST (reaching the service proves the permission check passed).
FORMS = {
    "/stock-counts": {"location": "RM-WH", "note": "by a role"},
}
