"""Super-admin sign-in steps over real HTTP: a one-time password opens nothing but its own replacement
(and works no more once replaced), two-factor is set up at first sign-in and asked for at every later
one, codes and recovery codes work once, wrong codes are throttled, a password change needs the current
password and a code, and the CLI's reset-password / reset-mfa send the admin back through the steps."""

from __future__ import annotations

import re
import time

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from polyflow.cli import app as cli_app
from polyflow.kit.totp import current_code, hash_recovery_code
from polyflow.platform.admin import identity
from tests.fixtures.admins import enrolled_admin, fresh_code
from tests.fixtures.cli import cli_env

EMAIL = "mfa@polyflow.test"
PASSWORD = "a-long-admin-password-42"
NEW_PASSWORD = "my-own-chosen-password-77"
ADMIN_HOST = "admin.localhost"
ORIGIN = {"Origin": "http://admin.localhost"}


def as_admin(live, cookie: str, **headers):
    return live.client(ADMIN_HOST, headers={"Cookie": f"pf_admin={cookie}", **headers})


async def login(live, email=EMAIL, password=PASSWORD):
    async with live.client(ADMIN_HOST) as c:
        return await c.post("/api/v1/auth/login", json={"email": email, "password": password})


async def post(live, cookie: str, path: str, body: dict | None = None):
    async with as_admin(live, cookie) as c:
        return await c.post(path, json=body or {})


async def opens_nothing(live, cookie: str, message: str) -> None:
    """A half-finished sign-in: the API and the console are closed to it."""
    async with as_admin(live, cookie) as c:
        for path in ("/api/v1/auth/me", "/admin/api/tenants", "/openapi.json"):
            r = await c.get(path)
            assert r.status_code == 403 and message in r.json()["detail"], (path, r.text)
        r = await c.get("/", headers={"Accept": "text/html"})  # the console sends it on to the next step
        assert r.status_code == 303 and r.headers["location"] == "/login"


async def admin_row(platform):
    async with platform.main_engine.connect() as conn:
        return (await conn.execute(text("SELECT * FROM admin_users WHERE email = :e"), {"e": EMAIL})).one()


async def test_one_time_password_opens_only_its_replacement_and_then_stops_working(platform, live):
    _, one_time = await identity.create_admin(platform, EMAIL, "Ops")
    assert one_time
    for _ in range(2):  # however often it is used, it opens only the password change
        r = await login(live, password=one_time)
        assert r.status_code == 200 and r.json()["stage"] == "password", r.text
        cookie = r.cookies["pf_admin"]
        await opens_nothing(live, cookie, "choose a new password")
        r = await post(live, cookie, "/api/v1/auth/mfa/enrol")  # not even the two-factor set-up
        assert r.status_code == 403 and "choose a new password" in r.json()["detail"]
    r = await post(live, cookie, "/api/v1/auth/password", {"current_password": "wrong-password-123",
                                                           "new_password": NEW_PASSWORD})
    assert r.status_code == 401
    r = await post(live, cookie, "/api/v1/auth/password", {"current_password": one_time, "new_password": one_time})
    assert r.status_code == 422
    r = await post(live, cookie, "/api/v1/auth/password", {"current_password": one_time, "new_password": NEW_PASSWORD})
    assert r.status_code == 200 and r.json()["stage"] == "enrol", r.text
    await opens_nothing(live, r.cookies["pf_admin"], "set up two-factor")
    # The one-time password is spent; the chosen one leads on to the set-up.
    assert (await login(live, password=one_time)).status_code == 401
    r = await login(live, password=NEW_PASSWORD)
    assert r.status_code == 200 and r.json()["stage"] == "enrol"
    assert not (await admin_row(platform)).must_change_password


async def test_enrolment_then_code_sign_ins_are_single_use(platform, live):
    await identity.create_admin(platform, EMAIL, "Ops", PASSWORD)
    r = await login(live)
    assert r.json()["stage"] == "enrol"
    cookie = r.cookies["pf_admin"]
    r = await post(live, cookie, "/api/v1/auth/mfa/enrol")
    assert r.status_code == 200 and r.headers["cache-control"] == "no-store"
    secret, uri = r.json()["secret"], r.json()["otpauth_uri"]
    assert uri.startswith("otpauth://totp/") and f"secret={secret}" in uri
    r = await post(live, cookie, "/api/v1/auth/mfa/confirm", {"code": "000000" if current_code(secret) != "000000"
                                                               else "111111"})
    assert r.status_code == 401 and r.json()["detail"] == "wrong or already used code"
    enrol_code = current_code(secret)
    r = await post(live, cookie, "/api/v1/auth/mfa/confirm", {"code": enrol_code})
    assert r.status_code == 200 and r.json()["stage"] == "full", r.text
    assert r.headers["cache-control"] == "no-store"
    recovery = r.json()["recovery_codes"]
    assert len(recovery) == 10 and len(set(recovery)) == 10
    full = r.cookies["pf_admin"]
    async with as_admin(live, full) as c:
        assert (await c.get("/api/v1/auth/me")).json()["email"] == EMAIL
    row = await admin_row(platform)
    # Stored hashed (no code in the clear), the secret encrypted.
    assert sorted(row.recovery_code_hashes) == sorted(hash_recovery_code(c) for c in recovery)
    assert not set(recovery) & set(row.recovery_code_hashes) and secret not in row.totp_secret_enc

    # A later sign-in: password, then a code. The code used at the set-up is refused (replay).
    r = await login(live)
    assert r.json()["stage"] == "mfa"
    pending = r.cookies["pf_admin"]
    await opens_nothing(live, pending, "two-factor code")
    r = await post(live, pending, "/api/v1/auth/mfa", {"code": enrol_code})
    assert r.status_code == 401
    later_code = current_code(secret, time.time() + 30)  # the next step's code (one step of drift is allowed)
    r = await post(live, pending, "/api/v1/auth/mfa", {"code": later_code})
    assert r.status_code == 200 and r.json()["stage"] == "full", r.text
    # ... and that code cannot open a second sign-in.
    second = (await login(live)).cookies["pf_admin"]
    assert (await post(live, second, "/api/v1/auth/mfa", {"code": later_code})).status_code == 401

    # A recovery code works once, typed loosely (case, spaces); then it is struck off.
    r = await post(live, second, "/api/v1/auth/mfa", {"code": " " + recovery[0].upper() + " "})
    assert r.status_code == 200 and r.json()["stage"] == "full", r.text
    third = (await login(live)).cookies["pf_admin"]
    assert (await post(live, third, "/api/v1/auth/mfa", {"code": recovery[0]})).status_code == 401
    assert len((await admin_row(platform)).recovery_code_hashes) == 9
    # The set-up cannot be restarted by a signed-in admin (only `polyflow admins reset-mfa` clears it).
    assert (await post(live, full, "/api/v1/auth/mfa/enrol")).status_code == 403


async def test_wrong_codes_are_throttled(make_settings, make_live, platform):
    live = make_live(make_settings(lockout_failures=3, database_url=platform.settings.database_url))
    secret = await enrolled_admin(platform, EMAIL, "Ops", PASSWORD)
    cookie = (await login(live)).cookies["pf_admin"]
    wrong = "123456" if current_code(secret) != "123456" else "654321"
    for _ in range(3):
        assert (await post(live, cookie, "/api/v1/auth/mfa", {"code": wrong})).status_code == 401
    r = await post(live, cookie, "/api/v1/auth/mfa", {"code": fresh_code(live.settings, EMAIL, secret)})
    assert r.status_code == 429 and 0 < int(r.headers["retry-after"]) <= 15 * 60, r.text


async def test_password_change_needs_the_current_password_and_a_code(platform, live):
    secret = await enrolled_admin(platform, EMAIL, "Ops", PASSWORD)
    sessions = []
    for _ in range(2):
        pending = (await login(live)).cookies["pf_admin"]
        r = await post(live, pending, "/api/v1/auth/mfa", {"code": fresh_code(live.settings, EMAIL, secret)})
        sessions.append(r.cookies["pf_admin"])
    mine, other = sessions
    change = {"current_password": PASSWORD, "new_password": NEW_PASSWORD}
    assert (await post(live, mine, "/api/v1/auth/password", change)).status_code == 401  # no code
    r = await post(live, mine, "/api/v1/auth/password", {**change, "current_password": "not-my-password-1",
                                                         "code": fresh_code(live.settings, EMAIL, secret)})
    assert r.status_code == 401 and r.json()["detail"] == "the current password is wrong"
    r = await post(live, mine, "/api/v1/auth/password", {**change, "code": fresh_code(live.settings, EMAIL, secret)})
    assert r.status_code == 200 and r.json()["stage"] == "full", r.text
    async with as_admin(live, r.cookies["pf_admin"]) as c:
        assert (await c.get("/api/v1/auth/me")).status_code == 200
    async with as_admin(live, other) as c:  # the other session ended with the change
        assert (await c.get("/api/v1/auth/me")).status_code == 401
    assert (await login(live)).status_code == 401
    assert (await login(live, password=NEW_PASSWORD)).json()["stage"] == "mfa"


def test_cli_reset_password_and_reset_mfa_send_the_admin_back_through_the_steps(settings, live):
    import asyncio

    from polyflow.platform.runtime import Platform

    async def setup():
        p = Platform(settings)
        try:
            return await enrolled_admin(p, EMAIL, "Ops", PASSWORD)
        finally:
            await p.stop()

    secret = asyncio.run(setup())
    env, runner = cli_env(settings), CliRunner()
    r = runner.invoke(cli_app, ["admins", "reset-password", EMAIL], env=env)
    assert r.exit_code == 0, r.output
    one_time = re.search(r"one-time password: (\S+)", r.stdout).group(1)

    async def after_reset_password():
        r = await login(live, password=one_time)
        assert r.json()["stage"] == "mfa"  # two-factor stays: the code first, then the new password
        r = await post(live, r.cookies["pf_admin"], "/api/v1/auth/mfa",
                       {"code": fresh_code(settings, EMAIL, secret)})
        assert r.status_code == 200 and r.json()["stage"] == "password", r.text
        await opens_nothing(live, r.cookies["pf_admin"], "choose a new password")
        r = await post(live, r.cookies["pf_admin"], "/api/v1/auth/password",
                       {"current_password": one_time, "new_password": NEW_PASSWORD})
        assert r.status_code == 200 and r.json()["stage"] == "full", r.text

    asyncio.run(after_reset_password())
    r = runner.invoke(cli_app, ["admins", "reset-mfa", EMAIL], env=env)
    assert r.exit_code == 0 and "two-factor cleared" in r.stdout, r.output
    r = runner.invoke(cli_app, ["admins", "list", "--json"], env=env)
    assert '"two_factor": false' in r.stdout

    async def after_reset_mfa():
        r = await login(live, password=NEW_PASSWORD)
        assert r.json()["stage"] == "enrol"

    asyncio.run(after_reset_mfa())
    r = runner.invoke(cli_app, ["admins", "reset-mfa", "nobody@polyflow.test"], env=env)
    assert r.exit_code == 1 and "no admin" in r.stderr


def _hidden(html: str, name: str) -> str:
    m = re.search(rf'name="{name}" value="([^"]*)"', html)
    assert m, html
    return m.group(1)


async def test_first_sign_in_through_the_pages(platform, live):
    _, one_time = await identity.create_admin(platform, EMAIL, "Ops")
    async with live.client(ADMIN_HOST, headers={"Accept": "text/html", **ORIGIN}) as b:
        form = await b.get("/login")
        r = await b.post("/login", data={"email": EMAIL, "password": one_time,
                                         "csrf_token": _hidden(form.text, "csrf_token")})
        assert r.status_code == 303 and r.headers["location"] == "/password"
        b.cookies.set("pf_admin", r.cookies["pf_admin"])
        assert (await b.get("/")).status_code == 303  # nothing else opens
        assert (await b.get("/login")).headers["location"] == "/password"
        page = await b.get("/password")
        assert page.status_code == 200 and 'name="code"' not in page.text
        r = await b.post("/password", data={"current_password": one_time, "new_password": NEW_PASSWORD,
                                            "csrf_token": _hidden(page.text, "csrf_token")})
        assert r.status_code == 303 and r.headers["location"] == "/login/enrol", r.text
        b.cookies.set("pf_admin", r.cookies["pf_admin"])
        page = await b.get("/login/enrol")
        csrf = _hidden(page.text, "csrf_token")
        page = await b.post("/login/enrol/start", data={"csrf_token": csrf})
        assert page.status_code == 200 and "otpauth://totp/" in page.text
        secret = re.search(r'<code class="secret">([A-Z2-7]+)</code>', page.text).group(1)
        r = await b.post("/login/enrol", data={"code": current_code(secret), "csrf_token": csrf})
        assert r.status_code == 200 and r.headers["cache-control"] == "no-store"
        codes = re.findall(r"<li><code>([a-z0-9-]+)</code></li>", r.text)
        assert len(codes) == 10
        b.cookies.set("pf_admin", r.cookies["pf_admin"])
        assert (await b.get("/")).status_code == 200
