"""`groundup reminders …`: a person's reminders from the terminal; `groundup worker`: the
job worker on its own (reminders are sent by it)."""

from __future__ import annotations

import datetime as dt
import signal
from typing import Annotated

import typer
from rich.table import Table

from groundup.cli.context import person_id, services
from groundup.cli.main import app, fail, out
from groundup.cli.person_commands import PersonOption
from groundup.config import get_settings
from groundup.reminders.timing import KIND_WORDS, Kind
from groundup.reminders.words import day_words
from groundup.services import ServiceError
from groundup.services.reminders import ReminderChoices, Reminders, kinds_from

reminders_app = typer.Typer(
    help="Reminders of training days, the morning check-in, retests and flare-up "
    "follow-ups, by e-mail and as notifications.",
    no_args_is_help=True,
)
app.add_typer(reminders_app, name="reminders")


def _reminders() -> Reminders:
    return Reminders(services(), get_settings())


def _show(choices: ReminderChoices, devices: int) -> None:
    table = Table(show_header=False, box=None, pad_edge=False)
    table.add_column(style="bold")
    table.add_column()
    table.add_row("reminders", "on" if choices.enabled else "off")
    table.add_row("of", ", ".join(KIND_WORDS[k].lower() for k in Kind if k in choices.kinds))
    email = choices.email if choices.by_email else f"no ({choices.email or 'no address'})"
    table.add_row("by e-mail", email or "no")
    table.add_row("notifications", f"{devices} device(s)" if choices.by_push else "no")
    table.add_row("training days", choices.training_time)
    table.add_row("mornings", choices.morning_time)
    table.add_row("quiet hours", choices.quiet_words)
    table.add_row("time zone", choices.time_zone)
    out.print(table)


@reminders_app.command("show")
def show_command(person: PersonOption = None) -> None:
    """What the person is reminded of, how and when."""
    pid = person_id(person)
    reminders = _reminders()
    _show(reminders.choices(pid), len(reminders.devices(pid)))


@reminders_app.command("set")
def set_command(
    person: PersonOption = None,
    email: Annotated[
        str | None, typer.Option(help="send them by e-mail to this address ('' for no e-mail)")
    ] = None,
    push: Annotated[
        bool | None,
        typer.Option("--push/--no-push", help="as notifications on the person's devices"),
    ] = None,
    kinds: Annotated[
        str | None,
        typer.Option(help="comma-separated: training, checkin, retest, flare (default: all)"),
    ] = None,
    training_time: Annotated[
        str | None, typer.Option(help="HH:MM for training days and retests")
    ] = None,
    morning_time: Annotated[
        str | None, typer.Option(help="HH:MM for the check-in and flare-up follow-up")
    ] = None,
    quiet: Annotated[str | None, typer.Option(help="quiet hours as HH:MM-HH:MM, or 'none'")] = None,
    zone: Annotated[
        str | None, typer.Option("--time-zone", help="IANA time zone, e.g. Europe/Oslo")
    ] = None,
) -> None:
    """Turn reminders on, changing only what is given."""
    pid = person_id(person)
    reminders = _reminders()
    try:
        current = reminders.choices(pid)
        quiet_start, quiet_end = current.quiet_start, current.quiet_end
        if quiet is not None:
            if quiet.strip().lower() == "none":
                quiet_start = quiet_end = None
            else:
                start, _, end = quiet.partition("-")
                if not end:
                    raise ServiceError("--quiet: write it as HH:MM-HH:MM, like 21:30-07:00")
                quiet_start, quiet_end = start.strip(), end.strip()
        chosen = ReminderChoices(
            enabled=True,
            kinds=kinds_from(kinds.split(",")) if kinds else current.kinds,
            by_email=bool(email) if email is not None else current.by_email,
            email=email if email else current.email,
            by_push=push if push is not None else current.by_push,
            training_time=training_time or current.training_time,
            morning_time=morning_time or current.morning_time,
            quiet_start=quiet_start,
            quiet_end=quiet_end,
            time_zone=zone or current.time_zone,
        )
        saved = reminders.save(pid, chosen)
    except ServiceError as exc:
        raise fail(str(exc)) from exc
    _show(saved, len(reminders.devices(pid)))
    if saved.by_email and not reminders.email_ready:
        out.print("E-mail is not set up here (GROUNDUP_SMTP_URL): e-mails wait until it is.")


@reminders_app.command("off")
def off_command(person: PersonOption = None) -> None:
    """Stop all the person's reminders."""
    pid = person_id(person)
    stopped = _reminders().stop(pid, by="command")
    out.print("Reminders stopped." if stopped else "Reminders were already off.")


@reminders_app.command("preview")
def preview_command(
    kind: Annotated[str, typer.Argument(help="training, checkin, retest or flare")],
    person: PersonOption = None,
    day: Annotated[str | None, typer.Option(help="the day, YYYY-MM-DD; default today")] = None,
) -> None:
    """What a reminder would say today (or on --day), from the program as it is now."""
    pid = person_id(person)
    try:
        chosen = Kind(kind)
    except ValueError:
        raise fail(f"{kind!r}: choose training, checkin, retest or flare") from None
    try:
        when = dt.date.fromisoformat(day) if day else dt.date.today()
    except ValueError:
        raise fail(f"--day {day!r}: write it as YYYY-MM-DD") from None
    try:
        reminder = _reminders().compose(pid, chosen, when)
    except ServiceError as exc:
        raise fail(str(exc)) from exc
    out.print(f"[bold]{reminder.title}[/bold]  ({day_words(when)})")
    for paragraph in reminder.paragraphs:
        out.print(paragraph, markup=False)
    for item in reminder.items:
        out.print(f"  • {item}", markup=False)
    for paragraph in reminder.after:
        out.print(paragraph, markup=False)


@app.command("worker")
def worker_command(
    once: Annotated[bool, typer.Option("--once", help="run what is ready now, then stop")] = False,
) -> None:
    """Run the job worker alone: plans and sends reminders. Every `groundup serve` runs
    one too; start more on other machines against the same PostgreSQL database."""
    from groundup.worker import app_worker

    settings = get_settings()
    worker = app_worker(services(), settings)
    if once:
        ran = worker.tick()
        worker.between_jobs()
        out.print(f"{ran} job(s) run.")
        return

    def _stop(_signum: int, _frame: object) -> None:
        worker.stopping.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    out.print("groundup worker running (stop with Ctrl-C)")
    worker.run()
    out.print("groundup worker stopped.")
