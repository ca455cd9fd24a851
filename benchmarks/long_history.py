"""People with long histories, for the benchmarks: grown through the real services, then
copied row for row.

`grow` walks one person through their program through `Services`, one event at a time as
the app stores them: every day a session done as prescribed (the day's program, every set
of every exercise; `groundup.simulation`'s synthetic person), a morning check-in after
each training day, a retest each of the first two times the engine asks for one, and a
flare-up (a session with a pain spike and a bad morning after it). It reports the
processor time of every logged session with how many sessions came before it.

`clone_person` copies one person's rows to new people in bulk: whatever tables the
database holds that belong to a person (found from the schema, so it works on any layout
of them), with fresh ids, so that hundreds of people with a year of history exist in
seconds rather than hours.
"""

from __future__ import annotations

import datetime as dt
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import MetaData, Table, func, insert, select, text
from sqlalchemy.engine import Engine

ROOT = Path(__file__).resolve().parent.parent

# A steady person with one flare-up (session 150: pain 7 in the main work, a morning of 6).
SCENARIO: dict[str, Any] = {
    "name": "year",
    "weeks": 1,  # unused: grow() walks as many days as asked
    "session_pain": (3, 2, 2, 1),
    "morning_pain": (3, 2, 1),
    "effort": (6.0,),
    "spike_sessions": (150,),
    "jitter": True,
}


@dataclass
class Grown:
    patient_id: str
    start: dt.date
    days: int = 0
    sessions: int = 0
    checkins: int = 0
    retests: int = 0
    decisions: int = 0
    # (sessions of history before this log, processor seconds of the log)
    log_cpu: list[tuple[int, float]] = field(default_factory=list)


def new_person(services: Any, start: dt.date, name: str = "Long History") -> str:
    """Enrol, screen and plan a person with the clear-left-calf intake, training daily."""
    from groundup.cli.files import read_document
    from groundup.clinical.assessment import Assessment
    from groundup.clinical.program import Preferences
    from groundup.clinical.screening import ScreenAnswers

    intake = read_document(ROOT / "examples" / "clear-left-calf.yaml")
    answers = ScreenAnswers.model_validate(intake["screen"])
    assessment = Assessment.model_validate({**intake["assessment"], "date": start.isoformat()})
    preferences = Preferences(training_days=(0, 1, 2, 3, 4, 5, 6), minutes_per_session=30)
    patient_id = str(services.enrol(name))
    services.record_screen(patient_id, answers, start)
    services.start_program(patient_id, assessment, preferences, day=start)
    return patient_id


def grow(
    services: Any,
    patient_id: str,
    days: int,
    *,
    grown: Grown | None = None,
    seed: int = 1,
    at_day: Callable[[Grown], None] | None = None,
) -> Grown:
    """Walk the person `days` more days through the services (see the module's text)."""
    from groundup.clinical.logs import CheckIn, Retest
    from groundup.simulation import Scenario, _session, retest_assessment

    scenario = Scenario.model_construct(**SCENARIO)
    program = services.program(patient_id)
    if grown is None:
        grown = Grown(patient_id, program.start_date)
    rng = random.Random(seed + grown.days)
    baseline = services.assessments(patient_id)[0][2]
    retest_wanted = False
    for _ in range(days):
        day = grown.start + dt.timedelta(days=grown.days)
        week = grown.days // 7
        if grown.sessions:
            spiked = grown.sessions in scenario.spike_sessions
            morning = (
                scenario.spike_morning
                if spiked
                else int(scenario.morning_pain[min(week, len(scenario.morning_pain) - 1)])
            )
            made = services.record_checkin(
                patient_id,
                CheckIn(date=day, pain_on_waking=morning, stiffness_on_waking=1),
            )
            grown.checkins += 1
            grown.decisions += len(made)
            retest_wanted |= _asks_retest(made)
        if retest_wanted and grown.retests < 2:
            assessment = retest_assessment(baseline, scenario, grown.days / 7, day)
            made = services.record_retest(patient_id, assessment, day)
            grown.retests += 1
            grown.decisions += len(made)
        retest_wanted = False
        program = services.program(patient_id)
        if program.is_training_day(day) and not program.state.referred:
            log = _session(program, day, grown.sessions + 1, week, scenario, rng)
            log = log.model_copy(update={"id": f"{patient_id[:8]}-{grown.sessions + 1:05d}"})
            began = time.process_time()
            outcome = services.log_session(patient_id, log)
            grown.log_cpu.append((grown.sessions, time.process_time() - began))
            grown.sessions += 1
            grown.decisions += len(outcome.decisions)
            retest_wanted |= _asks_retest(outcome.decisions)
        grown.days += 1
        if at_day is not None:
            at_day(grown)
    _ = Retest  # the engine's retest events come from record_retest
    return grown


def _asks_retest(decisions: Any) -> bool:
    return any(d.rule in ("prompt.retest", "prompt.retest_due") for d in decisions)


def cpu_at(grown: Grown, history: int, samples: int) -> float | None:
    """Mean processor time (ms) of the `samples` logs made with `history` or more sessions
    of history before them; None if there were not that many."""
    taken = [cpu for before, cpu in grown.log_cpu if before >= history][:samples]
    if len(taken) < samples:
        return None
    return sum(taken) / len(taken) * 1000


# ----- copying a person ---------------------------------------------------------------------

# Not a person's own data (or not wanted in a copy): accounts, audit, sign-ins, jobs.
_SKIP = {"users", "audit_log", "api_tokens", "web_sessions", "alembic_version"}


def _person_tables(metadata: MetaData) -> list[tuple[Table, str, str | None]]:
    """(table, how its rows belong to a person, the parent table) in insertion order:
    "self" for patients, "patient" for tables with patient_id, "parent" for tables whose
    rows hang off another person table's id (a session's sets)."""
    found: list[tuple[Table, str, str | None]] = []
    owned = {"patients"}
    for table in metadata.sorted_tables:
        if table.name in _SKIP:
            continue
        if table.name == "patients":
            found.append((table, "self", None))
        elif "patient_id" in table.c:
            found.append((table, "patient", None))
            owned.add(table.name)
        else:
            for fk in table.foreign_keys:
                parent = fk.column.table.name
                if parent in owned and parent != "patients" and not fk.parent.nullable:
                    found.append((table, "parent", parent))
                    owned.add(table.name)
                    break
    return found


def clone_person(
    engine: Engine, patient_id: str, new_ids: list[tuple[str, int | None, str]]
) -> None:
    """Copy every row of one person to each (new patient id, user id, display name)."""
    metadata = MetaData()
    metadata.reflect(engine)
    tables = _person_tables(metadata)
    postgres = engine.dialect.name == "postgresql"
    with engine.begin() as connection:
        rows: dict[str, list[dict[str, Any]]] = {}
        for table, how, parent in tables:
            if how == "self":
                query = select(table).where(table.c.id == patient_id)
            elif how == "patient":
                query = select(table).where(table.c.patient_id == patient_id)
            else:
                assert parent is not None
                fk = next(f for f in table.foreign_keys if f.column.table.name == parent)
                parent_table = metadata.tables[parent]
                query = select(table).where(
                    fk.parent.in_(
                        select(parent_table.c.id).where(parent_table.c.patient_id == patient_id)
                    )
                )
            rows[table.name] = [dict(r._mapping) for r in connection.execute(query)]
        # Integer ids move by a per-copy offset; references to them move with them.
        integer_ids = {
            t.name
            for t, _, _ in tables
            if "id" in t.c and t.c.id.primary_key and t.name != "patients"
        }
        span = {
            name: max((r["id"] for r in rows[name]), default=0)
            - min((r["id"] for r in rows[name]), default=0)
            + 1
            for name in integer_ids
        }
        top = {
            name: connection.scalar(select(func.max(metadata.tables[name].c.id))) or 0
            for name in integer_ids
        }
        low = {name: min((r["id"] for r in rows[name]), default=0) for name in integer_ids}
        for copy, (new_pid, user_id, name) in enumerate(new_ids):
            offset = {n: top[n] + 1 - low[n] + copy * span[n] for n in integer_ids}
            for table, how, _ in tables:
                references = {
                    fk.parent.name: fk.column.table.name
                    for fk in table.foreign_keys
                    if fk.column.table.name in integer_ids and fk.column.name == "id"
                }
                out = []
                for row in rows[table.name]:
                    new = dict(row)
                    if how == "self":
                        new.update(id=new_pid, user_id=user_id, display_name=name)
                    else:
                        if "patient_id" in new:
                            new["patient_id"] = new_pid
                        if table.name in integer_ids:
                            new["id"] = row["id"] + offset[table.name]
                        for column, target in references.items():
                            if new.get(column) is not None:
                                new[column] = row[column] + offset[target]
                    out.append(new)
                for start in range(0, len(out), 5000):
                    connection.execute(insert(table), out[start : start + 5000])
        if postgres:
            for name in integer_ids:
                connection.execute(
                    text(
                        f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "
                        f"(SELECT COALESCE(MAX(id), 1) FROM {name}))"
                    )
                )


# ----- storage ------------------------------------------------------------------------------


def table_bytes(engine: Engine) -> dict[str, int]:
    """Bytes each table takes with its indexes (SQLite: dbstat pages; PostgreSQL:
    pg_total_relation_size)."""
    with engine.connect() as connection:
        if engine.dialect.name == "postgresql":
            names = connection.execute(
                text("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")
            ).scalars()
            return {
                name: int(connection.scalar(text(f"SELECT pg_total_relation_size('{name}')")) or 0)
                for name in names
            }
        sizes: dict[str, int] = {}
        owners = dict(connection.execute(text("SELECT name, tbl_name FROM sqlite_master")).all())
        for name, size in connection.execute(
            text("SELECT name, SUM(pgsize) FROM dbstat GROUP BY name")
        ):
            owner = owners.get(name, name)
            sizes[owner] = sizes.get(owner, 0) + int(size)
        return sizes
