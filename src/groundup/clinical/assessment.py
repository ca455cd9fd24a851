"""What an assessment records: symptoms, goals, questionnaires and side-by-side tests.

Every field has a unit and a valid range; the JSON Schema published in `schemas/` is
generated from these models.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

from pydantic import Field, model_validator

from groundup.clinical.exercises import Frozen
from groundup.clinical.vocabulary import Side


class Sex(StrEnum):
    FEMALE = "female"
    MALE = "male"
    UNSPECIFIED = "unspecified"


class AffectedSide(StrEnum):
    LEFT = "left"
    RIGHT = "right"
    BOTH = "both"

    @property
    def sides(self) -> tuple[Side, ...]:
        if self is AffectedSide.BOTH:
            return (Side.LEFT, Side.RIGHT)
        return (Side(self.value),)


class Condition(StrEnum):
    """What the person has, as far as they or their clinician know: it picks the pathway."""

    MIDPORTION_ACHILLES = "midportion_achilles"
    INSERTIONAL_ACHILLES = "insertional_achilles"
    SHIN_SPLINTS = "shin_splints"  # medial tibial stress syndrome
    PATELLOFEMORAL_PAIN = "patellofemoral_pain"
    CHRONIC_ANKLE_INSTABILITY = "chronic_ankle_instability"
    PLANTAR_HEEL_PAIN = "plantar_heel_pain"
    AFTER_ANKLE_FRACTURE_OR_SURGERY = "after_ankle_fracture_or_surgery"
    NOT_SURE = "not_sure"


class WeightBearing(StrEnum):
    """What the surgeon or doctor allows on the leg after a fracture or an operation."""

    NONE = "none"  # non-weight-bearing: the foot does not take weight
    PARTIAL = "partial"  # partial or touch weight, with crutches
    FULL = "full"  # full weight allowed


class FootPosture(StrEnum):
    NEUTRAL = "neutral"
    PRONATED = "pronated"  # flat / rolls in
    SUPINATED = "supinated"  # high arch / rolls out


class StepDownFault(StrEnum):
    KNEE_VALGUS = "knee_valgus"
    PELVIC_DROP = "pelvic_drop"
    TRUNK_LEAN = "trunk_lean"


class Pain(Frozen):
    at_rest: int = Field(ge=0, le=10, description="pain at rest now, 0–10")
    during_activity: int = Field(
        ge=0, le=10, description="pain during the activities that hurt, 0–10"
    )
    on_waking: int = Field(ge=0, le=10, description="pain on waking in the morning, 0–10")
    night_pain: bool = Field(default=False, description="pain wakes you at night")
    lingers_after_activity_hours: float = Field(
        default=0, ge=0, le=168, description="how long pain lingers after activity, hours"
    )

    def measures(self) -> dict[str, float]:
        """Each pain measure by the name the rules use for it (night pain as 0 or 1)."""
        return {
            "pain_at_rest": self.at_rest,
            "pain_during_activity": self.during_activity,
            "pain_on_waking": self.on_waking,
            "night_pain": 1.0 if self.night_pain else 0.0,
            "lingers_hours": self.lingers_after_activity_hours,
        }


class PsfsActivity(Frozen):
    activity: str = Field(min_length=2, max_length=120)
    score: int = Field(ge=0, le=10, description="0 = unable, 10 = as before the problem")


class PerSide(Frozen):
    """A left/right pair of one test's results; a side not tested is left out."""

    left: float | None = None
    right: float | None = None

    @model_validator(mode="after")
    def _at_least_one(self) -> PerSide:
        if self.left is None and self.right is None:
            raise ValueError("give a value for the left side, the right side or both")
        return self

    def value(self, side: Side) -> float | None:
        return self.left if side is Side.LEFT else self.right

    @property
    def protocol_id(self) -> str | None:
        """The named protocol the test was done by, where the test has more than one."""
        return None


class HeelRaiseProtocol(StrEnum):
    """How the heel-raise test was done: the published norms hold only for their own way."""

    # On the flat floor, stopping when the heel no longer rises as high as on the first reps.
    FLOOR = "floor"
    # As in the norm study (Hébert-Losier et al. 2017): on a 10° incline board, stopping
    # when the heel no longer leaves the board.
    INCLINE_10_DEGREES = "incline_10_degrees"


class HeelRaiseReps(PerSide):
    left: int | None = Field(default=None, ge=0, le=150, description="reps, 0–150")
    right: int | None = Field(default=None, ge=0, le=150, description="reps, 0–150")
    protocol: HeelRaiseProtocol = Field(
        default=HeelRaiseProtocol.FLOOR,
        description=(
            "floor: flat floor, stop when the heel no longer rises as high as at first; "
            "incline_10_degrees: the norm study's way (10° incline board, stop when the heel "
            "no longer leaves the board). Only the latter is compared with age norms."
        ),
    )

    @property
    def protocol_id(self) -> str | None:
        return self.protocol.value


class TibialisRaiseReps(PerSide):
    left: int | None = Field(default=None, ge=0, le=200, description="reps, 0–200")
    right: int | None = Field(default=None, ge=0, le=200, description="reps, 0–200")


class KneeToWall(PerSide):
    left: float | None = Field(default=None, ge=0, le=25, description="cm, 0–25")
    right: float | None = Field(default=None, ge=0, le=25, description="cm, 0–25")


class SingleLegStance(PerSide):
    left: float | None = Field(default=None, ge=0, le=45, description="seconds, 0–45 (test cap)")
    right: float | None = Field(default=None, ge=0, le=45, description="seconds, 0–45 (test cap)")


class WalkTolerance(PerSide):
    left: float | None = Field(default=None, ge=0, le=60, description="seconds, 0–60 (test cap)")
    right: float | None = Field(default=None, ge=0, le=60, description="seconds, 0–60 (test cap)")


class HopCount(PerSide):
    left: int | None = Field(
        default=None, ge=0, le=30, description="pain-free hops, 0–30 (test cap)"
    )
    right: int | None = Field(
        default=None, ge=0, le=30, description="pain-free hops, 0–30 (test cap)"
    )


class HopDistance(PerSide):
    left: float | None = Field(default=None, ge=0, le=400, description="cm, 0–400")
    right: float | None = Field(default=None, ge=0, le=400, description="cm, 0–400")


class TripleHopDistance(PerSide):
    left: float | None = Field(default=None, ge=0, le=1200, description="cm, 0–1200")
    right: float | None = Field(default=None, ge=0, le=1200, description="cm, 0–1200")


class ObjectiveTests(Frozen):
    """Per-side test results. A test not done is left out."""

    heel_raise_reps: HeelRaiseReps | None = None
    tibialis_raise_reps: TibialisRaiseReps | None = None
    knee_to_wall_cm: KneeToWall | None = None
    single_leg_stance_eyes_closed_s: SingleLegStance | None = None
    heel_walk_s: WalkTolerance | None = None
    toe_walk_s: WalkTolerance | None = None
    hop_in_place_reps: HopCount | None = None
    single_leg_hop_cm: HopDistance | None = None
    triple_hop_cm: TripleHopDistance | None = None

    def result(self, test_id: str) -> PerSide | None:
        value = getattr(self, test_id)
        assert value is None or isinstance(value, PerSide)
        return value


class StepDownQuality(Frozen):
    left: tuple[StepDownFault, ...] = ()
    right: tuple[StepDownFault, ...] = ()

    def faults(self, side: Side) -> tuple[StepDownFault, ...]:
        return self.left if side is Side.LEFT else self.right


class Observations(Frozen):
    foot_posture_left: FootPosture | None = None
    foot_posture_right: FootPosture | None = None
    step_down: StepDownQuality | None = None
    gait_asymmetry: bool = False
    notes: str = Field(default="", max_length=2000)


class Assessment(Frozen):
    """One assessment or retest of one person."""

    date: dt.date | None = Field(default=None, description="when it was done (ISO date)")
    age: int = Field(ge=16, le=100, description="age in years")
    sex: Sex = Sex.UNSPECIFIED
    affected_side: AffectedSide
    condition: Condition = Field(
        default=Condition.NOT_SURE,
        description="what the person has, if known; it picks the condition pathway",
    )
    symptom_duration_weeks: float = Field(
        ge=0, le=2600, description="how long symptoms have lasted"
    )
    weight_bearing: WeightBearing | None = Field(
        default=None,
        description=(
            "after a fracture or an operation: the weight the surgeon allows on the leg "
            "(none, partial, full); asked on that pathway, where not recording it counts as "
            "not yet full"
        ),
    )
    boot_or_cast: bool = Field(
        default=False, description="the leg is still in a walking boot, a brace or a cast"
    )
    pain: Pain
    psfs: tuple[PsfsActivity, ...] = Field(default=(), max_length=5)
    lefs: dict[str, int | None] | None = Field(
        default=None, description="LEFS answers by item id (see `groundup questionnaires`), 0–4"
    )
    faam_adl: dict[str, int | None] | None = Field(
        default=None, description="FAAM ADL answers by item id, 0–4, null for N/A"
    )
    faam_sports: dict[str, int | None] | None = Field(
        default=None, description="FAAM Sports answers by item id, 0–4, null for N/A"
    )
    visa_a: dict[str, int | None] | None = Field(
        default=None, description="VISA-A answers by item id"
    )
    tests: ObjectiveTests = ObjectiveTests()
    observations: Observations = Observations()
