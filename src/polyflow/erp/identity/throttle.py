"""Throttles of every secret check (sign-in password, current password, second-factor code) that protect the
victim rather than the attacker.

- Failures are counted per (account, client): the client is the IP address, or a known-device cookie that a
  browser received when it signed in successfully. `lockout_failures` tries, then one try per lock, each lock
  twice as long as the last (`lockout_minutes` .. `lockout_max_minutes`). An attacker's guesses lock only the
  attacker's own (account, IP); the owner signing in from elsewhere is never refused because of them.
- Per client IP: `login_ip_per_minute` sign-in attempts, whatever the account.
- Per workspace: beyond `login_tenant_per_minute` attempts, only clients that failed recently are refused;
  a fresh address, or a browser with a known-device cookie, still gets through.

Counters live in Redis (kit/ratelimit; this process's memory while Redis is down). A try is counted before
the secret is checked and the lock is taken before the last allowed try is verified, so parallel guesses
cannot all be checked before the first failure counts.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from polyflow.config import Settings
from polyflow.kit.errors import TooManyRequests
from polyflow.kit.ratelimit import RateLimiter

DEVICE_DAYS = 180  # how long a browser stays "known" after a successful sign-in


def _minutes(seconds: int) -> int:
    return max(1, (seconds + 59) // 60)


@dataclass
class Attempt:
    """One permitted check of a secret; tell it how the check went."""

    limiter: RateLimiter
    fail_key: str
    lock_key: str

    async def succeeded(self) -> None:
        await self.limiter.clear(self.fail_key)
        await self.limiter.clear(self.lock_key)


async def attempt(limiter: RateLimiter, settings: Settings, kind: str, account: str, client: str,
                  message: str) -> Attempt:
    """Permit one check of `account`'s secret from `client`, or 429 while that pair is locked.

    `message` names what is locked ("sign-ins for this account"); the wait is appended."""
    lock_key, fail_key = f"{kind}:lock:{account}:{client}", f"{kind}:fail:{account}:{client}"
    held = await limiter.peek(lock_key)
    if held.count:
        raise TooManyRequests(f"too many failed {message} from your address; try again in "
                              f"{_minutes(held.retry_after)} minute(s)", retry_after=held.retry_after)
    tries = (await limiter.hit(fail_key, settings.lockout_max_minutes * 60)).count
    if tries >= settings.lockout_failures:
        # The last free try, and every try after a lock ran out, takes a new lock first (twice as long as
        # the one before); a parallel try that finds the lock taken is refused unchecked.
        doublings = min(tries - settings.lockout_failures, 20)
        seconds = min(settings.lockout_minutes * 60 * 2 ** doublings, settings.lockout_max_minutes * 60)
        gate = await limiter.hit(lock_key, seconds)
        if gate.count > 1:
            raise TooManyRequests(f"too many failed {message} from your address; try again in "
                                  f"{_minutes(gate.retry_after)} minute(s)", retry_after=gate.retry_after)
    return Attempt(limiter, fail_key, lock_key)


# -- sign-in rates per IP and per workspace -----------------------------------------------------------------
async def sign_in_rates(limiter: RateLimiter, settings: Settings, tenant: str, ip: str, known_device: bool) -> None:
    """429 when this IP tries too often, or when the workspace is flooded and this client failed recently."""
    by_ip = await limiter.hit(f"login:ip:{ip}", 60)
    if by_ip.count > settings.login_ip_per_minute:
        raise TooManyRequests("too many sign-in attempts from your address; wait a minute", retry_after=by_ip.retry_after)
    by_tenant = await limiter.hit(f"login:tenant:{tenant}", 60)
    if by_tenant.count > settings.login_tenant_per_minute and not known_device:
        # A flood: refuse only addresses that failed here lately (the attackers); everyone else signs in.
        failed = await limiter.peek(f"login:ipfail:{tenant}:{ip}")
        if failed.count:
            wait = max(by_tenant.retry_after, 1)
            raise TooManyRequests("this workspace is receiving too many sign-in attempts and your address failed "
                                  "recently; wait a minute (a browser that signed in here before is let through)",
                                  retry_after=wait)


async def sign_in_failed(limiter: RateLimiter, settings: Settings, tenant: str, ip: str) -> None:
    """Remember that this IP failed on this workspace (it is refused first when the workspace is flooded)."""
    await limiter.hit(f"login:ipfail:{tenant}:{ip}", settings.lockout_minutes * 60)


# -- known devices -------------------------------------------------------------------------------------------
def _device_mac(settings: Settings, tenant: str, email: str, nonce: str) -> str:
    key = hashlib.sha256(b"polyflow-device-v1:" + settings.secret_key.get_secret_value().encode()).digest()
    return hmac.new(key, f"{tenant}|{email.strip().lower()}|{nonce}".encode(), hashlib.sha256).hexdigest()[:32]


def new_device(settings: Settings, tenant: str, email: str) -> str:
    """The value of a known-device cookie for this account on this workspace (set after a successful sign-in)."""
    nonce = secrets.token_urlsafe(12)
    return f"{nonce}.{_device_mac(settings, tenant, email, nonce)}"


def device_client(settings: Settings, tenant: str, email: str, cookie: str | None) -> str | None:
    """The throttle's client id for a valid known-device cookie of this account, else None."""
    if not cookie or len(cookie) > 100 or "." not in cookie:
        return None
    nonce, mac = cookie.split(".", 1)
    if not hmac.compare_digest(mac, _device_mac(settings, tenant, email, nonce)):
        return None
    return "device:" + hashlib.sha256(nonce.encode()).hexdigest()[:24]
