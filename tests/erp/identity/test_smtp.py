"""Mail through SMTP: a real SMTP server (aiosmtpd) on a loopback port receives the reset mail with
its link; when the relay is down the mail waits in the outbox with the error and the housekeeping
sends it later; the relay's login is used when configured."""

from __future__ import annotations

import asyncio
import re
import time
from email import message_from_bytes, policy

import pytest
from pydantic import SecretStr
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

from polyflow.platform import jobs
from polyflow.platform.localpg import free_port
from tests.fixtures.auth import make_user, tenant_sql as sql

SUB = "pt-abc"
# The test relay takes a login over plain TCP on loopback (production relays use STARTTLS).
pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")


class Inbox:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):  # aiosmtpd's handler hook
        self.messages.append((envelope.rcpt_tos, message_from_bytes(envelope.content, policy=policy.default),
                              session.authenticated))
        return "250 OK"


class Relay:
    """A real SMTP server on 127.0.0.1 (optionally requiring a login)."""

    def __init__(self, port: int, login: tuple[str, str] | None = None):
        self.inbox, self.port, self.login = Inbox(), port, login
        kwargs = {}
        if login is not None:
            kwargs = {"authenticator": self._check, "auth_required": True, "auth_require_tls": False,
                      "auth_exclude_mechanism": ["LOGIN"]}  # PLAIN only: one attempt per login
        self.controller = Controller(self.inbox, hostname="127.0.0.1", port=port, **kwargs)

    def _check(self, server, session, envelope, mechanism, auth_data):
        if (auth_data.login.decode(), auth_data.password.decode()) == self.login:
            return AuthResult(success=True)
        return AuthResult(success=False, handled=False, message="535 5.7.8 Authentication credentials invalid")

    def __enter__(self):
        self.controller.start()
        return self

    def __exit__(self, *exc):
        self.controller.stop()


def smtp_settings(make_settings, port: int, **extra):
    return make_settings(mail_sender="smtp", smtp_host="127.0.0.1", smtp_port=port, smtp_starttls=False,
                         mail_from="Polyflow <no-reply@polyflow.test>", **extra)


async def _wait(predicate, timeout: float = 5.0):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.02)


async def test_a_reset_mail_goes_through_the_relay(make_settings, make_live, platform):
    port = free_port()
    settings = smtp_settings(make_settings, port)
    with Relay(port) as relay:
        live = make_live(settings)
        from polyflow.platform import provisioning
        from polyflow.platform.runtime import Platform

        p = Platform(settings)
        try:
            await provisioning.create_tenant(p, name="PT ABC", subdomain=SUB)
        finally:
            await p.stop()
        user = make_user(settings, SUB, ["viewer"])
        async with live.tenant_client(SUB, role=None) as c:
            r = await c.post("/api/v1/auth/password-reset", json={"email": user["email"]})
            assert r.status_code == 202
        await _wait(lambda: relay.inbox.messages)
        [(rcpt, mail, _)] = relay.inbox.messages
        assert rcpt == [user["email"]] and mail["To"] == user["email"]
        assert mail["From"] == "Polyflow <no-reply@polyflow.test>" and mail["Subject"] == "Reset your Polyflow password"
        assert mail["Message-ID"] and mail["Date"]
        assert re.search(r"https?://pt-abc\.localhost(:\d+)?/reset/confirm\?token=\S+", mail.get_content())
        await _wait(lambda: sql(settings, "SELECT count(*) FROM outbox WHERE sent_at IS NOT NULL") == [(1,)])


async def test_relay_down_keeps_the_mail_and_housekeeping_sends_it_later(make_settings, make_live):
    port = free_port()
    settings = smtp_settings(make_settings, port, smtp_username="polyflow")
    from polyflow.platform import provisioning
    from polyflow.platform.runtime import Platform

    p = Platform(settings.model_copy(update={"smtp_password": None}))
    try:
        await provisioning.create_tenant(p, name="PT ABC", subdomain=SUB)
    finally:
        await p.stop()
    user = make_user(settings, SUB, ["viewer"])
    live = make_live(settings)
    async with live.tenant_client(SUB, role=None) as c:  # nothing listens on the port yet
        assert (await c.post("/api/v1/auth/password-reset", json={"email": user["email"]})).status_code == 202
    await _wait(lambda: sql(settings, "SELECT attempts FROM outbox") == [(1,)])
    [(sent_at, error)] = sql(settings, "SELECT sent_at, last_error FROM outbox")
    assert sent_at is None and "ConnectionRefused" in error

    # The relay comes up and wants a login: a wrong password is one more failed attempt, kept.
    with Relay(port, login=("polyflow", "relay-secret")) as relay:
        p = Platform(settings.model_copy(update={"smtp_password": SecretStr("wrong")}))
        try:
            result = await jobs.identity_housekeeping(p, int(time.time()))
        finally:
            await p.stop()
        assert result["mail_sent"] == 0 and relay.inbox.messages == []
        [(attempts, error)] = sql(settings, "SELECT attempts, last_error FROM outbox")
        assert attempts == 2 and "Authentication" in error

        p = Platform(settings.model_copy(update={"smtp_password": SecretStr("relay-secret")}))
        try:
            result = await jobs.identity_housekeeping(p, int(time.time()))
        finally:
            await p.stop()
        assert result["mail_sent"] == 1
        [(_, mail, authenticated)] = relay.inbox.messages
        assert authenticated and mail["Subject"] == "Reset your Polyflow password"
    assert sql(settings, "SELECT attempts, sent_at IS NOT NULL FROM outbox") == [(3, True)]


def test_smtp_needs_a_host(make_settings):
    with pytest.raises(ValueError, match="POLYFLOW_SMTP_HOST"):
        make_settings(mail_sender="smtp")
