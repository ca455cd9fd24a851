"""The imbalance profile: symmetry, measurement error, norms, ratios, movement faults and
irritability, pinned with real numbers, plus properties that hold for any assessment."""

from __future__ import annotations

import math
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from groundup.clinical.assessment import (
    AffectedSide,
    Assessment,
    FootPosture,
    HeelRaiseProtocol,
    HeelRaiseReps,
    KneeToWall,
    ObjectiveTests,
    Observations,
    Pain,
    PerSide,
    Sex,
    SingleLegStance,
    StepDownFault,
    StepDownQuality,
    TibialisRaiseReps,
    WalkTolerance,
)
from groundup.clinical.profile import (
    Finding,
    ImbalanceProfile,
    build_profile,
    limb_symmetry_index,
    weaker_percent,
)
from groundup.clinical.vocabulary import Irritability, Muscle, Severity, Side
from groundup.knowledge import load_assessment_rules

RULES = load_assessment_rules()
QUIET = Pain(at_rest=0, during_activity=2, on_waking=0)


def assess(
    *,
    age: int = 45,
    sex: Sex = Sex.FEMALE,
    pain: Pain = QUIET,
    observations: Observations | None = None,
    affected: AffectedSide = AffectedSide.LEFT,
    **tests: PerSide,
) -> Assessment:
    return Assessment(
        age=age,
        sex=sex,
        affected_side=affected,
        symptom_duration_weeks=20,
        pain=pain,
        tests=ObjectiveTests(**tests),
        observations=observations or Observations(),
    )


def profile_of(**kwargs: Any) -> ImbalanceProfile:
    return build_profile(assess(**kwargs), RULES)


def finding(profile: ImbalanceProfile, finding_id: str) -> Finding:
    for item in profile.findings:
        if item.id == finding_id:
            return item
    raise AssertionError(f"no finding {finding_id}; have {[f.id for f in profile.findings]}")


def ids(profile: ImbalanceProfile) -> set[str]:
    return {f.id for f in profile.findings}


# ----- limb symmetry and measurement error ----------------------------------------------


def test_heel_raises_12_against_25_are_a_severe_left_calf_deficit() -> None:
    profile = profile_of(heel_raise_reps=HeelRaiseReps(left=12, right=25))
    comparison = profile.comparison("heel_raise_reps")
    assert comparison is not None
    assert comparison.lsi == 48.0
    assert comparison.difference == 13
    assert comparison.weaker_side is Side.LEFT
    assert comparison.beyond_error
    assert comparison.severity is Severity.SEVERE
    deficit = finding(profile, "heel_raise_reps.side_deficit.left")
    assert deficit.numbers == {"left": 12, "right": 25, "lsi_percent": 48.0, "difference": 13}
    assert "48 %" in deficit.person_text
    assert profile.weaker_side is Side.LEFT
    for muscle in (Muscle.GASTROCNEMIUS, Muscle.SOLEUS):
        implicated = next(m for m in profile.implicated if m.muscle is muscle)
        assert implicated.sides == (Side.LEFT,)
        assert implicated.severity is Severity.SEVERE
        assert "heel_raise_reps.side_deficit.left" in implicated.because


def test_knee_to_wall_1_cm_apart_is_within_the_mdc_and_not_flagged_despite_lsi_90() -> None:
    profile = profile_of(affected=AffectedSide.RIGHT, knee_to_wall_cm=KneeToWall(left=10, right=9))
    comparison = profile.comparison("knee_to_wall_cm")
    assert comparison is not None
    assert comparison.lsi == 90.0
    assert comparison.difference == 1.0
    assert comparison.measurement_error == 1.5
    assert comparison.weaker_side is Side.RIGHT
    assert not comparison.beyond_error
    assert comparison.severity is Severity.NONE
    assert not any(f.kind == "side_deficit" for f in profile.findings)
    assert profile.weaker_side is None


def test_knee_to_wall_exactly_at_the_mdc_is_still_not_flagged() -> None:
    comparison = profile_of(knee_to_wall_cm=KneeToWall(left=10, right=8.5)).comparison(
        "knee_to_wall_cm"
    )
    assert comparison is not None
    assert comparison.difference == 1.5
    assert comparison.severity is Severity.NONE


def test_knee_to_wall_2_cm_apart_is_a_moderate_right_deficit() -> None:
    profile = profile_of(affected=AffectedSide.RIGHT, knee_to_wall_cm=KneeToWall(left=10, right=8))
    comparison = profile.comparison("knee_to_wall_cm")
    assert comparison is not None
    assert comparison.lsi == 80.0
    assert comparison.beyond_error
    assert comparison.severity is Severity.MODERATE
    assert "knee_to_wall_cm.side_deficit.right" in ids(profile)
    assert profile.weaker_side is Side.RIGHT


@pytest.mark.parametrize(
    ("left", "right", "severity"),
    [
        (20, 21, Severity.NONE),
        (60, 53, Severity.MILD),
        (40, 30, Severity.MODERATE),
        (40, 27, Severity.SEVERE),
    ],
)
def test_lsi_bands_grade_the_deficit(left: int, right: int, severity: Severity) -> None:
    comparison = profile_of(
        sex=Sex.UNSPECIFIED, heel_raise_reps=HeelRaiseReps(left=left, right=right)
    ).comparison("heel_raise_reps")
    assert comparison is not None
    assert comparison.severity is severity


def test_a_test_done_on_one_side_only_has_no_lsi_and_no_deficit() -> None:
    profile = profile_of(sex=Sex.UNSPECIFIED, heel_raise_reps=HeelRaiseReps(left=10))
    comparison = profile.comparison("heel_raise_reps")
    assert comparison is not None
    assert comparison.lsi is None
    assert comparison.weaker_side is None
    assert not any(f.kind == "side_deficit" for f in profile.findings)
    # The one side tested is still compared with the capacity target (24 with sex not given).
    assert comparison.capacity.met_left is False and comparison.capacity.met_right is None


def test_limb_symmetry_index_is_involved_over_uninvolved() -> None:
    assert limb_symmetry_index(12, 25) == 48.0
    assert limb_symmetry_index(25, 12) == 208.3  # the involved side did more: kept as measured
    assert limb_symmetry_index(0, 7) == 0.0
    assert limb_symmetry_index(0, 0) is None  # nothing to compare with
    assert limb_symmetry_index(7, 0) is None
    assert weaker_percent(12, 25) == weaker_percent(25, 12) == 48.0
    assert weaker_percent(0, 0) == 100.0


def test_the_lsi_follows_the_affected_side_not_the_weaker_one() -> None:
    # The right leg hurts, yet the left calf is the one that tires first.
    profile = profile_of(
        affected=AffectedSide.RIGHT, heel_raise_reps=HeelRaiseReps(left=12, right=25)
    )
    comparison = profile.comparison("heel_raise_reps")
    assert comparison is not None
    assert comparison.involved_side is Side.RIGHT
    assert comparison.lsi == 208.3  # right ÷ left, above 100 and stored as measured
    assert comparison.weaker_side is Side.LEFT  # the side with less, for the extra volume
    assert comparison.weaker_percent == 48.0
    assert comparison.severity is Severity.SEVERE
    assert profile.weaker_side is Side.LEFT
    deficit = finding(profile, "heel_raise_reps.side_deficit.left")
    assert "unaffected" in deficit.clinician_text and "LSI 208.3 %" in deficit.clinician_text
    assert profile.affected_side is AffectedSide.RIGHT


def test_with_both_sides_affected_there_is_no_lsi_and_each_side_meets_the_target() -> None:
    # Equal sides, both well under the healthy median for men (24): symmetry hides it.
    profile = profile_of(
        sex=Sex.MALE, affected=AffectedSide.BOTH, heel_raise_reps=HeelRaiseReps(left=9, right=9)
    )
    comparison = profile.comparison("heel_raise_reps")
    assert comparison is not None
    assert comparison.lsi is None
    assert comparison.involved_side is None
    assert comparison.weaker_percent == 100.0
    capacity = comparison.capacity
    assert capacity.available
    assert capacity.target == 24
    assert capacity.met_left is False and capacity.met_right is False
    assert capacity.percent_left == capacity.percent_right == 37.5
    for side in ("left", "right"):
        below = finding(profile, f"heel_raise_reps.below_target.{side}")
        assert below.kind == "below_target"
        assert below.confidence == "U"
        assert "24" in below.clinician_text
    assert Muscle.SOLEUS in {m.muscle for m in profile.implicated}


def test_a_test_without_a_verified_target_says_no_verified_norm() -> None:
    profile = profile_of(
        affected=AffectedSide.BOTH, tibialis_raise_reps=TibialisRaiseReps(left=8, right=8)
    )
    capacity = profile.comparison("tibialis_raise_reps").capacity  # type: ignore[union-attr]
    assert not capacity.available
    assert "no verified norm" in capacity.text
    assert capacity.met_left is None and capacity.met_right is None


def test_the_capacity_target_comes_from_the_confirmed_medians_and_is_marked_as_used() -> None:
    target = RULES.capacity_targets["heel_raise_reps"]
    assert (target.male, target.female) == (24, 21)
    assert target.figures_confidence == "P"
    assert target.confidence == "U"  # a healthy median used as one person's goal
    assert "incline" in target.source
    # Sex not given: the higher of the two medians.
    profile = profile_of(
        sex=Sex.UNSPECIFIED,
        affected=AffectedSide.BOTH,
        heel_raise_reps=HeelRaiseReps(left=22, right=23),
    )
    capacity = profile.comparison("heel_raise_reps").capacity  # type: ignore[union-attr]
    assert capacity.target == 24


def test_barbers_85_percent_is_a_default_when_used_for_these_tests() -> None:
    band = next(b for b in RULES.lsi_bands if b.below == 85)
    assert "Barber" in band.source and "hop" in band.source
    assert band.confidence == "U"


# ----- norms ------------------------------------------------------------------------------


INCLINE = HeelRaiseProtocol.INCLINE_10_DEGREES


def test_heel_raises_done_on_the_floor_are_not_compared_with_the_age_norms() -> None:
    profile = profile_of(heel_raise_reps=HeelRaiseReps(left=12, right=25))
    norm = profile.comparison("heel_raise_reps").norm  # type: ignore[union-attr]
    assert not norm.available
    assert "10° incline" in norm.text
    assert not any(f.kind == "below_norm" for f in profile.findings)
    assert not any("typical for your age" in f.person_text for f in profile.findings)


def test_the_heel_raise_decade_norms_are_marked_weak() -> None:
    norm = RULES.norms["heel_raise_reps"]
    assert norm.confidence == "S" and norm.weak
    assert norm.protocol == INCLINE.value


def test_45_year_old_woman_with_12_heel_raises_is_below_the_40_49_median() -> None:
    profile = profile_of(heel_raise_reps=HeelRaiseReps(left=12, right=25, protocol=INCLINE))
    comparison = profile.comparison("heel_raise_reps")
    assert comparison is not None
    norm = comparison.norm
    assert norm.available
    assert norm.reference == 24
    assert "40–49" in norm.text and "women" in norm.text
    assert norm.below_left and not norm.below_right
    below = finding(profile, "heel_raise_reps.below_norm.left")
    assert below.kind == "below_norm"
    assert below.numbers == {"value": 12, "reference": 24, "percent_of_reference": 50.0}
    # 12 is not under half of 24, so the milder grade applies.
    assert below.severity is Severity.MILD
    assert "heel_raise_reps.below_norm.right" not in ids(profile)


def test_under_half_the_median_is_moderately_below_norm() -> None:
    profile = profile_of(heel_raise_reps=HeelRaiseReps(left=11, right=25, protocol=INCLINE))
    assert finding(profile, "heel_raise_reps.below_norm.left").severity is Severity.MODERATE


def test_within_the_measurement_error_of_the_median_is_not_below_norm() -> None:
    # 24 − 6 = 18: eighteen reps is not *more* than the error below the median.
    profile = profile_of(heel_raise_reps=HeelRaiseReps(left=18, right=18, protocol=INCLINE))
    assert not any(f.kind == "below_norm" for f in profile.findings)
    profile = profile_of(heel_raise_reps=HeelRaiseReps(left=17, right=18, protocol=INCLINE))
    assert "heel_raise_reps.below_norm.left" in ids(profile)


def test_men_are_compared_with_the_male_median() -> None:
    comparison = profile_of(
        sex=Sex.MALE, heel_raise_reps=HeelRaiseReps(left=21, right=30, protocol=INCLINE)
    )
    norm = comparison.comparison("heel_raise_reps").norm  # type: ignore[union-attr]
    assert norm.reference == 28
    assert norm.below_left and not norm.below_right


def test_a_19_year_old_has_no_heel_raise_norm() -> None:
    profile = profile_of(age=19, heel_raise_reps=HeelRaiseReps(left=5, right=5, protocol=INCLINE))
    norm = profile.comparison("heel_raise_reps").norm  # type: ignore[union-attr]
    assert not norm.available
    assert norm.text == "no norm applies (no norm for age 19)"
    assert not any(f.kind == "below_norm" for f in profile.findings)


def test_sex_not_given_means_no_heel_raise_norm() -> None:
    profile = profile_of(
        sex=Sex.UNSPECIFIED, heel_raise_reps=HeelRaiseReps(left=5, right=5, protocol=INCLINE)
    )
    norm = profile.comparison("heel_raise_reps").norm  # type: ignore[union-attr]
    assert not norm.available
    assert norm.text == "no norm applies (sex not given)"
    assert not any(f.kind == "below_norm" for f in profile.findings)


def test_single_leg_stance_has_no_norm_and_says_so() -> None:
    profile = profile_of(single_leg_stance_eyes_closed_s=SingleLegStance(left=3, right=3))
    norm = profile.comparison("single_leg_stance_eyes_closed_s").norm  # type: ignore[union-attr]
    assert not norm.available
    assert norm.reference is None
    assert "no verified norm" in norm.text
    assert "age" in norm.text  # Springer 2007 has age bands, but their values were not read
    assert profile.findings == ()


def test_knee_to_wall_range_from_unverified_material_is_shown_but_never_flags() -> None:
    profile = profile_of(knee_to_wall_cm=KneeToWall(left=4, right=4))
    norm = profile.comparison("knee_to_wall_cm").norm  # type: ignore[union-attr]
    assert not norm.available
    assert "unverified" in norm.text
    assert profile.findings == ()


# ----- dorsiflexor : plantarflexor ratio ------------------------------------------------------


def test_shin_tiring_far_before_the_calf_implicates_tibialis_anterior() -> None:
    profile = profile_of(
        sex=Sex.UNSPECIFIED,
        heel_raise_reps=HeelRaiseReps(left=32, right=34),
        tibialis_raise_reps=TibialisRaiseReps(left=8, right=10),
    )
    left = finding(profile, "dorsi_plantar_ratio.left")
    assert left.kind == "ratio_imbalance"
    assert left.muscles == (Muscle.TIBIALIS_ANTERIOR,)
    assert left.numbers["ratio"] == 0.25
    assert finding(profile, "dorsi_plantar_ratio.right").numbers["ratio"] == 0.29
    assert profile.weaker_side is None  # a ratio is not a side-to-side deficit


def test_calf_tiring_far_before_the_shin_implicates_the_calf() -> None:
    profile = profile_of(
        sex=Sex.UNSPECIFIED,
        heel_raise_reps=HeelRaiseReps(left=12, right=12),
        tibialis_raise_reps=TibialisRaiseReps(left=30, right=15),
    )
    left = finding(profile, "dorsi_plantar_ratio.left")
    assert left.muscles == (Muscle.GASTROCNEMIUS, Muscle.SOLEUS)
    assert left.numbers["ratio"] == 2.5
    assert "dorsi_plantar_ratio.right" not in ids(profile)  # 15 / 12 = 1.25 is in range


def test_no_ratio_without_heel_raises() -> None:
    profile = profile_of(
        sex=Sex.UNSPECIFIED,
        heel_raise_reps=HeelRaiseReps(left=0, right=0),
        tibialis_raise_reps=TibialisRaiseReps(left=20, right=20),
    )
    assert not any(f.kind == "ratio_imbalance" for f in profile.findings)


# ----- observations ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fault", "muscles"),
    [
        (StepDownFault.KNEE_VALGUS, {Muscle.GLUTEALS, Muscle.HIP_ABDUCTORS}),
        (StepDownFault.PELVIC_DROP, {Muscle.HIP_ABDUCTORS, Muscle.GLUTEALS}),
        (StepDownFault.TRUNK_LEAN, {Muscle.CORE, Muscle.HIP_ABDUCTORS}),
    ],
)
def test_step_down_faults_point_to_the_hip(fault: StepDownFault, muscles: set[Muscle]) -> None:
    observations = Observations(step_down=StepDownQuality(right=(fault,)))
    profile = profile_of(observations=observations)
    found = finding(profile, f"step_down.{fault.value}.right")
    assert found.kind == "movement_fault"
    assert found.side is Side.RIGHT
    assert set(found.muscles) == muscles
    assert profile.step_down_observed
    hip = next(m for m in profile.implicated if m.muscle is Muscle.HIP_ABDUCTORS)
    assert hip.sides == (Side.RIGHT,)


def test_pronated_feet_implicate_tibialis_posterior_on_each_side() -> None:
    observations = Observations(
        foot_posture_left=FootPosture.PRONATED, foot_posture_right=FootPosture.PRONATED
    )
    profile = profile_of(observations=observations)
    posterior = next(m for m in profile.implicated if m.muscle is Muscle.TIBIALIS_POSTERIOR)
    assert posterior.sides == (Side.LEFT, Side.RIGHT)


# ----- irritability --------------------------------------------------------------------------


def test_rest_pain_of_5_is_high_irritability() -> None:
    result = profile_of(pain=Pain(at_rest=5, during_activity=5, on_waking=2)).irritability
    assert result.level is Irritability.HIGH
    assert result.reasons == ("Pain at rest is 5/10.",)


def test_night_pain_is_high_irritability() -> None:
    pain = Pain(at_rest=0, during_activity=3, on_waking=0, night_pain=True)
    assert profile_of(pain=pain).irritability.level is Irritability.HIGH


def test_pain_lingering_two_hours_is_moderate_irritability() -> None:
    pain = Pain(at_rest=1, during_activity=4, on_waking=1, lingers_after_activity_hours=2)
    result = profile_of(pain=pain).irritability
    assert result.level is Irritability.MODERATE
    assert result.reasons == (
        "Pain lingers 2 hours after activity instead of settling within the hour.",
    )


def test_no_rest_pain_and_quick_settling_is_low_irritability() -> None:
    result = profile_of(pain=Pain(at_rest=0, during_activity=0, on_waking=0)).irritability
    assert result.level is Irritability.LOW
    assert len(result.reasons) == 1


# ----- properties ----------------------------------------------------------------------------

TEST_TYPES: dict[str, tuple[type[PerSide], st.SearchStrategy[float] | st.SearchStrategy[int]]] = {
    "heel_raise_reps": (HeelRaiseReps, st.integers(0, 150)),
    "tibialis_raise_reps": (TibialisRaiseReps, st.integers(0, 200)),
    "knee_to_wall_cm": (KneeToWall, st.floats(0, 25, allow_nan=False)),
    "single_leg_stance_eyes_closed_s": (SingleLegStance, st.floats(0, 45, allow_nan=False)),
    "heel_walk_s": (WalkTolerance, st.floats(0, 60, allow_nan=False)),
    "toe_walk_s": (WalkTolerance, st.floats(0, 60, allow_nan=False)),
}


@st.composite
def per_side(draw: st.DrawFn, test_id: str, symmetric: bool = False) -> PerSide:
    model, values = TEST_TYPES[test_id]
    if symmetric:
        value = draw(values)
        return model(left=value, right=value)
    left = draw(st.none() | values)
    right = draw(values) if left is None else draw(st.none() | values)
    return model(left=left, right=right)


@st.composite
def objective_tests(draw: st.DrawFn, symmetric: bool = False) -> ObjectiveTests:
    chosen = draw(st.sets(st.sampled_from(sorted(TEST_TYPES))))
    return ObjectiveTests(**{test_id: draw(per_side(test_id, symmetric)) for test_id in chosen})


faults = st.lists(st.sampled_from(list(StepDownFault)), max_size=3).map(tuple)
postures = st.none() | st.sampled_from(list(FootPosture))

observations = st.builds(
    Observations,
    foot_posture_left=postures,
    foot_posture_right=postures,
    step_down=st.none() | st.builds(StepDownQuality, left=faults, right=faults),
    gait_asymmetry=st.booleans(),
)

pains = st.builds(
    Pain,
    at_rest=st.integers(0, 10),
    during_activity=st.integers(0, 10),
    on_waking=st.integers(0, 10),
    night_pain=st.booleans(),
    lingers_after_activity_hours=st.floats(0, 168, allow_nan=False),
)


@st.composite
def assessments(draw: st.DrawFn, symmetric: bool = False) -> Assessment:
    return Assessment(
        age=draw(st.integers(16, 100)),
        sex=draw(st.sampled_from(list(Sex))),
        affected_side=draw(st.sampled_from(list(AffectedSide))),
        symptom_duration_weeks=draw(st.floats(0, 2600, allow_nan=False)),
        pain=draw(pains),
        tests=draw(objective_tests(symmetric)),
        observations=draw(observations),
    )


def mirrored(assessment: Assessment) -> Assessment:
    """The same person with left and right swapped everywhere."""
    tests = assessment.tests
    swapped = {
        test_id: type(result)(left=result.right, right=result.left)
        for test_id in TEST_TYPES
        if (result := tests.result(test_id)) is not None
    }
    seen = assessment.observations
    step_down = (
        None
        if seen.step_down is None
        else StepDownQuality(left=seen.step_down.right, right=seen.step_down.left)
    )
    affected = {
        AffectedSide.LEFT: AffectedSide.RIGHT,
        AffectedSide.RIGHT: AffectedSide.LEFT,
        AffectedSide.BOTH: AffectedSide.BOTH,
    }[assessment.affected_side]
    return assessment.model_copy(
        update={
            "affected_side": affected,
            "tests": ObjectiveTests(**swapped),
            "observations": seen.model_copy(
                update={
                    "foot_posture_left": seen.foot_posture_right,
                    "foot_posture_right": seen.foot_posture_left,
                    "step_down": step_down,
                }
            ),
        }
    )


@settings(max_examples=300, deadline=None)
@given(assessments())
def test_build_profile_never_fails_on_a_valid_assessment(assessment: Assessment) -> None:
    profile = build_profile(assessment, RULES)
    assert len(profile.comparisons) == sum(
        assessment.tests.result(t) is not None for t in TEST_TYPES
    )
    sides = assessment.affected_side.sides
    for comparison in profile.comparisons:
        if comparison.weaker_percent is not None:
            assert 0 <= comparison.weaker_percent <= 100
        if len(sides) == 2:
            assert comparison.lsi is None and comparison.involved_side is None
            continue
        involved = sides[0]
        assert comparison.involved_side is involved
        mine = comparison.left if involved is Side.LEFT else comparison.right
        other = comparison.right if involved is Side.LEFT else comparison.left
        if mine is None or other is None or other <= 0 or not math.isfinite(mine / other * 100):
            assert comparison.lsi is None
        else:
            assert comparison.lsi == round(mine / other * 100, 1)


@settings(max_examples=200, deadline=None)
@given(assessments(symmetric=True))
def test_equal_sides_give_no_side_deficit_and_no_weaker_side(assessment: Assessment) -> None:
    profile = build_profile(assessment, RULES)
    assert not any(f.kind == "side_deficit" for f in profile.findings)
    assert profile.weaker_side is None
    for c in profile.comparisons:
        assert c.weaker_side is None and c.weaker_percent == 100.0
        one_side = assessment.affected_side is not AffectedSide.BOTH
        assert c.lsi == (100.0 if one_side and c.left else None)


@settings(max_examples=300)
@given(
    st.floats(0, 200, allow_nan=False, allow_infinity=False),
    st.floats(0, 200, allow_nan=False, allow_infinity=False),
)
def test_side_percentages_lie_between_0_and_100_and_the_lsi_is_their_ratio(
    left: float, right: float
) -> None:
    assert 0 <= weaker_percent(left, right) <= 100
    assert weaker_percent(left, right) == weaker_percent(right, left)
    lsi = limb_symmetry_index(left, right)
    assert (lsi is None) == (right <= 0 or not math.isfinite(left / right * 100))
    if lsi is not None:
        assert lsi == round(left / right * 100, 1) >= 0


@settings(max_examples=300, deadline=None)
@given(assessments())
def test_swapping_left_and_right_swaps_the_weaker_side(assessment: Assessment) -> None:
    original = build_profile(assessment, RULES)
    swapped = build_profile(mirrored(assessment), RULES)
    expected = None if original.weaker_side is None else original.weaker_side.other
    assert swapped.weaker_side is expected
    for before, after in zip(original.comparisons, swapped.comparisons, strict=True):
        assert after.weaker_side is (
            None if before.weaker_side is None else before.weaker_side.other
        )
        assert (after.lsi, after.weaker_percent, after.severity) == (
            before.lsi,
            before.weaker_percent,
            before.severity,
        )
