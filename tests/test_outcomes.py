"""Outcome measures: the questionnaire data, scoring and change interpretation."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from groundup.clinical.outcomes import (
    ActivityRating,
    Answers,
    Change,
    Confidence,
    Measure,
    OutcomeError,
    QuestionnaireSet,
    Score,
    ScoringMethod,
    Threshold,
    interpret_change,
    score,
)
from groundup.knowledge import load_questionnaires

QUESTIONNAIRES = load_questionnaires()
LEFS = QUESTIONNAIRES.measure("lefs")
FAAM_ADL = QUESTIONNAIRES.measure("faam_adl")
FAAM_SPORTS = QUESTIONNAIRES.measure("faam_sports")
NPRS = QUESTIONNAIRES.measure("nprs")
PSFS = QUESTIONNAIRES.measure("psfs")
VISA_A = QUESTIONNAIRES.measure("visa_a")


def answers_by_number(measure: Measure, ratings: Sequence[int | None]) -> dict[str, int | None]:
    """Map ratings given in item-number order onto the measure's item ids."""
    items = sorted(measure.items, key=lambda item: item.number)
    assert len(items) == len(ratings)
    return {item.id: rating for item, rating in zip(items, ratings, strict=True)}


def psfs(*ratings: int) -> list[ActivityRating]:
    return [ActivityRating(activity=f"activity {n}", rating=r) for n, r in enumerate(ratings)]


# --- the data file ------------------------------------------------------------------


def test_shipped_questionnaires_hold_every_measure_with_its_item_count() -> None:
    counts = {measure.id: len(measure.items) for measure in QUESTIONNAIRES.measures}
    assert counts == {
        "lefs": 20,
        "faam_adl": 21,
        "faam_sports": 8,
        "nprs": 1,
        "psfs": 0,
        "visa_a": 8,
    }


def test_every_item_is_a_marked_paraphrase() -> None:
    for measure in QUESTIONNAIRES.measures:
        assert measure.wording == "paraphrased"
        for item in measure.items:
            assert len(item.paraphrase) <= 60


def present(threshold: Threshold | None) -> Threshold:
    assert threshold is not None
    return threshold


def test_published_thresholds_and_their_confidence() -> None:
    assert present(LEFS.mcid).value == 9
    assert present(LEFS.mdc).value == 9
    assert present(LEFS.mcid).cite == "Binkley 1999"
    assert present(FAAM_ADL.mcid).value == 8
    assert present(FAAM_SPORTS.mcid).value == 9
    assert present(NPRS.mcid).value == 2
    assert present(NPRS.mcid_percent).value == 30
    assert present(PSFS.mdc).value == 2
    assert present(PSFS.mdc_single_item).value == 3
    assert present(PSFS.mdc).confidence is Confidence.SECONDARY
    assert present(VISA_A.mcid).value == 14
    assert present(VISA_A.mcid).confidence is Confidence.SECONDARY
    # FAAM's minimal detectable change (Martin 2005, from the abstract).
    assert present(FAAM_ADL.mdc).value == 5.7
    assert present(FAAM_SPORTS.mdc).value == 12.3
    assert present(FAAM_ADL.mdc).confidence is Confidence.SECONDARY
    assert present(FAAM_SPORTS.mdc).cite == "Martin 2005 [S]"


def test_visa_a_is_a_change_measure_with_the_control_mean_as_information_only() -> None:
    assert "healthy_above" not in Measure.model_fields
    assert "in_healthy_range" not in Score.model_fields
    control = present(VISA_A.reference_mean)
    assert control.value == 96
    assert control.note is not None and "not a cut-off" in control.note
    assert present(VISA_A.mcid).value == 14


def test_visa_a_item_8_is_worth_30_and_the_rest_10() -> None:
    maxima = [item.max for item in sorted(VISA_A.items, key=lambda item: item.number)]
    assert maxima == [10, 10, 10, 10, 10, 10, 10, 30]
    assert (VISA_A.scale.minimum, VISA_A.scale.maximum) == (0, 100)


def test_nprs_is_the_only_measure_where_lower_is_better() -> None:
    lower_better = [m.id for m in QUESTIONNAIRES.measures if not m.higher_is_better]
    assert lower_better == ["nprs"]


def test_faam_validity_counts_are_90_percent_to_the_nearest_item() -> None:
    assert FAAM_ADL.validity is not None
    assert FAAM_ADL.validity.min_answered == 19
    assert FAAM_SPORTS.validity is not None
    assert FAAM_SPORTS.validity.min_answered == 7


def lefs_document(**changes: Any) -> dict[str, Any]:
    document = LEFS.model_dump(mode="json")
    document.update(changes)
    return document


def test_a_scale_that_is_not_the_sum_of_its_items_is_rejected() -> None:
    scale = dict(LEFS.scale.model_dump(mode="json"), maximum=100)
    with pytest.raises(ValidationError, match="sum of the item ranges"):
        Measure.model_validate(lefs_document(scale=scale))


def test_a_threshold_citing_an_unlisted_source_is_rejected() -> None:
    mcid = {"value": 9, "source": "Nobody 2020", "confidence": "P"}
    with pytest.raises(ValidationError, match="not in sources"):
        Measure.model_validate(lefs_document(mcid=mcid))


def test_a_validity_count_that_does_not_match_its_fraction_is_rejected() -> None:
    document = FAAM_SPORTS.model_dump(mode="json")
    document["validity"]["min_answered"] = 6
    with pytest.raises(ValidationError, match="nearest whole item"):
        Measure.model_validate(document)


def test_duplicate_measure_ids_are_rejected() -> None:
    with pytest.raises(ValidationError, match="twice"):
        QuestionnaireSet(wording_note="paraphrased items", measures=(LEFS, LEFS))


def test_an_unknown_measure_is_a_clear_error() -> None:
    with pytest.raises(OutcomeError, match="no outcome measure 'koos'"):
        QUESTIONNAIRES.measure("koos")


# --- scoring ------------------------------------------------------------------------


def test_lefs_all_twos_scores_40_of_80() -> None:
    result = score(LEFS, {item.id: 2 for item in LEFS.items})
    assert result.value == 40
    assert result.valid
    assert result.display() == "40/80"


def test_lefs_mixed_answers_score_their_sum() -> None:
    ratings: list[int | None] = [4, 4, 3, 3, 2, 2, 1, 1, 0, 0, 4, 3, 2, 1, 0, 4, 4, 4, 3, 2]
    assert score(LEFS, answers_by_number(LEFS, ratings)).value == 47


def test_lefs_missing_item_names_the_item() -> None:
    answers = {item.id: 3 for item in LEFS.items}
    del answers["walking_mile"]
    with pytest.raises(OutcomeError, match=r"item 12 \(walking_mile\) is missing"):
        score(LEFS, answers)


def test_lefs_answer_of_5_names_the_item_and_range() -> None:
    answers = {item.id: 3 for item in LEFS.items}
    answers["hopping"] = 5
    with pytest.raises(OutcomeError, match=r"item 19 \(hopping\): answer 5 is outside 0–4"):
        score(LEFS, answers)


@pytest.mark.parametrize("bad", [-1, 2.5, True, "3"])
def test_lefs_rejects_answers_that_are_not_a_rating(bad: Any) -> None:
    answers: dict[str, Any] = {item.id: 3 for item in LEFS.items}
    answers["squatting"] = bad
    with pytest.raises(OutcomeError, match="squatting"):
        score(LEFS, answers)


def test_lefs_does_not_allow_not_applicable() -> None:
    answers: dict[str, int | None] = {item.id: 3 for item in LEFS.items}
    answers["hopping"] = None
    with pytest.raises(OutcomeError, match=r"hopping.*cannot be marked N/A"):
        score(LEFS, answers)


def test_unknown_item_is_rejected() -> None:
    answers = {item.id: 3 for item in LEFS.items} | {"cycling": 2}
    with pytest.raises(OutcomeError, match="unknown item 'cycling'"):
        score(LEFS, answers)


def test_faam_adl_with_2_not_applicable_scores_on_the_19_answered() -> None:
    # 10 items at 4 and 9 at 3: 67 of a possible 19 × 4 = 76, i.e. 88.16 %.
    ratings: list[int | None] = [4] * 10 + [3] * 9 + [None, None]
    result = score(FAAM_ADL, answers_by_number(FAAM_ADL, ratings))
    assert result.valid
    assert result.answered == 19
    assert result.not_applicable == ("heavy_work", "recreation")
    assert result.value == pytest.approx(67 / 76 * 100)
    assert result.value == pytest.approx(88.157894737)
    assert result.display() == "88.2 %"


def test_faam_adl_with_3_not_applicable_is_invalid_with_a_reason() -> None:
    ratings: list[int | None] = [4] * 18 + [None] * 3
    result = score(FAAM_ADL, answers_by_number(FAAM_ADL, ratings))
    assert not result.valid
    assert result.value is None
    assert result.reason is not None
    assert "at least 19 of 21" in result.reason
    assert "18 were answered" in result.reason
    assert result.display() == "not valid"


def test_faam_sports_with_1_not_applicable_is_valid() -> None:
    # 4+3+3+2+2+1+1 = 16 of a possible 7 × 4 = 28, i.e. 57.14 %.
    ratings: list[int | None] = [4, 3, 3, 2, 2, 1, 1, None]
    result = score(FAAM_SPORTS, answers_by_number(FAAM_SPORTS, ratings))
    assert result.valid
    assert result.value == pytest.approx(16 / 28 * 100)


def test_faam_sports_with_2_not_applicable_is_invalid() -> None:
    ratings: list[int | None] = [4, 3, 3, 2, 2, 1, None, None]
    result = score(FAAM_SPORTS, answers_by_number(FAAM_SPORTS, ratings))
    assert not result.valid
    assert result.value is None


def test_faam_missing_item_is_an_error_not_an_assumed_not_applicable() -> None:
    answers = {item.id: 4 for item in FAAM_SPORTS.items}
    del answers["landing"]
    with pytest.raises(OutcomeError, match="landing"):
        score(FAAM_SPORTS, answers)


def test_psfs_scores_the_mean_of_the_activities() -> None:
    result = score(PSFS, psfs(3, 5, 4))
    assert result.value == 4
    assert result.answered == 3


def test_psfs_accepts_up_to_five_activities_but_not_six() -> None:
    assert score(PSFS, psfs(1, 2, 3, 4, 5)).value == 3
    with pytest.raises(OutcomeError, match="at most 5"):
        score(PSFS, psfs(1, 2, 3, 4, 5, 6))


def test_psfs_rating_of_11_names_the_activity() -> None:
    ratings = [
        ActivityRating(activity="climbing stairs", rating=4),
        ActivityRating(activity="running", rating=11),
    ]
    with pytest.raises(OutcomeError, match=r"activity 'running': answer 11 is outside 0–10"):
        score(PSFS, ratings)


def test_psfs_rejects_no_activities_and_repeated_activities() -> None:
    with pytest.raises(OutcomeError, match="at least one"):
        score(PSFS, [])
    twice = [
        ActivityRating(activity="Running", rating=4),
        ActivityRating(activity="running ", rating=5),
    ]
    with pytest.raises(OutcomeError, match="listed twice"):
        score(PSFS, twice)


def test_answers_in_the_wrong_shape_are_rejected() -> None:
    with pytest.raises(OutcomeError, match="list of rated activities"):
        score(PSFS, {"running": 4})
    with pytest.raises(OutcomeError, match="by item id"):
        score(LEFS, psfs(3))


def test_visa_a_scores_the_sum_with_item_8_out_of_30() -> None:
    ratings: list[int | None] = [7, 6, 8, 5, 4, 3, 7, 14]
    result = score(VISA_A, answers_by_number(VISA_A, ratings))
    assert result.value == 54
    assert result.display() == "54/100"


def test_visa_a_item_8_above_30_is_rejected_but_30_is_fine() -> None:
    ratings = [10] * 7 + [31]
    with pytest.raises(OutcomeError, match=r"item 8 .*outside 0–30"):
        score(VISA_A, answers_by_number(VISA_A, ratings))
    best = score(VISA_A, answers_by_number(VISA_A, [10] * 7 + [30]))
    assert best.value == 100


def test_visa_a_of_96_is_judged_by_change_not_by_the_control_mean() -> None:
    result = score(VISA_A, answers_by_number(VISA_A, [10, 10, 10, 10, 10, 6, 10, 30]))
    assert result.value == 96
    assert interpret_change(VISA_A, 88, 96).change is Change.NO_REAL_CHANGE  # 8 < 14
    assert interpret_change(VISA_A, 82, 96).change is Change.IMPROVED


def test_nprs_scores_the_single_rating() -> None:
    result = score(NPRS, {"pain": 6})
    assert result.value == 6
    assert not result.higher_is_better
    with pytest.raises(OutcomeError, match="outside 0–10"):
        score(NPRS, {"pain": 11})


# --- change -------------------------------------------------------------------------


def test_lefs_rise_of_12_is_beyond_the_mcid_in_both_sentences() -> None:
    result = interpret_change(LEFS, 38, 50)
    assert result.delta == 12
    assert result.change is Change.IMPROVED
    assert result.beyond_mcid is True
    assert result.beyond_mdc is True
    assert result.important_improvement
    assert result.clinical == (
        "LEFS rose 12 points (38 → 50), beyond the MCID of 9 and the MDC of 9 "
        "(Binkley 1999): improved."
    )
    assert result.plain.startswith("Your leg function score went up from 38 to 50")
    assert "MCID" not in result.plain


def test_lefs_plus_8_is_not_beyond_the_mcid() -> None:
    result = interpret_change(LEFS, 38, 46)
    assert result.beyond_mcid is False
    assert result.beyond_mdc is False
    assert result.change is Change.NO_REAL_CHANGE
    assert "short of the MCID of 9" in result.clinical


def test_lefs_plus_9_reaches_the_mcid() -> None:
    result = interpret_change(LEFS, 38, 47)
    assert result.beyond_mcid is True
    assert result.change is Change.IMPROVED


def test_lefs_fall_of_10_is_worse() -> None:
    result = interpret_change(LEFS, 50, 40)
    assert result.change is Change.WORSENED
    assert result.delta == -10
    assert not result.important_improvement
    assert "step back" in result.plain


def test_nprs_6_to_4_meets_the_2_point_mcid_and_counts_as_improved() -> None:
    result = interpret_change(NPRS, 6, 4)
    assert result.delta == -2
    assert result.change is Change.IMPROVED
    assert result.beyond_mcid is True
    assert result.beyond_mdc is None  # the reference gives no MDC for the NPRS
    assert result.decided_by == "mcid"
    assert "went down from 6 to 4" in result.plain


def test_nprs_3_to_2_meets_the_mcid_on_the_30_percent_rule_alone() -> None:
    # Decision: Farrar's "2 points OR 30 %" is applied as written, so a 1-point fall from
    # 3 (33 %) counts; the clinician sentence says it was met on the percentage alone.
    result = interpret_change(NPRS, 3, 2)
    assert result.beyond_mcid is True
    assert result.change is Change.IMPROVED
    assert "33.3 % of baseline" in result.clinical
    assert "met on the percentage alone" in result.clinical


def test_nprs_rise_is_judged_on_points_only() -> None:
    # 2 → 3 is +50 % of baseline, but the percentage rule was derived from reductions.
    assert interpret_change(NPRS, 2, 3).change is Change.NO_REAL_CHANGE
    rise = interpret_change(NPRS, 4, 7)
    assert rise.change is Change.WORSENED
    assert rise.beyond_mcid is True


def test_nprs_fall_smaller_than_one_point_does_not_count_as_a_percentage() -> None:
    result = interpret_change(NPRS, 0.6, 0.3)
    assert result.beyond_mcid is False
    assert result.change is Change.NO_REAL_CHANGE


def test_nprs_fall_from_zero_baseline_cannot_happen_and_rise_from_zero_uses_points() -> None:
    assert interpret_change(NPRS, 0, 1).change is Change.NO_REAL_CHANGE
    assert interpret_change(NPRS, 0, 2).change is Change.WORSENED


def test_psfs_mean_uses_mdc_2_and_a_single_activity_mdc_3() -> None:
    mean = interpret_change(PSFS, 4, 6)
    assert mean.change is Change.IMPROVED
    assert mean.mdc == 2
    assert mean.beyond_mcid is None
    assert mean.important_improvement
    single = interpret_change(PSFS, 4, 6, single_item=True)
    assert single.change is Change.NO_REAL_CHANGE
    assert single.mdc == 3
    assert "single-activity" in single.clinical
    assert interpret_change(PSFS, 4, 7, single_item=True).change is Change.IMPROVED


def test_single_item_change_only_exists_for_psfs() -> None:
    with pytest.raises(OutcomeError, match="single-item"):
        interpret_change(LEFS, 40, 50, single_item=True)


def test_faam_change_is_real_beyond_its_mdc_and_matters_from_its_mcid() -> None:
    assert interpret_change(FAAM_ADL, 70, 75.6).change is Change.NO_REAL_CHANGE  # < 5.7
    small = interpret_change(FAAM_ADL, 70, 75.7)
    assert small.change is Change.IMPROVED and small.beyond_mcid is False
    assert not small.important_improvement
    result = interpret_change(FAAM_ADL, 70, 78)
    assert result.important_improvement
    assert "(70 % → 78 %)" in result.clinical
    assert "MDC of 5.7" in result.clinical
    # Sports: the MDC (12.3) is larger than the MCID (9): a 9-point rise may be noise.
    assert interpret_change(FAAM_SPORTS, 50, 59).change is Change.NO_REAL_CHANGE
    assert interpret_change(FAAM_SPORTS, 50, 62.3).important_improvement


def test_visa_a_change_cites_its_secondary_source() -> None:
    result = interpret_change(VISA_A, 50, 64)
    assert result.change is Change.IMPROVED
    assert "(JOSPT 2021 [S])" in result.clinical


@pytest.mark.parametrize(("before", "after"), [(-1, 40), (40, 81), (float("nan"), 40)])
def test_scores_outside_the_scale_cannot_be_compared(before: float, after: float) -> None:
    with pytest.raises(OutcomeError, match="outside 0–80"):
        interpret_change(LEFS, before, after)


def test_unchanged_score_says_so() -> None:
    result = interpret_change(LEFS, 40, 40)
    assert result.change is Change.NO_REAL_CHANGE
    assert result.plain == "Your leg function score stayed at 40."


# --- properties ---------------------------------------------------------------------

measures = st.sampled_from(QUESTIONNAIRES.measures)


@st.composite
def valid_answers(draw: st.DrawFn, measure: Measure) -> Answers:
    if measure.scoring is ScoringMethod.MEAN:
        rule = measure.activities
        assert rule is not None
        ratings = draw(st.lists(st.integers(rule.min, rule.max), min_size=1, max_size=rule.maximum))
        return psfs(*ratings)
    answers: dict[str, int | None] = {}
    for item in measure.items:
        rating = st.integers(item.min, item.max)
        if measure.not_applicable_allowed:
            answers[item.id] = draw(st.none() | rating)
        else:
            answers[item.id] = draw(rating)
    return answers


@st.composite
def measure_and_answers(draw: st.DrawFn) -> tuple[Measure, Answers]:
    measure = draw(measures)
    return measure, draw(valid_answers(measure))


@given(measure_and_answers())
def test_scoring_never_fails_on_valid_answers(case: tuple[Measure, Answers]) -> None:
    measure, answers = case
    result = score(measure, answers)
    if result.valid:
        assert result.value is not None
        assert measure.scale.minimum <= result.value <= measure.scale.maximum
    else:
        assert measure.validity is not None
        assert result.answered < measure.validity.min_answered
        assert result.reason


@given(valid_answers(LEFS))
def test_lefs_is_always_within_0_to_80(answers: Answers) -> None:
    value = score(LEFS, answers).value
    assert value is not None
    assert 0 <= value <= 80


@given(st.sampled_from([FAAM_ADL, FAAM_SPORTS]).flatmap(valid_answers))
def test_faam_percent_is_within_0_to_100_when_valid(answers: Answers) -> None:
    measure = FAAM_ADL if len(answers) == len(FAAM_ADL.items) else FAAM_SPORTS
    result = score(measure, answers)
    if result.valid:
        assert result.value is not None
        assert 0 <= result.value <= 100


@st.composite
def change_case(draw: st.DrawFn) -> tuple[Measure, float, float, bool]:
    measure = draw(measures)
    single = measure.mdc_single_item is not None and draw(st.booleans())
    low, high = measure.scale.minimum, measure.scale.maximum
    values = st.floats(low, high, allow_nan=False) | st.integers(int(low), int(high)).map(float)
    return measure, draw(values), draw(values), single


@given(change_case())
def test_no_change_is_never_real(case: tuple[Measure, float, float, bool]) -> None:
    measure, before, _, single = case
    result = interpret_change(measure, before, before, single_item=single)
    assert result.change is Change.NO_REAL_CHANGE
    assert result.delta == 0


@given(change_case())
def test_swapping_before_and_after_flips_a_change_beyond_the_mdc(
    case: tuple[Measure, float, float, bool],
) -> None:
    measure, before, after, single = case
    forward = interpret_change(measure, before, after, single_item=single)
    backward = interpret_change(measure, after, before, single_item=single)
    opposite = {Change.IMPROVED: Change.WORSENED, Change.WORSENED: Change.IMPROVED}
    if forward.beyond_mdc:
        assert backward.change is opposite[forward.change]
    if measure.mcid_percent is None and forward.change is not Change.NO_REAL_CHANGE:
        # Thresholds in points are symmetric, so every real change flips.
        assert backward.change is opposite[forward.change]
    if forward.change is Change.WORSENED:
        # The NPRS percentage rule only ever adds improvements, never removes them.
        assert backward.change is Change.IMPROVED


@given(change_case())
def test_direction_follows_the_measure(case: tuple[Measure, float, float, bool]) -> None:
    measure, before, after, single = case
    result = interpret_change(measure, before, after, single_item=single)
    if result.change is Change.IMPROVED:
        assert (after > before) is measure.higher_is_better
    if result.change is Change.WORSENED:
        assert (after < before) is measure.higher_is_better
    assert result.plain.endswith(".")
    assert result.clinical.startswith(measure.short_name)
