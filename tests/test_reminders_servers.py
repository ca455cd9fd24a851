"""Exactly once on several servers: two real `groundup serve` processes share one
PostgreSQL database and one SMTP server (aiosmtpd, counting what it accepts). 500
reminders fall due at once; one server is killed (SIGKILL) while they are being sent, and
the other finishes. Every reminder arrives exactly once."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from groundup.services.reminders import SEND_JOB
from groundup.storage.database import Database
from groundup.storage.models import Job
from groundup.synthetic import seed_due_reminders
from live_server import EXAMPLE, Server
from mail_sink import mail_sink

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

PEOPLE = 500
KILL_AFTER = 150  # messages accepted before one server is killed
DEADLINE_SECONDS = 180


def test_two_servers_send_500_due_reminders_exactly_once_though_one_is_killed(
    postgres_url: str, tmp_path: Path
) -> None:
    with mail_sink(delay=0.02) as sink:
        env = {
            "GROUNDUP_SMTP_URL": sink.url,
            "GROUNDUP_PUBLIC_URL": "https://groundup.clinic.example",
            "GROUNDUP_PLAN_EVERY_SECONDS": "2",
            "GROUNDUP_WORKER_POLL_SECONDS": "0.2",
            "GROUNDUP_JOB_LEASE_SECONDS": "5",
        }
        servers = []
        for name in ("a", "b"):
            home = tmp_path / name
            home.mkdir()
            servers.append(Server(postgres_url, home, env=env))
        doomed, survivor = servers
        try:
            for server in servers:
                server.start()
            expected = seed_due_reminders(postgres_url, PEOPLE, dt.datetime.now(dt.UTC), EXAMPLE)
            deadline = time.monotonic() + DEADLINE_SECONDS
            while sink.count() < KILL_AFTER:
                assert time.monotonic() < deadline, f"too slow:\n{doomed.log()}\n{survivor.log()}"
                time.sleep(0.05)
            assert doomed.process is not None
            doomed_pid = doomed.process.pid
            doomed.kill()
            at_kill = sink.count()
            assert at_kill < PEOPLE, "the run was over before the kill: make the sink slower"
            while sink.count() < PEOPLE:
                assert time.monotonic() < deadline, (
                    f"{sink.count()} of {PEOPLE} arrived:\n{survivor.log()}"
                )
                time.sleep(0.1)
            # Long enough for any job the killed server held to be taken over and, were
            # anything wrong, sent a second time.
            time.sleep(8)
            messages = sink.messages()
            recipients = [r for m in messages for r in m.recipients]
            assert len(messages) == PEOPLE, f"{len(messages)} messages for {PEOPLE} reminders"
            assert sorted(recipients) == sorted(expected)
            assert len({m.message["Message-ID"] for m in messages}) == PEOPLE
            database = Database(postgres_url, migrate=False)
            try:
                with database.reading() as session:
                    states = dict(
                        session.execute(
                            select(Job.state, func.count())
                            .where(Job.kind == SEND_JOB)
                            .group_by(Job.state)
                        ).all()
                    )
                    workers = session.scalars(
                        select(Job.worker).where(Job.kind == SEND_JOB).distinct()
                    ).all()
            finally:
                database.dispose()
            assert states == {"done": PEOPLE}
            pids = {int(str(w).split(":")[1]) for w in workers}
            assert survivor.process is not None
            assert pids == {doomed_pid, survivor.process.pid}, "both servers sent reminders"
        finally:
            for server in servers:
                server.stop()
