"""Outcome measures: questionnaires as data, their scoring and what a change means.

A `Measure` is read from the knowledge data (`questionnaires.yaml`): items with their
number and a paraphrase, the scoring method, the score range and the thresholds (MCID,
MDC, validity), each with its source and confidence. `score` turns one set of answers
into a `Score`; `interpret_change` compares two scores and says, in plain words for the
person and precise words for the clinician, whether the change is real (beyond the MDC
where the measure has one) and whether it matters (the MCID). A reference group's mean
(VISA-A's healthy controls) is information only, never a cut-off for one person.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from enum import StrEnum
from typing import Literal

from pydantic import Field, model_validator

from groundup.clinical.exercises import ID_PATTERN, Frozen

# Scores are compared with thresholds after float arithmetic (FAAM percentages).
_TOLERANCE = 1e-9


class OutcomeError(ValueError):
    """Answers or scores that cannot be scored or compared, with the item named."""


class Confidence(StrEnum):
    """How well a figure is sourced (see the clinical reference)."""

    PRIMARY = "P"
    SECONDARY = "S"
    UNVERIFIED = "U"


class ScoringMethod(StrEnum):
    SUM = "sum"
    PERCENT_OF_ANSWERED = "percent_of_answered"
    MEAN = "mean"
    PAIN_SCALE = "pain_scale"


class Change(StrEnum):
    IMPROVED = "improved"
    WORSENED = "worsened"
    NO_REAL_CHANGE = "no_real_change"


class Source(Frozen):
    key: str = Field(min_length=3, description="short form used in sentences, e.g. 'Binkley 1999'")
    citation: str = Field(min_length=10)


class Sourced(Frozen):
    source: str = Field(min_length=3, description="key of one of the measure's sources")
    confidence: Confidence
    note: str | None = None

    @property
    def cite(self) -> str:
        """'Binkley 1999', or 'Stratford 1995 [S]' when not read in the primary source."""
        marker = "" if self.confidence is Confidence.PRIMARY else f" [{self.confidence.value}]"
        return f"{self.source}{marker}"


class Threshold(Sourced):
    value: float = Field(gt=0)


class ScoreRange(Sourced):
    minimum: float
    maximum: float
    unit: Literal["points", "percent"]

    @model_validator(mode="after")
    def _ordered(self) -> ScoreRange:
        if self.minimum >= self.maximum:
            raise ValueError("minimum must be below maximum")
        return self

    def holds(self, value: float) -> bool:
        return self.minimum - _TOLERANCE <= value <= self.maximum + _TOLERANCE


class Validity(Sourced):
    """How many items must be answered (not N/A) for the score to be valid."""

    min_answered: int = Field(ge=1)
    nominal_fraction: float = Field(gt=0, le=1, description="the published rule, e.g. 0.9")


class ActivityRule(Sourced):
    """Patient-specific activities: how many to name and how each is rated."""

    suggested: int = Field(ge=1)
    maximum: int = Field(ge=1)
    min: int = Field(ge=0)
    max: int = Field(ge=1)

    @model_validator(mode="after")
    def _consistent(self) -> ActivityRule:
        if self.suggested > self.maximum:
            raise ValueError("suggested activity count exceeds the maximum")
        if self.min >= self.max:
            raise ValueError("rating min must be below max")
        return self


class Anchors(Frozen):
    low: str = Field(min_length=3)
    high: str = Field(min_length=3)


class Option(Frozen):
    """One answer the person can choose, with the points it scores."""

    value: int = Field(ge=0)
    label: str = Field(min_length=1, max_length=80)


class Branch(Frozen):
    """One part of a branching item (VISA-A item 8): chosen by how the person is, then
    answered from its own options."""

    id: str = Field(pattern=ID_PATTERN)
    label: str = Field(min_length=3, max_length=80)
    options: tuple[Option, ...] = Field(min_length=2)


class Item(Frozen):
    """One question: identifier, number on the official form, own paraphrase, scored range.

    For the person to answer it on their own, an item has end labels (`anchors`, for a
    scale from min to max), a list of `options`, or `branches` (one part chosen, then one
    of its options); or the measure has anchors shared by all its items."""

    id: str = Field(pattern=ID_PATTERN)
    number: int = Field(ge=1)
    paraphrase: str = Field(min_length=3, max_length=60)
    question: str | None = Field(
        default=None, min_length=10, max_length=300, description="groundup's own words"
    )
    anchors: Anchors | None = None
    options: tuple[Option, ...] = ()
    branches: tuple[Branch, ...] = ()
    min: int = Field(ge=0)
    max: int = Field(ge=1)

    @model_validator(mode="after")
    def _ordered(self) -> Item:
        if self.min >= self.max:
            raise ValueError(f"item {self.id}: min must be below max")
        if sum(bool(x) for x in (self.anchors, self.options, self.branches)) > 1:
            raise ValueError(f"item {self.id}: give anchors, options or branches, not two")
        for options in (self.options, *(b.options for b in self.branches)):
            values = [o.value for o in options]
            if len(set(values)) != len(values):
                raise ValueError(f"item {self.id}: an option value is listed twice")
            if options and (min(values) != self.min or max(values) > self.max):
                raise ValueError(f"item {self.id}: options must run from min within max")
        if self.options and max(o.value for o in self.options) != self.max:
            raise ValueError(f"item {self.id}: the top option must score the item's max")
        if self.branches:
            if len({b.id for b in self.branches}) != len(self.branches):
                raise ValueError(f"item {self.id}: a branch id is listed twice")
            if max(o.value for b in self.branches for o in b.options) != self.max:
                raise ValueError(f"item {self.id}: the top branch option must score the max")
        return self

    @property
    def answerable(self) -> bool:
        """Whether the item carries its own words for each answer (or both ends)."""
        return bool(self.anchors or self.options or self.branches)


class Measure(Frozen):
    """One questionnaire (or subscale) with its scoring and change thresholds."""

    id: str = Field(pattern=ID_PATTERN)
    name: str = Field(min_length=3)
    short_name: str = Field(min_length=2, description="clinical abbreviation, e.g. LEFS")
    plain_name: str = Field(min_length=3, description="what the person calls it")
    wording: Literal["paraphrased", "verbatim"]
    higher_is_better: bool
    scoring: ScoringMethod
    anchors: Anchors | None = None
    person_note: str | None = Field(
        default=None, max_length=300, description="what the person is told before the items"
    )
    scale: ScoreRange
    items: tuple[Item, ...] = ()
    activities: ActivityRule | None = None
    not_applicable_allowed: bool = False
    validity: Validity | None = None
    mcid: Threshold | None = None
    mcid_percent: Threshold | None = Field(
        default=None, description="MCID as a percentage of the baseline (for falls in NPRS)"
    )
    mcid_percent_min_points: Threshold | None = None
    mdc: Threshold | None = None
    mdc_single_item: Threshold | None = None
    reference_mean: Threshold | None = Field(
        default=None,
        description="a reference group's mean (e.g. healthy controls): information only, "
        "not a cut-off for one person",
    )
    sources: tuple[Source, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _coherent(self) -> Measure:
        self._check_items()
        self._check_scoring()
        self._check_thresholds()
        return self

    def _check_items(self) -> None:
        ids = [item.id for item in self.items]
        if len(set(ids)) != len(ids):
            raise ValueError("lists an item id twice")
        numbers = sorted(item.number for item in self.items)
        if numbers != list(range(1, len(numbers) + 1)):
            raise ValueError("item numbers must run 1, 2, 3 … without gaps or repeats")

    def _check_scoring(self) -> None:
        method = self.scoring
        if method is ScoringMethod.MEAN:
            if self.activities is None or self.items:
                raise ValueError("mean scoring rates named activities: give activities, no items")
            if (self.scale.minimum, self.scale.maximum) != (
                self.activities.min,
                self.activities.max,
            ):
                raise ValueError("scale must match the activity rating range")
            return
        if not self.items or self.activities is not None:
            raise ValueError(f"{method.value} scoring needs items and no activities")
        if method is ScoringMethod.SUM:
            low = sum(item.min for item in self.items)
            high = sum(item.max for item in self.items)
            if (self.scale.minimum, self.scale.maximum) != (low, high):
                raise ValueError(f"scale must be {low}–{high}, the sum of the item ranges")
        elif method is ScoringMethod.PERCENT_OF_ANSWERED:
            if (self.scale.minimum, self.scale.maximum, self.scale.unit) != (0, 100, "percent"):
                raise ValueError("percent scoring needs a 0–100 percent scale")
            if self.validity is None:
                raise ValueError("percent scoring needs a validity rule")
        elif method is ScoringMethod.PAIN_SCALE:
            if len(self.items) != 1:
                raise ValueError("a pain scale has exactly one item")
            item = self.items[0]
            if (self.scale.minimum, self.scale.maximum) != (item.min, item.max):
                raise ValueError("scale must match the pain item's range")
        if self.not_applicable_allowed and self.validity is None:
            raise ValueError("items that may be N/A need a validity rule")
        if self.validity is not None:
            count = len(self.items)
            if self.validity.min_answered > count:
                raise ValueError("validity asks for more answers than there are items")
            if self.validity.min_answered != round(self.validity.nominal_fraction * count):
                raise ValueError(
                    "validity min_answered must be nominal_fraction × items, "
                    "rounded to the nearest whole item"
                )

    def _check_thresholds(self) -> None:
        keys = {source.key for source in self.sources}
        if len(keys) != len(self.sources):
            raise ValueError("lists a source key twice")
        for name in (
            "scale",
            "activities",
            "validity",
            "mcid",
            "mcid_percent",
            "mcid_percent_min_points",
            "mdc",
            "mdc_single_item",
            "reference_mean",
        ):
            value = getattr(self, name)
            if isinstance(value, Sourced) and value.source not in keys:
                raise ValueError(f"{name} cites {value.source!r}, which is not in sources")
        if self.mcid is None and self.mdc is None:
            raise ValueError("a measure needs an MCID or an MDC to interpret change")
        if self.mdc_single_item is not None and self.scoring is not ScoringMethod.MEAN:
            raise ValueError("mdc_single_item applies to mean-of-activities scoring only")
        if self.mcid_percent_min_points is not None and self.mcid_percent is None:
            raise ValueError("mcid_percent_min_points needs mcid_percent")

    @property
    def person_answerable(self) -> bool:
        """Whether a person can answer it alone: words at both ends of every scale."""
        return bool(self.items) and (
            self.anchors is not None or all(item.answerable for item in self.items)
        )

    def item(self, item_id: str) -> Item:
        for item in self.items:
            if item.id == item_id:
                return item
        raise OutcomeError(f"{self.short_name} has no item {item_id!r}")


class QuestionnaireSet(Frozen):
    """Every outcome measure groundup scores, each under a unique id."""

    wording_note: str = Field(min_length=10)
    measures: tuple[Measure, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique(self) -> QuestionnaireSet:
        ids = [measure.id for measure in self.measures]
        if len(set(ids)) != len(ids):
            raise ValueError("lists a measure id twice")
        return self

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(measure.id for measure in self.measures)

    def measure(self, measure_id: str) -> Measure:
        """The measure with this id; `OutcomeError` when there is none."""
        for measure in self.measures:
            if measure.id == measure_id:
                return measure
        raise OutcomeError(f"no outcome measure {measure_id!r}; known: {', '.join(self.ids)}")


class ActivityRating(Frozen):
    """One patient-specific activity (PSFS) and its rating."""

    activity: str = Field(min_length=1, max_length=120)
    rating: int


Answers = Mapping[str, int | None] | Sequence[ActivityRating]


class Score(Frozen):
    """One scored questionnaire. `value` is None when the answers do not make a valid score."""

    measure_id: str
    value: float | None
    valid: bool
    reason: str | None = None
    answered: int = Field(ge=0, description="items (or activities) rated, N/A excluded")
    not_applicable: tuple[str, ...] = ()
    minimum: float
    maximum: float
    unit: Literal["points", "percent"]
    higher_is_better: bool

    def display(self) -> str:
        """'40/80', '75 %', or 'not valid'."""
        if self.value is None:
            return "not valid"
        if self.unit == "percent":
            return f"{_number(self.value)} %"
        return f"{_number(self.value)}/{_number(self.maximum)}"


def score(measure: Measure, answers: Answers) -> Score:
    """Score one set of answers.

    Item measures take a mapping of item id to rating, with None for "not applicable"
    where the measure allows it; every item must appear (N/A is recorded, never assumed).
    PSFS takes a sequence of `ActivityRating`. Raises `OutcomeError` naming the item for
    a missing, unknown or out-of-range answer. Too many N/A answers give a Score with
    `valid=False` and a reason, not an error.
    """
    if measure.scoring is ScoringMethod.MEAN:
        if isinstance(answers, Mapping):
            raise OutcomeError(f"{measure.short_name} takes a list of rated activities")
        return _score_activities(measure, answers)
    if not isinstance(answers, Mapping):
        raise OutcomeError(f"{measure.short_name} takes answers by item id")
    return _score_items(measure, answers)


def _check_rating(measure: Measure, label: str, value: object, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise OutcomeError(f"{measure.short_name} {label}: answer {value!r} is not a whole number")
    if not low <= value <= high:
        raise OutcomeError(f"{measure.short_name} {label}: answer {value} is outside {low}–{high}")
    return value


def _score_items(measure: Measure, answers: Mapping[str, int | None]) -> Score:
    known = {item.id for item in measure.items}
    unknown = sorted(set(answers) - known)
    if unknown:
        raise OutcomeError(f"{measure.short_name}: unknown item {unknown[0]!r}")
    ratings: list[int] = []
    not_applicable: list[str] = []
    for item in sorted(measure.items, key=lambda i: i.number):
        label = f"item {item.number} ({item.id})"
        if item.id not in answers:
            raise OutcomeError(f"{measure.short_name} {label} is missing an answer")
        answer = answers[item.id]
        if answer is None:
            if not measure.not_applicable_allowed:
                raise OutcomeError(f"{measure.short_name} {label} cannot be marked N/A")
            not_applicable.append(item.id)
            continue
        ratings.append(_check_rating(measure, label, answer, item.min, item.max))

    answered = len(ratings)
    validity = measure.validity
    value: float | None
    reason: str | None = None
    if validity is not None and answered < validity.min_answered:
        value = None
        reason = (
            f"{measure.short_name} needs at least {validity.min_answered} of "
            f"{len(measure.items)} items answered ({validity.cite}); "
            f"{answered} were answered and {len(not_applicable)} marked not applicable"
        )
    elif measure.scoring is ScoringMethod.PERCENT_OF_ANSWERED:
        possible = sum(item.max for item in measure.items if answers[item.id] is not None)
        value = sum(ratings) / possible * 100
    else:  # SUM and PAIN_SCALE (a single item) both add the ratings.
        value = float(sum(ratings))
    return Score(
        measure_id=measure.id,
        value=value,
        valid=value is not None,
        reason=reason,
        answered=answered,
        not_applicable=tuple(not_applicable),
        minimum=measure.scale.minimum,
        maximum=measure.scale.maximum,
        unit=measure.scale.unit,
        higher_is_better=measure.higher_is_better,
    )


def _score_activities(measure: Measure, answers: Sequence[ActivityRating]) -> Score:
    rule = measure.activities
    assert rule is not None  # guaranteed by Measure validation for mean scoring
    if not answers:
        raise OutcomeError(f"{measure.short_name} needs at least one rated activity")
    if len(answers) > rule.maximum:
        raise OutcomeError(
            f"{measure.short_name} takes at most {rule.maximum} activities, got {len(answers)}"
        )
    seen: set[str] = set()
    ratings: list[int] = []
    for rated in answers:
        name = rated.activity.strip()
        if not name:
            raise OutcomeError(f"{measure.short_name}: an activity has no name")
        if name.casefold() in seen:
            raise OutcomeError(f"{measure.short_name}: activity {name!r} is listed twice")
        seen.add(name.casefold())
        label = f"activity {name!r}"
        ratings.append(_check_rating(measure, label, rated.rating, rule.min, rule.max))
    value = sum(ratings) / len(ratings)
    return Score(
        measure_id=measure.id,
        value=value,
        valid=True,
        answered=len(ratings),
        minimum=measure.scale.minimum,
        maximum=measure.scale.maximum,
        unit=measure.scale.unit,
        higher_is_better=measure.higher_is_better,
    )


class ChangeInterpretation(Frozen):
    """What a change between two scores means, with the thresholds it was judged on."""

    measure_id: str
    single_item: bool
    before: float
    after: float
    delta: float = Field(description="after − before")
    change: Change
    beyond_mdc: bool | None = Field(description="None when the measure has no MDC")
    beyond_mcid: bool | None = Field(description="None when the measure has no MCID")
    decided_by: Literal["mdc", "mcid"] = Field(
        description="the threshold that separates real change from noise"
    )
    mdc: float | None
    mcid: float | None
    mcid_percent: float | None
    plain: str = Field(description="one sentence for the person")
    clinical: str = Field(description="one sentence for the clinician")

    @property
    def important_improvement(self) -> bool:
        """Improved, and by at least the MCID where the measure has one."""
        return self.change is Change.IMPROVED and self.beyond_mcid is not False


def interpret_change(
    measure: Measure, before: float, after: float, *, single_item: bool = False
) -> ChangeInterpretation:
    """Judge the change from `before` to `after` on one measure.

    Real change means reaching the MDC where the measure has one, otherwise the MCID.
    Thresholds count as met when the change reaches them (≥). For NPRS the MCID is met by
    a change of ≥ 2 points or by a fall of ≥ 30 % of the baseline (Farrar 2001 derived
    the percentage from reductions, so a rise is judged on points alone). PSFS with
    `single_item=True` compares one activity's ratings against the single-activity MDC.
    """
    if single_item and measure.mdc_single_item is None:
        raise OutcomeError(f"{measure.short_name} has no single-item threshold")
    low, high = (
        (measure.activities.min, measure.activities.max)
        if single_item and measure.activities is not None
        else (measure.scale.minimum, measure.scale.maximum)
    )
    for label, value in (("before", before), ("after", after)):
        if not math.isfinite(value) or not low - _TOLERANCE <= value <= high + _TOLERANCE:
            raise OutcomeError(
                f"{measure.short_name} {label} score {value!r} is outside "
                f"{_number(low)}–{_number(high)}"
            )

    delta = after - before
    size = abs(delta)
    better = delta > 0 if measure.higher_is_better else delta < 0

    mdc = measure.mdc_single_item if single_item else measure.mdc
    beyond_mdc = None if mdc is None else _reaches(size, mdc.value)

    mcid = None if single_item else measure.mcid
    percent_rule = _percent_rule_met(measure, before, delta) if not single_item else None
    beyond_mcid: bool | None = None
    if mcid is not None:
        beyond_mcid = _reaches(size, mcid.value) or bool(percent_rule)

    real = beyond_mdc if beyond_mdc is not None else bool(beyond_mcid)
    if not real or delta == 0:
        change = Change.NO_REAL_CHANGE
    else:
        change = Change.IMPROVED if better else Change.WORSENED

    return ChangeInterpretation(
        measure_id=measure.id,
        single_item=single_item,
        before=before,
        after=after,
        delta=delta,
        change=change,
        beyond_mdc=beyond_mdc,
        beyond_mcid=beyond_mcid,
        decided_by="mdc" if beyond_mdc is not None else "mcid",
        mdc=None if mdc is None else mdc.value,
        mcid=None if mcid is None else mcid.value,
        mcid_percent=None if measure.mcid_percent is None else measure.mcid_percent.value,
        plain=_plain_sentence(measure, before, after, change, beyond_mcid, single_item),
        clinical=_clinical_sentence(
            measure, before, after, change, single_item, mdc, beyond_mdc, mcid, beyond_mcid
        ),
    )


def _reaches(size: float, threshold: float) -> bool:
    return size + _TOLERANCE >= threshold


def _percent_rule_met(measure: Measure, before: float, delta: float) -> bool | None:
    """The percentage arm of the MCID; None when the measure has none or it cannot apply."""
    rule = measure.mcid_percent
    if rule is None:
        return None
    improvement = delta > 0 if measure.higher_is_better else delta < 0
    if not improvement or before == 0:
        return None
    floor = measure.mcid_percent_min_points
    if floor is not None and not _reaches(abs(delta), floor.value):
        return False
    return _reaches(abs(delta) / before * 100, rule.value)


def _number(value: float) -> str:
    return f"{round(value, 1):g}"


def _value_text(measure: Measure, value: float) -> str:
    return f"{_number(value)} %" if measure.scale.unit == "percent" else _number(value)


def _points(size: float) -> str:
    return f"{_number(size)} point{'' if round(size, 1) == 1 else 's'}"


def _plain_sentence(
    measure: Measure,
    before: float,
    after: float,
    change: Change,
    beyond_mcid: bool | None,
    single_item: bool,
) -> str:
    subject = "Your rating for this activity" if single_item else f"Your {measure.plain_name}"
    was, now = _value_text(measure, before), _value_text(measure, after)
    if after == before:
        return f"{subject} stayed at {now}."
    moved = f"{subject} went {'up' if after > before else 'down'} from {was} to {now}"
    if change is Change.NO_REAL_CHANGE:
        return f"{moved}, a change too small to be sure it is real."
    if change is Change.WORSENED:
        return f"{moved}: a real step back, worth looking at what has changed."
    if beyond_mcid is False:
        return f"{moved}: a real improvement, though smaller than most people notice."
    if beyond_mcid:
        return f"{moved}: a real improvement, big enough to make a difference you can feel."
    return f"{moved}: a real improvement."


def _clinical_sentence(
    measure: Measure,
    before: float,
    after: float,
    change: Change,
    single_item: bool,
    mdc: Threshold | None,
    beyond_mdc: bool | None,
    mcid: Threshold | None,
    beyond_mcid: bool | None,
) -> str:
    subject = f"{measure.short_name} single-activity rating" if single_item else measure.short_name
    if measure.scoring is ScoringMethod.MEAN and not single_item:
        subject += " mean"
    delta = after - before
    span = f"{_value_text(measure, before)} → {_value_text(measure, after)}"
    if delta == 0:
        head = f"{subject} unchanged ({span})"
    else:
        verb = "rose" if delta > 0 else "fell"
        head = f"{subject} {verb} {_points(abs(delta))} ({span}"
        percent_met = _percent_rule_met(measure, before, delta)
        if percent_met is not None:
            head += f"; {_number(abs(delta) / before * 100)} % of baseline"
        head += ")"

    judged: list[tuple[bool, str, Threshold]] = []
    if mcid is not None and beyond_mcid is not None:
        label = f"the MCID of {_number(mcid.value)}"
        if measure.mcid_percent is not None:
            label += f" points or {_number(measure.mcid_percent.value)} %"
        judged.append((beyond_mcid, label, mcid))
    if mdc is not None and beyond_mdc is not None:
        judged.append((beyond_mdc, f"the MDC of {_number(mdc.value)}", mdc))
    # Cite once at the end when every threshold comes from the same source.
    one_source = len({threshold.cite for _, _, threshold in judged}) == 1
    groups = []
    for met, word in ((True, "beyond"), (False, "short of")):
        labels = [
            label if one_source else f"{label} ({threshold.cite})"
            for reached, label, threshold in judged
            if reached is met
        ]
        if labels:
            groups.append(f"{word} {' and '.join(labels)}")
    body = ", but ".join(groups)
    if one_source:
        body += f" ({judged[0][2].cite})"
    if beyond_mcid and mcid is not None and not _reaches(abs(delta), mcid.value):
        body += ", met on the percentage alone"
    return f"{head}, {body}: {change.value.replace('_', ' ')}."
