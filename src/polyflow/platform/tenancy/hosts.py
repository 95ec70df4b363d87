"""Host header -> what the request is for (a tenant, the admin app, the platform, or nothing).

Pure functions, no I/O: every request goes through here, so it stays cheap (and memoised).
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from enum import Enum
from functools import lru_cache

from polyflow.kit.web import client_is_trusted

# Names no tenant may ever have: infrastructure, product surfaces and confusables.
RESERVED_SUBDOMAINS = frozenset(
    {
        "admin", "administrator", "app", "apps", "api", "www", "www1", "www2", "static", "assets", "cdn",
        "media", "files", "img", "images", "mail", "email", "smtp", "imap", "pop", "pop3", "mx", "ns",
        "ns1", "ns2", "dns", "ftp", "sftp", "ssh", "vpn", "webmail", "status", "health", "docs", "help",
        "support", "blog", "news", "billing", "pay", "payments", "auth", "login", "logout", "signup",
        "register", "sso", "oauth", "account", "accounts", "dashboard", "console", "portal", "root",
        "system", "internal", "intranet", "test", "tests", "dev", "staging", "stage", "prod",
        "production", "demo", "sandbox", "localhost", "polyflow", "template", "templates", "postgres",
        "redis", "metrics", "monitor", "grafana", "jobs", "worker", "queue", "public", "null",
        "undefined", "main", "master", "default",
    }
)

_LABEL = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
_HOST_CHARS = re.compile(r"^[a-z0-9.-]+$")
# A tenant subdomain: 3-40 characters, letters, digits and single hyphens inside.
_SUBDOMAIN = re.compile(r"^[a-z0-9](?:[a-z0-9]|-(?!-)){1,38}[a-z0-9]$")


class HostKind(str, Enum):
    TENANT = "tenant"  # <sub>.<root>
    CUSTOM_DOMAIN = "custom_domain"  # erp.customer.co.id -> tenant_domains
    ADMIN = "admin"  # <admin>.<root>
    PLATFORM = "platform"  # <root>, www.<root>, an IP literal (load balancer probes)
    NOT_TENANT = "not_tenant"  # reserved or multi-level names under the root: never a tenant
    INVALID = "invalid"  # not a syntactically valid host


@dataclass(frozen=True, slots=True)
class HostTarget:
    kind: HostKind
    name: str = ""  # the subdomain (TENANT) or the full domain (CUSTOM_DOMAIN)


INVALID = HostTarget(HostKind.INVALID)
NOT_TENANT = HostTarget(HostKind.NOT_TENANT)
PLATFORM = HostTarget(HostKind.PLATFORM)
ADMIN = HostTarget(HostKind.ADMIN)


def subdomain_problem(name: str) -> str | None:
    """Why ``name`` cannot be a tenant subdomain, or None if it can."""
    if name != name.lower():
        return "use lowercase letters"
    if name.startswith("xn--"):
        return "IDNA/punycode names are not allowed"
    if not _SUBDOMAIN.fullmatch(name):
        return "3-40 characters: lowercase letters, digits and single hyphens, not at either end"
    if name in RESERVED_SUBDOMAINS:
        return f"'{name}' is reserved"
    return None


def _is_port(text: str) -> bool:
    return text.isascii() and text.isdigit() and len(text) <= 5


def _strip_port(host: str) -> str | None:
    if host.startswith("["):
        end = host.find("]")
        if end == -1:
            return None
        rest = host[end + 1 :]
        if rest and not (rest.startswith(":") and _is_port(rest[1:])):
            return None
        return host[: end + 1]
    if host.count(":") == 1:
        host, port = host.split(":")
        if not _is_port(port):
            return None
    elif ":" in host:
        return None  # an unbracketed IPv6 address is not a valid Host header
    return host


class HostParser:
    """Classifies Host header values for one root domain."""

    def __init__(self, root_domain: str, admin_subdomain: str = "admin"):
        self.root = root_domain.strip().strip(".").lower()
        self.admin = admin_subdomain.lower()
        self._suffix = "." + self.root
        self.classify = lru_cache(maxsize=4096)(self._classify)

    def _classify(self, raw: str | None) -> HostTarget:
        if not raw or len(raw) > 260 or not raw.isascii():
            # Raw unicode is never valid (browsers send punycode), and lower() could fold it to ASCII.
            return INVALID
        host = _strip_port(raw.strip().lower())
        if host is None:
            return INVALID
        if host.startswith("["):
            try:
                ipaddress.IPv6Address(host[1:-1])
            except ValueError:
                return INVALID
            return PLATFORM
        if host.endswith("."):
            host = host[:-1]  # one trailing dot (the FQDN form) is the same host
        if not host or not _HOST_CHARS.fullmatch(host):
            return INVALID  # includes raw unicode: browsers send punycode
        labels = host.split(".")
        if not all(_LABEL.fullmatch(label) for label in labels):
            return INVALID
        try:
            ipaddress.IPv4Address(host)
            return PLATFORM
        except ValueError:
            pass
        if host == self.root:
            return PLATFORM
        if host.endswith(self._suffix):
            sub = host[: -len(self._suffix)]
            if "." in sub:
                return NOT_TENANT
            if sub == self.admin:
                return ADMIN
            if sub == "www":
                return PLATFORM
            if subdomain_problem(sub) is not None:
                return NOT_TENANT
            return HostTarget(HostKind.TENANT, sub)
        if len(labels) < 2 or labels[-1].isdigit():
            return NOT_TENANT  # a bare name or a numeric TLD cannot be a customer's domain
        return HostTarget(HostKind.CUSTOM_DOMAIN, host)


def effective_host(headers: list[tuple[bytes, bytes]], client_ip: str | None, trusted_networks) -> str | None:
    """The Host the client asked for: X-Forwarded-Host only when the peer is a trusted proxy."""
    host = None
    forwarded = None
    for key, value in headers:
        if key == b"host":
            host = value.decode("latin-1")
        elif key == b"x-forwarded-host":
            forwarded = value.decode("latin-1")
    if forwarded and client_is_trusted(client_ip, trusted_networks):
        # Several proxies append; the first value is what the browser sent.
        return forwarded.split(",")[0].strip()
    return host
