"""The job queue: scheduled work in a table of the app's own database, so that any number
of server processes, on any number of machines, can share it.

- Queuing is idempotent: every job has a `key` naming the work (this reminder, this
  minute's planning run); a second insert of the same key is ignored, whichever server
  makes it.
- Claiming takes one ready job with `SELECT … FOR UPDATE SKIP LOCKED` on PostgreSQL, so
  claimers never wait for each other nor take the same job; SQLite runs one write
  transaction at a time, which gives the same. The claim writes a fresh lease token and
  a lease end.
- Finishing is conditional on the token: only the worker whose lease it still is can mark
  the job done (`complete`, `completing`), and it delivers only while that record is
  being committed. A job whose worker died is claimed again once its lease has run out.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, delete, func, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from groundup.storage.database import Database
from groundup.storage.models import Base, Job

MAX_ATTEMPTS = 5
FIRST_RETRY = dt.timedelta(seconds=30)
LONGEST_RETRY = dt.timedelta(hours=1)


@dataclass(frozen=True)
class NewJob:
    kind: str
    key: str
    payload: dict[str, Any]
    run_at: dt.datetime


@dataclass(frozen=True)
class Claimed:
    """A job this worker holds until `lease_until`, proven by `token`."""

    id: int
    kind: str
    key: str
    payload: dict[str, Any]
    attempts: int
    token: str
    lease_until: dt.datetime


def insert_new(
    session: Session, model: type[Base], rows: list[dict[str, Any]], key: list[str]
) -> int:
    """Insert rows whose `key` columns are not taken yet (INSERT … ON CONFLICT DO NOTHING,
    on PostgreSQL and SQLite alike), in the caller's transaction. How many were new."""
    if not rows:
        return 0
    dialect = session.get_bind().dialect.name
    insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
    columns = [getattr(model, name) for name in key]
    # RETURNING counts what went in on both databases (a row count may not be reported).
    result = session.execute(
        insert(model).values(rows).on_conflict_do_nothing(index_elements=key).returning(*columns)
    )
    return len(result.all())


def queue_jobs(session: Session, jobs: Iterable[NewJob]) -> int:
    """Queue jobs in the caller's transaction; keys already queued are left as they are.
    How many were new."""
    rows = [
        {
            "kind": job.kind,
            "key": job.key,
            "payload": job.payload,
            "state": "queued",
            "run_at": job.run_at,
            "attempts": 0,
            "outcome": "",
            "created_at": dt.datetime.now(dt.UTC),
        }
        for job in jobs
    ]
    return insert_new(session, Job, rows, ["key"])


def retry_delay(attempts: int) -> dt.timedelta:
    """30 s after the first failure, doubling, at most an hour."""
    delay: dt.timedelta = FIRST_RETRY * 2 ** min(max(attempts - 1, 0), 12)
    return min(delay, LONGEST_RETRY)


class JobQueue:
    """The jobs table as a queue, over one database."""

    def __init__(self, database: Database, *, lease: dt.timedelta) -> None:
        self.db = database
        self.lease = lease

    def add(self, jobs: Iterable[NewJob]) -> int:
        with self.db.transaction() as session:
            return queue_jobs(session, jobs)

    def claim(self, worker: str, now: dt.datetime) -> Claimed | None:
        """The oldest ready job (queued and due, or running with its lease run out), now
        this worker's; None when nothing is ready."""
        # Two plain conditions rather than one with OR: each walks the (state, run_at)
        # index to its first row instead of sorting every candidate.
        for ready in (
            and_(Job.state == "queued", Job.run_at <= now),
            and_(Job.state == "running", Job.lease_until < now),
        ):
            claimed = self._claim(ready, worker, now)
            if claimed is not None:
                return claimed
        return None

    def _claim(self, ready: Any, worker: str, now: dt.datetime) -> Claimed | None:
        token = secrets.token_hex(16)
        lease_until = now + self.lease
        pick = (
            select(Job.id)
            .where(ready)
            .order_by(Job.run_at, Job.id)
            .limit(1)
            .with_for_update(skip_locked=True)
            .scalar_subquery()
        )
        with self.db.transaction() as session:
            row = session.execute(
                update(Job)
                .where(Job.id == pick)
                .values(
                    state="running",
                    lease_token=token,
                    lease_until=lease_until,
                    attempts=Job.attempts + 1,
                    worker=worker[:120],
                )
                .returning(Job.id, Job.kind, Job.key, Job.payload, Job.attempts)
                .execution_options(synchronize_session=False)
            ).first()
        if row is None:
            return None
        return Claimed(row.id, row.kind, row.key, row.payload, row.attempts, token, lease_until)

    def _mine(self, job: Claimed, *states: str) -> Any:
        return and_(Job.id == job.id, Job.lease_token == job.token, Job.state.in_(states))

    def complete(self, job: Claimed, outcome: str, now: dt.datetime) -> bool:
        """Record the job as done, if it is still this worker's. Committed on return."""
        with self.completing(job, outcome, now) as mine:
            return mine

    @contextmanager
    def completing(self, job: Claimed, outcome: str, now: dt.datetime) -> Iterator[bool]:
        """Record the job as done, if it is still this worker's, in a transaction that
        commits when the block ends (and rolls back if it raises). The block learns
        whether the job is its own — the row is then locked, so nobody can take it over —
        and does its one last act inside (an e-mail's final dot): the act and the record
        are then only the moment of a commit apart."""
        with self.db.transaction() as session:
            result = session.execute(
                update(Job)
                .where(self._mine(job, "running"))
                .values(state="done", outcome=outcome[:2000], finished_at=now, lease_until=None)
                .execution_options(synchronize_session=False)
            )
            yield bool(getattr(result, "rowcount", 0) == 1)

    def retry(self, job: Claimed, reason: str, now: dt.datetime) -> str:
        """Back to the queue for a later try, or failed after MAX_ATTEMPTS. Also undoes a
        `complete` whose delivery then failed. Which it became: queued or failed."""
        state = "failed" if job.attempts >= MAX_ATTEMPTS else "queued"
        with self.db.transaction() as session:
            session.execute(
                update(Job)
                .where(self._mine(job, "running", "done"))
                .values(
                    state=state,
                    run_at=now + retry_delay(job.attempts),
                    lease_token=None,
                    lease_until=None,
                    finished_at=now if state == "failed" else None,
                    outcome=reason[:2000],
                )
                .execution_options(synchronize_session=False)
            )
        return state

    def fail(self, job: Claimed, reason: str, now: dt.datetime) -> None:
        """Failed for good: trying again would not help."""
        with self.db.transaction() as session:
            session.execute(
                update(Job)
                .where(self._mine(job, "running", "done"))
                .values(
                    state="failed",
                    lease_token=None,
                    lease_until=None,
                    finished_at=now,
                    outcome=reason[:2000],
                )
                .execution_options(synchronize_session=False)
            )

    def postpone(self, job: Claimed, run_at: dt.datetime, reason: str) -> None:
        """Back to the queue until `run_at`, without counting this as a try."""
        with self.db.transaction() as session:
            session.execute(
                update(Job)
                .where(self._mine(job, "running"))
                .values(
                    state="queued",
                    run_at=run_at,
                    attempts=Job.attempts - 1,
                    lease_token=None,
                    lease_until=None,
                    outcome=reason[:2000],
                )
                .execution_options(synchronize_session=False)
            )

    def purge(self, before: dt.datetime) -> int:
        """Forget finished jobs (done or failed) older than `before`."""
        with self.db.transaction() as session:
            result = session.execute(
                delete(Job)
                .where(Job.state.in_(("done", "failed")), Job.finished_at < before)
                .execution_options(synchronize_session=False)
            )
            return max(int(getattr(result, "rowcount", 0) or 0), 0)

    def counts(self) -> dict[str, int]:
        """Jobs by state."""
        with self.db.reading() as session:
            rows = session.execute(select(Job.state, func.count()).group_by(Job.state)).all()
        return {str(state): int(count) for state, count in rows}
