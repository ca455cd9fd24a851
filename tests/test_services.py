"""The service layer against real databases: SQLite always, PostgreSQL when configured."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from sqlalchemy import func, inspect, select, text

from groundup.cli.files import read_document, validate
from groundup.cli.program_commands import LogFile, build_program, read_log, run_log
from groundup.clinical.assessment import WeightBearing
from groundup.clinical.intake import Intake
from groundup.clinical.logs import CheckIn, ExerciseLog, Override, SessionLog, SetLog
from groundup.clinical.screening import ScreenAnswers
from groundup.knowledge import load_rules
from groundup.services import (
    Conflict,
    NotFound,
    Paused,
    Referred,
    ServiceError,
    Services,
)
from groundup.services.workflow import OverrideRefused
from groundup.storage.models import (
    AuditEntry,
    Base,
    ProgramVersion,
    SessionLogRecord,
)

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def intake(name: str = "clear-left-calf.yaml") -> Intake:
    path = EXAMPLES / name
    return validate(Intake, read_document(path), str(path))


def started(services: Services) -> tuple[str, dt.date]:
    """A person with the clear example's screen and program; returns (id, first training day)."""
    data = intake()
    assert data.screen is not None and data.assessment is not None
    pid = services.enrol("Alex")
    start = data.assessment.date or dt.date(2025, 3, 4)
    services.record_screen(pid, data.screen, start)
    program = services.start_program(pid, data.assessment, data.preferences, day=start)
    first = next(
        start + dt.timedelta(days=n)
        for n in range(7)
        if program.is_training_day(start + dt.timedelta(days=n))
    )
    return pid, first


def first_session(
    services: Services, pid: str, day: dt.date, *, log_id: str = "s1", pain: int = 2
) -> SessionLog:
    program = services.program(pid)
    exercises = tuple(
        ExerciseLog(
            exercise_id=slot.exercise_id,
            side=dose.side,
            sets=tuple(SetLog(amount=dose.amount, rpe=6, pain=pain) for _ in range(dose.sets)),
        )
        for slot in program.slots
        for dose in slot.doses
    )
    return SessionLog(id=log_id, date=day, exercises=exercises, pain_after=pain)


def test_no_program_without_a_screen(services: Services) -> None:
    data = intake()
    assert data.assessment is not None
    pid = services.enrol("Sam")
    with pytest.raises(ServiceError, match="safety screen first"):
        services.start_program(pid, data.assessment, data.preferences, day=dt.date(2025, 3, 4))
    with pytest.raises(NotFound):
        services.program(pid)


def test_a_screen_that_refers_stores_no_program(services: Services) -> None:
    data = intake("refer-dvt.yaml")
    assert data.screen is not None and data.assessment is not None
    pid = services.enrol("Kim")
    result = services.record_screen(pid, data.screen, dt.date(2025, 3, 10))
    assert result.refers
    with pytest.raises(Referred):
        services.start_program(pid, data.assessment, data.preferences, day=dt.date(2025, 3, 10))
    with pytest.raises(NotFound):
        services.program(pid)
    assert services.program_versions(pid) == []


def test_start_stores_version_one_and_schedules_training_days(services: Services) -> None:
    pid, start = started(services)
    program = services.program(pid)
    assert program.version == 1
    assert [v[:2] for v in services.program_versions(pid)] == [(1, "plan")]
    today = services.today(pid, start)
    assert today.scheduled and today.status == "planned"
    rest_day = next(
        start + dt.timedelta(days=n)
        for n in range(1, 7)
        if not program.is_training_day(start + dt.timedelta(days=n))
    )
    assert services.today(pid, rest_day).status == "rest"
    data = intake()
    assert data.assessment is not None
    with pytest.raises(Conflict):
        services.start_program(pid, data.assessment, data.preferences, day=start)


def test_logging_is_idempotent_by_log_id(services: Services, database) -> None:  # type: ignore[no-untyped-def]
    pid, start = started(services)
    log = first_session(services, pid, start)
    first = services.log_session(pid, log)
    again = services.log_session(pid, log)
    assert not first.duplicate
    assert again.duplicate
    assert again.decisions == ()
    with database.transaction() as session:
        assert session.scalar(select(func.count()).select_from(SessionLogRecord)) == 1
        stored = session.scalars(select(SessionLogRecord.data)).one()
    assert SessionLog.model_validate(stored) == log  # sets and all, once
    assert services.today(pid, start).status == "done"
    changed = log.model_copy(update={"exercises": log.exercises[:1]})
    with pytest.raises(Conflict, match="already used"):
        services.log_session(pid, changed)


def test_bad_logs_are_refused_and_store_nothing(services: Services, database) -> None:  # type: ignore[no-untyped-def]
    pid, start = started(services)
    program = services.program(pid)
    rest_day = next(
        start + dt.timedelta(days=n)
        for n in range(1, 7)
        if not program.is_training_day(start + dt.timedelta(days=n))
    )
    with pytest.raises(NotFound, match="no session is scheduled"):
        services.log_session(pid, first_session(services, pid, rest_day))
    with pytest.raises(ServiceError, match="before the program started"):
        services.log_session(
            pid, first_session(services, pid, program.start_date - dt.timedelta(days=7))
        )
    unknown = SessionLog(
        id="u1",
        date=start,
        exercises=(ExerciseLog(exercise_id="no_such_exercise", sets=(SetLog(amount=5, pain=1),)),),
    )
    with pytest.raises(ServiceError, match="unknown exercise"):
        services.log_session(pid, unknown)
    with pytest.raises(NotFound):
        services.log_session("0" * 32, first_session(services, pid, start))
    with database.transaction() as session:
        assert session.scalar(select(func.count()).select_from(SessionLogRecord)) == 0
    assert services.program(pid).version == 1


def test_one_check_in_per_morning(services: Services) -> None:
    pid, start = started(services)
    day = start + dt.timedelta(days=1)
    services.record_checkin(pid, CheckIn(date=day, pain_on_waking=2, stiffness_on_waking=1))
    with pytest.raises(Conflict):
        services.record_checkin(pid, CheckIn(date=day, pain_on_waking=3, stiffness_on_waking=1))


def test_a_red_flag_at_check_in_refers_and_stops_progress(services: Services) -> None:
    pid, start = started(services)
    decisions = services.record_checkin(
        pid,
        CheckIn(
            date=start + dt.timedelta(days=1),
            pain_on_waking=3,
            stiffness_on_waking=2,
            warning_signs=("calf_swollen_hot",),
            new_red_flags=("calf hot and swollen",),
        ),
    )
    assert [d.rule for d in decisions] == ["refer.red_flag"]
    program = services.program(pid)
    assert program.state.referred
    assert program.version == 2


def test_the_stored_program_matches_the_engine_run_directly(services: Services) -> None:
    """Feeding the steady-recovery log through the services gives the same program and
    decisions as replaying it through the engine, and every version names its decision."""
    pid, _ = started(services)
    log = read_log(EXAMPLES / "logs" / "steady-recovery.yaml")
    for event in log.events:
        if isinstance(event, SessionLog):
            services.log_session(pid, event)
        elif isinstance(event, CheckIn):
            services.record_checkin(pid, event)
        else:
            services.record_retest(pid, event.assessment, event.date)
    rules = load_rules()
    _, direct_program = build_program(intake(), rules)
    final, decisions = run_log(direct_program, LogFile(events=log.events), rules)
    stored = services.program(pid)
    assert stored.phase.value == "maintenance"
    assert stored.phase == final.phase
    assert stored.version == final.version
    assert [d.rule for d in services.decisions(pid)] == [d.rule for d in decisions]
    versions = services.program_versions(pid)
    assert [v[0] for v in versions] == list(range(1, stored.version + 1))
    assert {v[1] for v in versions[1:]} <= {"decision", "override"}


def test_a_session_logged_after_the_next_check_in_is_still_evaluated(services: Services) -> None:
    pid, start = started(services)
    program = services.program(pid)
    days = [
        start + dt.timedelta(days=n)
        for n in range(14)
        if program.is_training_day(start + dt.timedelta(days=n))
    ]
    services.log_session(pid, first_session(services, pid, days[0], log_id="a"))
    services.record_checkin(
        pid, CheckIn(date=days[0] + dt.timedelta(days=1), pain_on_waking=2, stiffness_on_waking=1)
    )
    # The morning check-in after the second session arrives before that session's log.
    services.record_checkin(
        pid, CheckIn(date=days[1] + dt.timedelta(days=1), pain_on_waking=2, stiffness_on_waking=1)
    )
    outcome = services.log_session(pid, first_session(services, pid, days[1], log_id="b"))
    assert any(d.rule == "progress.reps" for d in outcome.decisions)


def test_overrides_are_recorded_and_checked(services: Services) -> None:
    pid, start = started(services)
    main = services.program(pid).part("main")[0]
    with pytest.raises(NotFound):
        services.apply_override(
            pid,
            Override(
                date=start, by="Dr Lee", reason="test", action="pin_dose", exercise_id="pogo_hops"
            ),
        )
    decisions = services.apply_override(
        pid,
        Override(
            date=start,
            by="Dr Lee",
            reason="keep it light",
            action="pin_dose",
            exercise_id=main.exercise_id,
            amount=8,
        ),
    )
    assert decisions[0].rule == "override.pin_dose"
    slot = services.program(pid).slot(main.exercise_id)
    assert slot is not None
    assert all(d.pinned and d.amount == 8 for d in slot.doses)
    assert services.program_versions(pid)[-1][1] == "override"


def _rows_about(database, pid: str) -> int:  # type: ignore[no-untyped-def]
    total = 0
    with database.engine.connect() as connection:
        for table in Base.metadata.sorted_tables:
            if "patient_id" in table.c:
                total += connection.execute(
                    select(func.count()).select_from(table).where(table.c.patient_id == pid)
                ).scalar_one()
        total += connection.execute(
            text("select count(*) from patients where id = :id"), {"id": pid}
        ).scalar_one()
    return total


def test_export_delete_import_restores_the_same_data(services: Services, database) -> None:  # type: ignore[no-untyped-def]
    pid, start = started(services)
    program = services.program(pid)
    days = [
        start + dt.timedelta(days=n)
        for n in range(10)
        if program.is_training_day(start + dt.timedelta(days=n))
    ]
    for n, day in enumerate(days):
        services.log_session(pid, first_session(services, pid, day, log_id=f"x{n}"))
        services.record_checkin(
            pid, CheckIn(date=day + dt.timedelta(days=1), pain_on_waking=2, stiffness_on_waking=1)
        )
    exported = services.export_person(pid)
    text_form = json.dumps(exported)
    counts = services.delete_person(pid)
    assert counts["sessions"] == len(days)
    assert _rows_about(database, pid) == 0
    with database.transaction() as session:
        leftovers = session.scalars(select(AuditEntry)).all()
        assert all(entry.patient_id != pid for entry in leftovers)
        assert any(
            entry.action == "delete_person" and entry.patient_id is None for entry in leftovers
        )
    restored = services.import_person(json.loads(text_form))
    assert restored == pid
    assert services.export_person(pid) == exported
    assert services.today(pid, days[0]).status == "done"


def test_a_corrupt_import_stores_nothing(services: Services, database) -> None:  # type: ignore[no-untyped-def]
    pid, _ = started(services)
    good = services.export_person(pid)
    services.delete_person(pid)
    broken = json.loads(json.dumps(good))
    broken["events"] = [{"type": "session", "id": "z", "date": "not a date"}]
    with pytest.raises(ServiceError, match="import"):
        services.import_person(broken)
    with pytest.raises(ServiceError):
        services.import_person({"format": "something else"})
    with pytest.raises(ServiceError):
        services.import_person([1, 2, 3])
    assert _rows_about(database, pid) == 0
    services.import_person(good)
    with pytest.raises(Conflict):
        services.import_person(good)


def test_schema_has_the_indexes_queries_rely_on(database) -> None:  # type: ignore[no-untyped-def]
    indexes = {ix["name"] for ix in inspect(database.engine).get_indexes("session_logs")}
    assert "ix_session_logs_patient_date" in indexes
    with database.transaction() as session:
        assert session.scalar(select(func.count()).select_from(ProgramVersion)) == 0


def test_screen_answers_round_trip(services: Services) -> None:
    pid = services.enrol("Jo")
    services.record_screen(pid, ScreenAnswers(), dt.date(2025, 1, 1))
    result = services.latest_screen(pid)
    assert result is not None and not result.refers


def test_events_in_the_future_are_refused(database) -> None:  # type: ignore[no-untyped-def]
    clock = dt.date(2025, 3, 10)
    services = Services(database, load_rules(), actor="test", clock=lambda: clock)
    pid, first = started(services)
    with pytest.raises(ServiceError, match="in the future"):
        services.record_checkin(
            pid, CheckIn(date=clock + dt.timedelta(days=1), pain_on_waking=1, stiffness_on_waking=1)
        )
    with pytest.raises(ServiceError, match="in the future"):
        services.log_session(pid, first_session(services, pid, first + dt.timedelta(days=14)))


def _as_prescribed(services: Services, pid: str, day: dt.date, log_id: str) -> SessionLog:
    program = services.program(pid)
    return SessionLog(
        id=log_id,
        date=day,
        pain_after=1,
        exercises=tuple(
            ExerciseLog(
                exercise_id=slot.exercise_id,
                side=dose.side,
                sets=tuple(SetLog(amount=dose.amount, rpe=5, pain=1) for _ in range(dose.sets)),
            )
            for slot in program.slots
            for dose in slot.doses
        ),
    )


def test_a_referral_refuses_logs_until_a_clinician_resumes(services: Services) -> None:
    pid, first = started(services)
    services.record_checkin(
        pid,
        CheckIn(date=first, pain_on_waking=2, stiffness_on_waking=1, warning_signs=("bone_spot",)),
    )
    with pytest.raises(Paused) as refused:
        services.log_session(pid, _as_prescribed(services, pid, first, "after-sign-1"))
    assert "within the next few days" in refused.value.advice
    referral = services.referral(pid)
    assert referral is not None and referral.numbers["urgency"] == "soon"
    services.apply_override(
        pid, Override(date=first, by="Dr Test", reason="seen: no stress injury", action="resume")
    )
    assert services.referral(pid) is None
    outcome = services.log_session(pid, _as_prescribed(services, pid, first, "after-sign-2"))
    assert not outcome.duplicate


def test_s13_high_waking_pain_asks_again_and_a_referring_answer_pauses(
    services: Services,
) -> None:
    pid, first = started(services)
    decisions = services.record_checkin(
        pid, CheckIn(date=first, pain_on_waking=5, stiffness_on_waking=2)
    )
    (asked,) = [d for d in decisions if d.rule == "prompt.recheck"]
    assert "safety questions again" in asked.person_text
    assert services.program(pid).state.last_recheck_prompt == first
    # Clear answers store no event and leave the program running.
    result, made = services.recheck(pid, {"night_or_rest_pain": False}, first)
    assert not result.refers and made == ()
    assert services.referral(pid) is None and services.history(pid)[-1].date == first
    # A sore spot on the shin bone that hurts on hopping: the screen's bone-stress rule.
    result, made = services.recheck(
        pid, {"focal_bone_tenderness": True, "pain_on_hopping": True}, first
    )
    assert result.refers
    referral = services.referral(pid)
    assert referral is not None and referral.numbers["urgency"] == "soon"
    assert "answered again" in referral.clinician_text
    with pytest.raises(Paused):
        services.log_session(pid, _as_prescribed(services, pid, first, "after-recheck"))
    today = services.today(pid, first)
    assert today.status in ("skipped", "rest")


def test_an_unknown_warning_sign_stores_nothing(services: Services) -> None:
    pid, first = started(services)
    with pytest.raises(ServiceError, match="unknown warning sign"):
        services.record_checkin(
            pid,
            CheckIn(date=first, pain_on_waking=2, stiffness_on_waking=1, warning_signs=("odd",)),
        )
    assert services.history(pid) == []


def test_n4_a_clinician_records_the_bone_stress_check_and_the_ceiling_lifts(
    services: Services,
) -> None:
    """N4: shin rest pain at intake keeps the program seated until a clinician records the
    check; the record is an event in the history with its date and who, and lifts it."""
    data = intake("bilateral-shin.yaml")
    assert data.screen is not None and data.assessment is not None
    pid = services.enrol("Sam")
    start = data.assessment.date or dt.date(2025, 3, 4)
    services.record_screen(pid, data.screen, start)
    program = services.start_program(pid, data.assessment, data.preferences, day=start)
    pending = program.state.check_pending
    assert pending is not None and pending.ceiling.number == 1
    decisions = services.apply_override(
        pid,
        Override(
            date=start,
            by="Dr Lee",
            reason="seen: no focal tenderness, hop pain-free",
            action="check_clear",
        ),
    )
    assert [d.rule for d in decisions] == ["override.check_clear"]
    assert "Dr Lee" in decisions[0].clinician_text
    assert services.program(pid).state.check_pending is None
    recorded = [e for e in services.history(pid) if isinstance(e, Override)]
    assert [(e.action, e.by, e.date) for e in recorded] == [("check_clear", "Dr Lee", start)]
    # Nothing left to clear: a second record is refused, and stores nothing.
    with pytest.raises(OverrideRefused, match="no check is pending"):
        services.apply_override(
            pid, Override(date=start, by="Dr Lee", reason="again", action="check_clear")
        )
    assert len([e for e in services.history(pid) if isinstance(e, Override)]) == 1


def test_p3_a_clinician_records_full_weight_and_the_limit_lifts(services: Services) -> None:
    """P3: in a boot the program keeps off the feet; a clinician records full weight (an
    event with its date and who), the limit lifts, and a second record is refused."""
    data = intake("fracture-six-weeks.yaml")
    assert data.screen is not None and data.assessment is not None
    pid = services.enrol("Alex")
    start = data.assessment.date or dt.date(2025, 3, 4)
    services.record_screen(pid, data.screen, start)
    program = services.start_program(pid, data.assessment, data.preferences, day=start)
    assert program.profile.boot_or_cast
    decisions = services.apply_override(
        pid,
        Override(
            date=start,
            by="Dr Lee",
            reason="surgeon's letter: full weight, boot off",
            action="weight_bearing_full",
        ),
    )
    assert [d.rule for d in decisions] == ["override.weight_bearing_full"]
    assert "Dr Lee" in decisions[0].clinician_text
    after = services.program(pid).profile
    assert after.weight_bearing is WeightBearing.FULL and not after.boot_or_cast
    with pytest.raises(OverrideRefused, match="no weight-bearing limit"):
        services.apply_override(
            pid, Override(date=start, by="Dr Lee", reason="again", action="weight_bearing_full")
        )
    recorded = [e for e in services.history(pid) if isinstance(e, Override)]
    assert [(e.action, e.by) for e in recorded] == [("weight_bearing_full", "Dr Lee")]
