"""A session logged on the device without a network, as the server sees it: Today carries
the whole session for the device (steps, pain rules, warning signs and their advice), and
/me/session/upload stores what the device sends through the player's own checks and
service call: once however often it is sent, a clash answered with what is already saved,
a stop for pain or for a warning sign stored as the player stores it."""

from __future__ import annotations

import html
import json
import re
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from groundup.clinical.logs import SessionLog
from groundup.knowledge import load_rules
from groundup.services import Services
from groundup.storage.database import Database
from groundup.web.app import create_app
from test_web_person import TODAY, start

RULES = load_rules()


@pytest.fixture
def services(tmp_path: Path) -> Services:
    return Services(Database(f"sqlite:///{tmp_path / 'w.db'}"), RULES, clock=lambda: TODAY)


@pytest.fixture
def client(services: Services) -> TestClient:
    return TestClient(create_app(services=services), follow_redirects=False)


@pytest.fixture
def begun(client: TestClient, services: Services) -> tuple[str, str, dict[str, Any]]:
    """A person with a program that has a session today: (csrf, patient id, the plan)."""
    csrf, patient_id = start(client, services)
    return csrf, patient_id, plan_of(client.get("/me").text)


def plan_of(page: str) -> dict[str, Any]:
    found = re.search(
        r'<script type="application/json" id="session-plan"[^>]*>(.*?)</script>', page
    )
    assert found, "Today carries no session for the device"
    plan: dict[str, Any] = json.loads(html.unescape(found.group(1)))
    return plan


def done_steps(plan: dict[str, Any], pain: int = 2) -> list[dict[str, Any]]:
    """Every step of the plan done as prescribed, with this pain, as the device keeps it."""
    done = []
    for index, step in enumerate(plan["steps"]):
        one: dict[str, Any] = {
            "amount": float(step["amount"]),
            "pain": pain,
            "rpe": 6,
            "form": "clean",
        }
        if step["load_kg"] is not None:
            one["load_kg"] = step["load_kg"]
        if step["knob"] is not None:
            one["knob"] = step["knob"]
        log: dict[str, Any] = {"exercise_id": step["exercise_id"], "sets": [one] * step["sets"]}
        if step["leg"]:
            log["side"] = step["leg"]
        done.append({"step": index, "log": log})
    return done


def send(client: TestClient, csrf: str, **session: Any) -> Any:
    return client.post("/me/session/upload", data={"csrf": csrf, "session": json.dumps(session)})


def kept(plan: dict[str, Any], log_id: str = "device-0001", **changes: Any) -> dict[str, Any]:
    return {
        "log_id": log_id,
        "day": plan["day"],
        "version": plan["version"],
        "done": done_steps(plan),
        "ending": "save",
        "pain_after": 1,
        "signs": [],
    } | changes


def sessions(services: Services, patient_id: str) -> list[SessionLog]:
    return [e for e in services.history(patient_id) if isinstance(e, SessionLog)]


def test_today_carries_the_whole_session_with_its_pain_rules_and_warning_signs(
    begun: tuple[str, str, dict[str, Any]],
) -> None:
    _, _, plan = begun
    assert plan["day"] == TODAY.isoformat()
    assert len(plan["steps"]) >= 4
    assert all(s["name"] and s["dose"] and s["cues"] for s in plan["steps"])
    p = RULES.progression
    assert plan["pain"]["stop_at"] == p.pain_acceptable_max + 1
    assert plan["pain"]["end_at"] == p.flare_pain
    assert "flare-up" in plan["pain"]["flare_plan"].lower()
    signs = {s["id"]: s for s in plan["signs"]}
    assert set(signs) == set(RULES.screening.checkin_signs)
    assert signs["calf_swollen_hot"]["emergency"] is True
    assert "emergency department" in signs["calf_swollen_hot"]["reason"]


def test_an_upload_is_stored_once_however_often_it_is_sent(
    client: TestClient, services: Services, begun: tuple[str, str, dict[str, Any]]
) -> None:
    csrf, patient_id, plan = begun
    first = send(client, csrf, **kept(plan))
    assert first.status_code == 200, first.text
    assert first.json()["status"] == "saved"
    assert first.json()["title"].startswith("Session saved")
    for _ in range(2):
        again = send(client, csrf, **kept(plan))
        assert again.status_code == 200 and again.json()["status"] == "duplicate"
    held = sessions(services, patient_id)
    assert [s.id for s in held] == ["device-0001"]
    assert len(held[0].exercises) == len(plan["steps"]) and held[0].pain_after == 1
    assert "This session is logged" in client.get("/me").text


def test_a_clash_is_answered_with_what_the_server_already_has(
    client: TestClient, services: Services, begun: tuple[str, str, dict[str, Any]]
) -> None:
    csrf, patient_id, plan = begun
    assert send(client, csrf, **kept(plan)).status_code == 200
    # The same id with other answers.
    other = send(client, csrf, **kept(plan, pain_after=4))
    assert other.status_code == 409
    assert other.json()["status"] == "conflict"
    assert "other answers" in other.json()["message"]
    assert "Pain right after the session: 1" in other.json()["server_has"]["lines"]
    # Another start of the same day, from another device.
    elsewhere = send(client, csrf, **kept(plan, log_id="device-0002"))
    assert elsewhere.status_code == 409
    assert "already saved" in elsewhere.json()["message"]
    assert elsewhere.json()["server_has"]["log_id"] == "device-0001"
    assert len(sessions(services, patient_id)) == 1


def test_a_stop_for_pain_or_a_sign_is_stored_as_the_player_stores_it(
    client: TestClient, services: Services, begun: tuple[str, str, dict[str, Any]]
) -> None:
    csrf, patient_id, plan = begun
    flare = RULES.progression.flare_pain
    two = done_steps(plan)[:2]
    # A stop for pain needs the last exercise to say that pain.
    refused = send(client, csrf, **kept(plan, done=two, ending="pain", pain_after=None))
    assert refused.status_code == 400 and refused.json()["status"] == "refused"
    two[-1]["log"]["sets"] = [dict(s, pain=flare) for s in two[-1]["log"]["sets"]]
    stopped = send(client, csrf, **kept(plan, done=two, ending="pain", pain_after=None))
    assert stopped.status_code == 200, stopped.text
    assert stopped.json()["title"] == f"Stop here for today: pain {flare}"
    assert stopped.json()["flare_plan"]
    assert "flare" in [item["kind"] for item in stopped.json()["items"]]
    assert sessions(services, patient_id)[0].pain_after == flare


def test_a_warning_sign_sent_later_pauses_the_program(
    client: TestClient, services: Services, begun: tuple[str, str, dict[str, Any]]
) -> None:
    csrf, patient_id, plan = begun
    signs = kept(plan, done=done_steps(plan)[:1], ending="signs", signs=["bone_spot"])
    response = send(client, csrf, **signs)
    assert response.status_code == 200, response.text
    assert response.json()["paused"]["text"]
    assert services.program(patient_id).state.referred
    assert sessions(services, patient_id)[0].warning_signs == ("bone_spot",)
    # Sent again (its answer lost on the way): stored once.
    assert send(client, csrf, **signs).json()["status"] == "duplicate"


def test_an_upload_without_the_form_token_is_refused(
    client: TestClient, services: Services, begun: tuple[str, str, dict[str, Any]]
) -> None:
    _, patient_id, plan = begun
    assert send(client, "wrong", **kept(plan)).status_code == 403
    assert sessions(services, patient_id) == []
