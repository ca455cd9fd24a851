"""The safety screen: red flags that stop the flow and send the person to a doctor first.

`screen(answers, rules)` is pure. The answers are typed yes/no questions (plus two numbers)
whose defaults all mean "no", so a partly filled answer file is still valid. The rules come
from the knowledge file screening.yaml (loaded by `groundup.knowledge.load_screening_rules`):
their urgency, thresholds, wording, source and confidence are data a clinician can read
and change; the logic that decides when each rule fires lives here, one small function per
rule id, and the loader refuses a file that names a rule this module does not implement or
misses one it does.

A result refers when any reason is an emergency, needs a doctor today or within days.
Reasons that only need mentioning at the next visit leave the result clear, but are carried
as notes.

The Wells DVT score is scored only for a person with a suspected clot: calf pain, calf
tenderness or one-sided swelling (or an examination finding that is one of these). Risk
factors alone (a cast, surgery, cancer, an earlier clot) are not a suspicion.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from enum import StrEnum
from string import Formatter

from pydantic import Field, field_validator, model_validator

from groundup.clinical.exercises import ID_PATTERN, Frozen

# ---------------------------------------------------------------------------------------
# Urgency and confidence


class Urgency(StrEnum):
    """How soon a person must be seen, ordered: EMERGENCY > SAME_DAY > SOON > NEXT_VISIT.

    Comparisons (<, >, max, sorted) follow urgency, not the alphabet.
    """

    EMERGENCY = "emergency"
    SAME_DAY = "same_day"
    SOON = "soon"
    NEXT_VISIT = "next_visit"

    @property
    def rank(self) -> int:
        """4 for an emergency, 3 for today, 2 for soon, 1 for the next visit: higher is more
        urgent."""
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


_URGENCY_RANK = {"emergency": 4, "same_day": 3, "soon": 2, "next_visit": 1}
_URGENCY_LABELS = {
    "emergency": "Go to an emergency department now, or call emergency services.",
    "same_day": "See a doctor today, before starting the exercises.",
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

    # -- Leg symptoms: a suspected deep vein thrombosis ------------------------------------
    calf_pain: bool = _q("pain in the calf")
    calf_tenderness: bool = _q("the calf is tender to touch or squeeze")
    one_sided_leg_swelling: bool = _q("swelling of one lower leg, ankle or foot and not the other")

    # -- Deep vein thrombosis (Wells 2003), scored only when a DVT is suspected ----------
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
    def leg_symptoms(self) -> bool:
        """True when the person reports calf pain, calf tenderness or one-sided swelling."""
        return self.calf_pain or self.calf_tenderness or self.one_sided_leg_swelling

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

WELLS_RISK_FACTORS: tuple[str, ...] = (
    "active_cancer",
    "paralysis_paresis_or_recent_cast",
    "bedridden_or_major_surgery",
    "previous_dvt",
)
"""Wells items about the person's history: on their own they are no suspicion of a clot."""

WELLS_SIGNS: tuple[str, ...] = (
    "deep_vein_tenderness",
    "whole_leg_swollen",
    "calf_difference_cm",
    "pitting_oedema",
    "collateral_superficial_veins",
)
"""Wells items found on the leg itself (the calf counts from the rule's threshold)."""

WELLS_ITEMS: tuple[str, ...] = (
    "active_cancer",
    "paralysis_paresis_or_recent_cast",
    "bedridden_or_major_surgery",
    "deep_vein_tenderness",
    "whole_leg_swollen",
    "calf_difference_cm",
    "pitting_oedema",
    "collateral_superficial_veins",
    "previous_dvt",
    "alternative_diagnosis_as_likely",
)
"""Every Wells item in the order of the 2003 table, the alternative diagnosis last."""

# Signs that are themselves tenderness or swelling of the leg: reported, they make a
# suspicion even when the symptom questions were left out (an older intake file).
_SYMPTOM_SIGNS = (
    "deep_vein_tenderness",
    "whole_leg_swollen",
    "calf_difference_cm",
    "pitting_oedema",
)


def wells_points(answers: ScreenAnswers, calf_difference_cm: float) -> dict[str, int]:
    """The Wells (2003) items that score, each with its points (+1, or -2 for another
    diagnosis as likely), in the order of the table.

    `calf_difference_cm` is the threshold at which a larger calf scores its point (3 cm).
    """
    points: dict[str, int] = {}
    for item in WELLS_ITEMS:
        if item == "calf_difference_cm":
            if answers.calf_difference_cm >= calf_difference_cm:
                points[item] = 1
        elif item == "alternative_diagnosis_as_likely":
            if answers.alternative_diagnosis_as_likely:
                points[item] = WELLS_ALTERNATIVE_DIAGNOSIS_POINTS
        elif getattr(answers, item):
            points[item] = 1
    return points


def wells_score(answers: ScreenAnswers, calf_difference_cm: float) -> int:
    """The Wells (2003) DVT score: one point per item, minus 2 if another diagnosis is as likely.

    `calf_difference_cm` is the threshold at which a larger calf scores its point (3 cm).
    """
    return sum(wells_points(answers, calf_difference_cm).values())


def dvt_signs(answers: ScreenAnswers, calf_difference_cm: float) -> tuple[str, ...]:
    """The Wells signs found on the leg (not the history), in the order of the table."""
    points = wells_points(answers, calf_difference_cm)
    return tuple(item for item in WELLS_SIGNS if item in points)


def dvt_suspected(answers: ScreenAnswers, calf_difference_cm: float) -> bool:
    """True when a clot is suspected, so that the Wells score applies: calf pain, calf
    tenderness or one-sided swelling, reported as a symptom or as a finding on the leg.
    Risk factors alone (cancer, a cast, surgery, an earlier clot) are not a suspicion."""
    signs = dvt_signs(answers, calf_difference_cm)
    return answers.leg_symptoms or any(sign in _SYMPTOM_SIGNS for sign in signs)


# ---------------------------------------------------------------------------------------
# The rules, as data


class ScreeningRule(Frozen):
    """One red-flag rule: when it fires (code, by id), how urgent, and what to say."""

    name: str = Field(min_length=3, description="short clinical name")
    urgency: Urgency
    handout: str | None = Field(
        default=None,
        min_length=10,
        description="the sign in a few plain words, for the printed 'when to stop' list",
    )
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


def _given(value: object) -> bool:
    """An earlier answer that opens a question: yes, or a number that was given (0 counts)."""
    return value is not None and value is not False


class AskedIf(Frozen):
    """Something asked only after certain earlier answers."""

    ask_if: tuple[str, ...] = Field(
        default=(),
        description="ask only when one of these earlier answers is yes (or, for a number, "
        "given); one name or a list; empty: always asked",
    )

    @field_validator("ask_if", mode="before")
    @classmethod
    def _one_or_several(cls, value: object) -> object:
        return (value,) if isinstance(value, str) else value

    def opened_by(self, answers: Mapping[str, object]) -> bool:
        """True when this applies, given the answers so far (a missing answer is a no)."""
        return not self.ask_if or any(_given(answers.get(name)) for name in self.ask_if)


class Question(AskedIf):
    """How the questionnaire asks for one answer."""

    text: str = Field(min_length=10, description="the question, in plain words")
    help: str | None = Field(default=None, description="how to check, or what counts")


class QuestionSection(AskedIf):
    """A group of questions; its `ask_if` applies to every question in it."""

    title: str = Field(min_length=3)
    intro: str | None = None
    questions: dict[str, Question] = Field(min_length=1)


class Advice(Frozen):
    """The building blocks of the plain paragraph the person reads after the screen."""

    emergency: str = Field(min_length=20)
    same_day: str = Field(min_length=20)
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
            Urgency.SAME_DAY: self.same_day,
            Urgency.SOON: self.soon,
            Urgency.NEXT_VISIT: self.next_visit,
        }[urgency]


class CheckinSign(Frozen):
    """A warning sign the person can report after the start (at the check-in or during a
    session), standing for one screen rule: its urgency and words are that rule's."""

    text: str = Field(min_length=10, max_length=120, description="what the person ticks")
    clinician: str = Field(min_length=5, max_length=160, description="the precise name")
    rule: str = Field(pattern=ID_PATTERN, description="the screen rule it stands for")


class Recheck(Frozen):
    """The screen's questions asked again after the start (S13): when pain on waking, pain
    after a night's rest, reaches `waking_pain_at_least` at a morning check-in, the person is
    asked the questions about rest and bone pain again (at most every `every_days`); a rule
    they fire refers through its check-in sign, pausing the program like any other."""

    waking_pain_at_least: int = Field(ge=1, le=10)
    every_days: int = Field(ge=1, le=60)
    questions: tuple[str, ...] = Field(min_length=1, description="screen answers asked again")
    rules: tuple[str, ...] = Field(min_length=1, description="the screen rules they feed")
    source: str = Field(min_length=3)
    confidence: Confidence


class ScreeningRules(Frozen):
    """The whole screen: questions, rules and advice, checked against this module's code."""

    version: str = Field(min_length=1)
    sections: dict[str, QuestionSection] = Field(min_length=1)
    advice: Advice
    wells_items: dict[str, str] = Field(
        description="each Wells item's short clinical name, listed in clinician texts"
    )
    rules: dict[str, ScreeningRule] = Field(min_length=1)
    checkin_signs: dict[str, CheckinSign] = Field(
        default_factory=dict,
        description="the warning signs asked after the start, each standing for a rule",
    )
    recheck: Recheck | None = None

    @model_validator(mode="after")
    def _recheck_asks_known_questions(self) -> ScreeningRules:
        if self.recheck is None:
            return self
        asked = {name for section in self.sections.values() for name in section.questions}
        for name in self.recheck.questions:
            if name not in asked or ScreenAnswers.model_fields[name].annotation is not bool:
                raise ValueError(f"recheck.questions: {name!r} is not a yes/no screen question")
        signs = {sign.rule for sign in self.checkin_signs.values()}
        for rule_id in self.recheck.rules:
            if rule_id not in self.rules or rule_id not in signs:
                raise ValueError(
                    f"recheck.rules: {rule_id!r} needs a rule and a check-in sign standing for it"
                )
        return self

    @model_validator(mode="after")
    def _signs_name_referring_rules(self) -> ScreeningRules:
        for sign_id, sign in self.checkin_signs.items():
            rule = self.rules.get(sign.rule)
            if rule is None:
                raise ValueError(f"checkin_signs.{sign_id}.rule: no rule {sign.rule!r}")
            if not rule.urgency.refers:
                raise ValueError(
                    f"checkin_signs.{sign_id}.rule: {sign.rule} does not refer, "
                    "so it cannot stop the program"
                )
        return self

    @field_validator("sections")
    @classmethod
    def _every_answer_asked_once(
        cls, sections: dict[str, QuestionSection]
    ) -> dict[str, QuestionSection]:
        seen: list[str] = []
        for section_id, section in sections.items():
            for earlier in section.ask_if:
                if earlier not in seen:
                    raise ValueError(
                        f"{section_id}.ask_if: {earlier!r} is not a question asked earlier"
                    )
            for name, question in section.questions.items():
                where = f"{section_id}.questions.{name}"
                if name not in ScreenAnswers.model_fields:
                    raise ValueError(f"{where}: no answer field is called {name!r}")
                if name in seen:
                    raise ValueError(f"{where}: the field is asked twice")
                for earlier in question.ask_if:
                    if earlier not in seen:
                        raise ValueError(
                            f"{where}.ask_if: {earlier!r} is not a question asked earlier"
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
            allowed = RULE_PLACEHOLDERS.get(rule_id, frozenset())
            for text_field in ("person_text", "clinician_text"):
                text = getattr(rule, text_field)
                try:
                    names = {name for _, name, _, _ in Formatter().parse(text) if name is not None}
                except ValueError as exc:
                    raise ValueError(f"{rule_id}.{text_field}: {exc}") from None
                usable = allowed if text_field == "clinician_text" else frozenset()
                for name in sorted(names - usable):
                    raise ValueError(
                        f"{rule_id}.{text_field}: {{{name}}} is not something this rule fills in"
                    )
        return rules

    @field_validator("wells_items")
    @classmethod
    def _every_wells_item_named(cls, items: dict[str, str]) -> dict[str, str]:
        if list(items) != list(WELLS_ITEMS):
            raise ValueError(f"name each Wells item once, in this order: {', '.join(WELLS_ITEMS)}")
        for item, name in items.items():
            if len(name.strip()) < 3:
                raise ValueError(f"{item}: give the item a name")
        return items

    @property
    def questions(self) -> dict[str, Question]:
        """Every question, keyed by answer field, in the order they are asked."""
        return {
            name: question
            for section in self.sections.values()
            for name, question in section.questions.items()
        }

    def recheck_answers(self, given: Mapping[str, bool]) -> ScreenAnswers:
        """The answers to the questions asked again, each asked only as the screen would
        (a follow-up only after a yes); everything else counts as no."""
        assert self.recheck is not None
        answers: dict[str, object] = {}
        for name in self.recheck.questions:
            answers[name] = bool(given.get(name, False)) and self.is_asked(name, answers)
        return ScreenAnswers.model_validate(answers)

    def recheck_signs(self, result: ScreenResult) -> tuple[str, ...]:
        """The check-in signs standing for the rules a recheck fired and that refer."""
        assert self.recheck is not None
        fired = {
            r.rule_id
            for r in result.reasons
            if r.urgency.refers and r.rule_id in self.recheck.rules
        }
        return tuple(sid for sid, sign in self.checkin_signs.items() if sign.rule in fired)

    def is_asked(self, name: str, answers: Mapping[str, object]) -> bool:
        """Whether the question for answer `name` applies, given the earlier answers: both
        its section's and its own `ask_if` must be met. The guided screen and the web form
        both ask by this, so a skipped question is a "no" everywhere."""
        for section in self.sections.values():
            if name in section.questions:
                return section.opened_by(answers) and section.questions[name].opened_by(answers)
        raise KeyError(name)


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
    wells_score: int | None = Field(
        description="the Wells DVT score; none when no clot is suspected (no calf pain, "
        "tenderness or one-sided swelling), because the score does not apply"
    )
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


def _wells(a: ScreenAnswers, rule: ScreeningRule) -> tuple[int, bool, Numbers] | None:
    """For a suspected clot: the score, whether a sign was found on the leg, and the numbers
    (each scoring item's points as `points_<item>`). None when no clot is suspected."""
    calf = rule.number("calf_difference_cm")
    if not dvt_suspected(a, calf):
        return None
    points = wells_points(a, calf)
    score = sum(points.values())
    numbers: Numbers = {
        "wells_score": score,
        "calf_pain": a.calf_pain,
        "calf_tenderness": a.calf_tenderness,
        "one_sided_leg_swelling": a.one_sided_leg_swelling,
        "calf_difference_measured_cm": a.calf_difference_cm,
    }
    numbers.update({f"points_{item}": value for item, value in points.items()})
    numbers.update(rule.parameters)
    return score, bool(dvt_signs(a, calf)), numbers


def _dvt_likely(a: ScreenAnswers, rule: ScreeningRule) -> Numbers | None:
    wells = _wells(a, rule)
    if wells is None or wells[0] < rule.number("wells_likely_threshold"):
        return None
    return wells[2]


def _dvt_not_excluded(a: ScreenAnswers, rule: ScreeningRule) -> Numbers | None:
    """DVT "unlikely" by the score, but a sign on the leg: not excluded."""
    wells = _wells(a, rule)
    if wells is None or wells[0] >= rule.number("wells_likely_threshold") or not wells[1]:
        return None
    return wells[2]


def _dvt_possible(a: ScreenAnswers, rule: ScreeningRule) -> Numbers | None:
    """DVT "unlikely", no sign on the leg, but leg symptoms with a risk factor."""
    wells = _wells(a, rule)
    if wells is None or wells[0] >= rule.number("wells_likely_threshold") or wells[1]:
        return None
    return wells[2] if any(getattr(a, item) for item in WELLS_RISK_FACTORS) else None


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
    "dvt_not_excluded": _dvt_not_excluded,
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
    "dvt_not_excluded": _WELLS,
    "dvt_possible": _WELLS,
    "compartment_syndrome": _COMPARTMENT,
    "compartment_sign": _COMPARTMENT,
}
RULE_PARAMETERS: Mapping[str, frozenset[str]] = {
    rule_id: _PARAMETERS.get(rule_id, frozenset()) for rule_id in RULE_CHECKS
}
"""The parameters each rule reads (none for rules not in _PARAMETERS). A name shared by
several rules must hold the same value in all of them: checked on load."""

_WELLS_TEXT = frozenset({"wells_score", "wells_points"})
RULE_PLACEHOLDERS: Mapping[str, frozenset[str]] = {
    "dvt_likely": _WELLS_TEXT,
    "dvt_not_excluded": _WELLS_TEXT,
    "dvt_possible": _WELLS_TEXT,
}
"""What a rule's clinician text may fill in: {wells_score}, and {wells_points}, the items
that scored with their points, named as in the file's wells_items. Checked on load."""


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
                clinician_text=_clinician_text(rule_id, rule, answers, rules),
                source=rule.source,
                confidence=rule.confidence,
                numbers=numbers,
            )
        )
    reasons.sort(key=lambda r: (-r.urgency.rank, order.index(r.rule_id)))
    top = reasons[0].urgency if reasons else None
    calf = rules.rules["dvt_likely"].number("calf_difference_cm")
    suspected = dvt_suspected(answers, calf)
    return ScreenResult(
        outcome=Outcome.REFER if top is not None and top.refers else Outcome.CLEAR,
        urgency=top,
        reasons=tuple(reasons),
        wells_score=wells_score(answers, calf) if suspected else None,
        advice=_advice(top, reasons, rules.advice),
        rules_version=rules.version,
    )


def _clinician_text(
    rule_id: str, rule: ScreeningRule, answers: ScreenAnswers, rules: ScreeningRules
) -> str:
    """The rule's clinician text, with the Wells score and points filled in where it asks."""
    if rule_id not in RULE_PLACEHOLDERS:
        return rule.clinician_text
    calf = rule.number("calf_difference_cm")
    points = wells_points(answers, calf)
    listed = []
    for item, value in points.items():
        name = rules.wells_items[item]
        if item == "calf_difference_cm":
            name = f"{name} {answers.calf_difference_cm:g} cm (≥ {calf:g} cm)"
        listed.append(f"{name} {_signed(value)}")
    return rule.clinician_text.format(
        wells_score=_signed(sum(points.values()), plus=""),
        wells_points="; ".join(listed) or "no item scored",
    )


def _signed(value: int, plus: str = "+") -> str:
    """A whole number with a true minus sign (and `plus` before a positive one)."""
    if value < 0:
        return f"−{-value}"
    return f"{plus if value > 0 else ''}{value}"


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
