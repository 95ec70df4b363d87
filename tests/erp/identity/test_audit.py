"""The tenant's audit log over real HTTP: row changes made by a signed-in user are recorded with who, what,
before and after (never a secret); sign-in events are recorded; reading it needs audit.read; ledger rows
carry their author; work without a signed-in user records nothing."""

from __future__ import annotations

import json
import re
import uuid


from tests.fixtures.auth import TEST_PASSWORD, bearer_client as bearer, make_user, session_client, tenant_sql as sql

SUB = "pt-abc"
AUDIT = "/api/v1/audit"
LOGIN = "/api/v1/auth/login"
GOOD = "Fresh-Passw0rd-for-2026"


def actions(settings) -> list[tuple[str, str]]:
    """(action, entity) of every audit row, oldest first."""
    return [(a, e) for a, e in sql(settings, "SELECT action, entity FROM audit_log ORDER BY id")]


async def test_product_changes_are_audited_with_who_and_what(live, make_tenant):
    await make_tenant(SUB)
    owner = make_user(live.settings, SUB, ["owner"])
    async with bearer(live, owner["token"]) as c:
        r = await c.post("/api/v1/products", json={"sku": "PP-001", "name": "PP resin", "unit": "KG"})
        assert r.status_code == 201, r.text
        pid = r.json()["id"]
        r = await c.patch(f"/api/v1/products/{pid}", json={"name": "PP resin natural", "sell_price": "12500.50",
                                                           "unit": "KG", "description": None})
        assert r.status_code == 200, r.text
        assert (await c.delete(f"/api/v1/products/{pid}")).status_code == 204

        r = await c.get(AUDIT, params={"entity": "products", "entity_id": pid})
        assert r.status_code == 200
        page = r.json()
        assert page["total"] == 3
        deleted, updated, created = page["items"]  # newest first
        for entry in (created, updated, deleted):
            assert entry["actor"] == owner["email"] and entry["user_id"] == str(owner["id"])
            assert entry["entity"] == "products" and entry["entity_id"] == pid and entry["ip"] == "127.0.0.1"
        assert [created["action"], updated["action"], deleted["action"]] == ["create", "update", "delete"]
        assert created["changes"]["after"]["sku"] == "PP-001" and created["changes"]["after"]["name"] == "PP resin"
        assert created["changes"]["after"]["id"] == pid and "before" not in created["changes"]
        # Only what changed: not the unchanged unit, nor the null description, nor timestamps.
        assert updated["changes"] == {"before": {"name": "PP resin", "sell_price": None},
                                      "after": {"name": "PP resin natural", "sell_price": "12500.50"}}
        assert deleted["changes"]["before"]["name"] == "PP resin natural" and "after" not in deleted["changes"]

        # The default variant made with the product is recorded as its own entity; filters combine.
        r = await c.get(AUDIT, params={"entity": "product_variants", "action": "create"})
        assert r.json()["total"] == 1 and r.json()["items"][0]["changes"]["after"]["sku"] == "PP-001"
        r = await c.get(AUDIT, params={"user_id": str(owner["id"]), "entity": "products"})
        assert r.json()["total"] == 3
        r = await c.get(AUDIT, params={"limit": 1, "offset": 1, "entity": "products"})
        assert [e["action"] for e in r.json()["items"]] == ["update"]
        assert (await c.get(AUDIT, params={"user_id": "nope"})).status_code == 422


async def test_sign_in_events_are_recorded(live, make_tenant):
    await make_tenant(SUB)
    s = live.settings
    user = make_user(s, SUB, ["finance"])
    stranger = f"nobody-{uuid.uuid4().hex[:6]}@example.test"
    async with live.tenant_client(SUB, role=None) as c:
        assert (await c.post(LOGIN, json={"email": user["email"], "password": "wrong"})).status_code == 401
        assert (await c.post(LOGIN, json={"email": stranger, "password": "wrong"})).status_code == 401
        assert (await c.post(LOGIN, json={"email": user["email"], "password": TEST_PASSWORD})).status_code == 200
        token = (await c.post("/api/v1/auth/tokens", json={"name": "books", "roles": ["finance"]})).json()
        assert (await c.delete(f"/api/v1/auth/tokens/{token['id']}")).status_code == 204
        r = await c.post("/api/v1/auth/password", json={"current_password": TEST_PASSWORD, "new_password": GOOD})
        assert r.status_code == 204
        assert (await c.post("/api/v1/auth/logout-all")).status_code == 204
        assert (await c.post(LOGIN, json={"email": user["email"], "password": GOOD})).status_code == 200
        assert (await c.post("/api/v1/auth/logout")).status_code == 204
    assert actions(s) == [("login_failed", "user"), ("login_failed", "user"), ("login", "user"),
                          ("token_created", "api_token"), ("token_revoked", "api_token"), ("password_changed", "user"),
                          ("logout_all", "user"), ("login", "user"), ("logout", "user")]

    async with bearer(live, user["token"]) as c:
        page = (await c.get(AUDIT, params={"action": "login_failed"})).json()
    unknown, wrong = page["items"]
    assert wrong["actor"] == user["email"] and wrong["user_id"] == str(user["id"])
    assert wrong["changes"] == {"reason": "bad credentials"} and wrong["ip"] == "127.0.0.1"
    assert unknown["actor"] == stranger and unknown["user_id"] is None and unknown["entity_id"] is None
    [(entity_id, changes, actor)] = sql(s, "SELECT entity_id, changes, actor FROM audit_log "
                                           "WHERE action = 'token_created'")
    assert entity_id == token["id"] and changes == {"name": "books", "roles": ["finance"]} and actor == user["email"]


async def test_no_secret_ever_reaches_the_audit_log(live, make_tenant):
    await make_tenant(SUB)
    s = live.settings
    owner = make_user(s, SUB, ["owner"])
    secrets: list[str] = [owner["token"].split("_", 2)[2]]
    async with session_client(live, owner) as o:
        secrets.append(o.cookies["pf_session"].split("_", 2)[2])
        invited = (await o.post("/api/v1/users", json={"email": "new@example.test", "roles": ["sales"]})).json()
        new = await o.post("/api/v1/auth/tokens", json={"name": "t", "roles": ["viewer"]})
        secrets.append(new.json()["token"].split("_", 2)[2])
        await o.patch(f"/api/v1/users/{invited['id']}", json={"name": "Renamed", "roles": ["sales", "viewer"]})
    [(body,)] = sql(s, "SELECT body FROM outbox WHERE recipient = 'new@example.test'")
    secrets.append(re.search(r"token=([\w-]+)", body).group(1))
    async with live.tenant_client(SUB, role=None) as c:
        r = await c.post("/api/v1/auth/invite/accept", json={"token": secrets[-1], "password": GOOD})
        assert r.status_code == 200
        r = await c.post(LOGIN, json={"email": "new@example.test", "password": GOOD})
        assert r.status_code == 200
        secrets.append(c.cookies["pf_session"].split("_", 2)[2])
        secrets.append(r.json()["csrf_token"])
        r = await c.post("/api/v1/auth/password", json={"current_password": GOOD, "new_password": GOOD + "!"})
        assert r.status_code == 204
        assert (await c.post("/api/v1/auth/password-reset", json={"email": "new@example.test"})).status_code == 202
    [(body,)] = sql(s, "SELECT body FROM outbox WHERE subject LIKE 'Reset%%'")
    secrets.append(re.search(r"token=([\w-]+)", body).group(1))
    async with live.tenant_client(SUB, role=None) as c:
        r = await c.post("/api/v1/auth/password-reset/confirm", json={"token": secrets[-1], "password": GOOD + "?"})
        assert r.status_code == 204

    rows = [json.dumps(changes) for (changes,) in sql(s, "SELECT changes FROM audit_log")]
    assert len(rows) >= 8
    hashes = [h for (h,) in sql(s, "SELECT password_hash FROM users WHERE password_hash IS NOT NULL")]
    for text in rows:
        assert "argon2" not in text and not any(h in text for h in hashes), text
        assert not any(key in text for key in ('"password_hash"', '"token_hash"', '"csrf_token"')), text
        assert not any(secret in text for secret in secrets), text
    # The invitation's row change is there, without the (empty) password column.
    [(after,)] = sql(s, "SELECT changes->'after' FROM audit_log WHERE action = 'create' AND entity = 'users'")
    assert after["email"] == "new@example.test" and "password_hash" not in after
    [(before, after)] = sql(s, "SELECT changes->'before', changes->'after' FROM audit_log "
                               "WHERE action = 'update' AND entity = 'users'")
    assert after == {"name": "Renamed", "roles": ["sales", "viewer"]} and before == {"name": "new", "roles": ["sales"]}


async def test_reading_the_audit_log_needs_audit_read(live, make_tenant):
    await make_tenant(SUB)
    for role, status in (("finance", 200), ("admin", 200), ("owner", 200), ("sales", 403), ("viewer", 403),
                         ("warehouse", 403)):
        async with live.tenant_client(SUB, role=role) as c:
            r = await c.get(AUDIT)
            assert r.status_code == status, (role, r.text)
            if status == 403:
                assert r.json()["detail"] == f"your role ({role}) does not allow audit.read"
    async with live.tenant_client(SUB, role=None) as c:
        assert (await c.get(AUDIT)).status_code == 401


async def test_a_stock_movement_and_its_journal_carry_the_callers_id(live, make_tenant):
    await make_tenant(SUB)
    s = live.settings
    keeper = make_user(s, SUB, ["warehouse", "purchasing"])
    async with bearer(live, keeper["token"]) as c:
        r = await c.post("/api/v1/products", json={"sku": "PP-GRN", "name": "PP granules", "unit": "KG",
                                                   "product_type": "raw_material"})
        assert r.status_code == 201, r.text
        r = await c.post("/api/v1/stock-movements", json={
            "kind": "IN", "sku": "PP-GRN", "quantity": "100", "to_location": "RM-WH", "unit_cost": "21000",
            "reason": "purchase", "posting_date": "2026-05-04"})
        assert r.status_code == 201, r.text
        movement = r.json()
        assert movement["user_id"] == str(keeper["id"])
    assert sql(s, "SELECT user_id FROM stock_movements WHERE id = %s", uuid.UUID(movement["id"])) == [(keeper["id"],)]
    assert sql(s, "SELECT created_by FROM journal_entries WHERE id = %s",
               uuid.UUID(movement["journal_entry_id"])) == [(keeper["id"],)]
    # Movements carry their own author and are not duplicated row by row in the log.
    assert sql(s, "SELECT count(*) FROM audit_log WHERE entity IN ('stock_movements', 'stock_levels')") == [(0,)]


async def test_nothing_is_recorded_without_a_signed_in_user(live, make_tenant):
    await make_tenant(SUB)  # onboarding seeds accounts, locations, units... as "system"
    s = live.settings
    assert sql(s, "SELECT count(*) FROM audit_log") == [(0,)]
    assert sql(s, "SELECT count(*) FROM locations") != [(0,)]
    user = make_user(s, SUB, ["owner"])
    async with live.tenant_client(SUB, role=None) as c:
        assert (await c.post("/api/v1/products", json={"sku": "X-1", "name": "x"})).status_code == 401
        assert (await c.get("/api/v1/tenant")).status_code == 200
        assert sql(s, "SELECT count(*) FROM audit_log") == [(0,)]
        # A sign-in writes its event only: its own row changes (last_login_at, the session) are not audited.
        assert (await c.post(LOGIN, json={"email": user["email"], "password": TEST_PASSWORD})).status_code == 200
        assert actions(s) == [("login", "user")]
    # The same connection, first signed in and then not: no actor is left behind for the next request.
    async with bearer(live, user["token"]) as c:
        assert (await c.get("/api/v1/auth/me")).status_code == 200
        del c.headers["Authorization"]
        assert (await c.post("/api/v1/auth/password-reset", json={"email": user["email"]})).status_code == 202
        [(body,)] = sql(s, "SELECT body FROM outbox")
        token = re.search(r"token=([\w-]+)", body).group(1)
        r = await c.post("/api/v1/auth/password-reset/confirm", json={"token": token, "password": GOOD})
        assert r.status_code == 204
        r = await c.post(LOGIN, json={"email": user["email"], "password": GOOD})
        assert r.status_code == 200
    assert actions(s) == [("login", "user"), ("reset_requested", "user"), ("password_reset", "user"),
                          ("login", "user")]
    assert sql(s, "SELECT DISTINCT actor FROM audit_log") == [(user["email"],)]
