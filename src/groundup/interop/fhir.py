"""A person's record as a FHIR R4B Bundle, and back.

The bundle is of type "collection": a set of resources about one person gathered to move
or share, with no clinical attestation. A "document" would promise a signed Composition
that the resources narrate; groundup has no such authored document, so it does not claim one.

What the bundle holds:
- Patient: the name, and groundup's id as an identifier under `urn:groundup:patient`;
- CarePlan (only when the person has a program): the current program, one activity per
  exercise with its dose for each side and the training days;
- Observations: every pain score reported (coded LOINC 72514-3, with a local code saying
  which pain: during a session, an hour after, on waking, at an assessment), morning
  stiffness, every test result per side (laterality coded in SNOMED CT in `bodySite`), the
  limb symmetry index of each test done on both sides (in %, derived from the two sides)
  and each questionnaire's score;
- QuestionnaireResponses: LEFS, FAAM, VISA-A and PSFS answers, item by item;
- DocumentReference: the full groundup export (JSON, base64), because sessions set by set,
  decisions, overrides and program versions have no faithful FHIR form.

Importing needs that last resource: groundup restores the record from it and first checks
that the FHIR resources say the same as the record inside (a bundle edited after export is
refused). A bundle from another system has no groundup record, and groundup refuses it
with a clear message rather than make up a program from a few observations.

Standard codes are used only where verified (LOINC 72514-3; SNOMED CT 7771000 left,
24028007 right; UCUM units); everything else uses groundup's own code systems below.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import re
import uuid
from dataclasses import dataclass, fields
from decimal import Decimal
from typing import Any

from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.careplan import CarePlan
from fhir.resources.R4B.documentreference import DocumentReference
from fhir.resources.R4B.observation import Observation
from fhir.resources.R4B.patient import Patient
from fhir.resources.R4B.questionnaireresponse import QuestionnaireResponse
from fhir.resources.R4B.resource import Resource
from pydantic import ValidationError

from groundup.clinical.assessment import Assessment
from groundup.clinical.intake import score_questionnaires
from groundup.clinical.logs import CheckIn, SessionLog
from groundup.clinical.outcomes import OutcomeError
from groundup.clinical.profile import build_profile
from groundup.clinical.program import Program, Slot, dose_words
from groundup.clinical.rules import Rules
from groundup.clinical.vocabulary import Side
from groundup.knowledge import describe_validation_error
from groundup.services.export import ExportBundle
from groundup.services.workflow import ServiceError

LOINC = "http://loinc.org"
SNOMED = "http://snomed.info/sct"
UCUM = "http://unitsofmeasure.org"
OBSERVATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"

PATIENT_SYSTEM = "urn:groundup:patient"
# groundup's own code systems, for concepts that have no verified standard code.
CODES = "urn:groundup:codes"
TESTS = "urn:groundup:test"
EXERCISES = "urn:groundup:exercise"
QUESTIONNAIRE = "urn:groundup:questionnaire:"
RECORD_CODE = "groundup-record"
LSI_CODE = "limb-symmetry-index"

PAIN_LOINC = ("72514-3", "Pain severity - 0-10 verbal numeric rating [Score] - Reported")
LATERALITY = {
    Side.LEFT: ("7771000", "Left (qualifier value)"),
    Side.RIGHT: ("24028007", "Right (qualifier value)"),
}
SIDE_OF_CODE = {code: side for side, (code, _) in LATERALITY.items()}
# What each reported score is; the pain ones also carry the LOINC code.
SCORE_KINDS = {
    "session-pain": "Highest pain during the session (0-10)",
    "pain-after-session": "Pain an hour after the session (0-10)",
    "waking-pain": "Pain on waking (0-10)",
    "waking-stiffness": "Stiffness on waking (0-10)",
    "assessment-pain-rest": "Pain at rest at the assessment (0-10)",
    "assessment-pain-activity": "Pain during activity at the assessment (0-10)",
    "assessment-pain-waking": "Pain on waking at the assessment (0-10)",
}
UCUM_UNITS = {"reps": "{reps}", "cm": "cm", "s": "s", "%": "%", "percent": "%", "points": "{score}"}
WEEKDAY_CODES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
# A fixed namespace: the same record always gets the same entry URLs.
NAMESPACE = uuid.UUID("6f1c2a52-4a3e-5d0b-9a57-2f5a1de0c9b4")


class FhirError(ServiceError):
    """A FHIR file that cannot be used; the message says what is wrong, in one line."""


# ----- what the FHIR resources carry -------------------------------------------------------


@dataclass(frozen=True)
class Carried:
    """The part of a record that the FHIR resources express, in comparable form.

    Built from an export (`carried`) and read back from a bundle (`read_bundle`); the two
    agree for every bundle groundup writes, which is what an import checks.
    """

    patient_id: str
    name: str
    scores: tuple[tuple[dt.date, str, int], ...]  # date, kind, 0-10
    tests: tuple[tuple[dt.date, str, Side, float], ...]  # date, test, side, value
    lsi: tuple[tuple[dt.date, str, float], ...]  # date, test, %
    answers: tuple[tuple[dt.date, str, str, int | None], ...]  # date, measure, item, answer
    outcomes: tuple[tuple[dt.date, str, float], ...]  # date, measure, score
    plan: tuple[tuple[str, str], ...]  # exercise id, dose text

    def difference(self, other: Carried) -> str | None:
        """The first part on which two records disagree, in words; None when they agree."""
        words = {
            "patient_id": "the Patient's identifier",
            "name": "the Patient's name",
            "scores": "the pain and stiffness Observations",
            "tests": "the test result Observations",
            "lsi": "the limb symmetry Observations",
            "answers": "the QuestionnaireResponses",
            "outcomes": "the questionnaire score Observations",
            "plan": "the CarePlan",
        }
        for item in fields(self):
            if getattr(self, item.name) != getattr(other, item.name):
                return words[item.name]
        return None


def _assessments(export: ExportBundle) -> list[tuple[dt.date, Assessment]]:
    return [(date, assessment) for _, date, assessment in export.assessments()]


def _scores_of(export: ExportBundle) -> list[tuple[dt.date, str, int]]:
    scores: list[tuple[dt.date, str, int]] = []
    for date, assessment in _assessments(export):
        pain = assessment.pain
        scores += [
            (date, "assessment-pain-rest", pain.at_rest),
            (date, "assessment-pain-activity", pain.during_activity),
            (date, "assessment-pain-waking", pain.on_waking),
        ]
    for event in export.events:
        if isinstance(event, SessionLog) and not event.skipped:
            scores.append((event.date, "session-pain", event.max_pain))
            if event.pain_after is not None:
                scores.append((event.date, "pain-after-session", event.pain_after))
        elif isinstance(event, CheckIn):
            scores.append((event.date, "waking-pain", event.pain_on_waking))
            scores.append((event.date, "waking-stiffness", event.stiffness_on_waking))
    return scores


def _answers_of(
    date: dt.date, assessment: Assessment
) -> list[tuple[dt.date, str, str, int | None]]:
    answers: list[tuple[dt.date, str, str, int | None]] = []
    for measure_id in ("lefs", "faam_adl", "faam_sports", "visa_a"):
        given: dict[str, int | None] | None = getattr(assessment, measure_id)
        answers += [(date, measure_id, item, value) for item, value in (given or {}).items()]
    answers += [(date, "psfs", a.activity, a.score) for a in assessment.psfs]
    return answers


def _outcomes_of(
    date: dt.date, assessment: Assessment, rules: Rules
) -> list[tuple[dt.date, str, float]]:
    try:
        scored = score_questionnaires(assessment, rules.questionnaires)
    except OutcomeError:
        return []
    return [(date, k, s.value) for k, s in scored.items() if s.valid and s.value is not None]


def _dose_text(slot: Slot, rules: Rules) -> str:
    """The slot's dose for each side in words: 'left: 3 × 12 reps; right: 3 × 10 reps'."""
    exercise = rules.library.get(slot.exercise_id)
    parts = []
    for dose in slot.doses:
        words = (
            dose_words(dose, exercise.dose_type) if exercise else f"{dose.sets} × {dose.amount:g}"
        )
        if dose.load_kg:
            words += f" with {dose.load_kg:g} kg"
        parts.append(f"{dose.side.value if dose.side else 'both legs'}: {words}")
    return "; ".join(parts)


def _current_program(export: ExportBundle) -> Program | None:
    if not export.program_versions:
        return None
    return max(export.program_versions, key=lambda v: v.version).program


def carried(export: ExportBundle, rules: Rules) -> Carried:
    """What a bundle made from this export says, as plain values."""
    tests: list[tuple[dt.date, str, Side, float]] = []
    lsi: list[tuple[dt.date, str, float]] = []
    answers: list[tuple[dt.date, str, str, int | None]] = []
    outcomes: list[tuple[dt.date, str, float]] = []
    for date, assessment in _assessments(export):
        for test_id in type(assessment.tests).model_fields:
            result = assessment.tests.result(test_id)
            for side in (Side.LEFT, Side.RIGHT):
                value = None if result is None else result.value(side)
                if value is not None:
                    tests.append((date, test_id, side, float(value)))
        profile = build_profile(assessment, rules.assessment)
        lsi += [(date, c.test, c.lsi) for c in profile.comparisons if c.lsi is not None]
        answers += _answers_of(date, assessment)
        outcomes += _outcomes_of(date, assessment, rules)
    for date, assessment in export.questionnaires_alone():
        answers += _answers_of(date, assessment)
        outcomes += _outcomes_of(date, assessment, rules)
    program = _current_program(export)
    plan = [(s.exercise_id, _dose_text(s, rules)) for s in program.slots] if program else []
    return Carried(
        patient_id=export.person.id,
        name=export.person.display_name,
        scores=tuple(sorted(_scores_of(export))),
        tests=tuple(sorted(tests)),
        lsi=tuple(sorted(lsi)),
        answers=tuple(sorted(answers, key=_answer_key)),
        outcomes=tuple(sorted(outcomes)),
        plan=tuple(sorted(plan)),
    )


def _answer_key(answer: tuple[dt.date, str, str, int | None]) -> tuple[dt.date, str, str, int]:
    date, measure, item, value = answer
    return (date, measure, item, -1 if value is None else value)


# ----- writing -----------------------------------------------------------------------------


class _Writer:
    """Collects validated resources with stable entry URLs for one person."""

    def __init__(self, export: ExportBundle) -> None:
        self.patient_id = export.person.id
        self.entries: list[tuple[str, Resource]] = []

    def url(self, key: str) -> str:
        return f"urn:uuid:{uuid.uuid5(NAMESPACE, f'{self.patient_id}/{key}')}"

    def add(self, model: type[Resource], key: str, data: dict[str, Any]) -> str:
        """Validate one resource (the model refuses anything FHIR does not allow); its URL."""
        resource = model.model_validate({"id": key, **data})
        url = self.url(key)
        self.entries.append((url, resource))
        return url

    @property
    def subject(self) -> dict[str, str]:
        return {"reference": self.url("patient")}


def _category(code: str) -> list[dict[str, Any]]:
    return [{"coding": [{"system": OBSERVATION_CATEGORY, "code": code}]}]


def _quantity(value: float, unit: str) -> dict[str, Any]:
    number = Decimal(int(value)) if float(value).is_integer() else Decimal(str(value))
    quantity: dict[str, Any] = {"value": number, "unit": unit}
    if unit in UCUM_UNITS:
        quantity |= {"system": UCUM, "code": UCUM_UNITS[unit]}
    return quantity


def _score_observation(
    date: dt.date, kind: str, value: int, subject: dict[str, str]
) -> dict[str, Any]:
    coding = [{"system": CODES, "code": kind, "display": SCORE_KINDS[kind]}]
    if kind != "waking-stiffness":
        coding.insert(0, {"system": LOINC, "code": PAIN_LOINC[0], "display": PAIN_LOINC[1]})
    return {
        "status": "final",
        "category": _category("survey"),
        "code": {"coding": coding, "text": SCORE_KINDS[kind]},
        "subject": subject,
        "effectiveDateTime": date,
        "valueInteger": value,
    }


def _write_assessments(writer: _Writer, export: ExportBundle, rules: Rules) -> None:
    for n, (date, assessment) in enumerate(_assessments(export), 1):
        side_urls: dict[tuple[str, Side], str] = {}
        for test_id in type(assessment.tests).model_fields:
            result = assessment.tests.result(test_id)
            definition = rules.assessment.tests[test_id]
            for side in (Side.LEFT, Side.RIGHT):
                value = None if result is None else result.value(side)
                if value is None:
                    continue
                code, display = LATERALITY[side]
                side_urls[test_id, side] = writer.add(
                    Observation,
                    f"a{n}-{test_id.replace('_', '-')}-{side.value}",
                    {
                        "status": "final",
                        "category": _category("exam"),
                        "code": {
                            "coding": [
                                {"system": TESTS, "code": test_id, "display": definition.label}
                            ],
                            "text": definition.label,
                        },
                        "subject": writer.subject,
                        "effectiveDateTime": date,
                        "valueQuantity": _quantity(float(value), definition.unit),
                        "bodySite": {
                            "coding": [{"system": SNOMED, "code": code, "display": display}],
                            "text": f"{side.value} leg",
                        },
                    },
                )
        for comparison in build_profile(assessment, rules.assessment).comparisons:
            if comparison.lsi is None:
                continue
            writer.add(
                Observation,
                f"a{n}-lsi-{comparison.test.replace('_', '-')}",
                {
                    "status": "final",
                    "category": _category("exam"),
                    "code": {
                        "coding": [
                            {"system": CODES, "code": LSI_CODE, "display": "Limb symmetry index"}
                        ],
                        "text": f"Limb symmetry index: {comparison.label}",
                    },
                    "subject": writer.subject,
                    "effectiveDateTime": date,
                    "valueQuantity": _quantity(comparison.lsi, "%"),
                    "derivedFrom": [
                        {"reference": side_urls[comparison.test, side]}
                        for side in (Side.LEFT, Side.RIGHT)
                    ],
                },
            )
        _write_questionnaires(writer, f"a{n}", date, assessment, rules)
    # The questionnaires answered on their own, between the tests.
    for n, (date, assessment) in enumerate(export.questionnaires_alone(), 1):
        _write_questionnaires(writer, f"q{n}", date, assessment, rules)


def _write_questionnaires(
    writer: _Writer, prefix: str, date: dt.date, assessment: Assessment, rules: Rules
) -> None:
    scored = {m: v for _, m, v in _outcomes_of(date, assessment, rules)}
    by_measure: dict[str, list[dict[str, Any]]] = {}
    for _, measure_id, item_id, value in _answers_of(date, assessment):
        if measure_id == "psfs":
            text = item_id
            link = f"activity-{len(by_measure.get('psfs', [])) + 1}"
        else:
            link = item_id
            try:
                text = rules.questionnaires.measure(measure_id).item(item_id).paraphrase
            except OutcomeError:  # an item this version of groundup no longer asks
                text = item_id
        item: dict[str, Any] = {"linkId": link, "text": text}
        if value is not None:
            item["answer"] = [{"valueInteger": value}]
        by_measure.setdefault(measure_id, []).append(item)
    for measure_id, items in by_measure.items():
        measure = rules.questionnaires.measure(measure_id)
        response = writer.add(
            QuestionnaireResponse,
            f"{prefix}-{measure_id.replace('_', '-')}",
            {
                "questionnaire": QUESTIONNAIRE + measure_id,
                "status": "completed",
                "subject": writer.subject,
                "authored": date,
                "item": items,
            },
        )
        if measure_id not in scored:
            continue
        writer.add(
            Observation,
            f"{prefix}-{measure_id.replace('_', '-')}-score",
            {
                "status": "final",
                "category": _category("survey"),
                "code": {
                    "coding": [
                        {
                            "system": QUESTIONNAIRE.rstrip(":"),
                            "code": measure_id,
                            "display": measure.name,
                        }
                    ],
                    "text": f"{measure.short_name} score",
                },
                "subject": writer.subject,
                "effectiveDateTime": date,
                "valueQuantity": _quantity(scored[measure_id], measure.scale.unit),
                "derivedFrom": [{"reference": response}],
            },
        )


def _write_plan(writer: _Writer, program: Program, rules: Rules) -> None:
    activities = []
    for slot in program.slots:
        exercise = rules.library.get(slot.exercise_id)
        name = exercise.name if exercise else slot.exercise_id
        activities.append(
            {
                "detail": {
                    "code": {
                        "coding": [
                            {"system": EXERCISES, "code": slot.exercise_id, "display": name}
                        ],
                        "text": name,
                    },
                    "status": "in-progress",
                    "description": _dose_text(slot, rules),
                    "scheduledTiming": {
                        "repeat": {
                            "dayOfWeek": [WEEKDAY_CODES[d] for d in program.training_days],
                            "frequency": program.times_per_day,
                            "period": 1,
                            "periodUnit": "d",
                        }
                    },
                }
            }
        )
    phase = program.phase.value.replace("_", " ")
    writer.add(
        CarePlan,
        "careplan",
        {
            "status": "on-hold" if program.state.referred else "active",
            "intent": "plan",
            "title": f"Home strengthening program (version {program.version})",
            "description": f"Phase {program.phase.number} of 6: {phase}.",
            "subject": writer.subject,
            "period": {"start": program.start_date},
            "activity": activities,
        },
    )


def to_bundle(export: ExportBundle, rules: Rules) -> Bundle:
    """The person's record as a validated R4B collection Bundle."""
    writer = _Writer(export)
    writer.add(
        Patient,
        "patient",
        {
            "identifier": [{"system": PATIENT_SYSTEM, "value": export.person.id}],
            "active": True,
            "name": [{"text": export.person.display_name}],
        },
    )
    program = _current_program(export)
    if program is not None:
        _write_plan(writer, program, rules)
    for n, (date, kind, value) in enumerate(sorted(_scores_of(export)), 1):
        writer.add(Observation, f"score-{n}", _score_observation(date, kind, value, writer.subject))
    _write_assessments(writer, export, rules)
    record = json.dumps(export.model_dump(mode="json"), ensure_ascii=False).encode("utf-8")
    writer.add(
        DocumentReference,
        "record",
        {
            "status": "current",
            "type": {
                "coding": [{"system": CODES, "code": RECORD_CODE, "display": "groundup record"}],
                "text": "The full groundup record (JSON export)",
            },
            "subject": writer.subject,
            "description": (
                "Everything groundup holds about this person, including sessions set by set, "
                "decisions and program versions; groundup restores the person from it."
            ),
            "content": [
                {
                    "attachment": {
                        "contentType": "application/json",
                        "data": base64.b64encode(record).decode("ascii"),
                        "title": f"groundup-{export.person.id}.json",
                    }
                }
            ],
        },
    )
    return Bundle.model_validate(
        {
            "resourceType": "Bundle",
            "type": "collection",
            "entry": [{"fullUrl": url, "resource": resource} for url, resource in writer.entries],
        }
    )


def bundle_json(export: ExportBundle, rules: Rules) -> str:
    """The bundle as FHIR JSON, re-read once to be sure it parses as it was written."""
    text = to_bundle(export, rules).model_dump_json(exclude_none=True, indent=1)
    Bundle.model_validate_json(text)
    return text


# ----- reading -----------------------------------------------------------------------------


def _one_line(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def parse_bundle(data: Any) -> Bundle:
    """Validate plain JSON data as an R4B Bundle; FhirError naming the first problem."""
    if not isinstance(data, dict):
        raise FhirError("a FHIR file holds one JSON object; this one does not")
    kind = data.get("resourceType")
    if kind != "Bundle":
        raise FhirError(
            f"this FHIR file holds a {kind!r} resource, not a Bundle; "
            "import a Bundle exported with `groundup export --format fhir`"
        )
    try:
        return Bundle.model_validate(data)
    except ValidationError as exc:
        raise FhirError(
            _one_line(describe_validation_error(exc, "not a valid FHIR R4B Bundle: "))
        ) from exc


def _resources(bundle: Bundle, kind: type[Resource]) -> list[Any]:
    return [e.resource for e in bundle.entry or () if isinstance(e.resource, kind)]


def _coding(concept: Any, system: str) -> str | None:
    for coding in (concept.coding if concept else None) or ():
        if coding.system == system:
            return str(coding.code)
    return None


def _date(value: Any) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    raise FhirError(f"a resource has no usable date ({value!r})")


def _number(quantity: Any) -> float:
    if quantity is None or quantity.value is None:
        raise FhirError("an Observation has no value")
    return float(quantity.value)


def _patient(bundle: Bundle) -> Any:
    patients = _resources(bundle, Patient)
    if not patients:
        raise FhirError("the FHIR bundle has no Patient: there is no person to import")
    if len(patients) > 1:
        raise FhirError(
            f"the FHIR bundle has {len(patients)} Patients; import one person at a time"
        )
    return patients[0]


def read_bundle(bundle: Bundle) -> Carried:
    """What a bundle says about the person, read from its FHIR resources alone."""
    patient = _patient(bundle)
    ids = [i.value for i in patient.identifier or () if i.system == PATIENT_SYSTEM]
    names = [n.text for n in patient.name or () if n.text]
    by_url: dict[Any, Any] = {e.fullUrl: e.resource for e in bundle.entry or ()}
    scores, tests, lsi, outcomes = [], [], [], []
    for obs in _resources(bundle, Observation):
        date = _date(obs.effectiveDateTime)
        if (kind := _coding(obs.code, CODES)) in SCORE_KINDS:
            if obs.valueInteger is None:
                raise FhirError(f"a {kind} Observation has no whole-number value")
            scores.append((date, kind, int(obs.valueInteger)))
        elif kind == LSI_CODE:
            sources = [by_url.get(r.reference) for r in obs.derivedFrom or ()]
            test = next((_coding(s.code, TESTS) for s in sources if s is not None), None)
            lsi.append((date, str(test), _number(obs.valueQuantity)))
        elif (test_id := _coding(obs.code, TESTS)) is not None:
            side = SIDE_OF_CODE.get(_coding(obs.bodySite, SNOMED) or "")
            if side is None:
                raise FhirError(f"a {test_id} result has no side (left or right) in bodySite")
            tests.append((date, test_id, side, _number(obs.valueQuantity)))
        elif (measure := _coding(obs.code, QUESTIONNAIRE.rstrip(":"))) is not None:
            outcomes.append((date, measure, _number(obs.valueQuantity)))
    answers: list[tuple[dt.date, str, str, int | None]] = []
    for response in _resources(bundle, QuestionnaireResponse):
        measure_id = str(response.questionnaire or "").removeprefix(QUESTIONNAIRE)
        date = _date(response.authored)
        for item in response.item or ():
            value = item.answer[0].valueInteger if item.answer else None
            key = item.text if measure_id == "psfs" else item.linkId
            answers.append((date, measure_id, str(key), value))
    plans = _resources(bundle, CarePlan)
    plan = [
        (str(_coding(a.detail.code, EXERCISES)), str(a.detail.description))
        for p in plans
        for a in p.activity or ()
        if a.detail is not None
    ]
    return Carried(
        patient_id=ids[0] if ids else "",
        name=names[0] if names else "",
        scores=tuple(sorted(scores)),
        tests=tuple(sorted(tests)),
        lsi=tuple(sorted(lsi)),
        answers=tuple(sorted(answers, key=_answer_key)),
        outcomes=tuple(sorted(outcomes)),
        plan=tuple(sorted(plan)),
    )


def _embedded_record(bundle: Bundle) -> Any:
    documents = [
        d for d in _resources(bundle, DocumentReference) if _coding(d.type, CODES) == RECORD_CODE
    ]
    if not documents:
        raise FhirError(
            "this FHIR bundle holds no groundup record (it was not exported by groundup): "
            "a program and its session logs cannot be rebuilt from FHIR resources alone, "
            "so nothing was imported"
        )
    attachment = documents[0].content[0].attachment
    try:
        record = json.loads(bytes(attachment.data or b"").decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, binascii.Error) as exc:
        raise FhirError(f"the groundup record inside the FHIR bundle is damaged: {exc}") from exc
    except RecursionError:
        record = None  # deeper than any record: refused just below
    if record is None or _deeper_than(record, MAX_RECORD_NESTING):
        raise FhirError(
            f"the groundup record inside the FHIR bundle is nested more than "
            f"{MAX_RECORD_NESTING} levels deep, so it is not a groundup record"
        )
    return record


# A groundup record nests about a dozen levels; the embedded one is checked as a file is.
MAX_RECORD_NESTING = 50


def _deeper_than(data: Any, limit: int) -> bool:
    stack: list[tuple[Any, int]] = [(data, 0)]
    while stack:
        item, depth = stack.pop()
        if depth > limit:
            return True
        if isinstance(item, dict):
            stack.extend((v, depth + 1) for v in item.values())
        elif isinstance(item, list):
            stack.extend((v, depth + 1) for v in item)
    return False


def record_from_bundle(data: Any, rules: Rules) -> dict[str, Any]:
    """The groundup export inside a FHIR bundle, after checking that the bundle agrees with it.

    Raises FhirError, in one line, for anything that is not such a bundle."""
    bundle = parse_bundle(data)
    _patient(bundle)
    record = _embedded_record(bundle)
    said = read_bundle(bundle)
    try:
        export = ExportBundle.model_validate(record)
    except ValidationError as exc:
        raise FhirError(
            _one_line(describe_validation_error(exc, "the groundup record inside the bundle: "))
        ) from exc
    differs = carried(export, rules).difference(said)
    if differs is not None:
        raise FhirError(
            f"{differs} in the FHIR bundle do not match the groundup record inside it "
            "(the file was changed after export), so nothing was imported"
        )
    return export.model_dump(mode="json")
