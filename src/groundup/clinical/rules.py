"""The rules the planner and the engine follow: phases with their gates, progression
thresholds and program templates. All of it is data with a source for every figure."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from pydantic import Field, model_validator

from groundup.clinical.assessment import Condition
from groundup.clinical.exercises import ID_PATTERN, ExerciseLibrary, Frozen, Tempo
from groundup.clinical.outcomes import QuestionnaireSet
from groundup.clinical.profile import AssessmentRules, Confidence, Sourced
from groundup.clinical.program import Part
from groundup.clinical.screening import ScreeningRules
from groundup.clinical.vocabulary import Irritability, Phase, Position


class SourceNote(Frozen):
    source: str = Field(min_length=3)
    confidence: Confidence


class PhaseDose(Frozen):
    sets_min: int = Field(ge=1, le=10)
    sets_max: int = Field(ge=1, le=10)
    rest_seconds: int = Field(ge=0, le=600)
    effort_rpe_max: float = Field(ge=1, le=10, description="hardest effort the phase asks for")
    start_at: Literal["range_low", "default"] = "default"

    @model_validator(mode="after")
    def _ordered(self) -> PhaseDose:
        if self.sets_min > self.sets_max:
            raise ValueError("sets_min is above sets_max")
        return self


GateKind = Literal[
    "pain_sessions",  # pain during the phase's work ≤ threshold on N consecutive sessions
    # One side affected: the LSI (involved ÷ uninvolved) ≥ threshold; both sides affected:
    # each side ≥ threshold % of the test's capacity goal. Tests done in this phase only.
    # `test: implicated` names the person's own deficit (IMPLICATED below).
    "lsi",
    # the between-leg difference of a test within its measurement error (assessment.yaml):
    # the affected side short of the other by no more (both legs affected: either way)
    "difference_within_error",
    "min_value",  # a test's weaker side ≥ threshold (tests done in this phase only)
    "step_down_clean",  # step-down without faults on both sides (tested in this phase)
    "outcome_change",  # a questionnaire improved by its own MDC and MCID since the start
    "min_sessions",  # at least N sessions done in the phase
    "morning_stable",  # enough check-ins to see two weeks, and morning pain not rising
    "hop_ready",  # the hop-readiness criteria (readiness.yaml) met on fresh hop tests
    # at least `threshold` of the last `sessions` sessions with every main-work set clean
    "clean_form",
    # not in phases.yaml: added by the engine while a check an intake warning asked for
    # (`until_checked`) has not been recorded by a clinician
    "check_recorded",
]


# An LSI criterion's test may be `implicated`: the test of the intake's most severe deficit
# of the affected side (with both legs affected, the test furthest below its capacity goal),
# so the gate measures the person's own problem (S2). Its texts may say `{test}`.
IMPLICATED = "implicated"


class GateCriterion(Frozen):
    id: str = Field(pattern=ID_PATTERN)
    kind: GateKind
    text: str = Field(min_length=5, description="the criterion in plain words")
    threshold: float | None = None
    sessions: int | None = Field(default=None, ge=1, le=30)
    test: str | None = None
    both_sides_text: str | None = Field(
        default=None,
        min_length=5,
        description="lsi: the criterion in plain words when both legs are affected",
    )
    measures: tuple[str, ...] | None = Field(
        default=None,
        min_length=1,
        description="outcome_change: questionnaires judged by their own MDC and MCID; any one",
    )
    source: str = Field(min_length=3)
    confidence: Confidence

    @model_validator(mode="after")
    def _parameters(self) -> GateCriterion:
        needs: dict[str, tuple[str, ...]] = {
            "pain_sessions": ("threshold", "sessions"),
            "lsi": ("threshold", "test", "both_sides_text"),
            "difference_within_error": ("test",),
            "min_value": ("threshold", "test"),
            "step_down_clean": (),
            "outcome_change": ("measures",),
            "min_sessions": ("sessions",),
            "morning_stable": (),
            "hop_ready": (),
            "clean_form": ("threshold", "sessions"),
            "check_recorded": (),
        }
        missing = [n for n in needs[self.kind] if getattr(self, n) is None]
        if missing:
            raise ValueError(f"a {self.kind} gate needs {', '.join(missing)}")
        if self.test == IMPLICATED and self.kind != "lsi":
            raise ValueError("only an lsi gate may name the implicated test")
        return self

    @property
    def needs_tests(self) -> bool:
        return self.kind in (
            "lsi",
            "difference_within_error",
            "min_value",
            "step_down_clean",
            "hop_ready",
        )


class PhaseDefinition(Frozen):
    purpose: str = Field(min_length=10, description="for the person")
    clinical_purpose: str = Field(min_length=10, description="for the clinician")
    sessions_per_week: int = Field(ge=1, le=14)
    dose: PhaseDose
    max_main: int = Field(ge=1, le=12, description="most main exercises in a session")
    proximal: bool = Field(description="proximal-chain strength work belongs in this phase")
    warm_up: tuple[str, ...] = Field(min_length=1)
    main: tuple[str, ...] = Field(min_length=1, description="qualifying exercises, best first")
    mobility: tuple[str, ...] = Field(min_length=1)
    gate: tuple[GateCriterion, ...] = ()
    source: str


class MilestoneRules(Frozen):
    """When the gate's objective measures count as flat, and when a retest is worth asking
    for. Configurable defaults, each with its source."""

    flat_weeks: Sourced = Field(description="milestones flat this many weeks is a stall")
    near_miss_retest_weeks: Sourced = Field(
        description="after a retest short of the gate by no more than the measurement error, "
        "one confirmatory retest this many weeks later"
    )
    retest_reminder_days: Sourced = Field(description="days between reminders of a retest")

    @model_validator(mode="after")
    def _positive(self) -> MilestoneRules:
        for name in ("flat_weeks", "near_miss_retest_weeks", "retest_reminder_days"):
            if getattr(self, name).value <= 0:
                raise ValueError(f"{name} must be positive")
        return self


class Phases(Frozen):
    phases: dict[Phase, PhaseDefinition]
    start_phase: dict[Irritability, Phase]
    severe_deficit_start: dict[Irritability, Phase] = {}
    antagonist_pairs: tuple[tuple[str, str], ...] = ()
    milestones: MilestoneRules
    source: str

    @model_validator(mode="after")
    def _complete(self) -> Phases:
        missing = [p.value for p in Phase if p not in self.phases]
        if missing:
            raise ValueError(f"phases missing: {', '.join(missing)}")
        if self.phases[Phase.MAINTENANCE].gate:
            raise ValueError("the maintenance phase has no gate: it is the last")
        return self

    def milestones_by_id(self) -> dict[str, GateCriterion]:
        """Every phase's gate criteria by id: what a protocol's phase may move on by."""
        return {c.id: c for definition in self.phases.values() for c in definition.gate}

    def __getitem__(self, phase: Phase) -> PhaseDefinition:
        return self.phases[phase]


class ProgressionRules(Frozen):
    """Thresholds of the progression engine. `sources` must name every figure's source."""

    pain_safe_max: int = Field(ge=0, le=10)
    pain_acceptable_max: int = Field(ge=0, le=10)
    pain_after_safe_max: int = Field(ge=0, le=10)
    pain_after_acceptable_max: int = Field(ge=0, le=10)
    flare_pain_after: int = Field(ge=1, le=10)
    consecutive_sessions: int = Field(ge=1, le=10)
    spare_effort_rpe_max: float = Field(ge=1, le=10)
    rep_step: dict[str, float]
    tempo_step_seconds: float = Field(gt=0, le=5)
    load_step_percent: float = Field(ge=2, le=10)
    load_step_max_percent: float = Field(ge=2, le=10)
    load_increment_kg: float = Field(gt=0, le=10)
    starting_load_kg: float = Field(gt=0, le=20)
    protocol_load_step_days: int = Field(
        ge=1, le=28, description="a protocol's load rises at most once in this many days"
    )
    calf_first_load_kg: float = Field(
        gt=0,
        le=20,
        description="the first external load on a standing calf exercise (body weight plus "
        "this), with the reps kept",
    )
    calf_slower_lowering_steps_before_load: int = Field(
        ge=0,
        le=5,
        description="slower-lowering steps a standing calf exercise takes before its first "
        "external load, where the person has one (R8)",
    )
    regress_volume_fraction: float = Field(gt=0, lt=1)
    # Step-backs in a row for pain above the limit before the dose stops falling (N1).
    pain_step_backs_max: int = Field(ge=1, le=10)
    # A phase opens at no less than the bottom of its exercises' ranges; when the last week
    # was under this fraction of that, it waits (N3).
    phase_open_min_fraction: float = Field(gt=0, le=1)
    phase_hold_clinician_days: int = Field(ge=7, le=42)
    milestone_error_min_fraction: float = Field(gt=0, le=1)
    phase_hold_repeat_days: int = Field(ge=1, le=28)
    morning_worse_by: int = Field(ge=1, le=10)
    weekly_morning_rise_by: float = Field(gt=0, le=10)
    weekly_rise_reduce_every_days: int = Field(ge=1, le=28)
    flare_pain: int = Field(ge=1, le=10)
    flare_morning_rise: int = Field(ge=1, le=10)
    flare_reduced_fraction: float = Field(gt=0, lt=1)
    flare_stage_sessions: int = Field(ge=1, le=20)
    flare_return_fractions: tuple[float, ...] = Field(min_length=1)
    weekly_volume_growth_cap: float = Field(gt=0, le=1)
    session_spike_cap: float = Field(gt=0, le=1)
    session_spike_window_days: int = Field(ge=7, le=90)
    stall_weeks: int = Field(ge=1, le=12)
    stall_min_sessions: int = Field(ge=1, le=40)
    referral_window_days: int = Field(ge=7, le=42)
    referral_min_regressions: int = Field(ge=1, le=10)
    retest_every_weeks: int = Field(ge=1, le=26)
    # How often the person answers their questionnaires again, by default (days).
    questionnaire_every_days: int = Field(ge=1, le=182)
    # Repeated flare-ups: a second within the window steps further down, the Nth refers,
    # and one that has not settled within `flare_settle_days` of its first start refers.
    flare_repeat_window_days: int = Field(ge=7, le=60)
    flare_repeat_fraction: float = Field(gt=0, lt=1)
    flare_refer_count: int = Field(ge=2, le=10)
    flare_settle_days: int = Field(ge=7, le=60)
    # A phase advance waits this many days after a flare-up ends.
    flare_end_advance_wait_days: int = Field(ge=0, le=28)
    # A retest worse than the last by more than the test's measurement error: the exercises
    # that train the tested movement are capped by the new result (test -> exercise ids).
    retest_worse_caps: dict[str, tuple[str, ...]]
    # The same exercises start at no more than this fraction of the side's test result.
    start_from_test_fraction: float = Field(gt=0, le=1)
    # Effort: two sessions in a row this far above the phase's target lower the dose.
    effort_over_target_by: float = Field(gt=0, le=5)
    effort_over_sessions: int = Field(ge=1, le=10)
    irritability_recent_days: int = Field(
        default=14,
        ge=7,
        le=42,
        description="Q3: irritability is re-read from the sessions and check-ins of these "
        "last days",
    )
    irritability_recent_min_logs: int = Field(
        default=3,
        ge=1,
        le=20,
        description="Q3: at least this many sessions and as many check-ins in those days",
    )
    effort_step_back_sessions: int = Field(
        default=3,
        ge=1,
        le=10,
        description="sessions still above the effort target after an effort step back before "
        "a second step, and after the second before the clinician is asked (P15)",
    )
    effort_second_floor_fraction: float = Field(
        default=0.6,
        gt=0,
        le=1,
        description="the second effort step back goes no lower than this fraction of the "
        "bottom of the exercise's range (P15)",
    )
    # Mornings: check-ins needed in each of the last two weeks to judge the weekly trend.
    morning_trend_min_checkins: int = Field(ge=1, le=7)
    # No stall prompt this many days after a phase advance or the end of a flare-up.
    stall_quiet_days: int = Field(ge=0, le=42)
    # Retest reminders at the reminder interval, then at the periodic interval.
    retest_reminders_max: int = Field(ge=1, le=10)
    # The standard error of measurement from limits of agreement (LoA ÷ 1.96·√2).
    loa_per_sem: float = Field(gt=1, le=5)
    # Walk-run: days between two steps of the running share.
    run_step_min_days: int = Field(ge=1, le=28)
    # Endurance doses (a range top at or above this) turn their difficulty setting before a
    # slower tempo resets the reps.
    knob_first_from_reps: int = Field(ge=5, le=100)
    # A check an intake warning asked for and not yet recorded: asked for again this often.
    check_prompt_days: int = Field(ge=1, le=28)
    # A form fault confined to the last set, at this many sessions in a row, takes that
    # exercise's set off (or one step back) with a form cue.
    form_last_set_sessions: int = Field(ge=2, le=10)
    # The same reassessment or retest prompt this many times goes to the clinician.
    prompts_before_clinician: int = Field(ge=2, le=10)
    # The session's estimated minutes may exceed the person's budget by this fraction at
    # most through a progression; a session that cannot grow within it is raised this often.
    session_time_tolerance: float = Field(ge=0, le=0.5)
    session_time_prompt_days: int = Field(ge=1, le=56)
    # A plan or a new phase fills this share of the minutes, leaving room to progress (Q2).
    session_fill_fraction: float = Field(ge=0.5, le=1)
    # An exercise held for time moves on to its harder version only from this far up its
    # range (Q2).
    time_swap_min_range_fraction: float = Field(ge=0, le=1)
    switchable_rules: tuple[str, ...]
    sources: dict[str, SourceNote]

    @model_validator(mode="after")
    def _consistent(self) -> ProgressionRules:
        if self.pain_safe_max >= self.pain_acceptable_max:
            raise ValueError("pain_safe_max must be below pain_acceptable_max")
        if self.pain_after_safe_max >= self.pain_after_acceptable_max:
            raise ValueError("pain_after_safe_max must be below pain_after_acceptable_max")
        if self.flare_pain_after <= self.pain_after_acceptable_max:
            raise ValueError("flare_pain_after must be above pain_after_acceptable_max")
        if self.load_step_percent > self.load_step_max_percent:
            raise ValueError("load_step_percent exceeds load_step_max_percent")
        if self.flare_repeat_fraction >= self.flare_reduced_fraction:
            raise ValueError("flare_repeat_fraction must be below flare_reduced_fraction")
        if any(not 0 < f < 1 for f in self.flare_return_fractions):
            raise ValueError("flare_return_fractions must each lie between 0 and 1")
        missing = [
            name
            for name in type(self).model_fields
            if name != "sources" and name not in self.sources
        ]
        if missing:
            raise ValueError(f"no source given for: {', '.join(missing)}")
        return self


class TemplateItem(Frozen):
    exercise_id: str = Field(pattern=ID_PATTERN)
    alternatives: tuple[str, ...] = Field(
        default=(), description="used in order when the equipment for the first is missing"
    )
    part: Part = "main"
    sets: int = Field(ge=1, le=10)
    amount: float = Field(gt=0, le=3600)
    extra_set_weaker_side: bool = False
    pair_with: str | None = None
    load_kg: float | None = Field(default=None, ge=0)
    tempo: Tempo | None = Field(
        default=None, description="the protocol's own tempo, where it differs from the exercise's"
    )
    note: str = ""
    keep_when_irritable: bool = Field(
        default=True, description="False: left out while irritability is high"
    )


class TemplateBlock(Frozen):
    """A block of weeks with its own sets × reps (periodised templates)."""

    weeks_from: int = Field(ge=1)
    weeks_to: int = Field(ge=1)
    sets: int = Field(ge=1, le=10)
    amount: float = Field(gt=0)
    note: str = ""


class StageMoveOn(Frozen):
    """When a protocol moves from one of its phases to the next: after a number of weeks in
    it, or once milestones are met — gate criteria of the method's phases (phases.yaml), by
    id, evaluated as the phase gates evaluate them. Either one, not both."""

    after_weeks: int | None = Field(default=None, ge=1, le=52)
    milestones: tuple[str, ...] = Field(default=(), max_length=12)

    @model_validator(mode="after")
    def _one_rule(self) -> StageMoveOn:
        if (self.after_weeks is None) == (not self.milestones):
            raise ValueError("give either after_weeks or milestones (one of them)")
        return self


class TemplateStage(Frozen):
    """One phase of a protocol written as several: its own exercises and doses, optional
    week blocks (counted from the day it began), and the rule for moving on to the next."""

    name: str = Field(min_length=1, max_length=120)
    phase: Phase
    items: tuple[TemplateItem, ...] = Field(min_length=1)
    blocks: tuple[TemplateBlock, ...] = ()
    move_on: StageMoveOn | None = None


class AffectedSideOnly(Frozen):
    """A protocol that loads the painful leg only when one leg is affected: its one-leg main
    exercises are prescribed for that side alone, the other leg doing the lifting (C1)."""

    cue: str = Field(min_length=10, description="plain words: how the other leg helps")
    source: str = Field(min_length=3)
    confidence: Confidence


class Template(Frozen):
    name: str
    description: str
    source: str
    confidence: Confidence
    phase: Phase
    training_days: tuple[int, ...] = Field(min_length=1)
    times_per_day: int = Field(default=1, ge=1, le=3)
    weeks: int | None = None
    items: tuple[TemplateItem, ...] = Field(min_length=1)
    blocks: tuple[TemplateBlock, ...] = ()
    include_warm_up: bool = True
    include_mobility: bool = True
    protocol: bool = Field(
        default=False,
        description="a published protocol: the time budget may trim extras, never its sets",
    )
    needs: Literal["run_ready"] | None = Field(
        default=None, description="readiness criteria to meet before this template may start"
    )
    first_load_kg: Sourced | None = Field(
        default=None,
        description="a protocol: the first external load once its sets and reps are done cleanly",
    )
    loaded_from_start: bool = Field(
        default=False,
        description="a protocol whose dose is a weight from the first week (a repetition "
        "maximum): it cannot start without something to add weight with",
    )
    affected_side_only: AffectedSideOnly | None = Field(
        default=None,
        description="one leg affected: its one-leg main exercises for that side only",
    )
    phases: tuple[TemplateStage, ...] = Field(
        default=(),
        max_length=8,
        description="a protocol in several phases, in order; the first is `phase`, `items` "
        "and `blocks` (filled from it when they are not given). Empty: one phase.",
    )

    @model_validator(mode="before")
    @classmethod
    def _first_stage_on_top(cls, data: object) -> object:
        """A protocol written as phases: the first one's phase, items and blocks are the
        protocol's own (what a single-phase protocol gives at the top)."""
        if not isinstance(data, dict):
            return data
        stages = data.get("phases")
        if not isinstance(stages, list | tuple) or not stages or not isinstance(stages[0], dict):
            return data
        first = stages[0]
        out = dict(data)
        for field in ("phase", "items", "blocks"):
            if field not in out and field in first:
                out[field] = first[field]
        return out

    @model_validator(mode="after")
    def _stages_in_order(self) -> Template:
        if not self.phases:
            return self
        first = self.phases[0]
        if (first.phase, first.items, first.blocks) != (self.phase, self.items, self.blocks):
            raise ValueError(
                "with phases, give phase, items and blocks inside phases.0 (not at the top)"
            )
        if len(self.phases) == 1:
            if first.move_on is not None:
                raise ValueError("phases.0.move_on: the last phase has no next one to move to")
            return self
        for index, stage in enumerate(self.phases[:-1]):
            if stage.move_on is None:
                raise ValueError(
                    f"phases.{index}.move_on: say when it moves on (after_weeks, or milestones)"
                )
        if self.phases[-1].move_on is not None:
            raise ValueError(
                f"phases.{len(self.phases) - 1}.move_on: the last phase has no next one to move to"
            )
        return self

    @property
    def stage_count(self) -> int:
        return max(1, len(self.phases))

    def stage(self, index: int) -> TemplateStage:
        """Phase `index` of the protocol (a single-phase protocol is its one phase)."""
        if self.phases:
            return self.phases[min(index, len(self.phases) - 1)]
        return TemplateStage(name=self.name, phase=self.phase, items=self.items, blocks=self.blocks)

    def at_stage(self, index: int) -> Template:
        """The protocol as it runs in phase `index`: that phase's phase, items and blocks."""
        if index <= 0 or not self.phases:
            return self
        stage = self.stage(index)
        return self.model_copy(
            update={"phase": stage.phase, "items": stage.items, "blocks": stage.blocks}
        )


class IrritableStart(Frozen):
    """How a template starts when irritability is high: a lighter dose within its range."""

    sets_fewer_by: int = Field(ge=0, le=5)
    min_sets: int = Field(ge=1, le=5, description="never fewer sets than this")
    amount_fraction: float = Field(gt=0, le=1, description="of the template's amount")
    first_block_load_kg: float | None = Field(
        default=None, ge=0, description="periodised templates: the load of the first weeks"
    )
    source: str = Field(min_length=3)
    confidence: Confidence


class Templates(Frozen):
    templates: dict[str, Template]
    irritable_start: IrritableStart


# ----- condition pathways -----------------------------------------------------------------


class PathwayExercise(Frozen):
    """An exercise the pathway brings into the main work of the given phases, first."""

    exercise_id: str = Field(pattern=ID_PATTERN)
    phases: tuple[Phase, ...] = Field(min_length=1)
    why: str = Field(min_length=10, description="plain words: why it is there")
    stand_in_for: str | None = Field(
        default=None,
        pattern=ID_PATTERN,
        description="brought in only when this other pathway exercise cannot be done",
    )


class StrengthRange(Frozen):
    """A pathway's own top of an exercise's rep range: load comes sooner than more reps."""

    exercise_id: str = Field(pattern=ID_PATTERN)
    range_high: float = Field(gt=0)
    source: str = Field(min_length=3)
    confidence: Confidence


class PathwayAvoid(Frozen):
    """An exercise the pathway leaves out, throughout or until a phase."""

    exercise_id: str = Field(pattern=ID_PATTERN)
    until: Phase | None = Field(default=None, description="allowed from this phase on")
    why: str = Field(min_length=10)
    source: str = Field(min_length=3)
    confidence: Confidence


class MorningWatch(Frozen):
    """How a watch-for sign shows in the morning check-ins: pain on waking at or above
    `at_least` and risen by `rise_by` or more over the morning before."""

    at_least: int = Field(ge=1, le=10)
    rise_by: int = Field(ge=1, le=10)
    urgency: Literal["same_day", "soon"]
    source: str = Field(min_length=3)
    confidence: Confidence


class WatchSign(Frozen):
    """A sign that means stop and see a clinician."""

    sign: str = Field(min_length=5, description="plain words")
    clinical: str = Field(min_length=5)
    action: str = Field(min_length=5)
    morning: MorningWatch | None = Field(
        default=None,
        description="when the check-ins can show the sign: it refers for this reason",
    )
    source: str = Field(min_length=3)
    confidence: Confidence


class PathwayWarning(Frozen):
    """A warning raised by the assessment itself (e.g. high rest pain in a runner's shin)."""

    id: str = Field(pattern=ID_PATTERN)
    measure: Literal[
        "pain_at_rest", "pain_during_activity", "pain_on_waking", "night_pain", "lingers_hours"
    ]
    at_least: float = Field(ge=0)
    text: str = Field(min_length=10, description="plain sentence; {value} is the number")
    clinical: str | None = Field(default=None, min_length=10, description="{value} fills in")
    until_checked: Phase | None = Field(
        default=None,
        description="until a clinician has recorded the check, the program stays no higher "
        "than this phase (at the plan and at every phase gate)",
    )
    until_checked_positions: tuple[Position, ...] = Field(
        default=(Position.SEATED, Position.SUPINE, Position.PRONE),
        min_length=1,
        description="until the check is recorded, the ladder steps only to exercises done in "
        "these positions",
    )
    waiting_for: str | None = Field(
        default=None,
        min_length=10,
        description="plain words: what the gate waits for until the check is recorded",
    )
    source: str = Field(min_length=3)
    confidence: Confidence

    @model_validator(mode="after")
    def _check_named(self) -> PathwayWarning:
        if self.until_checked is not None and (self.waiting_for is None or self.clinical is None):
            raise ValueError("a warning with until_checked needs waiting_for and clinical")
        return self


class DeficitWarning(Frozen):
    """A warning raised by a test result (e.g. a marked one-sided weakness with no cause
    recorded): the weaker side below this percentage of the stronger on the named test,
    beyond the test's measurement error."""

    id: str = Field(pattern=ID_PATTERN)
    test: str = Field(pattern=ID_PATTERN)
    weaker_percent_below: float = Field(gt=0, le=100)
    text: str = Field(min_length=10, description="plain sentence; {side}, {percent} fill in")
    clinical: str = Field(min_length=10, description="clinical sentence; {side}, {percent}")
    source: str = Field(min_length=3)
    confidence: Confidence


class WeightBearingRule(Frozen):
    """Until the surgeon allows full weight and the boot or cast is off, only exercises done
    in these positions; the weight allowed is asked at intake on this pathway."""

    positions: tuple[Position, ...] = Field(min_length=1)
    restricted: str = Field(min_length=10, description="plain words while weight is restricted")
    unrecorded: str = Field(min_length=10, description="plain words when it was not recorded")
    when_allowed: str = Field(
        min_length=10,
        description="plain words: how full weight is recorded and what changes then (Q4: the "
        "one instruction, in the plan's note and in the weekly question)",
    )
    ceiling: Phase = Field(
        description="the last phase while full weight is not allowed: its gate waits for full "
        "weight to be recorded, and asks for it (P3)"
    )
    waiting_for: str = Field(min_length=10, description="plain words: what the gate waits for")
    clinical: str = Field(min_length=10, description="the same for the clinician")
    source: str = Field(min_length=3)
    confidence: Confidence


class PathwayGate(Frozen):
    """Changes the pathway makes to one phase's gate: criteria added or replaced by id."""

    phase: Phase
    add: tuple[GateCriterion, ...] = ()
    drop: tuple[str, ...] = Field(default=(), description="criterion ids the pathway leaves out")


class PathwayAdvice(Frozen):
    """Advice beside the exercises (e.g. bracing for sport), with its source."""

    text: str = Field(min_length=10, description="plain words")
    source: str = Field(min_length=3)
    confidence: Confidence


class Running(Frozen):
    """Running for this pathway: what to do now, and when the walk-run plan joins."""

    advice: str = Field(min_length=10)
    exercise_id: str = Field(pattern=ID_PATTERN, description="the walk-run exercise")
    from_phase: Phase
    needs_minutes: int = Field(
        default=40,
        ge=10,
        le=120,
        description="the session minutes that leave room for the run beside the strength work",
    )
    source: str = Field(min_length=3)
    confidence: Confidence


class PainLimits(Frozen):
    """The pathway's own pain limits, read by the engine; a field left out takes the
    progression rules' value. At or below `safe_max` a dose may progress; above
    `acceptable_max` it steps back; in between it holds — unless `progress_up_to` lets a
    tendon progress up to that pain while the next mornings settle and the week is flat."""

    safe_max: int | None = Field(default=None, ge=0, le=10)
    acceptable_max: int | None = Field(default=None, ge=0, le=10)
    after_safe_max: int | None = Field(default=None, ge=0, le=10)
    after_acceptable_max: int | None = Field(default=None, ge=0, le=10)
    progress_up_to: int | None = Field(default=None, ge=0, le=10)
    persisting: str | None = Field(
        default=None,
        min_length=10,
        description="what the person is asked to do when pain stays above the limit after the step-backs",
    )
    persisting_clinical: str | None = Field(default=None, min_length=10)
    source: str = Field(min_length=3)
    confidence: Confidence

    @model_validator(mode="after")
    def _ordered(self) -> PainLimits:
        if (
            self.safe_max is not None
            and self.acceptable_max is not None
            and self.safe_max > self.acceptable_max
        ):
            raise ValueError("safe_max is above acceptable_max")
        if (
            self.after_safe_max is not None
            and self.after_acceptable_max is not None
            and self.after_safe_max > self.after_acceptable_max
        ):
            raise ValueError("after_safe_max is above after_acceptable_max")
        return self


class SettleCheck(Frozen):
    """A question the morning check-in asks after a session, about how the pain settled
    within the hour (C11): "no" holds progression at the next session."""

    question: str = Field(min_length=10, description="for the person, answered yes/no/not sure")
    clinical: str = Field(min_length=10)
    source: str = Field(min_length=3)
    confidence: Confidence


class WakingRecheck(Frozen):
    """R13: for a condition whose hallmark is pain on the first steps after rest, the screen's
    questions are asked again (S13) only when pain on waking rises `above_intake_by` points
    above the intake's own value — at or above the screen's level (screening.yaml recheck)
    — or reaches `waking_pain_at_least` whatever the intake. Pain unchanged since the intake
    is the condition, not a new sign; a warning sign at a check-in still refers at once."""

    above_intake_by: int = Field(ge=1, le=10)
    waking_pain_at_least: int = Field(ge=1, le=10)
    source: str = Field(min_length=3)
    confidence: Confidence


class Pathway(Frozen):
    """What a condition changes in the plan, each change with its source."""

    name: str = Field(min_length=3, description="for the person")
    clinical_name: str = Field(min_length=3)
    summary: str = Field(min_length=10, description="why this plan, in plain words")
    clinical_summary: str = Field(min_length=10)
    source: str = Field(min_length=3)
    confidence: Confidence
    start_phase: dict[Irritability, Phase] = Field(
        default_factory=dict, description="empty: the phases' own starting rule"
    )
    gentler_start_for_severe_deficit: bool = True
    proximal_from: Phase | None = Field(
        default=None, description="hip and thigh strength work joins from this phase"
    )
    exercises: tuple[PathwayExercise, ...] = ()
    strength_ranges: tuple[StrengthRange, ...] = Field(
        default=(), description="exercises whose reps stop lower here, so load comes sooner"
    )
    mobility: tuple[str, ...] = Field(
        default=(), description="stretches the pathway puts first in the mobility part"
    )
    avoid: tuple[PathwayAvoid, ...] = ()
    templates: tuple[str, ...] = ()
    pain_rule: str | None = Field(default=None, description="the pain limits, in plain words")
    pain_rule_source: str | None = None
    pain_limits: PainLimits | None = Field(
        default=None, description="the pain limits the engine enforces on this pathway"
    )
    gates: tuple[PathwayGate, ...] = ()
    watch_for: tuple[WatchSign, ...] = ()
    settle_check: SettleCheck | None = None
    waking_recheck: WakingRecheck | None = Field(
        default=None,
        description="pain on waking is the condition's hallmark: the screen is asked again "
        "when it rises above the intake's value, not at the screen's fixed level",
    )
    warnings: tuple[PathwayWarning, ...] = ()
    deficit_warnings: tuple[DeficitWarning, ...] = ()
    weight_bearing: WeightBearingRule | None = None
    advice: tuple[PathwayAdvice, ...] = ()
    running: Running | None = None
    own_score: str | None = Field(
        default=None,
        description=(
            "the condition's own questionnaire: a questionnaire gate passed on another one "
            "while this has not improved by its MCID is flagged to the clinician"
        ),
    )

    @model_validator(mode="after")
    def _consistent(self) -> Pathway:
        if (self.pain_rule is None) != (self.pain_rule_source is None):
            raise ValueError("pain_rule and pain_rule_source come together")
        return self


class Pathways(Frozen):
    pathways: dict[Condition, Pathway]

    @model_validator(mode="after")
    def _complete(self) -> Pathways:
        missing = [c.value for c in Condition if c not in self.pathways]
        if missing:
            raise ValueError(f"pathways missing: {', '.join(missing)}")
        plain = self.pathways[Condition.NOT_SURE]
        if plain.exercises or plain.avoid or plain.start_phase or plain.mobility:
            raise ValueError("the not_sure pathway changes nothing: it is today's plan")
        # Its gates may only add the person's own deficit, whatever it is (S2).
        if any(
            change.drop or any(c.test != IMPLICATED for c in change.add) for change in plain.gates
        ):
            raise ValueError("the not_sure pathway's gates may only add the implicated test")
        return self

    def __getitem__(self, condition: Condition) -> Pathway:
        return self.pathways[condition]


# ----- readiness to hop and to run ---------------------------------------------------------


class ReadinessCriterion(Frozen):
    """One criterion of a readiness check, read from the latest test results."""

    id: str = Field(pattern=ID_PATTERN)
    kind: Literal["min_value", "lsi", "irritability_not_high"]
    test: str | None = None
    threshold: float | None = None
    required: bool = Field(default=True, description="False: counts only when the test was done")
    text: str = Field(min_length=5, description="the criterion in plain words")
    source: str = Field(min_length=3)
    confidence: Confidence

    @model_validator(mode="after")
    def _parameters(self) -> ReadinessCriterion:
        if self.kind != "irritability_not_high" and (self.test is None or self.threshold is None):
            raise ValueError(f"a {self.kind} criterion needs a test and a threshold")
        return self


class ReadinessCheck(Frozen):
    name: str = Field(min_length=3)
    purpose: str = Field(min_length=10)
    criteria: tuple[ReadinessCriterion, ...] = Field(min_length=1)


class TestProtocol(Frozen):
    """Where a test's protocol comes from (the steps themselves are in assessment.yaml)."""

    protocol: str = Field(min_length=10)
    source: str = Field(min_length=3)
    confidence: Confidence


class Readiness(Frozen):
    hop: ReadinessCheck
    run: ReadinessCheck
    run_progression: str = Field(min_length=10, description="how the walk-run plan moves on")
    run_progression_source: str = Field(min_length=3)
    run_progression_confidence: Confidence
    run_pain_max: int = Field(
        ge=0, le=10, description="pain at the sore spot a run may reach and still progress"
    )
    running_exercises: dict[str, dict[str, float]] = Field(
        description="running exercises: the running share of their minutes at each setting"
    )
    protocols: dict[str, TestProtocol]


@dataclass(frozen=True)
class Rules:
    """Everything the planner and the engine need to know, bundled."""

    library: ExerciseLibrary
    assessment: AssessmentRules
    phases: Phases
    progression: ProgressionRules
    templates: Templates
    questionnaires: QuestionnaireSet
    pathways: Pathways
    readiness: Readiness
    screening: ScreeningRules
