"""A protocol written in several phases: each with its own exercises, doses and week blocks
and a rule for moving on (after weeks, or milestones of the method's phase gates). The
engine moves on by itself as a recorded decision, under the safety rules of a phase change,
carrying the clinician's pins; a single-phase protocol is one phase, unchanged."""

from __future__ import annotations

import copy
import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from groundup.cli.files import read_document
from groundup.clinical.logs import CheckIn, ExerciseLog, Override, SessionLog, SetLog
from groundup.knowledge import load_rules
from groundup.services import Services
from groundup.services.library import Owner, Refused, parse_template
from test_own_exercises import clinician
from test_services import intake

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def three_phases() -> dict[str, Any]:
    raw = read_document(EXAMPLES / "clinic" / "three-phase-protocol.yaml")["templates"][0]
    return dict(copy.deepcopy(raw))


def test_a_three_phase_file_checks_and_the_first_phase_is_the_protocols_own() -> None:
    rules = load_rules()
    key, template = parse_template(three_phases(), rules.library)
    assert key == "calf_three_phase" and template.stage_count == 3
    assert template.phase.value == "activation"
    assert [i.exercise_id for i in template.items] == [
        "seated_heel_raise",
        "seated_dorsiflexor_activation",
    ]
    third = template.at_stage(2)
    assert third.phase.value == "higher_load" and len(third.blocks) == 2
    # Stored and read back (the JSON a program keeps), it is the same protocol.
    again = parse_template({"key": key, **template.model_dump(mode="json")}, rules.library)[1]
    assert again == template
    # The built-in protocols are single-phase protocols, as they were.
    assert all(t.stage_count == 1 for t in rules.templates.templates.values())


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        (
            lambda d: d["phases"][2]["items"][0].update(exercise_id="x"),
            "phases.2.items.0.exercise_id",
            "no exercise with id 'x'",
        ),
        (
            lambda d: d["phases"][1]["move_on"].update(milestones=["faster_please"]),
            "phases.1.move_on.milestones.0",
            "no milestone with id 'faster_please'",
        ),
        (lambda d: d["phases"][0].pop("move_on"), "phases.0.move_on", "say when it moves on"),
        (
            lambda d: d["phases"][2].update(move_on={"after_weeks": 3}),
            "phases.2.move_on",
            "the last phase has no next one",
        ),
        (
            lambda d: d["phases"][0].update(move_on={"after_weeks": 2, "milestones": ["x"]}),
            "phases.0.move_on",
            "either after_weeks or milestones",
        ),
        (
            lambda d: d["phases"][1]["items"][1].update(sets=40),
            "phases.1.items.1.sets",
            "less than or equal to 10",
        ),
    ],
)
def test_a_bad_phase_is_refused_in_one_line_naming_the_field(
    change: Any, field: str, words: str
) -> None:
    raw = three_phases()
    change(raw)
    with pytest.raises(Refused) as caught:
        parse_template(raw, load_rules().library)
    assert caught.value.field == field
    assert words in caught.value.problem
    assert "\n" not in str(caught.value)


def _log(services: Services, pid: str, day: dt.date, pain: int, n: int) -> None:
    program = services.program(pid)
    exercises = tuple(
        ExerciseLog(
            exercise_id=s.exercise_id,
            side=d.side,
            sets=tuple(SetLog(amount=d.amount, rpe=3, pain=pain) for _ in range(d.sets)),
        )
        for s in program.part("main")
        for d in s.doses
    )
    services.record_checkin(pid, CheckIn(date=day, pain_on_waking=0, stiffness_on_waking=0))
    services.log_session(
        pid, SessionLog(id=f"ph-{n}-xx", date=day, exercises=exercises, pain_after=min(pain, 2))
    )


def _on_three_phases(services: Services, days_ago: int) -> tuple[str, dt.date, int]:
    user_id = clinician(services)
    services.own.save_protocols(Owner.clinician(user_id), [three_phases()], by_user_id=user_id)
    data = intake()
    assert data.screen is not None and data.assessment is not None
    pid = services.enrol("Alex", clinician_id=user_id)
    start = dt.date.today() - dt.timedelta(days=days_ago)
    start -= dt.timedelta(days=start.weekday())  # a Monday
    services.record_screen(pid, data.screen, start)
    services.start_program(
        pid,
        data.assessment.model_copy(update={"date": start}),
        data.preferences,
        day=start,
        template="calf_three_phase",
    )
    return pid, start, user_id


def test_the_engine_moves_through_the_phases_by_their_rules(services: Services) -> None:
    pid, start, _ = _on_three_phases(services, 42)
    first = services.program(pid)
    assert first.stage == 0 and first.phase.value == "activation"
    # The protocol's phase-1 exercises (the condition's pathway may add its own).
    assert {"seated_heel_raise", "seated_dorsiflexor_activation"} <= {
        s.exercise_id for s in first.part("main")
    }
    day, n = start, 0
    moved: dict[int, dt.date] = {}
    while day <= dt.date.today() and len(moved) < 2:
        if services.program(pid).is_training_day(day):
            stage = services.program(pid).stage
            _log(services, pid, day, 0, n)
            n += 1
            if services.program(pid).stage != stage:
                moved[services.program(pid).stage] = day
        day += dt.timedelta(days=1)
    # After two weeks (the rule of phase 1), on the first session that day or later.
    assert moved[1] == start + dt.timedelta(days=14), moved
    second_decision = [d for d in services.decisions(pid) if d.rule == "stage.advance"]
    assert second_decision[0].numbers["after_weeks"] == 2
    assert second_decision[0].numbers["days_in_phase"] == 14
    assert "phase 2, Load" in second_decision[0].person_text
    # The caps stay on for a protocol: its next phase's first week is held to the weekly
    # cap against the last week, as a phase change is (M8).
    moved_on = second_decision[0].numbers
    reference = float(moved_on["week_reference_seconds"])
    cap = 1 + load_rules().progression.weekly_volume_growth_cap
    assert float(moved_on["week_planned_seconds"]) > reference * cap  # phase 2 is bigger
    # Scaled down towards the cap, never below the bottom of each exercise's range (N3).
    capped = float(moved_on["week_capped_seconds"])
    assert float(moved_on["week_floor_seconds"]) <= capped < float(moved_on["week_planned_seconds"])
    assert "cap.weekly_volume" in second_decision[0].clinician_text
    # Phase 2 moves on once its milestones are met: 6 sessions in it (the gate figure of
    # low_load_min_sessions in phases.yaml), the last 3 pain-free.
    assert moved[2] == moved[1] + dt.timedelta(days=11), moved
    third = services.program(pid)
    assert third.stage == 2 and third.phase.value == "higher_load"
    mains = {s.exercise_id for s in third.part("main")}
    assert "single_leg_heel_raise" in mains and "seated_heel_raise" not in mains
    last = [d for d in services.decisions(pid) if d.rule == "stage.advance"][-1]
    assert "low_load_min_sessions" in last.numbers and "low_load_pain_free" in last.numbers


def test_it_never_moves_on_in_a_flare_up(services: Services) -> None:
    pid, start, _ = _on_three_phases(services, 49)
    day, n = start, 0
    while day < start + dt.timedelta(days=14):
        if services.program(pid).is_training_day(day):
            _log(services, pid, day, 0, n)
            n += 1
        day += dt.timedelta(days=1)
    assert services.program(pid).stage == 0
    # Two weeks are done, but this session hurt 7/10: a flare-up, and no move.
    _log(services, pid, day, 7, n)
    assert services.program(pid).state.flare is not None
    in_flare: list[int] = []
    while day < dt.date.today() and services.program(pid).stage == 0:
        day += dt.timedelta(days=1)
        if services.program(pid).is_training_day(day):
            n += 1
            flare = services.program(pid).state.flare is not None
            _log(services, pid, day, 0, n)
            if flare:
                in_flare.append(services.program(pid).stage)
    assert in_flare and set(in_flare) == {0}, "moved on in a flare-up"
    assert services.program(pid).stage == 1, "never moved on after the flare-up"
    ended = services.program(pid).state.last_flare_end
    advance = next(d for d in services.decisions(pid) if d.rule == "stage.advance")
    wait = load_rules().progression.flare_end_advance_wait_days
    assert ended is not None and (advance.date - ended).days >= wait


def test_a_pinned_dose_outlives_the_move_to_the_next_phase(services: Services) -> None:
    pid, start, user_id = _on_three_phases(services, 21)
    slot = services.program(pid).slot("seated_heel_raise")
    assert slot is not None
    services.apply_override(
        pid,
        Override(
            date=start,
            by="Dr Cee",
            reason="Keep the seated raises going",
            action="pin_dose",
            exercise_id="seated_heel_raise",
            side=slot.doses[0].side,
            sets=3,
        ),
        by_user_id=user_id,
    )
    day, n = start + dt.timedelta(days=1), 0
    while services.program(pid).stage == 0 and day <= dt.date.today():
        if services.program(pid).is_training_day(day):
            _log(services, pid, day, 0, n)
            n += 1
        day += dt.timedelta(days=1)
    program = services.program(pid)
    assert program.stage == 1
    kept = program.slot("seated_heel_raise")
    assert kept is not None and kept.doses[0].sets == 3 and kept.doses[0].pinned
    assert program.slot("calf_raise_wall") is not None
    advance = next(d for d in services.decisions(pid) if d.rule == "stage.advance")
    assert "stays, at the dose your clinician set" in advance.person_text
