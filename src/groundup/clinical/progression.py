"""The progression engine: from every logged session and check-in to the next dose.

Rules, not a black box. `advance(program, history, rules, today)` walks the events that
came after the program's last evaluation and returns the new program with the decisions
that made it; `decide(...)` returns only the decisions. Every `Decision` names its rule,
the numbers it used, the change it made, one plain sentence for the person and one precise
sentence for the clinician.

Safety invariants (property-tested):
- no progression when this session's pain is above the acceptable zone, or the morning
  after the last session was worse, or morning pain is rising week on week;
- no load step above the configured cap;
- no phase advance with its gate unmet;
- the weaker side never ends up with less volume than the stronger side;
- the same inputs always give the same decisions.
"""

from __future__ import annotations

import datetime as dt
import itertools
import math
import re
from collections.abc import Callable, Iterable, Sequence
from statistics import mean
from typing import Literal

from pydantic import Field

from groundup.clinical.assessment import AffectedSide, WeightBearing
from groundup.clinical.exercises import Exercise, Frozen
from groundup.clinical.intake import outcome_scores
from groundup.clinical.logs import (
    RECHECK_REASON,
    CheckIn,
    ExerciseLog,
    Override,
    Retest,
    SessionLog,
    event_key,
)
from groundup.clinical.outcomes import Change as ChangeKind
from groundup.clinical.outcomes import interpret_change
from groundup.clinical.overrides import (
    EDITS,
    exercise_misfit,
    extra_set_lost,
    key_exercise,
    override_problem,
)
from groundup.clinical.pathways import (
    allows,
    brought_in,
    load_restriction,
    phase_gate,
    position_allows,
    resolve_criterion,
    strength_range,
    warning_raised,
)
from groundup.clinical.planning import (
    ESTIMATE_PREFIX,
    RUNNING_PREFIX,
    build_session,
    dose_for,
    estimate_reason,
    extra_to_leave_out,
    fit_time,
    pathway_notes,
    plan_stage,
    refresh_reasons,
    running_note,
    session_core,
    session_minutes,
    template_block,
)
from groundup.clinical.profile import (
    ImbalanceProfile,
    IrritabilityResult,
    SideComparison,
    build_profile,
    grade_values,
)
from groundup.clinical.program import (
    Dose,
    FlareState,
    PendingCheck,
    Program,
    ProgramEdit,
    Slot,
    dose_key,
    unit_seconds,
    work_seconds,
)
from groundup.clinical.readiness import hop_gate_status, hop_ready, run_ready
from groundup.clinical.rules import (
    IMPLICATED,
    DeficitWarning,
    GateCriterion,
    Rules,
    WeightBearingRule,
)
from groundup.clinical.vocabulary import (
    DoseType,
    Equipment,
    Kind,
    Laterality,
    Muscle,
    Phase,
    Position,
    Side,
)
from groundup.clinical.wording import in_words

CALF_MUSCLES = frozenset({Muscle.GASTROCNEMIUS, Muscle.SOLEUS})

Number = float | int | str
HistoryEvent = SessionLog | CheckIn | Retest | Override
EventKey = tuple[dt.date, int, str]

DecisionKind = Literal[
    "progress", "hold", "regress", "flare", "cap", "phase", "prompt", "refer", "info", "override"
]


class Change(Frozen):
    """One field of the program changed by a decision."""

    exercise_id: str | None = None
    side: Side | None = None
    field: str
    before: bool | Number | None = None
    after: bool | Number | None = None


class Decision(Frozen):
    rule: str
    kind: DecisionKind
    date: dt.date
    exercise_id: str | None = None
    side: Side | None = None
    numbers: dict[str, Number] = Field(default_factory=dict)
    changes: tuple[Change, ...] = ()
    person_text: str
    clinician_text: str
    source: str = ""


class Advance(Frozen):
    """The program after the new events, the decisions made, and the program after each
    decision (`steps[i]` follows `decisions[i]`) so that every version can be stored."""

    program: Program
    decisions: tuple[Decision, ...]
    steps: tuple[Program, ...] = ()


def _key(event: HistoryEvent) -> EventKey:
    date, order = event_key(event)
    ident = event.id if isinstance(event, SessionLog) else ""
    return (date, order, ident)


def sorted_history(history: Iterable[HistoryEvent]) -> list[HistoryEvent]:
    return sorted(history, key=_key)


def decide(
    program: Program, history: Sequence[HistoryEvent], rules: Rules, today: dt.date
) -> list[Decision]:
    """The decisions the events since the last evaluation lead to (up to `today`)."""
    return list(advance(program, history, rules, today).decisions)


def advance(
    program: Program, history: Sequence[HistoryEvent], rules: Rules, today: dt.date
) -> Advance:
    """Evaluate the events that arrived since the program's last evaluation, up to today.

    `history` lists every event in the order it arrived (a replayed log arrives in date
    order). The program counts the events it has evaluated, so nothing is evaluated twice.
    An event that arrives late (yesterday's session logged after this morning's check-in)
    is evaluated when it arrives, in the context of what had happened by its date.
    """
    events = [e for e in history if e.date <= today]
    done = program.state.evaluated
    if done > len(events):
        raise ValueError(
            f"the program has evaluated {done} events but the history up to {today} has "
            f"{len(events)}: the history does not belong to this program"
        )
    decisions: list[Decision] = []
    steps: list[Program] = []
    for index in range(done, len(events)):
        event = events[index]
        key = _key(event)
        seen = [e for e in sorted_history(events[: index + 1]) if _key(e) <= key]
        if isinstance(event, Retest) and event.questionnaires_only:
            # Questionnaires answered on their own: new scores, the tests stay as they were.
            # A questionnaire first answered now (left out at the start) starts its baseline.
            scores = outcome_scores(event.assessment, rules.questionnaires)
            made = [_questionnaires_recorded(program, event, rules)]
            program = program.model_copy(
                update={
                    "outcome_latest": {**program.outcome_latest, **scores},
                    "outcome_baseline": {**scores, **program.outcome_baseline},
                }
            )
        elif isinstance(event, Retest):
            # The retest's profile and questionnaire scores replace the old ones.
            latest = dict(program.outcome_latest)
            latest.update(outcome_scores(event.assessment, rules.questionnaires))
            made = _on_event(program, event, seen, rules)
            fresh = _weight_kept(retest_profile(event, rules), program.profile)
            state = program.state
            if load_restriction(program.pathway, fresh, rules) is None:
                # Full weight recorded with the retest: nothing waits for it any more.
                state = state.model_copy(update={"last_weight_prompt": None})
            program = program.model_copy(
                update={
                    "state": state,
                    "profile": fresh,
                    "outcome_latest": latest,
                    # The reasons quote the latest tests, not the first ones.
                    "slots": refresh_reasons(program.slots, program.profile, fresh, rules),
                }
            )
        else:
            made = _on_event(program, event, seen, rules)
        worded = []
        for decision in made:
            decision = _with_carry_words(program, decision, rules)
            worded.append(decision)
            program = apply(program, decision, rules)
            steps.append(program)
        program = _irritability_now(program, seen, event.date, rules)
        program = running_note_now(program, rules)
        program = program.model_copy(
            update={"state": program.state.model_copy(update={"evaluated": index + 1})}
        )
        if steps:
            steps[-1] = steps[-1].model_copy(update={"state": program.state})
        decisions.extend(worded)
    return Advance(program=program, decisions=tuple(decisions), steps=tuple(steps))


def current_irritability(
    program: Program, seen: Sequence[HistoryEvent], day: dt.date, rules: Rules
) -> IrritabilityResult | None:
    """Q3: irritability re-read from the pain logged over the last `irritability_recent_days`:
    the morning check-ins as pain at rest and on waking, the sessions as pain with activity,
    and a morning worse after a session than before it as pain lingering into the next day.
    Night pain is not logged: the last assessment's answer stands. None with fewer than
    `irritability_recent_min_logs` sessions or check-ins in the window."""
    p = rules.progression
    since = day - dt.timedelta(days=p.irritability_recent_days)
    sessions = [s for s in _sessions(seen) if since < s.date <= day and not s.skipped]
    checkins = [c for c in _checkins(seen) if since < c.date <= day]
    need = p.irritability_recent_min_logs
    if len(sessions) < need or len(checkins) < need:
        return None
    waking = max(c.pain_on_waking for c in checkins)
    lingers = 0.0
    for session in sessions:
        before = [c.pain_on_waking for c in checkins if c.date <= session.date]
        after = [c.pain_on_waking for c in checkins if c.date == session.date + dt.timedelta(1)]
        if before and after and after[0] > before[-1]:
            lingers = 24.0
    night = _night(program)
    values: dict[str, float] = {
        "pain_at_rest": float(waking),
        "pain_during_activity": float(max(s.max_pain for s in sessions)),
        "pain_on_waking": float(waking),
        "night_pain": 1.0 if night else 0.0,
        "lingers_hours": lingers,
    }
    return grade_values(values, rules.assessment.irritability)


def _night(program: Program) -> bool:
    """The last assessment gave night pain as a reason for its irritability (the logs do not
    ask about nights)."""
    return any("at night" in r for r in program.profile.irritability.reasons)


def _irritability_now(
    program: Program, seen: Sequence[HistoryEvent], day: dt.date, rules: Rules
) -> Program:
    """The program with the irritability re-read from the logs (Q3) and, when its level
    changed, the running note that quotes it rewritten."""
    now = current_irritability(program, seen, day, rules)
    if now is None or now.level is program.profile.irritability.level:
        return program
    profile = program.profile.model_copy(update={"irritability": now})
    note = running_note(program.pathway, profile, rules)
    reasons = tuple(
        note if note is not None and r.startswith(RUNNING_PREFIX) else r for r in program.reasons
    )
    return program.model_copy(update={"profile": profile, "reasons": reasons})


# ----- applying decisions --------------------------------------------------------------


def apply(program: Program, decision: Decision, rules: Rules) -> Program:
    """The program after one decision: a new version when anything changed."""
    if not decision.changes:
        return program
    slots = list(program.slots)
    state = program.state
    updates: dict[str, object] = {}
    for change in decision.changes:
        if change.field == "phase":
            assert isinstance(change.after, str)
            phase = Phase(change.after)
            carry = _phase_session(program.model_copy(update={"slots": tuple(slots)}), phase, rules)
            slots, reasons = list(carry.slots), carry.reasons
            state = state.model_copy(update={"edits": carry.edits})
            updates["phase"] = phase
            updates["phase_started"] = decision.date
            state = state.model_copy(update={"stall_prompts": 0})
            notes = pathway_notes(program.pathway, program.profile, rules, None)
            updates["reasons"] = (*notes, *reasons)
            from groundup.clinical.planning import DEFAULT_DAYS

            if program.template is not None:
                # The session is the pathway's now: the program has left its template — the
                # template's days, sessions a day, length and protocol rules with it.
                name = rules.templates.templates[program.template].name
                days = (
                    program.preferences.training_days
                    or DEFAULT_DAYS[rules.phases[phase].sessions_per_week]
                )
                updates |= {
                    "template": None,
                    "weeks": None,
                    "times_per_day": 1,
                    "training_days": tuple(sorted(set(days))),
                    "reasons": (
                        f"{name} ended: the phase was moved, so the plan follows the "
                        "condition's own phases from here.",
                        *notes,
                        *reasons,
                    ),
                }
            elif program.preferences.training_days is None:
                updates["training_days"] = DEFAULT_DAYS[rules.phases[phase].sessions_per_week]
        elif change.field == "stage":
            assert isinstance(change.after, int)
            moved = _stage_moved(
                program.model_copy(update={"slots": tuple(slots)}), change.after, decision, rules
            )
            slots = list(moved.slots)
            state = state.model_copy(update={"edits": moved.state.edits, "stall_prompts": 0})
            updates |= {
                k: getattr(moved, k) for k in ("stage", "phase", "phase_started", "reasons")
            }
        elif change.field == "exercise":
            slots = _swap(slots, change, decision, program, rules)
            # A clinician's swap or addition moved on by the ladder: its undo follows it.
            state = state.model_copy(
                update={
                    "edits": tuple(
                        e.model_copy(update={"exercise_id": change.after})
                        if e.exercise_id == change.before and e.action != "remove"
                        else e
                        for e in state.edits
                    )
                }
            )
        elif change.field == "left_out":
            # Q2: a warm-up or stretch left out to make room for a progression (R2: or main
            # work, for the walk-run plan); its partner alternates with nothing now.
            slots = [
                s.model_copy(update={"pair_with": None}) if s.pair_with == change.exercise_id else s
                for s in slots
                if s.exercise_id != change.exercise_id
            ]
        elif change.field == "added":
            # R2: the walk-run plan joins, first of the main work, as the planner places it.
            assert change.exercise_id is not None
            joined = _start_slot(
                rules.library[change.exercise_id], program, rules, decision.person_text
            )
            mains = [i for i, s in enumerate(slots) if s.part == "main"]
            slots.insert(mains[0] if mains else len(slots), joined)
        elif change.field in ("edit_swap", "edit_add", "edit_remove", "edit_undo"):
            slots, edits = _edit(slots, state.edits, change, decision, program, rules)
            state = state.model_copy(update={"edits": edits})
        elif change.field in ("sets", "amount", "load_kg", "knob", "tempo_lowering", "pinned"):
            slots = _patch_dose(slots, change)
        elif change.field == "flare":
            state = state.model_copy(update={"flare": _flare_from(change, decision)})
        elif change.field == "referred":
            state = state.model_copy(
                update={
                    "referred": bool(change.after),
                    "referral_reason": decision.clinician_text if change.after else None,
                }
            )
        elif change.field == "rules_off":
            state = state.model_copy(
                update={"rules_off": tuple(str(change.after).split(",")) if change.after else ()}
            )
        elif change.field == "last_progression":
            progressed_on = dict(state.progressed_on)
            if decision.exercise_id is not None:
                progressed_on[decision.exercise_id] = decision.date
            state = state.model_copy(
                update={
                    "last_progression": decision.date,
                    "stall_prompts": 0,
                    "progressed_on": progressed_on,
                }
            )
        elif change.field == "last_stall_prompt":
            state = state.model_copy(update={"last_stall_prompt": decision.date})
        elif change.field == "regression_count":
            state = state.model_copy(update={"regressions": (*state.regressions, decision.date)})
        elif change.field == "effort_step":
            assert change.exercise_id is not None
            taken = (dose_key(change.exercise_id, change.side), decision.date)
            state = state.model_copy(update={"effort_steps": (*state.effort_steps, taken)})
        elif change.field == "profile":
            pass  # `advance` sets the retest's profile; the change marks the new version
        elif change.field == "last_retest_prompt":
            state = state.model_copy(update={"last_retest_prompt": decision.date})
        elif change.field == "last_run_step":
            state = state.model_copy(update={"last_run_step": decision.date})
        elif change.field == "flare_count":
            state = state.model_copy(update={"flares": (*state.flares, decision.date)})
        elif change.field == "last_flare_end":
            state = state.model_copy(update={"last_flare_end": decision.date})
        elif change.field == "retest_worse":
            state = state.model_copy(
                update={"retest_worse_on": decision.date if change.after else None}
            )
        elif change.field == "retest_prompts":
            assert isinstance(change.after, int)
            state = state.model_copy(update={"retest_prompts": change.after})
        elif change.field == "last_checkin_prompt":
            state = state.model_copy(update={"last_checkin_prompt": decision.date})
        elif change.field == "check_pending":
            state = state.model_copy(update={"check_pending": None})
        elif change.field == "last_check_prompt":
            state = state.model_copy(update={"last_check_prompt": decision.date})
        elif change.field == "last_recheck_prompt":
            state = state.model_copy(update={"last_recheck_prompt": decision.date})
        elif change.field == "last_phase_hold":
            state = state.model_copy(update={"last_phase_hold": decision.date})
        elif change.field == "weight_bearing":
            # Full weight recorded (P3): the limit lifts; the next phase change builds on it.
            updates["profile"] = program.profile.model_copy(
                update={"weight_bearing": WeightBearing.FULL, "boot_or_cast": False}
            )
            state = state.model_copy(update={"last_weight_prompt": None})
        elif change.field == "last_weight_prompt":
            state = state.model_copy(update={"last_weight_prompt": decision.date})
        elif change.field == "last_time_prompt":
            state = state.model_copy(update={"last_time_prompt": decision.date})
        elif change.field == "last_run_test_prompt":
            state = state.model_copy(update={"last_run_test_prompt": decision.date})
        elif change.field == "stall_prompts":
            assert isinstance(change.after, int)
            state = state.model_copy(update={"stall_prompts": change.after})
        elif change.field == "questionnaire_every_days":
            every = int(change.after) if isinstance(change.after, int) else None
            state = state.model_copy(
                update={"questionnaire_every_days": every, "questionnaires_off": every is None}
            )
        elif change.field == "last_trend_reduction":
            state = state.model_copy(update={"last_trend_reduction": decision.date})
        else:  # pragma: no cover - a rule produced a field nobody applies
            raise ValueError(f"unknown change field {change.field}")
    pinned = tuple(dose_key(s.exercise_id, d.side) for s in slots for d in s.doses if d.pinned)
    state = state.model_copy(update={"pinned": pinned})
    # P1: the notes give the session's estimate now, not the one made when it was planned.
    given = updates.get("reasons", program.reasons)
    assert isinstance(given, tuple)
    reasons = tuple(str(r) for r in given)
    estimate = estimate_reason(slots, program.preferences.minutes_per_session, rules)
    updates["reasons"] = tuple(estimate if r.startswith(ESTIMATE_PREFIX) else r for r in reasons)
    return program.model_copy(
        update={"slots": tuple(slots), "state": state, "version": program.version + 1, **updates}
    )


def _carried(slot: Slot, keep: dict[str, Dose]) -> tuple[Dose, ...]:
    kept = [keep.get(dose_key(slot.exercise_id, d.side)) for d in slot.doses]
    if any(k is None for k in kept):
        return slot.doses
    return tuple(k for k in kept if k is not None)


def _patch_dose(slots: list[Slot], change: Change) -> list[Slot]:
    out = []
    for slot in slots:
        if slot.exercise_id != change.exercise_id:
            out.append(slot)
            continue
        doses = []
        for dose in slot.doses:
            if dose.side != change.side:
                doses.append(dose)
                continue
            if change.field == "tempo_lowering":
                assert dose.tempo is not None and isinstance(change.after, int | float)
                tempo = dose.tempo.model_copy(update={"lowering": float(change.after)})
                doses.append(dose.model_copy(update={"tempo": tempo}))
            else:
                value = change.after
                update: dict[str, object] = {change.field: value}
                if change.field == "amount" and isinstance(value, int | float):
                    update["range_low"] = min(dose.range_low, float(value))
                    update["range_high"] = max(dose.range_high, float(value))
                doses.append(dose.model_copy(update=update))
        out.append(slot.model_copy(update={"doses": tuple(doses)}))
    return out


def _swap(
    slots: list[Slot], change: Change, decision: Decision, program: Program, rules: Rules
) -> list[Slot]:
    assert isinstance(change.before, str) and isinstance(change.after, str)
    new = rules.library[change.after]
    definition = rules.phases[program.phase]
    doses, note = dose_for(new, definition, program.profile, rules, pathway=program.pathway)
    low = tuple(d.model_copy(update={"amount": d.range_low}) for d in doses)
    low = _at_block(low, program, decision.date, rules)
    out = []
    for slot in slots:
        if slot.exercise_id == change.before:
            # A slot for one side only (a protocol loading the painful leg, C1) stays so.
            sides = {d.side for d in slot.doses}
            kept = tuple(d for d in low if d.side in sides) if None not in sides else low
            out.append(
                slot.model_copy(
                    update={
                        "exercise_id": new.id,
                        "doses": kept or low,
                        "reason": f"{decision.person_text}{note}",
                    }
                )
            )
        elif slot.pair_with == change.before:
            out.append(slot.model_copy(update={"pair_with": new.id}))
        else:
            out.append(slot)
    return out


def _start_slot(
    exercise: Exercise, program: Program, rules: Rules, reason: str, day: dt.date | None = None
) -> Slot:
    """A main slot for an exercise the clinician brings in: the engine's own starting dose
    at the bottom of its range, the weaker side's extra set included (`dose_for`); in a
    protocol whose blocks of weeks set the sets × reps, the block's of `day`."""
    definition = rules.phases[program.phase]
    doses, note = dose_for(exercise, definition, program.profile, rules, pathway=program.pathway)
    low = tuple(d.model_copy(update={"amount": d.range_low}) for d in doses)
    if day is not None:
        low = _at_block(low, program, day, rules)
    return Slot(exercise_id=exercise.id, part="main", doses=low, reason=f"{reason}{note}")


def _edit(
    slots: list[Slot],
    edits: tuple[ProgramEdit, ...],
    change: Change,
    decision: Decision,
    program: Program,
    rules: Rules,
) -> tuple[list[Slot], tuple[ProgramEdit, ...]]:
    """The session after one program-editor change, and the edits remembered for undo."""
    ids = [s.exercise_id for s in slots]
    if change.field == "edit_swap":
        assert isinstance(change.before, str) and isinstance(change.after, str)
        index = ids.index(change.before)
        previous = slots[index]
        swapped = _swap(
            slots,
            Change(field="exercise", before=change.before, after=change.after),
            decision,
            program,
            rules,
        )
        edit = ProgramEdit(
            action="swap",
            exercise_id=change.after,
            previous=previous,
            index=index,
            date=decision.date,
        )
        return swapped, (*edits, edit)
    if change.field == "edit_add":
        assert isinstance(change.after, str)
        mains = [i for i, s in enumerate(slots) if s.part == "main"]
        index = mains[-1] + 1 if mains else len(slots)
        slot = _start_slot(
            rules.library[change.after], program, rules, decision.person_text, decision.date
        )
        edit = ProgramEdit(action="add", exercise_id=change.after, index=index, date=decision.date)
        return [*slots[:index], slot, *slots[index:]], (*edits, edit)
    if change.field == "edit_remove":
        assert isinstance(change.before, str)
        index = ids.index(change.before)
        removed = slots[index]
        rest = [
            s.model_copy(update={"pair_with": None}) if s.pair_with == removed.exercise_id else s
            for s in slots[:index] + slots[index + 1 :]
        ]
        edit = ProgramEdit(
            action="remove",
            exercise_id=removed.exercise_id,
            previous=removed,
            index=index,
            date=decision.date,
        )
        return rest, (*edits, edit)
    # undo: the last edit of this exercise, reversed
    assert isinstance(change.before, str)
    at = max(i for i, e in enumerate(edits) if e.exercise_id == change.before)
    undone = edits[at]
    left = (*edits[:at], *edits[at + 1 :])
    if undone.action == "remove":
        assert undone.previous is not None
        index = min(undone.index, len(slots))
        return [*slots[:index], undone.previous, *slots[index:]], left
    index = ids.index(undone.exercise_id)
    if undone.action == "add":
        return slots[:index] + slots[index + 1 :], left
    assert undone.previous is not None
    back = undone.previous
    out = [
        s.model_copy(update={"pair_with": back.exercise_id})
        if s.pair_with == undone.exercise_id
        else s
        for s in slots
    ]
    out[index] = back
    return out, left


class _Carry(Frozen):
    """A phase's new session with what the clinician decided carried over, and the words
    for it (`_phase_session`)."""

    slots: tuple[Slot, ...]
    reasons: tuple[str, ...]
    edits: tuple[ProgramEdit, ...] = ()
    person: tuple[str, ...] = ()
    clinician: tuple[str, ...] = ()


def _phase_session(
    program: Program,
    phase: Phase,
    rules: Rules,
    built: tuple[Sequence[Slot], Sequence[str]] | None = None,
) -> _Carry:
    """The session of the new phase, built by the planner, with the clinician's decisions
    carried over: an exercise whose dose is pinned stays, pinned, whatever the new phase's
    list (unless the weight-bearing limit or a pending check now keeps its position out);
    a swap still applies where the new phase brings the swapped-out exercise back and the
    swapped-in one suits the phase; an added exercise stays while it suits the phase; a
    removed one stays out, unless it is the new phase's key exercise (then it comes back,
    and the clinician is told). Every carried or ended decision is said in words."""
    slots = list(program.slots)
    keep = {dose_key(s.exercise_id, d.side): d for s in slots for d in s.doses}
    if built is None:
        new_slots, reasons = build_session(
            phase,
            program.profile,
            program.preferences,
            rules,
            keep=keep,
            pathway=program.pathway,
        )
    else:  # a protocol's next phase (`_stage_carry`): its own doses, pinned ones kept
        new_slots, reasons = tuple(built[0]), tuple(built[1])
        keep = {k: d for k, d in keep.items() if d.pinned}
    # An exercise that stays keeps its whole dose — sets, amount, tempo, setting and
    # load — whatever the new phase's defaults or the time fitting would give (S5).
    carried = [
        slot.model_copy(update={"doses": _carried(slot, keep)}) if slot.part == "main" else slot
        for slot in new_slots
    ]
    # Q2: doses carried whole must not open the phase beyond the person's minutes; where
    # they would, the time fitting's sets stand (lower priority first) — but never over a
    # dose the clinician pinned.
    budget = program.preferences.minutes_per_session
    out = carried
    if session_minutes(carried, rules) > budget + 1e-9:
        pinned = {s.exercise_id for s in slots if any(d.pinned for d in s.doses)}
        out = [c if c.exercise_id in pinned else n for c, n in zip(carried, new_slots, strict=True)]
    staged = program.model_copy(
        update={
            "phase": phase,
            "slots": tuple(out),
            "template": None if built is None else program.template,
        }
    )
    person: list[str] = []
    clinician: list[str] = []
    edits: list[ProgramEdit] = []

    def name(exercise_id: str) -> str:
        found = rules.library.get(exercise_id)
        return found.name if found else exercise_id

    def main_end() -> int:
        mains = [i for i, s in enumerate(out) if s.part == "main"]
        return mains[-1] + 1 if mains else len(out)

    for edit in program.state.edits:
        ids = [s.exercise_id for s in out]
        staged = staged.model_copy(update={"slots": tuple(out)})
        new = rules.library.get(edit.exercise_id)
        if edit.action == "remove":
            if edit.exercise_id not in ids:
                edits.append(edit)
                continue
            key = key_exercise(staged, edit.exercise_id, rules)
            if key is not None:
                person.append(f"{name(edit.exercise_id)} is back: the new phase needs it.")
                clinician.append(
                    f"Removal of {name(edit.exercise_id)} ({edit.date}) not carried: {key}; "
                    "remove it again with confirmation if it should stay out."
                )
                continue
            index = ids.index(edit.exercise_id)
            edits.append(edit.model_copy(update={"previous": out[index], "index": index}))
            out = [
                s.model_copy(update={"pair_with": None}) if s.pair_with == edit.exercise_id else s
                for s in out[:index] + out[index + 1 :]
            ]
            person.append(f"{name(edit.exercise_id)} stays out, as your clinician decided.")
            clinician.append(f"Removal of {name(edit.exercise_id)} ({edit.date}) carried.")
            continue
        if edit.exercise_id in ids:  # the new phase has it anyway
            continue
        misfit = None if new is None else exercise_misfit(new, staged, rules)
        if new is None or misfit is not None:
            person.append(
                f"{name(edit.exercise_id)} ends with the phase your clinician chose it for."
            )
            clinician.append(
                f"{'Swap to' if edit.action == 'swap' else 'Addition of'} "
                f"{name(edit.exercise_id)} ({edit.date}) ended: {misfit or 'not in the library'}."
            )
            continue
        kept = [
            keep.get(dose_key(edit.exercise_id, side)) for side in (None, Side.LEFT, Side.RIGHT)
        ]
        doses = tuple(d for d in kept if d is not None)
        slot = _start_slot(new, staged, rules, "Chosen by your clinician.")
        if doses:
            slot = slot.model_copy(update={"doses": doses})
        if edit.action == "swap":
            assert edit.previous is not None
            if edit.previous.exercise_id not in ids:
                continue  # the new phase leaves the swapped-out exercise out: nothing to swap
            index = ids.index(edit.previous.exercise_id)
            edits.append(edit.model_copy(update={"previous": out[index], "index": index}))
            out = [
                s.model_copy(update={"pair_with": new.id})
                if s.pair_with == edit.previous.exercise_id
                else s
                for s in out
            ]
            out[index] = slot.model_copy(update={"pair_with": out[index].pair_with})
            person.append(
                f"{new.name} stays in place of {name(edit.previous.exercise_id)}, as your clinician chose."
            )
            clinician.append(
                f"Swap of {name(edit.previous.exercise_id)} for {new.name} ({edit.date}) carried."
            )
        else:
            index = main_end()
            edits.append(edit.model_copy(update={"index": index}))
            out.insert(index, slot)
            person.append(f"{new.name} stays, as your clinician added it.")
            clinician.append(f"Addition of {new.name} ({edit.date}) carried.")
    # A dose the clinician pinned outlives the phase change: its exercise stays (item 6).
    ids = [s.exercise_id for s in out]
    for slot in slots:
        if slot.part != "main" or not any(d.pinned for d in slot.doses) or slot.exercise_id in ids:
            continue
        exercise = rules.library.get(slot.exercise_id)
        staged = staged.model_copy(update={"slots": tuple(out)})
        if exercise is not None and not position_allowed(exercise.position, staged, rules):
            person.append(
                f"{exercise.name} is left out for now: not yet with this weight on the leg."
            )
            clinician.append(
                f"{exercise.name} (dose pinned) not carried: its position is outside the "
                "weight-bearing limit or a pending check; it is still pinned in the record."
            )
            continue
        out.insert(main_end(), slot.model_copy(update={"pair_with": None}))
        ids.append(slot.exercise_id)
        person.append(f"{name(slot.exercise_id)} stays, at the dose your clinician set.")
        clinician.append(
            f"{name(slot.exercise_id)} kept at its pinned dose across the phase change."
        )
    return _Carry(
        slots=tuple(out),
        reasons=reasons,
        edits=tuple(edits),
        person=tuple(person),
        clinician=tuple(clinician),
    )


def _with_carry_words(program: Program, decision: Decision, rules: Rules) -> Decision:
    """A phase change says what it carried of the clinician's decisions (pins, swaps,
    additions, removals) and what ended with the old phase."""
    phase_change = next((c for c in decision.changes if c.field == "phase"), None)
    if phase_change is None or not isinstance(phase_change.after, str):
        return decision
    carry = _phase_session(program, Phase(phase_change.after), rules)
    if not carry.person and not carry.clinician:
        return decision
    return decision.model_copy(
        update={
            "person_text": " ".join((decision.person_text, *carry.person)),
            "clinician_text": " ".join((decision.clinician_text, *carry.clinician)),
        }
    )


def _flare_from(change: Change, decision: Decision) -> FlareState | None:
    if change.after is None or change.after == "":
        return None
    return FlareState.model_validate_json(str(change.after))


def _flare_code(state: FlareState) -> str:
    return state.model_dump_json()


# ----- the event handlers --------------------------------------------------------------


def _on_event(
    program: Program, event: HistoryEvent, seen: list[HistoryEvent], rules: Rules
) -> list[Decision]:
    if isinstance(event, Override):
        return _on_override(program, event, rules)
    if isinstance(event, Retest):
        return _on_retest(program, event, seen, rules)
    if program.state.referred:
        return []
    if isinstance(event, CheckIn):
        return _on_checkin(program, event, seen, rules)
    if event.warning_signs:  # a session stopped for a warning sign
        where = (
            "when the safety questions were answered again"
            if event.skipped and event.skip_reason == RECHECK_REASON
            else "during a session"
        )
        return _refer_for_signs(event.date, event.warning_signs, (), rules, where)
    return _on_session(program, event, seen, rules)


def _off(program: Program, rule: str) -> bool:
    return rule in program.state.rules_off


# -- overrides --


def _on_override(program: Program, event: Override, rules: Rules) -> list[Decision]:
    who = f"{event.by}: {event.reason}"
    if event.action in EDITS:
        return [_on_edit(program, event, rules)]
    if event.action in ("pin_dose", "unpin_dose"):
        slot = program.slot(event.exercise_id or "")
        if slot is None:
            return [
                _info(
                    event.date,
                    "override.ignored",
                    f"No {event.exercise_id} in the program to pin.",
                    f"Override ignored: {event.exercise_id} is not in the current program ({who}).",
                )
            ]
        changes: list[Change] = []
        for dose in slot.doses:
            if event.side is not None and dose.side != event.side:
                continue
            pin = event.action == "pin_dose"
            for name in ("sets", "amount", "load_kg", "knob"):
                value = getattr(event, name)
                if pin and value is not None and getattr(dose, name) != value:
                    changes.append(
                        Change(
                            exercise_id=slot.exercise_id,
                            side=dose.side,
                            field=name,
                            before=getattr(dose, name),
                            after=value,
                        )
                    )
            changes.append(
                Change(
                    exercise_id=slot.exercise_id,
                    side=dose.side,
                    field="pinned",
                    before=dose.pinned,
                    after=pin,
                )
            )
        name = rules.library[slot.exercise_id].name
        verb = "pinned" if event.action == "pin_dose" else "unpinned"
        return [
            Decision(
                rule=f"override.{event.action}",
                kind="override",
                date=event.date,
                exercise_id=slot.exercise_id,
                side=event.side,
                changes=tuple(changes),
                person_text=f"Your clinician {verb} the dose of {name.lower()}: it {'stays as set' if verb == 'pinned' else 'can change again'}.",
                clinician_text=f"{name} dose {verb} by {who}.",
            )
        ]
    if event.action in ("rule_off", "rule_on"):
        rule = event.rule or ""
        if rule not in rules.progression.switchable_rules:
            return [
                _info(
                    event.date,
                    "override.refused",
                    "A request to switch a safety rule off was refused.",
                    f"Rule {rule!r} cannot be switched off (switchable: {', '.join(rules.progression.switchable_rules)}); requested by {who}.",
                )
            ]
        off = set(program.state.rules_off)
        off.discard(rule) if event.action == "rule_on" else off.add(rule)
        after = ",".join(sorted(off))
        return [
            Decision(
                rule=f"override.{event.action}",
                kind="override",
                date=event.date,
                numbers={"rule": rule},
                changes=(
                    Change(
                        field="rules_off", before=",".join(program.state.rules_off), after=after
                    ),
                ),
                person_text=f"Your clinician switched {'off' if event.action == 'rule_off' else 'on'} an automatic adjustment ({rule}).",
                clinician_text=f"Rule {rule} switched {'off' if event.action == 'rule_off' else 'on'} by {who}.",
            )
        ]
    if event.action == "force_phase":
        assert event.phase is not None
        pending = program.state.check_pending
        if pending is not None and event.phase.number > pending.ceiling.number:
            return [
                _info(
                    event.date,
                    "override.refused",
                    "A move to a later phase waits until the check asked for at the start is recorded.",
                    f"Force to {event.phase.label} refused ({who}): check pending since "
                    f"{pending.since} — {pending.clinical} Record it (check_clear) first.",
                )
            ]
        restriction = load_restriction(program.pathway, program.profile, rules)
        if restriction is not None and event.phase.number > restriction[0].ceiling.number:
            return [
                _info(
                    event.date,
                    "override.refused",
                    "A move to a later phase waits until full weight on the leg is allowed.",
                    f"Force to {event.phase.label} refused ({who}): {restriction[0].clinical} "
                    "Record full weight (weight_bearing_full) first.",
                )
            ]
        return [
            Decision(
                rule="override.force_phase",
                kind="override",
                date=event.date,
                changes=(
                    Change(field="phase", before=program.phase.value, after=event.phase.value),
                ),
                person_text=f"Your clinician moved you to phase {event.phase.number}: {event.phase.label.lower()}.",
                clinician_text=f"Phase forced from {program.phase.label} to {event.phase.label} by {who}.",
            )
        ]
    if event.action == "check_clear":
        pending = program.state.check_pending
        if pending is None:
            return [
                _info(
                    event.date,
                    "override.ignored",
                    "Your clinician recorded a check; none was waiting.",
                    f"Check recorded clear by {who}, but no check was pending.",
                )
            ]
        return [
            Decision(
                rule="override.check_clear",
                kind="override",
                date=event.date,
                numbers={
                    "warnings": ", ".join(pending.warnings),
                    "pending_since": str(pending.since),
                },
                changes=(Change(field="check_pending", before=True, after=False),),
                person_text="Your clinician has recorded that the check was done and found "
                "nothing that stops you: the program can move on to standing exercises as "
                "you meet its milestones.",
                clinician_text=f"Check done and clear, recorded by {who} (pending since "
                f"{pending.since}: {pending.clinical}). The phase ceiling "
                f"({pending.ceiling.label}) and the position limit are lifted.",
            )
        ]
    if event.action in ("questionnaires_every", "questionnaires_off"):
        return [_questionnaire_interval(program, event, rules, who)]
    if event.action == "weight_bearing_full":
        if load_restriction(program.pathway, program.profile, rules) is None:
            return [
                _info(
                    event.date,
                    "override.ignored",
                    "Your clinician recorded full weight on the leg; it was already recorded.",
                    f"Full weight recorded by {who}, but no weight-bearing limit was in force.",
                )
            ]
        before = program.profile.weight_bearing
        return [
            Decision(
                rule="override.weight_bearing_full",
                kind="override",
                date=event.date,
                numbers={
                    "weight_bearing_before": before.value if before else "not recorded",
                    "boot_or_cast_before": str(program.profile.boot_or_cast).lower(),
                },
                changes=(
                    Change(
                        field="weight_bearing",
                        before=before.value if before else None,
                        after=WeightBearing.FULL.value,
                    ),
                ),
                person_text="Your clinician has recorded that full weight on the leg is now "
                "allowed, out of the boot or cast: standing exercises can come in, and the "
                "one-leg tests for the next phase can be done.",
                clinician_text=f"Full weight-bearing, out of the boot or cast, recorded by {who} "
                f"(was {before.value if before else 'not recorded'}"
                f"{', boot or cast' if program.profile.boot_or_cast else ''}). The position "
                "limit and the phase ceiling are lifted; standing work enters by the ladder "
                "and at the next phase change.",
            )
        ]
    # resume after a referral
    changes_resume = [Change(field="referred", before=program.state.referred, after=False)]
    if program.state.flare is not None:
        changes_resume.append(Change(field="flare", before="active", after=""))
    if program.state.retest_worse_on is not None:
        changes_resume.append(Change(field="retest_worse", before=True, after=False))
    return [
        Decision(
            rule="override.resume",
            kind="override",
            date=event.date,
            changes=tuple(changes_resume),
            person_text="Your clinician has cleared you to carry on with the program.",
            clinician_text=f"Program resumed after referral by {who}.",
        )
    ]


def _dose_words(slot: Slot | None, rules: Rules) -> str:
    if slot is None:
        return ""
    exercise = rules.library.get(slot.exercise_id)
    unit = exercise.dose_type.unit if exercise else ""
    return "; ".join(
        f"{d.side.value + ' ' if d.side else ''}{d.sets} × {d.amount:g} {unit}".strip()
        + (f" at {d.load_kg:g} kg" if d.load_kg else "")
        for d in slot.doses
    )


def _on_edit(program: Program, event: Override, rules: Rules) -> Decision:
    """A swap, addition or removal of an exercise by the clinician, or its undoing; checked
    again here as at every door (`overrides.override_problem`)."""
    who = f"{event.by}: {event.reason}"
    problem = override_problem(
        event, program, rules.library, rules.progression.switchable_rules, rules=rules
    )
    exercise_id = event.exercise_id or ""

    def name(ident: str) -> str:
        found = rules.library.get(ident)
        return found.name if found else ident

    if problem is not None:
        return _info(
            event.date,
            "override.refused",
            "A change your clinician asked for in your exercises could not be made.",
            f"{event.action} of {exercise_id} refused ({who}): {problem[0]}: {problem[1]}.",
        )
    # The dose an exercise brought in starts at: the protocol's block of weeks, if it runs by
    # them (`_at_block`), else the exercise's own start.
    block = _block_dose(program, event.date, rules)
    easy, starting = (
        (
            f"at this week's {block[0]} × {block[1]:g}",
            f"at the protocol's block dose {block[0]} × {block[1]:g}",
        )
        if block is not None
        else ("starting at an easy dose", "at its starting dose")
    )
    # The clinician's reason reaches the person with the decision ("Their reason: …").
    if event.action == "swap_exercise":
        new = event.replacement or ""
        return Decision(
            rule="override.swap_exercise",
            kind="override",
            date=event.date,
            exercise_id=exercise_id,
            numbers={
                "swapped_out": exercise_id,
                "dose_before": _dose_words(program.slot(exercise_id), rules),
            },
            changes=(
                Change(exercise_id=exercise_id, field="edit_swap", before=exercise_id, after=new),
            ),
            person_text=f"Your clinician swapped {name(exercise_id).lower()} for {name(new).lower()}, "
            f"{easy}.",
            clinician_text=f"{name(exercise_id)} ({_dose_words(program.slot(exercise_id), rules)}) "
            f"swapped for {name(new)} {starting} by {who}"
            f"{' (key exercise: confirmed)' if event.confirm else ''}. Undo: undo_edit {new}.",
        )
    if event.action == "add_exercise":
        return Decision(
            rule="override.add_exercise",
            kind="override",
            date=event.date,
            exercise_id=exercise_id,
            changes=(
                Change(exercise_id=exercise_id, field="edit_add", before=None, after=exercise_id),
            ),
            person_text=f"Your clinician added {name(exercise_id).lower()}, {easy}.",
            clinician_text=f"{name(exercise_id)} added {starting} by {who}. "
            f"Undo: undo_edit {exercise_id}.",
        )
    if event.action == "remove_exercise":
        return Decision(
            rule="override.remove_exercise",
            kind="override",
            date=event.date,
            exercise_id=exercise_id,
            numbers={"dose_before": _dose_words(program.slot(exercise_id), rules)},
            changes=(
                Change(
                    exercise_id=exercise_id, field="edit_remove", before=exercise_id, after=None
                ),
            ),
            person_text=f"Your clinician took {name(exercise_id).lower()} out of your session.",
            clinician_text=f"{name(exercise_id)} ({_dose_words(program.slot(exercise_id), rules)}) "
            f"removed by {who}{' (key exercise: confirmed)' if event.confirm else ''}. "
            f"Undo: undo_edit {exercise_id}.",
        )
    edit = [e for e in program.state.edits if e.exercise_id == exercise_id][-1]
    back = edit.previous
    if edit.action == "swap":
        assert back is not None
        person = f"Your clinician put back {name(back.exercise_id).lower()} in place of {name(exercise_id).lower()}, at the dose you had."
        clinician = f"Swap undone: {name(back.exercise_id)} back ({_dose_words(back, rules)}) in place of {name(exercise_id)}, by {who}."
    elif edit.action == "add":
        person = f"Your clinician took {name(exercise_id).lower()} out again."
        clinician = f"Addition of {name(exercise_id)} undone by {who}."
    else:
        person = f"Your clinician put {name(exercise_id).lower()} back in your session, at the dose you had."
        clinician = (
            f"Removal undone: {name(exercise_id)} back ({_dose_words(back, rules)}), by {who}."
        )
    return Decision(
        rule="override.undo_edit",
        kind="override",
        date=event.date,
        exercise_id=exercise_id,
        numbers={"undone": edit.action, "edit_date": str(edit.date)},
        changes=(
            Change(
                exercise_id=exercise_id,
                field="edit_undo",
                before=exercise_id,
                after=back.exercise_id if back else None,
            ),
        ),
        person_text=person,
        clinician_text=clinician,
    )


def _info(date: dt.date, rule: str, person: str, clinician: str) -> Decision:
    return Decision(rule=rule, kind="info", date=date, person_text=person, clinician_text=clinician)


# -- retests --


def _weight_kept(fresh: ImbalanceProfile, before: ImbalanceProfile) -> ImbalanceProfile:
    """A retest that does not record the weight allowed on the leg keeps the one recorded
    before (full weight recorded by a clinician is not undone by a retest); one that records
    it replaces it (P3: the person records full weight with a retest)."""
    if fresh.weight_bearing is not None:
        return fresh
    return fresh.model_copy(
        update={
            "weight_bearing": before.weight_bearing,
            "boot_or_cast": before.boot_or_cast or fresh.boot_or_cast,
        }
    )


def retest_profile(event: Retest, rules: Rules) -> ImbalanceProfile:
    return build_profile(event.assessment.model_copy(update={"date": event.date}), rules.assessment)


def _on_retest(
    program: Program, event: Retest, seen: Sequence[HistoryEvent], rules: Rules
) -> list[Decision]:
    profile = retest_profile(event, rules)
    numbers: dict[str, Number] = {}
    person: list[str] = []
    clinical: list[str] = []
    for comparison in profile.comparisons:
        before = program.profile.comparison(comparison.test)
        definition = rules.assessment.tests[comparison.test]
        if comparison.lsi is not None:
            numbers[f"{comparison.test}_lsi"] = round(comparison.lsi, 1)
            was_lsi = before.lsi if before is not None else None
            person.append(
                f"{definition.person_label}: your sore leg did {comparison.lsi:.0f} % of the other leg's score"
                + (f" (last time {was_lsi:.0f} %)" if was_lsi is not None else "")
            )
            clinical.append(
                f"{definition.short} LSI "
                + (f"{was_lsi:.1f} % → " if was_lsi is not None else "")
                + f"{comparison.lsi:.1f} %"
            )
            continue
        capacity = comparison.capacity
        if profile.involved_side is None and capacity.available and capacity.target is not None:
            sides = []
            for side in Side:
                value, percent = comparison.value(side), capacity.percent(side)
                if value is None or percent is None:
                    continue
                numbers[f"{comparison.test}_{side.value}_percent_of_goal"] = round(percent, 1)
                sides.append((side, value, percent))
            if sides:
                person.append(
                    f"{definition.person_label}: "
                    + ", ".join(
                        f"{side.value} leg {value:g} {definition.unit} ({percent:.0f} % of the goal)"
                        for side, value, percent in sides
                    )
                )
                clinical.append(
                    f"{definition.short} against the goal of {capacity.target:g}: "
                    + ", ".join(
                        f"{side.value} {value:g} ({percent:.1f} %)"
                        for side, value, percent in sides
                    )
                )
    # Q3: a gate criterion judged on each leg's own rise says where it stands after the test.
    after = program.model_copy(update={"profile": _weight_kept(profile, program.profile)})
    if program.template is None and program.phase.next() is not None:
        for named in phase_gate(program.pathway, program.phase, rules):
            c = resolve_criterion(named, program.baseline, rules)
            gap = own_start_gap(c, after, rules) if c is not None else None
            if gap is not None:
                person.append(gap[0])
                clinical.append(gap[1])
    decision = Decision(
        rule="retest.recorded",
        kind="info",
        date=event.date,
        numbers=numbers,
        person_text="Your retest is in: "
        + ("; ".join(person) if person else "thank you, the results are saved")
        + ".",
        clinician_text="Retest recorded: "
        + ("; ".join(clinical) if clinical else "no side-by-side or goal comparisons")
        + ".",
        changes=(
            Change(field="profile", after=event.date.isoformat()),
            *(
                ()
                if _gate_untested(program, [*seen, event], rules)
                else (Change(field="retest_prompts", before=program.state.retest_prompts, after=0),)
            ),
        ),
    )
    return [decision, *_retest_worse(program, profile, event, seen, rules)]


def _gate_untested(
    program: Program, seen: Sequence[HistoryEvent], rules: Rules
) -> list[GateCriterion]:
    """The gate's test criteria no retest in this phase has measured. A retest that leaves
    one out does not answer the request for it: the reminders for it keep their count (P8)."""
    if program.template is not None or program.phase.next() is None:
        return []
    retests = _in_phase_retests(program, seen)
    criteria = (
        resolve_criterion(named, program.baseline, rules)
        for named in phase_gate(program.pathway, program.phase, rules)
    )
    return [
        c
        for c in criteria
        if c is not None
        and c.kind
        in ("lsi", "min_value", "difference_within_error", "step_down_clean", "outcome_change")
        and not any(_tests_criterion(c, r) for r in retests)
    ]


def _criterion_test_label(c: GateCriterion, rules: Rules) -> str:
    if c.test is not None and c.test in rules.assessment.tests:
        return rules.assessment.tests[c.test].person_label
    if c.kind == "step_down_clean":
        return "the step-down"
    return "the questionnaire (" + ", ".join(c.measures or ()) + ")"


def _drops(
    before: ImbalanceProfile, after: ImbalanceProfile, rules: Rules
) -> list[tuple[str, Side, float, float, float]]:
    """Tests worse on the affected side (each side when both are) by more than the test's
    measurement error: (test, side, before, after, error)."""
    sides = (after.involved_side,) if after.involved_side is not None else tuple(Side)
    out = []
    for comparison in after.comparisons:
        was = before.comparison(comparison.test)
        error = comparison.measurement_error
        if was is None or error is None:
            continue
        better_high = rules.assessment.tests[comparison.test].higher_is_better
        for side in sides:
            a, b = was.value(side), comparison.value(side)
            if a is None or b is None:
                continue
            loss = (a - b) if better_high else (b - a)
            if loss > error:
                out.append((comparison.test, side, a, b, error))
    return out


def _retest_worse(
    program: Program,
    profile: ImbalanceProfile,
    event: Retest,
    seen: Sequence[HistoryEvent],
    rules: Rules,
) -> list[Decision]:
    """M3: a retest worse than the one before beyond the measurement error holds every
    progression, caps the exercises that train the tested movement at the new result, asks
    about a new injury and flags the clinician. A later retest back within the error of
    the results before the drop lifts the hold."""
    p = rules.progression
    drops = _drops(program.profile, profile, rules)
    since = program.state.retest_worse_on
    if not drops:
        if since is None:
            return []
        earlier = [
            point
            for point in _test_points(program, [e for e in seen if e is not event], rules)
            if point.date < since
        ]
        if earlier and _drops(earlier[-1].profile, profile, rules):
            return []  # still below where it was before the drop
        return [
            Decision(
                rule="retest.recovered",
                kind="info",
                date=event.date,
                changes=(Change(field="retest_worse", before=True, after=False),),
                person_text="Your retest is back to where it was before the drop, so the program can move on again.",
                clinician_text=f"Retest back within the measurement error of the results before the drop of {since}: progression hold lifted.",
                source="measurement error per test in assessment.yaml",
            )
        ]
    changes: list[Change] = [Change(field="retest_worse", before=False, after=True)]
    for test, exercise_ids in p.retest_worse_caps.items():
        comparison = profile.comparison(test)
        if comparison is None:
            continue
        for slot in program.part("main"):
            if slot.exercise_id not in exercise_ids:
                continue
            for dose in slot.doses:
                values = (
                    [comparison.value(dose.side)]
                    if dose.side is not None
                    else [comparison.left, comparison.right]
                )
                known = [v for v in values if v is not None]
                if not known:
                    continue
                top = max(1.0, float(math.floor(min(known))))
                if dose.amount > top and not dose.pinned:
                    changes.append(
                        Change(
                            exercise_id=slot.exercise_id,
                            side=dose.side,
                            field="amount",
                            before=dose.amount,
                            after=top,
                        )
                    )
    changes = _weaker_side_kept_ahead(program, changes, rules)
    numbers: dict[str, Number] = {}
    for test, side, a, b, error in drops:
        numbers[f"{test}_{side.value}"] = f"{a:g} → {b:g} (error ±{error:g})"
    first = drops[0]
    definition = rules.assessment.tests[first[0]]
    tendon = program.pathway.value in ("midportion_achilles", "insertional_achilles")
    ask = (
        " If you felt a kick or a snap at the back of the heel, or can no longer push off on that foot, get it checked today."
        if tendon
        else " If something happened — a new injury, a sudden sharp pain — tell your clinician or see a physiotherapist soon."
    )
    return [
        Decision(
            rule="retest.worse",
            kind="prompt",
            date=event.date,
            numbers=numbers,
            changes=tuple(changes),
            person_text=(
                f"Your {definition.person_label} on the {first[1].value} leg fell from {first[2]:g} to {first[3]:g} {definition.unit}, "
                "more than the usual day-to-day difference. The exercises for that movement come down to what you managed, "
                f"and nothing moves up until this has been looked at.{ask}"
            ),
            clinician_text=(
                "Retest worse than the previous one beyond the measurement error: "
                + "; ".join(f"{t} {s.value} {a:g} → {b:g} (±{e:g})" for t, s, a, b, e in drops)
                + ". Progression held, capped exercises set to the new result; exclude a new injury"
                + (
                    " (Achilles: partial tear or rupture — kick or snap, loss of push-off; same day)"
                    if tendon
                    else ""
                )
                + ". Review, then resume by override or a retest back within the error."
            ),
            source=p.sources["retest_worse_caps"].source,
        )
    ]


# -- check-ins --


def _sessions(seen: Sequence[HistoryEvent]) -> list[SessionLog]:
    return [e for e in seen if isinstance(e, SessionLog) and not e.skipped]


def _checkins(seen: Sequence[HistoryEvent]) -> list[CheckIn]:
    return [e for e in seen if isinstance(e, CheckIn)]


def _morning_of(program: Program, seen: Sequence[HistoryEvent], day: dt.date) -> float:
    """Morning pain on a session's day: the last check-in on or before it, else the
    assessment's — the baseline the next morning is compared with."""
    earlier = [c for c in _checkins(seen) if c.date <= day]
    if earlier:
        return float(earlier[-1].pain_on_waking)
    return float(_assessment_waking(program))


def _assessment_waking(program: Program) -> int:
    return program.profile.pain_on_waking


def _on_checkin(
    program: Program, event: CheckIn, seen: list[HistoryEvent], rules: Rules
) -> list[Decision]:
    if event.warning_signs:
        return _refer_for_signs(
            event.date, event.warning_signs, event.new_red_flags, rules, "at the check-in"
        )
    notes: list[Decision] = []
    if event.new_red_flags:  # words beside no chosen sign: a note for the clinician
        words = "; ".join(event.new_red_flags)
        notes.append(
            _info(
                event.date,
                "note.checkin",
                f"Kept for your clinician: {words}.",
                f"Check-in note (no warning sign chosen): {words}.",
            )
        )
    watched = _watch_for_morning(program, event, seen, rules)
    if watched is not None:
        return [*notes, watched]
    asked = _recheck_prompt(program, event, rules)
    sessions = _sessions(seen)
    last = sessions[-1] if sessions else None
    decisions: list[Decision] = []
    # The morning after a session: did pain and stiffness settle?
    if (
        last is not None
        and last.date < event.date
        and not _checkin_between(seen, last.date, event.date, event)
    ):
        decisions.extend(_morning_after_session(program, event, last, seen, rules))
    # Week on week: morning pain and stiffness must not rise; when they do, the load comes down.
    if not decisions and program.state.flare is None and last is not None:
        decisions.extend(_trend_reduction(program, event, last, seen, rules))
    decisions.extend(_referral_check(program, event.date, seen, rules, decisions))
    if asked is not None and not any(d.kind == "refer" for d in decisions):
        decisions.append(asked)
    return notes + decisions


def _recheck_prompt(program: Program, event: CheckIn, rules: Rules) -> Decision | None:
    """Pain on waking at the recheck level: ask the screen's questions about rest, night and
    bone pain again, at most every `every_days` (S13)."""
    recheck = rules.screening.recheck
    if recheck is None:
        return None
    level, why = recheck_level(program, rules)
    if event.pain_on_waking < level:
        return None
    last = program.state.last_recheck_prompt
    if last is not None and (event.date - last).days < recheck.every_days:
        return None
    questions = rules.screening.sections
    texts = [
        section.questions[name].text
        for name in recheck.questions
        for section in questions.values()
        if name in section.questions
    ]
    return Decision(
        rule="prompt.recheck",
        kind="prompt",
        date=event.date,
        numbers={
            "pain_on_waking": event.pain_on_waking,
            "at_least": level,
            "questions": ", ".join(recheck.questions),
        },
        changes=(Change(field="last_recheck_prompt", before=str(last), after=str(event.date)),),
        person_text=f"Your pain on waking is {event.pain_on_waking}/10. Pain after a night's "
        "rest is worth a closer look: please answer a few of the safety questions again — "
        "about pain at rest or at night, and one sore spot on a bone. If they point to a "
        "check, the program pauses until you have been seen.",
        clinician_text=f"Pain on waking {event.pain_on_waking}/10 (≥ {level}{why}): screen "
        "questions asked again — "
        + " / ".join(texts)
        + " A referring answer pauses the program (refer.red_flag).",
        source=f"screening.yaml recheck: {recheck.source}"
        + (
            f"; pathways.yaml waking_recheck: {hallmark.source}"
            if (hallmark := rules.pathways[program.pathway].waking_recheck) is not None
            else ""
        ),
    )


def recheck_level(program: Program, rules: Rules) -> tuple[int, str]:
    """The pain on waking that asks the screen's questions again (S13), with the reason when
    it is not the screen's own level: on a pathway whose hallmark is pain after rest (R13),
    a rise above the intake's value (never below the screen's level), or the pathway's own
    level whatever the intake."""
    recheck = rules.screening.recheck
    assert recheck is not None
    hallmark = rules.pathways[program.pathway].waking_recheck
    if hallmark is None:
        return recheck.waking_pain_at_least, ""
    intake = program.baseline.pain_on_waking
    risen = max(recheck.waking_pain_at_least, intake + hallmark.above_intake_by)
    if risen <= hallmark.waking_pain_at_least:
        return risen, f", above the intake's {intake}/10: waking pain is this condition's own"
    return hallmark.waking_pain_at_least, f", the pathway's level; intake {intake}/10"


def _watch_for_morning(
    program: Program, event: CheckIn, seen: Sequence[HistoryEvent], rules: Rules
) -> Decision | None:
    """A pathway's watch-for sign that the morning check-in shows (shins: pain on waking
    risen to rest-pain level, a possible bone stress injury) refers for that reason (N8)."""
    before = [c for c in _checkins(seen) if c.date < event.date]
    previous = before[-1].pain_on_waking if before else program.profile.pain_on_waking
    rise = event.pain_on_waking - previous
    for sign in rules.pathways[program.pathway].watch_for:
        watch = sign.morning
        if watch is None or event.pain_on_waking < watch.at_least or rise < watch.rise_by:
            continue
        action = sign.action[0].lower() + sign.action[1:]
        return Decision(
            rule="refer.watch_for",
            kind="refer",
            date=event.date,
            numbers={
                "urgency": watch.urgency,
                "pain_on_waking": event.pain_on_waking,
                "morning_before": previous,
                "at_least": watch.at_least,
                "rise_by": watch.rise_by,
            },
            changes=(Change(field="referred", before=False, after=True),),
            person_text=(
                f"Your pain on waking is {event.pain_on_waking}/10, up from {previous}/10. With "
                f"your condition this is one of the signs to watch for — {sign.sign} — so "
                f"{action.rstrip('.')}. Your program is paused until then."
            ),
            clinician_text=(
                f"Watch-for sign of {rules.pathways[program.pathway].clinical_name}: "
                f"{sign.clinical} — pain on waking {previous} → {event.pain_on_waking}/10 "
                f"(≥ {watch.at_least}, rise ≥ {watch.rise_by}). Urgency: "
                f"{_URGENCY_CLINICIAN[watch.urgency]}. Progression stopped; referral advised."
            ),
            source=f"pathways.yaml watch_for ({sign.source}); {watch.source}",
        )
    return None


_URGENCY_CLINICIAN = {
    "emergency": "emergency: same-day emergency assessment",
    "same_day": "same day",
    "soon": "within days",
    "next_visit": "at the next visit",
}


def _refer_for_signs(
    day: dt.date, signs: Sequence[str], words: Sequence[str], rules: Rules, where: str
) -> list[Decision]:
    """A warning sign from the screen's check-in list refers with the urgency of the screen
    rule it stands for, so "now", "today" or "within days" reads as the screen would say it."""
    screening = rules.screening
    chosen = [
        (sign, screening.checkin_signs[sign]) for sign in signs if sign in screening.checkin_signs
    ]
    if not chosen:
        return []
    screen_rules = [screening.rules[known.rule] for _, known in chosen]
    top = max(rule.urgency for rule in screen_rules)
    reasons = list(dict.fromkeys(r.person_text.strip() for r in screen_rules if r.urgency is top))
    told = "; ".join(known.text[:1].lower() + known.text[1:] for _, known in chosen)
    noted = f" You also wrote: {'; '.join(words)}." if words else ""
    names = "; ".join(known.clinician for _, known in chosen)
    rule_names = ", ".join(dict.fromkeys(r.name for r in screen_rules if r.urgency is top))
    return [
        Decision(
            rule="refer.red_flag",
            kind="refer",
            date=day,
            numbers={
                "urgency": top.value,
                "warning_signs": ",".join(sign for sign, _ in chosen),
                **({"words": "; ".join(words)} if words else {}),
            },
            changes=(Change(field="referred", before=False, after=True),),
            person_text=(
                f"{top.label} You reported: {told}.{noted} {' '.join(reasons)} "
                "Your program is paused: do no more exercises until a doctor or "
                "physiotherapist has seen you and your clinician restarts it."
            ),
            clinician_text=(
                f"New warning sign {where}: {names}. Urgency: {_URGENCY_CLINICIAN[top.value]}, "
                f"the screen's urgency for “{rule_names}”.{noted} Progression stopped; "
                "referral advised; the program stays paused until a clinician resumes it."
            ),
            source=f"screening.yaml ({rule_names}); clinical-reference §6",
        )
    ]


def _morning_after_session(
    program: Program, event: CheckIn, last: SessionLog, seen: list[HistoryEvent], rules: Rules
) -> list[Decision]:
    p = rules.progression
    baseline = _morning_of(program, seen, last.date)
    rise = event.pain_on_waking - baseline
    numbers: dict[str, Number] = {
        "pain_on_waking": event.pain_on_waking,
        "baseline": baseline,
        "rise": rise,
    }
    stiffness = _stiffness_before(seen, last.date)
    stiffer = 0
    if stiffness is not None:
        stiffer = event.stiffness_on_waking - stiffness
        numbers.update(
            {
                "stiffness_on_waking": event.stiffness_on_waking,
                "stiffness_baseline": stiffness,
                "stiffness_rise": stiffer,
            }
        )
    flare = program.state.flare
    if flare is not None and flare.started >= last.date:
        return []  # the morning after the session that started a flare-up: expected
    if rise >= p.flare_morning_rise and not _off(program, "flare.start"):
        return _start_flare(
            program,
            event.date,
            rules,
            numbers,
            f"morning pain rose {rise:g} points after the last session",
        )
    if rise < p.morning_worse_by and stiffer < p.morning_worse_by:
        return []
    what = (
        f"pain this morning ({event.pain_on_waking}/10) is worse than before your last session ({baseline:g}/10)"
        if rise >= p.morning_worse_by
        else f"stiffness this morning ({event.stiffness_on_waking}/10) is worse than before your last session ({stiffness}/10)"
    )
    return _regress_session(
        program,
        last,
        event.date,
        rules,
        "regress.morning_worse",
        numbers,
        f"Your {what}, so the exercises from that session step back a little.",
        f"On waking: pain {event.pain_on_waking}/10 vs {baseline:g}/10"
        + (
            f", stiffness {event.stiffness_on_waking}/10 vs {stiffness}/10"
            if stiffness is not None
            else ""
        )
        + f" before the session of {last.date} (worse by ≥ {p.morning_worse_by}): regress that session's work.",
        p.sources["morning_worse_by"].source,
    )


def _trend_reduction(
    program: Program, event: CheckIn, last: SessionLog, seen: list[HistoryEvent], rules: Rules
) -> list[Decision]:
    """Morning pain or stiffness higher this week than last: reduce the last session's work,
    then give the reduction time to work before reducing again."""
    p = rules.progression
    rising = _morning_rising(seen, event.date, rules)
    if rising is None:
        return []
    previous = program.state.last_trend_reduction
    if previous is not None and (event.date - previous).days < p.weekly_rise_reduce_every_days:
        return []
    decisions = _regress_session(
        program,
        last,
        event.date,
        rules,
        "regress.morning_rising",
        {"previous_week": rising[0], "this_week": rising[1]},
        f"Your morning pain or stiffness has crept up this week ({rising[0]:g} → {rising[1]:g} on average), so the exercises step back a little to let it settle.",
        f"Weekly mean morning pain/stiffness {rising[0]:g} → {rising[1]:g} (rise ≥ {p.weekly_morning_rise_by:g}): regress the work of the session of {last.date}; next reduction no sooner than {p.weekly_rise_reduce_every_days} days.",
        p.sources["weekly_morning_rise_by"].source,
    )
    if not decisions:
        return []
    first = decisions[0]
    decisions[0] = first.model_copy(
        update={
            "changes": (
                *first.changes,
                Change(field="last_trend_reduction", after=event.date.isoformat()),
            )
        }
    )
    return decisions


def _checkin_between(
    seen: Sequence[HistoryEvent], after: dt.date, before: dt.date, this: CheckIn
) -> bool:
    return any(c is not this and after < c.date < before for c in _checkins(seen))


def _weekly_morning(
    seen: Sequence[HistoryEvent], day: dt.date, at_least: int = 1
) -> tuple[float, float] | None:
    """Mean morning pain (with stiffness) over the last 7 days and the 7 before, when each
    week has at least `at_least` check-ins."""
    recent = [
        max(c.pain_on_waking, c.stiffness_on_waking)
        for c in _checkins(seen)
        if day - dt.timedelta(days=7) < c.date <= day
    ]
    earlier = [
        max(c.pain_on_waking, c.stiffness_on_waking)
        for c in _checkins(seen)
        if day - dt.timedelta(days=14) < c.date <= day - dt.timedelta(days=7)
    ]
    if len(recent) < max(1, at_least) or len(earlier) < max(1, at_least):
        return None
    return round(mean(earlier), 2), round(mean(recent), 2)


def _morning_rising(
    seen: Sequence[HistoryEvent], day: dt.date, rules: Rules
) -> tuple[float, float] | None:
    weeks = _weekly_morning(seen, day)
    if weeks is not None and weeks[1] - weeks[0] >= rules.progression.weekly_morning_rise_by:
        return weeks
    return None


def _referral_check(
    program: Program, day: dt.date, seen: Sequence[HistoryEvent], rules: Rules, now: list[Decision]
) -> list[Decision]:
    p = rules.progression
    if any(d.kind == "refer" for d in now):
        return []  # referred already by this event
    # The flare-up plan's own reductions do not count (M4 escalates repeated flare-ups), and
    # while the plan runs the pain is judged up to its start: the spike that started it is
    # not pain that failed to ease (N8).
    flare = program.state.flare
    started = next(
        (d.date for d in now if any(c.field == "flare_count" for c in d.changes)),
        flare.started if flare is not None else None,
    )
    until = day if started is None else min(day, started - dt.timedelta(days=1))
    window = until - dt.timedelta(days=p.referral_window_days)
    # Step-backs, one per day, within the window.
    flares = set(program.state.flares) | ({started} if started is not None else set())
    dates = {d for d in program.state.regressions if d > window}
    dates |= {d.date for d in now if any(c.field == "regression_count" for c in d.changes)}
    regressions = sorted(d for d in dates - flares if d <= until)
    if len(regressions) < p.referral_min_regressions:
        return []
    # The regressions need time to work: the first must be at least a week old.
    if (until - regressions[0]).days < 7:
        return []
    half = until - dt.timedelta(days=p.referral_window_days // 2)

    def pains(lo: dt.date, hi: dt.date) -> list[float]:
        out = [float(s.max_pain) for s in _sessions(seen) if lo < s.date <= hi]
        out += [float(c.pain_on_waking) for c in _checkins(seen) if lo < c.date <= hi]
        return out

    first, second = pains(window, half), pains(half, until)
    # Not easing, and not in the safe zone: low pain holding steady is not worsening.
    if not first or not second or mean(second) < mean(first) or mean(second) <= p.pain_safe_max:
        return []
    numbers: dict[str, Number] = {
        "regressions": len(regressions),
        "pain_first_week": round(mean(first), 1),
        "pain_second_week": round(mean(second), 1),
    }
    return [
        Decision(
            rule="refer.worsening",
            kind="refer",
            date=day,
            numbers=numbers,
            changes=(Change(field="referred", before=False, after=True),),
            person_text=(
                f"Your pain has not eased over the last two weeks even though the program stepped back {len(regressions)} times. "
                "Please see a doctor or physiotherapist before carrying on; the program is paused until then."
            ),
            clinician_text=(
                f"Worsening despite {len(regressions)} regressions in {p.referral_window_days} days: mean pain {numbers['pain_first_week']} → "
                f"{numbers['pain_second_week']}. Progression stopped; referral advised."
            ),
            source=p.sources["referral_window_days"].source,
        )
    ]


# -- pain limits --


class PainZone(Frozen):
    """The pain limits in force for one exercise on this pathway (M6): the pathway's own
    block where it has one, else the progression rules; a run never above the running
    limit. `progress_up_to` lets a tendon progress with pain up to it (S7)."""

    safe_max: int
    acceptable_max: int
    after_safe_max: int
    after_acceptable_max: int
    progress_up_to: int | None = None
    source: str


def pain_zone(program: Program, rules: Rules, exercise: Exercise | None = None) -> PainZone:
    p = rules.progression
    block = rules.pathways[program.pathway].pain_limits

    def pick(value: int | None, default: int) -> int:
        return default if value is None else value

    zone = PainZone(
        safe_max=pick(block.safe_max if block else None, p.pain_safe_max),
        acceptable_max=pick(block.acceptable_max if block else None, p.pain_acceptable_max),
        after_safe_max=pick(block.after_safe_max if block else None, p.pain_after_safe_max),
        after_acceptable_max=pick(
            block.after_acceptable_max if block else None, p.pain_after_acceptable_max
        ),
        progress_up_to=block.progress_up_to if block else None,
        source=block.source if block else p.sources["pain_safe_max"].source,
    )
    if exercise is not None and exercise.id in rules.readiness.running_exercises:
        run = rules.readiness.run_pain_max
        zone = zone.model_copy(
            update={
                "safe_max": min(zone.safe_max, run),
                "acceptable_max": min(zone.acceptable_max, run),
                "progress_up_to": None,
                "source": rules.readiness.run_progression_source,
            }
        )
    return zone


def tendon_allowance(
    program: Program, seen: Sequence[HistoryEvent], day: dt.date, rules: Rules
) -> bool:
    """The pathway lets pain up to its `progress_up_to` progress today: the morning after the
    last session settled and the weekly morning trend can be seen and is flat (S7)."""
    block = rules.pathways[program.pathway].pain_limits
    if block is None or block.progress_up_to is None:
        return False
    if morning_after_previous(program, seen, day, rules).status != "settled":
        return False
    weeks = _weekly_morning(seen, day, rules.progression.morning_trend_min_checkins)
    return weeks is not None and weeks[1] <= weeks[0]


def progress_max(zone: PainZone, allowed: bool) -> int:
    """The most pain during the work at which a dose may still progress."""
    if allowed and zone.progress_up_to is not None:
        return max(zone.safe_max, zone.progress_up_to)
    return zone.safe_max


def progress_after_max(zone: PainZone, allowed: bool) -> int:
    """The most pain right after the session at which the doses may still progress."""
    if allowed and zone.progress_up_to is not None:
        return max(zone.after_safe_max, min(zone.progress_up_to, zone.after_acceptable_max))
    return zone.after_safe_max


# -- sessions --


def _main_logs(program: Program, session: SessionLog) -> list[tuple[Slot, Dose, ExerciseLog]]:
    out = []
    for log in session.exercises:
        slot = program.slot(log.exercise_id)
        if slot is None or slot.part != "main":
            continue
        dose = slot.dose(log.side)
        if dose is None:
            continue
        out.append((slot, dose, log))
    return out


def _on_session(
    program: Program, event: SessionLog, seen: list[HistoryEvent], rules: Rules
) -> list[Decision]:
    if event.skipped:
        return _stall_check(program, event.date, seen, rules)
    p = rules.progression
    decisions: list[Decision] = []
    # 1. Flare-up: a pain spike during or right after, or unacceptable pain two sessions running.
    why = _flare_trigger(event, _sessions(seen)[:-1], rules)
    if why is not None and not _off(program, "flare.start"):
        numbers: dict[str, Number] = {"max_pain": event.max_pain}
        if event.pain_after is not None:
            numbers["pain_after"] = event.pain_after
        decisions.extend(_start_flare(program, event.date, rules, numbers, why))
        decisions.extend(_referral_check(program, event.date, seen, rules, decisions))
        return decisions
    if program.state.flare is not None:
        unsettled = _flare_unsettled(program, event.date, rules)
        if unsettled is not None:
            return [unsettled]
        decisions.extend(_flare_stage(program, event, seen, rules))
        decisions.extend(_referral_check(program, event.date, seen, rules, decisions))
        return decisions
    zone = pain_zone(program, rules)
    allowed = tendon_allowance(program, seen, event.date, rules)
    # 2. Pain right after the session above the acceptable zone: the session's work steps
    # back — unless it already has, in a row, as often as it should (N1): then it holds.
    if event.pain_after is not None and event.pain_after > zone.after_acceptable_max:
        steps = _pain_steps(program, seen, rules)
        if len(steps) >= p.pain_step_backs_max:
            decisions.extend(
                _pain_persisting(
                    program,
                    event,
                    rules,
                    steps,
                    None,
                    f"pain right after the session {event.pain_after}/10",
                    zone.after_acceptable_max,
                )
            )
            decisions.extend(_stall_check(program, event.date, seen, rules, decisions))
            decisions.extend(_referral_check(program, event.date, seen, rules, decisions))
            return decisions
        decisions.extend(
            _regress_session(
                program,
                event,
                event.date,
                rules,
                "regress.pain_after",
                {"pain_after": event.pain_after, "acceptable_max": zone.after_acceptable_max},
                f"Right after the session your pain was {event.pain_after}/10, above the {zone.after_acceptable_max}/10 limit, so the exercises from it step back a little.",
                f"Pain after the session {event.pain_after}/10 > {zone.after_acceptable_max}/10: regress that session's work.",
                zone.source,
            )
        )
        decisions.extend(_stall_check(program, event.date, seen, rules, decisions))
        decisions.extend(_referral_check(program, event.date, seen, rules, decisions))
        return decisions
    # 3. The session's whole response: each of these holds every progression.
    holds = _response_holds(program, event, seen, rules)
    holds.extend(_retest_worse_hold(program, event.date))
    # 4. Per exercise and side: regress, hold or progress.
    candidates: list[tuple[Slot, Dose, Exercise]] = []
    working = program  # the program with this session's regressions applied so far
    efforts = _effort_over(program, event, seen, rules)
    # too hard after both effort step backs were due (P15): name, run, dose key
    effort_spent: list[tuple[str, int, str]] = []
    for logged_slot, logged_dose, log in _main_logs(program, event):
        if working.slot(logged_slot.exercise_id) is None:
            continue  # stepped down to its easier neighbour for form earlier on (P5)
        slot, dose = _current(working, logged_slot.exercise_id, logged_dose.side)
        exercise = rules.library[slot.exercise_id]
        pain = log.max_pain
        side_text = f" ({dose.side.value})" if dose.side else ""
        limits = pain_zone(program, rules, exercise)
        limit = progress_max(limits, allowed)
        if pain > limits.acceptable_max:
            steps = _pain_steps(program, seen, rules, (slot.exercise_id, dose.side))
            if len(steps) >= p.pain_step_backs_max:
                decisions.extend(
                    _pain_persisting(
                        working,
                        event,
                        rules,
                        steps,
                        (slot, dose, exercise),
                        f"pain {pain}/10",
                        limits.acceptable_max,
                        prompt=not any(d.rule == "prompt.pain_review" for d in decisions),
                    )
                )
                continue
            decisions.append(
                _regress_dose(
                    working,
                    slot,
                    dose,
                    exercise,
                    event.date,
                    rules,
                    "regress.pain",
                    {"pain": pain, "acceptable_max": limits.acceptable_max},
                    f"{exercise.name}{side_text} hurt {pain}/10, above the {limits.acceptable_max}/10 limit, so it steps back a notch with fewer reps.",
                    f"{exercise.name}{side_text}: pain {pain}/10 > {limits.acceptable_max}/10 (unacceptable zone): one rung back, volume −{p.regress_volume_fraction:.0%}.",
                    limits.source,
                )
            )
            working = apply(working, decisions[-1], rules)
            continue
        if pain > limit:
            decisions.append(
                Decision(
                    rule="hold.pain_acceptable",
                    kind="hold",
                    date=event.date,
                    exercise_id=slot.exercise_id,
                    side=dose.side,
                    numbers={
                        "pain": pain,
                        "safe_max": limit,
                        "acceptable_max": limits.acceptable_max,
                    },
                    person_text=f"{exercise.name}{side_text} hurt {pain}/10: acceptable, but not yet comfortable, so it stays as it is.",
                    clinician_text=f"{exercise.name}{side_text}: pain {pain}/10 in the acceptable zone ({limit + 1}–{limits.acceptable_max}): hold.",
                    source=limits.source,
                )
            )
            continue
        over = efforts.get(dose_key(slot.exercise_id, dose.side))
        # One step below the bottom of the range at most: a dose too hard steps back, but
        # effort alone does not take it to nothing. Still too hard some sessions after that
        # step, a second step to a lower floor (P15); after that, the clinician.
        floor_amount = dose_floor(exercise, rules)
        first = over is not None and (dose.amount > floor_amount or bool(dose.load_kg))
        second = False
        if not first and not dose.pinned and program.template is None:
            run = _effort_run(program, seen, rules, slot.exercise_id, dose.side)
            if run == p.effort_over_sessions + p.effort_step_back_sessions:
                # Still too hard N sessions after the first step: once more, to a lower floor.
                floor_amount = effort_second_floor(exercise, rules)
                second = dose.amount > floor_amount or bool(dose.load_kg)
                target = rules.phases[program.phase].dose.effort_rpe_max
                over = over or (target, f"≥ {target + p.effort_over_target_by:g}")
            elif run >= p.effort_over_sessions + 2 * p.effort_step_back_sessions:
                effort_spent.append(
                    (exercise.name + side_text, run, dose_key(slot.exercise_id, dose.side))
                )
        if (first or second) and over is not None and not dose.pinned:
            target, logged = over
            person = (
                f"{exercise.name}{side_text} still feels much harder than this phase intends for "
                f"{p.effort_over_sessions + p.effort_step_back_sessions} sessions running, after "
                "a step back, so it steps back once more — the last time it goes lower for "
                "effort."
                if second
                else f"{exercise.name}{side_text} has felt much harder than this phase intends "
                f"for {p.effort_over_sessions} sessions running, so it steps back a notch."
            )
            clinical = (
                f"{exercise.name}{side_text}: RPE ≥ the phase target {target:g} + "
                f"{p.effort_over_target_by:g} on {p.effort_over_sessions + p.effort_step_back_sessions} "
                f"sessions in a row, through an effort step-back: second step, one rung back, "
                f"volume −{p.regress_volume_fraction:.0%}, not below {floor_amount:g} "
                f"({p.effort_second_floor_fraction:.0%} of the range's bottom)."
                if second
                else f"{exercise.name}{side_text}: RPE {logged} on the last "
                f"{p.effort_over_sessions} sessions ≥ the phase target {target:g} + "
                f"{p.effort_over_target_by:g}: one rung back, volume "
                f"−{p.regress_volume_fraction:.0%}."
            )
            decisions.append(
                _regress_dose(
                    working,
                    slot,
                    dose,
                    exercise,
                    event.date,
                    rules,
                    "regress.effort",
                    {"effort_target": target, "efforts": logged, "step": 2 if second else 1},
                    person,
                    clinical,
                    p.sources[
                        "effort_step_back_sessions" if second else "effort_over_target_by"
                    ].source,
                    floor=floor_amount,
                )
            )
            # A dose too hard is not a pain response: it does not count towards a referral.
            decisions[-1] = decisions[-1].model_copy(
                update={
                    "changes": (
                        *(
                            c.model_copy(update={"after": max(float(c.after), floor_amount)})
                            if c.field == "amount" and isinstance(c.after, int | float)
                            else c
                            for c in decisions[-1].changes
                            if c.field != "regression_count"
                        ),
                        # Counted for the hand-over's words (R15).
                        Change(
                            exercise_id=slot.exercise_id,
                            side=dose.side,
                            field="effort_step",
                            after=2 if second else 1,
                        ),
                    )
                }
            )
            working = apply(working, decisions[-1], rules)
            continue
        faults = [s.form for s in log.sets if not s.clean]
        if faults:
            step = _form_step(working, slot, dose, exercise, seen, event.date, rules, side_text)
            if step is not None:
                decisions.append(step)
                working = apply(working, step, rules)
                continue
            fault = exercise_fault(exercise, faults[0])
            decisions.append(
                Decision(
                    rule="hold.form",
                    kind="hold",
                    date=event.date,
                    exercise_id=slot.exercise_id,
                    side=dose.side,
                    numbers={"sets_with_fault": len(faults), "sets": len(log.sets)},
                    person_text=f"{exercise.name}{side_text}: {fault} The dose stays the same until the form is clean.",
                    clinician_text=f"{exercise.name}{side_text}: form fault on {len(faults)}/{len(log.sets)} sets ({faults[0]}): hold.",
                    source="seeds/001: progress only while mechanics stay clean",
                )
            )
            continue
        if dose.pinned or holds:
            # A protocol's blocks set sets × reps; only its load moves (`_next_step`).
            continue
        ready, why_not = _ready(program, seen, slot, dose, exercise, rules, limit)
        if ready:
            candidates.append((slot, dose, exercise))
        elif why_not:
            decisions.append(
                Decision(
                    rule="hold.effort",
                    kind="hold",
                    date=event.date,
                    exercise_id=slot.exercise_id,
                    side=dose.side,
                    numbers={},
                    person_text=f"{exercise.name}{side_text}: {why_not}",
                    clinician_text=f"{exercise.name}{side_text}: {why_not}",
                    source=p.sources["spare_effort_rpe_max"].source,
                )
            )
    regressed = any(d.kind == "regress" for d in decisions)
    spent = _effort_review(program, event.date, effort_spent, rules)
    decisions.extend(spent)
    decisions.extend(holds)
    # 5. Progressions, within the volume caps and keeping the weaker side ahead.
    decisions.extend(_progress_all(working, candidates, event, seen, rules, allowed))
    # 6. Template blocks, phase gate, retest prompts, stalls, referral.
    if not holds and not regressed:
        decisions.extend(_template_block(program, event.date, rules))
    if not regressed:
        latest = program
        for made in decisions:
            latest = apply(latest, made, rules)
        for d in _held_phase_advance(_gate(program, event.date, seen, rules, decisions), holds):
            said: Decision | None = (
                _phase_week_capped(latest, d, event.date, seen, rules)
                if d.rule == "phase.advance"
                else d
            )
            if said is not None:  # None: a held advance said recently, waiting quietly (P6)
                decisions.append(said)
        if not holds:
            # A protocol's next phase keeps to the weekly cap as a phase change does (M8).
            for d in _stage_advance(program, event, seen, rules):
                capped = _phase_week_capped(latest, d, event.date, seen, rules)
                if capped is not None:
                    decisions.append(capped)
    if (
        not regressed
        and not holds
        and not any(d.rule.startswith(("phase.", "stage.")) for d in decisions)
    ):
        # R2: the walk-run plan joins once its criteria are met, not only at a phase change.
        latest = program
        for made in decisions:
            latest = apply(latest, made, rules)
        joined = _run_start(latest, event, rules)
        if joined is not None:
            decisions.append(joined)
    if not regressed and not any(d.rule.startswith(("prompt.", "phase.")) for d in decisions):
        asked = _run_test_prompt(program, event.date, rules)
        if asked is not None:
            decisions.append(asked)
    decisions.extend(_stall_check(program, event.date, seen, rules, decisions))
    decisions.extend(_referral_check(program, event.date, seen, rules, decisions))
    return decisions


def _run_test_prompt(program: Program, day: dt.date, rules: Rules) -> Decision | None:
    """Q3: the walk-run plan waits only on a test never done (the hop test): once every other
    running criterion is met, from the phase running may join, ask for a retest with it, at
    most every `retest_every_weeks` — not while a check, a weight-bearing limit or a flare-up
    stands."""
    running = rules.pathways[program.pathway].running
    if (
        running is None
        or program.template is not None
        or program.phase.number < running.from_phase.number
        or program.state.check_pending is not None
        or program.state.flare is not None
        or load_restriction(program.pathway, program.profile, rules) is not None
    ):
        return None
    last = program.state.last_run_test_prompt
    if last is not None and (day - last).days < rules.progression.retest_every_weeks * 7:
        return None
    ready = run_ready(program.profile, rules)
    unmet = ready.unmet
    if ready.met or not unmet or any(r.numbers != "not tested" for r in unmet):
        return None
    criteria = {c.id: c for c in rules.readiness.run.criteria}
    tests = [
        rules.assessment.tests[test]
        for r in unmet
        if (test := criteria[r.id].test) is not None and test in rules.assessment.tests
    ]
    names = ", ".join(t.person_label for t in tests)
    texts = " ".join(r.text for r in unmet)
    return Decision(
        rule="prompt.run_test",
        kind="prompt",
        date=day,
        numbers={"untested": ", ".join(r.id for r in unmet)},
        changes=(Change(field="last_run_test_prompt", before=str(last), after=str(day)),),
        person_text=f"You meet the other criteria to start the walk-run plan; one thing is not "
        f"tested yet: {texts} Please include the {names} in a retest: it decides whether "
        "running can start.",
        clinician_text=f"Run readiness: every criterion met except untested "
        f"{', '.join(r.id for r in unmet)} ({names}): retest needed before the walk-run plan "
        f"can join (from phase {running.from_phase.number}).",
        source=rules.readiness.run_progression_source,
    )


def run_start_waits(program: Program, rules: Rules) -> str | None:
    """R2: what, besides a session within the pain limits, keeps the walk-run plan out of a
    program whose person meets its criteria in a phase and with minutes that allow it —
    in the words "it joins at the first session after …"; None when nothing does."""
    running = rules.pathways[program.pathway].running
    if running is None:
        return None
    state = program.state
    if state.flare is not None:
        return "the flare-up plan has ended"
    if state.check_pending is not None:
        return "your clinician has recorded the check the program is waiting for"
    if load_restriction(program.pathway, program.profile, rules) is not None:
        return "full weight on the leg is recorded"
    if any(e.action == "remove" and e.exercise_id == running.exercise_id for e in state.edits):
        return "your clinician puts it back (they took it out)"
    if _off(program, "running.start"):
        return "your clinician switches its automatic start back on"
    exercise = rules.library.get(running.exercise_id)
    if exercise is None or not _fits(exercise, program, rules):
        return "the program allows it (not with this phase, equipment or weight on the leg)"
    if (
        program.phase.number >= running.from_phase.number
        and program.preferences.minutes_per_session >= running.needs_minutes
        and run_ready(program.profile, rules).met
        and _run_session(program, exercise, rules) is None
    ):
        return (
            "more minutes are given to each session (the walk-run and the strength work "
            f"do not fit in {program.preferences.minutes_per_session} without the extra set "
            "of the side with the problem)"
        )
    return None


def _runs(program: Program, rules: Rules) -> bool:
    return any(s.exercise_id in rules.readiness.running_exercises for s in program.slots)


def running_note_now(program: Program, rules: Rules) -> Program:
    """R2: the running note rewritten from the program as it stands — in the sessions, or
    exactly what a ready runner's walk-run plan waits for (the phase, the minutes, the end of
    a flare-up, a check, a session within the pain limits)."""
    running = rules.pathways[program.pathway].running
    if running is None or not any(r.startswith(RUNNING_PREFIX) for r in program.reasons):
        return program
    runs = _runs(program, rules)
    if program.template is not None and not runs:
        note = running_note(program.pathway, program.profile, rules)
    else:
        zone = pain_zone(program, rules, rules.library.get(running.exercise_id))
        note = running_note(
            program.pathway,
            program.profile,
            rules,
            phase=program.phase,
            minutes=program.preferences.minutes_per_session,
            running=runs,
            waits=None if runs else run_start_waits(program, rules),
            pain_max=min(zone.safe_max, zone.after_safe_max),
        )
    reasons = tuple(
        note if note is not None and r.startswith(RUNNING_PREFIX) else r for r in program.reasons
    )
    if reasons == program.reasons:
        return program
    return program.model_copy(update={"reasons": reasons})


def _run_session(
    program: Program, exercise: Exercise, rules: Rules
) -> tuple[Slot, dict[str, Slot]] | None:
    """R2: the walk-run slot as it starts, and the session with it fitted to the person's
    minutes as the planner fits a new phase (`fit_time`: warm-up and stretches first, then
    the least targeted main work, then sets), a clinician's pinned dose kept — by exercise.
    None when that would take the extra set of the side with the problem or leave the
    session beyond the minutes."""
    budget = program.preferences.minutes_per_session
    slot = _start_slot(exercise, program, rules, "")
    slots = list(program.slots)
    mains = [i for i, s in enumerate(slots) if s.part == "main"]
    slots.insert(mains[0] if mains else len(slots), slot)
    main = [rules.library[s.exercise_id] for s in slots if s.part == "main"]
    pinned = {s.exercise_id: s for s in program.slots if any(d.pinned for d in s.doses)}
    core = session_core(program.pathway, program.phase, program.profile, main, rules)
    fitted, _ = fit_time(slots, budget, rules, core=core | set(pinned), profile=program.profile)
    kept = {s.exercise_id: pinned.get(s.exercise_id, s) for s in fitted}
    if session_minutes(list(kept.values()), rules) > _session_limit(program, rules) + 1e-9:
        return None
    for old in program.slots:
        new = kept.get(old.exercise_id)
        weaker = _slot_weaker(old)
        if new is None or weaker is None:
            continue
        mine, other = new.dose(weaker), new.dose(weaker.other)
        if mine is not None and other is not None and mine.sets <= other.sets:
            return None
    return slot, kept


def _run_start(program: Program, event: SessionLog, rules: Rules) -> Decision | None:
    """R2: the walk-run plan joins the program at a session within the pain limits (the
    running limit, during and right after) once its criteria are met, in a phase that allows
    it and with the minutes to hold it beside the strength work — not only at a phase
    change, and never during a flare-up. The session is fitted to the minutes as a new phase
    is (`_run_session`), every change recorded."""
    running = rules.pathways[program.pathway].running
    if (
        running is None
        or program.template is not None
        or _runs(program, rules)
        or program.phase.number < running.from_phase.number
        or program.preferences.minutes_per_session < running.needs_minutes
        or run_start_waits(program, rules) is not None
    ):
        return None
    ready = run_ready(program.profile, rules)
    if not ready.met:
        return None
    exercise = rules.library[running.exercise_id]
    zone = pain_zone(program, rules, exercise)
    if (
        event.max_pain > zone.safe_max
        or event.pain_after is None
        or event.pain_after > zone.after_safe_max
    ):
        return None
    made = _run_session(program, exercise, rules)
    if made is None:
        return None
    slot, kept = made
    budget = program.preferences.minutes_per_session
    changes = [Change(exercise_id=exercise.id, field="added", before=None, after="main")]
    left: list[str] = []
    trimmed: list[str] = []
    # The walk-run slot is made again by `apply` as it starts (`_start_slot`): what the
    # fitting changes in it is recorded as for every other exercise.
    for old in (slot, *program.slots):
        new = kept.get(old.exercise_id)
        if new is None:
            changes.append(Change(exercise_id=old.exercise_id, field="left_out", before=old.part))
            left.append(rules.library[old.exercise_id].name)
            continue
        for before, after in zip(old.doses, new.doses, strict=True):
            for field in ("sets", "amount"):
                was, now = getattr(before, field), getattr(after, field)
                if was == now:
                    continue
                changes.append(
                    Change(
                        exercise_id=old.exercise_id,
                        side=before.side,
                        field=field,
                        before=was,
                        after=now,
                    )
                )
                if old is not slot:
                    st = f", {before.side.value}" if before.side else ""
                    trimmed.append(
                        f"{rules.library[old.exercise_id].name}{st} {field} {was:g} → {now:g}"
                    )
    changes.append(Change(field="last_progression", after=event.date.isoformat()))
    start = kept[exercise.id].doses[0]
    minutes_before = session_minutes(program.slots, rules)
    minutes_after = session_minutes(list(kept.values()), rules)
    setting = f"{start.knob}, " if start.knob else ""
    dose = f"{setting}{start.sets} × {start.amount:g} {exercise.dose_type.unit}"
    room = []
    if left:
        room.append(f"{', '.join(left)} {'is' if len(left) == 1 else 'are'} left out")
    if trimmed:
        room.append("some sets are trimmed")
    making = (
        f" To make room, {' and '.join(room)}, so the session stays within your {budget} minutes."
        if room
        else ""
    )
    criteria = "; ".join(f"{r.id}: {r.numbers}" for r in ready.results if r.counted)
    return Decision(
        rule="running.start",
        kind="progress",
        date=event.date,
        exercise_id=exercise.id,
        numbers={
            "phase": program.phase.number,
            "from_phase": running.from_phase.number,
            "minutes_budget": budget,
            "needs_minutes": running.needs_minutes,
            "pain": event.max_pain,
            "pain_after": event.pain_after,
            "pain_max": zone.safe_max,
            "pain_after_max": zone.after_safe_max,
            "minutes_before": round(minutes_before, 1),
            "minutes_after": round(minutes_after, 1),
            "run_criteria": criteria,
            "left_out": ", ".join(c.exercise_id or "" for c in changes if c.field == "left_out"),
        },
        changes=tuple(changes),
        person_text=f"{exercise.name} join your sessions ({dose}): you meet the criteria to "
        f"start running again, you are in phase {program.phase.number} and your sessions have "
        f"the {running.needs_minutes} minutes it needs beside the strength work, and today's "
        f"pain stayed at {max(event.max_pain, event.pain_after)}/10.{making} "
        f"{rules.readiness.run_progression}",
        clinician_text=f"Run readiness met ({criteria}); phase {program.phase.number} ≥ "
        f"{running.from_phase.number} (running.from_phase); {budget} ≥ {running.needs_minutes} "
        f"min (running.needs_minutes); session pain {event.max_pain}/10 ≤ {zone.safe_max}, "
        f"after {event.pain_after}/10 ≤ {zone.after_safe_max} (the running limit); no "
        f"flare-up, pending check or weight-bearing limit: {exercise.name} added at {dose} "
        f"(running.start). Session fitted to {budget} min as at a phase change (fit_time): "
        f"left out {', '.join(left) or 'nothing'}; {'; '.join(trimmed) or 'no sets trimmed'}; "
        f"estimate {minutes_before:.1f} → {minutes_after:.1f} min.",
        source=f"{running.source}; {rules.readiness.run_progression_source}",
    )


def _last_set_fault(log: ExerciseLog, sets: int) -> bool:
    """The dose's sets were all done and only the last lost its form."""
    return (
        len(log.sets) == sets
        and not log.sets[-1].clean
        and all(done.clean for done in log.sets[:-1])
    )


def _one_set_off(slot: Slot, dose: Dose) -> Change:
    return Change(
        exercise_id=slot.exercise_id,
        side=dose.side,
        field="sets",
        before=dose.sets,
        after=dose.sets - 1,
    )


def _form_episode(
    seen: Sequence[HistoryEvent], slot: Slot, dose: Dose
) -> tuple[int, bool, bool, int]:
    """The run of sessions, latest first, whose log of this exercise side lost its form in
    the last set only: how many of them were at today's dose (sets, setting and load),
    whether a set (P5) or a rung already came off during the run, and the most sets logged
    in the run (the count before a set came off, Q6)."""
    at_dose = 0
    counting = True
    set_off = stepped = False
    most = dose.sets
    for session in reversed(_sessions(seen)):
        if session.skipped:
            continue
        found = next(
            (
                e
                for e in session.exercises
                if e.exercise_id == slot.exercise_id and e.side == dose.side
            ),
            None,
        )
        if found is None or not found.sets or not _last_set_fault(found, len(found.sets)):
            break
        last = found.sets[-1]
        same = (last.knob, last.load_kg or None) == (dose.knob, dose.load_kg or None)
        if counting and len(found.sets) == dose.sets and same:
            at_dose += 1
        else:
            counting = False
        set_off = set_off or len(found.sets) > dose.sets
        most = max(most, len(found.sets))
        stepped = stepped or not same
    return at_dose, set_off, stepped, most


def _easier_rung(
    program: Program,
    slot: Slot,
    dose: Dose,
    exercise: Exercise,
    rules: Rules,
    sets_back: int | None = None,
) -> tuple[list[Change], str] | None:
    """One rung down the ladder with the sets kept (P5): a lighter load, the exercise's
    easier setting (more support), a shorter lowering, or its easier neighbour."""
    p = rules.progression
    key, side = slot.exercise_id, dose.side
    if dose.load_kg:
        after = (
            math.floor(
                dose.load_kg * (1 - p.load_step_max_percent / 100) / p.load_increment_kg + 1e-9
            )
            * p.load_increment_kg
        )
        load = round(after, 3) or None
        change = Change(
            exercise_id=key, side=side, field="load_kg", before=dose.load_kg, after=load
        )
        return [change], f"load {dose.load_kg:g} → {load or 0:g} kg"
    knob = exercise.knob
    easier = knob.easier_setting(dose.knob) if knob and dose.knob is not None else None
    if knob is not None and dose.knob is not None and easier is not None:
        change = Change(exercise_id=key, side=side, field="knob", before=dose.knob, after=easier)
        return [change], f"{knob.describe(dose.knob)} → {knob.value_text(easier)}"
    if dose.tempo and exercise.tempo and dose.tempo.lowering > exercise.tempo.lowering:
        after_t = max(exercise.tempo.lowering, dose.tempo.lowering - p.tempo_step_seconds)
        change = Change(
            exercise_id=key,
            side=side,
            field="tempo_lowering",
            before=dose.tempo.lowering,
            after=after_t,
        )
        return [change], f"lowering {dose.tempo.lowering:g} → {after_t:g} s"
    target = exercise.regression
    if target is not None and _fits(rules.library[target], program, rules):
        swap = Change(exercise_id=key, side=None, field="exercise", before=key, after=target)
        # The easier neighbour starts at its own starting dose, but with no more sets than
        # each side has now: the set that came off stays off.
        new = rules.library[target]
        starts, _ = dose_for(new, rules.phases[program.phase], program.profile, rules)
        # Q6: the side whose set came off for form may have it back on the easier exercise.
        sets = [
            Change(exercise_id=target, side=d.side, field="sets", before=d.sets, after=kept)
            for d in starts
            if (
                kept := sets_back
                if sets_back is not None and d.side == dose.side
                else (slot.dose(d.side) or dose).sets
            )
            < d.sets
        ]
        return [swap, *sets], f"→ {new.name} at its starting dose"
    return None


def _form_step(
    program: Program,
    slot: Slot,
    dose: Dose,
    exercise: Exercise,
    seen: Sequence[HistoryEvent],
    day: dt.date,
    rules: Rules,
    side_text: str,
) -> Decision | None:
    """N9: a form fault confined to the last set, at `form_last_set_sessions` sessions in a
    row at this dose, is a dose slightly too much: that set comes off, with the form cue. The
    side given the extra set keeps at least the other side's volume (the other side loses a
    set too when needed); a dose one set below the phase's range, or pinned, holds as before
    (and a stall that repeats goes to the clinician).

    P5: one set at most per run of faulty sessions. A fault that persists after that set
    (or at the floor) is not fatigue: the sets stay and the exercise steps down one rung
    (`_easier_rung`), once per run; after that it holds and the stall prompts take over."""
    p = rules.progression
    # Q6: never below the phase's fewest sets: one set of four is not a training dose.
    floor = max(1, rules.phases[program.phase].dose.sets_min)
    if dose.pinned:
        return None
    at_dose, set_off, stepped, most = _form_episode(seen, slot, dose)
    if at_dose < p.form_last_set_sessions:
        return None
    fault_id = next(
        log.sets[-1].form
        for session in reversed(_sessions(seen))
        for log in session.exercises
        if log.exercise_id == slot.exercise_id and log.side == dose.side and log.sets
    )
    known = any(f.id == fault_id for f in exercise.faults)
    cue = exercise_fault(exercise, fault_id) if known else f"Keep in mind: {exercise.cues[0]}"
    numbers: dict[str, Number] = {"sessions": at_dose, "fault": fault_id}
    lead = f"{exercise.name}{side_text}: "
    fault_text = f"form fault confined to the last set ({fault_id})"

    def regress(
        extra: dict[str, Number], changes: list[Change], person: str, clinical: str
    ) -> Decision:
        return Decision(
            rule="regress.form",
            kind="regress",
            date=day,
            exercise_id=slot.exercise_id,
            side=dose.side,
            numbers=numbers | extra,
            changes=tuple(changes),
            person_text=f"{lead}{person} {cue}",
            clinician_text=f"{lead}{fault_text} {clinical}, cue given. Not a pain response: "
            "not counted towards referral.",
            source=p.sources["form_last_set_sessions"].source,
        )

    if set_off or dose.sets <= floor:
        back = _set_back(program, slot, dose, most, rules) if set_off else None
        rung = None if stepped else _easier_rung(program, slot, dose, exercise, rules, back)
        if rung is None:
            return None
        changes, how = rung
        swapped = any(c.field == "exercise" for c in changes)
        if swapped and not _swap_for_both(program, slot, dose, changes, seen, floor, rules):
            return None  # R5: this side holds with its cue until the other needs it too
        if back is not None and not swapped:
            # Q6: the set that came off comes back with the easier rung.
            changes.append(
                Change(
                    exercise_id=slot.exercise_id,
                    side=dose.side,
                    field="sets",
                    before=dose.sets,
                    after=back,
                )
            )
        after_what = "after a set came off" if set_off else "at the least number of sets"
        less = "with a set less" if set_off else "at the fewest sets this phase uses"
        sets_words = f"{dose.sets} set" + ("" if dose.sets == 1 else "s")
        returned = back is not None and back > dose.sets
        return regress(
            {"sets": back if back is not None and returned else dose.sets, "step": "rung"},
            changes,
            f"the last set still loses its form {less}, so the exercise gets a little easier "
            f"({how})"
            + (f" and the set comes back: {back} sets." if returned else ", with the sets kept."),
            f"persists {after_what} ({at_dose} sessions at {sets_words}): not fatigue; one "
            f"rung down ({how})" + (f", sets back to {back}" if returned else ", sets kept"),
        )
    if stepped:
        return None  # a rung already came off in this run: hold; the stall prompts follow
    changes = [_one_set_off(slot, dose)]
    weaker = slot_weaker_side(program, slot)
    other = slot.dose(weaker.other) if weaker is not None and dose.side is weaker else None
    if other is not None and (dose.sets - 1) * dose.amount < other.sets * other.amount:
        if other.pinned or other.sets <= floor:
            return None
        changes.append(_one_set_off(slot, other))
    after = dose.sets - 1
    sets_words = f"{after} set" if after == 1 else f"{after} sets"
    return regress(
        {"sets_before": dose.sets, "sets_after": after},
        changes,
        f"the last set has lost its form {at_dose} sessions running, so for now it is "
        f"{sets_words}, each done well.",
        f"at {at_dose} consecutive sessions: one set off ({dose.sets} → {after})",
    )


def _swap_for_both(
    program: Program,
    slot: Slot,
    dose: Dose,
    changes: list[Change],
    seen: Sequence[HistoryEvent],
    floor: int,
    rules: Rules,
) -> bool:
    """R5: the easier neighbour replaces the exercise for every side, so it is taken only
    when every other side of the slot needs the same rung now (its last set faulty for
    `form_last_set_sessions` sessions at its dose, after a set came off or at the fewest
    sets, with no rung taken yet in its run), and never at the cost of the weaker side's
    extra set (`extra_set_lost`, as for the time swap, R7). A fault on one side leaves the
    other side's exercise and dose as they are."""
    target = next(str(c.after) for c in changes if c.field == "exercise")
    # The sets each side had before a set came off for form in this run count (Q6).
    had = {d.side: max(d.sets, _form_episode(seen, slot, d)[3]) for d in slot.doses}
    kept = slot.model_copy(
        update={"doses": tuple(d.model_copy(update={"sets": had[d.side]}) for d in slot.doses)}
    )
    if extra_set_lost(kept, rules.library[target], program, rules):
        return False
    for other in slot.doses:
        if other.side == dose.side:
            continue
        if other.pinned:
            return False
        at_dose, set_off, stepped, _ = _form_episode(seen, slot, other)
        if (
            at_dose < rules.progression.form_last_set_sessions
            or stepped
            or not (set_off or other.sets <= floor)
        ):
            return False
    return True


def _set_back(program: Program, slot: Slot, dose: Dose, most: int, rules: Rules) -> int | None:
    """Q6: the sets this side had before a set came off for form, when giving them back with
    the easier rung keeps the side with the extra set ahead and the session within the
    person's minutes (P1); else None (the sets stay as they are)."""
    if most <= dose.sets:
        return None
    weaker = slot_weaker_side(program, slot)
    if weaker is not None and dose.side is weaker.other:
        weak = slot.dose(weaker)
        if weak is not None and most * dose.amount > weak.sets * weak.amount:
            return None
    change = Change(
        exercise_id=slot.exercise_id, side=dose.side, field="sets", before=dose.sets, after=most
    )
    after = _patch_dose(list(program.slots), change)
    before_minutes = session_minutes(program.slots, rules)
    after_minutes = session_minutes(tuple(after), rules)
    if after_minutes > max(_session_limit(program, rules), before_minutes):
        return None
    return most


def _pain_steps(
    program: Program,
    seen: Sequence[HistoryEvent],
    rules: Rules,
    key: tuple[str, Side | None] | None = None,
) -> list[tuple[dt.date, int]]:
    """The sessions just before this one that stepped back for pain (N1), most recent first:
    pain during the exercise (`key`; any main exercise without it) above the pathway's limit,
    or pain right after above its after-session limit. Counted back to the first session
    within the limits, the phase's start or the end of the last flare-up. Each entry is the
    day and the highest pain that mattered."""
    zone = pain_zone(program, rules)
    ended = program.state.last_flare_end
    out: list[tuple[dt.date, int]] = []
    for session in reversed(_sessions(seen)[:-1]):
        if session.skipped:
            continue
        if session.date < program.phase_started or (ended is not None and session.date <= ended):
            break
        logs = [
            log
            for _, dose, log in _main_logs(program, session)
            if key is None or (log.exercise_id, dose.side) == key
        ]
        if key is not None and not logs:
            continue  # the exercise was not done that day
        pains = [
            log.max_pain
            for log in logs
            if log.max_pain
            > pain_zone(program, rules, rules.library[log.exercise_id]).acceptable_max
        ]
        after = session.pain_after
        if after is not None and after > zone.after_acceptable_max:
            pains.append(after)
        if not pains:
            break
        out.append((session.date, max(pains)))
    return out


def _pain_persisting(
    program: Program,
    event: SessionLog,
    rules: Rules,
    steps: list[tuple[dt.date, int]],
    target: tuple[Slot, Dose, Exercise] | None,
    what: str,
    limit: int,
    prompt: bool = True,
) -> list[Decision]:
    """Pain still above the limit after `pain_step_backs_max` step-backs in a row (N1): the
    dose stops falling — a hold, not another cut — and, when the run of step-backs has just
    reached the count, a prompt asks for a clinician's look (the pathway's own check)."""
    p = rules.progression
    block = rules.pathways[program.pathway].pain_limits
    earlier = ", ".join(f"{pain}/10" for _, pain in reversed(steps))
    numbers: dict[str, Number] = {
        "step_backs": len(steps),
        "step_backs_max": p.pain_step_backs_max,
        "limit": limit,
    }
    if target is None:
        name, exercise_id, side = "The exercises", None, None
    else:
        slot, dose, exercise = target
        name = exercise.name + (f" ({dose.side.value})" if dose.side else "")
        exercise_id, side = slot.exercise_id, dose.side
        numbers.update({"amount": dose.amount, "floor": dose_floor(exercise, rules)})
    out = [
        Decision(
            rule="hold.pain_persisting",
            kind="hold",
            date=event.date,
            exercise_id=exercise_id,
            side=side,
            numbers=numbers,
            person_text=f"{name}: {what}, still above the {limit}/10 limit after {len(steps)} step-backs in a row, so the dose stays where it is instead of going lower.",
            clinician_text=f"{name}: {what} > {limit}/10 after {len(steps)} pain step-backs in a row (pain {earlier}): not settled by the lower dose; dose held, not cut again (pain_step_backs_max {p.pain_step_backs_max}).",
            source=p.sources["pain_step_backs_max"].source,
        )
    ]
    if prompt and len(steps) == p.pain_step_backs_max:
        person = (
            block.persisting
            if block is not None and block.persisting
            else "Pain that does not ease when the exercises come down needs a look: please see your physiotherapist or doctor to review the plan."
        )
        clinical = (
            block.persisting_clinical
            if block is not None and block.persisting_clinical
            else "Pain above the limit unchanged by lower doses: review the diagnosis and the plan."
        )
        out.append(
            Decision(
                rule="prompt.pain_review",
                kind="prompt",
                date=event.date,
                numbers={"step_backs": len(steps), "limit": limit},
                person_text=person,
                clinician_text=f"{clinical} Pain {earlier} at the last {len(steps)} sessions, each stepped back, and {what} today.",
                source=p.sources["pain_step_backs_max"].source,
            )
        )
    return out


def _effort_over(
    program: Program, event: SessionLog, seen: Sequence[HistoryEvent], rules: Rules
) -> dict[str, tuple[float, str]]:
    """Exercise sides logged at or above the phase's effort target plus the configured margin
    on each of the last sessions (S6): dose key → (the target, the efforts logged)."""
    p = rules.progression
    if program.template is not None:
        return {}
    target = rules.phases[program.phase].dose.effort_rpe_max
    bar = target + p.effort_over_target_by
    sessions = [s for s in _sessions(seen) if s.date >= program.phase_started]
    out: dict[str, tuple[float, str]] = {}
    for _, dose, log in _main_logs(program, event):
        efforts: list[float] = []
        days: set[dt.date] = set()
        for session in reversed(sessions):
            if session.date in days:
                continue
            match = [
                e
                for e in session.exercises
                if e.exercise_id == log.exercise_id and e.side == dose.side
            ]
            # Only sessions at the dose as it stands: a step back is judged afresh.
            if not match or any(x.amount > dose.amount for x in match[0].sets):
                break
            days.add(session.date)
            logged = [x.effort for x in match[0].sets if x.effort is not None]
            if not logged:
                break
            efforts.append(max(logged))
            if len(efforts) == p.effort_over_sessions:
                break
        if len(efforts) == p.effort_over_sessions and all(e >= bar for e in efforts):
            out[dose_key(log.exercise_id, dose.side)] = (
                target,
                ", ".join(f"{e:g}" for e in reversed(efforts)),
            )
    return out


def effort_second_floor(exercise: Exercise, rules: Rules) -> float:
    """The least amount a second effort step back leaves (P15): a fraction of the bottom of
    the exercise's range (`effort_second_floor_fraction`, U), never under one unit."""
    return _scaled(
        exercise.dose.range_low, rules.progression.effort_second_floor_fraction, exercise, rules
    )


def _effort_run(
    program: Program,
    seen: Sequence[HistoryEvent],
    rules: Rules,
    exercise_id: str,
    side: Side | None,
) -> int:
    """P15: the sessions in a row, this one included, at which this exercise side was logged
    at or above the phase's effort target plus the margin — whatever the dose — counted back
    to the phase's start or the end of the last flare-up. A session without it is passed."""
    p = rules.progression
    bar = rules.phases[program.phase].dose.effort_rpe_max + p.effort_over_target_by
    ended = program.state.last_flare_end
    run = 0
    for session in reversed(_sessions(seen)):
        if session.skipped:
            continue
        if session.date < program.phase_started or (ended is not None and session.date <= ended):
            break
        found = [e for e in session.exercises if e.exercise_id == exercise_id and e.side == side]
        if not found:
            continue
        logged = [x.effort for x in found[0].sets if x.effort is not None]
        if not logged or max(logged) < bar:
            break
        run += 1
    return run


def _effort_review(
    program: Program, day: dt.date, spent: list[tuple[str, int, str]], rules: Rules
) -> list[Decision]:
    """P15: effort still far above the phase's target once both effort step backs were due
    and `effort_step_back_sessions` more sessions have passed: no third cut; the clinician
    is asked once (`stall.clinician`, flagged on the dashboard) until a dose progresses or
    the phase changes, as N1's pain step-backs ask for a review. The words count the effort
    step-backs each exercise actually took in the phase and name the pain step-backs before
    them (R15): a pain hold can come first, and pain may already have taken a dose to its
    floor."""
    p = rules.progression
    if (
        not spent
        or program.state.stall_prompts >= p.prompts_before_clinician
        or _off(program, "stall.reassess")
    ):
        return []
    start = max(program.phase_started, program.state.last_flare_end or program.phase_started)

    def counted(key: str) -> int:
        return sum(1 for k, d in program.state.effort_steps if k == key and d >= start)

    taken = {name: counted(key) for name, _, key in spent}
    pains = sorted({d for d in program.state.regressions if start <= d <= day})
    names = ", ".join(taken)
    runs = max(run for _, run, _ in spent)
    target = rules.phases[program.phase].dose.effort_rpe_max
    most = max(taken.values())

    def effort_words(n: int) -> str:
        words = {0: "with no effort step-back taken", 1: "through one effort step-back"}
        return words.get(n, f"through {'two' if n == 2 else n} effort step-backs")

    by_count = sorted(set(taken.values()), reverse=True)
    effort_clinical = (
        effort_words(most)
        if len(by_count) == 1
        else "; ".join(
            f"{effort_words(n)} for {', '.join(k for k, v in taken.items() if v == n)}"
            for n in by_count
        )
    )
    if most >= 2:
        effort_clinical += (
            f" (the second to {p.effort_second_floor_fraction:.0%} of the range's bottom)"
        )
    pain_dates = ", ".join(d.isoformat() for d in pains)
    pain_clinical = (
        f"; {len(pains)} pain step-back{'s' if len(pains) != 1 else ''} came before in this "
        f"phase ({pain_dates})"
        if pains
        else ""
    )

    def times(n: int) -> str:
        return {1: "once", 2: "twice"}.get(n, f"{n} times")

    steps = [f"{times(most)} for effort"] if most else []
    steps += [f"{times(len(pains))} for pain"] if pains else []
    person_after = f" after stepping back {' and '.join(steps)}" if steps else ""
    return [
        Decision(
            rule="stall.clinician",
            kind="prompt",
            date=day,
            numbers={
                "basis": "effort",
                "sessions_over": runs,
                "effort_target": target,
                "step_backs": most,
                "pain_step_backs": len(pains),
                "exercises": names,
            },
            changes=(
                Change(field="last_stall_prompt", after=day.isoformat()),
                Change(
                    field="stall_prompts",
                    before=program.state.stall_prompts,
                    after=p.prompts_before_clinician,
                ),
            ),
            person_text=f"{names}: still very hard{person_after}, for {runs} "
            "sessions in a row, so the dose stays where it is and your clinician has been asked "
            "to look at your program with you. Carry on as it stands meanwhile, and say so if "
            "something other than the exercise itself makes it hard.",
            clinician_text=f"{names}: RPE ≥ {target + p.effort_over_target_by:g} (phase target "
            f"{target:g}) on {runs} sessions in a row, {effort_clinical}{pain_clinical}: "
            "doses held, not cut again. Needs a clinician review (flagged on the dashboard): the "
            "exercise choice, the effort logging, or something limiting beyond the tests.",
            source=f"{p.sources['effort_step_back_sessions'].source}; "
            f"{p.sources['prompts_before_clinician'].source}",
        )
    ]


def _protocol(program: Program, rules: Rules) -> bool:
    """The program runs a published protocol (a template marked as one)."""
    return program.template is not None and rules.templates.templates[program.template].protocol


def _retest_worse_hold(program: Program, day: dt.date) -> list[Decision]:
    """While a retest worse than the one before waits for review, nothing moves up (M3)."""
    since = program.state.retest_worse_on
    if since is None:
        return []
    return [
        Decision(
            rule="hold.retest_worse",
            kind="hold",
            date=day,
            numbers={"retest_worse_on": since.isoformat()},
            person_text="Your last retest was clearly worse than the one before, so nothing moves up until it has been looked at or a new retest is back to where you were.",
            clinician_text=f"Progression held: the retest of {since} was worse than the previous one beyond the measurement error; awaiting review (a resume override or a retest no longer worse lifts it).",
            source="clinical judgement; measurement error per test in assessment.yaml",
        )
    ]


def _flare_unsettled(program: Program, day: dt.date, rules: Rules) -> Decision | None:
    """A flare-up that has not settled within its days of the first start refers (M4)."""
    p = rules.progression
    flare = program.state.flare
    if flare is None:
        return None
    first = flare.first_started or flare.started
    days = (day - first).days
    if days <= p.flare_settle_days:
        return None
    return Decision(
        rule="refer.flare_unsettled",
        kind="refer",
        date=day,
        numbers={
            "flare_started": first.isoformat(),
            "days": days,
            "limit_days": p.flare_settle_days,
        },
        changes=(Change(field="referred", before=False, after=True),),
        person_text=(
            f"Your flare-up has not settled in {days} days, even with the lighter program. "
            "Please see a physiotherapist or doctor before carrying on; the program is paused until then."
        ),
        clinician_text=(
            f"Flare-up unresolved {days} days after it began on {first} (limit {p.flare_settle_days} days) "
            "despite the reduced program. Progression stopped; referral advised."
        ),
        source=p.sources["flare_settle_days"].source,
    )


def _flare_trigger(event: SessionLog, previous: Sequence[SessionLog], rules: Rules) -> str | None:
    """Why this session starts a flare-up plan, or None."""
    p = rules.progression
    if event.max_pain >= p.flare_pain:
        return f"pain reached {event.max_pain}/10"
    if event.pain_after is not None and event.pain_after >= p.flare_pain_after:
        return f"pain right after the session was {event.pain_after}/10"
    if (
        event.max_pain > p.pain_acceptable_max
        and previous
        and previous[-1].max_pain > p.pain_acceptable_max
    ):
        return f"pain was above {p.pain_acceptable_max}/10 two sessions running"
    return None


def _held_phase_advance(gated: list[Decision], holds: list[Decision]) -> list[Decision]:
    """A phase advance is a progression: while the session's response holds, it waits."""
    if not holds:
        return gated
    out = []
    for decision in gated:
        if decision.rule != "phase.advance":
            out.append(decision)
            continue
        waiting = "; ".join(h.rule for h in holds)
        out.append(
            Decision(
                rule="hold.phase_advance",
                kind="hold",
                date=decision.date,
                numbers=decision.numbers,
                person_text="You have met the milestones for the next phase. You move on once the information the program is waiting for is in and shows you coped.",
                clinician_text=f"Gate met but the advance is held: {waiting}.",
                source=decision.source,
            )
        )
    return out


def _current(program: Program, exercise_id: str, side: Side | None) -> tuple[Slot, Dose]:
    """The slot and dose as they stand now in `program` (after earlier decisions)."""
    slot = program.slot(exercise_id)
    assert slot is not None
    dose = slot.dose(side)
    assert dose is not None
    return slot, dose


def exercise_fault(exercise: Exercise, fault_id: str) -> str:
    for fault in exercise.faults:
        if fault.id == fault_id:
            return f"{fault.text} {fault.fix}"
    return f"form fault noted ({fault_id.replace('_', ' ')})."


class MorningAfter(Frozen):
    """The next-morning response to the last session before this one."""

    status: Literal["first", "missing", "worse", "settled"]
    session_date: dt.date | None = None
    numbers: dict[str, Number] = Field(default_factory=dict)


def morning_after_previous(
    program: Program, seen: Sequence[HistoryEvent], day: dt.date, rules: Rules
) -> MorningAfter:
    """How the morning after the last session before `day` went: unknown (no check-in since
    it), worse (pain or stiffness on waking up by the configured points), or settled."""
    earlier = [s for s in _sessions(seen) if s.date < day]
    if not earlier:
        return MorningAfter(status="first")
    previous = earlier[-1]
    after = [c for c in _checkins(seen) if previous.date < c.date <= day]
    if not after:
        return MorningAfter(status="missing", session_date=previous.date)
    morning = after[0]
    baseline = _morning_of(program, seen, previous.date)
    numbers: dict[str, Number] = {"pain_on_waking": morning.pain_on_waking, "baseline": baseline}
    worse = morning.pain_on_waking - baseline >= rules.progression.morning_worse_by
    stiffness = _stiffness_before(seen, previous.date)
    if stiffness is not None:
        numbers["stiffness_on_waking"] = morning.stiffness_on_waking
        numbers["stiffness_baseline"] = stiffness
        worse = worse or (
            morning.stiffness_on_waking - stiffness >= rules.progression.morning_worse_by
        )
    return MorningAfter(
        status="worse" if worse else "settled", session_date=previous.date, numbers=numbers
    )


def _stiffness_before(seen: Sequence[HistoryEvent], day: dt.date) -> int | None:
    """Stiffness on waking at the last check-in on or before `day`, if there was one."""
    earlier = [c for c in _checkins(seen) if c.date <= day]
    return earlier[-1].stiffness_on_waking if earlier else None


def _response_holds(
    program: Program, event: SessionLog, seen: Sequence[HistoryEvent], rules: Rules
) -> list[Decision]:
    """What in the session's response keeps every dose where it is: pain right after in the
    acceptable zone, the morning after the last session worse or not reported, morning pain
    rising week on week — or pain after not reported. Missing information is never read as
    "tolerated": the program holds and asks for it."""
    p = rules.progression
    day = event.date
    holds: list[Decision] = []
    after = event.pain_after
    zone = pain_zone(program, rules)
    after_max = progress_after_max(zone, tendon_allowance(program, seen, day, rules))
    if after is None:
        holds.append(
            Decision(
                rule="hold.pain_after_missing",
                kind="hold",
                date=day,
                person_text="Tell the program how much it hurt right after the session (0–10). Without it, nothing moves up.",
                clinician_text="No pain-after rating logged for this session: progression held until the 24-hour response is known.",
                source=p.sources["pain_after_acceptable_max"].source,
            )
        )
    elif after > after_max:
        holds.append(
            Decision(
                rule="hold.pain_after",
                kind="hold",
                date=day,
                numbers={
                    "pain_after": after,
                    "safe_max": after_max,
                    "acceptable_max": zone.after_acceptable_max,
                },
                person_text=f"Right after the session your pain was {after}/10: acceptable, but not yet comfortable, so nothing moves up today.",
                clinician_text=f"Pain after the session {after}/10 in the acceptable zone ({after_max + 1}–{zone.after_acceptable_max}): no progression.",
                source=zone.source,
            )
        )
    morning = morning_after_previous(program, seen, day, rules)
    if morning.status == "missing":
        assert morning.session_date is not None
        holds.append(
            Decision(
                rule="hold.morning_missing",
                kind="hold",
                date=day,
                numbers={"last_session": morning.session_date.isoformat()},
                person_text="There is no morning check-in since your last session, so the program cannot tell whether your leg settled. Nothing moves up today: do the check-in each morning after a session.",
                clinician_text=f"No check-in between the session of {morning.session_date} and this one: the next-day response is unknown, progression held.",
                source=p.sources["morning_worse_by"].source,
            )
        )
    elif morning.status == "worse":
        numbers = morning.numbers
        holds.append(
            Decision(
                rule="hold.morning_worse",
                kind="hold",
                date=day,
                numbers=numbers,
                person_text="Your leg had not settled the morning after the last session, so nothing moves up today.",
                clinician_text=f"No progression: on waking after the session of {morning.session_date} pain {numbers['pain_on_waking']}/10 vs {numbers['baseline']}/10"
                + (
                    f", stiffness {numbers['stiffness_on_waking']}/10 vs {numbers['stiffness_baseline']}/10"
                    if "stiffness_baseline" in numbers
                    else ""
                )
                + f" (worse by ≥ {p.morning_worse_by}).",
                source=p.sources["morning_worse_by"].source,
            )
        )
    settle = rules.pathways[program.pathway].settle_check
    unsettled = _not_settled(seen, day) if settle is not None else None
    if settle is not None and unsettled is not None:
        holds.append(
            Decision(
                rule="hold.not_settled",
                kind="hold",
                date=day,
                numbers={"checkin": unsettled.isoformat(), "settled_within_hour": "no"},
                person_text="You said your knee was not back to how it was within an hour "
                "of your last session, so nothing moves up today.",
                clinician_text=f"Check-in of {unsettled}: pain not back to baseline within the "
                f"hour after the last session ({settle.clinical}): progression held.",
                source=settle.source,
            )
        )
    rising = _morning_rising(seen, day, rules)
    if rising is not None:
        holds.append(
            Decision(
                rule="hold.morning_rising",
                kind="hold",
                date=day,
                numbers={"previous_week": rising[0], "this_week": rising[1]},
                person_text=f"Your morning pain or stiffness has crept up this week ({rising[0]:g} → {rising[1]:g} on average), so nothing moves up until it settles.",
                clinician_text=f"Weekly mean morning pain/stiffness {rising[0]:g} → {rising[1]:g} (rise ≥ {p.weekly_morning_rise_by:g}): progression on hold.",
                source=p.sources["weekly_morning_rise_by"].source,
            )
        )
    return holds


def _not_settled(seen: Sequence[HistoryEvent], day: dt.date) -> dt.date | None:
    """The check-in since the last session before this one that said the pain was not back
    to how it was within the hour (C11): its date, else None."""
    before = [s.date for s in _sessions(seen) if s.date < day]
    if not before:
        return None
    answered = [
        c
        for c in _checkins(seen)
        if max(before) < c.date <= day and c.settled_within_hour is not None
    ]
    if answered and answered[-1].settled_within_hour == "no":
        return answered[-1].date
    return None


def _ready(
    program: Program,
    seen: Sequence[HistoryEvent],
    slot: Slot,
    dose: Dose,
    exercise: Exercise,
    rules: Rules,
    pain_limit: int | None = None,
) -> tuple[bool, str]:
    """Clean form, pain within the progression limit, effort within the phase's target and
    the full dose on N consecutive sessions (two sessions of one day count as one)."""
    p = rules.progression
    limit = p.pain_safe_max if pain_limit is None else pain_limit
    effort_max = min(p.spare_effort_rpe_max, rules.phases[program.phase].dose.effort_rpe_max)
    if _periodised(program, rules) or _protocol(program, rules):
        effort_max = p.spare_effort_rpe_max
    logs: list[ExerciseLog] = []
    days: set[dt.date] = set()
    for session in reversed(_sessions(seen)):
        if session.date < program.phase_started and logs:
            break
        if session.date in days:
            continue  # a second session on the same day is not a second day in a row
        days.add(session.date)
        match = [
            e
            for e in session.exercises
            if e.exercise_id == slot.exercise_id and e.side == dose.side
        ]
        if not match:
            break
        logs.append(match[0])
        if len(logs) == p.consecutive_sessions:
            break
    if len(logs) < p.consecutive_sessions:
        return False, ""
    for log in logs:
        if log.max_pain > limit or any(not s.clean for s in log.sets):
            return False, ""
        efforts = [s.effort for s in log.sets]
        if any(e is None for e in efforts):
            return (
                False,
                "log how hard the sets felt (effort 1–10) so the program knows when to move you on.",
            )
        if max(e for e in efforts if e is not None) > effort_max:
            return (
                False,
                f"the sets were harder than this phase aims for (effort {effort_max:g}/10 or less), so the dose stays until they feel easier.",
            )
        if len(log.sets) < dose.sets or min(s.amount for s in log.sets) < dose.amount:
            # The latest session fell short: say so. An older session at the previous dose
            # simply means the new dose needs one more session.
            latest = log is logs[0]
            return (
                False,
                "not every set reached the full dose, so it stays the same." if latest else "",
            )
        if not _at_setting_and_load(log, dose):
            # Done at the setting or load before the last step (Q1): the new one needs its
            # own sessions in a row, as a new number of reps does.
            latest = log is logs[0]
            return (
                False,
                "the sets were not done at the current setting or weight, so it stays the same."
                if latest
                else "",
            )
    return True, ""


def _at_setting_and_load(log: ExerciseLog, dose: Dose) -> bool:
    """Every set was done at the dose's setting and at least its load (a set that does not
    record them is taken as done as prescribed)."""
    for done in log.sets:
        if done.knob is not None and dose.knob is not None and done.knob != dose.knob:
            return False
        if done.load_kg is not None and (dose.load_kg or 0) - done.load_kg > 1e-9:
            return False
    return True


def _session_work(program: Program, rules: Rules, slots: Iterable[Slot] | None = None) -> float:
    total = 0.0
    for slot in slots if slots is not None else program.slots:
        if slot.part != "main":
            continue
        exercise = rules.library[slot.exercise_id]
        total += sum(d.sets * work_seconds(exercise, d) for d in slot.doses)
    return total


def _impact_work(program: Program, rules: Rules) -> float:
    """Seconds of impact (hopping) work in one session as planned."""
    hops = [s for s in program.slots if rules.library[s.exercise_id].kind is Kind.PLYOMETRIC]
    return _session_work(program, rules, hops)


def _floor_week(program: Program, rules: Rules) -> float:
    """A week of the main work with every dose at the bottom of its exercise's range."""
    total = 0.0
    for slot in program.part("main"):
        exercise = rules.library[slot.exercise_id]
        for d in slot.doses:
            total += d.sets * work_seconds(
                exercise, d.model_copy(update={"amount": exercise.dose.range_low})
            )
    return total * program.sessions_per_week


def _logged_work(
    session: SessionLog, program: Program, rules: Rules, impact: bool = False
) -> float:
    """Seconds of main work a session logged, timed at the program's tempo (only the
    impact work with `impact`)."""
    total = 0.0
    for log in session.exercises:
        exercise = rules.library.get(log.exercise_id)
        slot = program.slot(log.exercise_id)
        if exercise is None or slot is None or slot.part != "main":
            continue
        if impact and exercise.kind is not Kind.PLYOMETRIC:
            continue
        dose = slot.dose(log.side)
        if dose is None:
            continue
        total += sum(s.amount for s in log.sets) * unit_seconds(exercise, dose)
    return total


def _progress_all(
    program: Program,
    candidates: list[tuple[Slot, Dose, Exercise]],
    event: SessionLog,
    seen: Sequence[HistoryEvent],
    rules: Rules,
    allowed: bool = False,
) -> list[Decision]:
    p = rules.progression
    decisions: list[Decision] = []
    window = [
        s
        for s in _sessions(seen)
        if event.date - dt.timedelta(days=p.session_spike_window_days) < s.date <= event.date
    ]
    # N2: the single-session spike cap is a running-distance figure: it measures impact
    # (hopping) work only — running minutes have their own caps — never strength work.
    longest = max((_logged_work(s, program, rules, impact=True) for s in window), default=0.0)
    last_week = [
        s for s in _sessions(seen) if event.date - dt.timedelta(days=7) < s.date <= event.date
    ]
    week_logged = sum(_logged_work(s, program, rules) for s in last_week)
    working = program
    swaps: set[str] = set()
    time_held: list[Decision] = []
    # R3: the pathway's own exercises take the session's minutes first.
    own = pathway_own_exercises(program, rules)
    candidates = sorted(candidates, key=lambda c: c[0].exercise_id not in own)
    for candidate_slot, candidate_dose, exercise in candidates:
        if candidate_slot.exercise_id in swaps:
            continue
        slot, dose = _current(working, candidate_slot.exercise_id, candidate_dose.side)
        limit = progress_max(pain_zone(working, rules, exercise), allowed)
        step = _next_step(
            working, slot, dose, exercise, rules, event.date, limit, program.state.last_progression
        )
        if step is None:
            continue
        if exercise.id in rules.readiness.running_exercises:
            step, held = _running_capped(working, step, slot, dose, exercise, event, seen, rules)
            if held is not None:
                decisions.append(held)
                continue
            if step is None:
                continue
        step, held = _within_minutes(working, step, slot, dose, exercise, rules, limit)
        room: Decision | None = None
        if held is not None:
            # Q2: a warm-up or stretch makes room before the step is held.
            room = _make_room(working, step, dose, exercise, rules)
            if room is None:
                time_held.append(held)
                continue
        trial = apply(working if room is None else apply(working, room, rules), step, rules)
        new_planned = _session_work(trial, rules)
        impact = _impact_work(trial, rules)
        if (
            exercise.kind is Kind.PLYOMETRIC
            and longest > 0
            and impact > longest * (1 + p.session_spike_cap)
            and impact > _impact_work(program, rules)
        ) and not _off(program, "cap.session_spike"):
            decisions.append(
                _cap(
                    event.date,
                    step,
                    "cap.session_spike",
                    impact,
                    longest,
                    p.session_spike_cap,
                    p.sources["session_spike_cap"].source,
                    "the hopping in one session would grow more than 10 % beyond your most in the last weeks",
                )
            )
            continue
        weekly_new = new_planned * working.sessions_per_week
        # N2: for strength work the running figure is an extrapolation; measured against at
        # least the week at the bottom of each exercise's range it slows a rise, never stops it.
        week_reference = week_logged
        if exercise.id not in rules.readiness.running_exercises:
            week_reference = max(week_logged, _floor_week(working, rules))
        if (
            week_logged > 0
            and len(last_week) >= working.sessions_per_week
            and weekly_new > week_reference * (1 + p.weekly_volume_growth_cap)
            and not _off(program, "cap.weekly_volume")
        ):
            decisions.append(
                _cap(
                    event.date,
                    step,
                    "cap.weekly_volume",
                    weekly_new,
                    week_reference,
                    p.weekly_volume_growth_cap,
                    p.sources["weekly_volume_growth_cap"].source,
                    "the week's total would grow faster than the weekly limit",
                )
            )
            continue
        ahead = stronger_side_ahead(trial, slot.exercise_id, dose.side, rules)
        if ahead is not None:
            stronger_work, weaker_work = ahead
            decisions.append(
                Decision(
                    rule="hold.side_balance",
                    kind="hold",
                    date=event.date,
                    exercise_id=slot.exercise_id,
                    side=dose.side,
                    numbers={
                        "stronger_side_seconds": round(stronger_work),
                        "weaker_side_seconds": round(weaker_work),
                    },
                    person_text=f"{exercise.name} ({dose.side.value if dose.side else 'both'}): this, the stronger side, waits so the weaker side keeps the larger share of the work.",
                    clinician_text=f"{exercise.name}: progression of the stronger side ({dose.side.value if dose.side else 'both'}) held: it would do {round(stronger_work)} s of work per session against {round(weaker_work)} s on the weaker side.",
                    source="seeds/002: extra volume on the weaker side",
                )
            )
            continue
        if room is not None:
            decisions.append(room)
        decisions.append(step)
        working = trial
        if any(c.field == "exercise" for c in step.changes):
            swaps.add(slot.exercise_id)
    if time_held:
        # Q2: an exercise held for time on every side moves on to its harder version,
        # which starts at the bottom of its range, when that keeps within the minutes.
        for harder in _harder_exercise_for_time(working, time_held, event.date, rules):
            decisions.append(harder)
            working = apply(working, harder, rules)
            time_held = [h for h in time_held if h.exercise_id != harder.exercise_id]
    if time_held:
        decisions.extend(_held_for_time(working, time_held, event.date, rules, decisions))
    return decisions


def pathway_own_exercises(program: Program, rules: Rules) -> frozenset[str]:
    """R3: the exercises the person's pathway names for this phase, and the harder versions
    its ladder has moved them on to, that are in the program."""
    pathway = rules.pathways[program.pathway]
    named = [e.exercise_id for e in pathway.exercises if program.phase in e.phases]
    own: set[str] = set()
    for exercise_id in named:
        seen: set[str] = set()
        current: str | None = exercise_id
        while current is not None and current not in seen and current in rules.library:
            seen.add(current)
            current = rules.library[current].progression
        own |= seen
    return frozenset(e for e in own if program.slot(e) is not None)


def _session_limit(program: Program, rules: Rules) -> float:
    """The most minutes a progression may take the session's estimate to: the person's
    budget and the tolerance (`session_time_tolerance`, U)."""
    budget = program.preferences.minutes_per_session
    return budget * (1 + rules.progression.session_time_tolerance)


def _harder_instead(
    program: Program,
    step: Decision,
    slot: Slot,
    dose: Dose,
    exercise: Exercise,
    rules: Rules,
    pain_max: int | None,
) -> Decision | None:
    """The ladder's next step that adds no time — a harder setting or more load, as if the
    amount and the lowering were at the top of their ranges — for a step that would take
    the session beyond the person's minutes (P1). None when there is none."""
    tempo = dose.tempo
    if tempo is not None and exercise.max_lowering_seconds is not None:
        tempo = tempo.model_copy(update={"lowering": exercise.max_lowering_seconds})
    top = dose.model_copy(update={"amount": dose.range_high, "tempo": tempo})
    doses = tuple(top if d is dose else d for d in slot.doses)
    alt = _next_step(
        program, slot.model_copy(update={"doses": doses}), top, exercise, rules, step.date, pain_max
    )
    if alt is None or alt.rule not in ("progress.knob", "progress.load"):
        return None
    if "load_x_amount_before" in alt.numbers:
        # A light load: the smallest weight step comes with fewer reps, worked out here from
        # the amount done today (not the top of the range), so the session grows shorter and
        # load × amount by no more than the cap.
        load, heavier = float(alt.numbers["load_before"]), float(alt.numbers["load_after"])
        fewer = small_load_amount(load, heavier, dose.amount, exercise, rules)
        if fewer >= dose.amount or fewer < dose.range_low:
            return None
        unit = exercise.dose_type.value
        st = f" ({dose.side.value})" if dose.side else ""
        work, after_work = load * dose.amount, heavier * fewer
        return alt.model_copy(
            update={
                "changes": (
                    *(c for c in alt.changes if c.field != "amount"),
                    Change(
                        exercise_id=slot.exercise_id,
                        side=dose.side,
                        field="amount",
                        before=dose.amount,
                        after=fewer,
                    ),
                ),
                "numbers": {
                    **alt.numbers,
                    "amount_before": dose.amount,
                    "amount_after": fewer,
                    "load_x_amount_before": round(work, 2),
                    "load_x_amount_after": round(after_work, 2),
                },
                "person_text": f"{exercise.name}{st}: a little more weight, {load:g} → "
                f"{heavier:g} kg, with fewer {unit} ({fewer:g}) — heavier rather than longer, "
                f"so the session stays within your {program.preferences.minutes_per_session} "
                "minutes.",
                "clinician_text": f"{exercise.name}{st}: load {load:g} → {heavier:g} kg, amount "
                f"{dose.amount:g} → {fewer:g} so load × amount {work:g} → {after_work:g} "
                f"({(after_work / work - 1) * 100:+.1f} %, within the "
                f"{rules.progression.load_step_max_percent:g} % cap). Taken instead of "
                f"{step.rule}, which would take the session beyond the "
                f"{program.preferences.minutes_per_session} minutes.",
            }
        )
    # The amount stays where it is: a reset here could leave the side with the problem
    # doing less work than the other.
    changes = tuple(c for c in alt.changes if c.field != "amount")
    kept = f"amount kept at {dose.amount:g}"
    return alt.model_copy(
        update={
            "changes": changes,
            "clinician_text": re.sub(r"amount (kept at|reset to) [0-9.]+", kept, alt.clinician_text)
            + f" Taken instead of {step.rule}, which would take the session beyond the "
            f"{program.preferences.minutes_per_session} minutes.",
        }
    )


def _within_minutes(
    program: Program,
    step: Decision,
    slot: Slot,
    dose: Dose,
    exercise: Exercise,
    rules: Rules,
    pain_max: int | None = None,
) -> tuple[Decision, Decision | None]:
    """P1: a step that would take the session's estimate (the planner's `session_minutes`)
    beyond the person's minutes is changed into one that adds no time — a harder setting or
    more load where the ladder has one, else the amount or the slower lowering with one set
    fewer while that set can go — or held, with the numbers. A step that adds no time (a
    setting, a load with the amount reset) passes as it is."""
    limit = _session_limit(program, rules)
    before = session_minutes(program.slots, rules)
    after = session_minutes(apply(program, step, rules).slots, rules)
    if after <= limit + 1e-9 or after <= before + 1e-9:
        return step, None
    budget = program.preferences.minutes_per_session
    tolerance = rules.progression.session_time_tolerance
    name = exercise.name
    st = f" ({dose.side.value})" if dose.side else ""
    # Running keeps its own caps (M7): its share steps are never taken from here.
    if (
        step.rule in ("progress.reps", "progress.tempo")
        and exercise.id not in rules.readiness.running_exercises
    ):
        harder = _harder_instead(program, step, slot, dose, exercise, rules, pain_max)
        if harder is not None:
            now = session_minutes(apply(program, harder, rules).slots, rules)
            if now <= limit + 1e-9 or now <= before + 1e-9:
                return harder, None
    # The set comes off this side only: never below the phase's fewest sets, and the side
    # with the extra set keeps it.
    floor = rules.phases[program.phase].dose.sets_min
    other = next((d for d in slot.doses if d.side is not None and d.side != dose.side), None)
    if other is not None and (
        dose.sets > other.sets or slot_weaker_side(program, slot) is dose.side
    ):
        floor = max(floor, other.sets + 1)
    grows = {c.field for c in step.changes if c.exercise_id is not None}
    if dose.sets > floor and grows & {"amount", "tempo_lowering"} and "exercise" not in grows:
        fewer = dose.sets - 1
        converted = step.model_copy(
            update={
                "changes": (
                    Change(
                        exercise_id=slot.exercise_id,
                        side=dose.side,
                        field="sets",
                        before=dose.sets,
                        after=fewer,
                    ),
                    *step.changes,
                ),
                "numbers": {
                    **step.numbers,
                    "sets_before": dose.sets,
                    "sets_after": fewer,
                    "minutes_budget": budget,
                },
                "person_text": f"{step.person_text} One set fewer ({dose.sets} → {fewer}) "
                f"keeps the session within your {budget} minutes.",
                "clinician_text": f"{step.clinician_text} Sets {dose.sets} → {fewer}: with "
                f"{dose.sets} the session estimate would be {after:.1f} min against a budget "
                f"of {budget} min (+{tolerance:.0%} tolerance, session_time_tolerance).",
            }
        )
        now = session_minutes(apply(program, converted, rules).slots, rules)
        if now <= limit + 1e-9 or now <= before + 1e-9:
            return converted, None
    held = Decision(
        rule="hold.session_time",
        kind="hold",
        date=step.date,
        exercise_id=slot.exercise_id,
        side=dose.side,
        numbers={
            "minutes_before": round(before, 1),
            "minutes_after": round(after, 1),
            "minutes_budget": budget,
            "minutes_limit": round(limit, 1),
        },
        person_text=f"{name}{st}: stays as it is for now — the next step would make the "
        f"session about {math.ceil(after)} minutes, more than the {budget} you have.",
        clinician_text=f"{name}{st}: {step.rule} held (hold.session_time): the session "
        f"estimate would go {before:.1f} → {after:.1f} min against a budget of {budget} min "
        f"(limit {limit:.1f} with the {tolerance:.0%} tolerance), and no step that adds no "
        "time is left for it.",
        source=rules.progression.sources["session_time_tolerance"].source,
    )
    return step, held


def _make_room(
    program: Program, step: Decision, dose: Dose, exercise: Exercise, rules: Rules
) -> Decision | None:
    """Q2: before a step is held for the person's minutes, leave out warm-up or stretching
    items — in the planner's own order (`planning.extra_to_leave_out`: stretches first, then
    the warm-up, the last added first, each part keeping one item and nothing the pathway
    loads, names or chose for a measured deficit, R14) — as few as let the step fit. None
    when leaving them all out would not."""
    limit = _session_limit(program, rules)
    budget = program.preferences.minutes_per_session
    before = session_minutes(program.slots, rules)
    wanted = session_minutes(apply(program, step, rules).slots, rules)
    main = [rules.library[s.exercise_id] for s in program.part("main")]
    stretches = [rules.library[s.exercise_id] for s in program.part("mobility")]
    core = session_core(program.pathway, program.phase, program.profile, main, rules, stretches)
    slots = list(program.slots)
    out: list[Slot] = []
    while (index := extra_to_leave_out(slots, core, stretches_kept=0)) is not None:
        out.append(slots.pop(index))
        room = program.model_copy(update={"slots": tuple(slots)})
        after = session_minutes(apply(room, step, rules).slots, rules)
        if after <= limit + 1e-9:
            break
    else:
        return None
    freed = session_minutes(slots, rules)
    names = [rules.library[s.exercise_id].name for s in out]
    parts = [
        f"{rules.library[s.exercise_id].name} ({'stretch' if s.part == 'mobility' else 'warm-up'})"
        for s in out
    ]
    st = f" ({dose.side.value})" if dose.side else ""
    tolerance = rules.progression.session_time_tolerance
    listed = " and ".join(names)
    return Decision(
        rule="trim.session_time",
        kind="cap",
        date=step.date,
        exercise_id=out[0].exercise_id if len(out) == 1 else None,
        numbers={
            "minutes_before": round(before, 1),
            "minutes_with_step": round(wanted, 1),
            "minutes_after_leaving_out": round(freed, 1),
            "minutes_after": round(after, 1),
            "minutes_budget": budget,
            "minutes_limit": round(limit, 1),
            "left_out": ", ".join(s.exercise_id for s in out),
            "to_make_room_for": f"{exercise.id}{st}",
        },
        changes=tuple(
            Change(exercise_id=s.exercise_id, field="left_out", before=s.part) for s in out
        ),
        person_text=f"{listed} {'is' if len(out) == 1 else 'are'} left out of your sessions "
        f"to make room for the next step in {exercise.name.lower()}{st}, so the session "
        f"stays within your {budget} minutes.",
        clinician_text=f"Left out (trim.session_time): {', '.join(parts)}. {step.rule} for "
        f"{exercise.name}{st} would take the session estimate {before:.1f} → {wanted:.1f} min "
        f"against a budget of {budget} min (limit {limit:.1f} with the {tolerance:.0%} "
        "tolerance) and no step that adds no time fits; without "
        f"{'it' if len(out) == 1 else 'them'} the session is {freed:.1f} min and the step "
        f"takes it to {after:.1f}. Order as the planner's time fitting: stretches before "
        "the warm-up, the last added first; the warm-up keeps one item; the pathway's own "
        "exercises and the main work stay.",
        source=rules.progression.sources["session_time_tolerance"].source,
    )


# More of a dose, in the person's words (a time swap's reason, R16).
MORE_OF: dict[DoseType, str] = {
    DoseType.REPS: "more reps",
    DoseType.SECONDS: "longer holds",
    DoseType.MINUTES: "more minutes",
    DoseType.DISTANCE: "a longer distance",
}


def _harder_exercise_for_time(
    program: Program, held: list[Decision], day: dt.date, rules: Rules
) -> list[Decision]:
    """Q2: where every side of an exercise was held this session for the person's minutes
    (each side ready for its next step), the ladder's next exercise — one-leg version or
    the next exercise, as at the top of the ladder — is taken instead when it keeps the
    session within the minutes: it starts at the bottom of its range, so it adds load and
    takes less time. The amounts are treated as at the top of their ranges, as the setting
    substitute of P1 treats them."""
    out: list[Decision] = []
    working = program
    limit = _session_limit(program, rules)
    sides = {(h.exercise_id, h.side) for h in held}
    for exercise_id in dict.fromkeys(h.exercise_id for h in held if h.exercise_id):
        slot = working.slot(exercise_id)
        if slot is None or slot.part != "main":
            continue
        if any((exercise_id, d.side) not in sides for d in slot.doses if not d.pinned):
            continue
        exercise = rules.library[exercise_id]
        if exercise_id in rules.readiness.running_exercises:
            continue
        # Not before the exercise has been built at all: each side at least part-way up.
        part_way = rules.progression.time_swap_min_range_fraction
        if any(
            d.amount < d.range_low + part_way * (d.range_high - d.range_low) - 1e-9
            for d in slot.doses
        ):
            continue
        tops = []
        for d in slot.doses:
            tempo = d.tempo
            if tempo is not None and exercise.max_lowering_seconds is not None:
                tempo = tempo.model_copy(update={"lowering": exercise.max_lowering_seconds})
            tops.append(d.model_copy(update={"amount": d.range_high, "tempo": tempo}))
        top_slot = slot.model_copy(update={"doses": tuple(tops)})
        alt = _next_step(working, top_slot, tops[0], exercise, rules, day)
        if alt is None or alt.rule not in ("progress.single_leg", "progress.next_exercise"):
            continue
        # R7: never at the cost of the weaker side's extra set (a one-leg exercise for a
        # one-sided deficit swapped for one done with both legs together).
        if extra_set_lost(slot, rules.library[str(alt.numbers["to"])], working, rules):
            continue
        before = session_minutes(working.slots, rules)
        after = session_minutes(apply(working, alt, rules).slots, rules)
        if after > limit + 1e-9 and after > before + 1e-9:
            continue
        amounts = ", ".join(
            f"{d.side.value if d.side else 'both'} {d.amount:g}" for d in slot.doses
        )
        step = alt.model_copy(
            update={
                "side": None,
                "numbers": {
                    **alt.numbers,
                    "minutes_before": round(before, 1),
                    "minutes_after": round(after, 1),
                    "minutes_budget": program.preferences.minutes_per_session,
                },
                # R16: the new exercise's name as written (a protocol's author keeps the
                # capital), and a word for the amount a person would say.
                "person_text": f"{exercise.name}: {MORE_OF[exercise.dose_type]} would make "
                f"the session longer than your {program.preferences.minutes_per_session} "
                f"minutes, so you move on to {rules.library[str(alt.numbers['to'])].name}"
                " instead — harder, with fewer to start with.",
                "clinician_text": f"{exercise.name}: every side held for session time at "
                f"{amounts} {exercise.dose_type.unit} (at least {part_way:.0%} up the range, "
                "time_swap_min_range_fraction; below its top); "
                f"{alt.rule} taken instead (Q2): {rules.library[str(alt.numbers['to'])].name} "
                f"from the bottom of its range; session estimate {before:.1f} → {after:.1f} "
                f"min against a budget of {program.preferences.minutes_per_session} min.",
                "source": f"{alt.source}; "
                f"{rules.progression.sources['time_swap_min_range_fraction'].source}",
            }
        )
        out.append(step)
        working = apply(working, step, rules)
    return out


def _held_for_time(
    program: Program, held: list[Decision], day: dt.date, rules: Rules, taken: list[Decision]
) -> list[Decision]:
    """Q2: one `hold.session_time` for the session, naming every step held for the
    person's minutes with its numbers; then, when nothing has progressed for
    `phase_hold_clinician_days`, the clinician once (time named as the cause), else the
    fortnightly `prompt.session_time`. R3: when the pathway's own exercises are among those
    held, "nothing" is judged on them alone, so that another exercise that can step without
    adding time (a load step) does not keep the hand-over away while they stand still."""
    p = rules.progression
    budget = program.preferences.minutes_per_session
    limit = _session_limit(program, rules)
    before = session_minutes(program.slots, rules)
    lowest = min(float(h.numbers["minutes_after"]) for h in held)

    def label(h: Decision) -> str:
        name = rules.library[h.exercise_id].name if h.exercise_id else ""
        return f"{name} ({h.side.value})" if h.side else name

    names = [label(h) for h in held]
    steps = "; ".join(
        f"{label(h)} {h.clinician_text.split(' held (hold.session_time)')[0].split(': ')[-1]}"
        f" → {float(h.numbers['minutes_after']):.1f} min"
        for h in held
    )
    one = len(held) == 1
    said = in_words(names)
    summary = Decision(
        rule="hold.session_time",
        kind="hold",
        date=day,
        exercise_id=held[0].exercise_id if one else None,
        side=held[0].side if one else None,
        numbers={
            "minutes_before": round(before, 1),
            "minutes_after": round(lowest, 1),
            "minutes_budget": budget,
            "minutes_limit": round(limit, 1),
            "exercises_held": len(held),
        },
        person_text=f"{said}: {'stays' if one else 'stay'} as {'it is' if one else 'they are'} "
        f"for now — the next {'step' if one else 'steps'} would make the session about "
        f"{math.ceil(lowest)} minutes, more than the {budget} you have.",
        clinician_text=f"Held for session time (hold.session_time): the session estimate is "
        f"{before:.1f} min against a budget of {budget} min (limit {limit:.1f} with the "
        f"{p.session_time_tolerance:.0%} tolerance); the steps due would take it to: {steps}. "
        "No step that adds no time is left for them, and no warm-up or stretch is left to "
        "leave out.",
        source=p.sources["session_time_tolerance"].source,
    )
    out = [summary]
    own = pathway_own_exercises(program, rules) & {h.exercise_id for h in held}
    if own:
        dates = [program.state.progressed_on.get(e) for e in own]
        last = max((d for d in dates if d is not None), default=None)
        progressed = any(d.kind == "progress" and d.exercise_id in own for d in taken)
    else:
        last = program.state.last_progression
        progressed = any(d.kind == "progress" for d in taken)
    since = max(last or program.phase_started, program.phase_started)
    still = (day - since).days
    own_names = sorted(rules.library[e].name for e in own)
    # S7: the other exercises that kept stepping up while these stood still.
    meanwhile = sorted(
        f"{e} (last {d.isoformat()})"
        for e, d in program.state.progressed_on.items()
        if own and e not in own and d > since and program.slot(e) is not None
    )
    what = in_words(own_names)
    asked = program.state.last_stall_prompt
    if (
        not progressed
        and still >= p.phase_hold_clinician_days
        # Once for the stretch held: another exercise's step must not ask again (R3).
        and (asked is None or asked <= since)
        and program.state.stall_prompts < p.prompts_before_clinician
        and not _off(program, "stall.reassess")
    ):
        count = p.prompts_before_clinician
        out.append(
            Decision(
                rule="stall.clinician",
                kind="prompt",
                date=day,
                numbers={
                    "cause": "session_time",
                    "days_without_progress": still,
                    "pathway_exercises_held": ", ".join(sorted(own)),
                    "progressed_meanwhile": ", ".join(meanwhile),
                    "minutes_now": round(before, 1),
                    "minutes_budget": budget,
                    "exercises_held": len(held),
                },
                changes=(
                    Change(field="last_stall_prompt", after=day.isoformat()),
                    Change(field="stall_prompts", before=program.state.stall_prompts, after=count),
                    Change(field="last_time_prompt", after=day.isoformat()),
                ),
                person_text=f"{what or 'Your exercises'} {'has' if len(own) == 1 else 'have'} "
                f"not stepped up for {still} days because your sessions already fill your "
                f"{budget} minutes, so your clinician has been asked to look at your program "
                "with you — which exercises to keep, or more minutes for each session. Carry "
                "on as it stands meanwhile.",
                clinician_text=(
                    f"The pathway's own exercises held ({', '.join(sorted(own))}) have not "
                    f"progressed for {still} days"
                    + (
                        f"; meanwhile {', '.join(meanwhile)} kept progressing (S7: say "
                        "whether that work should give up its minutes); "
                        if meanwhile
                        else "; "
                    )
                    if own
                    else f"No dose has progressed for {still} days; "
                )
                + f"the cause is session "
                f"time: estimate {before:.1f} min against a budget of {budget} min, and every "
                f"step due would go beyond the limit of {limit:.1f} min ({len(held)} held), "
                "with no warm-up or stretch left to leave out. Needs a clinician review "
                "(flagged on the dashboard): remove exercises or raise the minutes per session.",
                source=f"{p.sources['session_time_prompt_days'].source}; "
                f"{p.sources['phase_hold_clinician_days'].source}",
            )
        )
    elif _time_prompt_due(program, day, rules):
        out.append(_time_prompt(program, summary, day, rules))
    return out


def _time_prompt_due(program: Program, day: dt.date, rules: Rules) -> bool:
    last = program.state.last_time_prompt
    return (
        last is None
        or last < program.phase_started
        or (day - last).days >= rules.progression.session_time_prompt_days
    )


def _time_prompt(program: Program, held: Decision, day: dt.date, rules: Rules) -> Decision:
    """The session can no longer grow within the person's minutes: ask for fewer exercises
    or more minutes, instead of letting it run over."""
    budget = program.preferences.minutes_per_session
    now = math.ceil(session_minutes(program.slots, rules))
    return Decision(
        rule="prompt.session_time",
        kind="prompt",
        date=day,
        numbers={
            "minutes_now": now,
            "minutes_budget": budget,
            "minutes_after": held.numbers["minutes_after"],
        },
        changes=(Change(field="last_time_prompt", after=day.isoformat()),),
        person_text=f"Your sessions take about {now} of your {budget} minutes and cannot grow "
        "further within them. To keep progressing, do fewer exercises or give more minutes to "
        "each session — change it in your settings or ask your clinician.",
        clinician_text=f"Session time: estimate {now} min against a budget of {budget} min; a "
        f"next step would take it to {held.numbers['minutes_after']} min, beyond the "
        f"{rules.progression.session_time_tolerance:.0%} tolerance, so progressions that add "
        "time are held. Remove exercises or raise the minutes per session.",
        source=rules.progression.sources["session_time_prompt_days"].source,
    )


def run_share(rules: Rules, exercise_id: str, knob: float | str | None) -> float:
    """The share of a running exercise's minutes spent running at this setting (0 for an
    exercise that is not running)."""
    shares = rules.readiness.running_exercises.get(exercise_id)
    if shares is None:
        return 0.0
    return shares.get("" if knob is None else str(knob), 1.0)


def planned_running(program: Program, rules: Rules) -> float:
    """Running minutes in one session of the program."""
    total = 0.0
    for slot in program.part("main"):
        for d in slot.doses:
            total += d.sets * d.amount * run_share(rules, slot.exercise_id, d.knob)
    return total


def logged_running(session: SessionLog, rules: Rules) -> float:
    """Running minutes a session logged."""
    total = 0.0
    for log in session.exercises:
        for done in log.sets:
            total += done.amount * run_share(rules, log.exercise_id, done.knob)
    return total


def _running_capped(
    program: Program,
    step: Decision,
    slot: Slot,
    dose: Dose,
    exercise: Exercise,
    event: SessionLog,
    seen: Sequence[HistoryEvent],
    rules: Rules,
) -> tuple[Decision | None, Decision | None]:
    """A step of a running exercise counted in running minutes (M7): at most one step of the
    running share a week; the week's running minutes grow by no more than the weekly cap and
    one session's by no more than the single-session cap over the longest recent one. A
    share step that would break them comes with a shorter session that keeps within them.
    Returns (the step to take, or None) and (the cap decision that held it, or None)."""
    p = rules.progression
    day = event.date
    share_step = any(c.field == "knob" for c in step.changes)
    last = program.state.last_run_step
    if share_step and last is not None and (day - last).days < p.run_step_min_days:
        return None, _cap_running(
            day,
            step,
            "cap.run_step",
            f"the last step of the running share was on {last}, less than {p.run_step_min_days} days ago",
            "the running share goes up at most one step a week",
            {"last_step": last.isoformat(), "min_days": p.run_step_min_days},
            p.sources["run_step_min_days"].source,
        )
    done = _sessions(seen)
    week = [logged_running(s, rules) for s in done if day - dt.timedelta(days=7) < s.date <= day]
    recent = [
        logged_running(s, rules)
        for s in done
        if day - dt.timedelta(days=p.session_spike_window_days) < s.date <= day
    ]
    week_run, longest = sum(week), max(recent, default=0.0)
    per_session_now = planned_running(program, rules)
    if week_run <= 0 or longest <= 0:
        return None, _cap_running(
            day,
            step,
            "cap.running_weekly",
            "no running logged in the last week to build on",
            "the running builds on runs logged in the last week",
            {"week_running_minutes": 0},
            p.sources["weekly_volume_growth_cap"].source,
        )
    sessions = program.sessions_per_week
    week_limit = week_run * (1 + p.weekly_volume_growth_cap)
    session_limit = min(week_limit / sessions, longest * (1 + p.session_spike_cap))
    trial = apply(program, step, rules)
    planned = planned_running(trial, rules)
    numbers: dict[str, Number] = {
        "week_running_minutes": round(week_run, 1),
        "longest_run_minutes": round(longest, 1),
        "session_running_before": round(per_session_now, 1),
        "session_running_after": round(planned, 1),
        "session_running_limit": round(session_limit, 1),
        "weekly_cap_percent": round(p.weekly_volume_growth_cap * 100),
        "session_cap_percent": round(p.session_spike_cap * 100),
    }
    if planned <= session_limit + 1e-9:
        return _with_numbers(step, numbers, share_step), None
    if share_step:
        new = trial.slot(slot.exercise_id)
        new_dose = new.dose(dose.side) if new is not None else None
        share = run_share(rules, slot.exercise_id, new_dose.knob if new_dose else None)
        others = planned - dose.sets * dose.amount * share
        if share > 0:
            minutes = math.floor(max(0.0, session_limit - others) / (dose.sets * share) + 1e-9)
            running = others + dose.sets * minutes * share
            if minutes >= 5 and running > per_session_now + 1e-9 and minutes < dose.amount:
                shorter = Change(
                    exercise_id=slot.exercise_id,
                    side=dose.side,
                    field="amount",
                    before=dose.amount,
                    after=float(minutes),
                )
                numbers["session_running_after"] = round(running, 1)
                numbers["amount_after"] = minutes
                changes = [c for c in step.changes if c.field != "amount"]
                return (
                    _with_numbers(
                        step.model_copy(
                            update={
                                "changes": (*changes, shorter),
                                "person_text": step.person_text
                                + f" The session is shorter for now ({minutes} minutes), so the running time grows gently.",
                                "clinician_text": step.clinician_text
                                + f" Amount {dose.amount:g} → {minutes} min so running is {running:.1f} min a session (limit {session_limit:.1f}: +{p.weekly_volume_growth_cap:.0%} a week, +{p.session_spike_cap:.0%} over the longest run in {p.session_spike_window_days} days).",
                            }
                        ),
                        numbers,
                        share_step,
                    ),
                    None,
                )
    return None, _cap_running(
        day,
        step,
        "cap.running_weekly",
        f"running would be {planned:.1f} min a session (now {per_session_now:.1f}) against a "
        f"limit of {session_limit:.1f}, the lower of: the last 7 days' {week_run:.1f} min logged "
        f"+{p.weekly_volume_growth_cap:.0%} over {sessions} sessions = {week_limit / sessions:.1f}; "
        f"the longest run in {p.session_spike_window_days} days, {longest:.1f} min "
        f"+{p.session_spike_cap:.0%} = {longest * (1 + p.session_spike_cap):.1f}"
        + (
            " (below what is planned now: less running was logged than planned)"
            if session_limit < per_session_now - 1e-9
            else ""
        ),
        "the running time would grow faster than the weekly and single-run limits",
        numbers,
        p.sources["weekly_volume_growth_cap"].source,
    )


def _with_numbers(step: Decision, numbers: dict[str, Number], share_step: bool) -> Decision:
    changes = list(step.changes)
    if share_step:
        changes.append(Change(field="last_run_step", after=step.date.isoformat()))
    return step.model_copy(
        update={"numbers": {**step.numbers, **numbers}, "changes": tuple(changes)}
    )


def _cap_running(
    day: dt.date,
    step: Decision,
    rule: str,
    why: str,
    plain: str,
    numbers: dict[str, Number],
    source: str,
) -> Decision:
    return Decision(
        rule=rule,
        kind="cap",
        date=day,
        exercise_id=step.exercise_id,
        side=step.side,
        numbers=numbers,
        person_text=f"{step.person_text.split(':')[0]}: the next step waits, because {plain}.",
        clinician_text=f"{step.person_text.split(':')[0]}: {step.rule} held by {rule}: {why}.",
        source=source,
    )


def _cap(
    day: dt.date,
    step: Decision,
    rule: str,
    new: float,
    reference: float,
    cap: float,
    source: str,
    plain: str,
) -> Decision:
    return Decision(
        rule=rule,
        kind="cap",
        date=day,
        exercise_id=step.exercise_id,
        side=step.side,
        numbers={
            "planned_seconds": round(new),
            "reference_seconds": round(reference),
            "cap_percent": round(cap * 100),
        },
        person_text=f"{step.person_text.split(':')[0]}: the next step waits, because {plain}.",
        clinician_text=f"{step.person_text.split(':')[0]}: {step.rule} held by {rule}: {round(new)} s vs reference {round(reference)} s (+{(new / reference - 1) if reference else 0:.0%} > {cap:.0%}).",
        source=source,
    )


def slot_weaker_side(program: Program, slot: Slot) -> Side | None:
    """The side that should keep the larger share of a two-sided exercise's work: the one
    the plan gave the extra set, else the program's weaker side."""
    if len(slot.doses) < 2:
        return None
    return _slot_weaker(slot) or program.weaker_side


def side_work(program: Program, slot: Slot, side: Side, rules: Rules) -> float:
    """Seconds of work one side of an exercise does in a session (sets × amount × tempo)."""
    dose = slot.dose(side)
    if dose is None:
        return 0.0
    return dose.sets * work_seconds(rules.library[slot.exercise_id], dose)


def stronger_side_ahead(
    program: Program, exercise_id: str, side: Side | None, rules: Rules
) -> tuple[float, float] | None:
    """After a step of `side`: when that is the stronger side of the exercise and it now does
    more work than the weaker side, (its work, the weaker side's work); else None.

    The rule works one way only: the weaker side is never held back for the sake of balance."""
    slot = program.slot(exercise_id)
    if slot is None or side is None or slot.part != "main":
        return None
    weaker = slot_weaker_side(program, slot)
    if weaker is None or side is weaker:
        return None
    stronger_work = side_work(program, slot, side, rules)
    weaker_work = side_work(program, slot, weaker, rules)
    strong_dose, weak_dose = slot.dose(side), slot.dose(weaker)
    strong_load = (strong_dose.load_kg or 0.0) if strong_dose else 0.0
    weak_load = (weak_dose.load_kg or 0.0) if weak_dose else 0.0
    if weak_load > strong_load + 1e-9 and volume_load(weak_dose) >= volume_load(strong_dose) - 1e-9:
        # The weaker side already lifts more, and as much in all (sets × reps × weight):
        # fewer reps at a heavier weight is not less work.
        return None
    if strong_load > weak_load + 1e-9 or stronger_work > weaker_work + 1e-9:
        return stronger_work, weaker_work
    return None


def volume_load(dose: Dose | None) -> float:
    """Sets × amount × external weight: what a weighted dose lifts in all."""
    if dose is None:
        return 0.0
    return dose.sets * dose.amount * (dose.load_kg or 0.0)


def _slot_weaker(slot: Slot) -> Side | None:
    """The side the plan gave extra volume to in this slot, if any."""
    sets = {d.side: d.sets for d in slot.doses}
    if sets.get(Side.LEFT, 0) > sets.get(Side.RIGHT, 0):
        return Side.LEFT
    if sets.get(Side.RIGHT, 0) > sets.get(Side.LEFT, 0):
        return Side.RIGHT
    return None


def _next_step(
    program: Program,
    slot: Slot,
    dose: Dose,
    exercise: Exercise,
    rules: Rules,
    day: dt.date,
    pain_max: int | None = None,
    since: dt.date | None = None,
) -> Decision | None:
    """One step along the ladder: reps → tempo → knob → load → single leg → next exercise —
    but a two-leg body-weight exercise takes its one-leg version before a weight (R4), and
    after its first slower lowering rather than every one (S1); and a standing calf exercise
    with a weight at hand takes it after its first slower lowering (R8).

    `since`: the last progression before the session being judged (a protocol's load waits
    `protocol_load_step_days` after it)."""
    p = rules.progression
    side = dose.side
    name = exercise.name
    st = f" ({side.value})" if side else ""
    unit = exercise.dose_type.unit

    def changed(field: str, before: bool | Number | None, after: bool | Number | None) -> Change:
        return Change(
            exercise_id=slot.exercise_id, side=side, field=field, before=before, after=after
        )

    def make(
        rule: str,
        changes: list[Change],
        person: str,
        clinician: str,
        source: str,
        numbers: dict[str, Number],
    ) -> Decision | None:
        if _off(program, rule):
            return None
        changes.append(Change(field="last_progression", after=day.isoformat()))
        return Decision(
            rule=rule,
            kind="progress",
            date=day,
            exercise_id=slot.exercise_id,
            side=side,
            numbers=numbers,
            changes=tuple(changes),
            person_text=person,
            clinician_text=clinician,
            source=source,
        )

    effort = min(p.spare_effort_rpe_max, rules.phases[program.phase].dose.effort_rpe_max)
    if _periodised(program, rules) or _protocol(program, rules):
        effort = p.spare_effort_rpe_max
    pain = p.pain_safe_max if pain_max is None else pain_max
    basis = f"{p.consecutive_sessions} sessions in a row with clean form, pain ≤ {pain}/10 and effort ≤ {effort:g}/10"
    if _protocol(program, rules):
        return _protocol_load_step(
            program, dose, exercise, rules, make, changed, basis, st, day, since
        )
    # A routine in week blocks: the blocks set the sets and reps (below).
    blocked = _periodised(program, rules)
    # reps (or time, distance) to the top of the range
    if dose.amount < dose.range_high and not blocked and not _off(program, "progress.reps"):
        step = p.rep_step[exercise.dose_type.value]
        after = min(dose.range_high, dose.amount + step)
        return make(
            "progress.reps",
            [changed("amount", dose.amount, after)],
            f"{name}{st}: up from {dose.amount:g} to {after:g} {unit} — the last sessions were comfortable and clean.",
            f"{name}{st}: amount {dose.amount:g} → {after:g} {unit} (range top {dose.range_high:g}) after {basis}.",
            p.sources["rep_step"].source,
            {"amount_before": dose.amount, "amount_after": after, "range_high": dose.range_high},
        )

    def reset_to(lowering: float | None = None) -> float:
        """Where the amount starts again after a step up the ladder: the bottom of the range,
        but never below the other side's work when this is the side with the extra set."""
        start = dose.range_low
        other = next((d for d in slot.doses if d.side is not None and d.side != side), None)
        if side is None or other is None or slot_weaker_side(program, slot) is not side:
            return start
        tempo = dose.tempo
        if lowering is not None and tempo is not None:
            tempo = tempo.model_copy(update={"lowering": lowering})
        unit = unit_seconds(exercise, dose.model_copy(update={"tempo": tempo}))
        needed = other.sets * work_seconds(exercise, other) / (dose.sets * unit)
        if exercise.dose_type is DoseType.REPS:
            needed = math.ceil(needed - 1e-9)
        elif exercise.dose_type is DoseType.SECONDS:
            needed = hold_seconds(needed, rules, up=True)
        return float(min(dose.amount, max(start, needed)))

    low = reset_to()
    reset = [changed("amount", dose.amount, low)] if low < dose.amount else []

    def knob_step(then: list[Change]) -> Decision | None:
        if exercise.knob is None or dose.knob is None or _off(program, "progress.knob"):
            return None
        harder = exercise.knob.harder_setting(dose.knob)
        if harder is None or not position_allowed(exercise.position_at(harder), program, rules):
            return None
        kept = "" if then else f", amount kept at {dose.amount:g}"
        return make(
            "progress.knob",
            [changed("knob", dose.knob, harder), *then],
            f"{name}{st}: make it a little harder — {exercise.knob.harder_how[0].lower()}{exercise.knob.harder_how[1:]} ({exercise.knob.describe(harder)}).",
            f"{name}{st}: {exercise.knob.describe(dose.knob)} → {exercise.knob.value_text(harder)}"
            + (f", amount reset to {low:g}" if then else kept)
            + f" after {basis}.",
            "seeds/002: the exercise's own difficulty setting first for a protocol's fixed amount"
            if program.template is not None
            else f"{own.source} [{own.confidence}]"
            if own is not None
            else p.sources["knob_first_from_reps"].source
            if knob_first
            else "groundup ladder: reps → tempo → knob → load",
            {"knob_before": str(dose.knob), "knob_after": str(harder)},
        )

    # A protocol (template) fixes the amount: its own difficulty setting comes first and the
    # amount stays, before slower lowering or load reset it.
    # An endurance dose (reps to 20 and more) turns its setting first too, so the work stays
    # comparable instead of falling back to the bottom of the range (C10).
    # So does a pathway's strength range (tendon work, S11): the harder setting loads the
    # calf more at the same reps, before a slower lowering starts the reps again.
    own = strength_range(program.pathway, exercise.id, rules)
    knob_first = (
        program.template is not None
        or own is not None
        or (exercise.dose_type is DoseType.REPS and dose.range_high >= p.knob_first_from_reps)
    )
    if blocked:
        # The blocks set the sets and reps: the exercise's own harder setting (the amount
        # kept), then weight — only with something to add it with (R1).
        knobbed = knob_step([])
        if knobbed is not None:
            return knobbed
        if not dose.load_kg and not exercise.load_at_hand(program.preferences.equipment):
            return None
        return _protocol_load_step(
            program, dose, exercise, rules, make, changed, basis, st, day, since
        )
    if knob_first:
        knobbed = knob_step([])
        if knobbed is not None:
            return knobbed
    # R4: a two-leg exercise done with the body weight alone moves on to its one-leg version
    # (the single-leg bridge roughly doubles the load on each leg) before a token weight.
    harder = _ladder_next(exercise, program, rules)
    one_leg_first = (
        harder is not None
        and (dose.load_kg or 0.0) <= 0
        and exercise.laterality is Laterality.BOTH_LEGS
        and rules.library[harder[0]].laterality is Laterality.ONE_LEG
    )
    # Past its first slower lowering(s): the lowering laps that follow add far less than a
    # weight or the one-leg version, which come first from here (R8, S1).
    slower_done = (
        dose.tempo is not None
        and exercise.tempo is not None
        and dose.tempo.lowering
        >= exercise.tempo.lowering
        + p.calf_slower_lowering_steps_before_load * p.tempo_step_seconds
        - 1e-9
    )
    # S1: the one-leg version (R4) comes there too, not after every lowering lap.
    one_leg_now = one_leg_first and slower_done
    # R8: a standing calf exercise (the body weight is its load) takes a weight, where there
    # is one, once it has had its first slower lowering — before the next slower lowering
    # and before its setting: tendon loading adds weight once the exercise is painless.
    load_first = (
        exercise.loadable
        and carries_body_weight(exercise)
        and not one_leg_first
        and (exercise.load_at_hand(program.preferences.equipment) or (dose.load_kg or 0.0) > 0)
        and not _off(program, "progress.load")
        and slower_done
    )
    # tempo: slower lowering
    if (
        exercise.dose_type is DoseType.REPS
        and dose.tempo is not None
        and exercise.max_lowering_seconds is not None
        and dose.tempo.lowering < exercise.max_lowering_seconds
        and not load_first
        and not one_leg_now
        and not _off(program, "progress.tempo")
    ):
        after_t = min(exercise.max_lowering_seconds, dose.tempo.lowering + p.tempo_step_seconds)
        low_t = reset_to(after_t)
        return make(
            "progress.tempo",
            [
                changed("tempo_lowering", dose.tempo.lowering, after_t),
                *([changed("amount", dose.amount, low_t)] if low_t < dose.amount else []),
            ],
            f"{name}{st}: you reached the top of the range, so now lower over {after_t:g} seconds instead of {dose.tempo.lowering:g}, starting again at {low_t:g} {unit}.",
            f"{name}{st}: lowering {dose.tempo.lowering:g} → {after_t:g} s, amount reset to {low_t:g} after {basis}.",
            p.sources["tempo_step_seconds"].source,
            {"lowering_before": dose.tempo.lowering, "lowering_after": after_t},
        )
    # knob, in its place on the ladder (a protocol's fixed amount took it earlier; R8: after a
    # standing calf exercise's weight)
    if not knob_first and not load_first and not one_leg_now:
        knobbed = knob_step(reset)
        if knobbed is not None:
            return knobbed
    # load — only with something at hand to add it (R1), or a weight already in use
    if (
        exercise.loadable
        and not one_leg_first
        and (exercise.load_at_hand(program.preferences.equipment) or (dose.load_kg or 0.0) > 0)
        and not _off(program, "progress.load")
    ):
        load = dose.load_kg or 0.0
        ahead = []
        if (
            dose.tempo is not None
            and exercise.max_lowering_seconds is not None
            and dose.tempo.lowering < exercise.max_lowering_seconds
        ):
            ahead.append(f"a slower lowering ({dose.tempo.lowering:g} s now)")
        if exercise.knob and dose.knob is not None and exercise.knob.harder_setting(dose.knob):
            ahead.append(f"a harder {exercise.knob.name} ({dose.knob})")
        before_slower = (
            f" Taken before {' and '.join(ahead)}: calf_slower_lowering_steps_before_load "
            f"{p.calf_slower_lowering_steps_before_load} (R8, U)."
            if load_first and ahead
            else ""
        )
        # A standing calf exercise lifts the body weight: a few kilograms on top are a small
        # step, so the reps are kept instead of starting again at the bottom (S11).
        body = carries_body_weight(exercise)
        then = [] if body else reset
        kept = f", amount kept at {dose.amount:g} (body weight carried)" if body else ""
        if load <= 0:
            after_l = p.calf_first_load_kg if body else p.starting_load_kg
            return make(
                "progress.load",
                [
                    changed("load_kg", None, after_l),
                    *then,
                ],
                f"{name}{st}: time to add weight — about {after_l:g} kg ({_load_means(exercise, program)}), same {unit}."
                if body
                else f"{name}{st}: time to add a little weight — start with {after_l:g} kg ({_load_means(exercise, program)}).",
                f"{name}{st}: first external load {after_l:g} kg"
                + (kept or f", amount reset to {low:g}")
                + f" after {basis}.{before_slower}",
                p.sources["calf_first_load_kg" if body else "starting_load_kg"].source,
                {
                    "load_before": 0,
                    "load_after": after_l,
                    "amount_after": dose.amount if body else low,
                },
            )
        after_l = load_step(load, rules)
        pct = (after_l / load - 1) * 100
        if pct <= p.load_step_max_percent + 1e-9:
            return make(
                "progress.load",
                [
                    changed("load_kg", load, after_l),
                    *then,
                ],
                f"{name}{st}: a little more weight, {load:g} → {after_l:g} kg"
                + (f", same {unit}." if body else "."),
                f"{name}{st}: load {load:g} → {after_l:g} kg (+{pct:.1f} %, cap {p.load_step_max_percent:g} %){kept} after {basis}.{before_slower}",
                p.sources["load_step_percent"].source,
                {"load_before": load, "load_after": after_l, "step_percent": round(pct, 1)},
            )
        # A light load: the smallest weight step is more than the cap, so the amount comes
        # down with it and the load × amount grows by no more than the cap.
        fewer = small_load_amount(load, after_l, dose.amount, exercise, rules)
        before_work = load * dose.amount
        after_work = after_l * fewer
        return make(
            "progress.load",
            [
                changed("load_kg", load, after_l),
                *([changed("amount", dose.amount, fewer)] if fewer != dose.amount else []),
            ],
            f"{name}{st}: a little more weight, {load:g} → {after_l:g} kg, with fewer {unit} ({fewer:g}) to start with.",
            f"{name}{st}: load {load:g} → {after_l:g} kg (+{pct:.0f} %: the smallest step, {p.load_increment_kg:g} kg, is above the {p.load_step_max_percent:g} % cap at this load), amount {dose.amount:g} → {fewer:g} so load × amount {before_work:g} → {after_work:g} (+{(after_work / before_work - 1) * 100:.1f} %, within the cap), after {basis}.",
            p.sources["load_increment_kg"].source,
            {
                "load_before": load,
                "load_after": after_l,
                "amount_before": dose.amount,
                "amount_after": fewer,
                "load_x_amount_before": round(before_work, 2),
                "load_x_amount_after": round(after_work, 2),
            },
        )
    # single leg, then the next exercise on the ladder: the whole slot moves, so every
    # side must be ready; the caller only offers this from a side that is.
    if harder is not None:
        target, rule = harder
        if any(d.amount < d.range_high for d in slot.doses if d is not dose and not d.pinned):
            return None
        new = rules.library[target]
        # R7: never at the cost of the weaker side's extra set (a one-leg exercise for a
        # one-sided deficit moved on to one done with both legs together), as the swap for
        # time does not.
        if extra_set_lost(slot, new, program, rules):
            return None
        return make(
            rule,
            [
                Change(
                    exercise_id=slot.exercise_id,
                    side=None,
                    field="exercise",
                    before=slot.exercise_id,
                    after=target,
                )
            ],
            f"{name} is mastered: move on to {new.name.lower()}.",
            f"{name} at the top of its ladder (all axes) after {basis}: {rule.split('.')[1].replace('_', ' ')} → {new.name}.",
            "groundup ladder: … → single leg → next exercise",
            {"from": slot.exercise_id, "to": target},
        )
    return None


def _ladder_next(exercise: Exercise, program: Program, rules: Rules) -> tuple[str, str] | None:
    """The ladder's harder exercise, and the rule that moves to it: the one-leg version, else
    the next exercise — one that fits the program now and whose rule is on; None when none.
    R4: where the pathway brings a two-leg exercise in before its library phases (the
    kneecap's bridge from the first session), its one-leg version comes with it."""
    early = program.phase not in exercise.phases and exercise.id in {
        i for i, _ in brought_in(program.pathway, program.phase, rules)
    }

    def fits(target: str | None) -> bool:
        if target is None:
            return False
        new = rules.library[target]
        one_leg = (
            early
            and exercise.laterality is Laterality.BOTH_LEGS
            and new.laterality is Laterality.ONE_LEG
        )
        return _fits(new, program, rules, any_phase=one_leg)

    target = exercise.single_leg_version
    rule = "progress.single_leg"
    if not fits(target):
        target = exercise.progression
        rule = "progress.next_exercise"
    if target is None or not fits(target) or _off(program, rule):
        return None
    return target, rule


def _protocol_load_step(
    program: Program,
    dose: Dose,
    exercise: Exercise,
    rules: Rules,
    make: Callable[[str, list[Change], str, str, str, dict[str, Number]], Decision | None],
    changed: Callable[[str, bool | Number | None, bool | Number | None], Change],
    basis: str,
    st: str,
    day: dt.date,
    since: dt.date | None,
) -> Decision | None:
    """A published protocol keeps its sets and reps (and its blocks set them); only the load
    moves (S10, S11): the protocol's first load once its sets and reps are done cleanly, then
    the ordinary load step, with no reset of the reps, at most once in
    `protocol_load_step_days` after the last progression before this session (so all its
    exercises step together, and the second session of a day does not step again)."""
    p = rules.progression
    assert program.template is not None
    template = rules.templates.templates[program.template]
    if not exercise.loadable or _off(program, "progress.load"):
        return None
    name = exercise.name
    load = dose.load_kg or 0.0
    if load > 0 and since is not None and (day - since).days < p.protocol_load_step_days:
        return None
    if load <= 0:
        first = template.first_load_kg
        after = first.value if first is not None else p.starting_load_kg
        source = first.source if first is not None else p.sources["starting_load_kg"].source
        return make(
            "progress.load",
            [changed("load_kg", None, after)],
            f"{name}{st}: time to add weight — about {after:g} kg ({_load_means(exercise, program)}), same sets and reps.",
            f"{name}{st}: {template.name} protocol, first external load {after:g} kg at {dose.sets} × {dose.amount:g} (sets and reps kept) after {basis}.",
            source,
            {"load_before": 0, "load_after": after, "amount": dose.amount},
        )
    after = load_step(load, rules)
    pct = (after / load - 1) * 100
    if pct > p.load_step_max_percent + 1e-9:
        return None
    return make(
        "progress.load",
        [changed("load_kg", load, after)],
        f"{name}{st}: a little more weight, {load:g} → {after:g} kg, same sets and reps.",
        f"{name}{st}: {template.name} protocol, load {load:g} → {after:g} kg (+{pct:.1f} %, cap {p.load_step_max_percent:g} %), {dose.sets} × {dose.amount:g} kept, after {basis}.",
        p.sources["load_step_percent"].source,
        {"load_before": load, "load_after": after, "step_percent": round(pct, 1)},
    )


def _fits(exercise: Exercise, program: Program, rules: Rules, *, any_phase: bool = False) -> bool:
    """The next rung may join the program: it belongs to the phase (`any_phase`: the pathway
    brought its rung in here, R4), the equipment is at hand, the pathway does not leave it
    out here, it keeps to the weight-bearing limit and, while a check an intake warning
    asked for is pending, to the positions allowed until then (N4), and hopping waits for
    hop readiness."""
    return (
        (any_phase or program.phase in exercise.phases)
        and exercise.needs_only(program.preferences.equipment)
        and program.slot(exercise.id) is None
        and allows(program.pathway, exercise.id, program.phase, rules)
        and position_allowed(exercise.position, program, rules)
        and (exercise.kind is not Kind.PLYOMETRIC or hop_ready(program.profile, rules).met)
    )


_LOAD_WORDS = {
    Equipment.BACKPACK: "a loaded backpack works",
    Equipment.DUMBBELL: "hold a dumbbell",
    Equipment.ANKLE_WEIGHT: "an ankle weight",
    Equipment.MACHINE: "set the machine",
}


def _load_means(exercise: Exercise, program: Program) -> str:
    """How the person adds the weight, with what they said they have (R1)."""
    have = set(program.preferences.equipment) | set(exercise.equipment)
    for item in (*exercise.load_with, *_LOAD_WORDS):
        if item in have and item in _LOAD_WORDS:
            return _LOAD_WORDS[item]
    return "a loaded backpack works"


def carries_body_weight(exercise: Exercise) -> bool:
    """A standing calf exercise: the body weight is the load and an external one is added on
    top of it (so a first few kilograms are a small step, S11)."""
    return (
        exercise.loadable
        and exercise.position is Position.STANDING
        and bool(exercise.prime_movers & CALF_MUSCLES)
    )


def position_allowed(position: Position, program: Program, rules: Rules) -> bool:
    """The body position keeps to the weight-bearing limit (until full weight is allowed)
    and, while a check an intake warning asked for is pending, to the positions allowed
    until then (N4). Every engine step that can change position asks it: a new rung of the
    ladder and a setting that changes the position (P2)."""
    restriction = load_restriction(program.pathway, program.profile, rules)
    pending = program.state.check_pending
    return position_allows(position, restriction) and (
        pending is None or position in pending.positions
    )


def load_step(load: float, rules: Rules) -> float:
    """The next load: +step %, rounded down to the weight increment, at least one increment.

    Under about 5 kg (with 0.5 kg steps) even one increment is more than the cap; the caller
    then brings the amount down with it (`small_load_amount`)."""
    p = rules.progression
    increment = p.load_increment_kg
    target = load * (1 + p.load_step_percent / 100)
    after = math.floor(target / increment + 1e-9) * increment
    if after <= load:
        after = load + increment
    return round(after, 3)


def hold_seconds(value: float, rules: Rules, *, up: bool = False) -> float:
    """A time to hold as it can be read off a clock: in the steps holds progress by (5 s)
    once it is two steps or more, in whole seconds below that, at least one second; down
    unless `up` (a hold of 32.5 s is 30 s)."""
    step = rules.progression.rep_step["seconds"]
    unit = step if value >= 2 * step else 1.0
    n = math.ceil(value / unit - 1e-9) if up else math.floor(value / unit + 1e-9)
    return float(max(1.0, n * unit))


def small_load_amount(
    load: float, after: float, amount: float, exercise: Exercise, rules: Rules
) -> float:
    """The amount that keeps load × amount within the cap after a load step from `load` to
    `after`: fewer reps (or seconds, metres) at the heavier weight, at least one."""
    cap = 1 + rules.progression.load_step_max_percent / 100
    share = load * amount * cap / after
    if exercise.dose_type is DoseType.REPS:
        return float(max(1, math.floor(share + 1e-9)))
    if exercise.dose_type is DoseType.SECONDS:
        return hold_seconds(share, rules)
    return max(0.1, math.floor(share * 10 + 1e-9) / 10)


# -- regressions --


def dose_floor(exercise: Exercise, rules: Rules) -> float:
    """The least amount a step back leaves: one regression step under the bottom of the
    exercise's range (`regress_volume_fraction`, U). Flare-up plans go lower, on purpose."""
    return _scaled(
        exercise.dose.range_low, 1 - rules.progression.regress_volume_fraction, exercise, rules
    )


def _regress_dose(
    program: Program,
    slot: Slot,
    dose: Dose,
    exercise: Exercise,
    day: dt.date,
    rules: Rules,
    rule: str,
    numbers: dict[str, Number],
    person: str,
    clinician: str,
    source: str,
    *,
    floor: float | None = None,
) -> Decision:
    """One rung back and less volume for one exercise side, never below `floor` (the
    exercise's `dose_floor` unless given: a second effort step goes lower, P15)."""
    p = rules.progression
    changes: list[Change] = []
    key = slot.exercise_id
    side = dose.side
    if dose.pinned:
        return Decision(
            rule="hold.pinned",
            kind="hold",
            date=day,
            exercise_id=key,
            side=side,
            numbers=numbers,
            person_text=f"{exercise.name}: this would normally step back, but your clinician has fixed the dose — let them know how it went.",
            clinician_text=clinician + " Not applied: dose pinned by override.",
            source=source,
        )
    if dose.load_kg:
        # Down by the cap, rounded down to the weight increment: always at least one
        # increment lighter (a light load goes down by a real step, or to none at all).
        after = (
            math.floor(
                dose.load_kg * (1 - p.load_step_max_percent / 100) / p.load_increment_kg + 1e-9
            )
            * p.load_increment_kg
        )
        changes.append(
            Change(
                exercise_id=key,
                side=side,
                field="load_kg",
                before=dose.load_kg,
                after=round(after, 3) or None,
            )
        )
    elif (
        exercise.knob is not None
        and dose.knob is not None
        and exercise.knob.easier_setting(dose.knob) is not None
    ):
        changes.append(
            Change(
                exercise_id=key,
                side=side,
                field="knob",
                before=dose.knob,
                after=exercise.knob.easier_setting(dose.knob),
            )
        )
    elif (
        dose.tempo is not None
        and exercise.tempo is not None
        and dose.tempo.lowering > exercise.tempo.lowering
    ):
        changes.append(
            Change(
                exercise_id=key,
                side=side,
                field="tempo_lowering",
                before=dose.tempo.lowering,
                after=max(exercise.tempo.lowering, dose.tempo.lowering - p.tempo_step_seconds),
            )
        )
    amount = dose.amount * (1 - p.regress_volume_fraction)
    amount = (
        max(1.0, math.floor(amount))
        if exercise.dose_type is DoseType.REPS
        else hold_seconds(amount, rules)
        if exercise.dose_type is DoseType.SECONDS
        else round(max(amount, 1.0), 1)
    )
    # Never below the floor (N1): a step back stops one step under the bottom of the range.
    least = dose_floor(exercise, rules) if floor is None else floor
    amount = max(amount, min(dose.amount, least))
    if amount < dose.amount:
        changes.append(
            Change(exercise_id=key, side=side, field="amount", before=dose.amount, after=amount)
        )
    if not changes:
        # Already at its floor with no easier setting: the dose stays (N1); the step back
        # still counts as one for the referral rule.
        person = (
            person.split(", so ")[0]
            + ", but the dose is already as low as it goes, so it stays as it is."
        )
        clinician += f" Already at the floor ({least:g}): dose unchanged."
    changes.append(Change(field="regression_count", after=day.isoformat()))
    changes = _weaker_side_kept_ahead(program, changes, rules)
    return Decision(
        rule=rule,
        kind="regress",
        date=day,
        exercise_id=key,
        side=side,
        numbers=numbers,
        changes=tuple(changes),
        person_text=person,
        clinician_text=clinician,
        source=source,
    )


def _regress_session(
    program: Program,
    session: SessionLog,
    day: dt.date,
    rules: Rules,
    rule: str,
    numbers: dict[str, Number],
    person: str,
    clinician: str,
    source: str,
) -> list[Decision]:
    decisions = []
    for logged_slot, logged_dose, _ in _main_logs(program, session):
        slot, dose = _current(program, logged_slot.exercise_id, logged_dose.side)
        exercise = rules.library[slot.exercise_id]
        decision = _regress_dose(
            program, slot, dose, exercise, day, rules, rule, numbers, person, clinician, source
        )
        decisions.append(decision)
        program = apply(program, decision, rules)
    # One regression event, however many exercises it touched.
    return _one_count(decisions)


def _one_count(decisions: list[Decision]) -> list[Decision]:
    out = []
    counted = False
    for d in decisions:
        changes = [c for c in d.changes if c.field != "regression_count" or not counted]
        counted = counted or any(c.field == "regression_count" for c in d.changes)
        out.append(d.model_copy(update={"changes": tuple(changes)}))
    return out


# -- flare-ups --


def _start_flare(
    program: Program, day: dt.date, rules: Rules, numbers: dict[str, Number], why: str
) -> list[Decision]:
    p = rules.progression
    window = day - dt.timedelta(days=p.flare_repeat_window_days)
    # Counted by day; a flare-up already recorded on a later day (an event that arrived
    # late) counts too, so the order in which events arrive does not change the count.
    others = {d for d in program.state.flares if d > window and d != day}
    count = len(others) + 1  # this one included
    repeated = count >= 2
    fraction = p.flare_repeat_fraction if repeated else p.flare_reduced_fraction
    changes: list[Change] = []
    restore = program.state.flare is None
    # The doses to return to: those before the first flare-up, kept through a restart.
    before_flare = (
        dict(program.state.flare.restore)
        if program.state.flare is not None
        else {
            dose_key(slot.exercise_id, dose.side): dose.amount
            for slot in program.part("main")
            for dose in slot.doses
        }
    )
    for slot in program.slots:
        if slot.part != "main":
            continue
        exercise = rules.library[slot.exercise_id]
        for dose in slot.doses:
            if dose.pinned:
                continue
            base = dose.amount
            full = before_flare.get(dose_key(slot.exercise_id, dose.side), base)
            after = _scaled(full, fraction, exercise, rules)
            if after < base:
                changes.append(
                    Change(
                        exercise_id=slot.exercise_id,
                        side=dose.side,
                        field="amount",
                        before=base,
                        after=after,
                    )
                )
    changes = _weaker_side_kept_ahead(program, changes, rules)
    previous = program.state.flare
    state = FlareState(
        started=day,
        stage=0,
        sessions_left_in_stage=p.flare_stage_sessions,
        volume_fraction=fraction,
        first_started=(previous.first_started or previous.started) if previous else day,
        restore=before_flare,
    )
    changes.append(Change(field="flare", before=None, after=_flare_code(state)))
    changes.append(Change(field="regression_count", after=day.isoformat()))
    changes.append(Change(field="flare_count", after=day.isoformat()))
    n = dict(numbers)
    n.update(
        {
            "flare_started": day.isoformat(),
            "volume_percent": round(fraction * 100),
            "sessions": p.flare_stage_sessions,
            "flares_in_window": count,
            "window_days": p.flare_repeat_window_days,
        }
    )
    rule = "flare.start" if restore else "flare.restart"
    again = (
        f" This is flare-up number {count} in {p.flare_repeat_window_days} days, so the amount drops further."
        if repeated
        else ""
    )
    decisions = [
        Decision(
            rule=rule,
            kind="flare",
            date=day,
            numbers=n,
            changes=tuple(changes),
            person_text=(
                f"Flare-up plan: {why}.{again} For the next {p.flare_stage_sessions} sessions do about {fraction:.0%} of the usual amount, "
                "then build back up in stages. Ease off, keep moving gently, and check in each morning."
            ),
            clinician_text=(
                f"Flare-up protocol {'started' if restore else 'restarted'} ({why}; {count} in {p.flare_repeat_window_days} days): main-work volume to {fraction:.0%} for "
                f"{p.flare_stage_sessions} sessions, then staged return {', '.join(f'{f:.0%}' for f in p.flare_return_fractions)} → "
                f"{1 - p.regress_volume_fraction:.0%} of the dose that flared."
            ),
            source=p.sources["flare_repeat_fraction" if repeated else "flare_pain"].source,
        )
    ]
    if count >= p.flare_refer_count:
        decisions.append(
            Decision(
                rule="refer.flare_repeated",
                kind="refer",
                date=day,
                numbers={"flares": count, "window_days": p.flare_repeat_window_days},
                changes=(Change(field="referred", before=False, after=True),),
                person_text=(
                    f"Your leg has flared up {count} times in {p.flare_repeat_window_days} days, even with the lighter program. "
                    "Please see a physiotherapist or doctor before carrying on; the program is paused until then."
                ),
                clinician_text=(
                    f"{count} flare-ups within {p.flare_repeat_window_days} days (dates: "
                    + ", ".join(d.isoformat() for d in sorted({*others, day}))
                    + f"; refer at {p.flare_refer_count}) despite reducing to {p.flare_reduced_fraction:.0%} then "
                    f"{p.flare_repeat_fraction:.0%}. Progression stopped; referral advised."
                ),
                source=p.sources["flare_refer_count"].source,
            )
        )
    return decisions


def _weaker_side_kept_ahead(program: Program, changes: list[Change], rules: Rules) -> list[Change]:
    """Amount changes made side by side by rounding can leave the side the plan gave an
    extra set with less volume than the other side: bring the other side down to match."""
    out = list(changes)
    for slot in program.part("main"):
        weaker = _slot_weaker(slot)
        strong = slot.dose(weaker.other) if weaker else None
        weak = slot.dose(weaker) if weaker else None
        if weak is None or strong is None or strong.pinned:
            continue
        planned = {
            c.side: c for c in out if c.exercise_id == slot.exercise_id and c.field == "amount"
        }
        weak_amount = _amount_after(planned.get(weak.side), weak.amount)
        strong_amount = _amount_after(planned.get(strong.side), strong.amount)
        if weak.sets * weak_amount >= strong.sets * strong_amount:
            continue
        exercise = rules.library[slot.exercise_id]
        share = weak.sets * weak_amount / strong.sets
        if exercise.dose_type is DoseType.REPS:
            matched = float(max(1, math.floor(share)))
        elif exercise.dose_type is DoseType.SECONDS:
            matched = hold_seconds(share, rules)
        else:
            matched = max(0.1, math.floor(share * 10) / 10)
        change = Change(
            exercise_id=slot.exercise_id,
            side=strong.side,
            field="amount",
            before=strong.amount,
            after=matched,
        )
        if strong.side in planned:
            out[out.index(planned[strong.side])] = change
        else:
            out.append(change)
    return out


def _amount_after(change: Change | None, current: float) -> float:
    """The amount a planned change leaves, or the current one."""
    if change is None or not isinstance(change.after, int | float):
        return current
    return float(change.after)


def _scaled(amount: float, fraction: float, exercise: Exercise, rules: Rules) -> float:
    value = amount * fraction
    if exercise.dose_type is DoseType.SECONDS:
        return hold_seconds(value, rules)
    return (
        float(max(1, math.floor(value)))
        if exercise.dose_type is DoseType.REPS
        else round(max(value, 0.5), 1)
    )


def _flare_stage(
    program: Program, event: SessionLog, seen: Sequence[HistoryEvent], rules: Rules
) -> list[Decision]:
    """Count a session done during a flare; move to the next stage when the stage is done.

    A session counts only when its whole response is known and acceptable: pain during and
    right after within the acceptable zone, and the morning after the last session reported
    and not worse (the morning after the session that started the flare-up is expected to be)."""
    p = rules.progression
    flare = program.state.flare
    assert flare is not None
    if event.max_pain > p.pain_acceptable_max:
        return _start_flare(
            program,
            event.date,
            rules,
            {"max_pain": event.max_pain},
            f"pain was {event.max_pain}/10 during the flare-up plan",
        )
    if event.pain_after is not None and event.pain_after > p.pain_after_acceptable_max:
        return _start_flare(
            program,
            event.date,
            rules,
            {"max_pain": event.max_pain, "pain_after": event.pain_after},
            f"pain right after a session was {event.pain_after}/10 during the flare-up plan",
        )
    zone = pain_zone(program, rules)
    if event.max_pain > zone.acceptable_max or (
        event.pain_after is not None and event.pain_after > zone.after_acceptable_max
    ):
        return [
            Decision(
                rule="flare.hold",
                kind="flare",
                date=event.date,
                numbers={"max_pain": event.max_pain, "acceptable_max": zone.acceptable_max},
                person_text=f"Flare-up plan: this session does not count towards building back up yet: the pain ({event.max_pain}/10) was above this condition's {zone.acceptable_max}/10 limit.",
                clinician_text=f"Flare-up stage {flare.stage} not advanced: pain {event.max_pain}/10 (after {event.pain_after}) above the pathway limit {zone.acceptable_max}/10.",
                source=zone.source,
            )
        ]
    waiting = [
        h
        for h in _response_holds(program, event, seen, rules)
        if h.rule != "hold.pain_after"
        and not (
            h.rule == "hold.morning_worse"
            and morning_after_previous(program, seen, event.date, rules).session_date
            == flare.started
        )
    ]
    if waiting:
        return [
            Decision(
                rule="flare.hold",
                kind="flare",
                date=event.date,
                numbers={"sessions_left": flare.sessions_left_in_stage},
                person_text="Flare-up plan: this session does not count towards building back up yet. "
                + " ".join(h.person_text for h in waiting),
                clinician_text=f"Flare-up stage {flare.stage + 1} not advanced: "
                + "; ".join(h.rule for h in waiting)
                + ".",
                source=p.sources["flare_stage_sessions"].source,
            )
        ]
    left = flare.sessions_left_in_stage - 1
    if left > 0:
        return [
            Decision(
                rule="flare.stage",
                kind="flare",
                date=event.date,
                numbers={"sessions_left": left},
                changes=(
                    Change(
                        field="flare",
                        before=None,
                        after=_flare_code(
                            flare.model_copy(update={"sessions_left_in_stage": left})
                        ),
                    ),
                ),
                person_text=f"Flare-up plan: {left} more session{'s' if left > 1 else ''} at the lighter amount.",
                clinician_text=f"Flare-up stage {flare.stage + 1}: {left} session(s) left at {flare.volume_fraction:.0%}.",
                source=p.sources["flare_stage_sessions"].source,
            )
        ]
    fractions = p.flare_return_fractions
    stage = flare.stage + 1
    next_fraction = fractions[stage - 1] if stage - 1 < len(fractions) else 1.0
    changes: list[Change] = []
    for slot in program.slots:
        if slot.part != "main":
            continue
        exercise = rules.library[slot.exercise_id]
        for dose in slot.doses:
            if dose.pinned:
                continue
            full = flare.restore.get(dose_key(slot.exercise_id, dose.side))
            if full is None:  # an exercise that joined during the flare-up keeps its dose
                continue
            if next_fraction < 1:
                after = _scaled(full, next_fraction, exercise, rules)
            else:
                # One step below the dose that flared (C6); the ordinary rules climb again.
                after = max(
                    dose.amount, _scaled(full, 1 - p.regress_volume_fraction, exercise, rules)
                )
            if after != dose.amount:
                changes.append(
                    Change(
                        exercise_id=slot.exercise_id,
                        side=dose.side,
                        field="amount",
                        before=dose.amount,
                        after=after,
                    )
                )
    changes = _weaker_side_kept_ahead(program, changes, rules)
    if next_fraction >= 1:
        changes.append(Change(field="flare", before="active", after=""))
        changes.append(Change(field="last_flare_end", after=event.date.isoformat()))
        end = round((1 - p.regress_volume_fraction) * 100)
        return [
            Decision(
                rule="flare.end",
                kind="flare",
                date=event.date,
                numbers={"volume_percent": end},
                changes=tuple(changes),
                person_text="The flare-up has settled: back to your program, one step below where it flared, and building up again from there.",
                clinician_text=f"Flare-up protocol complete: volume restored to {end} % of the dose that flared (one regression step below it); ordinary progression from there.",
                source=p.sources["regress_volume_fraction"].source,
            )
        ]
    changes.append(
        Change(
            field="flare",
            before=None,
            after=_flare_code(
                flare.model_copy(
                    update={
                        "stage": stage,
                        "sessions_left_in_stage": p.flare_stage_sessions,
                        "volume_fraction": next_fraction,
                    }
                )
            ),
        )
    )
    return [
        Decision(
            rule="flare.step_up",
            kind="flare",
            date=event.date,
            numbers={"volume_percent": round(next_fraction * 100)},
            changes=tuple(changes),
            person_text=f"The flare-up is settling: step back up to about {next_fraction:.0%} of your usual amount.",
            clinician_text=f"Flare-up staged return: volume {flare.volume_fraction:.0%} → {next_fraction:.0%} for {p.flare_stage_sessions} sessions.",
            source=p.sources["flare_return_fractions"].source,
        )
    ]


# -- templates, gates, stalls --


def _periodised(program: Program, rules: Rules) -> bool:
    """A template whose blocks of weeks set the sets and reps (not the exercise ladder)."""
    if program.template is None:
        return False
    return bool(rules.templates.templates[program.template].at_stage(program.stage).blocks)


def _template_block(program: Program, day: dt.date, rules: Rules) -> list[Decision]:
    if program.template is None:
        return []
    template = rules.templates.templates[program.template].at_stage(program.stage)
    if not template.blocks:
        return []
    # A protocol's later phase counts its weeks from the day it began.
    began = program.phase_started if program.stage else program.start_date
    week = (day - began).days // 7 + 1
    block = template_block(template, week)
    if block is None:
        return []
    sets, amount = block
    changes: list[Change] = []
    for slot in program.part("main"):
        for dose in slot.doses:
            if dose.pinned:
                continue
            if dose.sets != sets:
                changes.append(
                    Change(
                        exercise_id=slot.exercise_id,
                        side=dose.side,
                        field="sets",
                        before=dose.sets,
                        after=sets,
                    )
                )
            if dose.amount != amount:
                changes.append(
                    Change(
                        exercise_id=slot.exercise_id,
                        side=dose.side,
                        field="amount",
                        before=dose.amount,
                        after=amount,
                    )
                )
    if not changes:
        return []
    changes.append(Change(field="last_progression", after=day.isoformat()))
    return [
        Decision(
            rule="template.block",
            kind="progress",
            date=day,
            numbers={"week": week, "sets": sets, "amount": amount},
            changes=tuple(changes),
            person_text=f"Week {week} of {template.name}: now {sets} × {amount:g}, with a heavier weight you can just manage.",
            clinician_text=f"{template.name} week {week}: {sets} × {amount:g} RM per protocol ({template.source}).",
            source=template.source,
        )
    ]


# -- phase gates, retests and stalls --
#
# A gate counts only tests done after its phase began: the tests that were in place when
# the phase started (the intake's, or a retest on that very day) are what the phase set
# out to change. Milestones are the gate's objective measures, compared from test to test
# beyond each one's measurement error.

GateStatus = tuple[GateCriterion, bool, str, bool]
OBJECTIVE_GATES = (
    "lsi",
    "difference_within_error",
    "min_value",
    "step_down_clean",
    "outcome_change",
)


def _fresh(program: Program) -> bool:
    """The latest tests were done after the current phase began."""
    tested = program.profile.tested_on
    return tested is not None and tested > program.phase_started


def criterion_text(criterion: GateCriterion, profile: ImbalanceProfile) -> str:
    """The criterion in plain words for this person (both legs affected reads differently)."""
    if (
        criterion.kind == "lsi"
        and criterion.both_sides_text is not None
        and profile.affected_side is AffectedSide.BOTH
    ):
        return criterion.both_sides_text
    return criterion.text


def _lsi_status(
    c: GateCriterion,
    comparison: SideComparison,
    profile: ImbalanceProfile,
    start: tuple[SideComparison | None, dict[Side, float]] | None = None,
) -> tuple[bool, str, bool]:
    """(met, the numbers, a retest could change it) for an LSI criterion. `start`: the
    test at the start of the program and its measurement error, for both legs affected
    with no verified norm (P4)."""
    assert c.threshold is not None
    test = c.test
    if profile.affected_side is None:
        return False, f"{test}: affected side not recorded; a retest records it", True
    involved = profile.involved_side
    if involved is not None:
        mine, other = comparison.value(involved), comparison.value(involved.other)
        if comparison.lsi is None:
            return False, f"{test}: no LSI (involved {mine}, uninvolved {other})", True
        return (
            comparison.lsi >= c.threshold,
            f"{test} LSI {comparison.lsi:g} % (involved {involved.value} {mine:g} ÷ "
            f"uninvolved {other:g}; needs ≥ {c.threshold:g} %)",
            True,
        )
    capacity = comparison.capacity
    if (not capacity.available or capacity.target is None) and start is not None:
        return _own_start_status(comparison, *start)
    if not capacity.available or capacity.target is None:
        return (
            False,
            f"both legs affected and no verified norm for {test}: symmetry cannot pass this "
            "gate, so the clinician judges it",
            False,
        )
    parts = []
    met = True
    for side in Side:
        percent = capacity.percent(side)
        value = comparison.value(side)
        if percent is None or value is None:
            met = False
            parts.append(f"{side.value} not tested")
            continue
        met = met and percent >= c.threshold
        parts.append(f"{side.value} {value:g} ({percent:g} %)")
    return (
        met,
        f"both legs affected, each against the goal of {capacity.target:g}: "
        + ", ".join(parts)
        + f"; each needs ≥ {c.threshold:g} %",
        True,
    )


def _shortfall(comparison: SideComparison, profile: ImbalanceProfile) -> float | None:
    """How far the affected side falls short of the other (both legs affected: the
    difference either way); None with a side untested."""
    left, right = comparison.left, comparison.right
    if left is None or right is None:
        return None
    involved = profile.involved_side
    if involved is None:
        return round(abs(left - right), 2)
    mine, other = comparison.value(involved), comparison.value(involved.other)
    assert mine is not None and other is not None
    return round(max(0.0, other - mine), 2)


def _difference_status(comparison: SideComparison, profile: ImbalanceProfile) -> tuple[bool, str]:
    """(met, the numbers) for a between-leg difference criterion."""
    error = comparison.measurement_error
    short = _shortfall(comparison, profile)
    test, unit = comparison.test, comparison.unit
    if error is None or short is None:
        return (
            False,
            f"{test}: both sides needed (left {comparison.left}, right {comparison.right})",
        )
    involved = profile.involved_side
    if involved is None:
        sides = f"left {comparison.left:g} vs right {comparison.right:g} {unit}, difference"
    else:
        sides = (
            f"involved {involved.value} {comparison.value(involved):g} vs uninvolved "
            f"{comparison.value(involved.other):g} {unit}, short by"
        )
    return (
        short <= error,
        f"{test}: {sides} {short:g} {unit} (needs ≤ {error:g} {unit}, the measurement error)",
    )


def _own_start_status(
    comparison: SideComparison, before: SideComparison | None, errors: dict[Side, float]
) -> tuple[bool, str, bool]:
    """P4: both legs affected and no verified norm for the test — each leg against its own
    start: met when each has risen beyond the test's measurement error, scaled to a low
    starting score (R6; U; the gate does not wait for a clinician who may not be there)."""
    parts = []
    met = True
    for side in Side:
        now = comparison.value(side)
        was = before.value(side) if before is not None else None
        if now is None or was is None:
            met = False
            parts.append(f"{side.value} " + ("not tested" if now is None else "no start value"))
            continue
        met = met and now - was > errors[side]
        parts.append(
            f"{side.value} {was:g} → {now:g} ({now - was:+g}, needs > {_g1(errors[side])})"
        )
    return (
        met,
        f"both legs affected and no verified norm for {comparison.test}: each leg against "
        f"its own start, needs a rise beyond the measurement error (U, scaled to a low "
        f"starting score): " + ", ".join(parts),
        True,
    )


def _g1(value: float) -> str:
    """A figure to one decimal place at most: 3, 2.7."""
    return f"{round(value, 1):g}"


def own_start_gap(c: GateCriterion, program: Program, rules: Rules) -> tuple[str, str] | None:
    """Q3: an unmet LSI criterion judged against each leg's own start (both legs affected, no
    verified norm, P4), in plain words and clinical ones: the test, the rise it needs on each
    leg and how far each has come. None when the criterion is judged another way or is met."""
    profile = program.profile
    comparison = profile.comparison(c.test or "")
    start = _test_start(c, program, rules)
    if (
        c.kind != "lsi"
        or comparison is None
        or start is None
        or profile.involved_side is not None
        or profile.affected_side is None
        or (comparison.capacity.available and comparison.capacity.target is not None)
    ):
        return None
    before, errors = start
    met, why, _ = _own_start_status(comparison, before, errors)
    if met:
        return None
    definition = rules.assessment.tests[comparison.test]
    sides = []
    for side in Side:
        was = before.value(side) if before is not None else None
        now = comparison.value(side)
        if was is not None and now is not None:
            sides.append(f"{side.value} {was:g} → {now:g}")
        else:
            sides.append(f"{side.value} not tested yet")
    label = definition.person_label
    needed = sorted({_g1(e) for e in errors.values()}, key=float)
    rise = " or ".join(needed) if len(needed) > 1 else needed[0]
    return (
        f"to move on, the {label} needs to show a rise of more than {rise} "
        f"{definition.unit} on each leg from where it started ({', '.join(sides)} so far)",
        f"{c.id} waits on each leg's own rise: {why}",
    )


def _test_start(
    c: GateCriterion, program: Program, rules: Rules
) -> tuple[SideComparison | None, dict[Side, float]] | None:
    """The criterion's test at the start of the program and its measurement error on each
    side, scaled to a low starting score (P9, R6)."""
    definition = rules.assessment.tests.get(c.test or "")
    if definition is None or definition.measurement_error is None:
        return None
    before = program.baseline.comparison(c.test or "")
    error = definition.measurement_error.value
    errors = {}
    for side in Side:
        was = before.value(side) if before is not None else None
        errors[side] = _error_at(error, was, before, rules) if before and was else error
    return before, errors


def _min_value_threshold(
    c: GateCriterion, profile: ImbalanceProfile, rules: Rules
) -> tuple[float, str]:
    """The criterion's absolute threshold, or an age norm where a verified one applies."""
    assert c.threshold is not None and c.test is not None
    norm = rules.assessment.norms.get(c.test)
    definition = rules.assessment.tests[c.test]
    if (
        norm is not None
        and norm.confidence == "P"
        and not norm.weak
        and profile.age is not None
        and profile.sex is not None
    ):
        found = norm.reference(profile.age, profile.sex)
        if found is not None:
            reference, band = found
            error = definition.measurement_error.value if definition.measurement_error else 0.0
            return (
                reference - error,
                f"age norm {reference:g} {definition.unit} for ages {band.age_from}–"
                f"{band.age_to} less the measurement error ({norm.source})",
            )
    missing = rules.assessment.missing_norms.get(c.test, "no verified age norm")
    return c.threshold, f"absolute threshold, the same at every age [{c.confidence}]: {missing}"


def gate_status(
    program: Program,
    day: dt.date,
    seen: Sequence[HistoryEvent],
    rules: Rules,
    criteria: Sequence[GateCriterion] | None = None,
) -> list[GateStatus]:
    """Each gate criterion of the current phase (or the `criteria` given: a protocol
    phase's milestones): (criterion, met, the numbers, a retest is what it waits for)."""
    in_phase = [s for s in _sessions(seen) if s.date >= program.phase_started]
    fresh = _fresh(program)
    stale = (
        "no test since this phase began (tests from before it do not count)"
        if program.profile.tested_on is not None
        else "no dated test"
    )
    out: list[GateStatus] = []
    # Pain-free sessions count only at the full dose: after the last flare-up or step back.
    marks = [d for d in (program.state.last_flare_end, *program.state.regressions) if d]
    cutoff = max(marks) if marks else None
    full_dose = [
        s
        for s in in_phase
        if (cutoff is None or s.date > cutoff)
        and not (program.state.flare is not None and s.date >= program.state.flare.started)
    ]
    gate = phase_gate(program.pathway, program.phase, rules) if criteria is None else criteria
    for named in gate:
        resolved = resolve_criterion(named, program.baseline, rules)
        if resolved is None:
            # An implicated test with no deficit at the start: the other criteria decide.
            out.append(
                (
                    named.model_copy(
                        update={
                            "text": "No one test stood out at the start, so the other "
                            "milestones decide.",
                            "both_sides_text": None,
                        }
                    ),
                    True,
                    "implicated test: none (no deficit of the affected side beyond the "
                    "measurement error, nor below a capacity goal, at the start)",
                    False,
                )
            )
            continue
        c = resolved
        if named.test == IMPLICATED and any(
            o.kind == c.kind and o.test == c.test and (o.threshold or 0) >= (c.threshold or 0)
            for o in gate
            if o is not named
        ):
            continue  # the implicated test is one the gate already asks for
        if c.kind == "pain_sessions":
            assert c.sessions is not None and c.threshold is not None
            last = full_dose[-c.sessions :]
            met = len(last) == c.sessions and all(s.max_pain <= c.threshold for s in last)
            since = (
                f" since the step back of {cutoff}"
                if cutoff is not None and cutoff >= program.phase_started
                else ""
            )
            out.append(
                (
                    c,
                    met,
                    f"last {len(last)} full-dose sessions{since}: max pain {[s.max_pain for s in last]} (needs ≤ {c.threshold:g})",
                    False,
                )
            )
        elif c.kind == "clean_form":
            assert c.sessions is not None and c.threshold is not None
            last = in_phase[-c.sessions :]
            clean = [all(x.clean for e in _main_logs(program, s) for x in e[2].sets) for s in last]
            met = len(last) == c.sessions and sum(clean) >= c.threshold
            out.append(
                (
                    c,
                    met,
                    f"{sum(clean)} of the last {len(last)} sessions with every main-work set clean (needs {c.threshold:g} of {c.sessions})",
                    False,
                )
            )
        elif c.kind == "min_sessions":
            assert c.sessions is not None
            out.append(
                (c, len(in_phase) >= c.sessions, f"{len(in_phase)} sessions in phase", False)
            )
        elif c.kind == "morning_stable":
            # Missing information is not good news (M9): two weeks with enough check-ins.
            need = rules.progression.morning_trend_min_checkins
            weeks = _weekly_morning(seen, day, need)
            if weeks is None:
                out.append(
                    (
                        c,
                        False,
                        f"not enough morning check-ins yet to see the trend (needs {need} in each of the last two weeks)",
                        False,
                    )
                )
                continue
            met = weeks[1] - weeks[0] < rules.progression.weekly_morning_rise_by
            out.append(
                (
                    c,
                    met,
                    f"weekly mean morning pain/stiffness {weeks[0]:.1f} → {weeks[1]:.1f} (a rise of {rules.progression.weekly_morning_rise_by:g} or more is not stable)",
                    False,
                )
            )
        elif c.kind in ("lsi", "min_value"):
            comparison = program.profile.comparison(c.test or "")
            assert c.threshold is not None
            if not fresh:
                out.append((c, False, stale, True))
                continue
            if comparison is None:
                out.append((c, False, f"{c.test} not tested in this phase", True))
                continue
            if c.kind == "lsi":
                met, why, retestable = _lsi_status(
                    c, comparison, program.profile, _test_start(c, program, rules)
                )
                if named.test == IMPLICATED:
                    why = f"the test of the intake's most severe deficit: {why}"
                out.append((c, met, why, not met and retestable))
                continue
            values = [v for v in (comparison.left, comparison.right) if v is not None]
            value = min(values) if values else None
            threshold, basis = _min_value_threshold(c, program.profile, rules)
            met = value is not None and value >= threshold
            out.append(
                (
                    c,
                    met,
                    f"{c.test} weaker side "
                    + ("not tested" if value is None else f"{round(value, 1):g}")
                    + f" (needs ≥ {round(threshold, 1):g}; {basis})",
                    not met,
                )
            )
        elif c.kind == "difference_within_error":
            comparison = program.profile.comparison(c.test or "")
            if not fresh:
                out.append((c, False, stale, True))
                continue
            if comparison is None:
                out.append((c, False, f"{c.test} not tested in this phase", True))
                continue
            met, why = _difference_status(comparison, program.profile)
            out.append((c, met, why, not met))
        elif c.kind == "step_down_clean":
            if not fresh:
                out.append((c, False, stale, True))
                continue
            if not program.profile.step_down_observed:
                out.append((c, False, "step-down not tested in this phase", True))
                continue
            faults = [f.id for f in program.profile.findings if f.kind == "movement_fault"]
            out.append((c, not faults, f"faults: {faults or 'none'}", bool(faults)))
        elif c.kind == "outcome_change":
            met, why = _outcome_status(c, program, rules)
            out.append((c, met, why, not met))
        elif c.kind == "hop_ready":
            out.append((c, *hop_gate_status(program.profile, c, rules, fresh=fresh)))
    if criteria is not None:
        return out  # a protocol phase's milestones: its own ceilings (`_stage_advance`)
    pending = program.state.check_pending
    nxt = program.phase.next()
    if out and pending is not None and nxt is not None and nxt.number > pending.ceiling.number:
        out.append(
            (
                _check_criterion(pending),
                False,
                f"waiting for the check asked for at intake ({', '.join(pending.warnings)}, "
                f"since {pending.since}): {pending.clinical} A clinician records it as done",
                False,
            )
        )
    rule = weight_wait(program, rules)
    if out and rule is not None:
        # No one-leg test is asked for before full weight: nothing here waits for a retest.
        out = [(c, met, why, False) for c, met, why, _ in out]
        out.append(
            (
                _weight_criterion(rule),
                False,
                f"waiting for full weight-bearing: {rule.clinical} A clinician records it "
                "(weight_bearing_full), or a retest records full weight out of the boot",
                False,
            )
        )
    return out


def weight_wait(program: Program, rules: Rules) -> WeightBearingRule | None:
    """The weight-bearing rule the phase gate waits on (P3): full weight is not allowed yet
    and the next phase lies past the rule's ceiling; None otherwise."""
    restriction = load_restriction(program.pathway, program.profile, rules)
    nxt = program.phase.next()
    if restriction is None or nxt is None or nxt.number <= restriction[0].ceiling.number:
        return None
    return restriction[0]


def _weight_criterion(rule: WeightBearingRule) -> GateCriterion:
    """The gate criterion the weight-bearing limit adds (P3): unmet until full weight."""
    return GateCriterion(
        id="full_weight_recorded",
        kind="check_recorded",
        text=f"Waiting for {rule.waiting_for}.",
        source=rule.source,
        confidence=rule.confidence,
    )


def _weight_prompt(program: Program, day: dt.date, rules: Rules) -> Decision | None:
    """While the gate waits for full weight, ask whether it has been allowed, at the
    interval a pending check is asked for (P3)."""
    rule = weight_wait(program, rules)
    last = program.state.last_weight_prompt
    if rule is None or _asked_lately(last, day, rules):
        return None
    return Decision(
        rule="prompt.weight_bearing",
        kind="prompt",
        date=day,
        numbers={
            "weight_bearing": program.profile.weight_bearing.value
            if program.profile.weight_bearing
            else "not recorded",
            "boot_or_cast": str(program.profile.boot_or_cast).lower(),
        },
        changes=(Change(field="last_weight_prompt", before=str(last), after=str(day)),),
        person_text="Has your surgeon or physiotherapist allowed full weight on the leg yet, "
        "out of the boot or cast? Until then the program keeps to the exercises done sitting "
        f"or lying down and does not move on to the next phase. {rule.when_allowed}",
        clinician_text=f"Phase gate held at {program.phase.label}: {rule.clinical} Has full "
        "weight been allowed? Record it (override weight_bearing_full) once it has.",
        source=rules.progression.sources["check_prompt_days"].source,
    )


def _check_criterion(pending: PendingCheck) -> GateCriterion:
    """The gate criterion an intake warning's pending check adds (N4): unmet until recorded."""
    return GateCriterion(
        id="intake_check_recorded",
        kind="check_recorded",
        text=f"Waiting for {pending.waiting_for}.",
        source="pathways.yaml warnings until_checked (clinical reference §6)",
        confidence="U",
    )


def _asked_lately(last: dt.date | None, day: dt.date, rules: Rules) -> bool:
    """A waiting gate asked for what it waits for within `check_prompt_days`."""
    return last is not None and (day - last).days < rules.progression.check_prompt_days


def _check_prompt(program: Program, day: dt.date, rules: Rules) -> Decision | None:
    """While the gate waits for a pending check, ask for it at the configured interval."""
    pending = program.state.check_pending
    last = program.state.last_check_prompt
    if pending is None or _asked_lately(last, day, rules):
        return None
    return Decision(
        rule="prompt.check_pending",
        kind="prompt",
        date=day,
        numbers={"warnings": ", ".join(pending.warnings), "pending_since": str(pending.since)},
        changes=(Change(field="last_check_prompt", before=str(last), after=str(day)),),
        person_text="The program keeps to the exercises done sitting or lying down while it "
        f"waits for {pending.waiting_for}. Please book that check if you have not yet; your "
        "clinician records it here when it is done.",
        clinician_text=f"Phase gate held at {program.phase.label}: check pending since "
        f"{pending.since} — {pending.clinical} Record it (override check_clear) once done and "
        "clear.",
        source=rules.progression.sources["check_prompt_days"].source,
    )


def _outcome_status(c: GateCriterion, program: Program, rules: Rules) -> tuple[bool, str]:
    """Any named questionnaire improved since the start by its own MDC and MCID."""
    assert c.measures is not None
    verdicts = []
    for measure_id in c.measures:
        if measure_id not in program.outcome_latest or measure_id not in program.outcome_baseline:
            continue
        verdicts.append(
            interpret_change(
                rules.questionnaires.measure(measure_id),
                program.outcome_baseline[measure_id],
                program.outcome_latest[measure_id],
            )
        )
    if not verdicts:
        return False, "no questionnaire retaken since the start"
    met = any(v.important_improvement for v in verdicts)
    why = "; ".join(v.clinical for v in verdicts)
    own = rules.pathways[program.pathway].own_score
    if (
        met
        and own in c.measures
        and not any(v.measure_id == own and v.important_improvement for v in verdicts)
    ):
        # N11: passed on another questionnaire while the condition's own score stayed put.
        measure = rules.questionnaires.measure(own)
        mcid = f" by its MCID of {measure.mcid.value:g}" if measure.mcid is not None else ""
        why += (
            f"; caution: {measure.short_name}, the condition's own score, has not improved"
            f"{mcid} since the start"
            + ("" if own in program.outcome_latest else " (not retaken)")
            + " — check the tendon's own progress before moving on"
        )
    return met, why


def _gate(
    program: Program, day: dt.date, seen: Sequence[HistoryEvent], rules: Rules, now: list[Decision]
) -> list[Decision]:
    if program.template is not None or program.phase.next() is None:
        return _retest_due(program, day, seen, rules)
    status = gate_status(program, day, seen, rules)
    if not status:
        return []
    ended = program.state.last_flare_end
    wait = rules.progression.flare_end_advance_wait_days
    if ended is not None and (day - ended).days < wait:
        return []  # no phase change straight after a flare-up (S8)
    unmet = [s for s in status if not s[1]]
    if any(c.id == "intake_check_recorded" for c, *_ in unmet):
        asked = _check_prompt(program, day, rules)
        if asked is not None:
            return [asked]
    if any(c.id == "full_weight_recorded" for c, *_ in unmet):
        # Nothing else to ask for before full weight: no retest of one-leg tests (P3).
        weight = _weight_prompt(program, day, rules)
        return [weight] if weight is not None else []
    checkins = _checkin_prompt(program, day, rules, status)
    if checkins is not None:
        return [checkins]
    numbers: dict[str, Number] = {
        c.id: ("met" if met else "not met") + f" ({why})" for c, met, why, _ in status
    }
    nxt = program.phase.next()
    assert nxt is not None
    profile = program.profile
    if not unmet:
        if _off(program, "phase.advance"):
            return [
                _info(
                    day,
                    "phase.ready",
                    "You have met every milestone for the next phase; your clinician will decide when to move on.",
                    f"Gate of {program.phase.label} met; automatic advance switched off for this patient.",
                )
            ]
        advance_to = Decision(
            rule="phase.advance",
            kind="phase",
            date=day,
            numbers=numbers,
            changes=(Change(field="phase", before=program.phase.value, after=nxt.value),),
            person_text=f"Milestones met: you move on to phase {nxt.number}, {nxt.label.lower()}. "
            + " ".join(criterion_text(c, profile) for c, *_ in status),
            clinician_text=f"Gate {program.phase.label} → {nxt.label} met: "
            + "; ".join(f"{c.id} ({why})" for c, _, why, _ in status)
            + ".",
            source="; ".join(sorted({c.source for c, *_ in status})),
        )
        return [advance_to]
    # Everything but test numbers is in place: ask for a retest when one can decide it.
    if all(needs for _, _, _, needs in unmet):
        pending = [c for c, _, _, _ in unmet]
        why = _close_to_next_phase(program, day, seen, rules, pending)
        if why is not None:
            left_out = [c for c in _gate_untested(program, seen, rules) if c in pending]
            if _in_phase_retests(program, seen) and left_out:
                numbers["left_out"] = ", ".join(c.id for c in left_out)
            return [_retest_prompt(program, day, rules, pending, numbers, why)]
        # Q3: a gate that waits on each leg's own rise says which test and by how much.
        holding = [g for c in pending if (g := own_start_gap(c, program, rules)) is not None]
        return _retest_due(program, day, seen, rules, holding)
    return _retest_due(program, day, seen, rules)


def _phase_week_capped(
    program: Program, decision: Decision, day: dt.date, seen: Sequence[HistoryEvent], rules: Rules
) -> Decision | None:
    """M8: the first week of a new phase is capped against the last week. The new phase's
    main work is scaled down (exercises new to the person first, then all) so that the
    coming week is at most `1 + weekly_volume_growth_cap` times the last full week; the
    ordinary progressions bring it up from there. The scaling is in the decision's numbers."""
    p = rules.progression
    last_week = [s for s in _sessions(seen) if day - dt.timedelta(days=7) < s.date <= day]
    logged = sum(_logged_work(s, program, rules) for s in last_week)
    planned_old = _session_work(program, rules) * program.sessions_per_week
    reference = logged if len(last_week) >= program.sessions_per_week else planned_old
    trial = apply(program, decision, rules)
    decision = _phase_fitted(program, trial, decision, rules)
    weekly = _session_work(trial, rules) * trial.sessions_per_week
    target = reference * (1 + p.weekly_volume_growth_cap)
    numbers = dict(decision.numbers)
    numbers.update(
        {
            "week_reference_seconds": round(reference),
            "week_planned_seconds": round(weekly),
            "week_cap_percent": round(p.weekly_volume_growth_cap * 100),
        }
    )
    if reference <= 0 or weekly <= target or _off(program, "cap.weekly_volume"):
        return decision.model_copy(update={"numbers": numbers})
    old_ids = {s.exercise_id for s in program.part("main")}
    amounts: dict[tuple[str, Side | None], float] = {}

    def floor(exercise: Exercise, d: Dose) -> float:
        # N3: a phase opens no lower than the bottom of each exercise's range (or the
        # planner's own start, or a carried dose, when that is lower still).
        return min(d.amount, exercise.dose.range_low)

    def scaled_work(group: set[str], factor: float) -> float:
        total = 0.0
        for slot in trial.part("main"):
            exercise = rules.library[slot.exercise_id]
            for d in slot.doses:
                amount = amounts.get((slot.exercise_id, d.side), d.amount)
                if slot.exercise_id in group and not d.pinned:
                    amount = max(_scaled(amount, factor, exercise, rules), floor(exercise, d))
                total += d.sets * work_seconds(exercise, d.model_copy(update={"amount": amount}))
        return total * trial.sessions_per_week

    lowest = scaled_work({s.exercise_id for s in trial.part("main")}, 0.0)
    numbers["week_floor_seconds"] = round(lowest)
    if reference < lowest * p.phase_open_min_fraction:
        # The last week was far below even the new phase's starting doses: opening it would
        # mean single reps (or a jump). Stay, and let the doses build first.
        held = Decision(
            rule="hold.phase_start_dose",
            kind="hold",
            date=day,
            numbers=numbers,
            changes=(Change(field="last_phase_hold", after=day.isoformat()),),
            person_text="You have met the milestones for the next phase, but your recent sessions were much lighter than where the next phase starts. You move on once your current exercises have built back up.",
            clinician_text=f"Gate met; advance held: last week's main work ({round(reference)} s) is under {p.phase_open_min_fraction:.0%} of the new phase's first week with every exercise at the bottom of its range ({round(lowest)} s).",
            source=p.sources["phase_open_min_fraction"].source,
        )
        return _phase_hold_repeat(program, held, day, rules)

    new_ids = {s.exercise_id for s in trial.part("main") if s.exercise_id not in old_ids}
    all_ids = {s.exercise_id for s in trial.part("main")}
    for group in (new_ids, all_ids):
        if not group:
            continue
        factor = 1.0
        while factor > 0.05 and scaled_work(group, factor) > target:
            factor -= 0.05
        for slot in trial.part("main"):
            if slot.exercise_id not in group:
                continue
            exercise = rules.library[slot.exercise_id]
            for d in slot.doses:
                if d.pinned:
                    continue
                key = (slot.exercise_id, d.side)
                amounts[key] = max(
                    _scaled(amounts.get(key, d.amount), factor, exercise, rules),
                    floor(exercise, d),
                )
        if scaled_work(set(), 1.0) <= target:
            break
    changes = [
        Change(exercise_id=eid, side=side, field="amount", before=dose.amount, after=after)
        for slot in trial.part("main")
        for dose in slot.doses
        for (eid, side), after in amounts.items()
        if eid == slot.exercise_id and side == dose.side and after < dose.amount
    ]
    changes = _weaker_side_kept_ahead(trial, changes, rules)
    capped = scaled_work(set(), 1.0)
    numbers["week_capped_seconds"] = round(capped)
    over = f" {round(weekly)} s planned vs reference {round(reference)} s (+{weekly / reference - 1:.0%} > {p.weekly_volume_growth_cap:.0%})"
    floors = (
        " No exercise goes below the bottom of its range, the least the phase opens at "
        f"({round(lowest)} s a week): the first week stays above the weekly cap, which for "
        "strength work is an extrapolation."
    )
    if not changes:
        return decision.model_copy(
            update={
                "numbers": numbers,
                "clinician_text": decision.clinician_text + f" First week{over}." + floors,
            }
        )
    return decision.model_copy(
        update={
            "numbers": numbers,
            "changes": (*decision.changes, *changes),
            "person_text": decision.person_text
            + " The first week of the new phase starts a little lighter, so the week grows gently.",
            "clinician_text": decision.clinician_text
            + f" First week capped by cap.weekly_volume:{over}; main-work amounts scaled to {round(capped)} s."
            + (floors if capped > target + 1e-6 else ""),
        }
    )


def _phase_fitted(program: Program, trial: Program, decision: Decision, rules: Rules) -> Decision:
    """Q2: the new phase's session against the person's minutes, in the decision's numbers;
    where the doses carried whole (S5) would have gone beyond them, the sets the time
    fitting took off are named."""
    budget = program.preferences.minutes_per_session
    now = session_minutes(trial.slots, rules)
    keep = {dose_key(s.exercise_id, d.side): d for s in program.slots for d in s.doses}
    whole = [
        s.model_copy(update={"doses": _carried(s, keep)}) if s.part == "main" else s
        for s in trial.slots
    ]
    cut = [
        f"{rules.library[s.exercise_id].name}{f' ({d.side.value})' if d.side else ''} "
        f"{keep[dose_key(s.exercise_id, d.side)].sets} → {d.sets}"
        for s in trial.part("main")
        for d in s.doses
        if dose_key(s.exercise_id, d.side) in keep
        and d.sets < keep[dose_key(s.exercise_id, d.side)].sets
    ]
    numbers = {**decision.numbers, "minutes_after": round(now, 1), "minutes_budget": budget}
    if not cut:
        return decision.model_copy(update={"numbers": numbers})
    carried = session_minutes(whole, rules)
    numbers["minutes_carried_whole"] = round(carried, 1)
    return decision.model_copy(
        update={
            "numbers": numbers,
            "person_text": f"{decision.person_text} Some exercises start the new phase with a set "
            f"fewer, so the session fits your {budget} minutes.",
            "clinician_text": f"{decision.clinician_text} Doses carried whole would make the "
            f"session {carried:.1f} min against a budget of {budget} min: sets trimmed by the "
            f"time fitting (lower priority first), {'; '.join(cut)}; session {now:.1f} min.",
        }
    )


def _phase_hold_repeat(
    program: Program, held: Decision, day: dt.date, rules: Rules
) -> Decision | None:
    """P6: a phase advance held for doses too light (N3) while the doses are not building
    either (no progression for `phase_hold_clinician_days`: form or effort holds keep them
    where they are) goes to the clinician once, as a stall does; otherwise the hold is said
    at most every `phase_hold_repeat_days` and the advance waits quietly in between."""
    p = rules.progression
    since = max(program.state.last_progression or program.phase_started, program.phase_started)
    still = (day - since).days
    if (
        still >= p.phase_hold_clinician_days
        and program.state.stall_prompts < p.prompts_before_clinician
        and not _off(program, "stall.reassess")
    ):
        count = p.prompts_before_clinician
        return held.model_copy(
            update={
                "rule": "stall.clinician",
                "kind": "prompt",
                "numbers": {**held.numbers, "days_without_progress": still},
                "changes": (
                    *held.changes,
                    Change(field="last_stall_prompt", after=day.isoformat()),
                    Change(field="stall_prompts", before=program.state.stall_prompts, after=count),
                ),
                "person_text": "You have met the milestones for the next phase, but your "
                "exercises have not been able to build up to where it starts, so your clinician "
                "has been asked to look at your program with you. Carry on as it stands meanwhile.",
                "clinician_text": f"{held.clinician_text} No dose has progressed for {still} "
                "days, so the doses are not building towards it: needs a clinician review "
                "(flagged on the dashboard).",
                "source": f"{held.source}; {p.sources['phase_hold_clinician_days'].source}",
            }
        )
    last = program.state.last_phase_hold
    if last is not None and (day - last).days < p.phase_hold_repeat_days:
        return None
    return held


def _checkin_prompt(
    program: Program, day: dt.date, rules: Rules, status: list[GateStatus]
) -> Decision | None:
    """Everything else met, but too few morning check-ins to judge the trend: ask for them
    (M9), at most once a week."""
    unmet = [(c, why) for c, met, why, _ in status if not met]
    if len(unmet) != 1 or unmet[0][0].kind != "morning_stable" or "check-ins" not in unmet[0][1]:
        return None
    last = program.state.last_checkin_prompt
    if last is not None and (day - last).days < 7:
        return None
    need = rules.progression.morning_trend_min_checkins
    return Decision(
        rule="prompt.checkins",
        kind="prompt",
        date=day,
        numbers={"checkins_per_week_needed": need},
        changes=(Change(field="last_checkin_prompt", after=day.isoformat()),),
        person_text=f"You are nearly ready for the next phase. To move on, the program needs to see how your mornings go: please do the morning check-in at least {need} times a week.",
        clinician_text=f"Gate {program.phase.label}: every criterion met except the morning trend, which needs {need} check-ins in each of the last two weeks.",
        source=rules.progression.sources["morning_trend_min_checkins"].source,
    )


def _retest_prompt(
    program: Program,
    day: dt.date,
    rules: Rules,
    pending: list[GateCriterion],
    numbers: dict[str, Number],
    why: Literal["untested", "near_miss"],
) -> Decision:
    texts = " ".join(criterion_text(c, program.profile) for c in pending)
    ids = ", ".join(c.id for c in pending)
    milestones = rules.phases.milestones
    if why == "untested":
        never = [
            rules.assessment.tests[c.test].person_label
            for c in pending
            if c.test in rules.assessment.tests and program.profile.comparison(c.test) is None
        ]
        missing = (
            " Not done yet, so part of this retest: " + ", ".join(never) + "." if never else ""
        )
        # P8: a retest in this phase left the gate's test out: say which test it needs.
        left_ids = str(numbers.get("left_out", "")).split(", ")
        left_out = [
            _criterion_test_label(c, rules)
            for c in pending
            if c.id in left_ids
            and (
                c.test is None
                or c.test not in rules.assessment.tests
                or rules.assessment.tests[c.test].person_label not in never
            )
        ]
        if left_out:
            missing += (
                " The retests so far in this phase left out "
                + ", ".join(left_out)
                + ": the next one needs it."
            )
        person = f"Everything else for the next phase is in place: a retest will show whether you are ready. {texts}{missing}"
        clinician = (
            f"Gate {program.phase.label}: all session criteria met and no test of {ids} since "
            "the phase began: retest needed"
            + (f" (never recorded: {', '.join(never)})" if never else "")
            + (f"; left out of this phase's retests: {numbers['left_out']}" if left_out else "")
            + "."
        )
        source = "; ".join(sorted({c.source for c in pending}))
    else:
        weeks = milestones.near_miss_retest_weeks.value
        gaps = [g for c in pending if (g := _gap_text(c, program.profile, rules)) is not None]
        person = (
            "Your last retest was close to the next phase"
            + (f" ({'; '.join(g[0] for g in gaps)})" if gaps else "")
            + f". One more retest in {weeks:g} weeks will settle it: {texts}"
        )
        clinician = (
            f"Gate {program.phase.label}: the retest in this phase fell short on {ids} by no "
            "more than the standard error of measurement"
            + (f" ({'; '.join(g[1] for g in gaps)})" if gaps else "")
            + f"; one confirmatory retest after {weeks:g} weeks."
        )
        source = milestones.near_miss_retest_weeks.source
    return Decision(
        rule="prompt.retest",
        kind="prompt",
        date=day,
        numbers={**numbers, "reason": why},
        changes=(
            Change(field="last_retest_prompt", after=day.isoformat()),
            Change(
                field="retest_prompts",
                before=program.state.retest_prompts,
                after=program.state.retest_prompts + 1,
            ),
        ),
        person_text=person,
        clinician_text=clinician,
        source=source,
    )


def questionnaire_every_days(program: Program, rules: Rules) -> int | None:
    """Days between the person's questionnaires: the clinician's interval, else the
    default; None when the clinician has switched them off."""
    if program.state.questionnaires_off:
        return None
    return program.state.questionnaire_every_days or rules.progression.questionnaire_every_days


def questionnaires_due_on(
    program: Program, last_answered: dt.date | None, rules: Rules
) -> dt.date | None:
    """The day the person's questionnaires fall due: the interval after they were last
    answered; the start when they were never answered (the first answers are the ones
    later change is judged against); None when the clinician switched them off."""
    every = questionnaire_every_days(program, rules)
    if every is None:
        return None
    if last_answered is None:
        return program.start_date
    return last_answered + dt.timedelta(days=every)


def _interval_words(days: int | None) -> str:
    if days is None:
        return "off"
    return f"every {days // 7} weeks" if days % 7 == 0 else f"every {days} days"


def _questionnaire_interval(program: Program, event: Override, rules: Rules, who: str) -> Decision:
    """A clinician sets how often the person answers their questionnaires, or stops them."""
    before = questionnaire_every_days(program, rules)
    after = None if event.action == "questionnaires_off" else (event.every_weeks or 0) * 7
    if after is None:
        person = "Your clinician has stopped the regular questionnaires for now."
    else:
        person = (
            f"Your clinician changed how often you answer the questionnaires: "
            f"{_interval_words(after)} (it was {_interval_words(before)})."
        )
    return Decision(
        rule=f"override.{event.action}",
        kind="override",
        date=event.date,
        numbers={"every_days_before": before or 0, "every_days_after": after or 0},
        changes=(Change(field="questionnaire_every_days", before=before, after=after),),
        person_text=person,
        clinician_text=f"Questionnaire interval {_interval_words(before)} → "
        f"{_interval_words(after)}, set by {who}.",
    )


def _questionnaires_recorded(program: Program, event: Retest, rules: Rules) -> Decision:
    """The person answered their questionnaires: each score, against the first one."""
    scores = outcome_scores(event.assessment, rules.questionnaires)
    person: list[str] = []
    clinical: list[str] = []
    for measure_id, value in scores.items():
        measure = rules.questionnaires.measure(measure_id)
        first = program.outcome_baseline.get(measure_id)
        if first is None or measure_id == "psfs":
            person.append(f"{measure.plain_name} {value:g}, the first one to compare with")
            clinical.append(f"{measure.short_name} {value:g} (first score: the baseline)")
            continue
        verdict = interpret_change(measure, first, value)
        person.append(f"{measure.plain_name} {value:g}: {verdict.plain}")
        clinical.append(f"{measure.short_name} {first:g} → {value:g}: {verdict.clinical}")
    return Decision(
        rule="questionnaires.recorded",
        kind="info",
        date=event.date,
        numbers={k: round(v, 1) for k, v in scores.items()},
        person_text="Your questionnaires are in: "
        + ("; ".join(person) if person else "thank you, your answers are saved")
        + ".",
        clinician_text="Questionnaires answered by the person: "
        + ("; ".join(clinical) if clinical else "no valid score")
        + ".",
    )


def _in_phase_retests(program: Program, seen: Sequence[HistoryEvent]) -> list[Retest]:
    return [e for e in seen if isinstance(e, Retest) and e.date > program.phase_started]


def _tests_criterion(criterion: GateCriterion, retest: Retest) -> bool:
    """The retest measured what this criterion needs."""
    assessment = retest.assessment
    if criterion.kind in ("lsi", "min_value", "difference_within_error"):
        return assessment.tests.result(criterion.test or "") is not None
    if criterion.kind == "step_down_clean":
        return assessment.observations.step_down is not None
    if criterion.kind == "outcome_change":
        asked = {"lefs", "faam_adl", "faam_sports", "visa_a"}
        measures = criterion.measures or ()
        return any(
            (m == "psfs" and bool(assessment.psfs))
            or (m in asked and getattr(assessment, m) is not None)
            for m in measures
        )
    return False


def _close_to_next_phase(
    program: Program,
    day: dt.date,
    seen: Sequence[HistoryEvent],
    rules: Rules,
    pending: list[GateCriterion],
) -> Literal["untested", "near_miss"] | None:
    """Whether a retest can decide the gate now: some pending criterion has not been tested
    since the phase began, or its one retest fell short by no more than the measurement
    error (one confirmatory retest). Otherwise retests follow the periodic interval."""
    milestones = rules.phases.milestones
    last = program.state.last_retest_prompt
    # A request is repeated at the reminder interval a few times, then at the periodic one.
    every = (
        milestones.retest_reminder_days.value
        if program.state.retest_prompts < rules.progression.retest_reminders_max
        else rules.progression.retest_every_weeks * 7
    )
    if last is not None and (day - last).days < every:
        return None
    retests = _in_phase_retests(program, seen)
    tested = {c.id: [r for r in retests if _tests_criterion(c, r)] for c in pending}
    if any(not done for done in tested.values()):
        return "untested"
    if any(len(done) > 1 for done in tested.values()):
        return None
    latest = max(r.date for done in tested.values() for r in done)
    if (day - latest).days < milestones.near_miss_retest_weeks.value * 7:
        return None
    if all(_near_miss(c, program.profile, rules) for c in pending):
        return "near_miss"
    return None


def _gap_text(c: GateCriterion, profile: ImbalanceProfile, rules: Rules) -> tuple[str, str] | None:
    """How far the latest test is from the criterion, (plain, clinical), one side affected."""
    comparison = profile.comparison(c.test or "")
    involved = profile.involved_side
    if c.kind != "lsi" or comparison is None or involved is None or c.threshold is None:
        return None
    mine, other = comparison.value(involved), comparison.value(involved.other)
    if mine is None or other is None:
        return None
    definition = rules.assessment.tests[comparison.test]
    needed = c.threshold / 100 * other
    return (
        f"{definition.person_label}: {mine:g} of the {math.ceil(needed - 1e-9):g} {definition.unit} the next phase asks for",
        f"{c.test} involved {mine:g} vs {needed:.1f} needed ({c.threshold:g} % of {other:g})",
    )


def _near_miss(c: GateCriterion, profile: ImbalanceProfile, rules: Rules) -> bool:
    """The latest test fell short of this criterion by no more than the standard error of
    measurement (the limits of agreement ÷ 2.77), not by the limits themselves (S4)."""
    comparison = profile.comparison(c.test or "")
    if comparison is None or comparison.measurement_error is None:
        return False
    error = comparison.measurement_error / rules.progression.loa_per_sem
    if c.kind == "difference_within_error":
        short = _shortfall(comparison, profile)
        return short is not None and short - comparison.measurement_error <= error
    if c.kind not in ("lsi", "min_value") or c.threshold is None:
        return False
    needed: list[float] = []
    involved = profile.involved_side
    if c.kind == "min_value":
        values = [v for v in (comparison.left, comparison.right) if v is not None]
        needed = [c.threshold - min(values)] if values else []
    elif involved is not None:
        mine, other = comparison.value(involved), comparison.value(involved.other)
        if mine is not None and other is not None:
            needed = [c.threshold / 100 * other - mine]
    elif comparison.capacity.target is not None:
        target = comparison.capacity.target
        needed = [c.threshold / 100 * target - (comparison.value(side) or 0.0) for side in Side]
    return bool(needed) and max(needed) <= error


def retest_due_on(program: Program, rules: Rules) -> dt.date:
    """The day the periodic retest falls due: the interval after the last tests, and
    after the last reminder of it."""
    interval = dt.timedelta(weeks=rules.progression.retest_every_weeks)
    due = (program.profile.tested_on or program.start_date) + interval
    last = program.state.last_retest_prompt
    return due if last is None else max(due, last + interval)


def _retest_due(
    program: Program,
    day: dt.date,
    seen: Sequence[HistoryEvent],
    rules: Rules,
    holding: Sequence[tuple[str, str]] = (),
) -> list[Decision]:
    tested = program.profile.tested_on or program.start_date
    weeks = (day - tested).days / 7
    every = rules.progression.retest_every_weeks
    if day >= retest_due_on(program, rules):
        held = (
            " What the next phase still waits for: " + "; ".join(g[0] for g in holding) + "."
            if holding
            else ""
        )
        held_clinical = (
            " Gate held on tests only: " + "; ".join(g[1] for g in holding) + "." if holding else ""
        )
        return [
            Decision(
                rule="prompt.retest_due",
                kind="prompt",
                date=day,
                numbers={"weeks_since_test": round(weeks, 1)},
                changes=(Change(field="last_retest_prompt", after=day.isoformat()),),
                person_text=f"It has been {weeks:.0f} weeks since your last tests: a retest will show your progress.{held}",
                clinician_text=f"Periodic retest due ({weeks:.0f} weeks since {tested}; interval {every} weeks).{held_clinical}",
                source=rules.progression.sources["retest_every_weeks"].source,
            )
        ]
    return []


class TestPoint(Frozen):
    """One set of test results in the history: the intake or a retest."""

    date: dt.date
    profile: ImbalanceProfile
    scores: dict[str, float]


class MilestoneMove(Frozen):
    """How one milestone moved between two tests."""

    criterion: str
    improved: bool
    person: str
    clinician: str


def _test_points(program: Program, seen: Sequence[HistoryEvent], rules: Rules) -> list[TestPoint]:
    points = [
        TestPoint(
            date=program.baseline.tested_on or program.start_date,
            profile=program.baseline,
            scores=dict(program.outcome_baseline),
        )
    ]
    for event in seen:
        if isinstance(event, Retest) and not event.questionnaires_only:
            points.append(
                TestPoint(
                    date=event.date,
                    profile=retest_profile(event, rules),
                    scores=outcome_scores(event.assessment, rules.questionnaires),
                )
            )
    return sorted(points, key=lambda point: point.date)


def _milestone_move(
    c: GateCriterion, before: TestPoint, after: TestPoint, rules: Rules
) -> MilestoneMove | None:
    """How the criterion's measure moved between two tests, judged against its measurement
    error; None when the two tests cannot be compared on it."""
    if c.kind in ("lsi", "min_value"):
        test = c.test or ""
        was, now = before.profile.comparison(test), after.profile.comparison(test)
        if was is None or now is None or now.measurement_error is None:
            return None
        error = now.measurement_error
        definition = rules.assessment.tests[test]
        involved = after.profile.involved_side
        if c.kind == "lsi" and involved is not None:
            sides: tuple[Side, ...] = (involved,)
        elif c.kind == "lsi":
            sides = tuple(Side)
        else:
            sides = ()
        pairs: list[tuple[str, float, float]] = []
        if sides:
            for side in sides:
                a, b = was.value(side), now.value(side)
                if a is not None and b is not None:
                    pairs.append((side.value, a, b))
        else:
            a_values = [v for v in (was.left, was.right) if v is not None]
            b_values = [v for v in (now.left, now.right) if v is not None]
            if a_values and b_values:
                pairs.append(("weaker side", min(a_values), min(b_values)))
        if not pairs:
            return None
        moved = ", ".join(f"{who} {a:g} → {b:g} {definition.unit}" for who, a, b in pairs)
        # P9: on a small baseline the published error (set near the healthy median) is scaled.
        errors = [_error_at(error, a, now, rules) for _, a, _ in pairs]
        scaled = min(errors)
        scaled_text = (
            f", scaled to ±{scaled:.1f} on a score of {pairs[0][1]:g} [U]" if scaled < error else ""
        )
        lsi = (
            f"; LSI {was.lsi:g} % → {now.lsi:g} %"
            if c.kind == "lsi" and was.lsi is not None and now.lsi is not None
            else ""
        )
        # N12: an error figure with no published source says so (the shin-raise test's is
        # the heel-raise test's, borrowed).
        sourced = definition.measurement_error
        unverified = (
            f", unverified [U]: {sourced.source}"
            if sourced is not None and sourced.confidence == "U"
            else ""
        )
        return MilestoneMove(
            criterion=c.id,
            improved=any(b - a > e for (_, a, b), e in zip(pairs, errors, strict=True)),
            person=f"{definition.person_label}: {moved}",
            clinician=f"{c.id}: {moved}{lsi} (measurement error ±{error:g}{unverified}{scaled_text})",
        )
    if c.kind == "difference_within_error":
        test = c.test or ""
        was, now = before.profile.comparison(test), after.profile.comparison(test)
        if was is None or now is None or now.measurement_error is None:
            return None
        a, b = _shortfall(was, before.profile), _shortfall(now, after.profile)
        if a is None or b is None:
            return None
        label = rules.assessment.tests[test].person_label
        return MilestoneMove(
            criterion=c.id,
            improved=a - b > now.measurement_error,
            person=f"{label}: difference between the legs {a:g} → {b:g} {now.unit}",
            clinician=f"{c.id}: between-leg difference {a:g} → {b:g} {now.unit} "
            f"(measurement error ±{now.measurement_error:g})",
        )
    if c.kind == "step_down_clean":
        if not (before.profile.step_down_observed and after.profile.step_down_observed):
            return None

        def faults(point: TestPoint) -> int:
            return sum(f.kind == "movement_fault" for f in point.profile.findings)

        a, b = faults(before), faults(after)
        return MilestoneMove(
            criterion=c.id,
            improved=b < a,
            person=f"step-down faults {a} → {b}",
            clinician=f"{c.id}: movement faults {a} → {b}",
        )
    if c.kind == "outcome_change":
        verdicts = [
            interpret_change(rules.questionnaires.measure(m), before.scores[m], after.scores[m])
            for m in c.measures or ()
            if m in before.scores and m in after.scores
        ]
        if not verdicts:
            return None
        return MilestoneMove(
            criterion=c.id,
            improved=any(v.change is ChangeKind.IMPROVED for v in verdicts),
            person="questionnaires: " + "; ".join(v.plain for v in verdicts),
            clinician=f"{c.id}: " + "; ".join(v.clinical for v in verdicts),
        )
    return None


def _error_at(error: float, baseline: float, comparison: SideComparison, rules: Rules) -> float:
    """P9: a test's measurement error was measured on people scoring around the healthy
    median (the capacity target); on a baseline score below the median by more than the
    error, a rise is judged against the error scaled to the score, no less than
    `milestone_error_min_fraction` of it (U)."""
    capacity = comparison.capacity
    target = capacity.target if capacity.available else None
    if target is None:
        # No capacity goal: the score the borrowed error was measured at, if the data says (R6).
        definition = rules.assessment.tests.get(comparison.test)
        measured_at = definition.measurement_error_at if definition else None
        target = measured_at.value if measured_at else None
    if target is None or baseline >= target - error or baseline <= 0:
        return error  # within the error of the median: the figure applies as published
    return error * max(rules.progression.milestone_error_min_fraction, baseline / target)


def _other_tests_improved(base: TestPoint, latest: TestPoint, rules: Rules) -> list[str]:
    """P9: every test measured at both points, not only the gate's: those whose affected
    side (each side when both are) moved the better way beyond the test's measurement error."""
    out = []
    involved = latest.profile.involved_side
    sides = (involved,) if involved is not None else tuple(Side)
    for now in latest.profile.comparisons:
        was = base.profile.comparison(now.test)
        definition = rules.assessment.tests.get(now.test)
        if was is None or definition is None or now.measurement_error is None:
            continue
        sign = 1 if definition.higher_is_better else -1
        for side in sides:
            a, b = was.value(side), now.value(side)
            if a is None or b is None:
                continue
            error = (
                _error_at(now.measurement_error, a, now, rules)
                if sign > 0
                else now.measurement_error
            )
            if sign * (b - a) > error:
                out.append(f"{definition.short} {side.value} {a:g} → {b:g} {definition.unit}")
    return out


def _milestones_flat(
    program: Program, day: dt.date, seen: Sequence[HistoryEvent], rules: Rules
) -> Decision | None:
    """A stall the doses cannot hide: the gate's unmet objective milestones have not moved
    beyond their measurement error between the latest test and one at least the configured
    weeks before it. Judged once per new test."""
    if program.template is not None or program.phase.next() is None:
        return None
    retested = [e.date for e in seen if isinstance(e, Retest) and not e.questionnaires_only]
    if not retested:
        return None  # one test only: nothing to compare
    last_prompt = program.state.last_stall_prompt
    if last_prompt is not None and max(retested) <= last_prompt:
        return None  # this test has been judged already
    status = gate_status(program, day, seen, rules)
    # Milestones already met on the latest numbers (even if tested before this phase) are
    # not flat: they are done (S1).
    unmet = [
        c
        for c, met, _, _ in status
        if not met and c.kind in OBJECTIVE_GATES and not _met_on_latest(c, program, rules)
    ]
    if not unmet:
        return None
    points = _test_points(program, seen, rules)
    latest = points[-1]
    flat_weeks = rules.phases.milestones.flat_weeks
    earlier = [p for p in points[:-1] if (latest.date - p.date).days >= flat_weeks.value * 7]
    if not earlier:
        return None
    base = earlier[-1]
    moves = [m for c in unmet if (m := _milestone_move(c, base, latest, rules)) is not None]
    if not moves or any(m.improved for m in moves):
        return None
    # Any other milestone test beyond its error is improvement too (P9) — but not for a
    # gate judged on each leg's own rise (Q3): nothing else opens it, so it stalls alone.
    own_start = all(own_start_gap(c, program, rules) is not None for c in unmet)
    if not own_start and _other_tests_improved(base, latest, rules):
        return None
    # A steady rise over the tests between (each step up, none down) is improvement even
    # when no single step is beyond the measurement error (S1).
    between = [pt for pt in points if base.date <= pt.date <= latest.date]
    if len(between) >= 3 and any(_rising(c, between, rules) for c in unmet):
        return None
    sessions = [s for s in _sessions(seen) if base.date < s.date <= day]
    p = rules.progression
    if len(sessions) < p.stall_min_sessions:
        return None
    weeks = (latest.date - base.date).days / 7
    rose = program.state.last_progression is not None and program.state.last_progression > base.date
    weak = program.weaker_side
    culprits = stall_culprits(
        sessions,
        _checkins(seen),
        day,
        rules,
        milestones_flat=True,
        doses_rose=rose,
        weak_side=(
            weak,
            [
                rules.library[s.exercise_id].name
                for s in program.part("main")
                if _slot_weaker(s) is weak
            ],
        )
        if weak is not None
        else None,
    )
    numbers: dict[str, Number] = {
        "basis": "milestones",
        "weeks_flat": round(weeks, 1),
        "sessions": len(sessions),
        "from_test": base.date.isoformat(),
        "to_test": latest.date.isoformat(),
    }
    numbers.update({m.criterion: m.clinician for m in moves})
    warned = _warnings_unanswered(program, base, latest, rules)
    if own_start:
        gaps = [g for c in unmet if (g := own_start_gap(c, program, rules)) is not None]
        culprits = [c for c in culprits if not c[1].startswith("hidden weakness")] + [
            (
                "; ".join(g[0] for g in gaps)
                + ": if it stays where it is, your clinician can judge whether you are ready",
                "gate judged on each leg's own rise (no verified norm): "
                + "; ".join(g[1] for g in gaps)
                + "; a clinician may judge it instead (override force_phase)",
            )
        ]
    if warned:
        # Q5: the weakness is known, not hidden: it is the culprit, and its warning follows.
        numbers["deficit_warnings"] = ", ".join(w.id for w, _ in warned)
        culprits = [c for c in culprits if not c[1].startswith("hidden weakness")] + [
            (
                f"the weakness the {rules.assessment.tests[w.test].person_label} found at the "
                "start has not answered the training",
                f"{w.id}: the deficit on {w.test} has not moved beyond measurement error since "
                f"{base.date}",
            )
            for w, _ in warned
        ]
    return _stall_prompt(
        day,
        numbers,
        f"Your test results have not moved in {weeks:.0f} weeks ("
        + "; ".join(m.person for m in moves)
        + ")",
        f"Stall: milestones flat for {weeks:.1f} weeks over {len(sessions)} sessions, within "
        "measurement error (" + "; ".join(m.clinician for m in moves) + ")",
        culprits,
        flat_weeks.source,
    )


def _warnings_unanswered(
    program: Program, base: TestPoint, latest: TestPoint, rules: Rules
) -> list[tuple[DeficitWarning, tuple[str, str]]]:
    """Q5: the pathway's deficit warnings (S17: a marked one-sided dorsiflexor weakness is a
    nerve problem until shown otherwise) that the latest test still raises, on a test whose
    weaker side has not risen beyond its measurement error since `base`: training has not
    answered the weakness, so the warning said at the plan is said again."""
    out = []
    for warning in rules.pathways[program.pathway].deficit_warnings:
        texts = warning_raised(warning, latest.profile)
        was = base.profile.comparison(warning.test)
        now = latest.profile.comparison(warning.test)
        side = now.weaker_side if now is not None else None
        if texts is None or was is None or now is None or side is None:
            continue
        a, b = was.value(side), now.value(side)
        error = now.measurement_error
        if a is None or b is None or error is None or b - a > error:
            continue
        out.append((warning, texts))
    return out


def _with_warnings(program: Program, prompt: Decision, rules: Rules) -> Decision:
    """The stall prompt (or its hand-over to the clinician) with the pathway's warnings that
    training has not answered said again, to both (Q5)."""
    ids = str(prompt.numbers.get("deficit_warnings", "")).split(", ")
    warned = [
        texts
        for w in rules.pathways[program.pathway].deficit_warnings
        if w.id in ids and (texts := warning_raised(w, program.profile)) is not None
    ]
    if not warned:
        return prompt
    person = " ".join(p for p, _ in warned)
    clinical = " ".join(c for _, c in warned)
    return prompt.model_copy(
        update={
            "person_text": f"{prompt.person_text} As the plan said at the start, and all the "
            f"more now: {person}",
            "clinician_text": f"{prompt.clinician_text} Not answered by training since the "
            f"plan (a referral reason: clinical reference §6): {clinical}",
        }
    )


def _met_on_latest(c: GateCriterion, program: Program, rules: Rules) -> bool:
    """The criterion's threshold is met by the latest numbers, whenever they were taken."""
    comparison = program.profile.comparison(c.test or "")
    if comparison is not None and c.kind == "difference_within_error":
        return _difference_status(comparison, program.profile)[0]
    if comparison is None or c.threshold is None:
        return False
    if c.kind == "lsi":
        return _lsi_status(c, comparison, program.profile, _test_start(c, program, rules))[0]
    if c.kind == "min_value":
        values = [v for v in (comparison.left, comparison.right) if v is not None]
        threshold, _ = _min_value_threshold(c, program.profile, rules)
        return bool(values) and min(values) >= threshold
    return False


def _criterion_value(c: GateCriterion, profile: ImbalanceProfile) -> float | None:
    """The number a criterion judges: the LSI (or the weaker leg's share of the capacity goal
    when both legs are affected), or the weaker side for an absolute criterion."""
    comparison = profile.comparison(c.test or "")
    if comparison is None:
        return None
    if c.kind == "lsi":
        if profile.involved_side is not None:
            return comparison.lsi
        capacity = comparison.capacity
        shares = [capacity.percent(side) for side in Side] if capacity.available else []
        known = [x for x in shares if x is not None]
        return min(known) if known else None
    if c.kind == "min_value":
        values = [v for v in (comparison.left, comparison.right) if v is not None]
        return min(values) if values else None
    if c.kind == "difference_within_error":
        short = _shortfall(comparison, profile)
        return None if short is None else -short  # higher is better: less difference
    return None


def _rising(c: GateCriterion, points: list[TestPoint], rules: Rules) -> bool:
    values = [_criterion_value(c, point.profile) for point in points]
    known = [v for v in values if v is not None]
    if len(known) < 3:
        return False
    steps = [b - a for a, b in itertools.pairwise(known)]
    return all(step >= 0 for step in steps) and sum(steps) > 0


def _stall_prompt(
    day: dt.date,
    numbers: dict[str, Number],
    person: str,
    clinician: str,
    culprits: list[tuple[str, str]],
    source: str,
) -> Decision:
    """A reassessment prompt: what stalled, then the likely culprits."""
    return Decision(
        rule="stall.reassess",
        kind="prompt",
        date=day,
        numbers=numbers,
        changes=(Change(field="last_stall_prompt", after=day.isoformat()),),
        person_text=f"{person}. Time for a check: " + "; ".join(c[0] for c in culprits) + ".",
        clinician_text=f"{clinician}. Likely culprits: "
        + "; ".join(c[1] for c in culprits)
        + ". Reassess.",
        source=source,
    )


def _stall_check(
    program: Program,
    day: dt.date,
    seen: Sequence[HistoryEvent],
    rules: Rules,
    now: list[Decision] | None = None,
) -> list[Decision]:
    """Two kinds of stall: milestones flat from test to test whatever the doses do, and no
    dose progression for the configured weeks."""
    p = rules.progression
    if _off(program, "stall.reassess") or program.phase is Phase.MAINTENANCE:
        return []
    if now and any(
        d.kind in ("phase", "flare", "refer") or d.rule.startswith("stall.") for d in now
    ):
        return []
    # Not during a flare-up, nor in the quiet days after a phase change or a flare-up (S1).
    if program.state.flare is not None or (day - program.phase_started).days < p.stall_quiet_days:
        return []
    ended = program.state.last_flare_end
    if ended is not None and (day - ended).days < p.stall_quiet_days:
        return []
    flat = _milestones_flat(program, day, seen, rules)
    if flat is not None:
        return [_with_warnings(program, _escalated(program, flat, rules), rules)]
    if now and any(d.kind == "progress" for d in now):
        return []
    since = program.state.last_progression or program.phase_started
    since = max(since, program.phase_started, program.state.last_stall_prompt or since)
    since = max(since, ended or since)
    span = (day - since).days
    if span < p.stall_weeks * 7:
        return []
    # P1: doses held by the person's minutes are no stall while the time prompt has said
    # why — until the clinician has been asked (Q2), not for ever.
    told = program.state.last_time_prompt
    if (
        told is not None
        and told >= since
        and program.state.stall_prompts < p.prompts_before_clinician
    ):
        return []
    window = [s for s in _sessions(seen) if s.date > day - dt.timedelta(days=p.stall_weeks * 7)]
    if len(window) < p.stall_min_sessions:
        return []
    culprits = stall_culprits(window, _checkins(seen), day, rules)
    if told is not None and told >= since:
        # Held by the minutes (the clinician already asked, Q2): the time is the first reason.
        budget = program.preferences.minutes_per_session
        culprits = [
            (
                f"your sessions already fill your {budget} minutes, so the next steps wait "
                "until an exercise is left out or more minutes are set",
                f"doses held for session time (hold.session_time) against a budget of {budget} "
                f"min; the person was asked on {told.isoformat()} to choose fewer exercises or "
                "more minutes",
            ),
            *culprits,
        ]
    numbers: dict[str, Number] = {
        "basis": "doses",
        "weeks_without_progress": round(span / 7, 1),
        "sessions": len(window),
    }
    prompt = _stall_prompt(
        day,
        numbers,
        f"No step forward for {span // 7} weeks",
        f"Stall: no progression for {span / 7:.1f} weeks over {len(window)} sessions",
        culprits,
        p.sources["stall_weeks"].source,
    )
    return [_escalated(program, prompt, rules)]


def _escalated(program: Program, prompt: Decision, rules: Rules) -> Decision:
    """Count the reassessment prompts since the last progression or phase change; the one
    that makes `prompts_before_clinician` goes to the clinician (`stall.clinician`, flagged
    on the dashboard) instead of repeating itself to the person (N9). Once the clinician
    has been asked, by this or another hand-over, the prompt stays a prompt (R17)."""
    count = program.state.stall_prompts + 1
    counted = (Change(field="stall_prompts", before=count - 1, after=count),)
    if program.state.stall_prompts >= rules.progression.prompts_before_clinician:
        # R17: the clinician has been asked already (a stall, effort, time or phase hold
        # hand-over): one hand-over until a dose progresses or the phase changes; the stall
        # is said again to the person as a check, not as a hand-over with a made-up count.
        return prompt.model_copy(
            update={
                "changes": (*prompt.changes, *counted),
                "numbers": {**prompt.numbers, "handed_over": "yes"},
                "person_text": f"{prompt.person_text} Your clinician has already been asked "
                "to look at your program with you.",
                "clinician_text": f"{prompt.clinician_text} A clinician review was asked for "
                "already (stall.clinician, flagged on the dashboard); it is not asked again "
                "until a dose progresses or the phase changes.",
            }
        )
    if count < rules.progression.prompts_before_clinician:
        return prompt.model_copy(update={"changes": (*prompt.changes, *counted)})
    return prompt.model_copy(
        update={
            "rule": "stall.clinician",
            "numbers": {**prompt.numbers, "prompts": count},
            "changes": (*prompt.changes, *counted),
            "person_text": f"The program has asked for a check {count} times and nothing has "
            "changed, so your clinician has been asked to look at your program with you. "
            "Carry on as it stands meanwhile.",
            "clinician_text": f"Stall unresolved after {count} reassessment prompts with no "
            f"progression or phase change between: {prompt.clinician_text} Needs a clinician "
            "review (flagged on the dashboard).",
            "source": f"{prompt.source}; {rules.progression.sources['prompts_before_clinician'].source}",
        }
    )


def stall_culprits(
    sessions: list[SessionLog],
    checkins: list[CheckIn],
    day: dt.date,
    rules: Rules,
    *,
    milestones_flat: bool = False,
    doses_rose: bool = False,
    weak_side: tuple[Side, list[str]] | None = None,
) -> list[tuple[str, str]]:
    """Likely reasons for a stall, from the logs: (plain, clinical). With milestones flat
    while the doses rose, the work itself is the first suspect — and, when one side is the
    weak one (`weak_side`: that side and the exercises giving it an extra set), whether the
    work is aimed at it (R11: not said with both legs affected)."""
    p = rules.progression
    sets = [s for session in sessions for e in session.exercises for s in e.sets]
    logs = [e for session in sessions for e in session.exercises]
    out: list[tuple[str, str]] = []
    if milestones_flat and doses_rose:
        if weak_side is None:
            aimed, specific = "", "test-like loading"
        else:
            side, names = weak_side
            listed = ", ".join(names)
            aimed = (
                f"not be aimed enough at your {side.value} leg (the extra set is in {listed}) or "
                if names
                else f"not be aimed at your {side.value} leg (no exercise gives it an extra set "
                "now) or "
            )
            specific = (
                f"the {side.value} side, extra set in {listed}"
                if names
                else f"the {side.value} side, no exercise now gives it an extra set"
            ) + "; test-like loading"
        out.append(
            (
                "the exercises got harder but your test results did not follow: the work may "
                f"{aimed}not be heavy enough to build strength",
                f"doses progressed without milestone change: check specificity ({specific}), "
                "intensity (reps in reserve, load rather than more reps) and that the tests "
                "were done the same way each time",
            )
        )
    faulty = [s for s in sets if not s.clean]
    faulty_logs = [e for e in logs if any(not s.clean for s in e.sets)]
    if logs and len(faulty_logs) / len(logs) >= 0.2:
        common = max({s.form for s in faulty}, key=lambda f: sum(1 for s in faulty if s.form == f))
        out.append(
            (
                f"technique slips in {len(faulty_logs)} of {len(logs)} exercises (mostly {common.replace('_', ' ')})",
                f"technique lapses: {len(faulty_logs) / len(logs):.0%} of logged exercises had a faulty set (most often {common})",
            )
        )
    recent = [c for c in checkins if day - dt.timedelta(days=p.stall_weeks * 7) < c.date <= day]
    if recent and mean(max(c.pain_on_waking, c.stiffness_on_waking) for c in recent) >= 4:
        m = mean(max(c.pain_on_waking, c.stiffness_on_waking) for c in recent)
        out.append(
            (
                f"mornings are still sore or stiff (about {m:.0f}/10): sleep and rest days matter",
                f"poor recovery: mean morning pain/stiffness {m:.1f}/10",
            )
        )
    pains = [s.pain for s in sets]
    if pains and mean(pains) > p.pain_safe_max:
        out.append(
            (
                "pain during the exercises keeps holding the dose back",
                f"pain in the acceptable zone most sessions (mean {mean(pains):.1f}/10)",
            )
        )
    efforts = [e for e in (s.effort for s in sets) if e is not None]
    if efforts and mean(efforts) > p.spare_effort_rpe_max:
        out.append(
            (
                "the sets feel very hard: the weak spot may be somewhere the tests did not look",
                f"effort high (mean RPE {mean(efforts):.1f}) without progress: hidden weakness — retest, consider the proximal chain",
            )
        )
    elif efforts and mean(efforts) <= 5:
        out.append(
            (
                "the work feels easy yet nothing moves: the load may be too light",
                f"too little load: mean RPE {mean(efforts):.1f}",
            )
        )
    if len(efforts) < len(sets):
        out.append(
            (
                "effort is not logged on every set, so the program cannot tell when to move you on",
                f"effort missing on {len(sets) - len(efforts)} of {len(sets)} sets",
            )
        )
    if not out or (milestones_flat and len(out) == 1 and doses_rose):
        out.append(
            (
                "a hidden weakness the first tests missed: a retest will show it",
                "hidden weakness: retest, including the proximal chain",
            )
        )
    return out


# ----- protocol phases -----------------------------------------------------------------------
#
# A protocol (template) written in several phases moves from one to the next by its own
# rule — after a number of weeks in the phase, or once milestones of the method's phase
# gates are met — as an automatic, recorded decision. It moves under the same safety rules
# as a phase change: never in a flare-up or straight after one, never on a session whose
# pain is outside the acceptable zone or whose response holds progression, never past a
# pending check's or the weight-bearing limit's ceiling. The clinician's pins and edits are
# carried as in a phase change (`_phase_session`).


def _stage_advance(
    program: Program, event: SessionLog, seen: Sequence[HistoryEvent], rules: Rules
) -> list[Decision]:
    if program.template is None:
        return []
    template = rules.templates.templates.get(program.template)
    if template is None or program.stage + 1 >= len(template.phases):
        return []
    current = template.phases[program.stage]
    rule = current.move_on
    if rule is None or _off(program, "phase.advance"):
        return []
    day = event.date
    if program.state.flare is not None:
        return []
    ended = program.state.last_flare_end
    if ended is not None and (day - ended).days < rules.progression.flare_end_advance_wait_days:
        return []
    zone = pain_zone(program, rules)
    if event.max_pain > zone.acceptable_max or (
        event.pain_after is not None and event.pain_after > zone.after_acceptable_max
    ):
        return []
    index = program.stage + 1
    nxt = template.phases[index]
    pending = program.state.check_pending
    if pending is not None and nxt.phase.number > pending.ceiling.number:
        return []
    restriction = load_restriction(program.pathway, program.profile, rules)
    if restriction is not None and nxt.phase.number > restriction[0].ceiling.number:
        return []
    numbers: dict[str, Number] = {"phase": program.stage + 1, "next_phase": index + 1}
    if rule.after_weeks is not None:
        days = (day - program.phase_started).days
        if days < 7 * rule.after_weeks:
            return []
        numbers |= {"days_in_phase": days, "after_weeks": rule.after_weeks}
        person_why = f"{rule.after_weeks} week{'s' if rule.after_weeks != 1 else ''} done"
        clinician_why = f"{days} days in the phase ≥ {rule.after_weeks} weeks"
        source = f"{template.name}: the protocol's own rule ({template.source})"
    else:
        known = rules.phases.milestones_by_id()
        criteria = [known[m] for m in rule.milestones if m in known]
        status = gate_status(program, day, seen, rules, criteria)
        if not status or not all(met for _, met, _, _ in status):
            return []
        numbers |= {c.id: f"met ({why})" for c, _, why, _ in status}
        person_why = "milestones met: " + " ".join(
            criterion_text(c, program.profile) for c, *_ in status
        )
        clinician_why = "milestones met: " + "; ".join(f"{c.id} ({why})" for c, _, why, _ in status)
        source = "; ".join(sorted({c.source for c, *_ in status}))
    decision = Decision(
        rule="stage.advance",
        kind="phase",
        date=day,
        numbers=numbers,
        changes=(Change(field="stage", before=program.stage, after=index),),
        person_text=f"{template.name}: {person_why}, so you move on to phase {index + 1}, "
        f"{nxt.name}.",
        clinician_text=f"{template.name} phase {program.stage + 1} ({current.name}) → "
        f"{index + 1} ({nxt.name}, {nxt.phase.label}): {clinician_why}.",
        source=source,
    )
    carry = _stage_carry(program, index, day, rules)[1]
    return [
        decision.model_copy(
            update={
                "person_text": " ".join((decision.person_text, *carry.person)),
                "clinician_text": " ".join((decision.clinician_text, *carry.clinician)),
            }
        )
    ]


def _stage_carry(
    program: Program, stage: int, day: dt.date, rules: Rules
) -> tuple[Program, _Carry]:
    """The protocol's phase `stage` planned for this person, and the clinician's pins and
    edits carried into it."""
    fresh = plan_stage(program, rules, stage, day)
    carry = _phase_session(program, fresh.phase, rules, built=(fresh.slots, fresh.reasons))
    return fresh, carry


def _stage_moved(program: Program, stage: int, decision: Decision, rules: Rules) -> Program:
    """The program in the protocol's phase `stage` (slots, phase, reasons, edits)."""
    fresh, carry = _stage_carry(program, stage, decision.date, rules)
    notes = pathway_notes(program.pathway, program.profile, rules, None)
    return program.model_copy(
        update={
            "stage": stage,
            "phase": fresh.phase,
            "phase_started": decision.date,
            "slots": carry.slots,
            "reasons": (*carry.reasons, *notes),
            "state": program.state.model_copy(update={"edits": carry.edits}),
        }
    )


def _block_dose(program: Program, day: dt.date, rules: Rules) -> tuple[int, float] | None:
    """The sets × amount the program's protocol's block of weeks asks for on `day` (its
    current phase's blocks, counted from the day that phase began); None without one."""
    if program.template is None or program.template not in rules.templates.templates:
        return None
    template = rules.templates.templates[program.template].at_stage(program.stage)
    if not template.blocks:
        return None
    began = program.phase_started if program.stage else program.start_date
    return template_block(template, (day - began).days // 7 + 1)


def _at_block(
    doses: tuple[Dose, ...], program: Program, day: dt.date, rules: Rules
) -> tuple[Dose, ...]:
    """Doses of an exercise the clinician brings into a protocol run by blocks of weeks: the
    block's sets × amount, as every main exercise of it holds (`_template_block`) — not the
    exercise's own start, which the next session's block would overwrite, so that a session
    done as the player offers it counts at the program's dose."""
    block = _block_dose(program, day, rules)
    if block is None:
        return doses
    sets, amount = block
    return tuple(
        d.model_copy(
            update={
                "sets": sets,
                "amount": amount,
                "range_low": min(d.range_low, amount),
                "range_high": max(d.range_high, amount),
            }
        )
        for d in doses
    )
