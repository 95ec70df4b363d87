"""Tenant sign-in hardening over real HTTP: one answer for every wrong credential, account lockout (429 with
Retry-After even with the right password, other accounts and tenants unaffected), the per-IP throttle (not
dodged with a forged X-Forwarded-For) — with Redis, and with the in-process fallback (no Redis)."""

from __future__ import annotations

import pytest

from tests.fixtures.auth import TEST_PASSWORD, make_user

HOST = "pt-abc.localhost"


def with_and_without_redis(**overrides):
    """Run the test twice: counters in Redis, and in the process's memory (no Redis configured)."""
    return pytest.mark.parametrize("settings", [overrides, {**overrides, "redis_url": None}], indirect=True,
                                   ids=["redis", "in-process"])


@pytest.fixture
def settings(make_settings, request):
    """Settings with the overrides a test asks for through indirect parametrization."""
    return make_settings(**getattr(request, "param", {}))


async def _login(live, email: str, password: str = TEST_PASSWORD, host: str = HOST, **headers):
    async with live.client(host, headers=headers) as c:
        return await c.post("/api/v1/auth/login", json={"email": email, "password": password})


async def test_every_wrong_credential_gets_the_same_answer(make_tenant, live, tenant_sql):
    await make_tenant("pt-abc")
    user = make_user(live.settings, "pt-abc", ["sales"])
    gone = make_user(live.settings, "pt-abc", ["sales"])
    tenant_sql("pt-abc", "UPDATE users SET is_active = false WHERE id = %s", (gone["id"],))
    invited = make_user(live.settings, "pt-abc", ["sales"], password=None)  # never chose a password
    answers = []
    for email, password in ((user["email"], "wrong-password-123"), ("nobody@example.test", TEST_PASSWORD),
                            (gone["email"], TEST_PASSWORD), (invited["email"], TEST_PASSWORD),
                            (invited["email"], ""), (user["email"], TEST_PASSWORD + " ")):
        r = await _login(live, email, password)
        if password == "":
            assert r.status_code == 422  # refused by validation before any lookup
            continue
        assert "set-cookie" not in r.headers
        answers.append((r.status_code, r.json(), r.headers.get("www-authenticate")))
    assert answers == [(401, {"detail": "wrong email or password"}, 'Bearer realm="polyflow"')] * len(answers)
    assert tenant_sql("pt-abc", "SELECT count(*) FROM user_sessions")[0][0] == 0
    assert (await _login(live, user["email"])).status_code == 200


@with_and_without_redis(lockout_failures=3, lockout_minutes=2, login_ip_per_minute=100)
async def test_lockout_refuses_even_the_right_password_and_spares_other_accounts(make_tenant, live, tenant_sql):
    await make_tenant("pt-abc")
    await make_tenant("pt-xyz")
    victim = make_user(live.settings, "pt-abc", ["owner"])
    other = make_user(live.settings, "pt-abc", ["owner"])
    twin = make_user(live.settings, "pt-xyz", ["owner"], email=victim["email"])
    for _ in range(3):
        assert (await _login(live, victim["email"], "not-the-password")).status_code == 401
    for email in (victim["email"], f"  {victim['email'].upper()} "):  # the same account, spelled differently
        r = await _login(live, email)
        assert r.status_code == 429, r.text
        assert 1 <= int(r.headers["retry-after"]) <= 120
        assert "too many failed sign-ins" in r.json()["detail"] and "set-cookie" not in r.headers
    assert tenant_sql("pt-abc", "SELECT count(*) FROM user_sessions")[0][0] == 0
    # The lock is on one account of one tenant: another account, and the same email on pt-xyz, sign in.
    assert (await _login(live, other["email"])).status_code == 200
    assert (await _login(live, twin["email"], host="pt-xyz.localhost")).status_code == 200
    # Existing credentials of the locked account keep working (the lock is about guessing passwords).
    async with live.client(HOST, headers={"Authorization": f"Bearer {victim['token']}"}) as c:
        assert (await c.get("/api/v1/auth/me")).status_code == 200


@with_and_without_redis(login_ip_per_minute=5, lockout_failures=50)
async def test_per_ip_throttle_is_429_and_not_dodged_by_forwarded_headers(make_tenant, live, tenant_sql):
    await make_tenant("pt-abc")
    users = [make_user(live.settings, "pt-abc", ["viewer"]) for _ in range(3)]
    for i in range(5):
        assert (await _login(live, users[0]["email"], "wrong-password-1" if i % 2 else TEST_PASSWORD)).status_code in (200, 401)
    sessions = tenant_sql("pt-abc", "SELECT count(*) FROM user_sessions")[0][0]
    for spoof in ({}, {"X-Forwarded-For": "203.0.113.7"}, {"X-Real-IP": "203.0.113.8"},
                  {"Forwarded": "for=203.0.113.9"}):
        r = await _login(live, users[1]["email"], **spoof)  # right password, another account
        assert r.status_code == 429, (spoof, r.text)
        assert 1 <= int(r.headers["retry-after"]) <= 60
        assert "from your address" in r.json()["detail"]
    assert tenant_sql("pt-abc", "SELECT count(*) FROM user_sessions")[0][0] == sessions
    # Existing credentials are not throttled.
    async with live.client(HOST, headers={"Authorization": f"Bearer {users[2]['token']}"}) as c:
        assert (await c.get("/api/v1/auth/me")).status_code == 200
