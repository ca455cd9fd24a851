"""The calendar page in real Chromium: a demo person makes a private link, a calendar app
(no cookie) fetches it, and once stopped it is gone. Screenshots at phone and desktop
sizes go to artifacts/screenshots/."""

from __future__ import annotations

import urllib.error
import urllib.request
from pathlib import Path

import pytest
from icalendar import Calendar
from playwright.sync_api import Browser, expect
from test_journeys import PHONE, shoot  # the same two screen sizes as the journeys

pytestmark = pytest.mark.browser


def fetch(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, b""


def test_a_person_adds_the_program_to_their_calendar_and_stops_the_link(
    browser: Browser, live_server: str, screenshots: Path
) -> None:
    page = browser.new_page(viewport=PHONE)
    page.goto(f"{live_server}/login")
    page.locator('[name="email"]').fill("sam@demo.groundup.example")
    page.locator('[name="password"]').fill("demo-person-2026")
    page.locator('button[type="submit"]', has_text="Sign in").click()
    page.get_by_role("link", name="Add to my calendar").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Your program in your calendar")
    shoot(page, screenshots, "30-calendar")

    page.locator("#f-session").fill("07:15")
    page.get_by_role("button", name="Make my private link").click()
    link = page.locator("#f-link").input_value()
    assert link.startswith(f"{live_server}/calendar/") and link.endswith(".ics")
    shoot(page, screenshots, "31-calendar-link")

    status, body = fetch(link)
    assert status == 200
    sessions = [e for e in Calendar.from_ical(body).walk("VEVENT") if "session-" in str(e["UID"])]
    assert sessions and all(e.decoded("DTSTART").strftime("%H:%M") == "07:15" for e in sessions)

    page.goto(f"{live_server}/me/calendar")
    assert link not in page.content()
    page.get_by_role("button", name="Stop my link").click()
    expect(page.get_by_role("status")).to_contain_text("stopped")
    assert fetch(link)[0] == 404
    page.close()
