"""A server killed with SIGKILL in the middle of a burst of session logs loses nothing it
acknowledged, stores nothing twice, and leaves a database that passes its integrity checks.

The real `groundup serve` runs as a subprocess (its own process group) on SQLite and on a
fresh PostgreSQL database. Several threads post session logs over real HTTP, each with its
own person and unique log ids; once enough have been acknowledged the whole process group
gets SIGKILL. After a restart: every log that got a 2xx is stored exactly once, the ones that
were in flight are retried (each stored once, whether or not the killed server had committed
it), and the database checks clean — SQLite's integrity and foreign-key checks, and on
PostgreSQL the same relations checked by query plus amcheck over every B-tree index.
"""

from __future__ import annotations

import signal
import threading
import time
from collections import Counter
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, select, text

from groundup.clinical.logs import SessionLog
from groundup.storage.database import Database
from groundup.storage.models import SessionLogRecord
from live_server import Person, Server, seed

PEOPLE = 6
DAYS = 40
KILL_AFTER_ACKS = 36


def burst(server: Server, people: list[Person], token: str) -> int:
    """Each person's sessions posted in order from their own thread; SIGKILL once enough
    were acknowledged. Returns how many were acknowledged before the kill."""
    headers = {"Authorization": f"Bearer {token}"}
    bodies = {p.id: [p.body(day) for day in range(DAYS)] for p in people}
    acknowledged = threading.Semaphore(0)
    stop = threading.Event()
    failures: list[str] = []

    def post_all(person: Person) -> None:
        with httpx.Client(base_url=server.base, headers=headers, timeout=60) as client:
            for body in bodies[person.id]:
                if stop.is_set():
                    return
                person.in_flight.append(body["id"])
                person.sent += 1
                try:
                    response = client.post(f"/api/v1/patients/{person.id}/sessions", json=body)
                except httpx.HTTPError:
                    return  # the server is gone; what was in flight is unknown
                if response.status_code not in (200, 201):
                    failures.append(f"{body['id']}: {response.status_code} {response.text}")
                    return
                person.in_flight.remove(body["id"])
                person.acknowledged.append(body["id"])
                acknowledged.release()

    threads = [threading.Thread(target=post_all, args=(p,), daemon=True) for p in people]
    for thread in threads:
        thread.start()
    count = 0
    deadline = time.monotonic() + 300
    while count < KILL_AFTER_ACKS and time.monotonic() < deadline:
        if acknowledged.acquire(timeout=1):
            count += 1
        elif not any(t.is_alive() for t in threads):
            break
    server.kill()
    stop.set()
    for thread in threads:
        thread.join(timeout=90)
    assert not failures, failures
    assert count >= KILL_AFTER_ACKS, f"only {count} logs were acknowledged before the kill"
    return count


def stored_ids(server: Server, person: Person, token: str) -> list[str]:
    """Every session log id the API lists for a person (all pages)."""
    ids: list[str] = []
    offset = 0
    while True:
        response = httpx.get(
            f"{server.base}/api/v1/patients/{person.id}/sessions",
            params={"limit": 200, "offset": offset},
            headers={"Authorization": f"Bearer {token}"},
            timeout=60,
        )
        assert response.status_code == 200, response.text
        page = response.json()
        ids += [item["id"] for item in page["items"]]
        offset += len(page["items"])
        if offset >= page["total"] or not page["items"]:
            return ids


def check_sqlite(url: str) -> None:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA integrity_check").scalars().all() == ["ok"]
            assert connection.exec_driver_sql("PRAGMA foreign_key_check").all() == []
    finally:
        engine.dispose()


def check_postgres(url: str) -> None:
    """The relations the foreign keys promise, checked by query, and every B-tree index
    verified against its table with amcheck."""
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            unscheduled = connection.execute(
                text(
                    "SELECT count(*) FROM scheduled_sessions s WHERE s.session_log_id IS NOT "
                    "NULL AND NOT EXISTS (SELECT 1 FROM session_logs l WHERE "
                    "l.log_id = s.session_log_id AND l.patient_id = s.patient_id)"
                )
            ).scalar_one()
            assert unscheduled == 0, "scheduled sessions marked done by a log that is not there"
            connection.execute(text("CREATE EXTENSION IF NOT EXISTS amcheck"))
            indexes = connection.execute(
                text(
                    "SELECT c.oid::regclass::text FROM pg_index i "
                    "JOIN pg_class c ON c.oid = i.indexrelid "
                    "JOIN pg_am a ON a.oid = c.relam "
                    "JOIN pg_namespace n ON n.oid = c.relnamespace "
                    "WHERE a.amname = 'btree' AND n.nspname = 'public'"
                )
            ).scalars()
            checked = 0
            for index in indexes:
                connection.execute(
                    text("SELECT bt_index_check(CAST(:i AS regclass), true)"), {"i": index}
                )
                checked += 1
            assert checked >= 10, f"only {checked} indexes found to check"
    finally:
        engine.dispose()


@pytest.mark.slow
@pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def test_a_killed_server_keeps_every_acknowledged_log_once(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    url = (
        f"sqlite:///{tmp_path / 'crash.db'}"
        if backend == "sqlite"
        else str(request.getfixturevalue("postgres_url"))
    )
    people, token = seed(url, PEOPLE, DAYS)
    server = Server(url, tmp_path)
    server.start()
    try:
        burst(server, people, token)
        assert server.process is not None and server.process.returncode == -signal.SIGKILL
        server.start()
        acknowledged = [i for p in people for i in p.acknowledged]
        in_flight = [i for p in people for i in p.in_flight]
        assert in_flight, "the kill came between requests: nothing was in flight"
        for person in people:
            ids = stored_ids(server, person, token)
            counts = Counter(ids)
            assert [i for i, n in counts.items() if n > 1] == [], "a log is stored twice"
            missing = [i for i in person.acknowledged if counts[i] != 1]
            assert missing == [], f"acknowledged but not stored: {missing}"
            unknown = set(ids) - set(person.acknowledged) - set(person.in_flight)
            assert not unknown, f"stored but never sent: {unknown}"

        # The in-flight ones are retried with the same id and body: each is then stored
        # once, whether the killed server had committed it (200, a duplicate) or not (201).
        retried = 0
        with httpx.Client(
            base_url=server.base, headers={"Authorization": f"Bearer {token}"}, timeout=60
        ) as client:
            for person in people:
                for day, log_id in enumerate_sent(person):
                    body = person.body(day) | {"id": log_id}
                    response = client.post(f"/api/v1/patients/{person.id}/sessions", json=body)
                    assert response.status_code in (200, 201), response.text
                    retried += 1
        assert retried == len(in_flight)
        expected_total = len(acknowledged) + len(in_flight)
        for person in people:
            ids = stored_ids(server, person, token)
            assert sorted(ids) == sorted(person.acknowledged + person.in_flight)
    finally:
        server.stop()

    database = Database(url)
    try:
        with database.transaction() as session:
            rows = session.scalars(select(SessionLogRecord)).all()
            assert len(rows) == expected_total
            sets_per_session = sum(d.sets for s in people[0].program.slots for d in s.doses)
            for row in rows:  # every acknowledged session whole, sets and all
                logged = SessionLog.model_validate(row.data)
                assert sum(len(e.sets) for e in logged.exercises) == sets_per_session, row.log_id
    finally:
        database.dispose()
    (check_sqlite if backend == "sqlite" else check_postgres)(url)


def enumerate_sent(person: Person) -> list[tuple[int, str]]:
    """(day, id) of each in-flight log: its day is its position in the person's sequence."""
    return [(int(log_id.split("-")[2]), log_id) for log_id in person.in_flight]
