"""The program editor in the engine: a clinician swaps, adds and removes an exercise, each an
override with its reason, undoable; a pinned exercise outlives a phase change (issue 14,
items 3 and 6)."""

from __future__ import annotations

from typing import Any

from groundup.clinical import overrides
from groundup.clinical.vocabulary import Phase, Side
from test_progression import (
    CALF,
    RULES,
    TIB,
    day,
    done,
    dose,
    live,
    of,
    override,
    program,
    replay,
    slot_of,
)

LIFTS = "tibialis_lifts"


def swap_suggestions(*args: object) -> tuple[Any, ...]:
    return overrides.swap_suggestions(*args)  # type: ignore[no-any-return,arg-type]


def key_exercise(*args: object) -> str | None:
    return overrides.key_exercise(*args)  # type: ignore[no-any-return,arg-type]


def problem(prog: object, event: object) -> tuple[str, str] | None:
    return overrides.override_problem(
        event,  # type: ignore[arg-type]
        prog,  # type: ignore[arg-type]
        RULES.library,
        RULES.progression.switchable_rules,
        rules=RULES,
    )


def test_swap_suggestions_share_the_muscles_and_role_and_put_ladder_neighbours_first() -> None:
    prog = program()
    current = RULES.library[TIB]
    found = swap_suggestions(prog, TIB, RULES)
    assert found, "the shin raise has stand-ins"
    for exercise in found:
        assert exercise.prime_movers == current.prime_movers
        assert prog.phase in exercise.phases
        assert exercise.needs_only(prog.preferences.equipment)
        assert prog.slot(exercise.id) is None
    neighbours = {current.regression, current.progression} | {
        e.id for e in RULES.library.values() if TIB in (e.regression, e.progression)
    }
    flags = [e.id in neighbours for e in found]
    assert flags == sorted(flags, reverse=True), "ladder neighbours come first"


def test_a_swap_puts_the_new_exercise_in_the_old_ones_place_and_undo_restores_the_dose() -> None:
    prog = program()
    # The shin raise has been logged twice: the undo must give back exactly this slot.
    prog, _, history = live(prog, {"day": 0}, {"day": 2})
    before = slot_of(prog, TIB)
    place = [s.exercise_id for s in prog.slots].index(TIB)
    swap = override(day(3), "swap_exercise", exercise_id=TIB, replacement=LIFTS)
    assert problem(prog, swap) is None
    prog, decisions, history = live(prog, {"event": swap}, history=history)
    (made,) = of(decisions, "override.swap_exercise")
    assert prog.slot(TIB) is None
    assert [s.exercise_id for s in prog.slots][place] == LIFTS
    assert (
        "tibialis lift" in made.person_text.lower() and "clinical judgement" in made.clinician_text
    )
    assert "Undo: undo_edit" in made.clinician_text
    # The swapped-in exercise starts at the bottom of its range, within the caps.
    for d in slot_of(prog, LIFTS).doses:
        assert d.amount == d.range_low
    undo = override(day(3), "undo_edit", exercise_id=LIFTS)
    prog, decisions, _ = live(prog, {"event": undo}, history=history)
    assert of(decisions, "override.undo_edit")
    assert prog.slot(LIFTS) is None
    assert slot_of(prog, TIB) == before
    assert [s.exercise_id for s in prog.slots][place] == TIB
    assert prog.state.edits == ()


def test_a_swap_keeps_the_weaker_sides_extra_set() -> None:
    prog = program()
    short = slot_of(prog, "short_foot")
    assert dose(prog, "short_foot", Side.LEFT).sets > dose(prog, "short_foot", Side.RIGHT).sets
    target = swap_suggestions(prog, short.exercise_id, RULES)[0]
    after, _, _ = replay(
        prog, [override(day(0), "swap_exercise", exercise_id="short_foot", replacement=target.id)]
    )
    new = slot_of(after, target.id)
    left, right = new.dose(Side.LEFT), new.dose(Side.RIGHT)
    assert left is not None and right is not None
    assert left.sets > right.sets, "the involved (left) side keeps its extra set"


def test_adding_and_removing_an_exercise_and_undoing_each() -> None:
    prog = program()
    add = override(day(0), "add_exercise", exercise_id=LIFTS)
    after, decisions, _ = replay(prog, [add])
    assert of(decisions, "override.add_exercise")
    assert after.slot(LIFTS) is not None and after.slot(LIFTS).part == "main"  # type: ignore[union-attr]
    history = [add, override(day(1), "undo_edit", exercise_id=LIFTS)]
    after, _, _ = replay(prog, history)
    assert after.slot(LIFTS) is None
    removal = override(day(0), "remove_exercise", exercise_id="toe_abduction")
    after, decisions, _ = replay(prog, [removal])
    (made,) = of(decisions, "override.remove_exercise")
    assert after.slot("toe_abduction") is None
    assert "took toe" in made.person_text.lower()
    after, _, _ = replay(
        prog, [removal, override(day(1), "undo_edit", exercise_id="toe_abduction")]
    )
    assert after.slots == prog.slots


def test_undoing_an_addition_never_leaves_the_session_without_main_work() -> None:
    """Found by the property test: an exercise added, every other main exercise removed,
    then the addition undone — the session was left with no main work. The undo is refused
    as the last removal is, and the exercise stays."""
    prog = program()
    history = [override(day(0), "add_exercise", exercise_id=LIFTS)]
    after, _, _ = replay(prog, history)
    others = [s.exercise_id for s in after.part("main") if s.exercise_id != LIFTS]
    for n, exercise_id in enumerate(others, 1):
        history.append(override(day(n), "remove_exercise", exercise_id=exercise_id, confirm=True))
    after, _, _ = replay(prog, history)
    assert [s.exercise_id for s in after.part("main")] == [LIFTS]
    undo = override(day(len(others) + 1), "undo_edit", exercise_id=LIFTS)
    refused = problem(after, undo)
    assert refused is not None and "no main exercise" in refused[1]
    after, _, _ = replay(prog, [*history, undo])
    assert [s.exercise_id for s in after.part("main")] == [LIFTS]


def test_removing_or_swapping_the_exercise_a_gate_measures_needs_confirmation() -> None:
    prog = program()
    why = key_exercise(prog, CALF, RULES)
    assert why is not None and "gate" in why
    removal = override(day(0), "remove_exercise", exercise_id=CALF)
    refused = problem(prog, removal)
    assert refused is not None and refused[0] == "confirm" and "confirm removing" in refused[1]
    # The engine gives the same answer: nothing changes without the confirmation.
    after, decisions, _ = replay(prog, [removal])
    assert of(decisions, "override.refused") and after.slot(CALF) is not None
    confirmed = override(day(0), "remove_exercise", exercise_id=CALF, confirm=True)
    assert problem(prog, confirmed) is None
    after, _, _ = replay(prog, [confirmed])
    assert after.slot(CALF) is None
    # A swap to an exercise that trains the same test needs no confirmation.
    other = next(
        e
        for e in swap_suggestions(prog, CALF, RULES)
        if key_exercise(prog, CALF, RULES, e.id) is None
    )
    assert (
        problem(prog, override(day(0), "swap_exercise", exercise_id=CALF, replacement=other.id))
        is None
    )


def test_a_two_legged_stand_in_cannot_take_a_one_leg_exercises_extra_set() -> None:
    prog = program(phase=Phase.DYNAMIC_STABILITY)
    single = slot_of(prog, "tibialis_raise_single_leg")
    assert (
        dose(prog, single.exercise_id, Side.LEFT).sets
        > dose(prog, single.exercise_id, Side.RIGHT).sets
    )
    both = RULES.library[LIFTS]
    event = override(day(0), "swap_exercise", exercise_id=single.exercise_id, replacement=LIFTS)
    refused = problem(prog, event)
    assert refused is not None and refused[0] == "replacement"
    assert "extra set" in refused[1] and both.name in refused[1]
    assert LIFTS not in {e.id for e in swap_suggestions(prog, single.exercise_id, RULES)}


def test_the_editor_refuses_what_does_not_fit() -> None:
    prog = program()
    cases = {
        "replacement": override(
            day(0), "swap_exercise", exercise_id=TIB, replacement="single_leg_deadlift"
        ),
        "exercise_id": override(day(0), "add_exercise", exercise_id=CALF),
    }
    for field, event in cases.items():
        refused = problem(prog, event)
        assert refused is not None and refused[0] == field, refused
    refused = problem(prog, override(day(0), "undo_edit", exercise_id=TIB))
    assert refused is not None and "to undo" in refused[1]
    refused = problem(prog, override(day(0), "add_exercise", exercise_id="no_such_thing"))
    assert refused is not None and "not an exercise" in refused[1]


def test_a_pinned_exercise_outlives_a_phase_change_and_the_change_says_so() -> None:
    prog = program()
    history = [
        override(day(0), "pin_dose", exercise_id="short_foot", amount=8),
        override(day(1), "force_phase", phase=Phase.DYNAMIC_STABILITY),
    ]
    after, decisions, _ = replay(prog, history)
    assert after.phase is Phase.DYNAMIC_STABILITY
    kept = slot_of(after, "short_foot")
    assert all(d.pinned and d.amount == 8 for d in kept.doses)
    (moved,) = of(decisions, "override.force_phase")
    assert "Short foot" in moved.person_text and "your clinician set" in moved.person_text
    assert "pinned dose" in moved.clinician_text
    # Unpinned, it stays in the session (it can move again) rather than vanishing.
    after, _, _ = replay(prog, [*history, override(day(2), "unpin_dose", exercise_id="short_foot")])
    assert after.slot("short_foot") is not None
    assert not any(d.pinned for d in slot_of(after, "short_foot").doses)


def test_a_phase_advance_carries_the_clinicians_swap_and_says_so() -> None:
    prog = program()
    heel = "single_leg_heel_raise"
    # A swap made in the phase before: the new phase brings the swapped-out exercise back
    # (the one-leg heel raise), so the swap is made again there.
    history = [override(day(0), "force_phase", phase=Phase.DYNAMIC_STABILITY)]
    mid, _, _ = replay(prog, history)
    options = [
        e for e in swap_suggestions(mid, heel, RULES) if Phase.PROXIMAL_INTEGRATION in e.phases
    ]
    assert options
    history.append(override(day(1), "swap_exercise", exercise_id=heel, replacement=options[0].id))
    history.append(override(day(2), "force_phase", phase=Phase.PROXIMAL_INTEGRATION))
    after, decisions, _ = replay(prog, history)
    moved = of(decisions, "override.force_phase")[-1]
    assert after.phase is Phase.PROXIMAL_INTEGRATION
    assert after.slot(options[0].id) is not None and after.slot(heel) is None
    assert "as your clinician chose" in moved.person_text
    assert "carried" in moved.clinician_text
    # … and can still be undone in the new phase, giving back the phase's own exercise.
    undone, _, _ = replay(
        prog, [*history, override(day(3), "undo_edit", exercise_id=options[0].id)]
    )
    assert undone.slot(heel) is not None and undone.slot(options[0].id) is None
    # A session logged after the edit is still evaluated without error.
    replay(prog, [*history, done(after, day(3))])
