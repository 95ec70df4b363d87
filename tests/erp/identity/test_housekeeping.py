"""The hourly identity housekeeping job: ended sessions and old links go, pending mail is sent again,
only active tenants are visited, and one tenant's failure does not stop the others."""

from __future__ import annotations

import time

from polyflow.platform import jobs, provisioning
from tests.fixtures.auth import make_user, tenant_sql as sql

SEED = """
INSERT INTO user_sessions (id, token_hash, user_id, csrf_token, created_at, last_seen_at, expires_at) VALUES
  (gen_random_uuid(), md5('live')  || md5('a'), %(u)s, 'x', now(), now(), now() + interval '1 hour'),
  (gen_random_uuid(), md5('ended') || md5('b'), %(u)s, 'x', now() - interval '2 days', now() - interval '1 day',
   now() - interval '1 hour'),
  (gen_random_uuid(), md5('idle')  || md5('c'), %(u)s, 'x', now() - interval '5 hours', now() - interval '4 hours',
   now() + interval '8 hours');
INSERT INTO one_time_tokens (id, token_hash, user_id, purpose, created_at, expires_at, used_at) VALUES
  (gen_random_uuid(), md5('fresh') || md5('d'), %(u)s, 'invite', now(), now() + interval '7 days', NULL),
  (gen_random_uuid(), md5('used')  || md5('e'), %(u)s, 'reset', now() - interval '9 days',
   now() - interval '9 days' + interval '1 hour', now() - interval '9 days'),
  (gen_random_uuid(), md5('stale') || md5('f'), %(u)s, 'invite', now() - interval '20 days',
   now() - interval '13 days', NULL);
INSERT INTO outbox (kind, recipient, subject, body, created_at, sent_at, attempts) VALUES
  ('email', 'a@x.test', 'old', 'sent long ago', now() - interval '40 days', now() - interval '40 days', 1),
  ('email', 'b@x.test', 'recent', 'sent yesterday', now() - interval '1 day', now() - interval '1 day', 1),
  ('email', 'c@x.test', 'pending', 'a sender failed', now() - interval '1 hour', NULL, 1);
"""


async def test_housekeeping_tidies_every_active_tenant(platform, make_tenant, settings):
    assert jobs._TASKS["identity.housekeeping"].cron == "17 * * * *"
    for sub in ("pt-abc", "pt-xyz", "pt-off"):
        await make_tenant(sub)
    for sub in ("pt-abc", "pt-xyz", "pt-off"):
        user = make_user(settings, sub, ["viewer"])
        sql(settings, SEED.replace("%(u)s", f"'{user['id']}'"), sub=sub)
    await provisioning.set_status(platform, "pt-off", "suspended")

    result = await jobs.identity_housekeeping(platform, int(time.time()))

    assert result["tenants"] == 2 and result["failed"] == []
    assert (result["sessions"], result["links"], result["mail_pruned"], result["mail_sent"]) == (4, 4, 2, 2)
    for sub in ("pt-abc", "pt-xyz"):
        assert sql(settings, "SELECT count(*) FROM user_sessions", sub=sub) == [(1,)]
        assert sql(settings, "SELECT purpose FROM one_time_tokens", sub=sub) == [("invite",)]
        assert sql(settings, "SELECT subject, sent_at IS NOT NULL, attempts FROM outbox ORDER BY id", sub=sub) == [
            ("recent", True, 1), ("pending", True, 2)]
    # A suspended tenant is not visited.
    assert sql(settings, "SELECT count(*) FROM user_sessions", sub="pt-off") == [(3,)]
    assert sql(settings, "SELECT count(*) FROM outbox WHERE sent_at IS NULL", sub="pt-off") == [(1,)]


async def test_a_tenant_that_fails_is_skipped_and_reported(platform, make_tenant, settings, pg_admin):
    import psycopg

    for sub in ("pt-abc", "pt-xyz"):
        tenant = await make_tenant(sub)
        user = make_user(settings, sub, ["viewer"])
        sql(settings, SEED.replace("%(u)s", f"'{user['id']}'"), sub=sub)
    with psycopg.connect(pg_admin.url("postgresql"), autocommit=True) as conn:  # pt-xyz's database refuses
        conn.execute(f'ALTER DATABASE "{tenant.db_name}" WITH ALLOW_CONNECTIONS false')
    try:
        result = await jobs.identity_housekeeping(platform, int(time.time()))
    finally:
        with psycopg.connect(pg_admin.url("postgresql"), autocommit=True) as conn:
            conn.execute(f'ALTER DATABASE "{tenant.db_name}" WITH ALLOW_CONNECTIONS true')
    assert result["failed"] == ["pt-xyz"] and result["tenants"] == 2
    assert (result["sessions"], result["links"], result["mail_pruned"], result["mail_sent"]) == (2, 2, 1, 1)
    assert sql(settings, "SELECT count(*) FROM user_sessions", sub="pt-abc") == [(1,)]
    assert sql(settings, "SELECT count(*) FROM user_sessions", sub="pt-xyz") == [(3,)]
