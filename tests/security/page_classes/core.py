"""The classes of the identity, dashboard and first accounting pages (catalog / stock / partners: stock.py)."""

from tests.security.page_classes.kinds import PUBLIC, SIGNED_IN

# (method, path) -> what it demands. Forms that change something are POSTs with a csrf_token.
PAGES = {
    ("GET", "/login"): PUBLIC, ("POST", "/login"): PUBLIC, ("POST", "/login/mfa"): PUBLIC,
    ("GET", "/reset"): PUBLIC, ("POST", "/reset"): PUBLIC,
    ("GET", "/reset/confirm"): PUBLIC, ("POST", "/reset/confirm"): PUBLIC,
    ("GET", "/invite"): PUBLIC, ("POST", "/invite"): PUBLIC,
    ("POST", "/logout"): SIGNED_IN,
    ("GET", "/"): SIGNED_IN,
    ("GET", "/account"): SIGNED_IN, ("POST", "/account/password"): SIGNED_IN,
    ("POST", "/account/logout-all"): SIGNED_IN, ("POST", "/account/tokens"): SIGNED_IN,
    ("POST", "/account/tokens/{token_id}/revoke"): SIGNED_IN, ("POST", "/account/step-up"): SIGNED_IN,
    ("POST", "/account/mfa/setup"): SIGNED_IN, ("POST", "/account/mfa/confirm"): SIGNED_IN,
    ("POST", "/account/mfa/disable"): SIGNED_IN, ("POST", "/account/mfa/recovery-codes"): SIGNED_IN,
    ("GET", "/users"): "users.manage", ("POST", "/users/invite"): "users.manage",
    ("POST", "/users/{user_id}/active"): "users.manage", ("POST", "/users/policy"): "users.manage",
    ("GET", "/audit"): "audit.read",
    ("GET", "/favicon.ico"): PUBLIC,
}

# A valid-looking form per guarded POST (reaching the service proves the permission check passed).
FORMS = {
    "/users/invite": {"email": "new-{n}@example.test", "name": "New", "roles": "viewer", "language": "id"},
    "/users/{user_id}/active": {"active": "0"},
    "/users/policy": {"require_mfa": "0"},
}
