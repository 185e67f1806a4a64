"""The SQLite write gate of the served app (vendorrisk/sqlite_writes.py): writers take turns, a
second writer waits at the gate (not asleep in SQLite's busy handler), another process is kept
out by the flock beside the database file, and the gate is given back on commit and on rollback."""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

import vendorrisk.app  # noqa: F401 - its listener sets WAL and busy_timeout on every SQLite connection
from vendorrisk import sqlite_writes

OTHER_PROCESS = """
import fcntl, os, sys
fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT)
try:
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
except BlockingIOError:
    print("kept out")
else:
    print("got in")
"""


def _other_process_tries(lock: Path) -> str:
    return subprocess.run([sys.executable, "-c", OTHER_PROCESS, str(lock)], capture_output=True, text=True,
                          check=True).stdout.strip()


@pytest.fixture
def engine(tmp_path):
    engine = create_engine(f"sqlite:///{tmp_path / 'gate.db'}")
    with engine.begin() as c:
        c.execute(text("CREATE TABLE t (x INTEGER)"))
    yield engine
    engine.dispose()


def test_writers_take_turns_through_the_gate(engine, tmp_path):
    gate = sqlite_writes.install(engine)
    assert gate is not None and sqlite_writes.install(engine) is gate  # once per engine
    lock = tmp_path / "gate.db.write-lock"
    order: list[str] = []
    first_wrote, let_go = threading.Event(), threading.Event()
    second_waits = threading.Event()

    def first() -> None:
        with engine.begin() as c:
            c.execute(text("INSERT INTO t VALUES (1)"))
            order.append("first wrote")
            first_wrote.set()
            let_go.wait(10)
            order.append("first commits")

    def second() -> None:
        first_wrote.wait(10)
        with engine.connect() as c:
            c.execute(text("SELECT count(*) FROM t")).scalar()  # reads never wait
            second_waits.set()
            c.execute(text("INSERT INTO t VALUES (2)"))
            order.append("second wrote")
            c.commit()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for t in threads:
        t.start()
    assert second_waits.wait(10)
    assert gate.owner == threads[0].ident, "the first writer holds the gate"
    assert _other_process_tries(lock) == "kept out", "another worker process waits for its turn"
    let_go.set()
    for t in threads:
        t.join(10)
    assert order == ["first wrote", "first commits", "second wrote"]
    with engine.connect() as c:
        assert c.execute(text("SELECT count(*) FROM t")).scalar() == 2
    assert gate.owner is None and _other_process_tries(lock) == "got in", "given back after the commit"


def test_a_rolled_back_writer_gives_the_gate_back(engine, tmp_path):
    gate = sqlite_writes.install(engine)
    assert gate is not None
    with pytest.raises(RuntimeError), engine.begin() as c:
        c.execute(text("INSERT INTO t VALUES (1)"))
        assert gate.owner == threading.get_ident()
        raise RuntimeError("refused")
    assert gate.owner is None and gate.threads.acquire(blocking=False)
    gate.threads.release()
    assert _other_process_tries(tmp_path / "gate.db.write-lock") == "got in"
    with engine.connect() as c:
        assert c.execute(text("SELECT count(*) FROM t")).scalar() == 0


def test_postgresql_and_memory_databases_are_left_alone():
    assert sqlite_writes.install(create_engine("sqlite://")) is None
    assert sqlite_writes.install(create_engine("postgresql+psycopg://postgres@127.0.0.1:5432/postgres")) is None
