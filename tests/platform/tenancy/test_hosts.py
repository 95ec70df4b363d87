"""Host header classification, tenant subdomain rules and the trusted-proxy Host.

Pure functions: no database, no Redis. Each table row is one Host header as a client (or a
proxy) could send it, and what the request must be routed to.
"""

from __future__ import annotations

import ipaddress

import pytest

from polyflow.platform.tenancy.hosts import (
    RESERVED_SUBDOMAINS,
    HostKind,
    HostParser,
    HostTarget,
    effective_host,
    subdomain_problem,
)

TENANT, CUSTOM, ADMIN, PLATFORM, NOT_TENANT, INVALID = (
    HostKind.TENANT, HostKind.CUSTOM_DOMAIN, HostKind.ADMIN, HostKind.PLATFORM, HostKind.NOT_TENANT,
    HostKind.INVALID,
)

SUB_40 = "a" * 38 + "-b"  # the longest tenant subdomain (40 characters)
SUB_41 = "a" * 39 + "-b"
LABEL_63 = "a" * 63  # the longest DNS label: a valid host, but too long for a tenant
LABEL_64 = "a" * 64


def case(raw, kind: HostKind, name: str = "", *, id: str):
    return pytest.param(raw, HostTarget(kind, name), id=id)


LOCALHOST_CASES = [
    # A tenant subdomain, in every spelling a browser or proxy may send.
    case("pt-abc.localhost", TENANT, "pt-abc", id="tenant"),
    case("PT-ABC.LOCALHOST", TENANT, "pt-abc", id="tenant-uppercase"),
    case("Pt-Abc.LocalHost", TENANT, "pt-abc", id="tenant-mixed-case"),
    case("pt-abc.localhost:8000", TENANT, "pt-abc", id="tenant-port"),
    case("PT-ABC.localhost:8000", TENANT, "pt-abc", id="tenant-uppercase-port"),
    case("pt-abc.localhost.", TENANT, "pt-abc", id="tenant-trailing-dot"),
    case("pt-abc.localhost..", INVALID, id="tenant-two-trailing-dots"),
    case("pt-abc.localhost.:8000", TENANT, "pt-abc", id="tenant-trailing-dot-port"),
    case("pt-abc.localhost..:8000", INVALID, id="tenant-two-trailing-dots-port"),
    case("abc.localhost", TENANT, "abc", id="tenant-3-chars"),
    case("123.localhost", TENANT, "123", id="tenant-digits"),
    case(f"{SUB_40}.localhost", TENANT, SUB_40, id="tenant-40-chars"),
    # The admin app.
    case("admin.localhost", ADMIN, id="admin"),
    case("ADMIN.LOCALHOST", ADMIN, id="admin-uppercase"),
    case("admin.localhost:8000", ADMIN, id="admin-port"),
    case("Admin.LocalHost.:8000", ADMIN, id="admin-uppercase-trailing-dot-port"),
    # The platform itself: the bare root and www.
    case("localhost", PLATFORM, id="root"),
    case("localhost:8000", PLATFORM, id="root-port"),
    case("localhost.", PLATFORM, id="root-trailing-dot"),
    case("LOCALHOST.:8000", PLATFORM, id="root-uppercase-trailing-dot-port"),
    case("localhost..", INVALID, id="root-two-trailing-dots"),
    case("www.localhost", PLATFORM, id="www"),
    case("WWW.localhost:8000", PLATFORM, id="www-uppercase-port"),
    # Reserved names are never tenants.
    case("api.localhost", NOT_TENANT, id="reserved-api"),
    case("app.localhost", NOT_TENANT, id="reserved-app"),
    case("static.localhost", NOT_TENANT, id="reserved-static"),
    case("mail.localhost", NOT_TENANT, id="reserved-mail"),
    case("www2.localhost", NOT_TENANT, id="reserved-www2"),
    case("administrator.localhost", NOT_TENANT, id="reserved-administrator"),
    case("API.localhost:8000", NOT_TENANT, id="reserved-uppercase-port"),
    # More than one label under the root.
    case("a.b.localhost", NOT_TENANT, id="multi-level"),
    case("admin.pt-abc.localhost", NOT_TENANT, id="admin-under-tenant"),
    case("www.pt-abc.localhost", NOT_TENANT, id="www-under-tenant"),
    case("pt-abc.pt-abc.localhost:8000", NOT_TENANT, id="multi-level-port"),
    # IDNA: punycode labels are valid hosts but never tenants; raw unicode is not a valid Host.
    case("xn--bc-uia.localhost", NOT_TENANT, id="punycode"),
    case("XN--BC-UIA.localhost:8000", NOT_TENANT, id="punycode-uppercase-port"),
    case("pt-äbc.localhost", INVALID, id="unicode"),
    case("PT-ÄBC.LOCALHOST", INVALID, id="unicode-uppercase"),
    # U+212A KELVIN SIGN lowercases to an ASCII "k": raw unicode must be refused before folding case.
    case("\u212aantor.localhost", INVALID, id="unicode-kelvin-sign-folds-to-ascii"),
    # IP literals: load balancer health checks and direct hits go to the platform.
    case("127.0.0.1", PLATFORM, id="ipv4"),
    case("127.0.0.1:8000", PLATFORM, id="ipv4-port"),
    case("10.0.0.5", PLATFORM, id="ipv4-private"),
    case("[::1]", PLATFORM, id="ipv6-bracketed"),
    case("[::1]:8000", PLATFORM, id="ipv6-bracketed-port"),
    case("[2001:DB8::1]:443", PLATFORM, id="ipv6-bracketed-uppercase-port"),
    case("::1", INVALID, id="ipv6-unbracketed"),
    case("2001:db8::1", INVALID, id="ipv6-unbracketed-full"),
    case("[::1", INVALID, id="ipv6-missing-close-bracket"),
    case("::1]", INVALID, id="ipv6-missing-open-bracket"),
    case("[::1]x", INVALID, id="ipv6-junk-after-bracket"),
    case("[::1]:", INVALID, id="ipv6-empty-port"),
    case("[::1]:http", INVALID, id="ipv6-non-numeric-port"),
    case("[::1]:80:80", INVALID, id="ipv6-two-ports"),
    case("[]", INVALID, id="empty-brackets"),
    case("[localhost]", INVALID, id="name-in-brackets"),
    case("[127.0.0.1]", INVALID, id="ipv4-in-brackets"),
    case("[[::1]]", INVALID, id="double-brackets"),
    # Nothing there.
    case("", INVALID, id="empty"),
    case(None, INVALID, id="none"),
    case("   ", INVALID, id="blank"),
    case(".", INVALID, id="only-dot"),
    case(":8000", INVALID, id="only-port"),
    case("a" * 261, INVALID, id="longer-than-260"),
    # Label syntax.
    case("pt_abc.localhost", INVALID, id="underscore"),
    case("-abc.localhost", INVALID, id="leading-hyphen"),
    case("abc-.localhost", INVALID, id="trailing-hyphen"),
    case("pt--abc.localhost", NOT_TENANT, id="double-hyphen"),
    case("pt abc.localhost", INVALID, id="inner-space"),
    case("pt-abc..localhost", INVALID, id="empty-label"),
    # Subdomain length: the label is a valid host label, but not a tenant name.
    case("ab.localhost", NOT_TENANT, id="too-short-2-chars"),
    case(f"{SUB_41}.localhost", NOT_TENANT, id="too-long-41-chars"),
    case(f"{LABEL_63}.localhost", NOT_TENANT, id="label-63-chars"),
    case(f"{LABEL_64}.localhost", INVALID, id="label-64-chars"),
    # Ports.
    case("pt-abc.localhost:http", INVALID, id="non-numeric-port"),
    case("pt-abc.localhost:", INVALID, id="empty-port"),
    case("pt-abc.localhost:80:80", INVALID, id="two-ports"),
    case("pt-abc.localhost:-1", INVALID, id="negative-port"),
    # "\xb2" (superscript two) is a latin-1 byte, so it can arrive in a Host header; str.isdigit()
    # says True for it, but it is not a port.
    case("pt-abc.localhost:\xb2", INVALID, id="superscript-digit-port"),
    # Ends with the root string but not at a label boundary: never a tenant of the root.
    case("evillocalhost", NOT_TENANT, id="lookalike-no-dot"),
    case("evillocalhost:8000", NOT_TENANT, id="lookalike-no-dot-port"),
    case("pt-abc.evillocalhost", CUSTOM, "pt-abc.evillocalhost", id="lookalike-tenant"),
    case("localhost.evil.com", CUSTOM, "localhost.evil.com", id="root-as-prefix"),
    case("pt-abc.localhost.evil.com", CUSTOM, "pt-abc.localhost.evil.com", id="tenant-as-prefix"),
    # Custom domains (looked up in tenant_domains).
    case("erp.customer.co.id", CUSTOM, "erp.customer.co.id", id="custom-domain"),
    case("ERP.Customer.CO.ID.:443", CUSTOM, "erp.customer.co.id", id="custom-domain-normalised"),
    # A newline is not a host character, wherever it is.
    case("erp.customer.co.id\n:443", INVALID, id="newline-before-port"),
    # Names that cannot be a customer's domain.
    case("pt-abc.123", NOT_TENANT, id="numeric-tld"),
    case("256.1.1.1", NOT_TENANT, id="numeric-tld-not-an-ip"),
    case("1.2.3.4.5", NOT_TENANT, id="five-numbers"),
    case("intranet", NOT_TENANT, id="bare-name"),
    # Whitespace around the value is not part of the host.
    case(" pt-abc.localhost ", TENANT, "pt-abc", id="whitespace-around"),
    case("\tpt-abc.localhost:8000\r\n", TENANT, "pt-abc", id="tab-crlf-around-with-port"),
    case("  admin.localhost  ", ADMIN, id="whitespace-around-admin"),
]


POLYFLOW_ID_CASES = [
    case("pt-abc.polyflow.id", TENANT, "pt-abc", id="tenant"),
    case("PT-ABC.POLYFLOW.ID", TENANT, "pt-abc", id="tenant-uppercase"),
    case("pt-abc.polyflow.id:443", TENANT, "pt-abc", id="tenant-port"),
    case("pt-abc.polyflow.id.", TENANT, "pt-abc", id="tenant-trailing-dot"),
    case("pt-abc.polyflow.id..", INVALID, id="tenant-two-trailing-dots"),
    case("pt-abc.polyflow.id.:443", TENANT, "pt-abc", id="tenant-trailing-dot-port"),
    case("admin.polyflow.id", ADMIN, id="admin"),
    case("ADMIN.POLYFLOW.ID:443", ADMIN, id="admin-uppercase-port"),
    case("polyflow.id", PLATFORM, id="root"),
    case("polyflow.id:443", PLATFORM, id="root-port"),
    case("polyflow.id.", PLATFORM, id="root-trailing-dot"),
    case("www.polyflow.id", PLATFORM, id="www"),
    case("api.polyflow.id", NOT_TENANT, id="reserved-api"),
    case("static.polyflow.id", NOT_TENANT, id="reserved-static"),
    case("www2.polyflow.id", NOT_TENANT, id="reserved-www2"),
    case("a.b.polyflow.id", NOT_TENANT, id="multi-level"),
    case("admin.pt-abc.polyflow.id", NOT_TENANT, id="admin-under-tenant"),
    case("xn--bc-uia.polyflow.id", NOT_TENANT, id="punycode"),
    case("pt-äbc.polyflow.id", INVALID, id="unicode"),
    case("ab.polyflow.id", NOT_TENANT, id="too-short"),
    case(f"{SUB_41}.polyflow.id", NOT_TENANT, id="too-long"),
    case("pt_abc.polyflow.id", INVALID, id="underscore"),
    case("pt-abc.polyflow.id:https", INVALID, id="non-numeric-port"),
    case("10.0.0.5:8080", PLATFORM, id="ipv4-port"),
    case("[2001:db8::1]:443", PLATFORM, id="ipv6-bracketed-port"),
    case("2001:db8::1", INVALID, id="ipv6-unbracketed"),
    # Not under the root at a label boundary.
    case("evilpolyflow.id", CUSTOM, "evilpolyflow.id", id="lookalike-no-dot"),
    case("pt-abc.evilpolyflow.id", CUSTOM, "pt-abc.evilpolyflow.id", id="lookalike-tenant"),
    case("polyflow.id.evil.com", CUSTOM, "polyflow.id.evil.com", id="root-as-prefix"),
    case("pt-abc.polyflow.id.evil.com", CUSTOM, "pt-abc.polyflow.id.evil.com", id="tenant-as-prefix"),
    case("id", NOT_TENANT, id="tld-only"),
    # Another root's tenant is just some other domain here.
    case("pt-abc.localhost", CUSTOM, "pt-abc.localhost", id="other-root"),
    case("erp.customer.co.id", CUSTOM, "erp.customer.co.id", id="custom-domain"),
    case("pt-abc.123", NOT_TENANT, id="numeric-tld"),
    case("  pt-abc.polyflow.id:443 ", TENANT, "pt-abc", id="whitespace-around"),
]


@pytest.mark.parametrize(("raw", "expected"), LOCALHOST_CASES)
def test_classify_localhost(raw, expected):
    assert HostParser("localhost", "admin").classify(raw) == expected


@pytest.mark.parametrize(("raw", "expected"), POLYFLOW_ID_CASES)
def test_classify_polyflow_id(raw, expected):
    assert HostParser("polyflow.id", "admin").classify(raw) == expected


@pytest.mark.parametrize(
    ("root", "raw"),
    [
        pytest.param("localhost", "evillocalhost", id="localhost-no-dot"),
        pytest.param("localhost", "pt-abc.evillocalhost", id="localhost-tenant-lookalike"),
        pytest.param("localhost", "admin.evillocalhost", id="localhost-admin-lookalike"),
        pytest.param("localhost", "www.evillocalhost", id="localhost-www-lookalike"),
        pytest.param("polyflow.id", "evilpolyflow.id", id="polyflow-no-dot"),
        pytest.param("polyflow.id", "pt-abc.evilpolyflow.id", id="polyflow-tenant-lookalike"),
        pytest.param("polyflow.id", "admin.evilpolyflow.id", id="polyflow-admin-lookalike"),
        pytest.param("polyflow.id", "xpolyflow.id:443", id="polyflow-no-dot-port"),
    ],
)
def test_root_lookalikes_are_never_the_root(root, raw):
    target = HostParser(root, "admin").classify(raw)
    assert target.kind in (CUSTOM, NOT_TENANT), target


def test_root_and_admin_are_normalised():
    parser = HostParser("  Polyflow.ID. ", "ADMIN")
    assert parser.classify("pt-abc.polyflow.id") == HostTarget(TENANT, "pt-abc")
    assert parser.classify("admin.polyflow.id") == HostTarget(ADMIN)
    assert parser.classify("polyflow.id") == HostTarget(PLATFORM)


def test_custom_admin_subdomain():
    parser = HostParser("polyflow.id", "backoffice")
    assert parser.classify("backoffice.polyflow.id") == HostTarget(ADMIN)
    # "admin" is still reserved: it does not become a tenant when another name is the admin app.
    assert parser.classify("admin.polyflow.id") == HostTarget(NOT_TENANT)


def test_classify_is_stable_across_repeated_calls():
    parser = HostParser("localhost", "admin")
    first = [parser.classify(h) for h in ("pt-abc.localhost", "PT-ABC.localhost:1", "x", None)]
    again = [parser.classify(h) for h in ("pt-abc.localhost", "PT-ABC.localhost:1", "x", None)]
    assert first == again


# --- subdomain_problem -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        pytest.param("pt-abc", id="hyphenated"),
        pytest.param("abc", id="3-chars"),
        pytest.param("a1b", id="letters-digits"),
        pytest.param("123", id="digits"),
        pytest.param("pt-abc-plastik-2", id="several-hyphens"),
        pytest.param(SUB_40, id="40-chars"),
    ],
)
def test_subdomain_problem_accepts(name):
    assert subdomain_problem(name) is None


@pytest.mark.parametrize(
    ("name", "mentions"),
    [
        pytest.param("admin", "reserved", id="reserved-admin"),
        pytest.param("www", "reserved", id="reserved-www"),
        pytest.param("api", "reserved", id="reserved-api"),
        pytest.param("www2", "reserved", id="reserved-www2"),
        pytest.param("xn--bc-uia", "punycode", id="punycode"),
        pytest.param("PT-ABC", "lowercase", id="uppercase"),
        pytest.param("Pt-abc", "lowercase", id="one-uppercase-letter"),
        pytest.param("ab", "3-40", id="too-short"),
        pytest.param("a", "3-40", id="one-char"),
        pytest.param(SUB_41, "3-40", id="too-long"),
        pytest.param("", "3-40", id="empty"),
        pytest.param("-abc", "hyphen", id="leading-hyphen"),
        pytest.param("abc-", "hyphen", id="trailing-hyphen"),
        pytest.param("pt--abc", "hyphen", id="double-hyphen"),
        pytest.param("pt_abc", "3-40", id="underscore"),
        pytest.param("pt.abc", "3-40", id="dot"),
        pytest.param("pt abc", "3-40", id="space"),
        pytest.param("pt-äbc", "3-40", id="unicode"),
        # A regex anchored with "$" also matches before a final newline.
        pytest.param("pt-abc\n", "3-40", id="trailing-newline"),
    ],
)
def test_subdomain_problem_refuses(name, mentions):
    problem = subdomain_problem(name)
    assert isinstance(problem, str) and problem.strip(), f"{name!r} was accepted"
    assert mentions in problem


def test_every_reserved_name_is_refused_and_never_a_tenant():
    parser = HostParser("polyflow.id", "admin")
    for name in sorted(RESERVED_SUBDOMAINS):
        assert subdomain_problem(name), name
        assert parser.classify(f"{name}.polyflow.id").kind is not TENANT, name


# --- effective_host ----------------------------------------------------------------------------

TRUSTED = (ipaddress.ip_network("10.0.0.0/8"), ipaddress.ip_network("fd00::/8"))


def headers(host: str | None = None, forwarded: str | None = None, *, forwarded_first: bool = False):
    items = []
    if host is not None:
        items.append((b"host", host.encode("latin-1")))
    if forwarded is not None:
        fwd = (b"x-forwarded-host", forwarded.encode("latin-1"))
        items.insert(0, fwd) if forwarded_first else items.append(fwd)
    items.append((b"accept", b"*/*"))
    return items


@pytest.mark.parametrize(
    ("hdrs", "client", "networks", "expected"),
    [
        pytest.param(headers("pt-abc.localhost"), "203.0.113.9", TRUSTED, "pt-abc.localhost", id="host-only"),
        pytest.param(headers("pt-abc.localhost", "admin.localhost"), "203.0.113.9", TRUSTED, "pt-abc.localhost",
                     id="forwarded-ignored-untrusted-client"),
        pytest.param(headers("pt-abc.localhost", "admin.localhost"), "10.1.2.3", (), "pt-abc.localhost",
                     id="forwarded-ignored-no-trusted-networks"),
        pytest.param(headers("pt-abc.localhost", "admin.localhost"), None, TRUSTED, "pt-abc.localhost",
                     id="forwarded-ignored-no-client"),
        pytest.param(headers("pt-abc.localhost", "admin.localhost"), "not-an-ip", TRUSTED, "pt-abc.localhost",
                     id="forwarded-ignored-unparseable-client"),
        pytest.param(headers("pt-abc.localhost", "admin.localhost"), "11.0.0.1", TRUSTED, "pt-abc.localhost",
                     id="forwarded-ignored-just-outside-network"),
        pytest.param(headers("lb.internal", "pt-abc.localhost"), "10.1.2.3", TRUSTED, "pt-abc.localhost",
                     id="forwarded-honoured-trusted-ipv4"),
        pytest.param(headers("lb.internal", "pt-abc.localhost", forwarded_first=True), "10.1.2.3", TRUSTED,
                     "pt-abc.localhost", id="forwarded-before-host"),
        pytest.param(headers("lb.internal", "pt-abc.localhost:8443"), "fd00::7", TRUSTED, "pt-abc.localhost:8443",
                     id="forwarded-honoured-trusted-ipv6"),
        pytest.param(headers("lb.internal", "pt-abc.localhost, proxy1.internal, proxy2.internal"), "10.1.2.3",
                     TRUSTED, "pt-abc.localhost", id="forwarded-first-of-list"),
        pytest.param(headers("lb.internal", "  pt-abc.localhost  ,proxy1.internal"), "10.1.2.3", TRUSTED,
                     "pt-abc.localhost", id="forwarded-first-of-list-trimmed"),
        pytest.param(headers("pt-abc.localhost"), "10.1.2.3", TRUSTED, "pt-abc.localhost",
                     id="trusted-without-forwarded-falls-back-to-host"),
        pytest.param(headers("pt-abc.localhost", ""), "10.1.2.3", TRUSTED, "pt-abc.localhost",
                     id="trusted-empty-forwarded-falls-back-to-host"),
        pytest.param(headers(None, "pt-abc.localhost"), "203.0.113.9", TRUSTED, None,
                     id="untrusted-forwarded-only-is-no-host"),
        pytest.param(headers(None, "pt-abc.localhost"), "10.1.2.3", TRUSTED, "pt-abc.localhost",
                     id="trusted-forwarded-only"),
        pytest.param(headers(), "10.1.2.3", TRUSTED, None, id="no-host-at-all"),
        pytest.param(headers("pt-abc.localhost", "admin.localhost"), "10.1.2.3",
                     (ipaddress.ip_network("10.1.2.3/32"),), "admin.localhost", id="single-address-network"),
    ],
)
def test_effective_host(hdrs, client, networks, expected):
    assert effective_host(hdrs, client, networks) == expected


def test_forwarded_host_then_classified():
    """What the middleware does: the proxy's X-Forwarded-Host decides the tenant, not the proxy's Host."""
    parser = HostParser("polyflow.id", "admin")
    trusted = effective_host(headers("10.0.0.2:8000", "pt-abc.polyflow.id:443"), "10.0.0.2", TRUSTED)
    assert parser.classify(trusted) == HostTarget(TENANT, "pt-abc")
    spoofed = effective_host(headers("pt-abc.polyflow.id", "admin.polyflow.id"), "198.51.100.1", TRUSTED)
    assert parser.classify(spoofed) == HostTarget(TENANT, "pt-abc")
