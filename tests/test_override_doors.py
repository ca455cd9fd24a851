"""One override check for every door: the pages, the API and the command line give the
same answer to the same override (`clinical.overrides` through `Services.check_override`)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from groundup.clinical.logs import Override
from groundup.clinical.overrides import override_problem
from groundup.knowledge import load_rules
from groundup.services import Services
from groundup.storage.database import Database
from groundup.storage.models import OverrideRecord
from groundup.web.app import create_app
from test_cli_e2e import run
from test_services import intake

PASSWORD = "a long enough secret"
RULES = load_rules()


class Doors:
    def __init__(self, home: Path) -> None:
        self.home = home
        self.database = Database(f"sqlite:///{home / 'g.db'}")
        self.services = Services(self.database, RULES, actor="test")
        self.app = create_app(services=self.services)
        accounts = self.app.state.accounts
        c = accounts.create_user("c@example.org", "Dr Cee", "clinician", PASSWORD)
        self.patient_id, _ = accounts.create_patient(c, "Pat")
        data = intake()
        assert data.screen is not None and data.assessment is not None
        start = dt.date.today() - dt.timedelta(days=3)
        self.services.record_screen(self.patient_id, data.screen, start)
        self.program = self.services.start_program(
            self.patient_id,
            data.assessment.model_copy(update={"date": start}),
            data.preferences,
            day=start,
        )
        self.token = accounts.new_api_token(c, "test")
        self.cookie, self.csrf = accounts.start_session(c, second_factor=True)
        self.client = TestClient(self.app, raise_server_exceptions=False, follow_redirects=False)

    def overrides(self) -> int:
        with self.database.reading() as session:
            return int(session.scalar(select(func.count()).select_from(OverrideRecord)) or 0)

    def web(self, **form: str) -> Any:
        self.client.cookies.set("gu_session", self.cookie)
        data = {"csrf": self.csrf, "reason": "checking the doors", **form}
        response = self.client.post(f"/clinic/patients/{self.patient_id}/program", data=data)
        self.client.cookies.clear()
        return response

    def api(self, **body: Any) -> Any:
        return self.client.post(
            f"/api/v1/patients/{self.patient_id}/overrides",
            json={"reason": "checking the doors", **body},
            headers={"Authorization": f"Bearer {self.token}"},
        )

    def cli(self, *args: str) -> Any:
        return run(
            self.home,
            "override",
            *args,
            "--reason",
            "checking the doors",
            "--by",
            "Dr Cee",
            "--person",
            self.patient_id,
        )


@pytest.fixture(scope="module")
def doors(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Doors]:
    d = Doors(tmp_path_factory.mktemp("doors"))
    yield d
    d.database.dispose()


# (what, web form, API body, command-line arguments, field, words)
REFUSED = [
    (
        "a level the knob does not have",
        {"action": "pin_dose", "exercise_id": "single_leg_heel_raise", "knob": "not-a-level"},
        {"action": "pin_dose", "exercise_id": "single_leg_heel_raise", "knob": "not-a-level"},
        ("pin_dose", "--exercise", "single_leg_heel_raise", "--knob", "not-a-level"),
        "knob",
        "one of: two hands, one hand, fingertips",
    ),
    (
        "a number outside the knob's range",
        {"action": "pin_dose", "exercise_id": "calf_raise_wall", "knob": "500"},
        {"action": "pin_dose", "exercise_id": "calf_raise_wall", "knob": 500},
        ("pin_dose", "--exercise", "calf_raise_wall", "--knob", "500"),
        "knob",
        "between 20 and 80",
    ),
    (
        "a knob on an exercise that has none",
        {"action": "pin_dose", "exercise_id": "bent_knee_calf_raise", "knob": "3"},
        {"action": "pin_dose", "exercise_id": "bent_knee_calf_raise", "knob": 3},
        ("pin_dose", "--exercise", "bent_knee_calf_raise", "--knob", "3"),
        "knob",
        "has no difficulty setting",
    ),
    (
        "one side of an exercise dosed for both legs",
        {"action": "pin_dose", "exercise_id": "calf_raise_wall", "side": "left", "sets": "2"},
        {"action": "pin_dose", "exercise_id": "calf_raise_wall", "side": "left", "sets": 2},
        ("pin_dose", "--exercise", "calf_raise_wall", "--side", "left", "--sets", "2"),
        "side",
        "dosed for both legs together",
    ),
    (
        "switching a safety rule off",
        {"action": "rule_off", "rule": "pain.stop"},
        {"action": "rule_off", "rule": "pain.stop"},
        ("rule_off", "--rule", "pain.stop"),
        "rule",
        "cannot be switched off",
    ),
    (
        "forcing the phase it is in",
        {"action": "force_phase", "phase": "low_load_resistance"},
        {"action": "force_phase", "phase": "low_load_resistance"},
        ("force_phase", "--phase", "low_load_resistance"),
        "phase",
        "already in",
    ),
    (
        "resuming what is not paused",
        {"action": "resume"},
        {"action": "resume"},
        ("resume",),
        "action",
        "nothing to resume",
    ),
    (
        "recording a check when none is pending (N4)",
        {"action": "check_clear"},
        {"action": "check_clear"},
        ("check_clear",),
        "action",
        "no check is pending",
    ),
    (
        "recording full weight when no weight-bearing limit is in force (P3)",
        {"action": "weight_bearing_full"},
        {"action": "weight_bearing_full"},
        ("weight_bearing_full",),
        "action",
        "no weight-bearing limit",
    ),
    (
        "swapping in an exercise of another phase",
        {"action": "swap_exercise", "swap": "tibialis_raise_wall:single_leg_deadlift"},
        {
            "action": "swap_exercise",
            "exercise_id": "tibialis_raise_wall",
            "replacement": "single_leg_deadlift",
        },
        ("swap", "--exercise", "tibialis_raise_wall", "--to", "single_leg_deadlift"),
        "replacement",
        "does not belong to low load resistance",
    ),
    (
        "removing the condition's key exercise without confirming",
        {"action": "remove_exercise", "exercise_id": "calf_raise_wall"},
        {"action": "remove_exercise", "exercise_id": "calf_raise_wall"},
        ("remove", "--exercise", "calf_raise_wall"),
        "confirm",
        "confirm removing it",
    ),
    (
        "adding an exercise already in the program",
        {"action": "add_exercise", "exercise_id": "calf_raise_wall"},
        {"action": "add_exercise", "exercise_id": "calf_raise_wall"},
        ("add", "--exercise", "calf_raise_wall"),
        "exercise_id",
        "is already in the program",
    ),
    (
        "undoing an edit never made",
        {"action": "undo_edit", "exercise_id": "tibialis_raise_wall"},
        {"action": "undo_edit", "exercise_id": "tibialis_raise_wall"},
        ("undo", "--exercise", "tibialis_raise_wall"),
        "exercise_id",
        "to undo",
    ),
]


@pytest.mark.parametrize(
    ("what", "form", "body", "args", "field", "words"), REFUSED, ids=[r[0] for r in REFUSED]
)
def test_every_door_refuses_the_same_override_the_same_way(
    doors: Doors,
    what: str,
    form: dict[str, str],
    body: dict[str, Any],
    args: tuple[str, ...],
    field: str,
    words: str,
) -> None:
    before = doors.overrides()
    web = doors.web(**form)
    assert web.status_code == 400, (what, web.status_code)
    assert words in web.text, what
    api = doors.api(**body)
    assert api.status_code == 400, (what, api.text)
    assert words in api.json()["error"] and field in api.json()["error"], api.text
    cli = doors.cli(*args)
    assert cli.returncode == 2, (what, cli.stdout)
    line = cli.stderr.strip()
    assert "\n" not in line and words in line, (what, line)
    assert doors.overrides() == before, f"{what}: an override was stored"


def test_every_door_takes_a_good_pin(doors: Doors) -> None:
    before = doors.overrides()
    assert (
        doors.web(
            action="pin_dose", exercise_id="single_leg_heel_raise", knob="one hand"
        ).status_code
        == 200
    )
    assert doors.api(action="pin_dose", exercise_id="calf_raise_wall", knob=40).status_code == 201
    result = doors.cli("pin_dose", "--exercise", "band_plantarflexion", "--knob", "green")
    assert result.returncode == 0, result.stderr
    assert doors.overrides() == before + 3


@settings(max_examples=200, deadline=None)
@given(
    index=st.integers(min_value=0, max_value=50),
    knob=st.one_of(
        st.floats(allow_nan=False, allow_infinity=False, min_value=0, max_value=1000),
        st.text(min_size=1, max_size=20),
        st.sampled_from(
            sorted({lv for e in RULES.library.values() if e.knob for lv in e.knob.levels or ()})
        ),
    ),
)
def test_a_pinned_knob_always_fits_its_exercise(index: int, knob: float | str) -> None:
    """Whatever setting is asked for, an accepted pin is one the exercise's knob has."""
    program = _program()
    slot = program.slots[index % len(program.slots)]
    exercise = RULES.library[slot.exercise_id]
    override = Override(
        date=program.start_date,
        by="Dr Cee",
        reason="property",
        action="pin_dose",
        exercise_id=slot.exercise_id,
        knob=knob,
    )
    problem = override_problem(override, program, RULES.library, RULES.progression.switchable_rules)
    if problem is None:
        assert exercise.knob is not None
        if exercise.knob.levels is not None:
            assert knob in exercise.knob.levels
        else:
            value = float(knob)
            assert exercise.knob.minimum is not None and exercise.knob.maximum is not None
            assert exercise.knob.minimum <= value <= exercise.knob.maximum


_PROGRAM: list[Any] = []


def _program() -> Any:
    if not _PROGRAM:
        from groundup.clinical.planning import plan
        from groundup.clinical.profile import build_profile
        from groundup.clinical.screening import screen
        from groundup.knowledge import load_screening_rules

        data = intake()
        assert data.assessment is not None and data.screen is not None
        _PROGRAM.append(
            plan(
                build_profile(data.assessment, RULES.assessment),
                data.preferences,
                RULES,
                screen=screen(data.screen, load_screening_rules()),
                start=dt.date(2026, 1, 5),
                assessment=data.assessment,
            )
        )
    return _PROGRAM[0]


def test_every_door_swaps_adds_removes_and_undoes(doors: Doors) -> None:
    """The program editor through each door: the web form swaps, the API adds and lists the
    choices, the command line removes (a key exercise only when confirmed) and undoes."""
    before = doors.overrides()
    choices = doors.client.get(
        f"/api/v1/patients/{doors.patient_id}/program/choices",
        params={"exercise_id": "tibialis_raise_wall"},
        headers={"Authorization": f"Bearer {doors.token}"},
    )
    assert choices.status_code == 200, choices.text
    offered = [c["id"] for c in choices.json()["items"]]
    assert "band_dorsiflexion" in offered and "single_leg_deadlift" not in offered
    missing = doors.client.get(
        f"/api/v1/patients/{doors.patient_id}/program/choices",
        params={"exercise_id": "pogo_hops"},
        headers={"Authorization": f"Bearer {doors.token}"},
    )
    assert missing.status_code == 404 and "not in the current program" in missing.json()["error"]
    web = doors.web(action="swap_exercise", swap="tibialis_raise_wall:band_dorsiflexion")
    assert web.status_code == 200, web.text
    assert "swapped for Band ankle pull-up" in web.text
    program = doors.services.program(doors.patient_id)
    assert program.slot("band_dorsiflexion") and not program.slot("tibialis_raise_wall")
    api = doors.api(action="add_exercise", exercise_id="short_foot")
    assert api.status_code == 201, api.text
    assert api.json()["decisions"][0]["rule"] == "override.add_exercise"
    suggest = doors.cli("suggest", "--exercise", "band_plantarflexion")
    assert suggest.returncode == 0 and "floor_heel_drop" in suggest.stdout, suggest.stderr
    removed = doors.cli("remove", "--exercise", "bent_knee_calf_raise", "--confirm")
    assert removed.returncode == 0, removed.stderr
    assert doors.services.program(doors.patient_id).slot("bent_knee_calf_raise") is None
    undone = doors.cli("undo", "--exercise", "band_dorsiflexion")
    assert undone.returncode == 0, undone.stderr
    program = doors.services.program(doors.patient_id)
    assert program.slot("tibialis_raise_wall") and not program.slot("band_dorsiflexion")
    assert doors.overrides() == before + 4
    # The API's own description lists the editor's actions, fields and choices route.
    spec = doors.client.get("/api/v1/openapi.json").json()
    request = spec["components"]["schemas"]["OverrideRequest"]
    assert {"swap_exercise", "add_exercise", "remove_exercise", "undo_edit"} <= set(
        request["properties"]["action"]["enum"]
    )
    assert {"replacement", "confirm"} <= set(request["properties"])
    assert "/api/v1/patients/{patient_id}/program/choices" in spec["paths"]
