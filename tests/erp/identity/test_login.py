"""Sign-in over real HTTP: the script contract (login, me, tokens, logout), the session cookie and its
row in the tenant database, expiry, logout everywhere, password changes, throttling and lockout."""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from datetime import datetime, timedelta, timezone


from tests.fixtures.auth import TEST_PASSWORD, make_user, tenant_sql as sql
from tests.fixtures.services import RedisServer

SUB = "pt-abc"
LOGIN = "/api/v1/auth/login"
NEW_PASSWORD = "a-new-Password-42"


def anon(live, sub: str = SUB):
    """A client of the tenant's host with no credentials (yet)."""
    return live.tenant_client(sub, role=None)


async def sign_in(client, email: str, password: str = TEST_PASSWORD) -> dict:
    """Sign `client` in through the real login endpoint (its cookie jar keeps the session); the user."""
    r = await client.post("/api/v1/auth/login", json={"email": email, "password": password})
    assert r.status_code == 200, r.text
    return r.json()


def session_cookie(client) -> str:
    return client.cookies["pf_session"]


async def test_login_sets_a_host_only_cookie_and_returns_the_user(live, make_tenant):
    await make_tenant("pt-abc")
    user = make_user(live.settings, "pt-abc", ["sales"])
    async with live.tenant_client("pt-abc", role=None) as client:
        r = await client.post("/api/v1/auth/login", json={"email": user["email"].upper(), "password": TEST_PASSWORD})
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["email"] == user["email"] and body["roles"] == ["sales"] and "sales.write" in body["permissions"]
        cookie = r.headers["set-cookie"]
        assert cookie.startswith("pf_session=pfs_") and "HttpOnly" in cookie and "SameSite=lax" in cookie
        assert "Domain" not in cookie and "Secure" not in cookie  # plain HTTP here
        me = await client.get("/api/v1/auth/me")
        assert me.status_code == 200 and me.json()["via"] == "session"
        new = await client.post("/api/v1/auth/tokens", json={"name": "script", "roles": ["sales"]})
        assert new.status_code == 201 and new.json()["token"].startswith("pft_")
        assert (await client.post("/api/v1/auth/logout")).status_code == 204
        client.cookies.clear()
        client.cookies.set("pf_session", cookie.split(";")[0].split("=", 1)[1])
        assert (await client.get("/api/v1/auth/me")).status_code == 401
    async with live.tenant_client("pt-abc", role=None, headers={"Authorization": f"Bearer {new.json()['token']}"}) as c:
        r = await c.get("/api/v1/auth/me")
        assert r.status_code == 200 and r.json()["via"] == "token" and r.json()["email"] == user["email"]
        assert (await c.get("/api/v1/products")).status_code == 200
        assert (await c.post("/api/v1/products", json={"sku": "X", "name": "x"})).status_code == 403


async def test_bad_credentials_of_any_kind_get_one_401_and_success_records_last_login(live, make_tenant):
    await make_tenant(SUB)
    s = live.settings
    user = make_user(s, SUB, ["sales"], email=f"Mixed.Case-{uuid.uuid4().hex[:6]}@Example.test")
    gone = make_user(s, SUB, ["sales"])
    sql(s, "UPDATE users SET is_active = false WHERE id = %s", gone["id"])
    invited = make_user(s, SUB, ["sales"], password=None)  # invited, never chose a password
    async with live.tenant_client(SUB, role=None) as c:
        attempts = [
            {"email": user["email"], "password": TEST_PASSWORD + "x"},  # wrong password
            {"email": f"nobody-{uuid.uuid4().hex[:6]}@example.test", "password": TEST_PASSWORD},  # unknown email
            {"email": gone["email"], "password": TEST_PASSWORD},  # right password, deactivated user
            {"email": invited["email"], "password": TEST_PASSWORD},  # no password set yet
        ]
        answers = [await c.post("/api/v1/auth/login", json=body) for body in attempts]
        assert [(r.status_code, r.json()) for r in answers] == [(401, {"detail": "wrong email or password"})] * 4
        assert not any("set-cookie" in r.headers for r in answers)
        assert sql(s, "SELECT count(*) FROM user_sessions") == [(0,)]
        assert sql(s, "SELECT last_login_at FROM users WHERE id = %s", user["id"]) == [(None,)]

        before = datetime.now(timezone.utc)
        # Case-insensitive email, surrounding blanks ignored.
        r = await c.post(LOGIN, json={"email": f"  {user['email'].swapcase()} ", "password": TEST_PASSWORD})
        assert r.status_code == 200, r.text
        assert r.json()["email"] == user["email"]
        [(last_login,)] = sql(s, "SELECT last_login_at FROM users WHERE id = %s", user["id"])
        assert before - timedelta(seconds=1) <= last_login <= datetime.now(timezone.utc)
        assert datetime.fromisoformat(r.json()["last_login_at"]) == last_login


async def test_the_session_is_stored_hashed_and_logout_deletes_it(live, make_tenant):
    await make_tenant(SUB)
    s = live.settings
    user = make_user(s, SUB, ["viewer"])
    async with anon(live) as c:
        await sign_in(c, user["email"])
        cookie = session_cookie(c)
        assert cookie.startswith("pfs_")
        rows = sql(s, "SELECT s.token_hash, s.user_id, s.ip, row_to_json(s)::text FROM user_sessions s")
        assert len(rows) == 1
        token_hash, user_id, ip, whole_row = rows[0]
        assert token_hash == hashlib.sha256(cookie.encode()).hexdigest() and user_id == user["id"]
        assert ip == "127.0.0.1"
        secret = cookie.split("_", 2)[2]
        assert cookie not in whole_row and secret not in whole_row
        # Nor anywhere in the audit log.
        assert not any(secret in text for (text,) in sql(s, "SELECT row_to_json(a)::text FROM audit_log a"))

        assert (await c.get("/api/v1/auth/me")).status_code == 200
        # The cookie is ambient: a foreign page's request, or a form-encoded one, cannot use it to log out.
        r = await c.post("/api/v1/auth/logout-all", headers={"Origin": "http://evil.example"})
        assert r.status_code == 403 and r.json()["detail"] == "cross-site request refused"
        r = await c.post("/api/v1/auth/logout-all", content="a=b",
                         headers={"Content-Type": "application/x-www-form-urlencoded"})
        assert r.status_code == 403
        assert sql(s, "SELECT count(*) FROM user_sessions") == [(1,)]
        r = await c.post("/api/v1/auth/logout")
        assert r.status_code == 204 and 'pf_session=""' in r.headers["set-cookie"]
        assert sql(s, "SELECT count(*) FROM user_sessions") == [(0,)]
        c.cookies.clear()
        c.cookies.set("pf_session", cookie)  # a client that kept the old cookie is still out
        r = await c.get("/api/v1/auth/me")
        assert r.status_code == 401 and r.json()["detail"] == "your session has ended; sign in again"


async def test_idle_and_absolute_expiry_end_a_session(live, make_tenant):
    await make_tenant(SUB)
    s = live.settings
    user = make_user(s, SUB, ["viewer"])
    async with anon(live) as idle, anon(live) as absolute, anon(live) as fresh:
        for client in (idle, absolute, fresh):
            await sign_in(client, user["email"])
        assert (await idle.get("/api/v1/auth/me")).status_code == 200
        assert (await absolute.get("/api/v1/auth/me")).status_code == 200
        # Idle: no request for longer than session_idle_minutes (the row is otherwise far from expiry).
        minutes = s.session_idle_minutes
        sql(s, f"UPDATE user_sessions SET last_seen_at = now() - interval '{minutes + 1} minutes' "
               "WHERE token_hash = %s", hashlib.sha256(session_cookie(idle).encode()).hexdigest())
        # Absolute: past expires_at although seen just now.
        sql(s, "UPDATE user_sessions SET expires_at = now() - interval '1 second', last_seen_at = now() "
               "WHERE token_hash = %s", hashlib.sha256(session_cookie(absolute).encode()).hexdigest())
        for client in (idle, absolute):
            r = await client.get("/api/v1/auth/me")
            assert r.status_code == 401 and r.json()["detail"] == "your session has ended; sign in again"
        # Just inside the idle limit is still fine.
        sql(s, f"UPDATE user_sessions SET last_seen_at = now() - interval '{minutes - 1} minutes' "
               "WHERE token_hash = %s", hashlib.sha256(session_cookie(fresh).encode()).hexdigest())
        assert (await fresh.get("/api/v1/auth/me")).status_code == 200


async def test_an_ended_session_row_is_removed_when_presented(live, make_tenant):
    await make_tenant(SUB)
    s = live.settings
    user = make_user(s, SUB, ["viewer"])
    async with anon(live) as c:
        await sign_in(c, user["email"])
        sql(s, "UPDATE user_sessions SET expires_at = now() - interval '1 second'")
        assert (await c.get("/api/v1/auth/me")).status_code == 401
        assert sql(s, "SELECT count(*) FROM user_sessions") == [(0,)]


async def test_logout_everywhere_ends_every_session_of_that_user_only(live, make_tenant):
    await make_tenant(SUB)
    s = live.settings
    alice, bob = make_user(s, SUB, ["sales"]), make_user(s, SUB, ["sales"])
    async with anon(live) as a1, anon(live) as a2, anon(live) as b1:
        for client, user in ((a1, alice), (a2, alice), (b1, bob)):
            await sign_in(client, user["email"])
        assert sql(s, "SELECT count(*) FROM user_sessions") == [(3,)]
        r = await a1.post("/api/v1/auth/logout-all")
        assert r.status_code == 204
        assert (await a1.get("/api/v1/auth/me")).status_code == 401
        assert (await a2.get("/api/v1/auth/me")).status_code == 401
        assert (await b1.get("/api/v1/auth/me")).status_code == 200
        assert sql(s, "SELECT user_id FROM user_sessions") == [(bob["id"],)]
    # API tokens are not sessions: they keep working (revoke them one by one).
    async with live.tenant_client(SUB, role=None, headers={"Authorization": f"Bearer {alice['token']}"}) as t:
        assert (await t.get("/api/v1/auth/me")).status_code == 200


async def test_change_password(live, make_tenant):
    await make_tenant(SUB)
    s = live.settings
    user = make_user(s, SUB, ["viewer"])
    async with anon(live) as here, anon(live) as elsewhere:
        for client in (here, elsewhere):
            await sign_in(client, user["email"])
        path = "/api/v1/auth/password"
        r = await here.post(path, json={"current_password": "not-my-password", "new_password": NEW_PASSWORD})
        assert r.status_code == 403 and r.json()["detail"] == "the current password is wrong"
        for weak in ("short", "aaaaaaaaaaaaaaa", user["email"]):
            r = await here.post(path, json={"current_password": TEST_PASSWORD, "new_password": weak})
            assert r.status_code == 422, (weak, r.text)
        # Nothing changed so far: both sessions alive.
        assert (await elsewhere.get("/api/v1/auth/me")).status_code == 200

        r = await here.post(path, json={"current_password": TEST_PASSWORD, "new_password": NEW_PASSWORD})
        assert r.status_code == 204, r.text
        assert (await here.get("/api/v1/auth/me")).status_code == 200
        assert (await elsewhere.get("/api/v1/auth/me")).status_code == 401
        assert sql(s, "SELECT count(*) FROM user_sessions") == [(1,)]
    async with live.tenant_client(SUB, role=None) as c:
        r = await c.post("/api/v1/auth/login", json={"email": user["email"], "password": TEST_PASSWORD})
        assert r.status_code == 401
        r = await c.post("/api/v1/auth/login", json={"email": user["email"], "password": NEW_PASSWORD})
        assert r.status_code == 200


async def test_a_one_time_password_only_lets_you_choose_your_own(live, make_tenant):
    """An owner given a one-time password (`polyflow tenants create`) signs in, but every module, the
    users, the audit log and new API tokens are refused until they set their own password."""
    await make_tenant(SUB)
    s = live.settings
    user = make_user(s, SUB, ["owner"])
    sql(s, "UPDATE users SET must_change_password = true WHERE id = %s", user["id"])
    async with anon(live) as c:
        body = await sign_in(c, user["email"])
        assert body["must_change_password"] is True
        assert (await c.get("/api/v1/auth/me")).status_code == 200
        for path in ("/api/v1/products", "/api/v1/users", "/api/v1/audit", "/api/v1/accounts"):
            r = await c.get(path)
            assert r.status_code == 403 and r.json()["detail"].startswith("choose your own password first"), path
        assert (await c.post("/api/v1/auth/tokens", json={"name": "x", "roles": ["viewer"]})).status_code == 403
        page = await c.get("/products", follow_redirects=False)
        assert page.status_code == 403 and "choose your own password first" in page.text
        r = await c.post("/api/v1/auth/password", json={"current_password": TEST_PASSWORD,
                                                        "new_password": NEW_PASSWORD})
        assert r.status_code == 204, r.text
        assert (await c.get("/api/v1/products")).status_code == 200
        assert (await c.post("/api/v1/auth/tokens", json={"name": "x", "roles": ["viewer"]})).status_code == 201
    # The API token the fixture made for this user was refused as well while the password was one-time.
    sql(s, "UPDATE users SET must_change_password = true WHERE id = %s", user["id"])
    async with live.tenant_client(SUB, role=None, headers={"Authorization": f"Bearer {user['token']}"}) as t:
        assert (await t.get("/api/v1/products")).status_code == 403


async def test_login_is_throttled_per_ip_and_locked_per_account(settings, make_tenant, make_live):
    live = make_live(settings.model_copy(update={"login_ip_per_minute": 8, "lockout_failures": 3}))
    await make_tenant(SUB)
    victim, other = make_user(settings, SUB, ["sales"]), make_user(settings, SUB, ["sales"])
    login = "/api/v1/auth/login"
    async with live.tenant_client(SUB, role=None) as c:
        # A success clears the failure count.
        for password in ("wrong-1", "wrong-2", TEST_PASSWORD):
            r = await c.post(login, json={"email": victim["email"], "password": password})
        assert r.status_code == 200
        # Three failures (in any letter case) lock the account, even for the right password.
        for email in (victim["email"], victim["email"].upper(), victim["email"]):
            assert (await c.post(login, json={"email": email, "password": "wrong"})).status_code == 401
        r = await c.post(login, json={"email": victim["email"], "password": TEST_PASSWORD})
        assert r.status_code == 429 and "too many failed sign-ins for this account" in r.json()["detail"]
        assert 1 <= int(r.headers["retry-after"]) <= settings.lockout_minutes * 60
        # Another account is not locked.
        assert (await c.post(login, json={"email": other["email"], "password": TEST_PASSWORD})).status_code == 200
        # That was the 8th attempt from this address within the minute: the 9th is refused outright.
        r = await c.post(login, json={"email": other["email"], "password": TEST_PASSWORD})
        assert r.status_code == 429 and "from your address" in r.json()["detail"]
        assert 1 <= int(r.headers["retry-after"]) <= 60


async def test_lockout_and_throttling_hold_while_redis_is_down(settings, make_tenant, make_live):
    redis = RedisServer().start()  # the live server's own Redis, stopped below (never the session's)
    try:
        # The tenant first: the live server listens on its own Redis, so it would not hear of a tenant made later.
        await make_tenant(SUB)
        live = make_live(settings.model_copy(update={"redis_url": redis.url, "lockout_failures": 2,
                                                     "login_ip_per_minute": 5}))
        user = make_user(settings, SUB, ["sales"])
        redis.stop()
        async with anon(live) as c:
            for _ in range(2):
                assert (await c.post(LOGIN, json={"email": user["email"], "password": "x"})).status_code == 401
            r = await c.post("/api/v1/auth/login", json={"email": user["email"], "password": TEST_PASSWORD})
            assert r.status_code == 429 and "for this account" in r.json()["detail"]
            # Five attempts a minute from one address: the 6th is refused.
            codes = [(await c.post(LOGIN, json={"email": "x@example.test", "password": "x"})).status_code
                     for _ in range(3)]
            assert codes == [401, 401, 429]
    finally:
        redis.remove()


async def test_concurrent_wrong_passwords_do_not_get_past_the_lockout(settings, make_tenant, make_live):
    live = make_live(settings.model_copy(update={"lockout_failures": 3}))
    await make_tenant(SUB)
    user = make_user(settings, SUB, ["sales"])
    clients = [anon(live) for _ in range(10)]
    try:
        answers = await asyncio.gather(*(c.post(LOGIN, json={"email": user["email"], "password": f"guess-{i}"})
                                         for i, c in enumerate(clients)))
    finally:
        for c in clients:
            await c.aclose()
    codes = sorted(r.status_code for r in answers)
    # At most `lockout_failures` passwords are tried; the other attempts are refused unchecked.
    assert codes.count(401) <= 3 and codes.count(429) >= 7, codes
