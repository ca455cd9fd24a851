"""The program editor in Chromium: the clinician swaps one of a demo patient's exercises
for a suggested stand-in, with a reason; the person's Today page then shows the new
exercise, and "what changed" says so in plain words with the clinician's reason.
Screenshots of the editor and the person's page go to artifacts/screenshots/."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect
from test_journeys import DESKTOP, PHONE, fill, shoot, sign_in_staff

pytestmark = pytest.mark.browser

REASON = "Sam's wrist cannot take the wall push today"


def test_a_clinician_swaps_an_exercise_and_the_person_sees_it_today(
    browser: Browser, live_server: str, screenshots: Path
) -> None:
    page = browser.new_page(viewport=DESKTOP)
    sign_in_staff(page, live_server, "clinician@demo.groundup.example", "demo-clinic-2026")
    expect(page).to_have_url(f"{live_server}/clinic")
    href = page.get_by_role("link", name="Sam Steady").first.get_attribute("href")
    page.goto(f"{live_server}{href}/program")
    expect(page.get_by_role("heading", name="Swap an exercise")).to_be_visible()
    # The first stand-in offered for an exercise that is not a key one.
    option = page.locator('select[name="swap"] optgroup:not([label*="key exercise"]) option').first
    value = option.get_attribute("value")
    assert value is not None and ":" in value
    old_id, new_id = value.split(":")
    new_name = option.inner_text().split(" (")[0].strip()
    swap = page.locator("form#swap")
    swap.locator('select[name="swap"]').select_option(value)
    swap.locator('input[name="reason"]').fill(REASON)
    shoot(page, screenshots, "46-clinic-program-swap")
    swap.get_by_role("button", name="Swap exercise").click()
    expect(page.locator(".result")).to_contain_text("override.swap_exercise")
    expect(page.locator(".result")).to_contain_text(REASON)
    expect(page.locator("table.program")).to_contain_text(new_name)
    # The undo control now offers the swap back.
    expect(page.locator("form#undo select")).to_contain_text(new_name)
    page.close()

    person = browser.new_page(viewport=PHONE)
    person.goto(f"{live_server}/login")
    fill(person, {"email": "sam@demo.groundup.example", "password": "demo-person-2026"})
    person.get_by_role("button", name="Sign in").click()
    person.goto(f"{live_server}/me")
    # Today lists the session; on a rest day it links to the next one.
    ahead = person.get_by_role("link", name="See what's in it")
    if ahead.count():
        ahead.click()
    expect(person.locator("main")).to_contain_text(new_name)
    shoot(person, screenshots, "47-person-today-after-swap")
    person.goto(f"{live_server}/me/changes")
    changes = person.locator("main")
    expect(changes).to_contain_text("Your clinician swapped")
    expect(changes).to_contain_text(REASON)
    assert old_id != new_id
    person.close()
