"""`groundup start` and `groundup retest`: from an intake file, or asked question by question.

The guided flow asks the safety screen, then walks the person through the self-assessment
(facts, pain, goals, the optional LEFS and the side-by-side tests with their instructions
and stop signs), then their preferences, and only then stores anything: enrol, screen,
program. Stopping half-way (Ctrl-C, or the end of the input) leaves nothing behind. A screen
that refers is stored with the person, and no program is made.

The metronome and the stopwatch are small loops over an injected clock (`now`, `sleep`) and
an injected `stopped` check, so tests can run them instantly.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import select
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Annotated, Any, TypeVar, get_args

import annotated_types
import typer
from pydantic import BaseModel, ValidationError
from rich.panel import Panel
from rich.progress import BarColumn, Progress, TextColumn
from rich.prompt import Prompt
from rich.table import Table
from rich.text import Text

from groundup.cli import render
from groundup.cli.commands import read_intake
from groundup.cli.context import (
    CM_PER_INCH,
    Display,
    display_for,
    parse_date,
    person_id,
    remember_person,
    services,
)
from groundup.cli.files import InputError, read_document, validate
from groundup.cli.main import EXIT_REFER, app, fail, out
from groundup.cli.program_commands import build_program
from groundup.cli.program_render import decisions_table, program_view
from groundup.clinical.assessment import (
    AffectedSide,
    Assessment,
    Condition,
    ObjectiveTests,
    Pain,
    PsfsActivity,
    Sex,
    WeightBearing,
)
from groundup.clinical.intake import Intake
from groundup.clinical.planning import ReferralError
from groundup.clinical.profile import ImbalanceProfile, TestDefinition, build_profile
from groundup.clinical.program import Preferences
from groundup.clinical.screening import ScreenAnswers, ScreeningRules, ScreenResult, screen
from groundup.clinical.vocabulary import Equipment
from groundup.config import get_settings
from groundup.knowledge import describe_validation_error, load_questionnaires, load_screening_rules
from groundup.services import Referred, ServiceError
from groundup.services.workflow import DATE_FORMATS

T = TypeVar("T")

NO_ANSWER = "no answer given; run with a FILE instead"
METRONOME_BPM = 60
POLL_SECONDS = 0.05
BEATS_PER_REP = 2  # up on one beat, down on the next
STANCE_TRIES = 3
DEFAULT_NAME = "Me"
# An assessment older than this is still used, but the person is told it is old.
OLD_ASSESSMENT_DAYS = 28

# ----- the clock: a metronome and a stopwatch ------------------------------------------


def _never() -> bool:
    return False


def _wait_until(
    deadline: float,
    now: Callable[[], float],
    sleep: Callable[[float], None],
    stopped: Callable[[], bool],
) -> bool:
    """Sleep until `deadline`, checking `stopped` in short steps; True if it was stopped."""
    while (left := deadline - now()) > 0:
        if stopped():
            return True
        sleep(min(left, POLL_SECONDS))
    return False


def metronome(
    tick: Callable[[int], None],
    *,
    bpm: int = METRONOME_BPM,
    max_beats: int,
    now: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
    stopped: Callable[[], bool] = _never,
) -> int:
    """Call `tick(beat)` `bpm` times a minute, from beat 1, until `stopped()` or `max_beats`.

    Beats are timed from the start, not from the previous beat, so they do not drift.
    Returns how many beats were given.
    """
    interval = 60.0 / bpm
    start = now()
    beats = 0
    while beats < max_beats and not stopped():
        beats += 1
        tick(beats)
        if beats < max_beats and _wait_until(start + beats * interval, now, sleep, stopped):
            break
    return beats


def stopwatch(
    tick: Callable[[int], None],
    *,
    max_seconds: int,
    now: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
    stopped: Callable[[], bool] = _never,
) -> float:
    """Count whole seconds up to `max_seconds`, calling `tick(second)` at each one.

    Returns the seconds that passed before `stopped()` (or the cap).
    """
    start = now()
    second = 0
    while second < max_seconds:
        if _wait_until(start + second + 1, now, sleep, stopped):
            break
        second += 1
        tick(second)
    return round(min(now() - start, float(max_seconds)), 1)


def _enter_pressed() -> bool:
    """True (and the line is used up) when the person has pressed Enter."""
    if sys.platform == "win32":
        import msvcrt

        while msvcrt.kbhit():
            if msvcrt.getwch() in "\r\n":
                return True
        return False
    ready, _, _ = select.select([sys.stdin], [], [], 0)
    if ready:
        sys.stdin.readline()
        return True
    return False


def _live() -> bool:
    """Timers only make sense when a person is at the keyboard."""
    return sys.stdin.isatty()


# ----- asking --------------------------------------------------------------------------


def ask(
    question: str,
    parse: Callable[[str], T],
    *,
    default: str | None = None,
    help: str | None = None,
    show_default: bool = True,
) -> T:
    """Ask until the answer can be used; the parser's ValueError says what is wrong."""
    if help:
        out.print(Text(f"  {help}", style="dim"))
    prompt = Text(question)
    if default and show_default:
        prompt.append(f" [{default}]", style="cyan")
    while True:
        raw = Prompt.ask(prompt, console=out, default="", show_default=False)
        answer = raw.strip() or (default or "")
        try:
            return parse(answer)
        except ValueError as exc:
            out.print(Text(f"  {exc}", style="red"))


def yes_no(question: str, *, default: bool | None = None, help: str | None = None) -> bool:
    """A yes/no answer: y, yes, n or no."""

    def parse(answer: str) -> bool:
        word = answer.lower()
        if word in ("y", "yes"):
            return True
        if word in ("n", "no"):
            return False
        raise ValueError("please answer y (yes) or n (no)")

    hint = {None: "y/n", True: "Y/n", False: "y/N"}[default]
    return ask(
        f"{question} ({hint})",
        parse,
        default=None if default is None else ("y" if default else "n"),
        help=help,
        show_default=False,
    )


def _bounds(model: type[BaseModel], field: str) -> tuple[float, float]:
    """The range a model allows for a number, read from the field itself."""
    low, high = float("-inf"), float("inf")
    for item in model.model_fields[field].metadata:
        if isinstance(item, annotated_types.Ge):
            low = float(item.ge)  # type: ignore[arg-type]
        elif isinstance(item, annotated_types.Le):
            high = float(item.le)  # type: ignore[arg-type]
    return low, high


def _number_text(value: float) -> str:
    return f"{value:g}"


def whole_number(low: float, high: float, *, blank: bool = False) -> Callable[[str], int | None]:
    """A parser for a whole number in [low, high]; '' gives None when `blank`."""

    def parse(answer: str) -> int | None:
        if not answer and blank:
            return None
        try:
            value = int(answer)
        except ValueError:
            raise ValueError(
                f"please type a whole number from {_number_text(low)} to {_number_text(high)}"
            ) from None
        if not low <= value <= high:
            raise ValueError(
                f"please give a number from {_number_text(low)} to {_number_text(high)}"
            )
        return value

    return parse


def number(low: float, high: float, *, blank: bool = False) -> Callable[[str], float | None]:
    """A parser for a number (a comma works as the decimal point) in [low, high]."""

    def parse(answer: str) -> float | None:
        if not answer and blank:
            return None
        try:
            value = float(answer.replace(",", "."))
        except ValueError:
            raise ValueError(
                f"please type a number from {_number_text(low)} to {_number_text(high)}"
            ) from None
        if value != value or not low <= value <= high:  # NaN, or out of range
            raise ValueError(
                f"please give a number from {_number_text(low)} to {_number_text(high)}"
            )
        return value

    return parse


def _required(parse: Callable[[str], T | None]) -> Callable[[str], T]:
    def required(answer: str) -> T:
        value = parse(answer)
        if value is None:
            raise ValueError("an answer is needed here")
        return value

    return required


def choice(options: dict[str, T], what: str) -> Callable[[str], T]:
    """A parser for one of a few words; any unambiguous start of a word works."""

    def parse(answer: str) -> T:
        word = answer.lower()
        matches = [key for key in options if word and key.startswith(word)]
        if word in options:
            return options[word]
        if len(matches) == 1:
            return options[matches[0]]
        raise ValueError(f"please choose {what}: {', '.join(options)}")

    return parse


_DURATION_UNITS = {
    "w": 1.0,
    "week": 1.0,
    "weeks": 1.0,
    "d": 1 / 7,
    "day": 1 / 7,
    "days": 1 / 7,
    "m": 52 / 12,
    "month": 52 / 12,
    "months": 52 / 12,
    "y": 52.0,
    "year": 52.0,
    "years": 52.0,
}


def weeks(answer: str) -> float:
    """'8', '8 weeks', '3 months', '2 years', '10 days' → weeks (a bare number is weeks)."""
    found = re.fullmatch(r"\s*(\d+(?:[.,]\d+)?)\s*([a-z]*)\s*", answer.lower())
    if found is None or found.group(2) not in ("", *_DURATION_UNITS):
        raise ValueError("please write how long, e.g. 6 weeks, 4 months or 2 years")
    value = float(found.group(1).replace(",", ".")) * _DURATION_UNITS.get(found.group(2), 1.0)
    low, high = _bounds(Assessment, "symptom_duration_weeks")
    if not low <= value <= high:
        raise ValueError("that is longer than groundup can record (50 years at most)")
    return round(value, 1)


def hours(answer: str) -> float:
    """'2', '2 hours', '30 min', '1 day' → hours (a bare number is hours)."""
    found = re.fullmatch(r"\s*(\d+(?:[.,]\d+)?)\s*([a-z]*)\s*", answer.lower())
    units = {"": 1.0, "h": 1.0, "hr": 1.0, "hrs": 1.0, "hour": 1.0, "hours": 1.0}
    units |= {"m": 1 / 60, "min": 1 / 60, "mins": 1 / 60, "minute": 1 / 60, "minutes": 1 / 60}
    units |= {"d": 24.0, "day": 24.0, "days": 24.0}
    if found is None or found.group(2) not in units:
        raise ValueError("please write how long, e.g. 0, 30 min, 2 hours or 1 day")
    value = float(found.group(1).replace(",", ".")) * units[found.group(2)]
    low, high = _bounds(Pain, "lingers_after_activity_hours")
    if not low <= value <= high:
        raise ValueError("please give at most a week (168 hours)")
    return round(value, 2)


def _catch_eof(flow: Callable[[], None]) -> None:
    """Run a guided flow; the end of the input or Ctrl-C ends it with one clear line."""
    try:
        flow()
    except EOFError:
        raise InputError(NO_ANSWER) from None
    except KeyboardInterrupt:
        raise fail("interrupted; nothing more was saved.", 130) from None
    except ServiceError as exc:
        raise InputError(str(exc)) from exc


def heading(text: str) -> None:
    out.print()
    out.print(Text(text, style="bold underline"))


# ----- the safety screen ---------------------------------------------------------------


def ask_screen(rules: ScreeningRules) -> ScreenAnswers:
    """Every screening question, section by section, skipping those that do not apply."""
    answers: dict[str, Any] = {}
    for section in rules.sections.values():
        if not section.opened_by(answers):
            continue
        heading(section.title)
        if section.intro:
            out.print(Text(section.intro.strip()))
        for name, question in section.questions.items():
            if not rules.is_asked(name, answers):
                continue
            field = ScreenAnswers.model_fields[name]
            low, high = _bounds(ScreenAnswers, name)
            if field.annotation is bool:
                answers[name] = yes_no(question.text, help=question.help)
            elif field.default is None:  # a number that may be left empty
                answers[name] = ask(
                    f"{question.text} (Enter if none)",
                    whole_number(low, high, blank=True),
                    help=question.help,
                )
            else:
                answers[name] = ask(
                    question.text, _required(number(low, high)), default="0", help=question.help
                )
    return ScreenAnswers.model_validate(answers)


def _show_referral(result: ScreenResult) -> typer.Exit:
    out.print(render.screen_report(result))
    out.print(Text("No program was made: please see a doctor first.", style="bold red"))
    return typer.Exit(EXIT_REFER)


# ----- the self-assessment -------------------------------------------------------------


_SEX = {"female": Sex.FEMALE, "male": Sex.MALE, "unspecified": Sex.UNSPECIFIED}
_SIDES = {"left": AffectedSide.LEFT, "right": AffectedSide.RIGHT, "both": AffectedSide.BOTH}


def ask_condition(known: Assessment | None) -> Condition:
    """What it is, if the person knows (a diagnosis from a clinician); it picks the plan."""
    pathways = services().rules.pathways
    conditions = [c for c in Condition if c is not Condition.NOT_SURE] + [Condition.NOT_SURE]
    lines = [f"{n}. {pathways[c].name}" for n, c in enumerate(conditions, start=1)]
    out.print(Text("\n".join(lines), style="dim"))
    options = {str(n): c for n, c in enumerate(conditions, start=1)}
    current = known.condition if known is not None else Condition.NOT_SURE
    return ask(
        "Has a doctor or physiotherapist told you what it is? Type its number (Enter: not sure)",
        choice(options, f"a number from 1 to {len(conditions)}"),
        default=str(conditions.index(current) + 1),
        show_default=known is not None,
    )


def ask_facts(known: Assessment | None, day: dt.date) -> dict[str, Any]:
    """Age, sex, which side and how long; at a retest the first answers are the defaults."""
    heading("About you and your pain")
    age_low, age_high = _bounds(Assessment, "age")
    duration = None
    if known is not None:
        duration = known.symptom_duration_weeks
        if known.date is not None and day > known.date:
            duration += (day - known.date).days / 7
    return {
        "age": ask(
            "How old are you?",
            _required(whole_number(age_low, age_high)),
            default=None if known is None else str(known.age),
        ),
        "sex": ask(
            "Your sex, to compare your results with published figures (female, male, or "
            "unspecified)",
            choice(_SEX, "female, male or unspecified"),
            default="unspecified" if known is None else known.sex.value,
        ),
        "affected_side": ask(
            "Which leg hurts (left, right or both)?",
            choice(_SIDES, "left, right or both"),
            default=None if known is None else known.affected_side.value,
        ),
        "condition": (condition := ask_condition(known)),
        "symptom_duration_weeks": ask(
            "How long have you had this pain (e.g. 6 weeks, 4 months, 2 years)?",
            weeks,
            default=None if duration is None else f"{duration:.1f} weeks",
        ),
        **(ask_weight_bearing(known) if condition is _AFTER_SURGERY else {}),
    }


_AFTER_SURGERY = Condition.AFTER_ANKLE_FRACTURE_OR_SURGERY
_WEIGHT = {"none": WeightBearing.NONE, "partial": WeightBearing.PARTIAL, "full": WeightBearing.FULL}


def ask_weight_bearing(known: Assessment | None) -> dict[str, Any]:
    """After a fracture or an operation: the weight the surgeon allows, and a boot or cast.
    Until full weight is allowed out of the boot, the plan keeps to seated and lying work."""
    allowed = known.weight_bearing if known is not None else None
    return {
        "weight_bearing": ask(
            "How much weight has your surgeon or doctor allowed on the leg (none, partial or "
            "full)?",
            choice(_WEIGHT, "none, partial or full"),
            default=None if allowed is None else allowed.value,
        ),
        "boot_or_cast": yes_no("Are you still in a walking boot, a brace or a cast?"),
    }


def ask_pain() -> Pain:
    low, high = _bounds(Pain, "at_rest")
    scale = _required(whole_number(low, high))
    out.print(Text("Pain from 0 (none) to 10 (the worst you can imagine).", style="dim"))
    return Pain(
        at_rest=ask("How much does it hurt right now, at rest?", scale),
        during_activity=ask("How much does it hurt during the activities that bother it?", scale),
        on_waking=ask("How much does it hurt when you get up in the morning?", scale),
        night_pain=yes_no("Does the pain wake you at night?"),
        lingers_after_activity_hours=ask(
            "After activity that stirs it up, how long does the pain take to settle "
            "(e.g. 0, 30 min, 2 hours)?",
            hours,
        ),
    )


def ask_psfs(previous: Sequence[PsfsActivity]) -> tuple[PsfsActivity, ...]:
    """Up to three activities that are hard, each rated 0–10; at a retest the same ones."""
    heading("What you want to get back to")
    low, high = _bounds(PsfsActivity, "score")
    rating = _required(whole_number(low, high))
    scale = "0 = you can't do it at all, 10 = as well as before the problem"
    out.print(Text(scale, style="dim"))
    rated: list[PsfsActivity] = []
    if previous:
        for item in previous:
            score = ask(
                f"How well can you do this today: {item.activity}? (last time {item.score})", rating
            )
            rated.append(PsfsActivity(activity=item.activity, score=score))
        return tuple(rated)

    def activity(answer: str) -> str:
        if answer and not 2 <= len(answer) <= 120:
            raise ValueError("please describe it in 2 to 120 characters")
        return answer

    for number_ in range(1, 4):
        name = ask(
            f"Activity {number_} that is hard because of your leg (Enter when you have no more)",
            activity,
        )
        if not name:
            break
        rated.append(
            PsfsActivity(
                activity=name, score=ask(f"How well can you do this today: {name}?", rating)
            )
        )
    return tuple(rated)


def ask_lefs(offer_default: bool) -> dict[str, int | None] | None:
    """The LEFS items (paraphrased), if the person wants to answer them."""
    measure = load_questionnaires().measure("lefs")
    count = len(measure.items)
    if not yes_no(
        f"Answer {count} short questions about everyday activities "
        f"(the {measure.short_name}, about 3 minutes)?",
        default=offer_default,
    ):
        return None
    heading(f"{measure.plain_name.capitalize()} ({measure.short_name})")
    low = min(item.min for item in measure.items)
    high = max(item.max for item in measure.items)
    anchors = measure.anchors
    out.print(
        Text(
            "Today, how hard is each of these because of your leg? "
            f"{low:g} = {anchors.low if anchors else 'hardest'} … "
            f"{high:g} = {anchors.high if anchors else 'easiest'}",
            style="dim",
        )
    )
    answers: dict[str, int | None] = {}
    for item in measure.items:
        answers[item.id] = ask(
            f"{item.number}/{count} {item.paraphrase}",
            _required(whole_number(item.min, item.max)),
        )
    return answers


def _test_model(test_id: str) -> type[BaseModel]:
    annotation = ObjectiveTests.model_fields[test_id].annotation
    model = next(arg for arg in get_args(annotation) if isinstance(arg, type))
    assert issubclass(model, BaseModel)
    return model


def _instructions(definition: TestDefinition, display: Display) -> Panel:
    lines = [Text(f"{n}. {step}") for n, step in enumerate(definition.instructions, 1)]
    lines.append(Text("Stop when:", style="bold"))
    lines += [Text(f"• {reason}") for reason in definition.stop_when]
    if definition.unit == "cm" and display.length_unit == "in":
        lines.append(Text("You can measure in inches: groundup converts it.", style="dim"))
    return Panel(Text("\n").join(lines), title=definition.person_label.capitalize())


def _beat(beat: int) -> None:
    word = "tick" if beat % 2 else "tock"
    out.print(f"{word}  beat {beat:>3}   reps {beat // BEATS_PER_REP:>3}")
    out.bell()


def _run_metronome(bpm: int, max_reps: int) -> int:
    """The live metronome; returns the reps it counted (two beats a rep)."""
    ask("Press Enter to start the beat, and Enter again to stop", str)
    counted = [0]

    def tick(beat: int) -> None:
        counted[0] = beat
        _beat(beat)

    try:
        metronome(tick, bpm=bpm, max_beats=(max_reps + 1) * BEATS_PER_REP, stopped=_enter_pressed)
    except KeyboardInterrupt:
        out.print()
    return counted[0] // BEATS_PER_REP


def _run_stopwatch(cap: int) -> float:
    """The live stopwatch with a progress bar up to the test's cap; returns the seconds."""
    ask("Press Enter to start the clock, and Enter again to stop it", str)
    elapsed = 0.0
    with Progress(
        TextColumn("[bold]time"),
        BarColumn(),
        TextColumn("{task.completed:>3.0f} of {task.total:.0f} s"),
        console=out,
    ) as progress:
        task = progress.add_task("time", total=cap)
        try:
            elapsed = stopwatch(
                lambda second: progress.update(task, completed=second),
                max_seconds=cap,
                stopped=_enter_pressed,
            )
        except KeyboardInterrupt:
            elapsed = progress.tasks[0].completed
    if elapsed >= cap:
        out.bell()
        out.print(f"Time's up: {cap} seconds.")
    return elapsed


_UNIT_WORDS = {"cm": "cm", "in": "inches"}


def _ask_side(
    test_id: str, definition: TestDefinition, side: str, display: Display, live: bool
) -> float | int | None:
    """One side of one test: an optional timer, then the result (Enter leaves it out)."""
    model = _test_model(test_id)
    low, high = _bounds(model, side)
    leg = f"{side.capitalize()} leg"
    suggested: float | None = None
    if (
        live
        and definition.metronome_bpm
        and yes_no(
            f"{leg}: use the metronome ({definition.metronome_bpm} beats a minute)?", default=True
        )
    ):
        suggested = _run_metronome(definition.metronome_bpm, int(high))
    elif live and definition.time_cap_seconds:
        tries = STANCE_TRIES if definition.kind == "balance" else 1  # best of three
        for attempt in range(tries):
            again = "another try" if attempt else "the stopwatch"
            if not yes_no(
                f"{leg}: use {again} (stops at {definition.time_cap_seconds} s)?",
                default=attempt == 0,
            ):
                break
            seconds = _run_stopwatch(definition.time_cap_seconds)
            suggested = seconds if suggested is None else max(suggested, seconds)
    default = None if suggested is None else _number_text(round(suggested, 1))
    leave = "" if default else " (Enter to leave out)"
    if definition.unit == "reps":
        return ask(
            f"{leg}: how many reps?{leave}", whole_number(low, high, blank=True), default=default
        )
    if definition.unit == "cm":
        unit = display.length_unit
        most = high if unit == "cm" else math.floor(high / CM_PER_INCH * 10) / 10
        what = (
            "distance from the big toe to the wall"
            if test_id == "knee_to_wall_cm"
            else "distance hopped"
        )
        value = ask(
            f"{leg}: {what}, in {_UNIT_WORDS[unit]}?{leave}",
            number(low, most, blank=True),
            default=default,
        )
        return None if value is None else display.cm_from(value)
    return ask(f"{leg}: how many seconds?{leave}", number(low, high, blank=True), default=default)


def ask_tests(display: Display, live: bool) -> dict[str, dict[str, float | int]]:
    """Each side-by-side test: instructions and stop signs, then both sides."""
    definitions = services().rules.assessment.tests
    results: dict[str, dict[str, float | int]] = {}
    for test_id, definition in definitions.items():
        heading(definition.person_label.capitalize())
        out.print(_instructions(definition, display))
        sides: dict[str, float | int] = {}
        for side in ("left", "right"):
            value = _ask_side(test_id, definition, side, display, live)
            if value is not None:
                sides[side] = value
        if sides:
            results[test_id] = sides
        else:
            out.print(Text("Left out.", style="dim"))
    return results


def ask_assessment(display: Display, day: dt.date, known: Assessment | None) -> Assessment:
    """The guided self-assessment, checked as a whole; a part that fails is asked again."""
    live = _live()
    parts: dict[str, Any] = {"date": day.isoformat()}
    parts |= ask_facts(known, day)
    parts["pain"] = ask_pain().model_dump()
    parts["psfs"] = [p.model_dump() for p in ask_psfs(known.psfs if known else ())]
    parts["lefs"] = ask_lefs(known is not None and known.lefs is not None)
    heading("The tests")
    out.print(
        "Each test is done on one leg, then the other. Read the steps first. Press Enter "
        "instead of a number to leave a test out."
    )
    parts["tests"] = ask_tests(display, live)
    while True:
        try:
            return Assessment.model_validate(parts)
        except ValidationError as exc:
            out.print(Text(describe_validation_error(exc, "That doesn't fit: "), style="red"))
            field = str(exc.errors()[0]["loc"][0])
            if field == "pain":
                parts["pain"] = ask_pain().model_dump()
            elif field == "psfs":
                parts["psfs"] = [p.model_dump() for p in ask_psfs(())]
            elif field == "lefs":
                parts["lefs"] = ask_lefs(True)
            elif field == "tests":
                parts["tests"] = ask_tests(display, live)
            else:
                parts |= ask_facts(None, day)


_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


def training_days(answer: str) -> tuple[int, ...] | None:
    """'mon wed fri' → (0, 2, 4); '' → None (groundup chooses)."""
    if not answer:
        return None
    days: set[int] = set()
    for word in re.split(r"[\s,;/]+", answer.lower()):
        matches = [
            n for n, name in enumerate(_WEEKDAYS) if len(word) >= 2 and name.startswith(word)
        ]
        if len(matches) != 1:
            raise ValueError(f"{word!r} is not a day; write e.g. mon wed fri")
        days.add(matches[0])
    return tuple(sorted(days))


def ask_preferences() -> Preferences:
    heading("What you have and how much time")
    options = list(Equipment)
    table = Table(show_header=False, box=None, padding=(0, 2))
    for start in range(0, len(options), 3):
        table.add_row(
            *(
                f"{n + 1:>2}. {e.value.replace('_', ' ')}"
                for n, e in enumerate(options)
                if start <= n < start + 3
            )
        )
    out.print(table)
    standard = Preferences()
    keep = " ".join(str(options.index(e) + 1) for e in standard.equipment)

    def equipment(answer: str) -> tuple[Equipment, ...]:
        chosen: list[Equipment] = [Equipment.NONE]
        for word in re.split(r"[\s,;]+", answer.strip()):
            if not word:
                continue
            if not word.isdigit() or not 1 <= int(word) <= len(options):
                raise ValueError(f"{word!r}: type the numbers from the list, e.g. 2 3 10")
            item = options[int(word) - 1]
            if item not in chosen:
                chosen.append(item)
        return tuple(chosen)

    low, high = _bounds(Preferences, "minutes_per_session")
    return Preferences(
        equipment=ask("Which of these do you have? Type their numbers", equipment, default=keep),
        minutes_per_session=ask(
            "How many minutes can you give each session?",
            _required(whole_number(low, high)),
            default=str(standard.minutes_per_session),
        ),
        training_days=ask(
            "Which days would you like to train, e.g. mon wed fri? (Enter: groundup chooses)",
            training_days,
        ),
    )


# ----- start ---------------------------------------------------------------------------


_FORMAT_NAMES = {
    "%Y-%m-%d": "yyyy-mm-dd",
    "%d/%m/%Y": "dd/mm/yyyy",
    "%m/%d/%Y": "mm/dd/yyyy",
    "%d.%m.%Y": "dd.mm.yyyy",
}


def _date_format(value: str) -> str:
    wanted = value.strip().lower()
    for fmt, name in _FORMAT_NAMES.items():
        if wanted in (fmt.lower(), name):
            return fmt
    raise InputError(f"--date-format {value!r}: choose one of {', '.join(_FORMAT_NAMES.values())}")


def _units(value: str) -> tuple[str, str]:
    wanted = value.strip().lower()
    if wanted == "metric":
        return "cm", "kg"
    if wanted == "imperial":
        return "in", "lb"
    raise InputError(f"--units {value!r}: choose metric or imperial")


def _ask_display(units: tuple[str, str] | None, date_format: str | None) -> Display:
    """The units and date format given as options, or asked."""
    settings = get_settings()
    if units is not None:
        length, mass = units
    else:
        standard = "imperial" if settings.length_unit == "in" else "metric"
        length, mass = ask(
            "Units: metric (cm, kg) or imperial (inches, lb)?",
            choice({"metric": ("cm", "kg"), "imperial": ("in", "lb")}, "metric or imperial"),
            default=standard,
        )
    if date_format is not None:
        fmt = date_format
    else:
        today = dt.date.today()
        for n, option in enumerate(DATE_FORMATS, 1):
            out.print(f"  {n}. {today.strftime(option)}")
        pick = ask(
            "How should dates look? Type the number",
            _required(whole_number(1, len(DATE_FORMATS))),
            default="1",
        )
        fmt = DATE_FORMATS[pick - 1]
    return Display(length, mass, fmt)


def _name(answer: str) -> str:
    if not 1 <= len(answer) <= 120:
        raise ValueError("please give a name of 1 to 120 characters")
    return answer


def _check_template(template: str | None) -> None:
    known = services().rules.templates.templates
    if template is not None and template not in known:
        raise InputError(f"--template {template!r}: choose one of {', '.join(sorted(known))}")


def _finish(
    name: str,
    display: Display,
    answers: ScreenAnswers,
    assessment: Assessment,
    preferences: Preferences,
    *,
    day: dt.date,
    template: str | None,
    show_profile: bool,
    start: dt.date | None = None,
    chosen_name: bool = False,
) -> None:
    """Store the person, the screen and the program, then show the program."""
    service = services()
    name = _new_name(name, chosen=chosen_name)
    patient_id = service.enrol(
        name,
        length_unit=display.length_unit,
        mass_unit=display.mass_unit,
        date_format=display.date_format,
    )
    service.record_screen(patient_id, answers, day)
    try:
        program = service.start_program(
            patient_id, assessment, preferences, day=day, template=template, start=start
        )
    except Referred as exc:
        raise _show_referral(exc.result) from None
    remember_person(patient_id)
    if show_profile:
        out.print()
        rules = service.rules.assessment
        out.print(render.profile_report(build_profile(assessment, rules), rules))
    out.print()
    out.print(program_view(program, service.rules))
    out.print()
    out.print(
        Text.assemble(
            ("Saved. ", "bold green"),
            f"{name}'s program starts on {display.date(program.start_date)} "
            f"(person id {patient_id[:8]}). `groundup today` shows what to do; "
            "re-test with `groundup retest` in a few weeks.",
        )
    )


DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def parse_days(text: str) -> tuple[int, ...]:
    """Training days as typed: 'daily', 'mon-fri', or a list like 'mon,wed,fri'."""
    words = text.strip().lower()
    if words in ("daily", "every", "everyday", "every day"):
        return tuple(range(7))
    days: set[int] = set()
    for part in (p.strip() for p in words.split(",")):
        ends = [e.strip()[:3] for e in part.split("-")]
        if not part or len(ends) > 2 or any(e not in DAY_NAMES for e in ends):
            raise InputError(f"--days {text!r}: write days like mon,wed,fri or mon-fri, or 'daily'")
        first, last = DAY_NAMES.index(ends[0]), DAY_NAMES.index(ends[-1])
        days.update(
            range(first, last + 1) if first <= last else (*range(first, 7), *range(last + 1))
        )
    return tuple(sorted(days))


def _start_from_file(
    file: Path,
    name: str | None,
    display: Display,
    day: dt.date | None,
    template: str | None,
    days: tuple[int, ...] | None = None,
) -> None:
    _check_template(template)
    screened = read_intake(file, "screen")
    assert screened.screen is not None
    result = screen(screened.screen, load_screening_rules())
    if result.refers:
        # The referral is stored with the person; a slip in the assessment doesn't matter.
        who = name or _ask_name()
        service = services()
        patient_id = service.enrol(
            who,
            length_unit=display.length_unit,
            mass_unit=display.mass_unit,
            date_format=display.date_format,
        )
        service.record_screen(patient_id, screened.screen, day or dt.date.today())
        raise _show_referral(result)
    intake: Intake = read_intake(file, "assessment")
    assert intake.assessment is not None
    if days is not None:
        chosen = intake.preferences.model_copy(update={"training_days": days})
        intake = intake.model_copy(update={"preferences": chosen})
    assessment = intake.assessment
    assert assessment is not None
    start = day or dt.date.today()
    tested = assessment.date
    if tested is not None and tested > start:
        raise InputError(
            f"the assessment in {file} is dated {tested.isoformat()}, after the start date "
            f"{start.isoformat()}; give a later start with --date YYYY-MM-DD"
        )
    try:  # everything checked before anything is stored
        build_program(intake, services().rules, template=template, start=start)
    except ReferralError:
        raise _show_referral(result) from None
    who = name if name is not None else _new_name(_ask_name())
    out.print(render.screen_report(result) if result.notes else render.screen_mention(result))
    if tested is not None and (start - tested).days > OLD_ASSESSMENT_DAYS:
        weeks_old = (start - tested).days // 7
        out.print(
            Text(
                f"The assessment in {file} is from {display.date(tested)}, {weeks_old} weeks "
                f"before the start: the program starts on {display.date(start)} all the same. "
                "Results change in a few weeks, so re-test soon (`groundup retest`).",
                style="yellow",
            )
        )
    _finish(
        who,
        display,
        screened.screen,
        assessment,
        intake.preferences,
        day=start,
        template=template,
        show_profile=False,
        start=start,
        chosen_name=name is not None,
    )


def _new_name(name: str, *, chosen: bool = False) -> str:
    """The name for a new person. One already in use is asked about, or refused when
    nobody is there to ask, so a second "Me" is never made by accident; a name given with
    --name is kept, and the second person with it is pointed out."""
    taken = {p.display_name.casefold() for p in services().patients()}
    if name.casefold() not in taken:
        return name
    if chosen:
        out.print(
            Text(
                f"There is already a person called {name!r}: this makes a second one "
                "(`groundup people` lists everyone).",
                style="yellow",
            )
        )
        return name
    if not _live():
        raise InputError(
            f"there is already a person called {name!r} here; to start a second person give "
            "another name with --name, or carry on with the first one (`groundup today`)"
        )
    out.print(f"There is already a person called {name!r} here.")
    while name.casefold() in taken:
        name = ask("What name should this new person have?", _name)
    return name


def _ask_name() -> str:
    if not _live():
        return DEFAULT_NAME
    return ask("What name should groundup use for you?", _name, default=DEFAULT_NAME)


def _start_guided(
    name: str | None,
    units: tuple[str, str] | None,
    date_format: str | None,
    day: dt.date | None,
    template: str | None,
) -> None:
    _check_template(template)
    out.print(
        Text.assemble(
            ("groundup: getting started\n", "bold"),
            "First some safety questions, then a few simple tests you can do at home, then "
            "your program. Ctrl-C stops at any time, and if you stop part-way nothing is saved.",
        )
    )
    who = name or ask("What name should groundup use for you?", _name, default=DEFAULT_NAME)
    display = _ask_display(units, date_format)
    rules = load_screening_rules()
    answers = ask_screen(rules)
    result = screen(answers, rules)
    start = day or dt.date.today()
    if result.refers:
        service = services()
        patient_id = service.enrol(
            who,
            length_unit=display.length_unit,
            mass_unit=display.mass_unit,
            date_format=display.date_format,
        )
        service.record_screen(patient_id, answers, start)
        out.print()
        raise _show_referral(result)
    out.print()
    out.print(render.screen_report(result))
    assessment = ask_assessment(display, start, None)
    preferences = ask_preferences()
    _finish(
        who,
        display,
        answers,
        assessment,
        preferences,
        day=start,
        template=template,
        show_profile=True,
        chosen_name=True,  # typed in answer to the question, or its default accepted
    )


@app.command("start")
def start_command(
    file: Annotated[
        Path | None,
        typer.Argument(
            metavar="FILE",
            help="an intake file (YAML or JSON) with screen, assessment and optional "
            "preferences; test results in cm and kg. Leave out to be asked step by step.",
        ),
    ] = None,
    name: Annotated[str | None, typer.Option(help="the person's name")] = None,
    template: Annotated[
        str | None, typer.Option(help="ground_up, alfredson or heavy_slow_resistance")
    ] = None,
    units: Annotated[
        str | None,
        typer.Option(help="metric or imperial: how lengths and weights are shown from now on"),
    ] = None,
    date_format: Annotated[
        str | None,
        typer.Option(help="yyyy-mm-dd, dd/mm/yyyy, mm/dd/yyyy or dd.mm.yyyy"),
    ] = None,
    date: Annotated[
        str | None,
        typer.Option(help="the start date, YYYY-MM-DD (default: today)"),
    ] = None,
    days: Annotated[
        str | None,
        typer.Option(help="training days instead of the file's: mon,wed,fri, mon-fri or daily"),
    ] = None,
) -> None:
    """Get started: the safety screen, the assessment and a program. Exits 3 if it refers.

    With FILE everything comes from the file (its test results in cm and kg, whatever --units says); without it you are asked step by step, with the test instructions, a metronome and a stopwatch.
    """
    day = None if date is None else parse_date(date)
    chosen_days = None if days is None else parse_days(days)
    if chosen_days is not None and file is None:
        raise InputError("--days goes with an intake FILE; without one you are asked which days")
    if name is not None:
        try:
            name = _name(name.strip())
        except ValueError as exc:
            raise InputError(f"--name: {exc}") from None
    chosen_units = None if units is None else _units(units)
    chosen_format = None if date_format is None else _date_format(date_format)
    if file is None:
        _catch_eof(lambda: _start_guided(name, chosen_units, chosen_format, day, template))
        return
    settings = get_settings()
    length, mass = chosen_units or (settings.length_unit, settings.mass_unit)
    display = Display(length, mass, chosen_format or DATE_FORMATS[0])
    _catch_eof(lambda: _start_from_file(file, name, display, day, template, chosen_days))


# ----- retest --------------------------------------------------------------------------


FACTS = ("age", "sex", "affected_side", "symptom_duration_weeks")


def _retest_from_file(file: Path, first: Assessment) -> Assessment:
    """An assessment from a file (an `assessment` section or a bare mapping); the facts
    that don't change (age, sex, side, duration) come from the first assessment if left out."""
    data = read_document(file)
    if isinstance(data, dict) and "assessment" in data:
        data = data["assessment"]
        where = f"{file}: assessment"
    else:
        where = str(file)
    if not isinstance(data, dict):
        raise InputError(f"{where}: expected a mapping with the retest results")
    filled = {key: getattr(first, key) for key in FACTS if key not in data}
    return validate(Assessment, {**filled, **data}, where)


def _lsi_changes(
    before: dict[str, Any], after: ImbalanceProfile, display: Display, when: str
) -> Table:
    """Each test's values and symmetry, before → after (only the tests done now)."""
    old = {item["test"]: item for item in before.get("comparisons", [])}
    table = Table(title="Side to side (LSI = weaker ÷ stronger)", expand=False)
    for column in ("test", f"before ({when})", "now", "LSI before → now"):
        table.add_column(column)
    tests = services().rules.assessment.tests

    def pair(left: Any, right: Any, unit: str) -> str:
        def one(value: Any) -> str:
            if value is None:
                return "—"
            return display.length(float(value)) if unit == "cm" else f"{float(value):g}"

        return f"L {one(left)} · R {one(right)}"

    def lsi(value: Any) -> str:
        return "—" if value is None else f"{float(value):g} %"

    for item in after.comparisons:
        previous = old.get(item.test, {})
        table.add_row(
            f"{tests[item.test].short}, {item.unit}",
            pair(previous.get("left"), previous.get("right"), item.unit) if previous else "—",
            pair(item.left, item.right, item.unit),
            f"{lsi(previous.get('lsi'))} → {lsi(item.lsi)}",
        )
    return table


def _retest(file: Path | None, person: str | None, date: str | None) -> None:
    patient_id = person_id(person)
    display = display_for(patient_id)
    service = services()
    day = parse_date(date, display)
    if not service.program_versions(patient_id):
        raise InputError("there is no program yet: run `groundup start` first")
    history = service.assessments(patient_id)
    if not history:
        raise InputError("there is no first assessment to compare with: run `groundup start` first")
    first_date, _, first, _ = next((h for h in history if h[1] == "initial"), history[0])
    last_date, _, _, last_profile = history[-1]
    if file is None:
        if day < first_date:  # found out now, not after all the questions
            raise InputError(
                f"{day.isoformat()} is before the program started ({first_date.isoformat()}); "
                "give the re-test date with --date YYYY-MM-DD"
            )
        heading("Re-test")
        out.print("The same questions and tests as at the start, to see what has changed.")
        assessment = ask_assessment(display, day, first)
    else:
        assessment = _retest_from_file(file, first)
    if assessment.date is None:
        assessment = assessment.model_copy(update={"date": day})
    decisions = service.record_retest(patient_id, assessment, day)
    after = build_profile(assessment, service.rules.assessment)
    out.print(_lsi_changes(last_profile, after, display, display.date(last_date)))
    if decisions:
        out.print(decisions_table(list(decisions)))
    else:
        out.print("The program stays as it is.")
    assert assessment.date is not None
    out.print(Text(f"Re-test saved for {display.date(assessment.date)}.", style="bold green"))


@app.command("retest")
def retest_command(
    file: Annotated[
        Path | None,
        typer.Argument(
            metavar="FILE",
            help="a file (YAML or JSON) with an 'assessment' section or just the assessment; "
            "results in cm. Leave out to be asked step by step.",
        ),
    ] = None,
    person: Annotated[str | None, typer.Option(help="whose re-test (id or its start)")] = None,
    date: Annotated[
        str | None,
        typer.Option(help="the re-test date, if the file gives none (default: today)"),
    ] = None,
) -> None:
    """Re-test: record new results, see the change side to side and what the program does."""
    _catch_eof(lambda: _retest(file, person, date))
