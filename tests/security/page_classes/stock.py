"""The classes of the catalog, stock, locations and partner pages. Partner pages serve two modules like the
partners API: 'sales.read or purchasing.read' (either one opens them)."""

PARTNER_READ, PARTNER_WRITE = "sales.read or purchasing.read", "sales.write or purchasing.write"

PAGES = {
    ("GET", "/products"): "catalog.read", ("GET", "/products/new"): "catalog.write",
    ("POST", "/products"): "catalog.write",
    ("GET", "/products/{product_id}"): "catalog.read",
    ("GET", "/products/{product_id}/edit"): "catalog.write", ("POST", "/products/{product_id}/edit"): "catalog.write",
    ("POST", "/products/{product_id}/deactivate"): "catalog.write",
    ("POST", "/products/{product_id}/activate"): "catalog.write",
    ("POST", "/products/{product_id}/prices"): "catalog.write",
    ("GET", "/stock"): "inventory.read", ("GET", "/stock/moves"): "inventory.read",
    ("GET", "/stock/valuation"): "inventory.read", ("GET", "/stock/low"): "inventory.read",
    ("GET", "/locations"): "inventory.read", ("POST", "/locations"): "inventory.write",
    **{(method, f"/stock/{action}"): "inventory.write" for action in ("receive", "issue", "transfer", "adjust")
       for method in ("GET", "POST")},
    ("GET", "/partners"): PARTNER_READ, ("GET", "/partners/new"): PARTNER_WRITE, ("POST", "/partners"): PARTNER_WRITE,
    ("GET", "/partners/{partner_id}"): PARTNER_READ,
    ("GET", "/partners/{partner_id}/edit"): PARTNER_WRITE, ("POST", "/partners/{partner_id}/edit"): PARTNER_WRITE,
    ("POST", "/partners/{partner_id}/deactivate"): PARTNER_WRITE,
    ("POST", "/partners/{partner_id}/activate"): PARTNER_WRITE,
}

# A valid-looking form per guarded POST (reaching the service proves the permission check passed; the
# products count the role matrix watches must not change, so the product forms are refused by validation).
FORMS = {
    "/products": {"sku": "PAGE-1", "name": "Page product", "unit": "KG", "product_type": "raw_material"},
    "/stock/receive": {"sku": "NO-SUCH-SKU", "quantity": "1", "to_location": "RM-WH", "unit_cost": "1",
                       "reason": "purchase"},
    "/stock/issue": {"sku": "NO-SUCH-SKU", "quantity": "1", "from_location": "RM-WH", "reason": "sale"},
    "/stock/transfer": {"sku": "NO-SUCH-SKU", "quantity": "1", "from_location": "RM-WH", "to_location": "FG-WH"},
    "/stock/adjust": {"sku": "NO-SUCH-SKU", "quantity": "1", "location": "RM-WH", "direction": "out",
                      "reason": "count"},
    "/locations": {"code": "PAGE-{n}", "name": "Page location", "kind": "warehouse"},
    "/partners": {"code": "PAGE-{n}", "name": "Page partner", "is_customer": "1", "entity_type": "company"},
}
