"""`groundup plan`, `groundup simulate` and `groundup demo`: programs and their timelines."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import Field

from groundup.cli.commands import read_intake
from groundup.cli.files import InputError, read_document, validate
from groundup.cli.main import EXIT_REFER, app, fail, out
from groundup.cli.program_render import (
    decisions_table,
    offered_templates,
    program_view,
    referral_panel,
)
from groundup.clinical.exercises import Frozen
from groundup.clinical.intake import Intake, outcome_scores
from groundup.clinical.logs import Event
from groundup.clinical.outcomes import OutcomeError
from groundup.clinical.planning import PlanningError, ReferralError, plan, session_minutes
from groundup.clinical.profile import build_profile
from groundup.clinical.program import Preferences, Program
from groundup.clinical.progression import Decision, advance
from groundup.clinical.rules import Rules
from groundup.clinical.screening import ScreenAnswers, ScreenResult, screen
from groundup.clinical.vocabulary import Equipment
from groundup.knowledge import load_rules, load_screening_rules


class LogFile(Frozen):
    """A file of logged events: sessions, check-ins, retests and overrides."""

    events: tuple[Event, ...] = Field(max_length=20000)


def build_program(
    intake: Intake,
    rules: Rules,
    *,
    equipment: list[str] | None = None,
    minutes: int | None = None,
    template: str | None = None,
    start: dt.date | None = None,
) -> tuple[ScreenResult, Program]:
    """Screen, assess and plan from an intake; ReferralError when the screen refers."""
    if intake.assessment is None:
        raise InputError("the file has no 'assessment' section: a program needs an assessment")
    result = screen(intake.screen or ScreenAnswers(), load_screening_rules())
    preferences = intake.preferences
    if equipment:
        try:
            chosen = tuple(Equipment(e.strip().lower().replace(" ", "_")) for e in equipment)
        except ValueError as exc:
            options = ", ".join(e.value for e in Equipment)
            raise InputError(f"--equipment: {exc}; choose from: {options}") from None
        preferences = preferences.model_copy(update={"equipment": chosen})
    if minutes is not None:
        preferences = validate(
            Preferences, {**preferences.model_dump(), "minutes_per_session": minutes}, "--minutes"
        )
    assessment = intake.assessment
    start = start or assessment.date or dt.date.today()
    if assessment.date is None:
        assessment = assessment.model_copy(update={"date": start})
    profile = build_profile(assessment, rules.assessment)
    try:
        outcomes = outcome_scores(assessment, rules.questionnaires)
    except OutcomeError as exc:
        raise InputError(f"assessment: {exc}") from exc
    try:
        program = plan(
            profile,
            preferences,
            rules,
            screen=result,
            start=start,
            template=template,
            outcomes=outcomes,
            assessment=assessment,
        )
    except PlanningError as exc:
        raise InputError(str(exc)) from exc
    return result, program


def _program_json(program: Program, rules: Rules) -> dict[str, Any]:
    data = program.model_dump(mode="json")
    data["estimated_minutes"] = round(session_minutes(program.slots, rules), 1)
    data["templates_offered"] = list(rules.pathways[program.pathway].templates)
    return data


@app.command("plan")
def plan_command(
    file: Annotated[Path, typer.Argument(help="intake file (YAML or JSON): screen + assessment")],
    as_json: Annotated[bool, typer.Option("--json", help="machine-readable output")] = False,
    equipment: Annotated[
        list[str] | None, typer.Option(help="equipment you have (repeat the option)")
    ] = None,
    minutes: Annotated[int | None, typer.Option(help="minutes per session (10–120)")] = None,
    template: Annotated[
        str | None,
        typer.Option(
            help="a ready-made program instead of the tailored one: ground_up, alfredson, "
            "heavy_slow_resistance, floor_heel_drops, high_load_heel_raises or return_to_run "
            "(the plan lists those that suit the condition)"
        ),
    ] = None,
    clinician: Annotated[bool, typer.Option(help="clinical wording")] = False,
) -> None:
    """Build a program from an intake file. Exits 3, with no program, if the screen refers."""
    rules = load_rules()
    intake = read_intake(file, "assessment")
    try:
        result, program = build_program(
            intake, rules, equipment=equipment, minutes=minutes, template=template
        )
    except ReferralError:
        result = screen(intake.screen or ScreenAnswers(), load_screening_rules())
        if as_json:
            out.print_json(json.dumps({"referred": True, "screen": result.model_dump(mode="json")}))
        else:
            out.print(referral_panel(result.advice))
            for reason in result.reasons:
                out.print(f"• {reason.clinician_text if clinician else reason.person_text}")
            out.print("No program was made: please see a doctor first.")
        raise typer.Exit(EXIT_REFER) from None
    if as_json:
        out.print_json(json.dumps({"referred": False, "program": _program_json(program, rules)}))
        return
    out.print(program_view(program, rules, clinician=clinician))
    offered = offered_templates(program, rules, str(file))
    if offered is not None:
        out.print(offered)


def read_log(path: Path) -> LogFile:
    data = read_document(path)
    if isinstance(data, list):
        data = {"events": data}
    return validate(LogFile, data, str(path))


def run_log(program: Program, log: LogFile, rules: Rules) -> tuple[Program, list[Decision]]:
    """Walk a program through the logged events, day by day, as they would have arrived."""
    events = list(log.events)
    if not events:
        return program, []
    decisions: list[Decision] = []
    days = sorted({e.date for e in events})
    ids = [e.id for e in events if e.type == "session"]
    if len(ids) != len(set(ids)):
        duplicate = next(i for i in ids if ids.count(i) > 1)
        raise InputError(f"session id {duplicate!r} appears twice in the log")
    for day in days:
        outcome = advance(program, events, rules, day)
        program = outcome.program
        decisions.extend(outcome.decisions)
    return program, decisions


@app.command("simulate")
def simulate_command(
    program_file: Annotated[
        Path,
        typer.Argument(
            metavar="PLAN_OR_ASSESSMENT", help="an intake file, or a program from `plan --json`"
        ),
    ],
    log_file: Annotated[
        Path,
        typer.Argument(metavar="LOGFILE", help="sessions, check-ins and retests (YAML or JSON)"),
    ],
    as_json: Annotated[bool, typer.Option("--json", help="machine-readable output")] = False,
    clinician: Annotated[bool, typer.Option(help="clinical wording")] = False,
    quiet: Annotated[bool, typer.Option(help="leave out holds and notes")] = False,
) -> None:
    """Walk a program through a log and print the decision timeline."""
    rules = load_rules()
    program = _load_program(program_file, rules)
    log = read_log(log_file)
    for event in log.events:
        if event.date < program.start_date:
            raise fail(
                f"{log_file}: event on {event.date} is before the program starts ({program.start_date})"
            )
    final, decisions = run_log(program, log, rules)
    if as_json:
        out.print_json(
            json.dumps(
                {
                    "decisions": [d.model_dump(mode="json") for d in decisions],
                    "program": _program_json(final, rules),
                }
            )
        )
        return
    shown = [d for d in decisions if not quiet or d.kind not in ("hold", "info")]
    out.print(decisions_table(shown, clinician=clinician))
    out.print(program_view(final, rules, reasons=False))
    if final.state.referred:
        out.print(referral_panel(final.state.referral_reason or "Referred."))


def _load_program(path: Path, rules: Rules) -> Program:
    data = read_document(path)
    if isinstance(data, dict) and "program" in data and isinstance(data["program"], dict):
        raw = dict(data["program"])
        raw.pop("estimated_minutes", None)
        raw.pop("templates_offered", None)
        return validate(Program, raw, str(path))
    intake = validate(Intake, data, str(path))
    try:
        _, program = build_program(intake, rules)
    except ReferralError:
        raise fail(
            f"{path}: the safety screen refers; there is no program to simulate", EXIT_REFER
        ) from None
    return program


@app.command("tour")
def demo_command(
    examples: Annotated[
        Path, typer.Option(help="folder holding the example intakes and logs")
    ] = Path("examples"),
) -> None:
    """A guided tour: the library, a safety screen that refers, an assessment, the program
    it produces, and sixteen weeks of logged sessions replayed through the engine."""
    from rich.rule import Rule

    from groundup.cli import render

    rules = load_rules()
    clear = examples / "clear-left-calf.yaml"
    refer = examples / "refer-dvt.yaml"
    steady = examples / "logs" / "steady-recovery.yaml"
    for needed in (clear, refer, steady):
        if not needed.exists():
            raise fail(f"{needed}: example file missing; run the demo from the groundup folder")

    out.print(Rule("[bold]groundup[/] — stepwise strengthening for lower-leg imbalances"))
    out.print(
        f"The exercise library holds {len(rules.library)} exercises, each with its dose, "
        "tempo, difficulty setting, cues, faults and ladder. One of them:"
    )
    out.print(render.exercise_card(rules.library["tibialis_raise_wall"]))

    out.print(Rule("1. The safety screen comes first"))
    out.print(f"[dim]{refer}[/]: someone whose answers point to a possible blood clot.")
    refer_intake = read_intake(refer, "screen")
    out.print(
        render.screen_report(screen(refer_intake.screen or ScreenAnswers(), load_screening_rules()))
    )
    out.print("No program is made for this person.")

    out.print(Rule("2. The assessment, side by side"))
    intake = read_intake(clear, "assessment")
    result, program = build_program(intake, rules)
    out.print(render.screen_verdict(result))
    out.print(render.profile_report(program.profile, rules.assessment))

    out.print(Rule("3. The program"))
    out.print(program_view(program, rules))

    out.print(Rule("4. Sixteen weeks of logged sessions, replayed"))
    final, decisions = run_log(program, read_log(steady), rules)
    important = [d for d in decisions if d.kind in ("phase", "flare", "refer", "regress", "prompt")]
    progressions = sum(1 for d in decisions if d.kind == "progress")
    out.print(
        f"{len(read_log(steady).events)} logged events gave {len(decisions)} decisions, "
        f"{progressions} of them small steps up. The milestones:"
    )
    out.print(decisions_table(important))
    out.print(program_view(final, rules, reasons=False))

    out.print(Rule("5. Day by day, stored in the database"))
    _demo_everyday(intake, rules)
    out.print(Rule())
    out.print(
        "Start your own: `.venv/bin/groundup start` (questions and guided tests) or "
        "`groundup start examples/clear-left-calf.yaml --name You`; then `groundup today`, "
        "`groundup log`, `groundup checkin`, `groundup progress`, `groundup why`. "
        "Also: `groundup simulate examples/clear-left-calf.yaml examples/logs/flare-up.yaml`, "
        "`groundup exercises --phase 3`, `groundup --help`."
    )


def _demo_everyday(intake: Intake, rules: Rules) -> None:
    """Two weeks of a demo person through the service layer, on a demo SQLite database
    in the data folder (never the person's own), then what they would see today."""
    from groundup.cli.context import Display
    from groundup.cli.person_commands import today_table
    from groundup.clinical.logs import CheckIn, ExerciseLog, SessionLog, SetLog
    from groundup.config import get_settings
    from groundup.services import Services
    from groundup.storage.database import Database

    settings = get_settings()
    path = settings.data_dir / "demo.db"
    path.unlink(missing_ok=True)
    for suffix in ("-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    database = Database(f"sqlite:///{path}")
    services = Services(database, rules, actor="demo")
    assert intake.screen is not None and intake.assessment is not None
    today = dt.date.today()
    start = today - dt.timedelta(days=14)
    person = services.enrol("Demo")
    services.record_screen(person, intake.screen, start)
    services.start_program(
        person, intake.assessment.model_copy(update={"date": start}), intake.preferences, day=start
    )
    out.print(
        f"A demo person starts the same program on {start.isoformat()} in [dim]{path}[/] "
        "(SQLite, no set-up). Each training day they log the session; each morning they check in."
    )
    decisions: list[Decision] = []
    for offset in range(15):
        day = start + dt.timedelta(days=offset)
        if offset:
            decisions += services.record_checkin(
                person,
                CheckIn(date=day, pain_on_waking=2 if offset < 7 else 1, stiffness_on_waking=1),
            )
        if day == today:
            break
        view = services.today(person, day)
        if view.status != "planned":
            continue
        program = view.program
        exercises = tuple(
            ExerciseLog(
                exercise_id=slot.exercise_id,
                side=dose.side,
                sets=tuple(
                    SetLog(amount=dose.amount, load_kg=dose.load_kg, rpe=6, pain=2)
                    for _ in range(dose.sets)
                ),
            )
            for slot in program.slots
            for dose in slot.doses
        )
        outcome = services.log_session(
            person, SessionLog(id=f"demo-{day.isoformat()}", date=day, exercises=exercises)
        )
        decisions += outcome.decisions
    out.print(decisions_table([d for d in decisions if d.kind != "info"]))
    view = services.today(person, today)
    label = (
        "today's session" if view.status == "planned" else "the next session (today is a rest day)"
    )
    out.print(f"What `groundup today` shows them now, {label}:")
    out.print(today_table(view.program, Display()))
    database.dispose()
