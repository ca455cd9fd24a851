"""A program: the phase, the weekly schedule and one session's exercises with their doses.

A program is a value. Every automatic decision or clinician override produces a new
version; the engine's state between sessions (flare-up stage, last progression, referral)
lives here too so that the same history always replays to the same program.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import Field

from groundup.clinical.assessment import Condition
from groundup.clinical.exercises import ID_PATTERN, Exercise, Frozen, Tempo
from groundup.clinical.profile import ImbalanceProfile
from groundup.clinical.vocabulary import DoseType, Equipment, Phase, Position, Side

Part = Literal["warm_up", "main", "mobility"]

# Seconds to move over one metre when an exercise is dosed by distance (slow, careful walking).
SECONDS_PER_METRE = 1.5
# Seconds to set up and change over between exercises.
CHANGEOVER_SECONDS = 30


class Preferences(Frozen):
    """What the person has and wants: equipment at hand, minutes per session, days."""

    equipment: tuple[Equipment, ...] = (
        Equipment.NONE,
        Equipment.WALL,
        Equipment.CHAIR,
        Equipment.TOWEL,
    )
    minutes_per_session: int = Field(default=30, ge=10, le=120)
    training_days: tuple[int, ...] | None = Field(
        default=None, description="weekdays to train, 0 = Monday … 6 = Sunday"
    )


class Dose(Frozen):
    """The prescription of one exercise for one side (or for both legs together)."""

    side: Side | None
    sets: int = Field(ge=1, le=10)
    amount: float = Field(gt=0, le=3600)
    range_low: float = Field(gt=0)
    range_high: float = Field(gt=0)
    tempo: Tempo | None = None
    rest_seconds: int = Field(ge=0, le=600)
    load_kg: float | None = Field(default=None, ge=0, le=500)
    knob: float | str | None = None
    pinned: bool = False

    @property
    def volume(self) -> float:
        """Sets × amount: the figure the weaker-side and volume rules compare."""
        return self.sets * self.amount


class Slot(Frozen):
    """One exercise in the session, with a dose per side and the reason it is there."""

    exercise_id: str = Field(pattern=ID_PATTERN)
    part: Part
    doses: tuple[Dose, ...] = Field(min_length=1)
    pair_with: str | None = Field(default=None, description="alternate sets with this exercise")
    reason: str

    def dose(self, side: Side | None) -> Dose | None:
        for dose in self.doses:
            if dose.side == side:
                return dose
        return None


class FlareState(Frozen):
    """A flare-up in progress: reduced volume, then a staged return."""

    started: dt.date
    stage: int = Field(ge=0, description="0 = reduced, then each return stage")
    sessions_left_in_stage: int = Field(ge=0)
    volume_fraction: float = Field(gt=0, le=1)
    first_started: dt.date | None = Field(
        default=None, description="the start of the first flare-up this one restarted"
    )
    restore: dict[str, float] = Field(
        default_factory=dict, description="the amounts before the flare-up, by dose key"
    )


class PendingCheck(Frozen):
    """A check an intake warning asked for (e.g. the shin for a bone stress injury): until a
    clinician records it as done and clear, the program stays at or below `ceiling` and
    steps to no exercise outside `positions`."""

    ceiling: Phase
    positions: tuple[Position, ...] = Field(min_length=1)
    warnings: tuple[str, ...] = Field(min_length=1, description="the warnings' ids")
    waiting_for: str = Field(min_length=10, description="plain words")
    clinical: str = Field(min_length=10)
    since: dt.date


class ProgramEdit(Frozen):
    """A clinician's edit of the session (program editor), kept so that it can be undone and
    so that a phase change carries it: `exercise_id` is the exercise the edit put in (swap,
    add) or took out (remove); `previous` the slot it replaced or removed, whole, with its
    dose; `index` where that slot stood."""

    action: Literal["swap", "add", "remove"]
    exercise_id: str = Field(pattern=ID_PATTERN)
    previous: Slot | None = None
    index: int = Field(default=0, ge=0)
    date: dt.date


class EngineState(Frozen):
    """What the engine remembers between decisions."""

    evaluated: int = Field(default=0, ge=0, description="events of the history evaluated")
    last_progression: dt.date | None = None
    # Each exercise's last progression (R3: a session held at its minutes is judged on the
    # pathway's own exercises, not on whichever exercise could still step).
    progressed_on: dict[str, dt.date] = Field(default_factory=dict)
    last_stall_prompt: dt.date | None = None
    last_retest_prompt: dt.date | None = None
    last_trend_reduction: dt.date | None = Field(
        default=None, description="when a rising weekly morning trend last reduced the load"
    )
    regressions: tuple[dt.date, ...] = ()
    flare: FlareState | None = None
    flares: tuple[dt.date, ...] = Field(default=(), description="each flare-up start or restart")
    last_flare_end: dt.date | None = None
    retest_worse_on: dt.date | None = Field(
        default=None, description="a retest worse than the one before: progression held since"
    )
    retest_prompts: int = Field(default=0, ge=0, description="retest requests since the last test")
    last_checkin_prompt: dt.date | None = None
    last_run_step: dt.date | None = None
    referred: bool = False
    referral_reason: str | None = None
    check_pending: PendingCheck | None = None
    last_check_prompt: dt.date | None = None
    # the last time high pain on waking asked for the screen's questions again (S13)
    last_recheck_prompt: dt.date | None = None
    last_phase_hold: dt.date | None = Field(
        default=None, description="when a phase advance was last held for doses too light (P6)"
    )
    last_weight_prompt: dt.date | None = Field(
        default=None, description="when the gate last asked whether full weight is allowed (P3)"
    )
    # When the person and the clinician were last asked to choose fewer exercises or more
    # minutes because the session can no longer grow within its time.
    last_time_prompt: dt.date | None = None
    # When the hop test (or another running test never done) was last asked for, the other
    # walk-run criteria being met (Q3).
    last_run_test_prompt: dt.date | None = None
    # Reassessment prompts since the last progression or phase change; at the configured
    # count the stall goes to the clinician.
    stall_prompts: int = Field(default=0, ge=0)
    # The effort step-backs taken (P15), by dose key and day: the hand-over counts them (R15).
    effort_steps: tuple[tuple[str, dt.date], ...] = ()
    rules_off: tuple[str, ...] = ()
    pinned: tuple[str, ...] = ()  # "exercise_id:side" keys
    edits: tuple[ProgramEdit, ...] = Field(
        default=(), description="the clinician's swaps, additions and removals, oldest first"
    )
    # The clinician's interval between the person's questionnaires (None: the default in
    # the knowledge data), or switched off.
    questionnaire_every_days: int | None = Field(default=None, ge=1)
    questionnaires_off: bool = False


class Program(Frozen):
    version: int = Field(ge=1)
    template: str | None = None
    phase: Phase
    phase_started: dt.date
    start_date: dt.date
    training_days: tuple[int, ...] = Field(min_length=1)
    times_per_day: int = Field(default=1, ge=1, le=3)
    weeks: int | None = Field(default=None, description="fixed length of a template, weeks")
    stage: int = Field(
        default=0, ge=0, description="a template in several phases: the one it is in (0-based)"
    )
    slots: tuple[Slot, ...] = Field(min_length=1)
    weaker_side: Side | None
    profile: ImbalanceProfile
    baseline: ImbalanceProfile
    preferences: Preferences
    reasons: tuple[str, ...] = ()
    state: EngineState = EngineState()
    # Questionnaire scores at the start and latest, for gates that need change beyond the MCID.
    outcome_baseline: dict[str, float] = {}
    outcome_latest: dict[str, float] = {}
    # The condition pathway the plan follows ("not sure": the plan from the tests alone).
    pathway: Condition = Condition.NOT_SURE

    @property
    def sessions_per_week(self) -> int:
        return len(self.training_days) * self.times_per_day

    def slot(self, exercise_id: str) -> Slot | None:
        for slot in self.slots:
            if slot.exercise_id == exercise_id:
                return slot
        return None

    def part(self, part: Part) -> tuple[Slot, ...]:
        return tuple(s for s in self.slots if s.part == part)

    def is_training_day(self, day: dt.date) -> bool:
        return day.weekday() in self.training_days and day >= self.start_date


def unit_seconds(exercise: Exercise, dose: Dose) -> float:
    """Seconds one unit of the dose takes: one rep, one second, one minute, one metre."""
    if exercise.dose_type is DoseType.REPS:
        tempo = dose.tempo or exercise.tempo
        return tempo.rep_seconds if tempo else 3.0
    if exercise.dose_type is DoseType.SECONDS:
        return 1.0
    if exercise.dose_type is DoseType.MINUTES:
        return 60.0
    return SECONDS_PER_METRE


def work_seconds(exercise: Exercise, dose: Dose) -> float:
    """Seconds of work in one set."""
    return dose.amount * unit_seconds(exercise, dose)


def slot_seconds(exercise: Exercise, slot: Slot) -> float:
    """Time one slot takes: work and rest for every set on every side, plus changeover.

    One-leg work done the ordinary way alternates the legs (left, right, left …), so each
    leg rests while the other works: a rest counts only where it outlasts the other leg's
    set, and the side with the extra set rests in full before it."""
    total = float(CHANGEOVER_SECONDS)
    sided = [d for d in slot.doses if d.side is not None]
    if len(sided) == 2 and len(slot.doses) == 2:
        first, second = sided
        one, two = work_seconds(exercise, first), work_seconds(exercise, second)
        rounds = min(first.sets, second.sets)
        gap = max(0.0, first.rest_seconds - two, second.rest_seconds - one)
        more = first if first.sets > second.sets else second
        extra = abs(first.sets - second.sets)
        return (
            total
            + first.sets * one
            + second.sets * two
            + max(0, rounds - 1) * gap
            + extra * more.rest_seconds
        )
    for dose in slot.doses:
        total += (
            dose.sets * work_seconds(exercise, dose) + max(0, dose.sets - 1) * dose.rest_seconds
        )
    return total


def dose_words(dose: Dose, dose_type: DoseType) -> str:
    """The one place a dose becomes words: '3 × 12 reps', '2 × 30 s', '1 × 10 min'.

    The load is left to the caller, who knows the person's weight unit."""
    unit = {"reps": " reps", "seconds": " s", "minutes": " min", "distance": " m"}[dose_type.value]
    return f"{dose.sets} × {dose.amount:g}{unit}"


LB_PER_KG = 2.20462

# What each part of a session is called on the person's pages, handouts and calendar.
PART_TITLES: dict[Part, str] = {
    "warm_up": "Warm-up",
    "main": "Main work",
    "mobility": "Stretch and loosen",
}


def mass_words(kg: float, unit: str) -> str:
    """A load in the person's unit: '12.5 kg', or '27.6 lb' (trailing zeros dropped)."""
    if unit == "lb":
        return f"{kg * LB_PER_KG:.1f}".rstrip("0").rstrip(".") + " lb"
    return f"{kg:g} kg"


def dose_key(exercise_id: str, side: Side | None) -> str:
    return f"{exercise_id}:{side.value if side else 'both'}"
