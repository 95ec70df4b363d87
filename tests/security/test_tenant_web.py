"""Browser-facing protections of the tenant host over real HTTP: CSRF on the JSON API when the credential is
the session cookie (foreign Origin/Referer and form-encodable bodies refused, nothing written), login CSRF,
and the security headers on pages, API answers and errors (HSTS and the cookie's Secure only under HTTPS)."""

from __future__ import annotations

from polyflow.config import Settings
from tests.fixtures.auth import TEST_PASSWORD, make_user

HOST = "pt-abc.localhost"
SAME = f"http://{HOST}"
PRODUCT = b'{"sku": "CSRF-1", "name": "forged"}'


async def _count(tenant_sql) -> int:
    return tenant_sql("pt-abc", "SELECT count(*) FROM products")[0][0]


async def test_cookie_authenticated_writes_from_a_foreign_page_are_refused(make_tenant, live, tenant_sign_in,
                                                                          tenant_as, tenant_sql):
    await make_tenant("pt-abc")
    await make_tenant("pt-xyz")
    user = make_user(live.settings, "pt-abc", ["owner"])
    cookie = await tenant_sign_in("pt-abc", user["email"])
    refused = [
        {"Origin": "http://evil.example", "Content-Type": "application/json"},
        {"Origin": "https://evil.example", "Content-Type": "application/json"},
        {"Origin": "null", "Content-Type": "application/json"},
        {"Origin": "http://pt-xyz.localhost", "Content-Type": "application/json"},  # same site, other tenant
        {"Origin": "http://pt-abc.localhost.evil.example", "Content-Type": "application/json"},
        {"Origin": "http://evil.example@pt-abc.localhost", "Content-Type": "application/json"},
        {"Origin": "http://pt-abc.localhost:8080", "Content-Type": "application/json"},
        {"Referer": "http://evil.example/attack.html", "Content-Type": "application/json"},
        {"Origin": "http://evil.example", "Referer": f"{SAME}/products", "Content-Type": "application/json"},
        # Bodies a plain HTML form (or a no-preflight fetch) can send: refused even from our own origin.
        {"Content-Type": "text/plain"},
        {"Content-Type": "text/plain;charset=UTF-8", "Origin": SAME},
        {"Content-Type": "TEXT/PLAIN", "Origin": SAME},
        {"Content-Type": "application/x-www-form-urlencoded", "Origin": SAME},
        {"Content-Type": "multipart/form-data; boundary=x", "Origin": SAME},
    ]
    before = await _count(tenant_sql)
    for headers in refused:
        async with tenant_as("pt-abc", cookie=cookie, **headers) as c:
            r = await c.post("/api/v1/products", content=PRODUCT)
            assert r.status_code == 403, (headers, r.status_code, r.text)
    assert await _count(tenant_sql) == before

    token_id = tenant_sql("pt-abc", "SELECT id FROM api_tokens")[0][0]
    async with tenant_as("pt-abc", cookie=cookie, Origin="http://evil.example") as evil:
        assert (await evil.delete(f"/api/v1/auth/tokens/{token_id}")).status_code == 403
        assert (await evil.post("/api/v1/auth/logout-all")).status_code == 403
        assert (await evil.post("/api/v1/auth/logout")).status_code == 403
        assert (await evil.patch(f"/api/v1/users/{user['id']}", json={"name": "pwned"})).status_code == 403
        assert (await evil.get("/api/v1/auth/me")).status_code == 200  # reading is not a forgery
    assert tenant_sql("pt-abc", "SELECT revoked_at FROM api_tokens WHERE id = %s", (token_id,))[0][0] is None
    assert tenant_sql("pt-abc", "SELECT name FROM users WHERE id = %s", (user["id"],))[0][0] != "pwned"
    assert tenant_sql("pt-abc", "SELECT count(*) FROM user_sessions")[0][0] == 1

    # The same request from our own page works, and so does a script without Origin (not a browser).
    async with tenant_as("pt-abc", cookie=cookie, Origin=SAME, **{"Content-Type": "application/json"}) as c:
        assert (await c.post("/api/v1/products", content=PRODUCT)).status_code == 201
    async with tenant_as("pt-abc", cookie=cookie, Referer=f"{SAME}/products/new") as c:
        assert (await c.post("/api/v1/products", json={"sku": "CSRF-2", "name": "ok"})).status_code == 201
    # A bearer token is no ambient credential: a foreign Origin does not matter.
    async with tenant_as("pt-abc", token=user["token"], Origin="http://evil.example") as c:
        assert (await c.post("/api/v1/products", json={"sku": "CSRF-3", "name": "ok"})).status_code == 201
    assert await _count(tenant_sql) == before + 3


async def test_login_cannot_be_forged_by_a_form_on_another_site(make_tenant, live):
    """Login CSRF: a cross-site form must not sign the victim's browser into the attacker's account."""
    await make_tenant("pt-abc")
    attacker = make_user(live.settings, "pt-abc", ["viewer"])
    body = f'{{"email": "{attacker["email"]}", "password": "{TEST_PASSWORD}"}}'
    for ctype in ("text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"):
        async with live.client(HOST, headers={"Origin": "http://evil.example", "Content-Type": ctype}) as c:
            r = await c.post("/api/v1/auth/login", content=body)
            assert r.status_code in (403, 415, 422), (ctype, r.status_code, r.text)
            assert "pf_session" not in r.headers.get("set-cookie", ""), ctype
    # A cross-site fetch() with JSON (after a CORS preflight nobody answers, or with no-cors) is refused as well.
    async with live.client(HOST, headers={"Origin": "http://evil.example"}) as c:
        r = await c.post("/api/v1/auth/login", json={"email": attacker["email"], "password": TEST_PASSWORD})
        assert r.status_code == 403 and "pf_session" not in r.headers.get("set-cookie", "")
    async with live.client(HOST, headers={"Origin": SAME}) as c:
        assert (await c.post("/api/v1/auth/login", json={"email": attacker["email"], "password": TEST_PASSWORD})
                ).status_code == 200


def _assert_security_headers(r, label) -> None:
    h = r.headers
    csp = h.get("content-security-policy", "")
    assert "frame-ancestors 'none'" in csp and "default-src 'self'" in csp and "object-src 'none'" in csp, (label, csp)
    assert h.get("x-frame-options") == "DENY", label
    assert h.get("x-content-type-options") == "nosniff", label
    assert h.get("referrer-policy") in ("same-origin", "strict-origin-when-cross-origin", "no-referrer"), label


async def test_security_headers_on_pages_api_and_errors(make_tenant, live):
    await make_tenant("pt-abc")
    user = make_user(live.settings, "pt-abc", ["viewer"])
    cases = [
        (HOST, "GET", "/api/v1/tenant", {}),  # 200 JSON
        (HOST, "GET", "/api/v1/products", {}),  # 401
        (HOST, "GET", "/api/v1/products", {"Authorization": f"Bearer {user['token']}"}),  # 200
        (HOST, "POST", "/api/v1/products", {"Authorization": f"Bearer {user['token']}"}),  # 403
        (HOST, "GET", "/api/v1/products/not-a-uuid", {"Authorization": f"Bearer {user['token']}"}),  # 422
        (HOST, "GET", "/api/v1/no-such-route", {}),  # 404 from the tenant app
        (HOST, "PUT", "/api/v1/tenant", {}),  # 405
        (HOST, "GET", "/static/app.css", {}),
        (HOST, "GET", "/", {"Accept": "text/html"}),  # the tenant's pages (or its 404)
        (HOST, "GET", "/openapi.json", {}),
        ("pt-none.localhost", "GET", "/", {"Accept": "text/html"}),  # unknown tenant: middleware error page
        ("pt-none.localhost", "GET", "/api/v1/tenant", {}),
        ("bad_host!", "GET", "/", {}),  # 400 invalid Host
        ("localhost", "GET", "/healthz", {}),
    ]
    async with live.client() as c:
        for host, method, path, headers in cases:
            r = await c.request(method, path, headers={"Host": host, **headers})
            _assert_security_headers(r, (host, method, path, r.status_code))
            assert "strict-transport-security" not in r.headers, (host, path)  # plain HTTP, no proxy trusted


async def test_hsts_and_secure_cookie_only_under_https(make_tenant, live, make_live, settings):
    await make_tenant("pt-abc")
    user = make_user(live.settings, "pt-abc", ["viewer"])
    login = {"email": user["email"], "password": TEST_PASSWORD}
    # A client claiming HTTPS to a server that trusts no proxy: ignored.
    async with live.client(HOST, headers={"X-Forwarded-Proto": "https"}) as c:
        r = await c.post("/api/v1/auth/login", json=login)
        assert r.status_code == 200 and "strict-transport-security" not in r.headers
        assert "secure" not in r.headers["set-cookie"].lower()

    # Behind a trusted proxy that terminated TLS. (A fresh Settings: model_copy keeps cached proxy networks.)
    proxied = make_live(Settings(**{**settings.model_dump(), "trusted_proxies": "127.0.0.1/32"}))
    async with proxied.client(HOST, headers={"X-Forwarded-Proto": "https"}) as c:
        r = await c.post("/api/v1/auth/login", json=login)
        assert r.status_code == 200, r.text
        hsts = r.headers.get("strict-transport-security", "")
        assert hsts.startswith("max-age=") and int(hsts.split("=")[1].split(";")[0]) >= 15552000, hsts
        cookie = r.headers["set-cookie"]
        assert cookie.startswith("pf_session=pfs_") and "; secure" in cookie.lower() and "httponly" in cookie.lower()
        assert "samesite=lax" in cookie.lower() and "domain=" not in cookie.lower()
        _assert_security_headers(r, "https login")
        for path in ("/api/v1/tenant", "/api/v1/no-such-route"):
            assert "strict-transport-security" in (await c.get(path)).headers, path
    async with proxied.client(HOST, headers={"X-Forwarded-Proto": "http"}) as c:
        r = await c.post("/api/v1/auth/login", json=login)
        assert "strict-transport-security" not in r.headers and "secure" not in r.headers["set-cookie"].lower()


async def test_same_origin_behind_a_trusted_proxy_uses_the_forwarded_host(make_tenant, live, make_live, settings):
    """The Origin is compared with the host the tenancy middleware resolved, not the proxy's Host header."""
    await make_tenant("pt-abc")
    user = make_user(live.settings, "pt-abc", ["owner"])
    proxied = make_live(Settings(**{**settings.model_dump(), "trusted_proxies": "127.0.0.1/32"}))
    forwarded = {"Host": "10.0.0.5:8000", "X-Forwarded-Host": HOST, "X-Forwarded-Proto": "https"}
    async with proxied.client(headers=forwarded) as c:
        r = await c.post("/api/v1/auth/login", json={"email": user["email"], "password": TEST_PASSWORD})
        assert r.status_code == 200, r.text
        cookie = r.cookies["pf_session"]
    async with proxied.client(headers={**forwarded, "Origin": f"https://{HOST}", "Cookie": f"pf_session={cookie}"}) as c:
        assert (await c.post("/api/v1/products", json={"sku": "PROXY-1", "name": "own page"})).status_code == 201
    async with proxied.client(headers={**forwarded, "Origin": "https://10.0.0.5:8000",
                                       "Cookie": f"pf_session={cookie}"}) as c:
        assert (await c.post("/api/v1/products", json={"sku": "PROXY-2", "name": "x"})).status_code == 403
