"""groundup as an installable app, in real Chromium: the manifest as the browser reads it
(CDP Page.getAppManifest), no installability errors (Page.getInstallabilityErrors), the
service worker registered for the whole site and controlling the page, icons of the sizes
the manifest promises, pages opened before still there without a network; and the
reminders page. Screenshots go to artifacts/screenshots/."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from playwright.sync_api import Browser, BrowserContext, BrowserType, Page, expect
from test_journeys import DESKTOP, PHONE, shoot

pytestmark = pytest.mark.browser


def sign_in(context: BrowserContext, base: str, email: str) -> Page:
    page = context.new_page()
    page.goto(f"{base}/login")
    page.locator('[name="email"]').fill(email)
    page.locator('[name="password"]').fill("demo-person-2026")
    page.locator('button[type="submit"]', has_text="Sign in").click()
    page.wait_for_url(f"{base}/me")
    return page


def test_the_app_is_installable_and_opens_without_a_network(
    browser_type: BrowserType,
    browser_type_launch_args: dict[str, Any],
    live_server: str,
    screenshots: Path,
    tmp_path: Path,
) -> None:
    # A profile of its own: Chromium installs nothing from an incognito window, and every
    # context Playwright opens in a launched browser is one.
    context = browser_type.launch_persistent_context(
        tmp_path / "profile", viewport=PHONE, **browser_type_launch_args
    )
    page = sign_in(context, live_server, "sam@demo.groundup.example")

    scope = page.evaluate("navigator.serviceWorker.ready.then(r => r.scope)")
    assert scope == f"{live_server}/"
    page.reload()
    controller = page.evaluate(
        "navigator.serviceWorker.controller && navigator.serviceWorker.controller.scriptURL"
    )
    assert controller == f"{live_server}/sw.js", "the service worker controls the page"

    cdp = context.new_cdp_session(page)
    found = cdp.send("Page.getAppManifest")
    assert found["url"] == f"{live_server}/manifest.webmanifest"
    assert found["errors"] == []
    manifest = json.loads(found["data"])
    assert manifest["display"] == "standalone" and manifest["start_url"] == "/"
    assert manifest["theme_color"] == page.locator('meta[name="theme-color"]').get_attribute(
        "content"
    )
    errors = cdp.send("Page.getInstallabilityErrors")["installabilityErrors"]
    assert errors == [], f"Chromium would not install it: {errors}"

    purposes = set()
    for icon in manifest["icons"]:
        response = page.request.get(f"{live_server}{icon['src']}")
        assert response.ok and response.headers["content-type"] == "image/png"
        width, height = (int(n) for n in icon["sizes"].split("x"))
        assert Image.open(io.BytesIO(response.body())).size == (width, height)
        purposes.add((icon["purpose"], icon["sizes"]))
    assert {("any", "192x192"), ("any", "512x512"), ("maskable", "512x512")} <= purposes

    # Chromium offers to install it: the page's own install button appears.
    install = page.locator("[data-install]")
    expect(install).to_be_visible(timeout=15_000)
    shoot(page, screenshots, "40-install-ready")

    # The network goes: the page opened before comes from the device, styled.
    context.set_offline(True)
    page.reload()
    expect(page.get_by_role("link", name="Reminders")).to_be_visible()
    background = page.evaluate("getComputedStyle(document.querySelector('.top')).backgroundColor")
    assert background == "rgb(27, 36, 48)", "the stylesheet came from the device too"
    page.goto(f"{live_server}/me/learn")
    expect(page.get_by_role("heading", level=1)).to_have_text("No connection just now")
    context.set_offline(False)
    context.close()


def test_the_reminders_page_turns_reminders_on_and_off(
    browser: Browser, live_server: str, screenshots: Path
) -> None:
    context = browser.new_context(viewport=PHONE, timezone_id="Europe/Oslo")
    page = sign_in(context, live_server, "sid@demo.groundup.example")
    page.get_by_role("link", name="Reminders").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Reminders")
    # A zone never chosen is taken from the browser.
    assert page.locator("#f-zone").input_value() == "Europe/Oslo"
    page.locator("#f-by-email").check()
    page.locator("#k-retest").uncheck()
    page.get_by_role("button", name="Turn reminders on").click()
    expect(page.get_by_role("status").first).to_contain_text("Your reminders are on")
    expect(page.locator(".status-line")).to_contain_text("by e-mail to sid@demo.groundup.example")
    expect(page.locator("#k-retest")).not_to_be_checked()
    no_scroll = page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    assert no_scroll, "the page scrolls sideways on a phone"
    shoot(page, screenshots, "41-reminders")
    page.set_viewport_size(DESKTOP)
    page.get_by_role("button", name="Stop all reminders").click()
    expect(page.get_by_role("status").first).to_contain_text("stopped")
    expect(page.locator(".status-line")).to_contain_text("You get no reminders")
    context.close()


def test_a_reminder_email_reads_well_on_a_phone_and_a_desktop(
    browser: Browser, screenshots: Path, tmp_path: Path
) -> None:
    """The HTML of a real reminder e-mail (a person's training day, from their program),
    rendered by Chromium as a mail app would show it."""
    import datetime as dt

    from groundup.config import Settings
    from groundup.knowledge import load_rules
    from groundup.reminders.timing import Kind
    from groundup.services import Services
    from groundup.services.reminders import ReminderChoices, Reminders
    from groundup.storage.database import Database
    from test_reminders import WEDNESDAY, begin

    database = Database(f"sqlite:///{tmp_path / 'mail.db'}")
    try:
        services = Services(database, load_rules(), actor="test")
        patient_id = services.enrol("Sam Steady")
        begin(services, patient_id)
        settings = Settings(
            data_dir=tmp_path,
            mail_from="groundup <reminders@clinic.example>",
            public_url="https://groundup.clinic.example",
        )
        reminders = Reminders(services, settings)
        reminders.save(
            patient_id, ReminderChoices(enabled=True, by_email=True, email="sam@example.org")
        )
        for kind, name in (
            (Kind.TRAINING, "42-email-training"),
            (Kind.CHECKIN, "43-email-checkin"),
        ):
            reminder = reminders.compose(patient_id, kind, WEDNESDAY + dt.timedelta(days=2))
            message = reminders.email(
                reminder,
                to="sam@example.org",
                name="Sam Steady",
                key=f"example:{kind.value}",
                stop_url=reminders.stop_url(patient_id),
            )
            html = message.get_body(("html",)).get_content()
            page = browser.new_page(viewport=PHONE)
            page.set_content(html)
            expect(page.get_by_role("heading", level=1)).to_have_text(reminder.title)
            expect(page.get_by_role("link", name="stop all reminders")).to_have_attribute(
                "href", reminders.stop_url(patient_id)
            )
            assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
            shoot(page, screenshots, name)
            page.close()
    finally:
        database.dispose()
