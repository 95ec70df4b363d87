"""An attacker's sweep of the tenant's HTML pages (issue #13), built from the app's own routes so that a new
page is covered the day it is added:

1. CSRF: every POST page, signed in with a valid session cookie, refuses a missing, wrong or other-session
   csrf_token and a cross-site Origin (403) and changes nothing in the tenant's database.
2. Stored XSS: names and memos made of markup are shown escaped on every page that shows them.
3. Reflected input: query parameters made of markup or off-site URLs are never echoed raw nor followed.
4. IDOR on pages: another tenant's record ids (and malformed ids) are 404, never 403/500 or data.
5. Exports: a formula typed as a product name comes out of CSV and XLSX defused.
6. Numbers: absurd numbers in every number field of every form are a 422 next to the field, never a 500.
Also: no GET page writes anything (GETs carry no CSRF token), links never leave the site, every PDF prints
names in any script.

Concrete ids come from crawling the seeded tenant's pages (every href and form action is matched against the
route templates), so each guarded route is hit with a REAL record where the pages link to one. The machinery is in
page_attack_kit.py.
"""

from __future__ import annotations

import csv
import io
import re
from urllib.parse import urlsplit

import openpyxl
import pytest

from polyflow.erp.accounting.service import today
from polyflow.platform import entitlements
from tests.fixtures.auth import make_user
from tests.security.page_attack_kit import (EVIL_URLS, HTML_CT, NOT_CRAWLED, PRE_AUTH, RAW_MARKERS, XSS, _concrete,
                                            _crawl, _fingerprint, _foreign_targets, _Forms, _in_tenant, _local,
                                            _made_up, _owner_session, _prefix_values, _raw_markup, _seed)
from tests.security.page_classes import FORMS
from tests.security.test_tenant_pages import _page_routes


@pytest.fixture
async def seeded(platform, make_tenant, live, tenant_as):
    await make_tenant("pt-abc")
    await entitlements.set_plan(platform, "pt-abc", "pro")  # every module's pages
    return await _seed(live, tenant_as, "pt-abc", "ABC", "1199")


# -- 1. CSRF -------------------------------------------------------------------------------------------------
async def test_every_post_page_refuses_a_forged_form_and_changes_nothing(seeded, live, tenant_app, tenant_as,
                                                                        tenant_sign_in, tenant_sql):
    routes = _page_routes(tenant_app)
    user, cookie, csrf = await _owner_session(live, tenant_as, tenant_sign_in, "pt-abc")
    # A second session of the same user: its token is valid, but not for this session.
    other_csrf = (await _owner_session(live, tenant_as, tenant_sign_in, "pt-abc"))[2]
    async with tenant_as("pt-abc", cookie=cookie) as c:
        found = await _crawl(c, routes)
    posts = sorted(p for m, p in routes if m == "POST")
    with_ids = [p for p in posts if "{" in p]
    prefixes = _prefix_values(found)
    real = [p for p in with_ids if _concrete(p, found, "POST", prefixes)]
    # Most POSTs on a record are reachable from a seeded page: the sweep hits them with real ids.
    print("no real id:", sorted(set(with_ids) - set(real)))
    assert len(real) >= len(with_ids) * 0.8, sorted(set(with_ids) - set(real))
    forged = lambda csrf: {  # noqa: E731
        "no token": ({}, {}),
        "wrong token": ({"csrf_token": "x" * 43}, {}),
        "another session's token": ({"csrf_token": other_csrf}, {}),
        "cross-site Origin": ({"csrf_token": csrf}, {"Origin": "https://evil.example"}),
        "cross-site Referer": ({"csrf_token": csrf}, {"Referer": "https://evil.example/x.html"}),
        "null Origin": ({"csrf_token": csrf}, {"Origin": "null"}),
    }
    problems = []
    before = _fingerprint(tenant_sql, "pt-abc")
    for template in posts:
        path = _concrete(template, found, "POST", prefixes) or _made_up(template)
        body = {k: v.format(n=1) for k, v in FORMS.get(template, {}).items()}
        for label, (extra, headers) in forged(csrf).items():
            if template in PRE_AUTH and label == "another session's token":
                continue
            async with tenant_as("pt-abc", cookie=cookie, **headers) as c:
                r = await c.post(path, data={**body, **extra}, follow_redirects=False)
            if r.status_code != 403:
                problems.append((template, path, label, r.status_code, r.headers.get("location")))
        async with tenant_as("pt-abc", cookie=cookie) as c:
            if (await c.get("/api/v1/auth/me")).status_code != 200:
                problems.append((template, path, "the forged post signed the victim out"))
                cookie = await tenant_sign_in("pt-abc", user["email"])
                async with tenant_as("pt-abc", cookie=cookie) as c2:
                    csrf = (await c2.get("/api/v1/auth/me")).json()["csrf_token"]
    after = _fingerprint(tenant_sql, "pt-abc")
    changed = sorted(t for t in after if after[t] != before.get(t))
    assert not problems and not changed, "\n".join(map(str, problems + [("changed tables", changed)]))
    # The sweep is not vacuous: the genuine token on one of the routes works (a 303, the row written).
    async with tenant_as("pt-abc", cookie=cookie) as c:
        r = await c.post("/locations", data={"code": "REAL-1", "name": "Real", "kind": "warehouse",
                                             "csrf_token": csrf}, follow_redirects=False)
    assert r.status_code == 303, r.text[:300]
    assert tenant_sql("pt-abc", "SELECT count(*) FROM locations WHERE code = 'REAL-1'") == [(1,)]


# -- 2. stored XSS -------------------------------------------------------------------------------------------
async def test_markup_typed_into_names_and_memos_is_shown_escaped_on_every_page(seeded, live, tenant_app,
                                                                               tenant_as, tenant_sign_in):
    ids = seeded
    owner = make_user(live.settings, "pt-abc", ["owner"])
    async with tenant_as("pt-abc", token=owner["token"]) as c:
        for path, body in [
            (f"/api/v1/products/{ids['product_id']}", {"name": XSS}),
            (f"/api/v1/variants/{ids['variant_id']}", {"name": XSS}),
            (f"/api/v1/partners/{ids['partner_id']}", {"name": XSS}),
            (f"/api/v1/locations/{ids['location_id']}", {"name": XSS}),
            (f"/api/v1/accounts/{ids['code']}", {"name": XSS}),
        ]:
            r = await c.patch(path, json=body)
            assert r.status_code == 200, (path, r.text)
        r = await c.post("/api/v1/journal-entries", json={
            "entry_date": today().isoformat(), "description": XSS, "reference": XSS[:40],
            "lines": [{"account": ids["code"], "debit": "5", "memo": XSS}, {"account": "3100", "credit": "5"}]})
        assert r.status_code == 201, r.text
        entry = r.json()["id"]
        r = await c.post("/api/v1/products", json={"sku": "XSS-2", "name": XSS, "description": XSS})
        assert r.status_code == 201, r.text
        # A name with % signs: text from users must never be used as a format string (a 500 on every list).
        r = await c.post("/api/v1/partners", json={"code": "PCT-1", "name": "Murni 100% %(x)s %s %d",
                                                   "is_customer": True, "is_supplier": True})
        assert r.status_code == 201, r.text
        r = await c.patch(f"/api/v1/users/{owner['id']}", json={"name": XSS})
        assert r.status_code == 200, r.text
        r = await c.patch("/api/v1/tax/company", json={"legal_name": XSS, "address": XSS})
        assert r.status_code == 200, r.text
    _, cookie, csrf = await _owner_session(live, tenant_as, tenant_sign_in, "pt-abc")
    async with tenant_as("pt-abc", cookie=cookie) as c:  # the company name the header and sign-in page show
        form = next(f for f in _Forms((await c.get("/settings")).text, numbers=False).forms
                    if f["action"] in ("", "/settings"))
        r = await c.post("/settings", data={**form["fields"], "company_name": XSS, "address": XSS,
                                            "csrf_token": csrf}, follow_redirects=False)
        assert r.status_code == 303, r.text[:500]
    pages: dict[str, str] = {}
    async with tenant_as("pt-abc") as anonymous:
        for path in ("/login", "/reset", "/login?lang=en"):
            pages["anonymous " + path] = (await anonymous.get(path)).text
        assert "&lt;script&gt;alert(1)" in pages["anonymous /login"]
    extra = (f"/products/{ids['product_id']}", f"/products/{ids['product_id']}/edit",
             f"/partners/{ids['partner_id']}", f"/partners/{ids['partner_id']}/edit", f"/journal/{entry}",
             f"/sales-orders/{ids['sales_order_id']}", f"/invoices/{ids['sales_invoice_id']}",
             "/stock/moves?q=XSS", "/stock?q=XSS", f"/reports/general-ledger?account={ids['code']}")
    async with tenant_as("pt-abc", cookie=cookie) as c:
        await _crawl(c, _page_routes(tenant_app), pages, extra)
    assert len(pages) >= 80, len(pages)
    assert not _raw_markup(pages), _raw_markup(pages)
    assert not _foreign_targets(pages), _foreign_targets(pages)
    # Not vacuous: the names ARE on the pages, escaped.
    escaped = "&lt;script&gt;alert(1)&lt;/script&gt;"
    showing = {p for p, text in pages.items() if escaped in text}
    for path in ("/products", "/partners", f"/journal/{entry}", f"/products/{ids['product_id']}",
                 f"/partners/{ids['partner_id']}", "/users", "/audit", "/"):
        assert path in showing, (path, sorted(showing))
    assert len(showing) >= 15, sorted(showing)


def test_templates_mark_only_literal_text_safe():
    """`|safe` and Markup() turn escaping off: allowed only on text written in the template itself."""
    from pathlib import Path

    import polyflow

    root = Path(polyflow.__file__).parent
    uses = []
    for file in list(root.rglob("*.html")) + list(root.rglob("*.py")):
        for n, line in enumerate(file.read_text(encoding="utf-8").splitlines(), 1):
            if re.search(r"\|\s*safe\b|Markup\(|markupsafe|autoescape\s*=?\s*false", line, re.I):
                uses.append((str(file.relative_to(root)), n, line.strip()))
    for file, n, line in uses:
        # A literal string piped through |safe is fine; a variable is not.
        assert re.search(r"""\(\s*'[^'{}]*'\s*\|\s*safe\s*\)|\(\s*"[^"{}]*"\s*\|\s*safe\s*\)""", line), (file, n, line)


# -- 3. reflected input and open redirects --------------------------------------------------------------------
FILTERS = ("q", "status", "done", "order", "customer", "type", "kind", "active", "run", "stage", "priority",
           "partner", "group_by", "date_from", "date_to", "as_of", "account", "user", "supplier", "sku", "role",
           "payment", "movement", "month", "year", "machine", "location", "invoice", "entity", "due_from", "due_to",
           "doc_type", "action", "lines", "nonzero", "sort", "error", "message", "notice", "back", "next", "return",
           "lang", "page", "export")


HOSTILE = ("-1", "99999999999999999999", "9999-12-31", "0001-01-01", "2026-02-30", "1e999", "\x00", "x" * 101,
           "00000000-0000-0000-0000-000000000000")


async def test_query_parameters_are_never_reflected_raw_nor_followed_off_site(seeded, live, tenant_app, tenant_as,
                                                                             tenant_sign_in):
    routes = _page_routes(tenant_app)
    _, cookie, csrf = await _owner_session(live, tenant_as, tenant_sign_in, "pt-abc")
    # As a browser asks (Accept: text/html): errors come back as HTML pages, which is where a reflection would run.
    # (An API-style JSON 422 that echoes the input is inert: application/json with nosniff.)
    async with tenant_as("pt-abc", cookie=cookie, Accept="text/html,application/xhtml+xml") as c:
        found = await _crawl(c, routes)
        targets = [p for m, p in routes if m == "GET" and "{" not in p and p not in NOT_CRAWLED | PRE_AUTH]
        targets += [path for (m, t), path in found.items() if m == "GET" and not path.endswith("/pdf")]
        problems = []
        for path in targets:
            for evil in (XSS, *EVIL_URLS):
                params = {name: evil for name in FILTERS}
                r = await c.get(path, params=params, follow_redirects=False)
                if r.status_code >= 500:
                    problems.append((path, evil, r.status_code))
                if r.status_code in (301, 302, 303, 307, 308) and not _local(r.headers.get("location")):
                    problems.append((path, evil, "redirects to", r.headers.get("location")))
                if HTML_CT not in r.headers.get("content-type", ""):
                    if not r.headers.get("content-type", "").startswith(("application/json", "text/csv",
                                                                          "application/pdf", "application/vnd")):
                        problems.append((path, evil, "answers", r.headers.get("content-type")))
                    continue
                for marker in RAW_MARKERS:
                    if marker in r.text:
                        problems.append((path, evil, "reflects", marker))
                if 'href="//evil' in r.text or 'href="https://evil' in r.text or 'action="//evil' in r.text \
                        or 'href="javascript:' in r.text or 'href="/\\evil' in r.text:
                    problems.append((path, evil, "links off-site"))
        # Markup as the id of every page with one, and as a path nobody serves: the 404/422 page quotes it escaped.
        for template in sorted({t for m, t in routes if m == "GET" and "{" in t} | {"/no-such-page/{x}"}):
            r = await c.get(re.sub(r"\{\w+\}", XSS.replace("/", "%2F"), template), follow_redirects=False)
            if r.status_code >= 500 or any(marker in r.text for marker in RAW_MARKERS):
                problems.append((template, "markup as the id", r.status_code))
        # Hostile values in the filters a page parses (dates, years, numbers, ids): a 4xx, never a 500.
        for path in targets:
            for value in HOSTILE:
                r = await c.get(path, params={name: value for name in FILTERS if name != "export"},
                                follow_redirects=False)
                if r.status_code >= 500:
                    problems.append((path, "all filters", value, r.status_code))
                # One at a time too, where a page parses them (an earlier bad filter would hide a later one).
                for name in ("year", "as_of", "page", "customer") if value in HOSTILE[:6] else ():
                    r = await c.get(path, params={name: value}, follow_redirects=False)
                    if r.status_code >= 500:
                        problems.append((path, name, value, r.status_code))
        # Where a page does follow next=/back=: the sign-in form (signed in already), step-up.
        for evil in EVIL_URLS + ("/\\/evil.example", "/%09/evil.example", "///evil.example"):
            r = await c.get("/login", params={"next": evil}, follow_redirects=False)
            if r.status_code in (301, 302, 303, 307, 308) and not _local(r.headers.get("location")):
                problems.append(("/login", evil, r.headers.get("location")))
            r = await c.post("/account/step-up", data={"next": evil, "confirm": "wrong", "csrf_token": csrf},
                             follow_redirects=False)
            if r.status_code in (301, 302, 303, 307, 308) and not _local(r.headers.get("location")):
                problems.append(("/account/step-up", evil, r.headers.get("location")))
    async with tenant_as("pt-abc") as anonymous:  # not signed in: the sign-in redirect keeps only a local next
        for evil in ("//evil.example/", "/\\evil.example"):
            r = await anonymous.get(evil, headers={"Accept": "text/html"}, follow_redirects=False)
            if r.status_code in (301, 302, 303, 307, 308) and not _local(r.headers.get("location")):
                problems.append(("anonymous", evil, r.headers.get("location")))
        for evil in EVIL_URLS:
            r = await anonymous.post("/login", data={"next": evil, "email": "x@y.z", "password": "x",
                                                     "csrf_token": "x"}, follow_redirects=False)
            assert r.status_code < 500, (evil, r.status_code)
            if 'value="//evil' in r.text or 'value="https://evil' in r.text:
                problems.append(("/login form keeps an evil next", evil))
    assert not problems, "\n".join(map(str, problems))


# -- 4. IDOR on pages ----------------------------------------------------------------------------------------
SECRETS = ("ABC resin", "ABC gudang", "ABC secret", "ABC only", "ABC supplier", "ABC-PP")
MALFORMED = ("not-a-uuid", "1%27%20OR%20%271%27=%271", "00000000-0000-0000-0000-000000000000", "9" * 300,
             "%00", "..%2F..%2Fetc", "-1")


async def test_another_tenants_ids_and_malformed_ids_are_404_on_every_page(platform, make_tenant, live, tenant_app,
                                                                          tenant_as, tenant_sign_in, tenant_sql):
    await make_tenant("pt-abc")
    await make_tenant("pt-xyz")
    for sub in ("pt-abc", "pt-xyz"):
        await entitlements.set_plan(platform, sub, "pro")
    await _seed(live, tenant_as, "pt-abc", "ABC", "1199")
    await _seed(live, tenant_as, "pt-xyz", "XYZ", "1198")
    routes = _page_routes(tenant_app)
    _, abc_cookie, _ = await _owner_session(live, tenant_as, tenant_sign_in, "pt-abc")
    _, xyz_cookie, xyz_csrf = await _owner_session(live, tenant_as, tenant_sign_in, "pt-xyz")
    every: dict[tuple[str, str], list[str]] = {}
    async with tenant_as("pt-abc", cookie=abc_cookie) as abc:
        found = await _crawl(abc, routes, every=every)
    # Prefer records pt-abc made itself over rows every tenant is born with (same ids on both).
    for key, links in every.items():
        own = [link for link in links[:6] if not _in_tenant(tenant_sql, "pt-xyz", link)]
        if own:
            found[key] = own[0]
    prefixes = _prefix_values(found)
    with_ids = sorted((m, t) for m, t in routes if re.search(r"\{(?!year\}|month\})\w+\}", t))
    targets = {key: _concrete(key[1], found, key[0], prefixes) for key in with_ids}
    covered = [key for key, path in targets.items() if path]
    assert len(covered) >= len(with_ids) * 0.8, sorted(set(with_ids) - set(covered))
    before = _fingerprint(tenant_sql, "pt-abc")
    problems = []
    async with tenant_as("pt-xyz", cookie=xyz_cookie, Accept="text/html") as xyz:
        for (method, template), path in targets.items():
            variants = [path] if path else []
            if method == "GET" and path:
                variants += [path + "?export=csv", path + "?export=xlsx", path + "/pdf"]
            for p in variants:
                if method == "GET":
                    r = await xyz.get(p, follow_redirects=False)
                else:
                    body = {k: v.format(n=1) for k, v in FORMS.get(template, {}).items()}
                    r = await xyz.post(p, data={**body, "csrf_token": xyz_csrf}, follow_redirects=False)
                if p.endswith("/pdf") and p != path and ("GET", template + "/pdf") not in routes:
                    if r.status_code >= 500:
                        problems.append((method, p, r.status_code))
                    continue
                if r.status_code != 404 and not _in_tenant(tenant_sql, "pt-xyz", p):
                    problems.append((method, p, r.status_code))
                leaked = [s for s in SECRETS if s in r.text]
                if leaked:
                    problems.append((method, p, "shows", leaked))
            # Malformed ids in every id position: 404 (a 422 would do for a person; a 500 never).
            for bad in MALFORMED:
                p = re.sub(r"\{(?!year\}|month\})\w+\}", bad, template)
                r = await (xyz.get(p, follow_redirects=False) if method == "GET" else
                           xyz.post(p, data={"csrf_token": xyz_csrf}, follow_redirects=False))
                # A POST may refuse its form (422) before it looks the record up; that is no leak either.
                if r.status_code != 404 and not (method == "POST" and r.status_code == 422):
                    problems.append((method, p[:80], "malformed", r.status_code))
    assert not problems, "\n".join(map(str, problems))
    assert _fingerprint(tenant_sql, "pt-abc") == before


# -- 5. exports ----------------------------------------------------------------------------------------------
FORMULAS = ('=HYPERLINK("http://evil","x")', "+1+cmd|' /C calc'!A0", "@SUM(1+1)*cmd", "-2+3+cmd", "\t=1+1",
            "\r=1+1")


def _dangerous(cell) -> bool:
    """A text cell a spreadsheet would run as a formula (a plain negative number is not one)."""
    if not isinstance(cell, str) or not cell:
        return False
    if re.fullmatch(r"-\d+(\.\d+)?", cell):
        return False
    return cell.startswith(("=", "+", "-", "@", "\t", "\r"))


async def test_formulas_typed_as_names_come_out_of_every_export_defused(seeded, live, tenant_app, tenant_as,
                                                                        tenant_sign_in):
    owner = make_user(live.settings, "pt-abc", ["owner"])
    async with tenant_as("pt-abc", token=owner["token"]) as c:
        for n, formula in enumerate(FORMULAS):
            r = await c.post("/api/v1/products", json={"sku": f"FX-{n}", "name": formula})
            assert r.status_code == 201, r.text
            r = await c.post("/api/v1/partners", json={"code": f"FX-{n}", "name": formula, "is_customer": True,
                                                       "is_supplier": True})
            assert r.status_code == 201, r.text
        r = await c.patch(f"/api/v1/products/{seeded['product_id']}", json={"name": FORMULAS[0]})
        assert r.status_code == 200, r.text
    _, cookie, _ = await _owner_session(live, tenant_as, tenant_sign_in, "pt-abc")
    routes = _page_routes(tenant_app)
    lists = sorted(p for m, p in routes if m == "GET" and "{" not in p and p not in NOT_CRAWLED | PRE_AUTH)
    problems, exported, seen_defused = [], [], 0
    async with tenant_as("pt-abc", cookie=cookie) as c:
        for path in lists:
            r = await c.get(path, params={"export": "csv"})
            if r.status_code != 200 or not r.headers["content-type"].startswith("text/csv"):
                continue
            exported.append(path)
            rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
            problems += [(path, "csv", cell) for row in rows for cell in row if _dangerous(cell)]
            seen_defused += sum(cell.startswith("'=HYPERLINK") for row in rows for cell in row)
            r = await c.get(path, params={"export": "xlsx"})
            assert r.status_code == 200, (path, r.status_code)
            book = openpyxl.load_workbook(io.BytesIO(r.content))
            for sheet in book.worksheets:
                for row in sheet.iter_rows(values_only=True):
                    problems += [(path, "xlsx", cell) for cell in row if _dangerous(cell)]
        # The product and partner lists, the named ones the brief asks about, carry the defused names.
        for path in ("/products", "/partners"):
            r = await c.get(path, params={"export": "csv", "q": "HYPERLINK"})
            cells = [cell for row in csv.reader(io.StringIO(r.content.decode("utf-8-sig"))) for cell in row]
            assert FORMULAS[0] not in cells and "'" + FORMULAS[0] in cells, (path, cells)
            r = await c.get(path, params={"export": "xlsx", "q": "HYPERLINK"})
            sheet = openpyxl.load_workbook(io.BytesIO(r.content)).worksheets[0]
            cells = [cell.value for row in sheet.iter_rows() for cell in row]
            assert "'" + FORMULAS[0] in cells and not any(cell.data_type == "f" for row in sheet.iter_rows()
                                                          for cell in row), (path, cells)
    assert len(exported) >= 20, exported
    assert seen_defused >= 3, seen_defused
    assert not problems, "\n".join(map(str, problems))


# -- 6. absurd numbers ---------------------------------------------------------------------------------------
ABSURD = ("1e999", "9" * 40, "NaN", "Infinity", "1.2.3", "1,2,3", "--1", "0x10", "١٢٣", "9" * 20, "9" * 16,
          "99999999999999999,99", "999.999.999.999.999.999", "1e-5")


async def test_absurd_numbers_in_every_number_field_are_a_422_next_to_the_field(seeded, live, tenant_app,
                                                                                tenant_as, tenant_sign_in):
    routes = _page_routes(tenant_app)
    _, cookie, _ = await _owner_session(live, tenant_as, tenant_sign_in, "pt-abc")
    pages: dict[str, str] = {}
    async with tenant_as("pt-abc", cookie=cookie) as c:
        await _crawl(c, routes, pages, (f"/products/{seeded['product_id']}", f"/products/{seeded['product_id']}/edit"))
        forms = {}
        for path, text in pages.items():
            for form in _Forms(text).forms:
                action = form["action"] or urlsplit(path).path
                forms.setdefault(action, form)
        # The main forms of the brief are among them.
        for action in ("/products", "/stock/receive", "/journal", "/sales-orders"):
            assert action in forms, (action, sorted(forms))
        assert any(re.fullmatch(r"/products/[^/]+/prices", a) for a in forms), sorted(forms)
        problems, tried = [], 0
        for action, form in sorted(forms.items()):
            for name in form["numbers"]:
                for value in ABSURD:
                    tried += 1
                    r = await c.post(action, data={**form["fields"], name: value}, follow_redirects=False)
                    if r.status_code != 422:
                        problems.append((action, name, value, r.status_code, r.headers.get("location")))
                    elif not re.search(rf'aria-describedby="e-{re.escape(name)}"|id="e-{re.escape(name)}"|'
                                       r'class="field-error"', r.text):
                        problems.append((action, name, value, "422 but no message next to the field"))
            # Every number of the form at the largest value it reads, together: products of them (line totals,
            # tax) may be beyond what a column holds; refused or stored, never a crash.
            biggest = {name: "999.999.999.999.999" for name in form["numbers"]}
            r = await c.post(action, data={**form["fields"], **biggest}, follow_redirects=False)
            if r.status_code >= 500:
                problems.append((action, "all numbers at the maximum", r.status_code, r.headers.get("location")))
    assert tried >= 100, tried
    assert not problems, "\n".join(map(str, problems))


# -- documents -----------------------------------------------------------------------------------------------
UNICODE_NAME = "Café Ümit 中文 😀 ‹PT› “Jaya” — ₹ ‑ ∑ " + "Panjang" * 25


async def test_every_pdf_prints_names_in_any_script_and_markup(seeded, live, tenant_app, tenant_as, tenant_sign_in):
    """Names a PDF font cannot draw (CJK, emoji, typographic marks) or that are one long word never break a
    printable document (fpdf2's core fonts raise on characters outside Latin-1)."""
    ids = seeded
    owner = make_user(live.settings, "pt-abc", ["owner"])
    async with tenant_as("pt-abc", token=owner["token"]) as c:
        for path in (f"/api/v1/products/{ids['product_id']}", f"/api/v1/variants/{ids['variant_id']}",
                     f"/api/v1/partners/{ids['partner_id']}", f"/api/v1/locations/{ids['location_id']}"):
            r = await c.patch(path, json={"name": UNICODE_NAME[:200]})
            assert r.status_code == 200, (path, r.text)
    _, cookie, _ = await _owner_session(live, tenant_as, tenant_sign_in, "pt-abc")
    routes = _page_routes(tenant_app)
    every: dict[tuple[str, str], list[str]] = {}
    async with tenant_as("pt-abc", cookie=cookie) as c:
        await _crawl(c, routes, every=every)
        pdfs = [link for (m, t), links in every.items() if m == "GET" and t.endswith("/pdf") for link in links[:3]]
        templates = {t for m, t in routes if m == "GET" and t.endswith("/pdf")}
        assert len({t for (m, t) in every if t in templates}) == len(templates), (templates, sorted(every))
        problems = []
        for path in pdfs:
            for lang in ("id", "en"):
                r = await c.get(path, params={"lang": lang})
                if r.status_code != 200 or not r.content.startswith(b"%PDF"):
                    problems.append((path, lang, r.status_code, r.text[:200]))
    assert not problems, "\n".join(map(str, problems))


# -- 1b. reading never writes --------------------------------------------------------------------------------
async def test_no_get_page_changes_anything(seeded, live, tenant_app, tenant_as, tenant_sign_in, tenant_sql):
    """A GET is not CSRF-checked, so no GET may change data: a link or <img> on another site would do it."""
    routes = _page_routes(tenant_app)
    _, cookie, _ = await _owner_session(live, tenant_as, tenant_sign_in, "pt-abc")
    before = _fingerprint(tenant_sql, "pt-abc")
    every: dict[tuple[str, str], list[str]] = {}
    async with tenant_as("pt-abc", cookie=cookie, Accept="text/html") as c:
        await _crawl(c, routes, every=every)
        visited = 0
        for (method, _template), links in every.items():
            if method != "GET":
                continue
            for link in links[:2]:
                for suffix in ("", "?export=csv", "?export=xlsx"):
                    r = await c.get(link + suffix, follow_redirects=False)
                    assert r.status_code < 500, (link + suffix, r.status_code)
                    visited += 1
        for path in ("/reports/coretax", "/favicon.ico"):
            assert (await c.get(path)).status_code < 500, path
    after = _fingerprint(tenant_sql, "pt-abc")
    assert visited >= 60, visited
    assert sorted(t for t in after if after[t] != before.get(t)) == []
