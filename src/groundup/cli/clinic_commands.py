"""`groundup clinic ...`: set a clinic up and look after its caseload from the command line.

Creating a clinic and naming its first admin is the operator's (whoever runs the server);
moving patients, handing a caseload over and importing another clinic's library are done
`--as` a clinic admin, under the same rules as the pages and the API (`services.clinics`):
nothing crosses clinics. Every problem is one line.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy import select

from groundup.cli.context import services
from groundup.cli.files import InputError
from groundup.cli.main import app, fail, out
from groundup.clinical.text import clean_text
from groundup.services import NotFound, ServiceError
from groundup.services.accounts import Account
from groundup.services.library import Owner
from groundup.storage.models import User

clinic_app = typer.Typer(
    help="Clinics: clinicians sharing a caseload, and the exercises and protocols they share.",
    no_args_is_help=True,
)
app.add_typer(clinic_app, name="clinic")

ClinicArgument = Annotated[str, typer.Argument(metavar="CLINIC", help="the clinic's name")]
EmailArgument = Annotated[str, typer.Argument(metavar="EMAIL", help="a clinician's e-mail")]
AsOption = Annotated[
    str, typer.Option("--as", metavar="EMAIL", help="the clinician (a clinic admin) acting")
]


def _account(email: str) -> Account:
    with services().db.reading() as session:
        user = session.scalars(select(User).where(User.email == email.strip().lower())).first()
        if user is None or user.role != "clinician":
            raise NotFound(f"no clinician with the e-mail {clean_text(email)[:120]!r}")
        return Account(user.id, user.email, user.display_name, user.role, None)


def _done(action: str, exc: ServiceError) -> typer.Exit:
    return fail(f"clinic {action}: {exc}")


@clinic_app.command("create")
def create(name: ClinicArgument) -> None:
    """Create a clinic; then add its clinicians with `groundup clinic add-member`."""
    try:
        clinic = services().clinics.create(name)
    except ServiceError as exc:
        raise _done("create", exc) from None
    out.print(f"Clinic {clinic.name!r} created. Add its first admin:")
    out.print(f"  groundup clinic add-member {clinic.name!r} EMAIL --admin")


@clinic_app.command("list")
def list_clinics() -> None:
    """Every clinic, with its clinicians."""
    clinics = services().clinics
    found = clinics.all()
    if not found:
        out.print("No clinics yet: `groundup clinic create NAME`.")
    for clinic in found:
        members = clinics.members(clinic.id)
        admins = ", ".join(m.display_name for m in members if m.admin) or "none yet"
        out.print(f"{clinic.name}: {len(members)} clinician(s); admins: {admins}")


@clinic_app.command("add-member")
def add_member(
    clinic: ClinicArgument,
    email: EmailArgument,
    admin: Annotated[bool, typer.Option("--admin", help="also a clinic admin")] = False,
) -> None:
    """Put a clinician (an existing account, in no clinic yet) into a clinic; their
    patients come with them."""
    try:
        found = services().clinics.by_name(clinic)
        member = services().clinics.add_member(found.id, email, admin=admin)
    except ServiceError as exc:
        raise _done("add-member", exc) from None
    role = "clinic admin" if member.admin else "clinician"
    out.print(f"{member.display_name} is a {role} of {found.name} ({member.patients} patient(s)).")


@clinic_app.command("admin")
def set_admin(
    clinic: ClinicArgument,
    email: EmailArgument,
    remove: Annotated[bool, typer.Option("--remove", help="no longer a clinic admin")] = False,
) -> None:
    """Make a clinician of the clinic one of its admins (or, with --remove, not)."""
    try:
        found = services().clinics.by_name(clinic)
        services().clinics.set_admin(found.id, email, not remove)
    except ServiceError as exc:
        raise _done("admin", exc) from None
    out.print(
        f"{email.strip().lower()}: {'no longer' if remove else 'now'} an admin of {found.name}."
    )


@clinic_app.command("caseload")
def caseload(as_: AsOption) -> None:
    """The clinic's patients and who looks after each (a clinic admin)."""
    try:
        account = _account(as_)
        clinic = services().clinics.admin_clinic(account)
        entries = services().clinics.caseload(clinic.id)
    except ServiceError as exc:
        raise _done("caseload", exc) from None
    for entry in entries:
        names = ", ".join(name for _, name in entry.clinicians) or "nobody"
        out.print(f"{entry.patient_id[:8]}  {entry.display_name}: {names}")
    out.print(f"{len(entries)} patient(s) in {clinic.name}.")


def _patient(prefix: str, clinic_id: int) -> str:
    entries = services().clinics.caseload(clinic_id)
    matches = [e.patient_id for e in entries if e.patient_id.startswith(prefix.strip().lower())]
    if len(matches) != 1 or len(prefix.strip()) < 4:
        raise InputError("PERSON: no such person in your clinic (give at least 4 characters)")
    return matches[0]


@clinic_app.command("move")
def move(
    person: Annotated[str, typer.Argument(metavar="PERSON", help="the person's id (or start)")],
    to: Annotated[str, typer.Option("--to", metavar="EMAIL", help="the clinician taking over")],
    as_: AsOption,
    keep: Annotated[bool, typer.Option("--keep", help="keep the current clinicians too")] = False,
) -> None:
    """Give a patient of the clinic to another of its clinicians (a clinic admin)."""
    try:
        account = _account(as_)
        clinic = services().clinics.admin_clinic(account)
        entry = services().clinics.move(
            account, _patient(person, clinic.id), _account(to).id, keep=keep
        )
    except ServiceError as exc:
        raise _done("move", exc) from None
    names = ", ".join(name for _, name in entry.clinicians)
    out.print(f"{entry.display_name} is now looked after by {names}.")


@clinic_app.command("hand-over")
def hand_over(
    leaving: Annotated[str, typer.Argument(metavar="EMAIL", help="the clinician who leaves")],
    to: Annotated[str, typer.Option("--to", metavar="EMAIL", help="the clinician taking over")],
    as_: AsOption,
) -> None:
    """A clinician leaves: their whole caseload goes to another clinician of the clinic,
    their own exercises and protocols become the clinic's, and they are deactivated."""
    try:
        account = _account(as_)
        moved = services().clinics.hand_over(account, _account(leaving).id, _account(to).id)
    except ServiceError as exc:
        raise _done("hand-over", exc) from None
    out.print(f"{moved} patient(s) handed over to {to.strip().lower()}; {leaving} is deactivated.")


@clinic_app.command("share")
def share(
    item: Annotated[str, typer.Argument(metavar="ID", help="an own exercise's id")],
    as_: AsOption,
    protocol: Annotated[bool, typer.Option("--protocol", help="ID is a protocol's key")] = False,
    private: Annotated[bool, typer.Option("--private", help="make it private again")] = False,
) -> None:
    """Share an own exercise (or protocol) with the clinic, or make it private again."""
    try:
        owner = Owner.clinician(_account(as_).id)
        own = services().own
        if protocol:
            own.share_protocol(owner, item, shared=not private)
        else:
            own.share(owner, item, shared=not private)
    except ServiceError as exc:
        raise _done("share", exc) from None
    out.print(f"{item}: {'private' if private else 'shared with the clinic'}.")


@clinic_app.command("export")
def export(
    as_: AsOption,
    output: Annotated[Path, typer.Option("--output", "-o", help="the file to write")],
) -> None:
    """Write the clinic's shared exercises and protocols to one file (JSON)."""
    try:
        document = services().clinics.export_library(_account(as_))
    except ServiceError as exc:
        raise _done("export", exc) from None
    output.write_text(json.dumps(document, indent=1, ensure_ascii=False), encoding="utf-8")
    out.print(
        f"{output}: {len(document['exercises'])} exercise(s) and "
        f"{len(document['protocols'])} protocol(s) of {document['clinic']}."
    )


@clinic_app.command("import")
def import_(
    file: Annotated[Path, typer.Argument(metavar="FILE", help="another clinic's export")],
    as_: AsOption,
) -> None:
    """Add another clinic's exercises and protocols as this clinic's shared ones (a clinic
    admin). Nothing is overwritten: an id or key in use gets a renamed copy."""
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise fail(f"{file}: cannot be read ({exc.__class__.__name__})") from None
    try:
        document = json.loads(text)
    except ValueError as exc:
        raise fail(f"{file}: not JSON (line {getattr(exc, 'lineno', '?')})") from None
    try:
        result = services().clinics.import_library(_account(as_), document)
    except ServiceError as exc:
        raise fail(f"{file}: {exc}") from None
    for old, new in result.renamed.items():
        out.print(f"{old}: already in use here, imported as {new}")
    out.print(
        f"Imported {result.exercises} exercise(s) and {result.protocols} protocol(s)"
        + (f"; {result.unchanged} already here, unchanged" if result.unchanged else "")
        + "."
    )
