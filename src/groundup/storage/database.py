"""The database: one engine and session factory per URL, migrations run on first use.

SQLite (the default) gets WAL mode, foreign keys and a busy timeout so that concurrent
writers wait instead of failing, and its writers take turns through a lock file;
PostgreSQL is used as it is.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import resources
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.orm import Session, sessionmaker

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows has none: SQLite's busy handler alone
    fcntl = None  # type: ignore[assignment]

SQLITE_BUSY_TIMEOUT_MS = 30_000
READ_ONLY = "groundup_read_only"
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


def make_engine(url: str) -> Engine:
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise DatabaseError(f"database URL {url!r} is not valid: {exc}") from exc
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}, future=True
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


class Database:
    """An engine, its session factory, and the schema brought up to date."""

    def __init__(self, url: str, *, migrate: bool = True) -> None:
        self.url = url
        self.engine = make_engine(url)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)
        self._writers = _WriterQueue(self.engine)
        self._readers = sessionmaker(
            self.engine.execution_options(**{READ_ONLY: True}), expire_on_commit=False
        )
        if migrate:
            self.upgrade()

    def upgrade(self, revision: str = "head") -> None:
        try:
            with _MIGRATING, self.engine.begin() as connection:
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
        (nor hold it), and sees the database as of its first read."""
        with self._readers() as session, session.begin():
            yield session

    def dispose(self) -> None:
        self._writers.close()
        self.engine.dispose()
