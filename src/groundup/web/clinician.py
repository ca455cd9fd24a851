"""Pages for clinicians and admins.

Clinicians: the dashboard (`/clinic`), new patients, a patient's record, assessment
entry, the program editor (overrides) and invite codes. Admins: clinician accounts.

Every patient route calls `Accounts.require` before anything else touches the patient's
data (through `status_of`), so an unknown id and another clinician's patient look the
same: 404 with one message. Forms are parsed here and validated by the clinical models;
a bad value comes back beside its field with status 400, never as a crash.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError
from starlette.datastructures import FormData

from groundup.clinical.assessment import (
    AffectedSide,
    Assessment,
    Condition,
    FootPosture,
    ObjectiveTests,
    Sex,
    StepDownFault,
)
from groundup.clinical.exercises import Exercise
from groundup.clinical.logs import QUESTIONNAIRE_MAX_WEEKS, CheckIn, Override, SessionLog
from groundup.clinical.overrides import key_exercise, swap_suggestions
from groundup.clinical.pathways import load_restriction
from groundup.clinical.program import Preferences, Program, ProgramEdit
from groundup.clinical.progression import (
    Decision,
    questionnaire_every_days,
    questionnaires_due_on,
)
from groundup.clinical.screening import ScreenAnswers
from groundup.clinical.vocabulary import Equipment, Phase
from groundup.knowledge import load_screening_rules
from groundup.services import NotFound, Referred, ServiceError, Services, audit
from groundup.services.accounts import Account, Accounts
from groundup.services.dashboard import (
    LABELS,
    PatientStatus,
    attention,
    clinician_overview,
    status_of,
)
from groundup.services.workflow import OverrideRefused
from groundup.web import charts
from groundup.web.deps import (
    AccountsDep,
    AdminAccount,
    ClinicianAccount,
    ClinicianPatient,
    CsrfChecked,
    FormDep,
    ServicesDep,
    see,
)
from groundup.web.downloads import export_download
from groundup.web.forms import field_errors, first, posted, put
from groundup.web.pages import render

router = APIRouter()

WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
TEST_IDS = tuple(ObjectiveTests.model_fields)
NOTICES = {
    "program": "Program started from the assessment.",
    "retest": "Retest recorded; the engine has evaluated it (see the decisions below).",
    "screen": "Screen recorded: clear. Record the assessment now.",
    "active": "Clinician reactivated.",
    "inactive": "Clinician deactivated; their sessions and API tokens were ended.",
    "created": "Clinician account created: they sign in with the temporary password, then "
    "choose their own and set up their second factor.",
    "reset": "Second factor reset: they set it up again at their next sign-in; every session "
    "and API token of theirs has ended.",
    "temporary": "Temporary password set: they choose their own at their next sign-in; every "
    "session and API token of theirs has ended.",
    "clinic": "Clinic created; its admin sees its team, caseload and shared library under Clinic.",
    "member": "Clinician added to the clinic; their patients in no clinic came with them.",
}


# ----- who may come in ---------------------------------------------------------------


def _today(services: Services) -> dt.date:
    return services.clock()


def patient_status(
    patient_id: ClinicianPatient,
    account: ClinicianAccount,
    services: ServicesDep,
    accounts: AccountsDep,
) -> PatientStatus:
    """The patient's status, after the access check (404 for unknown or foreign ids)."""
    return status_of(services, accounts, account, patient_id, _today(services))


PatientStatusDep = Annotated[PatientStatus, Depends(patient_status)]


# ----- the dashboard -----------------------------------------------------------------


@router.get("/clinic", response_class=HTMLResponse)
def dashboard(
    request: Request,
    account: ClinicianAccount,
    services: ServicesDep,
    accounts: AccountsDep,
    q: str = "",
    flag: str = "",
) -> Response:
    today = _today(services)
    everyone = attention(services, accounts, account, today)
    counts = {code: sum(1 for s in everyone if s.has(code)) for code in LABELS}
    shown = everyone
    query = q.strip()[:120]
    if query:
        shown = [s for s in shown if query.lower() in s.display_name.lower()]
    if flag in LABELS:
        shown = [s for s in shown if s.has(flag)]
    return render(
        request,
        "clinic_dashboard.html",
        patients=shown,
        total=len(everyone),
        needing=sum(1 for s in everyone if s.flags),
        counts=counts,
        labels=LABELS,
        q=query,
        flag=flag if flag in LABELS else "",
        today=today,
    )


# ----- new patient, invites ----------------------------------------------------------


@router.get("/clinic/new", response_class=HTMLResponse)
def new_patient_page(request: Request, account: ClinicianAccount) -> Response:
    return render(request, "clinic_new.html", errors={}, patient_name="")


@router.post("/clinic/new", dependencies=[CsrfChecked])
def new_patient(
    request: Request, account: ClinicianAccount, accounts: AccountsDep, form: FormDep
) -> Response:
    name = first(form, "name")
    if not 1 <= len(name) <= 120:
        return render(
            request,
            "clinic_new.html",
            status_code=400,
            errors={"name": "give the patient's name (1 to 120 characters)"},
            patient_name=name[:120],
        )
    patient_id, code = accounts.create_patient(account, name)
    return _invite_page(request, patient_id, name, code, created=True)


def _invite_page(
    request: Request, patient_id: str, name: str, code: str, *, created: bool
) -> Response:
    # The configured public address, never the request's Host header (anyone can set that).
    link = f"{request.app.state.settings.base_url}/register?invite={code}"
    return render(
        request,
        "clinic_invite.html",
        patient_id=patient_id,
        patient_name=name,
        code=code,
        link=link,
        created=created,
    )


@router.get("/clinic/patients/{patient_id}/invite", response_class=HTMLResponse)
def invite_page(
    request: Request,
    patient_id: str,
    status: PatientStatusDep,
) -> Response:
    return render(
        request,
        "clinic_invite.html",
        patient_id=patient_id,
        patient_name=status.display_name,
        code=None,
        status=status,
    )


@router.post("/clinic/patients/{patient_id}/invite", dependencies=[CsrfChecked])
def new_invite(
    request: Request,
    patient_id: str,
    status: PatientStatusDep,
    account: ClinicianAccount,
    accounts: AccountsDep,
) -> Response:
    code = accounts.new_invite(account, patient_id)
    return _invite_page(request, patient_id, status.display_name, code, created=False)


# ----- the patient's record ----------------------------------------------------------


def _dose_rows(services: Services, program: Program, patient_id: str) -> list[dict[str, Any]]:
    library = services.rules_for(patient_id).library
    rows = []
    for slot in program.slots:
        exercise = library.get(slot.exercise_id)
        for index, dose in enumerate(slot.doses):
            unit = exercise.dose_type.unit if exercise else ""
            tempo = dose.tempo or (exercise.tempo if exercise else None)
            knob = ""
            if dose.knob is not None:
                name = exercise.knob.name if exercise and exercise.knob else "setting"
                knob_unit = exercise.knob.unit if exercise and exercise.knob else None
                value = f"{dose.knob:g}" if isinstance(dose.knob, float) else str(dose.knob)
                knob = f"{name}: {value}{' ' + knob_unit if knob_unit else ''}"
            rows.append(
                {
                    "first": index == 0,
                    "span": len(slot.doses),
                    "part": slot.part.replace("_", "-"),
                    "exercise_id": slot.exercise_id,
                    "name": exercise.name if exercise else slot.exercise_id,
                    "side": dose.side.value if dose.side else "both",
                    "dose": f"{dose.sets} × {dose.amount:g} {unit}",
                    "range": f"{dose.range_low:g}–{dose.range_high:g}",
                    "tempo": tempo.text() if tempo else "",
                    "rest": dose.rest_seconds,
                    "knob": knob,
                    "load": "" if dose.load_kg is None else f"{dose.load_kg:g} kg",
                    "pinned": dose.pinned,
                    "reason": slot.reason,
                    "pair_with": library[slot.pair_with].name
                    if slot.pair_with and slot.pair_with in library
                    else "",
                }
            )
    return rows


def _value(value: Any) -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def _changes(decision: Decision, library: Mapping[str, Exercise]) -> str:
    """What a decision changed, one field at a time: `sets (Wall calf raise, left): 2 → 3`.
    `library`: the person's own, so a clinician's own exercise shows by its name too."""
    parts = []
    for change in decision.changes:
        where = ""
        if change.exercise_id:
            known = library.get(change.exercise_id)
            side = f", {change.side.value}" if change.side else ""
            where = f" ({known.name if known else change.exercise_id}{side})"
        parts.append(f"{change.field}{where}: {_value(change.before)} → {_value(change.after)}")
    return "; ".join(parts)


def _names(library: Mapping[str, Exercise]) -> Callable[[str], str]:
    """An exercise's name from the person's own library (their clinicians' exercises
    included); the id when it is not there."""

    def name(exercise_id: str) -> str:
        known = library.get(exercise_id)
        return known.name if known else exercise_id

    return name


def _numbers(decision: Decision) -> str:
    return ", ".join(
        f"{key}={value:g}" if isinstance(value, float) else f"{key}={value}"
        for key, value in decision.numbers.items()
    )


def _fmt(value: Any) -> str:
    if value is None:
        return "—"
    return f"{round(float(value), 1):g}"


def _lsi_tables(
    services: Services, assessments: list[tuple[dt.date, str, Assessment, dict[str, Any]]]
) -> tuple[list[dict[str, Any]], dict[str, list[tuple[dt.date, float]]]]:
    tests = services.rules.assessment.tests
    tables: dict[str, dict[str, Any]] = {}
    series: dict[str, list[tuple[dt.date, float]]] = {}
    for day, kind, _assessment, profile in assessments:
        for comparison in profile.get("comparisons", []):
            test = comparison["test"]
            definition = tests.get(test)
            table = tables.setdefault(
                test,
                {
                    "label": definition.label if definition else comparison.get("label", test),
                    "unit": comparison.get("unit", ""),
                    "rows": [],
                },
            )
            lsi = comparison.get("lsi")
            table["rows"].append(
                {
                    "date": day,
                    "kind": kind,
                    "left": _fmt(comparison.get("left")),
                    "right": _fmt(comparison.get("right")),
                    "lsi": lsi,
                    "weaker": comparison.get("weaker_side") or "—",
                    "beyond_error": comparison.get("beyond_error"),
                    "severity": comparison.get("severity", ""),
                }
            )
            if lsi is not None:
                short = (definition.label if definition else test).split(" (")[0]
                series.setdefault(short, []).append((day, float(lsi)))
    ordered = [tables[t] for t in TEST_IDS if t in tables]
    return ordered, series


def _recent_logs(
    services: Services, sessions: list[SessionLog], patient_id: str
) -> list[dict[str, Any]]:
    library = services.rules_for(patient_id).library
    rows = []
    for log in sessions[-8:][::-1]:
        exercises = []
        for item in log.exercises:
            sets: list[tuple[int, str]] = []
            for entry in item.sets:
                effort = f" · RPE {entry.effort:g}" if entry.effort is not None else ""
                load = f" +{entry.load_kg:g} kg" if entry.load_kg else ""
                form = "" if entry.clean else f" · ⚠ {entry.form}"
                text = f"{entry.amount:g}{load} · pain {entry.pain}{effort}{form}"
                if sets and sets[-1][1] == text:
                    sets[-1] = (sets[-1][0] + 1, text)
                else:
                    sets.append((1, text))
            exercise = library.get(item.exercise_id)
            exercises.append(
                {
                    "name": exercise.name if exercise else item.exercise_id,
                    "side": item.side.value if item.side else "both",
                    "sets": [f"{n} × {text}" if n > 1 else text for n, text in sets],
                    "max_pain": item.max_pain,
                    "faults": sum(1 for s in item.sets if not s.clean),
                }
            )
        rows.append({"log": log, "exercises": exercises})
    return rows


@router.get("/clinic/patients/{patient_id}", response_class=HTMLResponse)
def patient_page(
    request: Request,
    patient_id: str,
    status: PatientStatusDep,
    services: ServicesDep,
    done: str = "",
) -> Response:
    screen = services.latest_screen(patient_id)
    assessments = services.assessments(patient_id)
    tables, lsi_series = _lsi_tables(services, assessments)
    program = services.program(patient_id) if status.version is not None else None
    decisions = list(reversed(services.decisions(patient_id, limit=30)))
    history = services.history(patient_id)
    sessions = sorted((e for e in history if isinstance(e, SessionLog)), key=lambda e: e.date)
    checkins = sorted((e for e in history if isinstance(e, CheckIn)), key=lambda e: e.date)
    versions = list(reversed(services.program_versions(patient_id)))
    since = _today(services) - dt.timedelta(days=56)
    morning = [(c.date, float(c.pain_on_waking)) for c in checkins if c.date >= since]
    session_pain = [
        (s.date, float(s.max_pain)) for s in sessions if not s.skipped and s.date >= since
    ]
    return render(
        request,
        "clinic_patient.html",
        consecutive_sessions=services.rules.progression.consecutive_sessions,
        status=status,
        reminders_on=request.app.state.reminders.are_on(patient_id),
        screen=screen,
        assessments=assessments,
        tables=tables,
        lsi_chart=charts.line_chart(
            charts.styled(list(lsi_series.items())),
            label="Limb symmetry index by test",
            y_label="LSI %",
            y_max=100,
            reference=(90, "LSI 90 %"),
            value_text=lambda v: f"{v:.0f}",
        ),
        pain_chart=charts.line_chart(
            charts.styled([("AM pain (check-in)", morning), ("Max pain in session", session_pain)]),
            label="Pain, last 8 weeks",
            y_label="pain 0–10",
            y_max=10,
            reference=(5, "acceptable ≤ 5"),
        ),
        program=program,
        pathway=services.rules.pathways[program.pathway] if program else None,
        doses=_dose_rows(services, program, patient_id) if program else [],
        decisions=decisions,
        numbers=_numbers,
        exercise_name=_names(services.rules_for(patient_id).library),
        logs=_recent_logs(services, sessions, patient_id),
        checkins=checkins[-14:][::-1],
        versions=versions,
        weekdays=WEEKDAYS,
        notice=NOTICES.get(done),
    )


# ----- screen and assessment ---------------------------------------------------------


def _screen_sections() -> list[dict[str, Any]]:
    fields = ScreenAnswers.model_fields
    sections = []
    for section in load_screening_rules().sections.values():
        questions = []
        for name in section.questions:
            info = fields[name]
            kind = "bool" if info.annotation is bool else "number"
            text = (info.description or name).replace("; null when there was none", "")
            questions.append({"name": name, "text": text, "kind": kind})
        sections.append({"title": section.title, "questions": questions})
    return sections


def _assess_context(services: Services, status: PatientStatus, patient_id: str) -> dict[str, Any]:
    q = services.rules.questionnaires
    return {
        "status": status,
        "screen": services.latest_screen(patient_id),
        "screen_sections": _screen_sections(),
        "tests": [(t, services.rules.assessment.tests[t]) for t in TEST_IDS],
        "sexes": [s.value for s in Sex],
        "sides": [s.value for s in AffectedSide],
        "conditions": [
            (c.value, services.rules.pathways[c].clinical_name)
            for c in [*(c for c in Condition if c is not Condition.NOT_SURE), Condition.NOT_SURE]
        ],
        "templates": [
            {
                "id": name,
                "name": template.name,
                "suits": [
                    p.clinical_name
                    for p in services.rules.pathways.pathways.values()
                    if name in p.templates
                ],
            }
            for name, template in services.rules_for(patient_id).templates.templates.items()
        ],
        "postures": [p.value for p in FootPosture],
        "faults": [f.value for f in StepDownFault],
        "equipment": [e.value for e in Equipment],
        "weekdays": WEEKDAYS,
        "measures": [q.measure(m) for m in ("lefs", "faam_adl", "faam_sports")],
        "today": _today(services),
    }


def _defaults(services: Services, patient_id: str, today: dt.date) -> dict[str, list[str]]:
    values: dict[str, list[str]] = {
        "date": [today.isoformat()],
        "pref.minutes": ["30"],
        "pref.equipment": ["none", "wall", "chair", "towel"],
        "pref.days": ["0", "2", "4"],
    }
    found = services.assessments(patient_id)
    if found:
        latest = found[-1][2]
        values.update(
            {
                "age": [str(latest.age)],
                "sex": [latest.sex.value],
                "affected_side": [latest.affected_side.value],
                "condition": [latest.condition.value],
                "symptom_duration_weeks": [f"{latest.symptom_duration_weeks:g}"],
                "boot_or_cast": ["yes" if latest.boot_or_cast else "no"],
            }
        )
        if latest.weight_bearing is not None:
            values["weight_bearing"] = [latest.weight_bearing.value]
    return values


@router.get("/clinic/patients/{patient_id}/export")
def export_patient(
    patient_id: ClinicianPatient,
    services: ServicesDep,
    format: str = "json",
) -> Response:
    """The patient's whole record as JSON, CSV tables or a FHIR bundle."""
    return export_download(services, patient_id, format)


@router.get("/clinic/patients/{patient_id}/assess", response_class=HTMLResponse)
def assess_page(
    request: Request,
    patient_id: str,
    status: PatientStatusDep,
    services: ServicesDep,
    done: str = "",
) -> Response:
    return render(
        request,
        "clinic_assess.html",
        values=_defaults(services, patient_id, _today(services)),
        errors={},
        notice=NOTICES.get(done),
        **_assess_context(services, status, patient_id),
    )


@router.post("/clinic/patients/{patient_id}/screen", dependencies=[CsrfChecked])
def record_screen(
    request: Request,
    patient_id: str,
    status: PatientStatusDep,
    services: ServicesDep,
    form: FormDep,
) -> Response:
    data: dict[str, Any] = {}
    for name, info in ScreenAnswers.model_fields.items():
        if info.annotation is bool:
            data[name] = first(form, f"screen.{name}") == "yes"
        elif first(form, f"screen.{name}"):
            data[name] = first(form, f"screen.{name}")
    today = _today(services)
    try:
        answers = ScreenAnswers.model_validate(data)
    except ValidationError as exc:
        return render(
            request,
            "clinic_assess.html",
            status_code=400,
            values={**_defaults(services, patient_id, today), **posted(form)},
            errors=field_errors(exc, "screen."),
            error="The screen has values that need attention; see the marked fields.",
            open_screen=True,
            **_assess_context(services, status, patient_id),
        )
    result = services.record_screen(patient_id, answers, today)
    if result.refers:
        return render(
            request,
            "clinic_assess.html",
            values=_defaults(services, patient_id, today),
            errors={},
            **_assess_context(services, status, patient_id),
        )
    return see(f"/clinic/patients/{patient_id}/assess?done=screen")


def _assessment_data(form: FormData, services: Services) -> dict[str, Any]:
    data: dict[str, Any] = {}
    for name in (
        "date",
        "age",
        "sex",
        "affected_side",
        "condition",
        "symptom_duration_weeks",
        "weight_bearing",
        "pain.at_rest",
        "pain.during_activity",
        "pain.on_waking",
        "pain.lingers_after_activity_hours",
        "observations.foot_posture_left",
        "observations.foot_posture_right",
        "observations.notes",
    ):
        value = first(form, name)
        if value:
            put(data, name, value)
    put(data, "pain.night_pain", first(form, "pain.night_pain") == "yes")
    put(data, "boot_or_cast", first(form, "boot_or_cast") == "yes")
    put(data, "observations.gait_asymmetry", first(form, "observations.gait_asymmetry") == "yes")
    for test in TEST_IDS:
        for side in ("left", "right"):
            value = first(form, f"tests.{test}.{side}")
            if value:
                put(data, f"tests.{test}.{side}", value)
    left = [str(v) for v in form.getlist("observations.step_down.left")]
    right = [str(v) for v in form.getlist("observations.step_down.right")]
    if first(form, "observations.step_down.tested") == "yes" or left or right:
        put(data, "observations.step_down", {"left": left, "right": right})
    psfs = []
    for index in range(5):
        activity = first(form, f"psfs.{index}.activity")
        score = first(form, f"psfs.{index}.score")
        if activity or score:
            psfs.append({"activity": activity, "score": score if score else None})
    if psfs:
        data["psfs"] = psfs
    for measure_id in ("lefs", "faam_adl", "faam_sports"):
        measure = services.rules.questionnaires.measure(measure_id)
        answers: dict[str, Any] = {}
        for item in measure.items:
            value = first(form, f"{measure_id}.{item.id}")
            if value == "na":
                answers[item.id] = None
            elif value:
                answers[item.id] = value
        if answers:
            data[measure_id] = answers
    return data


def _preferences(form: FormData) -> tuple[Preferences | None, dict[str, str]]:
    days = sorted(
        {
            int(str(v))
            for v in form.getlist("pref.days")
            if str(v) in {"0", "1", "2", "3", "4", "5", "6"}
        }
    )
    data = {
        "equipment": [str(v) for v in form.getlist("pref.equipment")] or ["none"],
        "minutes_per_session": first(form, "pref.minutes") or "30",
        "training_days": days or None,
    }
    try:
        return Preferences.model_validate(data), {}
    except ValidationError as exc:
        errors = field_errors(exc)
        names = {"equipment": "pref.equipment", "minutes_per_session": "pref.minutes"}
        return None, {
            next((v for k, v in names.items() if key.startswith(k)), "pref.days"): message
            for key, message in errors.items()
        }


@router.post("/clinic/patients/{patient_id}/assess", dependencies=[CsrfChecked])
def record_assessment(
    request: Request,
    patient_id: str,
    status: PatientStatusDep,
    services: ServicesDep,
    form: FormDep,
) -> Response:
    today = _today(services)
    errors: dict[str, str] = {}
    assessment: Assessment | None = None
    try:
        assessment = Assessment.model_validate(_assessment_data(form, services))
    except ValidationError as exc:
        errors.update(field_errors(exc))
    if assessment is not None and assessment.date is not None and assessment.date > today:
        errors["date"] = "cannot be in the future"
    preferences: Preferences | None = None
    template: str | None = None
    if status.version is None:
        preferences, problems = _preferences(form)
        errors.update(problems)
        template = first(form, "template") or None
        if (
            template is not None
            and template not in services.rules_for(patient_id).templates.templates
        ):
            errors["template"] = "choose one of the listed programs"

    def again(message: str) -> Response:
        return render(
            request,
            "clinic_assess.html",
            status_code=400,
            values=posted(form),
            errors=errors,
            error=message,
            **_assess_context(services, status, patient_id),
        )

    if errors or assessment is None:
        return again("Some values need attention; see the marked fields.")
    try:
        if status.version is None:
            assert preferences is not None
            services.start_program(
                patient_id, assessment, preferences, day=today, template=template
            )
            done = "program"
        else:
            services.record_retest(patient_id, assessment, today)
            done = "retest"
    except Referred:
        return again("The latest screen refers: no program until the patient is medically cleared.")
    except NotFound:
        raise
    except ServiceError as exc:
        text = str(exc)
        named = re.match(r"questionnaire: ([\w ]+?) item", text)
        for measure in services.rules.questionnaires.measures:
            if named and named.group(1).lower() in (measure.id, measure.short_name.lower()):
                errors[measure.id] = text.removeprefix("questionnaire: ")
        return again(text[0].upper() + text[1:])
    return see(f"/clinic/patients/{patient_id}?done={done}")


# ----- the program editor ------------------------------------------------------------


def _questionnaire_schedule(
    services: Services, program: Program, patient_id: str
) -> dict[str, Any]:
    """How often the person answers their questionnaires, when last and when next."""
    rules = services.rules_for(patient_id)
    every = questionnaire_every_days(program, rules)
    last = services.questionnaires_last(patient_id)
    due = questionnaires_due_on(program, last, rules)
    default = rules.progression.questionnaire_every_days
    return {
        "every_days": every,
        "every_weeks": every // 7 if every and every % 7 == 0 else None,
        "default": program.state.questionnaire_every_days is None and every is not None,
        "default_days": default,
        "last": last.isoformat() if last else None,
        "due": due.isoformat() if due else None,
    }


def _editor(
    request: Request,
    services: Services,
    status: PatientStatus,
    patient_id: str,
    *,
    status_code: int = 200,
    errors: dict[str, str] | None = None,
    values: dict[str, list[str]] | None = None,
    form_name: str = "",
    results: Iterable[Decision] = (),
    error: str | None = None,
) -> Response:
    program = services.program(patient_id)
    library = services.rules_for(patient_id).library
    choices = [
        (
            slot.exercise_id,
            library[slot.exercise_id].name if slot.exercise_id in library else slot.exercise_id,
            slot.part,
            ", ".join(d.side.value if d.side else "both" for d in slot.doses),
        )
        for slot in program.slots
    ]
    pinned = [c for c in choices if any(d.pinned for d in program.slot(c[0]).doses)]  # type: ignore[union-attr]
    rules = services.rules_for(patient_id)
    mains = [c for c in choices if c[2] == "main"]
    key = {c[0]: key_exercise(program, c[0], rules) for c in mains}
    swaps = []
    for exercise_id, name, _, _ in mains:
        current = library.get(exercise_id)
        easier = current.regression if current else None
        harder = current.progression if current else None
        options = [
            (
                f"{exercise_id}:{e.id}",
                e.name,
                "easier" if e.id == easier else "harder" if e.id == harder else "",
            )
            for e in swap_suggestions(program, exercise_id, rules)
        ]
        if options:
            swaps.append((name, options, bool(key[exercise_id])))

    def edit_words(edit: ProgramEdit) -> str:
        def called(ident: str) -> str:
            return library[ident].name if ident in library else ident

        if edit.action == "swap" and edit.previous is not None:
            return f"{called(edit.exercise_id)} (in place of {called(edit.previous.exercise_id)})"
        return f"{called(edit.exercise_id)} ({'added' if edit.action == 'add' else 'removed'})"

    edits = [(e.exercise_id, edit_words(e), e.date) for e in reversed(program.state.edits)]
    return render(
        request,
        "clinic_program.html",
        status_code=status_code,
        status=status,
        program=program,
        doses=_dose_rows(services, program, patient_id),
        choices=choices,
        pinned=pinned,
        switchable=services.rules.progression.switchable_rules,
        weight_limit=load_restriction(
            program.pathway, program.profile, services.rules_for(patient_id)
        ),
        questionnaires=_questionnaire_schedule(services, program, patient_id),
        questionnaire_max_weeks=QUESTIONNAIRE_MAX_WEEKS,
        phases=list(Phase),
        swaps=swaps,
        mains=mains,
        key=key,
        addable=[(e.id, e.name) for e in services.addable(patient_id)],
        edits=edits,
        errors=errors or {},
        values=values or {},
        form_name=form_name,
        results=list(results),
        numbers=_numbers,
        changes=lambda decision: _changes(decision, library),
        error=error,
    )


@router.get("/clinic/patients/{patient_id}/program", response_class=HTMLResponse)
def program_page(
    request: Request,
    patient_id: str,
    status: PatientStatusDep,
    services: ServicesDep,
) -> Response:
    if status.version is None:
        return see(f"/clinic/patients/{patient_id}/assess")
    return _editor(request, services, status, patient_id)


def _knob(value: str) -> tuple[float | str | None, str | None]:
    """The knob setting typed in: a number when it reads as one, else the named level.
    Whether it fits the exercise's knob is the shared override check's to say."""
    if not value:
        return None, None
    if len(value) > 64:
        return None, "at most 64 characters"
    try:
        number = float(value)
    except ValueError:
        return value, None
    if not math.isfinite(number):
        return None, "a finite number"
    return number, None


@router.post("/clinic/patients/{patient_id}/program", dependencies=[CsrfChecked])
def apply_override(
    request: Request,
    patient_id: str,
    status: PatientStatusDep,
    account: ClinicianAccount,
    services: ServicesDep,
    accounts: AccountsDep,
    form: FormDep,
) -> Response:
    if status.version is None:
        raise NotFound("there is no program yet: do the screen and the assessment first")
    action = first(form, "action")
    program = services.program(patient_id)
    errors: dict[str, str] = {}
    fields: dict[str, Any] = {
        "date": _today(services),
        "by": account.display_name[:120],
        "reason": first(form, "reason"),
        "action": action,
    }
    if action in ("pin_dose", "unpin_dose"):
        exercise_id = first(form, "exercise_id")
        if program.slot(exercise_id) is None:
            errors["exercise_id"] = "choose an exercise in the current program"
        fields.update(exercise_id=exercise_id or None, side=first(form, "side") or None)
        if action == "pin_dose":
            for name in ("sets", "amount", "load_kg"):
                if first(form, name):
                    fields[name] = first(form, name)
            fields["knob"], problem = _knob(first(form, "knob"))
            if problem:
                errors["knob"] = problem
    elif action in ("swap_exercise", "add_exercise", "remove_exercise", "undo_edit"):
        exercise_id, replacement = first(form, "exercise_id"), first(form, "replacement")
        pair = first(form, "swap")
        if action == "swap_exercise" and pair:
            exercise_id, _, replacement = pair.partition(":")
        if not exercise_id:
            errors["swap" if action == "swap_exercise" else "exercise_id"] = "choose an exercise"
        fields.update(
            exercise_id=exercise_id or None,
            replacement=(replacement or None) if action == "swap_exercise" else None,
            confirm=first(form, "confirm") in ("1", "on", "true", "yes"),
        )
    elif action in ("rule_off", "rule_on"):
        fields["rule"] = first(form, "rule") or None
    elif action == "force_phase":
        fields["phase"] = first(form, "phase") or None
    elif action == "questionnaires_every":
        weeks = first(form, "every_weeks").strip()
        if not weeks.isdigit():
            errors["every_weeks"] = (
                f"a whole number of weeks, 1 to {QUESTIONNAIRE_MAX_WEEKS}"
                if weeks
                else "give the number of weeks"
            )
        else:
            fields["every_weeks"] = int(weeks)
    elif action not in ("resume", "check_clear", "weight_bearing_full", "questionnaires_off"):
        errors["action"] = "choose what to change"
    override: Override | None = None
    try:
        override = Override.model_validate(fields)
        if not errors:  # the one check the API and the command line get too
            services.check_override(override, patient_id)
    except ValidationError as exc:
        for key, message in field_errors(exc).items():
            errors.setdefault(key if key != "form" else "form", message)
    except OverrideRefused as exc:
        override = None
        field = "form" if exc.field == "action" else exc.field
        if action == "swap_exercise" and field in ("exercise_id", "replacement"):
            field = "swap"
        errors.setdefault(field, exc.problem)
    except ServiceError as exc:
        override = None
        errors.setdefault("form", str(exc))
    if errors or override is None:
        return _editor(
            request,
            services,
            status,
            patient_id,
            status_code=400,
            errors=errors,
            values=posted(form),
            form_name=action,
            error=errors.get("form")
            or errors.get("rule")
            or errors.get("confirm")
            or "The change was not made; see the marked fields.",
        )
    try:
        results = services.apply_override(patient_id, override, by_user_id=account.id)
    except NotFound:
        raise
    except ServiceError as exc:
        return _editor(
            request,
            services,
            status,
            patient_id,
            status_code=400,
            values=posted(form),
            form_name=action,
            error=str(exc).capitalize(),
        )
    status = status_of(services, accounts, account, patient_id, _today(services))
    return _editor(request, services, status, patient_id, results=results)


# ----- admin -------------------------------------------------------------------------


def _admin_page(
    request: Request,
    services: Services,
    account: Account,
    *,
    status_code: int = 200,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
    notice: str | None = None,
) -> Response:
    return render(
        request,
        "admin_clinicians.html",
        status_code=status_code,
        clinicians=clinician_overview(services, account),
        clinics=services.clinics.overview(),
        second_factor=accounts_of(request).users_with_second_factor(),
        errors=errors or {},
        values=values or {},
        notice=notice,
    )


def accounts_of(request: Request) -> Accounts:
    found: Accounts = request.app.state.accounts
    return found


@router.get("/admin", response_class=HTMLResponse)
def admin_home(
    request: Request, account: AdminAccount, services: ServicesDep, done: str = ""
) -> Response:
    return _admin_page(request, services, account, notice=NOTICES.get(done))


@router.post("/admin/clinicians", dependencies=[CsrfChecked])
def create_clinician(
    request: Request,
    account: AdminAccount,
    services: ServicesDep,
    accounts: AccountsDep,
    form: FormDep,
) -> Response:
    values = {k: first(form, k) for k in ("display_name", "email")}
    password = str(form.get("password") or "")
    try:
        # The admin chose this password: the clinician replaces it at the first sign-in.
        accounts.create_user(
            values["email"],
            values["display_name"],
            "clinician",
            password,
            must_change_password=True,
        )
    except ServiceError as exc:
        text = str(exc)
        field = (
            "password" if "password" in text else "email" if "e-mail" in text else "display_name"
        )
        return _admin_page(
            request, services, account, status_code=400, errors={field: text}, values=values
        )
    return see("/admin?done=created")


@router.post("/admin/clinics", dependencies=[CsrfChecked])
def create_clinic(
    request: Request, account: AdminAccount, services: ServicesDep, form: FormDep
) -> Response:
    """A new clinic with its first admin, a clinician in no clinic yet."""
    values = {k: first(form, k) for k in ("clinic_name", "clinic_admin")}
    errors: dict[str, str] = {}
    if not values["clinic_admin"].strip():
        errors["clinic_admin"] = "give the e-mail of the clinician who runs the clinic"
    else:
        try:
            services.clinics.create(values["clinic_name"], values["clinic_admin"])
        except ServiceError as exc:
            if isinstance(exc, NotFound) and not str(exc).startswith("no clinician"):
                raise
            field, _, text = str(exc).partition(": ")
            key = "clinic_name" if field == "name" else "clinic_admin"
            errors[key] = text if field in ("name", "email") else str(exc)
    if errors:
        return _admin_page(
            request, services, account, status_code=400, errors=errors, values=values
        )
    return see("/admin?done=clinic")


@router.post("/admin/clinics/{clinic_id}/members", dependencies=[CsrfChecked])
def add_clinic_member(
    request: Request, clinic_id: int, account: AdminAccount, services: ServicesDep, form: FormDep
) -> Response:
    """A clinician in no clinic yet joins this one (as an admin, if ticked)."""
    email = first(form, "email")
    try:
        services.clinics.add_member(clinic_id, email, admin=first(form, "admin") == "yes")
    except ServiceError as exc:
        if isinstance(exc, NotFound) and str(exc).startswith("clinic:"):
            raise
        field, _, text = str(exc).partition(": ")
        return _admin_page(
            request,
            services,
            account,
            status_code=400,
            errors={f"member-{clinic_id}": text if field == "email" else str(exc)},
            values={f"member-{clinic_id}": email},
        )
    return see("/admin?done=member")


@router.post("/admin/clinicians/{user_id}/active", dependencies=[CsrfChecked])
def set_active(
    user_id: int,
    account: AdminAccount,
    accounts: AccountsDep,
    form: FormDep,
) -> Response:
    active = first(form, "active") == "yes"
    accounts.set_active(account, user_id, active)
    return see(f"/admin?done={'active' if active else 'inactive'}")


@router.post("/admin/clinicians/{user_id}/second-factor/reset", dependencies=[CsrfChecked])
def reset_second_factor(user_id: int, account: AdminAccount, accounts: AccountsDep) -> Response:
    """For a clinician who lost their phone and their recovery codes."""
    accounts.reset_second_factor(account, user_id)
    return see("/admin?done=reset")


@router.post("/admin/clinicians/{user_id}/password", dependencies=[CsrfChecked])
def temporary_password(
    request: Request,
    user_id: int,
    account: AdminAccount,
    services: ServicesDep,
    accounts: AccountsDep,
    form: FormDep,
) -> Response:
    try:
        accounts.set_temporary_password(account, user_id, str(form.get("password") or ""))
    except ServiceError as exc:
        if isinstance(exc, NotFound):
            raise
        return _admin_page(
            request, services, account, status_code=400, errors={f"password-{user_id}": str(exc)}
        )
    return see("/admin?done=temporary")


# ----- the audit log (admins) ----------------------------------------------------------


@dataclass(frozen=True)
class AuditSearch:
    """The viewer's search form, read into a query; bad values are named, not a crash."""

    query: audit.AuditQuery
    errors: dict[str, str]
    values: dict[str, str]


def audit_search(
    q: str = "",
    user: str = "",
    patient: str = "",
    action: str = "",
    address: str = "",
    since: str = "",
    until: str = "",
) -> AuditSearch:
    errors: dict[str, str] = {}

    def day(text: str, name: str) -> dt.date | None:
        if not text:
            return None
        try:
            return dt.date.fromisoformat(text)
        except ValueError:
            errors[name] = "a date (YYYY-MM-DD)"
            return None

    user_id: int | None = None
    if user:
        if user.isdigit() and len(user) < 12:
            user_id = int(user)
        else:
            errors["user"] = "an account number"
    query = audit.AuditQuery(
        text=q.strip()[:120],
        user_id=user_id,
        patient_id=patient.strip()[:32],
        action=action.strip()[:32],
        address=address.strip()[:64],
        since=day(since, "since"),
        until=day(until, "until"),
    )
    values = {
        "q": q,
        "user": user,
        "patient": patient,
        "action": action,
        "address": address,
        "since": since,
        "until": until,
    }
    return AuditSearch(query, errors, values)


AuditSearchDep = Annotated[AuditSearch, Depends(audit_search)]
AUDIT_PAGE = 100


@router.get("/admin/audit", response_class=HTMLResponse)
def audit_page(
    request: Request,
    account: AdminAccount,
    services: ServicesDep,
    search: AuditSearchDep,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> Response:
    """Who read or changed which record, when and from where: searchable, newest first."""
    lines, total = audit.search(
        services.db, search.query, limit=AUDIT_PAGE, offset=(page - 1) * AUDIT_PAGE
    )
    return render(
        request,
        "admin_audit.html",
        status_code=400 if search.errors else 200,
        lines=lines,
        total=total,
        page=page,
        pages=max(1, -(-total // AUDIT_PAGE)),
        values=search.values,
        errors=search.errors,
        actions=audit.actions(services.db),
        kept=urlencode({k: v for k, v in search.values.items() if v}),
    )


@router.get("/admin/audit.csv")
def audit_csv(account: AdminAccount, services: ServicesDep, search: AuditSearchDep) -> Response:
    """The lines the search finds, as CSV for a spreadsheet (newest first)."""
    if search.errors:
        raise HTTPException(
            status_code=422, detail="; ".join(f"{k}: {v}" for k, v in search.errors.items())
        )
    content, _ = audit.as_csv(services.db, search.query)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%d-%H%M")
    return Response(
        content,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="groundup-audit-{stamp}.csv"'},
    )
