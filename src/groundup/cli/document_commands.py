"""Printable documents from the command line: the home-program handout and the progress
report, written as PDF files."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from groundup.cli.context import person_id, services
from groundup.cli.main import app, fail, out
from groundup.services import ServiceError

PersonOption = Annotated[
    str | None, typer.Option("--person", help="person id (or its start); default: the current one")
]
OutOption = Annotated[
    Path | None, typer.Option("--out", help="the PDF file to write; default in this folder")
]


def _write(target: Path, pdf: bytes) -> None:
    if target.is_dir():
        raise fail(f"{target}: is a folder; give a file name such as {target / 'handout.pdf'}")
    try:
        target.write_bytes(pdf)
    except OSError as exc:
        raise fail(f"{target}: cannot write it ({exc.strerror or exc})") from None
    out.print(f"Wrote {target} ({max(1, len(pdf) // 1024)} KB).")


@app.command("handout")
def handout_command(
    person: PersonOption = None,
    output: OutOption = None,
    weeks: Annotated[
        int, typer.Option("--weeks", min=1, max=12, help="weeks of diary pages (1–12)")
    ] = 4,
) -> None:
    """A printable home program: schedule, pain rules, one card per exercise and a diary."""
    from groundup.documents import build_handout

    pid = person_id(person)
    svc = services()
    today = svc.clock()
    try:
        pdf = build_handout(svc, pid, today, weeks=weeks)
    except ServiceError as exc:
        raise fail(str(exc)) from None
    _write(output or Path(f"groundup-handout-{today.isoformat()}.pdf"), pdf)


@app.command("report")
def report_command(
    person: PersonOption = None,
    output: OutOption = None,
    clinician: Annotated[
        bool, typer.Option("--clinician", help="add the rules, numbers and clinical wording")
    ] = False,
) -> None:
    """A printable progress report: charts, test and questionnaire changes, decisions, next steps."""
    from groundup.documents import build_report

    pid = person_id(person)
    svc = services()
    today = svc.clock()
    try:
        pdf = build_report(svc, pid, today, "clinician" if clinician else "person")
    except ServiceError as exc:
        raise fail(str(exc)) from None
    name = "report-clinician" if clinician else "report"
    _write(output or Path(f"groundup-{name}-{today.isoformat()}.pdf"), pdf)
