"""The two journeys in real Chromium, against `groundup serve --demo`:
a new person from sign-up to their first logged session and its progress, and a
clinician who finds the flaring-up patient first and pins a dose. Screenshots of the
main pages are saved at phone and desktop sizes in artifacts/screenshots/."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pyotp
import pytest
import yaml
from playwright.sync_api import Browser, Page, expect

from groundup.demo import SECOND_FACTOR_KEYS

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 800}


def shoot(page: Page, folder: Path, name: str) -> None:
    for label, size in (("phone", PHONE), ("desktop", DESKTOP)):
        page.set_viewport_size(size)
        path = folder / f"{name}-{label}.png"
        page.screenshot(path=str(path), full_page=True)
        assert path.stat().st_size > 5_000, f"{path} looks blank"
    page.set_viewport_size(PHONE)


def fill(page: Page, values: dict[str, Any]) -> None:
    """Fill a form by field name, whatever kind of input each field is."""
    for name, value in values.items():
        fields = page.locator(f'[name="{name}"]')
        first = fields.first
        kind = (first.get_attribute("type") or first.evaluate("e => e.tagName")).lower()
        if kind in ("radio", "checkbox"):
            for item in value if isinstance(value, list) else [value]:
                page.locator(f'[name="{name}"][value="{item}"]').check(force=True)
        elif kind == "select":
            first.select_option(str(value))
        else:
            first.fill(str(value))


def sign_in_staff(
    page: Page, live_server: str, email: str, password: str, screenshots: Path | None = None
) -> None:
    """A demo clinician or admin signs in: the password, then the code their
    authenticator app would show (from the demo's printed key)."""
    page.goto(f"{live_server}/login")
    fill(page, {"email": email, "password": password})
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(f"{live_server}/login/code")
    if screenshots is not None:
        shoot(page, screenshots, "19-second-factor")
    fill(page, {"code": fresh_code(email)})
    page.get_by_role("button", name="Sign in").click()


_LAST_STEP: dict[str, int] = {}


def fresh_code(email: str) -> str:
    """The demo account's current code. A code is accepted once: when an earlier test in
    this run already used this time step's code, wait for the next step, as a person
    signing in twice within 30 seconds would."""
    totp = pyotp.TOTP(SECOND_FACTOR_KEYS[email])
    step = int(time.time()) // totp.interval
    if _LAST_STEP.get(email) == step:
        time.sleep((step + 1) * totp.interval - time.time() + 0.5)
        step += 1
    _LAST_STEP[email] = step
    return totp.at(step * totp.interval)


def test_a_new_person_from_sign_up_to_progress(
    browser: Browser, live_server: str, screenshots: Path
) -> None:
    page = browser.new_page(viewport=PHONE)
    page.goto(live_server)
    shoot(page, screenshots, "01-welcome")
    page.get_by_role("link", name="Start on your own").click()
    fill(
        page,
        {
            "display_name": "Robin",
            "email": "robin@example.org",
            "password": "a long enough password",
        },
    )
    page.get_by_role("button", name="Create account").click()
    # Signing up answers alike for every address, so signing in is the next step.
    expect(page).to_have_url(f"{live_server}/login?done=registered")
    fill(page, {"email": "robin@example.org", "password": "a long enough password"})
    page.get_by_role("button", name="Sign in").click()

    # The safety screen: every question answered "no".
    expect(page).to_have_url(f"{live_server}/me/screen")
    shoot(page, screenshots, "02-screen")
    for radio in page.locator('input[type="radio"][value="no"]').all():
        if radio.is_visible():
            radio.check()
    page.get_by_role("button", name="Check my answers").click()
    expect(page).to_have_url(f"{live_server}/me/clear")
    page.get_by_role("link", name="Start the tests").click()

    # The guided self-assessment.
    expect(page).to_have_url(f"{live_server}/me/assess")
    expect(page.locator("[data-metronome]").first).to_be_visible()
    shoot(page, screenshots, "03-assessment")
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
        "days": [str(n) for n in range(7)],  # so today is a training day
    }
    for test, sides in example["tests"].items():
        for side, value in sides.items():
            values[f"tests.{test}.{side}"] = value
    fill(page, values)
    page.get_by_role("button", name="Make my program").click()
    expect(page).to_have_url(f"{live_server}/me/results")
    page.get_by_role("link", name="Go to today").click()

    # Today's session, one exercise at a time.
    expect(page).to_have_url(f"{live_server}/me")
    shoot(page, screenshots, "04-today")
    page.get_by_role("button", name="Start the session").click()
    first_step = True
    for _ in range(40):
        if page.get_by_role("button", name="Save this session").count():
            break
        if first_step:
            shoot(page, screenshots, "05-player")
            first_step = False
        page.locator('input[name="pain"][value="2"]').check(force=True)
        if page.locator('input[name="effort"][value="6"]').count():
            page.locator('input[name="effort"][value="6"]').check(force=True)
        if page.locator('input[name="form"][value="clean"]').count():
            page.locator('input[name="form"][value="clean"]').check(force=True)
        page.locator('button[name="action"][value="next"]').click()
    shoot(page, screenshots, "06-review")
    # Saving without saying how it feels right after asks for it and keeps the session.
    page.get_by_role("button", name="Save this session").click()
    expect(page.get_by_text("right after the session, then save")).to_be_visible()
    page.locator('input[name="pain_after"][value="1"]').check(force=True)
    page.get_by_role("button", name="Save this session").click()
    expect(page.get_by_text("Session saved")).to_be_visible()

    # The session shows in progress.
    page.goto(f"{live_server}/me/progress")
    expect(page.locator("svg").first).to_be_visible()
    assert "2 / 10" in page.content()
    shoot(page, screenshots, "07-progress")
    page.goto(f"{live_server}/me/changes")
    shoot(page, screenshots, "08-changes")
    page.goto(f"{live_server}/me/checkin")
    shoot(page, screenshots, "09-checkin")
    page.goto(f"{live_server}/me/learn")
    shoot(page, screenshots, "10-learn")
    page.close()


def test_a_clinician_finds_the_flare_up_first_and_pins_a_dose(
    browser: Browser, live_server: str, screenshots: Path
) -> None:
    page = browser.new_page(viewport=DESKTOP)
    sign_in_staff(
        page, live_server, "clinician@demo.groundup.example", "demo-clinic-2026", screenshots
    )
    expect(page).to_have_url(f"{live_server}/clinic")
    rows = page.locator('a[href^="/clinic/patients/"]')
    expect(rows.first).to_be_visible()
    assert rows.first.inner_text().strip() == "Fran Flare", "the flaring-up patient is listed first"
    shoot(page, screenshots, "20-dashboard")

    rows.first.click()
    expect(page.get_by_role("heading", name="Fran Flare").first).to_be_visible()
    shoot(page, screenshots, "21-patient")
    patient_url = page.url
    page.goto(f"{patient_url}/program")
    pin = page.locator("form#pin")
    exercise = pin.locator('select[name="exercise_id"] option').nth(1).get_attribute("value")
    assert exercise
    pin.locator('select[name="exercise_id"]').select_option(exercise)
    pin.locator('input[name="amount"]').fill("8")
    pin.locator('input[name="reason"]').fill("Keep the dose steady while the flare-up settles")
    pin.get_by_role("button", name="Pin dose").click()
    expect(page.get_by_text("pinned", exact=False).first).to_be_visible()
    shoot(page, screenshots, "22-program-editor")
    page.goto(patient_url)
    assert "pinned" in page.content().lower()
    page.close()
