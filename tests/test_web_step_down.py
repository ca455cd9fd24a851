"""The person's own step-down test on the web: guidance on what to look for, each side's
signs recorded by the person, a clean step-down stored as one (so the gate that asks for
it can be passed without a clinician), and muddled answers shown beside the question."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from groundup.clinical.profile import build_profile
from groundup.knowledge import load_rules
from groundup.services import Services
from groundup.storage.database import Database
from groundup.web.app import create_app
from test_web_person import TODAY, assessment_form, start


@pytest.fixture
def services(tmp_path: Path) -> Services:
    return Services(Database(f"sqlite:///{tmp_path / 'w.db'}"), load_rules(), clock=lambda: TODAY)


@pytest.fixture
def client(services: Services) -> TestClient:
    return TestClient(create_app(services=services), follow_redirects=False)


def test_the_retest_page_shows_how_to_do_the_step_down(
    client: TestClient, services: Services
) -> None:
    start(client, services)
    page = client.get("/me/retest").text
    assert "The step-down" in page
    assert "film yourself" in page and "mirror" in page
    assert 'name="step_down.left" value="knee_valgus"' in page
    assert 'name="step_down.right" value="none"' in page


def test_a_clean_step_down_by_the_person_counts_as_observed_and_clean(
    client: TestClient, services: Services
) -> None:
    csrf, patient_id = start(client, services)
    form = assessment_form(csrf)
    form |= {"step_down.done": "yes", "step_down.left": ["none"], "step_down.right": ["none"]}
    response = client.post("/me/retest", data=form)
    assert response.status_code == 200, response.text
    _, kind, assessment, _ = services.assessments(patient_id)[-1]
    assert kind == "retest"
    assert assessment.observations.step_down is not None
    profile = build_profile(assessment, services.rules.assessment)
    assert profile.step_down_observed
    assert not [f for f in profile.findings if f.kind == "movement_fault"]
    # The program now holds it: the step-down gate of a later phase reads this profile.
    program = services.program(patient_id)
    assert program.profile.step_down_observed


def test_signs_the_person_saw_are_stored_as_movement_faults(
    client: TestClient, services: Services
) -> None:
    csrf, patient_id = start(client, services)
    form = assessment_form(csrf)
    form |= {
        "step_down.done": "yes",
        "step_down.left": ["knee_valgus", "pelvic_drop"],
        "step_down.right": ["none"],
    }
    assert client.post("/me/retest", data=form).status_code == 200
    assessment = services.assessments(patient_id)[-1][2]
    assert assessment.observations.step_down is not None
    assert set(assessment.observations.step_down.left) == {"knee_valgus", "pelvic_drop"}
    assert assessment.observations.step_down.right == ()
    profile = build_profile(assessment, services.rules.assessment)
    faults = [f for f in profile.findings if f.kind == "movement_fault"]
    assert {f.side.value for f in faults if f.side} == {"left"}


def test_muddled_step_down_answers_come_back_beside_the_question(
    client: TestClient, services: Services
) -> None:
    csrf, patient_id = start(client, services)
    form = assessment_form(csrf)
    form |= {"step_down.done": "yes", "step_down.left": ["none", "trunk_lean"]}
    response = client.post("/me/retest", data=form)
    assert response.status_code == 400
    assert "cannot go with a sign you saw" in response.text
    assert "tick what you saw" in response.text  # the right side was left empty
    assert [k for _, k, _, _ in services.assessments(patient_id)] == ["initial"]


def test_leaving_the_step_down_out_records_nothing_about_it(
    client: TestClient, services: Services
) -> None:
    csrf, patient_id = start(client, services)
    assert client.post("/me/retest", data=assessment_form(csrf)).status_code == 200
    assert services.assessments(patient_id)[-1][2].observations.step_down is None
