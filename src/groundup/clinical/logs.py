"""What a person records: sessions set by set, next-morning check-ins, retests, overrides.

A history is an ordered sequence of these events; the progression engine reads it.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import Field, model_validator

from groundup.clinical.assessment import Assessment
from groundup.clinical.exercises import ID_PATTERN, Frozen
from groundup.clinical.vocabulary import Phase, Side

Pain = Annotated[int, Field(ge=0, le=10, description="0 = no pain, 10 = worst imaginable")]
# A difficulty setting as logged: a finite number (cm, kg …) or a named level.
KnobSetting = (
    Annotated[float, Field(allow_inf_nan=False, ge=-10_000, le=10_000)]
    | Annotated[str, Field(min_length=1, max_length=64)]
)


# Warning signs in the person's words: a short phrase each, and a handful at most.
MAX_RED_FLAGS = 20
MAX_RED_FLAG_CHARS = 300
RedFlagWords = Annotated[str, Field(min_length=1, max_length=MAX_RED_FLAG_CHARS)]
# A warning sign chosen from the screen's list (screening.yaml `checkin_signs`), by id.
WarningSignId = Annotated[str, Field(pattern=ID_PATTERN, max_length=64)]
MAX_WARNING_SIGNS = 20


class SetLog(Frozen):
    """One set as done."""

    amount: float = Field(ge=0, le=3600, description="reps, seconds, minutes or metres done")
    load_kg: float | None = Field(default=None, ge=0, le=500)
    knob: KnobSetting | None = None
    rpe: float | None = Field(default=None, ge=1, le=10, description="effort, 1–10")
    rir: int | None = Field(default=None, ge=0, le=10, description="reps left in reserve")
    pain: Pain = Field(description="pain during the set, 0–10")
    form: str = Field(
        default="clean", max_length=64, description="'clean' or the id of the fault seen"
    )

    @property
    def effort(self) -> float | None:
        """Effort on the RPE scale; reps in reserve converted (RPE = 10 − RIR)."""
        if self.rpe is not None:
            return self.rpe
        if self.rir is not None:
            return float(max(1, 10 - self.rir))
        return None

    @property
    def clean(self) -> bool:
        return self.form == "clean"


class ExerciseLog(Frozen):
    exercise_id: str = Field(pattern=ID_PATTERN)
    side: Side | None = Field(default=None, description="left, right, or empty for both legs")
    sets: tuple[SetLog, ...] = Field(min_length=1, max_length=20)

    @property
    def max_pain(self) -> int:
        return max(s.pain for s in self.sets)


# The skip reason of the day's session stopped because the screen's questions, asked again
# after high pain on waking, refer (S13): stored as a session stopped for warning signs.
RECHECK_REASON = "stopped: the safety questions answered again point to a check"


class SessionLog(Frozen):
    """One session: done (with its exercises) or skipped."""

    type: Literal["session"] = "session"
    id: str = Field(min_length=1, max_length=64, description="client-chosen id; retries reuse it")
    date: dt.date
    skipped: bool = False
    skip_reason: str = Field(default="", max_length=500)
    exercises: tuple[ExerciseLog, ...] = ()
    pain_after: Pain | None = Field(
        default=None,
        description="pain right after the session (within the hour), 0–10; "
        "left out, the program holds the dose and asks for it",
    )
    warning_signs: tuple[WarningSignId, ...] = Field(
        default=(),
        max_length=MAX_WARNING_SIGNS,
        description="warning signs (ids from the screen's check-in list) that stopped the "
        "session; any one stops the program until a clinician resumes it",
    )

    @model_validator(mode="after")
    def _done_or_skipped(self) -> SessionLog:
        if self.skipped and self.exercises:
            raise ValueError("a skipped session cannot list exercises")
        if not self.skipped and not self.exercises:
            raise ValueError("a session that was done needs at least one exercise")
        return self

    @property
    def max_pain(self) -> int:
        return max((e.max_pain for e in self.exercises), default=0)


class CheckIn(Frozen):
    """The next-morning check-in."""

    type: Literal["checkin"] = "checkin"
    date: dt.date
    pain_on_waking: Pain
    stiffness_on_waking: Pain = Field(description="stiffness on waking, 0–10")
    warning_signs: tuple[WarningSignId, ...] = Field(
        default=(),
        max_length=MAX_WARNING_SIGNS,
        description="warning signs noticed since the last check-in, as ids from the screen's "
        "check-in list; each refers with the urgency of the screen rule it stands for",
    )
    new_red_flags: tuple[RedFlagWords, ...] = Field(
        default=(),
        max_length=MAX_RED_FLAGS,
        description="anything else new, in the person's words: kept as a note for the "
        "clinician beside the chosen warning signs; words alone do not stop the program",
    )
    settled_within_hour: Literal["yes", "no", "not_sure"] | None = Field(
        default=None,
        description="asked on pathways with a settle check (kneecap pain): after the last "
        "session, was the pain back to how it was within an hour? 'no' holds progression",
    )


class Retest(Frozen):
    """A repeat assessment; its tests feed the phase gates."""

    type: Literal["retest"] = "retest"
    date: dt.date
    assessment: Assessment
    questionnaires_only: bool = Field(
        default=False,
        description="the person answered their questionnaires on their own: the scores "
        "count, the tests in the assessment do not (none were done)",
    )


OverrideAction = Literal[
    "pin_dose",
    "unpin_dose",
    "rule_off",
    "rule_on",
    "force_phase",
    "resume",
    "check_clear",
    "weight_bearing_full",
    # the program editor: one exercise for another, one more, one fewer, and undoing them
    "swap_exercise",
    "add_exercise",
    "remove_exercise",
    "undo_edit",
    "questionnaires_every",
    "questionnaires_off",
]

# The longest interval a clinician may set between the person's questionnaires.
QUESTIONNAIRE_MAX_WEEKS = 26


class Override(Frozen):
    """A clinician's change, recorded with who and why."""

    type: Literal["override"] = "override"
    date: dt.date
    by: str = Field(min_length=1, max_length=120)
    reason: str = Field(min_length=3, max_length=1000)
    action: OverrideAction
    exercise_id: str | None = Field(default=None, pattern=ID_PATTERN)
    side: Side | None = None
    sets: int | None = Field(default=None, ge=1, le=10)
    amount: float | None = Field(default=None, gt=0, le=3600)
    load_kg: float | None = Field(default=None, ge=0, le=500)
    knob: KnobSetting | None = None
    rule: str | None = None
    phase: Phase | None = None
    # swap_exercise: the exercise that takes the place of `exercise_id`
    replacement: str | None = Field(default=None, pattern=ID_PATTERN)
    # swap or remove the condition's key exercise, or one a phase gate measures: confirmed
    confirm: bool = False
    every_weeks: int | None = Field(
        default=None,
        ge=1,
        le=QUESTIONNAIRE_MAX_WEEKS,
        strict=True,
        description="questionnaires_every: weeks between the person's questionnaires",
    )

    @model_validator(mode="after")
    def _complete(self) -> Override:
        needs = {
            "pin_dose": ("exercise_id",),
            "unpin_dose": ("exercise_id",),
            "rule_off": ("rule",),
            "rule_on": ("rule",),
            "force_phase": ("phase",),
            "resume": (),
            # the check an intake warning asked for (e.g. bone stress) was done and is clear
            "check_clear": (),
            # the surgeon or physiotherapist now allows full weight, out of the boot or cast
            "weight_bearing_full": (),
            "swap_exercise": ("exercise_id", "replacement"),
            "add_exercise": ("exercise_id",),
            "remove_exercise": ("exercise_id",),
            # undo the last edit that put `exercise_id` in (or took it out of) the program
            "undo_edit": ("exercise_id",),
            # how often the person answers their questionnaires again, or never
            "questionnaires_every": ("every_weeks",),
            "questionnaires_off": (),
        }[self.action]
        missing = [name for name in needs if getattr(self, name) is None]
        if missing:
            raise ValueError(f"{self.action} needs {', '.join(missing)}")
        return self


Event = Annotated[SessionLog | CheckIn | Retest | Override, Field(discriminator="type")]

EVENT_ORDER = {"checkin": 0, "retest": 1, "override": 2, "session": 3}


def event_key(event: SessionLog | CheckIn | Retest | Override) -> tuple[dt.date, int]:
    """Chronological order; a check-in is the morning's, so it comes before that day's session."""
    return (event.date, EVENT_ORDER[event.type])
