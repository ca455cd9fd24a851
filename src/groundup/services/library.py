"""A clinician's own exercises and protocols, next to the built-in ones.

Own exercises are `Exercise` values checked by the same rules as the shipped library (the
model's own checks, then `ExerciseLibrary` over the built-in exercises and the owner's
others: links resolve, ladders never loop). Each edit adds a version; a person's program
keeps the version it was given (`OwnExerciseUse`, written when a program version naming
the exercise is saved). Own protocols are `Template` values whose exercises must resolve.

`rules_for_patient` builds what the clinical core gets for one person: the built-in rules
with the exercises and protocols of that person's clinicians added. The core stays pure;
it is handed the bigger library as an argument.

An owner is a scope: ("clinician", user id) for a clinician's private items, ("clinic",
clinic id) for those shared with their clinic. A clinician works in both: their own and
their clinic's shared items (`_in_scope`); a new item starts private and is shared (or
taken back) with `share`. Nothing of one clinic is ever in another's scope.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import re
import uuid
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from pydantic import ValidationError
from sqlalchemy import ColumnElement, delete, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from groundup.clinical.exercises import ID_PATTERN, Exercise, ExerciseLibrary, LibraryError
from groundup.clinical.program import Program
from groundup.clinical.rules import Rules, Template, Templates
from groundup.clinical.text import clean_text, first_unstorable
from groundup.knowledge import describe_validation_error, load_rules
from groundup.services.accounts import Forbidden
from groundup.services.photos import Photo, PhotoRefused, check_photo
from groundup.services.workflow import Conflict, NotFound, ServiceError, UnstorableText
from groundup.storage.database import Database
from groundup.storage.models import (
    ClinicianPatient,
    ClinicMember,
    ExercisePicture,
    OwnExercise,
    OwnExerciseUse,
    OwnTemplate,
    OwnTemplateUse,
    Patient,
    User,
)

CLINICIAN = "clinician"
CLINIC = "clinic"
MAX_OWN_EXERCISES = 2000
MAX_OWN_TEMPLATES = 500
ID_RE = re.compile(ID_PATTERN)


@dataclass(frozen=True)
class Owner:
    """Whose own exercises and protocols these are: ("clinician", user id) for now."""

    kind: str
    id: int

    @classmethod
    def clinician(cls, user_id: int) -> Owner:
        return cls(CLINICIAN, user_id)

    @classmethod
    def clinic(cls, clinic_id: int) -> Owner:
        return cls(CLINIC, clinic_id)

    @property
    def shared(self) -> bool:
        return self.kind == CLINIC


def clinic_of(session: Session, user_id: int) -> int | None:
    """The clinic a clinician belongs to (None: working on their own)."""
    found: int | None = session.scalar(
        select(ClinicMember.clinic_id).where(ClinicMember.user_id == user_id)
    )
    return found


def scopes(session: Session, owner: Owner) -> list[Owner]:
    """The scopes an owner works in: a clinician's own and their clinic's shared one."""
    if owner.kind != CLINICIAN:
        return [owner]
    clinic = clinic_of(session, owner.id)
    return [owner] if clinic is None else [owner, Owner.clinic(clinic)]


def _in_scope(session: Session, owner: Owner, model: Any) -> ColumnElement[bool]:
    return or_(
        *(
            (model.owner_kind == scope.kind) & (model.owner_id == scope.id)
            for scope in scopes(session, owner)
        )
    )


class Refused(UnstorableText):
    """An own exercise or protocol that breaks a rule: one line that names the field
    (a 422 on the API, like any request the models refuse)."""

    def __init__(self, field: str, message: str) -> None:
        ServiceError.__init__(self, f"{field}: {message}" if field else message)
        self.field = field
        self.problem = message

    def within(self, prefix: str) -> Refused:
        """The same refusal, its field placed inside a list (`exercises.2.`)."""
        return Refused(f"{prefix}.{self.field}" if self.field else prefix, self.problem)


@dataclass(frozen=True)
class OwnItem:
    """One own exercise as it stands now (its newest version)."""

    exercise: Exercise
    version: int
    retired: bool
    picture: str | None  # the photo's key, when it has one
    owner: Owner
    updated_at: dt.datetime


@dataclass(frozen=True)
class OwnProtocol:
    key: str
    template: Template
    version: int
    retired: bool
    owner: Owner


# ----- checking --------------------------------------------------------------------------


PLACE_RE = re.compile(r"^([a-z_]+(?:\.[a-z0-9_]+)*): (.+)$")


def _first_problem(error: ValidationError, prefix: str = "") -> Refused:
    first = error.errors()[0]
    where = ".".join(str(part) for part in first["loc"])
    message = describe_validation_error(error).split(": ", 1)[-1]
    placed = PLACE_RE.match(message) if not where else None
    if placed is not None:  # a whole-protocol check that names its own field
        where, message = placed.group(1), placed.group(2)
    return Refused(prefix + where, message)


def parse_exercise(raw: Any, *, author: str = "") -> Exercise:
    """An own exercise from plain data (a form, a JSON body, a YAML file): the Exercise
    model's own checks. A missing `sources` is filled with who wrote it."""
    if not isinstance(raw, Mapping):
        raise Refused("", "an exercise is a mapping of fields (id, name, targets, ...)")
    data = dict(raw)
    if not data.get("sources"):
        data["sources"] = [f"Own exercise{f' of {author}' if author else ''} (clinical practice)"]
    unstorable = first_unstorable(data)
    if unstorable is not None:
        raise Refused(clean_text(unstorable[0])[:120], unstorable[1])
    try:
        return Exercise.model_validate(data)
    except ValidationError as exc:
        raise _first_problem(exc) from None


def check_together(
    builtin: ExerciseLibrary, own: Iterable[Exercise], candidates: Sequence[Exercise]
) -> ExerciseLibrary:
    """The library the candidates make with the built-in and the owner's other exercises:
    the same whole-library checks as the shipped data (ids unique, links resolve, no loops)."""
    for exercise in candidates:
        if exercise.id in builtin:
            raise Refused("id", f"{exercise.id!r} is a built-in exercise; choose another id")
    replaced = {e.id for e in candidates}
    kept = [e for e in own if e.id not in replaced]
    try:
        return ExerciseLibrary([*builtin.values(), *kept, *candidates])
    except LibraryError as exc:
        message = str(exc)
        field = next(
            (f for f in ("regression", "progression", "single_leg_version") if f in message),
            "id",
        )
        raise Refused(field, message) from None


def parse_template(
    raw: Any, library: Mapping[str, Exercise], milestones: Collection[str] | None = None
) -> tuple[str, Template]:
    """An own protocol from plain data: `key` plus the Template fields; its exercises
    (and their alternatives and partners) must be in the library, and the milestones a
    phase moves on by must be phase-gate criteria (`milestones`: their ids; by default
    the shipped phases')."""
    if not isinstance(raw, Mapping):
        raise Refused("", "a protocol is a mapping of fields (key, name, phase, items, ...)")
    data = dict(raw)
    key = data.pop("key", None)
    if not isinstance(key, str) or not ID_RE.match(key) or len(key) > 64:
        raise Refused(
            "key", "a short id of lower-case letters, digits and _ (e.g. achilles_post_op)"
        )
    unstorable = first_unstorable(data)
    if unstorable is not None:
        raise Refused(clean_text(unstorable[0])[:120], unstorable[1])
    try:
        template = Template.model_validate(data)
    except ValidationError as exc:
        raise _first_problem(exc) from None
    for index, day in enumerate(template.training_days):
        if not 0 <= day <= 6:
            raise Refused(f"training_days.{index}", "a weekday from 0 (Monday) to 6 (Sunday)")
    stages = template.phases or (template.stage(0),)
    known = milestones if milestones is not None else load_rules().phases.milestones_by_id()
    for number, stage in enumerate(stages):
        at = f"phases.{number}." if template.phases else ""
        for index, item in enumerate(stage.items):
            for field, ids in (
                ("exercise_id", [item.exercise_id]),
                ("alternatives", list(item.alternatives)),
                ("pair_with", [item.pair_with] if item.pair_with else []),
            ):
                for exercise_id in ids:
                    if exercise_id not in library:
                        raise Refused(
                            f"{at}items.{index}.{field}",
                            f"no exercise with id {exercise_id[:64]!r}",
                        )
        if stage.move_on is not None:
            for index, milestone in enumerate(stage.move_on.milestones):
                if milestone not in known:
                    raise Refused(
                        f"{at}move_on.milestones.{index}",
                        f"no milestone with id {milestone[:64]!r} (the ids of the phase "
                        "gates, e.g. low_load_pain_free)",
                    )
    return key, template


def parse_exercises(raws: Sequence[Any], *, author: str = "") -> list[Exercise]:
    """Several exercises (a file's): each checked, ids not repeated; a refusal names the
    exercise's place in the list when there are several."""
    exercises: list[Exercise] = []
    for index, raw in enumerate(raws):
        try:
            exercises.append(parse_exercise(raw, author=author))
        except Refused as exc:
            raise (exc.within(f"exercises.{index}") if len(raws) > 1 else exc) from None
    seen: set[str] = set()
    for index, exercise in enumerate(exercises):
        if exercise.id in seen:
            raise Refused(f"exercises.{index}.id", f"{exercise.id!r} appears twice")
        seen.add(exercise.id)
    return exercises


def parse_templates(
    raws: Sequence[Any], library: Mapping[str, Exercise], builtin: Mapping[str, Template]
) -> list[tuple[str, Template]]:
    out: list[tuple[str, Template]] = []
    for index, raw in enumerate(raws):
        try:
            key, template = parse_template(raw, library)
        except Refused as exc:
            raise (exc.within(f"templates.{index}") if len(raws) > 1 else exc) from None
        if key in builtin:
            raise Refused("key", f"{key!r} is a built-in protocol; choose another key")
        if key in {k for k, _ in out}:
            raise Refused(f"templates.{index}.key", f"{key!r} appears twice")
        out.append((key, template))
    return out


# ----- the rules for one person ------------------------------------------------------------


_COMBINED: dict[tuple[Any, ...], tuple[Rules, Rules]] = {}
MAX_COMBINED = 256


def _combined(
    base: Rules,
    exercises: tuple[tuple[str, int, str], ...],
    templates: tuple[tuple[str, int, str], ...],
) -> Rules:
    key = (id(base), exercises, templates)
    found = _COMBINED.get(key)
    if found is None or found[0] is not base:
        found = (base, _combine(base, exercises, templates))
        if len(_COMBINED) >= MAX_COMBINED:
            _COMBINED.clear()
        _COMBINED[key] = found
    return found[1]


def _combine(
    base: Rules,
    exercises: tuple[tuple[str, int, str], ...],
    templates: tuple[tuple[str, int, str], ...],
) -> Rules:
    """The built-in rules with own exercises and protocols added (kept per distinct set)."""
    own = [Exercise.model_validate_json(text) for _, _, text in exercises]
    try:
        library = ExerciseLibrary([*base.library.values(), *own])
    except LibraryError:
        # Versions kept by a program no longer fit the newest ones: the program's own
        # exercises still resolve; the links between them are what the newest say.
        library = ExerciseLibrary(
            [*base.library.values(), *(e.model_copy(update=_no_links(e, own)) for e in own)]
        )
    added = {key: Template.model_validate_json(text) for key, _, text in templates}
    return dataclasses.replace(
        base,
        library=library,
        templates=Templates(
            templates={**base.templates.templates, **added},
            irritable_start=base.templates.irritable_start,
        ),
    )


def _no_links(exercise: Exercise, own: Sequence[Exercise]) -> dict[str, Any]:
    ids = {e.id for e in own}
    return {
        field: None
        for field in ("regression", "progression", "single_leg_version")
        if getattr(exercise, field) in ids
    }


def _json(data: dict[str, Any], model: Any) -> str:
    return str(model.model_validate(data).model_dump_json())


def rules_for_patient(session: Session, base: Rules, patient_id: str) -> Rules:
    """The rules for one person: built-in, plus their clinicians' own exercises (the
    version the program was given, else the newest) and protocols."""
    owners = list(
        session.scalars(
            select(ClinicianPatient.clinician_id).where(ClinicianPatient.patient_id == patient_id)
        )
    )
    pinned: dict[str, int] = {
        row.exercise_id: row.version
        for row in session.execute(
            select(OwnExerciseUse.exercise_id, OwnExerciseUse.version).where(
                OwnExerciseUse.patient_id == patient_id
            )
        )
    }
    kept: dict[str, int] = {
        row.key: row.version
        for row in session.execute(
            select(OwnTemplateUse.key, OwnTemplateUse.version).where(
                OwnTemplateUse.patient_id == patient_id
            )
        )
    }
    clinic = session.scalar(select(Patient.clinic_id).where(Patient.id == patient_id))
    if not owners and not pinned and not kept and clinic is None:
        return base
    conditions: list[Any] = []
    if owners:
        conditions.append((OwnExercise.owner_kind == CLINICIAN) & OwnExercise.owner_id.in_(owners))
    if clinic is not None:  # what the person's clinic shares
        conditions.append((OwnExercise.owner_kind == CLINIC) & (OwnExercise.owner_id == clinic))
    if pinned:
        conditions.append(OwnExercise.exercise_id.in_(list(pinned)))
    rows = session.execute(
        select(OwnExercise.exercise_id, OwnExercise.version, OwnExercise.data).where(
            or_(*conditions)
        )
    ).all()
    chosen: dict[str, tuple[int, dict[str, Any]]] = {}
    for exercise_id, version, data in rows:
        want = pinned.get(exercise_id)
        held = chosen.get(exercise_id)
        if want is not None:
            if version == want:
                chosen[exercise_id] = (version, data)
        elif held is None or version > held[0]:
            chosen[exercise_id] = (version, data)
    scope: list[Any] = []
    if owners:
        scope.append((OwnTemplate.owner_kind == CLINICIAN) & OwnTemplate.owner_id.in_(owners))
    if clinic is not None:
        scope.append((OwnTemplate.owner_kind == CLINIC) & (OwnTemplate.owner_id == clinic))
    template_rows = (
        session.execute(
            select(OwnTemplate.key, OwnTemplate.version, OwnTemplate.data).where(
                or_(*scope), OwnTemplate.retired.is_(False)
            )
        ).all()
        if scope
        else []
    )
    newest: dict[str, tuple[int, dict[str, Any]]] = {}
    for key, version, data in template_rows:
        if key not in kept and (key not in newest or version > newest[key][0]):
            newest[key] = (version, data)
    if kept:  # the version each program was planned from, whoever owns it now
        for key, version, data in session.execute(
            select(OwnTemplate.key, OwnTemplate.version, OwnTemplate.data).where(
                OwnTemplate.key.in_(list(kept))
            )
        ):
            if kept[key] == version:
                newest[key] = (version, data)
    if not chosen and not newest:
        return base
    exercises = tuple(sorted((i, v, _json(d, Exercise)) for i, (v, d) in chosen.items()))
    templates = tuple(sorted((k, v, _json(d, Template)) for k, (v, d) in newest.items()))
    return _combined(base, exercises, templates)


def pin_versions(session: Session, base: Rules, patient_id: str, program: Program) -> None:
    """Remember which version of each own exercise this person's program was given."""
    if program.template is not None and program.template not in base.templates.templates:
        _pin_template(session, patient_id, program.template)
    own = {s.exercise_id for s in program.slots if s.exercise_id not in base.library}
    own |= {s.pair_with for s in program.slots if s.pair_with and s.pair_with not in base.library}
    if not own:
        return
    have = set(
        session.scalars(
            select(OwnExerciseUse.exercise_id).where(
                OwnExerciseUse.patient_id == patient_id, OwnExerciseUse.exercise_id.in_(own)
            )
        )
    )
    for exercise_id in sorted(own - have):
        version = session.scalar(
            select(OwnExercise.version)
            .where(OwnExercise.exercise_id == exercise_id)
            .order_by(OwnExercise.version.desc())
            .limit(1)
        )
        if version is not None:
            session.add(
                OwnExerciseUse(patient_id=patient_id, exercise_id=exercise_id, version=version)
            )


def _pin_template(session: Session, patient_id: str, key: str) -> None:
    held = session.scalar(
        select(OwnTemplateUse.id).where(
            OwnTemplateUse.patient_id == patient_id, OwnTemplateUse.key == key
        )
    )
    if held is not None:
        return
    version = session.scalar(
        select(OwnTemplate.version)
        .where(OwnTemplate.key == key)
        .order_by(OwnTemplate.version.desc())
        .limit(1)
    )
    if version is not None:
        session.add(OwnTemplateUse(patient_id=patient_id, key=key, version=version))


def photos_for(session: Session, exercise_ids: Iterable[str]) -> dict[str, str]:
    """{exercise id: photo key} for the own exercises among these that have a photo."""
    ids = list(set(exercise_ids))
    if not ids:
        return {}
    rows = session.execute(
        select(OwnExercise.exercise_id, OwnExercise.version, ExercisePicture.key)
        .join(ExercisePicture, ExercisePicture.id == OwnExercise.picture_id)
        .where(OwnExercise.exercise_id.in_(ids))
    ).all()
    best: dict[str, tuple[int, str]] = {}
    for exercise_id, version, key in rows:
        if exercise_id not in best or version > best[exercise_id][0]:
            best[exercise_id] = (version, key)
    return {i: key for i, (_, key) in best.items()}


# ----- a person's export ----------------------------------------------------------------------

IMPORTED = "imported"  # the owner of own exercises that came in with a person's record


def export_own(session: Session, patient_id: str) -> list[dict[str, Any]]:
    """The own exercises a person's program was given, each in its version, with its photo."""
    rows = session.execute(
        select(OwnExercise.data, OwnExercise.version, ExercisePicture.data)
        .join(
            OwnExerciseUse,
            (OwnExerciseUse.exercise_id == OwnExercise.exercise_id)
            & (OwnExerciseUse.version == OwnExercise.version),
        )
        .outerjoin(ExercisePicture, ExercisePicture.id == OwnExercise.picture_id)
        .where(OwnExerciseUse.patient_id == patient_id)
        .order_by(OwnExercise.exercise_id)
    ).all()
    return [
        {
            "version": version,
            "exercise": data,
            "photo": base64.b64encode(photo).decode() if photo else None,
        }
        for data, version, photo in rows
    ]


def export_own_templates(session: Session, patient_id: str) -> list[dict[str, Any]]:
    rows = session.execute(
        select(OwnTemplate.key, OwnTemplate.version, OwnTemplate.data)
        .join(
            OwnTemplateUse,
            (OwnTemplateUse.key == OwnTemplate.key)
            & (OwnTemplateUse.version == OwnTemplate.version),
        )
        .where(OwnTemplateUse.patient_id == patient_id)
    ).all()
    return [{"key": k, "version": v, "template": d} for k, v, d in rows]


Own = TypeVar("Own", OwnExercise, OwnTemplate)


def _imported_version(
    session: Session,
    model: type[Own],
    same_key: ColumnElement[bool],
    version: int,
    content: Exercise | Template,
) -> tuple[int, bool]:
    """The version an imported item is kept under: the stored one with its number when it
    holds the same content (False: nothing to add), else that number if it is free or the
    next after the newest (True: add it)."""
    same = session.scalars(select(model).where(same_key, model.version == version)).first()
    if same is not None and type(content).model_validate(same.data) == content:
        return same.version, False
    newest = session.scalar(
        select(model.version).where(same_key).order_by(model.version.desc()).limit(1)
    )
    return (version if newest is None else newest + 1), True


def import_own_templates(session: Session, patient_id: str, items: Sequence[Any]) -> None:
    for item in items:
        template: Template = item.template
        version, new = _imported_version(
            session,
            OwnTemplate,
            OwnTemplate.key == item.key,
            item.version,
            template,
        )
        if new:
            session.add(
                OwnTemplate(
                    key=item.key,
                    version=version,
                    owner_kind=IMPORTED,
                    owner_id=0,
                    data=template.model_dump(mode="json"),
                    retired=True,
                )
            )
        session.add(OwnTemplateUse(patient_id=patient_id, key=item.key, version=version))
    session.flush()


def import_own(session: Session, patient_id: str, items: Sequence[Any]) -> None:
    """Bring a record's own exercises in (before its program versions are saved): an
    exercise already here in that version is used as it is; otherwise it is added (owned
    by no clinician) with its photo checked afresh, and the person's program is given it."""
    for item in items:
        exercise: Exercise = item.exercise
        data = exercise.model_dump(mode="json")
        version, new = _imported_version(
            session,
            OwnExercise,
            OwnExercise.exercise_id == exercise.id,
            item.version,
            exercise,
        )
        if new:
            picture_id = None
            if item.photo:
                try:
                    photo = check_photo(base64.b64decode(item.photo, validate=True))
                except (ValueError, PhotoRefused) as exc:
                    raise Refused(f"own_exercises.{exercise.id}.photo", str(exc)) from None
                picture = ExercisePicture(
                    key=uuid.uuid4().hex,
                    owner_kind=IMPORTED,
                    owner_id=0,
                    content_type=photo.content_type,
                    width=photo.width,
                    height=photo.height,
                    data=photo.data,
                )
                session.add(picture)
                session.flush()
                picture_id = picture.id
            session.add(
                OwnExercise(
                    exercise_id=exercise.id,
                    version=version,
                    owner_kind=IMPORTED,
                    owner_id=0,
                    data=data,
                    picture_id=picture_id,
                    retired=True,  # offered for no new protocol
                )
            )
        session.add(OwnExerciseUse(patient_id=patient_id, exercise_id=exercise.id, version=version))
    session.flush()


# ----- the owner's book ----------------------------------------------------------------------


class OwnLibrary:
    """Create, edit, retire and read one owner's exercises and protocols."""

    def __init__(self, database: Database, base: Rules) -> None:
        self.db = database
        self.base = base

    # reading

    def _rows(self, session: Session, owner: Owner) -> dict[str, OwnExercise]:
        rows = session.scalars(
            select(OwnExercise)
            .where(_in_scope(session, owner, OwnExercise))
            .order_by(OwnExercise.exercise_id, OwnExercise.version)
        ).all()
        return {row.exercise_id: row for row in rows}  # the newest of each wins

    def _item(self, session: Session, row: OwnExercise, owner: Owner) -> OwnItem:
        key = (
            session.scalar(select(ExercisePicture.key).where(ExercisePicture.id == row.picture_id))
            if row.picture_id
            else None
        )
        return OwnItem(
            Exercise.model_validate(row.data),
            row.version,
            row.retired,
            key,
            Owner(row.owner_kind, row.owner_id),
            row.created_at,
        )

    def items(self, owner: Owner, *, retired: bool = True) -> list[OwnItem]:
        with self.db.reading() as session:
            rows = self._rows(session, owner)
            keys: dict[int, str] = {
                row.id: row.key
                for row in session.execute(
                    select(ExercisePicture.id, ExercisePicture.key).where(
                        _in_scope(session, owner, ExercisePicture)
                    )
                )
            }
            return [
                OwnItem(
                    Exercise.model_validate(row.data),
                    row.version,
                    row.retired,
                    keys.get(row.picture_id) if row.picture_id else None,
                    Owner(row.owner_kind, row.owner_id),
                    row.created_at,
                )
                for row in rows.values()
                if retired or not row.retired
            ]

    def item(self, owner: Owner, exercise_id: str) -> OwnItem:
        with self.db.reading() as session:
            row = self._rows(session, owner).get(exercise_id)
            if row is None:
                raise NotFound(f"you have no own exercise with id {exercise_id[:64]!r}")
            return self._item(session, row, owner)

    def library(self, owner: Owner) -> ExerciseLibrary:
        """The built-in exercises and this owner's (newest versions)."""
        with self.db.reading() as session:
            own = [Exercise.model_validate(r.data) for r in self._rows(session, owner).values()]
        if not own:
            return self.base.library
        return ExerciseLibrary([*self.base.library.values(), *own])

    def version(self, exercise_id: str, version: int) -> Exercise:
        with self.db.reading() as session:
            data = session.scalar(
                select(OwnExercise.data).where(
                    OwnExercise.exercise_id == exercise_id, OwnExercise.version == version
                )
            )
        if data is None:
            raise NotFound(f"no version {version} of {exercise_id[:64]!r}")
        return Exercise.model_validate(data)

    # checking and writing

    def check(self, owner: Owner, raws: Sequence[Any], *, author: str = "") -> list[Exercise]:
        """Check exercises as they would be saved (new or edited), without saving them.
        Errors name the exercise when there are several."""
        exercises = parse_exercises(raws, author=author)
        with self.db.reading() as session:
            mine = self._rows(session, owner)
            taken = set(
                session.scalars(
                    select(OwnExercise.exercise_id).where(
                        OwnExercise.exercise_id.in_([e.id for e in exercises]),
                        ~_in_scope(session, owner, OwnExercise),
                    )
                )
            )
        for exercise in exercises:
            if exercise.id in taken:
                raise Refused("id", f"{exercise.id!r} is taken by another clinician's exercise")
        own = [Exercise.model_validate(r.data) for r in mine.values()]
        check_together(self.base.library, own, exercises)
        return exercises

    def save(
        self,
        owner: Owner,
        raws: Sequence[Any],
        *,
        by_user_id: int | None,
        author: str = "",
        new: bool | None = None,
    ) -> list[OwnItem]:
        """Save exercises: a new one starts at version 1, an edit adds a version.
        `new=True` refuses an id already in use; `new=False` refuses one not yet saved."""
        exercises = self.check(owner, raws, author=author)
        with self.db.transaction() as session:
            mine = self._rows(session, owner)
            if len(mine) + len([e for e in exercises if e.id not in mine]) > MAX_OWN_EXERCISES:
                raise Refused("", f"at most {MAX_OWN_EXERCISES} own exercises")
            saved: list[OwnExercise] = []
            for exercise in exercises:
                current = mine.get(exercise.id)
                if new is True and current is not None:
                    raise Conflict(f"id: you already have an exercise {exercise.id!r}; edit it")
                if new is False and current is None:
                    raise NotFound(f"you have no own exercise with id {exercise.id!r}")
                if current is not None and Exercise.model_validate(current.data) == exercise:
                    saved.append(current)  # unchanged: no new version
                    continue
                row = OwnExercise(
                    exercise_id=exercise.id,
                    version=(current.version + 1) if current else 1,
                    # an edit stays where the item is (private or shared)
                    owner_kind=current.owner_kind if current else owner.kind,
                    owner_id=current.owner_id if current else owner.id,
                    created_by=by_user_id,
                    data=exercise.model_dump(mode="json"),
                    picture_id=current.picture_id if current else None,
                    retired=current.retired if current else False,
                )
                session.add(row)
                saved.append(row)
            try:
                session.flush()
            except IntegrityError:
                raise Conflict(
                    "id: someone saved this exercise at the same moment; reload and try again"
                ) from None
            return [self._item(session, row, owner) for row in saved]

    def retire(self, owner: Owner, exercise_id: str, *, retired: bool = True) -> OwnItem:
        """Retire (or bring back) an exercise: retired ones are offered for no new
        protocol; programs that have one keep it."""
        with self.db.transaction() as session:
            row = self._rows(session, owner).get(exercise_id)
            if row is None:
                raise NotFound(f"you have no own exercise with id {exercise_id[:64]!r}")
            session.execute(
                update(OwnExercise)
                .where(
                    OwnExercise.exercise_id == exercise_id,
                    OwnExercise.owner_kind == row.owner_kind,
                    OwnExercise.owner_id == row.owner_id,
                )
                .values(retired=retired)
            )
            session.refresh(row)
            return self._item(session, row, owner)

    # photos

    def set_photo(self, owner: Owner, exercise_id: str, photo: Photo | None) -> OwnItem:
        """Give an exercise a photo (already checked and re-encoded), or take it away."""
        with self.db.transaction() as session:
            row = self._rows(session, owner).get(exercise_id)
            if row is None:
                raise NotFound(f"you have no own exercise with id {exercise_id[:64]!r}")
            picture_id = None
            if photo is not None:
                picture = ExercisePicture(
                    key=uuid.uuid4().hex,
                    owner_kind=row.owner_kind,
                    owner_id=row.owner_id,
                    content_type=photo.content_type,
                    width=photo.width,
                    height=photo.height,
                    data=photo.data,
                )
                session.add(picture)
                session.flush()
                picture_id = picture.id
            old = {
                r
                for r in session.scalars(
                    select(OwnExercise.picture_id).where(OwnExercise.exercise_id == exercise_id)
                )
                if r is not None
            }
            session.execute(
                update(OwnExercise)
                .where(OwnExercise.exercise_id == exercise_id)
                .values(picture_id=picture_id)
            )
            for stale in old - {picture_id}:
                session.execute(delete(ExercisePicture).where(ExercisePicture.id == stale))
            session.refresh(row)
            return self._item(session, row, owner)

    def photo(self, key: str) -> tuple[ExercisePicture, Owner]:
        with self.db.reading() as session:
            picture = session.scalars(
                select(ExercisePicture).where(ExercisePicture.key == key)
            ).first()
            if picture is None:
                raise NotFound("no such picture")
            session.expunge(picture)
            return picture, Owner(picture.owner_kind, picture.owner_id)

    def may_see_photo(
        self, picture: ExercisePicture, account_id: int, role: str, patient_id: str | None
    ) -> bool:
        """The owner sees their photos (a clinic's shared ones: its clinicians); a person
        sees those of their clinicians, of their clinic's shared exercises and of the
        exercises their own program was given (an imported record's, too)."""
        if role == "clinician":
            if picture.owner_kind == CLINICIAN:
                return account_id == picture.owner_id
            if picture.owner_kind != CLINIC:
                return False
            with self.db.reading() as session:
                return clinic_of(session, account_id) == picture.owner_id
        if role != "person" or patient_id is None:
            return False
        with self.db.reading() as session:
            if picture.owner_kind == CLINIC and picture.owner_id == session.scalar(
                select(Patient.clinic_id).where(Patient.id == patient_id)
            ):
                return True
            if picture.owner_kind == CLINICIAN and session.scalar(
                select(ClinicianPatient.clinician_id).where(
                    ClinicianPatient.patient_id == patient_id,
                    ClinicianPatient.clinician_id == picture.owner_id,
                )
            ):
                return True
            used = session.scalar(
                select(OwnExerciseUse.id)
                .join(OwnExercise, OwnExercise.exercise_id == OwnExerciseUse.exercise_id)
                .where(
                    OwnExerciseUse.patient_id == patient_id, OwnExercise.picture_id == picture.id
                )
                .limit(1)
            )
            return used is not None

    # protocols

    def _template_rows(self, session: Session, owner: Owner) -> dict[str, OwnTemplate]:
        rows = session.scalars(
            select(OwnTemplate)
            .where(_in_scope(session, owner, OwnTemplate))
            .order_by(OwnTemplate.key, OwnTemplate.version)
        ).all()
        return {row.key: row for row in rows}

    def protocols(self, owner: Owner) -> list[OwnProtocol]:
        with self.db.reading() as session:
            return [
                OwnProtocol(
                    r.key,
                    Template.model_validate(r.data),
                    r.version,
                    r.retired,
                    Owner(r.owner_kind, r.owner_id),
                )
                for r in self._template_rows(session, owner).values()
            ]

    def check_protocols(self, owner: Owner, raws: Sequence[Any]) -> list[tuple[str, Template]]:
        library = self.library(owner)
        with self.db.reading() as session:
            retired = set(
                session.scalars(
                    select(OwnExercise.exercise_id).where(
                        _in_scope(session, owner, OwnExercise),
                        OwnExercise.retired.is_(True),
                    )
                )
            )
        usable = {i: e for i, e in library.items() if i not in retired}
        out = parse_templates(raws, usable, self.base.templates.templates)
        with self.db.reading() as session:
            taken = set(
                session.scalars(
                    select(OwnTemplate.key).where(
                        OwnTemplate.key.in_([k for k, _ in out]),
                        ~_in_scope(session, owner, OwnTemplate),
                    )
                )
            )
        for key, _ in out:
            if key in taken:
                raise Refused("key", f"{key!r} is taken by another clinician's protocol")
        return out

    def save_protocols(
        self, owner: Owner, raws: Sequence[Any], *, by_user_id: int | None
    ) -> list[OwnProtocol]:
        checked = self.check_protocols(owner, raws)
        with self.db.transaction() as session:
            mine = self._template_rows(session, owner)
            if len(mine) + len(checked) > MAX_OWN_TEMPLATES:
                raise Refused("", f"at most {MAX_OWN_TEMPLATES} own protocols")
            out = []
            for key, template in checked:
                current = mine.get(key)
                version = (current.version + 1) if current else 1
                where = Owner(current.owner_kind, current.owner_id) if current else owner
                session.add(
                    OwnTemplate(
                        key=key,
                        version=version,
                        owner_kind=where.kind,
                        owner_id=where.id,
                        created_by=by_user_id,
                        data=template.model_dump(mode="json"),
                        retired=False,
                    )
                )
                out.append(OwnProtocol(key, template, version, False, where))
            try:
                session.flush()
            except IntegrityError:
                raise Conflict("key: saved by someone else at the same moment; try again") from None
            return out

    # sharing with the clinic

    def _share_target(self, session: Session, owner: Owner, current: Owner, shared: bool) -> Owner:
        """Where an item goes when shared (the clinician's clinic) or taken back (the
        clinician's own scope): only its own clinician shares it; only whoever wrote it
        or a clinic admin takes it back."""
        if owner.kind != CLINICIAN:
            raise Refused("shared", "only a clinician shares an item with their clinic")
        clinic = clinic_of(session, owner.id)
        if clinic is None:
            raise Refused("shared", "you are in no clinic: there is nobody to share with")
        return Owner.clinic(clinic) if shared else owner

    def _may_take_back(self, session: Session, owner: Owner, created_by: int | None) -> bool:
        if created_by == owner.id:
            return True
        return bool(
            session.scalar(select(ClinicMember.admin).where(ClinicMember.user_id == owner.id))
        )

    def share(self, owner: Owner, exercise_id: str, *, shared: bool = True) -> OwnItem:
        """Share an own exercise with the clinic (every clinician of the clinic may use and
        edit it; nobody outside the clinic sees it), or take it back to private."""
        with self.db.transaction() as session:
            row = self._rows(session, owner).get(exercise_id)
            if row is None:
                raise NotFound(f"you have no own exercise with id {exercise_id[:64]!r}")
            target = self._share_target(session, owner, Owner(row.owner_kind, row.owner_id), shared)
            first = session.scalar(
                select(OwnExercise.created_by)
                .where(OwnExercise.exercise_id == exercise_id)
                .order_by(OwnExercise.version)
                .limit(1)
            )
            if not shared and not self._may_take_back(session, owner, first):
                raise Forbidden("only whoever wrote it or a clinic admin makes it private again")
            if not shared and row.owner_kind == CLINIC:
                users = _clinic_protocols_using(session, row.owner_id, exercise_id)
                if users:
                    raise Conflict(
                        f"{exercise_id[:64]!r} stays shared: the clinic's "
                        f"protocol{'s' if len(users) > 1 else ''} "
                        + ", ".join(f"{name} ({key})" for key, name in users)
                        + " use it; make them private first, or take the exercise out of them"
                    )
            session.execute(
                update(OwnExercise)
                .where(OwnExercise.exercise_id == exercise_id)
                .values(owner_kind=target.kind, owner_id=target.id)
            )
            pictures = [
                p
                for p in session.scalars(
                    select(OwnExercise.picture_id).where(OwnExercise.exercise_id == exercise_id)
                )
                if p is not None
            ]
            if pictures:
                session.execute(
                    update(ExercisePicture)
                    .where(ExercisePicture.id.in_(pictures))
                    .values(owner_kind=target.kind, owner_id=target.id)
                )
            session.refresh(row)
            return self._item(session, row, owner)

    def share_protocol(self, owner: Owner, key: str, *, shared: bool = True) -> OwnProtocol:
        """Share an own protocol with the clinic, or take it back to private. Its own
        exercises must be usable by the clinic: shared ones or built-in."""
        with self.db.transaction() as session:
            row = self._template_rows(session, owner).get(key)
            if row is None:
                raise NotFound(f"you have no own protocol with key {key[:64]!r}")
            target = self._share_target(session, owner, Owner(row.owner_kind, row.owner_id), shared)
            first = session.scalar(
                select(OwnTemplate.created_by)
                .where(OwnTemplate.key == key)
                .order_by(OwnTemplate.version)
                .limit(1)
            )
            if not shared and not self._may_take_back(session, owner, first):
                raise Forbidden("only whoever wrote it or a clinic admin makes it private again")
            if shared:
                used = template_exercises(Template.model_validate(row.data))
                private = sorted(
                    session.scalars(
                        select(OwnExercise.exercise_id).where(
                            OwnExercise.exercise_id.in_(used),
                            OwnExercise.owner_kind == CLINICIAN,
                        )
                    ).unique()
                )
                if private:
                    raise Refused(
                        "items",
                        f"share its exercise {private[0]!r} first: the clinic cannot use a "
                        "private exercise",
                    )
            session.execute(
                update(OwnTemplate)
                .where(OwnTemplate.key == key)
                .values(owner_kind=target.kind, owner_id=target.id)
            )
            session.refresh(row)
            return OwnProtocol(
                row.key, Template.model_validate(row.data), row.version, row.retired, target
            )


def template_exercises(template: Template) -> set[str]:
    """Every exercise a protocol names, in any of its phases: items, alternatives, partners."""
    items = [i for k in range(template.stage_count) for i in template.stage(k).items]
    used = {i.exercise_id for i in items}
    used |= {a for i in items for a in i.alternatives}
    used |= {i.pair_with for i in items if i.pair_with}
    return used


def _clinic_protocols_using(
    session: Session, clinic_id: int, exercise_id: str
) -> list[tuple[str, str]]:
    """(key, name) of the clinic's shared protocols whose newest version names the exercise."""
    newest: dict[str, tuple[int, dict[str, Any], bool]] = {}
    for key, version, data, retired in session.execute(
        select(OwnTemplate.key, OwnTemplate.version, OwnTemplate.data, OwnTemplate.retired).where(
            OwnTemplate.owner_kind == CLINIC, OwnTemplate.owner_id == clinic_id
        )
    ):
        if key not in newest or version > newest[key][0]:
            newest[key] = (version, data, retired)
    out = []
    for key, (_, data, retired) in sorted(newest.items()):
        template = Template.model_validate(data)
        if not retired and exercise_id in template_exercises(template):
            out.append((key, template.name))
    return out


def clinician_owner(database: Database, email: str) -> tuple[Owner, str, int]:
    """The owner scope of a clinician named by e-mail (the command line's --clinician)."""
    with database.reading() as session:
        user = session.scalars(select(User).where(User.email == email.strip().lower())).first()
        if user is None or user.role != CLINICIAN:
            raise NotFound(f"no clinician with the e-mail {clean_text(email)[:120]!r}")
        return Owner.clinician(user.id), user.display_name, user.id
