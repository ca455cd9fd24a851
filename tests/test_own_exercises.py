"""A clinician's own exercises and protocols: checked like the built-in data, versioned,
kept to their owner, and run by the planner and the engine like the built-in ones."""

from __future__ import annotations

import copy
import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from groundup.cli.files import read_document
from groundup.clinical.logs import CheckIn, ExerciseLog, SessionLog, SetLog
from groundup.services import Services
from groundup.services.library import Owner, Refused
from groundup.storage.models import OwnExercise, OwnExerciseUse, OwnTemplate
from test_services import intake

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
ME = Owner.clinician(1)
OTHER = Owner.clinician(2)


def own_exercise(**changes: Any) -> dict[str, Any]:
    data = read_document(EXAMPLES / "clinic" / "own-exercise.yaml")["exercises"][0]
    data = copy.deepcopy(data)
    data.update(changes)
    return dict(data)


def own_protocol(**changes: Any) -> dict[str, Any]:
    data = copy.deepcopy(read_document(EXAMPLES / "clinic" / "own-protocol.yaml")["templates"][0])
    data.update(changes)
    return dict(data)


def clinician(services: Services, email: str = "c@example.org") -> int:
    from groundup.services.accounts import Accounts

    return Accounts(services).create_user(email, "Dr Cee", "clinician", "a long enough secret").id


def count(services: Services, model: Any) -> int:
    with services.db.reading() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def test_an_own_exercise_is_saved_listed_edited_as_a_new_version_and_retired(
    services: Services,
) -> None:
    own = services.own
    [item] = own.save(ME, [own_exercise()], by_user_id=None, new=True)
    assert item.version == 1 and item.exercise.name == "Towel-roll calf raise hold"
    assert [i.exercise.id for i in own.items(ME)] == ["towel_calf_raise_hold"]
    assert own.items(OTHER) == []  # kept to its owner
    [edited] = own.save(ME, [own_exercise(name="Towel calf raise hold")], by_user_id=None)
    assert edited.version == 2
    assert own.version("towel_calf_raise_hold", 1).name == "Towel-roll calf raise hold"
    [same] = own.save(ME, [own_exercise(name="Towel calf raise hold")], by_user_id=None)
    assert same.version == 2, "saving it unchanged adds no version"
    assert own.retire(ME, "towel_calf_raise_hold").retired
    assert own.items(ME, retired=False) == []
    assert own.library(ME)["towel_calf_raise_hold"].name == "Towel calf raise hold"


@pytest.mark.parametrize(
    ("changes", "field", "words"),
    [
        ({"targets": [{"muscle": "biceps", "role": "prime_mover"}]}, "targets.0.muscle", "Input"),
        ({"phases": []}, "phases", "at least 1"),
        (
            {
                "dose": {
                    "sets": 3,
                    "amount": 30,
                    "range_low": 8,
                    "range_high": 15,
                    "rest_seconds": 60,
                }
            },
            "dose",
            "outside its range",
        ),
        (
            {
                "knob": {
                    "name": "towel",
                    "levels": ["a", "b"],
                    "default": "c",
                    "easier_how": "lower",
                    "harder_how": "higher",
                }
            },
            "knob",
            "not one of the levels",
        ),
        ({"tempo": None}, "", "needs a tempo"),
        ({"regression": "no_such_exercise"}, "regression", "unknown exercise"),
        ({"id": "tibialis_raise_wall"}, "id", "built-in"),
        ({"id": "Bad Id"}, "id", "pattern"),
        ({"colour": "red"}, "colour", "Extra inputs"),
    ],
)
def test_a_bad_exercise_is_refused_in_one_line_that_names_the_field(
    services: Services, changes: dict[str, Any], field: str, words: str
) -> None:
    with pytest.raises(Refused) as caught:
        services.own.save(ME, [own_exercise(**changes)], by_user_id=None)
    message = str(caught.value)
    assert "\n" not in message and words.lower() in message.lower(), message
    assert caught.value.field == field, message
    assert count(services, OwnExercise) == 0


def test_a_ladder_of_own_exercises_may_not_loop(services: Services) -> None:
    own = services.own
    own.save(ME, [own_exercise()], by_user_id=None)
    own.save(
        ME,
        [
            own_exercise(
                id="towel_calf_raise_one_leg",
                name="One-leg towel raise",
                regression="towel_calf_raise_hold",
            )
        ],
        by_user_id=None,
    )
    with pytest.raises(Refused) as caught:
        own.save(ME, [own_exercise(regression="towel_calf_raise_one_leg")], by_user_id=None)
    assert "loops" in str(caught.value) and caught.value.field == "regression"
    # Both in one file: the same check.
    with pytest.raises(Refused, match="loops"):
        own.check(
            OTHER,
            [
                own_exercise(id="a_one", regression="a_two"),
                own_exercise(id="a_two", regression="a_one"),
            ],
        )


def test_another_clinicians_exercises_are_not_theirs_to_link_or_take(services: Services) -> None:
    services.own.save(ME, [own_exercise()], by_user_id=None)
    with pytest.raises(Refused, match="taken by another clinician"):
        services.own.save(OTHER, [own_exercise()], by_user_id=None)
    with pytest.raises(Refused, match="unknown exercise"):
        services.own.save(
            OTHER,
            [own_exercise(id="mine_too", regression="towel_calf_raise_hold")],
            by_user_id=None,
        )


def test_a_protocol_must_name_exercises_that_exist(services: Services) -> None:
    with pytest.raises(Refused) as caught:
        services.own.save_protocols(ME, [own_protocol()], by_user_id=None)
    assert caught.value.field == "items.0.exercise_id"
    assert count(services, OwnTemplate) == 0
    with pytest.raises(Refused) as caught:
        services.own.save_protocols(ME, [own_protocol(key="ground_up")], by_user_id=None)
    assert caught.value.field in ("key", "items.0.exercise_id")


def _patient_on_own_protocol(services: Services) -> tuple[str, dt.date, int]:
    user_id = clinician(services)
    owner = Owner.clinician(user_id)
    services.own.save(owner, [own_exercise()], by_user_id=user_id)
    services.own.save_protocols(owner, [own_protocol()], by_user_id=user_id)
    data = intake()
    assert data.screen is not None and data.assessment is not None
    pid = services.enrol("Alex", clinician_id=user_id)
    start = dt.date.today() - dt.timedelta(days=13)
    services.record_screen(pid, data.screen, start)
    services.start_program(
        pid,
        data.assessment.model_copy(update={"date": start}),
        data.preferences,
        day=start,
        template="calf_return_own",
    )
    return pid, start, user_id


def test_the_planner_and_the_engine_run_an_own_exercise_like_a_built_in_one(
    services: Services,
) -> None:
    pid, start, _ = _patient_on_own_protocol(services)
    program = services.program(pid)
    slot = program.slot("towel_calf_raise_hold")
    assert slot is not None, [s.exercise_id for s in program.slots]
    assert slot.doses[0].sets == 3 and slot.doses[0].knob == "rolled towel"
    # Easy sessions at the top of the range: the engine moves the own exercise on.
    day = start
    logged = 0
    while logged < 4 and day <= dt.date.today():
        current = services.program(pid)
        if current.is_training_day(day):
            exercises = tuple(
                ExerciseLog(
                    exercise_id=s.exercise_id,
                    side=d.side,
                    sets=tuple(SetLog(amount=d.amount, rpe=3, pain=0) for _ in range(d.sets)),
                )
                for s in current.slots
                for d in s.doses
            )
            services.log_session(
                pid, SessionLog(id=f"own-{logged}-xx", date=day, exercises=exercises, pain_after=0)
            )
            if day + dt.timedelta(days=1) <= dt.date.today():
                services.record_checkin(
                    pid,
                    CheckIn(
                        date=day + dt.timedelta(days=1), pain_on_waking=0, stiffness_on_waking=0
                    ),
                )
            logged += 1
        day += dt.timedelta(days=1)
    after = services.program(pid).slot("towel_calf_raise_hold")
    assert after is not None
    assert (after.doses[0].amount, after.doses[0].knob) != (
        slot.doses[0].amount,
        slot.doses[0].knob,
    ), "the engine never progressed the own exercise"
    decisions = [d for d in services.decisions(pid) if d.exercise_id == "towel_calf_raise_hold"]
    assert any(d.kind == "progress" for d in decisions)


def test_a_program_keeps_the_version_it_was_given(services: Services) -> None:
    pid, _, user_id = _patient_on_own_protocol(services)
    with services.db.reading() as session:
        uses = session.execute(select(OwnExerciseUse.exercise_id, OwnExerciseUse.version)).all()
    assert [tuple(u) for u in uses] == [("towel_calf_raise_hold", 1)]
    services.own.save(
        Owner.clinician(user_id),
        [own_exercise(name="Renamed towel raise", cues=["A different cue entirely."])],
        by_user_id=user_id,
    )
    assert services.rules_for(pid).library["towel_calf_raise_hold"].name == (
        "Towel-roll calf raise hold"
    )
    # A new patient of the same clinician gets the newest version.
    other = services.enrol("Bea", clinician_id=user_id)
    assert services.rules_for(other).library["towel_calf_raise_hold"].name == "Renamed towel raise"
    # Someone with no clinician sees the built-in library only.
    alone = services.enrol("Cy")
    assert "towel_calf_raise_hold" not in services.rules_for(alone).library
    assert services.rules_for(alone) is services.rules


def test_the_handout_the_exports_and_the_calendar_carry_an_own_exercise(
    services: Services,
) -> None:
    import io
    import zipfile

    from PIL import Image

    from groundup.documents.handout import handout_html
    from groundup.interop.files import export_file
    from groundup.services.calendar import program_calendar
    from groundup.services.photos import check_photo

    pid, _, user_id = _patient_on_own_protocol(services)
    picture = io.BytesIO()
    Image.new("RGB", (50, 40), (200, 10, 10)).save(picture, format="PNG")
    services.own.set_photo(
        Owner.clinician(user_id), "towel_calf_raise_hold", check_photo(picture.getvalue())
    )
    html = handout_html(services, pid, dt.date.today())
    assert "Towel-roll calf raise hold" in html
    assert 'src="data:image/jpeg;base64,' in html
    tables = zipfile.ZipFile(io.BytesIO(export_file(services, pid, "csv").content))
    assert any("towel_calf_raise_hold" in tables.read(n).decode() for n in tables.namelist())
    fhir = export_file(services, pid, "fhir").content.decode()
    assert "Towel-roll calf raise hold" in fhir
    assert b"Towel-roll calf raise hold" in program_calendar(services, pid).replace(b"\r\n ", b"")


def test_a_persons_export_carries_their_own_exercises_and_imports_elsewhere(
    services: Services, tmp_path: Path
) -> None:
    import io

    from PIL import Image

    from groundup.knowledge import load_rules
    from groundup.services.photos import check_photo
    from groundup.storage.database import Database

    pid, _, user_id = _patient_on_own_protocol(services)
    picture = io.BytesIO()
    Image.new("RGB", (30, 30), (0, 120, 0)).save(picture, format="PNG")
    services.own.set_photo(
        Owner.clinician(user_id), "towel_calf_raise_hold", check_photo(picture.getvalue())
    )
    exported = services.export_person(pid)
    [carried] = exported["own_exercises"]
    assert [t["key"] for t in exported["own_templates"]] == ["calf_return_own"]
    assert carried["version"] == 1 and carried["exercise"]["id"] == "towel_calf_raise_hold"
    assert carried["photo"]
    # Another server, which has never heard of the clinician or the exercise.
    elsewhere = Database(f"sqlite:///{tmp_path / 'elsewhere.db'}")
    try:
        other = Services(elsewhere, load_rules(), actor="test")
        new_id = other.import_person(exported)
        rules = other.rules_for(new_id)
        assert rules.library["towel_calf_raise_hold"].name == "Towel-roll calf raise hold"
        assert "calf_return_own" in rules.templates.templates  # the engine reads its blocks
        key = other.own_photos(["towel_calf_raise_hold"])["towel_calf_raise_hold"]
        picture, _ = other.own.photo(key)
        # The person sees their exercise's photo; a clinician there does not own it.
        assert other.own.may_see_photo(picture, 99, "person", new_id)
        assert not other.own.may_see_photo(picture, 99, "person", "0" * 32)
        assert not other.own.may_see_photo(picture, 0, "clinician", None)
        [back] = other.export_person(new_id)["own_exercises"]
        assert back["exercise"] == carried["exercise"] and back["photo"]
    finally:
        elsewhere.dispose()
    # The same server, after deleting the person: the exercise is used as it is.
    services.delete_person(pid)
    again = services.import_person(exported)
    assert services.rules_for(again).library["towel_calf_raise_hold"].name == (
        "Towel-roll calf raise hold"
    )
    assert count(services, OwnExercise) == 1
