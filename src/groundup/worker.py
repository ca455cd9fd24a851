"""The worker: runs the job queue's work — planning reminders every minute, sending each
one, tidying up every hour — in every `groundup serve` (a background thread) or alone
(`groundup worker`). Any number of workers on any number of machines may share one
database: the queue (`groundup.storage.jobs`) hands each job to one of them at a time.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import socket
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from groundup.storage.jobs import Claimed, JobQueue, NewJob

if TYPE_CHECKING:
    from groundup.config import Settings
    from groundup.services import Services

log = logging.getLogger("groundup.worker")
TIDY_JOB = "tidy_jobs"


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class Retry(Exception):
    """Not done, worth trying again later (the mail server is down, say)."""


class GiveUp(Exception):
    """Not done, and trying again would not help; the message says why."""


class Later(Exception):
    """Not now: back to the queue until `run_at`, without counting a try."""

    def __init__(self, run_at: dt.datetime, reason: str) -> None:
        super().__init__(reason)
        self.run_at = run_at


@dataclass
class JobRun:
    """A claimed job as its handler sees it. The handler records the job as done at the
    moment its work becomes real — `complete`, or `completing` around its last act (an
    e-mail's final dot) — and delivers only when the job is its own."""

    job: Claimed
    now: dt.datetime
    queue: JobQueue
    clock: Callable[[], dt.datetime]
    completed: bool | None = field(default=None)

    def complete(self, outcome: str = "done") -> bool:
        if self.completed is None:
            self.completed = self.queue.complete(self.job, outcome, self.clock())
        return self.completed

    @contextmanager
    def completing(self, outcome: str) -> Iterator[bool]:
        """`complete`, with the handler's last act inside the recording transaction (see
        JobQueue.completing): True inside the block means the job is this worker's."""
        if self.completed is not None:
            raise RuntimeError("the job was already completed")
        with self.queue.completing(self.job, outcome, self.clock()) as mine:
            yield mine
        self.completed = mine


Handler = Callable[[JobRun], None]


@dataclass(frozen=True)
class Periodic:
    """Work queued once per `every` (per minute, per hour), by whichever worker gets there
    first: the key names the slot, so the others' inserts are ignored."""

    kind: str
    every: dt.timedelta

    def job(self, now: dt.datetime) -> NewJob:
        seconds = int(self.every.total_seconds())
        slot = int(now.timestamp()) // seconds * seconds
        start = dt.datetime.fromtimestamp(slot, dt.UTC)
        return NewJob(self.kind, f"{self.kind}@{start:%Y-%m-%dT%H:%M:%S}", {}, start)


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident() % 100000}"


class Worker:
    """Claims ready jobs and runs their handlers until none is ready, then waits."""

    def __init__(
        self,
        queue: JobQueue,
        handlers: Mapping[str, Handler],
        *,
        periodic: tuple[Periodic, ...] = (),
        clock: Callable[[], dt.datetime] = utc_now,
        poll_seconds: float = 1.0,
        name: str | None = None,
        idle: Callable[[], None] | None = None,
    ) -> None:
        self.queue = queue
        self.handlers = dict(handlers)
        self.periodic = periodic
        self.clock = clock
        self.poll_seconds = poll_seconds
        self.name = name
        self.idle = idle
        self.stopping = threading.Event()
        self._slots: dict[str, str] = {}
        self._thread: threading.Thread | None = None

    def _queue_periodic(self) -> None:
        now = self.clock()
        jobs = [p.job(now) for p in self.periodic]
        fresh = [job for job in jobs if self._slots.get(job.kind) != job.key]
        if fresh:
            self.queue.add(fresh)
            self._slots.update((job.kind, job.key) for job in fresh)

    def run_job(self, job: Claimed) -> None:
        run = JobRun(job, self.clock(), self.queue, self.clock)
        handler = self.handlers.get(job.kind)
        try:
            if handler is None:
                raise GiveUp(f"no handler for jobs of kind {job.kind!r}")
            handler(run)
            run.complete()
        except Later as exc:
            self.queue.postpone(job, exc.run_at, str(exc))
        except GiveUp as exc:
            self.queue.fail(job, str(exc), self.clock())
        except Retry as exc:
            self.queue.retry(job, str(exc), self.clock())
        except Exception as exc:  # a bug or an outage: logged, and tried again later
            log.exception("job %s (%s) failed", job.id, job.kind)
            self.queue.retry(job, f"{type(exc).__name__}: {exc}", self.clock())

    def tick(self) -> int:
        """Queue this slot's periodic work, then run ready jobs until none is left (or the
        worker is stopping). How many ran."""
        self._queue_periodic()
        name = self.name or worker_name()
        count = 0
        while not self.stopping.is_set():
            job = self.queue.claim(name, self.clock())
            if job is None:
                break
            self.run_job(job)
            count += 1
        return count

    def run(self) -> None:
        """Tick until stopped; an outage (the database restarting) is waited out."""
        while not self.stopping.is_set():
            try:
                ran = self.tick()
            except Exception:
                log.exception("the worker could not reach the queue; trying again")
                ran = 0
            if not ran:
                self.between_jobs()
                self.stopping.wait(self.poll_seconds)
        self.between_jobs()

    def between_jobs(self) -> None:
        """Tidy up while there is nothing to do (close the mail connection)."""
        if self.idle is not None:
            try:
                self.idle()
            except Exception:
                log.exception("tidying up between jobs failed")

    def start(self) -> threading.Thread:
        """Run in a background thread (daemon: it never holds the process open)."""
        self.stopping.clear()
        self._thread = threading.Thread(target=self.run, name="groundup-worker", daemon=True)
        self._thread.start()
        return self._thread

    def stop(self, timeout: float = 30) -> None:
        self.stopping.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None


KEEP_FINISHED = dt.timedelta(days=14)
TIDY_EVERY = dt.timedelta(hours=1)


def app_worker(
    services: Services, settings: Settings, *, clock: Callable[[], dt.datetime] = utc_now
) -> Worker:
    """The worker with groundup's jobs: reminders planned every minute (or as set) and
    sent one by one, and finished jobs forgotten after two weeks (checked every hour)."""
    from groundup.services.reminders import PLAN_JOB, SEND_JOB, Reminders

    queue = JobQueue(services.db, lease=dt.timedelta(seconds=settings.job_lease_seconds))
    reminders = Reminders(services, settings, now=clock)
    reminders.prepare()

    def tidy(run: JobRun) -> None:
        run.complete(f"{queue.purge(run.now - KEEP_FINISHED)} finished jobs forgotten")

    return Worker(
        queue,
        {PLAN_JOB: reminders.plan_job, SEND_JOB: reminders.send, TIDY_JOB: tidy},
        periodic=(
            Periodic(PLAN_JOB, dt.timedelta(seconds=settings.plan_every_seconds)),
            Periodic(TIDY_JOB, TIDY_EVERY),
        ),
        clock=clock,
        poll_seconds=settings.worker_poll_seconds,
        idle=reminders.close,
    )
