"""Many writers on one SQLite database at once: nobody is ever told "database is locked",
and the same log id sent by several writers at the same moment is stored once.

Writers are threads (each with its own engine, as separate programs would have), forked
processes, and HTTP clients against the real `groundup serve` with several worker
processes. They log for different people and for the same person, and some send the very
same session at the very same moment (a retry racing the original).
"""

from __future__ import annotations

import multiprocessing
import threading
import traceback
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from groundup.clinical.logs import SessionLog
from groundup.knowledge import load_rules
from groundup.services import Services
from groundup.storage.database import Database
from groundup.storage.models import SessionLogRecord
from live_server import Person, Server, seed

DAYS = 24  # within the first schedule, so any day may be logged in any order


def _services(url: str) -> Services:
    return Services(Database(url), load_rules(), actor="concurrency")


def _together(workers: list[Callable[[], Any]]) -> list[Any]:
    """Run the workers in threads released at the same moment; their results or errors."""
    barrier = threading.Barrier(len(workers))
    results: list[Any] = [None] * len(workers)

    def run(index: int, work: Callable[[], Any]) -> None:
        barrier.wait()
        try:
            results[index] = work()
        except Exception as exc:
            results[index] = exc
            traceback.print_exc()

    threads = [threading.Thread(target=run, args=(i, w)) for i, w in enumerate(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=600)
    assert not any(t.is_alive() for t in threads), "a writer never finished"
    return results


def _no_errors(results: list[Any]) -> None:
    errors = [r for r in results if isinstance(r, BaseException)]
    assert not errors, f"{len(errors)} writers failed, first: {errors[0]!r}"
    assert not any("locked" in str(r).lower() for r in results)


def _stored(url: str) -> Counter[tuple[str, str]]:
    database = Database(url)
    try:
        with database.transaction() as session:
            rows = session.execute(select(SessionLogRecord.patient_id, SessionLogRecord.log_id))
            return Counter((pid, log_id) for pid, log_id in rows)
    finally:
        database.dispose()


def _log_days(url: str, person: Person, days: list[int]) -> list[str]:
    services = _services(url)
    try:
        ids = []
        for day in days:
            body = person.body(day)
            services.log_session(person.id, SessionLog.model_validate(body))
            ids.append(body["id"])
        return ids
    finally:
        services.db.dispose()


@pytest.mark.slow
def test_threads_write_to_many_people_and_to_one_person_at_once(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'c.db'}"
    people, _ = seed(url, 5, DAYS)
    shared = people[0]
    work: list[Callable[[], Any]] = []
    # Four people each get a writer of their own: every day, in order.
    for person in people[1:]:
        work.append(lambda p=person: _log_days(url, p, list(range(DAYS))))
    # The first person gets four writers at once, on interleaved days.
    for k in range(4):
        work.append(lambda k=k: _log_days(url, shared, list(range(k, DAYS, 4))))
    results = _together(work)
    _no_errors(results)
    stored = _stored(url)
    sent = [
        (p.id, i) for p, ids in zip([*people[1:], *[shared] * 4], results, strict=True) for i in ids
    ]
    assert sorted(stored) == sorted(sent)
    assert set(stored.values()) == {1}


@pytest.mark.slow
def test_the_same_log_sent_by_many_writers_at_once_is_stored_once(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'c.db'}"
    (person,), _ = seed(url, 1, DAYS)
    for day in (0, 5, 11):
        body = person.body(day)

        def send(body: dict[str, Any] = body) -> Any:
            services = _services(url)
            try:
                return services.log_session(person.id, SessionLog.model_validate(body))
            finally:
                services.db.dispose()

        outcomes = _together([send] * 8)
        _no_errors(outcomes)
        assert sorted(o.duplicate for o in outcomes) == [False] + [True] * 7
        assert _stored(url)[(person.id, body["id"])] == 1
    assert sum(_stored(url).values()) == 3


def _process_writer(url: str, person: Person, days: list[int], queue: Any) -> None:
    try:
        queue.put(("ok", _log_days(url, person, days)))
    except BaseException as exc:
        queue.put(("error", f"{type(exc).__name__}: {exc}"))


@pytest.mark.slow
def test_separate_processes_write_at_once(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'c.db'}"
    people, _ = seed(url, 3, DAYS)
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    jobs = [(people[0], list(range(0, DAYS, 2))), (people[0], list(range(1, DAYS, 2)))]
    jobs += [(p, list(range(DAYS))) for p in people[1:]]
    processes = [
        context.Process(target=_process_writer, args=(url, p, days, queue)) for p, days in jobs
    ]
    for process in processes:
        process.start()
    answers = [queue.get(timeout=600) for _ in processes]
    for process in processes:
        process.join(timeout=60)
        assert process.exitcode == 0
    errors = [a[1] for a in answers if a[0] == "error"]
    assert not errors, errors
    stored = _stored(url)
    assert sum(len(a[1]) for a in answers) == len(stored) == 2 * DAYS + DAYS
    assert set(stored.values()) == {1}


@pytest.mark.slow
def test_http_writers_on_several_workers_never_see_a_locked_database(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'c.db'}"
    people, token = seed(url, 4, DAYS)
    server = Server(url, tmp_path, workers=3)
    server.start()
    headers = {"Authorization": f"Bearer {token}"}
    try:

        def post_days(person: Person, days: list[int]) -> list[tuple[str, int, str]]:
            answers = []
            with httpx.Client(base_url=server.base, headers=headers, timeout=120) as client:
                for day in days:
                    body = person.body(day)
                    response = client.post(f"/api/v1/patients/{person.id}/sessions", json=body)
                    answers.append((body["id"], response.status_code, response.text))
            return answers

        def post_same(person: Person, body: dict[str, Any]) -> list[tuple[str, int, str]]:
            with httpx.Client(base_url=server.base, headers=headers, timeout=120) as client:
                response = client.post(f"/api/v1/patients/{person.id}/sessions", json=body)
                return [(body["id"], response.status_code, response.text)]

        shared, *others = people
        work: list[Callable[[], Any]] = [
            lambda p=p: post_days(p, list(range(0, DAYS, 2))) for p in others
        ]
        work += [lambda k=k: post_days(shared, list(range(k, DAYS, 3))) for k in range(1, 3)]
        raced = shared.body(0)
        work += [lambda: post_same(shared, raced)] * 6
        results = _together(work)
        _no_errors(results)
        answers = [a for result in results for a in result]
        bad = [(i, s, t) for i, s, t in answers if s not in (200, 201)]
        assert not bad, bad[:3]
        assert not [t for _, _, t in answers if "locked" in t.lower()]
        raced_statuses = sorted(s for i, s, _ in answers if i == raced["id"])
        assert raced_statuses == [200] * 5 + [201]
    finally:
        server.stop()
    for run in range(1, server.runs + 1):
        log = (tmp_path / f"server-{run}.log").read_text(errors="replace")
        assert "database is locked" not in log
        assert "Traceback" not in log
    stored = _stored(url)
    assert set(stored.values()) == {1}
    assert len(stored) == len({i for result in results for i, _, _ in result})
    database = Database(url)
    try:
        with database.transaction() as session:
            total = session.scalar(select(func.count()).select_from(SessionLogRecord))
            assert total == len(stored)
    finally:
        database.dispose()


def test_threads_open_the_same_database_at_once(database_url: str) -> None:
    """Alembic's migration runner is module-wide state: threads that open the database at the
    same moment (the first time, and again once it is up to date) must not trip over it."""
    for _ in range(2):
        results = _together([lambda: Database(database_url).dispose()] * 8)
        _no_errors(results)
