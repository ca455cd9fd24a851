"""The condition and the ready-made program, chosen where a person or a clinician makes the
plan in the web app; and the clinician sees which pathway a program follows."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from groundup.clinical.assessment import Condition
from groundup.knowledge import load_rules
from groundup.services import NotFound, Services
from groundup.services.accounts import Accounts
from groundup.storage.database import Database
from groundup.web.app import create_app
from test_web_clinician import post, sign_in, staff
from test_web_person import assessment_form, example, register, screen_form

TODAY = dt.date(2025, 3, 5)


@pytest.fixture
def services(tmp_path: Path) -> Services:
    return Services(Database(f"sqlite:///{tmp_path / 'p.db'}"), load_rules(), clock=lambda: TODAY)


@pytest.fixture
def client(services: Services) -> TestClient:
    return TestClient(create_app(services=services), follow_redirects=False)


def screened(client: TestClient) -> str:
    csrf = register(client)
    clear = example("clear-left-calf.yaml")["screen"]
    assert client.post("/me/screen", data=screen_form(clear, csrf)).status_code == 303
    return csrf


def test_the_person_form_lists_the_conditions_and_the_programs_with_what_they_suit(
    client: TestClient,
) -> None:
    screened(client)
    page = client.get("/me/assess").text
    for condition in Condition:
        assert f'value="{condition.value}"' in page
    assert "Made from my tests (recommended)" in page
    assert 'value="alfredson"' in page
    assert "For: Achilles tendon pain (mid-portion)" in page


def test_a_person_with_achilles_pain_can_choose_the_alfredson_programme(
    client: TestClient, services: Services
) -> None:
    csrf = screened(client)
    form = assessment_form(csrf, condition="midportion_achilles", program="alfredson")
    response = client.post("/me/assess", data=form)
    assert response.status_code == 303, response.text
    (person,) = services.patients()
    program = services.program(person.id)
    assert program.template == "alfredson"
    assert program.pathway is Condition.MIDPORTION_ACHILLES
    assert services.assessments(person.id)[0][2].condition is Condition.MIDPORTION_ACHILLES


def test_a_program_that_does_not_suit_the_condition_comes_back_beside_the_field(
    client: TestClient, services: Services
) -> None:
    csrf = screened(client)
    form = assessment_form(csrf, condition="patellofemoral_pain", program="alfredson")
    response = client.post("/me/assess", data=form)
    assert response.status_code == 400
    assert "does not suit “Pain around or behind the kneecap”" in response.text
    (person,) = services.patients()
    with pytest.raises(NotFound):
        services.program(person.id)


def test_the_tailored_plan_follows_the_condition_given_on_the_form(
    client: TestClient, services: Services
) -> None:
    csrf = screened(client)
    response = client.post(
        "/me/assess", data=assessment_form(csrf, condition="midportion_achilles")
    )
    assert response.status_code == 303, response.text
    (person,) = services.patients()
    program = services.program(person.id)
    assert program.template is None and program.pathway is Condition.MIDPORTION_ACHILLES
    assert program.slot("single_leg_heel_raise") is not None


def test_a_clinician_records_the_condition_and_a_template_and_sees_the_pathway(
    client: TestClient, services: Services
) -> None:
    staff(Accounts(services), "lee@clinic.test", "Dr Robin Lee")
    sign_in(client, "lee@clinic.test")
    created = post(client, "/clinic/new", "/clinic/new", {"name": "Nia Obi"})
    found = re.search(r"/clinic/patients/([0-9a-f]{32})/assess", created.text)  # type: ignore[attr-defined]
    assert found is not None
    pid = found.group(1)
    assess = f"/clinic/patients/{pid}/assess"
    post(client, assess, f"/clinic/patients/{pid}/screen", {})
    page = client.get(assess).text
    assert 'value="insertional_achilles"' in page and "Floor-level heel drops" in page
    started = post(
        client,
        assess,
        assess,
        {
            "date": (TODAY - dt.timedelta(days=2)).isoformat(),
            "age": "58",
            "sex": "male",
            "affected_side": "right",
            "condition": "insertional_achilles",
            "symptom_duration_weeks": "44",
            "pain.at_rest": "2",
            "pain.during_activity": "5",
            "pain.on_waking": "4",
            "pain.lingers_after_activity_hours": "3",
            "tests.heel_raise_reps.left": "22",
            "tests.heel_raise_reps.right": "14",
            "pref.equipment": ["none", "wall", "step"],
            "pref.minutes": "25",
            "pref.days": ["0", "2", "4"],
            "template": "floor_heel_drops",
        },
    )
    assert started.status_code == 303, started.text  # type: ignore[attr-defined]
    program = services.program(pid)
    assert program.template == "floor_heel_drops"
    assert program.pathway is Condition.INSERTIONAL_ACHILLES
    detail = client.get(f"/clinic/patients/{pid}").text
    assert "Insertional Achilles tendinopathy" in detail
    assert "Plan notes" in detail and "Jonsson" in detail


def test_after_surgery_the_person_form_asks_the_weight_allowed_and_the_plan_keeps_to_it(
    client: TestClient, services: Services
) -> None:
    """M5: the weight the surgeon allows is asked, and a boot keeps the plan off the feet."""
    csrf = screened(client)
    page = client.get("/me/assess").text
    assert 'name="weight_bearing"' in page and 'name="boot_or_cast"' in page
    form = assessment_form(csrf, condition="after_ankle_fracture_or_surgery")
    response = client.post("/me/assess", data=form)
    assert response.status_code == 400
    assert "say how much weight your surgeon allows on the leg" in response.text
    form = {**form, "weight_bearing": "partial", "boot_or_cast": "yes"}
    response = client.post("/me/assess", data=form)
    assert response.status_code == 303, response.text
    (person,) = services.patients()
    program = services.program(person.id)
    library = services.rules.library
    assert {library[s.exercise_id].position.value for s in program.slots} <= {
        "seated",
        "supine",
        "prone",
    }
