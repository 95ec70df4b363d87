"""Identity pages on the tenant host: sign-in and sign-out, password reset and invitations (forms shown before
sign-in, protected by the double-submit CSRF cookie), your account (password, sessions, API tokens), and for
those allowed, the users and the audit log. The same services and permissions as the JSON API.

    GET/POST /login  POST /login/mfa  POST /logout  GET/POST /reset  GET/POST /reset/confirm  GET/POST /invite
    GET /account  POST /account/password  POST /account/logout-all  POST /account/tokens  .../tokens/{id}/revoke
    POST /account/step-up  POST /account/mfa/setup  .../mfa/confirm  .../mfa/disable  .../mfa/recovery-codes
    GET /users  POST /users/invite  POST /users/{id}/active  POST /users/policy (users.manage)  GET /audit
"""

from polyflow.erp.identity.pages.common import router
from polyflow.erp.identity.pages import account, users, visitor  # noqa: F401  (each adds its pages to the router)

__all__ = ["router"]
