"""Clinics: members and clinic admins, a caseload moved and handed over inside one clinic
(never across), own exercises and protocols shared inside the clinic (never outside), and a
clinic's library exported and imported by another without overwriting anything."""

from __future__ import annotations

import copy
import io
import json
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from sqlalchemy import select

from groundup.cli.files import read_document
from groundup.services import Services
from groundup.services.accounts import Accounts, Forbidden
from groundup.services.library import Owner, Refused
from groundup.services.photos import check_photo
from groundup.services.workflow import Conflict, NotFound
from groundup.storage.models import ClinicianPatient, Patient, User

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
PASSWORD = "a long enough secret"


def own_exercise(**changes: Any) -> dict[str, Any]:
    data = copy.deepcopy(read_document(EXAMPLES / "clinic" / "own-exercise.yaml")["exercises"][0])
    data.update(changes)
    return dict(data)


def own_protocol(**changes: Any) -> dict[str, Any]:
    data = copy.deepcopy(read_document(EXAMPLES / "clinic" / "own-protocol.yaml")["templates"][0])
    data.update(changes)
    return dict(data)


class Two:
    """Clinic A: admin Ann, clinicians Bea and Cal. Clinic B: admin Dan."""

    def __init__(self, services: Services) -> None:
        self.services = services
        accounts = Accounts(services)
        clinics = services.clinics
        self.ann, self.bea, self.cal, self.dan = (
            accounts.create_user(f"{n}@example.org", n.title(), "clinician", PASSWORD)
            for n in ("ann", "bea", "cal", "dan")
        )
        self.a = clinics.create("North clinic")
        self.b = clinics.create("South clinic")
        clinics.add_member(self.a.id, "ann@example.org", admin=True)
        clinics.add_member(self.a.id, "bea@example.org")
        clinics.add_member(self.a.id, "cal@example.org")
        clinics.add_member(self.b.id, "dan@example.org", admin=True)
        self.p1, _ = accounts.create_patient(self.bea, "Pat One")
        self.p2, _ = accounts.create_patient(self.bea, "Pat Two")
        self.q, _ = accounts.create_patient(self.dan, "Quinn South")
        self.accounts = accounts

    def links(self, patient_id: str) -> set[int]:
        with self.services.db.reading() as session:
            return set(
                session.scalars(
                    select(ClinicianPatient.clinician_id).where(
                        ClinicianPatient.patient_id == patient_id
                    )
                )
            )


@pytest.fixture
def two(services: Services) -> Two:
    return Two(services)


def test_patients_belong_to_their_clinicians_clinic(two: Two) -> None:
    with two.services.db.reading() as session:
        assert session.get(Patient, two.p1).clinic_id == two.a.id  # type: ignore[union-attr]
        assert session.get(Patient, two.q).clinic_id == two.b.id  # type: ignore[union-attr]
    assert two.services.clinics.membership(two.ann.id) == (two.a, True)
    assert two.services.clinics.membership(two.bea.id) == (two.a, False)
    caseload = two.services.clinics.caseload(two.a.id)
    assert [(e.display_name, e.clinicians) for e in caseload] == [
        ("Pat One", ((two.bea.id, "Bea"),)),
        ("Pat Two", ((two.bea.id, "Bea"),)),
    ]
    # A clinician still sees only their own.
    assert two.accounts.can_access(two.bea, two.p1)
    assert not two.accounts.can_access(two.cal, two.p1)
    assert not two.accounts.can_access(two.ann, two.p1)  # the admin sees the list, not the record


def test_only_a_clinic_admin_moves_and_only_inside_the_clinic(two: Two) -> None:
    clinics = two.services.clinics
    with pytest.raises(Forbidden):
        clinics.move(two.bea, two.p1, two.cal.id)
    moved = clinics.move(two.ann, two.p1, two.cal.id)
    assert moved.clinicians == ((two.cal.id, "Cal"),)
    assert two.accounts.can_access(two.cal, two.p1) and not two.accounts.can_access(two.bea, two.p1)
    clinics.move(two.ann, two.p1, two.bea.id, keep=True)
    assert two.links(two.p1) == {two.bea.id, two.cal.id}
    # Never across clinics: their patient, their clinician, either way.
    with pytest.raises(NotFound):
        clinics.move(two.ann, two.q, two.bea.id)
    with pytest.raises(NotFound):
        clinics.move(two.ann, two.p1, two.dan.id)
    with pytest.raises(NotFound):
        clinics.move(two.dan, two.p1, two.dan.id)
    assert two.links(two.q) == {two.dan.id}


def test_hand_over_moves_the_whole_caseload_and_deactivates(two: Two) -> None:
    clinics = two.services.clinics
    own = two.services.own
    own.save(Owner.clinician(two.bea.id), [own_exercise()], by_user_id=two.bea.id)
    with pytest.raises(NotFound):
        clinics.hand_over(two.ann, two.bea.id, two.dan.id)  # not to another clinic
    with pytest.raises(NotFound):
        clinics.hand_over(two.dan, two.bea.id, two.dan.id)  # not by another clinic's admin
    assert clinics.hand_over(two.ann, two.bea.id, two.cal.id) == 2
    assert two.links(two.p1) == {two.cal.id} and two.links(two.p2) == {two.cal.id}
    with two.services.db.reading() as session:
        assert session.get(User, two.bea.id).active is False  # type: ignore[union-attr]
    # Bea's private exercise stays usable: it is the clinic's now.
    [item] = own.items(Owner.clinician(two.cal.id))
    assert item.owner == Owner.clinic(two.a.id)
    with pytest.raises(Conflict):
        clinics.move(two.ann, two.p1, two.bea.id)  # a deactivated clinician gets nobody


def test_shared_items_are_the_clinics_and_never_leave_it(two: Two) -> None:
    own = two.services.own
    bea, cal, dan = (Owner.clinician(u.id) for u in (two.bea, two.cal, two.dan))
    own.save(bea, [own_exercise()], by_user_id=two.bea.id)
    own.save_protocols(bea, [own_protocol()], by_user_id=two.bea.id)
    assert own.items(cal) == [] and own.protocols(cal) == []  # private, as before
    with pytest.raises(Refused, match="share its exercise"):
        own.share_protocol(bea, "calf_return_own")
    shared = own.share(bea, "towel_calf_raise_hold")
    assert shared.owner == Owner.clinic(two.a.id)
    own.share_protocol(bea, "calf_return_own")
    assert [i.exercise.id for i in own.items(cal)] == ["towel_calf_raise_hold"]
    assert [p.key for p in own.protocols(cal)] == ["calf_return_own"]
    assert own.items(dan) == [] and own.protocols(dan) == []
    assert "towel_calf_raise_hold" in own.library(cal)
    assert "towel_calf_raise_hold" not in own.library(dan)
    # Cal may edit it (it stays shared); Dan cannot even find it.
    [edited] = own.save(cal, [own_exercise(name="Towel hold, edited")], by_user_id=two.cal.id)
    assert edited.version == 2 and edited.owner == Owner.clinic(two.a.id)
    with pytest.raises(NotFound):
        own.item(dan, "towel_calf_raise_hold")
    with pytest.raises(Refused, match="taken"):
        own.save(dan, [own_exercise()], by_user_id=two.dan.id)
    # Only whoever wrote it (or a clinic admin) takes it back.
    with pytest.raises(Forbidden):
        own.share(cal, "towel_calf_raise_hold", shared=False)
    # Not while a shared protocol uses it: the refusal names the protocol.
    with pytest.raises(Conflict, match=r"Calf return, clinic version \(calf_return_own\)"):
        own.share(bea, "towel_calf_raise_hold", shared=False)
    assert own.share_protocol(bea, "calf_return_own", shared=False).owner == bea
    assert own.share(bea, "towel_calf_raise_hold", shared=False).owner == bea
    # The rules for a patient of the clinic include the clinic's shared protocol.
    rules = two.services.rules_for(two.p2)
    assert "calf_return_own" in rules.templates.templates
    assert "calf_return_own" not in two.services.rules_for(two.q).templates.templates


def _jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (24, 24), (200, 10, 10)).save(out, format="JPEG")
    return out.getvalue()


def test_export_then_import_into_another_clinic_renames_and_never_overwrites(two: Two) -> None:
    own = two.services.own
    clinics = two.services.clinics
    bea, dan = Owner.clinician(two.bea.id), Owner.clinician(two.dan.id)
    own.save(bea, [own_exercise()], by_user_id=two.bea.id)
    own.set_photo(bea, "towel_calf_raise_hold", check_photo(_jpeg()))
    own.save_protocols(bea, [own_protocol()], by_user_id=two.bea.id)
    own.share(bea, "towel_calf_raise_hold")
    own.share_protocol(bea, "calf_return_own")
    document = json.loads(json.dumps(clinics.export_library(two.bea)))
    assert [e["exercise"]["id"] for e in document["exercises"]] == ["towel_calf_raise_hold"]
    assert document["exercises"][0]["photo"]
    before = own.items(bea)
    with pytest.raises(Forbidden):
        clinics.import_library(two.cal, document)  # not an admin
    result = clinics.import_library(two.dan, document)
    assert result.renamed == {
        "towel_calf_raise_hold": "towel_calf_raise_hold_2",
        "calf_return_own": "calf_return_own_2",
    }
    assert own.items(bea) == before  # North's item untouched
    [copy_] = own.items(dan)
    assert copy_.exercise.id == "towel_calf_raise_hold_2" and copy_.picture
    assert copy_.owner == Owner.clinic(two.b.id)
    [protocol] = own.protocols(dan)
    assert protocol.template.items[0].exercise_id == "towel_calf_raise_hold_2"
    again = clinics.import_library(two.dan, json.loads(json.dumps(clinics.export_library(two.dan))))
    assert again.exercises == 0 and again.protocols == 0 and again.unchanged == 2


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ([], "a clinic library file is a JSON object"),
        ({"format": "other"}, "format: not a clinic library file"),
        ({"format": "groundup-clinic-library", "version": 9}, "version:"),
        (
            {"format": "groundup-clinic-library", "version": 1, "exercises": [{"exercise": {}}]},
            "exercises.0.exercise.",
        ),
        (
            {"format": "groundup-clinic-library", "version": 1, "protocols": [{"key": "Bad!"}]},
            "protocols.0.key:",
        ),
        (
            {
                "format": "groundup-clinic-library",
                "version": 1,
                "exercises": [{"exercise": own_exercise(), "photo": "bm90IGFuIGltYWdl"}],
            },
            "exercises.0.photo:",
        ),
    ],
)
def test_a_bad_library_file_is_refused_in_one_line(two: Two, document: Any, message: str) -> None:
    with pytest.raises(Refused) as caught:
        two.services.clinics.import_library(two.dan, document)
    assert message in str(caught.value) and "\n" not in str(caught.value)
    assert two.services.own.items(Owner.clinician(two.dan.id)) == []


def test_membership_is_one_clinic_and_one_admin_stays(two: Two) -> None:
    clinics = two.services.clinics
    with pytest.raises(Conflict, match="another clinic"):
        clinics.add_member(two.b.id, "bea@example.org")
    with pytest.raises(Conflict, match="at least one admin"):
        clinics.set_admin(two.a.id, "ann@example.org", False)
    with pytest.raises(Conflict):
        clinics.create("North clinic")
    clinics.set_admin(two.a.id, "cal@example.org", True)
    assert {m.display_name for m in clinics.members(two.a.id) if m.admin} == {"Ann", "Cal"}


def test_a_protocol_in_phases_is_shared_once_every_phases_exercises_are(two: Two) -> None:
    """Every phase's exercises count: a private own exercise in a later phase keeps the
    protocol private, and a shared one used there stays shared."""
    from test_protocol_phases import three_phases

    own = two.services.own
    bea = Owner.clinician(two.bea.id)
    own.save(bea, [own_exercise()], by_user_id=two.bea.id)
    raw = three_phases()
    raw["phases"][2]["items"][0]["exercise_id"] = "towel_calf_raise_hold"
    own.save_protocols(bea, [raw], by_user_id=two.bea.id)
    with pytest.raises(Refused, match="share its exercise 'towel_calf_raise_hold' first"):
        own.share_protocol(bea, "calf_three_phase")
    own.share(bea, "towel_calf_raise_hold")
    own.share_protocol(bea, "calf_three_phase")
    with pytest.raises(Conflict, match=r"\(calf_three_phase\)"):
        own.share(bea, "towel_calf_raise_hold", shared=False)
