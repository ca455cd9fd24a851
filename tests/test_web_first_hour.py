"""The person's first hour on the web: "clear to start" after a screen that does not
refer, the results of the tests side by side, the whole program, and a look at the next
session on a rest day."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from groundup.clinical.wording import person_words
from groundup.knowledge import load_rules
from groundup.services import Services
from groundup.storage.database import Database
from groundup.web.app import create_app
from test_web_person import (
    TODAY,
    assessment_form,
    example,
    play_session,
    register,
    screen_form,
    start,
)


@pytest.fixture
def services(tmp_path: Path) -> Services:
    return Services(Database(f"sqlite:///{tmp_path / 'w.db'}"), load_rules(), clock=lambda: TODAY)


@pytest.fixture
def client(services: Services) -> TestClient:
    return TestClient(create_app(services=services), follow_redirects=False)


def test_a_clear_screen_says_so_before_the_tests(client: TestClient) -> None:
    csrf = register(client)
    response = client.post(
        "/me/screen", data=screen_form(example("clear-left-calf.yaml")["screen"], csrf)
    )
    assert response.headers["location"] == "/me/clear"
    page = client.get("/me/clear")
    assert page.status_code == 200
    assert "You are clear to start" in page.text
    assert 'href="/me/assess"' in page.text


def test_a_referring_screen_never_shows_clear_to_start(client: TestClient) -> None:
    csrf = register(client)
    client.post("/me/screen", data=screen_form({"fever": True, "hot_swollen_joint": True}, csrf))
    assert client.get("/me/clear").headers["location"] == "/me/referral"


def test_the_results_show_both_legs_and_what_the_program_does(
    client: TestClient, services: Services
) -> None:
    start(client, services)
    page = client.get("/me/results")
    assert page.status_code == 200
    text = page.text
    # The example's heel raises: 12 on the left, 25 on the right, a big gap.
    assert "12 reps" in text and "25 reps" in text
    assert "A big gap" in text
    assert "Your left leg did less (about 48 % of the other)" in text
    assert text.count('<svg class="bars"') == 6, "one picture per test"
    assert "What the program does about it" in text
    assert "The calf" in text and "Trained by:" in text
    assert "LSI" not in text and "None" not in text


def test_the_program_page_lists_every_exercise_with_dose_reason_and_drawing(
    client: TestClient, services: Services
) -> None:
    _, patient_id = start(client, services)
    program = services.program(patient_id)
    page = client.get("/me/program")
    assert page.status_code == 200
    cards = page.text.count('class="card exercise"')
    assert cards == len(program.slots)
    for slot in program.slots:
        # Each reason, in the person's words (no LSI, no Latin muscle names).
        reason = person_words(slot.reason, services.rules.assessment)
        assert reason.replace("'", "&#39;") in page.text or reason in page.text
    assert "LSI" not in page.text
    assert page.text.count("<svg") >= len(program.slots)
    assert "Left leg:" in page.text and "Right leg:" in page.text
    assert "Phase 1" in page.text and "Stage" not in page.text


def test_a_rest_day_shows_the_next_session(client: TestClient, services: Services) -> None:
    csrf = register(client)
    client.post("/me/screen", data=screen_form(example("clear-left-calf.yaml")["screen"], csrf))
    # Training on Mondays and Fridays only; the test's today is a Wednesday.
    form = assessment_form(csrf)
    form["days"] = ["0", "4"]
    assert client.post("/me/assess", data=form).status_code == 303
    today = client.get("/me").text
    assert "Rest day" in today
    found = re.search(r'href="/me/session\?day=([0-9-]+)"', today)
    assert found, "the rest day links to the next session"
    assert dt.date.fromisoformat(found.group(1)).weekday() == 4
    preview = client.get(f"/me/session?day={found.group(1)}")
    assert preview.status_code == 200
    assert "has not come yet" not in preview.text
    assert "Friday's session" in preview.text and "A look ahead" in preview.text
    assert "Start the session" not in preview.text
    # Logging that day is still refused until it comes.
    assert 'action="/me/session/0"' not in preview.text


def test_the_first_hour_pages_send_a_person_without_a_program_back(
    client: TestClient,
) -> None:
    register(client)
    assert client.get("/me/results").headers["location"] == "/me"
    assert client.get("/me/program").headers["location"] == "/me"
    assert client.get("/me/clear").headers["location"] == "/me/screen"


def test_after_a_first_session_the_changes_page_says_when_the_first_change_comes(
    client: TestClient, services: Services
) -> None:
    start(client, services)
    before = client.get("/me/changes").text
    assert "you have not logged a session" in before
    play_session(client)
    page = client.get("/me/changes").text
    assert "No changes yet" not in page
    assert "1 session logged" in page
    needed = services.rules.progression.consecutive_sessions
    assert f"The first step up comes after {needed} sessions in a row" in page
