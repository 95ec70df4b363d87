"""One-time links over real HTTP: accepting an invitation, resetting a password (single use, expiring, never
revealing whether an address exists), and delivery of the mail through the outbox."""

from __future__ import annotations

import asyncio
import re
import time
import uuid


from tests.fixtures.auth import TEST_PASSWORD, make_user, session_client, tenant_sql as sql

SUB = "pt-abc"
ACCEPT = "/api/v1/auth/invite/accept"
RESET = "/api/v1/auth/password-reset"
CONFIRM = "/api/v1/auth/password-reset/confirm"
LOGIN = "/api/v1/auth/login"
GOOD = "Fresh-Passw0rd-for-2026"
USED = "this link is invalid, already used or expired; ask for a new one"


def link_tokens(settings, recipient: str, path: str) -> list[str]:
    """The link tokens mailed to `recipient` for `path` ("/invite" or "/reset/confirm"), oldest first."""
    rows = sql(settings, "SELECT body FROM outbox WHERE lower(recipient) = lower(%s) ORDER BY id", recipient)
    return [m.group(1) for (body,) in rows for m in re.finditer(re.escape(path) + r"\?token=([\w-]+)", body)]


async def invite(live, owner: dict, email: str, roles=("sales",)) -> tuple[str, str]:
    """Invite `email` as the owner; (user id, link token from the mail)."""
    async with session_client(live, owner) as c:
        r = await c.post("/api/v1/users", json={"email": email, "roles": list(roles)})
        assert r.status_code == 201, r.text
    [token] = link_tokens(live.settings, email, "/invite")
    return r.json()["id"], token


async def wait_for(predicate, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.05)


async def test_accepting_an_invitation_sets_the_password_once(live, make_tenant):
    await make_tenant(SUB)
    owner = make_user(live.settings, SUB, ["owner"])
    user_id, token = await invite(live, owner, "newbie@example.test")
    async with live.tenant_client(SUB, role=None) as c:
        # Not a password yet: the user cannot sign in.
        assert (await c.post(LOGIN, json={"email": "newbie@example.test", "password": GOOD})).status_code == 401
        # An invitation is not a reset link, nor the other way round.
        assert (await c.post(CONFIRM, json={"token": token, "password": GOOD})).status_code == 422
        # A weak password is refused and the link still works.
        for weak in ("short", "zzzzzzzzzzzzzzzz", "newbie@example.test"):
            r = await c.post(ACCEPT, json={"token": token, "password": weak})
            assert r.status_code == 422 and r.json()["detail"] != USED, weak
        r = await c.post(ACCEPT, json={"token": token, "password": GOOD, "name": "  Nina Newbie "})
        assert r.status_code == 200, r.text
        assert r.json()["id"] == user_id and r.json()["has_password"] is True and r.json()["name"] == "Nina Newbie"
        # Used once: a second use, or any other string, is refused the same way.
        for again in ({"token": token, "password": GOOD + "2"}, {"token": "x" * 43, "password": GOOD}):
            r = await c.post(ACCEPT, json=again)
            assert r.status_code == 422 and r.json()["detail"] == USED
        r = await c.post(LOGIN, json={"email": "NEWBIE@example.test", "password": GOOD})
        assert r.status_code == 200 and r.json()["roles"] == ["sales"]
    [(used_at,)] = sql(live.settings, "SELECT used_at FROM one_time_tokens WHERE user_id = %s", uuid.UUID(user_id))
    assert used_at is not None


async def test_an_expired_or_replaced_invitation_is_refused(live, make_tenant):
    await make_tenant(SUB)
    owner = make_user(live.settings, SUB, ["owner"])
    user_id, first = await invite(live, owner, "late@example.test")
    [(expires_days,)] = sql(live.settings, "SELECT round(extract(epoch FROM expires_at - now()) / 86400) "
                                           "FROM one_time_tokens WHERE user_id = %s", uuid.UUID(user_id))
    assert expires_days == live.settings.invite_link_days
    # A fresh invitation replaces the first link.
    async with session_client(live, owner) as o:
        r = await o.post(f"/api/v1/users/{user_id}/invite")
        assert r.status_code == 202 and r.json()["detail"] == "invitation sent to late@example.test"
    first_again, second = link_tokens(live.settings, "late@example.test", "/invite")
    assert first_again == first and second != first
    async with live.tenant_client(SUB, role=None) as c:
        r = await c.post(ACCEPT, json={"token": first, "password": GOOD})
        assert r.status_code == 422 and r.json()["detail"] == USED
        sql(live.settings, "UPDATE one_time_tokens SET expires_at = now() - interval '1 second' WHERE user_id = %s",
            uuid.UUID(user_id))
        r = await c.post(ACCEPT, json={"token": second, "password": GOOD})
        assert r.status_code == 422 and r.json()["detail"] == USED
    assert sql(live.settings, "SELECT password_hash FROM users WHERE id = %s", uuid.UUID(user_id)) == [(None,)]
    # A deactivated user's invitation cannot be resent.
    async with session_client(live, owner) as o:
        await o.patch(f"/api/v1/users/{user_id}", json={"is_active": False})
        assert (await o.post(f"/api/v1/users/{user_id}/invite")).status_code == 409


async def test_a_reset_request_always_answers_202_and_mails_only_real_users(live, make_tenant):
    await make_tenant(SUB)
    s = live.settings
    user = make_user(s, SUB, ["sales"])
    gone = make_user(s, SUB, ["sales"])
    sql(s, "UPDATE users SET is_active = false WHERE id = %s", gone["id"])
    async with live.tenant_client(SUB, role=None) as c:
        answers = [await c.post(RESET, json={"email": email}) for email in
                   (f"nobody-{uuid.uuid4().hex[:6]}@example.test", gone["email"], user["email"].upper())]
        assert {r.status_code for r in answers} == {202}
        assert len({r.text for r in answers}) == 1
    rows = sql(s, "SELECT recipient, subject FROM outbox")
    assert rows == [(user["email"], "Reset your Polyflow password")]
    [token] = link_tokens(s, user["email"], "/reset/confirm")
    [(minutes,)] = sql(s, "SELECT round(extract(epoch FROM expires_at - now()) / 60) FROM one_time_tokens "
                          "WHERE user_id = %s AND purpose = 'reset'", user["id"])
    assert minutes == s.reset_link_minutes
    assert len(token) >= 40

    # A flood of requests for one person mails them at most three links an hour (silently).
    async with live.tenant_client(SUB, role=None) as c:
        for _ in range(4):
            assert (await c.post(RESET, json={"email": user["email"]})).status_code == 202
    assert sql(s, "SELECT count(*) FROM outbox WHERE recipient = %s", user["email"]) == [(3,)]
    # Only the newest link works.
    *older, newest = link_tokens(s, user["email"], "/reset/confirm")
    async with live.tenant_client(SUB, role=None) as c:
        assert (await c.post(CONFIRM, json={"token": older[0], "password": GOOD})).status_code == 422
        assert (await c.post(CONFIRM, json={"token": newest, "password": GOOD})).status_code == 204


async def test_a_reset_ends_every_session_and_works_once(live, make_tenant):
    await make_tenant(SUB)
    s = live.settings
    user = make_user(s, SUB, ["sales"])
    async with live.tenant_client(SUB, role=None) as browser, live.tenant_client(SUB, role=None) as c:
        assert (await browser.post(LOGIN, json={"email": user["email"], "password": TEST_PASSWORD})).status_code == 200
        assert (await c.post(RESET, json={"email": user["email"]})).status_code == 202
        [token] = link_tokens(s, user["email"], "/reset/confirm")

        r = await c.post(CONFIRM, json={"token": token, "password": "short"})
        assert r.status_code == 422 and "at least 10 characters" in r.json()["detail"]
        assert (await browser.get("/api/v1/auth/me")).status_code == 200  # nothing happened
        # Not an invitation either.
        assert (await c.post(ACCEPT, json={"token": token, "password": GOOD})).status_code == 422

        assert (await c.post(CONFIRM, json={"token": token, "password": GOOD})).status_code == 204
        assert (await browser.get("/api/v1/auth/me")).status_code == 401
        assert sql(s, "SELECT count(*) FROM user_sessions") == [(0,)]
        r = await c.post(CONFIRM, json={"token": token, "password": GOOD + "!"})
        assert r.status_code == 422 and r.json()["detail"] == USED
        assert (await c.post(LOGIN, json={"email": user["email"], "password": TEST_PASSWORD})).status_code == 401
        assert (await c.post(LOGIN, json={"email": user["email"], "password": GOOD})).status_code == 200

        # An expired reset link is refused.
        assert (await c.post(RESET, json={"email": user["email"]})).status_code == 202
        newest = link_tokens(s, user["email"], "/reset/confirm")[-1]
        sql(s, "UPDATE one_time_tokens SET expires_at = now() - interval '1 second' WHERE used_at IS NULL")
        r = await c.post(CONFIRM, json={"token": newest, "password": GOOD + "!"})
        assert r.status_code == 422 and r.json()["detail"] == USED


async def test_mail_is_delivered_after_the_response_by_the_console_sender(live, make_tenant):
    assert live.settings.mail_sender == "console"
    await make_tenant(SUB)
    owner = make_user(live.settings, SUB, ["owner"])
    await invite(live, owner, "mailme@example.test")
    sent = lambda: sql(live.settings, "SELECT sent_at, attempts, last_error FROM outbox")  # noqa: E731
    await wait_for(lambda: sent()[0][0] is not None)
    [(_, attempts, error)] = sent()
    assert attempts == 1 and error is None


async def test_with_no_sender_mail_stays_in_the_outbox(settings, make_tenant, make_live):
    live = make_live(settings.model_copy(update={"mail_sender": "none"}))
    await make_tenant(SUB)
    owner = make_user(settings, SUB, ["owner"])
    await invite(live, owner, "kept@example.test")
    async with live.tenant_client(SUB, role=None) as c:
        assert (await c.post(RESET, json={"email": owner["email"]})).status_code == 202
    await asyncio.sleep(0.5)  # a console sender delivers within some 50 ms (the test above)
    assert sql(settings, "SELECT recipient, sent_at, attempts FROM outbox ORDER BY id") == [
        ("kept@example.test", None, 0), (owner["email"], None, 0)]


async def test_one_link_used_twice_at_once_works_once(live, make_tenant):
    await make_tenant(SUB)
    owner = make_user(live.settings, SUB, ["owner"])
    user_id, token = await invite(live, owner, "twice@example.test")
    clients = [live.tenant_client(SUB, role=None) for _ in range(4)]
    try:
        answers = await asyncio.gather(*(c.post(ACCEPT, json={"token": token, "password": f"{GOOD}-{i}"})
                                         for i, c in enumerate(clients)))
    finally:
        for c in clients:
            await c.aclose()
    assert sorted(r.status_code for r in answers) == [200, 422, 422, 422]
    winner = next(i for i, r in enumerate(answers) if r.status_code == 200)
    async with live.tenant_client(SUB, role=None) as c:
        for i in range(4):
            r = await c.post(LOGIN, json={"email": "twice@example.test", "password": f"{GOOD}-{i}"})
            assert r.status_code == (200 if i == winner else 401)


def test_production_does_not_print_mail_unless_told():
    """The console sender prints one-time links: never the production default."""
    from polyflow.config import Settings

    secret = "a-production-secret-0123456789"
    assert Settings(env="production", secret_key=secret).mail_sender == "none"
    assert Settings(env="production", secret_key=secret, mail_sender="console").mail_sender == "console"
    assert Settings(env="dev").mail_sender == "console"
