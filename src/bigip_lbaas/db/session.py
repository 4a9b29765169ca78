"""Engines, transactions, the database clock and the one place transient errors are retried.

Owns dialect differences: SQLite pragmas, `BEGIN IMMEDIATE` and the writers' turns
(`SqliteWriter`), the server-clock expression for each backend (`server_now`, `session_now`),
insert-if-missing, NOTIFY, and which driver errors
count as transient. Code elsewhere asks these helpers instead of branching on the dialect; the
two exceptions are the agent's wake-up listener (LISTEN exists only on PostgreSQL) and Alembic's
batch mode for SQLite in `db/migrations/env.py`. It is the database boundary for errors:
every transaction and read raises the project's own `DatabaseError` family
(`DatabaseUnavailable`, `DuplicateRow`), never a SQLAlchemy or driver exception, so nothing above
`db/` catches `sqlalchemy.exc`.
"""

from __future__ import annotations

import fcntl
import logging
import os
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from typing import IO, Any, NoReturn, ParamSpec, TypeVar

import sqlalchemy as sa
import tenacity
from sqlalchemy import event, exc
from sqlalchemy.dialects import mysql, postgresql, sqlite
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.orm import Session, sessionmaker

from bigip_lbaas.core.errors import DatabaseError, DatabaseUnavailable, DuplicateRow

LOG = logging.getLogger(__name__)

P = ParamSpec("P")
T = TypeVar("T")

DEFAULT_URL = "sqlite:///bigip-lbaas.sqlite"

# Bounds on how long one session can hold or wait for a lock, shorter than the renew deadline, so
# that a process cut off mid-transaction (its locks on lease rows still held by the server)
# cannot stall everyone else's lease renewals and take-overs until TCP gives up.
LOCK_SECONDS = 5
# SQLite is a local file: no session can be cut off holding its lock, so writers simply queue.
SQLITE_BUSY_SECONDS = 30
# Connections kept open per process, and how many more may be opened at a peak (then closed on
# return). The API runs its handlers on up to 40 threads (anyio's default), so 16 concurrent
# clients keep 16 connections: with SQLAlchemy's default of 5, every request past the fifth
# opened and closed a connection of its own (a PostgreSQL backend forked per request), a tail
# latency of its own under load. Connections are opened only when needed.
POOL_SIZE = 20
POOL_OVERFLOW = 20
# A pooled connection is checked (one round trip) before reuse only if it sat in the pool this
# long (PgBouncer's server_check_delay, whose default is 30 s): one handed back a moment ago is
# as good as checked, and under load every connection is. See `_ping_if_idle`.
PING_AFTER_IDLE_SECONDS = 1.0
# How long a process may keep SQLite's write turn for its own queued writers while another
# process waits (see SqliteWriter).
PROCESS_QUANTUM = 0.02
# Ids per IN list: well inside every database's bound on bound parameters.
IN_CHUNK = 500

_POSTGRES_ARGS: dict[str, Any] = {
    "connect_timeout": 5,
    "keepalives": 1,
    "keepalives_idle": 5,
    "keepalives_interval": 2,
    "keepalives_count": 2,
    "tcp_user_timeout": LOCK_SECONDS * 1000,
    "options": " ".join(f"-c {k}={LOCK_SECONDS * 1000}" for k in (
        "idle_in_transaction_session_timeout", "lock_timeout", "tcp_user_timeout")),
}
_MYSQL_ARGS: dict[str, Any] = {
    "connect_timeout": 5,
    "read_timeout": 60,
    "write_timeout": 30,
    "init_command": (f"SET SESSION idle_transaction_timeout = {LOCK_SECONDS}, "
                     f"innodb_lock_wait_timeout = {LOCK_SECONDS}, net_write_timeout = 10"),
}

_SCHEMES = {
    "sqlite": "sqlite",
    "postgresql": "postgresql+psycopg",
    "postgres": "postgresql+psycopg",
    "postgresql+psycopg": "postgresql+psycopg",
    "postgresql+psycopg2": "postgresql+psycopg",
    "mysql": "mysql+pymysql",
    "mariadb": "mysql+pymysql",
    "mysql+pymysql": "mysql+pymysql",
    "mariadb+pymysql": "mysql+pymysql",
}


def _encode_extra_ats(url: str) -> str:
    """Percent-encode every `@` of the user-info but the last one.

    A password with an unencoded `@` (`postgresql://u:S3cret@PW@h/x`) is common in operators'
    files; SQLAlchemy's parser splits at the first `@` and would take `PW@h` for the host (and
    the driver would then print it). The host is what follows the LAST `@` of the authority, as
    urllib splits it.
    """
    scheme, sep, rest = url.partition("://")
    if not sep or rest.startswith("/"):
        return url  # no authority (sqlite:///path): nothing to fix
    head, qmark, query = rest.partition("?")
    userinfo, at, tail = head.rpartition("@")
    if not at or "@" not in userinfo:
        return url
    return f"{scheme}://{userinfo.replace('@', '%40')}@{tail}{qmark}{query}"


def describe_url(url: str | URL) -> str:
    """`scheme://host[:port]` for messages: never the user's password, never the whole URL."""
    if isinstance(url, URL):
        host = (url.host or "").rpartition("@")[2]
        where = host or (url.database or "")
        if url.port:
            where = f"{where}:{url.port}"
        return f"{url.drivername}://{where}"
    scheme, sep, rest = str(url).partition("://")
    if not sep or not scheme or not all(c.isalnum() or c in "+-." for c in scheme):
        return "?://?"
    if rest.startswith("/"):  # sqlite:///path: the path is the "where"
        return f"{scheme}://{rest.partition('?')[0]}"
    # Everything up to the LAST `@` is user-info (a password may hold `@`, `/` or `:`).
    after = rest.partition("?")[0].rpartition("@")[2]
    return f"{scheme}://{after.partition('/')[0] or '?'}"


def normalise_url(url: str) -> URL:
    """Parse an oslo-style `[database] connection` URL and pick the driver we ship."""
    try:
        parsed = make_url(_encode_extra_ats(url))
    except (exc.ArgumentError, ValueError) as err:
        raise DatabaseError(f"invalid database URL {describe_url(url)}: cannot parse it") from err
    driver = _SCHEMES.get(parsed.drivername)
    if driver is None:
        raise DatabaseError(
            f"unsupported database URL scheme {parsed.drivername!r} ({describe_url(url)}); "
            "use sqlite://, postgresql:// or mysql+pymysql://"
        )
    parsed = parsed.set(drivername=driver)
    if driver == "mysql+pymysql" and "charset" not in parsed.query:
        parsed = parsed.update_query_dict({"charset": "utf8mb4"})
    return parsed


def create_engine(url: str, **kwargs: Any) -> Engine:
    """An engine with our per-dialect settings (SQLite: WAL, busy timeout, foreign keys)."""
    parsed = normalise_url(url)
    if parsed.database not in (None, "", ":memory:") or parsed.drivername != "sqlite":
        kwargs.setdefault("pool_size", POOL_SIZE)
        kwargs.setdefault("max_overflow", POOL_OVERFLOW)
    if parsed.drivername == "sqlite":
        engine = sa.create_engine(
            parsed, connect_args={"timeout": SQLITE_BUSY_SECONDS, "check_same_thread": False}, **kwargs
        )
        event.listen(engine, "connect", _sqlite_on_connect)
        event.listen(engine, "begin", _sqlite_on_begin)
        return engine
    kwargs.setdefault("pool_recycle", 3600)
    if parsed.drivername.startswith("mysql"):
        kwargs.setdefault("isolation_level", "READ COMMITTED")
        kwargs.setdefault("connect_args", dict(_MYSQL_ARGS))
    else:
        kwargs.setdefault("connect_args", dict(_POSTGRES_ARGS))
    engine = sa.create_engine(parsed, **kwargs)
    if "pool_pre_ping" not in kwargs:  # the caller's choice, else the idle ping
        event.listen(engine, "checkin", _note_checkin)
        dialect = engine.dialect
        event.listen(engine, "checkout",
                     lambda conn, record, _proxy: _ping_if_idle(dialect, conn, record))
    return engine


_CHECKED_IN = "bigip_lbaas.checked_in"  # a pooled connection's info: when it was handed back


def _note_checkin(dbapi_conn: Any, record: Any) -> None:
    if dbapi_conn is not None:
        record.info[_CHECKED_IN] = time.monotonic()


def _ping_if_idle(dialect: sa.engine.Dialect, dbapi_conn: Any, record: Any) -> None:
    """Before a pooled connection is reused, check it if it sat idle longer than
    PING_AFTER_IDLE_SECONDS; a dead one is replaced by the pool (`DisconnectionError`).

    SQLAlchemy's `pool_pre_ping` checks on every checkout: one more round trip on each of the
    API's transactions (a create is nine without it). A connection handed back within the last second, by a
    server that has not restarted since, is alive; one that died in that second (the server
    restarted) fails its first statement as one in use at that moment would, and the whole unit
    of work is retried on a new connection (`retry_transient`: the pool drops every connection
    older than the error). A connection that sat longer, the ones a restart or an idle timeout
    finds, is checked first."""
    returned = record.info.get(_CHECKED_IN)
    if returned is None or time.monotonic() - returned < PING_AFTER_IDLE_SECONDS:
        return  # new (fresh from connect), or handed back a moment ago
    try:
        dialect.do_ping(dbapi_conn)
    except dialect.loaded_dbapi.Error as err:
        if dialect.is_disconnect(err, dbapi_conn, None):
            raise exc.DisconnectionError(str(err).splitlines()[0][:200]) from err
        raise


class WriterQueue:
    """A lock whose waiters get it strictly in the order they asked (FIFO, no barging).

    SQLite lets one writer in at a time and makes the others poll its file lock from a busy
    handler that sleeps 1, 2, 5 … 100 ms between tries: a writer that happens to be asleep when
    the lock frees loses its turn to whoever asks next, again and again, which is where the API's
    p99 went (a few writers waited over a second while the median was 12 ms). Writers of one
    process queue here instead, before `BEGIN IMMEDIATE`, so at most one of them is ever in
    SQLite's busy handler, and `release` hands the lock straight to the oldest waiter.
    """

    def __init__(self) -> None:
        self._mutex = threading.Lock()
        self._held = False
        self._waiters: deque[threading.Lock] = deque()

    def acquire(self, timeout: float | None = None) -> bool:
        """Wait for our turn (at most `timeout` seconds; None: as long as it takes)."""
        with self._mutex:
            if not self._held:
                self._held = True  # no waiter can exist while it is free: they are handed it
                return True
            gate = threading.Lock()
            gate.acquire()
            self._waiters.append(gate)
        if gate.acquire(timeout=-1 if timeout is None else max(timeout, 0.0)):
            return True  # handed over by `release`; `_held` stayed True
        with self._mutex:
            if gate in self._waiters:
                self._waiters.remove(gate)
                return False
        return True  # `release` handed it to us just as we gave up: it is ours

    def release(self, *, idle: Callable[[], None] | None = None) -> None:
        """Hand the lock to the oldest waiter; with none, call `idle` (before anyone else can
        take the lock) and free it."""
        with self._mutex:
            if not self._held:
                raise RuntimeError("WriterQueue.release() of a lock that is not held")
            if self._waiters:
                self._waiters.popleft().release()  # still held: now by the oldest waiter
            else:
                if idle is not None:
                    idle()
                self._held = False

    def waiting(self) -> int:
        """How many are queued behind the holder."""
        with self._mutex:
            return len(self._waiters)


class SqliteWriter:
    """The write turn on one SQLite file: first this process's `WriterQueue`, then the turn
    among the processes sharing the file (API workers, agents), in their order of arrival too.

    Between processes: an exclusive `flock` on `<database>-writer` is the turn itself (the kernel
    drops it when its holder dies), and `<database>-writer-queue` lists the pids waiting for it,
    oldest first (edited under a `flock` of its own, held for microseconds). Only the oldest live
    waiter tries the turn, every 0.5-2 ms, and leaves the list when it has it; a waiter whose
    process died is dropped from the list by the next one to read it. Without the list, the
    process that just gave the turn up took it straight back for its next writer while the other
    process's waiter slept (p99 585 ms with 2 API workers). Handing the turn to another process
    costs a wake-up of that process, so a process keeps it for its own next queued writers for up
    to `PROCESS_QUANTUM` seconds, then gives it up and queues behind the others (strict
    alternation halved the throughput of 2 workers). Only these processes take the turn;
    any other SQLite client still meets SQLite's own lock, so it orders writers and never guards
    data. An in-memory database has only the first part."""

    def __init__(self, path: str | None) -> None:
        self.path = path
        self.queue = WriterQueue()
        # The process's turn (the locked file) and since when it has it: touched only by the
        # holder of `queue`, or under its lock when it is released with nobody waiting.
        self._held: IO[bytes] | None = None
        self._since = 0.0

    @contextmanager
    def turn(self, timeout: float) -> Iterator[None]:
        deadline = time.monotonic() + timeout
        if not self.queue.acquire(timeout):
            self._timed_out(timeout)
        try:
            if self._held is None:
                # Opened for each process turn: closing it releases the flock, and no
                # descriptor outlives its use (nor is shared with a forked child).
                self._held = self._process_turn(deadline, timeout)
                self._since = time.monotonic()
            yield
        finally:
            if time.monotonic() - self._since >= PROCESS_QUANTUM:
                self._give_up()
                self.queue.release()
            else:
                self.queue.release(idle=self._give_up)

    def _give_up(self) -> None:
        if self._held is not None:
            self._held.close()
            self._held = None

    def _timed_out(self, timeout: float) -> NoReturn:
        raise DatabaseUnavailable(
            f"waited over {timeout:g} s for the write turn on {self.path or 'sqlite'}")

    def _process_turn(self, deadline: float, timeout: float) -> IO[bytes] | None:
        """The turn file, locked; None without one. Raises once `deadline` has passed."""
        if self.path is None:
            return None
        try:
            turn = open(f"{self.path}-writer", "ab")  # noqa: SIM115 (closed by `turn`)
            waiting = os.open(f"{self.path}-writer-queue", os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as err:
            LOG.warning("cannot open the SQLite writer lock files; writers of several "
                        "processes will meet in SQLite's busy handler",
                        extra={"action": "db_writer_lock", "error": type(err).__name__})
            return None
        me = os.getpid()
        pause = 0.0005
        try:
            _edit_waiters(waiting, lambda pids: pids if me in pids else [*pids, me])
            while True:
                if _edit_waiters(waiting, lambda pids: pids)[:1] == [me]:
                    try:
                        fcntl.flock(turn, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    except BlockingIOError:
                        pass
                    else:
                        _edit_waiters(waiting, lambda pids: [p for p in pids if p != me])
                        return turn
                if time.monotonic() >= deadline:
                    self._timed_out(timeout)
                time.sleep(pause)
                pause = min(pause * 2, 0.002)
        except BaseException:
            with suppress(OSError):
                _edit_waiters(waiting, lambda pids: [p for p in pids if p != me])
            turn.close()
            raise
        finally:
            os.close(waiting)


def _edit_waiters(fd: int, change: Callable[[list[int]], list[int]]) -> list[int]:
    """Apply `change` to the pids listed in the queue file `fd` (dead ones dropped first) under
    its lock; returns the new list."""
    fcntl.flock(fd, fcntl.LOCK_EX)
    try:
        os.lseek(fd, 0, os.SEEK_SET)
        text = os.read(fd, 65536).decode("ascii", "replace")
        listed = [int(p) for p in text.split() if p.isdigit()]
        pids = [p for p in listed if _alive(p)]
        changed = change(pids)
        if changed != listed:
            os.ftruncate(fd, 0)
            os.lseek(fd, 0, os.SEEK_SET)
            os.write(fd, " ".join(map(str, changed)).encode("ascii"))
        return changed
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's: alive
    return True


_WRITERS: dict[str, SqliteWriter] = {}
_WRITERS_LOCK = threading.Lock()


def sqlite_writer(url: URL) -> SqliteWriter:
    """The process-wide writer for the SQLite file of `url` (every `Database` on one file shares
    it); a private one for an in-memory database."""
    database = url.database or ""
    if not database or database == ":memory:" or database.startswith("file:"):
        return SqliteWriter(None)
    path = os.path.realpath(database)
    with _WRITERS_LOCK:
        found = _WRITERS.get(path)
        if found is None:
            found = _WRITERS[path] = SqliteWriter(path)
        return found


def _forget_writers() -> None:
    # A forked child inherits the parent's queues in whatever state its threads left them.
    global _WRITERS_LOCK
    _WRITERS.clear()
    _WRITERS_LOCK = threading.Lock()


os.register_at_fork(after_in_child=_forget_writers)


def _sqlite_on_connect(dbapi_conn: Any, _record: Any) -> None:
    # Let SQLAlchemy, not pysqlite, decide when transactions begin (see _sqlite_on_begin).
    dbapi_conn.isolation_level = None
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_SECONDS * 1000}")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()


def _sqlite_on_begin(conn: sa.Connection) -> None:
    # Every write transaction takes the write lock up front (after its turn in the writer
    # queue, see Database.transaction), so no writer fails with "database is locked" half-way
    # through. Read-only transactions (see Database.read) begin deferred and never block writers.
    readonly = conn.get_execution_options().get("readonly", False)
    conn.exec_driver_sql("BEGIN" if readonly else "BEGIN IMMEDIATE")


def server_now(dialect_name: str) -> sa.ColumnElement[float]:
    """The database server's clock as float epoch seconds, for lease and heartbeat maths."""
    if dialect_name == "postgresql":
        return sa.literal_column("extract(epoch from clock_timestamp())", sa.Float)
    if dialect_name in ("mysql", "mariadb"):
        return sa.literal_column("UNIX_TIMESTAMP(NOW(6))", sa.Float)
    return sa.literal_column("((julianday('now') - 2440587.5) * 86400.0)", sa.Float)


def session_now(session: Session) -> sa.ColumnElement[float]:
    """`server_now` for the dialect `session` is bound to."""
    return server_now(session.get_bind().dialect.name)


def notify(session: Session, channel: str, payload: str) -> None:
    """PostgreSQL NOTIFY at commit (it is transactional); elsewhere nothing: listeners there
    find the change by polling."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(sa.select(sa.func.pg_notify(channel, payload)))


def chunks(ids: Sequence[T]) -> Iterator[Sequence[T]]:
    """``ids`` in runs of at most IN_CHUNK: IN lists every database accepts."""
    for i in range(0, len(ids), IN_CHUNK):
        yield ids[i : i + IN_CHUNK]


def insert_if_missing(session: Session, model: type[Any], values: dict[str, Any]) -> None:
    """INSERT one row unless its key exists (ON CONFLICT DO NOTHING, INSERT IGNORE), without
    failing the transaction when a concurrent one inserted it first."""
    name = session.get_bind().dialect.name
    stmt: sa.Executable
    if name == "postgresql":
        stmt = postgresql.insert(model).values(**values).on_conflict_do_nothing()
    elif name in ("mysql", "mariadb"):
        stmt = mysql.insert(model).values(**values).prefix_with("IGNORE")
    else:
        stmt = sqlite.insert(model).values(**values).on_conflict_do_nothing()
    session.execute(stmt)


def is_transient(err: BaseException) -> bool:
    """Deadlocks, serialization failures, lost connections and SQLite busy: worth retrying."""
    if isinstance(err, DatabaseUnavailable):
        return True
    if isinstance(err, exc.DBAPIError) and err.connection_invalidated:
        return True
    if isinstance(err, (exc.OperationalError, exc.InterfaceError)):
        return True
    if isinstance(err, exc.DBAPIError):
        text = str(err.orig).lower()
        return any(
            needle in text
            for needle in ("deadlock", "serializ", "lock wait timeout", "database is locked")
        )
    return False


def _first_line(err: exc.SQLAlchemyError) -> str:
    """The driver's own message, first line only: never the statement or its parameters."""
    orig = getattr(err, "orig", None)
    text = str(orig if orig is not None else type(err).__name__).strip()
    return text.splitlines()[0][:300] if text else type(err).__name__


@contextmanager
def translated_errors() -> Iterator[None]:
    """The database boundary: SQLAlchemy and driver exceptions become `DatabaseError`s."""
    try:
        yield
    except exc.SQLAlchemyError as err:
        message = f"{type(err).__name__}: {_first_line(err)}"
        if is_transient(err):
            raise DatabaseUnavailable(message) from err
        if isinstance(err, exc.IntegrityError):
            raise DuplicateRow(message) from err
        raise DatabaseError(message) from err


@contextmanager
def savepoint(session: Session) -> Iterator[None]:
    """A savepoint inside the caller's transaction: a duplicate row written in it rolls back to
    it and raises `DuplicateRow`, and the transaction goes on (insert-or-refuse)."""
    try:
        with session.begin_nested():
            yield
    except exc.IntegrityError as err:
        raise DuplicateRow(f"{type(err).__name__}: {_first_line(err)}") from err


class Database:
    """One engine plus a session factory; `transaction()` is the only way code writes."""

    def __init__(self, url: str, **engine_kwargs: Any) -> None:
        self.url = url
        self.engine = create_engine(url, **engine_kwargs)
        self.dialect = self.engine.dialect.name
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        # SQLite: writers take turns in arrival order (see WriterQueue). PostgreSQL and MariaDB
        # queue conflicting writers on their own row locks, and the others need not wait at all.
        self.writer = sqlite_writer(self.engine.url) if self.dialect == "sqlite" else None

    def __repr__(self) -> str:
        return f"Database({describe_url(self.url)})"

    def now(self) -> sa.ColumnElement[float]:
        return server_now(self.dialect)

    def clock(self) -> float:
        """Read the database server's clock once."""
        with translated_errors(), self.engine.connect() as conn:
            conn.execution_options(readonly=True)  # SQLite: no write lock for a read
            return float(conn.execute(sa.select(self.now())).scalar_one())

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """One transaction: commit on success, roll back on any exception.

        On SQLite it first waits for its turn among this process's writers (FIFO) and the
        other processes' (see SqliteWriter); a transaction must not open another inside it."""
        if self.writer is None:
            with translated_errors(), self._sessions() as session, session.begin():
                yield session
            return
        with self.writer.turn(SQLITE_BUSY_SECONDS), translated_errors(), \
                self._sessions() as session, session.begin():
            yield session

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A read-only transaction (a consistent snapshot where the backend offers one)."""
        with translated_errors(), self._sessions() as session, session.begin():
            session.connection(execution_options={"readonly": True})
            yield session
            session.rollback()

    def run(self, fn: Callable[[Session], T], *, attempts: int = 8) -> T:
        """Run `fn` in a transaction, retrying the whole transaction on transient errors."""
        return retry_transient(attempts)(self._run_once)(fn)

    def _run_once(self, fn: Callable[[Session], T]) -> T:
        with self.transaction() as session:
            return fn(session)

    def query(self, fn: Callable[[Session], T], *, attempts: int = 8) -> T:
        """Run a read-only `fn` (never blocks writers on SQLite), retrying transient errors."""
        return retry_transient(attempts)(self._query_once)(fn)

    def _query_once(self, fn: Callable[[Session], T]) -> T:
        with self.read() as session:
            return fn(session)

    def dispose(self) -> None:
        self.engine.dispose()


def retry_transient(attempts: int = 8) -> Callable[[Callable[P, T]], Callable[P, T]]:
    """Retry a whole unit of work on transient DB errors, with jittered exponential backoff."""
    return tenacity.retry(
        retry=tenacity.retry_if_exception(is_transient),
        wait=tenacity.wait_random_exponential(multiplier=0.05, max=2.0),
        stop=tenacity.stop_after_attempt(attempts),
        before_sleep=_log_retry,
        reraise=True,
    )


def _log_retry(state: tenacity.RetryCallState) -> None:
    err = state.outcome.exception() if state.outcome else None
    LOG.warning(
        "transient database error, retrying",
        extra={"action": "db_retry", "attempt": state.attempt_number, "error": type(err).__name__},
    )
