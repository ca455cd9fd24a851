"""What a clinician's override may do to a program: one check for every door.

The pages, the API and the command line all ask `override_problem` (through the services)
before an override is stored, so the same override gets the same answer wherever it comes
from: a dose is pinned only to an exercise in the program, on a side it is dosed for, and
to a setting its own difficulty knob has; only the rules listed as switchable can be
switched off (safety rules and referrals stay on); a phase is forced only to another one,
and not past the ceiling of a check the intake asked for until it is recorded;
a program resumes only from a referral or a flare-up; a check is recorded as clear only
while one is pending; full weight on the leg is recorded only when it was not already.

The program editor (swap, add, remove an exercise, undo an edit) is checked here too. An
exercise comes in only when it suits the program as a ladder step would (`exercise_misfit`:
the phase, the equipment at hand, the pathway, the weight-bearing limit and a pending
check's positions, hop readiness) and is not already in it; a swap's suggestions share the
exercise's muscles and their role (`swap_suggestions`, ladder neighbours first). Swapping
or removing a key exercise (`key_exercise`: the condition pathway's own exercise for the
phase, or the only one in the session training what the phase gate measures) is not
refused but needs `confirm`: the clinician may know better, and says so on the record.
The last main exercise is never removed. The dose of a swapped or added exercise is the
engine's own start (`planning.dose_for`, at the bottom of its range, the weaker side's
extra set included), so a swap cannot break the weaker-side rule or the caps; a stand-in
whose start would not give the weaker side its extra set (one done with both legs together
in place of a one-leg exercise) is refused (`extra_set_lost`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from groundup.clinical.assessment import WeightBearing
from groundup.clinical.exercises import Exercise
from groundup.clinical.logs import Override
from groundup.clinical.pathways import (
    allows,
    brought_in,
    load_restriction,
    phase_gate,
    position_allows,
    trains,
)
from groundup.clinical.planning import dose_for
from groundup.clinical.program import Program, Slot
from groundup.clinical.readiness import hop_ready
from groundup.clinical.rules import IMPLICATED, Rules
from groundup.clinical.vocabulary import Kind, Role, Side


def knob_problem(value: float | str, exercise: Exercise) -> str | None:
    """Why a knob setting does not fit the exercise's own knob, or None when it does."""
    knob = exercise.knob
    if knob is None:
        return f"{exercise.name} has no difficulty setting to pin"
    if knob.levels is not None:
        if value not in knob.levels:
            return f"one of: {', '.join(knob.levels)}"
        return None
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            return f"a number{f' in {knob.unit}' if knob.unit else ''}"
    if not math.isfinite(value):
        return "a finite number"
    assert knob.minimum is not None and knob.maximum is not None
    if not knob.minimum <= value <= knob.maximum:
        unit = f" {knob.unit}" if knob.unit else ""
        return f"between {knob.minimum:g} and {knob.maximum:g}{unit}"
    return None


def exercise_misfit(exercise: Exercise, program: Program, rules: Rules) -> str | None:
    """Why the exercise cannot join this program now, or None when it can (the checks a
    ladder step passes: `progression._fits`)."""
    if program.slot(exercise.id) is not None:
        return f"{exercise.name} is already in the program"
    if program.phase not in exercise.phases:
        return f"{exercise.name} does not belong to {program.phase.label.lower()}"
    if not exercise.needs_only(program.preferences.equipment):
        missing = sorted(e.value for e in exercise.equipment)
        return f"{exercise.name} needs equipment the person has not got ({', '.join(missing)})"
    if not allows(program.pathway, exercise.id, program.phase, rules):
        return f"the condition's plan leaves {exercise.name} out in this phase"
    restriction = load_restriction(program.pathway, program.profile, rules)
    pending = program.state.check_pending
    if not position_allows(exercise.position, restriction):
        return f"{exercise.name} is done {exercise.position.value}: full weight is not allowed yet"
    if pending is not None and exercise.position not in pending.positions:
        return f"{exercise.name} is done {exercise.position.value}: a check is pending"
    if exercise.kind is Kind.PLYOMETRIC and not hop_ready(program.profile, rules).met:
        return f"{exercise.name} is a hopping exercise and hop readiness is not met"
    return None


def extra_set_lost(slot: Slot, new: Exercise, program: Program, rules: Rules) -> str | None:
    """Why `new` in `slot`'s place would take the weaker side's extra set away (the slot
    gives one side more sets and the new exercise's starting dose does not), or None."""
    sets = {d.side: d.sets for d in slot.doses}
    left, right = sets.get(Side.LEFT, 0), sets.get(Side.RIGHT, 0)
    if left == right:
        return None
    weaker = Side.LEFT if left > right else Side.RIGHT
    doses, _ = dose_for(
        new, rules.phases[program.phase], program.profile, rules, pathway=program.pathway
    )
    given = {d.side: d.sets for d in doses}
    if given.get(weaker, 0) > given.get(weaker.other, 0):
        return None
    return (
        f"{new.name} would take the {weaker.value} side's extra set away (it is dosed "
        f"{'for both legs together' if None in given else 'evenly'}): choose a stand-in done "
        "one leg at a time"
    )


def _signature(exercise: Exercise) -> frozenset[object]:
    """The muscles and their role that make two exercises stand in for each other: the
    prime movers, or for an exercise with none (a stretch) every muscle with its role."""
    prime = frozenset((t.muscle, t.role) for t in exercise.targets if t.role is Role.PRIME_MOVER)
    return prime or frozenset((t.muscle, t.role) for t in exercise.targets)


def swap_suggestions(program: Program, exercise_id: str, rules: Rules) -> tuple[Exercise, ...]:
    """The exercises that may take `exercise_id`'s place: the same muscles in the same role,
    suited to the program now (`exercise_misfit`); the ladder neighbours (easier, harder)
    first, then by name."""
    current = rules.library.get(exercise_id)
    if current is None or program.slot(exercise_id) is None:
        return ()
    signature = _signature(current)
    slot = program.slot(exercise_id)
    assert slot is not None
    found = [
        e
        for e in rules.library.values()
        if e.id != exercise_id
        and (e.kind is Kind.MOBILITY) == (current.kind is Kind.MOBILITY)
        and _signature(e) == signature
        and exercise_misfit(e, program, rules) is None
        and extra_set_lost(slot, e, program, rules) is None
    ]

    def neighbour(e: Exercise) -> bool:
        return e.id in (current.regression, current.progression) or exercise_id in (
            e.regression,
            e.progression,
        )

    return tuple(sorted(found, key=lambda e: (not neighbour(e), e.name.lower(), e.id)))


def key_exercise(
    program: Program, exercise_id: str, rules: Rules, replacement: str | None = None
) -> str | None:
    """Why `exercise_id` is a key exercise of this phase (the condition pathway's own
    exercise, or the only one in the session that trains what the phase gate measures,
    and the replacement does not), or None."""
    library = rules.library
    exercise = library.get(exercise_id)
    if exercise is None:
        return None
    own = dict(brought_in(program.pathway, program.phase, rules))
    if exercise_id in own:
        return (
            f"{exercise.name} is the condition plan's own exercise for this phase "
            f"({own[exercise_id]})"
        )
    others = [
        library[s.exercise_id]
        for s in program.slots
        if s.exercise_id != exercise_id and s.exercise_id in library
    ]
    if replacement is not None and replacement in library:
        others.append(library[replacement])
    for criterion in phase_gate(program.pathway, program.phase, rules):
        test = criterion.test
        if test is None or test == IMPLICATED or not trains(exercise, test, rules):
            continue
        if not any(trains(o, test, rules) for o in others):
            name = rules.assessment.tests[test].label if test in rules.assessment.tests else test
            return (
                f"{exercise.name} is the only exercise in the session that trains what the "
                f"gate out of this phase measures ({name})"
            )
    return None


def _edit_problem(override: Override, program: Program, rules: Rules) -> tuple[str, str] | None:
    action = override.action
    exercise_id = override.exercise_id or ""
    if action == "undo_edit":
        done = [e for e in program.state.edits if e.exercise_id == exercise_id]
        if not done:
            return "exercise_id", f"no swap, addition or removal of {exercise_id!r} to undo"
        edit = done[-1]
        if edit.action != "remove" and program.slot(exercise_id) is None:
            return "exercise_id", f"{exercise_id!r} is no longer in the program"
        back = edit.previous
        if back is not None and program.slot(back.exercise_id) is not None and edit.action != "add":
            return "exercise_id", f"{back.exercise_id!r} is in the program again already"
        if edit.action == "add" and [s.exercise_id for s in program.part("main")] == [exercise_id]:
            # Undoing an addition takes it out: never the session's last main exercise.
            return "exercise_id", (
                "undoing this addition would leave the session with no main exercise: "
                "swap it instead"
            )
        return None
    if action == "add_exercise":
        exercise = rules.library.get(exercise_id)
        if exercise is None:
            return "exercise_id", f"{exercise_id!r} is not an exercise in the library"
        if exercise.kind is Kind.MOBILITY:
            return "exercise_id", f"{exercise.name} is a mobility exercise, not main work"
        misfit = exercise_misfit(exercise, program, rules)
        return None if misfit is None else ("exercise_id", misfit)
    slot = program.slot(exercise_id)
    if slot is None:
        return "exercise_id", f"{exercise_id!r} is not in the current program"
    if slot.part != "main":
        return "exercise_id", "only the main exercises can be swapped or removed"
    replacement = override.replacement if action == "swap_exercise" else None
    if action == "swap_exercise":
        new = rules.library.get(replacement or "")
        if new is None:
            return "replacement", f"{replacement!r} is not an exercise in the library"
        current = rules.library.get(exercise_id)
        if new.kind is Kind.MOBILITY and (current is None or current.kind is not Kind.MOBILITY):
            return "replacement", f"{new.name} is a mobility exercise, not main work"
        misfit = exercise_misfit(new, program, rules) or extra_set_lost(slot, new, program, rules)
        if misfit is not None:
            return "replacement", misfit
    elif len(program.part("main")) <= 1:
        return "exercise_id", "the session's last main exercise cannot be removed: swap it"
    key = key_exercise(program, exercise_id, rules, replacement)
    if key is not None and not override.confirm:
        way = "swapping" if action == "swap_exercise" else "removing"
        return "confirm", f"{key}: confirm {way} it"
    return None


EDITS = ("swap_exercise", "add_exercise", "remove_exercise", "undo_edit")


def override_problem(
    override: Override,
    program: Program,
    library: Mapping[str, Exercise],
    switchable: Sequence[str],
    weight_limited: bool | None = None,
    rules: Rules | None = None,
) -> tuple[str, str] | None:
    """(field, why) when the override cannot apply to this program; None when it can.
    `weight_limited`: whether a weight-bearing limit is in force (`pathways.load_restriction`);
    not given, only a full weight already recorded refuses a record of full weight.
    `rules`: the person's rules (their library), needed for the program editor's actions."""
    action = override.action
    if action in EDITS:
        if rules is None:
            return "action", "the program editor needs the person's rules"
        return _edit_problem(override, program, rules)
    if action in ("pin_dose", "unpin_dose"):
        slot = program.slot(override.exercise_id or "")
        if slot is None:
            return "exercise_id", f"{override.exercise_id!r} is not in the current program"
        if override.side is not None and all(d.side != override.side for d in slot.doses):
            return "side", "this exercise is dosed for both legs together: choose all doses"
        exercise = library.get(slot.exercise_id)
        if action == "pin_dose" and override.knob is not None and exercise is not None:
            problem = knob_problem(override.knob, exercise)
            if problem is not None:
                return "knob", problem
    elif action in ("rule_off", "rule_on"):
        if override.rule not in switchable:
            way = "off" if action == "rule_off" else "on"
            return "rule", (
                f"rule {str(override.rule)[:64]!r} cannot be switched {way}: only these can: "
                f"{', '.join(switchable)} (safety rules and referrals stay on)"
            )
    elif action == "force_phase":
        if override.phase is program.phase:
            return "phase", f"the program is already in {program.phase.label.lower()}"
        pending = program.state.check_pending
        if (
            pending is not None
            and override.phase is not None
            and override.phase.number > pending.ceiling.number
        ):
            return "phase", (
                f"a check asked for at intake is pending ({pending.clinical}); record it as "
                f"done and clear first, until then the program stays at or below phase "
                f"{pending.ceiling.number}"
            )
    elif action == "check_clear" and program.state.check_pending is None:
        return "action", "no check is pending for this program"
    elif action == "weight_bearing_full" and (
        weight_limited is False
        or (
            weight_limited is None
            and program.profile.weight_bearing is WeightBearing.FULL
            and not program.profile.boot_or_cast
        )
    ):
        return "action", (
            "no weight-bearing limit is in force for this program: full weight on the leg, "
            "out of the boot or cast, is already recorded or was never restricted"
        )
    elif action == "questionnaires_off" and program.state.questionnaires_off:
        return "action", "the questionnaires are already off for this program"
    elif action == "resume" and not (program.state.referred or program.state.flare is not None):
        return "action", "nothing to resume: the program is neither referred nor in a flare-up"
    return None
