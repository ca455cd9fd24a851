"""The first hour in real Chromium: a new person answers the safety screen, is told they
are clear to start, does the tests, and sees what they found and the whole program. Then
every person page (and the clinician's assessment page) at 390 px: none scrolls sideways.
Screenshots at phone and desktop sizes go to artifacts/screenshots/."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from playwright.sync_api import Browser, Page, expect
from test_journeys import DESKTOP, PHONE, fill, shoot, sign_in_staff

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]


def sign_up(page: Page, live_server: str, name: str, email: str) -> None:
    page.goto(f"{live_server}/register")
    fill(page, {"display_name": name, "email": email, "password": "a long enough password"})
    page.get_by_role("button", name="Create account").click()
    expect(page).to_have_url(f"{live_server}/login?done=registered")
    fill(page, {"email": email, "password": "a long enough password"})
    page.get_by_role("button", name="Sign in").click()


def answer_clear_screen(page: Page) -> None:
    for radio in page.locator('input[type="radio"][value="no"]').all():
        if radio.is_visible():
            radio.check()
    page.get_by_role("button", name="Check my answers").click()


def assess(page: Page, days: list[int] | None, extra: dict[str, Any] | None = None) -> None:
    example = yaml.safe_load((ROOT / "examples" / "clear-left-calf.yaml").read_text())
    a = example["assessment"]
    values: dict[str, Any] = {
        "age": a["age"],
        "sex": a["sex"],
        "affected_side": a["affected_side"],
        "duration": a["symptom_duration_weeks"],
        "pain.at_rest": a["pain"]["at_rest"],
        "pain.during_activity": a["pain"]["during_activity"],
        "pain.on_waking": a["pain"]["on_waking"],
        "pain.night_pain": "no",
        "pain.lingers_after_activity_hours": a["pain"]["lingers_after_activity_hours"],
    }
    if days is not None:
        values["days"] = [str(n) for n in days]
    for test, sides in a["tests"].items():
        for side, value in sides.items():
            values[f"tests.{test}.{side}"] = value
    fill(page, values | (extra or {}))
    page.get_by_role(
        "button", name="Save my re-test" if days is None else "Make my program"
    ).click()


def no_sideways_scroll(page: Page, what: str) -> None:
    page.set_viewport_size(PHONE)
    width = page.evaluate("document.documentElement.scrollWidth")
    inner = page.evaluate("window.innerWidth")
    assert width <= inner, f"{what} is {width} px wide at {inner} px: it scrolls sideways"


def test_the_first_hour_results_and_program(
    browser: Browser, live_server: str, screenshots: Path
) -> None:
    page = browser.new_page(viewport=PHONE)
    sign_up(page, live_server, "Kim", "kim@example.org")
    expect(page).to_have_url(f"{live_server}/me/screen")
    answer_clear_screen(page)

    expect(page).to_have_url(f"{live_server}/me/clear")
    expect(page.get_by_role("heading", name="You are clear to start")).to_be_visible()
    no_sideways_scroll(page, "the clear-to-start page")
    shoot(page, screenshots, "30-clear-to-start")
    page.get_by_role("link", name="Start the tests").click()

    expect(page).to_have_url(f"{live_server}/me/assess")
    assess(page, days=list(range(7)))

    # The results: both legs side by side, with a picture, and what the program does.
    expect(page).to_have_url(f"{live_server}/me/results")
    expect(page.get_by_role("heading", name="What your tests found")).to_be_visible()
    bars = page.locator("svg.bars")
    assert bars.count() == 6
    expect(bars.first).to_be_visible()
    heel = page.locator("li.card", has_text="heel raise").first
    expect(heel.get_by_text("A big gap")).to_be_visible()
    expect(heel.get_by_text("Your left leg did less")).to_be_visible()
    expect(page.get_by_role("heading", name="What the program does about it")).to_be_visible()
    no_sideways_scroll(page, "the results page")
    shoot(page, screenshots, "31-results")

    # The program: every exercise with its part, dose, reason and drawing.
    page.get_by_role("link", name="See my program").click()
    expect(page).to_have_url(f"{live_server}/me/program")
    cards = page.locator("li.card.exercise")
    assert cards.count() >= 4
    for n in range(cards.count()):
        card = cards.nth(n)
        expect(card.locator("svg").first).to_be_visible()
        expect(card.get_by_text("Why:")).to_be_visible()
        assert card.locator("ul.doses li").count() >= 1
    expect(page.get_by_role("heading", name="Warm-up")).to_be_visible()
    cards.first.get_by_text("How to do it").click()
    expect(cards.first.locator("details ol li").first).to_be_visible()
    no_sideways_scroll(page, "the program page")
    shoot(page, screenshots, "32-program")
    page.close()


def test_a_rest_day_previews_the_next_session(
    browser: Browser, live_server: str, screenshots: Path
) -> None:
    page = browser.new_page(viewport=PHONE)
    sign_up(page, live_server, "Lee", "lee@example.org")
    answer_clear_screen(page)
    page.get_by_role("link", name="Start the tests").click()
    today = page.evaluate("new Date().getDay()")  # 0 = Sunday
    monday_first = (today + 6) % 7
    assess(page, days=[(monday_first + 2) % 7])  # two days from now, nothing today
    expect(page).to_have_url(f"{live_server}/me/results")
    page.goto(f"{live_server}/me")
    expect(page.get_by_role("heading", name="Rest day")).to_be_visible()
    shoot(page, screenshots, "33-rest-day")
    page.get_by_role("link", name="See what's in it").click()
    expect(page.get_by_text("A look ahead")).to_be_visible()
    assert "has not come yet" not in page.content()
    assert page.get_by_role("button", name="Start the session").count() == 0
    no_sideways_scroll(page, "the session preview")
    shoot(page, screenshots, "34-next-session-preview")
    page.close()


PERSON_PAGES = [
    "/me",
    "/me/program",
    "/me/results",
    "/me/progress",
    "/me/changes",
    "/me/checkin",
    "/me/retest",
    "/me/learn",
    "/me/data",
    "/me/calendar",
    "/me/reminders",
    "/account",
    "/password",
]


def test_no_person_page_scrolls_sideways_at_390_px(
    browser: Browser, live_server: str, screenshots: Path
) -> None:
    page = browser.new_page(viewport=PHONE)
    # A new person's first pages, before there is a program.
    sign_up(page, live_server, "Max", "max@example.org")
    no_sideways_scroll(page, "/me/screen")
    answer_clear_screen(page)
    no_sideways_scroll(page, "/me/clear")
    page.goto(f"{live_server}/me/assess")
    no_sideways_scroll(page, "/me/assess")
    page.close()

    # A person with weeks of data: every page, and the player's first step.
    page = browser.new_page(viewport=PHONE)
    page.goto(f"{live_server}/login")
    fill(page, {"email": "sam@demo.groundup.example", "password": "demo-person-2026"})
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(f"{live_server}/me")
    for path in PERSON_PAGES:
        page.goto(f"{live_server}{path}")
        no_sideways_scroll(page, path)
    page.goto(f"{live_server}/me/retest")
    shoot(page, screenshots, "35-retest")
    # The 0–10 answers are big enough to tap on a phone (44 px at least).
    page.goto(f"{live_server}/me/checkin")
    widths = page.locator(".scale label").evaluate_all(
        "labels => labels.map(l => l.getBoundingClientRect().width)"
    )
    assert widths and min(widths) >= 44, widths
    shoot(page, screenshots, "37-checkin")
    # A collapsed section shows a marker that it opens.
    page.goto(f"{live_server}/me/program")
    marker = page.locator("details > summary").first.evaluate(
        "s => getComputedStyle(s, '::before').borderRightStyle"
    )
    assert marker == "solid"
    page.close()

    # A referred person's page.
    page = browser.new_page(viewport=PHONE)
    sign_up(page, live_server, "Ray", "ray@example.org")
    for radio in page.locator('input[type="radio"][value="no"]').all():
        if radio.is_visible():
            radio.check()
    page.locator('input[name="fever"][value="yes"]').check()
    page.locator('input[name="hot_swollen_joint"][value="yes"]').check()
    page.get_by_role("button", name="Check my answers").click()
    expect(page).to_have_url(f"{live_server}/me/referral")
    no_sideways_scroll(page, "/me/referral")
    page.close()

    # The clinician's assessment page.
    page = browser.new_page(viewport=DESKTOP)
    sign_in_staff(page, live_server, "clinician@demo.groundup.example", "demo-clinic-2026")
    expect(page).to_have_url(f"{live_server}/clinic")
    href = page.locator('a[href^="/clinic/patients/"]').first.get_attribute("href")
    assert href
    page.goto(f"{live_server}{href}/assess")
    no_sideways_scroll(page, "the clinician's assessment page")
    shoot(page, screenshots, "36-clinic-assess")
    page.close()


def lefs_answers(value: int) -> dict[str, Any]:
    from groundup.knowledge import load_rules

    measure = load_rules().questionnaires.measure("lefs")
    return {f"lefs.{item.id}": str(value) for item in measure.items}


def test_the_person_answers_the_questionnaire_and_sees_the_change(
    browser: Browser, live_server: str, screenshots: Path
) -> None:
    page = browser.new_page(viewport=PHONE)
    sign_up(page, live_server, "Noor", "noor@example.org")
    answer_clear_screen(page)
    page.get_by_role("link", name="Start the tests").click()
    questionnaire = page.locator("details.measure", has_text="LEFS")
    questionnaire.locator("summary").click()
    expect(questionnaire.get_by_text("0 = extreme difficulty or unable")).to_be_visible()
    page.locator("#step-down").scroll_into_view_if_needed()
    no_sideways_scroll(page, "the assessment with its questionnaires")
    shoot(page, screenshots, "38-assess-questionnaire")
    assess(page, days=list(range(7)), extra=lefs_answers(2))
    expect(page).to_have_url(f"{live_server}/me/results")

    page.goto(f"{live_server}/me/progress")
    expect(page.get_by_text("Answer it again at your next re-test")).to_be_visible()

    # The re-test: the questionnaire again, and a clean step-down seen in a mirror.
    page.goto(f"{live_server}/me/retest")
    page.locator('input[name="step_down.done"][value="yes"]').check()
    expect(page.locator('input[name="step_down.left"][value="none"]')).to_be_visible()
    page.locator('input[name="step_down.left"][value="none"]').check()
    page.locator('input[name="step_down.right"][value="none"]').check()
    page.locator("details.measure", has_text="LEFS").locator("summary").click()
    shoot(page, screenshots, "39-retest-step-down")
    assess(page, days=None, extra=lefs_answers(3))
    expect(page.get_by_role("heading", name="Re-test saved")).to_be_visible()

    page.goto(f"{live_server}/me/progress")
    outcome = page.locator("section.outcomes")
    expect(outcome.get_by_text("Better", exact=True)).to_be_visible()
    expect(outcome.get_by_text("big enough to make a difference you can feel")).to_be_visible()
    no_sideways_scroll(page, "the progress page")
    shoot(page, screenshots, "40-progress-questionnaire")
    page.close()
