"""A session logged without a network, in real Chromium against `groundup serve --demo`:
the network goes mid-session and the page's own script runs the rest of it on the device
(IndexedDB), a closed tab loses nothing, the person sees what waits to be sent, and when
the network is back the server holds the session exactly once with the engine's decisions.
A retried upload is stored once, a clash with a session logged from another device is
shown, and pain 7 ends the session with the flare-up plan offline too. What the server
holds is read from its own database. Phone screenshots go to artifacts/screenshots/."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect
from test_journeys import PHONE, fill
from test_session_safety import (
    STOP_EXERCISE,
    STOP_SESSION,
    answer_step,
    big_targets,
    new_person,
    phone_shot,
)

from conftest import demo_server

pytestmark = pytest.mark.browser

PASSWORD = "a long enough password"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """A server of this module's own, and the folder whose database it writes."""
    home = tmp_path_factory.mktemp("offline-web")
    with demo_server(home) as url:
        yield url, home


def database(home: Path) -> sqlite3.Connection:
    """The demo server's own database (a fresh one in its folder), read only."""
    (path,) = home.glob("demo-*/demo-web.db")
    return sqlite3.connect(f"file:{path}?mode=ro", uri=True)


def stored(home: Path, email: str) -> list[dict[str, Any]]:
    """The sessions the server holds for this person, read from its database."""
    with database(home) as db:
        rows = db.execute(
            "SELECT s.log_id, s.date, s.pain_after, s.data FROM session_logs s "
            "JOIN patients p ON p.id = s.patient_id JOIN users u ON u.id = p.user_id "
            "WHERE u.email = ?",
            (email,),
        ).fetchall()
    return [
        {"log_id": r[0], "date": r[1], "pain_after": r[2], "data": json.loads(r[3])} for r in rows
    ]


def decisions(home: Path, email: str, day: str) -> list[tuple[str, str]]:
    with database(home) as db:
        return db.execute(
            "SELECT d.kind, d.rule FROM decisions d "
            "JOIN patients p ON p.id = d.patient_id JOIN users u ON u.id = p.user_id "
            "WHERE u.email = ? AND d.date = ?",
            (email, day),
        ).fetchall()


# True once the device's copy of the session holds this pain answer for the current step.
KEPT_PAIN = """pain => new Promise(resolve => {
  const open = indexedDB.open('groundup');
  open.onsuccess = () => {
    const all = open.result.transaction('sessions').objectStore('sessions').getAll();
    all.onsuccess = () => {
      open.result.close();
      resolve(all.result.some(r => r.answers && r.answers.pain === pain));
    };
  };
})"""


def controlled(page: Page) -> None:
    """The service worker is active and answers for this page (so Today is kept)."""
    page.evaluate("navigator.serviceWorker.ready")
    page.reload()
    assert page.evaluate("!!navigator.serviceWorker.controller")


def next_step(page: Page, pain: int = 1) -> None:
    answer_step(page, pain)
    page.locator('button[name="action"][value="next"]').click()


def big_targets_and_labels(page: Page) -> None:
    """Every control of the device's player is labelled and at least 44 px to tap, and
    nothing scrolls sideways."""
    big_targets(page, "form[data-device-form]")
    unlabelled = page.evaluate(
        """[...document.querySelectorAll('form[data-device-form] input, form[data-device-form] button')]
        .filter(e => !(e.labels && e.labels.length) && !e.getAttribute('aria-label')
                     && !e.textContent.trim()).length"""
    )
    assert unlabelled == 0


def offline_from_the_first_step(browser: Browser, url: str, name: str) -> Page:
    """A new person starts today's session; the network goes before the first step is
    sent, so the device runs the session from the second step on."""
    page = new_person(browser, url, name)
    controlled(page)
    page.get_by_role("button", name="Start the session").click()
    page.context.set_offline(True)
    next_step(page)
    expect(page.locator("[data-on-device]")).to_be_visible()
    return page


def sign_in(context: BrowserContext, server: str, email: str) -> Page:
    page = context.new_page()
    page.goto(f"{server}/login")
    fill(page, {"email": email, "password": PASSWORD})
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(f"{server}/me")
    return page


def test_a_session_logged_offline_is_kept_and_stored_once_when_the_network_is_back(
    browser: Browser, server: tuple[str, Path], screenshots: Path
) -> None:
    url, home = server
    page = new_person(browser, url, "Offline")
    email = "offline@example.org"
    context = page.context
    controlled(page)
    page.get_by_role("button", name="Start the session").click()
    next_step(page)  # the first step reaches the server
    expect(page.locator(".progress-line")).to_contain_text("Step 2 of")

    context.set_offline(True)
    next_step(page)  # this one cannot: the device carries on
    expect(page.locator("[data-on-device]")).to_be_visible()
    expect(page.locator(".progress-line")).to_contain_text("Step 3 of")
    big_targets_and_labels(page)
    phone_shot(page, screenshots, "45-offline-player")
    # A number typed and not yet sent is kept as it is entered: the tab closes.
    page.locator('input[name="pain"][value="2"]').check(force=True)
    page.wait_for_function(KEPT_PAIN, arg="2")
    page.close()

    again = context.new_page()
    again.goto(f"{url}/me")
    kept = again.locator('[data-kept="playing"]')
    expect(kept).to_contain_text("2 of")
    assert again.get_by_role("button", name="Start the session").is_hidden()
    kept.get_by_role("button", name="Carry on from step 3").click()
    expect(again.locator(".progress-line")).to_contain_text("Step 3 of")
    expect(again.locator('input[name="pain"][value="2"]')).to_be_checked()
    # Pain 6 on a main exercise ends that exercise, offline as online.
    stopped = ""
    for _ in range(40):
        if again.get_by_role("button", name="Save this session").count():
            break
        main = "Main work" in again.locator(".progress-line").inner_text()
        if main and not stopped:
            stopped = again.locator("h1").inner_text()
            next_step(again, STOP_EXERCISE)
            expect(again.locator("[data-notice]")).to_contain_text(f"at pain {STOP_EXERCISE}")
            expect(again.locator("[data-notice]")).to_contain_text("Next time it steps back")
        else:
            next_step(again)
    else:
        pytest.fail("the session did not end")
    assert stopped, "no main exercise in the session"
    again.locator('input[name="pain_after"][value="2"]').check(force=True)
    again.get_by_role("button", name="Save this session").click()
    expect(again.locator("h1")).to_have_text("Session kept on this device")
    expect(again.locator("[data-waiting]")).to_contain_text("1 session waiting to be sent")
    again.close()
    assert stored(home, email) == [], "nothing reached the server while offline"

    # Reopened without a network: Today says what waits to be sent.
    today = context.new_page()
    today.goto(f"{url}/me")
    expect(today.locator("[data-waiting]")).to_have_text(
        "1 session waiting to be sent when the connection is back."
    )
    expect(today.locator('[data-kept="waiting"]')).to_contain_text("Send now")
    phone_shot(today, screenshots, "46-today-waiting-to-send")

    uploads: list[str] = []
    today.on(
        "request",
        lambda r: uploads.append(r.post_data or "") if r.url.endswith("/upload") else None,
    )
    context.set_offline(False)  # the `online` event sends it
    sent = today.locator('[data-kept="sent"]')
    expect(sent).to_contain_text("Session saved")
    expect(today.locator("[data-waiting]")).to_have_count(0)
    phone_shot(today, screenshots, "47-today-sent")

    held = stored(home, email)
    assert len(held) == 1, held
    session = held[0]
    assert session["pain_after"] == 2
    logged = session["data"]["exercises"]
    assert max(s["pain"] for e in logged for s in e["sets"]) == STOP_EXERCISE
    # The engine's decisions are stored, and shown as after a normal save.
    made = decisions(home, email, session["date"])
    assert "regress" in [kind for kind, _ in made], made
    expect(sent.locator(".timeline")).to_contain_text("Eased back")

    # The same upload again, twice (a retry whose answer was lost): stored once.
    assert len(uploads) == 1
    for _ in range(2):
        answer = today.evaluate(
            """body => {
              const form = new URLSearchParams(body);
              form.set('csrf', document.querySelector('input[name="csrf"]').value);
              return fetch('/me/session/upload', {method: 'POST', body: form})
                .then(r => r.json().then(j => [r.status, j.status]));
            }""",
            uploads[0],
        )
        assert answer == [200, "duplicate"]
    assert len(stored(home, email)) == 1
    today.reload()
    expect(today.get_by_text("This session is logged")).to_be_visible()
    context.close()


def test_a_session_logged_meanwhile_on_another_device_is_shown_not_dropped(
    browser: Browser, server: tuple[str, Path], screenshots: Path
) -> None:
    url, home = server
    page = offline_from_the_first_step(browser, url, "Clash")
    email = "clash@example.org"
    context = page.context
    for _ in range(40):
        if page.get_by_role("button", name="Save this session").count():
            break
        next_step(page)
    page.locator('input[name="pain_after"][value="1"]').check(force=True)
    page.get_by_role("button", name="Save this session").click()
    expect(page.locator("[data-waiting]")).to_contain_text("1 session waiting to be sent")

    # Meanwhile the person skips today on another device.
    other = browser.new_context(viewport=PHONE)
    elsewhere = sign_in(other, url, email)
    elsewhere.get_by_text("Not training today?").click()
    elsewhere.locator("#f-reason").fill("busy at work")
    elsewhere.get_by_role("button", name="Skip today").click()
    expect(elsewhere.locator("h1")).to_have_text("Skipped for today")
    other.close()

    context.set_offline(False)
    clash = page.locator('[data-kept="conflict"]')
    expect(clash).to_contain_text("clashes with what is already saved")
    expect(clash.locator("[data-server-has]")).to_contain_text("Skipped: busy at work")
    expect(clash).to_contain_text("Pain right after the session: 1")
    phone_shot(page, screenshots, "48-offline-conflict")
    # The copy stays on the device, shown on Today too, until the person removes it.
    page.goto(f"{url}/me")
    expect(page.locator('[data-kept="conflict"]')).to_contain_text("Skipped: busy at work")
    held = stored(home, email)
    assert len(held) == 1 and held[0]["data"].get("skipped") is True
    page.on("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Remove the copy on this device").click()
    expect(page.locator('[data-kept="conflict"]')).to_have_count(0)
    context.close()


def test_pain_7_offline_ends_the_session_and_shows_the_flare_up_plan(
    browser: Browser, server: tuple[str, Path], screenshots: Path
) -> None:
    url, home = server
    page = offline_from_the_first_step(browser, url, "Flare")
    email = "flare@example.org"
    context = page.context
    answer_step(page, STOP_SESSION)
    expect(page.locator("[data-pain-says]")).to_contain_text("the session stops here")
    page.locator('button[name="action"][value="next"]').click()
    expect(page.locator("h1")).to_contain_text(f"pain {STOP_SESSION}")
    expect(page.locator("[data-stopped]")).to_contain_text("the session ends now")
    expect(page.locator("[data-flare-plan]")).to_contain_text("flare-up plan")
    # No further step is offered.
    assert page.locator('button[name="action"][value="next"]').count() == 0
    phone_shot(page, screenshots, "49-offline-stopped-pain-7")
    context.set_offline(False)
    expect(page.locator('[data-kept="sent"]')).to_contain_text(f"pain {STOP_SESSION}")
    expect(page.locator('[data-kept="sent"] .timeline')).to_contain_text("Flare-up plan")
    held = stored(home, email)
    assert len(held) == 1 and held[0]["pain_after"] == STOP_SESSION
    assert ("flare", "flare.start") in decisions(home, email, held[0]["date"]) or any(
        kind == "flare" for kind, _ in decisions(home, email, held[0]["date"])
    )
    context.close()


def test_a_warning_sign_offline_stops_the_session_and_says_what_to_do(
    browser: Browser, server: tuple[str, Path], screenshots: Path
) -> None:
    url, home = server
    page = offline_from_the_first_step(browser, url, "Calf")
    email = "calf@example.org"
    page.get_by_text("Something worrying?").click()
    # Stopping without ticking a sign asks which one, offline too.
    page.get_by_role("button", name="Stop the session").click()
    expect(page.locator(".field-error")).to_contain_text("choose the sign")
    page.locator('input[name="sign"][value="calf_swollen_hot"]').check()
    page.get_by_role("button", name="Stop the session").click()
    expect(page.locator("h1")).to_have_text("Stop now and get help")
    expect(page.locator("[data-paused]")).to_contain_text("emergency department")
    expect(page.get_by_text("Don't massage or exercise the leg")).to_be_visible()
    phone_shot(page, screenshots, "50-offline-warning-sign")
    page.context.set_offline(False)
    expect(page.locator('[data-kept="sent"] [data-paused]')).to_contain_text("emergency department")
    held = stored(home, email)
    assert len(held) == 1 and held[0]["data"]["warning_signs"] == ["calf_swollen_hot"]
    # The program is paused on the server: Today offers no session.
    page.goto(f"{url}/me")
    expect(page.locator("h1")).to_have_text("Stop now and get help")
    page.context.close()


def test_a_step_that_cannot_reach_the_server_carries_on_on_the_device(
    browser: Browser, server: tuple[str, Path]
) -> None:
    """The browser thinks it is online, but the step's request gets nowhere (a gym's weak
    signal): the service worker answers with Today, which carries on from the copy kept
    before the step was sent."""
    url, _ = server
    page = new_person(browser, url, "Weak")
    controlled(page)
    page.get_by_role("button", name="Start the session").click()
    expect(page.locator(".progress-line")).to_contain_text("Step 1 of")
    page.context.route(f"{url}/me/session/0", lambda route: route.abort())
    answer_step(page, 1)
    page.locator('button[name="action"][value="next"]').click()
    expect(page.locator("[data-on-device]")).to_be_visible()
    expect(page.locator(".progress-line")).to_contain_text("Step 2 of")
    assert page.evaluate("navigator.onLine")
    page.context.close()
