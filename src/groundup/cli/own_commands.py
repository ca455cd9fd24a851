"""Own exercises and protocols from files: `groundup exercise check|import FILE` and
`groundup template check|import FILE`. Checked by the same rules as the built-in library
and as the pages and the API (`services.library`); a problem is one line naming the file
and the field."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from groundup.cli.context import services
from groundup.cli.files import InputError, read_document
from groundup.cli.main import app, fail, out
from groundup.knowledge import load_rules
from groundup.services import ServiceError
from groundup.services.library import (
    Refused,
    check_together,
    clinician_owner,
    parse_exercises,
    parse_templates,
)

template_app = typer.Typer(
    help="Own protocols (templates) from YAML or JSON files: check them, import them.",
    no_args_is_help=True,
)
app.add_typer(template_app, name="template")

FileArgument = Annotated[
    Path, typer.Argument(metavar="FILE", help="the protocols (YAML or JSON), see examples/")
]
ClinicianOption = Annotated[
    str | None,
    typer.Option("--clinician", metavar="EMAIL", help="the clinician whose protocols these are"),
]


def _items(data: Any, key: str, path: Path) -> list[Any]:
    """A file's items: a mapping with a `key` list, a list, or one item on its own."""
    if isinstance(data, dict) and key in data:
        items = data[key]
        if not isinstance(items, list) or not items:
            raise InputError(f"{path}: {key}: a list of at least one")
        return items
    if isinstance(data, list):
        if not data:
            raise InputError(f"{path}: the list is empty")
        return data
    if isinstance(data, dict):
        return [data]
    raise InputError(f"{path}: expected a mapping with an '{key}' list")


def _refused(path: Path, exc: ServiceError) -> typer.Exit:
    return fail(f"{path}: {exc}")


def exercise_file(action: str, path: Path | None, email: str | None) -> None:
    if path is None:
        raise fail(f"exercise {action}: give the FILE of exercises (YAML or JSON)")
    raws = _items(read_document(path), "exercises", path)
    try:
        if email is None:
            if action == "import":
                raise fail("exercise import: say whose exercises these are with --clinician EMAIL")
            exercises = parse_exercises(raws)
            check_together(load_rules().library, [], exercises)
            names = ", ".join(e.id for e in exercises)
            out.print(f"{path}: {len(exercises)} exercise(s) fit the library's rules: {names}.")
            return
        owner, name, user_id = clinician_owner(services().db, email)
        own = services().own
        if action == "check":
            exercises = own.check(owner, raws, author=name)
            names = ", ".join(e.id for e in exercises)
            out.print(
                f"{path}: {len(exercises)} exercise(s) fit the library's rules "
                f"next to {name}'s own: {names}."
            )
            return
        saved = own.save(owner, raws, by_user_id=user_id, author=name)
    except (Refused, ServiceError) as exc:
        raise _refused(path, exc) from None
    for item in saved:
        out.print(f"{item.exercise.id}: version {item.version} ({item.exercise.name})")
    out.print(f"Imported {len(saved)} exercise(s) for {name}.")


@template_app.command("check")
def template_check(file: FileArgument, clinician: ClinicianOption = None) -> None:
    """Check own protocols: fields, doses, and that every exercise exists (built-in, or the
    clinician's own with --clinician)."""
    raws = _items(read_document(file), "templates", file)
    rules = load_rules()
    try:
        if clinician is None:
            checked = parse_templates(raws, rules.library, rules.templates.templates)
        else:
            owner, _, _ = clinician_owner(services().db, clinician)
            checked = services().own.check_protocols(owner, raws)
    except ServiceError as exc:
        raise _refused(file, exc) from None
    keys = ", ".join(
        key + (f" ({t.stage_count} phases)" if t.stage_count > 1 else "") for key, t in checked
    )
    out.print(f"{file}: {len(checked)} protocol(s) fit the rules: {keys}.")


@template_app.command("import")
def template_import(file: FileArgument, clinician: ClinicianOption = None) -> None:
    """Save own protocols for a clinician (the same key again adds a version); they are
    offered when the clinician starts a program for one of their patients."""
    if clinician is None:
        raise fail("template import: say whose protocols these are with --clinician EMAIL")
    raws = _items(read_document(file), "templates", file)
    try:
        owner, name, user_id = clinician_owner(services().db, clinician)
        saved = services().own.save_protocols(owner, raws, by_user_id=user_id)
    except ServiceError as exc:
        raise _refused(file, exc) from None
    for protocol in saved:
        out.print(f"{protocol.key}: version {protocol.version} ({protocol.template.name})")
    out.print(f"Imported {len(saved)} protocol(s) for {name}.")
