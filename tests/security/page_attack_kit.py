"""What the page attack sweep (test_tenant_page_attacks.py) is made of: the hostile values, one record of each kind
on a tenant, a crawl that finds a concrete path for every route template from the links and form actions of the
seeded pages, a digest of a tenant's whole database, and a reader of the POST forms of a page."""

from __future__ import annotations

import html
import re
import uuid
from urllib.parse import urlsplit

from polyflow.erp.accounting.service import today
from tests.erp.payments.helpers import payment_records
from tests.erp.production.floor.helpers import floor_records
from tests.erp.production.orders.helpers import orders_records
from tests.erp.purchasing.helpers import public, purchasing_records
from tests.erp.stockcount.helpers import stockcount_records
from tests.erp.toll.helpers import toll_records
from tests.fixtures.auth import make_user
from tests.security.test_tenant_idor import _records

XSS = "<script>alert(1)</script>\"'><img src=x onerror=alert(1)>"
# What must never reach a page raw. ("onerror=alert" alone also appears in correctly ESCAPED text, so the
# markers are the tag openings an escaped value can never contain.)
RAW_MARKERS = ("<script>alert(1)", "<img src=x", "<svg onload", "<a href=\"javascript:")
EVIL_URLS = ("//evil.example", "https://evil.example", "/\\evil.example", "https:evil.example", "\t//evil.example",
             "javascript:alert(1)")
# Pages that are not HTML or that sign the visitor out / belong to the sign-in steps.
NOT_CRAWLED = {"/favicon.ico", "/reports/coretax", "/logout"}
PRE_AUTH = {"/login", "/login/mfa", "/reset", "/reset/confirm", "/invite"}
HTML_CT = "text/html"
# Tables whose rows change on every signed-in request (last use of a session or token), not by a form.
VOLATILE = {"user_sessions", "api_tokens", "alembic_version"}


# -- seeding and crawling -------------------------------------------------------------------------------------
async def _seed(live, tenant_as, sub: str, tag: str, code: str) -> dict[str, str]:
    """One record of each kind on `sub` through the JSON API (the same set the API IDOR sweep uses)."""
    owner = make_user(live.settings, sub, ["owner"])
    async with tenant_as(sub, token=owner["token"]) as c:
        ids = await _records(c, owner, tag, code)
        ids |= public(await purchasing_records(c, ids["variant_id"], ids["location_id"], tag))
        ids |= public(await payment_records(c, ids["partner_id"], ids["sales_invoice_id"], ids["variant_id"],
                                            ids["location_id"], today().isoformat(), tag))
        ids |= public(await floor_records(c, f"{tag}-FL"))
        ids |= public(await orders_records(c, ids["location_id"], f"{tag}-PO"))
        ids |= public(await toll_records(c, ids["partner_id"], today().isoformat(), tag))
        ids |= public(await stockcount_records(c, ids["variant_id"], ids["location_id"]))
    return ids


def _pattern(template: str) -> re.Pattern:
    out = "^"
    for piece in re.split(r"(\{\w+\})", template):
        out += r"([^/?#]+)" if piece.startswith("{") else re.escape(piece)
    return re.compile(out + "$")


def _links(text: str) -> set[str]:
    found = set()
    for value in re.findall(r'(?:href|action)="([^"]*)"', text):
        path = urlsplit(html.unescape(value)).path
        if path.startswith("/") and not path.startswith("//"):
            found.add(path)
    return found


async def _crawl(client, routes: set[tuple[str, str]], pages: dict[str, str] | None = None,
                 extra: tuple[str, ...] = (), every: dict[tuple[str, str], list[str]] | None = None
                 ) -> dict[tuple[str, str], str]:
    """(method, template) -> a concrete path the seeded pages link to (or post to); every HTML page read goes
    into `pages` (path -> text)."""
    templates = {key: _pattern(key[1]) for key in routes if "{" in key[1]}
    static = {p for _m, p in routes if "{" not in p}  # "/stock-counts/new" is no count's id
    found: dict[tuple[str, str], str] = {}
    queue = [p for m, p in routes if m == "GET" and "{" not in p and p not in NOT_CRAWLED | PRE_AUTH]
    queue += list(extra)
    seen: set[str] = set()
    while queue:
        path = queue.pop(0)
        if path in seen:
            continue
        seen.add(path)
        r = await client.get(path, follow_redirects=False)
        assert r.status_code < 500, (path, r.status_code, r.text[:300])
        if r.status_code != 200 or HTML_CT not in r.headers.get("content-type", ""):
            continue
        if pages is not None:
            pages[path] = r.text
        for link in _links(r.text) - static:
            for key, pattern in templates.items():
                if every is not None and pattern.match(link) and link not in every.setdefault(key, []):
                    every[key].append(link)
                if key not in found and pattern.match(link):
                    found[key] = link
                    if key[0] == "GET" and not link.endswith("/pdf"):
                        queue.append(link)
    return found


async def _owner_session(live, tenant_as, tenant_sign_in, sub: str) -> tuple[dict, str, str]:
    user = make_user(live.settings, sub, ["owner"])
    cookie = await tenant_sign_in(sub, user["email"])
    async with tenant_as(sub, cookie=cookie) as c:
        csrf = (await c.get("/api/v1/auth/me")).json()["csrf_token"]
    return user, cookie, csrf


def _fingerprint(tenant_sql, sub: str) -> dict[str, str]:
    """A digest of every row of every table of the tenant (volatile bookkeeping tables left out)."""
    tables = [t for (t,) in tenant_sql(sub, "SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
                                            "ORDER BY tablename") if t not in VOLATILE]
    query = " UNION ALL ".join(
        f"SELECT '{t}', md5(coalesce(string_agg(x::text, '|' ORDER BY x::text), '')) FROM \"{t}\" x" for t in tables)
    return dict(tenant_sql(sub, query))


def _prefix_values(found: dict) -> dict[str, str]:
    """'/deliveries/{delivery_id}' -> the id the crawl saw there, for every id prefix of every found route."""
    out = {}
    for (_method, template), path in found.items():
        values = _pattern(template).match(path).groups()
        names = re.findall(r"\{\w+\}", template)
        for name, value in zip(names, values):
            out.setdefault(template[:template.index(name) + len(name)], value)
    return out


def _concrete(template: str, found: dict, method: str, prefixes: dict[str, str] | None = None) -> str | None:
    """A path for `template`: the one the pages link to, else the ids a sibling route of the same record used
    (e.g. a draft-only action of a document whose detail page was crawled); None when no record is known."""
    if (method, template) in found:
        return found[(method, template)]
    prefixes = prefixes if prefixes is not None else _prefix_values(found)
    path = template
    for name in re.findall(r"\{\w+\}", template):
        value = prefixes.get(template[:template.index(name) + len(name)])
        if value is None:
            return None
        path = path.replace(name, value, 1)
    return path


def _made_up(template: str) -> str:
    return re.sub(r"\{\w+\}", lambda m: {"{year}": "2026", "{month}": "11"}.get(m.group(0), str(uuid.uuid4())),
                  template)


def _raw_markup(pages: dict[str, str]) -> list[tuple[str, str]]:
    return [(path, marker) for path, text in pages.items() for marker in RAW_MARKERS if marker in text]


def _foreign_targets(pages: dict[str, str]) -> list[tuple[str, str]]:
    """Links, form targets and sources that leave the site or run script (javascript:, //host, https://host)."""
    out = []
    for path, text in pages.items():
        for value in re.findall(r'(?:href|action|src|formaction)\s*=\s*"([^"]*)"', text):
            target = html.unescape(value).strip()
            if target.startswith(("/", "?", "#", "mailto:", "tel:")) and not target.startswith(("//", "/\\")):
                continue
            if target == "":
                continue
            out.append((path, target))
    return out


def _local(location: str | None) -> bool:
    return bool(location) and location.startswith("/") and not location.startswith(("//", "/\\")) \
        and not any(ord(ch) < 33 for ch in location)


def _in_tenant(tenant_sql, sub: str, path: str) -> bool:
    """Every id in `path` is a record of `sub` too (rows seeded at a tenant's birth share their ids on every
    tenant: pt-xyz opening ITS OWN 'PPN' tax code is no IDOR)."""
    ids = re.findall(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", path)
    tables = [t for (t,) in tenant_sql(sub, "SELECT table_name FROM information_schema.columns WHERE "
                                            "table_schema = 'public' AND column_name = 'id' AND data_type = 'uuid'")]
    for value in ids:
        query = " UNION ALL ".join(f'SELECT 1 FROM "{t}" WHERE id = %s' for t in tables)
        if not tenant_sql(sub, query, (value,) * len(tables)):
            return False
    return bool(ids)


class _Forms:
    """The POST forms of a page with their inputs (name -> default value) and which inputs are numbers."""

    def __init__(self, text: str, numbers: bool = True):
        from html.parser import HTMLParser

        forms: list[dict] = []

        class P(HTMLParser):
            select: str | None = None

            def handle_starttag(self, tag, attrs):
                a = {k: v or "" for k, v in attrs}
                if tag == "form" and a.get("method", "get").lower() == "post":
                    forms.append({"action": html.unescape(a.get("action", "")), "fields": {}, "numbers": []})
                elif not forms:
                    return
                elif tag == "input" and a.get("name"):
                    if a.get("type") in ("checkbox", "radio") and "checked" not in a:
                        return
                    forms[-1]["fields"].setdefault(a["name"], a.get("value", ""))
                    if "number" in a.get("class", "").split() or a.get("inputmode") == "decimal":
                        forms[-1]["numbers"].append(a["name"])
                elif tag == "select" and a.get("name"):
                    self.select = a["name"]
                elif tag == "option" and self.select and a.get("value"):
                    if "selected" in a:
                        forms[-1]["fields"][self.select] = a["value"]
                    else:
                        forms[-1]["fields"].setdefault(self.select, a["value"])
                elif tag == "textarea" and a.get("name"):
                    forms[-1]["fields"].setdefault(a["name"], "")

            def handle_endtag(self, tag):
                if tag == "select":
                    self.select = None

        P().feed(text)
        self.forms = [f for f in forms if f["numbers"] or not numbers]
