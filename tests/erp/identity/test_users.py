"""Managing users over real HTTP (users.manage): invitations, the plan's user limit, owners and the last
active owner, deactivation ending sessions and tokens at once, and who may use these routes."""

from __future__ import annotations

import asyncio
import re
import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from polyflow.platform import entitlements
from polyflow.platform.entitlements import MODULES
from polyflow.platform.models import Plan
from tests.fixtures.auth import TEST_PASSWORD, bearer_client as bearer, make_user, session_client, tenant_sql as sql

SUB = "pt-abc"
USERS = "/api/v1/users"


async def use_plan(platform, code: str, *, max_users: int | None = None, create: bool = False) -> None:
    """Move the tenant to plan `code` (created with every module and `max_users` if `create`). Call it
    before the first request to the live server, which then loads the route with this plan."""
    if create:
        async with AsyncSession(platform.main_engine) as session:
            session.add(Plan(code=code, name=code.title(), monthly_price="100000", max_users=max_users,
                             modules=list(MODULES), trial_days=0, is_active=True))
            await session.commit()
    await entitlements.set_plan(platform, SUB, code)


async def test_invite_creates_a_user_without_password_and_queues_the_link(live, make_tenant):
    await make_tenant(SUB)
    owner = make_user(live.settings, SUB, ["owner"])
    async with session_client(live, owner) as c:
        r = await c.post(USERS, json={"email": " New.Person@Example.TEST ", "name": "New Person",
                                      "roles": ["sales", "viewer", "sales"], "language": "en"})
        assert r.status_code == 201, r.text
        user = r.json()
        assert user["email"] == "New.Person@example.test"  # the domain is case-insensitive, the local part kept
        assert user["roles"] == ["sales", "viewer"] and user["language"] == "en" and user["is_active"]
        assert user["has_password"] is False and user["last_login_at"] is None
        assert sql(live.settings, "SELECT password_hash FROM users WHERE id = %s", uuid.UUID(user["id"])) == [(None,)]

        [(recipient, subject, body)] = sql(live.settings, "SELECT recipient, subject, body FROM outbox")
        assert recipient == "New.Person@example.test" and subject == "You are invited to PT-ABC on Polyflow"
        link = re.search(r"(\S+)/invite\?token=([\w-]+)", body)
        # The workspace's canonical address from the settings (never the request's Host or port).
        port = f":{live.settings.public_port}" if live.settings.public_port else ""
        assert link and link.group(1) == f"{live.settings.public_scheme}://{SUB}.{live.settings.root_domain}{port}"
        assert len(link.group(2)) >= 40
        assert "Hello New Person" in body

        # The same address in any letter case is taken; nothing more is written.
        r = await c.post(USERS, json={"email": "new.person@EXAMPLE.test", "roles": ["viewer"]})
        assert r.status_code == 409 and "already exists" in r.json()["detail"]
        for email in ("not-an-email", "a b@example.test", "someone@localhost", "@example.test"):
            r = await c.post(USERS, json={"email": email, "roles": ["viewer"]})
            assert r.status_code == 422 and r.json()["detail"] == "enter a valid email address", email
        for bad in ({"email": "x@example.test", "roles": []}, {"email": "x@example.test", "roles": ["god"]},
                    {"email": "x@example.test", "roles": ["viewer"], "language": "fr"}):
            assert (await c.post(USERS, json=bad)).status_code == 422, bad
        assert sql(live.settings, "SELECT count(*) FROM users") == [(2,)]
        assert sql(live.settings, "SELECT count(*) FROM outbox") == [(1,)]

        # Listed, by email, and fetched one by one; the name defaults to the address's local part.
        r = await c.post(USERS, json={"email": "zed@example.test", "roles": ["viewer"]})
        assert r.status_code == 201 and r.json()["name"] == "zed"
        page = (await c.get(USERS)).json()
        assert page["total"] == 3
        assert [u["email"].lower() for u in page["items"]] == sorted(u["email"].lower() for u in page["items"])
        assert (await c.get(f"{USERS}/{user['id']}")).json()["email"] == "New.Person@example.test"
        assert (await c.get(f"{USERS}/{uuid.uuid4()}")).status_code == 404


async def test_the_plans_user_limit_counts_active_users(live, platform, make_tenant):
    await make_tenant(SUB)
    await use_plan(platform, "duo", max_users=2, create=True)
    owner = make_user(live.settings, SUB, ["owner"])
    async with session_client(live, owner) as c:
        first = await c.post(USERS, json={"email": "first@example.test", "roles": ["viewer"]})
        assert first.status_code == 201
        r = await c.post(USERS, json={"email": "second@example.test", "roles": ["viewer"]})
        assert r.status_code == 403
        assert r.json()["detail"] == ("your plan 'duo' allows at most 2 users and you have 2; "
                                      "deactivate a user or upgrade the plan")
        assert sql(live.settings, "SELECT count(*) FROM users") == [(2,)]
        assert sql(live.settings, "SELECT count(*) FROM outbox") == [(1,)]
        # A deactivated user frees a seat; taking it back needs one.
        r = await c.patch(f"{USERS}/{first.json()['id']}", json={"is_active": False})
        assert r.status_code == 200 and r.json()["is_active"] is False
        assert (await c.post(USERS, json={"email": "second@example.test", "roles": ["viewer"]})).status_code == 201
        r = await c.patch(f"{USERS}/{first.json()['id']}", json={"is_active": True})
        assert r.status_code == 403 and "at most 2 users" in r.json()["detail"]
        assert (await c.get(USERS, params={"active": "false"})).json()["total"] == 1


async def test_only_owners_make_or_touch_owners_and_the_last_owner_stays(live, platform, make_tenant):
    await make_tenant(SUB)
    await use_plan(platform, "pro")  # 25 users: the plan's limit plays no part here
    s = live.settings
    owner = make_user(s, SUB, ["owner"])
    admin = make_user(s, SUB, ["admin"])
    clerk = make_user(s, SUB, ["sales"])
    async with session_client(live, admin) as a, session_client(live, owner) as o:
        make_owner, on_owner = "only an owner can make someone an owner", "only an owner can act on an owner's account"
        r = await a.post(USERS, json={"email": "boss@example.test", "roles": ["owner"]})
        assert r.status_code == 403 and r.json()["detail"] == make_owner
        for patch, target, message in (({"roles": ["owner"]}, clerk, make_owner),
                                       ({"roles": ["sales", "owner"]}, clerk, make_owner),
                                       ({"roles": ["admin"]}, owner, on_owner), ({"is_active": False}, owner, on_owner),
                                       ({"name": "The Boss"}, owner, on_owner)):
            r = await a.patch(f"{USERS}/{target['id']}", json=patch)
            assert r.status_code == 403 and r.json()["detail"] == message, patch
        assert sql(s, "SELECT roles, is_active, name FROM users WHERE id = %s", owner["id"]) == \
            [(["owner"], True, owner["email"].split("@")[0])]
        # An admin manages everyone else.
        r = await a.patch(f"{USERS}/{clerk['id']}", json={"roles": ["purchasing"]})
        assert r.status_code == 200 and r.json()["roles"] == ["purchasing"]
        assert (await a.patch(f"{USERS}/{clerk['id']}", json={"name": "Clerk"})).json()["name"] == "Clerk"
        assert (await a.post(USERS, json={"email": "helper@example.test", "roles": ["admin"]})).status_code == 201

        # The last active owner can be neither demoted nor deactivated, even by themself.
        last = "the workspace must keep at least one active owner"
        for patch in ({"roles": ["admin"]}, {"is_active": False}):
            r = await o.patch(f"{USERS}/{owner['id']}", json=patch)
            assert r.status_code == 409 and r.json()["detail"] == last, patch
        # An owner makes owners...
        r = await o.patch(f"{USERS}/{clerk['id']}", json={"roles": ["owner", "purchasing"]})
        assert r.status_code == 200 and r.json()["roles"] == ["owner", "purchasing"]
        r = await o.post(USERS, json={"email": "partner@example.test", "roles": ["owner"]})
        assert r.status_code == 201 and r.json()["roles"] == ["owner"]
        # ...and an inactive owner does not count: with the other two deactivated, the last one stays.
        for other in (clerk["id"], r.json()["id"]):
            assert (await o.patch(f"{USERS}/{other}", json={"is_active": False})).status_code == 200
        r = await o.patch(f"{USERS}/{owner['id']}", json={"roles": ["admin"]})
        assert r.status_code == 409 and r.json()["detail"] == last
        # With two active owners again, one of them may step down.
        assert (await o.patch(f"{USERS}/{clerk['id']}", json={"is_active": True})).status_code == 200
        r = await o.patch(f"{USERS}/{clerk['id']}", json={"roles": ["purchasing"]})
        assert r.status_code == 200 and r.json()["roles"] == ["purchasing"]


async def test_two_owners_demoting_each_other_at_once_leave_one_owner(live, platform, make_tenant):
    await make_tenant(SUB)
    s = live.settings
    one, two = make_user(s, SUB, ["owner"]), make_user(s, SUB, ["owner"])
    async with session_client(live, one) as c1, session_client(live, two) as c2:
        for _ in range(3):
            sql(s, "UPDATE users SET roles = '{owner}'")
            answers = await asyncio.gather(c1.patch(f"{USERS}/{two['id']}", json={"roles": ["viewer"]}),
                                           c2.patch(f"{USERS}/{one['id']}", json={"roles": ["viewer"]}))
            codes = sorted(r.status_code for r in answers)
            # The loser either waited for the owners' lock (409) or was already demoted when it signed in (403).
            assert codes in ([200, 403], [200, 409]), [r.text for r in answers]
            assert sql(s, "SELECT count(*) FROM users WHERE 'owner' = ANY(roles) AND is_active") == [(1,)]


async def test_deactivating_a_user_ends_their_sessions_and_tokens_at_once(live, make_tenant):
    await make_tenant(SUB)
    s = live.settings
    owner = make_user(s, SUB, ["owner"])
    clerk = make_user(s, SUB, ["sales"])
    async with live.tenant_client(SUB, role=None) as browser, bearer(live, clerk["token"]) as script, \
            bearer(live, owner["token"]) as o:
        r = await browser.post("/api/v1/auth/login", json={"email": clerk["email"], "password": TEST_PASSWORD})
        assert r.status_code == 200
        assert (await browser.get("/api/v1/auth/me")).status_code == 200
        assert (await script.get("/api/v1/auth/me")).status_code == 200

        r = await o.patch(f"{USERS}/{clerk['id']}", json={"is_active": False})
        assert r.status_code == 200 and r.json()["is_active"] is False
        assert (await browser.get("/api/v1/auth/me")).status_code == 401
        r = await script.get("/api/v1/auth/me")
        assert r.status_code == 401 and r.json()["detail"] == "this API token was revoked"
        assert sql(s, "SELECT count(*) FROM user_sessions WHERE user_id = %s", clerk["id"]) == [(0,)]
        assert sql(s, "SELECT count(*) FROM api_tokens WHERE user_id = %s AND revoked_at IS NULL",
                   clerk["id"]) == [(0,)]
        r = await browser.post("/api/v1/auth/login", json={"email": clerk["email"], "password": TEST_PASSWORD})
        assert r.status_code == 401 and r.json()["detail"] == "wrong email or password"
        # The owner's own credentials are untouched.
        assert (await o.get("/api/v1/auth/me")).status_code == 200

        # Back again: signing in works, the revoked token stays revoked.
        assert (await o.patch(f"{USERS}/{clerk['id']}", json={"is_active": True})).status_code == 200
        r = await browser.post("/api/v1/auth/login", json={"email": clerk["email"], "password": TEST_PASSWORD})
        assert r.status_code == 200
        assert (await script.get("/api/v1/auth/me")).status_code == 401

        # Signing a user out everywhere (the admin's button) ends sessions only.
        assert (await o.delete(f"{USERS}/{clerk['id']}/sessions")).status_code == 204
        assert (await browser.get("/api/v1/auth/me")).status_code == 401
        assert (await o.delete(f"{USERS}/{uuid.uuid4()}/sessions")).status_code == 404


async def test_every_users_route_needs_users_manage(live, make_tenant):
    await make_tenant(SUB)
    s = live.settings
    target = make_user(s, SUB, ["viewer"])
    routes = [("GET", USERS, None), ("POST", USERS, {"email": "x@example.test", "roles": ["viewer"]}),
              ("GET", f"{USERS}/{target['id']}", None), ("PATCH", f"{USERS}/{target['id']}", {"roles": ["admin"]}),
              ("POST", f"{USERS}/{target['id']}/invite", None), ("DELETE", f"{USERS}/{target['id']}/sessions", None)]
    for role in ("sales", "finance", "viewer"):
        async with live.tenant_client(SUB, role=role) as c:
            for method, path, body in routes:
                r = await c.request(method, path, json=body)
                assert r.status_code == 403, (role, method, path, r.text)
                assert r.json()["detail"] == f"your role ({role}) does not allow users.manage"
    async with live.tenant_client(SUB, role=None) as c:
        for method, path, body in routes:
            assert (await c.request(method, path, json=body)).status_code == 401, (method, path)
    assert sql(s, "SELECT roles FROM users WHERE id = %s", target["id"]) == [(["viewer"],)]
    assert sql(s, "SELECT count(*) FROM outbox") == [(0,)]
    async with live.tenant_client(SUB, role="admin") as c:
        assert (await c.get(USERS)).status_code == 200


async def test_concurrent_invites_cannot_exceed_the_plans_user_limit(live, platform, make_tenant):
    await make_tenant(SUB)
    await use_plan(platform, "trio", max_users=3, create=True)
    owner = make_user(live.settings, SUB, ["owner"])
    async with session_client(live, owner) as c:
        answers = await asyncio.gather(*(c.post(USERS, json={"email": f"rush{i}@example.test", "roles": ["viewer"]})
                                         for i in range(6)))
    codes = sorted(r.status_code for r in answers)
    assert sql(live.settings, "SELECT count(*) FROM users WHERE is_active") == [(3,)], codes
    assert codes == [201, 201, 403, 403, 403, 403]
