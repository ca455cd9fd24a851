"""The person's questionnaires on a schedule of their own (every 4 weeks by default, set
per program by the clinician at the page, the API or the command line), VISA-A answered by
the person, and the safety questions' opening true to the person's mornings."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from groundup.clinical.logs import Override
from groundup.clinical.outcomes import score
from groundup.interop.files import export_file
from groundup.knowledge import load_rules
from groundup.services import Services
from groundup.storage.database import Database
from groundup.web.app import create_app
from test_override_doors import Doors
from test_services import started
from test_web_person import TODAY, assessment_form, example, register, screen_form

RULES = load_rules()
EVERY = RULES.progression.questionnaire_every_days


class Clock:
    def __init__(self) -> None:
        self.day = TODAY

    def __call__(self) -> dt.date:
        return self.day


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def services(tmp_path: Path, clock: Clock) -> Services:
    return Services(Database(f"sqlite:///{tmp_path / 'w.db'}"), RULES, clock=clock)


@pytest.fixture
def client(services: Services) -> TestClient:
    return TestClient(create_app(services=services), follow_redirects=False)


def lefs(value: int) -> dict[str, str]:
    measure = RULES.questionnaires.measure("lefs")
    return {f"lefs.{item.id}": str(value) for item in measure.items}


def begin(client: TestClient, services: Services, **changes: str) -> tuple[str, str]:
    """Signed up, screened and assessed on TODAY (a Wednesday), training Mon, Wed, Fri,
    with the LEFS answered at the start."""
    csrf = register(client)
    client.post("/me/screen", data=screen_form(example("clear-left-calf.yaml")["screen"], csrf))
    form = assessment_form(csrf, **changes) | lefs(2) | {"days": ["0", "2", "4"]}
    response = client.post("/me/assess", data=form)
    assert response.status_code == 303, response.text
    return csrf, services.patients()[-1].id


def test_the_default_interval_is_four_weeks_from_the_data_with_its_mark() -> None:
    assert EVERY == 28
    assert RULES.progression.sources["questionnaire_every_days"].confidence == "U"


def test_questionnaires_fall_due_after_the_interval_show_on_a_rest_day_and_are_answered(
    client: TestClient, services: Services, clock: Clock
) -> None:
    csrf, patient_id = begin(client, services)
    clock.day = TODAY + dt.timedelta(days=EVERY - 1)
    assert 'data-standing="questionnaires"' not in client.get("/me").text
    # The day after the due day is a Thursday: a rest day, and the notice shows there too.
    clock.day = TODAY + dt.timedelta(days=EVERY + 1)
    rest = client.get("/me").text
    assert "Rest day" in rest or "No session today" in rest
    assert 'data-standing="questionnaires"' in rest and 'href="/me/questionnaires"' in rest
    tested = services.program(patient_id).profile
    page = client.get("/me/questionnaires").text
    assert "Leg function score (LEFS)" in page
    assert "Achilles score" not in page  # not this pathway's own score
    saved = client.post("/me/questionnaires", data={"csrf": csrf} | lefs(3))
    assert saved.status_code == 200, saved.text
    assert "Your questionnaires are in" in saved.text
    program = services.program(patient_id)
    assert program.outcome_baseline["lefs"] == 40 and program.outcome_latest["lefs"] == 60
    assert 'data-standing="questionnaires"' not in client.get("/me").text
    # Answering the questionnaires is not a re-test: the tests stay as they were.
    assert program.profile == tested
    assert [k for _, k, _, _ in services.assessments(patient_id)] == ["initial"]
    progress = client.get("/me/progress").text
    assert "from 40 to 60" in progress and "Better" in progress


def test_questionnaires_left_out_at_the_start_are_due_at_once(
    client: TestClient, services: Services
) -> None:
    csrf = register(client)
    client.post("/me/screen", data=screen_form(example("clear-left-calf.yaml")["screen"], csrf))
    assert client.post("/me/assess", data=assessment_form(csrf)).status_code == 303
    today = client.get("/me").text
    assert 'data-standing="questionnaires"' in today
    assert "You have not answered your questionnaires yet" in today
    saved = client.post("/me/questionnaires", data={"csrf": csrf} | lefs(2))
    assert "the first one to compare with" in saved.text
    assert 'data-standing="questionnaires"' not in client.get("/me").text
    # The first answers are the baseline later change is judged against.
    program = services.program(services.patients()[-1].id)
    assert program.outcome_baseline["lefs"] == 40 == program.outcome_latest["lefs"]
    assert "Leg function score (LEFS)" in client.get("/me/progress").text


def test_an_empty_or_out_of_scale_answer_sheet_comes_back_and_stores_nothing(
    client: TestClient, services: Services
) -> None:
    csrf, patient_id = begin(client, services)
    empty = client.post("/me/questionnaires", data={"csrf": csrf})
    assert empty.status_code == 400 and "answer at least one questionnaire" in empty.text
    bad = client.post("/me/questionnaires", data={"csrf": csrf} | lefs(3) | {"lefs.squatting": "7"})
    assert bad.status_code == 400 and "give a number from 0 to 4" in bad.text
    assert services.questionnaires_last(patient_id) == TODAY
    assert services.program(patient_id).outcome_latest["lefs"] == 40


def test_a_clinician_interval_moves_the_due_day_and_off_removes_it(
    client: TestClient, services: Services, clock: Clock
) -> None:
    _, patient_id = begin(client, services)
    services.apply_override(
        patient_id,
        Override(
            date=TODAY,
            by="Dr Cee",
            reason="fortnightly",
            action="questionnaires_every",
            every_weeks=2,
        ),
    )
    clock.day = TODAY + dt.timedelta(days=14)
    assert 'data-standing="questionnaires"' in client.get("/me").text
    changed = client.get("/me/changes").text
    assert "every 2 weeks (it was every 4 weeks)" in changed
    assert "Their reason: fortnightly" in changed
    services.apply_override(
        patient_id,
        Override(date=clock.day, by="Dr Cee", reason="enough", action="questionnaires_off"),
    )
    clock.day = TODAY + dt.timedelta(days=120)
    assert 'data-standing="questionnaires"' not in client.get("/me").text
    words = [d.clinician_text for d in services.decisions(patient_id) if d.kind == "override"]
    assert any("every 4 weeks → every 2 weeks" in w for w in words), words
    assert any("every 2 weeks → off" in w and "Dr Cee: enough" in w for w in words), words


# ----- the clinician's change at each door -------------------------------------------------


@pytest.fixture
def doors(tmp_path: Path) -> Iterator[Doors]:
    d = Doors(tmp_path)
    yield d
    d.database.dispose()


def interval(doors: Doors) -> tuple[int | None, bool]:
    state = doors.services.program(doors.patient_id).state
    return state.questionnaire_every_days, state.questionnaires_off


def test_the_clinician_sets_the_interval_on_the_program_page(doors: Doors) -> None:
    doors.client.cookies.set("gu_session", doors.cookie)
    page = doors.client.get(f"/clinic/patients/{doors.patient_id}/program").text
    doors.client.cookies.clear()
    assert 'id="questionnaires"' in page and "every 4 weeks (default)" in page
    response = doors.web(action="questionnaires_every", every_weeks="6")
    assert response.status_code == 200, response.text
    assert "every 4 weeks → every 6 weeks" in response.text
    assert interval(doors) == (42, False)
    assert doors.web(action="questionnaires_off").status_code == 200
    assert interval(doors) == (None, True)
    assert doors.overrides() == 2


@pytest.mark.parametrize("weeks", ["0", "-1", "27", "four", "2.5", ""])
def test_the_program_page_refuses_a_bad_interval(doors: Doors, weeks: str) -> None:
    response = doors.web(action="questionnaires_every", every_weeks=weeks)
    assert response.status_code == 400
    assert 'class="field-error" id="e-questionnaires_every-every_weeks"' in response.text
    assert doors.overrides() == 0 and interval(doors) == (None, False)


def test_the_api_sets_the_interval(doors: Doors) -> None:
    response = doors.api(action="questionnaires_every", every_weeks=8)
    assert response.status_code == 201, response.text
    assert response.json()["decisions"][0]["rule"] == "override.questionnaires_every"
    assert interval(doors) == (56, False)
    assert doors.api(action="questionnaires_off").status_code == 201
    assert interval(doors) == (None, True)
    again = doors.api(action="questionnaires_off")
    assert again.status_code == 400 and "already off" in again.json()["error"]


@pytest.mark.parametrize("weeks", [0, -3, 27, "four", "4", 2.5, None])
def test_the_api_refuses_a_bad_interval_with_json(doors: Doors, weeks: object) -> None:
    response = doors.api(action="questionnaires_every", every_weeks=weeks)
    assert 400 <= response.status_code < 500, response.text
    assert "every_weeks" in response.json()["error"]
    assert doors.overrides() == 0
    # Nothing changed, and the same request with a good number goes through.
    assert doors.api(action="questionnaires_every", every_weeks=3).status_code == 201
    assert interval(doors) == (21, False)


def test_the_command_line_sets_the_interval(doors: Doors) -> None:
    result = doors.cli("questionnaires_every", "--every-weeks", "12")
    assert result.returncode == 0, result.stderr
    assert interval(doors) == (84, False)


@pytest.mark.parametrize("weeks", ["0", "-2", "27", "four"])
def test_the_command_line_refuses_a_bad_interval_in_one_line(doors: Doors, weeks: str) -> None:
    result = doors.cli("questionnaires_every", f"--every-weeks={weeks}")
    assert result.returncode != 0
    line = result.stderr.strip()
    assert "\n" not in line and "--every-weeks" in line, line
    assert doors.overrides() == 0


def test_the_command_line_needs_the_weeks_for_an_interval(doors: Doors) -> None:
    result = doors.cli("questionnaires_every")
    assert result.returncode != 0
    line = result.stderr.strip()
    assert "\n" not in line and "every_weeks" in line, line


# ----- VISA-A answered by the person ------------------------------------------------------


def visa_a_form() -> dict[str, str]:
    return {
        "visa_a.morning_stiffness": "6",
        "visa_a.pain_stretching": "5",
        "visa_a.pain_walking": "7",
        "visa_a.stairs_down": "8",
        "visa_a.heel_raises": "4",
        "visa_a.single_leg_hops": "3",
        "visa_a.sport_participation": "4",
        "visa_a.activity_with_pain": "b:14",  # it hurts but I finish, 21–30 minutes
    }


def test_every_visa_a_item_has_words_for_its_answers_and_its_source() -> None:
    measure = RULES.questionnaires.measure("visa_a")
    assert measure.person_answerable
    assert all(item.question for item in measure.items)
    assert [bool(i.anchors) for i in measure.items[:6]] == [True] * 6
    assert [o.value for o in measure.items[6].options] == [0, 4, 7, 10]
    branches = measure.items[7].branches
    assert [b.id for b in branches] == ["a", "b", "c"]
    assert [max(o.value for o in b.options) for b in branches] == [30, 20, 10]
    assert "Robinson 2001" in {s.key for s in measure.sources}


def test_the_person_on_an_achilles_pathway_answers_visa_a_and_it_is_scored(
    client: TestClient, services: Services
) -> None:
    csrf, patient_id = begin(client, services, condition="midportion_achilles")
    page = client.get("/me/questionnaires").text
    assert "Achilles score (VISA-A)" in page
    assert "not stiff at all" in page and "B: it hurts, but I can still finish" in page
    assert 'value="b:14"' in page
    saved = client.post("/me/questionnaires", data={"csrf": csrf} | visa_a_form())
    assert saved.status_code == 200, saved.text
    assert services.program(patient_id).outcome_latest["visa_a"] == 6 + 5 + 7 + 8 + 4 + 3 + 4 + 14
    kinds = [k for _, k, _, _ in services.assessments(patient_id, questionnaires=True)]
    assert kinds == ["initial", "questionnaires"]


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("visa_a.sport_participation", "5"),  # not one of the four answers
        ("visa_a.activity_with_pain", "b:21"),  # 21 is part A's, not part B's
        ("visa_a.activity_with_pain", "d:0"),  # no part D
        ("visa_a.activity_with_pain", "14"),  # no part chosen
    ],
)
def test_a_visa_a_answer_not_on_the_list_comes_back(
    client: TestClient, services: Services, name: str, value: str
) -> None:
    csrf, patient_id = begin(client, services, condition="midportion_achilles")
    response = client.post(
        "/me/questionnaires", data={"csrf": csrf} | visa_a_form() | {name: value}
    )
    assert response.status_code == 400 and "choose one of the answers listed" in response.text
    assert "visa_a" not in services.program(patient_id).outcome_latest


def test_the_best_answer_to_every_visa_a_item_scores_the_full_100() -> None:
    measure = RULES.questionnaires.measure("visa_a")
    assert measure.items[6].options and measure.items[7].branches
    best = {}
    for item in measure.items:
        offered = [o.value for o in item.options] + [
            o.value for b in item.branches for o in b.options
        ]
        best[item.id] = max(offered) if offered else item.max
    assert best["activity_with_pain"] == 30 and best["sport_participation"] == 10
    assert score(measure, best).value == 100


# ----- the safety questions again ---------------------------------------------------------


def test_the_safety_questions_opened_directly_do_not_claim_a_high_morning(
    client: TestClient, services: Services
) -> None:
    csrf, _ = begin(client, services)
    page = client.get("/me/recheck").text
    assert "pain on waking was high" not in page
    assert "can be answered again at any time" in page
    client.post("/me/checkin", data={"csrf": csrf, "pain": "1", "stiffness": "1"})
    assert "pain on waking was high" not in client.get("/me/recheck").text


def test_the_safety_questions_after_a_high_morning_say_so(
    client: TestClient, services: Services, clock: Clock
) -> None:
    csrf, _ = begin(client, services)
    response = client.post("/me/checkin", data={"csrf": csrf, "pain": "5", "stiffness": "2"})
    assert response.status_code == 200 and 'href="/me/recheck"' in response.text
    assert "Your pain on waking was high this morning" in client.get("/me/recheck").text
    clock.day = TODAY + dt.timedelta(days=1)
    assert "was high yesterday morning" in client.get("/me/recheck").text


# ----- kept, exported and brought back -----------------------------------------------------


def test_questionnaires_answered_alone_survive_export_and_import_and_reach_the_csv(
    tmp_path: Path,
) -> None:
    services = Services(
        Database(f"sqlite:///{tmp_path / 'e.db'}"), RULES, clock=lambda: dt.date(2025, 4, 20)
    )
    pid, _ = started(services)
    answers = {"lefs": {i.id: 3 for i in RULES.questionnaires.measure("lefs").items}}
    decisions = services.record_questionnaires(pid, answers, dt.date(2025, 4, 20))
    assert [d.rule for d in decisions] == ["questionnaires.recorded"]
    latest = services.program(pid).outcome_latest
    assert latest["lefs"] == 60
    before = json.loads(export_file(services, pid, "json").content)
    with zipfile.ZipFile(io.BytesIO(export_file(services, pid, "csv").content)) as archive:
        outcomes = list(csv.DictReader(io.StringIO(archive.read("outcomes.csv").decode())))
        tests = list(csv.DictReader(io.StringIO(archive.read("tests.csv").decode())))
    assert {"date": "2025-04-20", "kind": "questionnaires", "questionnaire": "LEFS"}.items() <= (
        next(r for r in outcomes if r["kind"] == "questionnaires").items()
    )
    assert all(r["kind"] != "questionnaires" for r in tests)
    services.delete_person(pid)
    services.import_person(before)
    assert json.loads(export_file(services, pid, "json").content) == before
    kinds = [k for _, k, _, _ in services.assessments(pid, questionnaires=True)]
    assert kinds == ["initial", "questionnaires"]
    assert services.program(pid).outcome_latest == latest
