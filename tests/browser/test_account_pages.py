"""The account pages in real Chromium against the demo: a person's second-factor set-up
(the QR code drawn by the app), where they are signed in, and closing the account; the
admin's audit log, after the admin's own code. Screenshots at phone and desktop sizes."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect
from test_journeys import DESKTOP, PHONE, fill, shoot, sign_in_staff

pytestmark = pytest.mark.browser


def test_a_person_sees_their_account_pages(
    browser: Browser, live_server: str, screenshots: Path
) -> None:
    page = browser.new_page(viewport=PHONE)
    page.goto(f"{live_server}/login")
    fill(page, {"email": "sid@demo.groundup.example", "password": "demo-person-2026"})
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("link", name="Account").click()
    expect(page.get_by_role("heading", name="Where you are signed in")).to_be_visible()
    expect(page.get_by_text("this one")).to_be_visible()
    shoot(page, screenshots, "41-account")
    page.get_by_role("link", name="Second factor: off").click()
    qr = page.locator("img.qr")
    expect(qr).to_be_visible()
    # Drawn once it has loaded: an SVG the browser cannot read stays at no width.
    page.wait_for_function("() => document.querySelector('img.qr').complete", timeout=10_000)
    assert qr.evaluate("i => i.naturalWidth > 100"), "the QR code is drawn"
    shoot(page, screenshots, "42-second-factor-set-up")
    page.goto(f"{live_server}/account/close")
    expect(page.get_by_text("Your clinic keeps the record")).to_be_visible()
    shoot(page, screenshots, "43-close-account")
    page.close()


def test_an_admin_reads_the_audit_log_after_their_code(
    browser: Browser, live_server: str, screenshots: Path
) -> None:
    page = browser.new_page(viewport=DESKTOP)
    sign_in_staff(page, live_server, "admin@demo.groundup.example", "demo-admin-2026")
    expect(page).to_have_url(f"{live_server}/admin")
    page.get_by_role("link", name="Audit log").first.click()
    expect(page.get_by_role("heading", name="Audit log")).to_be_visible()
    assert page.locator("table.audit tbody tr").count() > 10
    shoot(page, screenshots, "44-audit-log")
    page.close()
