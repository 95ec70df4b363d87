"""The tenant's HTML pages over real HTTP: sign-in and sign-out, CSRF on every form, the same permissions as
the API, product creation through the form, API tokens, invitations and password resets, two-factor sign-in
and the "confirm it is you" step-up."""

from __future__ import annotations

import asyncio
import csv
import html
import io
import re
from contextlib import asynccontextmanager
from typing import AsyncIterator

import httpx
import openpyxl
import psycopg
from sqlalchemy.ext.asyncio import AsyncSession

from polyflow.kit import totp
from polyflow.platform import entitlements
from polyflow.platform.models import Plan
from tests.fixtures.auth import TEST_PASSWORD, make_user, tenant_dsn, tenant_sql as sql

SUB = "pt-abc"
CSRF = re.compile(r'name="csrf_token" value="([^"]*)"')
NEW_PASSWORD = "a-brand-new-passw0rd"


def csrf_of(html: str) -> str:
    match = CSRF.search(html)
    assert match, "no csrf_token field on the page"
    return match.group(1)


async def sign_in(client: httpx.AsyncClient, email: str, password: str = TEST_PASSWORD,
                  next: str | None = None) -> httpx.Response:
    """Sign in the way a browser does: fetch the form (cookie + token), post it."""
    form = await client.get("/login", params={"next": next} if next else None)
    assert form.status_code == 200, form.text
    return await client.post("/login", data={"email": email, "password": password, "next": next or "",
                                             "csrf_token": csrf_of(form.text)})


@asynccontextmanager
async def signed_in_client(live, roles: list[str]) -> AsyncIterator[tuple[httpx.AsyncClient, dict]]:
    """A cookie-holding client signed in through the form as a new user with `roles`."""
    user = make_user(live.settings, SUB, roles)
    async with live.tenant_client(SUB, role=None) as client:
        r = await sign_in(client, user["email"])
        assert r.status_code == 303, r.text
        yield client, user


def outbox_tokens(settings, path: str) -> list[str]:
    """The one-time tokens of the links to `path` in the tenant's outbox, oldest first."""
    _, dsn = tenant_dsn(settings, SUB)
    with psycopg.connect(dsn.url("postgresql")) as conn:
        bodies = [row[0] for row in conn.execute("SELECT body FROM outbox ORDER BY id")]
    return re.findall(rf"https?://[^\s/]+{re.escape(path)}\?token=([A-Za-z0-9_-]+)", "\n".join(bodies))


async def test_sign_in_through_the_form_lands_on_the_dashboard_and_logs_out(live, make_tenant):
    await make_tenant(SUB, "PT Plastik Abadi")
    user = make_user(live.settings, SUB, ["sales"])
    async with live.tenant_client(SUB, role=None) as client:
        # Not signed in: every page sends you to the sign-in form, which comes back to it.
        r = await client.get("/products", params={"q": "PP"})
        assert r.status_code == 303 and r.headers["location"] == "/login?next=/products%3Fq%3DPP"
        assert (await client.get("/")).headers["location"] == "/login"

        form = await client.get("/login", params={"next": "/products"})
        assert form.status_code == 200 and form.headers["content-type"].startswith("text/html")
        assert "pf_csrf=" in form.headers["set-cookie"] and "SameSite=strict" in form.headers["set-cookie"]
        assert 'name="next" value="/products"' in form.text
        assert "script-src 'self'" in form.headers["content-security-policy"]
        r = await client.post("/login", data={"email": user["email"], "password": TEST_PASSWORD, "next": "/products",
                                              "csrf_token": csrf_of(form.text)})
        assert r.status_code == 303 and r.headers["location"] == "/products"
        assert r.headers["set-cookie"].startswith("pf_session=pfs_") and "HttpOnly" in r.headers["set-cookie"]

        home = await client.get("/")
        assert home.status_code == 200 and home.headers["cache-control"] == "no-store"
        assert user["email"] in home.text and "PT Plastik Abadi" in home.text and "Penjualan" in home.text
        # Links only to what a salesperson may read.
        assert 'href="/products"' in home.text and 'href="/stock"' in home.text
        assert 'href="/accounts"' not in home.text and 'href="/users"' not in home.text
        assert (await client.get("/login")).headers["location"] == "/"  # already signed in

        r = await client.post("/logout", data={"csrf_token": csrf_of(home.text)})
        assert r.status_code == 303 and r.headers["location"] == "/login?done=out"
        assert (await client.get("/")).status_code == 303
        assert "Anda sudah keluar." in (await client.get("/login?done=out")).text


async def test_wrong_password_is_a_401_page_and_next_never_leaves_the_site(live, make_tenant):
    await make_tenant(SUB)
    user = make_user(live.settings, SUB, ["viewer"])
    async with live.tenant_client(SUB, role=None) as client:
        r = await sign_in(client, user["email"], "not-the-password")
        assert r.status_code == 401 and "wrong email or password" in r.text
        assert f'value="{user["email"]}"' in r.text and "pf_session" not in r.headers.get("set-cookie", "")

        for evil in ("https://evil.example", "//evil.example", "/\\evil.example", "/\t/evil.example",
                     "javascript:alert(1)", "evil.example"):
            form = await client.get("/login", params={"next": evil})
            assert 'name="next" value=""' in form.text, evil
            r = await client.post("/login", data={"email": user["email"], "password": TEST_PASSWORD, "next": evil,
                                                  "csrf_token": csrf_of(form.text)})
            assert r.status_code == 303 and r.headers["location"] == "/", evil
            assert (await client.get("/login", params={"next": evil})).headers["location"] == "/", evil
            client.cookies.delete("pf_session")


async def test_forms_without_a_valid_csrf_token_are_refused_and_change_nothing(live, make_tenant):
    await make_tenant(SUB)
    async with signed_in_client(live, ["owner"]) as (client, user):
        token = csrf_of((await client.get("/products/new")).text)
        product = {"sku": "PP-CSRF", "name": "Forged", "unit": "KG", "product_type": "raw_material"}
        for bad in ({}, {"csrf_token": ""}, {"csrf_token": "x" * 43}):
            r = await client.post("/products", data={**product, **bad})
            assert r.status_code == 403 and "did not come from this site" in r.text
        # A valid token from a foreign page is refused too (Origin of another site).
        r = await client.post("/products", data={**product, "csrf_token": token},
                              headers={"Origin": "https://evil.example"})
        assert r.status_code == 403 and "cross-site request refused" in r.text
        assert (await client.get("/api/v1/products", params={"q": "PP-CSRF"})).json()["total"] == 0

        for bad in ({}, {"csrf_token": "x" * 43}):
            r = await client.post("/account/password", data={"current_password": TEST_PASSWORD,
                                                              "new_password": NEW_PASSWORD,
                                                              "new_password2": NEW_PASSWORD, **bad})
            assert r.status_code == 403
        assert (await client.post("/logout", data={})).status_code == 403
        assert (await client.get("/")).status_code == 200  # still signed in

    async with live.tenant_client(SUB, role=None) as anon:
        form = await anon.get("/login")
        data = {"email": user["email"], "password": TEST_PASSWORD}
        for bad in ({}, {"csrf_token": "y" * 43}):
            r = await anon.post("/login", data={**data, **bad})
            assert r.status_code == 403 and "pf_session" not in r.headers.get("set-cookie", "")
        anon.cookies.delete("pf_csrf")  # the field alone, without its cookie
        r = await anon.post("/login", data={**data, "csrf_token": csrf_of(form.text)})
        assert r.status_code == 403
        # The password did not change.
        assert (await sign_in(anon, user["email"])).status_code == 303


async def test_pages_check_the_same_permissions_as_the_api(live, make_tenant, platform):
    await make_tenant(SUB)
    async with live.tenant_client(SUB, role="sales") as sales:  # an API token works on pages too (GET)
        assert (await sales.get("/products")).status_code == 200
        r = await sales.get("/accounts")
        assert r.status_code == 403 and "does not allow accounting.read" in r.text
        assert r.headers["content-type"].startswith("text/html")
        for path in ("/journal", "/users", "/audit", "/products/new"):
            assert (await sales.get(path)).status_code == 403, path
        # Signed in with a token there is no session CSRF token: it cannot post forms.
        r = await sales.post("/products", data={"sku": "X", "name": "x", "csrf_token": ""})
        assert r.status_code == 403
    async with live.tenant_client(SUB, role="finance") as finance:
        assert (await finance.get("/audit")).status_code == 200
        assert (await finance.get("/journal")).status_code == 200
        assert (await finance.get("/users")).status_code == 403
        assert (await finance.get("/products/new")).status_code == 403

    # A module outside the plan: 403 even for the owner, and no link to it.
    async with AsyncSession(platform.main_engine) as session:
        session.add(Plan(code="books", name="Books", monthly_price="100000", max_users=5, modules=["accounting"],
                         trial_days=0, is_active=True))
        await session.commit()
    await entitlements.set_plan(platform, SUB, "books")
    async with live.tenant_client(SUB, role="owner") as owner:
        r = await owner.get("/products")
        for _ in range(100):  # the live server learns of the plan change through the route invalidation
            if r.status_code == 403:
                break
            await asyncio.sleep(0.02)
            r = await owner.get("/products")
        assert r.status_code == 403 and "module 'catalog' is not in your plan" in html.unescape(r.text)
        home = await owner.get("/")
        assert 'href="/accounts"' in home.text and 'href="/products"' not in home.text


async def test_a_product_created_through_the_form_appears_in_the_list(live, make_tenant):
    await make_tenant(SUB)
    async with signed_in_client(live, ["purchasing"]) as (client, _):
        form = await client.get("/products/new")
        assert form.status_code == 200 and 'name="sku"' in form.text
        token = csrf_of(form.text)
        data = {"csrf_token": token, "sku": "PP-GRN-NAT", "name": "PP granules <natural>",
                "product_type": "raw_material", "unit": "kg", "buy_price": "21000", "sell_price": "", "description": ""}
        r = await client.post("/products", data=data)
        assert r.status_code == 303 and r.headers["location"].endswith("?done=created")  # the product's page
        listing = await client.get("/products", params={"q": "PP-GRN-NAT"})
        assert "PP-GRN-NAT" in listing.text and "PP granules &lt;natural&gt;" in listing.text
        assert "Bahan baku" in listing.text and re.search(r">\s*KG\s*<", listing.text)  # raw material, in Bahasa
        api = (await client.get("/api/v1/products", params={"q": "PP-GRN-NAT"})).json()["items"][0]
        assert api["buy_price"] == "21000.00" and api["sell_price"] is None

        # Refusals re-render the form with the reason and what was typed; nothing is written.
        r = await client.post("/products", data={**data, "name": "Again"})
        assert r.status_code == 409 and "already used" in r.text and 'value="Again"' in r.text
        r = await client.post("/products", data={**data, "sku": "bad sku!"})
        assert r.status_code == 422 and "sku" in r.text and 'value="bad sku!"' in r.text
        r = await client.post("/products", data={**data, "sku": "PP-2", "unit": "PARSEC"})
        assert r.status_code == 422 and "unknown unit" in r.text
        r = await client.post("/products", data={**data, "sku": "PP-3", "buy_price": "lots"})
        assert r.status_code == 422 and 'id="e-buy_price"' in r.text and 'value="lots"' in r.text
        assert (await client.get("/api/v1/products")).json()["total"] == 1

        listing = await client.get("/products", params={"q": "nothing-like-this"})
        assert "Tidak ada produk yang cocok." in listing.text


async def test_stock_accounts_and_journal_pages_show_the_services_data(live, make_tenant):
    await make_tenant(SUB)
    async with live.tenant_client(SUB, role="owner") as api:
        r = await api.post("/api/v1/products", json={"sku": "PE-FILM", "name": "PE film", "unit": "KG",
                                                     "product_type": "raw_material"})
        assert r.status_code == 201
        r = await api.post("/api/v1/stock-movements", json={
            "kind": "IN", "sku": "PE-FILM", "quantity": "1250.5", "to_location": "RM-WH", "unit_cost": "20000",
            "reason": "purchase", "reference": "PO-7"})
        assert r.status_code == 201, r.text
        number = r.json()["number"]
        stock = await api.get("/stock")
        assert stock.status_code == 200 and "RM-WH" in stock.text and "1.250,5" in stock.text  # Bahasa Indonesia
        accounts = await api.get("/accounts")
        assert accounts.status_code == 200 and "1141" in accounts.text
        journal = await api.get("/journal")
        assert number in journal.text and "Rp 25.010.000" in journal.text and "PO-7" in journal.text


async def test_api_token_page_shows_the_token_once_and_it_works(live, make_tenant):
    await make_tenant(SUB)
    async with signed_in_client(live, ["sales"]) as (client, user):
        account = await client.get("/account")
        assert account.status_code == 200 and user["email"] in account.text
        token = csrf_of(account.text)
        r = await client.post("/account/tokens", data={"csrf_token": token, "name": "nightly export",
                                                       "roles": ["finance"], "expires_days": ""})
        # More than your own rights: the account page again, with the service's reason.
        assert r.status_code == 403 and '<p class="error" role="alert">' in r.text
        assert 'name="current_password"' in r.text
        r = await client.post("/account/tokens", data={"csrf_token": token, "name": "x", "expires_days": "soon"})
        assert r.status_code == 422 and "bilangan bulat" in r.text
        # No role ticked: refused (a token gets no role by default).
        r = await client.post("/account/tokens", data={"csrf_token": token, "name": "nightly export",
                                                       "expires_days": "30"})
        assert r.status_code == 422 and "choose the token&#39;s roles" in r.text
        r = await client.post("/account/tokens", data={"csrf_token": token, "name": "nightly export",
                                                       "roles": ["sales"], "expires_days": "30"})
        assert r.status_code == 200 and r.headers["cache-control"] == "no-store"
        secret = re.search(r'<code class="secret" id="token">(pft_[^<]+)</code>', r.text).group(1)
        account = await client.get("/account")
        assert "nightly export" in account.text and secret not in account.text and secret[-4:] in account.text

        async with live.tenant_client(SUB, role=None, headers={"Authorization": f"Bearer {secret}"}) as bearer:
            me = await bearer.get("/api/v1/auth/me")
            assert me.status_code == 200 and me.json()["email"] == user["email"] and me.json()["via"] == "token"

            token_id = re.search(r'action="/account/tokens/([0-9a-f-]+)/revoke"', account.text).group(1)
            r = await client.post(f"/account/tokens/{token_id}/revoke", data={"csrf_token": token})
            assert r.status_code == 303 and r.headers["location"] == "/account?done=revoked"
            assert (await bearer.get("/api/v1/auth/me")).status_code == 401
        r = await client.post("/account/tokens/not-a-uuid/revoke", data={"csrf_token": token})
        assert r.status_code == 404 and "no such API token" in r.text


async def test_change_password_and_log_out_everywhere(live, make_tenant):
    await make_tenant(SUB)
    async with signed_in_client(live, ["viewer"]) as (client, user), live.tenant_client(SUB, role=None) as other:
        assert (await sign_in(other, user["email"])).status_code == 303
        token = csrf_of((await client.get("/account")).text)
        base = {"csrf_token": token, "current_password": TEST_PASSWORD}
        r = await client.post("/account/password", data={**base, "new_password": NEW_PASSWORD,
                                                          "new_password2": "something-else-1"})
        assert r.status_code == 422 and "Kedua kata sandi baru berbeda" in r.text
        r = await client.post("/account/password", data={**base, "current_password": "wrong-password",
                                                          "new_password": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
        assert r.status_code == 403 and "current password is wrong" in r.text
        r = await client.post("/account/password", data={**base, "new_password": "short", "new_password2": "short"})
        assert r.status_code == 422 and "at least 10 characters" in r.text
        r = await client.post("/account/password", data={**base, "new_password": NEW_PASSWORD,
                                                          "new_password2": NEW_PASSWORD})
        assert r.status_code == 303 and r.headers["location"] == "/account?done=password"
        assert (await client.get("/account")).status_code == 200  # this browser stays signed in
        assert (await other.get("/account")).status_code == 303  # the other one was signed out

        r = await client.post("/account/logout-all", data={"csrf_token": token})
        assert r.status_code == 303 and r.headers["location"] == "/login?done=out-all"
        assert (await client.get("/account")).status_code == 303
        assert (await sign_in(other, user["email"])).status_code == 401
        assert (await sign_in(other, user["email"], NEW_PASSWORD)).status_code == 303


async def test_invited_user_accepts_through_the_pages_and_signs_in(live, make_tenant):
    await make_tenant(SUB)
    async with signed_in_client(live, ["owner"]) as (client, owner):
        users = await client.get("/users")
        assert users.status_code == 200 and owner["email"] in users.text
        token = csrf_of(users.text)
        invite = {"csrf_token": token, "email": "Rina@Example.test", "name": "Rina", "roles": ["sales", "warehouse"],
                  "language": "id"}
        r = await client.post("/users/invite", data={**invite, "roles": ["astronaut"]})
        assert r.status_code == 422 and "unknown role" in r.text and 'value="Rina@Example.test"' in r.text
        r = await client.post("/users/invite", data=invite)
        assert r.status_code == 303 and r.headers["location"] == "/users?done=invited"
        r = await client.post("/users/invite", data=invite)
        assert r.status_code == 409 and "already exists" in r.text
        listing = await client.get("/users?done=invited")
        assert "Rina@example.test" in listing.text and ">diundang<" in listing.text

    [link] = outbox_tokens(live.settings, "/invite")
    async with live.tenant_client(SUB, role=None) as rina:
        form = await rina.get("/invite", params={"token": link})
        assert form.status_code == 200 and f'value="{link}"' in form.text
        data = {"csrf_token": csrf_of(form.text), "token": link, "name": "Rina Wijaya", "password": NEW_PASSWORD}
        r = await rina.post("/invite", data={**data, "password2": "not-the-same-one"})
        assert r.status_code == 422 and "Kedua kata sandi berbeda" in r.text
        r = await rina.post("/invite", data={**data, "csrf_token": "z" * 43, "password2": NEW_PASSWORD})
        assert r.status_code == 403
        r = await rina.post("/invite", data={**data, "password2": NEW_PASSWORD})
        assert r.status_code == 303 and r.headers["location"] == "/login?done=welcome"
        r = await rina.post("/invite", data={**data, "password2": NEW_PASSWORD})
        assert r.status_code == 422 and "already used" in r.text
        assert (await sign_in(rina, "rina@example.test", NEW_PASSWORD)).status_code == 303
        home = await rina.get("/")
        assert "Rina Wijaya" in home.text and "Penjualan, Gudang" in home.text


async def test_password_reset_through_the_pages(live, make_tenant):
    await make_tenant(SUB)
    user = make_user(live.settings, SUB, ["viewer"])
    async with live.tenant_client(SUB, role=None) as client:
        form = await client.get("/reset")
        assert form.status_code == 200
        answers = []
        for email in (user["email"], "nobody@example.test"):
            r = await client.post("/reset", data={"email": email, "csrf_token": csrf_of(form.text)})
            answers.append((r.status_code, r.headers["location"]))
        assert answers == [(303, "/reset?done=sent")] * 2  # the same answer either way
        assert "tautan atur ulang sedang dikirim" in (await client.get("/reset?done=sent")).text
        assert (await client.post("/reset", data={"email": user["email"]})).status_code == 403

        [link] = outbox_tokens(live.settings, "/reset/confirm")
        form = await client.get("/reset/confirm", params={"token": link})
        # The box to revoke the API tokens is ticked by default; a browser sends it as "1".
        assert 'name="revoke_tokens" value="1" checked' in form.text
        data = {"csrf_token": csrf_of(form.text), "token": link, "password": NEW_PASSWORD, "revoke_tokens": "1"}
        r = await client.post("/reset/confirm", data={**data, "token": "not-a-real-token", "password2": NEW_PASSWORD})
        assert r.status_code == 422 and "invalid, already used or expired" in r.text
        r = await client.post("/reset/confirm", data={**data, "password2": NEW_PASSWORD})
        assert r.status_code == 303 and r.headers["location"] == "/login?done=reset"
        assert "Masuk dengan kata sandi baru" in (await client.get("/login?done=reset")).text
        assert (await sign_in(client, user["email"])).status_code == 401
        assert (await sign_in(client, user["email"], NEW_PASSWORD)).status_code == 303
    assert sql(live.settings, "SELECT count(*) FROM api_tokens WHERE user_id = %s AND revoked_at IS NULL",
               user["id"]) == [(0,)]


async def test_users_page_deactivates_and_audit_page_shows_it(live, make_tenant):
    await make_tenant(SUB)
    target = make_user(live.settings, SUB, ["sales"])
    async with signed_in_client(live, ["owner"]) as (client, owner):
        users = await client.get("/users")
        token = csrf_of(users.text)
        action = f'/users/{target["id"]}/active'
        assert f'action="{action}"' in users.text
        assert f'action="/users/{owner["id"]}/active"' not in users.text  # not yourself
        r = await client.post(action, data={"csrf_token": token, "active": "0"})
        assert r.status_code == 303 and r.headers["location"] == "/users?done=deactivated"
        assert ">nonaktif<" in (await client.get("/users")).text
        async with live.tenant_client(SUB, role=None) as gone:
            assert (await sign_in(gone, target["email"])).status_code == 401
        assert (await client.post(action, data={"csrf_token": token, "active": "maybe"})).status_code == 422
        r = await client.post("/users/not-a-uuid/active", data={"csrf_token": token, "active": "1"})
        assert r.status_code == 404 and "no such user" in r.text

        audit = await client.get("/audit")
        assert audit.status_code == 200 and "is_active" in audit.text and "password_hash" not in audit.text
        # People by name, not by id or address; the action in Bahasa; the time in the workspace's zone (WIB).
        owner_name, target_name = owner["email"].split("@")[0], target["email"].split("@")[0]
        cells = re.findall(r'<td class="" data-label="Siapa">\s*([^<]*?)\s*</td>', audit.text)
        assert set(cells) == {owner_name, target_name}, cells  # the target's refused sign-in is theirs
        assert f"user · {target_name}" in audit.text and f"user {target['id']}" not in audit.text
        assert "masuk" in re.findall(r'data-label="Aksi">\s*([^<]*?)\s*<', audit.text)
        assert re.search(r"\d{1,2} \w{3} \d{4} \d{2}\.\d{2} WIB", audit.text)

        # Filters and the export of the same columns: only the deactivation, by its author, about the target.
        r = await client.get("/audit", params={"action": "update", "entity": "users", "export": "csv"})
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
        rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
        assert rows[0] == ["Kapan", "Siapa", "Aksi", "Apa", "Perubahan", "Alamat IP"], rows[0]
        assert [row[1:4] for row in rows[1:]] == [[owner_name, "diubah", f"users · {target_name}"]], rows
        assert '"is_active": false' in rows[1][4]
        r = await client.get("/audit", params={"user": str(owner["id"]), "action": "login"})
        assert r.status_code == 200
        assert re.findall(r'data-label="Aksi">\s*([^<]*?)\s*<', r.text) == ["masuk"]  # the one sign-in
        assert (await client.get("/audit", params={"user": "not-a-user"})).status_code == 422

        # The users list exports too (the same columns as the page).
        r = await client.get("/users", params={"export": "xlsx", "status": "inactive"})
        assert r.status_code == 200 and r.content[:2] == b"PK"
        sheet = openpyxl.load_workbook(io.BytesIO(r.content)).active
        values = [[c.value for c in row] for row in sheet.iter_rows()]
        assert values[0][:4] == ["Email", "Nama", "Peran", "Status"], values[0]
        assert [v[0] for v in values[1:]] == [target["email"]] and values[1][2:4] == ["Penjualan", "nonaktif"]


async def test_throttled_sign_in_is_a_429_page(settings, make_tenant, make_live):
    live = make_live(settings.model_copy(update={"login_ip_per_minute": 2}))
    await make_tenant(SUB)
    user = make_user(live.settings, SUB, ["viewer"])
    async with live.tenant_client(SUB, role=None) as client:
        assert (await sign_in(client, user["email"], "wrong-password")).status_code == 401
        assert (await sign_in(client, user["email"])).status_code == 303
        client.cookies.delete("pf_session")
        r = await sign_in(client, user["email"])
        assert r.status_code == 429 and "too many sign-in attempts" in r.text
        assert int(r.headers["retry-after"]) >= 1 and r.headers["content-type"].startswith("text/html")
        assert 'name="email"' in r.text  # the form again, to try later


async def test_two_factor_and_step_up_through_the_pages(live, make_tenant):
    await make_tenant(SUB)
    async with signed_in_client(live, ["sales"]) as (client, user):
        account = await client.get("/account")
        token = csrf_of(account.text)
        assert 'action="/account/mfa/setup"' in account.text and 'action="/account/step-up"' in account.text
        r = await client.post("/account/mfa/setup", data={"csrf_token": token})
        assert r.status_code == 200 and r.headers["cache-control"] == "no-store"
        secret = re.search(r'<code class="secret" id="totp-secret">([A-Z2-7]+)</code>', r.text).group(1)
        assert "otpauth://totp/" in html.unescape(r.text)
        r = await client.post("/account/mfa/confirm", data={"csrf_token": token, "code": "12345"})
        assert r.status_code == 422 and "wrong code" in r.text
        r = await client.post("/account/mfa/confirm", data={"csrf_token": token, "code": totp.current_code(secret)})
        assert r.status_code == 200
        codes = re.findall(r"<li><code>([a-z0-9-]{14})</code></li>", r.text)
        assert len(codes) == 10
        assert "Sisa kode pemulihan: 10" in (await client.get("/account")).text

        # Step-up: an old confirmation closes token creation until the password is given again.
        sql(live.settings, "UPDATE user_sessions SET step_up_at = now() - interval '1 hour'")
        form = {"csrf_token": token, "name": "nightly", "roles": ["sales"], "expires_days": ""}
        r = await client.post("/account/tokens", data=form)
        assert r.status_code == 403 and "confirm it is you first" in html.unescape(r.text)
        r = await client.post("/account/step-up", data={"csrf_token": token, "confirm": "wrong-password",
                                                        "next": "/account"})
        assert r.status_code == 403 and "current password is wrong" in r.text
        r = await client.post("/account/step-up", data={"csrf_token": token, "confirm": TEST_PASSWORD,
                                                        "next": "https://evil.example/"})
        assert r.status_code == 303 and r.headers["location"] == "/account?done=confirmed"  # never off-site
        r = await client.post("/account/tokens", data=form)
        assert r.status_code == 200 and "pft_" in r.text

    # Signing in now takes a second form: the code (or a recovery code), then on to `next`.
    async with live.tenant_client(SUB, role=None) as client:
        r = await sign_in(client, user["email"], next="/products")
        assert r.status_code == 200 and 'action="/login/mfa"' in r.text and "pf_session=pfs_" not in \
            r.headers.get("set-cookie", "")
        second = {"csrf_token": csrf_of(r.text), "next": "/products",
                  "mfa_token": re.search(r'name="mfa_token" value="([^"]+)"', r.text).group(1)}
        r = await client.post("/login/mfa", data={**second, "code": "000000" if codes[0] else ""})
        assert r.status_code == 401 and "wrong or already used code" in r.text and 'action="/login/mfa"' in r.text
        r = await client.post("/login/mfa", data={**second, "code": codes[0]})
        assert r.status_code == 303 and r.headers["location"] == "/products"
        assert (await client.get("/account")).status_code == 200
        assert "Sisa kode pemulihan: 9" in (await client.get("/account")).text
        # Log out everywhere, revoking the API tokens too (the box ticked).
        token = csrf_of((await client.get("/account")).text)
        r = await client.post("/account/logout-all", data={"csrf_token": token, "revoke_tokens": "1"})
        assert r.status_code == 303
    assert sql(live.settings, "SELECT count(*) FROM api_tokens WHERE user_id = %s AND revoked_at IS NULL",
               user["id"]) == [(0,)]


async def test_login_names_the_company_and_switches_language(live, make_tenant):
    await make_tenant(SUB, "PT Plastik Abadi")
    user = make_user(live.settings, SUB, ["viewer"])
    async with live.tenant_client(SUB, role=None) as client:
        form = await client.get("/login", params={"next": "/account"})
        # The workspace's language (Bahasa Indonesia by default) and the company it signs in to.
        assert form.status_code == 200 and '<html lang="id">' in form.text
        assert "Masuk ke PT Plastik Abadi" in form.text and "Lupa kata sandi?" in form.text
        assert 'href="?next=%2Faccount&amp;lang=en"' in form.text  # the switch keeps where to go next
        english = await client.get("/login", params={"next": "/account", "lang": "en"})
        assert '<html lang="en">' in english.text and "Sign in to PT Plastik Abadi" in english.text
        assert 'action="/login?lang=en"' in english.text and 'href="/reset?lang=en"' in english.text
        # A failed sign-in re-renders in the language the visitor chose.
        r = await client.post("/login?lang=en", data={"email": user["email"], "password": "wrong-password-1",
                                                      "next": "", "csrf_token": csrf_of(english.text)})
        assert r.status_code == 401 and "Sign in to PT Plastik Abadi" in r.text
        assert "Reset your password" in (await client.get("/reset", params={"lang": "en"})).text
        assert "Atur ulang kata sandi" in (await client.get("/reset", params={"lang": "xx"})).text  # unknown: default

    # The company's name from its settings wins over the tenant's name.
    sql(live.settings, "UPDATE tenant_settings SET company_name = 'PT Plastik Abadi Sejahtera Tbk' WHERE id = 1")
    async with live.tenant_client(SUB, role=None) as client:
        assert "Masuk ke PT Plastik Abadi Sejahtera Tbk" in (await client.get("/login")).text


async def test_a_user_picks_their_language_and_the_pages_follow(live, make_tenant):
    await make_tenant(SUB)
    async with signed_in_client(live, ["owner"]) as (client, user):
        account = await client.get("/account")
        assert "Akun Anda" in account.text and '<option value="id" selected>' in account.text
        token = csrf_of(account.text)
        r = await client.post("/account/language", data={"csrf_token": token, "language": "xx"})
        assert r.status_code == 422 and "Pilih bahasa dari daftar." in r.text
        assert (await client.post("/account/language", data={"language": "en"})).status_code == 403  # no token
        r = await client.post("/account/language", data={"csrf_token": token, "language": "en"})
        assert r.status_code == 303 and r.headers["location"] == "/account?done=language"
        account = await client.get(r.headers["location"])
        assert '<html lang="en">' in account.text and "Your account" in account.text
        assert "Your language was saved." in account.text and '<option value="en" selected>' in account.text
        assert "Users" in (await client.get("/users")).text and "Pengguna" not in (await client.get("/users")).text
        assert sql(live.settings, "SELECT language FROM users WHERE id = %s", user["id"]) == [("en",)]
        r = await client.post("/account/language", data={"csrf_token": token, "language": "id"})
        assert "Bahasa Anda sudah disimpan." in (await client.get(r.headers["location"])).text
