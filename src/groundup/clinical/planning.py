"""The planner: from an imbalance profile to a phased program that fits the person.

`plan(profile, preferences, rules, screen=…, start=…, assessment=…)` picks the starting
phase from irritability and findings, follows the condition pathway the assessment records
(its day-one exercises, what it leaves out, its gates, running and what to watch for),
chooses exercises for the implicated muscle groups, gives the side with the problem extra
volume, pairs antagonists, fits the time budget and says why for every choice. It refuses
to plan for a screen that refers.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from groundup.clinical.assessment import Assessment, Condition
from groundup.clinical.exercises import Exercise
from groundup.clinical.pathways import (
    assessment_warnings,
    avoided,
    brought_in,
    deficit_warnings,
    load_allows,
    load_restriction,
    proximal_allowed,
    stand_ins,
    strength_range,
    trains,
    warnings_raised,
)
from groundup.clinical.profile import Finding, ImbalanceProfile
from groundup.clinical.program import (
    Dose,
    EngineState,
    Part,
    PendingCheck,
    Preferences,
    Program,
    Slot,
    dose_key,
    slot_seconds,
)
from groundup.clinical.readiness import describe_unmet, hop_ready, run_ready
from groundup.clinical.rules import PhaseDefinition, Rules, StageMoveOn, Template, TemplateItem
from groundup.clinical.screening import ScreenResult
from groundup.clinical.vocabulary import (
    PROXIMAL_MUSCLES,
    DoseType,
    Irritability,
    Kind,
    Laterality,
    Muscle,
    Phase,
    Position,
    Role,
    Severity,
    Side,
)
from groundup.clinical.wording import in_words

DEFAULT_DAYS: dict[int, tuple[int, ...]] = {
    1: (0,),
    2: (0, 3),
    3: (0, 2, 4),
    4: (0, 1, 3, 4),
    5: (0, 1, 2, 3, 4),
    6: (0, 1, 2, 3, 4, 5),
    7: (0, 1, 2, 3, 4, 5, 6),
}
MAX_WARM_UP = 3
MAX_MOBILITY = 3
MIN_MAIN = 2


class ReferralError(ValueError):
    """The screen refers: no program may be generated."""


class PlanningError(ValueError):
    """No program can be built from what was given (e.g. no usable exercise)."""


def plan(
    profile: ImbalanceProfile,
    preferences: Preferences,
    rules: Rules,
    *,
    screen: ScreenResult,
    start: dt.date,
    template: str | None = None,
    outcomes: dict[str, float] | None = None,
    assessment: Assessment | None = None,
) -> Program:
    """Build version 1 of a program. Raises ReferralError when the screen refers.

    The assessment, when given, brings what the person has (the condition pathway) and the
    side with the problem; without it the plan is the impairment-based one."""
    if screen.refers:
        raise ReferralError(
            "the safety screen refers this person to a doctor; no program is generated"
        )
    condition = assessment.condition if assessment is not None else Condition.NOT_SURE
    notes = pathway_notes(condition, profile, rules, assessment)
    if template is not None:
        program = _from_template(
            profile, preferences, rules, start, template, outcomes or {}, condition
        )
        return program.model_copy(update={"reasons": (*program.reasons, *notes)})
    phase, phase_reason = starting_phase(profile, rules, condition)
    pending = pending_check(condition, assessment, rules, start)
    if pending is not None and pending.ceiling.number < phase.number:
        phase = pending.ceiling
        phase_reason = (
            f"Starts in phase {phase.number} ({phase.label.lower()}): a warning sign "
            "at intake needs a clinician's check first, and until then the plan keeps "
            "to the gentlest work."
        )
    slots, reasons = build_session(phase, profile, preferences, rules, pathway=condition)
    # R2: the running note says what the walk-run plan waits for in this program.
    note = running_note(
        condition,
        profile,
        rules,
        phase=phase,
        minutes=preferences.minutes_per_session,
        running=any(s.exercise_id in rules.readiness.running_exercises for s in slots),
    )
    notes = tuple(note if note and n.startswith(RUNNING_PREFIX) else n for n in notes)
    days = preferences.training_days or DEFAULT_DAYS[rules.phases[phase].sessions_per_week]
    return Program(
        version=1,
        phase=phase,
        phase_started=start,
        start_date=start,
        training_days=tuple(sorted(set(days))),
        slots=slots,
        weaker_side=profile.weaker_side,
        profile=profile,
        baseline=profile,
        preferences=preferences,
        reasons=(phase_reason, *notes, *reasons),
        outcome_baseline=dict(outcomes or {}),
        outcome_latest=dict(outcomes or {}),
        pathway=condition,
        state=EngineState(check_pending=pending),
    )


def pending_check(
    condition: Condition, assessment: Assessment | None, rules: Rules, start: dt.date
) -> PendingCheck | None:
    """The check the intake's warnings ask for before loading (`until_checked`): the lowest
    ceiling and the positions every such warning allows, held until a clinician records the
    check as done and clear."""
    if assessment is None:
        return None
    values = assessment.pain.measures()
    raised = [w for w in warnings_raised(condition, assessment, rules) if w.until_checked]
    if not raised:
        return None
    ceilings = [w.until_checked for w in raised if w.until_checked is not None]
    positions = set.intersection(*(set(w.until_checked_positions) for w in raised))
    return PendingCheck(
        ceiling=min(ceilings, key=lambda p: p.number),
        positions=tuple(p for p in Position if p in positions) or raised[0].until_checked_positions,
        warnings=tuple(w.id for w in raised),
        waiting_for=str(raised[0].waiting_for),
        clinical=" ".join(
            str(w.clinical).replace("{value}", f"{values[w.measure]:g}") for w in raised
        ),
        since=start,
    )


RUNNING_PREFIX = "Running: "


def running_note(
    condition: Condition,
    profile: ImbalanceProfile,
    rules: Rules,
    *,
    phase: Phase | None = None,
    minutes: int | None = None,
    running: bool = False,
    waits: str | None = None,
    pain_max: int | None = None,
) -> str | None:
    """The pathway's running note from the profile as it stands (the engine rewrites it when
    the irritability re-read from the logs changes, Q3, and as the program moves, R2). With
    the program's phase and minutes it says exactly what a ready runner's walk-run plan
    still waits for: the phase, the minutes, or `waits` (what the engine names: the end of
    a flare-up, a clinician's check…) or else a session with pain at `pain_max` or less;
    `running`: the walk-run is in the sessions."""
    pathway = rules.pathways[condition]
    if pathway.running is None:
        return None
    plan = pathway.running
    if running:
        return (
            f"{RUNNING_PREFIX}the walk-run plan is part of your sessions. "
            f"{rules.readiness.run_progression}"
        )
    ready = run_ready(profile, rules)
    if not ready.met:
        return (
            f"{RUNNING_PREFIX}{plan.advice} Not yet ready for the walk-run plan: "
            f"{describe_unmet(ready)}."
        )
    met = f"{RUNNING_PREFIX}you meet the criteria to start the walk-run plan; "
    short = minutes is not None and minutes < plan.needs_minutes
    need = (
        f"a session of {plan.needs_minutes} minutes or more to hold it beside the strength "
        f"work (yours have {minutes}): give more minutes, or choose the return-to-running "
        "program"
    )
    if phase is None or minutes is None:
        when = (
            f"it joins the program from phase {plan.from_phase.number} when a session has "
            f"{plan.needs_minutes} minutes or more to hold it beside the strength work"
        )
    elif phase.number < plan.from_phase.number:
        when = (
            f"it joins the program when you reach phase {plan.from_phase.number} "
            f"({plan.from_phase.label.lower()})" + (f", and it needs {need}" if short else "")
        )
    elif short:
        when = f"it waits for {need}"
    elif waits is not None:
        when = f"it joins the program at the first session after {waits}"
    elif pain_max is not None:
        when = (
            f"it joins the program at your next session with pain at {pain_max}/10 or less "
            "during and right after it"
        )
    else:
        when = "it joins the program at your next session with pain within the limits"
    return f"{met}{when}. {rules.readiness.run_progression}"


def pathway_notes(
    condition: Condition,
    profile: ImbalanceProfile,
    rules: Rules,
    assessment: Assessment | None,
) -> tuple[str, ...]:
    """What the pathway adds to the reasons: which plan and why, its pain rule, the ready-made
    programs that suit it, running, the warnings this assessment raises, what to watch for.
    Without an assessment (a phase change later on) the pathway's own notes still come, and
    "not sure" adds nothing."""
    pathway = rules.pathways[condition]
    notes: list[str] = []
    if assessment is not None:
        # What the intake itself raises comes first: it can change what to do before starting.
        notes.extend(assessment_warnings(condition, assessment, rules))
        notes.extend(person for person, _ in deficit_warnings(condition, profile, rules))
    restriction = load_restriction(condition, profile, rules)
    if restriction is not None:
        notes.append(restriction[1])
    if condition is Condition.NOT_SURE and assessment is None:
        return tuple(notes)
    notes.append(
        f"Plan for: {pathway.name}. {pathway.summary} (Source: {pathway.source} [{pathway.confidence}].)"
    )
    if pathway.pain_rule is not None:
        notes.append(
            f"Pain rule for this condition: {pathway.pain_rule} ({pathway.pain_rule_source}.)"
        )
    if pathway.templates:
        names = ", ".join(rules.templates.templates[t].name for t in pathway.templates)
        notes.append(f"Ready-made programs that suit this condition: {names}.")
    running = running_note(condition, profile, rules)
    if running is not None:
        notes.append(running)
    for advice in pathway.advice:
        notes.append(f"{advice.text} ({advice.source} [{advice.confidence}].)")
    if pathway.watch_for:
        signs = "; ".join(
            f"{w.sign} — {w.action[0].lower()}{w.action[1:].rstrip('.')}" for w in pathway.watch_for
        )
        notes.append(f"Stop and get checked if: {signs}.")
    return tuple(notes)


def starting_phase(
    profile: ImbalanceProfile, rules: Rules, condition: Condition = Condition.NOT_SURE
) -> tuple[Phase, str]:
    """The phase to start in, and why."""
    level = profile.irritability.level
    pathway = rules.pathways[condition]
    why = "; ".join(r.rstrip(".") for r in profile.irritability.reasons)
    if level in pathway.start_phase:
        phase = pathway.start_phase[level]
        severe = [m for m in profile.implicated if m.severity is Severity.SEVERE]
        kept = (
            " A marked deficit is a reason to load, within the pain rules, not to start gentler."
            if severe and not pathway.gentler_start_for_severe_deficit
            else ""
        )
        return phase, (
            f"Starts in phase {phase.number} ({phase.label.lower()}): irritability is "
            f"{level.value} ({why}); on this condition's plan, loading starts here.{kept}"
        )
    phase = rules.phases.start_phase[level]
    severe = [m for m in profile.implicated if m.severity is Severity.SEVERE]
    gentler = rules.phases.severe_deficit_start.get(level)
    if severe and gentler is not None and gentler.number < phase.number:
        names = ", ".join(m.muscle.label for m in severe)
        return gentler, (
            f"Starts in phase {gentler.number} ({gentler.label.lower()}): irritability is "
            f"{level.value} and there is a marked deficit ({names})."
        )
    return phase, (
        f"Starts in phase {phase.number} ({phase.label.lower()}): irritability is "
        f"{level.value} ({why})"
    )


# ----- choosing exercises ----------------------------------------------------------------


def _is_proximal_strength(exercise: Exercise) -> bool:
    movers = exercise.prime_movers
    return bool(movers) and movers <= PROXIMAL_MUSCLES


def _usable(
    exercise_id: str,
    phase: Phase,
    preferences: Preferences,
    rules: Rules,
    pathway: Condition = Condition.NOT_SURE,
    *,
    brought: bool = False,
    hops: bool = True,
    profile: ImbalanceProfile | None = None,
) -> bool:
    """The exercise may go into this phase's session: it belongs to the phase (or the
    pathway brings it in), the equipment is at hand, hip and thigh strength work belongs in
    the phase, the pathway does not leave it out, hopping waits for hop readiness, and it
    keeps within the weight the surgeon allows on the leg."""
    exercise = rules.library.get(exercise_id)
    restriction = load_restriction(pathway, profile, rules) if profile is not None else None
    return (
        exercise is not None
        and load_allows(exercise, restriction)
        and (brought or phase in exercise.phases)
        and exercise.needs_only(preferences.equipment)
        and (
            brought
            or proximal_allowed(pathway, phase, rules)
            or not _is_proximal_strength(exercise)
        )
        and avoided(pathway, exercise_id, phase, rules) is None
        and (hops or exercise.kind is not Kind.PLYOMETRIC)
    )


def _finding_phrase(finding: Finding, rules: Rules) -> str:
    """A few words naming a finding and its numbers, for reasons."""
    test = finding.id.split(".")[0]
    definition = rules.assessment.tests.get(test)
    short = definition.short if definition else test
    side = finding.side.value if finding.side else ""
    numbers = finding.numbers
    if finding.kind == "side_deficit":
        return f"the {side} {short} LSI is {numbers['lsi_percent']:g} %"
    if finding.kind == "below_norm":
        return (
            f"the {side} {short} result is {numbers['percent_of_reference']:g} % of the "
            "typical value for age and sex"
        )
    if finding.kind == "ratio_imbalance":
        return f"the {side} shin-to-calf endurance ratio is {numbers['ratio']:g}"
    return finding.person_text[0].lower() + finding.person_text[1:]


def refresh_reasons(
    slots: tuple[Slot, ...], before: ImbalanceProfile, after: ImbalanceProfile, rules: Rules
) -> tuple[Slot, ...]:
    """The slots with the numbers in their reasons brought up to date from a retest: a
    finding quoted in a reason is quoted as the retest found it, or marked as gone."""
    found = {f.id: f for f in after.findings}
    phrases = [(f, _finding_phrase(f, rules)) for f in before.findings]
    refreshed = []
    for slot in slots:
        reason = slot.reason
        for finding, old in phrases:
            if old not in reason:
                continue
            now = found.get(finding.id)
            new = (
                _finding_phrase(now, rules)
                if now is not None
                else f"{old} at first, no longer a finding at the latest retest"
            )
            reason = reason.replace(old, new)
        refreshed.append(
            slot if reason == slot.reason else slot.model_copy(update={"reason": reason})
        )
    return tuple(refreshed)


def _relevant(finding: Finding, exercise: Exercise, rules: Rules) -> bool:
    """A range-of-motion test (knee-to-wall) is answered by mobility work, not strength."""
    test = rules.assessment.tests.get(finding.id.split(".")[0])
    return test is None or test.kind != "mobility" or exercise.kind is Kind.MOBILITY


def _trains_test_of(finding: Finding, exercise: Exercise, rules: Rules) -> bool:
    """The exercise trains what the finding's test measures (balance by balancing, range by
    mobility work, strength by its prime movers)."""
    return trains(exercise, finding.id.split(".")[0], rules)


def answers_marked_deficit(exercise: Exercise, profile: ImbalanceProfile, rules: Rules) -> bool:
    """The exercise answers a marked deficit: its prime movers are severely implicated, or it
    trains the test of a severe finding (one-leg balance, say, which has no prime mover)."""
    severe = {m.muscle for m in profile.implicated if m.severity is Severity.SEVERE}
    return bool(exercise.prime_movers & severe) or any(
        f.severity is Severity.SEVERE and _trains_test_of(f, exercise, rules)
        for f in profile.findings
    )


def _named_for_marked_deficit(exercise: Exercise, profile: ImbalanceProfile, rules: Rules) -> bool:
    """The exercise is one a severe finding's test names as what trains it (balance): kept
    when fitting the time, since no prime mover would otherwise speak for it."""
    for finding in profile.findings:
        test = rules.assessment.tests.get(finding.id.split(".")[0])
        if finding.severity is Severity.SEVERE and test and exercise.id in test.trained_by:
            return True
    return False


def best_finding(exercise: Exercise, profile: ImbalanceProfile, rules: Rules) -> Finding | None:
    """The finding that best explains why this exercise is there: one whose test the exercise
    trains first, then one about its prime movers, the most specific (fewest muscles: a
    pelvic drop before a whole-leg balance test), then the most severe."""
    best: tuple[tuple[int, int, int, int, int], Finding] | None = None
    for finding in profile.findings:
        muscles = set(finding.muscles)
        trained = _trains_test_of(finding, exercise, rules)
        if not trained and (
            not muscles & exercise.trained_muscles or not _relevant(finding, exercise, rules)
        ):
            continue
        key = (
            1 if trained else 0,
            1 if muscles & exercise.prime_movers else 0,
            0 if finding.kind == "ratio_imbalance" else 1,
            -len(muscles),
            finding.severity.rank,
        )
        if best is None or key > best[0]:
            best = (key, finding)
    return best[1] if best is not None else None


def _score(
    exercise: Exercise, profile: ImbalanceProfile, rules: Rules
) -> tuple[int, Finding | None]:
    """How well the exercise answers the profile, and the finding that explains it."""
    score = 0
    answered = {m for f in profile.findings if _relevant(f, exercise, rules) for m in f.muscles}
    for target in exercise.targets:
        if target.muscle not in exercise.trained_muscles or target.muscle not in answered:
            continue
        weight = 2 if target.muscle in exercise.prime_movers else 1
        score += weight * profile.severity_of(target.muscle).rank
    # A test the exercise is named for (balance): answered whatever its muscles' roles.
    named = [
        f
        for f in profile.findings
        if f.severity.rank
        and rules.assessment.tests.get(f.id.split(".")[0]) is not None
        and exercise.id in rules.assessment.tests[f.id.split(".")[0]].trained_by
    ]
    score += sum(2 * f.severity.rank for f in named)
    # Chosen "for" a finding only when it works the implicated muscle as a prime mover: a
    # band turn-out is not added for the toe extensors.
    if not named and not any(profile.severity_of(m).rank for m in exercise.prime_movers & answered):
        return 0, None
    return score, best_finding(exercise, profile, rules)


def _choose_main(
    phase: Phase,
    profile: ImbalanceProfile,
    preferences: Preferences,
    rules: Rules,
    pathway: Condition = Condition.NOT_SURE,
) -> tuple[list[tuple[Exercise, str]], list[str]]:
    """The main exercises of a phase's session with why, and notes on what waits."""
    definition = rules.phases[phase]
    notes: list[str] = []
    hops = hop_ready(profile, rules)
    waiting_hops = [
        i
        for i in definition.main
        if i in rules.library
        and rules.library[i].kind is Kind.PLYOMETRIC
        and _usable(i, phase, preferences, rules, pathway, profile=profile)
    ]
    if waiting_hops and not hops.met:
        notes.append(
            "Hopping exercises wait until the hop tests show you are ready: "
            f"{describe_unmet(hops)}."
        )

    def usable(exercise_id: str, brought: bool = False) -> bool:
        return _usable(
            exercise_id,
            phase,
            preferences,
            rules,
            pathway,
            brought=brought,
            hops=hops.met,
            profile=profile,
        )

    own = _own_exercises(pathway, phase, rules, lambda i: usable(i, True))
    own_ids = {e.id for e, _ in own}
    candidates = [rules.library[i] for i in definition.main if i not in own_ids and usable(i)]
    if load_restriction(pathway, profile, rules) is not None:
        # Off the feet, the phase's own list is short: the library's seated and lying
        # exercises of the phase stand in for the standing ones.
        listed = set(definition.main) | own_ids
        candidates += [
            e
            for i, e in sorted(rules.library.items())
            if i not in listed
            and phase in e.phases
            and e.kind is not Kind.MOBILITY
            and e.kind is not Kind.WARM_UP
            and usable(i)
        ]
    if not candidates and not own:
        raise PlanningError(
            f"no exercise of phase {phase.number} fits the equipment at hand "
            f"({', '.join(e.value for e in preferences.equipment)})"
        )
    order = {e.id: n for n, e in enumerate(candidates)}
    scored = [(e, *_score(e, profile, rules)) for e in candidates]
    targeted = sorted([s for s in scored if s[1] > 0], key=lambda s: (-s[1], order[s[0].id]))
    chosen: list[tuple[Exercise, str]] = []
    taken: set[str] = set()
    # One exercise per ladder: the easiest rung the phase offers comes first in its list.
    # The pathway's own exercises were chosen together and may share a ladder.
    ladders: set[str] = set()

    def ladder_id(exercise: Exercise) -> str:
        return rules.library.ladder(exercise.id)[0].id

    def take(exercise: Exercise, reason: str, *, own_choice: bool = False) -> None:
        if exercise.id in taken or (ladder_id(exercise) in ladders and not own_choice):
            return
        if len(chosen) >= definition.max_main:
            return
        chosen.append((exercise, reason))
        taken.add(exercise.id)
        ladders.add(ladder_id(exercise))

    running = rules.pathways[pathway].running
    if (
        running is not None
        and phase.number >= running.from_phase.number
        and usable(running.exercise_id, True)
        and run_ready(profile, rules).met
    ):
        if preferences.minutes_per_session >= running.needs_minutes:
            take(
                rules.library[running.exercise_id],
                "Return to running: you meet the criteria to start the walk-run plan. "
                + rules.readiness.run_progression,
                own_choice=True,
            )
        else:
            notes.append(
                "You meet the criteria to start running again, but the walk-run blocks and "
                f"the strength work need about {running.needs_minutes} minutes together; with "
                f"{preferences.minutes_per_session} the sessions stay strength work. Give more "
                "minutes, or choose the return-to-running program."
            )
    for exercise, why in own:
        best = best_finding(exercise, profile, rules)
        numbers = f" Here: {_finding_phrase(best, rules)}." if best is not None else ""
        take(exercise, f"{why}{numbers}", own_choice=True)
    for exercise, _, finding in targeted:
        assert finding is not None
        one_leg = _one_leg_for(exercise, finding, candidates, rules, usable)
        named = ", ".join(
            m.label for m in sorted(exercise.prime_movers & set(finding.muscles))
        ) or ", ".join(m.label for m in sorted(exercise.trained_muscles & set(finding.muscles)))
        # A balance exercise has no prime movers: it is added for what its test measures.
        muscles = f"the {named}" if named else _trained_skill(finding, rules)
        count = len(exercise.prime_movers & set(finding.muscles)) or len(
            exercise.trained_muscles & set(finding.muscles)
        )
        plural = count > 1 or "muscles" in named or " and " in named
        because = _strength_for_finding(exercise, finding, count, rules, plural=plural)
        if one_leg is not None:
            take(
                one_leg,
                f"Added for {muscles}, one leg at a time so the stronger side cannot do "
                f"the weaker side's work: {because}.",
            )
            continue
        take(exercise, f"Added for {muscles}: {because}.")
    # Antagonist partners of what was chosen.
    for first, second in rules.phases.antagonist_pairs:
        for a, b in ((first, second), (second, first)):
            if a in taken and b not in taken and usable(b, brought=a in own_ids):
                take(
                    rules.library[b],
                    f"Paired with {rules.library[a].name.lower()} to keep "
                    "the front and back of the lower leg in balance.",
                )
    # Round the session out with the phase's staples, alternating distal and proximal.
    rest = [e for e in candidates if e.id not in taken]
    if proximal_allowed(pathway, phase, rules):
        distal = [e for e in rest if not _is_proximal_strength(e)]
        proximal = [e for e in rest if _is_proximal_strength(e)]
        rest = [e for pair in _interleave(proximal, distal) for e in pair]
    base_count = max(MIN_MAIN + 2, len(chosen))
    for exercise in rest:
        if len(chosen) >= min(definition.max_main, base_count):
            break
        why = (
            "Proximal-chain work joins in this phase to steady the knee and hip."
            if _is_proximal_strength(exercise)
            else f"A core exercise of phase {phase.number} ({phase.label.lower()})."
        )
        take(exercise, why)
    # A phase that brings in the hip and thigh keeps one exercise for them, even when the
    # condition's own exercises filled the session.
    if (
        rules.phases[phase].proximal
        and not any(_is_proximal_strength(e) for e, _ in chosen)
        and len(chosen) < definition.max_main
    ):
        for extra in (e for e in rest if _is_proximal_strength(e)):
            take(extra, "Proximal-chain work joins in this phase to steady the knee and hip.")
            if extra.id in taken:
                break
    return chosen, notes


def _strength_for_finding(
    exercise: Exercise, finding: Finding, count: int, rules: Rules, *, plural: bool
) -> str:
    """Why strength work answers the finding (P14): a balance result is not a strength
    result, so strength work chosen for one says how the muscles come into the test instead
    of giving the balance number as if it measured them."""
    phrase = _finding_phrase(finding, rules)
    test = rules.assessment.tests.get(finding.id.split(".")[0])
    if not count or test is None or test.kind != "balance":
        return phrase
    if _trains_test_of(finding, exercise, rules):
        return phrase
    many = plural
    they, them = ("they help", "them") if many else ("it helps", "it")
    return (
        f"{they} hold the ankle steady on one leg, and {phrase}; no test here measures "
        f"{them} on {'their' if many else 'its'} own"
    )


def _trained_skill(finding: Finding, rules: Rules) -> str:
    """What an exercise without prime movers trains for a finding: what its test measures
    (balance, range of motion)."""
    test = rules.assessment.tests.get(finding.id.split(".")[0])
    return test.kind if test is not None else "this finding"


def _one_leg_for(
    exercise: Exercise,
    finding: Finding,
    candidates: list[Exercise],
    rules: Rules,
    usable: Callable[[str], bool],
) -> Exercise | None:
    """For a marked one-sided deficit, the one-leg exercise that trains the same prime
    movers in place of a two-legged one: its own one-leg version, else one of the phase's
    list, else one from the library that belongs to the phase — never an easier kind of
    work than the two-legged one."""
    if (
        exercise.laterality is not Laterality.BOTH_LEGS
        or finding.kind != "side_deficit"
        or finding.severity is not Severity.SEVERE
    ):
        return None
    wanted = exercise.prime_movers & set(finding.muscles)
    if not wanted:
        return None
    listed = [e.id for e in candidates]
    # Not a step back to the first phase's gentle activation work once past it.
    gentler = Phase.ACTIVATION not in exercise.phases
    others = sorted(
        (
            e
            for e in rules.library.values()
            if e.laterality is Laterality.ONE_LEG
            and e.kind is exercise.kind
            and e.prime_movers & wanted
            and not (gentler and Phase.ACTIVATION in e.phases)
        ),
        key=lambda e: (e.id not in listed, e.id),
    )
    options = [exercise.single_leg_version] if exercise.single_leg_version else []
    options += [e.id for e in others]
    for option in options:
        if option is not None and usable(option):
            return rules.library[option]
    return None


def _own_exercises(
    pathway: Condition, phase: Phase, rules: Rules, usable: Callable[[str], bool]
) -> list[tuple[Exercise, str]]:
    """The pathway's own exercises of the phase that can be done, with why; a stand-in only
    when the exercise it replaces cannot be done."""
    replaces = stand_ins(pathway, rules)
    return [
        (rules.library[i], why)
        for i, why in brought_in(pathway, phase, rules)
        if usable(i) and not (i in replaces and usable(replaces[i]))
    ]


def _interleave(a: list[Exercise], b: list[Exercise]) -> list[tuple[Exercise, ...]]:
    out: list[tuple[Exercise, ...]] = []
    for i in range(max(len(a), len(b))):
        out.append(tuple(x[i] for x in (a, b) if i < len(x)))
    return out


def _choose_extra(
    part: Part,
    ids: tuple[str, ...],
    profile: ImbalanceProfile,
    preferences: Preferences,
    rules: Rules,
    phase: Phase,
    pathway: Condition = Condition.NOT_SURE,
) -> list[tuple[Exercise, str]]:
    own = rules.pathways[pathway].mobility if part == "mobility" else ()
    usable = [rules.library[i] for i in (*own, *(i for i in ids if i not in own))]
    restriction = load_restriction(pathway, profile, rules)
    usable = [
        e
        for e in usable
        if e.needs_only(preferences.equipment)
        and avoided(pathway, e.id, phase, rules) is None
        and load_allows(e, restriction)
    ]
    limit = MAX_WARM_UP if part == "warm_up" else MAX_MOBILITY
    if part == "mobility":
        restricted = profile.comparison("knee_to_wall_cm")
        tight = restricted is not None and restricted.severity is not Severity.NONE
        if tight:
            usable.sort(
                key=lambda e: (
                    e.id not in own,
                    0 if {Muscle.SOLEUS, Muscle.GASTROCNEMIUS} & e.muscles else 1,
                )
            )
            reason_tight = (
                f"Calf and ankle mobility first: the {restricted.weaker_side.value if restricted and restricted.weaker_side else ''} "
                f"knee-to-wall LSI is {restricted.lsi:g} %."
                if restricted and restricted.lsi is not None
                else ""
            )
        else:
            reason_tight = ""
        return [
            (
                e,
                "A stretch this condition's plan keeps in every session."
                if e.id in own
                else reason_tight
                if tight and {Muscle.SOLEUS, Muscle.GASTROCNEMIUS} & e.muscles
                else "Keeps the ankle, foot and hip moving freely after the main work.",
            )
            for e in usable[:limit]
        ]
    return [(e, "Warms up the joints before the main work.") for e in usable[:limit]]


# ----- dosing ---------------------------------------------------------------------------


def _weaker_side_for(
    exercise: Exercise, profile: ImbalanceProfile, rules: Rules
) -> tuple[Side | None, str]:
    """The side that needs more of this exercise, and the finding that says so: the side
    with the problem when one side has it, else the side the findings show weaker."""
    involved = profile.involved_side
    weight = {Side.LEFT: 0, Side.RIGHT: 0}
    best: dict[Side, Finding] = {}
    for finding in profile.findings:
        if finding.side is None or not set(finding.muscles) & exercise.trained_muscles:
            continue
        weight[finding.side] += finding.severity.rank
        current = best.get(finding.side)
        if current is None or finding.severity.rank > current.severity.rank:
            best[finding.side] = finding
    if involved is not None:
        found = best_finding(exercise, profile, rules)
        if found is not None and found.side is not involved:
            found = None
        detail = f" ({_finding_phrase(found, rules)})" if found is not None else ""
        return involved, f"it is the side with the problem{detail}"
    if weight[Side.LEFT] != weight[Side.RIGHT]:
        side = Side.LEFT if weight[Side.LEFT] > weight[Side.RIGHT] else Side.RIGHT
        return side, f"it is the weaker side here ({_finding_phrase(best[side], rules)})"
    if profile.weaker_side is not None:
        return profile.weaker_side, "it is the weaker side overall"
    return None, ""


def dose_for(
    exercise: Exercise,
    definition: PhaseDefinition,
    profile: ImbalanceProfile,
    rules: Rules,
    *,
    part: Part = "main",
    extra_set_weaker: bool = True,
    sets: int | None = None,
    amount: float | None = None,
    load_kg: float | None = None,
    pathway: Condition = Condition.NOT_SURE,
) -> tuple[tuple[Dose, ...], str]:
    """Doses for one exercise in a phase: per side for one-leg work, and one set more for the
    side with the problem (or, when both sides have it, the weaker side). A pathway may stop
    the reps lower (its strength range), so that load comes sooner."""
    base = exercise.dose
    own = strength_range(pathway, exercise.id, rules) if part == "main" else None
    if own is not None:
        base = base.model_copy(
            update={"range_high": own.range_high, "amount": min(base.amount, own.range_high)}
        )
    high = profile.irritability.level is Irritability.HIGH
    if sets is None:
        if part != "main":
            sets = base.sets
        elif high:
            sets = definition.dose.sets_min
        else:
            sets = min(max(base.sets, definition.dose.sets_min), definition.dose.sets_max)
    if amount is None:
        gentle = part == "main" and (high or definition.dose.start_at == "range_low")
        amount = base.range_low if gentle else base.amount
    knob = exercise.knob.default if exercise.knob else None
    if exercise.knob is not None and high:
        knob = exercise.knob.easier_setting(exercise.knob.default) or knob
    common: dict[str, Any] = {
        "amount": amount,
        "range_low": min(base.range_low, amount),
        "range_high": max(base.range_high, amount),
        "tempo": exercise.tempo,
        "rest_seconds": base.rest_seconds,
        "load_kg": load_kg if load_kg is not None else exercise.default_load_kg,
        "knob": knob,
    }
    tested = _from_test(exercise, profile, rules) if part == "main" else {}

    def on(side: Side | None) -> dict[str, Any]:
        # P10: an exercise the tests measure starts below what that side managed.
        top = tested.get(side)
        if top is None or top >= amount:
            return common
        return {**common, "amount": top, "range_low": min(base.range_low, top)}

    if exercise.laterality is Laterality.BOTH_LEGS:
        both = [v for v in tested.values() if v is not None]
        tested = {None: min(both)} if both else {}
        return (Dose(side=None, sets=sets, **on(None)),), _test_note(tested, amount, rules)
    weaker, why = (
        _weaker_side_for(exercise, profile, rules)
        if extra_set_weaker and part == "main"
        else (None, "")
    )
    doses = tuple(
        Dose(side=side, sets=min(10, sets + (1 if side is weaker else 0)), **on(side))
        for side in Side
    )
    note = f" An extra set on the {weaker.value}: {why}." if weaker is not None else ""
    lowered = next((d for d in doses if d.side is weaker and d.amount < amount), None)
    if lowered is not None:
        # The side with the problem keeps the larger share of the work (seeds/002): the
        # other side starts no higher than its sets × reps.
        doses = tuple(
            d
            if d is lowered
            else d.model_copy(
                update={
                    "amount": (
                        a := min(d.amount, max(1.0, (lowered.sets * lowered.amount) // d.sets))
                    ),
                    "range_low": min(d.range_low, a),
                }
            )
            for d in doses
        )
    return doses, note + _test_note(tested, amount, rules)


def _from_test(
    exercise: Exercise, profile: ImbalanceProfile, rules: Rules
) -> dict[Side | None, float | None]:
    """P10: for an exercise a test measures (`retest_worse_caps`), the most reps each side
    starts with — `start_from_test_fraction` (U) of what it managed on the test, at least 1."""
    p = rules.progression
    if exercise.dose_type is not DoseType.REPS:
        return {}
    found: dict[Side | None, float | None] = {}
    for test, exercise_ids in p.retest_worse_caps.items():
        comparison = profile.comparison(test)
        if exercise.id not in exercise_ids or comparison is None:
            continue
        for side in Side:
            value = comparison.value(side)
            if value is not None:
                found[side] = max(1.0, float(math.floor(value * p.start_from_test_fraction)))
    return found


def _test_note(tested: dict[Side | None, float | None], amount: float, rules: Rules) -> str:
    lowered = [
        f"{value:g} reps a set on the {side.value}" if side is not None else f"{value:g} reps a set"
        for side, value in tested.items()
        if value is not None and value < amount
    ]
    if not lowered:
        return ""
    share = round(rules.progression.start_from_test_fraction * 100)
    return (
        f" Starts at {', '.join(lowered)}: about {share} % of what that leg "
        "managed on the test, so each set leaves reps in reserve."
    )


def build_session(
    phase: Phase,
    profile: ImbalanceProfile,
    preferences: Preferences,
    rules: Rules,
    keep: dict[str, Dose] | None = None,
    *,
    pathway: Condition = Condition.NOT_SURE,
) -> tuple[tuple[Slot, ...], tuple[str, ...]]:
    """The session of a phase on a condition pathway: warm-up, main work (paired), mobility —
    fitted to the time. The side with the problem gets the extra set.

    `keep` carries doses from a previous program (by dose key) so progress is not lost.
    """
    definition = rules.phases[phase]
    main, notes = _choose_main(phase, profile, preferences, rules, pathway)
    warm = _choose_extra("warm_up", definition.warm_up, profile, preferences, rules, phase, pathway)
    mobility = _choose_extra(
        "mobility", definition.mobility, profile, preferences, rules, phase, pathway
    )
    main_ids = {e.id for e, _ in main}
    pairs: dict[str, str] = {}
    for first, second in rules.phases.antagonist_pairs:
        if first in main_ids and second in main_ids and first not in pairs and second not in pairs:
            pairs[first], pairs[second] = second, first
    # Order: paired exercises side by side.
    ordered: list[tuple[Exercise, str]] = []
    placed: set[str] = set()
    lookup = {e.id: (e, r) for e, r in main}
    for exercise, reason in main:
        if exercise.id in placed:
            continue
        ordered.append((exercise, reason))
        placed.add(exercise.id)
        partner = pairs.get(exercise.id)
        if partner and partner not in placed:
            ordered.append(lookup[partner])
            placed.add(partner)

    def make(part: Part, items: list[tuple[Exercise, str]]) -> list[Slot]:
        slots = []
        for exercise, reason in items:
            doses, note = dose_for(exercise, definition, profile, rules, part=part, pathway=pathway)
            if keep:
                doses = tuple(keep.get(dose_key(exercise.id, d.side), d) for d in doses)
            pair = pairs.get(exercise.id) if part == "main" else None
            pair_note = f" Alternate sets with {rules.library[pair].name.lower()}." if pair else ""
            slots.append(
                Slot(
                    exercise_id=exercise.id,
                    part=part,
                    doses=doses,
                    pair_with=pair,
                    reason=(reason + note + pair_note).strip(),
                )
            )
        return slots

    slots = make("warm_up", warm) + make("main", ordered) + make("mobility", mobility)
    core = session_core(
        pathway, phase, profile, [e for e, _ in main], rules, [e for e, _ in mobility]
    )
    fitted, reasons = fit_time(
        slots, preferences.minutes_per_session, rules, core=core, profile=profile
    )
    return fitted, (*notes, *reasons)


def session_core(
    pathway: Condition,
    phase: Phase,
    profile: ImbalanceProfile,
    main: Iterable[Exercise],
    rules: Rules,
    mobility: Sequence[Exercise] = (),
) -> frozenset[str]:
    """What the pathway loads in this phase (and the run, once it has joined), and the main
    work named for a marked deficit: it loses sets before it is left out, and no time
    fitting leaves it out. Of the stretches (`mobility`, in session order), the ones the
    pathway names and one for each measured mobility deficit stay too (R14,
    `kept_stretches`)."""
    running = rules.pathways[pathway].running
    return frozenset(
        [i for i, _ in brought_in(pathway, phase, rules)]
        + ([running.exercise_id] if running is not None else [])
        + [e.id for e in main if _named_for_marked_deficit(e, profile, rules)]
        + kept_stretches(pathway, profile, mobility, rules)
    )


def kept_stretches(
    pathway: Condition, profile: ImbalanceProfile, mobility: Sequence[Exercise], rules: Rules
) -> list[str]:
    """R14: the stretches no time fitting leaves out, of those in the session: the ones the
    pathway names (`pathways.yaml` `mobility`: the sole of the foot for plantar heel pain)
    and, for each mobility test that shows a deficit (knee-to-wall), the first stretch in
    the session that stretches the test's muscles — the one the planner put first for it
    (`_choose_extra`)."""
    own = rules.pathways[pathway].mobility
    kept = [e.id for e in mobility if e.id in own]
    for test_id, test in rules.assessment.tests.items():
        found = profile.comparison(test_id)
        if test.kind != "mobility" or found is None or found.severity is Severity.NONE:
            continue
        first = next(
            (
                e
                for e in mobility
                if any(t.role is Role.STRETCHED and t.muscle in test.muscles for t in e.targets)
            ),
            None,
        )
        if first is not None and first.id not in kept:
            kept.append(first.id)
    return kept


EXTRA_PARTS: tuple[Part, ...] = ("mobility", "warm_up")


def extra_to_leave_out(
    slots: Sequence[Slot], core: frozenset[str] = frozenset(), *, stretches_kept: int = 1
) -> int | None:
    """The next warm-up or stretch to leave out when a session runs over the minutes — the
    one order the planner (`fit_time`) and the engine (Q2) both follow: the stretches
    first, then the warm-up, the last added first; the warm-up keeps one item, the
    stretches `stretches_kept` (one in a new plan; the engine may leave out the last one to
    make room for a progression), and nothing the pathway loads (`core`) goes. None when
    nothing is left to leave out."""
    for part in EXTRA_PARTS:
        positions = [i for i, s in enumerate(slots) if s.part == part]
        if len(positions) <= (stretches_kept if part == "mobility" else 1):
            continue
        free = [i for i in positions if slots[i].exercise_id not in core]
        if free:
            return max(free)
    return None


def fill_target(minutes: int, rules: Rules) -> float:
    """The seconds a plan or a new phase is fitted to: a share of the person's minutes
    (`session_fill_fraction`, U), so the first weeks have room to progress (Q2)."""
    return minutes * 60 * rules.progression.session_fill_fraction


def session_minutes(slots: tuple[Slot, ...] | list[Slot], rules: Rules) -> float:
    """Estimated minutes of a session from dose, tempo and rest."""
    return sum(slot_seconds(rules.library[s.exercise_id], s) for s in slots) / 60


def fit_time(
    slots: list[Slot],
    minutes: int,
    rules: Rules,
    *,
    keep_main: bool = False,
    core: frozenset[str] = frozenset(),
    profile: ImbalanceProfile | None = None,
) -> tuple[tuple[Slot, ...], tuple[str, ...]]:
    """Trim a session to the time budget: extras first, then long walking shortened to the
    bottom of its range, then the least targeted main work, then sets — never below two
    main exercises and one set. The `core` exercises (what the condition pathway loads, the
    item with the weaker side's extra set) lose sets before they are left out; a pair goes
    together or stays together; what was left out comes back if it fits after all. With
    `keep_main` (a published protocol) only the warm-up and stretches are trimmed."""
    reasons: list[str] = []
    # Q2: the warm-up, the stretches and the sets are fitted to a share of the minutes, so
    # the first progressions have room; main exercises are left out only for the minutes
    # themselves, so the headroom costs no content.
    target = fill_target(minutes, rules)
    budget = minutes * 60
    current = list(slots)

    def total() -> float:
        return session_minutes(current, rules) * 60

    dropped: list[str] = []
    while total() > target and (out := extra_to_leave_out(current, core)) is not None:
        dropped.append(rules.library[current.pop(out).exercise_id].name)
    shortened: list[str] = []
    for i, slot in enumerate(current):
        exercise = rules.library[slot.exercise_id]
        if keep_main or total() <= budget or slot.part != "main":
            continue
        if exercise.dose_type is DoseType.MINUTES and any(
            d.amount > d.range_low for d in slot.doses
        ):
            current[i] = slot.model_copy(
                update={
                    "doses": tuple(
                        d.model_copy(update={"amount": max(d.range_low, math.ceil(d.amount / 2))})
                        for d in slot.doses
                    )
                }
            )
            shortened.append(exercise.name.lower())
    removed: list[tuple[int, Slot]] = []
    main_positions = [i for i, s in enumerate(current) if s.part == "main"]
    while not keep_main and total() > budget and len(main_positions) > MIN_MAIN:
        # The last main exercises were added to round the session out: drop them first;
        # a paired exercise goes with its partner, or not at all. The only proximal-strength
        # exercise stays: in a proximal phase it is what the phase is for.
        proximal = [
            i
            for i in main_positions
            if _is_proximal_strength(rules.library[current[i].exercise_id])
        ]
        ids = {current[i].exercise_id: i for i in main_positions}

        def group(i: int, ids: dict[str, int] = ids) -> list[int]:
            partner = current[i].pair_with
            return sorted({i, ids[partner]}) if partner in ids else [i]

        choices = [
            i
            for i in reversed(main_positions)
            if proximal != [i]
            and all(current[j].exercise_id not in core for j in group(i))
            and len(main_positions) - len(group(i)) >= MIN_MAIN
        ]
        if not choices:
            break

        def targeting(i: int) -> int:
            if profile is None:
                return 0
            return max(
                _score(rules.library[current[j].exercise_id], profile, rules)[0] for j in group(i)
            )

        # The least targeted goes first; among equals, the last added.
        index = min(choices, key=targeting)
        for j in reversed(group(index)):
            removed.append((j, current[j]))
            current.pop(j)
        main_positions = [i for i, s in enumerate(current) if s.part == "main"]
    # What was left out comes back, easiest first, where it fits after all.
    # A pair comes back together.
    back: dict[str, list[tuple[int, Slot]]] = {}
    for position, slot in sorted(removed, key=lambda r: r[0]):
        key = min(slot.exercise_id, slot.pair_with or slot.exercise_id)
        back.setdefault(key, []).append((position, slot))

    def worth(items: list[tuple[int, Slot]]) -> int:
        if profile is None:
            return 0
        return max(_score(rules.library[slot.exercise_id], profile, rules)[0] for _, slot in items)

    for items in sorted(back.values(), key=lambda g: -worth(g)):
        trial = [*current]
        for position, slot in items:
            trial.insert(min(position, len(trial)), slot)
        if session_minutes(trial, rules) * 60 <= budget:
            current = trial
    kept = {s.exercise_id for s in current}
    dropped += [rules.library[s.exercise_id].name for _, s in removed if s.exercise_id not in kept]
    shortened = [
        name for name in shortened if any(rules.library[i].name.lower() == name for i in kept)
    ]
    current = [
        s.model_copy(update={"pair_with": None}) if s.pair_with and s.pair_with not in kept else s
        for s in current
    ]
    trimmed_sets = False
    # The core exercises lose sets only after the rest.
    order = sorted(range(len(current)), key=lambda i: current[i].exercise_id in core)
    # For the headroom only what the pathway does not load gives sets, and none goes below
    # two; for the minutes themselves, every exercise, down to one.
    for goal, fewest, spared in ((target, 2, core), (budget, 1, frozenset[str]())):
        while not keep_main and total() > goal:
            changed = False
            for i in order:
                slot = current[i]
                if slot.exercise_id in spared:
                    continue
                # Every side loses a set together, so the extra set of the side with the
                # problem survives the trimming.
                base = min(d.sets for d in slot.doses)
                if base > fewest and total() > goal:
                    current[i] = slot.model_copy(
                        update={
                            "doses": tuple(
                                d.model_copy(update={"sets": d.sets - 1}) for d in slot.doses
                            )
                        }
                    )
                    changed = trimmed_sets = True
            if not changed:
                break
    # Only when nothing else is left: the extra set goes too.
    for i, slot in enumerate(current):
        if not keep_main and total() > budget and any(d.sets > 1 for d in slot.doses):
            current[i] = slot.model_copy(
                update={"doses": tuple(d.model_copy(update={"sets": 1}) for d in slot.doses)}
            )
            trimmed_sets = True
    if shortened:
        reasons.append(
            f"Shortened to the bottom of its range to fit {minutes} minutes: "
            f"{', '.join(shortened)}."
        )
    if dropped:
        reasons.append(f"Left out to fit {minutes} minutes: {', '.join(dropped)}.")
    if trimmed_sets:
        reasons.append(f"Sets trimmed to fit {minutes} minutes.")
    if keep_main and total() > budget:
        reasons.append(
            f"The protocol's own sets and reps take longer than {minutes} minutes; they are "
            "kept whole, since that dose is what was tested."
        )
    reasons.append(estimate_reason(current, minutes, rules))
    return tuple(current), tuple(reasons)


ESTIMATE_PREFIX = "Estimated "


def minutes_shown(slots: tuple[Slot, ...] | list[Slot], rules: Rules) -> int:
    """The session's estimated minutes as every page, document and note says them: rounded
    up (a session is not promised shorter than it is), at least one (R9)."""
    return max(1, math.ceil(session_minutes(slots, rules) - 1e-9))


def estimate_reason(slots: tuple[Slot, ...] | list[Slot], minutes: int, rules: Rules) -> str:
    """The note on the session's estimated minutes against the person's budget — written
    when a plan is built and rewritten whenever a decision changes the session (P1)."""
    return f"{ESTIMATE_PREFIX}{minutes_shown(slots, rules)} minutes per session (budget {minutes})."


# ----- templates ------------------------------------------------------------------------


def template_load_missing(template: Template, preferences: Preferences, rules: Rules) -> str | None:
    """A protocol that loads its exercises (a first load, or a weight from the start) when
    none of them can take a weight with what the person has: what would add it, in words
    ("a backpack, a dumbbell or a machine"); None when it does not load or one can."""
    if not template.protocol or (template.first_load_kg is None and not template.loaded_from_start):
        return None
    loadable = [
        rules.library[item.exercise_id]
        for item in template.items
        if item.part == "main" and rules.library[item.exercise_id].loadable
    ]
    if not loadable or any(e.load_at_hand(preferences.equipment) for e in loadable):
        return None
    means = sorted({m.value.replace("_", " ") for e in loadable for m in e.load_with})
    words = [f"a {m}" for m in means] or ["a weight"]
    return in_words(words, "or")


def _from_template(
    profile: ImbalanceProfile,
    preferences: Preferences,
    rules: Rules,
    start: dt.date,
    name: str,
    outcomes: dict[str, float],
    condition: Condition = Condition.NOT_SURE,
    stage: int = 0,
) -> Program:
    whole = rules.templates.templates.get(name)
    if whole is None:
        known = ", ".join(sorted(rules.templates.templates))
        raise PlanningError(f"unknown template {name!r}; templates: {known}")
    # A protocol in several phases runs one at a time: this one's phase, items and blocks.
    template = whole.at_stage(stage)
    pathway = rules.pathways[condition]
    if template.needs == "run_ready" and stage == 0:
        ready = run_ready(profile, rules)
        if not ready.met:
            raise PlanningError(
                f"{template.name} cannot start yet; the criteria to start running are not "
                f"met: {describe_unmet(ready)}"
            )
    definition = rules.phases[template.phase]
    irritable = profile.irritability.level is Irritability.HIGH
    restriction = load_restriction(condition, profile, rules)
    slots: list[Slot] = []
    reasons: list[str] = [f"{template.name}: {template.description} Source: {template.source}."]
    missing = template_load_missing(template, preferences, rules)
    if missing is not None:
        when = (
            "is done with a weight from the first week"
            if template.loaded_from_start
            else "adds weight once the exercises are done without pain"
        )
        reasons.append(
            f"{template.name} {when}, and you listed nothing to add it with ({missing}). "
            "Add it to your equipment when you have one, or ask your clinician."
        )
    if whole.phases:
        current = whole.stage(stage)
        reasons.append(
            f"Phase {stage + 1} of {whole.stage_count}: {current.name}."
            + (f" {stage_rule_words(current.move_on, rules)}" if current.move_on else "")
        )
    if name not in pathway.templates:
        reasons.append(
            f"Chosen by hand: not one of the programs suggested for {pathway.name[0].lower()}{pathway.name[1:]}."
        )
    sets_amount = template_block(template, 1)
    if template.blocks:
        blocks = []
        for b in template.blocks:
            weeks = (
                f"week {b.weeks_from}"
                if b.weeks_from == b.weeks_to
                else f"weeks {b.weeks_from}–{b.weeks_to}"
            )
            blocks.append(f"{weeks}: {b.note or f'{b.sets} × {b.amount:g}'}")
        reasons.append(f"The blocks: {'; '.join(blocks)}.")
    lighter: list[str] = []
    left_out: list[str] = []
    one_sided: list[str] = []
    for item in template.items:
        exercise = _template_exercise(item.exercise_id, item.alternatives, preferences, rules)
        if exercise is None:
            needs = ", ".join(e.value for e in rules.library[item.exercise_id].equipment)
            reasons.append(f"{rules.library[item.exercise_id].name} left out: needs {needs}.")
            continue
        skip = avoided(condition, exercise.id, template.phase, rules)
        if skip is not None:
            reasons.append(f"{exercise.name} left out for this condition: {skip.why}")
            continue
        if not load_allows(exercise, restriction):
            reasons.append(
                f"{exercise.name} left out: it is done on your feet, and full weight on the "
                "leg is not yet allowed."
            )
            continue
        if irritable and item.part == "main" and not item.keep_when_irritable:
            left_out.append(exercise.name)
            continue
        sets, amount = (
            sets_amount if sets_amount and item.part == "main" else (item.sets, item.amount)
        )
        load_kg = item.load_kg
        if irritable and item.part == "main":
            sets, amount, load_kg, change = _irritable_start(
                template, item, exercise, sets, amount, load_kg, rules
            )
            if change:
                lighter.append(change)
        doses, note = dose_for(
            exercise,
            definition,
            profile,
            rules,
            part=item.part,
            extra_set_weaker=item.extra_set_weaker_side,
            sets=sets,
            amount=amount,
            load_kg=load_kg,
            pathway=condition,
        )
        if item.tempo is not None:
            doses = tuple(d.model_copy(update={"tempo": item.tempo}) for d in doses)
        sole = _affected_side_only(template, item, exercise, profile)
        if sole is not None and template.affected_side_only is not None:
            doses = tuple(d for d in doses if d.side is sole)
            note = f" {sole.value.capitalize()} leg only: {template.affected_side_only.cue}"
            one_sided.append(exercise.name)
        slots.append(
            Slot(
                exercise_id=exercise.id,
                part=item.part,
                doses=doses,
                pair_with=item.pair_with,
                reason=(
                    f"Part of {template.name}." + (f" {item.note}" if item.note else "") + note
                ).strip(),
            )
        )
    # A routine (not a published protocol) keeps what the condition's own plan loads in
    # that phase: hip and knee work for kneecap pain, balance for the unstable ankle.
    added: list[str] = []
    if not template.protocol:
        have = {s.exercise_id for s in slots}

        def doable(exercise_id: str) -> bool:
            exercise = rules.library.get(exercise_id)
            return (
                exercise is not None
                and exercise.needs_only(preferences.equipment)
                and avoided(condition, exercise_id, template.phase, rules) is None
                and load_allows(exercise, restriction)
            )

        for exercise, why in _own_exercises(condition, template.phase, rules, doable):
            exercise_id = exercise.id
            if exercise_id in have:
                continue
            doses, note = dose_for(
                exercise, definition, profile, rules, part="main", pathway=condition
            )
            slots.append(
                Slot(
                    exercise_id=exercise_id,
                    part="main",
                    doses=doses,
                    reason=f"Added to {template.name} for this condition: {why}{note}",
                )
            )
            added.append(exercise.name.lower())
            have.add(exercise_id)
    if added:
        reasons.append(
            f"Added to {template.name} for {pathway.name[0].lower()}{pathway.name[1:]}: "
            f"{', '.join(added)}."
        )
    if not any(s.part == "main" for s in slots):
        raise PlanningError(
            f"none of the {template.name} exercises fits the equipment at hand or suits "
            f"{pathway.name[0].lower()}{pathway.name[1:]}"
        )
    involved = profile.involved_side
    if one_sided and template.affected_side_only is not None and involved is not None:
        rule = template.affected_side_only
        reasons.append(
            f"Only the {involved.value} leg, the painful one, does {', '.join(n.lower() for n in one_sided)}: "
            f"{rule.cue[0].lower()}{rule.cue[1:]} Source: {rule.source} [{rule.confidence}]."
        )
    if lighter or left_out:
        parts = []
        if lighter:
            parts.append(f"it starts lighter — {'; '.join(lighter)}")
        if left_out:
            parts.append(f"left out until it settles: {', '.join(left_out)}")
        reasons.append(
            "Irritability is high, so "
            + " and ".join(parts)
            + f" ({rules.templates.irritable_start.source} [{rules.templates.irritable_start.confidence}])."
        )
    ids = {s.exercise_id for s in slots}
    slots = [
        s.model_copy(update={"pair_with": None}) if s.pair_with and s.pair_with not in ids else s
        for s in slots
    ]
    extra_warm = (
        _choose_extra(
            "warm_up", definition.warm_up, profile, preferences, rules, template.phase, condition
        )
        if template.include_warm_up
        else []
    )
    extra_mobility = (
        _choose_extra(
            "mobility", definition.mobility, profile, preferences, rules, template.phase, condition
        )
        if template.include_mobility
        else []
    )
    extras: tuple[tuple[Part, list[tuple[Exercise, str]]], ...] = (
        ("warm_up", extra_warm),
        ("mobility", extra_mobility),
    )
    for part, items in extras:
        for exercise, reason in items:
            doses, _ = dose_for(exercise, definition, profile, rules, part=part)
            slot = Slot(exercise_id=exercise.id, part=part, doses=doses, reason=reason)
            if part == "warm_up":
                slots.insert(0, slot)
            else:
                slots.append(slot)
    # What answers the person's marked deficit, the item with the weaker side's extra set and
    # what the condition brought in lose sets before they are left out; so does the running
    # of a running routine (without it the routine is not the one chosen).
    core = frozenset(
        [i.exercise_id for i in template.items if i.extra_set_weaker_side]
        + [
            i.exercise_id
            for i in template.items
            if i.exercise_id in rules.readiness.running_exercises
        ]
        + [s.exercise_id for s in slots if s.reason.startswith(f"Added to {template.name}")]
        + [
            s.exercise_id
            for s in slots
            if s.part == "main"
            and answers_marked_deficit(rules.library[s.exercise_id], profile, rules)
        ]
    )
    fitted, fit_reasons = fit_time(
        slots,
        preferences.minutes_per_session,
        rules,
        keep_main=template.protocol,
        core=core,
        profile=profile,
    )
    return Program(
        version=1,
        template=name,
        phase=template.phase,
        phase_started=start,
        start_date=start,
        training_days=template.training_days,
        times_per_day=template.times_per_day,
        weeks=template.weeks,
        stage=stage,
        slots=fitted,
        weaker_side=profile.weaker_side,
        profile=profile,
        baseline=profile,
        preferences=preferences,
        reasons=(*reasons, *fit_reasons),
        outcome_baseline=dict(outcomes),
        outcome_latest=dict(outcomes),
        pathway=condition,
    )


def _irritable_start(
    template: Template,
    item: TemplateItem,
    exercise: Exercise,
    sets: int,
    amount: float,
    load_kg: float | None,
    rules: Rules,
) -> tuple[int, float, float | None, str]:
    """A lighter start within the template's own range while irritability is high: fewer sets
    and (unless the blocks fix the reps) fewer reps, never below the exercise's range; a
    periodised protocol keeps its reps and starts its first block without added load."""
    start = rules.templates.irritable_start
    new_sets = max(min(start.min_sets, sets), sets - start.sets_fewer_by)
    if template.blocks:
        new_amount = amount
        new_load = start.first_block_load_kg if start.first_block_load_kg else None
    else:
        new_amount = float(
            min(amount, max(exercise.dose.range_low, round(amount * start.amount_fraction)))
        )
        new_load = load_kg
    if (new_sets, new_amount, new_load) == (sets, amount, load_kg):
        return sets, amount, load_kg, ""
    was = f"{sets} × {amount:g}" + (f" @ {load_kg:g} kg" if load_kg else "")
    now = f"{new_sets} × {new_amount:g}" + (f" @ {new_load:g} kg" if new_load else "")
    if template.blocks and new_load is None:
        now += " without added load"
    return new_sets, new_amount, new_load, f"{exercise.name} {now} instead of {was}"


def _affected_side_only(
    template: Template, item: TemplateItem, exercise: Exercise, profile: ImbalanceProfile
) -> Side | None:
    """The one side a protocol's exercise is for: the painful leg, when the protocol loads
    only that leg, one leg is affected and the exercise is done one leg at a time (C1)."""
    if (
        template.affected_side_only is None
        or item.part != "main"
        or exercise.laterality is not Laterality.ONE_LEG
    ):
        return None
    return profile.involved_side


def plan_stage(program: Program, rules: Rules, stage: int, day: dt.date) -> Program:
    """The program's protocol moved on to its phase `stage` from `day`: that phase's
    exercises and doses, planned as the protocol's first phase was (the person's equipment,
    minutes, irritability and condition), the program's history and state kept."""
    assert program.template is not None
    fresh = _from_template(
        program.profile,
        program.preferences,
        rules,
        day,
        program.template,
        program.outcome_latest,
        program.pathway,
        stage,
    )
    return fresh


def stage_rule_words(move_on: StageMoveOn, rules: Rules) -> str:
    """The rule for moving on, in words: "Moves on after 2 weeks." or the milestones'."""
    if move_on.after_weeks is not None:
        weeks = move_on.after_weeks
        return f"Moves on after {weeks} week{'s' if weeks != 1 else ''}."
    known = rules.phases.milestones_by_id()
    texts = [known[m].text.rstrip(".") if m in known else m for m in move_on.milestones]
    return "Moves on once these are met: " + "; ".join(texts) + "."


def template_block(template: Template, week: int) -> tuple[int, float] | None:
    """Sets and amount a periodised template asks for in a given week (1-based)."""
    for block in template.blocks:
        if block.weeks_from <= week <= block.weeks_to:
            return block.sets, block.amount
    return None


def _template_exercise(
    first: str, alternatives: tuple[str, ...], preferences: Preferences, rules: Rules
) -> Exercise | None:
    for exercise_id in (first, *alternatives):
        exercise = rules.library.get(exercise_id)
        if exercise is not None and exercise.needs_only(preferences.equipment):
            return exercise
    return None
