"""The API of clinics: the clinic and its clinicians, the caseload (a clinic admin), moving a
patient, handing a caseload over, sharing own exercises and protocols with the clinic, and a
clinic's library exported and imported. The same services as the pages
(`services.clinics`, `services.library`): another clinic's patient or clinician is a 404.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path
from pydantic import BaseModel, Field

from groundup.services.accounts import Forbidden
from groundup.services.clinics import CaseloadEntry, ClinicInfo, Member
from groundup.services.library import Owner
from groundup.web.api import (
    ERRORS,
    Caller,
    CallerDep,
    ExerciseIdPath,
    JsonRoute,
    OwnExerciseOut,
    OwnProtocolOut,
    PatientId,
    _own_out,
    clinician_only,
    protocol_out,
)
from groundup.web.deps import ServicesDep

router = APIRouter(prefix="/api/v1", route_class=JsonRoute, responses=ERRORS)

MAX_ID = 2_147_483_647
UserIdPath = Annotated[int, Path(description="a clinician's user id", ge=1, le=MAX_ID)]
UserId = Annotated[int, Field(ge=1, le=MAX_ID, description="a clinician's user id")]
KeyPath = Annotated[str, Path(description="the protocol's key", max_length=64)]


class ClinicOut(BaseModel):
    id: int
    name: str


class MemberOut(BaseModel):
    user_id: int
    display_name: str
    email: str
    clinic_admin: bool
    active: bool
    patients: int


class MyClinicOut(BaseModel):
    clinic: ClinicOut
    clinic_admin: bool = Field(description="whether the caller is an admin of this clinic")
    members: list[MemberOut]


class CaseloadOut(BaseModel):
    patient_id: str
    display_name: str
    clinicians: list[int] = Field(description="the user ids of the clinicians looking after them")


class MoveRequest(BaseModel):
    model_config = {"extra": "forbid"}

    to: UserId
    from_clinician: UserId | None = Field(
        default=None, description="only this clinician's place is taken; default: all of them"
    )
    keep: bool = Field(default=False, description="add `to` beside the current clinicians")


class HandOverRequest(BaseModel):
    model_config = {"extra": "forbid"}

    to: UserId


class HandOverOut(BaseModel):
    moved: int = Field(description="how many patients went to the new clinician")


class AddMemberRequest(BaseModel):
    model_config = {"extra": "forbid"}

    email: str = Field(min_length=3, max_length=254)
    clinic_admin: bool = False


class ShareRequest(BaseModel):
    model_config = {"extra": "forbid"}

    shared: bool = Field(description="true: shared with the clinic; false: private")


class LibraryIn(BaseModel):
    """A file from GET /clinic/library (another clinic's)."""

    model_config = {"extra": "allow"}

    format: str = Field(max_length=64)
    version: int = Field(ge=0, le=1000)
    exercises: list[dict[str, Any]] = Field(default_factory=list, max_length=500)
    protocols: list[dict[str, Any]] = Field(default_factory=list, max_length=500)


class LibraryOut(BaseModel):
    """The clinic's shared exercises (photos as base64) and protocols, as one file."""

    model_config = {"extra": "allow"}

    format: str
    version: int
    exercises: list[dict[str, Any]]
    protocols: list[dict[str, Any]]


class ImportOut(BaseModel):
    exercises: int = Field(description="exercises added as the clinic's shared ones")
    protocols: int
    renamed: dict[str, str] = Field(description="id or key in the file -> the copy's here")
    unchanged: int = Field(description="items already here, the same, left as they were")


def _clinician(caller: Caller) -> None:
    clinician_only(caller.account, "only a clinician of a clinic can do this")


def _caseload_out(entry: CaseloadEntry) -> CaseloadOut:
    return CaseloadOut(
        patient_id=entry.patient_id,
        display_name=entry.display_name,
        clinicians=[uid for uid, _ in entry.clinicians],
    )


def _member_out(m: Member) -> MemberOut:
    return MemberOut(
        user_id=m.user_id,
        display_name=m.display_name,
        email=m.email,
        clinic_admin=m.admin,
        active=m.active,
        patients=m.patients,
    )


def _clinic_out(c: ClinicInfo) -> ClinicOut:
    return ClinicOut(id=c.id, name=c.name)


# ----- the site admin: clinics and their first admins -------------------------------------

ClinicIdPath = Annotated[int, Path(description="the clinic's id", ge=1, le=MAX_ID)]


class ClinicWithMembersOut(BaseModel):
    clinic: ClinicOut
    members: list[MemberOut]


class NewClinicRequest(BaseModel):
    model_config = {"extra": "forbid"}

    name: str = Field(min_length=1, max_length=120)
    admin_email: str = Field(
        min_length=3,
        max_length=254,
        description="a clinician in no clinic yet: the clinic's first admin",
    )


def _with_members(clinic: ClinicInfo, members: list[Member]) -> ClinicWithMembersOut:
    return ClinicWithMembersOut(
        clinic=_clinic_out(clinic), members=[_member_out(m) for m in members]
    )


def _site_admin(caller: Caller) -> None:
    if caller.account.role != "admin":
        raise Forbidden("only a site admin can create clinics or add clinicians to one")


@router.get(
    "/clinics",
    response_model=list[ClinicWithMembersOut],
    summary="Every clinic with its clinicians",
    tags=["clinic"],
)
def clinics(caller: CallerDep, services: ServicesDep) -> list[ClinicWithMembersOut]:
    """Every clinic with its clinicians (who is an admin, who is active, how many patients
    each looks after). Site admins only."""
    _site_admin(caller)
    return [_with_members(c, members) for c, members in services.clinics.overview()]


@router.post(
    "/clinics",
    status_code=201,
    response_model=ClinicWithMembersOut,
    summary="Create a clinic with its first admin",
    tags=["clinic"],
)
def create_clinic(
    body: NewClinicRequest, caller: CallerDep, services: ServicesDep
) -> ClinicWithMembersOut:
    """A new clinic and its first admin, a clinician in no clinic yet, in one step: a
    refusal (a name in use, a clinician of another clinic) leaves no clinic behind. The
    clinician's patients in no clinic join it. Site admins only."""
    _site_admin(caller)
    clinic = services.clinics.create(body.name, body.admin_email)
    return _with_members(clinic, services.clinics.members(clinic.id))


@router.post(
    "/clinics/{clinic_id}/members",
    status_code=201,
    response_model=MemberOut,
    summary="Add a clinician to a clinic",
    tags=["clinic"],
)
def add_clinic_member(
    clinic_id: ClinicIdPath, body: AddMemberRequest, caller: CallerDep, services: ServicesDep
) -> MemberOut:
    """A clinician in no clinic yet joins the clinic (as its admin too, if asked). Site
    admins only; an unknown clinic is a 404."""
    _site_admin(caller)
    return _member_out(services.clinics.add_member(clinic_id, body.email, admin=body.clinic_admin))


@router.get("/clinic", response_model=MyClinicOut, summary="My clinic", tags=["clinic"])
def my_clinic(caller: CallerDep, services: ServicesDep) -> MyClinicOut:
    """The caller's clinic and its clinicians. Clinicians of a clinic only."""
    _clinician(caller)
    clinic = services.clinics.member_clinic(caller.account)
    found = services.clinics.membership(caller.account.id)
    return MyClinicOut(
        clinic=_clinic_out(clinic),
        clinic_admin=bool(found and found[1]),
        members=[_member_out(m) for m in services.clinics.members(clinic.id)],
    )


@router.get(
    "/clinic/caseload",
    response_model=list[CaseloadOut],
    summary="The clinic's caseload",
    tags=["clinic"],
)
def caseload(caller: CallerDep, services: ServicesDep) -> list[CaseloadOut]:
    """Every patient of the clinic and who looks after them. Clinic admins only."""
    clinic = services.clinics.admin_clinic(caller.account)
    return [_caseload_out(e) for e in services.clinics.caseload(clinic.id)]


@router.post(
    "/clinic/patients/{patient_id}/move",
    response_model=CaseloadOut,
    summary="Move a patient to another clinician",
    tags=["clinic"],
)
def move_patient(
    patient_id: PatientId, body: MoveRequest, caller: CallerDep, services: ServicesDep
) -> CaseloadOut:
    """Give a patient of the clinic to another of its clinicians (a clinic admin). A patient
    or clinician of another clinic is a 404."""
    services.clinics.admin_clinic(caller.account)
    entry = services.clinics.move(
        caller.account,
        patient_id,
        body.to,
        from_user_id=body.from_clinician,
        keep=body.keep,
    )
    return _caseload_out(entry)


@router.post(
    "/clinic/members/{user_id}/hand-over",
    response_model=HandOverOut,
    summary="Hand a leaving clinician's caseload over",
    tags=["clinic"],
)
def hand_over(
    user_id: UserIdPath, body: HandOverRequest, caller: CallerDep, services: ServicesDep
) -> HandOverOut:
    """Every patient of the leaving clinician goes to `to` (same clinic); their own
    exercises and protocols become the clinic's; they are deactivated. Clinic admins only."""
    return HandOverOut(moved=services.clinics.hand_over(caller.account, user_id, body.to))


@router.post(
    "/clinic/members",
    status_code=201,
    response_model=MemberOut,
    summary="Add a clinician to the clinic",
    tags=["clinic"],
)
def add_member(body: AddMemberRequest, caller: CallerDep, services: ServicesDep) -> MemberOut:
    """A clinician account in no clinic yet joins this one (a clinic admin)."""
    clinic = services.clinics.admin_clinic(caller.account)
    return _member_out(services.clinics.add_member(clinic.id, body.email, admin=body.clinic_admin))


@router.post(
    "/exercises/{exercise_id}/share",
    response_model=OwnExerciseOut,
    summary="Share an own exercise with the clinic, or make it private",
    tags=["exercises"],
)
def share_exercise(
    exercise_id: ExerciseIdPath, body: ShareRequest, caller: CallerDep, services: ServicesDep
) -> OwnExerciseOut:
    """Shared: every clinician of the caller's clinic uses (and may edit) it; nobody outside
    the clinic sees it. Back to private: whoever wrote it, or a clinic admin."""
    _clinician(caller)
    item = services.own.share(Owner.clinician(caller.account.id), exercise_id, shared=body.shared)
    return _own_out(item)


@router.post(
    "/protocols/{key}/share",
    response_model=OwnProtocolOut,
    summary="Share an own protocol with the clinic, or make it private",
    tags=["exercises"],
)
def share_protocol(
    key: KeyPath, body: ShareRequest, caller: CallerDep, services: ServicesDep
) -> OwnProtocolOut:
    """As for exercises; a protocol is shared only when its own exercises are."""
    _clinician(caller)
    p = services.own.share_protocol(Owner.clinician(caller.account.id), key, shared=body.shared)
    return protocol_out(p)


@router.get(
    "/clinic/library",
    response_model=LibraryOut,
    summary="Export the clinic's shared exercises and protocols",
    tags=["clinic"],
)
def export_library(caller: CallerDep, services: ServicesDep) -> LibraryOut:
    """One document with the clinic's shared exercises (photos as base64) and protocols,
    for another clinic to import. Clinicians of a clinic."""
    return LibraryOut.model_validate(services.clinics.export_library(caller.account))


@router.post(
    "/clinic/library",
    response_model=ImportOut,
    summary="Import another clinic's exercises and protocols",
    tags=["clinic"],
)
def import_library(body: LibraryIn, caller: CallerDep, services: ServicesDep) -> ImportOut:
    """Adds them as this clinic's shared items (a clinic admin). Never overwrites: an id or
    key in use gets a renamed copy (`_2`, `_3`, ...); a refusal (422) names the field."""
    result = services.clinics.import_library(caller.account, body.model_dump(mode="json"))
    return ImportOut(
        exercises=result.exercises,
        protocols=result.protocols,
        renamed=result.renamed,
        unchanged=result.unchanged,
    )
