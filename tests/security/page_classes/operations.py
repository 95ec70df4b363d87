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
    ("GET", "/toll-orders"): "production.read", ("GET", "/toll-orders/new"): "production.write",
    ("POST", "/toll-orders"): "production.write", ("GET", "/toll-orders/material"): "production.read",
    ("GET", "/toll-orders/{order_id}"): "production.read",
    **{("POST", f"/toll-orders/{{order_id}}/{action}"): "production.write"
       for action in ("confirm", "receive", "consume", "deliver", "return-leftover", "complete", "invoice", "cancel")},
    ("GET", "/planning"): "production.read", ("POST", "/planning/run"): "production.write",
    ("POST", "/planning/decide"): "production.write",
    ("POST", "/planning/proposals/{proposal_id}/approve"): "production.write",
    ("POST", "/planning/proposals/{proposal_id}/reject"): "production.write",
}

# A valid-looking form per guarded POST (reaching the service proves the permission check passed).
FORMS = {
    "/stock-counts": {"location": "RM-WH", "note": "by a role"},
    "/toll-orders": {"customer_id": "00000000-0000-4000-8000-000000000000", "order_date": "2026-11-02",
                     "service_description": "Jasa maklon", "fee_price": "1.250", "fee_basis": "KG"},
    "/planning/run": {"horizon_days": "30", "include_reorder": "1"},
    "/planning/decide": {"run_id": "00000000-0000-4000-8000-000000000000", "action": "approve",
                         "proposal_ids": "00000000-0000-4000-8000-000000000000"},
}
