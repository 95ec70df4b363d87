"""A connection budget shared by the processes of one node (the uvicorn workers of a machine).

With a budget per process, a node with W workers must give each one ``budget / W`` slots, and a busy
worker cannot use what an idle one leaves unused (one held 40 connections while another held 7). Here the
W processes share ``limit`` slots: slot *i* is an exclusive POSIX record lock (``fcntl.lockf``) on byte *i*
of one file. The kernel holds the locks, so

- no process can take a slot another process holds, and the node never opens more than ``limit``
  tenant connections;
- a process that dies (SIGKILL, OOM) gives its slots back at once: the kernel drops a process's record
  locks when it exits, with no lease to expire and no cleanup to run;
- no server is needed (no Redis round trip per connection): taking a slot is a few ``fcntl`` calls.

A process that waits for a slot holds a shared lock on the byte after the slots (the "want" byte). The
others look at it when a lease ends (one ``fcntl`` call) and close one of their idle connections when
someone waits, so idle connections in one worker never starve another.

POSIX record locks belong to the process and are all dropped when the process closes *any* descriptor of
the file, so the file is opened once per process and kept open; locks are not inherited by ``fork``.
"""

from __future__ import annotations

import errno
import fcntl
import os
import tempfile
from pathlib import Path

_BUSY = (errno.EACCES, errno.EAGAIN)


class NodeBudget:
    """Same interface as ``engines.ConnectionBudget`` (limit, used, peak, try_acquire, release), plus
    ``others_waiting``/``set_waiting`` for the cross-process hand-over of idle connections."""

    poll_interval = 0.025  # seconds between retries: another process's release wakes nobody here

    def __init__(self, path: str | os.PathLike, limit: int):
        self.limit = limit
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        self._held: list[int] = []  # slots (byte offsets) this process holds
        self._next = os.getpid() % max(1, limit)  # processes start their search at different slots
        self._waiting = 0  # coroutines of this process waiting for a slot
        self.used = 0
        self.peak = 0

    @classmethod
    def for_settings(cls, settings) -> "NodeBudget | None":
        """The node budget when POLYFLOW_NODE_CONNECTION_BUDGET is set (> 0), else None."""
        if not settings.node_connection_budget:
            return None
        folder = settings.node_budget_dir or Path(tempfile.gettempdir()) / "polyflow"
        name = f"tenant-connections-{settings.redis_namespace}.slots"
        return cls(Path(folder) / name, settings.node_connection_budget)

    def try_acquire(self) -> bool:
        held = set(self._held)
        for k in range(self.limit):
            slot = (self._next + k) % self.limit
            if slot in held:  # our own lock: lockf would "succeed" again (locks do not nest)
                continue
            try:
                fcntl.lockf(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB, 1, slot)
            except OSError as e:
                if e.errno in _BUSY:
                    continue
                raise
            self._held.append(slot)
            self._next = (slot + 1) % self.limit
            self.used += 1
            self.peak = max(self.peak, self.used)
            return True
        return False

    def release(self) -> None:
        slot = self._held.pop()
        fcntl.lockf(self._fd, fcntl.LOCK_UN, 1, slot)
        self.used -= 1

    # -- hand-over between processes --------------------------------------------------------
    def set_waiting(self, waiting: bool) -> None:
        """Say (or stop saying) that a coroutine of this process waits for a slot."""
        if waiting:
            self._waiting += 1
            if self._waiting == 1:
                fcntl.lockf(self._fd, fcntl.LOCK_SH, 1, self.limit)
        else:
            self._waiting -= 1
            if self._waiting == 0:
                fcntl.lockf(self._fd, fcntl.LOCK_UN, 1, self.limit)

    def others_waiting(self) -> bool:
        """True if another process waits for a slot (it holds the "want" byte)."""
        if self._waiting:
            # Our own shared lock would be converted (then dropped by the unlock): do not test. We wait
            # ourselves, so our idle connections are handed over inside this process anyway.
            return False
        try:
            fcntl.lockf(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB, 1, self.limit)
        except OSError as e:
            if e.errno in _BUSY:
                return True
            raise
        fcntl.lockf(self._fd, fcntl.LOCK_UN, 1, self.limit)
        return False

    def close(self) -> None:
        """Give every slot back (closing the file drops this process's locks)."""
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1
            self._held.clear()
            self.used = 0
