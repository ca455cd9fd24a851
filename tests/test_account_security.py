"""The second factor, e-mailed links, closing an account, the audit viewer and the
offline API docs — through the pages and the API, over a real database (and a real SMTP
server on loopback for the e-mails)."""

from __future__ import annotations

import csv
import email
import email.policy
import io
import re
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyotp
import pytest
from aiosmtpd.controller import Controller
from fastapi.testclient import TestClient
from sqlalchemy import select

from groundup.config import Settings
from groundup.services.accounts import AuthError, TooMany
from groundup.storage.models import AuditEntry, Patient, User
from test_security_findings import API, PASSWORD, STAFF_SECRET, World, csrf_of


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    w = World(f"sqlite:///{tmp_path / 'a.db'}")
    yield w
    w.database.dispose()


def sign_in(world: World, email: str, password: str = PASSWORD) -> tuple[TestClient, Any]:
    browser = TestClient(world.app, raise_server_exceptions=False, follow_redirects=False)
    response = browser.post(
        "/login",
        data={"csrf": csrf_of(browser.get("/login").text), "email": email, "password": password},
    )
    return browser, response


def code_step(browser: TestClient, code: str) -> Any:
    page = browser.get("/login/code")
    return browser.post("/login/code", data={"csrf": csrf_of(page.text), "code": code})


# ----- the second factor ---------------------------------------------------------------------


def test_a_clinician_passes_the_code_step_and_a_code_works_once(world: World) -> None:
    browser, first = sign_in(world, "c@example.org")
    assert first.headers["location"].startswith("/login/code")
    before = browser.cookies.get("gu_session")
    # Before the code: no page and no API read with this session.
    assert browser.get("/clinic").headers["location"].startswith("/login/code")
    assert browser.get(f"{API}/patients").status_code == 401
    code = pyotp.TOTP(STAFF_SECRET).now()
    passed = code_step(browser, code)
    assert passed.status_code == 303 and passed.headers["location"] == "/clinic"
    assert browser.cookies.get("gu_session") != before  # a new session id once it counts
    assert browser.get("/clinic").status_code == 200
    other, _ = sign_in(world, "c@example.org")
    replayed = code_step(other, code)
    assert replayed.status_code == 401 and "used already" in replayed.text


def test_recovery_codes_stand_in_once_each(world: World) -> None:
    browser, _ = sign_in(world, "p@example.org")
    page = browser.get("/account/two-factor")
    secret = world.accounts.enrolment(world.person).secret
    turned_on = browser.post(
        "/account/two-factor",
        data={"csrf": csrf_of(page.text), "code": pyotp.TOTP(secret).now()},
    )
    codes = re.findall(r"<code>([a-z0-9-]{14})</code>", turned_on.text)
    assert len(codes) == 10
    again, response = sign_in(world, "p@example.org")
    assert response.headers["location"].startswith("/login/code")
    assert code_step(again, codes[0].upper()).status_code == 303
    third, _ = sign_in(world, "p@example.org")
    assert code_step(third, codes[0]).status_code == 401
    with world.database.reading() as session:
        stored = session.scalars(select(User.totp_secret)).all()
    assert secret in stored and codes[1] not in str(stored)  # codes kept only as hashes


def test_code_guesses_back_off(world: World) -> None:
    now = [3_000_000.0]
    world.accounts.limiter.clock = lambda: now[0]
    # A code that is surely wrong: none of the app's codes from a minute before to a
    # minute after (a fixed guess like "000001" is right about once in 40,000 runs).
    totp = pyotp.TOTP(STAFF_SECRET)
    valid = {totp.at(time.time() + offset * totp.interval) for offset in range(-2, 3)}
    wrong = next(f"{n:06d}" for n in range(1, 10) if f"{n:06d}" not in valid)
    refused = 0
    for _ in range(8):
        try:
            world.accounts.check_code(world.clinician, wrong, "203.0.113.2")
        except TooMany:
            refused += 1
        except AuthError:
            pass
    assert refused >= 3
    with pytest.raises(TooMany):
        world.accounts.check_code(world.clinician, pyotp.TOTP(STAFF_SECRET).now(), "x")


def test_an_admin_resets_a_clinicians_second_factor(world: World) -> None:
    admin = world.accounts.create_user("a@example.org", "Ada", "admin", PASSWORD)
    world.accounts.set_second_factor(admin, pyotp.random_base32())
    clinic = world.browser(world.clinician)
    assert world.client.get(f"{API}/me", headers=world.clinician_headers).status_code == 200
    desk = world.browser(admin)
    page = desk.get("/admin")
    assert "Reset second factor" in page.text
    reset = desk.post(
        f"/admin/clinicians/{world.clinician.id}/second-factor/reset",
        data={"csrf": csrf_of(page.text)},
    )
    assert reset.status_code == 303
    assert clinic.get("/clinic").status_code == 303  # every session ended
    assert world.client.get(f"{API}/me", headers=world.clinician_headers).status_code == 401
    browser, response = sign_in(world, "c@example.org")
    assert response.headers["location"].startswith("/account/two-factor")
    assert "qr.svg" in browser.get("/account/two-factor").text
    # A clinician cannot do it, nor an admin to themselves.
    other = world.accounts.create_user("d@example.org", "Dr Dee", "clinician", PASSWORD)
    dee = world.browser(other)
    refused = dee.post(
        f"/admin/clinicians/{admin.id}/second-factor/reset",
        data={"csrf": csrf_of(dee.get("/account").text)},
    )
    assert refused.status_code == 403
    with pytest.raises(Exception, match="another admin"):
        world.accounts.reset_second_factor(admin, admin.id)


def test_the_qr_code_is_made_here_and_served_under_the_apps_policy(world: World) -> None:
    browser, _ = sign_in(world, "p@example.org")
    page = browser.get("/account/two-factor")
    assert '<img class="qr" src="/account/two-factor/qr.svg"' in page.text
    qr = browser.get("/account/two-factor/qr.svg")
    assert qr.status_code == 200 and qr.headers["content-type"].startswith("image/svg+xml")
    # A whole SVG document: an <img> shows nothing without the namespace.
    assert 'xmlns="http://www.w3.org/2000/svg"' in qr.text and "<path" in qr.text
    assert "script-src 'self'" in qr.headers["content-security-policy"]
    assert qr.headers["cache-control"] == "no-store"


# ----- mail: password reset and confirming an address ------------------------------------


class Inbox:
    def __init__(self) -> None:
        self.messages: list[str] = []
        self.arrived = threading.Event()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        body = message.get_body()
        assert body is not None
        self.messages.append(f"To: {message['To']}\n{body.get_content()}")
        self.arrived.set()
        return "250 OK"

    def wait(self, count: int) -> list[str]:
        deadline = time.monotonic() + 20
        while len(self.messages) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(self.messages) >= count, self.messages
        return self.messages


@pytest.fixture
def mailing(tmp_path: Path) -> Iterator[tuple[World, Inbox]]:
    inbox = Inbox()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        settings = Settings(
            smtp_url=f"smtp://127.0.0.1:{port}",
            public_url="https://groundup.example.org",  # type: ignore[arg-type]
        )
        w = World(f"sqlite:///{tmp_path / 'm.db'}", settings)
        yield w, inbox
        w.database.dispose()
    finally:
        controller.stop()


def test_a_password_reset_link_by_e_mail_answers_alike_and_works_once(
    mailing: tuple[World, Inbox],
) -> None:
    world, inbox = mailing
    answers = []
    for address in ("p@example.org", "nobody@example.org"):
        browser = TestClient(world.app, raise_server_exceptions=False, follow_redirects=False)
        page = browser.get("/password/forgot")
        answers.append(
            browser.post("/password/forgot", data={"csrf": csrf_of(page.text), "email": address})
        )
    assert answers[0].status_code == answers[1].status_code == 200
    assert (
        answers[0].text == answers[1].text and "If that address has an account" in answers[0].text
    )
    mail = inbox.wait(1)[0]
    assert "To: p@example.org" in mail
    link = re.search(r"https://groundup\.example\.org/password/reset\?token=([\w-]+)", mail)
    assert link, mail
    browser = TestClient(world.app, raise_server_exceptions=False, follow_redirects=False)
    page = browser.get(f"/password/reset?token={link.group(1)}")
    done = browser.post(
        "/password/reset",
        data={"csrf": csrf_of(page.text), "token": link.group(1), "new": "a brand new hill walk"},
    )
    assert done.status_code == 303
    assert world.client.get(f"{API}/me", headers=world.person_headers).status_code == 401
    again = browser.post(
        "/password/reset",
        data={"csrf": csrf_of(page.text), "token": link.group(1), "new": "yet another hill walk"},
    )
    assert again.status_code == 400 and "expired or was used" in again.text
    assert world.accounts.authenticate("p@example.org", "a brand new hill walk", "x")


def test_a_new_address_is_confirmed_by_e_mail_before_signing_in(
    mailing: tuple[World, Inbox],
) -> None:
    world, inbox = mailing
    for address in ("new@example.org", "p@example.org"):
        response = world.client.post(
            f"{API}/register",
            json={"email": address, "display_name": "Neo", "password": "walking up the hill"},
        )
        assert response.status_code == 202 and response.json()["confirm_by_email"] is True
    mails = inbox.wait(2)
    by_address = {re.search(r"To: (\S+)", m).group(1): m for m in mails}  # type: ignore[union-attr]
    assert "already" in by_address["p@example.org"] or "has one" in by_address["p@example.org"]
    with pytest.raises(AuthError, match="confirm"):
        world.accounts.authenticate("new@example.org", "walking up the hill", "x")
    token = re.search(r"confirm\?token=([\w-]+)", by_address["new@example.org"])
    assert token
    assert world.client.get(f"/confirm?token={token.group(1)}").status_code == 303
    assert world.accounts.authenticate("new@example.org", "walking up the hill", "x")


# ----- closing an account ------------------------------------------------------------------------


def test_a_person_on_their_own_closes_their_account_and_their_record_goes(world: World) -> None:
    alone = world.accounts.register_person("solo@example.org", "Solo", PASSWORD)
    browser = world.browser(alone)
    page = browser.get("/account/close")
    assert "whole record is deleted" in page.text and "/me/export?format=json" in page.text
    wrong = browser.post(
        "/account/close",
        data={"csrf": csrf_of(page.text), "password": "not it at all", "confirm": "yes"},
    )
    assert wrong.status_code == 401
    closed = browser.post(
        "/account/close",
        data={"csrf": csrf_of(page.text), "password": PASSWORD, "confirm": "yes"},
    )
    assert closed.status_code == 200 and "record is deleted" in closed.text
    with world.database.reading() as session:
        assert session.get(Patient, alone.patient_id) is None
        assert session.scalars(select(User).where(User.email == "solo@example.org")).first() is None
        lines = session.scalars(
            select(AuditEntry.detail).where(AuditEntry.action == "account_closed")
        ).all()
    assert lines == ["record deleted"]
    assert browser.get("/me").status_code == 303


def test_a_clinics_patient_closes_their_account_and_the_clinic_keeps_the_record(
    world: World,
) -> None:
    page = world.browser(world.person).get("/account/close")
    assert "Your clinic keeps the record" in page.text and "Dr Cee" in page.text
    closed = world.client.post(
        f"{API}/me/close", json={"password": PASSWORD}, headers=world.person_headers
    )
    assert closed.status_code == 200 and closed.json() == {"closed": True, "record_deleted": False}
    assert world.client.get(f"{API}/me", headers=world.person_headers).status_code == 401
    kept = world.client.get(f"{API}/patients/{world.pid}", headers=world.clinician_headers)
    assert kept.status_code == 200 and kept.json()["has_account"] is False


# ----- the audit viewer ----------------------------------------------------------------------------


def test_admins_see_who_read_which_record_from_where_and_download_it(world: World) -> None:
    world.client.get(
        f"{API}/patients/{world.pid}/program",
        headers={**world.clinician_headers},
    )
    admin = world.accounts.create_user("a@example.org", "Ada", "admin", PASSWORD)
    desk = world.browser(admin)
    found = desk.get(f"/admin/audit?patient={world.pid}&action=read_program")
    assert found.status_code == 200
    assert "clinician c@example.org" in found.text and "testclient" in found.text
    assert f"#{world.clinician.id}" in found.text
    searched = desk.get("/admin/audit", params={"q": "c@example.org"})
    assert "read_program" in searched.text
    bad = desk.get("/admin/audit?since=yesterday")
    assert bad.status_code == 400 and "a date" in bad.text
    exported = desk.get(f"/admin/audit.csv?patient={world.pid}")
    assert exported.status_code == 200 and exported.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    reads = [r for r in rows if r["action"] == "read_program"]
    assert reads and reads[0]["actor"] == "clinician c@example.org (API)"
    assert reads[0]["user_id"] == str(world.clinician.id) and reads[0]["address"] == "testclient"
    # Nobody else reads the trail, and it holds no health data.
    assert world.browser(world.clinician).get("/admin/audit").status_code == 403
    assert world.browser(world.person).get("/admin/audit.csv").status_code in (403, 404)
    assert "Pat Person" not in exported.text


# ----- the offline API docs ------------------------------------------------------------------------


def test_the_api_docs_load_from_the_app_under_its_policy(world: World) -> None:
    page = world.client.get("/api/docs")
    assert page.status_code == 200
    sources = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert sources and all(s.startswith("/") for s in sources), sources  # no CDN
    assert "<script>" not in page.text  # no inline script: the policy would refuse it
    for source in sources:
        asset = world.client.get(source)
        assert asset.status_code == 200, source
    assert "default-src 'self'" in page.headers["content-security-policy"]
    shown = world.client.get("/api/docs/openapi.json").json()
    assert shown["paths"] and all(p.startswith("/api/v1/") for p in shown["paths"])
    assert "Body_login" not in shown["components"]["schemas"]  # no page's form in the API
    assert world.client.get("/api/docs/assets/index.html").status_code == 404
    assert world.client.get("/api/docs/assets/..%2f..%2fconfig.py").status_code == 404
