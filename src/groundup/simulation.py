"""Synthetic people following a program: for example logs, demos and benchmarks.

A `Scenario` describes how someone responds week by week (pain during the work, morning
pain, effort, form, skipped sessions, spikes, how fast their tests improve). `follow`
walks them through their program day by day: each training day they do today's session
exactly as prescribed and log it, each next morning they check in, and when the engine
asks for a retest they do one. Deterministic for a given seed.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Sequence

from pydantic import BaseModel, ConfigDict, Field

from groundup.clinical.assessment import Assessment, HopCount, StepDownQuality
from groundup.clinical.logs import CheckIn, ExerciseLog, Override, Retest, SessionLog, SetLog
from groundup.clinical.program import Program
from groundup.clinical.progression import Decision, HistoryEvent, advance
from groundup.clinical.rules import Rules
from groundup.clinical.vocabulary import Side


class Scenario(BaseModel):
    """How a synthetic person responds, week by week (the last value repeats)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    weeks: int = Field(ge=1, le=104)
    session_pain: tuple[int, ...] = Field(min_length=1)
    pain_after: tuple[int, ...] | None = Field(
        default=None, description="pain right after each session; the session's pain if left out"
    )
    morning_pain: tuple[int, ...] = Field(min_length=1)
    morning_stiffness: tuple[int, ...] = (1,)
    effort: tuple[float, ...] = (6.0,)
    fault_weeks: tuple[int, ...] = Field(default=(), description="weeks with faulty form")
    spike_sessions: tuple[int, ...] = Field(default=(), description="session numbers with a spike")
    spike_pain: int = 7
    spike_morning: int = 6
    skip_every: int = Field(default=0, description="skip every nth training session")
    lsi_gain_per_week: float = Field(default=4.0, description="weaker side, % of stronger")
    outcome_gain_per_week: float = 1.5
    step_down_clean_from_week: int = 4
    balance_gain_per_week: float = 2.0
    hops_pain_free_from_week: int = Field(
        default=8, description="retests from this week include 30 pain-free hops on each leg"
    )
    jitter: bool = False
    check_clear_day: int | None = Field(
        default=7,
        description="the day a clinician records a check the intake asked for (e.g. for a "
        "bone stress injury) as done and clear; None: never",
    )


def _week_value(values: Sequence[float], week: int) -> float:
    return values[min(week, len(values) - 1)]


def retest_assessment(
    baseline: Assessment, scenario: Scenario, week: float, day: dt.date
) -> Assessment:
    """The person's tests after `week` weeks: the weaker side closes on the stronger."""
    tests = baseline.tests
    update: dict[str, object] = {}
    for name in ("heel_raise_reps", "tibialis_raise_reps", "knee_to_wall_cm"):
        pair = getattr(tests, name)
        if pair is None or pair.left is None or pair.right is None:
            continue
        strong = max(pair.left, pair.right)
        weak_side = Side.LEFT if pair.left < pair.right else Side.RIGHT
        weak = min(pair.left, pair.right)
        gain = strong * scenario.lsi_gain_per_week / 100 * week
        improved = min(strong, weak + gain)
        value: float = round(improved) if name != "knee_to_wall_cm" else round(improved, 1)
        update[name] = pair.model_copy(update={weak_side.value: value})
    balance = tests.single_leg_stance_eyes_closed_s
    if balance is not None:
        update["single_leg_stance_eyes_closed_s"] = balance.model_copy(
            update={
                side: min(
                    45.0, (getattr(balance, side) or 0) + scenario.balance_gain_per_week * week
                )
                for side in ("left", "right")
            }
        )
    if tests.hop_in_place_reps is None and week >= scenario.hops_pain_free_from_week:
        # Hopping is tried once the person has been steady for a while, and is pain-free.
        update["hop_in_place_reps"] = HopCount(left=30, right=30)
    observations = baseline.observations
    if week >= scenario.step_down_clean_from_week:
        observations = observations.model_copy(update={"step_down": StepDownQuality()})
    lefs = baseline.lefs
    if lefs is not None:
        extra = round(scenario.outcome_gain_per_week * week)
        raised: dict[str, int | None] = {}
        for item, answer in sorted(lefs.items()):
            if answer is not None and extra > 0 and answer < 4:
                step = min(4 - answer, extra)
                extra -= step
                raised[item] = answer + step
            else:
                raised[item] = answer
        lefs = raised
    psfs = tuple(
        a.model_copy(
            update={"score": min(10, a.score + round(week * scenario.outcome_gain_per_week / 3))}
        )
        for a in baseline.psfs
    )
    pain = baseline.pain.model_copy(
        update={"on_waking": int(_week_value(scenario.morning_pain, int(week)))}
    )
    return baseline.model_copy(
        update={
            "date": day,
            "tests": tests.model_copy(update=update),
            "observations": observations,
            "lefs": lefs,
            "psfs": psfs,
            "pain": pain,
        }
    )


def _session(
    program: Program, day: dt.date, number: int, week: int, scenario: Scenario, rng: random.Random
) -> SessionLog:
    pain = int(_week_value(scenario.session_pain, week))
    effort = _week_value(scenario.effort, week)
    faulty = week in scenario.fault_weeks
    spike = number in scenario.spike_sessions
    logs: list[ExerciseLog] = []
    for index, slot in enumerate(program.slots):
        for dose in slot.doses:
            this_pain = pain
            if scenario.jitter and slot.part == "main":
                this_pain = max(0, min(10, pain + rng.choice((-1, 0, 0, 0, 1))))
            if spike and slot.part == "main" and index == len(program.part("warm_up")):
                this_pain = scenario.spike_pain
            if slot.part != "main":
                this_pain = min(this_pain, 2)
            sets = tuple(
                SetLog(
                    amount=dose.amount,
                    load_kg=dose.load_kg,
                    knob=dose.knob,
                    rpe=effort,
                    pain=this_pain,
                    form="sloppy"
                    if faulty and slot.part == "main" and n == dose.sets - 1
                    else "clean",
                )
                for n in range(dose.sets)
            )
            logs.append(ExerciseLog(exercise_id=slot.exercise_id, side=dose.side, sets=sets))
    after = int(_week_value(scenario.pain_after or scenario.session_pain, week))
    if spike:
        after = max(after, scenario.spike_pain)
    return SessionLog(
        id=f"{scenario.name}-{number:03d}", date=day, exercises=tuple(logs), pain_after=after
    )


def follow(
    program: Program,
    baseline: Assessment,
    scenario: Scenario,
    rules: Rules,
    *,
    seed: int = 0,
) -> tuple[list[HistoryEvent], Program, list[Decision]]:
    """Walk a synthetic person through their program; returns the events they logged,
    the final program and every decision made along the way."""
    rng = random.Random(seed)
    history: list[HistoryEvent] = []
    decisions: list[Decision] = []
    start = program.start_date
    number = 0
    retest_wanted = False
    last_session_day: dt.date | None = None
    for offset in range(scenario.weeks * 7):
        day = start + dt.timedelta(days=offset)
        week = offset // 7
        if last_session_day is not None and last_session_day == day - dt.timedelta(days=1):
            spike_yesterday = number in scenario.spike_sessions
            morning = (
                scenario.spike_morning
                if spike_yesterday
                else int(_week_value(scenario.morning_pain, week))
            )
            history.append(
                CheckIn(
                    date=day,
                    pain_on_waking=morning,
                    stiffness_on_waking=int(_week_value(scenario.morning_stiffness, week)),
                )
            )
        if retest_wanted:
            history.append(
                Retest(date=day, assessment=retest_assessment(baseline, scenario, offset / 7, day))
            )
            retest_wanted = False
        if program.state.check_pending is not None and offset == scenario.check_clear_day:
            history.append(
                Override(
                    date=day,
                    by="Simulated clinician",
                    reason="checked: no focal bony tenderness, hopping pain-free",
                    action="check_clear",
                )
            )
        if program.is_training_day(day) and not program.state.referred:
            for _ in range(program.times_per_day):
                number += 1
                if scenario.skip_every and number % scenario.skip_every == 0:
                    history.append(
                        SessionLog(
                            id=f"{scenario.name}-{number:03d}",
                            date=day,
                            skipped=True,
                            skip_reason="busy",
                        )
                    )
                    continue
                history.append(_session(program, day, number, week, scenario, rng))
                last_session_day = day
                if program.times_per_day > 1:
                    break  # one log per day: the engine sees the day's work once
        result = advance(program, history, rules, day)
        program = result.program
        decisions.extend(result.decisions)
        if any(
            d.rule in ("prompt.retest", "prompt.retest_due", "prompt.run_test")
            for d in result.decisions
        ):
            retest_wanted = True
    return history, program, decisions
