"""The classes of the production pages (orders, SPK ticket, shop floor, runs, machines, BOMs, KPIs)."""

PAGES = {
    ("GET", "/production/orders"): "production.read",
    ("GET", "/production/orders/{order_id}"): "production.read",
    ("GET", "/production/orders/{order_id}/pdf"): "production.read",
    ("POST", "/production/orders/{order_id}/release"): "production.write",
    ("POST", "/production/orders/{order_id}/cancel"): "production.write",
    ("POST", "/production/orders/{order_id}/issue"): "production.write",
    ("POST", "/production/orders/{order_id}/return"): "production.write",
    ("POST", "/production/orders/{order_id}/close"): "production.write",
    ("POST", "/production/orders/{order_id}/executions/{execution_id}/void"): "production.write",
    ("GET", "/production/floor"): "production.read",
    ("POST", "/production/floor/{order_id}/output"): "production.write",
    ("POST", "/production/floor/{order_id}/scrap"): "production.write",
    ("GET", "/production/runs"): "production.read",
    ("GET", "/production/runs/new"): "production.write",
    ("POST", "/production/runs"): "production.write",
    ("POST", "/production/runs/{run_id}/release"): "production.write",
    ("POST", "/production/runs/{run_id}/cancel"): "production.write",
    ("GET", "/production/machines"): "production.read",
    ("POST", "/production/machines/downtime"): "production.write",
    ("POST", "/production/machines/{machine_id}/downtimes/{downtime_id}/end"): "production.write",
    ("GET", "/production/boms"): "production.read",
    ("GET", "/production/boms/{bom_id}"): "production.read",
    ("GET", "/production/kpi"): "production.read",
}

# A valid-looking form per guarded POST: a role with production.write reaches the service (a 404 for the ids
# in the path, a 422 for the run: no such product), one without it is refused before.
FORMS = {
    "/production/runs": {"sku": "NO-SUCH-SKU", "quantity": "1"},
    "/production/machines/downtime": {"machine_id": "00000000-0000-0000-0000-000000000000", "reason": "power",
                                      "started_at": "2026-11-02T07:00"},
}
