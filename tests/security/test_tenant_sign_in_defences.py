"""Tenant sign-in defences over real HTTP, as an attacker would try them: guessing the current password, a
sign-in flood from many addresses against the owner, two-factor sign-in (enrolment, wrong, replayed and recovery
codes, the workspace rule), step-up before sensitive actions, API tokens (explicit roles, expiry, notice mail,
revoked by a reset or "log out everywhere"), the admin role against an owner, and mailed links with a forged Host.

The live server trusts 127.0.0.1 as a proxy here, so each request picks its client address with X-Forwarded-For.
"""

from __future__ import annotations

import re
import time
from contextlib import asynccontextmanager
import uuid
from datetime import datetime, timedelta, timezone

import pytest
from redis.asyncio import Redis

from polyflow.kit import totp
from polyflow.web import i18n
from tests.fixtures.auth import TEST_PASSWORD, make_user

SUB = "pt-abc"
HOST = "pt-abc.localhost"
LOGIN = "/api/v1/auth/login"
NEW_PASSWORD = "a-new-Password-42"


@pytest.fixture
def settings(make_settings):
    # Behind a (trusted) proxy on loopback: X-Forwarded-For names the client. Public links on https:8443.
    return make_settings(trusted_proxies="127.0.0.1/32", public_scheme="https", public_port=8443)


def client(live, ip: str = "198.51.100.1", **headers):
    return live.client(HOST, headers={"X-Forwarded-For": ip, **headers})


@asynccontextmanager
async def signed_in(live, user: dict, ip: str = "198.51.100.1"):
    """A client with a browser session of `user` (signed in through the real endpoint)."""
    async with client(live, ip) as c:
        r = await c.post(LOGIN, json={"email": user["email"], "password": user["password"]})
        assert r.status_code == 200, r.text
        yield c


def age_step_up(tenant_sql, user_id, minutes: float) -> None:
    tenant_sql(SUB, "UPDATE user_sessions SET step_up_at = now() - make_interval(mins => %s) WHERE user_id = %s",
               (minutes, user_id))


# -- throttles -------------------------------------------------------------------------------------------------
async def test_guessing_the_current_password_is_throttled(make_tenant, live, tenant_sql):
    await make_tenant(SUB)
    user = make_user(live.settings, SUB, ["viewer"])
    async with signed_in(live, user) as c:
        codes = []
        start = time.monotonic()
        for i in range(30):
            r = await c.post("/api/v1/auth/password", json={"current_password": f"guess-{i}-xxxx",
                                                            "new_password": NEW_PASSWORD})
            codes.append(r.status_code)
        elapsed = time.monotonic() - start
        # lockout_failures guesses are checked; every later one is refused unchecked, with Retry-After.
        failures = live.settings.lockout_failures
        assert codes[:failures] == [403] * failures and set(codes[failures:]) == {429}, codes
        assert 60 <= int(r.headers["retry-after"]) <= live.settings.lockout_minutes * 60
        # The right password is refused too while the lock holds (it is not an oracle).
        r = await c.post("/api/v1/auth/password", json={"current_password": TEST_PASSWORD, "new_password": NEW_PASSWORD})
        assert r.status_code == 429 and "password confirmations" in r.json()["detail"]
        # The same throttle guards the step-up.
        r = await c.post("/api/v1/auth/step-up", json={"password": TEST_PASSWORD})
        assert r.status_code == 429
    print(f"\n30 current-password guesses: {codes.count(403)} checked, {codes.count(429)} refused in {elapsed:.2f}s")
    # Signing in elsewhere is not affected (the lock is this account's password checks from this address).
    async with signed_in(live, user, ip="203.0.113.50") as other:
        r = await other.post("/api/v1/auth/password", json={"current_password": TEST_PASSWORD,
                                                            "new_password": NEW_PASSWORD})
        assert r.status_code == 204, r.text


async def test_a_flood_from_12_addresses_does_not_lock_the_owner_out(make_tenant, live, tenant_sql):
    await make_tenant(SUB)
    s = live.settings
    owner = make_user(s, SUB, ["owner"])
    clerk = make_user(s, SUB, ["sales"])
    # Earlier, the owner signed in from the office; that browser keeps its known-device cookie.
    async with client(live, "192.0.2.10") as office:
        assert (await office.post(LOGIN, json={"email": owner["email"], "password": TEST_PASSWORD})).status_code == 200
        device = office.cookies.get("pf_device")

    attackers = [f"198.51.100.{i}" for i in range(1, 13)] + ["192.0.2.10"]  # the last shares the office's NAT
    codes: dict[int, int] = {}
    for ip in attackers[:12]:
        async with client(live, ip) as c:
            for i in range(s.login_ip_per_minute):
                r = await c.post(LOGIN, json={"email": owner["email"], "password": f"guess-{ip}-{i}"})
                codes[r.status_code] = codes.get(r.status_code, 0) + 1
    assert sum(codes.values()) == 240 and codes.get(200, 0) == 0 and set(codes) == {401, 429}, codes
    # Each address got at most its few guesses, then was locked; past the workspace's cap, one at most.
    assert codes[401] <= 12 * s.lockout_failures
    print(f"\n240 sign-ins from 12 addresses: {codes}")

    # The workspace is over its per-minute cap: a new address still gets a try, but once it failed it is
    # refused, even with the right password of another account...
    async with client(live, "198.51.100.99") as c:
        assert (await c.post(LOGIN, json={"email": owner["email"], "password": "one-more"})).status_code == 401
        r = await c.post(LOGIN, json={"email": clerk["email"], "password": TEST_PASSWORD})
        assert r.status_code == 429 and "this workspace is receiving too many sign-in attempts" in r.json()["detail"]
    # ...but the owner, from a 13th address, signs in with the right password.
    async with client(live, "203.0.113.13") as c:
        r = await c.post(LOGIN, json={"email": owner["email"], "password": TEST_PASSWORD})
        assert r.status_code == 200, r.text
    # And from the office, whose address the attacker uses too (refused there), the known browser passes.
    async with client(live, "192.0.2.10") as c:
        for i in range(s.lockout_failures + 1):
            await c.post(LOGIN, json={"email": owner["email"], "password": f"nat-guess-{i}"})
        r = await c.post(LOGIN, json={"email": owner["email"], "password": TEST_PASSWORD})
        assert r.status_code == 429  # that address failed during the flood
    assert device, "a successful sign-in marks the browser as known"
    async with client(live, "192.0.2.10") as c:
        c.cookies.set("pf_device", device)
        r = await c.post(LOGIN, json={"email": owner["email"], "password": TEST_PASSWORD})
        assert r.status_code == 200, r.text
    # A forged device cookie is just a cookie.
    async with client(live, "192.0.2.10") as c:
        c.cookies.set("pf_device", device[:-4] + "abcd")
        r = await c.post(LOGIN, json={"email": owner["email"], "password": TEST_PASSWORD})
        assert r.status_code == 429


async def test_locks_grow_after_each_further_failure(settings, make_tenant, make_live):
    live = make_live(settings.model_copy(update={"lockout_failures": 2, "lockout_minutes": 1,
                                                 "lockout_max_minutes": 3}))
    await make_tenant(SUB)
    user = make_user(settings, SUB, ["viewer"])
    redis = Redis.from_url(settings.redis_url)  # this test's own client (the server's lives on its own loop)
    pattern = f"{settings.redis_namespace}:rl:login:*:lock:*"
    async with client(live, "198.51.100.77") as c:
        for _ in range(2):
            assert (await c.post(LOGIN, json={"email": user["email"], "password": "wrong"})).status_code == 401
        r = await c.post(LOGIN, json={"email": user["email"], "password": TEST_PASSWORD})
        assert r.status_code == 429 and 1 <= int(r.headers["retry-after"]) <= 60
        waits = []
        for _ in range(3):
            # The lock runs out (removed here instead of waiting): one more try, then a longer lock.
            keys = [k async for k in redis.scan_iter(pattern)]
            assert len(keys) == 1
            await redis.delete(*keys)
            assert (await c.post(LOGIN, json={"email": user["email"], "password": "wrong"})).status_code == 401
            r = await c.post(LOGIN, json={"email": user["email"], "password": TEST_PASSWORD})
            assert r.status_code == 429
            waits.append(int(r.headers["retry-after"]))
        assert 60 < waits[0] <= 120 and 120 < waits[1] <= 180 and waits[2] <= 180, waits  # doubling, capped
    await redis.aclose()


# -- two-factor sign-in ----------------------------------------------------------------------------------------
async def enrol(c) -> tuple[str, list[str], str]:
    """Enrol the signed-in client's user in TOTP; (secret, recovery codes, the code that confirmed it)."""
    r = await c.post("/api/v1/auth/mfa/totp")
    assert r.status_code == 200, r.text
    secret, uri = r.json()["secret"], r.json()["otpauth_uri"]
    assert uri.startswith("otpauth://totp/") and f"secret={secret}" in uri
    r = await c.post("/api/v1/auth/mfa/totp/confirm", json={"code": "000000" if totp.current_code(secret) != "000000"
                                                            else "111111"})
    assert r.status_code == 422
    code = totp.current_code(secret)
    r = await c.post("/api/v1/auth/mfa/totp/confirm", json={"code": code})
    assert r.status_code == 200, r.text
    return secret, r.json()["recovery_codes"], code


def next_code(secret: str) -> str:
    """The code of the next 30 s step (accepted for clock drift), unused yet after a code of this step."""
    return totp.current_code(secret, time.time() + totp.STEP_SECONDS)


async def test_totp_enrolment_and_two_step_sign_in(make_tenant, live, tenant_sql):
    await make_tenant(SUB)
    user = make_user(live.settings, SUB, ["sales"])
    async with signed_in(live, user) as c:
        secret, codes, first = await enrol(c)
        assert len(codes) == 10 and len(set(codes)) == 10
        assert (await c.get("/api/v1/auth/mfa")).json() == {"enabled": True, "recovery_codes_left": 10,
                                                            "required_by_workspace": False}
    # Stored encrypted and hashed: neither the secret nor a recovery code is in the database.
    [(enc,)] = tenant_sql(SUB, "SELECT totp_secret_enc FROM users WHERE id = %s", (user["id"],))
    assert enc and secret not in enc
    dump = str(tenant_sql(SUB, "SELECT row_to_json(r)::text FROM user_recovery_codes r"))
    assert not any(code in dump or code.replace("-", "") in dump for code in codes)
    assert secret not in str(tenant_sql(SUB, "SELECT changes::text FROM audit_log"))

    async with client(live) as c:
        r = await c.post(LOGIN, json={"email": user["email"], "password": TEST_PASSWORD})
        assert r.status_code == 202 and r.json()["mfa_required"] is True and "pf_session" not in r.cookies
        ticket = r.json()["mfa_token"]
        assert (await c.get("/api/v1/auth/me")).status_code == 401
        for wrong in ("123456" if totp.current_code(secret) != "123456" else "654321", "", "abc"):
            r = await c.post("/api/v1/auth/login/mfa", json={"mfa_token": ticket, "code": wrong or "x"})
            assert r.status_code == 401, (wrong, r.text)
        # The code that confirmed the enrolment was used up: replaying it fails.
        r = await c.post("/api/v1/auth/login/mfa", json={"mfa_token": ticket, "code": first})
        assert r.status_code == 401 and r.json()["detail"] == "wrong or already used code"
        code = next_code(secret)
        r = await c.post("/api/v1/auth/login/mfa", json={"mfa_token": ticket, "code": code})
        assert r.status_code == 200, r.text
        assert (await c.get("/api/v1/auth/me")).json()["has_totp"] is True
        # The ticket worked once.
        r = await c.post("/api/v1/auth/login/mfa", json={"mfa_token": ticket, "code": codes[0]})
        assert r.status_code == 401 and "start again" in r.json()["detail"]
    # Replaying the code on a fresh sign-in fails; a recovery code works once.
    async with client(live) as c:
        ticket = (await c.post(LOGIN, json={"email": user["email"], "password": TEST_PASSWORD})).json()["mfa_token"]
        r = await c.post("/api/v1/auth/login/mfa", json={"mfa_token": ticket, "code": code})
        assert r.status_code == 401
        r = await c.post("/api/v1/auth/login/mfa", json={"mfa_token": ticket, "code": codes[0].upper()})
        assert r.status_code == 200, r.text
    async with client(live) as c:
        ticket = (await c.post(LOGIN, json={"email": user["email"], "password": TEST_PASSWORD})).json()["mfa_token"]
        r = await c.post("/api/v1/auth/login/mfa", json={"mfa_token": ticket, "code": codes[0]})
        assert r.status_code == 401
        r = await c.post("/api/v1/auth/login/mfa", json={"mfa_token": ticket, "code": codes[1]})
        assert r.status_code == 200
        assert (await c.get("/api/v1/auth/mfa")).json()["recovery_codes_left"] == 8
        # New recovery codes replace the old set.
        fresh = (await c.post("/api/v1/auth/mfa/recovery-codes")).json()["recovery_codes"]
        assert len(fresh) == 10 and not set(fresh) & set(codes)
        # Turning it off takes the password and a code.
        r = await c.post("/api/v1/auth/mfa/totp/disable", json={"password": "wrong-password", "code": fresh[0]})
        assert r.status_code == 403
        r = await c.post("/api/v1/auth/mfa/totp/disable", json={"password": TEST_PASSWORD, "code": codes[2]})
        assert r.status_code == 403  # an old-set code
        r = await c.post("/api/v1/auth/mfa/totp/disable", json={"password": TEST_PASSWORD, "code": fresh[0]})
        assert r.status_code == 204, r.text
    async with client(live) as c:
        assert (await c.post(LOGIN, json={"email": user["email"], "password": TEST_PASSWORD})).status_code == 200
    actions = [a for (a,) in tenant_sql(SUB, "SELECT action FROM audit_log WHERE user_id = %s ORDER BY id", (user["id"],))]
    assert {"mfa_enabled", "mfa_failed", "mfa_recovery_codes", "mfa_disabled"} <= set(actions)


async def test_the_second_step_is_throttled(make_tenant, live):
    await make_tenant(SUB)
    user = make_user(live.settings, SUB, ["viewer"])
    async with signed_in(live, user) as c:
        secret, _, _ = await enrol(c)
    async with client(live) as c:
        ticket = (await c.post(LOGIN, json={"email": user["email"], "password": TEST_PASSWORD})).json()["mfa_token"]
        wrong = [f"{n:06d}" for n in range(10) if f"{n:06d}" not in
                 {totp.current_code(secret, time.time() + d * 30) for d in (-1, 0, 1)}]
        codes = [(await c.post("/api/v1/auth/login/mfa", json={"mfa_token": ticket, "code": w})).status_code
                 for w in wrong[:8]]
        failures = live.settings.lockout_failures
        assert codes[:failures] == [401] * failures and set(codes[failures:]) == {429}, codes
        r = await c.post("/api/v1/auth/login/mfa", json={"mfa_token": ticket, "code": next_code(secret)})
        assert r.status_code == 429  # even the right code, while locked


async def test_the_owner_can_require_two_factor_sign_in(make_tenant, live, tenant_sql):
    await make_tenant(SUB)
    owner = make_user(live.settings, SUB, ["owner"])
    admin = make_user(live.settings, SUB, ["admin"])
    clerk = make_user(live.settings, SUB, ["sales"])
    policy = "/api/v1/sign-in-policy"
    async with signed_in(live, owner) as o, signed_in(live, admin, ip="198.51.100.2") as a:
        r = await o.put(policy, json={"require_mfa": True})
        assert r.status_code == 409 and "for yourself first" in r.json()["detail"]
        _, owner_codes, _ = await enrol(o)
        r = await a.put(policy, json={"require_mfa": True})
        assert r.status_code == 403 and "only an owner" in r.json()["detail"]
        r = await o.put(policy, json={"require_mfa": True})
        assert r.status_code == 200 and r.json() == {"require_mfa": True}
        assert (await o.get(policy)).json() == {"require_mfa": True}
        # The admin (without 2FA) can now only enrol: every module, the users, tokens are refused.
        # (Routes open to either of two modules, partners and payments, included: one permission check for all.)
        for path in ("/api/v1/products", "/api/v1/users", "/api/v1/partners", "/api/v1/payments"):
            r = await a.get(path)
            assert r.status_code == 403 and "requires two-factor sign-in" in r.json()["detail"], path
        assert (await a.get("/api/v1/auth/me")).json()["must_enrol_mfa"] is True
        r = await a.post("/api/v1/auth/tokens", json={"name": "x", "roles": ["viewer"]})
        assert r.status_code == 403
        # The owner, enrolled, is served; and cannot turn 2FA off while it is required.
        assert (await o.get("/api/v1/products")).status_code == 200
        r = await o.post("/api/v1/auth/mfa/totp/disable", json={"password": TEST_PASSWORD, "code": "123456"})
        assert r.status_code == 409
    # A user signs in with the password alone, but only to enrol; their old API token is refused as well.
    async with signed_in(live, clerk, ip="198.51.100.3") as c:
        assert (await c.get("/api/v1/products")).status_code == 403
        page = await c.get("/products", follow_redirects=False)
        assert page.status_code == 403 and "requires two-factor sign-in" in page.text
        assert i18n.catalog("id")["This workspace requires two-factor sign-in: turn it on to continue."] \
            in (await c.get("/account")).text  # the page is in the user's language (Bahasa Indonesia)
        async with client(live, Authorization=f"Bearer {clerk['token']}") as t:
            assert (await t.get("/api/v1/products")).status_code == 403
        await enrol(c)
        assert (await c.get("/api/v1/products")).status_code == 200
        async with client(live, Authorization=f"Bearer {clerk['token']}") as t:
            assert (await t.get("/api/v1/products")).status_code == 200
    # The clerk lost the phone and the codes: the owner resets their 2FA; they sign in with the password, to enrol.
    async with client(live, "198.51.100.4") as o:
        ticket = (await o.post(LOGIN, json={"email": owner["email"], "password": TEST_PASSWORD})).json()["mfa_token"]
        recovery = owner_codes[0]
        assert (await o.post("/api/v1/auth/login/mfa", json={"mfa_token": ticket, "code": recovery})).status_code == 200
        assert (await o.delete(f"/api/v1/users/{clerk['id']}/mfa")).status_code == 204
    [(subject,)] = tenant_sql(SUB, "SELECT subject FROM outbox WHERE recipient = %s AND subject LIKE '%%reset%%'",
                              (clerk["email"],))
    async with signed_in(live, clerk, ip="198.51.100.5") as c:
        assert (await c.get("/api/v1/auth/me")).json()["must_enrol_mfa"] is True


# -- step-up ---------------------------------------------------------------------------------------------------
async def test_sensitive_actions_need_a_recent_step_up(make_tenant, live, tenant_sql):
    await make_tenant(SUB)
    owner = make_user(live.settings, SUB, ["owner"])
    clerk = make_user(live.settings, SUB, ["sales"])
    actions = [("POST", "/api/v1/auth/tokens", {"name": "ci", "roles": ["viewer"]}),
               ("POST", "/api/v1/users", {"email": "new@example.test", "roles": ["viewer"]}),
               ("PATCH", f"/api/v1/users/{clerk['id']}", {"roles": ["purchasing"]}),
               ("POST", f"/api/v1/users/{clerk['id']}/invite", None),
               ("POST", "/api/v1/auth/mfa/totp", None),
               ("PUT", "/api/v1/sign-in-policy", {"require_mfa": False})]
    async with signed_in(live, owner) as o:
        age_step_up(tenant_sql, owner["id"], live.settings.step_up_minutes + 1)
        for method, path, body in actions:
            r = await o.request(method, path, json=body)
            assert r.status_code == 403, (path, r.text)
            assert "POST /api/v1/auth/step-up" in r.json()["detail"] and r.headers["x-polyflow-step-up"] == "required"
        assert tenant_sql(SUB, "SELECT count(*) FROM api_tokens WHERE name = 'ci'")[0][0] == 0
        assert tenant_sql(SUB, "SELECT roles FROM users WHERE id = %s", (clerk["id"],))[0][0] == ["sales"]
        assert tenant_sql(SUB, "SELECT count(*) FROM outbox")[0][0] == 0
        # Renaming is not sensitive.
        assert (await o.patch(f"/api/v1/users/{clerk['id']}", json={"name": "Clerk"})).status_code == 200

        r = await o.post("/api/v1/auth/step-up", json={"password": "wrong-password"})
        assert r.status_code == 403
        assert (await o.post("/api/v1/auth/step-up", json={})).status_code == 422
        before = datetime.now(timezone.utc)
        r = await o.post("/api/v1/auth/step-up", json={"password": TEST_PASSWORD})
        assert r.status_code == 200
        until = datetime.fromisoformat(r.json()["step_up_until"])
        assert before + timedelta(minutes=live.settings.step_up_minutes - 1) < until
        for method, path, body in actions[:4]:
            r = await o.request(method, path, json=body)
            assert r.status_code in (200, 201, 202), (path, r.text)
        # With 2FA on, a code is a step-up too.
        secret, _, _ = await enrol(o)
        age_step_up(tenant_sql, owner["id"], live.settings.step_up_minutes + 1)
        assert (await o.post("/api/v1/auth/tokens", json={"name": "b", "roles": ["viewer"]})).status_code == 403
        r = await o.post("/api/v1/auth/step-up", json={"code": next_code(secret)})
        assert r.status_code == 200, r.text
        assert (await o.post("/api/v1/auth/tokens", json={"name": "b", "roles": ["viewer"]})).status_code == 201
    # An API token can do none of them, whatever its roles.
    actions[2] = ("PATCH", f"/api/v1/users/{clerk['id']}", {"roles": ["warehouse"]})  # a change again
    async with client(live, Authorization=f"Bearer {owner['token']}") as t:
        for method, path, body in actions:
            r = await t.request(method, path, json=body)
            assert r.status_code == 403 and "an API token cannot" in r.json()["detail"], (path, r.text)
        assert (await t.post("/api/v1/auth/step-up", json={"password": TEST_PASSWORD})).status_code == 403


# -- API tokens ------------------------------------------------------------------------------------------------
async def test_tokens_need_explicit_roles_expire_in_90_days_and_are_mailed(make_tenant, live, tenant_sql):
    await make_tenant(SUB)
    user = make_user(live.settings, SUB, ["purchasing", "viewer"])
    async with signed_in(live, user) as c:
        for body in ({"name": "x"}, {"name": "x", "roles": []}, {"name": "x", "roles": None}):
            assert (await c.post("/api/v1/auth/tokens", json=body)).status_code == 422, body
        r = await c.post("/api/v1/auth/tokens", json={"name": "x", "roles": ["viewer"],
                                                      "expires_days": live.settings.token_max_days + 1})
        assert r.status_code == 422 and "days" in r.json()["detail"]
        r = await c.post("/api/v1/auth/tokens", json={"name": "nightly", "roles": ["viewer"]})
        assert r.status_code == 201, r.text
        new = r.json()
    assert new["roles"] == ["viewer"]  # exactly what was asked, not every role of the user
    days = (datetime.fromisoformat(new["expires_at"]) - datetime.now(timezone.utc)) / timedelta(days=1)
    assert live.settings.token_default_days == 90 and 89.99 < days <= 90
    async with client(live, Authorization=f"Bearer {new['token']}") as t:
        assert (await t.get("/api/v1/products")).status_code == 200
        assert (await t.post("/api/v1/products", json={"sku": "T-1", "name": "t"})).status_code == 403
    [(recipient, subject, body)] = tenant_sql(SUB, "SELECT recipient, subject, body FROM outbox")
    assert recipient == user["email"] and "API token" in subject
    assert "nightly" in body and new["hint"] in body and new["token"] not in body and "viewer" in body
    assert "https://pt-abc.localhost:8443/account" in body


async def test_reset_and_logout_everywhere_revoke_tokens_when_asked(make_tenant, live, tenant_sql):
    await make_tenant(SUB)
    user = make_user(live.settings, SUB, ["viewer"])

    async def live_tokens() -> int:
        return tenant_sql(SUB, "SELECT count(*) FROM api_tokens WHERE user_id = %s AND revoked_at IS NULL",
                          (user["id"],))[0][0]

    async def reset(password: str, **extra) -> None:
        async with client(live) as c:
            assert (await c.post("/api/v1/auth/password-reset", json={"email": user["email"]})).status_code == 202
            [(body,)] = tenant_sql(SUB, "SELECT body FROM outbox WHERE subject LIKE 'Reset%%' ORDER BY id DESC LIMIT 1")
            token = re.search(r"token=([\w-]+)", body).group(1)
            r = await c.post("/api/v1/auth/password-reset/confirm", json={"token": token, "password": password, **extra})
            assert r.status_code == 204, r.text

    # logout-all: tokens stay unless asked.
    async with signed_in(live, user) as c:
        assert (await c.post("/api/v1/auth/logout-all")).status_code == 204
    assert await live_tokens() == 1
    async with signed_in(live, user) as c:
        assert (await c.post("/api/v1/auth/logout-all", json={"revoke_tokens": True})).status_code == 204
        assert (await c.get("/api/v1/auth/me")).status_code == 401
    assert await live_tokens() == 0
    async with client(live, Authorization=f"Bearer {user['token']}") as t:
        assert (await t.get("/api/v1/auth/me")).status_code == 401

    # A reset revokes them by default; keeping them must be asked for.
    for _ in range(2):
        tenant_sql(SUB, "INSERT INTO api_tokens (id, token_hash, user_id, name, hint, roles) "
                        "VALUES (%s, %s, %s, 'k', 'kkkk', '{viewer}')", (uuid.uuid4(), uuid.uuid4().hex, user["id"]))
    await reset(NEW_PASSWORD, revoke_tokens=False)
    assert await live_tokens() == 2
    await reset(NEW_PASSWORD + "!")
    assert await live_tokens() == 0


# -- the admin role and owners ---------------------------------------------------------------------------------
async def test_an_admin_cannot_act_on_an_owner_but_an_owner_can(make_tenant, live, tenant_sql):
    await make_tenant(SUB)
    s = live.settings
    owner, other_owner = make_user(s, SUB, ["owner"]), make_user(s, SUB, ["owner"])
    admin = make_user(s, SUB, ["admin"])
    owner_token_id = tenant_sql(SUB, "SELECT id FROM api_tokens WHERE user_id = %s", (owner["id"],))[0][0]

    def actions(target: dict, token_id) -> list:
        return [("DELETE", f"/api/v1/users/{target['id']}/sessions", None),
                ("DELETE", f"/api/v1/auth/tokens/{token_id}", None),
                ("PATCH", f"/api/v1/users/{target['id']}", {"name": "Renamed"}),
                ("PATCH", f"/api/v1/users/{target['id']}", {"email": f"moved-{uuid.uuid4().hex[:6]}@example.test"}),
                ("PATCH", f"/api/v1/users/{target['id']}", {"language": "en"}),
                ("PATCH", f"/api/v1/users/{target['id']}", {"roles": ["owner", "finance"]}),
                ("POST", f"/api/v1/users/{target['id']}/invite", None),
                ("DELETE", f"/api/v1/users/{target['id']}/mfa", None),
                ("PATCH", f"/api/v1/users/{target['id']}", {"is_active": False})]

    async with signed_in(live, admin) as a, signed_in(live, owner, ip="198.51.100.9") as owner_browser:
        before = tenant_sql(SUB, "SELECT row_to_json(u)::text FROM users u WHERE id = %s", (owner["id"],))
        for method, path, body in actions(owner, owner_token_id):
            r = await a.request(method, path, json=body)
            assert r.status_code == 403 and r.json()["detail"] == "only an owner can act on an owner's account", \
                (method, path, body, r.text)
        # Nothing happened to the owner: same row, session alive, token working, no mail.
        assert tenant_sql(SUB, "SELECT row_to_json(u)::text FROM users u WHERE id = %s", (owner["id"],)) == before
        assert (await owner_browser.get("/api/v1/auth/me")).status_code == 200
        async with client(live, Authorization=f"Bearer {owner['token']}") as t:
            assert (await t.get("/api/v1/auth/me")).status_code == 200
        assert tenant_sql(SUB, "SELECT count(*) FROM outbox")[0][0] == 0
        # The pages refuse the same (deactivating an owner from the users page).
        csrf = (await a.get("/api/v1/auth/me")).json()["csrf_token"]
        r = await a.post(f"/users/{owner['id']}/active", data={"csrf_token": csrf, "active": "0"},
                         headers={"Origin": f"http://{HOST}"})
        assert r.status_code == 403 and "only an owner can act on an owner" in r.text

        # Another owner may do each of them (the invite last but one, deactivation last).
        other_token_id = tenant_sql(SUB, "SELECT id FROM api_tokens WHERE user_id = %s", (other_owner["id"],))[0][0]
        for method, path, body in actions(other_owner, other_token_id):
            r = await owner_browser.request(method, path, json=body)
            assert r.status_code in (200, 202, 204), (method, path, body, r.text)
        # And an owner acts on themself.
        assert (await owner_browser.patch(f"/api/v1/users/{owner['id']}", json={"name": "Me"})).status_code == 200
        r = await owner_browser.delete(f"/api/v1/auth/tokens/{owner_token_id}")
        assert r.status_code == 204
        r = await owner_browser.delete(f"/api/v1/users/{owner['id']}/sessions")
        assert r.status_code == 204


# -- links in mail -----------------------------------------------------------------------------------------------
async def test_mailed_links_use_the_canonical_host_whatever_the_request_says(make_tenant, live, tenant_sql):
    await make_tenant(SUB)
    owner = make_user(live.settings, SUB, ["owner"])
    forged = [{"Host": "pt-abc.localhost:6666"},
              {"X-Forwarded-Host": "pt-abc.localhost:9999", "X-Forwarded-Proto": "http"},
              {"X-Forwarded-Host": "evil.example", "X-Forwarded-Proto": "http"}]
    for headers in forged:
        async with live.client(HOST, headers={"X-Forwarded-For": "198.51.100.40", **headers}) as c:
            r = await c.post("/api/v1/auth/password-reset", json={"email": owner["email"]})
            assert r.status_code in (202, 400, 404), r.text  # a host that is not the tenant's may be refused
    async with live.client("pt-abc.localhost:6666", headers={"X-Forwarded-For": "198.51.100.41"}) as o:
        r = await o.post(LOGIN, json={"email": owner["email"], "password": TEST_PASSWORD})
        assert r.status_code == 200
        assert (await o.post("/api/v1/users", json={"email": "new@example.test", "roles": ["viewer"]})).status_code == 201
        assert (await o.post("/api/v1/auth/tokens", json={"name": "t", "roles": ["viewer"]})).status_code == 201
    bodies = [b for (b,) in tenant_sql(SUB, "SELECT body FROM outbox ORDER BY id")]
    assert len(bodies) >= 3
    links = [m for b in bodies for m in re.findall(r"\w+://[^\s/]+", b)]
    assert links and set(links) == {"https://pt-abc.localhost:8443"}, links
