"""Sign-ins that end, and ids that cannot be guessed into someone else's data.

- A web session stops working once it expires: the pages send the person to sign in again
  and the API no longer reads with its cookie; the cookie itself does not outlive it.
- A revoked or expired API token is refused on every route, not just one.
- Guessed ids — sequential numbers, another person's id in other spellings or cut short,
  wildcards, random UUIDs, other people's log ids — never reveal anything, and answer
  exactly as an id that does not exist does.
- After signing in, the page it goes on to stays on this site.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from groundup.cli.files import read_document, validate
from groundup.clinical.intake import Intake
from groundup.clinical.logs import SessionLog
from groundup.knowledge import load_rules
from groundup.services import Services
from groundup.services.accounts import SESSION_HOURS, Account, Accounts
from groundup.storage.database import Database
from groundup.storage.models import ApiToken, User, WebSession
from groundup.web.app import create_app

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "clear-left-calf.yaml"
PASSWORD = "a long enough secret"
A_NAME = "Annabel Secretperson"


class World:
    def __init__(self, tmp: Path) -> None:
        self.database = Database(f"sqlite:///{tmp / 's.db'}")
        self.services = Services(self.database, load_rules())
        self.app = create_app(services=self.services)
        self.accounts: Accounts = self.app.state.accounts
        self.clinician = self.accounts.create_user("c@example.org", "Dr C", "clinician", PASSWORD)
        self.other_clinician = self.accounts.create_user(
            "d@example.org", "Dr D", "clinician", PASSWORD
        )
        self.a = self.accounts.register_person("a@example.org", A_NAME, PASSWORD)
        self.b = self.accounts.register_person("b@example.org", "Bo Other", PASSWORD)
        assert self.a.patient_id and self.b.patient_id
        self.a_id, self.b_id = self.a.patient_id, self.b.patient_id
        for pid, log_id in ((self.a_id, "annabel-session-1"), (self.b_id, "bo-session-0001")):
            self._start(pid, log_id)
        self.client = TestClient(self.app, raise_server_exceptions=False, follow_redirects=False)

    def _start(self, pid: str, log_id: str) -> None:
        intake = validate(Intake, read_document(EXAMPLE), str(EXAMPLE))
        assert intake.assessment is not None
        start = dt.date.today() - dt.timedelta(days=7)
        preferences = intake.preferences.model_copy(update={"training_days": tuple(range(7))})
        self.services.record_screen(pid, intake.screen, start)
        program = self.services.start_program(
            pid, intake.assessment.model_copy(update={"date": start}), preferences, day=start
        )
        slot = program.slots[0]
        dose = slot.doses[0]
        self.services.log_session(
            pid,
            SessionLog.model_validate(
                {
                    "id": log_id,
                    "date": start.isoformat(),
                    "exercises": [
                        {
                            "exercise_id": slot.exercise_id,
                            "side": dose.side.value if dose.side else None,
                            "sets": [{"amount": dose.amount, "rpe": 6, "pain": 2}],
                        }
                    ],
                }
            ),
        )

    def token(self, account: Account) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.accounts.new_api_token(account, 'test')}"}

    def get(
        self, url: str, headers: dict[str, str] | None = None, cookie: str | None = None
    ) -> Any:
        self.client.cookies.clear()
        if cookie:
            self.client.cookies.set("gu_session", cookie)
        return self.client.get(url, headers=headers or {})


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    w = World(tmp_path)
    yield w
    w.database.dispose()


def _expire(world: World, model: Any) -> None:
    with world.database.transaction() as session:
        session.execute(
            update(model).values(expires_at=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1))
        )


# ----- sessions and tokens that end -----------------------------------------------------------


def test_a_web_session_ends_when_it_expires(world: World) -> None:
    cookie, _ = world.accounts.start_session(world.a, second_factor=True)
    assert world.get("/me", cookie=cookie).status_code == 200
    api = f"/api/v1/patients/{world.a_id}"
    assert world.get(api, cookie=cookie).status_code == 200

    with world.database.transaction() as session:
        row = session.scalars(select(WebSession)).one()
        lifetime = row.expires_at.replace(tzinfo=dt.UTC) - dt.datetime.now(dt.UTC)
    assert lifetime <= dt.timedelta(hours=SESSION_HOURS)

    _expire(world, WebSession)
    page = world.get("/me", cookie=cookie)
    assert page.status_code == 303 and page.headers["location"].startswith("/login")
    assert A_NAME not in page.text
    refused = world.get(api, cookie=cookie)
    assert refused.status_code == 401 and refused.json()["error"]
    assert A_NAME not in refused.text


def test_the_sign_in_cookie_does_not_outlive_the_session(world: World) -> None:
    world.client.cookies.clear()
    form = world.client.get("/login")
    csrf = re.search(r'name="csrf" value="([^"]+)"', form.text)
    assert csrf, "the sign-in form carries a CSRF token"
    signed_in = world.client.post(
        "/login", data={"email": "a@example.org", "password": PASSWORD, "csrf": csrf.group(1)}
    )
    assert signed_in.status_code == 303, signed_in.text[:300]
    cookie = signed_in.headers["set-cookie"]
    max_age = int(re.search(r"Max-Age=(\d+)", cookie, re.I).group(1))  # type: ignore[union-attr]
    assert 0 < max_age <= SESSION_HOURS * 3600
    assert "httponly" in cookie.lower()


def test_revoked_and_expired_tokens_are_refused_on_every_route(world: World) -> None:
    routes = [
        f"/api/v1/patients/{world.a_id}{tail}"
        for tail in (
            "",
            "/screen",
            "/program",
            "/program/versions",
            "/program/versions/1",
            "/today",
            "/sessions",
            "/checkins",
            "/assessments",
            "/decisions",
            "/progress",
            "/export",
        )
    ] + ["/api/v1/me", "/api/v1/patients", "/api/v1/exercises"]
    revoked = world.token(world.a)
    for url in routes:
        assert world.get(url, revoked).status_code == 200, url
    world.client.cookies.clear()
    assert world.client.delete("/api/v1/tokens/current", headers=revoked).status_code == 200
    expired = world.token(world.a)
    with world.database.transaction() as session:
        session.execute(
            update(ApiToken)
            .where(ApiToken.revoked.is_(False))
            .values(expires_at=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1))
        )
    for headers in (revoked, expired):
        for url in routes:
            response = world.get(url, headers)
            assert response.status_code == 401, (url, response.status_code)
            assert A_NAME not in response.text and "annabel-session" not in response.text


# ----- ids that are guessed --------------------------------------------------------------------


def _same(a: Any, b: Any, a_id: str, b_id: str) -> bool:
    return (a.status_code, a.text.replace(a_id, "<id>")) == (
        b.status_code,
        b.text.replace(b_id, "<id>"),
    )


def test_guessed_patient_ids_answer_like_ids_that_do_not_exist(world: World) -> None:
    b = world.token(world.b)
    a_id = world.a_id
    guesses = [
        a_id,
        a_id.upper(),
        a_id[:8],
        a_id[:-1],
        f" {a_id}",
        a_id[:8] + "%",
        "%",
        "_" * 32,
        "*",
        "1",
        "2",
        "0",
        "-1",
        str(uuid.uuid4()),
        uuid.uuid4().hex,
    ]
    for tail in ("", "/sessions", "/program/versions/1", "/export", "/decisions"):
        unknown_id = uuid.uuid4().hex
        baseline = world.get(f"/api/v1/patients/{unknown_id}{tail}", b)
        assert baseline.status_code == 404
        for guess in guesses:
            response = world.get(f"/api/v1/patients/{guess}{tail}", b)
            assert response.status_code in (404, 422), (guess, tail, response.status_code)
            assert A_NAME not in response.text and "annabel-session" not in response.text
            if response.status_code == 404:
                assert _same(response, baseline, guess, unknown_id), (guess, tail, response.text)


def test_guessed_version_numbers_and_log_ids_stay_with_their_owner(world: World) -> None:
    b = world.token(world.b)
    for version in (0, 1, 2, 3, 10**6, -1):
        own = world.get(f"/api/v1/patients/{world.b_id}/program/versions/{version}", b)
        foreign = world.get(f"/api/v1/patients/{world.a_id}/program/versions/{version}", b)
        assert foreign.status_code == 404 and A_NAME not in foreign.text
        assert own.status_code in (200, 404, 422)
    # B's own list never shows A's session, even when B asks for pages far along.
    for offset in (0, 1, 100):
        listed = world.get(f"/api/v1/patients/{world.b_id}/sessions?offset={offset}", b)
        assert listed.status_code == 200
        assert "annabel-session" not in listed.text
    # B logging a session under A's log id stores B's own, and tells B nothing about A's.
    slot = world.services.program(world.b_id).slots[0]
    dose = slot.doses[0]
    day = dt.date.today() - dt.timedelta(days=6)
    body = {
        "id": "annabel-session-1",
        "date": day.isoformat(),
        "exercises": [
            {
                "exercise_id": slot.exercise_id,
                "side": dose.side.value if dose.side else None,
                "sets": [{"amount": dose.amount, "rpe": 7, "pain": 1}],
            }
        ],
    }
    world.client.cookies.clear()
    posted = world.client.post(f"/api/v1/patients/{world.b_id}/sessions", json=body, headers=b)
    assert posted.status_code == 201, posted.text
    assert posted.json()["duplicate"] is False
    a_sessions = world.services.history(world.a_id)
    assert [e.id for e in a_sessions if isinstance(e, SessionLog)] == ["annabel-session-1"]
    assert world.get(f"/api/v1/patients/{world.a_id}/sessions", b).status_code == 404


def test_a_clinician_cannot_switch_other_accounts_by_guessing_user_ids(world: World) -> None:
    cookie, csrf = world.accounts.start_session(world.clinician, second_factor=True)
    with world.database.transaction() as session:
        before = {u.id: u.active for u in session.scalars(select(User))}
    for user_id in [*before, max(before) + 1, 0, -1]:
        world.client.cookies.clear()
        world.client.cookies.set("gu_session", cookie)
        response = world.client.post(
            f"/admin/clinicians/{user_id}/active", data={"csrf": csrf, "active": "false"}
        )
        assert response.status_code in (303, 401, 403, 404, 422), (user_id, response.status_code)
        if response.status_code == 303:
            assert response.headers["location"].startswith("/login")
    with world.database.transaction() as session:
        assert {u.id: u.active for u in session.scalars(select(User))} == before


# ----- where signing in goes next ---------------------------------------------------------------


@pytest.mark.parametrize(
    "target",
    [
        "//evil.example/",
        "/\\evil.example/",
        "/\\/evil.example/",
        "/\t/evil.example/",
        "https://evil.example/",
        "\\\\evil.example",
    ],
)
def test_signing_in_never_sends_the_browser_to_another_site(world: World, target: str) -> None:
    world.client.cookies.clear()
    form = world.client.get("/login")
    csrf = re.search(r'name="csrf" value="([^"]+)"', form.text)
    assert csrf
    response = world.client.post(
        "/login",
        data={
            "email": "a@example.org",
            "password": PASSWORD,
            "csrf": csrf.group(1),
            "next": target,
        },
    )
    assert response.status_code == 303
    location = response.headers["location"]
    # A path on this site: one leading slash, and nothing a browser would read as a slash or
    # skip over (a raw backslash, a tab) to make it "//elsewhere".
    assert location.startswith("/") and location[1:2] not in ("/", "\\"), location
    assert not re.search(r"[\\\x00-\x20]", location), location
    assert "://" not in location, location
