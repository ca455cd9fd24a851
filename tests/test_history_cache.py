"""The events a process keeps parsed between requests (Services._history): what it reads
is always what a fresh read of the database gives, with several processes writing for
one person, after a failed write, and after a person is deleted and imported again."""

from __future__ import annotations

import datetime as dt

import pytest

from groundup.clinical.logs import CheckIn
from groundup.knowledge import load_rules
from groundup.services import Services
from groundup.services.workflow import ServiceError
from groundup.storage.database import Database
from test_services import first_session, started

TODAY = dt.date(2025, 7, 1)


def days(services: Services, pid: str, start: dt.date, count: int) -> list[dt.date]:
    program = services.program(pid)
    found = [start + dt.timedelta(days=n) for n in range(count * 7)]
    return [d for d in found if program.is_training_day(d)][:count]


def fresh(database: Database) -> Services:
    return Services(database, load_rules(), actor="test", clock=lambda: TODAY)


def test_two_processes_writing_for_one_person_read_every_event(database: Database) -> None:
    one, two = fresh(database), fresh(database)
    pid, start = started(one)
    for n, day in enumerate(days(one, pid, start, 8)):
        writer = one if n % 2 else two
        writer.log_session(pid, first_session(writer, pid, day, log_id=f"s{n}"))
        if n % 3 == 0:
            (two if n % 2 else one).record_checkin(
                pid,
                CheckIn(date=day + dt.timedelta(days=1), pain_on_waking=2, stiffness_on_waking=1),
            )
        expected = fresh(database).history(pid)
        assert one.history(pid) == expected
        assert two.history(pid) == expected
    assert len(expected) == 8 + 3


def test_a_failed_write_leaves_no_event_behind(database: Database) -> None:
    services = fresh(database)
    pid, start = started(services)
    first, second = days(services, pid, start, 2)
    services.log_session(pid, first_session(services, pid, first, log_id="s0"))
    services.history(pid)
    log = first_session(services, pid, second, log_id="s1")

    def fail(*_args: object) -> None:
        raise ServiceError("the schedule could not be written")

    original = services._schedule
    services._schedule = fail  # type: ignore[method-assign]
    with pytest.raises(ServiceError):
        services.log_session(pid, log)  # the session was read into the history, then undone
    services._schedule = original  # type: ignore[method-assign]
    assert services.history(pid) == fresh(database).history(pid)
    assert [e.id for e in services.history(pid) if hasattr(e, "exercises")] == ["s0"]
    services.log_session(pid, log)
    assert services.history(pid) == fresh(database).history(pid)


def test_only_new_events_are_read_again(database: Database) -> None:
    services = fresh(database)
    pid, start = started(services)
    read: list[int] = []
    real = services._read_events

    def spy(session, patient_id, after):  # type: ignore[no-untyped-def]
        found = real(session, patient_id, after)
        read.append(len(found))
        return found

    services._read_events = spy  # type: ignore[method-assign]
    for n, day in enumerate(days(services, pid, start, 6)):
        services.log_session(pid, first_session(services, pid, day, log_id=f"s{n}"))
    # The first log reads its one event; each later one the newest two (the one before,
    # kept back in case it was not committed, and its own).
    assert read == [1, 2, 2, 2, 2, 2]
    assert services.history(pid) == fresh(database).history(pid)


def test_a_person_deleted_and_imported_again_is_read_anew(database: Database) -> None:
    services = fresh(database)
    pid, start = started(services)
    for n, day in enumerate(days(services, pid, start, 3)):
        services.log_session(pid, first_session(services, pid, day, log_id=f"s{n}"))
    exported = services.export_person(pid)
    before = services.history(pid)
    services.delete_person(pid)
    shorter = exported | {"events": exported["events"][:1], "decisions": []}
    shorter["program_versions"] = exported["program_versions"][:1]
    services.import_person(shorter)
    assert services.history(pid) == fresh(database).history(pid) == before[:1]


def test_the_events_kept_stay_within_their_bound(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    from groundup.services import workflow

    monkeypatch.setattr(workflow, "HISTORY_CACHE_EVENTS", 4)
    services = fresh(database)
    people = [started(services) for _ in range(3)]
    for n in range(3):
        for pid, start in people:
            day = days(services, pid, start, 3)[n]
            services.log_session(pid, first_session(services, pid, day, log_id=f"s{n}"))
            assert services._history_kept <= 4
            assert sum(kept for _, kept, _ in services._history_cache.values()) == (
                services._history_kept
            )
    for pid, _ in people:
        assert services.history(pid) == fresh(database).history(pid)
