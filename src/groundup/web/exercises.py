"""Clinicians' own exercises and protocols on the web, and the photos' one address.

`/clinic/exercises`: the list, a form to create or edit one (every field a built-in exercise
has), its photo and retiring it. `/clinic/protocols`: own protocols, built in a form (or written as YAML).
`/exercise-pictures/{key}`: an uploaded photo, to its owner and to their patients only,
served as a plain image that no browser runs as a page.

Everything is checked by the services (`services.library`): the same rules as the
built-in data and as the API and the command line.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

import yaml
from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.datastructures import FormData, UploadFile

from groundup.clinical.exercises import Exercise
from groundup.clinical.vocabulary import (
    DoseType,
    Equipment,
    Kind,
    Laterality,
    Muscle,
    Phase,
    Position,
    Role,
)
from groundup.services import NotFound, ServiceError, Services
from groundup.services.accounts import Account
from groundup.services.library import Owner, OwnItem, Refused
from groundup.services.photos import MAX_PHOTO_BYTES, PhotoRefused, check_photo
from groundup.web import protocol_form
from groundup.web.deps import CsrfChecked, OptionalAccount, PageAccount, ServicesDep
from groundup.web.pages import render

router = APIRouter()

# The whole upload, form fields included: more than the photo limit by a margin for the
# form's own parts; a larger request is refused before any of it is read.
MAX_UPLOAD_REQUEST = MAX_PHOTO_BYTES + 64 * 1024
MAX_PROTOCOL_TEXT = 100_000
PHOTO_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Content-Disposition": 'inline; filename="exercise.jpg"',
    # An image opened on its own gets no scripts, no styles, no forms: never a page.
    "Content-Security-Policy": "default-src 'none'; img-src 'self'; sandbox",
    "Cache-Control": "private, max-age=3600",
    "Cross-Origin-Resource-Policy": "same-origin",
}
ROLE_WORDS = {
    Role.PRIME_MOVER: "main mover",
    Role.SYNERGIST: "helper",
    Role.STABILISER: "steadies",
    Role.STRETCHED: "stretched",
}


def _clinician(account: PageAccount) -> Account:
    if account.role != "clinician":
        raise HTTPException(status_code=403, detail="these pages are for clinicians")
    return account


ClinicianAccount = Annotated[Account, Depends(_clinician)]


def owner_of(account: Account) -> Owner:
    return Owner.clinician(account.id)


# ----- the form, both ways --------------------------------------------------------------


def _text(form: FormData, key: str) -> str:
    value = form.get(key)
    return str(value).strip() if isinstance(value, str) else ""


def _lines(form: FormData, key: str) -> list[str]:
    return [line.strip() for line in _text(form, key).splitlines() if line.strip()]


def _number(form: FormData, key: str) -> Any:
    """A number typed in, as a number when it is one (else the text, which the model
    then refuses naming the field); None when blank."""
    value = _text(form, key)
    if not value:
        return None
    try:
        number = float(value)
    except ValueError:
        return value
    return int(number) if number.is_integer() and "." not in value else number


def _slug(text: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")[:40]
    return slug if slug and slug[0].isalpha() else f"fault_{slug}"[:40]


def exercise_from_form(form: FormData, exercise_id: str | None = None) -> dict[str, Any]:
    """The form's fields as the data of an Exercise (checked later, by the services)."""
    data: dict[str, Any] = {
        "id": exercise_id or _text(form, "id"),
        "name": _text(form, "name"),
        "aliases": [a.strip() for a in _text(form, "aliases").split(",") if a.strip()],
        "summary": _text(form, "summary"),
        "kind": _text(form, "kind"),
        "targets": [
            {"muscle": muscle.value, "role": _text(form, f"role_{muscle.value}")}
            for muscle in Muscle
            if _text(form, f"role_{muscle.value}")
        ],
        "phases": [str(p) for p in form.getlist("phases")],
        "position": _text(form, "position"),
        "equipment": [str(e) for e in form.getlist("equipment")] or ["none"],
        "laterality": _text(form, "laterality"),
        "dose_type": _text(form, "dose_type"),
        "dose": {
            name: _number(form, f"dose_{name}")
            for name in ("sets", "amount", "range_low", "range_high", "rest_seconds")
        },
        "loadable": bool(_text(form, "loadable")),
        "steps": _lines(form, "steps"),
        "cues": _lines(form, "cues"),
        "cautions": _lines(form, "cautions"),
        "faults": [],
        "sources": _lines(form, "sources"),
    }
    if any(_text(form, f"tempo_{n}") for n in ("lowering", "bottom", "lifting", "top")):
        data["tempo"] = {
            n: _number(form, f"tempo_{n}") or 0 for n in ("lowering", "bottom", "lifting", "top")
        }
    for name in ("max_lowering_seconds", "default_load_kg"):
        if _text(form, name):
            data[name] = _number(form, name)
    for name in ("regression", "progression", "single_leg_version"):
        if _text(form, name):
            data[name] = _text(form, name)
    for line in _lines(form, "faults"):
        text, _, fix = line.partition("|")
        data["faults"].append({"id": _slug(text), "text": text.strip(), "fix": fix.strip()})
    if _text(form, "knob_name"):
        knob: dict[str, Any] = {
            "name": _text(form, "knob_name"),
            "easier_how": _text(form, "knob_easier_how"),
            "harder_how": _text(form, "knob_harder_how"),
        }
        if _text(form, "knob_unit"):
            knob["unit"] = _text(form, "knob_unit")
        levels = [v.strip() for v in _text(form, "knob_levels").split(",") if v.strip()]
        if levels:
            knob["levels"] = levels
            knob["default"] = _text(form, "knob_default")
        else:
            for name in ("minimum", "maximum", "step", "default"):
                knob[name] = _number(form, f"knob_{name}")
            knob["harder"] = _text(form, "knob_harder") or "increase"
        data["knob"] = knob
    return data


def form_from_exercise(exercise: Exercise) -> dict[str, str | list[str]]:
    """An exercise as the form's fields (to edit it)."""
    values: dict[str, str | list[str]] = {
        "id": exercise.id,
        "name": exercise.name,
        "aliases": ", ".join(exercise.aliases),
        "summary": exercise.summary,
        "kind": exercise.kind.value,
        "phases": [p.value for p in exercise.phases],
        "position": exercise.position.value,
        "equipment": [e.value for e in exercise.equipment],
        "laterality": exercise.laterality.value,
        "dose_type": exercise.dose_type.value,
        "loadable": "on" if exercise.loadable else "",
        "steps": "\n".join(exercise.steps),
        "cues": "\n".join(exercise.cues),
        "cautions": "\n".join(exercise.cautions),
        "faults": "\n".join(f"{f.text} | {f.fix}" for f in exercise.faults),
        "sources": "\n".join(exercise.sources),
        "regression": exercise.regression or "",
        "progression": exercise.progression or "",
        "single_leg_version": exercise.single_leg_version or "",
        "max_lowering_seconds": _fmt(exercise.max_lowering_seconds),
        "default_load_kg": _fmt(exercise.default_load_kg),
    }
    for target in exercise.targets:
        values[f"role_{target.muscle.value}"] = target.role.value
    for name in ("sets", "amount", "range_low", "range_high", "rest_seconds"):
        values[f"dose_{name}"] = _fmt(getattr(exercise.dose, name))
    if exercise.tempo is not None:
        for name in ("lowering", "bottom", "lifting", "top"):
            values[f"tempo_{name}"] = _fmt(getattr(exercise.tempo, name))
    knob = exercise.knob
    if knob is not None:
        values.update(
            knob_name=knob.name,
            knob_unit=knob.unit or "",
            knob_levels=", ".join(knob.levels or ()),
            knob_default=_fmt(knob.default),
            knob_minimum=_fmt(knob.minimum),
            knob_maximum=_fmt(knob.maximum),
            knob_step=_fmt(knob.step),
            knob_harder=knob.harder,
            knob_easier_how=knob.easier_how,
            knob_harder_how=knob.harder_how,
        )
    return values


def _fmt(value: float | str | None) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else f"{value:g}"


def form_values(form: FormData) -> dict[str, str | list[str]]:
    values: dict[str, str | list[str]] = {}
    for key in form:
        if key in ("csrf", "photo"):
            continue
        items = [str(v) for v in form.getlist(key) if isinstance(v, str)]
        values[key] = items if key in ("phases", "equipment") else (items[0] if items else "")
    return values


def field_of(error: Refused) -> str:
    """The form field a refusal is about (`dose.amount` → `dose_amount`)."""
    parts = error.field.split(".")
    if not error.field:
        return "form"
    if parts[0] in ("dose", "tempo", "knob"):
        whole = {"dose": "amount", "tempo": "lowering", "knob": "default"}[parts[0]]
        return f"{parts[0]}_{parts[1] if len(parts) > 1 else whole}"
    if parts[0] == "targets":
        return "targets"
    return parts[0]


# ----- pages ------------------------------------------------------------------------------


def _choices(services: Services, owner: Owner, exclude: str = "") -> list[tuple[str, str]]:
    library = services.own.library(owner)
    return sorted(
        ((e.id, e.name) for e in library.values() if e.id != exclude), key=lambda p: p[1].lower()
    )


def _form_page(
    request: Request,
    services: Services,
    account: Account,
    *,
    item: OwnItem | None,
    values: dict[str, str | list[str]],
    errors: dict[str, str] | None = None,
    error: str | None = None,
    notice: str | None = None,
    status_code: int = 200,
) -> Response:
    return render(
        request,
        "clinic_exercise.html",
        status_code=status_code,
        item=item,
        values=values,
        errors=errors or {},
        error=error,
        notice=notice,
        muscles=[(m.value, m.label) for m in Muscle],
        roles=[(r.value, ROLE_WORDS[r]) for r in Role],
        phases=[(p.value, f"{p.number}. {p.label}") for p in Phase],
        positions=[p.value for p in Position],
        equipment=[e.value for e in Equipment],
        kinds=[k.value for k in Kind],
        lateralities=[(v.value, v.value.replace("_", " ")) for v in Laterality],
        dose_types=[d.value for d in DoseType],
        links=_choices(services, owner_of(account), item.exercise.id if item else ""),
        max_photo_mb=MAX_PHOTO_BYTES // (1024 * 1024),
    )


@router.get("/clinic/exercises", response_class=HTMLResponse)
def exercises_page(
    request: Request, account: ClinicianAccount, services: ServicesDep, notice: str = ""
) -> Response:
    items = sorted(services.own.items(owner_of(account)), key=lambda i: i.exercise.name.lower())
    notices = {
        "retired": "Exercise retired: no new protocol can use it; programs that have it keep it.",
        "restored": "Exercise back in use.",
        "protocol": "Protocol saved: it is offered when you start a program for one of your patients.",
        "shared": "Saved: shared items are usable by every clinician of your clinic, and by "
        "nobody outside it; private ones by you alone.",
    }
    found = services.clinics.membership(account.id)
    return render(
        request,
        "clinic_exercises.html",
        items=items,
        protocols=services.own.protocols(owner_of(account)),
        notice=notices.get(notice),
        clinic=found[0] if found else None,
    )


@router.get("/clinic/exercises/new", response_class=HTMLResponse)
def new_exercise_page(
    request: Request, account: ClinicianAccount, services: ServicesDep
) -> Response:
    defaults: dict[str, str | list[str]] = {
        "kind": "strength",
        "position": "standing",
        "laterality": "one_leg",
        "dose_type": "reps",
        "equipment": ["none"],
        "dose_sets": "2",
        "dose_amount": "10",
        "dose_range_low": "8",
        "dose_range_high": "15",
        "dose_rest_seconds": "60",
        "tempo_lowering": "3",
        "tempo_lifting": "1",
        "sources": f"Own exercise of {account.display_name} (clinical practice)",
    }
    return _form_page(request, services, account, item=None, values=defaults)


def _save(
    request: Request,
    services: Services,
    account: Account,
    form: FormData,
    item: OwnItem | None,
) -> Response:
    data = exercise_from_form(form, item.exercise.id if item else None)
    try:
        [saved] = services.own.save(
            owner_of(account),
            [data],
            by_user_id=account.id,
            author=account.display_name,
            new=item is None,
        )
    except Refused as exc:
        field = field_of(exc)
        return _form_page(
            request,
            services,
            account,
            item=item,
            values=form_values(form),
            errors={field: str(exc)},
            error=f"Not saved: {exc}",
            status_code=422,
        )
    except ServiceError as exc:
        return _form_page(
            request,
            services,
            account,
            item=item,
            values=form_values(form),
            errors={"id": str(exc)},
            error=f"Not saved: {exc}",
            status_code=409 if "already" in str(exc) else 400,
        )
    return RedirectResponse(
        f"/clinic/exercises/{saved.exercise.id}?saved={saved.version}", status_code=303
    )


@router.post("/clinic/exercises/new", dependencies=[CsrfChecked])
async def create_exercise(
    request: Request, account: ClinicianAccount, services: ServicesDep
) -> Response:
    form = await request.form()
    return _save(request, services, account, form, None)


@router.get("/clinic/exercises/{exercise_id}", response_class=HTMLResponse)
def exercise_page(
    request: Request,
    exercise_id: str,
    account: ClinicianAccount,
    services: ServicesDep,
    saved: int = 0,
    photo: str = "",
) -> Response:
    item = services.own.item(owner_of(account), exercise_id)
    notice = None
    if saved:
        notice = f"Saved as version {saved}. Programs already given an earlier version keep it."
    elif photo == "added":
        notice = "Photo saved: patients see it in place of the drawing."
    elif photo == "removed":
        notice = "Photo removed: patients see the drawing again."
    return _form_page(
        request,
        services,
        account,
        item=item,
        values=form_from_exercise(item.exercise),
        notice=notice,
    )


@router.post("/clinic/exercises/{exercise_id}", dependencies=[CsrfChecked])
async def edit_exercise(
    request: Request, exercise_id: str, account: ClinicianAccount, services: ServicesDep
) -> Response:
    item = services.own.item(owner_of(account), exercise_id)
    form = await request.form()
    return _save(request, services, account, form, item)


@router.post("/clinic/exercises/{exercise_id}/retire", dependencies=[CsrfChecked])
async def retire_exercise(
    request: Request, exercise_id: str, account: ClinicianAccount, services: ServicesDep
) -> Response:
    form = await request.form()
    retire = _text(form, "retired") != "no"
    services.own.retire(owner_of(account), exercise_id, retired=retire)
    return RedirectResponse(
        f"/clinic/exercises?notice={'retired' if retire else 'restored'}", status_code=303
    )


async def limit_upload(request: Request) -> None:
    """Refuse an upload larger than the limit before reading any of it (413)."""
    length = request.headers.get("content-length", "")
    if not length.isdigit():
        raise HTTPException(status_code=411, detail="send the photo with its length")
    if int(length) > MAX_UPLOAD_REQUEST:
        raise HTTPException(
            status_code=413,
            detail=f"the file is larger than {MAX_PHOTO_BYTES // (1024 * 1024)} MB; "
            "send a smaller photo; nothing was stored",
        )


UploadLimited = Depends(limit_upload)


@router.post("/clinic/exercises/{exercise_id}/photo", dependencies=[UploadLimited, CsrfChecked])
async def upload_photo(
    request: Request, exercise_id: str, account: ClinicianAccount, services: ServicesDep
) -> Response:
    item = services.own.item(owner_of(account), exercise_id)
    form = await request.form()
    if _text(form, "remove"):
        services.own.set_photo(owner_of(account), exercise_id, None)
        return RedirectResponse(f"/clinic/exercises/{exercise_id}?photo=removed", status_code=303)
    upload = form.get("photo")
    problem = None
    if not isinstance(upload, UploadFile):
        problem = "choose a photo to upload"
    else:
        data = await upload.read(MAX_PHOTO_BYTES + 1)
        try:
            photo = check_photo(data)
        except PhotoRefused as exc:
            problem = str(exc)
        else:
            services.own.set_photo(owner_of(account), exercise_id, photo)
            return RedirectResponse(f"/clinic/exercises/{exercise_id}?photo=added", status_code=303)
    return _form_page(
        request,
        services,
        account,
        item=item,
        values=form_from_exercise(item.exercise),
        errors={"photo": problem + "; nothing was stored"},
        error=f"Photo not saved: {problem}; nothing was stored.",
        status_code=422,
    )


# ----- protocols ---------------------------------------------------------------------------


def _protocol_form(
    request: Request,
    services: ServicesDep,
    account: Account,
    values: dict[str, Any],
    *,
    errors: dict[str, str] | None = None,
    error: str | None = None,
    editing: str | None = None,
    status_code: int = 200,
) -> Response:
    own = sorted(
        (item.exercise for item in services.own.items(owner_of(account), retired=False)),
        key=lambda e: e.name.lower(),
    )
    builtin = sorted(services.own.base.library.values(), key=lambda e: e.name.lower())
    # What a protocol's phase may move on by: the method's phase gates, phase by phase.
    milestones = [
        (phase, services.own.base.phases[phase].gate) for phase in Phase if phase.next() is not None
    ]
    return render(
        request,
        "clinic_protocol_form.html",
        status_code=status_code,
        values=values,
        errors=errors or {},
        error=error,
        editing=editing,
        own_exercises=own,
        builtin_exercises=builtin,
        phases=list(Phase),
        milestones=milestones,
        weekdays=protocol_form.WEEKDAYS,
    )


def _yaml_page(
    request: Request,
    text: str,
    *,
    problem: str | None = None,
    status_code: int = 200,
) -> Response:
    return render(
        request,
        "clinic_protocol.html",
        status_code=status_code,
        text=text,
        errors={"text": problem} if problem else {},
        error=f"Not saved: {problem}" if problem else None,
    )


@router.get("/clinic/protocols/new", response_class=HTMLResponse)
def new_protocol_page(
    request: Request, account: ClinicianAccount, services: ServicesDep
) -> Response:
    if request.query_params.get("as") == "yaml":
        return _yaml_page(request, EXAMPLE_PROTOCOL)
    return _protocol_form(request, services, account, protocol_form.blank_values())


@router.get("/clinic/protocols/{key}/edit", response_class=HTMLResponse)
def edit_protocol_page(
    request: Request, key: str, account: ClinicianAccount, services: ServicesDep
) -> Response:
    """An existing protocol opens in the form (or, asked for, as YAML)."""
    found = next((p for p in services.own.protocols(owner_of(account)) if p.key == key), None)
    if found is None:
        raise NotFound("no such protocol")
    if request.query_params.get("as") == "yaml":
        data = {"key": key, **found.template.model_dump(mode="json", exclude_defaults=True)}
        return _yaml_page(request, yaml.safe_dump(data, sort_keys=False, allow_unicode=True))
    values = protocol_form.values_from_template(key, found.template)
    return _protocol_form(request, services, account, values, editing=key)


EXAMPLE_PROTOCOL = """key: my_protocol
name: My protocol
description: What it is for and how it runs, in a sentence or two.
source: Own clinical practice
confidence: U
phase: low_load_resistance
training_days: [0, 2, 4]
weeks: 6
items:
  - {exercise_id: calf_raise_wall, sets: 3, amount: 12}
  - {exercise_id: tibialis_raise_wall, sets: 2, amount: 15}
"""


@router.post("/clinic/protocols/new", dependencies=[CsrfChecked])
async def create_protocol(
    request: Request, account: ClinicianAccount, services: ServicesDep
) -> Response:
    """The form or the YAML textbox (a `text` field): both go through the one protocol
    check. The form's "add" buttons re-render it with one more row, nothing saved."""
    form = await request.form()
    if "text" in form:
        return _save_yaml(request, account, services, _text(form, "text")[:MAX_PROTOCOL_TEXT])
    values = protocol_form.values_from_form(form)
    editing = _text(form, "editing") or None
    add = _text(form, "add")
    remove = _text(form, "remove_phase")
    if add or remove:
        if add:
            protocol_form.add_row(values, add)
        else:
            protocol_form.remove_phase(values, remove)
        return _protocol_form(request, services, account, values, editing=editing)
    try:
        services.own.save_protocols(
            owner_of(account), [protocol_form.document(values)], by_user_id=account.id
        )
    except Refused as exc:
        field = protocol_form.field_of(exc.field, values) if exc.field else ""
        words = protocol_form.field_words(field) if field else ""
        message = f"{words}: {exc.problem}" if words else exc.problem
        return _protocol_form(
            request,
            services,
            account,
            values,
            errors={field or "form": message},
            error=f"Not saved: {message}",
            editing=editing,
            status_code=422,
        )
    except ServiceError as exc:
        return _protocol_form(
            request,
            services,
            account,
            values,
            errors={"form": str(exc)},
            error=f"Not saved: {exc}",
            editing=editing,
            status_code=422,
        )
    return RedirectResponse("/clinic/exercises?notice=protocol", status_code=303)


def _save_yaml(request: Request, account: Account, services: Services, text: str) -> Response:
    problem = None
    try:
        data = yaml.safe_load(text) if text else None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        problem = f"not valid YAML{where}"
    if problem is None:
        try:
            services.own.save_protocols(owner_of(account), [data], by_user_id=account.id)
        except ServiceError as exc:
            problem = str(exc)
        else:
            return RedirectResponse("/clinic/exercises?notice=protocol", status_code=303)
    return _yaml_page(request, text, problem=problem, status_code=422)


# ----- the photos' address ------------------------------------------------------------------


@router.get("/exercise-pictures/{key}")
def exercise_picture(key: str, account: OptionalAccount, services: ServicesDep) -> Response:
    """A photo, to its owner and to the owner's patients; the same 404 for anyone else."""
    if account is None or not re.fullmatch(r"[0-9a-f]{32}", key):
        raise NotFound("no such picture")
    picture, _ = services.own.photo(key)
    if not services.own.may_see_photo(picture, account.id, account.role, account.patient_id):
        raise NotFound("no such picture")
    return Response(
        content=picture.data,
        media_type=picture.content_type,
        headers=PHOTO_HEADERS,
    )
