"""From an assessment to an imbalance profile: what is weak, on which side, how irritable.

`build_profile(assessment, rules)` compares each test side to side, checks
agonist/antagonist endurance balance, compares each side with an absolute capacity target
and with published norms where a verified one exists (and only when the test was done the
norm study's way), maps every finding to the muscle groups it implicates and grades
irritability. A side difference within the test's measurement error is never a deficit.

Two figures describe the sides, and they are not the same thing:
- the **limb symmetry index** (LSI) is the involved (affected) side ÷ the uninvolved × 100
  (clinical reference §2 and §7). It exists only when one side is affected. It is stored
  as measured, so it can exceed 100 when the affected side did more than the other (shown
  as e.g. "108 %"; a gate asking for "at least 80 %" is met by it). With both sides
  affected there is no LSI: symmetry says nothing about capacity, so each side is compared
  with its capacity target instead;
- the **weaker side's percentage** (weaker ÷ stronger × 100, at most 100) grades a side
  difference and names the side with less, which gets the extra volume.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Literal

from pydantic import Field, model_validator

from groundup.clinical.assessment import (
    AffectedSide,
    Assessment,
    FootPosture,
    PerSide,
    Sex,
    StepDownFault,
    WeightBearing,
)
from groundup.clinical.exercises import Frozen
from groundup.clinical.vocabulary import Irritability, Muscle, Severity, Side

Confidence = Literal["P", "S", "U"]
Number = float | int | str


class Sourced(Frozen):
    """A figure with the publication it comes from and how sure we are of it."""

    value: float
    source: str = Field(min_length=3)
    confidence: Confidence


class TestDefinition(Frozen):
    """One objective test: what it measures, how to do it, what a deficit implicates."""

    label: str
    person_label: str
    short: str = Field(description="a few words for reasons, e.g. 'heel-raise'")
    unit: str
    kind: Literal["strength", "endurance", "mobility", "balance", "tolerance"]
    higher_is_better: bool = True
    measurement_error: Sourced | None = None
    measurement_error_at: Sourced | None = Field(
        default=None,
        description=(
            "the score the measurement error was measured at, for a test with no capacity "
            "target: below it the error is scaled to the score as for a low heel-raise count"
        ),
    )
    muscles: tuple[Muscle, ...] = Field(min_length=1)
    instructions: tuple[str, ...] = Field(min_length=1)
    stop_when: tuple[str, ...] = Field(min_length=1)
    metronome_bpm: int | None = Field(default=None, ge=20, le=240)
    time_cap_seconds: int | None = Field(default=None, ge=5, le=600)
    trained_by: tuple[str, ...] = Field(
        default=(),
        description=(
            "the exercises that train what the test measures, when its muscles alone do not "
            "say (balance is a skill: a step-down steadies the same muscles but does not "
            "train standing still with the eyes closed)"
        ),
    )


class LsiBand(Frozen):
    below: float = Field(gt=0, le=100)
    severity: Severity
    source: str
    confidence: Confidence


class AgeBand(Frozen):
    age_from: int
    age_to: int
    male: float
    female: float


class TestNorm(Frozen):
    """A published reference for one test: medians by age band and sex.

    A norm holds only for the way its study did the test: with `protocol` set, a result
    done another way is not compared with it."""

    source: str
    confidence: Confidence
    weak: bool = Field(default=False, description="a weak secondary source: say so")
    caveat: str = ""
    statistic: Literal["median", "mean"] = "median"
    protocol: str | None = Field(default=None, description="the test protocol the study used")
    protocol_text: str = ""
    bands: tuple[AgeBand, ...] = Field(min_length=1)

    @property
    def mark(self) -> str:
        return f"{self.confidence}, weak" if self.weak else self.confidence

    def reference(self, age: int, sex: Sex) -> tuple[float, AgeBand] | None:
        if sex is Sex.UNSPECIFIED:
            return None
        for band in self.bands:
            if band.age_from <= age <= band.age_to:
                return (band.male if sex is Sex.MALE else band.female), band
        return None


class CapacityTarget(Frozen):
    """An absolute goal for one test, per sex, from a verified reference.

    `figures_confidence` says how sure the figures are; `confidence` how sure their use as
    one person's goal is (a median of healthy people is not a norm for one person)."""

    male: float = Field(gt=0)
    female: float = Field(gt=0)
    statistic: Literal["median", "mean"]
    cite: str = Field(min_length=3, description="short citation for sentences")
    figures_source: str = Field(min_length=3)
    figures_confidence: Confidence
    source: str = Field(min_length=3, description="how the figures are used as a goal")
    confidence: Confidence
    age_note: str = Field(min_length=3, description="what is known about age for this test")

    def target(self, sex: Sex) -> tuple[float, str]:
        """The goal for this sex, and whose figure it is; sex not given takes the higher."""
        if sex is Sex.MALE:
            return self.male, f"the {self.statistic} for healthy men"
        if sex is Sex.FEMALE:
            return self.female, f"the {self.statistic} for healthy women"
        return max(self.male, self.female), (
            f"the higher of the {self.statistic}s for healthy men and women (sex not given)"
        )


class NormRule(Frozen):
    """When a result counts as below its norm (a configurable interpretation)."""

    below_reference_by_more_than_error: Severity
    below_fraction_of_reference: float = Field(gt=0, lt=1)
    below_fraction_severity: Severity
    capacity_moderate_below: float | None = Field(
        default=None, gt=0, lt=1, description="against a capacity goal: moderate under this"
    )
    capacity_severe_below: float | None = Field(
        default=None, gt=0, lt=1, description="against a capacity goal: severe under this"
    )
    source: str
    confidence: Confidence


class RatioRule(Frozen):
    """Expected dorsiflexor : plantarflexor endurance ratio (tibialis ÷ heel raises)."""

    expected_low: float = Field(gt=0)
    expected_high: float = Field(gt=0)
    severity: Severity
    source: str
    confidence: Confidence

    @model_validator(mode="after")
    def _ordered(self) -> RatioRule:
        if self.expected_low >= self.expected_high:
            raise ValueError("expected_low must be below expected_high")
        return self


class IrritabilityRule(Frozen):
    id: str
    level: Irritability
    measure: Literal[
        "pain_at_rest", "pain_during_activity", "pain_on_waking", "night_pain", "lingers_hours"
    ]
    at_least: float = 1
    reason: str = Field(description="plain sentence; {value} is replaced by the number")


class IrritabilityRules(Frozen):
    source: str
    confidence: Confidence
    rules: tuple[IrritabilityRule, ...] = Field(min_length=1)


class ObservationRule(Frozen):
    muscles: tuple[Muscle, ...]
    severity: Severity
    person_text: str
    clinician_text: str
    source: str
    confidence: Confidence


class AssessmentRules(Frozen):
    """Everything the profile needs to know, loaded from the knowledge data."""

    tests: dict[str, TestDefinition]
    lsi_bands: tuple[LsiBand, ...] = Field(min_length=1)
    norms: dict[str, TestNorm] = {}
    capacity_targets: dict[str, CapacityTarget] = {}
    missing_norms: dict[str, str] = Field(
        default={}, description="test id → why no verified norm is used (shown as such)"
    )
    unverified_ranges: dict[str, UnverifiedRange] = {}
    norm_rule: NormRule
    dorsi_plantar_ratio: RatioRule
    irritability: IrritabilityRules
    step_down_faults: dict[StepDownFault, ObservationRule]
    foot_posture: dict[FootPosture, ObservationRule]
    gait_asymmetry: ObservationRule

    def lsi_severity(self, lsi: float) -> LsiBand | None:
        """The most severe band a side percentage falls below, or None when within normal."""
        hits = [b for b in self.lsi_bands if lsi < b.below]
        return min(hits, key=lambda b: b.below) if hits else None


class UnverifiedRange(Frozen):
    """A range seen only in unverified material: shown as such, never used to flag."""

    low: float
    high: float
    source: str
    confidence: Literal["U"]


AssessmentRules.model_rebuild()


# ----- the profile -----------------------------------------------------------------------


class NormComparison(Frozen):
    available: bool
    text: str
    reference: float | None = None
    source: str | None = None
    confidence: Confidence | None = None
    below_left: bool = False
    below_right: bool = False


class CapacityComparison(Frozen):
    """Each side against the test's absolute capacity target, where a verified one exists."""

    available: bool
    text: str
    target: float | None = None
    reached_at: float | None = Field(
        default=None, description="the target less the measurement error: counts as reached"
    )
    met_left: bool | None = None
    met_right: bool | None = None
    percent_left: float | None = None
    percent_right: float | None = None
    age_note: str = ""
    source: str | None = None
    confidence: Confidence | None = None

    def met(self, side: Side) -> bool | None:
        return self.met_left if side is Side.LEFT else self.met_right

    def percent(self, side: Side) -> float | None:
        return self.percent_left if side is Side.LEFT else self.percent_right


NO_CAPACITY = CapacityComparison(available=False, text="no verified norm")


class SideComparison(Frozen):
    test: str
    label: str
    unit: str
    left: float | None
    right: float | None
    weaker_side: Side | None = Field(description="the side with less, if they differ")
    difference: float | None
    involved_side: Side | None = Field(
        default=None, description="the affected side when only one is; None with both"
    )
    lsi: float | None = Field(
        default=None,
        ge=0,
        description="involved ÷ uninvolved × 100, as measured (may exceed 100); one side only",
    )
    weaker_percent: float | None = Field(
        default=None, ge=0, le=100, description="weaker ÷ stronger × 100: grades a difference"
    )
    measurement_error: float | None
    beyond_error: bool
    severity: Severity
    norm: NormComparison
    capacity: CapacityComparison = NO_CAPACITY

    def value(self, side: Side) -> float | None:
        return self.left if side is Side.LEFT else self.right


class Finding(Frozen):
    """One thing the assessment found, with the numbers behind it."""

    id: str
    kind: Literal[
        "side_deficit",
        "below_norm",
        "below_target",
        "ratio_imbalance",
        "movement_fault",
        "posture",
        "gait",
    ]
    side: Side | None
    muscles: tuple[Muscle, ...]
    severity: Severity
    numbers: dict[str, Number]
    person_text: str
    clinician_text: str
    source: str
    confidence: Confidence | None = None


class ImplicatedMuscle(Frozen):
    muscle: Muscle
    sides: tuple[Side, ...]
    severity: Severity
    because: tuple[str, ...]  # finding ids


class IrritabilityResult(Frozen):
    level: Irritability
    reasons: tuple[str, ...]
    source: str


class ImbalanceProfile(Frozen):
    tested_on: dt.date | None = None
    affected_side: AffectedSide | None = Field(
        default=None, description="which leg hurts (None in records made before it was kept)"
    )
    age: int | None = None
    sex: Sex | None = None
    step_down_observed: bool = False
    pain_on_waking: int = Field(default=0, ge=0, le=10)
    weight_bearing: WeightBearing | None = Field(
        default=None, description="the weight allowed on the leg, when it was recorded"
    )
    boot_or_cast: bool = False
    comparisons: tuple[SideComparison, ...]
    findings: tuple[Finding, ...]
    implicated: tuple[ImplicatedMuscle, ...]
    weaker_side: Side | None
    irritability: IrritabilityResult

    def finding_for(self, muscle: Muscle) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if muscle in f.muscles)

    def severity_of(self, muscle: Muscle) -> Severity:
        for item in self.implicated:
            if item.muscle is muscle:
                return item.severity
        return Severity.NONE

    def comparison(self, test: str) -> SideComparison | None:
        for item in self.comparisons:
            if item.test == test:
                return item
        return None

    @property
    def involved_side(self) -> Side | None:
        """The affected side when only one is affected."""
        if self.affected_side is None or self.affected_side is AffectedSide.BOTH:
            return None
        return Side(self.affected_side.value)


def limb_symmetry_index(involved: float, uninvolved: float) -> float | None:
    """LSI = involved ÷ uninvolved × 100, as measured (above 100 when the involved side
    did more); None when the uninvolved side scored nothing to compare with."""
    if uninvolved <= 0:
        return None
    lsi = involved / uninvolved * 100
    return round(lsi, 1) if math.isfinite(lsi) else None


def weaker_percent(left: float, right: float) -> float:
    """The weaker side as a percentage of the stronger, 0–100; equal values (zeros too)
    give 100."""
    stronger = max(left, right)
    if stronger <= 0 or left == right:
        return 100.0
    return round(min(left, right) / stronger * 100, 1)


def _fmt(value: float) -> str:
    return f"{value:g}"


def compare_sides(
    test_id: str, result: PerSide, assessment: Assessment, rules: AssessmentRules
) -> SideComparison:
    definition = rules.tests[test_id]
    left, right = result.left, result.right
    norm = _compare_with_norm(test_id, result, assessment, rules)
    error = definition.measurement_error.value if definition.measurement_error else None
    sides = assessment.affected_side.sides
    involved = sides[0] if len(sides) == 1 else None
    common = {
        "test": test_id,
        "label": definition.label,
        "unit": definition.unit,
        "left": left,
        "right": right,
        "involved_side": involved,
        "measurement_error": error,
        "norm": norm,
        "capacity": compare_with_target(test_id, result, assessment.sex, rules),
    }
    if left is None or right is None:  # one side not tested: nothing to compare
        return SideComparison(
            **common,
            weaker_side=None,
            difference=None,
            lsi=None,
            weaker_percent=None,
            beyond_error=False,
            severity=Severity.NONE,
        )
    difference = round(abs(left - right), 2)
    if left == right:
        weaker: Side | None = None
    elif definition.higher_is_better:
        weaker = Side.LEFT if left < right else Side.RIGHT
    else:
        weaker = Side.LEFT if left > right else Side.RIGHT
    lsi = None
    if involved is not None:
        lsi = limb_symmetry_index(
            result.value(involved) or 0.0, result.value(involved.other) or 0.0
        )
    percent = weaker_percent(left, right)
    beyond = weaker is not None and (error is None or difference > error)
    band = rules.lsi_severity(percent) if beyond else None
    return SideComparison(
        **common,
        weaker_side=weaker,
        difference=difference,
        lsi=lsi,
        weaker_percent=percent,
        beyond_error=beyond,
        severity=band.severity if band else Severity.NONE,
    )


def compare_with_target(
    test_id: str, result: PerSide, sex: Sex, rules: AssessmentRules
) -> CapacityComparison:
    """Each tested side against the test's capacity target; "no verified norm" without one.

    A side reaches the target when it is within the test's measurement error of it."""
    target_rule = rules.capacity_targets.get(test_id)
    definition = rules.tests[test_id]
    if target_rule is None:
        why = rules.missing_norms.get(test_id)
        return CapacityComparison(
            available=False, text="no verified norm" + (f" ({why})" if why else "")
        )
    target, whose = target_rule.target(sex)
    error = definition.measurement_error.value if definition.measurement_error else 0.0
    reached_at = target - error

    def met(value: float | None) -> bool | None:
        return None if value is None else value >= reached_at

    def percent(value: float | None) -> float | None:
        return None if value is None else round(value / target * 100, 1)

    return CapacityComparison(
        available=True,
        text=(
            f"goal {_fmt(target)} {definition.unit} ({whose}), reached from "
            f"{_fmt(reached_at)} within the ±{_fmt(error)} measurement error"
        ),
        target=target,
        reached_at=reached_at,
        met_left=met(result.left),
        met_right=met(result.right),
        percent_left=percent(result.left),
        percent_right=percent(result.right),
        age_note=target_rule.age_note,
        source=(
            f"{target_rule.cite}, overall {target_rule.statistic}s "
            f"[{target_rule.figures_confidence}]; their use as a goal is a groundup default"
        ),
        confidence=target_rule.confidence,
    )


def _compare_with_norm(
    test_id: str, result: PerSide, assessment: Assessment, rules: AssessmentRules
) -> NormComparison:
    norm = rules.norms.get(test_id)
    unverified = rules.unverified_ranges.get(test_id)
    if norm is None:
        missing = rules.missing_norms.get(test_id)
        if unverified is not None:
            return NormComparison(
                available=False,
                text=(
                    f"no verified norm; {_fmt(unverified.low)}–{_fmt(unverified.high)} "
                    f"appears only in unverified material ({unverified.source})"
                ),
            )
        if missing is not None:
            return NormComparison(available=False, text=f"no verified norm ({missing})")
        return NormComparison(available=False, text="no verified norm: compared side to side")
    if norm.protocol is not None and result.protocol_id != norm.protocol:
        return NormComparison(
            available=False,
            text=(
                f"not compared with the age norms: the test was not done the norm study's way "
                f"({norm.protocol_text})"
            ),
        )
    found = norm.reference(assessment.age, assessment.sex)
    if found is None:
        why = (
            "sex not given"
            if assessment.sex is Sex.UNSPECIFIED
            else f"no norm for age {assessment.age}"
        )
        return NormComparison(available=False, text=f"no norm applies ({why})")
    reference, band = found
    definition = rules.tests[test_id]
    error = definition.measurement_error.value if definition.measurement_error else 0.0

    def below(value: float | None) -> bool:
        return value is not None and value < reference - error

    people = "men" if assessment.sex is Sex.MALE else "women"
    text = (
        f"{norm.statistic} {_fmt(reference)} {definition.unit} for {people} aged "
        f"{band.age_from}–{band.age_to}"
    )
    return NormComparison(
        available=True,
        text=text,
        reference=reference,
        source=norm.source,
        confidence=norm.confidence,
        below_left=below(result.left),
        below_right=below(result.right),
    )


def _side_findings(
    comparison: SideComparison, rules: AssessmentRules, affected: AffectedSide
) -> list[Finding]:
    definition = rules.tests[comparison.test]
    findings: list[Finding] = []
    if comparison.severity is not Severity.NONE and comparison.weaker_side is not None:
        findings.append(_side_deficit(comparison, rules, affected))
    findings.extend(_below_target_findings(comparison, rules))
    norm = comparison.norm
    if norm.available and norm.reference is not None:
        test_norm = rules.norms[comparison.test]
        for side, is_below, value in (
            (Side.LEFT, norm.below_left, comparison.left),
            (Side.RIGHT, norm.below_right, comparison.right),
        ):
            if not is_below or value is None:
                continue
            rule = rules.norm_rule
            findings.append(
                Finding(
                    id=f"{comparison.test}.below_norm.{side.value}",
                    kind="below_norm",
                    side=side,
                    muscles=definition.muscles,
                    severity=_below_severity(value, norm.reference, rule),
                    numbers={
                        "value": value,
                        "reference": norm.reference,
                        "percent_of_reference": round(value / norm.reference * 100, 1),
                    },
                    person_text=(
                        f"Your {side.value} {definition.person_label} result ({_fmt(value)} "
                        f"{definition.unit}) is below what is typical for your age "
                        f"({_fmt(norm.reference)})."
                    ),
                    clinician_text=(
                        f"{definition.label} {side.value} {_fmt(value)} {definition.unit}, "
                        f"below the {norm.text} by more than the measurement error "
                        f"({norm.source}) [{test_norm.mark}]."
                    ),
                    source=f"{norm.source}; interpretation: {rule.source}",
                    confidence=norm.confidence,
                )
            )
    return findings


def _below_severity(
    value: float, reference: float, rule: NormRule, *, capacity: bool = False
) -> Severity:
    """How far below a reference a result is: under the configured fraction is graver.
    Against a capacity goal (the only grade when both legs are affected) the grades are
    staged like the LSI bands and reach severe."""
    if capacity and rule.capacity_severe_below is not None:
        if value < reference * rule.capacity_severe_below:
            return Severity.SEVERE
        if (
            rule.capacity_moderate_below is not None
            and value < reference * rule.capacity_moderate_below
        ):
            return Severity.MODERATE
        return rule.below_reference_by_more_than_error
    if value < reference * rule.below_fraction_of_reference:
        return rule.below_fraction_severity
    return rule.below_reference_by_more_than_error


def _side_deficit(
    comparison: SideComparison, rules: AssessmentRules, affected: AffectedSide
) -> Finding:
    """The weaker side's deficit, worded by what the LSI means for this person."""
    definition = rules.tests[comparison.test]
    side = comparison.weaker_side
    assert side is not None
    assert comparison.weaker_percent is not None and comparison.difference is not None
    band = rules.lsi_severity(comparison.weaker_percent)
    assert band is not None
    weak = comparison.value(side)
    strong = comparison.value(side.other)
    assert weak is not None and strong is not None
    unit = definition.unit
    percent = comparison.weaker_percent
    error_text = (
        f"beyond the measurement error of {_fmt(comparison.measurement_error)} {unit}"
        if comparison.measurement_error is not None
        else "no published measurement error"
    )
    difference = f"difference {_fmt(comparison.difference)} {unit}, {error_text}"
    grade = f"(< {band.below:g} %: {band.severity.value})"
    person = (
        f"Your {side.value} side managed {_fmt(weak)} {unit} on the {definition.person_label}, "
        f"against {_fmt(strong)} on the {side.other.value}"
    )
    if comparison.involved_side is side:
        person += f" ({percent:g} % of the other side)."
        clinician = (
            f"{definition.label}: involved {side.value} {_fmt(weak)} vs uninvolved "
            f"{side.other.value} {_fmt(strong)} {unit}; LSI {percent:g} % {grade}; {difference}."
        )
    elif comparison.involved_side is not None:
        person += (
            f" ({percent:g} % of it), although the {side.other.value} leg is the one that hurts."
        )
        lsi = "no LSI" if comparison.lsi is None else f"LSI {comparison.lsi:g} %"
        clinician = (
            f"{definition.label}: the unaffected {side.value} side is the weaker, "
            f"{_fmt(weak)} vs {_fmt(strong)} {unit} on the involved {side.other.value} "
            f"({lsi}; unaffected side at {percent:g} % {grade}); {difference}."
        )
    else:
        both = affected is AffectedSide.BOTH
        person += f" ({percent:g} % of the other side)."
        clinician = (
            f"{definition.label}: {side.value} {_fmt(weak)} vs {side.other.value} "
            f"{_fmt(strong)} {unit}, weaker side at {percent:g} % of the other {grade}; "
            f"{difference}"
            + (
                "; both sides affected, so no LSI: each side is judged against its goal."
                if both
                else "."
            )
        )
    return Finding(
        id=f"{comparison.test}.side_deficit.{side.value}",
        kind="side_deficit",
        side=side,
        muscles=definition.muscles,
        severity=comparison.severity,
        numbers={
            side.value: weak,
            side.other.value: strong,
            # The weaker side as a percentage of the stronger: the LSI itself when the
            # weaker side is the involved one.
            "lsi_percent": percent,
            "difference": comparison.difference,
        },
        person_text=person,
        clinician_text=clinician,
        source=band.source,
        confidence=band.confidence,
    )


def _below_target_findings(comparison: SideComparison, rules: AssessmentRules) -> list[Finding]:
    capacity = comparison.capacity
    if not capacity.available or capacity.target is None or capacity.reached_at is None:
        return []
    definition = rules.tests[comparison.test]
    rule = rules.norm_rule
    findings: list[Finding] = []
    for side in Side:
        value = comparison.value(side)
        if value is None or capacity.met(side) is not False:
            continue
        findings.append(
            Finding(
                id=f"{comparison.test}.below_target.{side.value}",
                kind="below_target",
                side=side,
                muscles=definition.muscles,
                severity=_below_severity(value, capacity.target, rule, capacity=True),
                numbers={
                    "value": value,
                    "target": capacity.target,
                    "reached_at": capacity.reached_at,
                    "percent_of_target": round(value / capacity.target * 100, 1),
                },
                person_text=(
                    f"Your {side.value} {definition.person_label} result ({_fmt(value)} "
                    f"{definition.unit}) is short of the goal of about "
                    f"{_fmt(capacity.target)} the program works towards."
                ),
                clinician_text=(
                    f"{definition.label} {side.value} {_fmt(value)} {definition.unit}, "
                    f"{round(value / capacity.target * 100, 1):g} % of the capacity "
                    f"{capacity.text}."
                ),
                source=capacity.source or "",
                confidence=capacity.confidence,
            )
        )
    return findings


def _ratio_findings(assessment: Assessment, rules: AssessmentRules) -> list[Finding]:
    tests = assessment.tests
    if tests.heel_raise_reps is None or tests.tibialis_raise_reps is None:
        return []
    rule = rules.dorsi_plantar_ratio
    findings: list[Finding] = []
    for side in Side:
        heel = tests.heel_raise_reps.value(side)
        tib = tests.tibialis_raise_reps.value(side)
        if heel is None or tib is None or heel <= 0:
            continue
        ratio = round(tib / heel, 2)
        if ratio < rule.expected_low:
            muscles: tuple[Muscle, ...] = (Muscle.TIBIALIS_ANTERIOR,)
            weak_group, strong_group = "shin (tibialis)", "calf"
        elif ratio > rule.expected_high:
            muscles = (Muscle.GASTROCNEMIUS, Muscle.SOLEUS)
            weak_group, strong_group = "calf", "shin (tibialis)"
        else:
            continue
        findings.append(
            Finding(
                id=f"dorsi_plantar_ratio.{side.value}",
                kind="ratio_imbalance",
                side=side,
                muscles=muscles,
                severity=rule.severity,
                numbers={
                    "tibialis_raise_reps": tib,
                    "heel_raise_reps": heel,
                    "ratio": ratio,
                    "expected_low": rule.expected_low,
                    "expected_high": rule.expected_high,
                },
                person_text=(
                    f"On your {side.value} side the {weak_group} muscles tire much sooner "
                    f"than the {strong_group} muscles ({_fmt(tib)} shin raises against "
                    f"{_fmt(heel)} heel raises)."
                ),
                clinician_text=(
                    f"{side.value.capitalize()} tibialis:heel-raise endurance ratio "
                    f"{ratio:g}, outside the configured {rule.expected_low:g}–"
                    f"{rule.expected_high:g} [{rule.confidence}: {rule.source}]."
                ),
                source=rule.source,
                confidence=rule.confidence,
            )
        )
    return findings


def _observation_findings(assessment: Assessment, rules: AssessmentRules) -> list[Finding]:
    observations = assessment.observations
    findings: list[Finding] = []
    if observations.step_down is not None:
        for side in Side:
            faults = observations.step_down.faults(side)
            for fault in sorted(set(faults)):
                rule = rules.step_down_faults[fault]
                findings.append(
                    _observed(f"step_down.{fault.value}.{side.value}", "movement_fault", side, rule)
                )
    for side, posture in (
        (Side.LEFT, observations.foot_posture_left),
        (Side.RIGHT, observations.foot_posture_right),
    ):
        if posture is not None and posture in rules.foot_posture:
            rule = rules.foot_posture[posture]
            findings.append(
                _observed(f"foot_posture.{posture.value}.{side.value}", "posture", side, rule)
            )
    if observations.gait_asymmetry:
        findings.append(_observed("gait_asymmetry", "gait", None, rules.gait_asymmetry))
    return findings


def _observed(
    finding_id: str,
    kind: Literal["movement_fault", "posture", "gait"],
    side: Side | None,
    rule: ObservationRule,
) -> Finding:
    where = f" ({side.value})" if side else ""
    return Finding(
        id=finding_id,
        kind=kind,
        side=side,
        muscles=rule.muscles,
        severity=rule.severity,
        numbers={},
        person_text=rule.person_text + where,
        clinician_text=rule.clinician_text + where,
        source=rule.source,
        confidence=rule.confidence,
    )


def grade_irritability(assessment: Assessment, rules: IrritabilityRules) -> IrritabilityResult:
    """The highest level whose rule matches, with every matching reason."""
    pain = assessment.pain
    values: dict[str, float] = {
        "pain_at_rest": pain.at_rest,
        "pain_during_activity": pain.during_activity,
        "pain_on_waking": pain.on_waking,
        "night_pain": 1.0 if pain.night_pain else 0.0,
        "lingers_hours": pain.lingers_after_activity_hours,
    }
    return grade_values(values, rules)


def grade_values(values: dict[str, float], rules: IrritabilityRules) -> IrritabilityResult:
    """Irritability from the measures the rules read (`grade_irritability` from an
    assessment; the engine from the pain logged lately, Q3)."""
    order = [Irritability.LOW, Irritability.MODERATE, Irritability.HIGH]
    level = Irritability.LOW
    reasons: list[tuple[Irritability, str]] = []
    for rule in rules.rules:
        value = values[rule.measure]
        if value >= rule.at_least:
            reasons.append((rule.level, rule.reason.replace("{value}", _fmt(value))))
            if order.index(rule.level) > order.index(level):
                level = rule.level
    kept = tuple(text for rule_level, text in reasons if rule_level is level)
    if not kept:
        kept = ("Pain is low at rest, does not wake you and settles quickly after activity.",)
    return IrritabilityResult(level=level, reasons=kept, source=rules.source)


def _implicated(findings: list[Finding]) -> tuple[ImplicatedMuscle, ...]:
    by_muscle: dict[Muscle, tuple[set[Side], Severity, list[str]]] = {}
    for finding in findings:
        if finding.severity is Severity.NONE:
            continue
        for muscle in finding.muscles:
            sides, severity, because = by_muscle.get(muscle, (set(), Severity.NONE, []))
            if finding.side is not None:
                sides.add(finding.side)
            if finding.severity.rank > severity.rank:
                severity = finding.severity
            because.append(finding.id)
            by_muscle[muscle] = (sides, severity, because)
    items = [
        ImplicatedMuscle(
            muscle=muscle,
            sides=tuple(sorted(sides)),
            severity=severity,
            because=tuple(because),
        )
        for muscle, (sides, severity, because) in by_muscle.items()
    ]
    items.sort(key=lambda m: (-m.severity.rank, list(Muscle).index(m.muscle)))
    return tuple(items)


def _weaker_side(findings: list[Finding]) -> Side | None:
    """The side with the heavier burden of side-to-side deficits, if either."""
    weight = {Side.LEFT: 0, Side.RIGHT: 0}
    for finding in findings:
        if finding.kind == "side_deficit" and finding.side is not None:
            weight[finding.side] += finding.severity.rank
    if weight[Side.LEFT] == weight[Side.RIGHT]:
        return None
    return Side.LEFT if weight[Side.LEFT] > weight[Side.RIGHT] else Side.RIGHT


def build_profile(assessment: Assessment, rules: AssessmentRules) -> ImbalanceProfile:
    """The imbalance profile of one assessment."""
    comparisons: list[SideComparison] = []
    findings: list[Finding] = []
    for test_id in rules.tests:
        result = assessment.tests.result(test_id)
        if result is None:
            continue
        comparison = compare_sides(test_id, result, assessment, rules)
        comparisons.append(comparison)
        findings.extend(_side_findings(comparison, rules, assessment.affected_side))
    findings.extend(_ratio_findings(assessment, rules))
    findings.extend(_observation_findings(assessment, rules))
    return ImbalanceProfile(
        tested_on=assessment.date,
        affected_side=assessment.affected_side,
        age=assessment.age,
        sex=assessment.sex,
        step_down_observed=assessment.observations.step_down is not None,
        pain_on_waking=assessment.pain.on_waking,
        weight_bearing=assessment.weight_bearing,
        boot_or_cast=assessment.boot_or_cast,
        comparisons=tuple(comparisons),
        findings=tuple(findings),
        implicated=_implicated(findings),
        weaker_side=_weaker_side(findings),
        irritability=grade_irritability(assessment, rules.irritability),
    )
