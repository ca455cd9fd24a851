"""The safety screen: red flags that stop the flow and send the person to a doctor first.

`screen(answers, rules)` is pure. The answers are typed yes/no questions (plus two numbers)
whose defaults all mean "no", so a partly filled answer file is still valid. The rules come
from the knowledge file screening.yaml (loaded by `groundup.knowledge.load_screening_rules`):
their urgency, thresholds, wording, source and confidence are data a clinician can read
and change; the logic that decides when each rule fires lives here, one small function per
rule id, and the loader refuses a file that names a rule this module does not implement or
misses one it does.

A result refers when any reason is an emergency or needs a doctor within days. Reasons that
only need mentioning at the next visit leave the result clear, but are carried as notes.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from enum import StrEnum

from pydantic import Field, field_validator, model_validator

from groundup.clinical.exercises import ID_PATTERN, Frozen

# ---------------------------------------------------------------------------------------
# Urgency and confidence


class Urgency(StrEnum):
    """How soon a person must be seen, ordered: EMERGENCY > SOON > NEXT_VISIT.

    Comparisons (<, >, max, sorted) follow urgency, not the alphabet.
    """

    EMERGENCY = "emergency"
    SOON = "soon"
    NEXT_VISIT = "next_visit"

    @property
    def rank(self) -> int:
        """3 for an emergency, 2 for soon, 1 for the next visit: higher is more urgent."""
        return _URGENCY_RANK[self.value]

    @property
    def refers(self) -> bool:
        """True when this urgency stops the program until a doctor has seen the person."""
        return self is not Urgency.NEXT_VISIT

    @property
    def label(self) -> str:
        """What to do, in plain words."""
        return _URGENCY_LABELS[self.value]

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, Urgency):
            return NotImplemented
        return self.rank < other.rank

    def __le__(self, other: object) -> bool:
        if not isinstance(other, Urgency):
            return NotImplemented
        return self.rank <= other.rank

    def __gt__(self, other: object) -> bool:
        if not isinstance(other, Urgency):
            return NotImplemented
        return self.rank > other.rank

    def __ge__(self, other: object) -> bool:
        if not isinstance(other, Urgency):
            return NotImplemented
        return self.rank >= other.rank


_URGENCY_RANK = {"emergency": 3, "soon": 2, "next_visit": 1}
_URGENCY_LABELS = {
    "emergency": "Go to an emergency department now, or call emergency services.",
    "soon": "See a doctor within the next few days, before starting the exercises.",
    "next_visit": "Mention it at your next visit with a doctor or physio.",
}


def urgency_rank(urgency: Urgency | None) -> int:
    """The rank of an urgency, 0 for none: handy for comparing results."""
    return 0 if urgency is None else urgency.rank


class Confidence(StrEnum):
    """How well a rule is backed, as marked in the clinical reference."""

    PRIMARY = "P"  # read in the primary source
    SECONDARY = "S"  # a secondary source quoting or summarising the primary
    UNVERIFIED = "U"  # clinical consensus or a configurable default: never present as established


class Outcome(StrEnum):
    CLEAR = "clear"
    REFER = "refer"


# ---------------------------------------------------------------------------------------
# The answers


def _q(description: str) -> bool:
    return Field(default=False, description=description)


class ScreenAnswers(Frozen):
    """Answers to the red-flag questions. Every default means "no" (or "not known")."""

    # -- A recent injury (Ottawa ankle and foot rules) ----------------------------------
    days_since_injury: int | None = Field(
        default=None,
        ge=0,
        le=36500,
        description="days since an injury (twist, fall, blow) to the foot or ankle; "
        "null when there was none",
    )
    unable_to_walk_right_after_injury: bool = _q(
        "unable to bear weight for 4 steps immediately after the injury"
    )
    unable_to_walk_now: bool = _q("unable to bear weight for 4 steps now")
    lateral_malleolus_tenderness: bool = _q(
        "bone tenderness at the posterior edge or tip of the distal 6 cm of the lateral malleolus"
    )
    medial_malleolus_tenderness: bool = _q(
        "bone tenderness at the posterior edge or tip of the distal 6 cm of the medial malleolus"
    )
    midfoot_pain: bool = _q("pain in the midfoot zone")
    fifth_metatarsal_base_tenderness: bool = _q("bone tenderness at the base of the 5th metatarsal")
    navicular_tenderness: bool = _q("bone tenderness at the navicular")
    neuropathy: bool = _q(
        "peripheral neuropathy or reduced sensation in the feet (Ottawa exclusion)"
    )
    pregnant: bool = _q("currently pregnant (Ottawa exclusion)")
    multiple_injuries: bool = _q("injured in several places at once (Ottawa exclusion)")

    # -- Deep vein thrombosis (Wells 2003) ----------------------------------------------
    active_cancer: bool = _q("active cancer: treatment ongoing or within 6 months, or palliative")
    paralysis_paresis_or_recent_cast: bool = _q(
        "paralysis, paresis or recent plaster immobilisation of the lower limb"
    )
    bedridden_or_major_surgery: bool = _q(
        "recently bedridden for 3 days or more, or major surgery within 12 weeks"
    )
    deep_vein_tenderness: bool = _q("localised tenderness along the distribution of the deep veins")
    whole_leg_swollen: bool = _q("entire leg swollen")
    calf_difference_cm: float = Field(
        default=0.0,
        ge=0,
        le=20,
        description="how much larger the symptomatic calf's circumference is than the other "
        "side's, in cm, measured 10 cm below the tibial tuberosity; 0 when equal or not measured",
    )
    pitting_oedema: bool = _q("pitting oedema confined to the symptomatic leg")
    collateral_superficial_veins: bool = _q("collateral superficial veins (non-varicose)")
    previous_dvt: bool = _q("previously documented deep vein thrombosis")
    alternative_diagnosis_as_likely: bool = _q(
        "an alternative diagnosis is at least as likely as DVT (Wells: minus 2 points)"
    )

    # -- Acute compartment syndrome ------------------------------------------------------
    pain_out_of_proportion: bool = _q(
        "severe pain out of proportion to the injury or effort, not eased by rest or analgesia"
    )
    pain_on_passive_stretch: bool = _q(
        "pain on passive stretch of the muscles of the compartment (toes or ankle moved passively)"
    )
    tense_swollen_compartment: bool = _q("tense, swollen, firm compartment of the lower leg")
    after_trauma_or_hard_exertion: bool = _q(
        "symptoms began after trauma (fracture, crush, blow) or unusually hard exertion"
    )

    # -- Infection -----------------------------------------------------------------------
    fever: bool = _q("fever (38 °C or more) or feeling feverish with shivers")
    hot_swollen_joint: bool = _q("an acutely hot, swollen joint")
    red_spreading_skin: bool = _q("red, warm skin spreading over hours to days (cellulitis)")

    # -- General health ------------------------------------------------------------------
    night_or_rest_pain: bool = _q(
        "night pain or rest pain unrelated to load (not eased by rest or change of position)"
    )
    cancer_history: bool = _q("any history of cancer")
    unexplained_weight_loss: bool = _q("unexplained weight loss in recent months")

    # -- Nerves and circulation ------------------------------------------------------------
    progressive_weakness_or_foot_drop: bool = _q(
        "progressive weakness in the leg or foot, or foot drop"
    )
    numbness_or_pins_and_needles: bool = _q("numbness, paraesthesia or pins and needles")
    calf_cramp_on_walking_relieved_by_rest: bool = _q(
        "cramping calf pain that comes on with walking and is relieved by rest"
    )
    cold_feet_or_weak_pulses: bool = _q("cold feet or weak or absent foot pulses")

    # -- Bone and tendon -----------------------------------------------------------------
    focal_bone_tenderness: bool = _q("focal tenderness over a bone (one spot, not diffuse)")
    pain_on_hopping: bool = _q("pain at that spot on single-leg hopping")
    heel_kick_or_snap: bool = _q(
        "a sudden sensation of a kick or snap at the back of the heel (Achilles tendon)"
    )
    lost_push_off: bool = _q("loss of push-off strength: cannot rise onto the toes on that leg")

    @property
    def injury_findings(self) -> bool:
        """True when any Ottawa finding (walking or bone tenderness) is reported."""
        return (
            self.unable_to_walk_right_after_injury
            or self.unable_to_walk_now
            or self.lateral_malleolus_tenderness
            or self.medial_malleolus_tenderness
            or self.midfoot_pain
            or self.fifth_metatarsal_base_tenderness
            or self.navicular_tenderness
        )

    @property
    def compartment_signs(self) -> int:
        """How many of the three cardinal signs of compartment syndrome are present."""
        return sum(
            (
                self.pain_out_of_proportion,
                self.pain_on_passive_stretch,
                self.tense_swollen_compartment,
            )
        )


# Fields a "yes" to which makes the screen less worried: the only exception to "a yes never
# lowers the urgency" (Wells subtracts 2 points when another diagnosis is as likely).
REASSURING_FIELDS: frozenset[str] = frozenset({"alternative_diagnosis_as_likely"})

WELLS_ALTERNATIVE_DIAGNOSIS_POINTS = -2


def wells_score(answers: ScreenAnswers, calf_difference_cm: float) -> int:
    """The Wells (2003) DVT score: one point per item, minus 2 if another diagnosis is as likely.

    `calf_difference_cm` is the threshold at which a larger calf scores its point (3 cm).
    """
    items = (
        answers.active_cancer,
        answers.paralysis_paresis_or_recent_cast,
        answers.bedridden_or_major_surgery,
        answers.deep_vein_tenderness,
        answers.whole_leg_swollen,
        answers.calf_difference_cm >= calf_difference_cm,
        answers.pitting_oedema,
        answers.collateral_superficial_veins,
        answers.previous_dvt,
    )
    score = sum(items)
    if answers.alternative_diagnosis_as_likely:
        score += WELLS_ALTERNATIVE_DIAGNOSIS_POINTS
    return score


# ---------------------------------------------------------------------------------------
# The rules, as data


class ScreeningRule(Frozen):
    """One red-flag rule: when it fires (code, by id), how urgent, and what to say."""

    name: str = Field(min_length=3, description="short clinical name")
    urgency: Urgency
    person_text: str = Field(min_length=20, description="why, in plain words for the person")
    clinician_text: str = Field(min_length=20, description="one precise sentence for clinicians")
    source: str = Field(min_length=3)
    confidence: Confidence
    rationale: str = Field(
        min_length=20, description="why this urgency: the clinical judgement, for reviewers"
    )
    parameters: dict[str, int | float] = Field(default_factory=dict)

    def number(self, name: str) -> float:
        return self.parameters[name]


class Question(Frozen):
    """How the questionnaire asks for one answer."""

    text: str = Field(min_length=10, description="the question, in plain words")
    help: str | None = Field(default=None, description="how to check, or what counts")
    ask_if: str | None = Field(
        default=None,
        description="ask only when this earlier answer is yes (or, for a number, given)",
    )


class QuestionSection(Frozen):
    title: str = Field(min_length=3)
    intro: str | None = None
    questions: dict[str, Question] = Field(min_length=1)


class Advice(Frozen):
    """The building blocks of the plain paragraph the person reads after the screen."""

    emergency: str = Field(min_length=20)
    soon: str = Field(min_length=20)
    next_visit: str = Field(min_length=20)
    clear: str = Field(min_length=20)
    also: str = Field(min_length=5, description="introduces the less urgent reasons")
    safety_net: str = Field(min_length=20, description="when to get help if things change")

    def lead(self, urgency: Urgency | None) -> str:
        if urgency is None:
            return self.clear
        return {
            Urgency.EMERGENCY: self.emergency,
            Urgency.SOON: self.soon,
            Urgency.NEXT_VISIT: self.next_visit,
        }[urgency]


class ScreeningRules(Frozen):
    """The whole screen: questions, rules and advice, checked against this module's code."""

    version: str = Field(min_length=1)
    sections: dict[str, QuestionSection] = Field(min_length=1)
    advice: Advice
    rules: dict[str, ScreeningRule] = Field(min_length=1)

    @field_validator("sections")
    @classmethod
    def _every_answer_asked_once(
        cls, sections: dict[str, QuestionSection]
    ) -> dict[str, QuestionSection]:
        seen: list[str] = []
        for section_id, section in sections.items():
            for name, question in section.questions.items():
                where = f"{section_id}.questions.{name}"
                if name not in ScreenAnswers.model_fields:
                    raise ValueError(f"{where}: no answer field is called {name!r}")
                if name in seen:
                    raise ValueError(f"{where}: the field is asked twice")
                if question.ask_if is not None and question.ask_if not in seen:
                    raise ValueError(
                        f"{where}.ask_if: {question.ask_if!r} is not a question asked earlier"
                    )
                seen.append(name)
        missing = [name for name in ScreenAnswers.model_fields if name not in seen]
        if missing:
            raise ValueError(f"no question for {', '.join(missing)}")
        return sections

    @field_validator("rules")
    @classmethod
    def _rules_match_the_code(cls, rules: dict[str, ScreeningRule]) -> dict[str, ScreeningRule]:
        unknown = sorted(set(rules) - set(RULE_CHECKS))
        if unknown:
            raise ValueError(f"{unknown[0]}: no such rule in the screening code")
        missing = [rule_id for rule_id in RULE_CHECKS if rule_id not in rules]
        if missing:
            raise ValueError(f"missing {', '.join(missing)}")
        shared: dict[str, tuple[str, float]] = {}
        for rule_id, rule in rules.items():
            wanted = RULE_PARAMETERS[rule_id]
            for name, value in rule.parameters.items():
                where = f"{rule_id}.parameters.{name}"
                if name not in wanted:
                    raise ValueError(f"{where}: not used by this rule")
                if value <= 0:
                    raise ValueError(f"{where}: must be above 0")
                if name in shared and shared[name][1] != value:
                    other, first = shared[name]
                    raise ValueError(f"{where}: {value:g} disagrees with {first:g} in {other}")
                shared.setdefault(name, (rule_id, value))
            absent = [name for name in sorted(wanted) if name not in rule.parameters]
            if absent:
                raise ValueError(f"{rule_id}.parameters: missing {', '.join(absent)}")
        possible = rules["dvt_possible"].number("wells_possible_threshold")
        if possible >= rules["dvt_likely"].number("wells_likely_threshold"):
            raise ValueError(
                "dvt_possible.parameters.wells_possible_threshold: must be below "
                "wells_likely_threshold"
            )
        return rules

    @property
    def questions(self) -> dict[str, Question]:
        """Every question, keyed by answer field, in the order they are asked."""
        return {
            name: question
            for section in self.sections.values()
            for name, question in section.questions.items()
        }


# ---------------------------------------------------------------------------------------
# The result


Number = bool | int | float | None


class ScreenReason(Frozen):
    """One rule that fired, with the numbers it fired on."""

    rule_id: str = Field(pattern=ID_PATTERN)
    name: str
    urgency: Urgency
    person_text: str
    clinician_text: str
    source: str
    confidence: Confidence
    numbers: dict[str, Number] = Field(default_factory=dict)


class ScreenResult(Frozen):
    """What the screen concluded: clear or refer, how urgently, and every reason why."""

    outcome: Outcome
    urgency: Urgency | None = Field(description="the most urgent reason's urgency; none if none")
    reasons: tuple[ScreenReason, ...] = Field(description="most urgent first")
    wells_score: int
    advice: str = Field(description="what to do now and why, in plain words for the person")
    rules_version: str

    @model_validator(mode="after")
    def _consistent(self) -> ScreenResult:
        top = max((r.urgency for r in self.reasons), default=None)
        if self.urgency != top:
            raise ValueError(f"urgency {self.urgency} does not match its reasons ({top})")
        expected = Outcome.REFER if top is not None and top.refers else Outcome.CLEAR
        if self.outcome is not expected:
            raise ValueError(f"outcome {self.outcome} does not match urgency {top}")
        return self

    @property
    def refers(self) -> bool:
        """True when the person must see a doctor before any program is generated."""
        return self.outcome is Outcome.REFER

    @property
    def notes(self) -> tuple[ScreenReason, ...]:
        """The reasons that only need mentioning at the next visit."""
        return tuple(r for r in self.reasons if r.urgency is Urgency.NEXT_VISIT)


# ---------------------------------------------------------------------------------------
# The logic of each rule

Numbers = dict[str, Number]
Check = Callable[[ScreenAnswers, ScreeningRule], Numbers | None]


def _injury_is_recent(a: ScreenAnswers, rule: ScreeningRule) -> bool:
    """Within the Ottawa window. Findings given without a date are treated as recent."""
    if a.days_since_injury is None:
        return a.injury_findings
    return a.days_since_injury <= rule.number("max_days_since_injury")


def _injury_numbers(a: ScreenAnswers, rule: ScreeningRule, *fields: str) -> Numbers:
    numbers: Numbers = {"days_since_injury": a.days_since_injury}
    numbers.update({name: getattr(a, name) for name in fields})
    numbers.update(rule.parameters)
    return numbers


def _ottawa_ankle(a: ScreenAnswers, rule: ScreeningRule) -> Numbers | None:
    cannot_walk = a.unable_to_walk_right_after_injury and a.unable_to_walk_now
    positive = cannot_walk or a.lateral_malleolus_tenderness or a.medial_malleolus_tenderness
    if not (positive and _injury_is_recent(a, rule)):
        return None
    return _injury_numbers(
        a,
        rule,
        "unable_to_walk_right_after_injury",
        "unable_to_walk_now",
        "lateral_malleolus_tenderness",
        "medial_malleolus_tenderness",
    )


def _ottawa_foot(a: ScreenAnswers, rule: ScreeningRule) -> Numbers | None:
    cannot_walk = a.unable_to_walk_right_after_injury and a.unable_to_walk_now
    positive = (
        (a.midfoot_pain and cannot_walk)
        or a.fifth_metatarsal_base_tenderness
        or a.navicular_tenderness
    )
    if not (positive and _injury_is_recent(a, rule)):
        return None
    return _injury_numbers(
        a,
        rule,
        "midfoot_pain",
        "unable_to_walk_right_after_injury",
        "unable_to_walk_now",
        "fifth_metatarsal_base_tenderness",
        "navicular_tenderness",
    )


def _ottawa_excluded(a: ScreenAnswers, rule: ScreeningRule) -> Numbers | None:
    excluded = a.neuropathy or a.pregnant or a.multiple_injuries
    if not (excluded and _injury_is_recent(a, rule)):
        return None
    return _injury_numbers(a, rule, "neuropathy", "pregnant", "multiple_injuries")


def _unable_to_walk_now(a: ScreenAnswers, rule: ScreeningRule) -> Numbers | None:
    if not (
        a.unable_to_walk_now
        and not a.unable_to_walk_right_after_injury
        and _injury_is_recent(a, rule)
    ):
        return None
    return _injury_numbers(a, rule, "unable_to_walk_right_after_injury", "unable_to_walk_now")


def _injury_not_settling(a: ScreenAnswers, rule: ScreeningRule) -> Numbers | None:
    days = a.days_since_injury
    if days is None or days <= rule.number("max_days_since_injury") or not a.unable_to_walk_now:
        return None
    return _injury_numbers(a, rule, "unable_to_walk_now")


def _wells_numbers(a: ScreenAnswers, rule: ScreeningRule) -> tuple[int, Numbers]:
    score = wells_score(a, rule.number("calf_difference_cm"))
    numbers: Numbers = {"wells_score": score, "calf_difference_measured_cm": a.calf_difference_cm}
    numbers.update(rule.parameters)
    return score, numbers


def _dvt_likely(a: ScreenAnswers, rule: ScreeningRule) -> Numbers | None:
    score, numbers = _wells_numbers(a, rule)
    return numbers if score >= rule.number("wells_likely_threshold") else None


def _dvt_possible(a: ScreenAnswers, rule: ScreeningRule) -> Numbers | None:
    score, numbers = _wells_numbers(a, rule)
    low = rule.number("wells_possible_threshold")
    high = rule.number("wells_likely_threshold")
    return numbers if low <= score < high else None


def _compartment_numbers(a: ScreenAnswers, rule: ScreeningRule) -> Numbers:
    numbers: Numbers = {
        "signs_present": a.compartment_signs,
        "pain_out_of_proportion": a.pain_out_of_proportion,
        "pain_on_passive_stretch": a.pain_on_passive_stretch,
        "tense_swollen_compartment": a.tense_swollen_compartment,
        "after_trauma_or_hard_exertion": a.after_trauma_or_hard_exertion,
    }
    numbers.update(rule.parameters)
    return numbers


def _compartment_suspected(a: ScreenAnswers, rule: ScreeningRule) -> bool:
    signs = a.compartment_signs
    return (
        a.after_trauma_or_hard_exertion and signs >= rule.number("signs_with_trigger")
    ) or signs >= rule.number("signs_without_trigger")


def _compartment_syndrome(a: ScreenAnswers, rule: ScreeningRule) -> Numbers | None:
    return _compartment_numbers(a, rule) if _compartment_suspected(a, rule) else None


def _compartment_sign(a: ScreenAnswers, rule: ScreeningRule) -> Numbers | None:
    if a.compartment_signs == 0 or _compartment_suspected(a, rule):
        return None
    return _compartment_numbers(a, rule)


def _infection_is_urgent(a: ScreenAnswers) -> bool:
    return a.hot_swollen_joint or (a.fever and a.red_spreading_skin)


def _infection_numbers(a: ScreenAnswers) -> Numbers:
    return {
        "fever": a.fever,
        "hot_swollen_joint": a.hot_swollen_joint,
        "red_spreading_skin": a.red_spreading_skin,
    }


def _infection_urgent(a: ScreenAnswers, rule: ScreeningRule) -> Numbers | None:
    return _infection_numbers(a) if _infection_is_urgent(a) else None


def _infection_possible(a: ScreenAnswers, rule: ScreeningRule) -> Numbers | None:
    if _infection_is_urgent(a) or not (a.fever or a.red_spreading_skin):
        return None
    return _infection_numbers(a)


def _when(*fields: str, unless: tuple[str, ...] = ()) -> Check:
    """A rule that fires when every one of `fields` is yes and none of `unless` is."""

    def check(a: ScreenAnswers, rule: ScreeningRule) -> Numbers | None:
        if all(getattr(a, f) for f in fields) and not any(getattr(a, f) for f in unless):
            numbers: Numbers = {name: getattr(a, name) for name in (*fields, *unless)}
            numbers.update(rule.parameters)
            return numbers
        return None

    return check


def _cancer_history(a: ScreenAnswers, rule: ScreeningRule) -> Numbers | None:
    if not (a.cancer_history or a.active_cancer):
        return None
    return {"cancer_history": a.cancer_history, "active_cancer": a.active_cancer}


def _achilles_rupture(a: ScreenAnswers, rule: ScreeningRule) -> Numbers | None:
    if not a.heel_kick_or_snap:
        return None
    return {"heel_kick_or_snap": True, "lost_push_off": a.lost_push_off}


RULE_CHECKS: Mapping[str, Check] = {
    "ottawa_ankle": _ottawa_ankle,
    "ottawa_foot": _ottawa_foot,
    "ottawa_excluded": _ottawa_excluded,
    "unable_to_walk_now": _unable_to_walk_now,
    "injury_not_settling": _injury_not_settling,
    "dvt_likely": _dvt_likely,
    "dvt_possible": _dvt_possible,
    "compartment_syndrome": _compartment_syndrome,
    "compartment_sign": _compartment_sign,
    "infection_urgent": _infection_urgent,
    "infection_possible": _infection_possible,
    "night_or_rest_pain": _when("night_or_rest_pain"),
    "cancer_history": _cancer_history,
    "unexplained_weight_loss": _when("unexplained_weight_loss"),
    "progressive_weakness": _when("progressive_weakness_or_foot_drop"),
    "numbness": _when(
        "numbness_or_pins_and_needles", unless=("progressive_weakness_or_foot_drop",)
    ),
    "stress_fracture": _when("focal_bone_tenderness", "pain_on_hopping"),
    "bone_tenderness": _when("focal_bone_tenderness", unless=("pain_on_hopping",)),
    "claudication": _when("calf_cramp_on_walking_relieved_by_rest", "cold_feet_or_weak_pulses"),
    "exertional_calf_pain": _when(
        "calf_cramp_on_walking_relieved_by_rest", unless=("cold_feet_or_weak_pulses",)
    ),
    "achilles_rupture": _achilles_rupture,
}
"""Every rule the screen knows, in the order its reasons are listed at equal urgency."""

_INJURY = frozenset({"max_days_since_injury", "steps"})
_WELLS = frozenset({"wells_likely_threshold", "calf_difference_cm"})
_COMPARTMENT = frozenset({"signs_with_trigger", "signs_without_trigger"})

_PARAMETERS: Mapping[str, frozenset[str]] = {
    "ottawa_ankle": _INJURY,
    "ottawa_foot": _INJURY,
    "ottawa_excluded": frozenset({"max_days_since_injury"}),
    "unable_to_walk_now": _INJURY,
    "injury_not_settling": _INJURY,
    "dvt_likely": _WELLS,
    "dvt_possible": _WELLS | {"wells_possible_threshold"},
    "compartment_syndrome": _COMPARTMENT,
    "compartment_sign": _COMPARTMENT,
}
RULE_PARAMETERS: Mapping[str, frozenset[str]] = {
    rule_id: _PARAMETERS.get(rule_id, frozenset()) for rule_id in RULE_CHECKS
}
"""The parameters each rule reads (none for rules not in _PARAMETERS). A name shared by
several rules must hold the same value in all of them: checked on load."""


# ---------------------------------------------------------------------------------------
# The screen


def screen(answers: ScreenAnswers, rules: ScreeningRules) -> ScreenResult:
    """Run every rule over the answers: refer if any reason is an emergency or soon."""
    order = list(RULE_CHECKS)
    reasons: list[ScreenReason] = []
    for rule_id, check in RULE_CHECKS.items():
        rule = rules.rules[rule_id]
        numbers = check(answers, rule)
        if numbers is None:
            continue
        reasons.append(
            ScreenReason(
                rule_id=rule_id,
                name=rule.name,
                urgency=rule.urgency,
                person_text=rule.person_text,
                clinician_text=rule.clinician_text,
                source=rule.source,
                confidence=rule.confidence,
                numbers=numbers,
            )
        )
    reasons.sort(key=lambda r: (-r.urgency.rank, order.index(r.rule_id)))
    top = reasons[0].urgency if reasons else None
    calf = rules.rules["dvt_likely"].number("calf_difference_cm")
    return ScreenResult(
        outcome=Outcome.REFER if top is not None and top.refers else Outcome.CLEAR,
        urgency=top,
        reasons=tuple(reasons),
        wells_score=wells_score(answers, calf),
        advice=_advice(top, reasons, rules.advice),
        rules_version=rules.version,
    )


def _advice(top: Urgency | None, reasons: list[ScreenReason], advice: Advice) -> str:
    parts = [advice.lead(top)]
    parts.extend(r.person_text for r in reasons if r.urgency is top)
    lesser = [r.person_text for r in reasons if r.urgency is not top]
    if lesser:
        parts.append(advice.also)
        parts.extend(lesser)
    if top is None or not top.refers:
        parts.append(advice.safety_net)
    return " ".join(part.strip() for part in parts)
