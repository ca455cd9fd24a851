"""The everyday commands of a person managing their own program: today, log, check-in,
progress, history, why, export, import, backup — on the configured database."""

from __future__ import annotations

import datetime as dt
import json
import math
import shutil
import sqlite3
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, TypeVar, cast

import typer
from rich.progress import Progress
from rich.prompt import Confirm, FloatPrompt, IntPrompt, Prompt
from rich.table import Table
from rich.text import Text
from sqlalchemy.engine import make_url

from groundup.cli.context import (
    Display,
    display_for,
    forget_person,
    parse_date,
    person_id,
    remember_person,
    services,
)
from groundup.cli.files import (
    MAX_RECORD_BYTES,
    MAX_RECORD_VALUES,
    InputError,
    read_document,
    validate,
)
from groundup.cli.main import EXIT_REFER, app, fail, out
from groundup.cli.program_render import WEEKDAYS, decisions_table, dose_line, referral_panel
from groundup.clinical.logs import (
    QUESTIONNAIRE_MAX_WEEKS,
    CheckIn,
    ExerciseLog,
    Override,
    SessionLog,
    SetLog,
)
from groundup.clinical.program import Program, dose_words
from groundup.clinical.progression import Decision, questionnaires_due_on
from groundup.documents.handout import pain_zones
from groundup.interop.files import FORMATS, ExportFormat, export_file, import_record
from groundup.knowledge import load_rules
from groundup.services import ServiceError
from groundup.services.workflow import ProgressData, progress_data

PersonOption = Annotated[
    str | None, typer.Option("--person", help="person id (or its start); default: the current one")
]
DateOption = Annotated[
    str | None, typer.Option("--date", help="YYYY-MM-DD, 'today' or 'yesterday'; default today")
]
T = TypeVar("T")


def _call(action: Callable[[], T]) -> T:
    """Run a service call; its refusals become one readable line."""
    try:
        return action()
    except ServiceError as exc:
        raise InputError(str(exc)) from exc


def _show_decisions(
    decisions: tuple[Decision, ...] | list[Decision], *, clinician: bool = False
) -> None:
    shown = [d for d in decisions if d.kind != "info" or d.rule.startswith(("retest", "note."))]
    if not shown:
        out.print("No change to your program.")
        return
    out.print(decisions_table(shown, clinician=clinician))
    for decision in decisions:
        if decision.kind == "refer":
            out.print(referral_panel(decision.person_text))
            out.print(PAUSED_STEPS)


PAUSED_STEPS = (
    "Your program is paused: do no exercises from it until you have been seen. When a "
    "doctor or physiotherapist says you can carry on, your clinician restarts it "
    "(`groundup override resume`). Until then no session is shown or logged."
)


RECHECK_HINT = (
    "If you have not yet, answer the safety questions about pain at rest, at night and on "
    "the bone again: `groundup recheck`."
)


def _paused(pid: str, as_json: bool, day: dt.date) -> bool:
    """After a referral: say so, with its urgency and what to do, and show no session."""
    decision = _call(lambda: services().referral(pid))
    program = _call(lambda: services().program(pid))
    if not program.state.referred:
        return False
    text = decision.person_text if decision else "Please see a doctor or physiotherapist."
    urgency = str(decision.numbers.get("urgency", "")) if decision else ""
    if as_json:
        out.print_json(
            json.dumps(
                {
                    "date": day.isoformat(),
                    "paused": True,
                    "urgency": urgency or None,
                    "advice": text,
                    "slots": [],
                }
            )
        )
        return True
    out.print(referral_panel(text))
    out.print(PAUSED_STEPS)
    return True


# ----- people -----------------------------------------------------------------------------


@app.command("people")
def people_command(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Everyone enrolled in this database."""
    people = services().patients()
    if as_json:
        out.print_json(
            json.dumps(
                [
                    {
                        "id": p.id,
                        "name": p.display_name,
                        "phase": p.phase,
                        "version": p.version,
                        "last_activity": p.last_activity.isoformat() if p.last_activity else None,
                    }
                    for p in people
                ]
            )
        )
        return
    if not people:
        out.print("Nobody is enrolled yet: `groundup start` begins.")
        return
    table = Table(title="People")
    for column in ("id", "name", "phase", "program version", "last session"):
        table.add_column(column)
    for p in people:
        table.add_row(
            p.id[:8],
            p.display_name,
            p.phase or "—",
            str(p.version or "—"),
            p.last_activity.isoformat() if p.last_activity else "—",
        )
    out.print(table)


@app.command("use")
def use_command(person: Annotated[str, typer.Argument(help="person id or its start")]) -> None:
    """Make one person the default for the commands that follow."""
    chosen = person_id(person)
    remember_person(chosen)
    out.print(f"Now working with {chosen[:8]}.")


@app.command("settings")
def settings_command(
    person: PersonOption = None,
    units: Annotated[str | None, typer.Option(help="metric (cm, kg) or imperial (in, lb)")] = None,
    date_format: Annotated[
        str | None, typer.Option(help="%Y-%m-%d, %d/%m/%Y, %m/%d/%Y or %d.%m.%Y")
    ] = None,
) -> None:
    """Show or change how dates and units are shown."""
    pid = person_id(person)
    display = display_for(pid)
    length, mass = display.length_unit, display.mass_unit
    if units is not None:
        if units not in ("metric", "imperial"):
            raise fail(f"--units {units!r}: choose metric or imperial")
        length, mass = ("cm", "kg") if units == "metric" else ("in", "lb")
    chosen_format = date_format or display.date_format
    _call(lambda: services().set_display(pid, length, mass, chosen_format))
    shown = Display(length, mass, chosen_format)
    out.print(f"Lengths in {length}, weights in {mass}, dates like {shown.date(dt.date.today())}.")


# ----- today ------------------------------------------------------------------------------


def today_table(program: Program, display: Display) -> Table:
    library = load_rules().library
    table = Table(expand=False)
    for column in ("", "exercise", "side", "dose", "tempo", "difficulty", "cue"):
        table.add_column(column, max_width=44 if column == "cue" else None)
    parts = {"warm_up": "warm-up", "main": "main", "mobility": "mobility"}
    for slot in program.slots:
        exercise = library[slot.exercise_id]
        for n, dose in enumerate(slot.doses):
            knob = (
                exercise.knob.describe(dose.knob) if exercise.knob and dose.knob is not None else ""
            )
            text = dose_words(dose, exercise.dose_type)
            if dose.load_kg:
                text += f" @ {display.mass(dose.load_kg)}"
            name = exercise.name
            if slot.pair_with and n == 0:
                name += f" ↔ {library[slot.pair_with].name.lower()}"
            table.add_row(
                parts[slot.part] if n == 0 else "",
                name if n == 0 else "",
                dose.side.value if dose.side else "both",
                text,
                dose.tempo.text() if dose.tempo else "",
                knob,
                exercise.cues[0] if n == 0 else "",
            )
    return table


@app.command("today")
def today_command(
    person: PersonOption = None,
    date: DateOption = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Today's session: exercise, side, dose, tempo, difficulty setting and a cue."""
    pid = person_id(person)
    display = display_for(pid)
    day = parse_date(date, display)
    today = _call(lambda: services().today(pid, day))
    if today.program.state.referred and _paused(pid, as_json, day):
        return
    _, due = _questionnaires_due(pid, today.program)
    if as_json:
        out.print_json(
            json.dumps(
                {
                    "date": day.isoformat(),
                    "paused": False,
                    "status": today.status,
                    "scheduled": today.scheduled,
                    "program_version": today.program.version,
                    "phase": today.program.phase.value,
                    "slots": [s.model_dump(mode="json") for s in today.slots],
                    "questionnaires_due": due.isoformat() if due else None,
                }
            )
        )
        return
    program = today.program
    if not today.scheduled:
        days = ", ".join(WEEKDAYS[d] for d in program.training_days)
        out.print(
            f"{display.date(day)} is a rest day (training days: {days}). Here is the session for your next one."
        )
    elif today.status != "planned":
        out.print(
            f"Today's session is {today.status}. Well done — rest, and check in tomorrow morning."
        )
    else:
        out.print(
            Text(
                f"Today, {display.date(day)}: phase {program.phase.number}, {program.phase.label.lower()}",
                style="bold",
            )
        )
    if program.state.flare is not None:
        started = display.date(program.state.flare.started)
        out.print(
            Text(
                f"Flare-up plan since {started}: lighter doses for now, building back up in "
                "steps. Keep doing the morning check-in.",
                style="yellow",
            )
        )
    held = [
        d
        for d in _call(lambda: services().decisions(pid, limit=30))
        if d.kind == "hold" and d.date <= day
    ]
    if held:
        latest = max(d.date for d in held)
        for decision in held:
            if decision.date == latest:
                out.print(Text(f"Kept the same for now: {decision.person_text}", style="yellow"))
    assessed = _call(lambda: services().assessments(pid))
    if assessed:
        last = max(a[0] for a in assessed)
        weeks = load_rules().progression.retest_every_weeks
        if day >= last + dt.timedelta(weeks=weeks):
            out.print(
                f"A re-test is due: your last tests were on {display.date(last)}. "
                "Do them again with `groundup retest FILE`."
            )
    if program.state.last_recheck_prompt == day:
        out.print(
            Text(f"Your pain on waking was high this morning. {RECHECK_HINT}", style="yellow")
        )
    answered, due = _questionnaires_due(pid, program)
    if due is not None and day >= due:
        when = (
            f"you last answered them on {display.date(answered)}"
            if answered
            else "you have not answered them yet"
        )
        out.print(
            f"Your questionnaires are due ({when}): a few minutes of questions on how your "
            "leg affects everyday life. Answer them with `groundup questionnaires FILE`, or "
            "on the Questionnaires page of the web app."
        )
    out.print(today_table(program, display))
    out.print("After the session: `groundup log`. Tomorrow morning: `groundup checkin`.")


def _questionnaires_due(pid: str, program: Program) -> tuple[dt.date | None, dt.date | None]:
    """When the person last answered their questionnaires, and when they fall due (None:
    switched off by the clinician)."""
    answered = _call(lambda: services().questionnaires_last(pid))
    return answered, questionnaires_due_on(program, answered, load_rules())


@app.command("questionnaires")
def questionnaires_command(
    file: Annotated[
        Path,
        typer.Argument(
            metavar="FILE",
            help="a YAML or JSON file: each questionnaire's id (lefs, faam_adl, faam_sports, "
            "visa_a) with its answers by item, as in the assessment files",
        ),
    ],
    person: PersonOption = None,
    date: DateOption = None,
) -> None:
    """Answer your questionnaires on their own (no tests): the scores are kept and compared
    with your first ones."""
    pid = person_id(person)
    display = display_for(pid)
    day = parse_date(date, display)
    data = read_document(file)
    if isinstance(data, dict) and isinstance(data.get("assessment"), dict):
        data = data["assessment"]
    if not isinstance(data, dict) or not data:
        raise fail(f"{file}: expected each questionnaire's id with its answers, e.g. 'lefs:'")
    known = set(load_rules().questionnaires.ids)
    answers = {k: v for k, v in data.items() if k in known}
    unknown = [k for k in data if k not in known and k not in ("date",)]
    if unknown:
        raise fail(
            f"{file}: {unknown[0]!r} is not a questionnaire; the questionnaires are: "
            + ", ".join(sorted(known))
        )
    bad = [k for k, v in answers.items() if not isinstance(v, dict)]
    if bad:
        raise fail(f"{file}: {bad[0]}: give the answers by item, e.g. '{bad[0]}: {{q1: 3}}'")
    decisions = _call(lambda: services().record_questionnaires(pid, answers, day))
    out.print("Answers saved. Your progress compares these scores with your first ones.")
    _show_decisions(decisions)


# ----- logging ----------------------------------------------------------------------------


def _as_prescribed(
    program: Program, pain: int, effort: float | None, rir: int | None, faults: dict[str, str]
) -> tuple[ExerciseLog, ...]:
    logs = []
    for slot in program.slots:
        for dose in slot.doses:
            form = faults.get(slot.exercise_id, "clean")
            this_pain = pain if slot.part == "main" else min(pain, 2)
            sets = tuple(
                SetLog(
                    amount=dose.amount,
                    load_kg=dose.load_kg,
                    knob=dose.knob,
                    rpe=effort,
                    rir=rir,
                    pain=this_pain,
                    form=form if n == dose.sets - 1 else "clean",
                )
                for n in range(dose.sets)
            )
            logs.append(ExerciseLog(exercise_id=slot.exercise_id, side=dose.side, sets=sets))
    return tuple(logs)


def _ask_int(label: str, low: int, high: int, default: int | None = None) -> int:
    while True:
        value = IntPrompt.ask(label, default=default, console=out)
        if value is not None and low <= value <= high:
            return value
        out.print(f"Please give a whole number from {low} to {high}.")


@dataclass
class Played:
    """A session as the terminal asked it: what was done, and whether it stopped early."""

    exercises: tuple[ExerciseLog, ...] = ()
    stopped_pain: int | None = None  # pain in the flare-up zone ended the session
    signs: tuple[str, ...] = ()  # warning signs that stopped it


def _ask_signs() -> tuple[str, ...]:
    """The screen's own list of warning signs, by number; empty for none."""
    signs = list(load_rules().screening.checkin_signs.items())
    for n, (_, sign) in enumerate(signs, 1):
        out.print(f"  {n}. {sign.text}")
    while True:
        answer = Prompt.ask(
            "Numbers of any that fit, separated by commas (Enter for none)",
            default="",
            show_default=False,
            console=out,
        )
        parts = [p.strip() for p in answer.replace(" ", ",").split(",") if p.strip()]
        if all(p.isdigit() and 1 <= int(p) <= len(signs) for p in parts):
            return tuple(dict.fromkeys(signs[int(p) - 1][0] for p in parts))
        out.print(f"Please give numbers from 1 to {len(signs)}, or press Enter for none.")


def _interactive_log(program: Program, display: Display) -> Played:
    rules = load_rules()
    library, p = rules.library, rules.progression
    logs: list[ExerciseLog] = []
    out.print(
        f"Pain {p.pain_acceptable_max + 1} or more stops that exercise; {p.flare_pain} or more "
        "stops the session. Answer 'stop' if you notice a warning sign."
    )
    ended: set[str] = set()
    for slot in program.slots:
        exercise = library[slot.exercise_id]
        for dose in slot.doses:
            side = f" ({dose.side.value})" if dose.side else ""
            if slot.exercise_id in ended:
                out.print(f"{exercise.name}{side}: left out, it was stopped for pain.")
                continue
            out.print(
                Text(f"{exercise.name}{side}: {dose_line(dose, exercise.dose_type)}", style="bold")
            )
            did = Prompt.ask(
                "Did you do it? (yes, no, or stop for a warning sign)",
                choices=["yes", "no", "stop"],
                default="yes",
                console=out,
            )
            if did == "stop":
                out.print("Which of these did you notice?")
                signs = _ask_signs()
                if signs:
                    return Played(tuple(logs), signs=signs)
                out.print("None of them: carry on, and stop if anything worries you.")
                did = "yes" if Confirm.ask("Did you do it?", default=True, console=out) else "no"
            if did == "no":
                continue
            as_planned = Confirm.ask("All sets as prescribed?", default=True, console=out)
            pain = _ask_int("Pain during it (0–10)", 0, 10, 0)
            effort = float(_ask_int("How hard was it (1 easy … 10 maximal)", 1, 10, 6))
            form = "clean"
            if exercise.faults and not Confirm.ask(
                "Form clean throughout?", default=True, console=out
            ):
                choices = [f.id for f in exercise.faults]
                for n, fault in enumerate(exercise.faults, 1):
                    out.print(f"  {n}. {fault.text}")
                picked = _ask_int("Which fault", 1, len(choices), 1)
                form = choices[picked - 1]
            sets = []
            for number in range(1, dose.sets + 1):
                amount = dose.amount
                if not as_planned:
                    amount = FloatPrompt.ask(
                        f"  set {number}: amount done", default=dose.amount, console=out
                    )
                    amount = max(0.0, min(3600.0, amount))
                sets.append(
                    SetLog(
                        amount=amount,
                        load_kg=dose.load_kg,
                        knob=dose.knob,
                        rpe=effort,
                        pain=pain,
                        form=form if number == dose.sets else "clean",
                    )
                )
            logs.append(ExerciseLog(exercise_id=slot.exercise_id, side=dose.side, sets=tuple(sets)))
            if pain >= p.flare_pain:
                return Played(tuple(logs), stopped_pain=pain)
            if pain > p.pain_acceptable_max:
                ended.add(slot.exercise_id)
                later = (
                    "Next time it steps back: an easier version, or about "
                    f"{p.regress_volume_fraction:.0%} less work.".replace("%", " %")
                    if slot.part == "main"
                    else "Next time go gently; if it hurts this much again, leave it out."
                )
                out.print(
                    Text(
                        f"Pain {pain}: stop {exercise.name.lower()} for today. The sets you "
                        f"did are kept. {later}",
                        style="yellow",
                    )
                )
    if not logs:
        raise InputError("nothing was logged; use `groundup log --skip` for a skipped session")
    return Played(tuple(logs))


def _parse_pairs(values: list[str] | None, what: str) -> dict[str, str]:
    pairs: dict[str, str] = {}
    for value in values or []:
        if "=" not in value:
            raise InputError(f"--{what} {value!r}: write it as EXERCISE_ID={what.upper()}")
        key, _, val = value.partition("=")
        pairs[key.strip()] = val.strip()
    return pairs


@app.command("log")
def log_command(
    person: PersonOption = None,
    date: DateOption = None,
    file: Annotated[Path | None, typer.Option(help="a session log file (YAML or JSON)")] = None,
    log_id: Annotated[
        str | None, typer.Option("--id", help="your id for this log; a retry reuses it")
    ] = None,
    as_prescribed: Annotated[bool, typer.Option(help="every set done as prescribed")] = False,
    pain: Annotated[int | None, typer.Option(help="pain during the main work, 0–10")] = None,
    pain_after: Annotated[
        int | None, typer.Option(help="pain right after the session, 0–10")
    ] = None,
    rpe: Annotated[float | None, typer.Option(help="effort, 1–10")] = None,
    rir: Annotated[int | None, typer.Option(help="reps left in reserve, instead of --rpe")] = None,
    fault: Annotated[
        list[str] | None, typer.Option(help="EXERCISE_ID=FAULT_ID for a form fault")
    ] = None,
    skip: Annotated[bool, typer.Option(help="log a skipped session")] = False,
    reason: Annotated[str, typer.Option(help="why it was skipped")] = "",
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Log a session: interactively set by set, from flags, or from a file."""
    pid = person_id(person)
    display = display_for(pid)
    day = parse_date(date, display)
    if file is not None:
        data = read_document(file)
        if isinstance(data, dict):
            data.setdefault("type", "session")
            data.setdefault("date", day.isoformat())
            data.setdefault("id", log_id or f"{pid[:8]}-{day.isoformat()}")
        log = validate(SessionLog, data, str(file))
    else:
        today = _call(lambda: services().today(pid, day))
        if today.scheduled and not today.numbers and log_id is None:
            # Everything scheduled that day is logged: a repeat of the command is a retry.
            if as_json:
                out.print_json(json.dumps({"log_id": None, "duplicate": True, "decisions": []}))
            else:
                out.print(
                    f"The session for {display.date(day)} is already logged; nothing changed."
                )
            return
        number = today.numbers[0] if today.numbers else 1
        ident = log_id or f"{pid[:8]}-{day.isoformat()}-{number}"
        if skip:
            log = validate(
                SessionLog,
                {"id": ident, "date": day, "skipped": True, "skip_reason": reason},
                "log",
            )
        elif as_prescribed:
            if pain is None or pain_after is None or (rpe is None and rir is None):
                raise fail("--as-prescribed needs --pain, --pain-after and --rpe (or --rir)")
            try:
                exercises = _as_prescribed(
                    today.program, pain, rpe, rir, _parse_pairs(fault, "fault")
                )
                log = SessionLog(id=ident, date=day, exercises=exercises, pain_after=pain_after)
            except ValueError as exc:
                from pydantic import ValidationError

                from groundup.knowledge import describe_validation_error

                if isinstance(exc, ValidationError):
                    raise InputError(describe_validation_error(exc, "log: ")) from exc
                raise
        else:
            if today.program.state.referred and _paused(pid, False, day):
                raise fail("nothing logged: your program is paused until a clinician resumes it")
            played = _interactive_log(today.program, display)
            if played.signs:
                log = SessionLog(
                    id=ident,
                    date=day,
                    exercises=played.exercises,
                    skipped=not played.exercises,
                    skip_reason="" if played.exercises else "stopped for a warning sign",
                    warning_signs=played.signs,
                )
            else:
                if played.stopped_pain is not None:
                    pain_after = played.stopped_pain
                    zone = pain_zones(load_rules().progression)[-1]
                    out.print(
                        Text(
                            f"Pain {played.stopped_pain}: stop here for today. What you did "
                            f"is saved. {zone.meaning}",
                            style="bold red",
                        )
                    )
                elif pain_after is None:
                    pain_after = _ask_int("Pain right after the session (0–10)", 0, 10)
                log = SessionLog(
                    id=ident, date=day, exercises=played.exercises, pain_after=pain_after
                )
    result = _call(lambda: services().log_session(pid, log))
    if as_json:
        out.print_json(
            json.dumps(
                {
                    "log_id": log.id,
                    "duplicate": result.duplicate,
                    "program_version": result.program.version,
                    "decisions": [d.model_dump(mode="json") for d in result.decisions],
                }
            )
        )
        return
    if result.duplicate:
        out.print(f"Session {log.id} was already logged; nothing changed.")
        return
    out.print(
        f"Logged {'a skipped session' if log.skipped else 'your session'} for {display.date(day)}."
    )
    _show_decisions(result.decisions)


def _settle_question(pid: str) -> str:
    """The pathway's question on how the pain settled within the hour (kneecap pain, C11)."""
    check = load_rules().pathways[services().program(pid).pathway].settle_check
    return check.question if check is not None else ""


@app.command("checkin")
def checkin_command(
    person: PersonOption = None,
    date: DateOption = None,
    pain: Annotated[int | None, typer.Option(help="pain on waking, 0–10")] = None,
    stiffness: Annotated[int | None, typer.Option(help="stiffness on waking, 0–10")] = None,
    sign: Annotated[
        list[str] | None,
        typer.Option(
            help="a new warning sign from the list (repeat): "
            + ", ".join(load_rules().screening.checkin_signs)
        ),
    ] = None,
    note: Annotated[
        list[str] | None,
        typer.Option(help="anything else new, in words (repeat); kept for your clinician"),
    ] = None,
    red_flag: Annotated[
        list[str] | None, typer.Option(hidden=True, help="replaced by --sign and --note")
    ] = None,
    settled: Annotated[
        str | None,
        typer.Option(
            help="kneecap pain: after your last session, was your knee back to how it was "
            "within an hour? yes, no or not-sure"
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """The next-morning check-in: pain and stiffness on waking, and any new warning sign."""
    known = load_rules().screening.checkin_signs
    if red_flag:
        raise fail(
            "--red-flag is replaced: choose the sign with --sign (one of: "
            f"{', '.join(known)}); anything else goes in --note"
        )
    unknown = [s for s in sign or [] if s not in known]
    if unknown:
        raise fail(f"--sign {unknown[0]!r} is not on the list; the signs are: {', '.join(known)}")
    pid = person_id(person)
    display = display_for(pid)
    day = parse_date(date, display)
    asked = pain is None
    if pain is None:
        pain = _ask_int("Pain on waking this morning (0–10)", 0, 10)
    if stiffness is None:
        stiffness = _ask_int("Stiffness on waking (0–10)", 0, 10)
    answer = None if settled is None else settled.replace("-", "_")
    if answer not in (None, "yes", "no", "not_sure"):
        raise fail("--settled is yes, no or not-sure")
    question = _call(lambda: _settle_question(pid))
    if asked and answer is None and question:
        answer = Prompt.ask(
            question, choices=["yes", "no", "not-sure"], default="yes", console=out
        ).replace("-", "_")
    signs = tuple(sign or ())
    if asked and not signs:
        out.print("Since your last check-in, have you noticed any of these?")
        signs = _ask_signs()

    checkin = validate(
        CheckIn,
        {
            "date": day,
            "pain_on_waking": pain,
            "stiffness_on_waking": stiffness,
            "warning_signs": list(signs),
            "new_red_flags": note or [],
            "settled_within_hour": answer if question else None,
        },
        "checkin",
    )
    decisions = _call(lambda: services().record_checkin(pid, checkin))
    if as_json:
        out.print_json(json.dumps({"decisions": [d.model_dump(mode="json") for d in decisions]}))
        return
    out.print(f"Check-in for {display.date(day)} saved.")
    _show_decisions(decisions)
    if any(d.rule == "prompt.recheck" for d in decisions):
        out.print(RECHECK_HINT)


@app.command("recheck")
def recheck_command(
    person: PersonOption = None,
    date: DateOption = None,
    yes: Annotated[
        list[str] | None,
        typer.Option(
            help="a question answered yes (repeat); the others are no: "
            + ", ".join(getattr(load_rules().screening.recheck, "questions", ()))
        ),
    ] = None,
    no: Annotated[bool, typer.Option("--none", help="every question answered no")] = False,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """The safety questions about pain at rest, at night and on the bone, answered again
    (asked for when pain on waking is high). Exits with 3 when they point to a check: the
    program pauses until a clinician restarts it."""
    screening = load_rules().screening
    recheck = screening.recheck
    if recheck is None:
        raise fail("the safety questions are not set up to be asked again")
    unknown = [q for q in yes or [] if q not in recheck.questions]
    if unknown:
        raise fail(f"--yes {unknown[0]!r} is not one of: {', '.join(recheck.questions)}")
    pid = person_id(person)
    display = display_for(pid)
    day = parse_date(date, display)
    given: dict[str, bool] = dict.fromkeys(yes or [], True)
    if not yes and not no:
        for name in recheck.questions:
            if not screening.is_asked(name, given):
                continue
            text = next(
                s.questions[name].text for s in screening.sections.values() if name in s.questions
            )
            given[name] = Confirm.ask(text, default=False, console=out)
    result, decisions = _call(lambda: services().recheck(pid, given, day))
    if as_json:
        out.print_json(
            json.dumps(
                {
                    "refers": result.refers,
                    "screen": result.model_dump(mode="json"),
                    "decisions": [d.model_dump(mode="json") for d in decisions],
                }
            )
        )
    elif result.refers:
        _show_decisions(decisions)
        if not decisions:  # already paused
            out.print(referral_panel(result.advice))
    else:
        out.print(
            "Thank you. Nothing in these answers needs a check now: carry on with your "
            "program, and keep doing the morning check-in."
        )
    if result.refers:
        raise typer.Exit(EXIT_REFER)


def _knob_setting(value: str | None) -> float | str | None:
    """A knob setting from the command line: a number when it reads as one."""
    if value is None:
        return None
    try:
        number = float(value)
    except ValueError:
        return value.strip()
    return number if math.isfinite(number) else value


# The program editor's short names on the command line.
EDIT_ACTIONS = {
    "swap": "swap_exercise",
    "add": "add_exercise",
    "remove": "remove_exercise",
    "undo": "undo_edit",
}


def _whole_weeks(text: str | None) -> int | None:
    """--every-weeks as a whole number of weeks, 1 to the most a clinician may set."""
    if text is None:
        return None
    try:
        weeks = int(text.strip())
    except ValueError:
        raise InputError(
            f"--every-weeks must be a whole number of weeks, not {text[:20]!r}"
        ) from None
    if not 1 <= weeks <= QUESTIONNAIRE_MAX_WEEKS:
        raise InputError(
            f"--every-weeks must be between 1 and {QUESTIONNAIRE_MAX_WEEKS} weeks "
            "(use questionnaires_off to stop them)"
        )
    return weeks


@app.command("override")
def override_command(
    action: Annotated[
        str,
        typer.Argument(
            help="pin_dose, unpin_dose, rule_off, rule_on, force_phase, resume, check_clear "
            "(the check an intake warning asked for, e.g. for a bone stress injury, was done "
            "and is clear), weight_bearing_full (full weight on the leg is now allowed, out of "
            "the boot or cast), questionnaires_every (with --every-weeks), questionnaires_off; "
            "the program editor: swap (--exercise out, --to in), add "
            "(--exercise), remove (--exercise), undo (the last swap, addition or removal of "
            "--exercise), suggest (what may take --exercise's place)"
        ),
    ],
    reason: Annotated[str, typer.Option(help="why (recorded)")],
    by: Annotated[str, typer.Option(help="who decides (recorded)")],
    person: PersonOption = None,
    date: DateOption = None,
    exercise: Annotated[str | None, typer.Option(help="exercise id")] = None,
    side: Annotated[str | None, typer.Option(help="left or right")] = None,
    sets: Annotated[int | None, typer.Option()] = None,
    amount: Annotated[float | None, typer.Option()] = None,
    load: Annotated[float | None, typer.Option(help="load in the person's weight unit")] = None,
    knob: Annotated[
        str | None, typer.Option(help="the exercise's difficulty setting (a number or a level)")
    ] = None,
    rule: Annotated[str | None, typer.Option(help="rule id, for rule_off / rule_on")] = None,
    phase: Annotated[str | None, typer.Option(help="phase id, for force_phase")] = None,
    to: Annotated[str | None, typer.Option(help="swap: the exercise id that comes in")] = None,
    confirm: Annotated[
        bool, typer.Option(help="swap or remove a key exercise of the phase (needed for one)")
    ] = False,
    every_weeks: Annotated[
        str | None,
        typer.Option(
            help="weeks between the person's questionnaires (1–26), for questionnaires_every"
        ),
    ] = None,
) -> None:
    """A clinician's change to the program, recorded with who and why."""
    weeks = _whole_weeks(every_weeks)
    pid = person_id(person)
    action = EDIT_ACTIONS.get(action, action)
    if action == "suggest":
        if not exercise:
            fail("suggest needs --exercise: the exercise to find stand-ins for")
        found = _call(lambda: services().swap_suggestions(pid, exercise or ""))
        if not found:
            out.print(f"No exercise suits this program in place of {exercise}.")
        for item in found:
            out.print(f"{item.id}  {item.name}")
        return
    display = display_for(pid)
    data: dict[str, Any] = {
        "date": parse_date(date, display),
        "by": by,
        "reason": reason,
        "action": action,
        "exercise_id": exercise,
        "side": side,
        "sets": sets,
        "amount": amount,
        "load_kg": display.kg_from(load) if load is not None else None,
        "knob": _knob_setting(knob),
        "rule": rule,
        "phase": phase,
        "replacement": to,
        "confirm": confirm or None,
        "every_weeks": weeks,
    }
    override = validate(Override, {k: v for k, v in data.items() if v is not None}, "override")
    # The same check as the pages and the API (`clinical.overrides`), then the change.
    decisions = _call(lambda: services().apply_override(pid, override))
    _show_decisions(decisions, clinician=True)


# ----- looking back -----------------------------------------------------------------------


@app.command("why")
def why_command(
    person: PersonOption = None,
    limit: Annotated[int, typer.Option(min=1, max=1000, help="how many decisions")] = 15,
    clinician: Annotated[bool, typer.Option(help="the precise wording with the numbers")] = False,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """The recent decisions about your program, in plain words."""
    pid = person_id(person)
    decisions = _call(lambda: services().decisions(pid, limit=limit))
    if as_json:
        out.print_json(json.dumps([d.model_dump(mode="json") for d in decisions]))
        return
    if not decisions:
        needed = services().rules.progression.consecutive_sessions
        out.print(
            "No changes yet: the first step up comes after "
            f"{needed} sessions in a row that go well (good form, pain and effort in range, "
            "a settled next morning); more pain eases the program back instead."
        )
        return
    out.print(decisions_table(decisions, clinician=clinician))


@app.command("history")
def history_command(
    person: PersonOption = None,
    limit: Annotated[int, typer.Option(min=1, max=100000)] = 30,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """What you have logged: sessions, check-ins, retests and overrides."""
    pid = person_id(person)
    display = display_for(pid)
    events = _call(lambda: services().history(pid))
    events = sorted(events, key=lambda e: e.date)[-limit:]
    if as_json:
        out.print_json(json.dumps([e.model_dump(mode="json") for e in events]))
        return
    table = Table(title=f"Last {len(events)} entries")
    for column in ("date", "what", "details"):
        table.add_column(column)
    for event in events:
        if isinstance(event, SessionLog):
            if event.skipped:
                table.add_row(display.date(event.date), "session skipped", event.skip_reason)
            else:
                sets = sum(len(e.sets) for e in event.exercises)
                table.add_row(
                    display.date(event.date),
                    "session",
                    f"{len(event.exercises)} exercises, {sets} sets, pain up to {event.max_pain}/10",
                )
        elif isinstance(event, CheckIn):
            signs = load_rules().screening.checkin_signs
            flags = (
                "; warning signs: "
                + ", ".join(signs[s].text.lower() if s in signs else s for s in event.warning_signs)
                if event.warning_signs
                else ""
            )
            if event.new_red_flags:
                flags += f"; note: {', '.join(event.new_red_flags)}"
            table.add_row(
                display.date(event.date),
                "check-in",
                f"pain {event.pain_on_waking}/10, stiffness {event.stiffness_on_waking}/10{flags}",
            )
        elif isinstance(event, Override):
            table.add_row(
                display.date(event.date),
                "override",
                f"{event.action} by {event.by}: {event.reason}",
            )
        else:
            table.add_row(display.date(event.date), "retest", "")
    out.print(table)


def _chart(
    title: str,
    series: list[tuple[str, list[tuple[dt.date, float]]]],
    ylim: tuple[float, float] | None,
    display: Display,
) -> str:
    import plotext as plt  # type: ignore[import-untyped]

    plt.clear_figure()
    plt.plotsize(min(100, max(50, shutil.get_terminal_size((100, 30)).columns - 2)), 15)
    plt.title(title)
    plt.date_form("Y-m-d")
    for label, points in series:
        if not points:
            continue
        dates = [p[0].isoformat() for p in points]
        values = [p[1] for p in points]
        plt.plot(dates, values, label=label, marker="dot")
    # The date axis: at least a week wide, ticks on distinct days only (a single day
    # otherwise spreads over decades, or one date is printed four times).
    days = sorted({p[0] for _, points in series for p in points})
    if days:
        first, last = days[0], days[-1]
        if (last - first).days < 6:
            pad = dt.timedelta(days=(6 - (last - first).days + 1) // 2)
            first, last = first - pad, last + pad
        span = (last - first).days
        ticks = sorted({first + dt.timedelta(days=round(span * n / 4)) for n in range(5)})
        plt.xlim(plt.string_to_time(first.isoformat()), plt.string_to_time(last.isoformat()))
        plt.xticks(
            [plt.string_to_time(d.isoformat()) for d in ticks], [_tick_date(d) for d in ticks]
        )
    if ylim is not None:
        low, high = ylim
        top = max([high, *(p[1] for _, points in series for p in points)])
        step = 2.0 if top <= 10 else 20.0
        top = step * math.ceil(top / step)
        plt.ylim(low, top)
        count = int((top - low) / step) + 1
        plt.yticks(
            [low + step * n for n in range(count)], [f"{low + step * n:g}" for n in range(count)]
        )
    plt.theme("clear")
    return str(plt.build())


def _tick_date(day: dt.date) -> str:
    return f"{day.day} {day:%b}"


def _test_name(test: str) -> str:
    """A test's short name for a legend ('heel-raise'), not its id."""
    definition = services().rules.assessment.tests.get(test)
    return definition.short if definition else test.replace("_", " ")


@app.command("progress")
def progress_command(
    person: PersonOption = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
    charts: Annotated[bool, typer.Option(help="draw the terminal charts")] = True,
) -> None:
    """Pain, limb symmetry and weekly work over time, as charts and tables."""
    pid = person_id(person)
    display = display_for(pid)
    data: ProgressData = _call(lambda: progress_data(services(), pid, dt.date.today()))
    if as_json:
        out.print_json(
            json.dumps(
                {
                    "session_pain": [(d.isoformat(), p) for d, p in data.session_pain],
                    "morning": [(d.isoformat(), p, s) for d, p, s in data.morning],
                    "lsi": {k: [(d.isoformat(), v) for d, v in pts] for k, pts in data.lsi.items()},
                    "weekly_minutes": [(d.isoformat(), m) for d, m in data.weekly_minutes],
                    "adherence": [
                        (d.isoformat(), done, planned) for d, done, planned in data.adherence
                    ],
                    "phases": [(d.isoformat(), p) for d, p in data.phases],
                }
            )
        )
        return
    if not data.session_pain and not data.morning:
        out.print("Nothing logged yet: your charts fill in as you log sessions and check-ins.")
    if charts and (data.session_pain or data.morning):
        out.print(
            Text.from_ansi(
                _chart(
                    "Pain (0–10): during sessions and on waking",
                    [
                        ("during session", [(d, float(p)) for d, p in data.session_pain]),
                        ("on waking", [(d, float(p)) for d, p, _ in data.morning]),
                    ],
                    (0, 10),
                    display,
                )
            )
        )
    if charts and any(len(v) > 0 for v in data.lsi.values()):
        out.print(
            Text.from_ansi(
                _chart(
                    "Limb symmetry (%): the sore leg as a share of the other",
                    [(_test_name(test), pts) for test, pts in data.lsi.items()],
                    (0, 100),
                    display,
                )
            )
        )
    if data.lsi:
        table = Table(title="Limb symmetry by test")
        table.add_column("test")
        table.add_column("first")
        table.add_column("latest")
        table.add_column("change")
        for test, points in data.lsi.items():
            first, last = points[0][1], points[-1][1]
            table.add_row(_test_name(test), f"{first:g} %", f"{last:g} %", f"{last - first:+.1f}")
        out.print(table)
    if data.weekly_minutes or data.adherence:
        table = Table(title="Weekly work and adherence")
        for column in ("week of", "minutes of exercise", "sessions done / planned"):
            table.add_column(column)
        minutes = dict(data.weekly_minutes)
        adherence = {w: (d, p) for w, d, p in data.adherence}
        for week in sorted(set(minutes) | set(adherence)):
            done, planned = adherence.get(week, (0, 0))
            bar = "█" * int(minutes.get(week, 0) // 10)
            table.add_row(
                display.date(week), f"{minutes.get(week, 0):g} {bar}", f"{done} / {planned}"
            )
        out.print(table)
    if data.phases:
        out.print(
            "Phases: "
            + " → ".join(f"{p.replace('_', ' ')} ({display.date(d)})" for d, p in data.phases)
        )


# ----- moving data ------------------------------------------------------------------------


@app.command("export")
def export_command(
    person: PersonOption = None,
    output: Annotated[
        Path | None, typer.Option("--out", help="file to write; default stdout")
    ] = None,
    format: Annotated[
        str,
        typer.Option(
            "--format",
            help="json (imports back), csv (a zip of tables) or fhir (an R4B Bundle that imports back)",
        ),
    ] = "json",
) -> None:
    """Everything about a person: JSON or FHIR import back with `groundup import`."""
    if format not in FORMATS:
        raise fail(f"--format {format!r}: choose json, csv or fhir")
    pid = person_id(person)
    made = _call(lambda: export_file(services(), pid, cast(ExportFormat, format)))
    if output is None:
        if format == "csv" and sys.stdout.isatty():
            raise fail("a zip file cannot be shown here; add --out FILE.zip")
        sys.stdout.buffer.write(made.content if format == "csv" else made.content + b"\n")
        sys.stdout.buffer.flush()
        return
    output.write_bytes(made.content)
    out.print(f"Wrote {output} ({len(made.content) // 1024} KB).")


@app.command("import")
def import_command(
    file: Annotated[Path, typer.Argument(help="a file from `groundup export` (JSON or FHIR)")],
) -> None:
    """Restore a person from an export file. Nothing is stored unless all of it is valid."""
    data = read_document(file, max_bytes=MAX_RECORD_BYTES, max_values=MAX_RECORD_VALUES)
    pid = _call(lambda: import_record(services(), data))
    remember_person(pid)
    out.print(f"Imported {pid[:8]}.")


@app.command("delete")
def delete_command(
    person: PersonOption = None,
    yes: Annotated[bool, typer.Option("--yes", help="confirm: this cannot be undone")] = False,
) -> None:
    """Delete a person and everything about them."""
    pid = person_id(person)
    if not yes:
        raise fail("deleting removes everything about this person; add --yes to confirm")
    counts = _call(lambda: services().delete_person(pid))
    forget_person(pid)
    out.print(
        f"Deleted {pid[:8]}: {counts['sessions']} sessions and {counts['decisions']} decisions removed."
    )


@app.command("backup")
def backup_command(
    output: Annotated[Path | None, typer.Option("--out", help="where to write the backup")] = None,
) -> None:
    """Back up the whole database: a copy of the SQLite file, or a JSON export of everyone."""
    svc = services()
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    url = make_url(svc.db.url)
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        target = output or Path(f"groundup-backup-{stamp}.db")
        if target.exists():
            raise fail(f"{target}: already exists; choose another --out")
        source = sqlite3.connect(url.database)
        destination = sqlite3.connect(target)
        try:
            with Progress(console=out, transient=True) as progress:
                task = progress.add_task("Backing up", total=100)

                def step(status: int, remaining: int, total: int) -> None:
                    progress.update(task, completed=100 * (total - remaining) / max(total, 1))

                source.backup(destination, pages=64, progress=step)
        finally:
            destination.close()
            source.close()
        out.print(f"Backed up to {target}.")
        return
    target = output or Path(f"groundup-backup-{stamp}.json")
    people = svc.patients()
    exports = []
    with Progress(console=out, transient=True) as progress:
        task = progress.add_task("Exporting", total=len(people))
        for p in people:
            exports.append(svc.export_person(p.id))
            progress.advance(task)
    target.write_text(
        json.dumps({"format": "groundup-backup", "people": exports}), encoding="utf-8"
    )
    out.print(f"Backed up {len(people)} people to {target}.")
