"""The safety screen in real Chromium: the blood-clot questions stay hidden until the
person answers yes to a calf or leg symptom, and the page fits a phone. Screenshots at
phone and desktop sizes go to artifacts/screenshots/."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect
from test_journeys import PHONE, fill, shoot  # the journeys' sizes and form filler

pytestmark = pytest.mark.browser


def test_the_clot_questions_open_only_after_a_leg_symptom(
    browser: Browser, live_server: str, screenshots: Path
) -> None:
    page = browser.new_page(viewport=PHONE)
    page.goto(f"{live_server}/register")
    password = "a long enough password"
    fill(page, {"display_name": "Kit", "email": "kit@example.org", "password": password})
    page.get_by_role("button", name="Create account").click()
    # Signing up answers alike for every address, so signing in is the next step.
    expect(page).to_have_url(f"{live_server}/login?done=registered")
    fill(page, {"email": "kit@example.org", "password": password})
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(f"{live_server}/me/screen")

    clot = page.locator("section#s-clot, section[aria-labelledby='s-clot']")
    cast = page.locator('[name="paralysis_paresis_or_recent_cast"]').first
    injury_detail = page.locator('[name="lateral_malleolus_tenderness"]').first
    expect(clot).to_be_hidden()
    expect(cast).to_be_hidden()
    expect(injury_detail).to_be_hidden()
    shoot(page, screenshots, "40-screen-well-leg")

    for name in ("calf_pain", "calf_tenderness"):
        page.locator(f'[name="{name}"][value="no"]').check()
    page.locator('[name="one_sided_leg_swelling"][value="yes"]').check()
    expect(clot).to_be_visible()
    expect(cast).to_be_visible()
    page.locator('[name="one_sided_leg_swelling"][value="no"]').check()
    expect(clot).to_be_hidden()

    page.locator('[name="calf_pain"][value="yes"]').check()
    expect(clot).to_be_visible()
    page.locator('[name="days_since_injury"]').fill("0")  # injured today opens the Ottawa part
    expect(injury_detail).to_be_visible()
    clot.scroll_into_view_if_needed()
    shoot(page, screenshots, "41-screen-calf-pain")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    page.close()
