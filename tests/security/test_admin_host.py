"""What guards the admin host as a whole: wrong operator tokens are throttled per client address, the API
description is for signed-in super-admins only (and no docs page pulls scripts from a CDN), and the
optional IP allow-list answers 404 to everyone else, with X-Forwarded-For believed only from trusted
proxies."""

from __future__ import annotations

import pytest

from tests.fixtures.admins import enrolled_admin, sign_in

TOKEN = "operator-token-for-host-tests-0123456789"
ADMIN_HOST = "admin.localhost"
EMAIL = "host@polyflow.test"
PASSWORD = "a-long-admin-password-42"


@pytest.fixture
def settings(make_settings):
    return make_settings(operator_token=TOKEN)


def bearer(live, token: str, **headers):
    return live.client(ADMIN_HOST, headers={"Authorization": f"Bearer {token}", **headers})


async def test_wrong_operator_tokens_are_throttled_per_address(make_settings, make_live, platform):
    live = make_live(make_settings(operator_token=TOKEN, trusted_proxies="127.0.0.1",
                                   database_url=platform.settings.database_url))
    me = {"X-Forwarded-For": "198.51.100.7"}
    for i in range(10):
        async with bearer(live, f"guess-{i}-0123456789", **me) as c:
            assert (await c.get("/admin/api/tenants")).status_code == 401
    async with bearer(live, "guess-11-0123456789", **me) as c:
        r = await c.get("/admin/api/tenants")
        assert r.status_code == 429 and "too many wrong operator tokens" in r.json()["detail"]
        assert 0 < int(r.headers["retry-after"]) <= 60
    async with bearer(live, TOKEN, **me) as c:  # while throttled, even the right token waits
        assert (await c.get("/admin/api/tenants")).status_code == 429
    async with bearer(live, TOKEN, **{"X-Forwarded-For": "198.51.100.8"}) as c:  # another address is not
        assert (await c.get("/admin/api/tenants")).status_code == 200


async def test_api_description_only_for_signed_in_admins_and_no_docs_pages(platform, live):
    secret = await enrolled_admin(platform, EMAIL, "Ops", PASSWORD)
    async with live.client(ADMIN_HOST) as anonymous:
        assert (await anonymous.get("/openapi.json")).status_code == 401
        for path in ("/docs", "/redoc", "/docs/oauth2-redirect"):
            assert (await anonymous.get(path)).status_code == 404, path
    async with bearer(live, TOKEN) as c:
        assert (await c.get("/openapi.json")).status_code == 403
    cookie = await sign_in(live, EMAIL, PASSWORD, secret)
    async with live.client(ADMIN_HOST, headers={"Cookie": f"pf_admin={cookie}"}) as c:
        r = await c.get("/openapi.json")
        assert r.status_code == 200 and "/admin/api/tenants" in r.json()["paths"]
        assert r.headers["cache-control"] == "no-store"
        for path in ("/docs", "/redoc"):  # no page that would load Swagger UI or ReDoc from a CDN
            assert (await c.get(path)).status_code == 404, path


async def test_allow_list_hides_the_admin_host_from_other_addresses(make_settings, make_live, platform, make_tenant):
    await make_tenant("pt-abc")
    url = platform.settings.database_url
    direct = make_live(make_settings(operator_token=TOKEN, admin_allowed_ips="10.0.0.0/8, 192.0.2.1",
                                     database_url=url))
    async with bearer(direct, TOKEN) as c:  # 127.0.0.1 is not on the list: nothing is there
        for path in ("/admin/api/tenants", "/", "/login", "/openapi.json", "/static/app.css"):
            r = await c.get(path)
            assert r.status_code == 404 and r.json() == {"detail": "Not Found"}, path
        # A client cannot talk its way in: X-Forwarded-For from an untrusted peer is ignored.
        assert (await c.get("/admin/api/tenants", headers={"X-Forwarded-For": "10.1.2.3"})).status_code == 404
    async with direct.client("pt-abc.localhost") as c:  # tenant hosts are not affected
        assert (await c.get("/api/v1/tenant")).status_code == 200

    proxied = make_live(make_settings(operator_token=TOKEN, admin_allowed_ips="10.0.0.0/8",
                                      trusted_proxies="127.0.0.1", database_url=url))
    async with bearer(proxied, TOKEN, **{"X-Forwarded-For": "10.1.2.3"}) as c:
        assert (await c.get("/admin/api/tenants")).status_code == 200
    async with bearer(proxied, TOKEN, **{"X-Forwarded-For": "10.9.9.9, 203.0.113.5"}) as c:
        assert (await c.get("/admin/api/tenants")).status_code == 404  # the nearest untrusted hop counts
    # Empty list (the default): any address.
    async with bearer(make_live(make_settings(operator_token=TOKEN, database_url=url)), TOKEN) as c:
        assert (await c.get("/admin/api/tenants")).status_code == 200
