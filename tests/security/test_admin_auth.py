"""Super-admin sign-in on the admin host over real HTTP: sessions, cookies, throttling and lockout,
expiry, CSRF, operator tokens, and that neither an admin credential works on a tenant host nor a
tenant credential on the admin host."""

from __future__ import annotations

import re
import uuid

import pytest
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from polyflow.platform.admin import identity
from polyflow.platform.models import PlatformEvent
from tests.fixtures.admins import enrolled_admin, fresh_code
from tests.fixtures.admins import sign_in as sign_in_with_code

EMAIL = "ops@polyflow.test"
PASSWORD = "a-long-admin-password-42"
TOKEN = "operator-token-for-tests-0123456789"
OLD_TOKEN = "an-older-operator-token-9876543210"
ADMIN_HOST = "admin.localhost"


@pytest.fixture
def settings(make_settings):
    return make_settings(operator_token=TOKEN, old_operator_tokens=f" {OLD_TOKEN} ,")


SECRETS: dict[str, str] = {}  # email -> TOTP secret of the admins a test set up


async def make_admin(platform, email=EMAIL, name="Ops One", password=PASSWORD) -> str:
    SECRETS[email] = await enrolled_admin(platform, email, name, password)
    return email


@pytest.fixture
async def admin_user(platform):
    return await make_admin(platform)


async def login(live, email=EMAIL, password=PASSWORD, **headers):
    async with live.client(ADMIN_HOST, headers=headers) as c:
        return await c.post("/api/v1/auth/login", json={"email": email, "password": password})


async def signed_in(live, email=EMAIL, password=PASSWORD, **headers) -> str:
    """A full session's cookie: password, then a two-factor code."""
    return await sign_in_with_code(live, email, password, SECRETS[email], **headers)


def as_admin(live, token: str, host=ADMIN_HOST, **headers):
    """A client carrying the admin cookie explicitly (no cookie jar: nothing is sent by accident)."""
    return live.client(host, headers={"Cookie": f"pf_admin={token}", **headers})


async def events(platform, action: str) -> list[PlatformEvent]:
    async with AsyncSession(platform.main_engine) as session:
        return list((await session.execute(
            select(PlatformEvent).where(PlatformEvent.action == action).order_by(PlatformEvent.id))).scalars())


async def sql(platform, statement: str, **params):
    async with platform.main_engine.begin() as conn:
        return await conn.execute(text(statement), params)


# --- sign-in, me, sign-out -------------------------------------------------------------------------


async def test_login_me_logout_over_http(platform, admin_user, live):
    r = await login(live, email="  OPS@Polyflow.Test ", password=PASSWORD, **{"User-Agent": "pytest-browser"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["email"] == EMAIL and body["name"] == "Ops One" and len(body["csrf_token"]) >= 32
    assert body["stage"] == "mfa"
    pending = r.cookies["pf_admin"]
    async with as_admin(live, pending) as c:
        # The password alone opens nothing but the code step.
        r = await c.get("/api/v1/auth/me")
        assert r.status_code == 403 and "two-factor code" in r.json()["detail"]
        assert (await c.get("/admin/api/tenants")).status_code == 403
        r = await c.post("/api/v1/auth/mfa", json={"code": fresh_code(live.settings, EMAIL, SECRETS[EMAIL])})
        assert r.status_code == 200 and r.json()["stage"] == "full", r.text
    token = r.cookies["pf_admin"]
    assert token.startswith("pfa_admin_") and token != pending
    async with as_admin(live, pending) as c:  # the step's token is void once the step is done
        assert (await c.get("/api/v1/auth/me")).status_code == 401
    # Only the hash is stored.
    stored = (await sql(platform, "SELECT token_hash, user_agent FROM admin_sessions")).all()
    assert len(stored) == 1 and stored[0].token_hash != token and token not in stored[0].token_hash
    assert stored[0].user_agent == "pytest-browser"

    async with as_admin(live, token) as c:
        me = await c.get("/api/v1/auth/me")
        assert me.status_code == 200 and me.json()["actor"] == f"admin:{EMAIL}" and me.json()["email"] == EMAIL
        # The whole admin API accepts the session, with no operator token involved.
        assert (await c.get("/admin/api/tenants")).status_code == 200
        out = await c.post("/api/v1/auth/logout")
        assert out.status_code == 204
        assert 'pf_admin=""' in out.headers["set-cookie"] and "Max-Age=0" in out.headers["set-cookie"]
        r = await c.get("/api/v1/auth/me")
        assert r.status_code == 401 and r.json()["detail"] == "your admin session has ended; sign in again"
        assert (await c.get("/admin/api/tenants")).status_code == 401
    # The fixture's two-factor set-up signed in (and out) once before this test's own sign-in.
    assert [e.actor for e in await events(platform, "admin.login")] == [f"admin:{EMAIL}"] * 2
    assert [e.actor for e in await events(platform, "admin.logout")] == [f"admin:{EMAIL}"] * 2


async def test_wrong_password_and_unknown_email_get_the_same_401(platform, admin_user, live):
    wrong = await login(live, password="not-the-password")
    unknown = await login(live, email="nobody@polyflow.test")
    garbage = await login(live, email="x\x00@y", password="")
    for r in (wrong, unknown, garbage):
        assert r.status_code == 401 and r.json() == {"detail": "wrong email or password"}, r.text
        assert "set-cookie" not in r.headers
    failed = await events(platform, "admin.login_failed")
    assert [e.actor for e in failed] == [f"admin:{EMAIL}", "admin:nobody@polyflow.test", "admin:x?@y"]
    assert all(e.tenant_id is None and e.detail["ip"] == "127.0.0.1" for e in failed)
    r = await login(live, password="x" * 5000)  # bounded input: a 422, no argon2 on megabytes
    assert r.status_code == 422


async def test_lockout_after_n_failures_is_429_for_known_and_unknown_emails_alike(make_settings, make_live, platform):
    live = make_live(make_settings(lockout_failures=3, database_url=platform.settings.database_url))
    await make_admin(platform, EMAIL, "Ops")
    for email in (EMAIL, "ghost@polyflow.test"):
        for _ in range(3):
            assert (await login(live, email, "wrong-password")).status_code == 401
        locked = await login(live, email, PASSWORD)  # even the right password, while locked
        assert locked.status_code == 429, locked.text
        assert locked.json() == {"detail": "too many failed sign-ins for this account; try again later"}
        assert 0 < int(locked.headers["retry-after"]) <= 15 * 60
    # Another admin is not affected; resetting the password lifts the lockout.
    await identity.set_password(platform, EMAIL, "a-brand-new-password-1")
    assert (await login(live, EMAIL, "a-brand-new-password-1")).status_code == 200
    failed = await events(platform, "admin.login_failed")
    assert [e.detail.get("locked_for_minutes") for e in failed] == [None, None, 15] * 2


async def test_per_ip_throttle_is_429_with_retry_after(make_settings, make_live, platform):
    live = make_live(make_settings(login_ip_per_minute=3, database_url=platform.settings.database_url))
    await make_admin(platform, EMAIL, "Ops")
    for i in range(3):
        assert (await login(live, f"someone{i}@polyflow.test", "wrong-password")).status_code == 401
    r = await login(live)  # right credentials, but this address is over its limit
    assert r.status_code == 429 and "from your address" in r.json()["detail"]
    assert 0 < int(r.headers["retry-after"]) <= 60


# --- session lifetime ------------------------------------------------------------------------------


async def test_idle_session_expires_and_activity_extends_it(platform, admin_user, live):
    token = await signed_in(live)
    async with as_admin(live, token) as c:
        # Idle for 5 minutes: the request moves last_seen and the idle expiry forward.
        await sql(platform, "UPDATE admin_sessions SET last_seen_at = now() - interval '5 minutes', "
                            "expires_at = now() + interval '1 minute'")
        assert (await c.get("/api/v1/auth/me")).status_code == 200
        row = (await sql(platform, "SELECT now() - last_seen_at AS ago, expires_at - now() AS left_ "
                                   "FROM admin_sessions")).one()
        assert row.ago.total_seconds() < 5 and 115 * 60 < row.left_.total_seconds() <= 120 * 60
        # Idle longer than session_idle_minutes (even if expires_at were not moved): gone.
        await sql(platform, "UPDATE admin_sessions SET last_seen_at = now() - interval '121 minutes'")
        r = await c.get("/api/v1/auth/me")
        assert r.status_code == 401
    assert (await sql(platform, "SELECT count(*) FROM admin_sessions")).scalar() == 0


async def test_absolute_limit_holds_however_active_the_session_is(platform, admin_user, live):
    token = await signed_in(live)
    await sql(platform, "UPDATE admin_sessions SET created_at = now() - interval '12 hours 1 minute', "
                        "last_seen_at = now() - interval '2 minutes', expires_at = now() + interval '1 hour'")
    async with as_admin(live, token) as c:
        assert (await c.get("/api/v1/auth/me")).status_code == 401


async def test_logout_all_ends_every_session(platform, admin_user, live):
    first, second = await signed_in(live), await signed_in(live)
    assert first != second
    async with as_admin(live, first) as c:
        r = await c.post("/api/v1/auth/logout-all")
        assert r.status_code == 200 and r.json() == {"sessions_ended": 2}
    for token in (first, second):
        async with as_admin(live, token) as c:
            assert (await c.get("/api/v1/auth/me")).status_code == 401
    assert [e.detail["sessions_ended"] for e in await events(platform, "admin.logout_all")] == [2]


async def test_deactivated_admin_is_signed_out_and_cannot_sign_in(platform, admin_user, live):
    token = await signed_in(live)
    assert await identity.deactivate_admin(platform, EMAIL, actor="test") == 1
    async with as_admin(live, token) as c:
        assert (await c.get("/api/v1/auth/me")).status_code == 401
    r = await login(live)
    assert r.status_code == 401 and r.json() == {"detail": "wrong email or password"}


# --- the cookie ------------------------------------------------------------------------------------


async def test_cookie_is_host_only_httponly_lax_and_secure_behind_https(make_settings, make_live, platform,
                                                                        admin_user, live):
    r = await login(live)
    cookie = r.headers["set-cookie"]
    attrs = {a.strip().split("=")[0].lower(): a.strip() for a in cookie.split(";")[1:]}
    assert "domain" not in attrs, cookie  # never sent to <tenant>.<root>
    assert "httponly" in attrs and attrs["samesite"].lower() == "samesite=lax" and attrs["path"] == "Path=/"
    assert "secure" not in attrs  # plain HTTP here

    proxied = make_live(make_settings(trusted_proxies="127.0.0.1", database_url=platform.settings.database_url))
    r = await login(proxied, **{"X-Forwarded-Proto": "https"})
    assert r.status_code == 200
    assert "secure" in r.headers["set-cookie"].lower() and "domain=" not in r.headers["set-cookie"].lower()


async def test_admin_credentials_are_not_accepted_on_a_tenant_host(platform, admin_user, make_tenant, live):
    await make_tenant("pt-abc")
    token = await signed_in(live)
    async with live.client("pt-abc.localhost") as c:
        r = await c.get("/api/v1/products", headers={"Cookie": f"pf_admin={token}"})
        assert r.status_code == 401, r.text
        r = await c.get("/api/v1/products", headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 401, r.text
        r = await c.get("/api/v1/products", headers={"Authorization": f"Bearer {TOKEN}"})  # nor the operator's
        assert r.status_code == 401, r.text


async def test_tenant_style_tokens_are_refused_on_the_admin_host(live):
    tenant_id = uuid.uuid4().hex
    for token in (f"pfs_{tenant_id}_{'s' * 43}", f"pft_{tenant_id}_{'t' * 43}", f"pfa_admin_{'a' * 43}"):
        async with live.client(ADMIN_HOST, headers={"Authorization": f"Bearer {token}"}) as c:
            r = await c.get("/admin/api/tenants")
            assert r.status_code == 401 and r.json()["detail"] == "this token is not valid on the admin host"
        async with as_admin(live, token) as c:  # and as the admin cookie: nothing to find
            assert (await c.get("/admin/api/tenants")).status_code == 401


async def test_operator_token_and_old_operator_token_work_and_a_wrong_one_does_not(platform, live):
    for token, actor in ((TOKEN, "operator-token"), (OLD_TOKEN, "operator-token(old)")):
        async with live.client(ADMIN_HOST, headers={"Authorization": f"Bearer {token}"}) as c:
            r = await c.get("/api/v1/auth/me")
            assert r.status_code == 200 and r.json() == {"actor": actor, "email": None, "name": None,
                                                         "expires_at": None}
            assert (await c.get("/admin/api/tenants")).status_code == 200
            # The operator token has no session to end.
            assert (await c.post("/api/v1/auth/logout")).status_code == 400
    for bad in ("wrong", TOKEN + "x", TOKEN[:-1], f"{TOKEN},{OLD_TOKEN}"):
        async with live.client(ADMIN_HOST, headers={"Authorization": f"Bearer {bad}"}) as c:
            assert (await c.get("/admin/api/tenants")).status_code == 401, bad


async def test_without_an_operator_token_configured_admin_sessions_still_work(make_settings, make_live, platform):
    live = make_live(make_settings(database_url=platform.settings.database_url))
    await make_admin(platform, EMAIL, "Ops")
    token = await signed_in(live)
    async with as_admin(live, token) as c:
        assert (await c.get("/admin/api/tenants")).status_code == 200
    async with live.client(ADMIN_HOST, headers={"Authorization": "Bearer anything"}) as c:
        assert (await c.get("/admin/api/tenants")).status_code == 401


# --- cross-site requests and CSRF ------------------------------------------------------------------


async def test_cross_site_cookie_requests_are_refused(platform, admin_user, make_tenant, live):
    await make_tenant("pt-abc")
    token = await signed_in(live)
    async with as_admin(live, token) as c:
        for headers in ({"Origin": "http://evil.example"}, {"Referer": "http://evil.example/page"},
                        {"Origin": "null"}, {"Origin": "http://admin.localhost.evil.example"}):
            r = await c.post("/admin/api/tenants/pt-abc/suspend", headers=headers)
            assert r.status_code == 403 and r.json()["detail"] == "cross-site request refused", headers
        for ctype in ("application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "text/plain"):
            r = await c.post("/admin/api/tenants/pt-abc/resume", content=b"x=1", headers={"Content-Type": ctype})
            assert r.status_code == 403 and "send JSON" in r.json()["detail"], ctype
        assert (await c.post("/api/v1/auth/logout-all", headers={"Origin": "http://evil.example"})).status_code == 403
        assert (await c.get("/admin/api/tenants/pt-abc")).json()["status"] == "active"
        # The same request from the admin site itself goes through, attributed to the person.
        r = await c.post("/admin/api/tenants/pt-abc/suspend", headers={"Origin": "http://admin.localhost"},
                         json={"reason": "asked by the customer"})
        assert r.status_code == 200 and r.json()["status"] == "suspended"
    [event] = await events(platform, "tenant.suspended")
    assert event.actor == f"admin:{EMAIL}"
    # A login posted from a foreign page is refused too (no logging a victim into our account).
    r = await login(live, Origin="http://evil.example")
    assert r.status_code == 403


def _hidden(html: str, name: str) -> str:
    m = re.search(rf'name="{name}" value="([^"]*)"', html)
    assert m, html
    return m.group(1)


async def test_login_and_logout_forms_need_their_csrf_tokens(platform, admin_user, make_tenant, live):
    await make_tenant("pt-abc", "PT ABC Plastik")
    async with live.client(ADMIN_HOST, headers={"Accept": "text/html"}) as browser:
        r = await browser.get("/")
        assert r.status_code == 303 and r.headers["location"] == "/login"
        form = await browser.get("/login")
        assert form.status_code == 200 and 'action="/login"' in form.text
        csrf = _hidden(form.text, "csrf_token")
        assert form.cookies["pf_csrf"] == csrf
        creds = {"email": EMAIL, "password": PASSWORD}
        for data in (creds, {**creds, "csrf_token": "forged-" + csrf}, {**creds, "csrf_token": ""}):
            r = await browser.post("/login", data=data)
            assert r.status_code == 403 and "did not come from this site" in r.text, data
            assert "pf_admin" not in r.cookies
        r = await browser.post("/login", data={**creds, "password": "wrong-password", "csrf_token": csrf})
        assert r.status_code == 401 and "wrong email or password" in r.text
        r = await browser.post("/login", data={**creds, "csrf_token": csrf})
        assert r.status_code == 303 and r.headers["location"] == "/login/code"
        pending = r.cookies["pf_admin"]
        page = await browser.get("/login/code")
        assert page.status_code == 200 and 'name="code"' in page.text
        code = fresh_code(live.settings, EMAIL, SECRETS[EMAIL])
        r = await browser.post("/login/code", data={"code": code, "csrf_token": "forged"})
        assert r.status_code == 403
        r = await browser.post("/login/code", data={"code": code, "csrf_token": _hidden(page.text, "csrf_token")})
        assert r.status_code == 303 and r.headers["location"] == "/"
        token = r.cookies["pf_admin"]
        assert token != pending

    async with as_admin(live, token, Accept="text/html") as browser:
        page = await browser.get("/")
        assert page.status_code == 200 and "pt-abc" in page.text and "PT ABC Plastik" in page.text
        assert "active" in page.text and "trial" in page.text and EMAIL in page.text
        assert (await browser.get("/login")).status_code == 303  # already signed in
        session_csrf = _hidden(page.text, "csrf_token")
        for data in ({}, {"csrf_token": "forged"}):
            r = await browser.post("/logout", data=data)
            assert r.status_code == 403, data
        assert (await browser.get("/")).status_code == 200  # still signed in
        r = await browser.post("/logout", data={"csrf_token": session_csrf})
        assert r.status_code == 303 and r.headers["location"] == "/login"
        assert (await browser.get("/")).status_code == 303
    # Non-browser clients still get the admin host's identification at /.
    async with live.client(ADMIN_HOST) as c:
        assert (await c.get("/")).json() == {"app": "polyflow-admin"}
        assert (await c.get("/static/app.css")).status_code == 200


async def test_email_index_is_on_lower_email(platform, admin_user):
    indexdef = (await sql(platform, "SELECT indexdef FROM pg_indexes WHERE indexname = 'uq_admin_users_email_lower'")
                ).scalar_one()
    assert "lower((email)::text)" in indexdef
    with pytest.raises(Exception, match="already exists"):
        await identity.create_admin(platform, EMAIL.upper(), "Twin", PASSWORD)
    await identity.create_admin(platform, "second@polyflow.test", "Second", PASSWORD)  # not a constant index
