"""Own exercises, photos and protocols through the API: the same checks as the pages."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from PIL import Image

from groundup.knowledge import load_rules
from groundup.services import Services
from groundup.storage.database import Database
from groundup.web.app import create_app
from test_own_exercises import own_exercise, own_protocol
from test_web_own_exercises import PASSWORD, png_claiming


class Api:
    def __init__(self, tmp: Path) -> None:
        self.database = Database(f"sqlite:///{tmp / 'api.db'}")
        self.services = Services(self.database, load_rules(), actor="test")
        self.app = create_app(services=self.services)
        accounts = self.app.state.accounts
        c = accounts.create_user("c@example.org", "Dr Cee", "clinician", PASSWORD)
        d = accounts.create_user("d@example.org", "Dr Dee", "clinician", PASSWORD)
        _, code = accounts.create_patient(c, "Pat")
        person = accounts.register_person("p@example.org", "Pat", PASSWORD, invite=code)
        self.tokens = {
            name: accounts.new_api_token(account, "test")
            for name, account in (("c", c), ("d", d), ("p", person))
        }
        self.client = TestClient(self.app, raise_server_exceptions=False)

    def call(self, who: str, method: str, path: str, **kwargs: Any) -> Any:
        headers = {"Authorization": f"Bearer {self.tokens[who]}", **kwargs.pop("headers", {})}
        return self.client.request(method, f"/api/v1{path}", headers=headers, **kwargs)


@pytest.fixture
def api(tmp_path: Path) -> Iterator[Api]:
    a = Api(tmp_path)
    yield a
    a.database.dispose()


def test_a_clinician_creates_edits_retires_and_photographs_an_exercise(api: Api) -> None:
    created = api.call("c", "POST", "/exercises", json=own_exercise())
    assert created.status_code == 201, created.text
    assert created.json()["version"] == 1 and created.json()["photo"] is None
    again = api.call("c", "POST", "/exercises", json=own_exercise())
    assert again.status_code == 409
    edited = api.call(
        "c", "PUT", "/exercises/towel_calf_raise_hold", json=own_exercise(name="Towel hold")
    )
    assert edited.status_code == 200 and edited.json()["version"] == 2
    wrong = api.call("c", "PUT", "/exercises/towel_calf_raise_hold", json=own_exercise(id="x_y"))
    assert wrong.status_code == 422
    out = io.BytesIO()
    Image.new("RGB", (40, 30), (1, 2, 3)).save(out, format="PNG")
    photo = api.call(
        "c",
        "PUT",
        "/exercises/towel_calf_raise_hold/photo",
        content=out.getvalue(),
        headers={"Content-Type": "image/png"},
    )
    assert photo.status_code == 200, photo.text
    address = photo.json()["photo"]
    assert address.startswith("/exercise-pictures/")
    served = api.client.get(address, headers={"Authorization": "x"})
    assert served.status_code == 404  # no session: not for anyone
    retired = api.call("c", "POST", "/exercises/towel_calf_raise_hold/retire", json={})
    assert retired.json()["retired"] is True
    listed = api.call("c", "GET", "/exercises/own").json()
    assert [i["exercise"]["id"] for i in listed["items"]] == ["towel_calf_raise_hold"]
    # The clinician's library has it next to the built-in ones; their patient's too.
    assert api.call("c", "GET", "/exercises/towel_calf_raise_hold").status_code == 200
    assert api.call("p", "GET", "/exercises/towel_calf_raise_hold").status_code == 200
    assert api.call("d", "GET", "/exercises/towel_calf_raise_hold").status_code == 404


@pytest.mark.parametrize(
    ("changes", "status", "field"),
    [
        ({"targets": [{"muscle": "biceps", "role": "prime_mover"}]}, 422, "targets.0.muscle"),
        ({"regression": "no_such_one"}, 422, "regression"),
        ({"id": "tibialis_raise_wall"}, 422, "id"),
        (
            {
                "dose": {
                    "sets": 3,
                    "amount": 99,
                    "range_low": 8,
                    "range_high": 15,
                    "rest_seconds": 60,
                }
            },
            422,
            "dose",
        ),
    ],
)
def test_a_bad_exercise_is_a_4xx_naming_the_field(
    api: Api, changes: dict[str, Any], status: int, field: str
) -> None:
    response = api.call("c", "POST", "/exercises", json=own_exercise(**changes))
    assert response.status_code == status, response.text
    body = response.json()
    assert field in body["error"] or field in " ".join(body.get("fields", []))
    assert api.call("c", "GET", "/exercises/own").json()["total"] == 0


def test_only_clinicians_write_own_exercises(api: Api) -> None:
    response = api.call("p", "POST", "/exercises", json=own_exercise())
    assert response.status_code == 403 and "only a clinician" in response.json()["error"]
    api.call("c", "POST", "/exercises", json=own_exercise())
    for method, path, body in (
        ("PUT", "/exercises/towel_calf_raise_hold", own_exercise(name="Mine now")),
        ("POST", "/exercises/towel_calf_raise_hold/retire", {}),
        ("DELETE", "/exercises/towel_calf_raise_hold/photo", None),
    ):
        response = api.call("d", method, path, json=body)
        assert response.status_code == 404, (method, path, response.text)
    assert api.call("c", "GET", "/exercises/own").json()["items"][0]["version"] == 1


@pytest.mark.parametrize(
    ("content", "status", "words"),
    [
        (b"<?php echo 1; ?>", 422, "not a JPEG"),
        (
            b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
            422,
            "not a JPEG",
        ),
        (png_claiming(100_000, 100_000), 422, "pixels"),
        (b"\xff\xd8\xff" + b"\0" * (9 * 1024 * 1024), 413, "larger than"),
    ],
)
def test_a_hostile_photo_is_refused_through_the_api(
    api: Api, content: bytes, status: int, words: str
) -> None:
    api.call("c", "POST", "/exercises", json=own_exercise())
    response = api.call(
        "c",
        "PUT",
        "/exercises/towel_calf_raise_hold/photo",
        content=content,
        headers={"Content-Type": "image/jpeg"},
    )
    assert response.status_code == status and words in response.json()["error"]
    assert api.call("c", "GET", "/exercises/own").json()["items"][0]["photo"] is None


def test_protocols_through_the_api_and_the_openapi_document(api: Api) -> None:
    missing = api.call("c", "POST", "/protocols", json=own_protocol())
    assert missing.status_code == 422 and "items.0.exercise_id" in missing.json()["error"]
    api.call("c", "POST", "/exercises", json=own_exercise())
    saved = api.call("c", "POST", "/protocols", json=own_protocol())
    assert saved.status_code == 201 and saved.json()["key"] == "calf_return_own"
    assert [p["key"] for p in api.call("c", "GET", "/protocols").json()] == ["calf_return_own"]
    assert api.call("d", "GET", "/protocols").json() == []
    paths = api.client.get("/api/v1/openapi.json").json()["paths"]
    for path in (
        "/api/v1/exercises/own",
        "/api/v1/exercises/{exercise_id}/photo",
        "/api/v1/protocols",
    ):
        assert path in paths, sorted(paths)


def test_a_protocol_in_three_phases_through_the_api(api: Api) -> None:
    from test_protocol_phases import three_phases

    bad = three_phases()
    bad["phases"][2]["items"][0]["exercise_id"] = "no_such_exercise"
    refused = api.call("c", "POST", "/protocols", json=bad)
    assert refused.status_code == 422
    assert "phases.2.items.0.exercise_id" in refused.json()["error"]
    saved = api.call("c", "POST", "/protocols", json=three_phases())
    assert saved.status_code == 201, saved.text
    phases = saved.json()["phases"]
    assert [p["name"] for p in phases] == ["Settle", "Load", "Build"]
    assert phases[0]["after_weeks"] == 2 and phases[2]["after_weeks"] is None
    assert phases[1]["milestones"] == ["low_load_pain_free", "low_load_min_sessions"]
    assert "single_leg_heel_raise" in saved.json()["exercises"]
