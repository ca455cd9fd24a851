"""The safety screen: red-flag rules, urgency, Wells score, and the screening.yaml schema."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

import groundup.knowledge as knowledge
from groundup.clinical.screening import (
    REASSURING_FIELDS,
    RULE_CHECKS,
    WELLS_RISK_FACTORS,
    Outcome,
    ScreenAnswers,
    ScreeningRules,
    ScreenResult,
    Urgency,
    screen,
    urgency_rank,
    wells_score,
)
from groundup.knowledge import KnowledgeError, load_model, load_screening_rules

RULES = load_screening_rules()
BOOL_FIELDS = [n for n, f in ScreenAnswers.model_fields.items() if f.annotation is bool]


def run(**answers: Any) -> ScreenResult:
    return screen(ScreenAnswers(**answers), RULES)


def ids(result: ScreenResult) -> list[str]:
    return [r.rule_id for r in result.reasons]


# -- Nothing wrong ---------------------------------------------------------------------


def test_all_no_is_clear_with_no_reasons() -> None:
    result = run()
    assert result.outcome is Outcome.CLEAR
    assert not result.refers
    assert result.urgency is None
    assert result.reasons == ()
    assert result.wells_score is None  # no leg symptoms: Wells does not apply
    assert result.rules_version == RULES.version
    assert RULES.advice.clear in result.advice
    assert RULES.advice.safety_net in result.advice


def test_partial_answers_default_to_no() -> None:
    answers = ScreenAnswers.model_validate({"fever": True})
    assert answers.fever
    assert not answers.hot_swollen_joint
    assert answers.days_since_injury is None
    assert answers.calf_difference_cm == 0


def test_answers_reject_unknown_fields_and_bad_numbers() -> None:
    with pytest.raises(ValidationError):
        ScreenAnswers.model_validate({"fevr": True})
    with pytest.raises(ValidationError):
        ScreenAnswers(calf_difference_cm=20.5)
    with pytest.raises(ValidationError):
        ScreenAnswers(calf_difference_cm=-1)
    with pytest.raises(ValidationError):
        ScreenAnswers(days_since_injury=-1)


# -- Ottawa ankle and foot rules -------------------------------------------------------

CANNOT_WALK = {"unable_to_walk_right_after_injury": True, "unable_to_walk_now": True}


def test_cannot_walk_four_steps_five_days_after_injury_refers_the_same_day() -> None:
    result = run(days_since_injury=5, **CANNOT_WALK)
    assert result.refers
    assert result.urgency is Urgency.SAME_DAY
    assert ids(result) == ["ottawa_ankle"]
    numbers = result.reasons[0].numbers
    assert numbers["days_since_injury"] == 5
    assert numbers["max_days_since_injury"] == 10
    assert numbers["steps"] == 4


def test_cannot_walk_thirty_days_after_injury_is_outside_the_ottawa_window() -> None:
    result = run(days_since_injury=30, **CANNOT_WALK)
    assert not result.refers
    assert result.outcome is Outcome.CLEAR
    assert "ottawa_ankle" not in ids(result)
    # Still worth a word with the clinician, but not a stop.
    assert ids(result) == ["injury_not_settling"]
    assert result.urgency is Urgency.NEXT_VISIT


@pytest.mark.parametrize(("days", "applies"), [(0, True), (10, True), (11, False)])
def test_ottawa_window_edge(days: int, applies: bool) -> None:
    result = run(days_since_injury=days, lateral_malleolus_tenderness=True)
    assert result.refers is applies
    assert ("ottawa_ankle" in ids(result)) is applies


@pytest.mark.parametrize("spot", ["lateral_malleolus_tenderness", "medial_malleolus_tenderness"])
def test_malleolar_tenderness_alone_within_ten_days_refers(spot: str) -> None:
    result = run(days_since_injury=3, **{spot: True})
    assert result.urgency is Urgency.SAME_DAY
    assert ids(result) == ["ottawa_ankle"]
    assert result.reasons[0].numbers[spot] is True


@pytest.mark.parametrize("spot", ["fifth_metatarsal_base_tenderness", "navicular_tenderness"])
def test_foot_bone_tenderness_within_ten_days_refers(spot: str) -> None:
    result = run(days_since_injury=2, **{spot: True})
    assert result.urgency is Urgency.SAME_DAY
    assert ids(result) == ["ottawa_foot"]


def test_midfoot_pain_needs_inability_to_walk() -> None:
    assert not run(days_since_injury=2, midfoot_pain=True).reasons
    result = run(days_since_injury=2, midfoot_pain=True, **CANNOT_WALK)
    assert ids(result) == ["ottawa_ankle", "ottawa_foot"]


def test_cannot_walk_only_now_still_refers_within_the_window() -> None:
    result = run(days_since_injury=4, unable_to_walk_now=True)
    assert result.urgency is Urgency.SAME_DAY
    assert ids(result) == ["unable_to_walk_now"]


def test_could_not_walk_right_after_but_can_now_is_clear() -> None:
    assert run(days_since_injury=4, unable_to_walk_right_after_injury=True).reasons == ()


@pytest.mark.parametrize("exclusion", ["neuropathy", "pregnant", "multiple_injuries"])
def test_ottawa_exclusion_cannot_clear_a_recent_injury(exclusion: str) -> None:
    result = run(days_since_injury=3, **{exclusion: True})
    assert result.urgency is Urgency.SOON
    assert ids(result) == ["ottawa_excluded"]
    assert "can't rule out" in result.reasons[0].person_text


@pytest.mark.parametrize("exclusion", ["neuropathy", "pregnant", "multiple_injuries"])
def test_ottawa_exclusion_without_a_recent_injury_is_clear(exclusion: str) -> None:
    assert run(**{exclusion: True}).reasons == ()
    assert run(days_since_injury=40, **{exclusion: True}).reasons == ()


def test_exclusion_and_positive_finding_list_both() -> None:
    result = run(days_since_injury=1, pregnant=True, navicular_tenderness=True)
    assert ids(result) == ["ottawa_foot", "ottawa_excluded"]


def test_injury_findings_without_a_date_are_treated_as_recent() -> None:
    result = run(medial_malleolus_tenderness=True)
    assert ids(result) == ["ottawa_ankle"]
    assert result.reasons[0].numbers["days_since_injury"] is None


def test_ottawa_positive_ankle_is_seen_the_same_day_for_an_x_ray() -> None:
    """Cannot take four steps and tender at the malleolus: today, not within days."""
    result = run(days_since_injury=2, lateral_malleolus_tenderness=True, **CANNOT_WALK)
    assert result.urgency is Urgency.SAME_DAY
    assert result.refers
    assert Urgency.SAME_DAY.label.startswith("See a doctor today")
    assert result.advice.startswith(RULES.advice.same_day)
    assert "today" in result.reasons[0].person_text
    assert "X-ray" in result.reasons[0].person_text
    assert "within the next few days" not in result.advice


# -- Wells DVT score -------------------------------------------------------------------

WELLS_ITEMS = [
    "active_cancer",
    "paralysis_paresis_or_recent_cast",
    "bedridden_or_major_surgery",
    "deep_vein_tenderness",
    "whole_leg_swollen",
    "pitting_oedema",
    "collateral_superficial_veins",
    "previous_dvt",
]


def test_wells_score_counts_each_item_once() -> None:
    assert wells_score(ScreenAnswers(), 3) == 0
    every = ScreenAnswers(calf_difference_cm=4, **dict.fromkeys(WELLS_ITEMS, True))
    assert wells_score(every, 3) == 9
    assert wells_score(every.model_copy(update={"alternative_diagnosis_as_likely": True}), 3) == 7
    assert wells_score(ScreenAnswers(alternative_diagnosis_as_likely=True), 3) == -2


@pytest.mark.parametrize("item", WELLS_ITEMS)
def test_each_wells_item_scores_one(item: str) -> None:
    assert wells_score(ScreenAnswers(**{item: True}), 3) == 1


LEG = {"calf_pain": True}  # a leg symptom: the Wells score applies


def test_wells_two_is_an_emergency() -> None:
    result = run(calf_pain=True, active_cancer=True, previous_dvt=True)
    assert result.wells_score == 2
    assert result.urgency is Urgency.EMERGENCY
    assert ids(result) == ["dvt_likely", "cancer_history"]


def test_wells_two_from_signs_alone_is_an_emergency() -> None:
    """Signs that are themselves tenderness or swelling make the suspicion on their own."""
    result = run(deep_vein_tenderness=True, whole_leg_swollen=True)
    assert result.wells_score == 2
    assert result.urgency is Urgency.EMERGENCY
    assert result.refers
    assert ids(result) == ["dvt_likely"]
    assert result.reasons[0].numbers["wells_score"] == 2
    assert result.reasons[0].numbers["wells_likely_threshold"] == 2
    assert RULES.advice.emergency in result.advice


def test_recent_cast_and_surgery_without_leg_symptoms_is_not_sent_anywhere() -> None:
    """Risk factors alone are no suspicion of a clot: Wells does not apply."""
    result = run(paralysis_paresis_or_recent_cast=True, bedridden_or_major_surgery=True)
    assert result.reasons == ()
    assert result.urgency is None
    assert not result.refers
    assert result.wells_score is None


def test_every_risk_factor_without_leg_symptoms_scores_nothing() -> None:
    result = run(**dict.fromkeys(WELLS_RISK_FACTORS, True), collateral_superficial_veins=True)
    assert result.wells_score is None
    assert not {"dvt_likely", "dvt_not_excluded", "dvt_possible"} & set(ids(result))
    assert ids(result) == ["cancer_history"]  # active cancer is still a cancer history


def test_the_same_risk_factors_with_calf_pain_are_an_emergency() -> None:
    result = run(
        calf_pain=True, paralysis_paresis_or_recent_cast=True, bedridden_or_major_surgery=True
    )
    assert result.wells_score == 2
    assert ids(result) == ["dvt_likely"]
    assert result.urgency is Urgency.EMERGENCY


@pytest.mark.parametrize("symptom", ["calf_pain", "calf_tenderness", "one_sided_leg_swelling"])
def test_each_leg_symptom_makes_the_wells_score_apply(symptom: str) -> None:
    result = run(previous_dvt=True, **{symptom: True})
    assert result.wells_score == 1
    assert ids(result) == ["dvt_possible"]


def test_wells_one_from_a_risk_factor_with_leg_symptoms_refers_within_days() -> None:
    result = run(previous_dvt=True, **LEG)
    assert result.wells_score == 1
    assert result.refers
    assert result.urgency is Urgency.SOON
    assert ids(result) == ["dvt_possible"]
    reason = result.reasons[0]
    assert "don't rule one out" in reason.person_text
    assert "D-dimer" in reason.person_text
    assert "previously documented DVT +1" in reason.clinician_text
    assert reason.numbers["points_previous_dvt"] == 1


def test_calf_pain_alone_is_clear_with_a_wells_score_of_zero() -> None:
    result = run(**LEG)
    assert result.wells_score == 0
    assert result.reasons == ()
    assert RULES.advice.safety_net in result.advice


def test_unlikely_wells_with_signs_on_the_leg_is_not_excluded() -> None:
    """A calf 3.5 cm larger, tender along the deep veins, another diagnosis as likely:
    Wells 0 ("unlikely") is not "excluded"; a D-dimer or a doctor's look rules it out."""
    result = run(
        calf_difference_cm=3.5, deep_vein_tenderness=True, alternative_diagnosis_as_likely=True
    )
    assert result.wells_score == 0
    assert ids(result) == ["dvt_not_excluded"]
    assert result.urgency is Urgency.SAME_DAY
    assert result.refers
    reason = result.reasons[0]
    assert "less likely" in reason.person_text
    assert "don't rule one out" in reason.person_text
    assert "blood test (called a D-dimer)" in reason.person_text
    assert "examining your leg" in reason.person_text
    assert "Wells" not in reason.person_text  # plain words for the person
    assert reason.clinician_text.startswith("Suspected DVT with a Wells score of 0")
    assert "tenderness along the deep veins +1" in reason.clinician_text
    assert "calf larger than the other side by 3.5 cm (≥ 3 cm) +1" in reason.clinician_text
    assert "alternative diagnosis at least as likely −2" in reason.clinician_text
    assert reason.numbers["points_alternative_diagnosis_as_likely"] == -2
    assert reason.confidence == "U"


def test_alternative_diagnosis_lowers_three_to_one_but_the_signs_still_refer_today() -> None:
    three = {"deep_vein_tenderness": True, "pitting_oedema": True, "previous_dvt": True}
    assert run(**three).wells_score == 3
    assert run(**three).urgency is Urgency.EMERGENCY
    result = run(alternative_diagnosis_as_likely=True, **three)
    assert result.wells_score == 1
    assert ids(result) == ["dvt_not_excluded"]
    assert result.urgency is Urgency.SAME_DAY


def test_negative_wells_score_with_nothing_positive_is_clear() -> None:
    assert run(alternative_diagnosis_as_likely=True).wells_score is None
    result = run(alternative_diagnosis_as_likely=True, **LEG)
    assert result.wells_score == -2
    assert result.reasons == ()


def test_collateral_veins_alone_are_no_suspicion_but_count_as_a_sign() -> None:
    assert run(collateral_superficial_veins=True).reasons == ()
    result = run(collateral_superficial_veins=True, **LEG)
    assert ids(result) == ["dvt_not_excluded"]


@pytest.mark.parametrize(
    ("calf_cm", "score", "rule", "urgency"),
    [
        (0.0, 1, "dvt_possible", Urgency.SOON),
        (2.9, 1, "dvt_possible", Urgency.SOON),
        (3.0, 2, "dvt_likely", Urgency.EMERGENCY),
    ],
)
def test_calf_difference_threshold_is_three_cm(
    calf_cm: float, score: int, rule: str, urgency: Urgency
) -> None:
    result = run(previous_dvt=True, calf_difference_cm=calf_cm, **LEG)
    assert result.wells_score == score
    assert ids(result) == [rule]
    assert result.urgency is urgency


def test_calf_difference_alone() -> None:
    assert wells_score(ScreenAnswers(calf_difference_cm=2.9), 3) == 0
    assert wells_score(ScreenAnswers(calf_difference_cm=3.0), 3) == 1
    assert run(calf_difference_cm=2.9).wells_score is None  # below 3 cm: no swelling sign
    result = run(calf_difference_cm=3.0)  # a calf 3 cm larger is one-sided swelling
    assert result.wells_score == 1
    assert ids(result) == ["dvt_not_excluded"]


# -- Compartment syndrome --------------------------------------------------------------


def test_compartment_syndrome_is_an_emergency() -> None:
    result = run(
        pain_out_of_proportion=True,
        pain_on_passive_stretch=True,
        tense_swollen_compartment=True,
        after_trauma_or_hard_exertion=True,
    )
    assert result.urgency is Urgency.EMERGENCY
    assert ids(result) == ["compartment_syndrome"]
    assert result.reasons[0].numbers["signs_present"] == 3


def test_one_compartment_sign_after_trauma_is_an_emergency() -> None:
    result = run(pain_out_of_proportion=True, after_trauma_or_hard_exertion=True)
    assert result.urgency is Urgency.EMERGENCY


def test_two_compartment_signs_without_trigger_are_an_emergency() -> None:
    result = run(pain_on_passive_stretch=True, tense_swollen_compartment=True)
    assert ids(result) == ["compartment_syndrome"]


def test_one_compartment_sign_without_trigger_refers_soon() -> None:
    result = run(tense_swollen_compartment=True)
    assert result.urgency is Urgency.SOON
    assert ids(result) == ["compartment_sign"]


def test_trauma_or_exertion_alone_is_clear() -> None:
    assert run(after_trauma_or_hard_exertion=True).reasons == ()


# -- Infection -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("answers", "rule", "urgency"),
    [
        ({"fever": True, "red_spreading_skin": True}, "infection_urgent", Urgency.EMERGENCY),
        ({"fever": True, "hot_swollen_joint": True}, "infection_urgent", Urgency.EMERGENCY),
        ({"hot_swollen_joint": True}, "infection_urgent", Urgency.EMERGENCY),
        ({"red_spreading_skin": True}, "infection_possible", Urgency.SOON),
        ({"fever": True}, "infection_possible", Urgency.SOON),
    ],
)
def test_infection(answers: dict[str, bool], rule: str, urgency: Urgency) -> None:
    result = run(**answers)
    assert ids(result) == [rule]
    assert result.urgency is urgency


# -- Other red flags -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("answers", "rule", "urgency"),
    [
        ({"night_or_rest_pain": True}, "night_or_rest_pain", Urgency.SOON),
        ({"cancer_history": True}, "cancer_history", Urgency.SOON),
        ({"unexplained_weight_loss": True}, "unexplained_weight_loss", Urgency.SOON),
        ({"progressive_weakness_or_foot_drop": True}, "progressive_weakness", Urgency.SOON),
        ({"numbness_or_pins_and_needles": True}, "numbness", Urgency.NEXT_VISIT),
        ({"focal_bone_tenderness": True, "pain_on_hopping": True}, "stress_fracture", Urgency.SOON),
        ({"focal_bone_tenderness": True}, "bone_tenderness", Urgency.NEXT_VISIT),
        (
            {"calf_cramp_on_walking_relieved_by_rest": True, "cold_feet_or_weak_pulses": True},
            "claudication",
            Urgency.SOON,
        ),
        (
            {"calf_cramp_on_walking_relieved_by_rest": True},
            "exertional_calf_pain",
            Urgency.NEXT_VISIT,
        ),
        ({"heel_kick_or_snap": True, "lost_push_off": True}, "achilles_rupture", Urgency.SAME_DAY),
        ({"heel_kick_or_snap": True}, "achilles_rupture", Urgency.SAME_DAY),
    ],
)
def test_single_red_flags(answers: dict[str, bool], rule: str, urgency: Urgency) -> None:
    result = run(**answers)
    assert ids(result) == [rule]
    assert result.urgency is urgency
    assert result.refers is urgency.refers


@pytest.mark.parametrize("field", ["pain_on_hopping", "cold_feet_or_weak_pulses", "lost_push_off"])
def test_supporting_answers_alone_are_clear(field: str) -> None:
    assert run(**{field: True}).reasons == ()


def test_active_cancer_counts_as_cancer_history_and_for_wells() -> None:
    assert ids(run(active_cancer=True)) == ["cancer_history"]
    result = run(active_cancer=True, **LEG)
    assert result.wells_score == 1
    assert ids(result) == ["dvt_possible", "cancer_history"]
    assert result.urgency is Urgency.SOON


def test_numbness_is_folded_into_weakness() -> None:
    result = run(numbness_or_pins_and_needles=True, progressive_weakness_or_foot_drop=True)
    assert ids(result) == ["progressive_weakness"]


def test_achilles_advice_says_today() -> None:
    # The treatment decision for a rupture is made in the first days: same day (M11).
    result = run(heel_kick_or_snap=True)
    assert result.urgency is Urgency.SAME_DAY
    assert "see a doctor today" in result.advice


def test_an_emergency_never_tells_the_person_a_later_time() -> None:
    # The paused page says "go now" for an emergency; a rule's own words must not say
    # "today" or "within days" beside it.
    emergencies = {k: r for k, r in RULES.rules.items() if r.urgency is Urgency.EMERGENCY}
    assert emergencies
    for rule_id, rule in emergencies.items():
        words = rule.person_text.lower()
        for later in ("today", "within days", "within the next", "in the next few days"):
            assert later not in words, (rule_id, later)


# -- Combinations ----------------------------------------------------------------------


def test_combination_takes_the_highest_urgency_and_lists_every_reason() -> None:
    result = run(
        days_since_injury=4,
        lateral_malleolus_tenderness=True,
        numbness_or_pins_and_needles=True,
        pain_out_of_proportion=True,
        after_trauma_or_hard_exertion=True,
        night_or_rest_pain=True,
    )
    assert result.urgency is Urgency.EMERGENCY
    assert result.refers
    assert ids(result) == [
        "compartment_syndrome",
        "ottawa_ankle",
        "night_or_rest_pain",
        "numbness",
    ]
    assert [r.urgency for r in result.reasons] == [
        Urgency.EMERGENCY,
        Urgency.SAME_DAY,
        Urgency.SOON,
        Urgency.NEXT_VISIT,
    ]
    ranks = [r.urgency.rank for r in result.reasons]
    assert ranks == sorted(ranks, reverse=True)
    for reason in result.reasons:
        assert reason.person_text in result.advice
    assert result.advice.index(RULES.advice.emergency) == 0
    assert RULES.advice.also in result.advice


def test_soon_with_a_note_refers_and_keeps_the_note() -> None:
    result = run(cancer_history=True, focal_bone_tenderness=True)
    assert result.urgency is Urgency.SOON
    assert result.refers
    assert [r.rule_id for r in result.notes] == ["bone_tenderness"]


# -- Properties ------------------------------------------------------------------------


def _field_strategy(name: str) -> st.SearchStrategy[Any]:
    if name == "days_since_injury":
        return st.none() | st.integers(min_value=0, max_value=60)
    if name == "calf_difference_cm":
        return st.sampled_from([0.0, 1.0, 2.9, 3.0, 5.0, 20.0]) | st.floats(0, 20)
    return st.booleans()


answers_strategy = st.fixed_dictionaries(
    {name: _field_strategy(name) for name in ScreenAnswers.model_fields}
).map(lambda d: ScreenAnswers(**d))

WORRYING_FIELDS = [f for f in BOOL_FIELDS if f not in REASSURING_FIELDS]


@settings(max_examples=300)
@given(answers=answers_strategy, field=st.sampled_from(WORRYING_FIELDS))
def test_adding_a_yes_never_lowers_urgency(answers: ScreenAnswers, field: str) -> None:
    before = screen(answers.model_copy(update={field: False}), RULES)
    after = screen(answers.model_copy(update={field: True}), RULES)
    assert urgency_rank(after.urgency) >= urgency_rank(before.urgency)
    assert after.refers or not before.refers


@given(answers=answers_strategy, extra=st.floats(0, 20))
def test_a_larger_calf_difference_never_lowers_urgency(
    answers: ScreenAnswers, extra: float
) -> None:
    bigger = min(20.0, answers.calf_difference_cm + extra)
    before = screen(answers, RULES)
    after = screen(answers.model_copy(update={"calf_difference_cm": bigger}), RULES)
    assert urgency_rank(after.urgency) >= urgency_rank(before.urgency)


@given(answers=answers_strategy)
def test_screen_is_deterministic(answers: ScreenAnswers) -> None:
    assert screen(answers, RULES) == screen(ScreenAnswers(**answers.model_dump()), RULES)


@given(answers=answers_strategy)
def test_refers_iff_an_emergency_or_soon_reason(answers: ScreenAnswers) -> None:
    result = screen(answers, RULES)
    urgent = any(
        r.urgency in (Urgency.EMERGENCY, Urgency.SAME_DAY, Urgency.SOON) for r in result.reasons
    )
    assert result.refers is urgent
    assert (result.outcome is Outcome.REFER) is urgent
    assert result.urgency == max((r.urgency for r in result.reasons), default=None)
    assert len({r.rule_id for r in result.reasons}) == len(result.reasons)
    assert result.advice


DVT_RULES = {"dvt_likely", "dvt_not_excluded", "dvt_possible"}
CALF_POINT_CM = RULES.rules["dvt_likely"].number("calf_difference_cm")


@settings(max_examples=300)
@given(answers=answers_strategy, calf=st.floats(0, CALF_POINT_CM, exclude_max=True))
def test_no_leg_symptoms_means_no_wells_referral_whatever_the_risk_factors(
    answers: ScreenAnswers, calf: float
) -> None:
    """No calf pain, tenderness or one-sided swelling (asked, or found as a sign): whatever
    the cancer, cast, surgery, earlier clot or collateral veins, Wells sends no one anywhere."""
    well_leg = answers.model_copy(
        update={
            "calf_pain": False,
            "calf_tenderness": False,
            "one_sided_leg_swelling": False,
            "deep_vein_tenderness": False,
            "whole_leg_swollen": False,
            "pitting_oedema": False,
            "calf_difference_cm": calf,
        }
    )
    result = screen(well_leg, RULES)
    assert result.wells_score is None
    assert not DVT_RULES & set(ids(result))
    no_risk = well_leg.model_copy(update=dict.fromkeys(WELLS_RISK_FACTORS, False))
    # Active cancer also counts as a history of cancer (its own rule): keep that one.
    history = well_leg.cancer_history or well_leg.active_cancer
    without = screen(no_risk.model_copy(update={"cancer_history": history}), RULES)
    assert result.urgency == without.urgency


OTTAWA_POSITIVE = [
    {"unable_to_walk_right_after_injury": True, "unable_to_walk_now": True},
    {"lateral_malleolus_tenderness": True},
    {"medial_malleolus_tenderness": True},
    {"midfoot_pain": True, "unable_to_walk_right_after_injury": True, "unable_to_walk_now": True},
    {"fifth_metatarsal_base_tenderness": True},
    {"navicular_tenderness": True},
]


@settings(max_examples=300)
@given(
    answers=answers_strategy,
    finding=st.sampled_from(OTTAWA_POSITIVE),
    days=st.none() | st.integers(0, 10),
)
def test_ottawa_positive_within_its_window_is_same_day_or_more_urgent(
    answers: ScreenAnswers, finding: dict[str, bool], days: int | None
) -> None:
    injured = answers.model_copy(update={**finding, "days_since_injury": days})
    result = screen(injured, RULES)
    assert result.urgency is not None
    assert result.urgency >= Urgency.SAME_DAY
    assert result.refers
    assert {"ottawa_ankle", "ottawa_foot"} & set(ids(result))


def test_the_only_reassuring_answer_is_the_alternative_diagnosis() -> None:
    assert frozenset({"alternative_diagnosis_as_likely"}) == REASSURING_FIELDS


# -- Urgency and result values ---------------------------------------------------------


def test_urgency_orders_by_urgency_not_alphabet() -> None:
    assert Urgency.EMERGENCY > Urgency.SAME_DAY > Urgency.SOON > Urgency.NEXT_VISIT
    assert max([Urgency.NEXT_VISIT, Urgency.SAME_DAY, Urgency.SOON]) is Urgency.SAME_DAY
    assert sorted(Urgency) == [
        Urgency.NEXT_VISIT,
        Urgency.SOON,
        Urgency.SAME_DAY,
        Urgency.EMERGENCY,
    ]
    assert Urgency.EMERGENCY.refers
    assert Urgency.SAME_DAY.refers
    assert Urgency.SOON.refers
    assert not Urgency.NEXT_VISIT.refers
    assert urgency_rank(None) == 0
    assert all(u.label for u in Urgency)
    assert all(RULES.advice.lead(u) for u in Urgency)


def test_result_rejects_an_outcome_that_contradicts_its_reasons() -> None:
    good = run(fever=True)
    data = good.model_dump()
    with pytest.raises(ValidationError, match="outcome"):
        ScreenResult.model_validate({**data, "outcome": "clear"})
    with pytest.raises(ValidationError, match="urgency"):
        ScreenResult.model_validate({**data, "urgency": "emergency"})
    assert ScreenResult.model_validate(data) == good


def test_result_round_trips_through_json() -> None:
    result = run(previous_dvt=True, deep_vein_tenderness=True, calf_difference_cm=3.5)
    assert result.wells_score == 3
    assert ScreenResult.model_validate_json(result.model_dump_json()) == result


# -- The knowledge file ----------------------------------------------------------------


def test_every_answer_field_has_a_question_text() -> None:
    questions = RULES.questions
    assert list(questions) == list(ScreenAnswers.model_fields)
    for name in ScreenAnswers.model_fields:
        assert len(questions[name].text) >= 10, name


def test_the_wells_questions_are_asked_only_after_a_leg_symptom() -> None:
    symptoms = ["calf_pain", "calf_tenderness", "one_sided_leg_swelling"]
    for name in symptoms:
        assert RULES.is_asked(name, {})
    no = dict.fromkeys(symptoms, False)
    for item in RULES.wells_items:
        assert not RULES.is_asked(item, {}), item
        assert not RULES.is_asked(item, no), item
        for symptom in symptoms:
            assert RULES.is_asked(item, {**no, symptom: True}), (item, symptom)
    asked_first = list(RULES.questions)
    assert all(
        asked_first.index(s) < asked_first.index(i) for s in symptoms for i in RULES.wells_items
    )


def test_an_injury_today_opens_the_injury_questions() -> None:
    """0 days is an answer (the injury was today), not a "no"."""
    assert RULES.is_asked("lateral_malleolus_tenderness", {"days_since_injury": 0})
    assert not RULES.is_asked("lateral_malleolus_tenderness", {"days_since_injury": None})
    assert not RULES.is_asked("lateral_malleolus_tenderness", {})
    assert RULES.is_asked("pain_on_hopping", {"focal_bone_tenderness": True})
    assert not RULES.is_asked("pain_on_hopping", {"focal_bone_tenderness": False})
    with pytest.raises(KeyError):
        RULES.is_asked("fevr", {})


def test_every_answer_field_has_a_description_in_the_json_schema() -> None:
    properties = ScreenAnswers.model_json_schema()["properties"]
    assert set(properties) == set(ScreenAnswers.model_fields)
    for name, schema in properties.items():
        assert schema.get("description"), name


def test_every_rule_in_the_code_is_in_the_file_with_its_wording() -> None:
    assert list(RULES.rules) == list(RULE_CHECKS)
    for rule_id, rule in RULES.rules.items():
        assert rule.person_text.strip(), rule_id
        assert rule.clinician_text.strip(), rule_id
        assert rule.source.strip(), rule_id


def test_reference_thresholds_are_encoded() -> None:
    assert RULES.rules["dvt_likely"].parameters == {
        "wells_likely_threshold": 2,
        "calf_difference_cm": 3,
    }
    assert RULES.rules["ottawa_ankle"].parameters == {"max_days_since_injury": 10, "steps": 4}
    assert RULES.rules["compartment_syndrome"].urgency is Urgency.EMERGENCY
    also_refer = ["night_or_rest_pain", "stress_fracture", "claudication", "achilles_rupture"]
    assert all(RULES.rules[r].confidence == "U" for r in also_refer)


@pytest.fixture
def shipped() -> dict[str, Any]:
    text = (Path(knowledge.__file__).parent / "data" / "screening.yaml").read_text("utf-8")
    document: dict[str, Any] = yaml.safe_load(text)
    return document


def load_variant(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, document: Any) -> ScreeningRules:
    (tmp_path / "screening.yaml").write_text(
        yaml.safe_dump(document, sort_keys=False), encoding="utf-8"
    )
    monkeypatch.setattr(knowledge, "DATA", tmp_path)
    return load_model(ScreeningRules, "screening.yaml")


def test_shipped_file_loads_unchanged(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, shipped: dict[str, Any]
) -> None:
    assert load_variant(tmp_path, monkeypatch, shipped) == RULES


def test_bad_urgency_names_the_field(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, shipped: dict[str, Any]
) -> None:
    shipped["rules"]["dvt_likely"]["urgency"] = "urgent"
    with pytest.raises(KnowledgeError, match=r"screening\.yaml: rules\.dvt_likely\.urgency"):
        load_variant(tmp_path, monkeypatch, shipped)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d["rules"].pop("claudication"), "missing claudication"),
        (lambda d: d["rules"].__setitem__("gout", d["rules"]["numbness"]), "rules: gout"),
        (lambda d: d["sections"]["infection"]["questions"].pop("fever"), "no question for fever"),
        (
            lambda d: d["sections"]["infection"]["questions"].__setitem__(
                "fevr", {"text": "Have you had a fever lately?"}
            ),
            "fevr",
        ),
        (
            lambda d: d["rules"]["ottawa_foot"]["parameters"].__setitem__(
                "max_days_since_injury", 14
            ),
            "disagrees",
        ),
        (
            lambda d: d["rules"]["dvt_likely"]["parameters"].pop("calf_difference_cm"),
            "missing calf_difference_cm",
        ),
        (
            lambda d: d["rules"]["numbness"].__setitem__("parameters", {"threshold": 1}),
            "rules: numbness.parameters.threshold",
        ),
        (lambda d: d["rules"]["numbness"].__setitem__("confidence", "X"), "confidence"),
        (lambda d: d["rules"]["numbness"].pop("person_text"), "person_text"),
        (
            lambda d: d["sections"]["injury"]["questions"]["pregnant"].__setitem__(
                "ask_if", "fever"
            ),
            "ask_if",
        ),
        (
            lambda d: d["sections"]["clot"].__setitem__("ask_if", ["calf_pain", "fever"]),
            "clot.ask_if",
        ),
        (lambda d: d["wells_items"].pop("previous_dvt"), "name each Wells item"),
        (lambda d: d["wells_items"].__setitem__("previous_dvt", " "), "previous_dvt"),
        (
            lambda d: d["rules"]["numbness"].__setitem__(
                "clinician_text", "Sensory symptoms, Wells {wells_score}."
            ),
            "numbness.clinician_text: {wells_score}",
        ),
        (
            lambda d: d["rules"]["dvt_likely"].__setitem__(
                "person_text", "Your Wells score is {wells_score}, which is high."
            ),
            "dvt_likely.person_text",
        ),
    ],
)
def test_broken_files_raise_knowledge_error(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    shipped: dict[str, Any],
    change: Any,
    message: str,
) -> None:
    change(shipped)
    with pytest.raises(KnowledgeError, match=r"screening\.yaml") as caught:
        load_variant(tmp_path, monkeypatch, shipped)
    assert message in str(caught.value)


def test_every_urgency_has_advice_and_a_rule_can_use_same_day() -> None:
    assert RULES.advice.lead(Urgency.SAME_DAY) == RULES.advice.same_day
    assert RULES.rules["ottawa_ankle"].urgency is Urgency.SAME_DAY
    assert RULES.rules["ottawa_foot"].urgency is Urgency.SAME_DAY
    assert RULES.rules["dvt_not_excluded"].urgency is Urgency.SAME_DAY


def test_the_check_in_signs_named_in_the_api_docs_are_the_screens_list() -> None:
    """The API documents the check-in's warning signs by id; the list is the data's."""
    from groundup.web.api import post_checkin

    signs = load_screening_rules().checkin_signs
    assert signs, "the screen lists warning signs for the check-in"
    doc = post_checkin.__doc__ or ""
    for sign_id, sign in signs.items():
        assert sign_id in doc
        assert load_screening_rules().rules[sign.rule].urgency.refers


@pytest.mark.parametrize(
    ("rule", "problem"), [("no_such_rule", "no rule"), ("numbness", "does not refer")]
)
def test_a_check_in_sign_must_stand_for_a_screen_rule_that_refers(rule: str, problem: str) -> None:
    from pydantic import ValidationError

    from groundup.clinical.screening import ScreeningRules

    data = load_screening_rules().model_dump(mode="json")
    data["checkin_signs"]["heel_snap"]["rule"] = rule
    with pytest.raises(ValidationError, match=problem):
        ScreeningRules.model_validate(data)
