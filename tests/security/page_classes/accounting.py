"""The classes of the accounting, reports, tax and settings pages."""

R, W = "accounting.read", "accounting.write"

PAGES = {
    ("GET", "/journal"): R, ("GET", "/journal/new"): W, ("POST", "/journal"): W,
    ("GET", "/journal/{entry_id}"): R, ("POST", "/journal/{entry_id}/reverse"): W,
    ("POST", "/journal/{entry_id}/post"): W,
    ("GET", "/accounts"): R, ("GET", "/periods"): R,
    ("POST", "/periods/{year}/{month}/lock"): W, ("POST", "/periods/{year}/{month}/unlock"): W,
    ("POST", "/periods/lock-date"): W, ("POST", "/periods/{year}/close"): W,
    ("GET", "/reports/trial-balance"): R, ("GET", "/reports/general-ledger"): R,
    ("GET", "/reports/profit-loss"): R, ("GET", "/reports/balance-sheet"): R,
    ("GET", "/reports/ar-aging"): "sales.read", ("GET", "/reports/ap-aging"): "purchasing.read", ("GET", "/reports/ppn"): R,
    ("GET", "/reports/coretax"): R,
    ("GET", "/settings"): R, ("POST", "/settings"): W,
    ("GET", "/settings/tax-codes"): R, ("GET", "/settings/tax-codes/new"): W, ("POST", "/settings/tax-codes"): W,
    ("GET", "/settings/tax-codes/{tax_code_id}"): W, ("POST", "/settings/tax-codes/{tax_code_id}"): W,
}

# Valid-looking forms (an unbalanced journal is a 422 from the form check: the permission check passed).
FORMS = {
    "/journal": {"entry_date": "2026-11-02", "description": "Page check {n}", "account": "6100", "debit": "1.000",
                 "credit": ""},
    "/periods/lock-date": {"books_closed_through": ""},
    "/settings": {"company_name": "PT Page Check", "ppn_rate": "12", "time_zone": "Asia/Jakarta", "language": "id"},
    "/settings/tax-codes": {"code": "PG{n}", "name": "Page check", "kind": "exempt", "rate": "0",
                            "base_rule": "full", "effective_from": "2026-01-01"},
}
