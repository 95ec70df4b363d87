"""The tenant's HTML pages get the same checks as the API: every page is classified (public, any
signed-in user, or a permission), a role without the permission gets a 403 page for every page that
demands it (and a role with it does not), a module outside the plan is 403 even for the owner, and
ids of another tenant's records are 404 on the pages that take an id.

A new page that is not listed in PAGES (tests/security/page_classes/) fails the first test until somebody
decides what it demands.
"""

from __future__ import annotations

import asyncio
import re
import time
import uuid

import psycopg
from fastapi import routing
from sqlalchemy.ext.asyncio import AsyncSession

from polyflow.erp.identity.permissions import ROLE_PERMISSIONS
from polyflow.erp.models.user import ROLES
from polyflow.platform import entitlements
from polyflow.platform.entitlements import MODULES
from polyflow.platform.models import Plan
from tests.fixtures.auth import make_user, tenant_dsn

# Every page's class lives in tests/security/page_classes/<area>.py (one file per area of the app, merged).
from tests.security.page_classes import FORMS, PAGES, PUBLIC, SIGNED_IN  # noqa: E402

GUARDED = {key: permission for key, permission in PAGES.items() if permission not in (PUBLIC, SIGNED_IN)}



def _page_routes(tenant_app) -> set[tuple[str, str]]:
    iterate = getattr(routing, "iter_route_contexts", None)
    routes = list(iterate(tenant_app.routes)) if iterate is not None else list(tenant_app.routes)
    out = set()
    for r in routes:
        original = getattr(r, "original_route", r)
        if isinstance(original, routing.APIRoute) and not r.path.startswith("/api/"):
            out |= {(m, r.path) for m in r.methods or () if m != "HEAD"}
    return out


def test_every_page_is_classified(tenant_app):
    assert _page_routes(tenant_app) == set(PAGES), "classify new pages in PAGES (public, signed in, or a permission)"


async def _signed_in(live, tenant_as, tenant_sign_in, sub: str, roles: list[str]) -> tuple[dict, str, str]:
    """A user with `roles`, signed in through the real login: (user, session cookie, its CSRF token)."""
    user = make_user(live.settings, sub, roles)
    cookie = await tenant_sign_in(sub, user["email"])
    async with tenant_as(sub, cookie=cookie) as c:
        csrf = (await c.get("/api/v1/auth/me")).json()["csrf_token"]
    return user, cookie, csrf


async def _hit(client, method: str, path: str, csrf: str, n: int):
    form = {k: v.format(n=n) for k, v in FORMS.get(path, {}).items()}
    url = path
    if method == "POST":
        return await client.post(url, data={**form, "csrf_token": csrf}, follow_redirects=False)
    return await client.get(url, follow_redirects=False)


async def test_each_role_gets_403_on_every_page_it_may_not_open_and_reaches_the_others(
        platform, make_tenant, live, tenant_as, tenant_sign_in, tenant_sql):
    await make_tenant("pt-abc")
    await make_tenant("pt-xyz")
    await entitlements.set_plan(platform, "pt-abc", "pro")  # every module, room for the invited users
    target = make_user(live.settings, "pt-abc", ["viewer"])  # whose activation the users.manage form changes
    refused = allowed = 0
    _, dsn = tenant_dsn(live.settings, "pt-abc")
    with psycopg.connect(dsn.url("postgresql"), autocommit=True) as db:  # one connection for every check
        def state():
            return db.execute("SELECT (SELECT count(*) FROM products), (SELECT count(*) FROM users),"
                              " (SELECT bool_and(is_active) FROM users)").fetchone()

        for n, role in enumerate(ROLES):
            _, cookie, csrf = await _signed_in(live, tenant_as, tenant_sign_in, "pt-abc", [role])
            async with tenant_as("pt-abc", cookie=cookie) as c:
                for (method, template), permission in GUARDED.items():
                    path = template.replace("{user_id}", str(target["id"]))
                    before = state() if method == "POST" else None  # a GET changes nothing to compare
                    r = await _hit(c, method, path, csrf, n)
                    if any(p in ROLE_PERMISSIONS[role] for p in permission.split(" or ")):  # 'a or b': either
                        if template == "/users/policy" and role != "owner":
                            # users.manage reaches the form; the sign-in rules themselves are the owners' alone.
                            assert r.status_code == 403 and "only an owner" in r.text, (role, r.text[:300])
                            continue
                        assert r.status_code not in (401, 403) and r.status_code < 500, \
                            (role, method, path, r.text[:300])
                        allowed += 1
                        if method == "POST" and template == "/users/{user_id}/active":
                            db.execute("UPDATE users SET is_active = true WHERE id = %s", (target["id"],))
                    else:
                        assert r.status_code == 403, (role, method, path, r.status_code)
                        assert "text/html" in r.headers["content-type"]
                        assert f"does not allow {permission}" in r.text, (role, path)
                        refused += 1
                        if before is not None:
                            assert state() == before, (role, method, path)
    assert refused >= 25 and allowed >= 25, (refused, allowed)
    assert tenant_sql("pt-xyz", "SELECT count(*) FROM products")[0][0] == 0


async def test_not_signed_in_every_page_but_the_public_ones_sends_to_login(make_tenant, live):
    await make_tenant("pt-abc")
    async with live.tenant_client("pt-abc", role=None) as c:
        for (method, template), permission in PAGES.items():
            if permission == PUBLIC:
                continue
            path = template.replace("{user_id}", str(uuid.uuid4())).replace("{token_id}", str(uuid.uuid4()))
            r = await (c.get(path) if method == "GET" else c.post(path, data={"csrf_token": "x"}))
            assert r.status_code in (303, 403), (method, path, r.status_code)
            if r.status_code == 303:
                assert r.headers["location"].startswith("/login"), (method, path)
            assert "set-cookie" not in r.headers or "pf_session=pfs_" not in r.headers["set-cookie"]


async def test_a_module_outside_the_plan_is_a_403_page_even_for_the_owner(platform, make_tenant, live, tenant_as,
                                                                          tenant_sign_in):
    """For each module with pages, a plan without it: the owner gets 403 on all of that module's pages
    (every role may read every module here, so this is what proves each page checks at all)."""
    module_pages = {}
    for (method, path), permission in GUARDED.items():
        module = permission.split(".")[0]
        # one module alone; a page of one record ({id}) is 404 for a made-up id, whatever the plan
        if module in MODULES and method == "GET" and " or " not in permission and "{" not in path:
            module_pages.setdefault(module, []).append(path)
    assert set(module_pages) >= {"catalog", "inventory", "accounting"}
    async with AsyncSession(platform.main_engine) as session:
        for module in module_pages:
            session.add(Plan(code=f"no-{module}", name=f"No {module}", monthly_price="1", max_users=None,
                             modules=[m for m in MODULES if m != module], trial_days=0, is_active=True))
        await session.commit()
    await make_tenant("pt-abc")
    _, cookie, _ = await _signed_in(live, tenant_as, tenant_sign_in, "pt-abc", ["owner"])
    async with tenant_as("pt-abc", cookie=cookie) as c:
        for module, paths in module_pages.items():
            await entitlements.set_plan(platform, "pt-abc", f"no-{module}")
            deadline = time.monotonic() + 2
            while (r := await c.get(paths[0])).status_code != 403:
                assert time.monotonic() < deadline, (module, r.status_code)
                await asyncio.sleep(0.02)
            for path in paths:
                r = await c.get(path, follow_redirects=False)
                assert r.status_code == 403, (module, path, r.status_code)
                assert f"module &#39;{module}&#39; is not in your plan" in r.text, (module, path)
            dashboard = await c.get("/")
            assert f'href="{paths[0]}"' not in dashboard.text, module
            others = [p for m, ps in module_pages.items() if m != module for p in ps]
            for path in others:
                assert (await c.get(path, follow_redirects=False)).status_code == 200, (module, path)


async def test_another_tenants_ids_are_404_on_the_pages(make_tenant, live, tenant_as, tenant_sign_in, tenant_sql):
    await make_tenant("pt-abc")
    await make_tenant("pt-xyz")
    victim = make_user(live.settings, "pt-xyz", ["owner"])
    [(victim_token_id,)] = tenant_sql("pt-xyz", "SELECT id FROM api_tokens WHERE user_id = %s", (victim["id"],))
    _, cookie, csrf = await _signed_in(live, tenant_as, tenant_sign_in, "pt-abc", ["owner"])
    async with tenant_as("pt-abc", cookie=cookie) as c:
        r = await c.post(f"/users/{victim['id']}/active", data={"active": "0", "csrf_token": csrf})
        assert r.status_code == 404, r.status_code
        r = await c.post(f"/account/tokens/{victim_token_id}/revoke", data={"csrf_token": csrf})
        assert r.status_code == 404, r.status_code
        for bad in ("not-a-uuid", "00000000-0000-0000-0000-000000000000"):
            assert (await c.post(f"/users/{bad}/active", data={"active": "0", "csrf_token": csrf})).status_code == 404
    assert tenant_sql("pt-xyz", "SELECT is_active FROM users WHERE id = %s", (victim["id"],)) == [(True,)]
    assert tenant_sql("pt-xyz", "SELECT revoked_at FROM api_tokens WHERE id = %s", (victim_token_id,)) == [(None,)]
    async with tenant_as("pt-xyz", token=victim["token"]) as x:
        assert (await x.get("/api/v1/auth/me")).status_code == 200


def test_the_page_list_matches_the_documented_permissions():
    # Every permission a page demands exists, and each guarded module page has its API twin's permission.
    for permission in (p for either in GUARDED.values() for p in either.split(" or ")):
        assert re.fullmatch(r"[a-z]+\.(read|write|manage)", permission)
        assert any(permission in perms for perms in ROLE_PERMISSIONS.values())
