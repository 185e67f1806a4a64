"""The served app's writers to an SQLite file take turns in a queue that wakes the next one the
moment the last one ends (gunicorn workers only: `serving.WRITE_GATE_ENV`).

SQLite allows one writer. A writer that finds the lock taken sleeps in SQLite's busy handler, 1,
2, 5, 10 … ms between tries, whatever the holder's remaining time: measured here, a lock held
0.5 ms cost the waiter 3.1 ms, held 2 ms cost 8.2 ms. Under a peak of contractors' saves, the
workers' threads spent much of their time asleep with the CPU idle. Here a writer takes the
gate just before its first INSERT/UPDATE/DELETE (before pysqlite's implicit BEGIN): first its
process's lock (threads), then an exclusive flock on a file beside the database (the other
worker processes; the kernel wakes the next waiter). It gives the gate back when its connection
returns to the pool, after the commit or the rollback.

The gate only orders writers; SQLite's lock still decides what is safe (a CLI command, a backup
or a test writing without the gate is met there as before). A thread that cannot get its
process's lock within GATE_TIMEOUT goes on without the gate, so a writer stuck elsewhere never
holds the others for good. PostgreSQL has row locks and is left alone.
"""

from __future__ import annotations

import fcntl
import os
import threading
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine

GATE_TIMEOUT = 5.0  # seconds, as SQLite's busy_timeout
WRITES = ("INSERT", "UPDATE", "DELETE", "REPLACE")
_KEY = "vendorrisk_write_gate"


class WriteGate:
    def __init__(self, lock_path: str):
        self.lock_path = lock_path
        self.threads = threading.Lock()
        self.owner: int | None = None  # the thread holding the gate (it never waits for itself)
        self._file: tuple[int, int] | None = None  # (pid, fd): a flock is per open file, so per process

    def _fd(self) -> int:
        if self._file is None or self._file[0] != os.getpid():
            self._file = (os.getpid(), os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o600))
        return self._file[1]

    def take(self, info: dict[str, Any]) -> None:
        if info.get(_KEY) or self.owner == threading.get_ident():
            return
        if not self.threads.acquire(timeout=GATE_TIMEOUT):
            return  # SQLite's own lock (and busy timeout) still apply
        try:
            fcntl.flock(self._fd(), fcntl.LOCK_EX)
        except OSError:
            self.threads.release()
            return
        self.owner = threading.get_ident()
        info[_KEY] = True

    def give_back(self, info: dict[str, Any]) -> None:
        if not info.pop(_KEY, False):
            return
        self.owner = None
        try:
            fcntl.flock(self._fd(), fcntl.LOCK_UN)
        finally:
            self.threads.release()


def _is_write(statement: str) -> bool:
    return statement.lstrip()[:7].upper().startswith(WRITES)


def install(engine: Engine) -> WriteGate | None:
    """Gate the writes of this engine's connections (an SQLite file only; once per engine)."""
    database = engine.url.database
    if engine.dialect.name != "sqlite" or not database or database == ":memory:":
        return None
    existing: WriteGate | None = engine.pool.__dict__.get(_KEY)
    if existing is not None:
        return existing
    gate = engine.pool.__dict__[_KEY] = WriteGate(f"{database}.write-lock")

    @event.listens_for(engine, "before_cursor_execute")
    def _before(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
        if _is_write(statement):
            gate.take(conn.info)

    @event.listens_for(engine.pool, "checkin")
    def _checkin(dbapi_connection: Any, record: Any) -> None:
        if record is not None:
            gate.give_back(record.info)

    @event.listens_for(engine.pool, "invalidate")
    def _invalidate(dbapi_connection: Any, record: Any, exception: Any) -> None:
        if record is not None:
            gate.give_back(record.info)

    return gate
