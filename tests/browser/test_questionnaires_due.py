"""The person's questionnaires in real Chromium: left out at the start, they are due at
once; the Today notice leads to them, they are answered and saved, and the notice goes."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect
from test_first_hour import answer_clear_screen, assess, lefs_answers, no_sideways_scroll, sign_up
from test_journeys import PHONE, fill, shoot

pytestmark = pytest.mark.browser


def test_the_person_answers_due_questionnaires_from_the_today_notice(
    browser: Browser, live_server: str, screenshots: Path
) -> None:
    page = browser.new_page(viewport=PHONE)
    sign_up(page, live_server, "Quinn", "quinn@example.org")
    answer_clear_screen(page)
    page.get_by_role("link", name="Start the tests").click()
    assess(page, days=list(range(7)))  # the questionnaires left out
    expect(page).to_have_url(f"{live_server}/me/results")

    page.goto(f"{live_server}/me")
    notice = page.locator('[data-standing="questionnaires"]')
    expect(notice).to_contain_text("Questionnaires due")
    notice.get_by_role("link", name="Answer them").click()
    expect(page).to_have_url(f"{live_server}/me/questionnaires")
    expect(page.get_by_role("heading", name="Leg function score (LEFS)")).to_be_visible()
    no_sideways_scroll(page, "the questionnaires page")
    shoot(page, screenshots, "45-questionnaires-due")

    fill(page, lefs_answers(3))
    page.get_by_role("button", name="Save my answers").click()
    expect(page.get_by_role("heading", name="Answers saved")).to_be_visible()
    expect(page.get_by_text("Your questionnaires are in")).to_be_visible()

    page.goto(f"{live_server}/me")
    expect(page.locator('[data-standing="questionnaires"]')).to_have_count(0)
    page.goto(f"{live_server}/me/progress")
    expect(page.get_by_text("Leg function score (LEFS)")).to_be_visible()
    page.close()
