"""Clinical-core throughput on one core: full plans per second and progression decisions
per second for simulated patients over 12 weeks.

    .venv/bin/python benchmarks/clinical_core.py [--patients 200] [--weeks 12] [--seed 1]

Prints figures; asserts nothing. The patients are random but seeded: each gets a random
assessment (ages, sexes, per-side test results, pains), a plan, and a synthetic person
who follows it (scenarios mixed: steady, flare-ups, stalls, worsening). The timed part
of the second figure is the engine alone replaying those logged histories day by day,
exactly as the service would call it after each session and check-in.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import random
import time

from groundup.clinical.planning import plan
from groundup.clinical.profile import build_profile
from groundup.clinical.program import Preferences
from groundup.clinical.progression import advance
from groundup.clinical.screening import ScreenAnswers, screen
from groundup.knowledge import load_rules, load_screening_rules
from groundup.simulation import follow
from groundup.synthetic import EQUIPMENT, SCENARIOS, random_assessment


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=200)
    parser.add_argument("--weeks", type=int, default=12)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})  # one core

    rules = load_rules()
    clear = screen(ScreenAnswers(), load_screening_rules())
    rng = random.Random(args.seed)
    start = dt.date(2026, 1, 5)
    assessments = [random_assessment(rng, start) for _ in range(args.patients)]
    preferences = [
        Preferences(
            equipment=tuple(rng.sample(EQUIPMENT, rng.randint(3, len(EQUIPMENT)))),
            minutes_per_session=rng.choice([20, 30, 45]),
        )  # type: ignore[arg-type]
        for _ in assessments
    ]

    began = time.perf_counter()
    programs = []
    for assessment, prefs in zip(assessments, preferences, strict=True):
        profile = build_profile(assessment, rules.assessment)
        programs.append(plan(profile, prefs, rules, screen=clear, start=start))
    plan_seconds = time.perf_counter() - began

    histories = []
    for n, (program, assessment) in enumerate(zip(programs, assessments, strict=True)):
        scenario = SCENARIOS[n % len(SCENARIOS)].model_copy(update={"weeks": args.weeks})
        events, _, _ = follow(program, assessment, scenario, rules, seed=n)
        histories.append(events)

    decisions = 0
    evaluations = 0
    began = time.perf_counter()
    for program, events in zip(programs, histories, strict=True):
        current = program
        for day in sorted({e.date for e in events}):
            result = advance(current, events, rules, day)
            current = result.program
            decisions += len(result.decisions)
            evaluations += 1
    engine_seconds = time.perf_counter() - began
    event_count = sum(len(h) for h in histories)

    print(
        f"machine: {platform.processor() or platform.machine()}, Python {platform.python_version()}, 1 core"
    )
    print(f"patients: {args.patients}, weeks: {args.weeks}, seed: {args.seed}")
    print(
        f"plans: {args.patients} in {plan_seconds:.2f} s = {args.patients / plan_seconds:,.0f} plans/s "
        "(profile + full plan each)"
    )
    print(
        f"engine: {event_count:,} logged events, {evaluations:,} daily evaluations, {decisions:,} decisions "
        f"in {engine_seconds:.2f} s = {decisions / engine_seconds:,.0f} decisions/s, "
        f"{event_count / engine_seconds:,.0f} events/s"
    )


if __name__ == "__main__":
    main()
