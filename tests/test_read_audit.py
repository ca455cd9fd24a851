"""Every read of a person's data leaves an audit line, written in batches after the read."""

from __future__ import annotations

import datetime as dt
import threading
import time

import pytest
from sqlalchemy import select

from groundup.knowledge import load_rules
from groundup.services import Services
from groundup.services.workflow import NotFound, progress_data
from groundup.storage.database import Database
from groundup.storage.models import AuditEntry
from test_services import started


def _lines(database: Database, pid: str) -> list[tuple[str, str, str, dt.datetime]]:
    with database.reading() as session:
        rows = session.execute(
            select(AuditEntry.action, AuditEntry.detail, AuditEntry.actor, AuditEntry.at)
            .where(AuditEntry.patient_id == pid, AuditEntry.action.like("read_%"))
            .order_by(AuditEntry.id)
        ).all()
    return [tuple(r) for r in rows]  # type: ignore[misc]


def test_every_read_is_audited_with_its_time(services: Services) -> None:
    pid, first = started(services)
    before = dt.datetime.now(dt.UTC)
    services.today(pid, first)
    services.program(pid)
    services.history(pid)
    services.decisions(pid)
    progress_data(services, pid, first)
    services.db.flush_audit()
    lines = _lines(services.db, pid)
    assert [(a, d) for a, d, _, _ in lines] == [
        ("read_today", first.isoformat()),
        ("read_program", ""),
        ("read_history", ""),
        ("read_decisions", ""),
        ("read_progress", ""),
    ]
    assert {actor for _, _, actor, _ in lines} == {services.actor}
    for *_, at in lines:
        if at.tzinfo is None:  # SQLite gives the stored UTC time back without its zone
            at = at.replace(tzinfo=dt.UTC)
        assert before - dt.timedelta(seconds=1) <= at <= dt.datetime.now(dt.UTC)


def test_read_lines_are_written_without_being_asked(services: Services) -> None:
    pid, first = started(services)
    services.today(pid, first)
    deadline = time.monotonic() + 10
    while not _lines(services.db, pid) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert [a for a, *_ in _lines(services.db, pid)] == ["read_today"]


def test_a_failed_read_leaves_no_line(services: Services) -> None:
    nobody = "0" * 32
    with pytest.raises(NotFound):
        services.today(nobody, dt.date(2025, 3, 4))
    services.db.flush_audit()
    assert _lines(services.db, nobody) == []


def test_queued_lines_of_a_deleted_person_are_not_written(database_url: str) -> None:
    """Two workers: one reads (its line is queued), the other deletes the person."""
    reader_db, deleter_db = Database(database_url), Database(database_url)
    try:
        reader = Services(reader_db, load_rules(), actor="reader")
        deleter = Services(deleter_db, load_rules(), actor="deleter")
        pid, first = started(reader)
        reader.today(pid, first)
        deleter.program(pid)  # queued in the deleting worker: written before the deletion
        deleter.delete_person(pid)
        reader_db.flush_audit()
        deleter_db.flush_audit()
        with deleter_db.reading() as session:
            left = session.scalars(select(AuditEntry).where(AuditEntry.patient_id == pid)).all()
            deletion = session.scalars(
                select(AuditEntry).where(AuditEntry.action == "delete_person")
            ).all()
        assert left == []
        assert len(deletion) == 1 and deletion[0].patient_id is None
    finally:
        reader_db.dispose()
        deleter_db.dispose()


def test_queued_lines_are_written_when_the_database_is_closed(database_url: str) -> None:
    database = Database(database_url)
    services = Services(database, load_rules())
    pid, first = started(services)
    services.today(pid, first)
    database.dispose()
    database = Database(database_url)
    try:
        assert [a for a, *_ in _lines(database, pid)] == ["read_today"]
    finally:
        database.dispose()


def test_a_reading_inside_a_reading_is_the_same_one(database: Database) -> None:
    """The today API checks its caller and reads in one snapshot: nested readings share it,
    other threads and later readings get their own."""
    seen: list[object] = []
    with database.reading() as outer:
        with database.reading() as inner:
            assert inner is outer
        worker = threading.Thread(target=lambda: seen.append(_session_of(database)))
        worker.start()
        worker.join()
    assert seen and seen[0] is not outer
    assert _session_of(database) is not outer


def _session_of(database: Database) -> object:
    with database.reading() as session:
        return session


def test_a_read_repeated_by_the_same_reader_soon_after_is_one_line(
    services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Stepping through a session reads the program at every step; the trail keeps the first
    read of each kind (and each day read), not fourteen copies of it."""
    pid, first = started(services)
    for _ in range(5):
        services.program(pid)
        services.today(pid, first)
    services.today(pid, first + dt.timedelta(days=1))  # another day read: its own line
    services.db.flush_audit()
    assert [(a, d) for a, d, _, _ in _lines(services.db, pid)] == [
        ("read_program", ""),
        ("read_today", first.isoformat()),
        ("read_today", (first + dt.timedelta(days=1)).isoformat()),
    ]
    other = Services(services.db, services.rules, actor="someone else")
    other.program(pid)  # another reader is never folded into the first
    # Once the repeat window has passed, the same read is written again.
    monkeypatch.setattr("groundup.storage.database.AUDIT_READ_REPEAT_SECONDS", 0.0)
    services.program(pid)
    services.db.flush_audit()
    lines = _lines(services.db, pid)
    assert [(a, actor) for a, _, actor, _ in lines[3:]] == [
        ("read_program", "someone else"),
        ("read_program", services.actor),
    ]
