"""The clinic's pages: the team and caseload for a clinic admin, moving a patient, handing a
caseload over, sharing an exercise, and a library exported by one clinic and imported by
another. Another clinic's admin reaches none of it."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from groundup.cli.files import read_document
from groundup.knowledge import load_rules
from groundup.services import Services
from groundup.services.accounts import Account, Accounts
from groundup.services.library import Owner
from groundup.storage.database import Database
from groundup.storage.models import ClinicianPatient, User
from groundup.web.app import create_app

PASSWORD = "a long enough secret"
EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


class Site:
    def __init__(self, tmp: Path) -> None:
        self.database = Database(f"sqlite:///{tmp / 'web.db'}")
        self.services = Services(self.database, load_rules(), actor="test")
        self.app = create_app(services=self.services)
        self.accounts: Accounts = self.app.state.accounts
        make = self.accounts.create_user
        self.ann = make("ann@example.org", "Ann Admin", "clinician", PASSWORD)
        self.bea = make("bea@example.org", "Bea Bell", "clinician", PASSWORD)
        self.cal = make("cal@example.org", "Cal Cole", "clinician", PASSWORD)
        self.dan = make("dan@example.org", "Dan South", "clinician", PASSWORD)
        clinics = self.services.clinics
        self.north = clinics.create("North clinic")
        self.south = clinics.create("South clinic")
        clinics.add_member(self.north.id, "ann@example.org", admin=True)
        clinics.add_member(self.north.id, "bea@example.org")
        clinics.add_member(self.north.id, "cal@example.org")
        clinics.add_member(self.south.id, "dan@example.org", admin=True)
        self.p1, _ = self.accounts.create_patient(self.bea, "Penny Northfield")
        self.q, _ = self.accounts.create_patient(self.dan, "Quentin Southby")

    def client(self, account: Account) -> tuple[TestClient, str]:
        client = TestClient(self.app, raise_server_exceptions=False, follow_redirects=False)
        cookie, csrf = self.accounts.start_session(account, second_factor=True)
        client.cookies.set("gu_session", cookie)
        return client, csrf

    def links(self, patient_id: str) -> set[int]:
        with self.database.reading() as session:
            return set(
                session.scalars(
                    select(ClinicianPatient.clinician_id).where(
                        ClinicianPatient.patient_id == patient_id
                    )
                )
            )


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Site]:
    s = Site(tmp_path)
    yield s
    s.database.dispose()


def test_the_clinic_admin_sees_the_caseload_and_moves_a_patient(site: Site) -> None:
    client, csrf = site.client(site.ann)
    page = client.get("/clinic/team")
    assert page.status_code == 200
    assert "Penny Northfield" in page.text and "Bea Bell" in page.text
    assert "Quentin Southby" not in page.text and "Dan South" not in page.text
    moved = client.post(
        f"/clinic/team/patients/{site.p1}/move", data={"csrf": csrf, "to": str(site.cal.id)}
    )
    assert moved.status_code == 303 and moved.headers["location"] == "/clinic/team?done=moved"
    assert site.links(site.p1) == {site.cal.id}
    # Not into another clinic, and not another clinic's patient: the same 404.
    across = client.post(
        f"/clinic/team/patients/{site.p1}/move", data={"csrf": csrf, "to": str(site.dan.id)}
    )
    theirs = client.post(
        f"/clinic/team/patients/{site.q}/move", data={"csrf": csrf, "to": str(site.cal.id)}
    )
    assert across.status_code == 404 and theirs.status_code == 404
    assert site.links(site.p1) == {site.cal.id} and site.links(site.q) == {site.dan.id}


def test_a_clinician_who_is_not_an_admin_sees_the_team_but_no_caseload(site: Site) -> None:
    client, csrf = site.client(site.cal)
    page = client.get("/clinic/team")
    assert page.status_code == 200 and "Bea Bell" in page.text
    assert "Penny Northfield" not in page.text and "Hand over" not in page.text
    refused = client.post(
        f"/clinic/team/patients/{site.p1}/move", data={"csrf": csrf, "to": str(site.cal.id)}
    )
    assert refused.status_code == 403
    assert site.links(site.p1) == {site.bea.id}


def test_hand_over_from_the_page(site: Site) -> None:
    client, csrf = site.client(site.ann)
    other, _ = site.client(site.dan)
    foreign = other.post(
        f"/clinic/team/members/{site.bea.id}/hand-over",
        data={"csrf": site.accounts.start_session(site.dan, second_factor=True)[1]},
    )
    assert foreign.status_code in (403, 404)
    done = client.post(
        f"/clinic/team/members/{site.bea.id}/hand-over", data={"csrf": csrf, "to": str(site.cal.id)}
    )
    assert done.status_code == 303
    assert site.links(site.p1) == {site.cal.id}
    with site.database.reading() as session:
        assert session.get(User, site.bea.id).active is False  # type: ignore[union-attr]
    page = client.get("/clinic/team?done=handed")
    assert "deactivated" in page.text


def test_sharing_an_exercise_and_a_library_between_clinics(site: Site) -> None:
    data = read_document(EXAMPLES / "clinic" / "own-exercise.yaml")["exercises"][0]
    site.services.own.save(Owner.clinician(site.bea.id), [data], by_user_id=site.bea.id)
    bea, bea_csrf = site.client(site.bea)
    listed = bea.get("/clinic/exercises")
    assert "Share with North clinic" in listed.text
    shared = bea.post(f"/clinic/exercises/{data['id']}/share", data={"csrf": bea_csrf})
    assert shared.status_code == 303
    cal, _ = site.client(site.cal)
    assert "Towel-roll calf raise hold" in cal.get("/clinic/exercises").text
    dan, dan_csrf = site.client(site.dan)
    assert "Towel-roll calf raise hold" not in dan.get("/clinic/exercises").text
    assert dan.get(f"/clinic/exercises/{data['id']}").status_code == 404
    exported = cal.get("/clinic/library.json")
    assert exported.status_code == 200
    document = exported.json()
    assert document["format"] == "groundup-clinic-library"
    imported = dan.post(
        "/clinic/library",
        data={"csrf": dan_csrf},
        files={"file": ("north.json", json.dumps(document).encode(), "application/json")},
    )
    # A redirect after the import (a reload does not send the file again); the notice
    # says what came in and what was renamed.
    assert imported.status_code == 303, imported.text
    assert imported.headers["location"].startswith("/clinic/team?done=imported")
    notice = dan.get(imported.headers["location"]).text
    assert re.search(r"towel_calf_raise_hold → towel_calf_raise_hold_2", notice)
    assert "Imported 1 exercises" in notice
    assert "Towel-roll calf raise hold" in dan.get("/clinic/exercises").text
    bad = dan.post(
        "/clinic/library",
        data={"csrf": dan_csrf},
        files={"file": ("x.json", b'{"format": "nope"}', "application/json")},
    )
    assert bad.status_code == 422 and "format: not a clinic library file" in bad.text


def test_the_site_admin_creates_a_clinic_with_its_first_admin_and_adds_a_clinician(
    site: Site,
) -> None:
    """The site admin's page lists the clinics with their members, creates a clinic with its
    first admin in one step (a refusal leaves no clinic behind), and adds a clinician who is
    in no clinic yet; a clinician of another clinic, or one that does not exist, is a 400
    that names the field."""
    admin = site.accounts.create_user("root@example.org", "Site Admin", "admin", PASSWORD)
    eve = site.accounts.create_user("eve@example.org", "Eve East", "clinician", PASSWORD)
    site.accounts.create_user("fay@example.org", "Fay Field", "clinician", PASSWORD)
    site.accounts.create_patient(eve, "Ola Eastwood")
    client, csrf = site.client(admin)
    page = client.get("/admin")
    assert page.status_code == 200
    assert "North clinic" in page.text and "Ann Admin" in page.text and "clinic admin" in page.text

    def create(name: str, admin_email: str) -> Any:
        return client.post(
            "/admin/clinics", data={"csrf": csrf, "clinic_name": name, "clinic_admin": admin_email}
        )

    for name, admin_email, why in (
        ("East clinic", "bea@example.org", "this clinician is in another clinic"),
        ("East clinic", "nobody@example.org", "no clinician with the e-mail"),
        ("North clinic", "eve@example.org", "already a clinic named"),
    ):
        refused = create(name, admin_email)
        assert refused.status_code == 400 and why in refused.text, (name, admin_email)
    assert [c.name for c in site.services.clinics.all()] == ["North clinic", "South clinic"]

    made = create("East clinic", "eve@example.org")
    assert made.status_code == 303 and made.headers["location"] == "/admin?done=clinic"
    east = site.services.clinics.by_name("East clinic")
    (member,) = site.services.clinics.members(east.id)
    assert member.email == "eve@example.org" and member.admin and member.patients == 1
    assert [e.display_name for e in site.services.clinics.caseload(east.id)] == ["Ola Eastwood"]

    added = client.post(
        f"/admin/clinics/{east.id}/members", data={"csrf": csrf, "email": "fay@example.org"}
    )
    assert added.status_code == 303
    assert {m.email: m.admin for m in site.services.clinics.members(east.id)} == {
        "eve@example.org": True,
        "fay@example.org": False,
    }
    again = client.post(
        f"/admin/clinics/{east.id}/members", data={"csrf": csrf, "email": "dan@example.org"}
    )
    assert again.status_code == 400 and "this clinician is in another clinic" in again.text
    assert (
        client.post(
            "/admin/clinics/9999/members", data={"csrf": csrf, "email": "fay@example.org"}
        ).status_code
        == 404
    )
    # Only the site admin: a clinic admin cannot create clinics.
    ann, ann_csrf = site.client(site.ann)
    assert ann.post(
        "/admin/clinics",
        data={"csrf": ann_csrf, "clinic_name": "Ann's own", "clinic_admin": "fay@example.org"},
    ).status_code in (403, 404)
    assert "Ann's own" not in [c.name for c in site.services.clinics.all()]
