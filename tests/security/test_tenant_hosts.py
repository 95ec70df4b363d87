"""Host header tricks never reach another tenant: each variant either resolves to pt-abc itself or is refused,
with pt-abc's token and without any credential — never pt-xyz's data. Raw sockets send what httpx will not
(no Host, two Hosts, raw unicode, an absolute-form target)."""

from __future__ import annotations

import asyncio
import json

import pytest

from polyflow.config import Settings
from tests.fixtures.auth import make_user

ABC, XYZ = "ABC-ONLY-SKU", "XYZ-SECRET-SKU"
REFUSED = {400, 401, 403, 404, 421}

# (Host header, "abc" if it must resolve to pt-abc itself, else refused)
HOSTS = [
    ("pt-abc.localhost", "abc"),
    ("PT-ABC.localhost", "abc"),
    ("Pt-Abc.LOCALHOST", "abc"),
    ("pt-abc.localhost.", "abc"),  # the FQDN form
    ("pt-abc.localhost:8443", "abc"),
    ("pt-abc.localhost.:80", "abc"),
    ("pt-abc.localhost..", "refused"),
    (".pt-abc.localhost", "refused"),
    ("pt-abc.localhost:", "refused"),
    ("pt-abc.localhost:80:80", "refused"),
    ("pt-abc.localhost:http", "refused"),
    ("pt-abc.localhost:123456", "refused"),
    ("xn--pt-bc-6ve.localhost", "refused"),  # punycode of "pt-аbc" (Cyrillic а)
    ("xn--pt-abc.localhost", "refused"),
    ("127.0.0.1", "refused"),
    ("127.0.0.1:8000", "refused"),
    ("[::1]", "refused"),
    ("[::1]:80", "refused"),
    ("2130706433", "refused"),  # 127.0.0.1 as a decimal
    ("localhost", "refused"),
    ("www.localhost", "refused"),
    ("admin.localhost", "refused"),
    ("ADMIN.localhost", "refused"),
    ("api.localhost", "refused"),
    ("test.localhost", "refused"),
    ("localhost.localhost", "refused"),
    ("pt-abc.pt-xyz.localhost", "refused"),
    ("pt-xyz.pt-abc.localhost", "refused"),
    ("admin.pt-abc.localhost", "refused"),
    ("pt-abc.localhost.pt-xyz.localhost", "refused"),
    ("pt-xyz.localhost.evil.example", "refused"),  # looks like a custom domain: not registered
    ("pt-abc", "refused"),
    ("pt-xyz.localhost@pt-abc.localhost", "refused"),
    ("pt-abc.localhost@pt-xyz.localhost", "refused"),
    ("pt-abc.localhost/pt-xyz.localhost", "refused"),
    ("pt-abc.localhost,pt-xyz.localhost", "refused"),
    ("pt-abc.localhost pt-xyz.localhost", "refused"),
    ("pt-abc.localhost%2epv", "refused"),
    ("pt_abc.localhost", "refused"),
    ("pt--abc.localhost", "refused"),
    ("-pt-abc.localhost", "refused"),
    ("p" * 64 + ".localhost", "refused"),
    ("", "refused"),
]


async def _abc_and_xyz(make_tenant, live):
    await make_tenant("pt-abc")
    await make_tenant("pt-xyz")
    abc = make_user(live.settings, "pt-abc", ["owner"])
    xyz = make_user(live.settings, "pt-xyz", ["owner"])
    for sub, user, sku in (("pt-abc", abc, ABC), ("pt-xyz", xyz, XYZ)):
        async with live.tenant_client(sub, role=None, headers={"Authorization": f"Bearer {user['token']}"}) as c:
            assert (await c.post("/api/v1/products", json={"sku": sku, "name": sku})).status_code == 201
    return abc, xyz


def _check(label, expected: str, tenant_status: int, tenant_body: str, products_status: int, products_body: str):
    assert XYZ not in tenant_body + products_body and "pt-xyz" not in tenant_body, (label, tenant_body, products_body)
    if expected == "abc":
        assert tenant_status == 200 and json.loads(tenant_body)["subdomain"] == "pt-abc", (label, tenant_body)
        assert products_status == 200, (label, products_status, products_body)
        assert [p["sku"] for p in json.loads(products_body)["items"]] == [ABC], label
    else:
        assert tenant_status in REFUSED, (label, tenant_status, tenant_body)
        assert products_status in REFUSED, (label, products_status, products_body)
        assert ABC not in products_body


async def test_host_variants_resolve_to_the_same_tenant_or_are_refused(make_tenant, live):
    abc, _ = await _abc_and_xyz(make_tenant, live)
    auth = {"Authorization": f"Bearer {abc['token']}"}
    async with live.client() as c:
        for host, expected in HOSTS:
            t = await c.get("/api/v1/tenant", headers={"Host": host})
            p = await c.get("/api/v1/products", headers={"Host": host, **auth})
            _check(host, expected, t.status_code, t.text, p.status_code, p.text)


async def _raw(port: int, head: bytes) -> tuple[int, str]:
    """Send a raw HTTP/1.1 request head; (status, body)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(head)
        await writer.drain()
        data = await asyncio.wait_for(reader.read(), 10)
    finally:
        writer.close()
    if not data:
        return 0, ""  # the server dropped the connection: refused as well
    status_line, _, rest = data.partition(b"\r\n")
    body = rest.partition(b"\r\n\r\n")[2].decode("latin-1")
    return int(status_line.split()[1]), body


RAW = [
    # (label, lines between the request line and the blank line, expected)
    ("no Host", [], "refused"),
    ("raw unicode lookalike", ["Host: pt-\u0430bc.localhost"], "refused"),
    ("fullwidth dot", ["Host: pt-abc\uff0elocalhost"], "refused"),
    ("Latin-1 lookalike", ["Host: pt-\u00e1bc.localhost"], "refused"),
    ("Forwarded header", ["Host: pt-abc.localhost", "Forwarded: host=pt-xyz.localhost"], "abc"),
    ("X-Original-Host", ["Host: pt-abc.localhost", "X-Original-Host: pt-xyz.localhost",
                         "X-Host: pt-xyz.localhost"], "abc"),
]


@pytest.mark.parametrize("target", ["{path}", "http://pt-xyz.localhost{path}"], ids=["origin-form", "absolute-form"])
async def test_raw_host_tricks(make_tenant, live, target):
    abc, _ = await _abc_and_xyz(make_tenant, live)
    cases = RAW if target == "{path}" else [("absolute-form to xyz, Host abc", ["Host: pt-abc.localhost"], "abc")]
    for label, lines, expected in cases:
        results = []
        for path, extra in (("/api/v1/tenant", []), ("/api/v1/products", [f"Authorization: Bearer {abc['token']}"])):
            head = "\r\n".join([f"GET {target.format(path=path)} HTTP/1.1", *lines, *extra, "Connection: close",
                                "", ""]).encode("utf-8")
            results.append(await _raw(live.port, head))
        (ts, tb), (ps, pb) = results
        if ts == 0 or ps == 0:  # dropped by the HTTP parser
            assert expected == "refused", label
            continue
        _check(label, expected, ts, tb, ps, pb)


async def test_forwarded_host_counts_only_from_a_trusted_proxy(make_tenant, live, make_live, settings):
    abc, xyz = await _abc_and_xyz(make_tenant, live)
    auth = {"Authorization": f"Bearer {abc['token']}"}
    # Untrusted peer (no trusted proxies): X-Forwarded-Host is ignored, the Host decides.
    async with live.client() as c:
        for host, forwarded, expected in (("pt-abc.localhost", "pt-xyz.localhost", "abc"),
                                          ("pt-abc.localhost", "admin.localhost", "abc"),
                                          ("127.0.0.1", "pt-abc.localhost", "refused"),
                                          ("pt-xyz.localhost", "pt-abc.localhost", "xyz")):
            headers = {"Host": host, "X-Forwarded-Host": forwarded}
            t = await c.get("/api/v1/tenant", headers=headers)
            p = await c.get("/api/v1/products", headers={**headers, **auth})
            if expected == "xyz":  # pt-xyz's own host: pt-abc's token is worth nothing there
                assert t.json()["subdomain"] == "pt-xyz" and p.status_code == 401 and XYZ not in p.text
            else:
                _check((host, forwarded), expected, t.status_code, t.text, p.status_code, p.text)

    # Behind a trusted proxy the forwarded host decides; still the token only opens its own tenant.
    # (A fresh Settings: model_copy would keep the cached, empty trusted_proxy_networks.)
    proxied = make_live(Settings(**{**settings.model_dump(), "trusted_proxies": "127.0.0.1/32"}))
    async with proxied.client() as c:
        for forwarded, expected in (("PT-ABC.localhost.", "abc"), ("pt-abc.localhost, pt-xyz.localhost", "abc"),
                                    ("evil.example, pt-abc.localhost", "refused"),
                                    ("pt-abc.pt-xyz.localhost", "refused"), ("pt-xyz.localhost", "xyz")):
            headers = {"Host": "127.0.0.1", "X-Forwarded-Host": forwarded}
            t = await c.get("/api/v1/tenant", headers=headers)
            p = await c.get("/api/v1/products", headers={**headers, **auth})
            if expected == "xyz":
                assert t.json()["subdomain"] == "pt-xyz" and p.status_code == 401 and XYZ not in p.text
            else:
                _check(forwarded, expected, t.status_code, t.text, p.status_code, p.text)


async def _raw_post(port: int, hosts: list[str], path: str, body: dict) -> tuple[int, str]:
    payload = json.dumps(body).encode()
    head = "\r\n".join([f"POST {path} HTTP/1.1", *[f"Host: {h}" for h in hosts], "Content-Type: application/json",
                        f"Content-Length: {len(payload)}", "Connection: close", "", ""]).encode()
    return await _raw(port, head + payload)


async def test_two_host_headers_are_refused_and_cannot_poison_reset_links(make_tenant, live, tenant_sql):
    """RFC 9112: two Host headers are a 400. Served, the middleware and the mail-link builder could read
    different ones, and a reset link for pt-xyz's user would point at the attacker's host (regression test)."""
    await make_tenant("pt-xyz")
    victim = make_user(live.settings, "pt-xyz", ["owner"])
    status, body = await _raw_post(live.port, ["evil.example", "pt-xyz.localhost"], "/api/v1/auth/password-reset",
                                   {"email": victim["email"]})
    mails = [b for (b,) in tenant_sql("pt-xyz", "SELECT body FROM outbox")]
    assert not any("evil.example" in m for m in mails), mails  # the reset token never goes to another host
    assert status == 400, (status, body)
    for hosts in (["pt-abc.localhost", "pt-xyz.localhost"], ["pt-xyz.localhost", "pt-abc.localhost"]):
        head = "\r\n".join(["GET /api/v1/tenant HTTP/1.1", *[f"Host: {h}" for h in hosts], "Connection: close", "", ""])
        assert (await _raw(live.port, head.encode()))[0] == 400, hosts
