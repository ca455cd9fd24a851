"""Program history stored as changes (groundup.services.versions, migration 0008).

A database laid out as before 0008 (every program version whole) is filled with a lived
history, upgraded, and every version, decision, export and FHIR bundle is compared with
what the database held before; the changes themselves round-trip exactly; and the
services keep most versions as changes while answering with the whole program.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import MetaData, Text, cast, create_engine, insert, inspect, select, text

from groundup.clinical.logs import CheckIn, Override, Retest, SessionLog
from groundup.clinical.program import Program
from groundup.interop import fhir
from groundup.knowledge import load_rules
from groundup.services import Services
from groundup.services.export import ExportBundle
from groundup.services.versions import CHECKPOINT_EVERY, all_versions, apply, diff
from groundup.simulation import Scenario, follow
from groundup.storage.database import Database
from groundup.storage.models import ProgramVersion, SessionLogRecord
from test_services import intake

# ----- the changes themselves ----------------------------------------------------------------

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-5, 5)
    | st.floats(-5, 5, allow_nan=False)
    | st.sampled_from(["a", "b", "2025-03-04"]),
    lambda inner: (
        st.lists(inner, max_size=5)
        | st.dictionaries(st.sampled_from(["x", "y", "z", "w"]), inner, max_size=4)
    ),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(json_values, json_values)
def test_changes_turn_one_value_into_the_other_exactly(base: Any, target: Any) -> None:
    changes = diff(base, target)
    rebuilt = apply(base, changes)
    # Exactly: the same JSON text, so types (1 against 1.0 against true) and key order too.
    assert json.dumps(rebuilt) == json.dumps(target)
    # The stored form is JSON itself.
    assert apply(base, json.loads(json.dumps(changes))) == rebuilt


# ----- a lived history -------------------------------------------------------------------------

TODAY = dt.date(2025, 7, 1)


def lived(services: Services, weeks: int = 8) -> str:
    """A person followed for some weeks through the services, one event at a time, with a
    flare-up, retests and a clinician's override."""
    data = intake()
    assert data.screen is not None and data.assessment is not None
    start = data.assessment.date or dt.date(2025, 3, 4)
    pid = services.enrol("Robin")
    services.record_screen(pid, data.screen, start)
    program = services.start_program(pid, data.assessment, data.preferences, day=start)
    scenario = Scenario(
        name="lived",
        weeks=weeks,
        session_pain=(3, 2, 1),
        morning_pain=(3, 2, 1),
        spike_sessions=(12,),
        jitter=True,
    )
    events, _, _ = follow(program, data.assessment, scenario, services.rules, seed=3)
    override_day = start + dt.timedelta(days=20)
    overridden = False
    for event in events:
        if not overridden and event.date >= override_day:
            slot = services.program(pid).slots[0]
            services.apply_override(
                pid,
                Override(
                    date=event.date,
                    by="Dr Test",
                    reason="hold this one steady for a while",
                    action="pin_dose",
                    exercise_id=slot.exercise_id,
                    side=slot.doses[0].side,
                ),
            )
            overridden = True
        if isinstance(event, SessionLog):
            services.log_session(pid, event)
        elif isinstance(event, CheckIn):
            services.record_checkin(pid, event)
        elif isinstance(event, Retest):
            services.record_retest(pid, event.assessment, event.date)
    return pid


def set_rows(session_log_id: int, log: SessionLog) -> list[dict[str, Any]]:
    """A session's set rows as the code before 0008 wrote them."""
    rows: list[dict[str, Any]] = []
    for exercise in log.exercises:
        for number, entry in enumerate(exercise.sets, 1):
            rows.append(
                {
                    "session_log_id": session_log_id,
                    "position": len(rows) + 1,
                    "exercise_id": exercise.exercise_id,
                    "side": exercise.side.value if exercise.side else None,
                    "set_number": number,
                    "amount": entry.amount,
                    "load_kg": entry.load_kg,
                    "knob": None if entry.knob is None else str(entry.knob),
                    "knob_is_number": isinstance(entry.knob, int | float),
                    "rpe": entry.rpe,
                    "rir": entry.rir,
                    "pain": entry.pain,
                    "form": entry.form,
                }
            )
    return rows


def copy_as_before(source: Database, target_url: str, pid: str) -> None:
    """Write the person's rows into a database migrated to 0007, as the code before 0008
    stored them: every program version whole."""
    with source.transaction() as session:
        whole = {v.version: v.data for v in all_versions(session, pid)}
    metadata = MetaData()
    target = create_engine(target_url)
    try:
        metadata.reflect(target)
        assert "checkpoint" not in metadata.tables["program_versions"].c
        source_meta = MetaData()
        source_meta.reflect(source.engine)
        with source.engine.connect() as reading, target.begin() as writing:
            sets: list[dict[str, Any]] = []
            for table in metadata.sorted_tables:
                if table.name in ("alembic_version", "audit_log") or (
                    table.name not in source_meta.tables and table.name != "set_logs"
                ):
                    continue
                rows = (
                    [
                        dict(r._mapping)
                        for r in reading.execute(select(source_meta.tables[table.name]))
                    ]
                    if table.name in source_meta.tables
                    else []
                )
                if table.name == "program_versions":
                    for row in rows:
                        row["data"] = whole[row["version"]]
                if table.name == "session_logs":
                    # Whole JSON and a row per set, as before; the first three sessions as
                    # stored before sessions kept their JSON (0004): sets only.
                    for n, row in enumerate(rows):
                        log = SessionLog.model_validate(row["data"])
                        row["data"] = None if n < 3 else log.model_dump(mode="json")
                        sets.extend(set_rows(row["id"], log))
                if table.name == "set_logs":
                    rows = sets
                rows = [{k: v for k, v in row.items() if k in table.c} for row in rows]
                if rows:
                    writing.execute(insert(table), rows)
    finally:
        target.dispose()


def test_upgrading_keeps_every_version_decision_and_export(
    database_url: str, tmp_path: Any
) -> None:
    rules = load_rules()
    source = Database(f"sqlite:///{tmp_path / 'source.db'}")
    try:
        pid = lived(Services(source, rules, actor="test", clock=lambda: TODAY))
        with source.transaction() as session:
            made = len(all_versions(session, pid))
    finally:
        source.dispose()
    assert made > 2 * CHECKPOINT_EVERY  # enough versions for changes and checkpoints

    # The database as the code before 0008 left it.
    old = Database(database_url, migrate=False)
    old.upgrade("0007")
    old.dispose()
    source = Database(f"sqlite:///{tmp_path / 'source.db'}")
    try:
        copy_as_before(source, database_url, pid)
        before_history = Services(source, rules, actor="test").history(pid)
    finally:
        source.dispose()
    engine = create_engine(database_url)
    with engine.connect() as connection:
        table = MetaData()
        table.reflect(engine, only=["program_versions", "decisions"])
        versions_table = table.tables["program_versions"]
        before_versions = [
            dict(r._mapping)
            for r in connection.execute(select(versions_table).order_by(versions_table.c.version))
        ]
        decisions_table = table.tables["decisions"]
        before_decisions = [
            dict(r._mapping)
            for r in connection.execute(select(decisions_table).order_by(decisions_table.c.id))
        ]
    engine.dispose()
    assert len(before_versions) == made and all(v["data"] for v in before_versions)

    database = Database(database_url)  # upgrades to head
    try:
        services = Services(database, rules, actor="test", clock=lambda: TODAY)
        with database.transaction() as session:
            stored = session.execute(
                select(ProgramVersion.version, ProgramVersion.data, ProgramVersion.changes)
                .where(ProgramVersion.patient_id == pid)
                .order_by(ProgramVersion.version)
            ).all()
        as_changes = [v for v, data, _ in stored if data is None]
        assert len(as_changes) > len(stored) // 2  # most are kept as changes now
        assert stored[-1].data is not None and stored[-2].data is not None

        # Every event, the sets of sessions stored before 0004 from their rows; no set
        # rows any more.
        assert services.history(pid) == before_history
        assert "set_logs" not in inspect(database.engine).get_table_names()
        with database.transaction() as session:
            texts = session.execute(select(cast(SessionLogRecord.data, Text))).scalars().all()
        # (Sessions that had their JSON keep it as it was; those rebuilt are stored as new
        # sessions are.)
        assert sum('"load_kg"' not in t and '"form"' not in t for t in texts) == 3

        # Every version, whole and exact.
        listed = services.program_versions(pid)
        assert [v[:3] for v in listed] == [
            (v["version"], v["cause"], v["phase"]) for v in before_versions
        ]
        for before in before_versions:
            program = services.program_version(pid, before["version"])
            assert program.model_dump(mode="json") == before["data"]
        assert services.program(pid) == Program.model_validate(before_versions[-1]["data"])

        # Every decision, and the export and its FHIR bundle as the old rows give them.
        assert [d.model_dump(mode="json") for d in services.decisions(pid)] == [
            d["data"] for d in before_decisions
        ]
        exported = services.export_person(pid)
        index = {d["id"]: n for n, d in enumerate(before_decisions)}
        assert exported["program_versions"] == [
            {
                "version": v["version"],
                "cause": v["cause"],
                "decision_index": index.get(v["decision_id"] or -1),
                "program": v["data"],
            }
            for v in before_versions
        ]
        assert exported["decisions"] == [
            {"program_version": d["program_version"], "decision": d["data"]}
            for d in before_decisions
        ]
        bundle = ExportBundle.model_validate(exported)
        expected = ExportBundle.model_validate(
            exported
            | {
                "program_versions": [
                    {
                        "version": v["version"],
                        "cause": v["cause"],
                        "decision_index": index.get(v["decision_id"] or -1),
                        "program": v["data"],
                    }
                    for v in before_versions
                ]
            }
        )
        assert fhir.bundle_json(bundle, rules) == fhir.bundle_json(expected, rules)

        # Down again: every version whole as it was.
        database.downgrade("0007")
        engine = create_engine(database_url)
        with engine.connect() as connection:
            after = [
                dict(r._mapping)
                for r in connection.execute(
                    select(versions_table).order_by(versions_table.c.version)
                )
            ]
        engine.dispose()
        assert [v["data"] for v in after] == [v["data"] for v in before_versions]
        engine = create_engine(database_url)
        with engine.connect() as connection:
            sets_back = connection.execute(text("SELECT count(*) FROM set_logs")).scalar_one()
        engine.dispose()
        assert sets_back == sum(
            len(e.sets) for x in before_history if isinstance(x, SessionLog) for e in x.exercises
        )
    finally:
        database.dispose()


def test_new_versions_are_stored_as_changes_and_read_whole(services: Services) -> None:
    services.clock = lambda: TODAY
    pid = lived(services, weeks=6)
    with services.db.transaction() as session:
        rows = session.execute(
            select(
                ProgramVersion.version,
                ProgramVersion.cause,
                ProgramVersion.phase,
                ProgramVersion.checkpoint,
                ProgramVersion.data.is_(None),
            )
            .where(ProgramVersion.patient_id == pid)
            .order_by(ProgramVersion.version)
        ).all()
        rebuilt = all_versions(session, pid)
    assert len(rows) > CHECKPOINT_EVERY
    # The newest two, the plan, overrides and each phase's first version are whole; no more
    # than CHECKPOINT_EVERY - 1 in a row are changes.
    assert not rows[-1][4] and not rows[-2][4]
    for n, (_, cause, phase, checkpoint, changes_only) in enumerate(rows):
        if cause in ("plan", "override") or (n and rows[n - 1][2] != phase):
            assert checkpoint and not changes_only
    run = longest = 0
    for row in rows:
        run = run + 1 if row[4] else 0
        longest = max(longest, run)
    assert 0 < longest < CHECKPOINT_EVERY
    # Each version read alone is the one the whole history rebuilds.
    for version in rebuilt:
        assert services.program_version(pid, version.version).model_dump(mode="json") == (
            version.data
        )
    assert rebuilt[-1].data == services.program(pid).model_dump(mode="json")
