"""`groundup calendar`: the person's program as an iCalendar file for any calendar app."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from groundup.cli.context import person_id, services
from groundup.cli.main import app, fail, out
from groundup.services import ServiceError
from groundup.services.calendar import DEFAULT_WEEKS, MAX_WEEKS, CalendarTimes, program_calendar


@app.command("calendar")
def calendar_command(
    person: Annotated[
        str | None,
        typer.Option("--person", help="person id (or its start); default: the current one"),
    ] = None,
    output: Annotated[
        Path | None, typer.Option("--out", help="file to write, e.g. groundup.ics; default stdout")
    ] = None,
    weeks: Annotated[
        int, typer.Option("--weeks", help=f"weeks ahead, 1 to {MAX_WEEKS}")
    ] = DEFAULT_WEEKS,
    session_time: Annotated[
        str | None, typer.Option("--session-time", help="HH:MM for sessions; default 18:00")
    ] = None,
    checkin_time: Annotated[
        str | None, typer.Option("--checkin-time", help="HH:MM for the check-in; default 07:30")
    ] = None,
) -> None:
    """Sessions, the morning check-in and retest days as an .ics file, with reminders."""
    pid = person_id(person)
    try:
        times = CalendarTimes.parse(session_time, checkin_time)
        data = program_calendar(services(), pid, weeks=weeks, times=times)
    except ServiceError as exc:
        raise fail(str(exc)) from exc
    if output is None:
        typer.echo(data.decode(), nl=False)
        return
    try:
        output.write_bytes(data)
    except OSError as exc:
        raise fail(f"{output}: cannot write it ({exc.strerror})") from exc
    out.print(f"Wrote {output}: {weeks} weeks of sessions, check-ins and retests.")
    out.print("Open it with your calendar app to add them.")
