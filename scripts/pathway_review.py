"""Twelve simulated weeks through every pathway example, and the awkward histories real people
produce — the runs behind docs/clinical-review.md, written as log files to replay.

    .venv/bin/python scripts/pathway_review.py --out /tmp/pathway-review
    .venv/bin/python scripts/pathway_review.py --only plantar-heel --only not-sure --scenario steady
    groundup simulate examples/bilateral-shin.yaml /tmp/pathway-review/bilateral-shin-steady.yaml --clinician
    groundup simulate /tmp/pathway-review/ankle-instability-return_to_run.program.json \
        /tmp/pathway-review/ankle-instability-return_to_run-pain-3.yaml --clinician

For each example intake it writes four logs — steady improvement, a flare-up (a 7/10 spike at
the tenth session), a stall with flat milestones (perfect sessions, tests that never move) and a
stall on form (a faulty last set every session) — each person starting from their own intake
pain, and then the histories of the review's section on awkward histories. Every session is
logged as prescribed by the program as it stands that day, so the logs follow the engine of the
day: run the script again after a change to the engine and compare the timelines. It prints one
summary line per run: the phase reached, whether it referred, and the rules that fired.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
from collections import Counter
from collections.abc import Callable
from functools import partial
from pathlib import Path

import yaml

from groundup.cli.files import read_document, validate
from groundup.cli.person_commands import _as_prescribed
from groundup.cli.program_commands import build_program
from groundup.clinical.assessment import Assessment
from groundup.clinical.intake import Intake
from groundup.clinical.logs import CheckIn, Retest, SessionLog
from groundup.clinical.program import Program
from groundup.clinical.progression import Decision, HistoryEvent, advance
from groundup.clinical.rules import Rules
from groundup.knowledge import load_rules
from groundup.simulation import Scenario, follow, retest_assessment

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = (
    "clear-left-calf",
    "achilles-insertional",
    "bilateral-shin",
    "knee-step-down",
    "ankle-instability",
    "plantar-heel",
    "ankle-fracture",
    "fracture-six-weeks",
    "not-sure",
)

SCENARIOS = ("steady", "flare", "stall-flat", "stall-form")


def _easing(start: int) -> tuple[int, ...]:
    """A value that eases by one point every two weeks, down to 0."""
    return tuple(max(0, start - week // 2) for week in range(8))


def standard_scenarios(assessment: Assessment) -> dict[str, Scenario]:
    """Steady, flare-up and two stalls, starting from the person's own intake pain."""
    morning = assessment.pain.on_waking or 0
    during = min(assessment.pain.during_activity or 0, 3)
    stiffness = min(morning, 2)
    steady = Scenario(
        name="steady",
        weeks=12,
        session_pain=_easing(during),
        morning_pain=_easing(morning),
        morning_stiffness=_easing(stiffness),
    )
    stall = Scenario(
        name="stallflat",
        weeks=12,
        session_pain=(min(during, 2),),
        morning_pain=(morning,),
        morning_stiffness=(stiffness,),
    )
    return {
        "steady": steady,
        "flare": steady.model_copy(
            update={
                "name": "flare",
                "spike_sessions": (10,),
                "spike_pain": 7,
                "spike_morning": min(10, morning + 3),
            }
        ),
        "stall-flat": stall.model_copy(
            update={
                "lsi_gain_per_week": 0.0,
                "outcome_gain_per_week": 0.0,
                "step_down_clean_from_week": 99,
                "balance_gain_per_week": 0.0,
                "hops_pain_free_from_week": 99,
            }
        ),
        "stall-form": stall.model_copy(
            update={"name": "stallform", "fault_weeks": tuple(range(20))}
        ),
    }


def walk(
    program: Program,
    baseline: Assessment,
    rules: Rules,
    *,
    weeks: int,
    pain: Callable[[int], int],
    pain_after: Callable[[int], int],
    morning: Callable[[int], int],
    rpe: float = 6.0,
    checkin: Callable[[int], bool] = lambda offset: True,
    retest: Callable[[Assessment], Assessment] = lambda assessment: assessment,
) -> tuple[list[HistoryEvent], Program, list[Decision]]:
    """A person walked day by day, with hooks for what `Scenario` cannot say: mornings with
    no check-in, and retests that come out differently from the steady improvement."""
    steady = Scenario(name="walk", weeks=weeks, session_pain=(0,), morning_pain=(0,))
    history: list[HistoryEvent] = []
    decisions: list[Decision] = []
    number = 0
    last: dt.date | None = None
    retest_wanted = False
    for offset in range(weeks * 7):
        day = program.start_date + dt.timedelta(days=offset)
        week = offset // 7
        if last is not None and last == day - dt.timedelta(days=1) and checkin(offset):
            value = morning(week)
            history.append(
                CheckIn(date=day, pain_on_waking=value, stiffness_on_waking=min(10, value))
            )
        if retest_wanted:
            found = retest_assessment(baseline, steady, offset / 7, day)
            history.append(Retest(date=day, assessment=retest(found)))
            retest_wanted = False
        if program.is_training_day(day) and not program.state.referred:
            number += 1
            exercises = _as_prescribed(program, pain(week), rpe, None, {})
            history.append(
                SessionLog(
                    id=f"walk-{number:03d}",
                    date=day,
                    exercises=exercises,
                    pain_after=pain_after(week),
                )
            )
            last = day
        result = advance(program, history, rules, day)
        program = result.program
        decisions.extend(result.decisions)
        # A retest the engine asks for is done the next day.
        retest_wanted = any(d.rule.startswith("prompt.retest") for d in result.decisions)
    return history, program, decisions


def _left_heel_raises(value: int) -> Callable[[Assessment], Assessment]:
    def worse(assessment: Assessment) -> Assessment:
        pair = assessment.tests.heel_raise_reps
        assert pair is not None
        tests = assessment.tests.model_copy(
            update={"heel_raise_reps": pair.model_copy(update={"left": value})}
        )
        return assessment.model_copy(update={"tests": tests})

    return worse


def awkward_histories(
    rules: Rules, intake: Intake, program: Program
) -> dict[str, tuple[list[HistoryEvent], Program, list[Decision]]]:
    """The review's awkward histories, on the mid-portion Achilles example."""
    assert intake.assessment is not None
    baseline = intake.assessment.model_copy(update={"date": program.start_date})

    run = partial(walk, program, baseline, rules)

    return {
        "pain-2-during-8-after": run(
            weeks=3, pain=lambda w: 2, pain_after=lambda w: 8, morning=lambda w: 3
        ),
        "no-checkins-week-2": run(
            weeks=3,
            pain=lambda w: 2,
            pain_after=lambda w: 2,
            morning=lambda w: 3 if w == 0 else 2,
            checkin=lambda offset: not 7 <= offset < 14,
        ),
        "morning-creeping-up": run(
            weeks=8, pain=lambda w: 2, pain_after=lambda w: 2, morning=lambda w: min(10, 3 + w)
        ),
        "effort-9": run(
            weeks=6, pain=lambda w: 2, pain_after=lambda w: 2, morning=lambda w: 3, rpe=9.0
        ),
        "retest-worse": run(
            weeks=6,
            pain=lambda w: 2,
            pain_after=lambda w: 2,
            morning=lambda w: 3,
            retest=_left_heel_raises(4),
        ),
    }


def write_log(path: Path, events: list[HistoryEvent], header: str) -> None:
    data = [e.model_dump(mode="json", exclude_defaults=True) | {"type": e.type} for e in events]
    path.write_text(
        f"# {header}\n# Written by scripts/pathway_review.py.\n"
        + yaml.safe_dump({"events": data}, sort_keys=False, width=100)
    )


def summary(name: str, program: Program, decisions: list[Decision]) -> str:
    rules_fired = Counter(d.rule for d in decisions)
    shown = ", ".join(f"{rule} {n}" for rule, n in sorted(rules_fired.items()))
    referred = " REFERRED" if program.state.referred else ""
    return f"{name}: phase {program.phase.value}{referred}; {shown}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("/tmp/pathway-review"))
    parser.add_argument(
        "--only",
        action="append",
        choices=EXAMPLES,
        metavar="EXAMPLE",
        help="run only this example (repeatable); the awkward histories come with "
        "clear-left-calf and the return-to-running runs with ankle-instability",
    )
    parser.add_argument(
        "--scenario",
        action="append",
        choices=SCENARIOS,
        help="run only this scenario of the four (repeatable)",
    )
    parser.add_argument(
        "--no-extras",
        action="store_true",
        help="leave out the awkward histories and the return-to-running runs",
    )
    args = parser.parse_args()
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    examples = tuple(args.only) if args.only else EXAMPLES
    scenarios = set(args.scenario) if args.scenario else set(SCENARIOS)
    extras = not args.no_extras
    rules = load_rules()
    for example in examples:
        path = ROOT / "examples" / f"{example}.yaml"
        intake = validate(Intake, read_document(path), str(path))
        assert intake.assessment is not None
        _, program = build_program(intake, rules)
        baseline = intake.assessment.model_copy(update={"date": program.start_date})
        for name, scenario in standard_scenarios(intake.assessment).items():
            if name not in scenarios:
                continue
            events, final, decisions = follow(program, baseline, scenario, rules)
            write_log(out / f"{example}-{name}.yaml", events, f"{example}: {name}")
            print(summary(f"{example}-{name}", final, decisions))
        if example == "clear-left-calf" and extras:
            for name, (events, final, decisions) in awkward_histories(
                rules, intake, program
            ).items():
                write_log(out / f"{example}-{name}.yaml", events, f"{example}: {name}")
                print(summary(f"{example}-{name}", final, decisions))
    if extras and "ankle-instability" in examples:
        return_to_running(out, rules)


def return_to_running(out: Path, rules: Rules) -> None:
    # Return to running, logged at 3/10 during every run (the walk-run rule says 2/10 or less) …
    path = ROOT / "examples" / "ankle-instability.yaml"
    intake = validate(Intake, read_document(path), str(path))
    assert intake.assessment is not None
    _, program = build_program(intake, rules, template="return_to_run")
    (out / "ankle-instability-return_to_run.program.json").write_text(
        json.dumps({"program": program.model_dump(mode="json")}, indent=1)
    )
    baseline = intake.assessment.model_copy(update={"date": program.start_date})
    # … and at 1/10 for six weeks: how fast the running minutes grow within the caps.
    for pain, weeks in ((3, 3), (1, 6)):
        events, final, decisions = walk(
            program,
            baseline,
            rules,
            weeks=weeks,
            pain=lambda w, pain=pain: pain,
            pain_after=lambda w, pain=pain: pain,
            morning=lambda w: 0,
            rpe=5.0,
        )
        name = f"ankle-instability-return_to_run-pain-{pain}"
        write_log(out / f"{name}.yaml", events, f"return to running, {pain}/10 during every run")
        print(summary(name, final, decisions))


if __name__ == "__main__":
    main()
