"""The FHIR R4B export and import: what the bundle holds, that it validates with the FHIR
library, that it restores the person exactly, and that bad files are refused whole."""

from __future__ import annotations

import base64
import datetime as dt
import json
import os
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fhir.resources.R4B.bundle import Bundle

from groundup.cli import context, main
from groundup.clinical.assessment import HeelRaiseReps
from groundup.clinical.logs import CheckIn, Override, SessionLog
from groundup.config import get_settings
from groundup.interop import fhir
from groundup.interop.files import export_file, import_record
from groundup.knowledge import load_rules
from groundup.services import Services
from groundup.services.export import ExportBundle
from groundup.storage.database import Database
from test_services import _rows_about, first_session, intake, started

ROOT = Path(__file__).resolve().parent.parent
LEFT, RIGHT = "7771000", "24028007"


def lived(services: Services) -> str:
    """A person three weeks in: sessions (one skipped, some with pain an hour after),
    morning check-ins, a retest and a clinician's override."""
    pid, start = started(services)
    program = services.program(pid)
    days = [
        start + dt.timedelta(days=n)
        for n in range(21)
        if program.is_training_day(start + dt.timedelta(days=n))
    ]
    for n, day in enumerate(days):
        if n == 2:
            services.log_session(
                pid, SessionLog(id=f"skip-{n}", date=day, skipped=True, skip_reason="a cold")
            )
            continue
        log = first_session(services, pid, day, log_id=f"log-{n}", pain=n % 2)
        if n % 2:
            log = log.model_copy(update={"pain_after": 1 + n % 3})
        services.log_session(pid, log)
        services.record_checkin(
            pid,
            CheckIn(date=day + dt.timedelta(days=1), pain_on_waking=1, stiffness_on_waking=n % 3),
        )
        if n == 4:
            main = services.program(pid).part("main")[0]
            services.apply_override(
                pid,
                Override(
                    date=day,
                    by="Dr Lee",
                    reason="hold this dose a week",
                    action="pin_dose",
                    exercise_id=main.exercise_id,
                    amount=10,
                ),
            )
    retest = intake().assessment
    assert retest is not None
    better = retest.tests.model_copy(update={"heel_raise_reps": HeelRaiseReps(left=18, right=25)})
    services.record_retest(
        pid, retest.model_copy(update={"tests": better, "date": days[-1]}), days[-1]
    )
    return pid


@pytest.fixture
def local(tmp_path: Path) -> Iterator[Services]:
    """Services over a fresh SQLite file, for what does not depend on the database."""
    services = Services(Database(f"sqlite:///{tmp_path / 'f.db'}"), load_rules(), actor="test")
    yield services
    services.db.dispose()


def bundle_of(services: Services, pid: str) -> Bundle:
    text = export_file(services, pid, "fhir").content.decode("utf-8")
    return Bundle.model_validate_json(text)


def resources(bundle: Bundle, kind: str) -> list[Any]:
    return [e.resource for e in bundle.entry or () if e.resource.get_resource_type() == kind]


def codes(concept: Any) -> dict[str, str]:
    return {c.system: c.code for c in concept.coding or ()}


# ----- what the bundle holds --------------------------------------------------------------


def test_the_bundle_validates_and_holds_one_of_each_record_resource(local: Services) -> None:
    pid = lived(local)
    bundle = bundle_of(local, pid)
    assert bundle.type == "collection"
    kinds = Counter(e.resource.get_resource_type() for e in bundle.entry or ())
    assert kinds["Patient"] == kinds["CarePlan"] == kinds["DocumentReference"] == 1
    # Initial assessment and the retest each answered PSFS, LEFS and VISA-A.
    assert kinds["QuestionnaireResponse"] == 6
    urls = [e.fullUrl for e in bundle.entry or ()]
    assert len(set(urls)) == len(urls)
    patient = resources(bundle, "Patient")[0]
    assert [(i.system, i.value) for i in patient.identifier] == [("urn:groundup:patient", pid)]
    assert patient.name[0].text == "Alex"
    subject = next(e.fullUrl for e in bundle.entry or () if e.resource is patient)
    for kind in ("Observation", "CarePlan", "QuestionnaireResponse", "DocumentReference"):
        assert {r.subject.reference for r in resources(bundle, kind)} == {subject}


def test_one_pain_observation_per_pain_score_with_the_loinc_code(local: Services) -> None:
    pid = lived(local)
    history = local.history(pid)
    expected: list[tuple[dt.date, int]] = []
    for event in history:
        if isinstance(event, SessionLog) and not event.skipped:
            expected.append((event.date, max(s.pain for e in event.exercises for s in e.sets)))
            if event.pain_after is not None:
                expected.append((event.date, event.pain_after))
        elif isinstance(event, CheckIn):
            expected.append((event.date, event.pain_on_waking))
    for day, _, assessment, _ in local.assessments(pid):
        pain = assessment.pain
        expected += [(day, pain.at_rest), (day, pain.during_activity), (day, pain.on_waking)]
    pain = [
        o
        for o in resources(bundle_of(local, pid), "Observation")
        if codes(o.code).get("http://loinc.org") == "72514-3"
    ]
    assert sorted((o.effectiveDateTime, o.valueInteger) for o in pain) == sorted(expected)
    assert len(pain) == len(expected) > 20


def test_test_results_are_per_side_and_the_lsi_is_the_profiles(local: Services) -> None:
    pid = lived(local)
    bundle = bundle_of(local, pid)
    by_url = {e.fullUrl: e.resource for e in bundle.entry or ()}
    observations = resources(bundle, "Observation")
    tests = [o for o in observations if "urn:groundup:test" in codes(o.code)]
    lsi = [
        o for o in observations if codes(o.code).get("urn:groundup:codes") == "limb-symmetry-index"
    ]
    stored = local.assessments(pid)
    sides_tested = sum(
        (result.left is not None) + (result.right is not None)
        for _, _, a, _ in stored
        for name in type(a.tests).model_fields
        if (result := a.tests.result(name)) is not None
    )
    assert len(tests) == sides_tested == 24
    for o in tests:
        side = codes(o.bodySite)["http://snomed.info/sct"]
        assert side in (LEFT, RIGHT)
        test_id = codes(o.code)["urn:groundup:test"]
        day = o.effectiveDateTime
        result = next(a for d, _, a, _ in stored if d == day).tests.result(test_id)
        assert result is not None
        assert float(o.valueQuantity.value) == (result.left if side == LEFT else result.right)
    expected = sorted(
        (day, c["test"], c["lsi"])
        for day, _, _, profile in stored
        for c in profile["comparisons"]
        if c["lsi"] is not None
    )
    found = []
    for o in lsi:
        assert (o.valueQuantity.unit, o.valueQuantity.code) == ("%", "%")
        left, right = (by_url[r.reference] for r in o.derivedFrom)
        assert codes(left.code) == codes(right.code)
        assert [
            codes(left.bodySite)["http://snomed.info/sct"],
            codes(right.bodySite)["http://snomed.info/sct"],
        ] == [LEFT, RIGHT]
        found.append(
            (
                o.effectiveDateTime,
                codes(left.code)["urn:groundup:test"],
                float(o.valueQuantity.value),
            )
        )
    assert sorted(found) == expected
    heel = [v for _, test, v in found if test == "heel_raise_reps"]
    assert heel == [48.0, 72.0]  # 12 of 25 at the start, 18 of 25 at the retest


def test_questionnaire_responses_hold_every_item_answer(local: Services) -> None:
    pid = lived(local)
    assessment = local.assessments(pid)[0][2]
    assert assessment.lefs is not None
    responses = resources(bundle_of(local, pid), "QuestionnaireResponse")
    lefs = [r for r in responses if r.questionnaire == "urn:groundup:questionnaire:lefs"]
    assert len(lefs) == 2
    first = min(lefs, key=lambda r: r.authored)
    answers = {i.linkId: i.answer[0].valueInteger for i in first.item}
    assert answers == assessment.lefs and len(answers) == 20
    assert all(i.text for i in first.item)
    psfs = next(r for r in responses if r.questionnaire.endswith("psfs"))
    assert [(i.text, i.answer[0].valueInteger) for i in psfs.item] == [
        (a.activity, a.score) for a in assessment.psfs
    ]


def test_questionnaires_answered_alone_are_in_the_bundle_too(local: Services) -> None:
    """Questionnaires answered on their own (no tests) were in the JSON and CSV exports but
    not in the FHIR bundle: they are now a QuestionnaireResponse with its score, and the
    bundle still reads back to what the record carries."""
    pid = lived(local)
    day = local.assessments(pid)[-1][0]
    items = local.rules.questionnaires.measure("lefs").items
    local.record_questionnaires(pid, {"lefs": {i.id: 3 for i in items}}, day)
    bundle = bundle_of(local, pid)
    responses = [
        r
        for r in resources(bundle, "QuestionnaireResponse")
        if r.questionnaire == "urn:groundup:questionnaire:lefs"
    ]
    assert len(responses) == 3
    alone = [r for r in responses if r.id.startswith("q1-")]
    assert len(alone) == 1 and {i.answer[0].valueInteger for i in alone[0].item} == {3}
    scores = [
        o
        for o in resources(bundle, "Observation")
        if o.id.startswith("q1-lefs") and o.valueQuantity is not None
    ]
    assert [o.valueQuantity.value for o in scores] == [60]
    export = ExportBundle.model_validate(local.export_person(pid))
    said = fhir.read_bundle(bundle)
    assert said == fhir.carried(export, local.rules)
    assert (day, "lefs", 60.0) in said.outcomes


def test_the_care_plan_lists_each_exercise_with_its_dose_per_side(local: Services) -> None:
    pid = lived(local)
    program = local.program(pid)
    plan = resources(bundle_of(local, pid), "CarePlan")[0]
    assert (plan.status, plan.intent) == ("active", "plan")
    assert plan.period.start == program.start_date
    activities = {codes(a.detail.code)["urn:groundup:exercise"]: a.detail for a in plan.activity}
    assert list(activities) == [s.exercise_id for s in program.slots]
    for slot in program.slots:
        detail = activities[slot.exercise_id]
        for dose in slot.doses:
            side = dose.side.value if dose.side else "both legs"
            assert f"{side}: {dose.sets} × {dose.amount:g}" in detail.description
        assert detail.scheduledTiming.repeat.dayOfWeek == [
            ("mon", "tue", "wed", "thu", "fri", "sat", "sun")[d] for d in program.training_days
        ]


def test_a_person_without_a_program_exports_without_a_care_plan(local: Services) -> None:
    data = intake()
    assert data.screen is not None
    pid = local.enrol("Sam")
    local.record_screen(pid, data.screen, dt.date(2025, 3, 4))
    bundle = bundle_of(local, pid)
    kinds = Counter(e.resource.get_resource_type() for e in bundle.entry or ())
    assert kinds == Counter({"Patient": 1, "DocumentReference": 1})
    exported = local.export_person(pid)
    local.delete_person(pid)
    assert import_record(local, json.loads(bundle.model_dump_json(exclude_none=True))) == pid
    assert local.export_person(pid) == exported


# ----- the round trip ------------------------------------------------------------------------


def test_export_delete_import_fhir_restores_the_same_record(services: Services, database) -> None:  # type: ignore[no-untyped-def]
    pid = lived(services)
    before = services.export_person(pid)
    text = export_file(services, pid, "fhir").content
    services.delete_person(pid)
    assert _rows_about(database, pid) == 0
    assert import_record(services, json.loads(text)) == pid
    assert services.export_person(pid) == before
    assert export_file(services, pid, "fhir").content == text


def test_the_bundle_reads_back_to_what_the_record_carries(local: Services) -> None:
    pid = lived(local)
    export = ExportBundle.model_validate(local.export_person(pid))
    said = fhir.read_bundle(bundle_of(local, pid))
    assert said == fhir.carried(export, local.rules)
    assert said.patient_id == pid and len(said.plan) == len(local.program(pid).slots)


# ----- bad files ------------------------------------------------------------------------------


def _edited(bundle: dict[str, Any], change: Any) -> dict[str, Any]:
    copy = json.loads(json.dumps(bundle))
    change(copy)
    return copy


def _set_first_pain(bundle: dict[str, Any]) -> None:
    for entry in bundle["entry"]:
        coding = entry["resource"].get("code", {}).get("coding", [])
        if any(c.get("code") == "72514-3" for c in coding):
            entry["resource"]["valueInteger"] = 9 if entry["resource"]["valueInteger"] != 9 else 8
            return


def _record(bundle: dict[str, Any]) -> dict[str, Any]:
    return next(e for e in bundle["entry"] if e["resource"]["resourceType"] == "DocumentReference")


@pytest.fixture
def cli(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Iterator[Any]:
    """Run `groundup ...` in this process (as the console script does) on a fresh SQLite
    file; returns (exit code, stdout, stderr)."""
    monkeypatch.setenv("GROUNDUP_DATABASE_URL", f"sqlite:///{tmp_path / 'g.db'}")
    monkeypatch.setenv("GROUNDUP_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("COLUMNS", "200")
    # The consoles were made when the command modules were imported: one made while COLUMNS
    # was already set (as in a pytest-xdist worker, where it is 80) keeps that width for good,
    # so they are set to the same 200 columns here, or a long path wraps onto a second line.
    for console in (main.out, main.err):
        monkeypatch.setattr(console, "_width", 200)
    monkeypatch.delenv("GROUNDUP_DEBUG", raising=False)
    context.services.cache_clear()
    get_settings.cache_clear()

    def run(*args: str) -> tuple[int, str, str]:
        capsys.readouterr()
        monkeypatch.setattr(sys, "argv", ["groundup", *args])
        try:
            main.run()
            code = 0
        except SystemExit as exc:
            code = int(exc.code or 0)
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    yield run
    context.services().db.dispose()
    context.services.cache_clear()
    get_settings.cache_clear()


def test_bad_fhir_is_refused_with_one_line_and_stores_nothing(cli: Any, tmp_path: Path) -> None:
    assert cli("start", str(ROOT / "examples" / "clear-left-calf.yaml"), "--name", "Robin")[0] == 0
    good = tmp_path / "good.json"
    assert cli("export", "--format", "fhir", "--out", str(good))[0] == 0
    assert cli("delete", "--yes")[0] == 0
    text = good.read_text(encoding="utf-8")
    bundle = json.loads(text)

    def without(kind: str) -> dict[str, Any]:
        kept = [e for e in bundle["entry"] if e["resource"]["resourceType"] != kind]
        return bundle | {"entry": kept}

    damaged = _edited(
        bundle,
        lambda b: _record(b)["resource"]["content"][0]["attachment"].update(
            data=base64.b64encode(b"{not json").decode()
        ),
    )
    not_fhir = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [{"resource": {"resourceType": "Observation", "status": "final"}}],
    }
    cases = {
        "truncated.json": (text[: len(text) // 2], "not valid JSON"),
        "patient.json": (json.dumps({"resourceType": "Patient", "id": "x"}), "not a Bundle"),
        "invalid.json": (
            json.dumps(not_fhir),
            "not a valid FHIR R4B Bundle: entry.0.resource.code",
        ),
        "no-patient.json": (json.dumps(without("Patient")), "no Patient"),
        "foreign.json": (json.dumps(without("DocumentReference")), "holds no groundup record"),
        "damaged.json": (json.dumps(damaged), "is damaged"),
        "edited.json": (
            json.dumps(_edited(bundle, _set_first_pain)),
            "pain and stiffness Observations",
        ),
    }
    for name, (content, words) in cases.items():
        path = tmp_path / name
        path.write_text(content, encoding="utf-8")
        code, _, err = cli("import", str(path))
        assert code == 2, (name, err)
        lines = err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("groundup: "), (name, err)
        assert words in lines[0], (name, lines[0])
        assert json.loads(cli("people", "--json")[1]) == [], name
    assert cli("import", str(good))[0] == 0
    assert len(json.loads(cli("people", "--json")[1])) == 1


def test_the_installed_command_refuses_a_half_file_with_exit_2(tmp_path: Path) -> None:
    """The real console script, end to end, on a FHIR file cut off half-way."""
    env = {
        **os.environ,
        "GROUNDUP_DATABASE_URL": f"sqlite:///{tmp_path / 'g.db'}",
        "GROUNDUP_DATA_DIR": str(tmp_path),
    }
    env.pop("GROUNDUP_DEBUG", None)
    half = tmp_path / "half.json"
    half.write_text('{"resourceType": "Bundle", "type": "collection", "entry": [', encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "groundup", "import", str(half)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"groundup: {half}: not valid JSON at line 1: Expecting value"
    ]
