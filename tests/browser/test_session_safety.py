"""Pain and warning signs act in the moment, in real Chromium against `groundup serve
--demo`: pain 6 ends that exercise, pain 7 ends the session and shows the flare-up plan, a
warning sign stops the session and pauses the program, and a paused program offers no
session anywhere. Each test is a new person who signs up, answers the screen, does the
assessment (training every day, so today has a session) and starts today's session.
Phone screenshots of each new state go to artifacts/screenshots/."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from playwright.sync_api import Browser, Page, expect
from test_journeys import DESKTOP, PHONE, fill

from conftest import ROOT, demo_server
from groundup.knowledge import load_rules

pytestmark = pytest.mark.browser

RULES = load_rules()
P = RULES.progression
STOP_EXERCISE = P.pain_acceptable_max + 1  # 6: ends that exercise
STOP_SESSION = P.flare_pain  # 7: ends the session


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A server of this module's own, so its sign-ups do not count against the others'."""
    with demo_server(tmp_path_factory.mktemp("safety-web")) as url:
        yield url


def phone_shot(page: Page, folder: Path, name: str) -> None:
    """The page at phone size (and at desktop size, then back to the phone)."""
    for label, size in (("desktop", DESKTOP), ("phone", PHONE)):
        page.set_viewport_size(size)
        path = folder / f"{name}-{label}.png"
        page.screenshot(path=str(path), full_page=True)
        assert path.stat().st_size > 5_000, f"{path} looks blank"
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), name


def new_person(browser: Browser, server: str, name: str) -> Page:
    """A new person with a program that trains every day, on Today."""
    page = browser.new_context(viewport=PHONE).new_page()
    email = f"{name.lower()}@example.org"
    page.goto(f"{server}/register")
    fill(page, {"display_name": name, "email": email, "password": "a long enough password"})
    page.get_by_role("button", name="Create account").click()
    fill(page, {"email": email, "password": "a long enough password"})
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(f"{server}/me/screen")
    for radio in page.locator('input[type="radio"][value="no"]').all():
        if radio.is_visible():
            radio.check()
    page.get_by_role("button", name="Check my answers").click()
    expect(page).to_have_url(f"{server}/me/clear")
    page.get_by_role("link", name="Start the tests").click()
    expect(page).to_have_url(f"{server}/me/assess")
    example = yaml.safe_load((ROOT / "examples" / "clear-left-calf.yaml").read_text())["assessment"]
    values: dict[str, Any] = {
        "age": example["age"],
        "sex": example["sex"],
        "affected_side": example["affected_side"],
        "duration": example["symptom_duration_weeks"],
        "pain.at_rest": example["pain"]["at_rest"],
        "pain.during_activity": example["pain"]["during_activity"],
        "pain.on_waking": example["pain"]["on_waking"],
        "pain.night_pain": "no",
        "pain.lingers_after_activity_hours": example["pain"]["lingers_after_activity_hours"],
        "days": [str(n) for n in range(7)],
    }
    for test, sides in example["tests"].items():
        for side, value in sides.items():
            values[f"tests.{test}.{side}"] = value
    fill(page, values)
    page.get_by_role("button", name="Make my program").click()
    expect(page).to_have_url(f"{server}/me/results")
    page.goto(f"{server}/me")
    return page


def answer_step(page: Page, pain: int) -> None:
    page.locator(f'input[name="pain"][value="{pain}"]').check(force=True)
    if page.locator('input[name="effort"][value="6"]').count():
        page.locator('input[name="effort"][value="6"]').check(force=True)
    page.locator('input[name="form"][value="clean"]').check(force=True)


def big_targets(page: Page, form: str) -> None:
    """Every answer of the player's form is at least 44 px to tap, and nothing scrolls
    sideways."""
    for box in page.locator(f"{form} .scale label, {form} .choice, {form} button").all():
        if box.is_visible():
            size = box.bounding_box()
            assert size is not None and size["height"] >= 44, box.inner_text()
    for label in page.locator(f"{form} .scale label").all():
        size = label.bounding_box()
        assert size is not None and size["width"] >= 44
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def step_title(page: Page) -> str:
    return page.locator("h1").inner_text()


def test_pain_6_ends_that_exercise_and_the_next_one_comes(
    browser: Browser, server: str, screenshots: Path
) -> None:
    page = new_person(browser, server, "Six")
    page.get_by_role("button", name="Start the session").click()
    # Go to the first main exercise done one side at a time (it has a second step).
    for _ in range(30):
        side = page.locator(".side-line .tag").inner_text()
        if side != "both legs" and "Main work" in page.locator(".progress-line").inner_text():
            break
        answer_step(page, 1)
        page.locator('button[name="action"][value="next"]').click()
    else:
        pytest.fail("no one-sided exercise in the session")
    name = step_title(page)
    progress = page.locator(".progress-line").inner_text()
    answer_step(page, STOP_EXERCISE)
    # The page says at once what this pain means.
    expect(page.locator("[data-pain-says]")).to_contain_text("stop this exercise")
    phone_shot(page, screenshots, "30-player-pain-6-chosen")
    page.locator('button[name="action"][value="next"]').click()
    notice = page.locator("[data-notice]")
    expect(notice).to_contain_text(f"at pain {STOP_EXERCISE}")
    expect(notice).to_contain_text("Next time it steps back")
    phone_shot(page, screenshots, "31-player-after-pain-6")
    # The other side of the same exercise is not offered: the next exercise comes.
    assert step_title(page) != name
    assert page.locator(".progress-line").inner_text() != progress
    # Finish: the stopped exercise shows with its sets, its other side as left out.
    for _ in range(40):
        if page.get_by_role("button", name="Save this session").count():
            break
        answer_step(page, 1)
        page.locator('button[name="action"][value="next"]').click()
    rows = page.locator("tbody tr").filter(has_text=name)
    expect(rows.first).to_contain_text(str(STOP_EXERCISE))
    expect(rows.nth(1)).to_contain_text("left out")
    page.locator('input[name="pain_after"][value="2"]').check(force=True)
    page.get_by_role("button", name="Save this session").click()
    expect(page.get_by_text("Session saved")).to_be_visible()
    expect(page.locator(".timeline")).to_contain_text(f"hurt {STOP_EXERCISE}/10")
    page.close()


def test_pain_7_ends_the_session_saves_it_and_shows_the_flare_up_plan(
    browser: Browser, server: str, screenshots: Path
) -> None:
    page = new_person(browser, server, "Seven")
    page.get_by_role("button", name="Start the session").click()
    answer_step(page, 1)
    page.locator('button[name="action"][value="next"]').click()
    answer_step(page, STOP_SESSION)
    expect(page.locator("[data-pain-says]")).to_contain_text("the session stops here")
    page.locator('button[name="action"][value="next"]').click()
    # No next step: the session is over and saved, and the flare-up plan shows at once.
    expect(page.locator("h1")).to_contain_text(f"pain {STOP_SESSION}")
    expect(page.locator("[data-stopped]")).to_contain_text("What you did is saved")
    expect(page.locator("[data-flare-plan]")).to_contain_text("flare-up plan")
    expect(page.locator(".timeline")).to_contain_text("Flare-up plan")
    phone_shot(page, screenshots, "32-player-stopped-pain-7")
    # Today knows it is done, and the flare-up plan shows there.
    page.goto(f"{server}/me")
    expect(page.get_by_text("This session is logged")).to_be_visible()
    expect(page.locator('[data-standing="flare"]')).to_contain_text("lighter")
    phone_shot(page, screenshots, "37-today-done-with-flare-up")
    page.close()


def test_a_warning_sign_stops_the_session_and_pauses_the_program(
    browser: Browser, server: str, screenshots: Path
) -> None:
    page = new_person(browser, server, "Sign")
    page.get_by_role("button", name="Start the session").click()
    answer_step(page, 1)
    page.locator('button[name="action"][value="next"]').click()
    page.get_by_text("Something worrying?").click()
    phone_shot(page, screenshots, "33-player-warning-signs")
    # Stopping without ticking a sign asks which one.
    page.get_by_role("button", name="Stop the session").click()
    expect(page.locator(".field-error")).to_contain_text("choose the sign")
    expect(page.locator("details.warning-signs")).to_have_attribute("open", "")
    page.locator('input[name="sign"][value="calf_swollen_hot"]').check()
    page.get_by_role("button", name="Stop the session").click()
    expect(page.locator("h1")).to_have_text("Stop now and get help")
    expect(page.locator("[data-paused]")).to_contain_text("emergency department")
    expect(page.get_by_text("What you did before you stopped is saved")).to_be_visible()
    phone_shot(page, screenshots, "34-player-stopped-warning-sign")
    # Today offers no session now, on any day, until a clinician resumes.
    page.goto(f"{server}/me")
    expect(page.locator("h1")).to_have_text("Stop now and get help")
    assert page.get_by_role("button", name="Start the session").count() == 0
    phone_shot(page, screenshots, "35-today-paused")
    page.close()


def test_a_check_in_sign_pauses_the_program_with_its_own_urgency(
    browser: Browser, server: str, screenshots: Path
) -> None:
    page = new_person(browser, server, "Snap")
    page.clock.set_fixed_time(dt.datetime.now().replace(hour=8, minute=0))
    page.goto(f"{server}/me/checkin")
    # In the morning, the check-in is that morning's: no question about which one.
    expect(page.locator("[data-afternoon-only]")).to_be_hidden()
    phone_shot(page, screenshots, "36-checkin-signs")
    fill(page, {"pain": "2", "stiffness": "1", "sign": ["bone_spot"]})
    page.locator("#f-signs").fill("calf a bit tight")
    page.get_by_role("button", name="Save my check-in").click()
    # Pain at one spot on a bone is "within days", not an emergency.
    expect(page.locator("h1")).to_have_text("Your program is paused")
    expect(page.locator("[data-paused]")).to_contain_text("within the next few days")
    expect(page.get_by_text("calf a bit tight")).to_be_visible()
    page.goto(f"{server}/me")
    assert page.get_by_role("button", name="Start the session").count() == 0
    page.close()


def test_words_alone_at_the_check_in_are_a_note_and_the_session_stays(
    browser: Browser, server: str
) -> None:
    page = new_person(browser, server, "Tight")
    page.clock.set_fixed_time(dt.datetime.now().replace(hour=16, minute=0))
    page.goto(f"{server}/me/checkin")
    # In the afternoon the person says which morning they mean.
    expect(page.locator("[data-afternoon-only]")).to_be_visible()
    page.locator('input[name="for_day"][value="today"]').check()
    fill(page, {"pain": "2", "stiffness": "1"})
    page.locator("#f-signs").fill("my calf is a bit tight")
    page.get_by_role("button", name="Save my check-in").click()
    expect(page.locator("h1")).to_have_text("Check-in saved")
    expect(page.get_by_text("Kept for your clinician: my calf is a bit tight")).to_be_visible()
    page.goto(f"{server}/me")
    expect(page.get_by_role("button", name="Start the session")).to_be_visible()
    page.close()


def test_a_session_left_part_way_warns_and_resumes_where_it_stopped(
    browser: Browser, server: str, screenshots: Path
) -> None:
    page = new_person(browser, server, "Resume")
    page.get_by_role("button", name="Start the session").click()
    for _ in range(2):
        answer_step(page, 1)
        page.locator('button[name="action"][value="next"]').click()
    third = step_title(page)
    expect(page.locator(".progress-line")).to_contain_text("Step 3 of")
    # Leaving the player asks first.
    page.locator('input[name="pain"][value="1"]').check(force=True)
    asked: list[str] = []

    def answer(dialog: Any) -> None:
        asked.append(dialog.type)
        dialog.accept()

    page.on("dialog", answer)
    page.goto(f"{server}/me/progress")
    assert asked == ["beforeunload"]
    # The tab is closed; a new one finds the session where it stopped.
    page.close()
    context = page.context
    again = context.new_page()
    again.goto(f"{server}/me")
    expect(again.locator("[data-resume]")).to_contain_text("2 of")
    phone_shot(again, screenshots, "38-today-carry-on")
    again.get_by_role("button", name="Carry on from step 3").click()
    expect(again.locator(".progress-line")).to_contain_text("Step 3 of")
    assert step_title(again) == third
    again.close()


BUZZ_RECORDER = """
(() => {
  const real = navigator.vibrate ? navigator.vibrate.bind(navigator) : null;
  window.__buzz = [];
  navigator.vibrate = (pattern) => { window.__buzz.push(pattern); return real ? real(pattern) : true; };
})();
"""


def test_the_player_on_a_phone_timers_one_tap_answers_and_big_targets(
    browser: Browser, server: str, screenshots: Path
) -> None:
    page = new_person(browser, server, "Phone")
    page.add_init_script(BUZZ_RECORDER)
    page.clock.install()
    page.reload()
    page.get_by_role("button", name="Start the session").click()
    # The first step answered, the next offers "same as the last one" in one tap.
    page.locator('input[name="pain"][value="3"]').check(force=True)
    if page.locator('input[name="effort"][value="5"]').count():
        page.locator('input[name="effort"][value="5"]').check(force=True)
    page.locator('input[name="form"][value="clean"]').check(force=True)
    first = step_title(page)
    page.locator('button[name="action"][value="next"]').click()
    same = page.locator("[data-same]")
    expect(same).to_contain_text("pain 3")
    same.click()
    expect(page.locator('input[name="pain"][value="3"]')).to_be_checked()
    big_targets(page, "form[data-player]")
    phone_shot(page, screenshots, "39-player-same-as-before")
    # The second side of an exercise already shown: the logging comes before the
    # instructions, which are folded away.
    if step_title(page) == first:
        logging = page.locator("#done-h").bounding_box()
        how = page.locator("details.how-to").bounding_box()
        assert logging and how and logging["y"] < how["y"]
        assert page.locator("details.how-to[open]").count() == 0
    # A timed exercise has a hold timer that ends with a sound and a buzz.
    for _ in range(30):
        if page.locator("[data-hold]").count():
            break
        answer_step(page, 1)
        page.locator('button[name="action"][value="next"]').click()
    else:
        pytest.fail("no timed exercise in the session")
    seconds = int(page.locator("[data-hold]").get_attribute("data-seconds") or "0")
    page.locator("[data-hold] [data-start]").click()
    page.clock.run_for(seconds * 1000 + 1500)
    expect(page.locator("[data-hold] [data-time]")).to_have_text("Done!")
    assert page.evaluate("window.__buzz.length") == 1
    phone_shot(page, screenshots, "40-player-hold-done")
    # With reduced motion asked for, the rest timer ends without a buzz.
    page.emulate_media(reduced_motion="reduce")
    rest = page.locator("[data-rest]")
    if rest.count():
        rest_seconds = int(rest.get_attribute("data-seconds") or "0")
        rest.locator("[data-start]").click()
        page.clock.run_for(rest_seconds * 1000 + 1500)
        expect(rest.locator("[data-time]")).to_have_text("Go!")
        assert page.evaluate("window.__buzz.length") == 1
    page.close()
