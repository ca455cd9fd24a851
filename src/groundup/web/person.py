"""Pages for the person doing the program, under /me.

The flow: the safety screen, the guided self-assessment, then every day the session
player (one exercise and side at a time), the morning check-in, progress charts, the
"what changed and why" timeline, education cards and the re-test.

Every page works on the signed-in person's own record (`account.patient_id`, confirmed
by `Accounts.require`); other roles get "no such page". Forms are read field by field:
a bad answer is shown beside its field and the form comes back with everything kept.
A session in progress lives in the player's own form (a hidden draft of the exercises
done so far), with a log id chosen here when the session starts, so a resubmitted save
is stored once.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Annotated, Any, Literal, TypeVar, get_args

import annotated_types
from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response
from markupsafe import Markup
from pydantic import BaseModel, Field, TypeAdapter, ValidationError, field_validator
from starlette.datastructures import FormData

from groundup import pictures
from groundup.clinical.assessment import (
    AffectedSide,
    Assessment,
    Condition,
    ObjectiveTests,
    Pain,
    PsfsActivity,
    Sex,
    StepDownFault,
    WeightBearing,
)
from groundup.clinical.exercises import Exercise, Frozen
from groundup.clinical.logs import (
    MAX_RED_FLAG_CHARS,
    MAX_RED_FLAGS,
    CheckIn,
    ExerciseLog,
    Override,
    SessionLog,
    SetLog,
)
from groundup.clinical.outcomes import Measure, OutcomeError, interpret_change
from groundup.clinical.planning import minutes_shown
from groundup.clinical.program import (
    PART_TITLES,
    Dose,
    Preferences,
    Program,
    Slot,
    dose_words,
    mass_words,
)
from groundup.clinical.progression import Decision, questionnaires_due_on
from groundup.clinical.screening import ScreenAnswers, ScreenResult, Urgency
from groundup.clinical.vocabulary import Equipment, Phase, Side
from groundup.clinical.wording import person_words
from groundup.documents.handout import pain_zones
from groundup.knowledge import load_model, load_screening_rules
from groundup.services import Conflict, NotFound, Paused, Referred, ServiceError, Services
from groundup.services.accounts import Account
from groundup.services.workflow import PAUSED_ADVICE, progress_data
from groundup.web import charts
from groundup.web.deps import AccountsDep, CsrfChecked, FormDep, PageAccount, ServicesDep, see
from groundup.web.downloads import export_download
from groundup.web.forms import FormCheck
from groundup.web.pages import render

router = APIRouter(prefix="/me")

T = TypeVar("T")

CM_PER_INCH = 2.54
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
DURATION_UNITS = {"days": 1 / 7, "weeks": 1.0, "months": 52 / 12, "years": 52.0}
# The conditions as the form lists them: "not sure" last.
_CONDITION_ORDER = [c for c in Condition if c is not Condition.NOT_SURE] + [Condition.NOT_SURE]

EQUIPMENT_WORDS = {
    Equipment.WALL: "a wall",
    Equipment.CHAIR: "a chair",
    Equipment.TOWEL: "a towel",
    Equipment.STEP: "a step or stair",
    Equipment.BAND: "a resistance band",
    Equipment.DUMBBELL: "dumbbells",
    Equipment.ANKLE_WEIGHT: "ankle weights",
    Equipment.BACKPACK: "a backpack to add weight",
    Equipment.UNSTABLE_SURFACE: "a wobble board or cushion",
    Equipment.SUPPORT_POLE: "a pole or rail to hold",
    Equipment.OVERHEAD_ANCHOR: "somewhere to hang a band overhead",
    Equipment.TREADMILL: "a treadmill",
    Equipment.STAIR_CLIMBER: "a stair machine",
    Equipment.MACHINE: "gym machines",
}
# How the timeline names each kind of decision, in plain words, and its tag colour.
KIND_WORDS = {
    "progress": ("A step up", "good"),
    "hold": ("Stays the same", "warn"),
    "regress": ("Eased back", "bad"),
    "flare": ("Flare-up plan", "bad"),
    "cap": ("Kept in check", "warn"),
    "phase": ("New phase", ""),
    "prompt": ("Time to check", ""),
    "refer": ("See a doctor", "bad"),
    "info": ("Re-test", ""),
    "override": ("Your clinician's change", ""),
}


# ----- who is asking ---------------------------------------------------------------------


@dataclass(frozen=True)
class Me:
    account: Account
    patient_id: str


def current_person(account: PageAccount, accounts: AccountsDep) -> Me:
    """The signed-in person and their own record; anyone else finds no such page."""
    if account.role != "person":
        raise NotFound("there is no such page")
    if account.patient_id is None:
        raise NotFound(
            "your account is not linked to a record yet. If a clinician gave you an invite "
            "code, create your account again with it, or ask them for a new one."
        )
    accounts.require(account, account.patient_id)
    return Me(account, account.patient_id)


MeDep = Annotated[Me, Depends(current_person)]


def _today(services: Services) -> dt.date:
    return services.clock()


def _program_or_none(services: Services, patient_id: str) -> Program | None:
    try:
        return services.program(patient_id)
    except NotFound:
        return None


def _shown(decisions: Iterable[Decision]) -> list[Decision]:
    """What the person is shown: every decision except bookkeeping (re-tests stay)."""
    return [
        d
        for d in decisions
        if d.kind != "info" or d.rule.startswith(("retest", "note.", "questionnaires."))
    ]


def _date_text(day: dt.date, date_format: str) -> str:
    return day.strftime(date_format)


# ----- reading forms ---------------------------------------------------------------------


def _bounds(model: type[BaseModel], name: str) -> tuple[float, float]:
    """The range a model allows for a number, read from the field itself."""
    low, high = float("-inf"), float("inf")
    for item in model.model_fields[name].metadata:
        if isinstance(item, annotated_types.Ge):
            low = float(item.ge)  # type: ignore[arg-type]
        elif isinstance(item, annotated_types.Le):
            high = float(item.le)  # type: ignore[arg-type]
    return low, high


# ----- the safety screen -----------------------------------------------------------------


def _screen_sections() -> list[dict[str, Any]]:
    rules = load_screening_rules()
    sections = []
    for key, section in rules.sections.items():
        questions = []
        for name, question in section.questions.items():
            annotation = ScreenAnswers.model_fields[name].annotation
            kind = "yes_no" if annotation is bool else "number"
            questions.append(
                {
                    "name": name,
                    "text": question.text,
                    "help": question.help,
                    "ask_if": question.ask_if,
                    "kind": kind,
                    "optional": ScreenAnswers.model_fields[name].default is None,
                }
            )
        sections.append(
            {
                "key": key,
                "title": section.title,
                "intro": section.intro,
                "ask_if": section.ask_if,
                "questions": questions,
            }
        )
    return sections


def _read_screen(check: FormCheck) -> ScreenAnswers | None:
    """The answers, asking only what applies: a question whose earlier answers were no (or
    left empty) counts as no, whatever the form says."""
    rules = load_screening_rules()
    answers: dict[str, Any] = {}
    for section in _screen_sections():
        for question in section["questions"]:
            name = question["name"]
            if not rules.is_asked(name, answers):
                check.raw(name)
                answers[name] = ScreenAnswers.model_fields[name].default
                continue
            if question["kind"] == "yes_no":
                answers[name] = check.yes_no(name)
            else:
                low, high = _bounds(ScreenAnswers, name)
                if question["optional"]:
                    answers[name] = check.whole(name, low, high, required=False)
                else:
                    value = check.number(name, low, high, required=False)
                    answers[name] = 0.0 if value is None else value
    if check.errors:
        return None
    try:
        return ScreenAnswers.model_validate(answers)
    except ValidationError as exc:
        check.adopt(exc)
        return None


def _screen_page(
    request: Request, check: FormCheck | None = None, status_code: int = 200
) -> Response:
    return render(
        request,
        "person_screen.html",
        status_code=status_code,
        sections=_screen_sections(),
        values=check.values if check else {"calf_difference_cm": "0"},
        errors=check.errors if check else {},
        labels={q["name"]: q["text"] for s in _screen_sections() for q in s["questions"]},
    )


@router.get("")
def me_home(request: Request, me: MeDep, services: ServicesDep) -> Response:
    """Send the person to the step they are at: screen, referral, assessment or today."""
    result = services.latest_screen(me.patient_id)
    if result is None:
        return see("/me/screen")
    if result.refers:
        return see("/me/referral")
    if _program_or_none(services, me.patient_id) is None:
        return see("/me/assess")
    return _today_page(request, me, services, _today(services))


@router.get("/screen")
def screen_page(request: Request, me: MeDep, services: ServicesDep) -> Response:
    if _program_or_none(services, me.patient_id) is not None:
        return see("/me")
    return _screen_page(request)


@router.post("/screen", dependencies=[CsrfChecked])
def screen_post(request: Request, me: MeDep, services: ServicesDep, form: FormDep) -> Response:
    if _program_or_none(services, me.patient_id) is not None:
        return see("/me")
    check = FormCheck(form)
    answers = _read_screen(check)
    if answers is None:
        return _screen_page(request, check, 400)
    result = services.record_screen(me.patient_id, answers, _today(services))
    return see("/me/referral" if result.refers else "/me/clear")


@router.get("/referral")
def referral_page(request: Request, me: MeDep, services: ServicesDep) -> Response:
    result = services.latest_screen(me.patient_id)
    if result is None:
        return see("/me/screen")
    if not result.refers:
        return see("/me")
    return _referral(request, result)


def _recheck_questions(services: Services) -> list[dict[str, Any]]:
    """The screen's questions asked again after high pain on waking (S13)."""
    recheck = services.rules.screening.recheck
    wanted = recheck.questions if recheck is not None else ()
    return [
        q for section in _screen_sections() for q in section["questions"] if q["name"] in wanted
    ]


def _recheck_opening(services: Services, patient_id: str) -> str:
    """Why the questions are asked again, true to the person's recent mornings: high pain
    on waking named only when a check-in asked for them; otherwise neutral."""
    program = _program_or_none(services, patient_id)
    recheck = services.rules.screening.recheck
    last = program.state.last_recheck_prompt if program else None
    today = _today(services)
    if last is not None and recheck is not None and 0 <= (today - last).days < recheck.every_days:
        when = (
            "this morning"
            if last == today
            else (
                "yesterday morning"
                if (today - last).days == 1
                else f"on {WEEKDAYS[last.weekday()]}"
            )
        )
        return (
            f"Your pain on waking was high {when}. Pain after a night's rest is worth a "
            "closer look, so these questions from the start are asked again."
        )
    return (
        "These safety questions from the start can be answered again at any time, for "
        "example if pain at rest or at night has come on since."
    )


def _recheck_page(
    request: Request,
    services: Services,
    patient_id: str,
    check: FormCheck | None = None,
    status_code: int = 200,
) -> Response:
    questions = _recheck_questions(services)
    return render(
        request,
        "person_recheck.html",
        status_code=status_code,
        opening=_recheck_opening(services, patient_id),
        questions=questions,
        values=check.values if check else {},
        errors=check.errors if check else {},
        labels={q["name"]: q["text"] for q in questions},
    )


@router.get("/recheck")
def recheck_page(request: Request, me: MeDep, services: ServicesDep) -> Response:
    if _program_or_none(services, me.patient_id) is None:
        return see("/me")
    return _recheck_page(request, services, me.patient_id)


@router.post("/recheck", dependencies=[CsrfChecked])
def recheck_post(request: Request, me: MeDep, services: ServicesDep, form: FormDep) -> Response:
    if _program_or_none(services, me.patient_id) is None:
        return see("/me")
    check = FormCheck(form)
    screening = services.rules.screening
    given: dict[str, bool] = {}
    for q in _recheck_questions(services):
        if not screening.is_asked(q["name"], given):
            check.raw(q["name"])
            continue
        given[q["name"]] = bool(check.yes_no(q["name"]))
    if check.errors:
        return _recheck_page(request, services, me.patient_id, check, 400)
    try:
        result, decisions = services.recheck(me.patient_id, given, _today(services))
    except ServiceError as exc:
        check.fail("form", str(exc))
        return _recheck_page(request, services, me.patient_id, check, 409)
    referral = next((d for d in decisions if d.kind == "refer"), None)
    if referral is not None:
        return _paused_page(request, referral)
    if result.refers:
        return see("/me")  # already paused: Today says so
    return _result_page(
        request,
        services,
        me.patient_id,
        title="Thank you",
        message="Nothing in these answers needs a check now: carry on with your program, "
        "and keep doing the morning check-in.",
        decisions=(),
    )


def _referral(request: Request, result: ScreenResult) -> Response:
    rules = load_screening_rules()
    return render(
        request,
        "person_referral.html",
        result=result,
        lead=rules.advice.lead(result.urgency),
        urgent=result.urgency is not None and result.urgency.value == "emergency",
        safety_net=rules.advice.safety_net,
    )


# ----- the self-assessment ---------------------------------------------------------------


def _test_model(test_id: str) -> type[BaseModel]:
    annotation = ObjectiveTests.model_fields[test_id].annotation
    model = next(arg for arg in get_args(annotation) if isinstance(arg, type))
    assert issubclass(model, BaseModel)
    return model


def _test_parts(services: Services) -> list[dict[str, Any]]:
    """Each objective test with its steps, stop signs and the widget that helps with it."""
    parts = []
    for test_id, definition in services.rules.assessment.tests.items():
        low, high = _bounds(_test_model(test_id), "left")
        parts.append(
            {
                "id": test_id,
                "label": definition.person_label[:1].upper() + definition.person_label[1:],
                "unit": definition.unit,
                "instructions": definition.instructions,
                "stop_when": definition.stop_when,
                "bpm": definition.metronome_bpm,
                "cap": definition.time_cap_seconds,
                "low": low,
                "high": high,
                "high_in": math.floor(high / CM_PER_INCH * 10) / 10,
            }
        )
    return parts


def _read_tests(check: FormCheck, services: Services) -> tuple[dict[str, Any], str]:
    """The test results (lengths converted to cm) and the length unit they were given in."""
    unit = check.choice("length_unit", {"cm": "cm", "in": "in"}, "cm or inches") or "cm"
    results: dict[str, Any] = {}
    for part in _test_parts(services):
        sides: dict[str, float | int] = {}
        for side in ("left", "right"):
            name = f"tests.{part['id']}.{side}"
            value: float | int | None
            if part["unit"] == "reps":
                value = check.whole(name, part["low"], part["high"], required=False)
            elif part["unit"] == "cm" and unit == "in":
                inches = check.number(name, part["low"], part["high_in"], required=False)
                value = None if inches is None else round(inches * CM_PER_INCH, 1)
            else:
                value = check.number(name, part["low"], part["high"], required=False)
            if value is not None:
                sides[side] = value
        if sides:
            results[part["id"]] = sides
    return results, unit


def _read_assessment(
    check: FormCheck, services: Services, day: dt.date
) -> tuple[Assessment | None, str]:
    """The whole assessment from the form, or None with the problems in `check.errors`."""
    age_low, age_high = _bounds(Assessment, "age")
    data: dict[str, Any] = {"date": day.isoformat()}
    data["age"] = check.whole("age", age_low, age_high)
    data["sex"] = check.choice(
        "sex", {s.value: s.value for s in Sex}, "female, male or rather not say"
    )
    data["affected_side"] = check.choice(
        "affected_side", {s.value: s.value for s in AffectedSide}, "left, right or both"
    )
    data["condition"] = (
        check.choice(
            "condition", {c.value: c.value for c in Condition}, "one of the list", required=False
        )
        or Condition.NOT_SURE.value
    )
    # After a fracture or an operation, what the surgeon allows decides what can be done
    # standing: asked there (not answered counts as not yet full weight in the plan).
    weight = check.choice(
        "weight_bearing",
        {w.value: w.value for w in WeightBearing},
        "none, partial or full",
        required=False,
    )
    if weight is None and data["condition"] == Condition.AFTER_ANKLE_FRACTURE_OR_SURGERY.value:
        check.fail("weight_bearing", "say how much weight your surgeon allows on the leg")
    data["weight_bearing"] = weight
    data["boot_or_cast"] = bool(check.yes_no("boot_or_cast", required=False))
    amount = check.number("duration", 0, 2600)
    per = check.choice("duration_unit", DURATION_UNITS, "days, weeks, months or years")
    if amount is not None and per is not None:
        weeks = round(amount * per, 1)
        if weeks > _bounds(Assessment, "symptom_duration_weeks")[1]:
            check.fail("duration", "that is longer than groundup can record (50 years at most)")
        data["symptom_duration_weeks"] = weeks
    pain_low, pain_high = _bounds(Pain, "at_rest")
    data["pain"] = {
        "at_rest": check.whole("pain.at_rest", pain_low, pain_high),
        "during_activity": check.whole("pain.during_activity", pain_low, pain_high),
        "on_waking": check.whole("pain.on_waking", pain_low, pain_high),
        "night_pain": check.yes_no("pain.night_pain"),
        "lingers_after_activity_hours": check.number(
            "pain.lingers_after_activity_hours", *_bounds(Pain, "lingers_after_activity_hours")
        ),
    }
    psfs = []
    score_low, score_high = _bounds(PsfsActivity, "score")
    for n in range(5):
        activity = check.text(f"psfs.{n}.activity", most=120, least=2)
        score = check.whole(f"psfs.{n}.score", score_low, score_high, required=False)
        if activity and score is None and f"psfs.{n}.score" not in check.errors:
            check.fail(f"psfs.{n}.score", "say how well you can do it, from 0 to 10")
        elif score is not None and not activity:
            check.fail(f"psfs.{n}.activity", "say which activity this score is for")
        elif activity and score is not None:
            psfs.append({"activity": activity, "score": score})
    data["psfs"] = psfs
    data["tests"], unit = _read_tests(check, services)
    step_down = _read_step_down(check)
    if step_down is not None:
        data["observations"] = {"step_down": step_down}
    for measure in _person_measures(services):
        answers = _read_measure(check, measure)
        if answers:
            data[measure.id] = answers
    if check.errors:
        return None, unit
    try:
        return Assessment.model_validate(data), unit
    except ValidationError as exc:
        check.adopt(exc)
        return None, unit


def _read_measure(check: FormCheck, measure: Measure) -> dict[str, int | None]:
    """One questionnaire's answers from the form: a number on the item's scale, one of its
    answers, or (VISA-A item 8) a part and one of that part's answers, as "part:points"."""
    answers: dict[str, int | None] = {}
    for item in measure.items:
        name = f"{measure.id}.{item.id}"
        raw = check.raw(name)
        if not raw:
            continue
        if raw == "na" and measure.not_applicable_allowed:
            answers[item.id] = None
        elif item.branches:
            part, _, points = raw.partition(":")
            branch = next((b for b in item.branches if b.id == part), None)
            values = {str(o.value): o.value for o in branch.options} if branch else {}
            if points not in values:
                check.fail(name, "choose one of the answers listed")
            else:
                answers[item.id] = values[points]
        elif item.options:
            values = {str(o.value): o.value for o in item.options}
            if raw not in values:
                check.fail(name, "choose one of the answers listed")
            else:
                answers[item.id] = values[raw]
        else:
            value = check.whole(name, item.min, item.max)
            if value is not None:
                answers[item.id] = value
    return answers


# The questionnaires a person answers on their own: those whose answers have words at
# both ends (the others are worded for a clinician to ask). VISA-A is for Achilles pain.
PERSON_MEASURES = ("lefs", "faam_adl", "faam_sports", "visa_a")


def _person_measures(services: Services, program: Program | None = None) -> list[Measure]:
    """The questionnaires a person can answer alone; with their program, only those it
    uses: LEFS and FAAM for everyone, and the pathway's own score (VISA-A for the Achilles
    pathways)."""
    measures = services.rules.questionnaires
    wanted: tuple[str, ...] = PERSON_MEASURES
    if program is not None:
        own = services.rules.pathways[program.pathway].own_score
        wanted = tuple(m for m in PERSON_MEASURES if m != "visa_a" or m == own)
    return [m for m in (measures.measure(i) for i in wanted) if m.person_answerable]


# What the person can see on the step-down, in a mirror or on a film, in their own words.
STEP_DOWN_SIGNS = {
    StepDownFault.KNEE_VALGUS: "The knee drifts inwards, past the big toe",
    StepDownFault.PELVIC_DROP: "The hip on the other side drops",
    StepDownFault.TRUNK_LEAN: "The body leans to one side",
}


def _read_step_down(check: FormCheck) -> dict[str, list[str]] | None:
    """The person's own step-down test: what they saw on each side, or None if not done."""
    if not check.yes_no("step_down.done", required=False):
        return None
    seen: dict[str, list[str]] = {}
    for side in ("left", "right"):
        name = f"step_down.{side}"
        ticks = [t for t in check.form.getlist(name) if isinstance(t, str)]
        check.values[name] = ticks
        faults = [t for t in ticks if t in {f.value for f in StepDownFault}]
        if not ticks:
            check.fail(name, "tick what you saw, or “none of these”")
        elif "none" in ticks and faults:
            check.fail(name, "“none of these” cannot go with a sign you saw")
        elif len(faults) + ticks.count("none") != len(ticks):
            check.fail(name, "tick only the signs on the list")
        seen[side] = faults
    return seen


def _read_template(check: FormCheck, services: Services, condition: Condition | None) -> str | None:
    """The ready-made program chosen instead of the tailored one, if any: one that suits
    the condition the person gave."""
    offered = services.rules.pathways[condition or Condition.NOT_SURE].templates
    known = {name: name for name in services.rules.templates.templates}
    chosen = check.choice("program", {"tailored": "", **known}, "a program", required=False)
    if not chosen:
        return None
    if chosen not in offered:
        name = services.rules.pathways[condition or Condition.NOT_SURE].name
        check.fail(
            "program",
            f"that program does not suit “{name}”; choose the plan made from your tests "
            "or one marked for it",
        )
        return None
    return chosen


def _template_choices(services: Services) -> list[dict[str, Any]]:
    """The ready-made programs, each with the conditions it suits."""
    pathways = services.rules.pathways.pathways
    return [
        {
            "id": name,
            "name": template.name,
            "description": template.description,
            "suits": [p.name for p in pathways.values() if name in p.templates],
        }
        for name, template in services.rules.templates.templates.items()
    ]


def _read_preferences(check: FormCheck) -> Preferences | None:
    known = {e.value: e for e in Equipment}
    chosen = [known[v] for v in check.many("equipment") if v in known]
    equipment = tuple(dict.fromkeys([Equipment.NONE, *chosen]))
    minutes = check.whole("minutes", *_bounds(Preferences, "minutes_per_session"))
    days = sorted({int(v) for v in check.many("days") if v in {str(n) for n in range(7)}})
    if check.errors or minutes is None:
        return None
    try:
        return Preferences(
            equipment=equipment, minutes_per_session=minutes, training_days=tuple(days) or None
        )
    except ValidationError as exc:
        check.adopt(exc)
        return None


def _assess_defaults(services: Services, patient_id: str) -> dict[str, Any]:
    length_unit, _, _ = services.display(patient_id)
    return {
        "duration_unit": "weeks",
        "pain.lingers_after_activity_hours": "0",
        "sex": "unspecified",
        "condition": Condition.NOT_SURE.value,
        "program": "tailored",
        "length_unit": length_unit,
        "minutes": str(Preferences().minutes_per_session),
        "equipment": [e.value for e in Preferences().equipment],
        "days": [],
    }


def _assess_page(
    request: Request,
    services: Services,
    values: dict[str, Any],
    errors: dict[str, str],
    *,
    retest: bool,
    status_code: int = 200,
    error: str | None = None,
    notes: Sequence[str] = (),
) -> Response:
    return render(
        request,
        "person_assess.html",
        notes=notes,
        status_code=status_code,
        retest=retest,
        values=values,
        errors=errors,
        tests=_test_parts(services),
        equipment=[(e.value, words) for e, words in EQUIPMENT_WORDS.items()],
        weekdays=list(enumerate(WEEKDAYS)),
        psfs_rows=max(3, sum(1 for k in values if k.endswith(".activity") and values[k])),
        labels=_assess_labels(services),
        conditions=[(c.value, services.rules.pathways[c].name) for c in _CONDITION_ORDER],
        templates=_template_choices(services),
        step_down_signs=[(f.value, words) for f, words in STEP_DOWN_SIGNS.items()],
        measures=_person_measures(services),
        error=error,
    )


def _assess_labels(services: Services) -> dict[str, str]:
    """What each field is called in the list of answers to look at again."""
    labels = {
        "form": "The form",
        "age": "Your age",
        "sex": "Your sex",
        "affected_side": "Which leg hurts",
        "condition": "What it is",
        "program": "Which program",
        "duration": "How long you have had the pain",
        "duration_unit": "How long you have had the pain",
        "pain.at_rest": "Pain at rest",
        "pain.during_activity": "Pain during activity",
        "pain.on_waking": "Pain on waking",
        "pain.night_pain": "Pain at night",
        "pain.lingers_after_activity_hours": "Hours until the pain settles",
        "length_unit": "Knee-to-wall unit",
        "minutes": "Minutes per session",
    }
    for n in range(5):
        labels[f"psfs.{n}.activity"] = f"Activity {n + 1}"
        labels[f"psfs.{n}.score"] = f"Activity {n + 1}: how well today"
    for part in _test_parts(services):
        labels[f"tests.{part['id']}"] = part["label"]
        for side in ("left", "right"):
            labels[f"tests.{part['id']}.{side}"] = f"{part['label']}, {side} leg"
    return labels


def _assess_gate(services: Services, patient_id: str) -> str | None:
    """Where to go instead of the assessment, if anywhere."""
    result = services.latest_screen(patient_id)
    if result is None:
        return "/me/screen"
    if result.refers:
        return "/me/referral"
    if _program_or_none(services, patient_id) is not None:
        return "/me"
    return None


@router.get("/assess")
def assess_page(request: Request, me: MeDep, services: ServicesDep) -> Response:
    target = _assess_gate(services, me.patient_id)
    if target:
        return see(target)
    result = services.latest_screen(me.patient_id)
    notes = [r.person_text for r in result.notes] if result else []
    return _assess_page(
        request,
        services,
        _assess_defaults(services, me.patient_id),
        {},
        retest=False,
        notes=notes,
    )


@router.post("/assess", dependencies=[CsrfChecked])
def assess_post(request: Request, me: MeDep, services: ServicesDep, form: FormDep) -> Response:
    target = _assess_gate(services, me.patient_id)
    if target:
        return see(target)
    check = FormCheck(form)
    day = _today(services)
    assessment, unit = _read_assessment(check, services, day)
    preferences = _read_preferences(check)
    template = _read_template(check, services, assessment.condition if assessment else None)
    if assessment is None or preferences is None or "program" in check.errors:
        return _assess_page(
            request, services, check.values, check.errors, retest=False, status_code=400
        )
    try:
        services.start_program(me.patient_id, assessment, preferences, day=day, template=template)
    except Referred as exc:
        return _referral(request, exc.result)
    except ServiceError as exc:
        return _assess_page(
            request,
            services,
            check.values,
            check.errors,
            retest=False,
            status_code=400,
            error=str(exc),
        )
    _keep_length_unit(services, me.patient_id, unit)
    return see("/me/results")


def _keep_length_unit(services: Services, patient_id: str, unit: str) -> None:
    length, mass, date_format = services.display(patient_id)
    if unit != length:
        services.set_display(patient_id, unit, mass, date_format)


# ----- the re-test -----------------------------------------------------------------------


def _retest_defaults(services: Services, patient_id: str, day: dt.date) -> dict[str, Any]:
    values = _assess_defaults(services, patient_id)
    history = services.assessments(patient_id)
    if not history:
        return values
    first_date, _, first, _ = next((h for h in history if h[1] == "initial"), history[0])
    weeks = first.symptom_duration_weeks + max(0, (day - first_date).days) / 7
    values |= {
        "age": str(first.age),
        "sex": first.sex.value,
        "affected_side": first.affected_side.value,
        "condition": first.condition.value,
        "duration": f"{weeks:.1f}".rstrip("0").rstrip("."),
        "duration_unit": "weeks",
        "pain.night_pain": "yes" if first.pain.night_pain else "no",
    }
    for n, item in enumerate(first.psfs):
        values[f"psfs.{n}.activity"] = item.activity
    return values


@router.get("/retest")
def retest_page(request: Request, me: MeDep, services: ServicesDep) -> Response:
    if _program_or_none(services, me.patient_id) is None:
        return see("/me")
    values = _retest_defaults(services, me.patient_id, _today(services))
    return _assess_page(request, services, values, {}, retest=True)


@router.post("/retest", dependencies=[CsrfChecked])
def retest_post(request: Request, me: MeDep, services: ServicesDep, form: FormDep) -> Response:
    if _program_or_none(services, me.patient_id) is None:
        return see("/me")
    check = FormCheck(form)
    day = _today(services)
    assessment, unit = _read_assessment(check, services, day)
    if assessment is None:
        return _assess_page(
            request, services, check.values, check.errors, retest=True, status_code=400
        )
    before = services.assessments(me.patient_id)
    try:
        decisions = services.record_retest(me.patient_id, assessment, day)
    except ServiceError as exc:
        return _assess_page(
            request,
            services,
            check.values,
            check.errors,
            retest=True,
            status_code=400,
            error=str(exc),
        )
    _keep_length_unit(services, me.patient_id, unit)
    after = services.assessments(me.patient_id)
    return _result_page(
        request,
        services,
        me.patient_id,
        title="Re-test saved",
        message="Here is how your two sides compare now, and what the program does with it.",
        decisions=decisions,
        comparison=_lsi_rows(services, before[-1][3] if before else {}, after[-1][3]),
    )


# ----- the questionnaires on their own schedule -------------------------------------------


def _questionnaires_page(
    request: Request,
    services: Services,
    patient_id: str,
    program: Program,
    check: FormCheck | None = None,
    status_code: int = 200,
    error: str | None = None,
) -> Response:
    _, _, date_format = services.display(patient_id)
    last = services.questionnaires_last(patient_id)
    measures = _person_measures(services, program)
    labels = {"form": "The form"}
    for measure in measures:
        for item in measure.items:
            labels[f"{measure.id}.{item.id}"] = (
                f"{measure.short_name} question {item.number} ({item.paraphrase})"
            )
    return render(
        request,
        "person_questionnaires.html",
        status_code=status_code,
        measures=measures,
        last=_date_text(last, date_format) if last else "",
        values=check.values if check else {},
        errors=check.errors if check else {},
        labels=labels,
        error=error,
    )


@router.get("/questionnaires")
def questionnaires_page(request: Request, me: MeDep, services: ServicesDep) -> Response:
    program = _program_or_none(services, me.patient_id)
    if program is None:
        return see("/me")
    return _questionnaires_page(request, services, me.patient_id, program)


@router.post("/questionnaires", dependencies=[CsrfChecked])
def questionnaires_post(
    request: Request, me: MeDep, services: ServicesDep, form: FormDep
) -> Response:
    program = _program_or_none(services, me.patient_id)
    if program is None:
        return see("/me")
    check = FormCheck(form)
    answers = {}
    for measure in _person_measures(services, program):
        given = _read_measure(check, measure)
        if given:
            answers[measure.id] = given
    if not answers and not check.errors:
        check.fail("form", "answer at least one questionnaire")
    if check.errors:
        return _questionnaires_page(request, services, me.patient_id, program, check, 400)
    try:
        decisions = services.record_questionnaires(me.patient_id, answers, _today(services))
    except ServiceError as exc:
        check.fail("form", str(exc))
        return _questionnaires_page(request, services, me.patient_id, program, check, 400)
    return _result_page(
        request,
        services,
        me.patient_id,
        title="Answers saved",
        message="Thank you. Your progress page compares these scores with your first ones.",
        decisions=decisions,
    )


def _lsi_rows(
    services: Services, before: Mapping[str, Any], after: Mapping[str, Any]
) -> list[dict[str, str]]:
    tests = services.rules.assessment.tests
    old = {c["test"]: c for c in before.get("comparisons", [])}
    rows = []
    for item in after.get("comparisons", []):
        definition = tests.get(item["test"])
        if definition is None:
            continue

        def lsi(value: Any) -> str:
            return "—" if value is None else f"{float(value):.0f} %"

        rows.append(
            {
                "test": definition.person_label,
                "before": lsi(old.get(item["test"], {}).get("lsi")),
                "now": lsi(item.get("lsi")),
            }
        )
    return rows


# ----- results: decisions in plain words -------------------------------------------------


_FIELD_WORDS = {"sets": "sets", "load_kg": "weight", "knob": "setting"}


def _change_value(field_name: str, value: object, mass_unit: str) -> str:
    if value is None:
        return "none"
    if field_name == "load_kg" and isinstance(value, int | float):
        return mass_words(float(value), mass_unit)
    return f"{value:g}" if isinstance(value, int | float) else str(value)


def _override_words(
    decision: Decision,
    overrides: Sequence[Override],
    library: Mapping[str, Exercise],
    mass_unit: str,
) -> str:
    """A clinician's change in plain words: what changed, from what to what, and why.
    `library`: the person's own (their clinicians' exercises included)."""
    lines = []
    for change in decision.changes:
        if change.field == "pinned" or change.field.startswith("edit_"):
            continue  # a swap, addition or removal: the decision's own words say it
        if change.exercise_id is None:
            continue
        if change.exercise_id not in library:
            continue
        exercise = library[change.exercise_id]
        what = _FIELD_WORDS.get(change.field, exercise.dose_type.unit)
        side = f" ({change.side.value} leg)" if change.side else ""
        before = _change_value(change.field, change.before, mass_unit)
        after = _change_value(change.field, change.after, mass_unit)
        lines.append(f"{exercise.name}{side}: {what} {before} → {after}")
    reason = next(
        (
            o.reason
            for o in overrides
            if o.date == decision.date
            and f"override.{o.action}" == decision.rule
            and o.exercise_id == decision.exercise_id
        ),
        "",
    )
    text = decision.person_text
    if lines:
        text = "Your clinician changed your dose. " + "; ".join(lines) + "."
        if decision.rule == "override.pin_dose":
            text += " It stays at this until they change it again."
    if reason:
        text += f" Their reason: {reason}"
    return text


def _decision_items(
    decisions: Iterable[Decision],
    date_format: str,
    overrides: Sequence[Override] = (),
    library: Mapping[str, Exercise] | None = None,
    mass_unit: str = "kg",
) -> list[dict[str, str]]:
    items = []
    for decision in _shown(decisions):
        words, tag = KIND_WORDS.get(decision.kind, (decision.kind, ""))
        if decision.rule.startswith("note."):
            words, tag = "Noted", ""
        items.append(
            {
                "kind": decision.kind,
                "words": words,
                "tag": tag,
                "date": _date_text(decision.date, date_format),
                "text": _override_words(decision, overrides, library, mass_unit)
                if decision.kind == "override" and library is not None
                else decision.person_text,
            }
        )
    return items


def _result_page(
    request: Request,
    services: Services,
    patient_id: str,
    *,
    title: str,
    message: str,
    decisions: Iterable[Decision],
    comparison: list[dict[str, str]] | None = None,
    status_code: int = 200,
    flare_plan: str = "",
    stopped: bool = False,
    sent: str = "",
    recheck: bool = False,
) -> Response:
    """What just happened, and what the program does about it, in plain words. `sent`
    names the session log just stored, so the device forgets its own copy of it; `recheck`
    links to the safety questions asked again."""
    _, _, date_format = services.display(patient_id)
    return render(
        request,
        "person_result.html",
        status_code=status_code,
        title=title,
        message=message,
        flare_plan=flare_plan,
        stopped=stopped,
        sent=sent,
        items=_decision_items(decisions, date_format),
        comparison=comparison or [],
        recheck=recheck,
    )


# ----- today and the session player ------------------------------------------------------


@dataclass(frozen=True)
class Step:
    """One exercise on one side (or both legs together): one screen of the player."""

    index: int
    slot: Slot
    dose: Dose
    exercise: Exercise


def _steps(program: Program, services: Services, patient_id: str) -> list[Step]:
    library = services.rules_for(patient_id).library
    steps: list[Step] = []
    for slot in program.slots:
        for dose in slot.doses:
            steps.append(Step(len(steps), slot, dose, library[slot.exercise_id]))
    return steps


def person_name(name: str, side: Side | None = None) -> str:
    """An exercise's name as a sentence would carry it: "Short foot, seated — right side"."""
    text = re.sub(r"\s*\(([^)]*)\)", r", \1", name)
    if side is not None:
        text += f" — {side.value} side"
    return text


def _side_words(dose: Dose) -> str:
    return f"{dose.side.value} leg" if dose.side else "both legs"


def _dose_text(step: Step, mass_unit: str) -> str:
    text = dose_words(step.dose, step.exercise.dose_type)
    if step.dose.load_kg:
        text += f" with {mass_words(step.dose.load_kg, mass_unit)}"
    return text


def _step_view(step: Step, services: Services, mass_unit: str, patient_id: str) -> dict[str, Any]:
    exercise, dose = step.exercise, step.dose
    tempo = dose.tempo or exercise.tempo
    library = services.rules_for(patient_id).library
    pair = library.get(step.slot.pair_with) if step.slot.pair_with else None
    photo = services.own_photos([exercise.id]).get(exercise.id)
    return {
        "index": step.index,
        "name": exercise.name,
        "summary": exercise.summary,
        # The picture is our own SVG, built from checked pose data: safe to inline.
        "picture": Markup(pictures.render(exercise)),
        # A clinician's own exercise may have an uploaded photo (served checked, re-encoded).
        "photo": f"/exercise-pictures/{photo}" if photo else "",
        "part": PART_TITLES[step.slot.part],
        "main": step.slot.part == "main",
        "side": _side_words(dose),
        "dose": _dose_text(step, mass_unit),
        "sets": dose.sets,
        "amount": f"{dose.amount:g}",
        "unit": {"reps": "reps", "seconds": "seconds", "minutes": "minutes", "distance": "metres"}[
            exercise.dose_type.value
        ],
        "tempo": tempo.text() if tempo else "",
        "knob": exercise.knob.describe(dose.knob)
        if exercise.knob and dose.knob is not None
        else "",
        "rest": dose.rest_seconds,
        "steps": exercise.steps,
        "cues": exercise.cues,
        "faults": [{"id": f.id, "text": f.text, "fix": f.fix} for f in exercise.faults],
        "cautions": exercise.cautions,
        "pair": pair.name if pair else "",
        "reason": person_words(step.slot.reason, services.rules.assessment),
    }


class DraftStep(Frozen):
    """One answered step of a session in progress: what was done, or nothing if left out."""

    step: int = Field(ge=0, le=200)
    log: ExerciseLog | None = None


class Draft(Frozen):
    """The session in progress, carried from one player page to the next."""

    log_id: str = Field(min_length=8, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")
    day: dt.date
    version: int = Field(ge=1)
    done: tuple[DraftStep, ...] = ()

    @field_validator("done")
    @classmethod
    def _in_order(cls, value: tuple[DraftStep, ...]) -> tuple[DraftStep, ...]:
        if [s.step for s in value] != list(range(len(value))):
            raise ValueError("the steps are out of order")
        return value

    def encoded(self) -> str:
        return json.dumps(
            [s.model_dump(mode="json", exclude_none=True) for s in self.done],
            separators=(",", ":"),
        )


_DONE = TypeAdapter(tuple[DraftStep, ...])


class DraftError(ServiceError):
    """The player's hidden draft is damaged or out of date."""


def _read_draft(form: FormData) -> Draft:
    def get(name: str) -> str:
        value = form.get(name)
        return value if isinstance(value, str) else ""

    try:
        done = _DONE.validate_json(get("draft") or "[]")
        return Draft.model_validate(
            {"log_id": get("log_id"), "day": get("day"), "version": get("version"), "done": done}
        )
    except ValidationError:
        raise DraftError(
            "the session form was damaged on the way; open Today and start the session again"
        ) from None


def _parse_day(text: str | None, services: Services) -> dt.date:
    if not text:
        return _today(services)
    try:
        day = dt.date.fromisoformat(text)
    except ValueError:
        raise ServiceError(f"{text!r} is not a date; write it as YYYY-MM-DD") from None
    if day > _today(services):
        raise ServiceError("that day has not come yet: you can only log days up to today")
    return day


def _today_page(
    request: Request,
    me: Me,
    services: Services,
    day: dt.date,
    *,
    error: str | None = None,
    status_code: int = 200,
    preview: bool = False,
) -> Response:
    today = services.today(me.patient_id, day)
    program = today.program
    _, mass_unit, date_format = services.display(me.patient_id)
    if program.state.referred:
        return _paused_page(
            request,
            services.referral(me.patient_id),
            status_code=status_code,
            day_text=f"{WEEKDAYS[day.weekday()]} {_date_text(day, date_format)}",
            owner=me.patient_id,
        )
    steps = _steps(program, services, me.patient_id)
    parts = []
    for part, title in PART_TITLES.items():
        rows = [
            {
                "name": person_name(s.exercise.name),
                "side": _side_words(s.dose),
                "dose": _dose_text(s, mass_unit),
            }
            for s in steps
            if s.slot.part == part
        ]
        if rows:
            parts.append({"title": title, "rows": rows})
    next_day = None
    if today.status != "planned":
        for offset in range(1, 15):
            candidate = day + dt.timedelta(days=offset)
            if program.is_training_day(candidate):
                next_day = candidate
                break
    phase = services.rules.phases[program.phase]
    resume = None
    if today.status == "planned":
        try:
            kept = services.draft(me.patient_id, day)
            resume = Draft.model_validate(kept) if kept else None
        except ValidationError:
            resume = None
        if resume is not None and (
            resume.version != program.version or not resume.done or len(resume.done) > len(steps)
        ):
            resume = None
    return render(
        request,
        "person_today.html",
        owner=me.patient_id,
        plan=_session_plan(services, me.patient_id, program, steps, day)
        if today.status == "planned" and not preview
        else None,
        resume=resume,
        resume_json=resume.encoded() if resume else "",
        resume_at=len(resume.done) if resume else 0,
        notices=_standing_notices(services, me.patient_id, program, day, date_format),
        status_code=status_code,
        error=error,
        day=day,
        is_today=day == _today(services),
        day_text=_date_text(day, date_format),
        weekday=WEEKDAYS[day.weekday()],
        status=today.status,
        next_day=f"{WEEKDAYS[next_day.weekday()]} {_date_text(next_day, date_format)}"
        if next_day
        else "",
        next_iso=next_day.isoformat() if next_day else "",
        preview=preview,
        phase_number=program.phase.number,
        phase_label=program.phase.label,
        phase_purpose=phase.purpose,
        minutes=minutes_shown(program.slots, services.rules_for(me.patient_id)),
        parts=parts,
        count=len(steps),
        log_id=uuid.uuid4().hex,
        version=program.version,
        training_days=", ".join(WEEKDAYS[d] for d in program.training_days),
    )


def _standing_notices(
    services: Services, patient_id: str, program: Program, day: dt.date, date_format: str
) -> list[dict[str, str]]:
    """What stands on every day, training or not: a flare-up plan, doses held back, a
    re-test that is due. (A referral replaces the whole page.)"""
    notices: list[dict[str, str]] = []
    flare = program.state.flare
    if flare is not None:
        share = f"{flare.volume_fraction:.0%}".replace("%", " %")
        notices.append(
            {
                "tone": "warn",
                "title": "Flare-up plan",
                "text": f"Since {_date_text(flare.started, date_format)} your sessions are "
                f"lighter (about {share} of the usual work) to let things settle, then they "
                "build back up in steps. Keep doing the morning check-in: it tells the "
                "program when you have settled.",
                "kind": "flare",
            }
        )
    recent = services.decisions(patient_id, limit=30)
    if recent:
        latest = max(d.date for d in recent)
        for decision in recent:
            if decision.kind == "hold" and decision.date == latest and len(notices) < 4:
                notices.append(
                    {
                        "tone": "warn",
                        "title": "Kept the same for now",
                        "text": decision.person_text,
                        "kind": "hold",
                    }
                )
    if program.state.last_recheck_prompt == day:
        notices.append(
            {
                "tone": "warn",
                "title": "A few safety questions again",
                "text": "Your pain on waking was high this morning. If you have not yet, "
                "answer the safety questions about pain at rest, at night and on the bone again.",
                "link": "/me/recheck",
                "link_text": "Answer them",
                "kind": "recheck",
            }
        )
    answered = services.questionnaires_last(patient_id)
    asked = questionnaires_due_on(program, answered, services.rules_for(patient_id))
    if asked is not None and day >= asked:
        notices.append(
            {
                "tone": "",
                "title": "Questionnaires due",
                "text": (
                    f"You last answered your questionnaires on {_date_text(answered, date_format)}."
                    if answered
                    else "You have not answered your questionnaires yet."
                )
                + " A few minutes of questions show how your leg affects everyday life, "
                "and whether the change is big enough to matter.",
                "link": "/me/questionnaires",
                "link_text": "Answer them",
                "kind": "questionnaires",
            }
        )
    history = services.assessments(patient_id)
    if history:
        last = max(h[0] for h in history)
        due = last + dt.timedelta(weeks=services.rules.progression.retest_every_weeks)
        if day >= due:
            notices.append(
                {
                    "tone": "",
                    "title": "A re-test is due",
                    "text": f"Your last tests were on {_date_text(last, date_format)}. Doing "
                    "them again shows how far you have come and lets the program move you on.",
                    "link": "/me/retest",
                    "kind": "retest",
                }
            )
    return notices


@router.get("/session")
def session_page(
    request: Request, me: MeDep, services: ServicesDep, day: str | None = None
) -> Response:
    if _program_or_none(services, me.patient_id) is None:
        return see("/me")
    wanted = _preview_day(day, services)
    if wanted is not None:
        return _today_page(request, me, services, wanted, preview=True)
    return _today_page(request, me, services, _parse_day(day, services))


PREVIEW_DAYS = 28


def _preview_day(text: str | None, services: Services) -> dt.date | None:
    """A day still to come, within four weeks: its session can be looked at, not logged."""
    if not text:
        return None
    try:
        day = dt.date.fromisoformat(text)
    except ValueError:
        return None
    today = _today(services)
    if today < day <= today + dt.timedelta(days=PREVIEW_DAYS):
        return day
    return None


def _step_page(
    request: Request,
    services: Services,
    me: Me,
    draft: Draft,
    step: Step,
    total: int,
    values: dict[str, Any],
    errors: dict[str, str],
    status_code: int = 200,
    notice: str = "",
) -> Response:
    _, mass_unit, date_format = services.display(me.patient_id)
    p = services.rules.progression
    services.save_draft(me.patient_id, draft.day, draft.model_dump(mode="json"))
    before = [item.log for item in draft.done if item.log is not None]
    last = before[-1] if before else None
    seen = any(item.log.exercise_id == step.slot.exercise_id for item in draft.done if item.log)
    if not seen:
        seen = any(
            isinstance(e, SessionLog)
            and any(x.exercise_id == step.slot.exercise_id for x in e.exercises)
            for e in services.history(me.patient_id)
        )
    return render(
        request,
        "person_step.html",
        plan=_plan_for(services, me.patient_id, draft.day),
        seen=seen,
        hold=step.dose.amount if step.exercise.dose_type.value == "seconds" else None,
        same_pain=str(last.max_pain) if last else "",
        same_effort=f"{last.sets[-1].rpe:g}" if last and last.sets[-1].rpe is not None else "",
        status_code=status_code,
        step=_step_view(step, services, mass_unit, me.patient_id),
        total=total,
        draft=draft,
        draft_json=draft.encoded(),
        day_text=_date_text(draft.day, date_format),
        stop_notice=notice,
        pain_hint=_pain_hint(services),
        stop_at=p.pain_acceptable_max + 1,
        end_at=p.flare_pain,
        signs=_sign_choices(services),
        values=values,
        errors=errors,
        labels={f"set{n}": f"Set {n}" for n in range(1, step.dose.sets + 1)}
        | {"pain": "Pain", "effort": "How hard it was", "form": "Your form"},
    )


def _pain_hint(services: Services) -> str:
    """The pain rules of the player, in plain words, from the engine's own thresholds."""
    p = services.rules.progression
    return (
        f"0 to {p.pain_safe_max} is fine, {p.pain_safe_max + 1} to {p.pain_acceptable_max} "
        f"is acceptable. {p.pain_acceptable_max + 1} or more stops this exercise; "
        f"{p.flare_pain} or more stops the session."
    )


def _sign_choices(services: Services) -> list[tuple[str, str]]:
    """The warning signs the person can report, from the screen's own check-in list."""
    return [
        (sign_id, sign.text) for sign_id, sign in services.rules.screening.checkin_signs.items()
    ]


def _read_signs(form: FormData, services: Services) -> tuple[str, ...]:
    known = services.rules.screening.checkin_signs
    chosen = [v for v in form.getlist("sign") if isinstance(v, str) and v in known]
    return tuple(dict.fromkeys(chosen))


def _referral_view(decision: Decision | None) -> dict[str, Any]:
    """What a paused program tells the person: how urgent, why, and what to do."""
    urgency = None
    if decision is not None:
        try:
            urgency = Urgency(str(decision.numbers.get("urgency", "")))
        except ValueError:
            urgency = None
    text = decision.person_text if decision else PAUSED_ADVICE
    if urgency is not None:
        text = text.removeprefix(urgency.label).strip()
    return {
        "text": text,
        "label": urgency.label
        if urgency
        else "See a doctor or physiotherapist before you carry on.",
        "emergency": urgency is Urgency.EMERGENCY,
        "safety_net": load_screening_rules().advice.safety_net,
    }


def _step_defaults(step: Step, log: ExerciseLog | None = None) -> dict[str, Any]:
    """The form for a step: the prescription, or what was entered before going back."""
    values: dict[str, Any] = {"form": "clean"}
    if log is None:
        for n in range(1, step.dose.sets + 1):
            values[f"set{n}"] = f"{step.dose.amount:g}"
        return values
    for n, done in enumerate(log.sets, 1):
        values[f"set{n}"] = f"{done.amount:g}"
    last = log.sets[-1]
    values["pain"] = str(max(s.pain for s in log.sets))
    if last.rpe is not None:
        values["effort"] = f"{last.rpe:g}"
    faults = [s.form for s in log.sets if not s.clean]
    values["form"] = faults[0] if faults else "clean"
    return values


def _read_step(check: FormCheck, step: Step) -> ExerciseLog | None:
    """One exercise on one side as done; None (with errors) when something is off."""
    amounts = []
    for n in range(1, step.dose.sets + 1):
        amounts.append(check.number(f"set{n}", *_bounds(SetLog, "amount")))
    pain = check.whole("pain", 0, 10)
    effort = check.whole("effort", 1, 10, required=step.slot.part == "main")
    forms = {"clean": "clean"} | {f.id: f.id for f in step.exercise.faults}
    form = check.choice("form", forms, "clean or the fault you noticed")
    if check.errors or pain is None or form is None:
        return None
    sets = tuple(
        SetLog(
            amount=amount or 0,
            load_kg=step.dose.load_kg,
            knob=step.dose.knob,
            rpe=effort,
            pain=pain,
            # The fault is put on the last set, where tiredness shows it (as the CLI does).
            form=form if n == len(amounts) - 1 else "clean",
        )
        for n, amount in enumerate(amounts)
    )
    return ExerciseLog(exercise_id=step.slot.exercise_id, side=step.dose.side, sets=sets)


def _player_context(services: Services, me: Me, form: FormData) -> tuple[Draft, list[Step]]:
    draft = _read_draft(form)
    program = services.program(me.patient_id)
    if program.version != draft.version:
        raise DraftError(
            "your program changed while this session was open; open Today and start again"
        )
    steps = _steps(program, services, me.patient_id)
    if len(draft.done) > len(steps):
        raise DraftError("the session form does not match today's session; start again")
    return draft, steps


def _review_page(
    request: Request,
    services: Services,
    me: Me,
    draft: Draft,
    steps: Sequence[Step],
    *,
    error: str | None = None,
    status_code: int = 200,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    notice: str = "",
) -> Response:
    _, _, date_format = services.display(me.patient_id)
    services.save_draft(me.patient_id, draft.day, draft.model_dump(mode="json"))
    rows = []
    for item in draft.done:
        step = steps[item.step]
        fault_text = {f.id: f.text for f in step.exercise.faults}
        if item.log is None:
            rows.append(
                {"name": step.exercise.name, "side": _side_words(step.dose), "left_out": True}
            )
            continue
        faults = [s.form for s in item.log.sets if not s.clean]
        rows.append(
            {
                "name": step.exercise.name,
                "side": _side_words(step.dose),
                "left_out": False,
                "sets": " · ".join(f"{s.amount:g}" for s in item.log.sets),
                "unit": step.exercise.dose_type.unit,
                "pain": item.log.max_pain,
                "effort": "" if item.log.sets[-1].rpe is None else f"{item.log.sets[-1].rpe:g}",
                "form": fault_text.get(faults[0], faults[0]) if faults else "clean",
            }
        )
    return render(
        request,
        "person_review.html",
        plan=_plan_for(services, me.patient_id, draft.day),
        status_code=status_code,
        error=error,
        stop_notice=notice,
        draft=draft,
        draft_json=draft.encoded(),
        rows=rows,
        anything=any(item.log is not None for item in draft.done),
        day_text=_date_text(draft.day, date_format),
        last=len(steps) - 1,
        values=values or {},
        errors=errors or {},
        labels={"pain_after": "Pain right after the session"},
    )


def _pain_after(form: FormData) -> int | None:
    """The 0–10 pain right after the session, or None when it was not chosen."""
    raw = str(form.get("pain_after", "")).strip()
    if not raw.isdigit() or not 0 <= int(raw) <= 10:
        return None
    return int(raw)


SAVED = (
    "Session saved. Well done!",
    "Here is what the program does next, and why. Tomorrow morning, do the short check-in.",
)
ALREADY_SAVED = (
    "Already saved",
    "This session was saved before; it is stored once. Nothing else changed.",
)


@router.post("/session/save", dependencies=[CsrfChecked])
def session_save(request: Request, me: MeDep, services: ServicesDep, form: FormDep) -> Response:
    """Store the session (once, whatever the retries) and say what changes."""
    if services.program(me.patient_id).state.referred:
        return _paused_page(request, services.referral(me.patient_id), status_code=409)
    draft = _read_draft(form)
    exercises = tuple(item.log for item in draft.done if item.log is not None)
    program = services.program(me.patient_id)
    steps = _steps(program, services, me.patient_id)
    if not exercises:
        if program.version != draft.version or len(draft.done) > len(steps):
            raise DraftError("the session form does not match today's session; start again")
        return _review_page(
            request,
            services,
            me,
            draft,
            steps,
            error="Nothing was logged. If you did not train today, use “Skip today” instead.",
            status_code=400,
        )
    pain_after = _pain_after(form)
    if pain_after is None:
        return _review_page(
            request,
            services,
            me,
            draft,
            steps if len(steps) >= len(draft.done) else [],
            error="Say how much it hurts now, right after the session, then save.",
            status_code=400,
            errors={"pain_after": "choose a number from 0 to 10"},
        )
    try:
        outcome = services.log_session(me.patient_id, _draft_session(draft, pain_after=pain_after))
    except (ValidationError, ServiceError) as exc:
        message = str(exc) if isinstance(exc, ServiceError) else "the session could not be read"
        if program.version == draft.version and len(draft.done) <= len(steps):
            return _review_page(
                request, services, me, draft, steps, error=f"Not saved: {message}", status_code=400
            )
        raise ServiceError(f"not saved: {message}") from None
    if outcome.duplicate:
        return _result_page(
            request,
            services,
            me.patient_id,
            title=ALREADY_SAVED[0],
            message=ALREADY_SAVED[1],
            decisions=(),
            sent=draft.log_id,
        )
    return _result_page(
        request,
        services,
        me.patient_id,
        title=SAVED[0],
        message=SAVED[1],
        decisions=outcome.decisions,
        sent=draft.log_id,
    )


@router.post("/session/skip", dependencies=[CsrfChecked])
def session_skip(request: Request, me: MeDep, services: ServicesDep, form: FormDep) -> Response:
    if services.program(me.patient_id).state.referred:
        return _paused_page(request, services.referral(me.patient_id), status_code=409)
    check = FormCheck(form)
    reason = check.text("reason", most=500)
    log_id = check.raw("log_id")
    try:
        day = _parse_day(check.raw("day"), services)
    except ServiceError as exc:
        raise DraftError(str(exc)) from None
    if check.errors:
        return _today_page(
            request, me, services, day, error=check.errors["reason"], status_code=400
        )
    try:
        log = SessionLog(id=log_id, date=day, skipped=True, skip_reason=reason)
    except ValidationError:
        raise DraftError("the form was damaged on the way; open Today and try again") from None
    outcome = services.log_session(me.patient_id, log)
    return _result_page(
        request,
        services,
        me.patient_id,
        title="Skipped for today",
        message="That's fine. Rest, and pick up again on your next training day.",
        decisions=outcome.decisions,
    )


# ----- the session on the device (offline) -----------------------------------------------
# Every player page carries the whole of the day's session (all steps, the pain rules and
# the warning signs with their advice), so the page's own script (static/offline.js) can
# run the rest of it on the device when the network goes, keep it in IndexedDB and send it
# here when the network is back, with the session's own log id.


def _session_plan(
    services: Services, patient_id: str, program: Program, steps: Sequence[Step], day: dt.date
) -> dict[str, Any]:
    """What the device needs to run the day's session without the server."""
    _, mass_unit, date_format = services.display(patient_id)
    p = services.rules.progression
    screening = services.rules.screening
    slot_number = {id(slot): n for n, slot in enumerate(program.slots)}
    signs = []
    for sign_id, sign in screening.checkin_signs.items():
        rule = screening.rules[sign.rule]
        signs.append(
            {
                "id": sign_id,
                "text": sign.text,
                "rank": rule.urgency.rank,
                "label": rule.urgency.label,
                "emergency": rule.urgency is Urgency.EMERGENCY,
                "reason": rule.person_text.strip(),
            }
        )
    return {
        # Whose session: a device shared by two people keeps each one's sessions apart.
        "owner": patient_id,
        "day": day.isoformat(),
        "day_text": _date_text(day, date_format),
        "version": program.version,
        "steps": [
            {
                key: value
                for key, value in _step_view(step, services, mass_unit, patient_id).items()
                if key not in ("picture", "photo", "reason")
            }
            | {
                "exercise_id": step.slot.exercise_id,
                "leg": step.dose.side.value if step.dose.side else None,
                "slot": slot_number[id(step.slot)],
                "load_kg": step.dose.load_kg,
                "knob": step.dose.model_dump(mode="json")["knob"],
                "hold": int(step.dose.amount) if step.exercise.dose_type.value == "seconds" else 0,
                "fault_ids": [f.id for f in step.exercise.faults],
            }
            for step in steps
        ],
        "pain": {
            "stop_at": p.pain_acceptable_max + 1,
            "end_at": p.flare_pain,
            "hint": _pain_hint(services),
            "next_time_main": _too_much_next_time(services, main=True),
            "next_time_other": _too_much_next_time(services, main=False),
            "stop_message": _pain_stop_message(
                services, "kept on this device, and sent when the connection is back"
            ),
            "flare_plan": pain_zones(p)[-1].meaning,
        },
        "signs": signs,
        "safety_net": load_screening_rules().advice.safety_net,
    }


def _plan_for(services: Services, patient_id: str, day: dt.date) -> dict[str, Any]:
    program = services.program(patient_id)
    return _session_plan(services, patient_id, program, _steps(program, services, patient_id), day)


class Upload(Frozen):
    """A session kept on the device, as its script sends it: the player's draft and how
    the session ended (saved with the pain after it, stopped for pain, or for a sign)."""

    log_id: str
    day: dt.date
    version: int
    done: tuple[DraftStep, ...]
    ending: Literal["save", "pain", "signs"]
    pain_after: int | None = Field(default=None, ge=0, le=10)
    signs: tuple[str, ...] = Field(default=(), max_length=20)


def _kept_session(upload: Upload, services: Services) -> SessionLog:
    """The session to store, read as the player's own pages read it."""
    draft = Draft.model_validate(upload.model_dump(include={"log_id", "day", "version", "done"}))
    logs = [item.log for item in draft.done if item.log is not None]
    if upload.ending == "signs":
        if not upload.signs:
            raise ServiceError("the session stopped for a warning sign, but none was sent")
        return _draft_session(draft, signs=upload.signs)
    if not logs:
        raise ServiceError("nothing was logged in this session")
    if upload.ending == "pain":
        last = draft.done[-1].log
        if last is None or last.max_pain < services.rules.progression.flare_pain:
            raise ServiceError("the session stopped for pain, but the last exercise says less")
        return _draft_session(draft, pain_after=last.max_pain)
    if upload.pain_after is None:
        raise ServiceError("say how much it hurt right after the session")
    return _draft_session(draft, pain_after=upload.pain_after)


def _stored_words(services: Services, patient_id: str, log: SessionLog) -> list[str]:
    """What the server holds for a session, line by line, in the person's words."""
    library = services.rules_for(patient_id).library
    if log.skipped:
        return [f"Skipped{': ' + log.skip_reason if log.skip_reason else ''}"]
    lines = []
    for done in log.exercises:
        exercise = library.get(done.exercise_id)
        name = person_name(exercise.name if exercise else done.exercise_id, done.side)
        amounts = " · ".join(f"{s.amount:g}" for s in done.sets)
        unit = exercise.dose_type.unit if exercise else ""
        lines.append(f"{name}: {amounts} {unit}, pain {done.max_pain}".replace("  ", " "))
    if log.pain_after is not None:
        lines.append(f"Pain right after the session: {log.pain_after}")
    return lines


def _server_has(services: Services, patient_id: str, log: SessionLog) -> dict[str, Any]:
    """The session the server already holds under this id, or else on this day."""
    _, _, date_format = services.display(patient_id)
    held = [e for e in services.history(patient_id) if isinstance(e, SessionLog)]
    same = next((e for e in held if e.id == log.id), None) or next(
        (e for e in reversed(held) if e.date == log.date), None
    )
    if same is None:
        return {}
    return {
        "log_id": same.id,
        "day_text": _date_text(same.date, date_format),
        "lines": _stored_words(services, patient_id, same),
    }


@router.post("/session/upload", dependencies=[CsrfChecked])
def session_upload(me: MeDep, services: ServicesDep, form: FormDep) -> Response:
    """Store a session logged on the device while the network was gone: the same checks
    and the same service call as the player's own save, so a retry is stored once and a
    session logged meanwhile from elsewhere is a conflict the person is shown."""
    try:
        upload = Upload.model_validate_json(str(form.get("session", "")))
        log = _kept_session(upload, services)
    except (ValidationError, ServiceError) as exc:
        message = str(exc) if isinstance(exc, ServiceError) else "the session could not be read"
        return JSONResponse({"status": "refused", "message": f"Not saved: {message}"}, 400)
    try:
        outcome = services.log_session(me.patient_id, log)
    except Conflict as exc:
        has = _server_has(services, me.patient_id, log)
        if isinstance(exc, Paused):
            message = str(exc)
        elif has.get("log_id") == log.id:
            message = "This session was saved before with other answers; the saved ones stay."
        else:
            message = (
                f"A session of {has.get('day_text', upload.day.isoformat())} is already saved, "
                "from another device or another start of the session; the saved one stays."
            )
        return JSONResponse(
            {"status": "conflict", "message": message, "server_has": has},
            409,
        )
    except ServiceError as exc:
        return JSONResponse({"status": "refused", "message": f"Not saved: {exc}"}, 400)
    _, _, date_format = services.display(me.patient_id)
    title, message = ALREADY_SAVED if outcome.duplicate else SAVED
    body: dict[str, Any] = {
        "status": "duplicate" if outcome.duplicate else "saved",
        "title": title,
        "message": message,
        "items": _decision_items(outcome.decisions, date_format),
    }
    if upload.ending == "pain" and not outcome.duplicate:
        body["title"] = _pain_stop_title(log.pain_after or 0)
        body["message"] = _pain_stop_message(services)
        body["flare_plan"] = pain_zones(services.rules.progression)[-1].meaning
    if upload.ending == "signs" and not outcome.duplicate:
        refer = next((d for d in outcome.decisions if d.kind == "refer"), None)
        body["paused"] = _referral_view(refer or services.referral(me.patient_id))
    return JSONResponse(body)


@router.post("/session/{index}", dependencies=[CsrfChecked])
def session_step(
    request: Request, index: int, me: MeDep, services: ServicesDep, form: FormDep
) -> Response:
    """One step of the player: start, answer this step and go on, or go back one."""
    if services.program(me.patient_id).state.referred:
        return _paused_page(request, services.referral(me.patient_id), status_code=409)
    draft, steps = _player_context(services, me, form)
    action = form.get("action")
    if action == "resume":  # a session left part-way: carry on where it stopped
        if len(draft.done) >= len(steps):
            return _review_page(request, services, me, draft, steps)
        step = steps[len(draft.done)]
        return _step_page(request, services, me, draft, step, len(steps), _step_defaults(step), {})
    if action == "start":
        draft = draft.model_copy(update={"done": ()})
        return _step_page(
            request, services, me, draft, steps[0], len(steps), _step_defaults(steps[0]), {}
        )
    if action == "back":
        if not draft.done:
            return _today_page(request, me, services, draft.day)
        previous = draft.done[-1]
        draft = draft.model_copy(update={"done": draft.done[:-1]})
        step = steps[previous.step]
        return _step_page(
            request, services, me, draft, step, len(steps), _step_defaults(step, previous.log), {}
        )
    if index != len(draft.done) or index >= len(steps):
        # A stale page (e.g. the browser's back button): carry on where the draft is.
        if len(draft.done) >= len(steps):
            return _review_page(request, services, me, draft, steps)
        step = steps[len(draft.done)]
        return _step_page(request, services, me, draft, step, len(steps), _step_defaults(step), {})
    step = steps[index]
    check = FormCheck(form)
    if action == "warning":
        signs = _read_signs(form, services)
        if not signs:
            return _step_page(
                request,
                services,
                me,
                draft,
                step,
                len(steps),
                _step_defaults(step),
                {"sign": "choose the sign you noticed, or carry on if there is none"},
                400,
            )
        return _stop_for_signs(request, services, me, draft, signs)
    if action == "leave_out":
        log = None
    else:
        log = _read_step(check, step)
        if log is None:
            return _step_page(
                request, services, me, draft, step, len(steps), check.values, check.errors, 400
            )
    p = services.rules.progression
    done = (*draft.done, DraftStep(step=index, log=log))
    if log is not None and log.max_pain >= p.flare_pain:
        return _stop_for_pain(request, services, me, draft.model_copy(update={"done": done}), log)
    notice = ""
    if log is not None and log.max_pain > p.pain_acceptable_max:
        # Too much: this exercise stops here, its other side too; the sets done are kept.
        following_index = index + 1
        while following_index < len(steps) and steps[following_index].slot is step.slot:
            done = (*done, DraftStep(step=following_index, log=None))
            following_index += 1
        notice = (
            f"You stopped {step.exercise.name.lower()} at pain {log.max_pain}: that is "
            f"too much for today, so it ends here. The sets you did are kept. "
            f"{_too_much_next_time(services, main=step.slot.part == 'main')}"
        )
    draft = draft.model_copy(update={"done": done})
    if len(done) < len(steps):
        following = steps[len(done)]
        return _step_page(
            request,
            services,
            me,
            draft,
            following,
            len(steps),
            _step_defaults(following),
            {},
            notice=notice,
        )
    return _review_page(request, services, me, draft, steps, notice=notice)


def _too_much_next_time(services: Services, *, main: bool) -> str:
    """What an exercise stopped for too much pain means for next time."""
    if main:
        fraction = services.rules.progression.regress_volume_fraction
        return (
            "Next time it steps back: an easier version, or about "
            f"{fraction:.0%} less work.".replace("%", " %")
        )
    return (
        "Next time, go gently with it; if it hurts this much again, leave it out "
        "and tell your clinician."
    )


def _stop_for_pain(
    request: Request, services: Services, me: Me, draft: Draft, log: ExerciseLog
) -> Response:
    """Pain in the flare-up zone: the session ends here, what was done is saved at once,
    and the flare-up plan is shown."""
    outcome = services.log_session(me.patient_id, _draft_session(draft, pain_after=log.max_pain))
    zone = pain_zones(services.rules.progression)[-1]
    return _result_page(
        request,
        services,
        me.patient_id,
        title=_pain_stop_title(log.max_pain),
        message=_pain_stop_message(services),
        decisions=outcome.decisions,
        flare_plan=zone.meaning,
        stopped=True,
        sent=draft.log_id,
    )


def _pain_stop_title(pain: int) -> str:
    return f"Stop here for today: pain {pain}"


def _pain_stop_message(services: Services, kept: str = "saved") -> str:
    zone = pain_zones(services.rules.progression)[-1]
    return (
        f"Pain of {zone.band} means the session ends now. What you did is {kept}. "
        "Rest the leg today; ordinary walking about is fine if it does not make it worse."
    )


def _draft_session(
    draft: Draft, *, pain_after: int | None = None, signs: tuple[str, ...] = ()
) -> SessionLog:
    """The session as stored, from the player's draft: the exercises done, with the pain
    right after it, or the warning signs that stopped it (a session stopped by a sign
    before any exercise is stored as skipped, with the signs)."""
    exercises = tuple(item.log for item in draft.done if item.log is not None)
    if signs and not exercises:
        return SessionLog(
            id=draft.log_id,
            date=draft.day,
            skipped=True,
            skip_reason="stopped for a warning sign",
            warning_signs=signs,
        )
    return SessionLog(
        id=draft.log_id,
        date=draft.day,
        exercises=exercises,
        pain_after=pain_after,
        warning_signs=signs,
    )


def _stop_for_signs(
    request: Request, services: Services, me: Me, draft: Draft, signs: tuple[str, ...]
) -> Response:
    """A warning sign during the session: stop, save what was done, and say what to do."""
    session = _draft_session(draft, signs=signs)
    outcome = services.log_session(me.patient_id, session)
    decision = next((d for d in outcome.decisions if d.kind == "refer"), None)
    if decision is None:
        decision = services.referral(me.patient_id)
    return _paused_page(request, decision, saved=not session.skipped, sent=draft.log_id)


def _paused_page(
    request: Request,
    decision: Decision | None,
    *,
    saved: bool = False,
    status_code: int = 200,
    day_text: str = "",
    sent: str = "",
    owner: str = "",
) -> Response:
    """The paused program's page; on Today (`owner` given) it also shows the sessions the
    device still keeps, which the server refuses while the program is paused."""
    return render(
        request,
        "person_paused.html",
        sent=sent,
        owner=owner,
        status_code=status_code,
        referral=_referral_view(decision),
        saved=saved,
        day_text=day_text,
    )


# ----- the morning check-in --------------------------------------------------------------

CHECKIN_LABELS = {
    "for_day": "Which morning",
    "pain": "Pain when you got up",
    "stiffness": "Stiffness when you got up",
    "signs": "Anything new",
}


def _settle_question(services: Services, patient_id: str) -> str:
    """The pathway's question on how the pain settled within the hour (kneecap pain, C11)."""
    program = _program_or_none(services, patient_id)
    check = services.rules.pathways[program.pathway].settle_check if program else None
    return check.question if check is not None else ""


@router.get("/checkin")
def checkin_page(request: Request, me: MeDep, services: ServicesDep) -> Response:
    if _program_or_none(services, me.patient_id) is None:
        return see("/me")
    return render(
        request,
        "person_checkin.html",
        values={},
        errors={},
        signs=_sign_choices(services),
        settle_question=_settle_question(services, me.patient_id),
    )


@router.post("/checkin", dependencies=[CsrfChecked])
def checkin_post(request: Request, me: MeDep, services: ServicesDep, form: FormDep) -> Response:
    if _program_or_none(services, me.patient_id) is None:
        return see("/me")
    check = FormCheck(form)
    pain = check.whole("pain", 0, 10)
    stiffness = check.whole("stiffness", 0, 10)
    signs_text = check.text("signs", most=1000)
    signs = tuple(line.strip() for line in signs_text.splitlines() if line.strip())
    chosen = _read_signs(form, services)
    check.values["sign"] = list(chosen)
    settle_question = _settle_question(services, me.patient_id)
    settled = (
        check.choice(
            "settled",
            {"yes": "yes", "no": "no", "not_sure": "not_sure"},
            "yes, no or not sure",
            required=False,
        )
        if settle_question
        else None
    )
    hour = check.whole("hour", 0, 23, required=False)
    check.errors.pop("hour", None)  # from the device's clock, not the person
    for_day = check.choice(
        "for_day", {"today": "today", "tomorrow": "tomorrow"}, "a morning", required=False
    )
    if hour is not None and hour >= 12 and for_day is None:
        check.fail("for_day", "say which morning this is about")
    if for_day == "tomorrow" and not check.errors:
        return _result_page(
            request,
            services,
            me.patient_id,
            title="Check in tomorrow morning",
            message="Nothing is saved now. Tomorrow, soon after you get up, answer the two "
            "questions: that is what tells the program how today settled overnight.",
            decisions=(),
        )
    if check.errors or pain is None or stiffness is None:
        return render(
            request,
            "person_checkin.html",
            signs=_sign_choices(services),
            settle_question=settle_question,
            status_code=400,
            values=check.values,
            errors=check.errors,
            labels=CHECKIN_LABELS,
        )
    try:
        checkin = CheckIn(
            date=_today(services),
            pain_on_waking=pain,
            stiffness_on_waking=stiffness,
            warning_signs=chosen,
            new_red_flags=signs,
            settled_within_hour=settled,
        )
        decisions = services.record_checkin(me.patient_id, checkin)
    except ValidationError:
        return render(
            request,
            "person_checkin.html",
            signs=_sign_choices(services),
            settle_question=settle_question,
            status_code=400,
            values=check.values,
            errors={
                "signs": f"at most {MAX_RED_FLAGS} lines of up to {MAX_RED_FLAG_CHARS} characters each"
            },
            labels=CHECKIN_LABELS,
        )
    except ServiceError as exc:
        return render(
            request,
            "person_checkin.html",
            signs=_sign_choices(services),
            settle_question=settle_question,
            status_code=409,
            values=check.values,
            errors={},
            error=str(exc)[:1].upper() + str(exc)[1:] + ".",
        )
    referral = next((d for d in decisions if d.kind == "refer"), None)
    if referral is not None:
        return _paused_page(request, referral)
    return _result_page(
        request,
        services,
        me.patient_id,
        title="Check-in saved",
        message="Thank you. Here is what it means for your program.",
        decisions=decisions,
        recheck=any(d.rule == "prompt.recheck" for d in decisions),
    )


# ----- progress, changes, learning -------------------------------------------------------


@router.get("/progress")
def progress_page(request: Request, me: MeDep, services: ServicesDep) -> Response:
    if _program_or_none(services, me.patient_id) is None:
        return see("/me")
    data = progress_data(services, me.patient_id, _today(services))
    _, _, date_format = services.display(me.patient_id)
    rules = services.rules
    tests = rules.assessment.tests
    drawn = charts.progress_charts(data, rules)
    lsi_rows = sorted(
        (
            (day, tests[t].person_label if t in tests else t, value)
            for t, points in data.lsi.items()
            for day, value in points
        ),
        key=lambda row: (row[0], row[1]),
    )
    program = services.program(me.patient_id)
    answered_again = {
        measure_id
        for _, kind, assessment, _ in services.assessments(me.patient_id, questionnaires=True)
        if kind != "initial"
        for measure_id in PERSON_MEASURES
        if getattr(assessment, measure_id, None)
    }
    outcomes = []
    for measure_id, first in program.outcome_baseline.items():
        latest = program.outcome_latest.get(measure_id)
        if measure_id == "nprs" or latest is None:
            continue
        measure = rules.questionnaires.measure(measure_id)
        try:
            verdict = interpret_change(measure, first, latest)
        except OutcomeError:
            continue
        outcomes.append(
            {
                "name": f"{measure.plain_name.capitalize()} ({measure.short_name})",
                "first": f"{first:g}",
                "latest": f"{latest:g}",
                "repeated": measure_id in answered_again,
                "verdict": verdict.plain,
                "tag": {"improved": "good", "worsened": "bad"}.get(verdict.change.value, "warn"),
                "word": {"improved": "Better", "worsened": "Worse"}.get(
                    verdict.change.value, "Too small to tell"
                ),
                "scale": f"{measure.scale.minimum:g}–{measure.scale.maximum:g}",
            }
        )
    return render(
        request,
        "person_progress.html",
        outcomes=outcomes,
        pain_chart=drawn.pain,
        lsi_chart=drawn.lsi,
        minutes_chart=drawn.minutes,
        adherence_chart=drawn.adherence,
        sessions=[(_date_text(d, date_format), p) for d, p in reversed(data.session_pain)],
        mornings=[(_date_text(d, date_format), p, s) for d, p, s in reversed(data.morning)],
        lsi_rows=[(_date_text(d, date_format), name, f"{v:.0f} %") for d, name, v in lsi_rows],
        weeks=_week_rows(data.adherence, data.weekly_minutes, date_format),
        phases=[(_date_text(day, date_format), _phase_words(phase)) for day, phase in data.phases],
    )


def _week_rows(
    adherence: Sequence[tuple[dt.date, int, int]],
    minutes: Sequence[tuple[dt.date, float]],
    date_format: str,
) -> list[tuple[str, str, str]]:
    """One row a week, newest first: sessions done of planned, and minutes of work."""
    done = {week: (d, p) for week, d, p in adherence}
    work = dict(minutes)
    rows = []
    for week in sorted(set(done) | set(work), reverse=True):
        count = f"{done[week][0]} of {done[week][1]}" if week in done else "—"
        rows.append((_date_text(week, date_format), count, f"{work.get(week, 0):.0f}"))
    return rows


def _phase_words(phase: str) -> str:
    try:
        known = Phase(phase)
    except ValueError:
        return phase
    return f"Phase {known.number}: {known.label.lower()}"


@router.get("/changes")
def changes_page(request: Request, me: MeDep, services: ServicesDep) -> Response:
    _, mass_unit, date_format = services.display(me.patient_id)
    decisions = services.decisions(me.patient_id)
    rules = services.rules.progression
    sessions = sum(
        1
        for event in services.history(me.patient_id)
        if isinstance(event, SessionLog) and not event.skipped
    )
    return render(
        request,
        "person_changes.html",
        items=list(
            reversed(
                _decision_items(
                    decisions,
                    date_format,
                    [e for e in services.history(me.patient_id) if isinstance(e, Override)],
                    services.rules_for(me.patient_id).library,
                    mass_unit,
                )
            )
        ),
        sessions=sessions,
        needed=rules.consecutive_sessions,
        pain_max=rules.pain_safe_max,
        effort_max=f"{rules.spare_effort_rpe_max:g}",
    )


class EducationCard(Frozen):
    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    title: str = Field(min_length=3, max_length=80)
    body: str

    @field_validator("body")
    @classmethod
    def _length(cls, value: str) -> str:
        words = len(value.split())
        if not 80 <= words <= 150:
            raise ValueError(f"a card needs 80 to 150 words, this one has {words}")
        return value


class Education(Frozen):
    version: str
    cards: tuple[EducationCard, ...] = Field(min_length=1)


@cache
def load_education() -> Education:
    """The education cards (knowledge/data/education.yaml), checked when loaded."""
    return load_model(Education, "education.yaml")


@router.get("/learn")
def learn_page(request: Request, me: MeDep) -> Response:
    return render(request, "person_learn.html", cards=load_education().cards)


@router.get("/data")
def data_page(request: Request, me: MeDep) -> Response:
    """Where the person downloads everything the app holds about them."""
    return render(request, "person_data.html")


@router.get("/export")
def export_mine(me: MeDep, services: ServicesDep, format: str = "json") -> Response:
    return export_download(services, me.patient_id, format)
