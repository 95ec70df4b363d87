"""Tenant backups (pg_dump custom format), restoring them, and the database-copy primitives that
archive, delete and move (`lifecycle`) share.

    files.py    take, list and find backups
    restore.py  restore in place, or clone into a new tenant (--as)
    copies.py   operation lock, freeze/thaw, new database + verify, registry switch, retiring the old one

A backup is written as ``<backup_dir>/<subdomain>/<timestamp>-<kind>.dump.part`` and renamed to its
final name only once pg_dump has finished and fsynced it, so a file under a final name is always
complete; its size and sha256 are recorded in ``backups`` (running -> completed/failed).

A restore never writes to the tenant's live database: the dump is loaded into a *new* database on
the tenant's server, as the tenant's own role (so it owns every object), and verified; only then is
the live one frozen and dumped (kind pre_restore), the registry pointed at the new one (one
transaction) and the old one dropped.

Operations on one tenant are serialised by an advisory lock in the main database. While a database
is being copied away (move) or replaced (restore, archive, delete) it is *frozen*: new sessions are
read-only (``default_transaction_read_only``) and the sessions opened before are terminated, so no
write can land after the dump's snapshot; reads go on, writes get PostgreSQL's 25006, which the app
answers with 503 + Retry-After.
"""

from polyflow.platform.backups.copies import (
    HAS_DATABASE, NewDatabase, Progress, VerificationFailed, create_database, database_exists, discard, event,
    freeze, load_dump, locked_tenant, new_ident, on_server, operation_lock, quietly, record_event, require_database, retire, say, switch,
    table_counts, thaw, verify,
)
from polyflow.platform.backups.files import (
    BackupError, BackupInfo, backup, backup_root, find_backup, list_backups, take_backup,
)
from polyflow.platform.backups.restore import RestoreResult, restore

__all__ = [
    "HAS_DATABASE", "BackupError", "BackupInfo", "NewDatabase", "Progress", "RestoreResult", "VerificationFailed",
    "backup", "backup_root", "create_database", "database_exists", "discard", "event", "find_backup", "freeze", "list_backups",
    "load_dump", "locked_tenant", "new_ident", "on_server", "operation_lock", "quietly", "record_event", "require_database",
    "restore", "retire", "say", "switch", "table_counts", "take_backup", "thaw", "verify",
]
