"""A synthetic clinic for measuring at scale: clinicians, their patients, a year of logs.

`random_assessment` and `SCENARIOS` make random but seeded people and the ways they respond;
`build_clinic` loads a whole clinic straight into a database in bulk. Its data comes from
the real core: a few template patients are planned and followed through their programs by
the engine (sessions set by set, check-ins, retests, every decision and program version),
and each synthetic person is one of those templates moved to their own start date within
the year. Loading goes past the services (it would take hours one event at a time) but
writes the same rows they write, with one exception said below.
"""

from __future__ import annotations

import datetime as dt
import json
import random
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, create_engine, insert, select, text
from sqlalchemy.engine import make_url

from groundup.clinical.assessment import Assessment
from groundup.clinical.logs import CheckIn, Override, Retest, SessionLog
from groundup.clinical.planning import plan
from groundup.clinical.profile import build_profile
from groundup.clinical.program import Preferences, Program
from groundup.clinical.progression import Decision, advance
from groundup.clinical.rules import Rules
from groundup.clinical.screening import ScreenAnswers, screen
from groundup.knowledge import load_screening_rules
from groundup.services import records
from groundup.simulation import Scenario, follow
from groundup.storage.database import Database
from groundup.storage.models import (
    AssessmentRecord,
    CheckInRecord,
    ClinicianPatient,
    DecisionRecord,
    Patient,
    ProgramVersion,
    ReminderSettings,
    ScheduledSession,
    ScreenRecord,
    SessionLogRecord,
    User,
)

EQUIPMENT = ("none", "wall", "chair", "towel", "band", "step", "dumbbell", "ankle_weight")

SCENARIOS = [
    Scenario(
        name="steady",
        weeks=12,
        session_pain=(3, 2, 1),
        morning_pain=(3, 2, 1),
        effort=(6.0,),
        jitter=True,
    ),
    Scenario(
        name="flare",
        weeks=12,
        session_pain=(2,),
        morning_pain=(2,),
        effort=(6.0,),
        spike_sessions=(9, 20),
    ),
    Scenario(name="stall", weeks=12, session_pain=(4,), morning_pain=(3,), effort=(8.5,)),
    Scenario(
        name="worse",
        weeks=12,
        session_pain=(3, 4, 5, 6, 7),
        morning_pain=(3, 4, 5, 6),
        effort=(7.0,),
    ),
]


def random_assessment(rng: random.Random, start: dt.date) -> Assessment:
    """A plausible first assessment: ages, sexes, per-side test results, pains."""

    def pair(low: float, high: float, integer: bool = True) -> dict[str, float]:
        strong = rng.uniform(low + (high - low) * 0.4, high)
        weak = strong * rng.uniform(0.4, 1.0)
        values = [round(strong), round(weak)] if integer else [round(strong, 1), round(weak, 1)]
        rng.shuffle(values)
        return {"left": values[0], "right": values[1]}

    return Assessment.model_validate(
        {
            "date": start.isoformat(),
            "age": rng.randint(18, 80),
            "sex": rng.choice(["female", "male", "unspecified"]),
            "affected_side": rng.choice(["left", "right", "both"]),
            "symptom_duration_weeks": rng.randint(6, 200),
            "pain": {
                "at_rest": rng.randint(0, 6),
                "during_activity": rng.randint(2, 8),
                "on_waking": rng.randint(0, 5),
                "night_pain": rng.random() < 0.1,
                "lingers_after_activity_hours": rng.choice([0, 0.5, 2, 6, 30]),
            },
            "tests": {
                "heel_raise_reps": pair(5, 35),
                "tibialis_raise_reps": pair(5, 40),
                "knee_to_wall_cm": pair(4, 14, integer=False),
                "single_leg_stance_eyes_closed_s": pair(2, 30, integer=False),
            },
            "observations": {
                "step_down": {
                    "left": rng.sample(
                        ["knee_valgus", "pelvic_drop", "trunk_lean"], rng.randint(0, 2)
                    )
                }
            },
        }
    )


def random_preferences(rng: random.Random) -> Preferences:
    return Preferences.model_validate(
        {
            "equipment": rng.sample(EQUIPMENT, rng.randint(3, len(EQUIPMENT))),
            "minutes_per_session": rng.choice([20, 30, 45]),
        }
    )


# ----- JSON with its dates moved ---------------------------------------------------------

_DATE = re.compile(r'"(\d{4}-\d{2}-\d{2})"')


class Shiftable:
    """A JSON text whose dates (days from a template's start) move with each copy."""

    def __init__(self, data: Any, origin: dt.date) -> None:
        parts = _DATE.split(json.dumps(data, separators=(",", ":")))
        self.literals = parts[0::2]
        self.offsets = [(dt.date.fromisoformat(d) - origin).days for d in parts[1::2]]

    def at(self, start: dt.date) -> str:
        out = [self.literals[0]]
        for offset, literal in zip(self.offsets, self.literals[1:], strict=True):
            out.append(f'"{(start + dt.timedelta(days=offset)).isoformat()}"')
            out.append(literal)
        return "".join(out)


# ----- templates: real people followed by the real engine ----------------------------------


@dataclass
class Template:
    weeks: int
    screen_answers: Shiftable
    screen_result: Shiftable
    assessment: Shiftable
    profile: Shiftable
    scores: Shiftable
    # per event, in arrival order: (arrival, day offset, the event or its JSON)
    # (arrival, day offset, the session, its whole JSON, its JSON as stored)
    sessions: list[tuple[int, int, SessionLog, Shiftable, Shiftable]] = field(default_factory=list)
    checkins: list[tuple[int, int, CheckIn]] = field(default_factory=list)
    retests: list[tuple[int, int, Shiftable, Shiftable]] = field(default_factory=list)
    # (day offset, decision, program version it left, JSON)
    decisions: list[tuple[int, Decision, int, Shiftable]] = field(default_factory=list)
    # (version, cause, phase, index of the decision that made it or None, JSON)
    versions: list[tuple[int, str, str, int | None, Shiftable]] = field(default_factory=list)
    training_days: tuple[int, ...] = ()
    events: int = 0


def make_template(rules: Rules, rng: random.Random, weeks: int, scenario: Scenario) -> Template:
    origin = dt.date(2000, 1, 3)  # a Monday; every date is kept as days from it
    clear_answers = ScreenAnswers()
    clear = screen(clear_answers, load_screening_rules())
    assessment = random_assessment(rng, origin)
    profile = build_profile(assessment, rules.assessment)
    program = plan(profile, random_preferences(rng), rules, screen=clear, start=origin)
    events, _, _ = follow(
        program,
        assessment,
        scenario.model_copy(update={"weeks": weeks}),
        rules,
        seed=rng.randrange(1 << 30),
    )
    template = Template(
        weeks=weeks,
        screen_answers=Shiftable(clear_answers.model_dump(mode="json"), origin),
        screen_result=Shiftable(clear.model_dump(mode="json"), origin),
        assessment=Shiftable(assessment.model_dump(mode="json"), origin),
        profile=Shiftable(profile.model_dump(mode="json"), origin),
        scores=Shiftable({}, origin),
        training_days=program.training_days,
        events=len(events),
    )
    for arrival, event in enumerate(events, 1):
        offset = (event.date - origin).days
        if isinstance(event, SessionLog):
            template.sessions.append(
                (
                    arrival,
                    offset,
                    event,
                    Shiftable(event.model_dump(mode="json"), origin),
                    Shiftable(event.model_dump(mode="json", exclude_defaults=True), origin),
                )
            )
        elif isinstance(event, CheckIn):
            template.checkins.append((arrival, offset, event))
        elif isinstance(event, Retest):
            retest_profile = build_profile(event.assessment, rules.assessment)
            template.retests.append(
                (
                    arrival,
                    offset,
                    Shiftable(event.assessment.model_dump(mode="json"), origin),
                    Shiftable(retest_profile.model_dump(mode="json"), origin),
                )
            )
        else:  # pragma: no cover - follow() makes no overrides
            assert isinstance(event, Override)
    # The engine as the services run it: after each day's events, storing what it decides.
    template.versions.append(
        (program.version, "plan", program.phase.value, None, _program_json(program, origin))
    )
    current = program
    kept_phase = program.phase
    for day in sorted({e.date for e in events}):
        result = advance(current, events, rules, day)
        for decision, step in zip(result.decisions, result.steps, strict=True):
            template.decisions.append(
                (
                    (decision.date - origin).days,
                    decision,
                    step.version,
                    Shiftable(decision.model_dump(mode="json"), origin),
                )
            )
            # Every version is a full program (about 20 kB); a clinic-sized load keeps the
            # first, each phase change and the newest, which is what the pages read.
            if step.phase != kept_phase:
                kept_phase = step.phase
                template.versions.append(
                    (
                        step.version,
                        "decision",
                        step.phase.value,
                        len(template.decisions) - 1,
                        _program_json(step, origin),
                    )
                )
        current = result.program
    if current.version != template.versions[-1][0]:
        template.versions.append(
            (current.version, "decision", current.phase.value, None, _program_json(current, origin))
        )
    return template


def _program_json(program: Program, origin: dt.date) -> Shiftable:
    return Shiftable(program.model_dump(mode="json"), origin)


# ----- loading ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ClinicCounts:
    clinicians: int
    people: int
    sessions: int
    sets: int
    checkins: int
    decisions: int
    program_versions: int
    scheduled: int


TABLES: dict[str, Any] = {
    "users": User,
    "patients": Patient,
    "clinician_patients": ClinicianPatient,
    "screens": ScreenRecord,
    "assessments": AssessmentRecord,
    "session_logs": SessionLogRecord,
    "checkins": CheckInRecord,
    "decisions": DecisionRecord,
    "program_versions": ProgramVersion,
    "scheduled_sessions": ScheduledSession,
}


class _Loader:
    """Rows buffered per table and written in large batches: COPY on PostgreSQL,
    multi-row executemany on SQLite."""

    def __init__(self, connection: Connection, batch: int = 20_000) -> None:
        self.connection = connection
        self.postgres = connection.dialect.name == "postgresql"
        self.batch = batch
        self.rows: dict[str, list[dict[str, Any]]] = {name: [] for name in TABLES}
        self.counts: dict[str, int] = dict.fromkeys(TABLES, 0)

    def add(self, table: str, row: dict[str, Any]) -> None:
        rows = self.rows[table]
        rows.append(row)
        if len(rows) >= self.batch:
            self.flush(table)

    def flush(self, table: str) -> None:
        # Parents first: every table listed before this one is written before it.
        for name in TABLES:
            self._write(name)
            if name == table:
                return

    def _write(self, table: str) -> None:
        rows = self.rows[table]
        if not rows:
            return
        self.counts[table] += len(rows)
        model = TABLES[table]
        if self.postgres:
            columns = list(rows[0])
            raw = self.connection.connection.driver_connection
            assert raw is not None
            with raw.cursor() as cursor:
                names = ", ".join(columns)
                with cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row([row[c] for c in columns])
        else:
            self.connection.execute(insert(model.__table__), rows)
        rows.clear()

    def finish(self) -> None:
        self.flush(list(TABLES)[-1])


def _json_value(text_value: str, postgres: bool) -> Any:
    # COPY takes the JSON text as it is; SQLite's JSON column wants the value.
    return text_value if postgres else json.loads(text_value)


def build_clinic(
    database: Database,
    rules: Rules,
    *,
    people: int = 10_000,
    clinicians: int = 50,
    today: dt.date,
    days: int = 365,
    seed: int = 1,
    templates: int = 24,
    weeks: Sequence[int] = (2, 3),
    progress: Callable[[str], None] | None = None,
) -> ClinicCounts:
    """Load a clinic into an empty, migrated database: `clinicians` clinicians sharing
    `people` patients, each following a program that started on a random day of the
    `days` before `today` (and ends by today), with everything the services would store.

    Apart from the first version, a phase change and the newest, program versions are not
    stored (the services store one per change, about 20 kB each): pages read the newest
    and the phase changes; decisions that made a version not kept have no version link."""
    rng = random.Random(seed)
    say = progress or (lambda _message: None)
    made = [
        make_template(rules, rng, weeks[n % len(weeks)], SCENARIOS[n % len(SCENARIOS)])
        for n in range(templates)
    ]
    say(f"{len(made)} template people followed by the engine")
    password_hash = "$argon2id$v=19$m=65536,t=3,p=4$c3ludGhldGljLWNsaW5pYw$" + "A" * 43
    now = dt.datetime.combine(today, dt.time(12), dt.UTC)
    with database.engine.begin() as connection:
        loader = _Loader(connection)
        postgres = loader.postgres
        clinician_ids = list(range(1, clinicians + 1))
        for n in clinician_ids:
            loader.add(
                "users",
                {
                    "id": n,
                    "email": f"clinician{n}@clinic.groundup.example",
                    "display_name": f"Clinician {n}",
                    "role": "clinician",
                    "password_hash": password_hash,
                    "active": True,
                    "created_at": now,
                },
            )
        ids = {"sessions": 0, "decisions": 0, "versions": 0, "sets": 0}
        for n in range(people):
            template = made[rng.randrange(len(made))]
            span = template.weeks * 7 + 1
            start = today - dt.timedelta(days=rng.randrange(max(1, days - span)) + span)
            start -= dt.timedelta(days=start.weekday())  # programs start on a Monday
            pid = f"{n:08x}{rng.getrandbits(96):024x}"
            _load_person(loader, template, pid, f"Patient {n}", start, now, ids, postgres)
            loader.add(
                "clinician_patients",
                {
                    "clinician_id": clinician_ids[n % clinicians],
                    "patient_id": pid,
                    "created_at": now,
                },
            )
            if (n + 1) % 1000 == 0:
                say(f"{n + 1:,} people generated")
        loader.finish()
        if postgres:
            for table, column in (
                ("users", "id"),
                ("session_logs", "id"),
                ("decisions", "id"),
                ("program_versions", "id"),
            ):
                connection.execute(
                    text(
                        f"SELECT setval(pg_get_serial_sequence('{table}', '{column}'), "
                        f"(SELECT COALESCE(MAX({column}), 1) FROM {table}))"
                    )
                )
            connection.execute(text("ANALYZE"))
    if not postgres:
        with database.engine.connect() as connection:
            connection.exec_driver_sql("ANALYZE")
    counts = loader.counts
    return ClinicCounts(
        clinicians=clinicians,
        people=counts["patients"],
        sessions=counts["session_logs"],
        sets=ids["sets"],
        checkins=counts["checkins"],
        decisions=counts["decisions"],
        program_versions=counts["program_versions"],
        scheduled=counts["scheduled_sessions"],
    )


def _load_person(
    loader: _Loader,
    template: Template,
    pid: str,
    name: str,
    start: dt.date,
    now: dt.datetime,
    ids: dict[str, int],
    postgres: bool,
) -> None:
    def day(offset: int) -> dt.date:
        return start + dt.timedelta(days=offset)

    def js(value: Shiftable) -> Any:
        return _json_value(value.at(start), postgres)

    loader.add(
        "patients",
        {
            "id": pid,
            "display_name": name,
            "user_id": None,
            "length_unit": "cm",
            "mass_unit": "kg",
            "date_format": "%Y-%m-%d",
            "events": template.events,
            "created_at": now,
        },
    )
    loader.add(
        "screens",
        {
            "patient_id": pid,
            "date": start,
            "answers": js(template.screen_answers),
            "result": js(template.screen_result),
            "refers": False,
            "urgency": None,
            "created_at": now,
        },
    )
    loader.add(
        "assessments",
        {
            "patient_id": pid,
            "date": start,
            "kind": "initial",
            "data": js(template.assessment),
            "profile": js(template.profile),
            "scores": js(template.scores),
            "arrival": None,
            "created_at": now,
        },
    )
    for arrival, offset, data, profile in template.retests:
        loader.add(
            "assessments",
            {
                "patient_id": pid,
                "date": day(offset),
                "kind": "retest",
                "data": js(data),
                "profile": js(profile),
                "scores": js(template.scores),
                "arrival": arrival,
                "created_at": now,
            },
        )
    logged: dict[dt.date, tuple[str, bool]] = {}
    for arrival, offset, log, whole, compact in template.sessions:
        ids["sessions"] += 1
        session_id = ids["sessions"]
        stored = compact.at(start)
        loader.add(
            "session_logs",
            {
                "id": session_id,
                "log_id": log.id,
                "patient_id": pid,
                "date": day(offset),
                "skipped": log.skipped,
                "skip_reason": log.skip_reason,
                "pain_after": log.pain_after,
                "max_pain": log.max_pain,
                "program_version": 1,
                "fingerprint": records.fingerprint(log, json.loads(whole.at(start))),
                "arrival": arrival,
                "data": _json_value(stored, postgres),
                "created_at": now,
            },
        )
        logged[day(offset)] = (log.id, log.skipped)
        ids["sets"] += sum(len(e.sets) for e in log.exercises)
    for arrival, offset, checkin in template.checkins:
        loader.add(
            "checkins",
            {
                "patient_id": pid,
                "date": day(offset),
                "pain_on_waking": checkin.pain_on_waking,
                "stiffness_on_waking": checkin.stiffness_on_waking,
                "new_red_flags": _json_value(json.dumps(list(checkin.new_red_flags)), postgres),
                "arrival": arrival,
                "created_at": now,
            },
        )
    decision_ids: list[int] = []
    for offset, decision, version, shiftable in template.decisions:
        ids["decisions"] += 1
        decision_ids.append(ids["decisions"])
        loader.add(
            "decisions",
            {
                "id": ids["decisions"],
                "patient_id": pid,
                "date": day(offset),
                "rule": decision.rule,
                "kind": decision.kind,
                "exercise_id": decision.exercise_id,
                "side": decision.side.value if decision.side else None,
                "data": js(shiftable),
                "program_version": version,
                "created_at": now,
            },
        )
    for version, cause, phase, index, shiftable in template.versions:
        ids["versions"] += 1
        loader.add(
            "program_versions",
            {
                "id": ids["versions"],
                "patient_id": pid,
                "version": version,
                "cause": cause,
                "decision_id": None if index is None else decision_ids[index],
                "phase": phase,
                "data": js(shiftable),
                "created_at": now,
            },
        )
    for offset in range(template.weeks * 7):
        when = day(offset)
        if when.weekday() not in template.training_days:
            continue
        found = logged.get(when)
        loader.add(
            "scheduled_sessions",
            {
                "patient_id": pid,
                "date": when,
                "number": 1,
                "program_version": 1,
                "status": "planned" if found is None else "skipped" if found[1] else "done",
                "session_log_id": None if found is None else found[0],
            },
        )


def fresh_postgres_database(server_url: str, name: str) -> str:
    """Drop and create database `name` on the server of `server_url`; return its URL.

    For the benchmarks, which each load a clinic into a database of their own."""
    server = make_url(server_url)
    admin = create_engine(server.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(
            text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = :name AND pid <> pg_backend_pid()"
            ),
            {"name": name},
        )
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return server.set(database=name).render_as_string(hide_password=False)


def seed_due_reminders(url: str, people: int, now: dt.datetime, example: Path) -> set[str]:
    """`people` people, each with an e-mail reminder of training that fell due two minutes
    before `now` (every day is a training day for them). One person is made through the
    services from the intake file `example`; the rest are copies of their program,
    inserted directly, which is quicker. Their e-mail addresses."""
    from groundup.cli.files import read_document, validate
    from groundup.clinical.intake import Intake
    from groundup.knowledge import load_rules
    from groundup.services import Services

    database = Database(url)
    try:
        services = Services(database, load_rules(), actor="test")
        intake = validate(Intake, read_document(example), str(example))
        assert intake.screen is not None and intake.assessment is not None
        start = now.date() - dt.timedelta(days=1)
        first = services.enrol("Person 0")
        services.record_screen(first, intake.screen, start)
        preferences = intake.preferences.model_copy(update={"training_days": tuple(range(7))})
        services.start_program(
            first, intake.assessment.model_copy(update={"date": start}), preferences, day=start
        )
        with database.transaction() as session:
            version = session.scalars(
                select(ProgramVersion).where(ProgramVersion.patient_id == first)
            ).one()
            ids = [first] + [f"{n:032x}" for n in range(1, people)]
            session.execute(
                insert(Patient),
                [
                    {"id": pid, "display_name": f"Person {n}", "events": 0}
                    for n, pid in enumerate(ids)
                ][1:],
            )
            session.execute(
                insert(ProgramVersion),
                [
                    {
                        "patient_id": pid,
                        "version": version.version,
                        "cause": version.cause,
                        "phase": version.phase,
                        "data": version.data,
                    }
                    for pid in ids[1:]
                ],
            )
            due = (now - dt.timedelta(minutes=2)).strftime("%H:%M")
            session.execute(
                insert(ReminderSettings),
                [
                    {
                        "patient_id": pid,
                        "enabled": True,
                        "kinds": ["training"],
                        "by_email": True,
                        "email": f"person{n}@example.org",
                        "by_push": False,
                        "training_time": due,
                        "morning_time": "07:30",
                        "quiet_start": None,
                        "quiet_end": None,
                        "time_zone": "UTC",
                        "stop_id": f"{n:032x}",
                        "planned_until": now - dt.timedelta(minutes=10),
                        "next_at": now - dt.timedelta(minutes=1),
                    }
                    for n, pid in enumerate(ids)
                ],
            )
        return {f"person{n}@example.org" for n in range(people)}
    finally:
        database.dispose()
