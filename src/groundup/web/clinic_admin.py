"""The clinic's own pages: who works here, and (for a clinic admin) the caseload.

`/clinic/team`: the clinic's clinicians; for a clinic admin also the caseload (every
patient of the clinic and who looks after them), moving a patient to another clinician,
handing a leaving clinician's caseload over, adding a clinician and naming admins.
`/clinic/library.json` exports the clinic's shared exercises and protocols; a clinic admin
imports another clinic's file at `/clinic/library`. Sharing an own exercise or protocol with
the clinic: `/clinic/exercises/{id}/share`, `/clinic/protocols/{key}/share`.

Everything is checked by `services.clinics` (nothing crosses clinics: another clinic's
patient or clinician is "not found"); this module only reads forms and shows pages.
"""

from __future__ import annotations

import json
import re
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, HTTPException, Path, Request
from fastapi.responses import HTMLResponse, Response
from starlette.datastructures import UploadFile

from groundup.services import ServiceError, Services
from groundup.services.accounts import Account
from groundup.services.clinics import ClinicInfo
from groundup.services.library import Owner
from groundup.web.deps import ClinicianAccount, CsrfChecked, ServicesDep, see
from groundup.web.pages import render

router = APIRouter()

MAX_LIBRARY_UPLOAD = 40 * 1024 * 1024
MAX_ID = 2_147_483_647
UserIdPath = Annotated[int, Path(ge=1, le=MAX_ID)]
NOTICES = {
    "moved": "Patient moved. The clinicians who now look after them see them on their list.",
    "handed": "Caseload handed over; the clinician who left is deactivated.",
    "added": "Clinician added to the clinic.",
    "admin": "Clinic admins updated.",
}


def _team_page(
    request: Request,
    services: Services,
    account: Account,
    *,
    notice: str | None = None,
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    found = services.clinics.membership(account.id)
    if found is None:
        return render(
            request, "clinic_team.html", status_code=status_code, clinic=None, notice=notice
        )
    clinic, admin = found
    members = services.clinics.members(clinic.id)
    return render(
        request,
        "clinic_team.html",
        status_code=status_code,
        clinic=clinic,
        admin=admin,
        members=members,
        active=[m for m in members if m.active],
        caseload=services.clinics.caseload(clinic.id) if admin else [],
        notice=notice,
        error=error,
    )


@router.get("/clinic/team", response_class=HTMLResponse)
def team_page(
    request: Request, account: ClinicianAccount, services: ServicesDep, done: str = ""
) -> Response:
    notice = _imported_notice(request) if done == "imported" else NOTICES.get(done)
    return _team_page(request, services, account, notice=notice)


def _refused(request: Request, services: Services, account: Account, exc: ServiceError) -> Response:
    from groundup.web.app import _status as status_of

    status = status_of(exc)
    if status in (403, 404):
        raise exc  # the same answer as for anything else that is not theirs
    return _team_page(request, services, account, error=f"Not done: {exc}", status_code=status)


def _admin_clinic(services: Services, account: Account) -> ClinicInfo:
    return services.clinics.admin_clinic(account)


@router.post("/clinic/team/patients/{patient_id}/move", dependencies=[CsrfChecked])
def move_patient(
    request: Request,
    patient_id: str,
    account: ClinicianAccount,
    services: ServicesDep,
    to: Annotated[int, Form(ge=1, le=MAX_ID)],
    keep: Annotated[bool, Form()] = False,
) -> Response:
    _admin_clinic(services, account)
    try:
        services.clinics.move(account, patient_id, to, keep=keep)
    except ServiceError as exc:
        return _refused(request, services, account, exc)
    return see("/clinic/team?done=moved")


@router.post("/clinic/team/members/{user_id}/hand-over", dependencies=[CsrfChecked])
def hand_over(
    request: Request,
    user_id: UserIdPath,
    account: ClinicianAccount,
    services: ServicesDep,
    to: Annotated[int, Form(ge=1, le=MAX_ID)],
) -> Response:
    _admin_clinic(services, account)
    try:
        services.clinics.hand_over(account, user_id, to)
    except ServiceError as exc:
        return _refused(request, services, account, exc)
    return see("/clinic/team?done=handed")


@router.post("/clinic/team/members", dependencies=[CsrfChecked])
def add_member(
    request: Request,
    account: ClinicianAccount,
    services: ServicesDep,
    email: Annotated[str, Form(max_length=254)],
    admin: Annotated[bool, Form()] = False,
) -> Response:
    clinic = _admin_clinic(services, account)
    try:
        services.clinics.add_member(clinic.id, email, admin=admin)
    except ServiceError as exc:
        return _refused(request, services, account, exc)
    return see("/clinic/team?done=added")


@router.post("/clinic/team/members/{user_id}/admin", dependencies=[CsrfChecked])
def set_admin(
    request: Request,
    user_id: UserIdPath,
    account: ClinicianAccount,
    services: ServicesDep,
    admin: Annotated[bool, Form()] = False,
) -> Response:
    clinic = _admin_clinic(services, account)
    member = next((m for m in services.clinics.members(clinic.id) if m.user_id == user_id), None)
    if member is None:
        raise HTTPException(status_code=404, detail="no such clinician in your clinic")
    try:
        services.clinics.set_admin(clinic.id, member.email, admin)
    except ServiceError as exc:
        return _refused(request, services, account, exc)
    return see("/clinic/team?done=admin")


# ----- sharing inside the clinic, and between clinics ------------------------------------


@router.post("/clinic/exercises/{exercise_id}/share", dependencies=[CsrfChecked])
def share_exercise(
    exercise_id: str,
    account: ClinicianAccount,
    services: ServicesDep,
    shared: Annotated[str, Form(max_length=8)] = "yes",
) -> Response:
    on = shared not in ("no", "0", "false")
    services.own.share(Owner.clinician(account.id), exercise_id, shared=on)
    return see("/clinic/exercises?notice=shared")


@router.post("/clinic/protocols/{key}/share", dependencies=[CsrfChecked])
def share_protocol(
    key: str,
    account: ClinicianAccount,
    services: ServicesDep,
    shared: Annotated[str, Form(max_length=8)] = "yes",
) -> Response:
    on = shared not in ("no", "0", "false")
    services.own.share_protocol(Owner.clinician(account.id), key, shared=on)
    return see("/clinic/exercises?notice=shared")


@router.get("/clinic/library.json")
def export_library(account: ClinicianAccount, services: ServicesDep) -> Response:
    document = services.clinics.export_library(account)
    return Response(
        json.dumps(document, indent=1, ensure_ascii=False),
        media_type="application/json",
        headers={"Content-Disposition": 'attachment; filename="clinic-library.json"'},
    )


async def _limit(request: Request) -> None:
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > MAX_LIBRARY_UPLOAD:
        raise HTTPException(status_code=413, detail="the file is too large; nothing was stored")


@router.post("/clinic/library", dependencies=[Depends(_limit), CsrfChecked])
async def import_library(
    request: Request, account: ClinicianAccount, services: ServicesDep
) -> Response:
    _admin_clinic(services, account)
    form = await request.form()
    upload = form.get("file")
    document: Any = None
    try:
        if not isinstance(upload, UploadFile):
            raise ServiceError("file: choose a clinic library file (.json)")
        raw = await upload.read(MAX_LIBRARY_UPLOAD + 1)
        try:
            document = json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            raise ServiceError("file: not a JSON file") from None
        result = services.clinics.import_library(account, document)
    except ServiceError as exc:
        return _refused(request, services, account, exc)
    # Saved: to the page by a redirect (a reload does not send the file again), the
    # counts and the renamed copies in the address for the notice.
    renamed = [f"{a}:{b}" for a, b in list(result.renamed.items())[:MAX_RENAMED_SHOWN]]
    query = urlencode(
        {
            "done": "imported",
            "exercises": result.exercises,
            "protocols": result.protocols,
            "unchanged": result.unchanged,
            "renamed": ",".join(renamed),
            "more": max(0, len(result.renamed) - MAX_RENAMED_SHOWN),
        }
    )
    return see(f"/clinic/team?{query}")


MAX_RENAMED_SHOWN = 20
RENAMED_RE = re.compile(r"^[a-z][a-z0-9_]{0,63}:[a-z][a-z0-9_]{0,63}$")


def _count(text: str) -> int:
    return int(text) if text.isdigit() and len(text) < 7 else 0


def _imported_notice(request: Request) -> str:
    """The notice after an import, from the redirect's address (only counts and ids)."""
    params = request.query_params
    pairs = [
        p.split(":")
        for p in params.get("renamed", "").split(",")[:MAX_RENAMED_SHOWN]
        if RENAMED_RE.match(p)
    ]
    renamed = ", ".join(f"{a} → {b}" for a, b in pairs)
    more = _count(params.get("more", ""))
    if more:
        renamed += f" and {more} more"
    unchanged = _count(params.get("unchanged", ""))
    return (
        f"Imported {_count(params.get('exercises', ''))} exercises and "
        f"{_count(params.get('protocols', ''))} protocols as the clinic's shared ones"
        + (f"; renamed copies where the name was taken: {renamed}" if renamed else "")
        + (f"; {unchanged} already here, left as they were" if unchanged else "")
        + "."
    )
