"""Sign-in over real HTTP: the script contract (login, me, tokens, logout) and the session cookie."""

from __future__ import annotations

from tests.fixtures.auth import TEST_PASSWORD, make_user


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
        new = await client.post("/api/v1/auth/tokens", json={"name": "script"})
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
