"""Write transactions under concurrency, on real databases: on SQLite they commit in the order
they were asked for (the process's writer queue, then a file lock shared by processes); on
PostgreSQL and MariaDB nothing is serialised in the process, the server's row locks decide.

No timings are asserted: each writer starts once the previous one is seen waiting."""

from __future__ import annotations

import fcntl
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from bigip_lbaas.core.errors import DatabaseUnavailable
from bigip_lbaas.db.session import Database
from tests.cluster import wait_for
from tests.databases import fresh_database

TURN = sa.table("turn", sa.column("id", sa.Integer), sa.column("who", sa.Integer))


def _make_table(db: Database) -> None:
    serial = "INTEGER PRIMARY KEY AUTOINCREMENT" if db.dialect == "sqlite" else (
        "SERIAL PRIMARY KEY" if db.dialect == "postgresql" else "INTEGER AUTO_INCREMENT PRIMARY KEY")
    with db.transaction() as s:
        s.execute(sa.text(f"CREATE TABLE turn (id {serial}, who INTEGER)"))


def _order(db: Database) -> list[int]:
    with db.read() as s:
        return [int(w) for w in s.scalars(sa.select(TURN.c.who).order_by(TURN.c.id))]


@pytest.fixture
def sqlite_db(tmp_path: Path) -> Iterator[Database]:
    with fresh_database("sqlite", tmp_path) as url:
        db = Database(url)
        _make_table(db)
        yield db
        db.dispose()


def test_sqlite_writers_commit_in_arrival_order(sqlite_db: Database) -> None:
    # A second Database on the same file (as `up` runs the API and agents in one process)
    # shares the queue: the turn belongs to the file, not to the engine.
    other = Database(sqlite_db.url)
    assert other.writer is sqlite_db.writer is not None
    release = threading.Event()
    holding = threading.Event()

    def holder() -> None:
        with sqlite_db.transaction() as s:
            s.execute(sa.insert(TURN).values(who=-1))
            holding.set()
            release.wait(60)

    def writer(db: Database, idx: int) -> None:
        db.run(lambda s: s.execute(sa.insert(TURN).values(who=idx)))

    first = threading.Thread(target=holder)
    first.start()
    assert holding.wait(60)
    threads = []
    for idx in range(10):
        db = other if idx % 2 else sqlite_db
        thread = threading.Thread(target=writer, args=(db, idx))
        thread.start()
        threads.append(thread)
        wait_for(lambda n=idx + 1: sqlite_db.writer.queue.waiting() == n,  # type: ignore[union-attr]
                 30, f"writer {idx} queued", every=0.005)
    release.set()
    for thread in (first, *threads):
        thread.join(60)
    other.dispose()
    assert _order(sqlite_db) == [-1, *range(10)]


CHILD = """
import sys, sqlalchemy as sa
from bigip_lbaas.core.errors import DatabaseUnavailable
from bigip_lbaas.db.session import Database
db = Database(sys.argv[1])
with db.transaction() as s:
    s.execute(sa.text("INSERT INTO turn (who) VALUES (100)"))
    print("holding", flush=True)
    sys.stdin.readline()
db.dispose()
print("done", flush=True)
"""


def test_sqlite_writer_turn_is_shared_by_processes(sqlite_db: Database) -> None:
    """Another process's write transaction holds the file lock writers of every process queue
    on, and gives it back at commit."""
    assert sqlite_db.writer is not None and sqlite_db.writer.path is not None
    lock_path = f"{sqlite_db.writer.path}-writer"
    child = subprocess.Popen([sys.executable, "-c", CHILD, sqlite_db.url], text=True,
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    try:
        assert child.stdout is not None and child.stdin is not None
        assert child.stdout.readline().strip() == "holding"
        with open(lock_path, "ab") as probe:
            with pytest.raises(BlockingIOError):
                fcntl.flock(probe, fcntl.LOCK_EX | fcntl.LOCK_NB)
            # A writer here that cannot get the turn in time gives up with a clear, transient
            # error, and leaves this process's queue free for the next.
            with pytest.raises(DatabaseUnavailable, match=r"write turn on .*\.sqlite"), \
                    sqlite_db.writer.turn(0.05):
                pass
            assert sqlite_db.writer.queue.acquire(timeout=0)
            sqlite_db.writer.queue.release()
            child.stdin.write("\n")
            child.stdin.flush()
            assert child.stdout.readline().strip() == "done"
            fcntl.flock(probe, fcntl.LOCK_EX | fcntl.LOCK_NB)  # free again after its commit
            fcntl.flock(probe, fcntl.LOCK_UN)
    finally:
        child.kill()
        child.wait(30)
    sqlite_db.run(lambda s: s.execute(sa.insert(TURN).values(who=1)))
    assert _order(sqlite_db) == [100, 1]


@pytest.mark.parametrize("kind", ["postgresql", "mariadb"])
def test_server_databases_do_not_serialise_writers_in_the_process(kind: str,
                                                                 tmp_path: Path) -> None:
    """Writers of different rows run side by side: a second write transaction commits while
    the first is still open (a process-wide writer turn would keep it waiting)."""
    with fresh_database(kind, tmp_path) as url:
        db = Database(url)
        try:
            assert db.writer is None
            _make_table(db)
            done = threading.Event()
            with db.transaction() as s:
                s.execute(sa.insert(TURN).values(who=1))
                other = threading.Thread(target=lambda: (
                    db.run(lambda t: t.execute(sa.insert(TURN).values(who=2))), done.set()))
                other.start()
                other.join(60)
                assert done.is_set()
            assert sorted(_order(db)) == [1, 2]
        finally:
            db.dispose()


WRITER = """
import sys, sqlalchemy as sa
from bigip_lbaas.db.session import Database
db = Database(sys.argv[1])
db.run(lambda s: s.execute(sa.text("INSERT INTO turn (who) VALUES (:w)"), {"w": int(sys.argv[2])}))
db.dispose()
"""


def _queued(db: Database) -> list[int]:
    assert db.writer is not None and db.writer.path is not None
    path = Path(f"{db.writer.path}-writer-queue")
    return [int(p) for p in path.read_text().split()] if path.exists() else []


def test_sqlite_processes_take_turns_in_arrival_order(sqlite_db: Database) -> None:
    """Writers of several processes commit in the order they asked, and one whose process
    died while waiting does not hold up those behind it."""
    holder = subprocess.Popen([sys.executable, "-c", CHILD, sqlite_db.url], text=True,
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    writers: list[subprocess.Popen[str]] = []
    try:
        assert holder.stdout is not None and holder.stdin is not None
        assert holder.stdout.readline().strip() == "holding"
        for who in range(5):
            writer = subprocess.Popen([sys.executable, "-c", WRITER, sqlite_db.url, str(who)])
            writers.append(writer)
            wait_for(lambda pid=writer.pid: pid in _queued(sqlite_db), 60,
                     f"writer {who} queued", every=0.01)
        writers[2].kill()  # dies waiting: the next reader of the list drops it
        writers[2].wait(30)
        holder.stdin.write("\n")
        holder.stdin.flush()
        assert holder.stdout.readline().strip() == "done"
        for writer in writers:
            writer.wait(120)
        assert [w.returncode for i, w in enumerate(writers) if i != 2] == [0, 0, 0, 0]
    finally:
        for proc in (holder, *writers):
            proc.kill()
            proc.wait(30)
    assert _order(sqlite_db) == [100, 0, 1, 3, 4]
    assert _queued(sqlite_db) == []
