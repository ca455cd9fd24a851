"""Clinics: several clinicians sharing a caseload, and what a clinic shares.

A clinic has clinicians (`ClinicMember`, one clinic per clinician) and one or more clinic
admins: members flagged `admin`. The site-wide `admin` role stays what it was (accounts,
the audit log) and is the one that creates clinics and names their first admin.

A patient belongs to one clinic (`Patient.clinic_id`) and to one or more of its clinicians
(`ClinicianPatient`). A clinician sees only the patients linked to them; a clinic admin sees
the clinic's caseload (names and who looks after whom), moves a patient between clinicians
of the clinic and hands a leaving clinician's whole caseload over to another (who must be
of the same clinic), then deactivates them. Nothing here ever reaches across clinics: a
clinician or a patient of another clinic is "not found", like one that does not exist.

Sharing between clinics: `export_library` writes a clinic's shared exercises and protocols
as one JSON document; `import_library` adds them to another clinic as its shared items.
An import never changes an item that is already here: an id or key already in use (by any
clinic or clinician) gets a renamed copy (`calf_raise` → `calf_raise_2`), and the copies'
links and protocols are rewritten to match. An item identical to one the clinic already
shares under the same id is left as it is (importing the same file twice adds nothing).
"""

from __future__ import annotations

import base64
import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError
from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from groundup.clinical.exercises import Exercise
from groundup.clinical.rules import Template
from groundup.clinical.text import clean_text, text_problem
from groundup.services.accounts import Account, Forbidden
from groundup.services.library import (
    CLINIC,
    Owner,
    Refused,
    parse_exercise,
    parse_templates,
)
from groundup.services.photos import PhotoRefused, check_photo
from groundup.services.workflow import Conflict, NotFound, ServiceError, Services
from groundup.storage.models import (
    ApiToken,
    Clinic,
    ClinicianPatient,
    ClinicMember,
    ExercisePicture,
    OwnExercise,
    OwnTemplate,
    Patient,
    User,
    WebSession,
)

LIBRARY_FORMAT = "groundup-clinic-library"
LIBRARY_VERSION = 1
MAX_LIBRARY_ITEMS = 500
ID_LINKS = ("regression", "progression", "single_leg_version")


@dataclass(frozen=True)
class ClinicInfo:
    id: int
    name: str


@dataclass(frozen=True)
class Member:
    user_id: int
    email: str
    display_name: str
    admin: bool
    active: bool
    patients: int


@dataclass(frozen=True)
class CaseloadEntry:
    patient_id: str
    display_name: str
    clinicians: tuple[tuple[int, str], ...]  # (user id, name), by name


@dataclass(frozen=True)
class ImportResult:
    exercises: int
    protocols: int
    renamed: dict[str, str]  # old id or key -> the copy's
    unchanged: int


class Clinics:
    """Clinic use cases over the services' database."""

    def __init__(self, services: Services) -> None:
        self.services = services
        self.db = services.db

    # ----- reading -------------------------------------------------------------------

    def all(self) -> list[ClinicInfo]:
        with self.db.reading() as session:
            return [
                ClinicInfo(c.id, c.name)
                for c in session.scalars(select(Clinic).order_by(Clinic.name))
            ]

    def membership(self, user_id: int) -> tuple[ClinicInfo, bool] | None:
        """(the clinic, whether they are its admin) of a clinician; None when in none."""
        with self.db.reading() as session:
            row = session.execute(
                select(Clinic.id, Clinic.name, ClinicMember.admin)
                .join(ClinicMember, ClinicMember.clinic_id == Clinic.id)
                .where(ClinicMember.user_id == user_id)
            ).first()
        return None if row is None else (ClinicInfo(row.id, row.name), bool(row.admin))

    def by_name(self, name: str) -> ClinicInfo:
        with self.db.reading() as session:
            clinic = session.scalars(select(Clinic).where(Clinic.name == name.strip())).first()
            if clinic is None:
                raise NotFound(f"no clinic named {clean_text(name)[:120]!r}")
            return ClinicInfo(clinic.id, clinic.name)

    def admin_clinic(self, account: Account) -> ClinicInfo:
        """The clinic this account is an admin of; Forbidden for anyone else."""
        found = self.membership(account.id) if account.role == "clinician" else None
        if found is None or not found[1]:
            raise Forbidden("only a clinic admin can do this")
        return found[0]

    def member_clinic(self, account: Account) -> ClinicInfo:
        found = self.membership(account.id) if account.role == "clinician" else None
        if found is None:
            raise Forbidden("only a clinician of a clinic can do this")
        return found[0]

    def members(self, clinic_id: int) -> list[Member]:
        with self.db.reading() as session:
            counts: dict[int, int] = {
                row[0]: row[1]
                for row in session.execute(
                    select(ClinicianPatient.clinician_id, func.count())
                    .join(Patient, Patient.id == ClinicianPatient.patient_id)
                    .where(Patient.clinic_id == clinic_id)
                    .group_by(ClinicianPatient.clinician_id)
                )
            }
            rows = session.execute(
                select(User, ClinicMember.admin)
                .join(ClinicMember, ClinicMember.user_id == User.id)
                .where(ClinicMember.clinic_id == clinic_id)
                .order_by(User.display_name, User.id)
            ).all()
            return [
                Member(u.id, u.email, u.display_name, bool(a), bool(u.active), counts.get(u.id, 0))
                for u, a in rows
            ]

    def caseload(self, clinic_id: int) -> list[CaseloadEntry]:
        with self.db.reading() as session:
            patients = session.execute(
                select(Patient.id, Patient.display_name)
                .where(Patient.clinic_id == clinic_id)
                .order_by(Patient.display_name, Patient.id)
            ).all()
            links: dict[str, list[tuple[int, str]]] = {}
            for pid, uid, name in session.execute(
                select(ClinicianPatient.patient_id, User.id, User.display_name)
                .join(User, User.id == ClinicianPatient.clinician_id)
                .join(Patient, Patient.id == ClinicianPatient.patient_id)
                .where(Patient.clinic_id == clinic_id)
            ):
                links.setdefault(pid, []).append((uid, name))
            return [
                CaseloadEntry(pid, name, tuple(sorted(links.get(pid, []), key=lambda x: x[1])))
                for pid, name in patients
            ]

    # ----- setting up (the site admin, or a clinic admin for their own clinic) --------

    def create(self, name: str, admin_email: str | None = None) -> ClinicInfo:
        """A new clinic; with `admin_email`, that clinician (in no clinic yet) joins it as
        its first admin in the same step, so that a refusal leaves no clinic behind."""
        name = name.strip()
        if not 1 <= len(name) <= 120:
            raise ServiceError("name: a clinic's name has 1 to 120 characters")
        problem = text_problem(name, one_line=True)
        if problem is not None:
            raise ServiceError(f"name: {problem}")
        with self.db.transaction() as session:
            if session.scalar(select(Clinic.id).where(Clinic.name == name)) is not None:
                raise Conflict(f"name: there is already a clinic named {name!r}")
            clinic = Clinic(name=name)
            session.add(clinic)
            try:
                session.flush()
            except IntegrityError:
                raise Conflict(f"name: there is already a clinic named {name!r}") from None
            self.services.audit_in(session, None, "clinic_created", str(clinic.id))
            if admin_email is not None:
                self._add_member_in(session, clinic.id, admin_email, admin=True)
            return ClinicInfo(clinic.id, clinic.name)

    def overview(self) -> list[tuple[ClinicInfo, list[Member]]]:
        """Every clinic with its members (the site admin's page)."""
        return [(clinic, self.members(clinic.id)) for clinic in self.all()]

    def _clinician(self, session: Session, email: str) -> User:
        user = session.scalars(select(User).where(User.email == email.strip().lower())).first()
        if user is None or user.role != "clinician":
            raise NotFound(f"no clinician with the e-mail {clean_text(email)[:120]!r}")
        return user

    def add_member(self, clinic_id: int, email: str, *, admin: bool = False) -> Member:
        """Put a clinician who is in no clinic yet into this one; their patients (those in
        no clinic) come with them. A clinician of another clinic is refused."""
        with self.db.transaction() as session:
            user = self._add_member_in(session, clinic_id, email, admin=admin)
        return next(m for m in self.members(clinic_id) if m.user_id == user.id)

    def _add_member_in(self, session: Session, clinic_id: int, email: str, *, admin: bool) -> User:
        """`add_member` inside the caller's transaction."""
        if session.get(Clinic, clinic_id) is None:
            raise NotFound("clinic: no such clinic")
        user = self._clinician(session, email)
        held = session.get(ClinicMember, user.id)
        if held is not None and held.clinic_id != clinic_id:
            raise Conflict("email: this clinician is in another clinic")
        if held is None:
            mine = select(ClinicianPatient.patient_id).where(
                ClinicianPatient.clinician_id == user.id
            )
            elsewhere = session.scalar(
                select(Patient.id).where(
                    Patient.id.in_(mine),
                    Patient.clinic_id.is_not(None),
                    Patient.clinic_id != clinic_id,
                )
            )
            if elsewhere is not None:
                raise Conflict("email: some of this clinician's patients are in another clinic")
            session.add(ClinicMember(user_id=user.id, clinic_id=clinic_id, admin=admin))
            session.execute(
                update(Patient)
                .where(Patient.id.in_(mine), Patient.clinic_id.is_(None))
                .values(clinic_id=clinic_id)
            )
        elif admin:
            held.admin = True
        self.services.audit_in(session, None, "clinic_member", f"{clinic_id}:{user.id}")
        session.flush()
        return user

    def set_admin(self, clinic_id: int, email: str, admin: bool) -> None:
        with self.db.transaction() as session:
            user = self._clinician(session, email)
            held = session.get(ClinicMember, user.id)
            if held is None or held.clinic_id != clinic_id:
                raise NotFound("email: no such clinician in this clinic")
            if not admin and held.admin:
                others = session.scalar(
                    select(func.count()).where(
                        ClinicMember.clinic_id == clinic_id,
                        ClinicMember.admin.is_(True),
                        ClinicMember.user_id != user.id,
                    )
                )
                if not others:
                    raise Conflict("email: a clinic keeps at least one admin; name another first")
            held.admin = admin
            self.services.audit_in(
                session, None, "clinic_admin" if admin else "clinic_admin_removed", str(user.id)
            )

    # ----- the caseload (a clinic admin) -------------------------------------------------

    def _member(self, session: Session, clinic_id: int, user_id: int, *, active: bool) -> User:
        row = session.execute(
            select(User)
            .join(ClinicMember, ClinicMember.user_id == User.id)
            .where(ClinicMember.clinic_id == clinic_id, User.id == user_id)
        ).scalar_one_or_none()
        if row is None:
            raise NotFound("no such clinician in your clinic")
        if active and not row.active:
            raise Conflict("that clinician is deactivated; choose an active one")
        return row

    def _patient(self, session: Session, clinic_id: int, patient_id: str) -> Patient:
        patient = session.get(Patient, patient_id, with_for_update=True)
        if patient is None or patient.clinic_id != clinic_id:
            raise NotFound("no such person in your clinic")
        return patient

    def move(
        self,
        admin: Account,
        patient_id: str,
        to_user_id: int,
        *,
        from_user_id: int | None = None,
        keep: bool = False,
    ) -> CaseloadEntry:
        """Give a patient of the clinic to another of its clinicians: in place of
        `from_user_id` (or of all their clinicians), or beside them (`keep`)."""
        clinic = self.admin_clinic(admin)
        with self.db.transaction() as session:
            self._patient(session, clinic.id, patient_id)
            self._member(session, clinic.id, to_user_id, active=True)
            current = set(
                session.scalars(
                    select(ClinicianPatient.clinician_id).where(
                        ClinicianPatient.patient_id == patient_id
                    )
                )
            )
            if from_user_id is not None:
                self._member(session, clinic.id, from_user_id, active=False)
                if from_user_id not in current:
                    raise NotFound("from: that clinician does not look after this person")
            leaving = set() if keep else ({from_user_id} if from_user_id is not None else current)
            leaving.discard(to_user_id)
            if leaving:
                session.execute(
                    delete(ClinicianPatient).where(
                        ClinicianPatient.patient_id == patient_id,
                        ClinicianPatient.clinician_id.in_(leaving),
                    )
                )
            if to_user_id not in current:
                session.add(ClinicianPatient(clinician_id=to_user_id, patient_id=patient_id))
            self.services.audit_in(session, patient_id, "patient_moved", str(to_user_id))
        return next(e for e in self.caseload(clinic.id) if e.patient_id == patient_id)

    def hand_over(self, admin: Account, leaving_user_id: int, to_user_id: int) -> int:
        """A clinician leaves: every patient of theirs goes to another clinician of the
        clinic, their private exercises and protocols become the clinic's shared ones (so
        the programs that use them can still be edited), and they are deactivated (every
        session and token ends). Returns how many patients moved."""
        clinic = self.admin_clinic(admin)
        if leaving_user_id == to_user_id:
            raise ServiceError("to: hand over to another clinician")
        if leaving_user_id == admin.id:
            raise Forbidden("another clinic admin hands over your own caseload")
        with self.db.transaction() as session:
            leaving = self._member(session, clinic.id, leaving_user_id, active=False)
            self._member(session, clinic.id, to_user_id, active=True)
            theirs = list(
                session.scalars(
                    select(ClinicianPatient.patient_id).where(
                        ClinicianPatient.clinician_id == leaving_user_id
                    )
                )
            )
            already = set(
                session.scalars(
                    select(ClinicianPatient.patient_id).where(
                        ClinicianPatient.clinician_id == to_user_id
                    )
                )
            )
            session.execute(
                delete(ClinicianPatient).where(ClinicianPatient.clinician_id == leaving_user_id)
            )
            for patient_id in theirs:
                if patient_id not in already:
                    session.add(ClinicianPatient(clinician_id=to_user_id, patient_id=patient_id))
                self.services.audit_in(session, patient_id, "patient_moved", str(to_user_id))
            for model in (OwnExercise, OwnTemplate, ExercisePicture):
                session.execute(
                    update(model)
                    .where(model.owner_kind == "clinician", model.owner_id == leaving_user_id)
                    .values(owner_kind=CLINIC, owner_id=clinic.id)
                )
            leaving.active = False
            session.execute(delete(WebSession).where(WebSession.user_id == leaving_user_id))
            session.execute(
                update(ApiToken).where(ApiToken.user_id == leaving_user_id).values(revoked=True)
            )
            self.services.audit_in(session, None, "clinician_handed_over", str(leaving_user_id))
            return len(theirs)

    # ----- sharing between clinics -------------------------------------------------------

    def export_library(self, account: Account) -> dict[str, Any]:
        """The clinic's shared exercises (newest versions, photos included) and protocols,
        as one document another clinic can import."""
        clinic = self.member_clinic(account)
        own = self.services.own
        scope = Owner.clinic(clinic.id)
        exercises = []
        with self.db.reading() as session:
            for item in own.items(scope, retired=False):
                photo = None
                if item.picture:
                    data = session.scalar(
                        select(ExercisePicture.data).where(ExercisePicture.key == item.picture)
                    )
                    photo = base64.b64encode(data).decode() if data else None
                exercises.append(
                    {"exercise": item.exercise.model_dump(mode="json"), "photo": photo}
                )
        protocols = [
            {"key": p.key, **p.template.model_dump(mode="json")}
            for p in own.protocols(scope)
            if not p.retired
        ]
        return {
            "format": LIBRARY_FORMAT,
            "version": LIBRARY_VERSION,
            "clinic": clinic.name,
            "exported": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "exercises": exercises,
            "protocols": protocols,
        }

    def import_library(self, account: Account, document: Any) -> ImportResult:
        """Add another clinic's exported exercises and protocols as this clinic's shared
        ones (a clinic admin). Checked whole before anything is saved; one-line errors."""
        clinic = self.admin_clinic(account)
        own = self.services.own
        scope = Owner.clinic(clinic.id)
        exercises, photos, protocols = _read_library(document)
        with self.db.reading() as session:
            taken_ids = set(
                session.scalars(
                    select(OwnExercise.exercise_id).where(
                        OwnExercise.exercise_id.in_([e.id for e in exercises])
                    )
                )
            )
            taken_keys = set(
                session.scalars(
                    select(OwnTemplate.key).where(OwnTemplate.key.in_([k for k, _ in protocols]))
                )
            )
        ours = {i.exercise.id: i.exercise for i in own.items(scope)}
        our_protocols = {p.key: p.template for p in own.protocols(scope)}
        renamed: dict[str, str] = {}
        unchanged = 0
        builtin = own.base.library
        keep_ex: list[Exercise] = []
        for exercise in exercises:
            if ours.get(exercise.id) == exercise:
                unchanged += 1
                continue
            if exercise.id in builtin:
                raise Refused(f"exercises.{exercise.id}.id", "is a built-in exercise's id")
            if exercise.id in taken_ids:
                renamed[exercise.id] = _free(exercise.id, taken_ids | set(builtin))
                taken_ids.add(renamed[exercise.id])
            keep_ex.append(exercise)
        ex_map = dict(renamed)
        ready = [_renamed_exercise(e, ex_map) for e in keep_ex]
        keep_pr: list[tuple[str, Template]] = []
        builtin_templates = own.base.templates.templates
        for key, template in protocols:
            template = _renamed_template(template, ex_map)
            if our_protocols.get(key) == template:
                unchanged += 1
                continue
            if key in builtin_templates:
                raise Refused(f"protocols.{key}.key", "is a built-in protocol's key")
            if key in taken_keys:
                new_key = _free(key, taken_keys | set(builtin_templates))
                renamed[key] = new_key
                taken_keys.add(new_key)
                key = new_key
            keep_pr.append((key, template))
        # Checked whole first (nothing saved when anything is refused).
        raws = [e.model_dump(mode="json") for e in ready]
        if raws:
            own.check(scope, raws)
        library = {**own.library(scope), **{e.id: e for e in ready}}
        parse_templates(
            [{"key": k, **t.model_dump(mode="json")} for k, t in keep_pr],
            library,
            builtin_templates,
        )
        if ready:
            own.save(scope, raws, by_user_id=account.id)
            for original, exercise in zip(keep_ex, ready, strict=True):
                photo = photos.get(original.id)
                if photo is not None:
                    own.set_photo(scope, exercise.id, photo)
        if keep_pr:
            own.save_protocols(
                scope,
                [{"key": k, **t.model_dump(mode="json")} for k, t in keep_pr],
                by_user_id=account.id,
            )
        with self.db.transaction() as session:
            self.services.audit_in(
                session, None, "clinic_library_imported", f"{len(ready)}+{len(keep_pr)}"
            )
        return ImportResult(len(ready), len(keep_pr), renamed, unchanged)


def _free(name: str, taken: set[str]) -> str:
    """The first of name_2, name_3, ... not taken (kept within 64 characters)."""
    for n in range(2, 10_000):
        suffix = f"_{n}"
        candidate = name[: 64 - len(suffix)] + suffix
        if candidate not in taken:
            return candidate
    raise Refused("id", f"no free id for {name!r}")


def _renamed_exercise(exercise: Exercise, names: Mapping[str, str]) -> Exercise:
    update_: dict[str, Any] = {"id": names.get(exercise.id, exercise.id)}
    for field in ID_LINKS:
        value = getattr(exercise, field)
        if value in names:
            update_[field] = names[value]
    return Exercise.model_validate({**exercise.model_dump(mode="json"), **update_})


def _renamed_template(template: Template, names: Mapping[str, str]) -> Template:
    if not names:
        return template
    data = template.model_dump(mode="json")
    for item in data["items"]:
        item["exercise_id"] = names.get(item["exercise_id"], item["exercise_id"])
        item["alternatives"] = [names.get(a, a) for a in item.get("alternatives", [])]
        if item.get("pair_with"):
            item["pair_with"] = names.get(item["pair_with"], item["pair_with"])
    return Template.model_validate(data)


KEY = re.compile(r"[a-z0-9_]{1,64}")


def _read_library(document: Any) -> tuple[list[Exercise], dict[str, Any], list[tuple[str, Any]]]:
    """The document's exercises, photos (checked afresh) and raw protocols; the first
    problem as one line naming the field."""
    if not isinstance(document, Mapping):
        raise Refused("", "a clinic library file is a JSON object")
    if document.get("format") != LIBRARY_FORMAT:
        raise Refused("format", f"not a clinic library file (expected {LIBRARY_FORMAT!r})")
    if document.get("version") != LIBRARY_VERSION:
        raise Refused("version", f"this version of groundup reads version {LIBRARY_VERSION}")
    raw_exercises = document.get("exercises", [])
    raw_protocols = document.get("protocols", [])
    if not isinstance(raw_exercises, list):
        raise Refused("exercises", "a list of exercises")
    if not isinstance(raw_protocols, list):
        raise Refused("protocols", "a list of protocols")
    if len(raw_exercises) + len(raw_protocols) > MAX_LIBRARY_ITEMS:
        raise Refused("", f"at most {MAX_LIBRARY_ITEMS} items in one file")
    exercises: list[Exercise] = []
    photos: dict[str, Any] = {}
    for index, entry in enumerate(raw_exercises):
        where = f"exercises.{index}"
        if not isinstance(entry, Mapping) or "exercise" not in entry:
            raise Refused(where, "each entry has an 'exercise' (and may have a 'photo')")
        try:
            exercise = parse_exercise(entry["exercise"])
        except Refused as exc:
            raise exc.within(f"{where}.exercise") from None
        if exercise.id in {e.id for e in exercises}:
            raise Refused(f"{where}.exercise.id", f"{exercise.id!r} appears twice")
        exercises.append(exercise)
        photo = entry.get("photo")
        if photo is not None:
            if not isinstance(photo, str):
                raise Refused(f"{where}.photo", "a photo is base64 text")
            try:
                photos[exercise.id] = check_photo(base64.b64decode(photo, validate=True))
            except (ValueError, PhotoRefused) as exc:
                raise Refused(f"{where}.photo", str(exc)) from None
    protocols: list[tuple[str, Any]] = []
    for index, entry in enumerate(raw_protocols):
        where = f"protocols.{index}"
        if not isinstance(entry, Mapping):
            raise Refused(where, "each protocol is an object with a key")
        data = dict(entry)
        key = data.pop("key", None)
        if not isinstance(key, str) or not KEY.fullmatch(key):
            raise Refused(f"{where}.key", "a short id of lower-case letters, digits and _")
        if key in {k for k, _ in protocols}:
            raise Refused(f"{where}.key", f"{key!r} appears twice")
        try:
            template = Template.model_validate(data)
        except ValidationError as exc:
            first = exc.errors()[0]
            field = ".".join(str(p) for p in first["loc"])
            raise Refused(f"{where}.{field}", str(first["msg"])) from None
        protocols.append((key, template))
    return exercises, photos, protocols
