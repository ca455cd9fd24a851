"""What a clinician's override may do to a program: one check for every door.

The pages, the API and the command line all ask `override_problem` (through the services)
before an override is stored, so the same override gets the same answer wherever it comes
from: a dose is pinned only to an exercise in the program, on a side it is dosed for, and
to a setting its own difficulty knob has; only the rules listed as switchable can be
switched off (safety rules and referrals stay on); a phase is forced only to another one,
and not past the ceiling of a check the intake asked for until it is recorded;
a program resumes only from a referral or a flare-up; a check is recorded as clear only
while one is pending; full weight on the leg is recorded only when it was not already.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from groundup.clinical.assessment import WeightBearing
from groundup.clinical.exercises import Exercise
from groundup.clinical.logs import Override
from groundup.clinical.program import Program


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


def override_problem(
    override: Override,
    program: Program,
    library: Mapping[str, Exercise],
    switchable: Sequence[str],
    weight_limited: bool | None = None,
) -> tuple[str, str] | None:
    """(field, why) when the override cannot apply to this program; None when it can.
    `weight_limited`: whether a weight-bearing limit is in force (`pathways.load_restriction`);
    not given, only a full weight already recorded refuses a record of full weight."""
    action = override.action
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
