"""API tokens over real HTTP: made from a browser session (never by another token), shown once and stored hashed,
limited to roles chosen explicitly (at most the user's, re-checked on every use), revocable, expiring after 90
days unless asked otherwise, mailed to their owner, and their last use recorded."""

from __future__ import annotations

import hashlib
import uuid
from datetime import datetime, timedelta, timezone


from tests.fixtures.auth import bearer_client as bearer, make_user, session_client, tenant_sql as sql

SUB = "pt-abc"
TOKENS = "/api/v1/auth/tokens"
PRODUCT = {"sku": "PP-001", "name": "Polypropylene resin", "unit": "KG"}


async def test_a_new_token_is_shown_once_and_stored_hashed(live, make_tenant):
    await make_tenant(SUB)
    owner = make_user(live.settings, SUB, ["owner"])
    async with session_client(live, owner) as c:
        r = await c.post(TOKENS, json={"name": "  nightly import  ", "roles": ["owner"]})
        assert r.status_code == 201, r.text
        new = r.json()
        token = new["token"]
        assert token.startswith("pft_") and new["hint"] == token[-4:] and new["name"] == "nightly import"
        assert new["roles"] == ["owner"] and new["revoked_at"] is None

        r = await c.get(TOKENS)
        assert r.status_code == 200
        listed = {t["id"]: t for t in r.json()}
        [(fixture_token,)] = sql(live.settings, "SELECT id FROM api_tokens WHERE name = 'test'")
        assert set(listed) == {new["id"], str(fixture_token)}
        assert all("token" not in t for t in listed.values())
        secret = token.split("_", 2)[2]
        assert secret not in r.text and listed[new["id"]]["hint"] == token[-4:]

        [(stored_hash, whole_row)] = sql(live.settings, "SELECT token_hash, row_to_json(t)::text FROM api_tokens t "
                                                        "WHERE id = %s", uuid.UUID(new["id"]))
        assert stored_hash == hashlib.sha256(token.encode()).hexdigest() and secret not in whole_row
    async with bearer(live, token) as t:
        me = (await t.get("/api/v1/auth/me")).json()
        assert me["email"] == owner["email"] and me["via"] == "token" and "users.manage" in me["permissions"]
        assert secret not in (await t.get(TOKENS)).text


async def test_token_roles_are_a_subset_of_the_callers(live, make_tenant):
    await make_tenant(SUB)
    owner = make_user(live.settings, SUB, ["owner"])
    buyer = make_user(live.settings, SUB, ["purchasing", "viewer"])
    async with session_client(live, owner) as c:
        # Unknown roles, an empty list and no list at all are invalid input: a token gets no role by default.
        for body in ({"roles": ["superuser"]}, {"roles": ["owner", "root"]}, {"roles": []}, {}, {"roles": None}):
            r = await c.post(TOKENS, json={"name": "x", **body})
            assert r.status_code == 422, (body, r.text)
        r = await c.post(TOKENS, json={"name": "all", "roles": ["owner"]})
        assert r.status_code == 201 and r.json()["roles"] == ["owner"]
    assert sql(live.settings, "SELECT count(*) FROM api_tokens WHERE name = 'x'") == [(0,)]

    async with session_client(live, buyer) as c:
        assert (await c.post("/api/v1/products", json=PRODUCT)).status_code == 201  # the user may write
        r = await c.post(TOKENS, json={"name": "read only", "roles": ["viewer", "viewer"]})
        assert r.status_code == 201 and r.json()["roles"] == ["viewer"]
        viewer_token = r.json()["token"]
        r = await c.post(TOKENS, json={"name": "x", "roles": ["finance"]})
        assert r.status_code == 403
        assert r.json()["detail"] == "a token cannot have more rights than you: finance"
        r = await c.post(TOKENS, json={"name": "x", "roles": ["viewer", "admin"]})
        assert r.status_code == 403 and "admin" in r.json()["detail"]

    async with bearer(live, viewer_token) as v:
        assert (await v.get("/api/v1/products")).status_code == 200
        r = await v.post("/api/v1/products", json={**PRODUCT, "sku": "PP-002"})
        assert r.status_code == 403 and r.json()["detail"] == "your role (viewer) does not allow catalog.write"
        permissions = (await v.get("/api/v1/auth/me")).json()["permissions"]
        assert "catalog.read" in permissions and all(p.endswith(".read") for p in permissions)
        # A token mints no token at all, not even a weaker one: a leaked token must not breed.
        for roles in (["purchasing"], ["viewer"]):
            r = await v.post(TOKENS, json={"name": "escalate", "roles": roles})
            assert r.status_code == 403 and "an API token cannot create tokens" in r.json()["detail"]
    assert sql(live.settings, "SELECT count(*) FROM api_tokens WHERE name IN ('escalate', 'x')") == [(0,)]


async def test_an_owner_can_create_a_read_only_token(live, make_tenant):
    await make_tenant(SUB)
    owner = make_user(live.settings, SUB, ["owner"])
    async with session_client(live, owner) as c:
        r = await c.post(TOKENS, json={"name": "read only", "roles": ["viewer"]})
        assert r.status_code == 201, r.text
        token = r.json()["token"]
    async with bearer(live, token) as v:
        assert (await v.get("/api/v1/products")).status_code == 200
        assert (await v.post("/api/v1/products", json=PRODUCT)).status_code == 403


async def test_token_roles_are_rechecked_against_the_users_current_roles(live, make_tenant):
    await make_tenant(SUB)
    owner = make_user(live.settings, SUB, ["owner"])
    clerk = make_user(live.settings, SUB, ["purchasing"])
    async with session_client(live, clerk) as c:
        token = (await c.post(TOKENS, json={"name": "imports", "roles": ["purchasing"]})).json()["token"]
    async with session_client(live, owner) as o, bearer(live, token) as t:
        assert (await t.post("/api/v1/products", json=PRODUCT)).status_code == 201
        r = await o.patch(f"/api/v1/users/{clerk['id']}", json={"roles": ["viewer"]})
        assert r.status_code == 200 and r.json()["roles"] == ["viewer"]
        # At once: the token's purchasing role is gone with the user's, and it does not gain viewer.
        assert (await t.get("/api/v1/auth/me")).json()["permissions"] == []
        r = await t.post("/api/v1/products", json={**PRODUCT, "sku": "PP-002"})
        assert r.status_code == 403 and r.json()["detail"] == "your role (none) does not allow catalog.write"
        assert (await t.get("/api/v1/products")).status_code == 403
        # Given back, the token works again (it was limited, not revoked) with its own roles only.
        await o.patch(f"/api/v1/users/{clerk['id']}", json={"roles": ["purchasing", "finance"]})
        assert (await t.post("/api/v1/products", json={**PRODUCT, "sku": "PP-002"})).status_code == 201
        permissions = (await t.get("/api/v1/auth/me")).json()["permissions"]
        assert "purchasing.write" in permissions and "audit.read" not in permissions


async def test_revoking_a_token(live, make_tenant):
    await make_tenant(SUB)
    s = live.settings
    alice, bob, admin = (make_user(s, SUB, [role]) for role in ("sales", "sales", "admin"))
    async with session_client(live, alice) as a:
        first = (await a.post(TOKENS, json={"name": "one", "roles": ["sales"]})).json()
        second = (await a.post(TOKENS, json={"name": "two", "roles": ["sales"]})).json()
        assert (await a.delete(f"{TOKENS}/{first['id']}")).status_code == 204
        assert (await a.delete(f"{TOKENS}/{first['id']}")).status_code == 204  # idempotent
        listed = {t["id"]: t for t in (await a.get(TOKENS)).json()}
        assert listed[first["id"]]["revoked_at"] is not None and listed[second["id"]]["revoked_at"] is None
        assert (await a.delete(f"{TOKENS}/{uuid.uuid4()}")).status_code == 404
        assert (await a.delete(f"{TOKENS}/not-a-uuid")).status_code == 422
    async with bearer(live, first["token"]) as t:
        r = await t.get("/api/v1/auth/me")
        assert r.status_code == 401 and r.json()["detail"] == "this API token was revoked"
        assert r.headers["www-authenticate"].startswith("Bearer")

    # Another user's token: "not found" (its existence is not revealed) unless the caller manages users.
    async with bearer(live, bob["token"]) as b:
        r = await b.delete(f"{TOKENS}/{second['id']}")
        assert r.status_code == 404 and r.json()["detail"] == "no such API token"
    async with bearer(live, second["token"]) as t:
        assert (await t.get("/api/v1/auth/me")).status_code == 200
    async with bearer(live, admin["token"]) as m:
        assert (await m.delete(f"{TOKENS}/{second['id']}")).status_code == 204
    async with bearer(live, second["token"]) as t:
        assert (await t.get("/api/v1/auth/me")).status_code == 401


async def test_expiry_and_last_use(live, make_tenant):
    await make_tenant(SUB)
    s = live.settings
    user = make_user(s, SUB, ["viewer"])
    async with session_client(live, user) as c:
        for days in (0, -1, s.token_max_days + 1, 3651, "soon"):
            r = await c.post(TOKENS, json={"name": "x", "roles": ["viewer"], "expires_days": days})
            assert r.status_code == 422, (days, r.text)
        before = datetime.now(timezone.utc)
        new = (await c.post(TOKENS, json={"name": "month", "roles": ["viewer"], "expires_days": 30})).json()
        expires = datetime.fromisoformat(new["expires_at"])
        assert before + timedelta(days=30) - timedelta(seconds=1) <= expires \
            <= datetime.now(timezone.utc) + timedelta(days=30)
        assert new["last_used_at"] is None
    async with bearer(live, new["token"]) as t:
        used = datetime.now(timezone.utc)
        assert (await t.get("/api/v1/products")).status_code == 200
        [(last_used,)] = sql(s, "SELECT last_used_at FROM api_tokens WHERE id = %s", uuid.UUID(new["id"]))
        assert last_used is not None and used - timedelta(seconds=1) <= last_used <= datetime.now(timezone.utc)
        listed = {x["id"]: x for x in (await t.get(TOKENS)).json()}
        assert datetime.fromisoformat(listed[new["id"]]["last_used_at"]) == last_used

        # Written at most once a minute, not on every request.
        assert (await t.get("/api/v1/products")).status_code == 200
        assert sql(s, "SELECT last_used_at FROM api_tokens WHERE id = %s", uuid.UUID(new["id"])) == [(last_used,)]
        sql(s, "UPDATE api_tokens SET last_used_at = now() - interval '2 minutes' WHERE id = %s", uuid.UUID(new["id"]))
        assert (await t.get("/api/v1/products")).status_code == 200
        [(again,)] = sql(s, "SELECT last_used_at FROM api_tokens WHERE id = %s", uuid.UUID(new["id"]))
        assert again >= last_used

        sql(s, "UPDATE api_tokens SET expires_at = now() - interval '1 second' WHERE id = %s", uuid.UUID(new["id"]))
        r = await t.get("/api/v1/products")
        assert r.status_code == 401 and r.json()["detail"] == "this API token has expired"


async def test_malformed_and_foreign_tokens_are_refused(live, make_tenant):
    await make_tenant(SUB)
    await make_tenant("pt-xyz")
    other = make_user(live.settings, "pt-xyz", ["owner"])
    mine = make_user(live.settings, SUB, ["owner"])
    bad = ["pft_nope", mine["token"] + "x", mine["token"].replace("pft_", "pfs_"), other["token"]]
    for token in bad:
        async with bearer(live, token) as c:
            r = await c.get("/api/v1/auth/me")
            assert r.status_code == 401 and r.json()["detail"] == "invalid API token for this workspace", token
    async with live.tenant_client(SUB, role=None, headers={"Authorization": f"Basic {mine['token']}"}) as c:
        r = await c.get("/api/v1/auth/me")
        assert r.status_code == 401 and r.json()["detail"] == "use Authorization: Bearer <api token>"
