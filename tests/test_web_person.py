"""The person's pages end to end: screen, assessment, the session player, check-in,
progress, changes, learning and re-test, over a real SQLite database."""

from __future__ import annotations

import datetime as dt
import html
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from fastapi.testclient import TestClient

from groundup.clinical.logs import SessionLog
from groundup.clinical.screening import ScreenAnswers
from groundup.knowledge import load_rules
from groundup.services import Services
from groundup.storage.database import Database
from groundup.web.app import create_app
from groundup.web.charts import Bar, Series, bar_chart, line_chart

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
TODAY = dt.date(2025, 3, 5)  # a Wednesday


@pytest.fixture
def services(tmp_path: Path) -> Services:
    return Services(Database(f"sqlite:///{tmp_path / 'w.db'}"), load_rules(), clock=lambda: TODAY)


@pytest.fixture
def client(services: Services) -> TestClient:
    return TestClient(create_app(services=services), follow_redirects=False)


def csrf_of(page: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', page)
    assert found, "the page has no form token"
    return found.group(1)


def hidden(page: str, name: str) -> str:
    found = re.search(rf'name="{re.escape(name)}" value="([^"]*)"', page)
    assert found, f"no hidden field {name}"
    return html.unescape(found.group(1))


def register(client: TestClient, email: str = "ann@example.org", name: str = "Ann") -> str:
    page = client.get("/register").text
    response = client.post(
        "/register",
        data={
            "csrf": csrf_of(page),
            "email": email,
            "display_name": name,
            "password": "a long enough password",
        },
    )
    # Signing up answers alike for every address, so it does not sign in: that comes next.
    assert response.status_code == 303 and response.headers["location"].startswith("/login")
    signed_in = client.post(
        "/login",
        data={
            "csrf": csrf_of(client.get("/login").text),
            "email": email,
            "password": "a long enough password",
        },
    )
    assert signed_in.status_code == 303, signed_in.text
    return csrf_of(client.get("/password").text)


def example(name: str) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((EXAMPLES / name).read_text())
    return data


def screen_form(answers: dict[str, Any], csrf: str) -> dict[str, str]:
    """Every question answered as the example says; one it leaves out means no."""
    form = {"csrf": csrf}
    every = {name: info.default for name, info in ScreenAnswers.model_fields.items()}
    for name, value in (every | answers).items():
        if isinstance(value, bool):
            form[name] = "yes" if value else "no"
        elif value is not None:
            form[name] = str(value)
    return form


def assessment_form(csrf: str, **changes: str) -> dict[str, Any]:
    """The clear-left-calf example as the web form would post it (every day a training day)."""
    a = example("clear-left-calf.yaml")["assessment"]
    form: dict[str, Any] = {
        "csrf": csrf,
        "age": str(a["age"]),
        "sex": a["sex"],
        "affected_side": a["affected_side"],
        "duration": str(a["symptom_duration_weeks"]),
        "duration_unit": "weeks",
        "pain.at_rest": str(a["pain"]["at_rest"]),
        "pain.during_activity": str(a["pain"]["during_activity"]),
        "pain.on_waking": str(a["pain"]["on_waking"]),
        "pain.night_pain": "no",
        "pain.lingers_after_activity_hours": str(a["pain"]["lingers_after_activity_hours"]),
        "length_unit": "cm",
        "minutes": "30",
        "equipment": ["wall", "step", "band"],
        "days": [str(n) for n in range(7)],
    }
    for n, item in enumerate(a["psfs"]):
        form[f"psfs.{n}.activity"] = item["activity"]
        form[f"psfs.{n}.score"] = str(item["score"])
    for test, sides in a["tests"].items():
        for side, value in sides.items():
            form[f"tests.{test}.{side}"] = str(value)
    form.update(changes)
    return form


def start(client: TestClient, services: Services) -> tuple[str, str]:
    """Register, answer a clear screen and the assessment: (csrf, patient id)."""
    csrf = register(client)
    assert client.get("/me").headers["location"] == "/me/screen"
    clear = example("clear-left-calf.yaml")["screen"]
    response = client.post("/me/screen", data=screen_form(clear, csrf))
    assert response.status_code == 303
    assert response.headers["location"] == "/me/clear"
    page = client.get("/me/assess")
    assert page.status_code == 200
    assert "data-metronome" in page.text and "data-countdown" in page.text
    response = client.post("/me/assess", data=assessment_form(csrf))
    assert response.status_code == 303, response.text
    assert response.headers["location"] == "/me/results"
    patient_id = services.patients()[-1].id
    return csrf, patient_id


def play_session(
    client: TestClient, pain: str = "2", effort: str = "6", pain_after: str | None = "1"
) -> str:
    """Go through today's player, step by step, and save: the saved page (or, without a
    pain-after answer, the page that asks for it)."""
    today = client.get("/me")
    assert today.status_code == 200
    # A session left part-way is offered to carry on, or to start again.
    assert "Start the session" in today.text or "Start again from the first step" in today.text
    form = {
        "csrf": csrf_of(today.text),
        "log_id": hidden(today.text, "log_id"),
        "day": hidden(today.text, "day"),
        "version": hidden(today.text, "version"),
        "draft": "[]",
        "action": "start",
    }
    page = client.post("/me/session/0", data=form)
    assert page.status_code == 200
    index = 0
    while "Save this session" not in page.text:
        assert f'action="/me/session/{index}"' in page.text
        sets = re.findall(
            r'name="(set\d+)" type="text" inputmode="decimal" value="([^"]*)"', page.text
        )
        assert sets, "a step shows its sets, filled in with the plan"
        step = {
            "csrf": form["csrf"],
            "log_id": hidden(page.text, "log_id"),
            "day": hidden(page.text, "day"),
            "version": hidden(page.text, "version"),
            "draft": hidden(page.text, "draft"),
            "pain": pain,
            "effort": effort,
            "form": "clean",
            "action": "next",
            **dict(sets),
        }
        page = client.post(f"/me/session/{index}", data=step)
        assert page.status_code == 200, page.text
        index += 1
    save = {
        "csrf": form["csrf"],
        "log_id": hidden(page.text, "log_id"),
        "day": hidden(page.text, "day"),
        "version": hidden(page.text, "version"),
        "draft": hidden(page.text, "draft"),
    }
    if pain_after is None:
        asked = client.post("/me/session/save", data=save)
        assert asked.status_code == 400
        return asked.text
    save["pain_after"] = pain_after
    saved = client.post("/me/session/save", data=save)
    assert saved.status_code == 200, saved.text
    again = client.post("/me/session/save", data=save)
    assert again.status_code == 200
    assert "Already saved" in again.text
    return saved.text


def test_the_whole_flow_from_sign_up_to_progress(client: TestClient, services: Services) -> None:
    _, patient_id = start(client, services)
    assert services.program(patient_id).start_date == TODAY
    saved = play_session(client)
    assert "Session saved" in saved
    history = services.history(patient_id)
    assert len(history) == 1, "a resubmitted save is stored once"
    today = client.get("/me")
    assert "Done for today" in today.text

    progress = client.get("/me/progress")
    assert progress.status_code == 200
    assert progress.text.count("<svg") == 4
    assert 'role="img"' in progress.text and "aria-label=" in progress.text
    assert "2025-03-05" in progress.text and "2 / 10" in progress.text

    changes = client.get("/me/changes")
    assert changes.status_code == 200
    assert "What changed and why" in changes.text


def test_saving_asks_for_pain_right_after_and_stores_nothing_until_then(
    client: TestClient, services: Services
) -> None:
    _, patient_id = start(client, services)
    asked = play_session(client, pain_after=None)
    assert "right after the session, then save" in asked
    assert 'name="pain_after"' in asked and 'aria-invalid="true"' in asked
    assert services.history(patient_id) == []
    # The unsaved session is kept, and offered again on Today.
    assert "Carry on from step" in client.get("/me").text
    play_session(client, pain_after="3")
    (logged,) = services.history(patient_id)
    assert isinstance(logged, SessionLog) and logged.pain_after == 3
    assert services.draft(patient_id, TODAY) is None


def test_a_referring_screen_shows_the_referral_and_makes_no_program(
    client: TestClient, services: Services
) -> None:
    csrf = register(client)
    answers = example("refer-dvt.yaml")["screen"]
    response = client.post("/me/screen", data=screen_form(answers, csrf))
    assert response.headers["location"] == "/me/referral"
    assert client.get("/me").headers["location"] == "/me/referral"
    page = client.get("/me/referral")
    assert page.status_code == 200
    assert "Please see a doctor first" in page.text
    assert "Start the session" not in page.text
    assert client.get("/me/assess").headers["location"] == "/me/referral"
    response = client.post("/me/assess", data=assessment_form(csrf))
    assert response.headers["location"] == "/me/referral"
    patient_id = services.patients()[-1].id
    assert services.program_versions(patient_id) == []


def test_the_clot_questions_wait_for_a_leg_symptom_on_the_web_screen(
    client: TestClient, services: Services
) -> None:
    csrf = register(client)
    page = client.get("/me/screen").text
    assert 'data-ask-if="calf_pain calf_tenderness one_sided_leg_swelling"' in page
    assert page.index('name="calf_pain"') < page.index('name="paralysis_paresis_or_recent_cast"')
    # A recent cast and an operation, a well leg: the Wells answers are not read.
    answers = {
        "paralysis_paresis_or_recent_cast": True,
        "bedridden_or_major_surgery": True,
        "calf_difference_cm": 4,
    }
    response = client.post("/me/screen", data=screen_form(answers, csrf))
    assert response.headers["location"] == "/me/clear"
    screen = services.latest_screen(services.patients()[-1].id)
    assert screen is not None
    assert screen.wells_score is None
    assert screen.reasons == ()


def test_the_same_answers_with_calf_pain_refer_as_an_emergency(
    client: TestClient, services: Services
) -> None:
    csrf = register(client)
    answers = {
        "calf_pain": True,
        "paralysis_paresis_or_recent_cast": True,
        "bedridden_or_major_surgery": True,
    }
    response = client.post("/me/screen", data=screen_form(answers, csrf))
    assert response.headers["location"] == "/me/referral"
    page = client.get("/me/referral").text
    assert "Go to an emergency department now" in page


def test_an_ankle_injured_today_is_screened_by_the_ottawa_rules(
    client: TestClient, services: Services
) -> None:
    """0 days since the injury opens the injury questions; a tender ankle bone refers today."""
    csrf = register(client)
    answers = {"days_since_injury": 0, "lateral_malleolus_tenderness": True}
    response = client.post("/me/screen", data=screen_form(answers, csrf))
    assert response.headers["location"] == "/me/referral"
    page = client.get("/me/referral").text
    assert "See a doctor today" in page
    assert "X-ray" in page


def test_unanswered_screen_questions_are_shown_beside_them(client: TestClient) -> None:
    csrf = register(client)
    response = client.post("/me/screen", data={"csrf": csrf, "fever": "yes"})
    assert response.status_code == 400
    assert "field-error" in response.text
    assert "choose yes or no" in response.text
    # what was answered is kept
    assert re.search(r'name="fever" value="yes" checked', response.text)


def test_bad_assessment_input_comes_back_with_messages_and_stores_nothing(
    client: TestClient, services: Services
) -> None:
    csrf = register(client)
    client.post("/me/screen", data=screen_form(example("clear-left-calf.yaml")["screen"], csrf))
    form = assessment_form(
        csrf, **{"pain.at_rest": "11", "tests.heel_raise_reps.left": "-3", "age": ""}
    )
    response = client.post("/me/assess", data=form)
    assert response.status_code == 400
    page = response.text
    assert page.count('class="field-error"') >= 3
    assert 'id="f-age-error">an answer is needed here' in page
    assert 'id="f-pain-at_rest-error">give a number from 0 to 10' in page
    assert 'id="f-tests-heel_raise_reps-left-error">give a number from 0 to 150' in page
    # the other answers are kept
    assert 'value="walking the dog for 45 minutes"' in page
    assert 'value="-3"' in page
    patient_id = services.patients()[-1].id
    assert services.assessments(patient_id) == []
    assert services.program_versions(patient_id) == []


def test_nonsense_numbers_never_crash_the_forms(client: TestClient) -> None:
    csrf = register(client)
    client.post("/me/screen", data=screen_form(example("clear-left-calf.yaml")["screen"], csrf))
    form = assessment_form(
        csrf,
        **{"duration": "nan", "tests.knee_to_wall_cm.left": "1e999", "minutes": "x", "sex": "?"},
    )
    response = client.post("/me/assess", data=form)
    assert response.status_code == 400
    assert response.text.count('class="field-error"') >= 4


def test_knee_to_wall_in_inches_is_stored_in_cm(client: TestClient, services: Services) -> None:
    csrf = register(client)
    client.post("/me/screen", data=screen_form(example("clear-left-calf.yaml")["screen"], csrf))
    form = assessment_form(
        csrf,
        **{
            "length_unit": "in",
            "tests.knee_to_wall_cm.left": "3.5",
            "tests.knee_to_wall_cm.right": "4",
        },
    )
    assert client.post("/me/assess", data=form).status_code == 303
    patient_id = services.patients()[-1].id
    (_, _, assessment, _) = services.assessments(patient_id)[0]
    assert assessment.tests.knee_to_wall_cm is not None
    assert assessment.tests.knee_to_wall_cm.left == pytest.approx(8.9)
    assert assessment.tests.knee_to_wall_cm.right == pytest.approx(10.2)
    assert services.display(patient_id)[0] == "in"


def test_a_form_without_its_token_is_refused(client: TestClient) -> None:
    register(client)
    response = client.post("/me/screen", data={"fever": "no"})
    assert response.status_code == 403
    response = client.post("/me/checkin", data={"csrf": "wrong", "pain": "1", "stiffness": "1"})
    assert response.status_code == 403


def test_a_bad_step_answer_stays_on_the_step(client: TestClient, services: Services) -> None:
    start(client, services)
    today = client.get("/me").text
    base = {
        "csrf": csrf_of(today),
        "log_id": hidden(today, "log_id"),
        "day": hidden(today, "day"),
        "version": hidden(today, "version"),
        "draft": "[]",
    }
    first = client.post("/me/session/0", data={**base, "action": "start"})
    response = client.post(
        "/me/session/0", data={**base, "action": "next", "set1": "-2", "pain": "12", "form": "x"}
    )
    assert response.status_code == 400
    assert response.text.count('class="field-error"') >= 3
    assert 'action="/me/session/0"' in response.text
    # a damaged draft gives a clear message, not a crash
    broken = client.post("/me/session/1", data={**base, "action": "next", "draft": "{nope"})
    assert broken.status_code == 400
    assert "start the session again" in broken.text
    assert first.status_code == 200


def test_skipping_today_with_a_reason(client: TestClient, services: Services) -> None:
    _, patient_id = start(client, services)
    today = client.get("/me").text
    response = client.post(
        "/me/session/skip",
        data={
            "csrf": csrf_of(today),
            "log_id": hidden(today, "log_id"),
            "day": hidden(today, "day"),
            "reason": "a long day at work",
        },
    )
    assert response.status_code == 200
    assert "Skipped for today" in response.text
    (event,) = services.history(patient_id)
    assert getattr(event, "skipped", False)
    assert "Skipped" in client.get("/me").text


def test_the_morning_check_in(client: TestClient, services: Services) -> None:
    csrf, _ = start(client, services)
    page = client.get("/me/checkin")
    assert page.status_code == 200
    assert page.text.count('name="pain"') == 11
    bad = client.post("/me/checkin", data={"csrf": csrf, "pain": "11"})
    assert bad.status_code == 400
    assert "field-error" in bad.text
    response = client.post(
        "/me/checkin", data={"csrf": csrf, "pain": "2", "stiffness": "3", "signs": ""}
    )
    assert response.status_code == 200
    assert "Check-in saved" in response.text
    twice = client.post("/me/checkin", data={"csrf": csrf, "pain": "2", "stiffness": "3"})
    assert twice.status_code == 409
    assert "already a check-in" in twice.text
    progress = client.get("/me/progress").text
    assert "Morning pain" in progress


def test_s13_high_pain_on_waking_links_to_the_safety_questions_again(
    client: TestClient, services: Services
) -> None:
    csrf, patient_id = start(client, services)
    response = client.post("/me/checkin", data={"csrf": csrf, "pain": "5", "stiffness": "2"})
    assert response.status_code == 200 and 'href="/me/recheck"' in response.text
    today = client.get("/me")
    assert 'data-standing="recheck"' in today.text and 'href="/me/recheck"' in today.text
    page = client.get("/me/recheck")
    assert page.status_code == 200
    assert "wake you at night" in page.text and "one small spot on a bone" in page.text
    unanswered = client.post("/me/recheck", data={"csrf": csrf})
    assert unanswered.status_code == 400
    clear = client.post(
        "/me/recheck",
        data={"csrf": csrf, "night_or_rest_pain": "no", "focal_bone_tenderness": "no"},
    )
    assert clear.status_code == 200 and "Nothing in these answers needs a check" in clear.text
    assert services.referral(patient_id) is None
    refers = client.post(
        "/me/recheck",
        data={
            "csrf": csrf,
            "night_or_rest_pain": "no",
            "focal_bone_tenderness": "yes",
            "pain_on_hopping": "yes",
        },
    )
    assert refers.status_code == 200
    referral = services.referral(patient_id)
    assert referral is not None and referral.numbers["urgency"] == "soon"
    assert "data-paused" in refers.text and "data-paused" in client.get("/me").text


def test_c11_kneecap_pain_asks_whether_the_knee_settled_within_the_hour(
    client: TestClient, services: Services
) -> None:
    csrf = register(client)
    clear = example("clear-left-calf.yaml")["screen"]
    assert client.post("/me/screen", data=screen_form(clear, csrf)).status_code == 303
    response = client.post(
        "/me/assess", data=assessment_form(csrf, condition="patellofemoral_pain")
    )
    assert response.status_code == 303, response.text
    patient_id = services.patients()[-1].id
    page = client.get("/me/checkin")
    assert "was your knee back to how it was within an hour?" in page.text
    bad = client.post(
        "/me/checkin", data={"csrf": csrf, "pain": "1", "stiffness": "1", "settled": "maybe"}
    )
    assert bad.status_code == 400
    saved = client.post(
        "/me/checkin", data={"csrf": csrf, "pain": "1", "stiffness": "1", "settled": "no"}
    )
    assert saved.status_code == 200, saved.text
    (checkin,) = [e for e in services.history(patient_id) if e.type == "checkin"]
    assert checkin.settled_within_hour == "no"


def test_c11_other_conditions_are_not_asked_about_the_hour(
    client: TestClient, services: Services
) -> None:
    start(client, services)
    assert "within an hour" not in client.get("/me/checkin").text


def test_another_person_sees_only_their_own_data(services: Services) -> None:
    first = TestClient(create_app(services=services), follow_redirects=False)
    start(first, services)
    play_session(first, pain="4")
    second = TestClient(create_app(services=services), follow_redirects=False)
    register(second, "bo@example.org", "Bo")
    assert second.get("/me").headers["location"] == "/me/screen"
    assert second.get("/me/progress").headers["location"] == "/me"
    changes = second.get("/me/changes")
    assert changes.status_code == 200
    assert "you have not logged a session" in changes.text
    mine = first.get("/me/progress").text
    assert "4 / 10" in mine


def test_other_roles_find_no_person_pages(client: TestClient, services: Services) -> None:
    from groundup.services.accounts import Accounts

    accounts = Accounts(services)
    doctor = accounts.create_user(
        "doc@example.org", "Dr Who", "clinician", "a long enough password"
    )
    cookie, _ = accounts.start_session(doctor, second_factor=True)
    client.cookies.set("gu_session", cookie)
    assert client.get("/me").status_code == 404
    assert client.get("/me/progress").status_code == 404


def test_signed_out_visitors_are_sent_to_sign_in(client: TestClient) -> None:
    response = client.get("/me/progress")
    assert response.status_code == 303
    assert response.headers["location"].startswith("/login")


def test_the_learn_page_lists_five_cards(client: TestClient) -> None:
    register(client)
    page = client.get("/me/learn").text
    assert page.count('<article class="card"') == 5
    for title in (
        "Shoes",
        "What you walk and run on",
        "Your step rate",
        "Normal soreness",
        "Sleep",
    ):
        assert title in page


def test_a_retest_records_new_results(client: TestClient, services: Services) -> None:
    csrf, patient_id = start(client, services)
    page = client.get("/me/retest")
    assert page.status_code == 200
    assert 'name="age"' in page.text and 'value="45"' in page.text
    form = assessment_form(csrf, **{"tests.heel_raise_reps.left": "18"})
    response = client.post("/me/retest", data=form)
    assert response.status_code == 200, response.text
    assert "Re-test saved" in response.text
    kinds = [kind for _, kind, _, _ in services.assessments(patient_id)]
    assert kinds == ["initial", "retest"]


def test_charts_are_labelled_and_survive_empty_data() -> None:
    day = dt.date(2025, 3, 3)
    chart = line_chart(
        [Series("pain", [(day, 2.0), (day + dt.timedelta(days=7), 1.0)])],
        label="Pain",
        y_label="0–10",
        y_max=10,
    )
    assert chart.startswith("<svg") and 'role="img"' in chart
    assert "Pain, 3 Mar to 10 Mar. pain latest 1 on 10 Mar." in chart
    assert "style=" not in chart
    empty = bar_chart([], label="Minutes", y_label="min", value_name="minutes")
    assert "Nothing to show yet" in empty
    bars = bar_chart([Bar("3 Mar", 2, 3, "2/3")], label="Done", y_label="n", value_name="done")
    assert "2/3" in bars and "<script" not in bars


def test_a_paused_program_refuses_the_player_save_and_skip_on_the_web(
    client: TestClient, services: Services
) -> None:
    """Review M1 at the web door: a page opened before the referral (an old tab) cannot
    start, answer, save or skip a session afterwards; each answers with the advice."""
    csrf, patient_id = start(client, services)
    today = client.get("/me").text
    form = {
        "csrf": csrf,
        "log_id": hidden(today, "log_id"),
        "day": hidden(today, "day"),
        "version": hidden(today, "version"),
        "draft": "[]",
    }
    checkin = client.post(
        "/me/checkin",
        data={"csrf": csrf, "pain": "2", "stiffness": "1", "sign": "fever_hot_joint"},
    )
    assert checkin.status_code == 200
    assert "Stop now and get help" in checkin.text and "hot, swollen joint" in checkin.text
    assert "Start the session" not in client.get("/me").text
    for target, action in (
        ("/me/session/0", "start"),
        ("/me/session/0", "next"),
        ("/me/session/save", ""),
        ("/me/session/skip", ""),
    ):
        response = client.post(target, data={**form, "action": action, "pain_after": "1"})
        assert response.status_code == 409, (target, action)
        assert "Your program is paused" in response.text or "Stop now" in response.text
    assert services.history(patient_id)[-1].type == "checkin"


def test_a_clinicians_change_shows_the_old_and_new_dose_and_the_reason(
    client: TestClient, services: Services
) -> None:
    from groundup.clinical.logs import Override

    _, patient_id = start(client, services)
    program = services.program(patient_id)
    slot = next(s for s in program.slots if s.part == "main")
    dose = slot.doses[0]
    services.apply_override(
        patient_id,
        Override(
            date=TODAY,
            by="Dr Jo",
            reason="the tendon was sore after the last two sessions",
            action="pin_dose",
            exercise_id=slot.exercise_id,
            side=dose.side,
            sets=max(1, dose.sets - 1),
            amount=dose.amount - 1,
        ),
    )
    page = client.get("/me/changes").text
    unit = services.rules.library[slot.exercise_id].dose_type.unit
    assert f"sets {dose.sets} → {max(1, dose.sets - 1)}" in page
    assert f"{unit} {dose.amount:g} → {dose.amount - 1:g}" in page
    assert "Their reason: the tendon was sore after the last two sessions" in page
    assert "stays as set" not in page


def test_a_flare_up_shows_on_a_rest_day_too(client: TestClient, services: Services) -> None:
    csrf, patient_id = start(client, services)
    today = client.get("/me").text
    form = {
        "csrf": csrf,
        "log_id": hidden(today, "log_id"),
        "day": hidden(today, "day"),
        "version": hidden(today, "version"),
        "draft": "[]",
        "action": "start",
    }
    page = client.post("/me/session/0", data=form)
    sets = dict(
        re.findall(r'name="(set\d+)" type="text" inputmode="decimal" value="([^"]*)"', page.text)
    )
    flare = services.rules.progression.flare_pain
    stopped = client.post(
        "/me/session/0",
        data={**form, "action": "next", "pain": str(flare), "effort": "6", "form": "clean", **sets},
    )
    assert stopped.status_code == 200
    assert (
        f"Stop here for today: pain {flare}" in stopped.text and "data-flare-plan" in stopped.text
    )
    assert services.program(patient_id).state.flare is not None
    # The day before was a rest day: the flare-up plan shows there as on training days.
    rest = client.get(f"/me/session?day={(TODAY - dt.timedelta(days=1)).isoformat()}").text
    assert "Rest day" in rest and 'data-standing="flare"' in rest


def test_an_afternoon_check_in_asks_which_morning_it_is_about(
    client: TestClient, services: Services
) -> None:
    csrf, patient_id = start(client, services)
    base = {"csrf": csrf, "pain": "2", "stiffness": "1"}
    asked = client.post("/me/checkin", data={**base, "hour": "15"})
    assert asked.status_code == 400 and "say which morning this is about" in asked.text
    later = client.post("/me/checkin", data={**base, "hour": "15", "for_day": "tomorrow"})
    assert later.status_code == 200 and "Check in tomorrow morning" in later.text
    assert services.history(patient_id) == []
    saved = client.post("/me/checkin", data={**base, "hour": "15", "for_day": "today"})
    assert "Check-in saved" in saved.text
    (checkin,) = services.history(patient_id)
    assert checkin.date == TODAY


def test_a_morning_check_in_is_that_mornings_without_a_question(
    client: TestClient, services: Services
) -> None:
    csrf, patient_id = start(client, services)
    saved = client.post(
        "/me/checkin", data={"csrf": csrf, "pain": "2", "stiffness": "1", "hour": "7"}
    )
    assert "Check-in saved" in saved.text
    assert [e.date for e in services.history(patient_id)] == [TODAY]
