"""Questionnaires answered by the person on the web: at the start with the assessment and
again at a re-test, the change judged against the measure's MCID on the progress page."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from groundup.knowledge import load_rules
from groundup.services import Services
from groundup.storage.database import Database
from groundup.web.app import create_app
from test_web_person import TODAY, assessment_form, example, register, screen_form


@pytest.fixture
def services(tmp_path: Path) -> Services:
    return Services(Database(f"sqlite:///{tmp_path / 'w.db'}"), load_rules(), clock=lambda: TODAY)


@pytest.fixture
def client(services: Services) -> TestClient:
    return TestClient(create_app(services=services), follow_redirects=False)


def lefs(services: Services, value: int) -> dict[str, str]:
    measure = services.rules.questionnaires.measure("lefs")
    return {f"lefs.{item.id}": str(value) for item in measure.items}


def test_the_person_answers_lefs_at_the_start_and_a_retest_and_sees_the_change(
    client: TestClient, services: Services
) -> None:
    csrf = register(client)
    client.post("/me/screen", data=screen_form(example("clear-left-calf.yaml")["screen"], csrf))
    page = client.get("/me/assess").text
    assert "Leg function score (LEFS)" in page
    assert "0 = extreme difficulty or unable, 4 = no difficulty" in page
    response = client.post("/me/assess", data=assessment_form(csrf) | lefs(services, 2))
    assert response.status_code == 303, response.text
    patient_id = services.patients()[-1].id
    assert services.program(patient_id).outcome_baseline["lefs"] == 40

    before = client.get("/me/progress").text
    assert "Answer it again at your next re-test" in before

    retest = client.post("/me/retest", data=assessment_form(csrf) | lefs(services, 3))
    assert retest.status_code == 200, retest.text
    page = client.get("/me/progress").text
    mcid = services.rules.questionnaires.measure("lefs").mcid
    assert mcid is not None and mcid.value <= 60 - 40
    assert "from 40 to 60" in page
    assert "big enough to make a difference you can feel" in page
    assert "Better" in page


def test_a_change_smaller_than_it_takes_is_not_called_better(
    client: TestClient, services: Services
) -> None:
    csrf = register(client)
    client.post("/me/screen", data=screen_form(example("clear-left-calf.yaml")["screen"], csrf))
    start = lefs(services, 2)
    client.post("/me/assess", data=assessment_form(csrf) | start)
    small = dict(start)
    small["lefs.usual_activities"] = "4"  # +2 points, under the MCID of 9
    assert client.post("/me/retest", data=assessment_form(csrf) | small).status_code == 200
    page = client.get("/me/progress").text
    assert "Too small to tell" in page and "Better" not in page


def test_an_answer_outside_the_scale_comes_back_beside_the_question(
    client: TestClient, services: Services
) -> None:
    csrf = register(client)
    client.post("/me/screen", data=screen_form(example("clear-left-calf.yaml")["screen"], csrf))
    form = assessment_form(csrf) | {"lefs.usual_activities": "9"}
    response = client.post("/me/assess", data=form)
    assert response.status_code == 400
    assert "give a number from 0 to 4" in response.text
    assert services.assessments(services.patients()[-1].id) == []
