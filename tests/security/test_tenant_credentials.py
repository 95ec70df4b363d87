"""Tenant credentials over real HTTP: a session cookie or API token works on the tenant that issued it and
nowhere else (replayed, rewritten, swapped between cookie and bearer, copied into another tenant's
database); a suspended tenant refuses still-valid credentials until resumed; deactivation, revocation,
expiry and log-out-everywhere end credentials at once."""

from __future__ import annotations

import asyncio
import time
import uuid

from polyflow.kit.web import token_hash
from polyflow.platform import provisioning
from tests.fixtures.auth import TEST_PASSWORD, make_user

PRODUCT = {"sku": "REPLAY-1", "name": "Replayed write", "unit": "KG"}


async def _status(client, path: str = "/api/v1/auth/me") -> int:
    return (await client.get(path)).status_code


async def _until(client, wanted: int, timeout: float = 2.0, path: str = "/api/v1/auth/me") -> None:
    deadline = time.monotonic() + timeout
    while (status := await _status(client, path)) != wanted:
        assert time.monotonic() < deadline, f"{path}: still {status} after {timeout}s (wanted {wanted})"
        await asyncio.sleep(0.02)


def _secret(token: str) -> str:
    return token.split("_", 2)[2]


# --- cross-tenant replay -----------------------------------------------------------------------------------


async def test_cookie_and_token_of_one_tenant_are_refused_by_another(make_tenant, live, tenant_sign_in, tenant_as,
                                                                     tenant_sql):
    abc = await make_tenant("pt-abc")
    xyz = await make_tenant("pt-xyz")
    user = make_user(live.settings, "pt-abc", ["owner"])
    # The same person (same email and password) on pt-xyz: the strongest replay, the account exists there too.
    twin = make_user(live.settings, "pt-xyz", ["owner"], email=user["email"])
    cookie = await tenant_sign_in("pt-abc", user["email"])
    assert cookie.startswith(f"pfs_{abc.id.hex}_")
    token = user["token"]
    xyz_products = tenant_sql("pt-xyz", "SELECT count(*) FROM products")[0][0]

    async with tenant_as("pt-abc", cookie=cookie) as c, tenant_as("pt-abc", token=token) as t:
        assert (await c.get("/api/v1/auth/me")).json()["via"] == "session"
        assert (await t.get("/api/v1/auth/me")).json()["via"] == "token"

    forged_token = f"pft_{xyz.id.hex}_{_secret(token)}"  # tenant part rewritten, secret kept
    forged_cookie = f"pfs_{xyz.id.hex}_{_secret(cookie)}"
    refused = [
        ("pt-xyz", {"cookie": cookie}), ("pt-xyz", {"token": token}),
        ("pt-xyz", {"token": forged_token}), ("pt-xyz", {"cookie": forged_cookie}),
        ("pt-abc", {"token": forged_token}), ("pt-abc", {"cookie": forged_cookie}),
        # The right tenant, the wrong channel: a session is not an API token and the other way round.
        ("pt-abc", {"token": cookie}), ("pt-abc", {"cookie": token}),
        ("pt-xyz", {"token": cookie}), ("pt-xyz", {"cookie": token}),
    ]
    for sub, cred in refused:
        async with tenant_as(sub, **cred) as c:
            for method, path, body in (("GET", "/api/v1/auth/me", None), ("GET", "/api/v1/products", None),
                                       ("POST", "/api/v1/products", PRODUCT), ("GET", "/api/v1/users", None)):
                r = await c.request(method, path, json=body)
                assert r.status_code == 401, (sub, cred, method, path, r.status_code, r.text)
                assert user["email"] not in r.text
    # Nothing was written on either side, and the genuine credentials still work at home.
    assert tenant_sql("pt-xyz", "SELECT count(*) FROM products")[0][0] == xyz_products
    assert tenant_sql("pt-abc", "SELECT count(*) FROM products WHERE sku = %s", (PRODUCT["sku"],))[0][0] == 0
    assert tenant_sql("pt-xyz", "SELECT count(*) FROM user_sessions")[0][0] == 0
    async with tenant_as("pt-abc", cookie=cookie) as c, tenant_as("pt-abc", token=token) as t:
        assert await _status(c) == 200 and await _status(t) == 200
    async with tenant_as("pt-xyz", token=twin["token"]) as x:
        assert (await x.get("/api/v1/auth/me")).json()["id"] == str(twin["id"])


async def test_a_token_row_copied_into_another_tenants_database_matches_nothing(make_tenant, live, tenant_as,
                                                                                 tenant_sql):
    """Defence in depth: even a leaked hash planted in pt-xyz's table does not let pt-abc's token in there
    (the tenant part of the token is checked before the lookup, and it is inside the hashed text)."""
    await make_tenant("pt-abc")
    await make_tenant("pt-xyz")
    abc_user = make_user(live.settings, "pt-abc", ["owner"])
    xyz_user = make_user(live.settings, "pt-xyz", ["owner"])
    tenant_sql("pt-xyz", "INSERT INTO api_tokens (id, token_hash, user_id, name, hint, roles) "
                         "VALUES (%s, %s, %s, 'planted', 'xxxx', %s)",
               (uuid.uuid4(), token_hash(abc_user["token"]), xyz_user["id"], ["owner"]))
    async with tenant_as("pt-xyz", token=abc_user["token"]) as c:
        assert await _status(c) == 401
        assert await _status(c, "/api/v1/products") == 401


async def test_malformed_credentials_are_401_not_500(make_tenant, live, tenant_as):
    await make_tenant("pt-abc")
    cases = [{"token": "x"}, {"token": "pft_"}, {"token": "pft__" + "a" * 40}, {"token": "pft_" + "a" * 300},
             {"token": "pfa_admin_" + "a" * 43}, {"cookie": "pfs_"}, {"cookie": "pfs_" + "z" * 500},
             {"Authorization": "Basic b3duZXI6cGFzc3dvcmQ="}, {"Authorization": "Bearer"},
             {"Authorization": "Bearer \t."}, {"Authorization": "pft_abc"}]
    for case in cases:
        async with tenant_as("pt-abc", **case) as c:
            r = await c.get("/api/v1/auth/me")
            assert r.status_code == 401, (case, r.status_code, r.text)
            assert r.headers["www-authenticate"].startswith("Bearer")


# --- suspension ---------------------------------------------------------------------------------------------


async def test_a_suspended_tenant_refuses_a_valid_session_and_token_until_resumed(platform, make_tenant, live,
                                                                                 tenant_sign_in, tenant_as,
                                                                                 tenant_sql):
    await make_tenant("pt-abc")
    await make_tenant("pt-xyz")
    user = make_user(live.settings, "pt-abc", ["owner"])
    cookie = await tenant_sign_in("pt-abc", user["email"])
    other = make_user(live.settings, "pt-xyz", ["owner"])
    sessions = tenant_sql("pt-abc", "SELECT count(*) FROM user_sessions")[0][0]
    deadline = time.monotonic() + 5
    while not live.platform.routes.listening.is_set():  # the invalidation must be able to reach the server
        assert time.monotonic() < deadline
        await asyncio.sleep(0.01)

    async with tenant_as("pt-abc", cookie=cookie, Origin="http://pt-abc.localhost") as c, \
            tenant_as("pt-abc", token=user["token"]) as t, tenant_as("pt-xyz", token=other["token"]) as x, \
            tenant_as("pt-abc") as anonymous:
        assert await _status(c) == 200 and await _status(t) == 200

        await provisioning.set_status(platform, "pt-abc", "suspended", reason="unpaid invoice")
        await _until(t, 403)
        for client in (c, t):
            for method, path, body in (("GET", "/api/v1/auth/me", None), ("GET", "/api/v1/products", None),
                                       ("POST", "/api/v1/products", PRODUCT), ("POST", "/api/v1/auth/tokens",
                                                                               {"name": "while suspended"})):
                r = await client.request(method, path, json=body)
                assert r.status_code == 403 and "suspended" in r.json()["detail"], (method, path, r.text)
        r = await anonymous.post("/api/v1/auth/login", json={"email": user["email"], "password": TEST_PASSWORD})
        assert r.status_code == 403 and "set-cookie" not in r.headers
        assert await _status(x) == 200  # another tenant is untouched
        assert tenant_sql("pt-abc", "SELECT count(*) FROM products")[0][0] == 0
        assert tenant_sql("pt-abc", "SELECT count(*) FROM api_tokens")[0][0] == 1
        assert tenant_sql("pt-abc", "SELECT count(*) FROM user_sessions")[0][0] == sessions

        await provisioning.set_status(platform, "pt-abc", "active")
        await _until(t, 200)
        assert await _status(c) == 200  # the session survived the suspension
        assert (await t.post("/api/v1/products", json=PRODUCT)).status_code == 201


# --- ending credentials -------------------------------------------------------------------------------------


async def test_deactivating_a_user_ends_their_sessions_and_tokens_at_once(make_tenant, live, tenant_sign_in,
                                                                         tenant_as, tenant_sql):
    await make_tenant("pt-abc")
    boss = make_user(live.settings, "pt-abc", ["owner"])
    clerk = make_user(live.settings, "pt-abc", ["sales"])
    cookie = await tenant_sign_in("pt-abc", clerk["email"])
    async with tenant_as("pt-abc", cookie=cookie) as c, tenant_as("pt-abc", token=clerk["token"]) as t, \
            tenant_as("pt-abc", token=boss["token"]) as owner:
        assert await _status(c) == 200 and await _status(t) == 200
        r = await owner.patch(f"/api/v1/users/{clerk['id']}", json={"is_active": False})
        assert r.status_code == 200 and r.json()["is_active"] is False
        assert await _status(c) == 401 and await _status(t) == 401  # no cache, no grace period
        r = await c.post("/api/v1/auth/login", json={"email": clerk["email"], "password": TEST_PASSWORD})
        assert r.status_code == 401 and "set-cookie" not in r.headers
        # Reactivating does not bring the old credentials back.
        assert (await owner.patch(f"/api/v1/users/{clerk['id']}", json={"is_active": True})).status_code == 200
        assert await _status(c) == 401 and await _status(t) == 401
        assert tenant_sql("pt-abc", "SELECT count(*) FROM api_tokens WHERE user_id = %s AND revoked_at IS NULL",
                          (clerk["id"],))[0][0] == 0

    # A user switched off behind the API's back (straight in the database, tokens not revoked) is refused too.
    other = make_user(live.settings, "pt-abc", ["viewer"])
    other_cookie = await tenant_sign_in("pt-abc", other["email"])
    tenant_sql("pt-abc", "UPDATE users SET is_active = false WHERE id = %s", (other["id"],))
    async with tenant_as("pt-abc", token=other["token"]) as t, tenant_as("pt-abc", cookie=other_cookie) as c:
        assert await _status(t) == 401 and await _status(c) == 401


async def test_revoked_and_expired_tokens_and_ended_sessions_are_401(make_tenant, live, tenant_sign_in, tenant_as,
                                                                    tenant_sql):
    await make_tenant("pt-abc")
    user = make_user(live.settings, "pt-abc", ["owner"])
    # Tokens are made from a browser session (a token cannot make tokens), with their roles chosen.
    async with tenant_as("pt-abc", cookie=await tenant_sign_in("pt-abc", user["email"])) as me:
        made = [(await me.post("/api/v1/auth/tokens", json={"name": f"t{i}", "roles": ["owner"]})).json()
                for i in range(2)]
        revoked, expiring = made
        async with tenant_as("pt-abc", token=revoked["token"]) as t:
            assert await _status(t) == 200
            assert (await me.delete(f"/api/v1/auth/tokens/{revoked['id']}")).status_code == 204
            r = await t.get("/api/v1/auth/me")
            assert r.status_code == 401 and "revoked" in r.json()["detail"]
            assert (await t.delete(f"/api/v1/auth/tokens/{revoked['id']}")).status_code == 401
    async with tenant_as("pt-abc", token=expiring["token"]) as t:
        assert await _status(t) == 200
        tenant_sql("pt-abc", "UPDATE api_tokens SET expires_at = now() - interval '1 second' WHERE id = %s",
                   (uuid.UUID(expiring["id"]),))
        r = await t.get("/api/v1/auth/me")
        assert r.status_code == 401 and "expired" in r.json()["detail"]
        assert (await t.post("/api/v1/products", json=PRODUCT)).status_code == 401

    # Sessions: past their absolute end, or idle for longer than allowed.
    for column, value in (("expires_at", "now() - interval '1 second'"), ("last_seen_at", "now() - interval '3 hours'")):
        cookie = await tenant_sign_in("pt-abc", user["email"])
        async with tenant_as("pt-abc", cookie=cookie) as c:
            assert await _status(c) == 200
            tenant_sql("pt-abc", f"UPDATE user_sessions SET {column} = {value} WHERE token_hash = %s",
                       (token_hash(cookie),))
            assert await _status(c) == 401, column
    assert tenant_sql("pt-abc", "SELECT count(*) FROM products")[0][0] == 0


async def test_logout_all_ends_every_session_but_not_api_tokens(make_tenant, live, tenant_sign_in, tenant_as,
                                                               tenant_sql):
    await make_tenant("pt-abc")
    user = make_user(live.settings, "pt-abc", ["finance"])
    bystander = make_user(live.settings, "pt-abc", ["viewer"])
    laptop, phone = [await tenant_sign_in("pt-abc", user["email"]) for _ in range(2)]
    theirs = await tenant_sign_in("pt-abc", bystander["email"])
    async with tenant_as("pt-abc", cookie=laptop, Origin="http://pt-abc.localhost") as a, \
            tenant_as("pt-abc", cookie=phone) as b, tenant_as("pt-abc", token=user["token"]) as t, \
            tenant_as("pt-abc", cookie=theirs) as other:
        assert [await _status(x) for x in (a, b, t, other)] == [200] * 4
        r = await a.post("/api/v1/auth/logout-all")
        assert r.status_code == 204 and 'pf_session=""' in r.headers["set-cookie"]
        assert await _status(a) == 401 and await _status(b) == 401
        assert await _status(t) == 200  # API tokens are revoked one by one, not by logout-all
        assert await _status(other) == 200  # another user's session is untouched
    assert tenant_sql("pt-abc", "SELECT count(*) FROM user_sessions WHERE user_id = %s", (user["id"],))[0][0] == 0


async def test_a_token_follows_its_users_current_roles_and_another_users_token_is_not_found(
        make_tenant, live, tenant_as, tenant_sign_in, tenant_sql):
    await make_tenant("pt-abc")
    boss = make_user(live.settings, "pt-abc", ["owner"])
    clerk = make_user(live.settings, "pt-abc", ["purchasing"])
    peer = make_user(live.settings, "pt-abc", ["sales"])
    # Roles are changed from the owner's browser session (recent sign-in: the step-up it needs).
    boss_cookie = await tenant_sign_in("pt-abc", boss["email"])
    async with tenant_as("pt-abc", token=clerk["token"]) as t, tenant_as("pt-abc", cookie=boss_cookie) as owner, \
            tenant_as("pt-abc", token=peer["token"]) as p:
        assert (await t.post("/api/v1/products", json=PRODUCT)).status_code == 201
        # Demoted: the token (issued with "purchasing") loses the write at once.
        assert (await owner.patch(f"/api/v1/users/{clerk['id']}", json={"roles": ["viewer"]})).status_code == 200
        r = await t.post("/api/v1/products", json={**PRODUCT, "sku": "REPLAY-2"})
        assert r.status_code == 403
        # A token keeps only the roles it was issued with: promoting the user does not widen it.
        assert (await owner.patch(f"/api/v1/users/{clerk['id']}", json={"roles": ["owner", "purchasing"]})).status_code == 200
        assert (await t.get("/api/v1/users")).status_code == 403
        assert (await t.get("/api/v1/products")).status_code == 200
        # Within a tenant, another user's token is "not found" to anyone without users.manage.
        clerk_token_id = tenant_sql("pt-abc", "SELECT id FROM api_tokens WHERE user_id = %s", (clerk["id"],))[0][0]
        assert (await p.delete(f"/api/v1/auth/tokens/{clerk_token_id}")).status_code == 404
        assert (await t.get("/api/v1/products")).status_code == 200
    assert tenant_sql("pt-abc", "SELECT count(*) FROM products")[0][0] == 1

