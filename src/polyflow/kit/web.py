"""Request facts that depend on trusted proxies (client IP, HTTPS), cookie helpers, opaque tokens and
the security headers every response carries."""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import secrets

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send


def client_is_trusted(client_ip: str | None, networks) -> bool:
    if not client_ip or not networks:
        return False
    try:
        ip = ipaddress.ip_address(client_ip)
    except ValueError:
        return False
    if ip.version == 6 and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped  # a dual-stack socket reports IPv4 peers as ::ffff:a.b.c.d
    return any(ip in net for net in networks)


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return value.decode("latin-1")
    return None


def client_ip(scope: Scope, trusted_networks) -> str:
    """The address of the client: the peer, or behind trusted proxies the nearest untrusted hop of
    X-Forwarded-For (hops a client writes itself are to the left of it, so they are ignored)."""
    client = scope.get("client")
    peer = client[0] if client else "unknown"
    if not client_is_trusted(peer, trusted_networks):
        return peer
    forwarded = _header(scope, b"x-forwarded-for")
    if not forwarded:
        return peer
    hops = [h.strip() for h in forwarded.split(",") if h.strip()]
    for hop in reversed(hops):
        try:
            ipaddress.ip_address(hop)
        except ValueError:
            return peer  # garbage from a client: do not trust any of it
        if not client_is_trusted(hop, trusted_networks):
            return hop
    return hops[0] if hops else peer


def is_https(scope: Scope, trusted_networks) -> bool:
    """True when the client reached us over HTTPS (directly, or via a trusted proxy saying so)."""
    if scope.get("scheme") in ("https", "wss"):
        return True
    client = scope.get("client")
    if client and client_is_trusted(client[0], trusted_networks):
        proto = _header(scope, b"x-forwarded-proto")
        return bool(proto) and proto.split(",")[0].strip().lower() == "https"
    return False


# -- opaque tokens: "<prefix>_<binding>_<secret>"; only a hash of (binding, secret) is stored -----------
def new_token(prefix: str, binding: str) -> str:
    """A fresh token bound to `binding` (a tenant id, or "admin"): 256 random bits."""
    return f"{prefix}_{binding}_{secrets.token_urlsafe(32)}"


def split_token(token: str, prefix: str) -> tuple[str, str] | None:
    """(binding, secret) of a well-formed token with this prefix, else None."""
    head, sep, rest = token.partition("_")
    if not sep or head != prefix:
        return None
    binding, sep, secret = rest.partition("_")
    if not sep or not binding or len(secret) < 20 or len(token) > 200:
        return None
    return binding, secret


def token_hash(token: str) -> str:
    """What is stored for a token: SHA-256 of the whole token (binding included), hex.

    The tokens carry 256 random bits, so a fast hash is enough (no password-style stretching); the
    binding inside the hashed text means a row copied into another tenant's database matches nothing
    presented there with another binding.
    """
    return hashlib.sha256(token.encode()).hexdigest()


def same_secret(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


# -- security headers ------------------------------------------------------------------------------------
CSP = ("default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; object-src 'none'; "
       "base-uri 'self'; form-action 'self'; frame-ancestors 'none'")


# Cookies whose presence makes a request authenticated (plain names in dev/test, __Host- in production).
SESSION_COOKIES = frozenset({"pf_session", "pf_admin", "__Host-pf_session", "__Host-pf_admin"})
HSTS = "max-age=31536000; includeSubDomains"


def _carries_credentials(scope: Scope) -> bool:
    """The request sent an Authorization header or one of our session cookies."""
    for key, value in scope.get("headers", ()):
        if key == b"authorization":
            return True
        if key == b"cookie":
            for part in value.decode("latin-1").split(";"):
                if part.split("=", 1)[0].strip() in SESSION_COOKIES:
                    return True
    return False


class SecurityHeadersMiddleware:
    """Adds CSP, anti-framing, nosniff, Referrer-Policy to every response; HSTS in production (and under
    HTTPS anywhere); ``Cache-Control: no-store`` on every response to an authenticated request and on
    every response that sets a cookie (sign-in, enrolment), so no shared or browser cache keeps a page,
    a token or a recovery code.

    Headers a route already set win, except that no-store is forced where it applies (a route cannot
    make an authenticated answer cacheable by accident). Static assets are exempt: they hold no secret.
    """

    def __init__(self, app: ASGIApp, *, trusted_networks=(), production: bool = False):
        self.app = app
        self.trusted = trusted_networks
        self.production = production

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        hsts = self.production or is_https(scope, self.trusted)
        private = _carries_credentials(scope) and not scope.get("path", "").startswith("/static/")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers.setdefault("Content-Security-Policy", CSP)
                headers.setdefault("X-Frame-Options", "DENY")
                headers.setdefault("X-Content-Type-Options", "nosniff")
                headers.setdefault("Referrer-Policy", "same-origin")
                headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
                headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
                if hsts:
                    headers.setdefault("Strict-Transport-Security", HSTS)
                if private or "set-cookie" in headers:
                    headers["Cache-Control"] = "no-store"
            await send(message)

        await self.app(scope, receive, send_with_headers)
