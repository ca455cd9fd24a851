"""The clinic API: my clinic, the caseload, moving a patient and handing a caseload over
(a clinic admin, inside the clinic only), sharing, and a library exported and imported.
Bad input is a 4xx with a JSON error, never a 500."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from groundup.cli.files import read_document
from groundup.knowledge import load_rules
from groundup.services import Services
from groundup.services.accounts import Account, Accounts
from groundup.services.library import Owner
from groundup.storage.database import Database
from groundup.web.app import create_app

PASSWORD = "a long enough secret"
EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


class Api:
    def __init__(self, tmp: Path) -> None:
        self.database = Database(f"sqlite:///{tmp / 'api.db'}")
        self.services = Services(self.database, load_rules(), actor="test")
        self.app = create_app(services=self.services)
        self.accounts: Accounts = self.app.state.accounts
        make = self.accounts.create_user
        self.ann = make("ann@example.org", "Ann Admin", "clinician", PASSWORD)
        self.bea = make("bea@example.org", "Bea Bell", "clinician", PASSWORD)
        self.dan = make("dan@example.org", "Dan South", "clinician", PASSWORD)
        self.eve = make("eve@example.org", "Eve New", "clinician", PASSWORD)
        clinics = self.services.clinics
        self.north = clinics.create("North clinic")
        self.south = clinics.create("South clinic")
        clinics.add_member(self.north.id, "ann@example.org", admin=True)
        clinics.add_member(self.north.id, "bea@example.org")
        clinics.add_member(self.south.id, "dan@example.org", admin=True)
        self.p1, _ = self.accounts.create_patient(self.bea, "Penny Northfield")
        self.q, _ = self.accounts.create_patient(self.dan, "Quentin Southby")
        self.client = TestClient(self.app, raise_server_exceptions=False)

    def call(self, who: Account, method: str, url: str, body: Any = None) -> Any:
        token = self.accounts.new_api_token(who, "t")
        return self.client.request(
            method, url, json=body, headers={"Authorization": f"Bearer {token}"}
        )


@pytest.fixture
def api(tmp_path: Path) -> Iterator[Api]:
    a = Api(tmp_path)
    yield a
    a.database.dispose()


def test_my_clinic_and_the_caseload(api: Api) -> None:
    mine = api.call(api.bea, "GET", "/api/v1/clinic").json()
    assert mine["clinic"]["name"] == "North clinic" and mine["clinic_admin"] is False
    assert {m["display_name"] for m in mine["members"]} == {"Ann Admin", "Bea Bell"}
    assert api.call(api.bea, "GET", "/api/v1/clinic/caseload").status_code == 403
    caseload = api.call(api.ann, "GET", "/api/v1/clinic/caseload").json()
    assert [(c["display_name"], c["clinicians"]) for c in caseload] == [
        ("Penny Northfield", [api.bea.id])
    ]
    alone = api.call(api.eve, "GET", "/api/v1/clinic")
    assert alone.status_code == 403 and alone.json()["error"]


def test_move_and_hand_over_stay_inside_the_clinic(api: Api) -> None:
    joined = api.call(api.ann, "POST", "/api/v1/clinic/members", {"email": "eve@example.org"})
    assert joined.status_code == 201 and joined.json()["display_name"] == "Eve New"
    moved = api.call(api.ann, "POST", f"/api/v1/clinic/patients/{api.p1}/move", {"to": api.eve.id})
    assert moved.status_code == 200 and moved.json()["clinicians"] == [api.eve.id]
    for who, url, body in (
        (api.ann, f"/api/v1/clinic/patients/{api.q}/move", {"to": api.eve.id}),
        (api.ann, f"/api/v1/clinic/patients/{api.p1}/move", {"to": api.dan.id}),
        (api.dan, f"/api/v1/clinic/patients/{api.p1}/move", {"to": api.dan.id}),
        (api.dan, f"/api/v1/clinic/members/{api.eve.id}/hand-over", {"to": api.dan.id}),
    ):
        answer = api.call(who, "POST", url, body)
        assert answer.status_code == 404, (url, answer.text)
        assert answer.json()["error"]
    handed = api.call(
        api.ann, "POST", f"/api/v1/clinic/members/{api.eve.id}/hand-over", {"to": api.bea.id}
    )
    assert handed.status_code == 200 and handed.json() == {"moved": 1}
    assert api.accounts.can_access(api.bea, api.p1)


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"to": "1"},
        {"to": 0},
        {"to": 99999999999},
        {"to": 1, "extra": True},
        {"to": 1, "keep": "yes"},
        [],
    ],
)
def test_bad_move_bodies_are_a_4xx_with_json(api: Api, body: Any) -> None:
    answer = api.call(api.ann, "POST", f"/api/v1/clinic/patients/{api.p1}/move", body)
    assert 400 <= answer.status_code < 500 and answer.json()["error"], answer.text


def test_share_export_and_import(api: Api) -> None:
    data = read_document(EXAMPLES / "clinic" / "own-exercise.yaml")["exercises"][0]
    api.services.own.save(Owner.clinician(api.bea.id), [data], by_user_id=api.bea.id)
    shared = api.call(api.bea, "POST", f"/api/v1/exercises/{data['id']}/share", {"shared": True})
    assert shared.status_code == 200, shared.text
    seen = api.call(api.ann, "GET", f"/api/v1/exercises/{data['id']}")
    assert seen.status_code == 200
    assert api.call(api.dan, "GET", f"/api/v1/exercises/{data['id']}").status_code == 404
    taken = api.call(api.dan, "POST", f"/api/v1/exercises/{data['id']}/share", {"shared": True})
    assert taken.status_code == 404
    document = api.call(api.ann, "GET", "/api/v1/clinic/library").json()
    assert [e["exercise"]["id"] for e in document["exercises"]] == [data["id"]]
    refused = api.call(api.bea, "POST", "/api/v1/clinic/library", document)
    assert refused.status_code == 403  # not an admin
    imported = api.call(api.dan, "POST", "/api/v1/clinic/library", document)
    assert imported.status_code == 200, imported.text
    assert imported.json()["renamed"] == {data["id"]: f"{data['id']}_2"}
    bad = api.call(
        api.dan, "POST", "/api/v1/clinic/library", {**document, "format": "something-else"}
    )
    assert bad.status_code == 422 and bad.json()["error"].startswith("format:")
    broken = dict(document)
    broken["exercises"] = [{"exercise": {**data, "id": "Not An Id"}}]
    answer = api.call(api.dan, "POST", "/api/v1/clinic/library", broken)
    assert answer.status_code == 422 and "exercises.0.exercise.id" in answer.json()["error"]


def test_the_site_admin_creates_clinics_and_adds_clinicians(api: Api) -> None:
    """The site admin's clinics through the API: listed with their clinicians, created with
    a first admin in one step (a refusal leaves no clinic), a clinician added; nobody else
    may, and bad input is a 4xx with a JSON error."""
    root = api.accounts.create_user("root@example.org", "Site Admin", "admin", PASSWORD)
    listed = api.call(root, "GET", "/api/v1/clinics").json()
    assert [c["clinic"]["name"] for c in listed] == ["North clinic", "South clinic"]
    assert {m["email"] for m in listed[0]["members"]} == {"ann@example.org", "bea@example.org"}
    for body, status in (
        ({"name": "East clinic", "admin_email": "bea@example.org"}, 409),
        ({"name": "East clinic", "admin_email": "nobody@example.org"}, 404),
        ({"name": "North clinic", "admin_email": "eve@example.org"}, 409),
        ({"name": "", "admin_email": "eve@example.org"}, 422),
        ({"name": "East clinic", "admin_email": "eve@example.org", "x": 1}, 422),
    ):
        refused = api.call(root, "POST", "/api/v1/clinics", body)
        assert refused.status_code == status, (body, refused.text)
        assert refused.headers["content-type"].startswith("application/json")
    assert len(api.services.clinics.all()) == 2
    made = api.call(
        root, "POST", "/api/v1/clinics", {"name": "East clinic", "admin_email": "eve@example.org"}
    )
    assert made.status_code == 201
    east = made.json()
    assert east["clinic"]["name"] == "East clinic"
    assert [(m["email"], m["clinic_admin"]) for m in east["members"]] == [("eve@example.org", True)]
    api.accounts.create_user("fay@example.org", "Fay Field", "clinician", PASSWORD)
    added = api.call(
        root,
        "POST",
        f"/api/v1/clinics/{east['clinic']['id']}/members",
        {"email": "fay@example.org"},
    )
    assert added.status_code == 201 and added.json()["clinic_admin"] is False
    assert (
        api.call(
            root, "POST", "/api/v1/clinics/9999/members", {"email": "fay@example.org"}
        ).status_code
        == 404
    )
    for who in (api.ann, api.bea):
        assert api.call(who, "GET", "/api/v1/clinics").status_code == 403
        assert (
            api.call(
                who, "POST", "/api/v1/clinics", {"name": "Mine", "admin_email": "bea@example.org"}
            ).status_code
            == 403
        )
    assert len(api.services.clinics.all()) == 3
