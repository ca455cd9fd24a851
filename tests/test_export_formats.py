"""Exports for the person and their clinician: JSON that imports back whole, CSV tables
that match what is stored, and the downloads on the pages and in the API, each behind
the usual access checks."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
import zipfile
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from fhir.resources.R4B.bundle import Bundle
from sqlalchemy import func, select

from groundup.clinical.logs import CheckIn, SessionLog
from groundup.interop.files import export_file
from groundup.services import Services
from groundup.services.accounts import Accounts
from groundup.storage.models import (
    AssessmentRecord,
    CheckInRecord,
    DecisionRecord,
    ProgramVersion,
    SessionLogRecord,
)
from groundup.web.app import create_app
from test_fhir import cli, lived  # noqa: F401  (cli is a fixture)
from test_services import intake, started
from test_web_clinician import enter_code, staff

PASSWORD = "a long enough secret"


def tables(services: Services, pid: str) -> dict[str, list[dict[str, str]]]:
    content = export_file(services, pid, "csv").content
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        return {
            name: list(csv.DictReader(io.StringIO(archive.read(name).decode("utf-8"))))
            for name in archive.namelist()
        }


def count(services: Services, model: Any, pid: str) -> int:
    with services.db.transaction() as session:
        query = select(func.count()).select_from(model).where(model.patient_id == pid)
        return int(session.scalar(query) or 0)


def version_links(services: Services, pid: str) -> list[tuple[int, str, str | None]]:
    """Each program version with its cause and the rule of the decision that made it."""
    with services.db.transaction() as session:
        rows = session.execute(
            select(ProgramVersion.version, ProgramVersion.cause, DecisionRecord.rule)
            .outerjoin(DecisionRecord, ProgramVersion.decision_id == DecisionRecord.id)
            .where(ProgramVersion.patient_id == pid)
            .order_by(ProgramVersion.version)
        ).all()
        return [(v, c, r) for v, c, r in rows]


# ----- CSV ---------------------------------------------------------------------------------


def test_csv_tables_hold_as_many_rows_as_are_stored(services: Services) -> None:
    pid = lived(services)
    found = tables(services, pid)
    assert set(found) == {
        "person.csv",
        "screens.csv",
        "sessions.csv",
        "sets.csv",
        "checkins.csv",
        "assessments.csv",
        "tests.csv",
        "outcomes.csv",
        "program_versions.csv",
        "decisions.csv",
        "overrides.csv",
    }
    assert len(found["sessions.csv"]) == count(services, SessionLogRecord, pid) > 5
    logged = [e for e in services.history(pid) if isinstance(e, SessionLog)]
    assert len(found["sets.csv"]) == sum(len(x.sets) for s in logged for x in s.exercises) > 50
    assert len(found["checkins.csv"]) == count(services, CheckInRecord, pid)
    assert len(found["decisions.csv"]) == count(services, DecisionRecord, pid) > 0
    assert len(found["assessments.csv"]) == count(services, AssessmentRecord, pid) == 2
    assert len(found["tests.csv"]) == 12  # six tests at the assessment and at the retest
    assert len(found["overrides.csv"]) == 1
    versions = [services.program_version(pid, v) for v, *_ in services.program_versions(pid)]
    assert len(found["program_versions.csv"]) == sum(
        len(slot.doses) for p in versions for slot in p.slots
    )
    # The sets add up to what was logged, session by session.
    per_session: dict[str, int] = {}
    for row in found["sets.csv"]:
        per_session[row["session id"]] = per_session.get(row["session id"], 0) + 1
    for row in found["sessions.csv"]:
        assert int(row["sets"]) == per_session.get(row["session id"], 0)
    skipped = [r for r in found["sessions.csv"] if r["skipped"] == "yes"]
    assert len(skipped) == 1 and skipped[0]["why skipped"] == "a cold"


def test_csv_check_ins_carry_the_warning_signs_the_person_ticked(services: Services) -> None:
    pid, start = started(services)
    services.record_checkin(
        pid,
        CheckIn(
            date=start + dt.timedelta(days=1),
            pain_on_waking=2,
            stiffness_on_waking=1,
            warning_signs=("calf_swollen_hot",),
            new_red_flags=("calf feels tight after the bus",),
        ),
    )
    (row,) = tables(services, pid)["checkins.csv"]
    assert row["warning signs"] == "My calf has become swollen, warm, red or painful to touch"
    assert row["other signs in own words"] == "calf feels tight after the bus"
    assert all(r["warning signs"] == "" for r in tables(services, lived(services))["sessions.csv"])


def test_csv_headers_are_words_and_dates_are_iso(services: Services) -> None:
    pid = lived(services)
    found = tables(services, pid)
    assert list(found["sets.csv"][0])[:6] == [
        "session id",
        "date",
        "exercise id",
        "exercise",
        "side",
        "set",
    ]
    for name, rows in found.items():
        for row in rows:
            for header, value in row.items():
                assert "_" not in header, (name, header)
                if header in ("date", "phase started", "program start"):
                    dt.date.fromisoformat(value)
    heel = next(r for r in found["tests.csv"] if r["test id"] == "heel_raise_reps")
    assert (heel["left"], heel["right"], heel["limb symmetry (%)"], heel["weaker side"]) == (
        "12.0",
        "25.0",
        "48.0",
        "left",
    )


def test_a_person_without_a_program_exports_their_screen(services: Services) -> None:
    data = intake()
    assert data.screen is not None
    pid = services.enrol("Sam")
    services.record_screen(pid, data.screen, dt.date(2025, 3, 4))
    found = tables(services, pid)
    assert [r["outcome"] for r in found["screens.csv"]] == ["clear"]
    assert found["sessions.csv"] == [] and found["program_versions.csv"] == []
    exported = json.loads(export_file(services, pid, "json").content)
    assert exported["program_versions"] == [] and len(exported["screens"]) == 1
    services.delete_person(pid)
    services.import_person(exported)
    assert services.export_person(pid) == exported


# ----- JSON --------------------------------------------------------------------------------


def test_json_round_trip_keeps_what_made_each_version_and_the_retest_scores(
    services: Services,
) -> None:
    pid = lived(services)
    before = json.loads(export_file(services, pid, "json").content)
    links = version_links(services, pid)
    assert any(rule is not None for _, cause, rule in links if cause == "decision")
    assert any(rule == "override.pin_dose" for *_, rule in links)
    with services.db.transaction() as session:
        scores_before = session.scalars(
            select(AssessmentRecord.scores).where(AssessmentRecord.patient_id == pid)
        ).all()
    services.delete_person(pid)
    services.import_person(before)
    assert json.loads(export_file(services, pid, "json").content) == before
    assert version_links(services, pid) == links
    with services.db.transaction() as session:
        scores_after = session.scalars(
            select(AssessmentRecord.scores).where(AssessmentRecord.patient_id == pid)
        ).all()
    assert scores_after == scores_before and all(scores_after)


# ----- downloads on the pages and in the API ------------------------------------------------


def _web(tmp_path: Path) -> tuple[Services, Accounts, TestClient]:
    from groundup.knowledge import load_rules
    from groundup.storage.database import Database

    services = Services(Database(f"sqlite:///{tmp_path / 'w.db'}"), load_rules())
    app = create_app(services=services)
    return services, app.state.accounts, TestClient(app)


def _sign_in(client: TestClient, email: str) -> None:
    """Through the sign-in page: the password, then (for staff, who all have the tests'
    shared second factor here) the code."""
    page = client.get("/login").text
    token = re.search(r'name="csrf" value="([^"]+)"', page)
    assert token
    response = client.post(
        "/login",
        data={"csrf": token.group(1), "email": email, "password": PASSWORD},
        follow_redirects=False,
    )
    assert response.status_code == 303
    if response.headers["location"].startswith("/login/code"):
        enter_code(client, response.headers["location"], email)


def test_a_person_downloads_their_own_record_in_each_format(tmp_path: Path) -> None:
    services, accounts, client = _web(tmp_path)
    account = accounts.register_person("ann@home.test", "Ann", PASSWORD)
    pid = account.patient_id
    assert pid is not None
    data = intake()
    assert data.screen is not None and data.assessment is not None
    services.record_screen(pid, data.screen, data.assessment.date or dt.date(2025, 3, 4))
    services.start_program(pid, data.assessment, data.preferences, day=dt.date(2025, 3, 4))
    assert client.get("/me/export?format=json", follow_redirects=False).status_code in (
        302,
        303,
        401,
    )
    _sign_in(client, "ann@home.test")
    page = client.get("/me/data").text
    for fmt in ("json", "csv", "fhir"):
        assert f'href="/me/export?format={fmt}"' in page
    got = client.get("/me/export?format=json")
    assert got.status_code == 200 and got.headers["content-type"].startswith("application/json")
    assert f"groundup-{pid}.json" in got.headers["content-disposition"]
    assert got.json()["person"]["id"] == pid
    zipped = client.get("/me/export?format=csv")
    assert zipped.headers["content-type"] == "application/zip"
    assert "sets.csv" in zipfile.ZipFile(io.BytesIO(zipped.content)).namelist()
    bundle = client.get("/me/export?format=fhir")
    assert bundle.headers["content-type"].startswith("application/fhir+json")
    parsed = Bundle.model_validate_json(bundle.content)
    assert parsed.entry and parsed.entry[0].resource.identifier[0].value == pid
    assert client.get("/me/export?format=xml").status_code == 404
    services.db.dispose()


def test_a_clinician_downloads_only_their_own_patients(tmp_path: Path) -> None:
    services, accounts, client = _web(tmp_path)
    lee = staff(accounts, "lee@clinic.test", "Dr Lee", password=PASSWORD)
    kay = staff(accounts, "kay@clinic.test", "Dr Kay", password=PASSWORD)
    mine, _ = accounts.create_patient(lee, "Mine")
    theirs, _ = accounts.create_patient(kay, "Theirs")
    _sign_in(client, "lee@clinic.test")
    page = client.get(f"/clinic/patients/{mine}").text
    assert f"/clinic/patients/{mine}/export?format=fhir" in page
    for fmt in ("json", "csv", "fhir"):
        assert client.get(f"/clinic/patients/{mine}/export?format={fmt}").status_code == 200
        foreign = client.get(f"/clinic/patients/{theirs}/export?format={fmt}")
        assert foreign.status_code == 404
        assert "Theirs" not in foreign.text
    services.db.dispose()


def test_the_api_exports_each_format_and_refuses_others(tmp_path: Path) -> None:
    services, accounts, client = _web(tmp_path)
    lee = staff(accounts, "lee@clinic.test", "Dr Lee", password=PASSWORD)
    kay = staff(accounts, "kay@clinic.test", "Dr Kay", password=PASSWORD)
    mine, _ = accounts.create_patient(lee, "Mine")
    theirs, _ = accounts.create_patient(kay, "Theirs")
    headers = {"Authorization": f"Bearer {accounts.new_api_token(lee, 'test')}"}
    url = f"/api/v1/patients/{mine}/export"
    plain = client.get(url, headers=headers)
    assert plain.status_code == 200 and plain.json()["person"]["display_name"] == "Mine"
    assert client.get(url, headers=headers, params={"format": "json"}).json() == plain.json()
    assert client.get(url, headers=headers, params={"format": "csv"}).headers["content-type"] == (
        "application/zip"
    )
    fhir = client.get(url, headers=headers, params={"format": "fhir"})
    assert Bundle.model_validate_json(fhir.content).type == "collection"
    bad = client.get(url, headers=headers, params={"format": "xml"})
    assert bad.status_code == 422 and "format" in bad.json()["error"]
    foreign = client.get(f"/api/v1/patients/{theirs}/export", headers=headers)
    assert foreign.status_code == 404 and "error" in foreign.json()
    assert client.get(url).status_code == 401
    services.db.dispose()


# ----- the command line ---------------------------------------------------------------------


def test_the_command_line_exports_each_format_and_imports_json_back(
    cli: Any,  # noqa: F811  (the fixture imported above)
    tmp_path: Path,
) -> None:
    example = Path(__file__).resolve().parent.parent / "examples" / "clear-left-calf.yaml"
    assert cli("start", str(example), "--name", "Robin")[0] == 0
    paths = {fmt: tmp_path / f"me.{fmt}" for fmt in ("json", "csv", "fhir")}
    for fmt, path in paths.items():
        code, out, err = cli("export", "--format", fmt, "--out", str(path))
        assert code == 0, err
        assert f"Wrote {path}" in out
    code, out, _ = cli("export")
    assert code == 0 and json.loads(out) == json.loads(paths["json"].read_text("utf-8"))
    with zipfile.ZipFile(paths["csv"]) as archive:
        assert "program_versions.csv" in archive.namelist()
    Bundle.model_validate_json(paths["fhir"].read_text("utf-8"))
    code, _, err = cli("export", "--format", "xml")
    assert code == 2 and err.strip() == "groundup: --format 'xml': choose json, csv or fhir"
    assert cli("delete", "--yes")[0] == 0
    assert cli("import", str(paths["json"]))[0] == 0
    code, out, _ = cli("export")
    assert json.loads(out) == json.loads(paths["json"].read_text("utf-8"))
