"""The database: one engine and session factory per URL, migrations run on first use.

SQLite (the default) gets WAL mode, foreign keys and a busy timeout so that concurrent
writers wait instead of failing, and its writers take turns through a lock file;
PostgreSQL is used as it is.
"""

from __future__ import annotations

import atexit
import contextlib
import contextvars
import datetime as dt
import json
import os
import threading
import time
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import resources
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine, create_engine, event, insert, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.orm import Session, sessionmaker

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows has none: SQLite's busy handler alone
    fcntl = None  # type: ignore[assignment]

SQLITE_BUSY_TIMEOUT_MS = 30_000
# Read-audit lines wait at most this long (seconds) before they are written together.
AUDIT_FLUSH_SECONDS = 0.05
# The same reader reading the same thing again from the same address within this many
# seconds adds no line: the first line stands for the repeats (a session in the player
# reads the program at every step).
AUDIT_READ_REPEAT_SECONDS = 300.0
READ_ONLY = "groundup_read_only"
MIGRATION_LOCK = 0x67726F756E64  # a PostgreSQL advisory lock key: "ground" in ASCII
# Alembic runs its migration scripts through module-wide proxies (alembic.context, .op), so
# two threads of one process must not run it at once; other processes are no concern.
_MIGRATING = threading.Lock()


class DatabaseError(RuntimeError):
    """The database cannot be opened or is not usable; the message says why."""


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option(
        "script_location", str(resources.files("groundup.storage") / "migrations")
    )
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # pysqlite's own transaction handling would fight the BEGIN IMMEDIATE below.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _sqlite_begin(connection: Connection) -> None:
    # Write transactions take the write lock up front, so two writers queue instead of
    # deadlocking; read-only ones (`Database.reading`) read a snapshot beside a writer.
    if connection.get_execution_options().get(READ_ONLY):
        connection.exec_driver_sql("BEGIN")
    else:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def _compact_json(value: Any) -> str:
    """JSON columns as SQLite keeps them: text without the spaces json.dumps puts after
    commas and colons (a session's JSON then fits two to a page). PostgreSQL's JSONB keeps
    its own binary form whatever the text."""
    return json.dumps(value, separators=(",", ":"))


def make_engine(url: str) -> Engine:
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise DatabaseError(f"database URL {url!r} is not valid: {exc}") from exc
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url,
            connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000},
            future=True,
            json_serializer=_compact_json,
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    if parsed.get_backend_name() == "postgresql":
        # A web worker runs up to 40 requests at once in threads; let each find a connection.
        return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=30, future=True)
    raise DatabaseError(
        f"database URL {url!r}: only sqlite:/// and postgresql+psycopg:// are supported"
    )


class _WriterQueue:
    """SQLite lets one writer in at a time; the others poll in its busy handler, which
    sleeps between tries (1, 2, 5 … 100 ms) and so turns a queue of writers into long
    waits. Writers here take turns through a lock file next to the database instead (and
    through a lock between the threads of one process), tried every millisecond or less:
    a waiting writer starts almost as soon as the one before it ends. SQLite's own locking
    stays in force, and after its busy timeout a writer goes on without its turn."""

    def __init__(self, engine: Engine) -> None:
        self.path: Path | None = None
        database = engine.url.database
        if engine.dialect.name == "sqlite" and database and database != ":memory:":
            self.path = Path(f"{Path(database).expanduser()}-writers")
        self.lock = threading.RLock()
        self.depth = 0
        self.fd: int | None = None

    @contextmanager
    def turn(self) -> Iterator[None]:
        if self.path is None or fcntl is None:
            yield
            return
        deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT_MS / 1000
        if not self.lock.acquire(timeout=SQLITE_BUSY_TIMEOUT_MS / 1000):
            yield  # a writer of this process is stuck: SQLite's busy timeout decides
            return
        try:
            if self.fd is None:
                self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
            held = self.depth == 0 and self._take(self.fd, deadline)
            self.depth += 1
            try:
                yield
            finally:
                self.depth -= 1
                if held:
                    fcntl.flock(self.fd, fcntl.LOCK_UN)
        finally:
            self.lock.release()

    @staticmethod
    def _take(fd: int, deadline: float) -> bool:
        """The lock file, tried every fraction of a millisecond until the busy timeout;
        past it, go on without (SQLite's own lock still decides, and times out as before)."""
        assert fcntl is not None
        pause = 0.0002
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return True
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    return False
                time.sleep(pause)
                pause = min(pause * 2, 0.001)

    def close(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None


class _ReadAudit:
    """Audit lines of reads, written together by a background thread.

    Every read of a person's data is audited, and a write transaction per read made every
    read wait its turn behind the writers (on SQLite, one at a time for the whole file).
    Reads queue their line here instead (with the time of the read) and a thread writes
    what has queued every AUDIT_FLUSH_SECONDS in one transaction. What a crash of the
    process can lose: the read-audit lines of its last fraction of a second — never data a
    person entered, and never the audit line of a change, which is written in the change's
    own transaction. Lines about a person deleted in the meantime are dropped (the
    deletion removes that person's audit lines and leaves one line saying it happened).
    A read repeated by the same reader from the same address within
    AUDIT_READ_REPEAT_SECONDS is not written again: its first line stands for it."""

    def __init__(self, database: Database) -> None:
        self.database = weakref.ref(database)
        self.lines: list[dict[str, Any]] = []
        self.lock = threading.Lock()
        self.flushing = threading.Lock()
        self.wake = threading.Event()
        self.thread: threading.Thread | None = None
        self.closed = False
        self.recent: dict[tuple[Any, ...], float] = {}

    def add(self, line: dict[str, Any]) -> None:
        key = tuple(
            line.get(k) for k in ("actor", "user_id", "address", "patient_id", "action", "detail")
        )
        now = time.monotonic()
        with self.lock:
            last = self.recent.get(key)
            if last is not None and now - last < AUDIT_READ_REPEAT_SECONDS:
                return
            if len(self.recent) > 10_000:
                self.recent = {
                    k: t for k, t in self.recent.items() if now - t < AUDIT_READ_REPEAT_SECONDS
                }
            self.recent[key] = now
            self.lines.append(line)
            if self.thread is None and not self.closed:
                self.thread = threading.Thread(
                    target=self._run, name="groundup-read-audit", daemon=True
                )
                self.thread.start()

    def _run(self) -> None:
        while not self.closed and self.database() is not None:
            self.wake.wait(AUDIT_FLUSH_SECONDS)
            self.wake.clear()
            try:
                self.flush()
            except Exception:  # the lines stay queued and are tried again
                time.sleep(AUDIT_FLUSH_SECONDS)

    def flush(self) -> None:
        from groundup.storage.models import AuditEntry, Patient

        database = self.database()
        with self.flushing:
            with self.lock:
                lines, self.lines = self.lines, []
            if not lines or database is None:
                return
            try:
                with database.transaction(durable=False) as session:
                    ids = {line["patient_id"] for line in lines} - {None}
                    # FOR SHARE on PostgreSQL: a deletion waits for these lines, then
                    # removes them with the rest of the person's audit trail.
                    alive = set(
                        session.scalars(
                            select(Patient.id).where(Patient.id.in_(ids)).with_for_update(read=True)
                        )
                    )
                    kept = [
                        line
                        for line in lines
                        if line["patient_id"] in alive or line["patient_id"] is None
                    ]
                    if kept:
                        session.execute(insert(AuditEntry), kept)
            except BaseException:
                with self.lock:
                    self.lines[:0] = lines
                raise

    def close(self) -> None:
        """Stop the thread and write what is queued (a later line starts it again)."""
        with self.lock:
            self.closed = True
            thread, self.thread = self.thread, None
        self.wake.set()
        if thread is not None:
            thread.join(timeout=5)
        try:
            self.flush()
        finally:
            with self.lock:
                self.closed = False


def _flush_all_at_exit(audits: weakref.WeakSet[_ReadAudit]) -> None:
    for audit in list(audits):
        with contextlib.suppress(Exception):  # the process is ending; nobody to tell
            audit.close()


_AUDITS: weakref.WeakSet[_ReadAudit] = weakref.WeakSet()
atexit.register(_flush_all_at_exit, _AUDITS)


class Database:
    """An engine, its session factory, and the schema brought up to date."""

    def __init__(self, url: str, *, migrate: bool = True) -> None:
        self.url = url
        self.engine = make_engine(url)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)
        self._writers = _WriterQueue(self.engine)
        self._read_audit = _ReadAudit(self)
        self._reading: contextvars.ContextVar[Session | None] = contextvars.ContextVar(
            f"groundup_reading_{id(self)}", default=None
        )
        _AUDITS.add(self._read_audit)
        self._readers = sessionmaker(
            self.engine.execution_options(**{READ_ONLY: True}), expire_on_commit=False
        )
        if migrate:
            self.upgrade()

    def upgrade(self, revision: str = "head") -> None:
        try:
            with _MIGRATING, self.engine.begin() as connection:
                if connection.dialect.name == "postgresql":
                    # Several servers starting at once on one database take turns here.
                    connection.execute(
                        text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK}
                    )
                config = alembic_config(self.url)
                config.attributes["connection"] = connection
                command.upgrade(config, revision)
        except Exception as exc:
            raise DatabaseError(f"cannot prepare the database at {self.safe_url}: {exc}") from exc

    def downgrade(self, revision: str) -> None:
        with _MIGRATING, self.engine.begin() as connection:
            config = alembic_config(self.url)
            config.attributes["connection"] = connection
            command.downgrade(config, revision)

    @property
    def safe_url(self) -> str:
        return make_url(self.url).render_as_string(hide_password=True)

    @contextmanager
    def transaction(self, *, durable: bool = True) -> Iterator[Session]:
        """One unit of work: committed when the block ends, rolled back on any error.

        `durable=False` is for a read that only writes its audit line: on PostgreSQL its
        commit does not wait for the disk (a server crash can lose the last such lines,
        never data a person entered)."""
        with self._writers.turn(), self.sessions() as session, session.begin():
            if not durable and self.engine.dialect.name == "postgresql":
                session.execute(text("SET LOCAL synchronous_commit TO OFF"))
            yield session

    @contextmanager
    def reading(self) -> Iterator[Session]:
        """A unit of work that only reads: on SQLite it does not wait for the write lock
        (nor hold it), and sees the database as of its first read.

        Inside another `reading()` of the same database (in the same thread or task) it
        is that one: a request that checks its caller and then reads takes one connection
        and one snapshot, not one per step."""
        outer = self._reading.get()
        if outer is not None:
            yield outer
            return
        with self._readers() as session, session.begin():
            mark = self._reading.set(session)
            try:
                yield session
            finally:
                self._reading.reset(mark)

    def audit_read(self, line: dict[str, Any]) -> None:
        """Record that someone read a person's data (the columns of an audit line but its
        time); written within AUDIT_FLUSH_SECONDS by a background thread (see
        `_ReadAudit`), so the read itself writes nothing."""
        self._read_audit.add({**line, "at": dt.datetime.now(dt.UTC)})

    def flush_audit(self) -> None:
        """Write the queued read-audit lines now."""
        self._read_audit.flush()

    def dispose(self) -> None:
        self._read_audit.close()
        self._writers.close()
        self.engine.dispose()
