"""Transport rules over real HTTP: in production every session and CSRF cookie is Secure and carries the
__Host- prefix (Path=/, no Domain), HSTS is always sent; in dev/test the plain names keep http://localhost
working. Every answer to an authenticated request (cookie or Authorization) and every answer that sets a
cookie is Cache-Control: no-store."""

from __future__ import annotations

import pytest

from tests.fixtures.admins import enrolled_admin
from tests.fixtures.auth import TEST_PASSWORD, make_user

ADMIN_HOST = "admin.localhost"
EMAIL = "transport@polyflow.test"
PASSWORD = "a-long-admin-password-42"


def attributes(set_cookie: str) -> tuple[str, dict[str, str]]:
    """(name, {attribute (lowercase): value}) of one Set-Cookie header."""
    first, *rest = [part.strip() for part in set_cookie.split(";")]
    attrs = {}
    for part in rest:
        key, _, value = part.partition("=")
        attrs[key.lower()] = value
    return first.split("=", 1)[0], attrs


def assert_host_cookie(set_cookie: str, name: str) -> None:
    got, attrs = attributes(set_cookie)
    assert got == f"__Host-{name}", set_cookie
    assert "secure" in attrs and attrs.get("path") == "/" and "domain" not in attrs, set_cookie
    assert "httponly" in attrs, set_cookie


@pytest.fixture
def production(make_settings, make_live, platform):
    """A live server with env=production on this test's main database."""
    return make_live(make_settings(env="production", database_url=platform.settings.database_url))


async def test_production_cookies_are_host_prefixed_and_secure(production, platform, make_tenant):
    await make_tenant("pt-abc")
    user = make_user(production.settings, "pt-abc", ["owner"])
    async with production.client("pt-abc.localhost") as c:
        r = await c.post("/api/v1/auth/login", json={"email": user["email"], "password": TEST_PASSWORD})
        assert r.status_code == 200, r.text
        assert_host_cookie(r.headers["set-cookie"], "pf_session")
        assert r.headers["strict-transport-security"].startswith("max-age=")  # plain HTTP here, sent all the same
        assert r.headers["cache-control"] == "no-store"
        session = r.cookies["__Host-pf_session"]
    async with production.client("pt-abc.localhost") as c:
        r = await c.get("/api/v1/auth/me", headers={"Cookie": f"__Host-pf_session={session}"})
        assert r.status_code == 200 and r.headers["cache-control"] == "no-store"
        # The unprefixed name (which a sibling subdomain could plant) means nothing in production.
        assert (await c.get("/api/v1/auth/me", headers={"Cookie": f"pf_session={session}"})).status_code == 401
        form = await c.get("/login")
        assert_host_cookie(form.headers["set-cookie"], "pf_csrf")

    await enrolled_admin(platform, EMAIL, "Ops", PASSWORD)
    async with production.client(ADMIN_HOST) as c:
        r = await c.post("/api/v1/auth/login", json={"email": EMAIL, "password": PASSWORD})
        assert r.status_code == 200, r.text
        assert_host_cookie(r.headers["set-cookie"], "pf_admin")
        form = await c.get("/login", headers={"Accept": "text/html"})
        assert_host_cookie(form.headers["set-cookie"], "pf_csrf")
        r = await c.post("/api/v1/auth/logout", headers={"Cookie": f"__Host-pf_admin={r.cookies['__Host-pf_admin']}"})
        assert r.status_code == 204
        name, attrs = attributes(r.headers["set-cookie"])
        assert name == "__Host-pf_admin" and "secure" in attrs and attrs.get("max-age") == "0"


async def test_dev_and_test_keep_plain_names_and_send_hsts_only_over_https(live, platform, make_tenant):
    await make_tenant("pt-abc")
    user = make_user(live.settings, "pt-abc", ["owner"])
    async with live.client("pt-abc.localhost") as c:
        r = await c.post("/api/v1/auth/login", json={"email": user["email"], "password": TEST_PASSWORD})
        name, attrs = attributes(r.headers["set-cookie"])
        assert name == "pf_session" and "secure" not in attrs
        assert "strict-transport-security" not in r.headers


async def test_no_store_on_authenticated_and_cookie_setting_responses_only(live, make_tenant):
    await make_tenant("pt-abc")
    user = make_user(live.settings, "pt-abc", ["owner"])
    async with live.client("pt-abc.localhost") as c:
        auth = {"Authorization": f"Bearer {user['token']}"}
        for path in ("/api/v1/products", "/api/v1/auth/me"):
            r = await c.get(path, headers=auth)
            assert r.status_code == 200 and r.headers["cache-control"] == "no-store", path
        # A sign-in (its answer sets the session cookie) and what the cookie then opens.
        clerk = make_user(live.settings, "pt-abc", ["viewer"])
        r = await c.post("/api/v1/auth/login", json={"email": clerk["email"], "password": TEST_PASSWORD})
        assert r.status_code == 200 and r.headers["cache-control"] == "no-store", r.text
        r = await c.get("/api/v1/auth/me", headers={"Cookie": f"pf_session={r.cookies['pf_session']}"})
        assert r.status_code == 200 and r.headers["cache-control"] == "no-store", r.text
        r = await c.get("/api/v1/products", headers={"Authorization": "Bearer pft_nope_" + "x" * 40})
        assert r.status_code == 401 and r.headers["cache-control"] == "no-store"  # it carried a credential
        c.cookies.clear()  # the sign-in above filled the jar
        # Public, credential-free answers stay cacheable; static files even for a signed-in browser.
        assert "no-store" not in (await c.get("/static/app.css")).headers.get("cache-control", "")
        r = await c.get("/static/app.css", headers={"Cookie": "pf_session=whatever"})
        assert "no-store" not in r.headers.get("cache-control", "")
        assert "no-store" not in (await c.get("/api/v1/tenant")).headers.get("cache-control", "")
