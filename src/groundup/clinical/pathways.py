"""Condition pathways: what the person has changes the plan, by data with a source.

A pathway (knowledge/data/pathways.yaml) names the exercises that load from day one, what
waits or is left out, the ready-made programs that suit the condition, the changes to the
phase gates, what to watch for and how running comes back. These functions read it; the
planner and the engine call them. "not sure" changes nothing but its gates, which measure
the person's own deficit (the implicated test).
"""

from __future__ import annotations

from groundup.clinical.assessment import Assessment, Condition, WeightBearing
from groundup.clinical.exercises import Exercise
from groundup.clinical.profile import ImbalanceProfile
from groundup.clinical.rules import (
    IMPLICATED,
    DeficitWarning,
    GateCriterion,
    Pathway,
    PathwayAvoid,
    PathwayWarning,
    Rules,
    StrengthRange,
    WeightBearingRule,
)
from groundup.clinical.vocabulary import Kind, Phase, Position, Side


class PathwayDataError(ValueError):
    """The pathways name an exercise, template or test that does not exist."""


def pathway_of(condition: Condition, rules: Rules) -> Pathway:
    return rules.pathways[condition]


def avoided(
    condition: Condition, exercise_id: str, phase: Phase, rules: Rules
) -> PathwayAvoid | None:
    """The pathway's reason to leave this exercise out in this phase, if it has one."""
    for item in rules.pathways[condition].avoid:
        if item.exercise_id != exercise_id:
            continue
        if item.until is None or phase.number < item.until.number:
            return item
    return None


def allows(condition: Condition, exercise_id: str, phase: Phase, rules: Rules) -> bool:
    """True when the pathway does not leave the exercise out in this phase (for ladder steps)."""
    return avoided(condition, exercise_id, phase, rules) is None


def strength_range(condition: Condition, exercise_id: str, rules: Rules) -> StrengthRange | None:
    """The pathway's own top of the exercise's rep range, where it stops the reps lower so
    load comes sooner (tendon work, S11)."""
    for item in rules.pathways[condition].strength_ranges:
        if item.exercise_id == exercise_id:
            return item
    return None


def brought_in(condition: Condition, phase: Phase, rules: Rules) -> tuple[tuple[str, str], ...]:
    """The pathway's own exercises for this phase, with why, in the pathway's order."""
    return tuple(
        (item.exercise_id, item.why)
        for item in rules.pathways[condition].exercises
        if phase in item.phases
    )


def trains(exercise: Exercise, test_id: str, rules: Rules) -> bool:
    """The exercise trains what the test measures: one the test names (balance is trained by
    balancing), else for a range-of-motion test a mobility exercise for its muscles, else one
    whose prime movers are the test's muscles."""
    test = rules.assessment.tests.get(test_id)
    if test is None:
        return False
    if test.trained_by:
        return exercise.id in test.trained_by
    if test.kind == "mobility":
        return exercise.kind is Kind.MOBILITY and bool(exercise.muscles & set(test.muscles))
    return bool(exercise.prime_movers & set(test.muscles))


def stand_ins(condition: Condition, rules: Rules) -> dict[str, str]:
    """The pathway's stand-ins: exercise → the exercise it replaces when that one cannot be
    done (the seated ankle bend for the kneeling knee-to-wall rocks while off the feet)."""
    return {
        item.exercise_id: item.stand_in_for
        for item in rules.pathways[condition].exercises
        if item.stand_in_for is not None
    }


def proximal_allowed(condition: Condition, phase: Phase, rules: Rules) -> bool:
    """Hip and thigh strength work belongs in this phase, for this pathway."""
    if rules.phases[phase].proximal:
        return True
    start = rules.pathways[condition].proximal_from
    return start is not None and phase.number >= start.number


def phase_gate(condition: Condition, phase: Phase, rules: Rules) -> tuple[GateCriterion, ...]:
    """The criteria to leave this phase on this pathway: the phase's gate with the pathway's
    additions, less what the pathway drops."""
    base = rules.phases[phase].gate
    changes = [g for g in rules.pathways[condition].gates if g.phase is phase]
    dropped = {name for change in changes for name in change.drop}
    kept = [c for c in base if c.id not in dropped]
    added = [c for change in changes for c in change.add]
    ids = {c.id for c in kept}
    limits = rules.pathways[condition].pain_limits
    safe = limits.safe_max if limits is not None else None
    return tuple(
        _within_pain_limit(c, safe, limits.source if limits else "")
        for c in (*kept, *(c for c in added if c.id not in ids))
    )


def implicated_test(profile: ImbalanceProfile, rules: Rules) -> str | None:
    """The test of the profile's most severe deficit of the affected side (the lowest LSI
    beyond the measurement error); with both legs affected, the test furthest below its
    capacity goal. None when no test shows one."""
    tests = rules.assessment.tests
    involved = profile.involved_side
    ranked: list[tuple[float, int, str]] = []
    for order, c in enumerate(profile.comparisons):
        if c.test not in tests or not tests[c.test].higher_is_better:
            continue
        if involved is not None:
            if c.weaker_side is involved and c.beyond_error and c.lsi is not None:
                ranked.append((c.lsi, order, c.test))
        elif profile.affected_side is not None and c.capacity.available:
            shares = [p for side in Side if (p := c.capacity.percent(side)) is not None and p < 100]
            if shares:
                ranked.append((min(shares), order, c.test))
    return min(ranked)[2] if ranked else None


def resolve_criterion(
    criterion: GateCriterion, baseline: ImbalanceProfile, rules: Rules
) -> GateCriterion | None:
    """The criterion for this person: an implicated test named by the deficit the plan was
    made for (the intake's, so a retest that leaves the test out cannot change the gate),
    and `{test}` and `{error}` in its texts filled in. None: nothing implicated."""
    test = criterion.test
    if test == IMPLICATED:
        test = implicated_test(baseline, rules)
        if test is None:
            return None
    if test is None or test not in rules.assessment.tests:
        return criterion
    definition = rules.assessment.tests[test]
    error = definition.measurement_error
    fill = {"{test}": definition.person_label, "{error}": f"{error.value:g}" if error else "?"}

    def filled(text: str | None) -> str | None:
        if text is None:
            return None
        for key, value in fill.items():
            text = text.replace(key, value)
        return text

    return criterion.model_copy(
        update={
            "test": test,
            "text": filled(criterion.text),
            "both_sides_text": filled(criterion.both_sides_text),
        }
    )


def _within_pain_limit(criterion: GateCriterion, safe: int | None, source: str) -> GateCriterion:
    """A pain-free-sessions criterion asks for no more pain than the pathway's own limit (M6)."""
    if (
        criterion.kind != "pain_sessions"
        or safe is None
        or criterion.threshold is None
        or criterion.threshold <= safe
    ):
        return criterion
    return criterion.model_copy(
        update={
            "threshold": float(safe),
            "text": criterion.text.replace(f"{criterion.threshold:g}/10", f"{safe}/10"),
            "source": f"{source}; {criterion.source}",
        }
    )


def warnings_raised(
    condition: Condition, assessment: Assessment, rules: Rules
) -> tuple[PathwayWarning, ...]:
    """The pathway's warnings that this assessment raises."""
    values = assessment.pain.measures()
    return tuple(w for w in rules.pathways[condition].warnings if values[w.measure] >= w.at_least)


def assessment_warnings(
    condition: Condition, assessment: Assessment, rules: Rules
) -> tuple[str, ...]:
    """The pathway's warnings that this assessment raises, in plain sentences."""
    values = assessment.pain.measures()
    return tuple(
        w.text.replace("{value}", f"{values[w.measure]:g}")
        for w in warnings_raised(condition, assessment, rules)
    )


def load_restriction(
    condition: Condition, profile: ImbalanceProfile, rules: Rules
) -> tuple[WeightBearingRule, str] | None:
    """The weight-bearing limit this person's plan keeps, and the plain words that say why:
    on a pathway that asks for it, until full weight is recorded and the boot or cast is off
    (not recorded counts as not yet full); on any pathway, when a restriction was recorded."""
    own = rules.pathways[condition].weight_bearing
    rule = own or rules.pathways[Condition.AFTER_ANKLE_FRACTURE_OR_SURGERY].weight_bearing
    if rule is None:
        return None
    allowed = profile.weight_bearing
    if allowed is WeightBearing.FULL and not profile.boot_or_cast:
        return None
    if allowed is None and not profile.boot_or_cast:
        return (rule, rule.unrecorded) if own is not None else None
    return rule, f"{rule.restricted} {rule.when_allowed}"


def load_allows(exercise: Exercise, restriction: tuple[WeightBearingRule, str] | None) -> bool:
    """The exercise keeps within the weight-bearing limit (any exercise when there is none)."""
    return position_allows(exercise.position, restriction)


def position_allows(position: Position, restriction: tuple[WeightBearingRule, str] | None) -> bool:
    """The body position keeps within the weight-bearing limit (any when there is none)."""
    return restriction is None or position in restriction[0].positions


def deficit_warnings(
    condition: Condition, profile: ImbalanceProfile, rules: Rules
) -> tuple[tuple[str, str], ...]:
    """The pathway's warnings a test result raises: (person words, clinician words)."""
    raised = (warning_raised(w, profile) for w in rules.pathways[condition].deficit_warnings)
    return tuple(found for found in raised if found is not None)


def warning_raised(warning: DeficitWarning, profile: ImbalanceProfile) -> tuple[str, str] | None:
    """The warning's (person words, clinician words) when the profile's test raises it."""
    comparison = profile.comparison(warning.test)
    if (
        comparison is None
        or comparison.weaker_percent is None
        or comparison.weaker_side is None
        or not comparison.beyond_error
        or comparison.weaker_percent >= warning.weaker_percent_below
    ):
        return None
    fill = {
        "{side}": comparison.weaker_side.value,
        "{percent}": f"{comparison.weaker_percent:g}",
    }
    person, clinical = warning.text, warning.clinical
    for key, value in fill.items():
        person, clinical = person.replace(key, value), clinical.replace(key, value)
    return person, clinical


def check_pathways(rules: Rules) -> None:
    """Every exercise, template and test the pathways and readiness name exists; raises
    PathwayDataError naming the first that does not."""
    library, templates, tests = rules.library, rules.templates.templates, rules.assessment.tests
    for condition, pathway in rules.pathways.pathways.items():
        where = f"pathways.yaml: {condition.value}"
        named = [e.exercise_id for e in pathway.exercises] + [a.exercise_id for a in pathway.avoid]
        named += list(pathway.mobility)
        named += [r.exercise_id for r in pathway.strength_ranges]
        for own in pathway.strength_ranges:
            known = library.get(own.exercise_id)
            if known is not None and not known.dose.range_low < own.range_high:
                raise PathwayDataError(
                    f"{where}: the strength range of {own.exercise_id} ends at or below the "
                    f"bottom of its range ({known.dose.range_low:g})"
                )
        if pathway.running is not None:
            named.append(pathway.running.exercise_id)
        for exercise_id in named:
            if exercise_id not in library:
                raise PathwayDataError(f"{where}: unknown exercise {exercise_id!r}")
        for warning in pathway.deficit_warnings:
            if warning.test not in tests:
                raise PathwayDataError(f"{where}: unknown test {warning.test!r}")
        if condition is not Condition.NOT_SURE:
            for phase in Phase:
                if not brought_in(condition, phase, rules):
                    raise PathwayDataError(
                        f"{where}: no exercise of its own in {phase.value}; the condition's "
                        "key exercise has to run through every phase"
                    )
        for stand_in, original in stand_ins(condition, rules).items():
            if original not in {e.exercise_id for e in pathway.exercises}:
                raise PathwayDataError(
                    f"{where}: {stand_in} stands in for {original!r}, which is not one of "
                    "the pathway's exercises"
                )
        if pathway.own_score is not None and pathway.own_score not in rules.questionnaires.ids:
            raise PathwayDataError(f"{where}: unknown own_score {pathway.own_score!r}")
        _check_gates_are_trained(condition, rules)
        for name in pathway.templates:
            if name not in templates:
                raise PathwayDataError(f"{where}: unknown template {name!r}")
        for change in pathway.gates:
            ids = {c.id for c in rules.phases[change.phase].gate}
            for name in change.drop:
                if name not in ids:
                    raise PathwayDataError(f"{where}: {change.phase.value} has no gate {name!r}")
    for name, template in templates.items():
        for item in template.items:
            for exercise_id in (item.exercise_id, *item.alternatives):
                if exercise_id not in library:
                    raise PathwayDataError(
                        f"templates.yaml: {name}: unknown exercise {exercise_id!r}"
                    )
    for test_id, definition in tests.items():
        for exercise_id in definition.trained_by:
            if exercise_id not in library:
                raise PathwayDataError(
                    f"assessment.yaml: {test_id}: trained_by names unknown {exercise_id!r}"
                )
    readiness = rules.readiness
    for check in (readiness.hop, readiness.run):
        for criterion in check.criteria:
            if criterion.test is not None and criterion.test not in tests:
                raise PathwayDataError(
                    f"readiness.yaml: {criterion.id}: unknown test {criterion.test!r}"
                )
    for exercise_id in readiness.running_exercises:
        if exercise_id not in library:
            raise PathwayDataError(f"readiness.yaml: running_exercises: unknown {exercise_id!r}")
    for test_id in readiness.protocols:
        if test_id not in tests:
            raise PathwayDataError(f"readiness.yaml: protocols: unknown test {test_id!r}")


def _check_gates_are_trained(condition: Condition, rules: Rules) -> None:
    """A gate criterion that measures a test needs an exercise in that phase that trains it:
    a gate the pathway adds, among the pathway's own exercises of the phase (they are always
    in the plan); a phase's own gate, among those or the phase's list. A gate on a deficit the
    plan never trains can only be waited at."""
    where = f"pathways.yaml: {condition.value}"
    for phase in Phase:
        own_gate = {c.id for c in rules.phases[phase].gate}
        own = [
            rules.library[i] for i, _ in brought_in(condition, phase, rules) if i in rules.library
        ]
        listed = [
            rules.library[i]
            for i in rules.phases[phase].main
            if i in rules.library and avoided(condition, i, phase, rules) is None
        ]
        for criterion in phase_gate(condition, phase, rules):
            # The implicated test is the person's own deficit, which the plan answers by
            # the muscles it implicates: not known until the tests are in.
            if criterion.test is None or criterion.test == IMPLICATED:
                continue
            if criterion.test not in rules.assessment.tests:
                raise PathwayDataError(
                    f"{where}: the gate out of {phase.value} ({criterion.id}) names unknown "
                    f"test {criterion.test!r}"
                )
            definition = rules.assessment.tests[criterion.test]
            if criterion.kind == "difference_within_error" and (
                definition.measurement_error is None or not definition.higher_is_better
            ):
                raise PathwayDataError(
                    f"{where}: the gate out of {phase.value} ({criterion.id}) needs a "
                    f"measurement error for {criterion.test}, a test where more is better "
                    "(assessment.yaml)"
                )
            pool = own + listed if criterion.id in own_gate else own
            if not any(trains(e, criterion.test, rules) for e in pool):
                raise PathwayDataError(
                    f"{where}: the gate out of {phase.value} ({criterion.id}) measures "
                    f"{criterion.test}, but no exercise the plan keeps in that phase trains it"
                )
