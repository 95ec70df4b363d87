"""The workspace's users (users.manage): invitations, (de)activation, the owners' sign-in rules; the audit log
(audit.read)."""

from __future__ import annotations

import json
import uuid

from fastapi import BackgroundTasks, Request
from fastapi.responses import Response
from sqlalchemy.ext.asyncio import AsyncSession

from polyflow.erp.identity import endpoints as api
from polyflow.erp.identity import mfa, service
from polyflow.erp.identity.endpoints import deliver_mail_later
from polyflow.erp.identity.pages.common import Done, id_from_path, notice, role_names, router
from polyflow.erp.models.user import ROLES
from polyflow.erp.pages import html_page, page, see_other, signed_form, signed_in, tenant_of, text
from polyflow.kit.errors import InvalidInput, PolyflowError
from polyflow.platform.tenancy.deps import TenantSession
from polyflow.web.i18n import LANGUAGES, _
from polyflow.web.lists import Column, Filter, ListParams, list_response


# -- users (users.manage) ----------------------------------------------------------------------------------
USER_FILTERS = (Filter("status", "Status", (("active", "Active"), ("inactive", "Deactivated"))),)


def _status(user) -> str:
    if not user.is_active:
        return _("deactivated")
    return _("active") if user.has_password else _("invited")


def user_columns() -> list[Column]:
    return [Column("email", _("Email"), sort="email"), Column("name", _("Name")),
            Column("roles", _("Roles"), value=lambda u: role_names(u.roles)),
            Column("status", _("Status"), value=_status),
            Column("has_totp", _("2FA"), kind="bool"),
            Column("last_login_at", _("Last sign-in"), kind="datetime")]


async def users_page(request: Request, session: AsyncSession, status_code: int = 200, **context) -> Response:
    """The users as a list (search by nothing: a workspace has a handful; filter by status; CSV / Excel)."""
    p = ListParams.from_request(request, sorts=("email",), default_sort="email")
    status = p.filter("status")
    active = {"active": True, "inactive": False}.get(status)
    users, total = await service.list_users(session, active=active, limit=p.limit, offset=p.offset)
    rows = [api.user_out(u) for u in users]
    context.setdefault("invite", {"email": "", "name": "", "roles": [], "language": "id"})
    response = list_response(request, p, title=_("Users"), columns=user_columns(), rows=rows, total=total,
                             filters=USER_FILTERS, filename="users", template="tenant/users.html", search=False,
                             roles=ROLES, languages=LANGUAGES, mfa_required=await mfa.require_mfa(session),
                             **context)
    response.status_code = status_code
    return response


@router.get("/users")
@html_page
async def users(request: Request, session: TenantSession, done: Done = None):
    """The workspace's users (filter, export), the invitation form, (de)activation."""
    await signed_in(request, session, "users.manage")
    return await users_page(request, session, notice=notice(done))


@router.post("/users/invite")
@html_page
async def invite_user(request: Request, session: TenantSession, background: BackgroundTasks):
    """Invite a user: they get a one-time link to choose their password."""
    principal = await signed_in(request, session, "users.manage")
    form = await signed_form(request, principal)
    route = tenant_of(request)
    values = {"email": "", "name": "", "roles": [], "language": "id"}
    try:
        values.update(email=text(form, "email", 254), name=text(form, "name", 200),
                      roles=[r for r in form.getlist("roles") if isinstance(r, str)][:len(ROLES)],
                      language=text(form, "language", 5) or "id")
        if values["language"] not in LANGUAGES:
            raise InvalidInput(_("Choose a language from the list."))
        await service.invite_user(session, route, request.app.state.platform.settings, email=values["email"],
                                  name=values["name"], roles=values["roles"], language=values["language"],
                                  inviter=principal)
    except PolyflowError as exc:
        await session.rollback()
        return await users_page(request, session, exc.status_code, error=exc.message, invite=values)
    deliver_mail_later(request, background, route)
    return see_other("/users?done=invited")


@router.post("/users/{user_id}/active")
@html_page
async def set_user_active(request: Request, session: TenantSession, user_id: str):
    """Activate or deactivate a user (deactivating ends their sessions and revokes their API tokens)."""
    principal = await signed_in(request, session, "users.manage")
    form = await signed_form(request, principal)
    active = text(form, "active", 1)
    if active not in ("0", "1"):
        raise InvalidInput(_("Say whether the user should be active."))
    try:
        await service.update_user(session, tenant_of(request), request.app.state.platform.settings, principal,
                                  id_from_path(user_id, "no such user"), is_active=active == "1")
    except PolyflowError as exc:
        await session.rollback()
        return await users_page(request, session, exc.status_code, error=exc.message)
    return see_other("/users?done=" + ("activated" if active == "1" else "deactivated"))


@router.post("/users/policy")
@html_page
async def set_policy(request: Request, session: TenantSession):
    """An owner requires (or stops requiring) two-factor sign-in of every user."""
    principal = await signed_in(request, session, "users.manage")
    form = await signed_form(request, principal)
    try:
        await mfa.set_policy(session, request.app.state.platform.settings, principal,
                             require=text(form, "require_mfa", 5) == "1")
    except PolyflowError as exc:
        await session.rollback()
        return await users_page(request, session, exc.status_code, error=exc.message)
    return see_other("/users?done=policy")


# -- audit log (audit.read) --------------------------------------------------------------------------------
# What the log's actions mean to a reader (the codes stay in the export's raw column).
ACTIONS = {
    "create": "created", "update": "changed", "delete": "deleted", "login": "signed in",
    "login_failed": "sign-in failed", "login_password_ok": "password accepted", "logout": "signed out",
    "logout_all": "signed out everywhere", "password_changed": "password changed",
    "reset_requested": "password reset asked", "password_reset": "password reset", "invite_accepted":
    "invitation accepted", "token_created": "API token created", "token_revoked": "API token revoked",
    "step_up": "identity confirmed", "sign_in_policy": "sign-in rules changed", "mfa_enabled": "2FA turned on",
    "mfa_disabled": "2FA turned off", "mfa_failed": "2FA code refused", "mfa_reset": "2FA reset",
    "mfa_recovery_codes": "new recovery codes",
}


# Entries about a user: the services' own records say "user", the ORM's change records the table's name.
USER_ENTITIES = ("user", "users")


def _action(entry) -> str:
    english = ACTIONS.get(entry.action)
    return _(english) if english else entry.action.replace("_", " ")


def _changes(entry) -> str:
    return json.dumps(entry.changes, ensure_ascii=False, default=str, sort_keys=True) if entry.changes else ""


@router.get("/audit")
@html_page
async def audit_log(request: Request, session: TenantSession):
    """Who changed what, newest first: people by name, times in the workspace's zone; filters and export."""
    await signed_in(request, session, "audit.read")
    p = ListParams.from_request(request, sorts=(), default_sort=None)
    people, _total = await service.list_users(session, active=None, limit=500, offset=0)
    who = p.filter("user")
    user_id = next((u.id for u in people if str(u.id) == who), None)
    if who and user_id is None:
        raise InvalidInput(_("Choose a user from the list."))
    entries, total = await service.list_audit(session, entity=p.filter("entity") or None, user_id=user_id,
                                              action=p.filter("action") or None, limit=p.limit, offset=p.offset)
    # Names of the actors and of the users the entries are about, read once for the page.
    subjects = set()
    for e in entries:
        if e.entity in USER_ENTITIES and e.entity_id:
            try:
                subjects.add(uuid.UUID(e.entity_id))
            except ValueError:
                pass
    names = await service.user_names(session, {e.user_id for e in entries} | subjects)

    def actor(e) -> str:
        return names.get(e.user_id) or (_("system") if e.actor == "system" else e.actor)

    def subject(e) -> str:
        if e.entity in USER_ENTITIES and e.entity_id:
            try:
                found = names.get(uuid.UUID(e.entity_id))
            except ValueError:
                found = None
            if found:
                return f"{e.entity} · {found}"
        return f"{e.entity} {e.entity_id or ''}".strip()

    columns = [Column("at", _("When"), kind="datetime"), Column("who", _("Who"), value=actor),
               Column("action", _("Action"), value=_action), Column("entity", _("What"), value=subject),
               Column("changes", _("Changes"), value=_changes), Column("ip", _("IP address"))]
    filters = (Filter("user", "User", [(str(u.id), u.name) for u in people]),
               Filter("action", "Action", sorted(ACTIONS.items(), key=lambda kv: kv[0])),
               Filter("entity", "Record", (), kind="text"))
    return list_response(request, p, title=_("Audit log"), columns=columns, rows=entries, total=total,
                         filters=filters, filename="audit-log", search=False)
