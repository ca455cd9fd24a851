"""What an attacker found, each pinned by a test that failed before its fix.

1. a lone surrogate in a check-in made the person's record unreadable (SQLite);
2. a NUL byte in any text gave 500 on PostgreSQL;
3. a hand-made session form crashed the review page;
4. API tokens outlived a password change, and nobody could list or revoke them;
5. registration and sign-in told a known address from an unknown one;
6. the sign-in limit was not atomic, locked the owner out, believed any X-Forwarded-For,
   and registration had no limit;
7. CSV exports carried live formulas;
8. a check-in's warning signs had no limits;
9. trivial passwords passed, and an admin-set password was never replaced;
10. dates from year 1 to year 9999 were taken;
11. a repeated id or a deep FHIR record in an import crashed with a raw error;
12. health data could be cached;
13. links were built from the request's Host header;
14. the API switched a safety rule "off" the page refused, invite codes were case-
    sensitive and unlimited, a second id for a logged day said 404, and "2" passed as 2.
"""

from __future__ import annotations

import base64
import csv
import datetime as dt
import io
import json
import re
import statistics
import threading
import time
import uuid
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyotp
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, text

from groundup.cli.files import read_document, validate
from groundup.clinical.intake import Intake
from groundup.clinical.logs import CheckIn, Override
from groundup.config import Settings
from groundup.knowledge import load_rules
from groundup.services import ServiceError, Services
from groundup.services.accounts import Account, Accounts, AuthError, TooMany
from groundup.storage.database import Database
from groundup.storage.models import CheckInRecord, DecisionRecord, OverrideRecord
from groundup.web.app import create_app

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "clear-left-calf.yaml"
PASSWORD = "a long enough secret"
API = "/api/v1"
TODAY = dt.date.today()
START = TODAY - dt.timedelta(days=7)
STAFF_SECRET = pyotp.random_base32()


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def csrf_of(page: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', page)
    assert found, "no form token on the page"
    return found.group(1)


class World:
    """An app over a fresh database: clinician C (second factor set up) with patient P
    (who has claimed the record, with a program and a logged session)."""

    def __init__(self, url: str, settings: Settings | None = None) -> None:
        self.database = Database(url)
        self.services = Services(self.database, load_rules(), actor="test")
        self.settings = settings or Settings()
        self.app = create_app(services=self.services, settings=self.settings)
        self.accounts: Accounts = self.app.state.accounts
        self.clinician = self.accounts.create_user("c@example.org", "Dr Cee", "clinician", PASSWORD)
        self.accounts.set_second_factor(self.clinician, STAFF_SECRET)
        self.pid, code = self.accounts.create_patient(self.clinician, "Pat Person")
        self.person = self.accounts.register_person(
            "p@example.org", "Pat Person", PASSWORD, invite=code
        )
        intake = validate(Intake, read_document(EXAMPLE), str(EXAMPLE))
        assert intake.assessment is not None
        preferences = intake.preferences.model_copy(update={"training_days": tuple(range(7))})
        self.services.record_screen(self.pid, intake.screen, START)
        self.program = self.services.start_program(
            self.pid, intake.assessment.model_copy(update={"date": START}), preferences, day=START
        )
        self.client = TestClient(self.app, raise_server_exceptions=False, follow_redirects=False)
        self.person_headers = auth(self.accounts.new_api_token(self.person, "test"))
        self.clinician_headers = auth(self.accounts.new_api_token(self.clinician, "test"))

    def session_body(self, day: dt.date, log_id: str, **extra: Any) -> dict[str, Any]:
        slot = self.program.slots[0]
        dose = slot.doses[0]
        return {
            "id": log_id,
            "date": day.isoformat(),
            "exercises": [
                {
                    "exercise_id": slot.exercise_id,
                    "side": dose.side.value if dose.side else None,
                    "sets": [{"amount": dose.amount, "rpe": 6, "pain": 2, **extra}],
                }
            ],
        }

    def raw_post(self, path: str, headers: dict[str, str], body: str) -> Any:
        """A JSON body sent as written (json.dumps would refuse what clients send)."""
        return self.client.post(
            API + path,
            content=body.encode("utf-8", "surrogatepass"),
            headers={**headers, "Content-Type": "application/json"},
        )

    def browser(self, account: Account) -> TestClient:
        client = TestClient(self.app, raise_server_exceptions=False, follow_redirects=False)
        cookie, _ = self.accounts.start_session(account, second_factor=True)
        client.cookies.set("gu_session", cookie)
        return client


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    w = World(f"sqlite:///{tmp_path / 'f.db'}")
    yield w
    w.database.dispose()


@pytest.fixture
def any_world(database_url: str) -> Iterator[World]:
    w = World(database_url)
    yield w
    w.database.dispose()


def readable(world: World, headers: dict[str, str]) -> None:
    """Every read of the person's record answers, and the export too."""
    for tail in ("", "/program", "/today", "/checkins", "/sessions", "/decisions", "/progress"):
        response = world.client.get(f"{API}/patients/{world.pid}{tail}", headers=headers)
        assert response.status_code == 200, (tail, response.status_code, response.text[:200])
    for format in ("json", "csv", "fhir"):
        response = world.client.get(
            f"{API}/patients/{world.pid}/export", params={"format": format}, headers=headers
        )
        assert response.status_code == 200, (format, response.text[:200])


# ----- 1. a lone surrogate -----------------------------------------------------------------


def test_1_a_lone_surrogate_in_a_check_in_is_refused_naming_the_field(any_world: World) -> None:
    world = any_world
    day = (START + dt.timedelta(days=1)).isoformat()
    body = f'{{"date": "{day}", "pain_on_waking": 2, "stiffness_on_waking": 1, ' + (
        '"new_red_flags": ["a\\ud83d"]}'
    )
    response = world.raw_post(f"/patients/{world.pid}/checkins", world.person_headers, body)
    assert response.status_code == 422, response.text
    assert response.json()["fields"] == ["new_red_flags.0"]
    assert "half of a character" in response.json()["error"]
    with world.database.transaction() as session:
        assert session.scalars(select(CheckInRecord)).all() == []
    readable(world, world.person_headers)
    readable(world, world.clinician_headers)


def test_1_a_database_already_holding_a_lone_surrogate_is_cleaned_by_its_migration(
    world: World,
) -> None:
    """A record poisoned before the rule existed (written here straight into SQLite, as
    the old code stored it) cannot be read; migration 0005 cleans it and it reads again."""
    day = START + dt.timedelta(days=1)
    world.services.record_checkin(
        world.pid,
        CheckIn(
            date=day,
            pain_on_waking=2,
            stiffness_on_waking=1,
            warning_signs=("calf_swollen_hot",),
            new_red_flags=("swollen calf",),
        ),
    )
    with world.database.engine.begin() as connection:
        for table, column in (("checkins", "new_red_flags"), ("program_versions", "data")):
            connection.execute(
                text(f"UPDATE {table} SET {column} = replace({column}, 'swollen calf', :bad)"),
                {"bad": "swollen calf \\ud83d"},
            )
        connection.execute(
            text("UPDATE patients SET display_name = :bad"), {"bad": "Pat\x00 \x07Person"}
        )
    broken = world.client.get(f"{API}/patients/{world.pid}/program", headers=world.person_headers)
    assert broken.status_code == 500  # what the old code left behind
    world.database.downgrade("0004")
    world.database.upgrade()
    fresh = TestClient(create_app(services=world.services), raise_server_exceptions=False)
    world.client = fresh
    world.person_headers = auth(world.accounts.new_api_token(world.person, "after"))
    readable(world, world.person_headers)
    flags = fresh.get(f"{API}/patients/{world.pid}/checkins", headers=world.person_headers).json()
    assert flags["items"][0]["new_red_flags"] == ["swollen calf \ufffd"]
    detail = fresh.get(f"{API}/patients/{world.pid}", headers=world.person_headers).json()
    assert detail["display_name"] == "Pat Person"


# ----- 2. NUL -------------------------------------------------------------------------------


def test_2_a_nul_byte_is_refused_before_any_query_on_either_database(any_world: World) -> None:
    world = any_world
    token = world.client.post(f"{API}/tokens", json={"email": "p\x00@example.org", "password": "x"})
    assert token.status_code == 422 and token.json()["fields"] == ["email"]
    registered = world.client.post(
        f"{API}/register",
        json={"email": "n@example.org", "display_name": "N\x00", "password": PASSWORD},
    )
    assert registered.status_code == 422 and registered.json()["fields"] == ["display_name"]
    skip = {
        "id": "skipped-0001",
        "date": START.isoformat(),
        "skipped": True,
        "skip_reason": "a\x00",
    }
    skipped = world.client.post(
        f"{API}/patients/{world.pid}/sessions", json=skip, headers=world.person_headers
    )
    assert skipped.status_code == 422 and skipped.json()["fields"] == ["skip_reason"]
    knob = world.session_body(START, "knob-nul-001", knob="x\x00")
    assert (
        world.client.post(
            f"{API}/patients/{world.pid}/sessions", json=knob, headers=world.person_headers
        ).status_code
        == 422
    )
    # The sign-in form, before the CSRF-checked page reads it.
    browser = TestClient(world.app, raise_server_exceptions=False, follow_redirects=False)
    form = browser.get("/login").text
    page = browser.post(
        "/login", data={"csrf": csrf_of(form), "email": "p\x00@example.org", "password": "x"}
    )
    assert page.status_code == 422 and "email" in page.text
    # An id in the address.
    assert (
        world.client.get(f"{API}/patients/%00", headers=world.clinician_headers).status_code == 404
    )
    assert browser.get("/clinic/patients/%00").status_code == 404
    readable(world, world.person_headers)


# ----- 3. a hand-made session form ----------------------------------------------------------


def test_3_a_session_form_with_steps_and_no_logs_is_refused_not_a_crash(world: World) -> None:
    browser = world.browser(world.person)
    csrf = csrf_of(browser.get("/password").text)
    draft = json.dumps([{"step": n} for n in range(40)])
    response = browser.post(
        "/me/session/save",
        data={
            "csrf": csrf,
            "draft": draft,
            "log_id": "hand-made-0001",
            "day": TODAY.isoformat(),
            "version": str(world.program.version),
        },
    )
    assert response.status_code == 400, response.text[:300]
    assert "start again" in response.text


# ----- 4. tokens and sessions ---------------------------------------------------------------


def test_4_a_password_change_ends_every_token_and_session(world: World) -> None:
    other = world.accounts.new_api_token(world.person, "phone")
    browser = world.browser(world.person)
    second = world.browser(world.person)
    csrf = csrf_of(browser.get("/password").text)
    changed = browser.post(
        "/password", data={"csrf": csrf, "current": PASSWORD, "new": "a fresh walk uphill"}
    )
    assert changed.status_code == 303
    for headers in (world.person_headers, auth(other)):
        assert world.client.get(f"{API}/me", headers=headers).status_code == 401
    assert second.get("/me").status_code == 303  # the other browser is sent to sign in
    assert browser.get("/me").status_code == 200  # this one got a new session


def test_4_people_see_their_sessions_and_tokens_and_end_each(world: World) -> None:
    phone = world.accounts.new_api_token(world.person, "my phone")
    listed = world.client.get(f"{API}/me/tokens", headers=world.person_headers).json()
    names = {t["name"]: t for t in listed}
    assert set(names) == {"test", "my phone"} and names["test"]["current"] is True
    revoked = world.client.delete(
        f"{API}/me/tokens/{names['my phone']['id']}", headers=world.person_headers
    )
    assert revoked.status_code == 200
    assert world.client.get(f"{API}/me", headers=auth(phone)).status_code == 401
    # Someone else's token id is not theirs to revoke.
    c_tokens = world.client.get(f"{API}/me/tokens", headers=world.clinician_headers).json()
    foreign = world.client.delete(
        f"{API}/me/tokens/{c_tokens[0]['id']}", headers=world.person_headers
    )
    assert foreign.status_code == 404
    assert world.client.get(f"{API}/me", headers=world.clinician_headers).status_code == 200

    laptop = world.browser(world.person)
    desk = world.browser(world.person)
    page = laptop.get("/account")
    assert page.status_code == 200 and "this one" in page.text and "my phone" not in page.text
    handles = re.findall(r'action="/account/sessions/([0-9a-f]+)/end"', page.text)
    assert len(handles) == 2
    this = re.search(r"this one.*?/account/sessions/([0-9a-f]+)/end", page.text, re.S)
    assert this is not None
    other = next(h for h in handles if h != this.group(1))
    ended = laptop.post(f"/account/sessions/{other}/end", data={"csrf": csrf_of(page.text)})
    assert ended.status_code == 303
    assert desk.get("/me").status_code == 303 and laptop.get("/me").status_code == 200
    everywhere = laptop.post("/account/everywhere", data={"csrf": csrf_of(page.text)})
    assert everywhere.status_code == 303
    assert world.client.get(f"{API}/me", headers=world.person_headers).status_code == 401


# ----- 5. probing ---------------------------------------------------------------------------


def test_5_registration_answers_alike_for_a_known_and_an_unknown_address(world: World) -> None:
    def register(email: str) -> Any:
        browser = TestClient(world.app, raise_server_exceptions=False, follow_redirects=False)
        page = browser.get("/register").text
        return browser.post(
            "/register",
            data={
                "csrf": csrf_of(page),
                "email": email,
                "display_name": "Someone",
                "password": "walking up the hill",
            },
        )

    known, unknown = register("p@example.org"), register("new@example.org")
    assert (known.status_code, known.headers["location"]) == (
        unknown.status_code,
        unknown.headers["location"],
    )
    assert "set-cookie" not in known.headers or "gu_session" not in known.headers["set-cookie"]
    api = [
        world.client.post(
            f"{API}/register",
            json={"email": email, "display_name": "X", "password": "walking up the hill"},
        )
        for email in ("p@example.org", "other@example.org")
    ]
    assert (api[0].status_code, api[0].json()) == (api[1].status_code, api[1].json())
    # The known address kept its owner's password.
    assert world.accounts.authenticate("p@example.org", PASSWORD, "x").id == world.person.id


def test_5_signing_in_takes_as_long_for_an_unknown_address_as_for_a_known_one(
    world: World,
) -> None:
    def timed(email: str) -> float:
        started = time.perf_counter()
        with pytest.raises(AuthError):
            world.accounts.authenticate(email, "not the password", f"10.1.{len(email)}.1")
        return time.perf_counter() - started

    known = [timed("p@example.org") for _ in range(4)]
    unknown = [timed(f"nobody{n}@example.org") for n in range(4)]
    fast, slow = sorted((statistics.median(known), statistics.median(unknown)))
    assert slow / fast < 2, (known, unknown)  # before: ~100 ms against ~6 ms


# ----- 6. limits ------------------------------------------------------------------------------


def test_6_twenty_simultaneous_wrong_passwords_are_counted_as_twenty(any_world: World) -> None:
    world = any_world
    outcomes: list[str] = []
    lock = threading.Lock()
    start = threading.Barrier(20)

    def guess() -> None:
        start.wait()
        try:
            world.accounts.authenticate("p@example.org", "not the password!", "203.0.113.7")
            result = "in"
        except TooMany:
            result = "wait"
        except AuthError:
            result = "wrong"
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=guess) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert len(outcomes) == 20
    assert outcomes.count("wrong") == 5, outcomes  # the free tries, and not one more
    assert outcomes.count("wait") == 15


def test_6_the_owner_is_slowed_by_a_minute_at_most_and_not_from_another_address(
    world: World,
) -> None:
    """A guesser who waits as told gets ever longer waits at their address; the owner,
    signing in from elsewhere meanwhile, waits a minute at most — never a lock-out."""
    now = [2_000_000.0]
    world.accounts.limiter.clock = lambda: now[0]
    guesses = 0
    while guesses < 12:
        try:
            world.accounts.authenticate("p@example.org", "guess guess guess", "198.51.100.9")
        except TooMany as exc:
            now[0] += exc.retry_after
            continue
        except AuthError:
            guesses += 1
    with pytest.raises(TooMany) as attacker:
        world.accounts.authenticate("p@example.org", PASSWORD, "198.51.100.9")
    assert attacker.value.retry_after > 60
    waited = 0
    try:
        owner = world.accounts.authenticate("p@example.org", PASSWORD, "192.0.2.1")
    except TooMany as exc:
        waited = exc.retry_after
        now[0] += waited
        owner = world.accounts.authenticate("p@example.org", PASSWORD, "192.0.2.1")
    assert owner.id == world.person.id and waited <= 60


def test_6_x_forwarded_for_counts_only_from_a_trusted_proxy(tmp_path: Path) -> None:
    def client_key(settings: Settings, forwarded: str) -> str:
        world = World(f"sqlite:///{tmp_path / f'x{uuid.uuid4().hex[:6]}.db'}", settings)
        try:
            world.client.get("/login", headers={"X-Forwarded-For": forwarded})
            world.client.post(
                f"{API}/tokens",
                json={"email": "p@example.org", "password": "wrong password here"},
                headers={"X-Forwarded-For": forwarded},
            )
            world.database.flush_audit()
            with world.database.reading() as session:
                keys = session.scalars(text("SELECT key FROM rate_limits")).all()
            return next(k for k in keys if k.startswith("address:"))
        finally:
            world.database.dispose()

    # TestClient's connection comes from "testclient", which no proxy list names.
    assert client_key(Settings(), "10.9.8.7") == "address:testclient"
    trusted = Settings(trusted_proxies=["0.0.0.0/0"])  # type: ignore[list-item]
    assert client_key(trusted, "10.9.8.7, 10.0.0.1") in ("address:testclient", "address:10.9.8.7")


def test_6_a_trusted_proxy_list_decides_whose_forwarded_address_counts() -> None:
    from ipaddress import ip_network

    from groundup.web.deps import client_address_of

    proxies = [ip_network("127.0.0.1/32"), ip_network("10.0.0.0/8")]
    assert client_address_of("127.0.0.1", ["203.0.113.5"], []) == "127.0.0.1"
    assert client_address_of("198.51.100.1", ["203.0.113.5"], proxies) == "198.51.100.1"
    assert client_address_of("127.0.0.1", ["203.0.113.5"], proxies) == "203.0.113.5"
    assert client_address_of("127.0.0.1", ["1.2.3.4, 203.0.113.5, 10.0.0.2"], proxies) == (
        "203.0.113.5"
    )
    assert client_address_of("127.0.0.1", ["not-an-address"], proxies) == "127.0.0.1"


def test_6_registration_is_limited_per_client(world: World) -> None:
    answers = [
        world.client.post(
            f"{API}/register",
            json={"email": f"r{n}@example.org", "display_name": "R", "password": "short"},
        ).status_code
        for n in range(30)
    ]
    assert answers.count(429) >= 15 and set(answers) <= {400, 429}


# ----- 7. CSV formulas ------------------------------------------------------------------------


def test_7_csv_cells_that_would_run_as_formulas_are_written_as_text(world: World) -> None:
    evil_name = '=HYPERLINK("http://evil.example","click")'
    with world.database.transaction() as session:
        session.execute(text("UPDATE patients SET display_name = :n"), {"n": evil_name})
    body = world.session_body(START, "formula-0001", knob="=cmd|' /C calc'!A0")
    logged = world.client.post(
        f"{API}/patients/{world.pid}/sessions", json=body, headers=world.person_headers
    )
    assert logged.status_code == 201, logged.text
    export = world.client.get(
        f"{API}/patients/{world.pid}/export", params={"format": "csv"}, headers=world.person_headers
    )
    cells = []
    with zipfile.ZipFile(io.BytesIO(export.content)) as archive:
        for name in archive.namelist():
            rows = csv.reader(io.StringIO(archive.read(name).decode("utf-8")))
            cells += [cell for row in rows for cell in row]
    assert "'" + evil_name in cells and "'=cmd|' /C calc'!A0" in cells
    assert not [c for c in cells if c.startswith(("=", "+", "@"))]


# ----- 8. warning signs ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "flags", [["calf pain"] * 10_000, ["x" * 900_000], [""]], ids=["many", "long", "empty"]
)
def test_8_a_check_ins_warning_signs_are_limited(world: World, flags: list[str]) -> None:
    body = {
        "date": (START + dt.timedelta(days=1)).isoformat(),
        "pain_on_waking": 2,
        "stiffness_on_waking": 1,
        "new_red_flags": flags,
    }
    response = world.client.post(
        f"{API}/patients/{world.pid}/checkins", json=body, headers=world.person_headers
    )
    assert response.status_code in (413, 422), response.status_code
    with world.database.transaction() as session:
        assert session.scalars(select(CheckInRecord)).all() == []


# ----- 9. passwords --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "password", ["aaaaaaaaaa", "1234567890", " " * 10, "password123", "{own e-mail}"]
)
def test_9_passwords_a_guesser_tries_first_are_refused(world: World, password: str) -> None:
    refused = r"harder to guess|at least 10"
    chosen = password.replace("{own e-mail}", "quinn@example.org")
    with pytest.raises(ServiceError, match=refused):
        world.accounts.create_user("quinn@example.org", "Quinn", "person", chosen)
    chosen = password.replace("{own e-mail}", world.person.email)
    with pytest.raises(ServiceError, match=refused):
        world.accounts.change_password(world.person, PASSWORD, chosen)


def test_9_an_admin_set_password_must_be_replaced_at_first_sign_in(world: World) -> None:
    admin = world.accounts.create_user("a@example.org", "Ada", "admin", PASSWORD)
    world.accounts.set_temporary_password(admin, world.clinician.id, "given by the admin")
    browser = TestClient(world.app, raise_server_exceptions=False, follow_redirects=False)
    signed = browser.post(
        "/login",
        data={
            "csrf": csrf_of(browser.get("/login").text),
            "email": "c@example.org",
            "password": "given by the admin",
        },
    )
    assert signed.headers["location"].startswith("/password")
    for page in ("/clinic", f"/clinic/patients/{world.pid}", "/account"):
        assert browser.get(page).headers["location"].startswith("/password"), page
    assert world.client.get(f"{API}/me", headers=world.clinician_headers).status_code == 401


# ----- 10. dates -------------------------------------------------------------------------------


def test_10_dates_a_record_cannot_carry_are_refused(world: World) -> None:
    other = world.accounts.register_person("o@example.org", "Olly", PASSWORD)
    headers = auth(world.accounts.new_api_token(other, "t"))
    intake = validate(Intake, read_document(EXAMPLE), str(EXAMPLE)).model_dump(mode="json")
    pid = other.patient_id
    assert (
        world.client.post(f"{API}/patients/{pid}/screen", json={}, headers=headers).status_code
        == 201
    )
    ancient = {**intake["assessment"], "date": "0001-01-01"}
    started = world.client.post(
        f"{API}/patients/{pid}/program",
        json={"assessment": ancient, "preferences": intake["preferences"]},
        headers=headers,
    )
    assert started.status_code == 400 and "check the year" in started.json()["error"]
    checkin = world.client.post(
        f"{API}/patients/{world.pid}/checkins",
        json={"date": "0002-03-04", "pain_on_waking": 1, "stiffness_on_waking": 1},
        headers=world.person_headers,
    )
    assert checkin.status_code == 400


def test_10_and_11_import_refuses_future_dates_and_repeats_in_one_line(world: World) -> None:
    exported = world.services.export_person(world.pid)
    exported = json.loads(json.dumps(exported, default=str))
    exported["person"]["id"] = uuid.uuid4().hex
    session = world.session_body(START, "imported-0001")
    session["type"] = "session"
    cases = {
        "the screen date 9999-12-31 is in the future": {
            **exported,
            "screens": [{**exported["screens"][0], "date": "9999-12-31"}],
        },
        "appears twice": {**exported, "events": [session, session]},
        "program version 1 appears twice": {
            **exported,
            "program_versions": exported["program_versions"] * 2,
        },
    }
    for message, data in cases.items():
        with pytest.raises(ServiceError, match=message) as refused:
            world.services.import_person(data)
        assert "IntegrityError" not in str(refused.value) and "\n" not in str(refused.value)


def test_11_a_deeply_nested_fhir_record_is_refused_in_one_line(world: World) -> None:
    from groundup.interop import fhir
    from groundup.interop.files import export_file, import_record

    bundle = json.loads(export_file(world.services, world.pid, "fhir").content)
    for entry in bundle["entry"]:
        resource = entry["resource"]
        if resource["resourceType"] == "DocumentReference":
            deep = "[" * 100_000 + "]" * 100_000
            resource["content"][0]["attachment"]["data"] = base64.b64encode(deep.encode()).decode()
    with pytest.raises(fhir.FhirError, match="nested more than") as refused:
        import_record(world.services, bundle)
    assert "Recursion" not in str(refused.value)


# ----- 12. caching -------------------------------------------------------------------------------


def test_12_health_data_is_never_cached(world: World) -> None:
    browser = world.browser(world.person)
    for url in ("/me", "/me/progress", "/me/data", "/account"):
        assert browser.get(url).headers["cache-control"] == "no-store", url
    for tail in ("", "/program", "/today", "/decisions"):
        response = world.client.get(
            f"{API}/patients/{world.pid}{tail}", headers=world.person_headers
        )
        assert response.headers["cache-control"] == "no-store", tail
    assert "no-store" not in world.client.get("/static/app.css").headers.get("cache-control", "")


# ----- 13. links ---------------------------------------------------------------------------------


def test_13_links_use_the_configured_address_never_the_host_header(tmp_path: Path) -> None:
    settings = Settings(public_url="https://groundup.example.org")  # type: ignore[arg-type]
    world = World(f"sqlite:///{tmp_path / 'l.db'}", settings)
    try:
        clinic = world.browser(world.clinician)
        page = clinic.get(f"/clinic/patients/{world.pid}/invite")
        invited = clinic.post(
            f"/clinic/patients/{world.pid}/invite",
            data={"csrf": csrf_of(page.text)},
            headers={"Host": "evil.example"},
        )
        assert "https://groundup.example.org/register?invite=" in invited.text
        assert "evil.example" not in invited.text
        person = world.browser(world.person)
        form = person.get("/me/calendar")
        made = person.post(
            "/me/calendar/link",
            data={"csrf": csrf_of(form.text), "session": "07:00", "checkin": "06:30"},
            headers={"Host": "evil.example"},
        )
        assert "https://groundup.example.org/calendar/" in made.text
        assert "evil.example" not in made.text
    finally:
        world.database.dispose()


# ----- 14. smaller ---------------------------------------------------------------------------------


def test_14_a_safety_rule_cannot_be_switched_off_anywhere_and_nothing_is_stored(
    world: World,
) -> None:
    rule = {"action": "rule_off", "rule": "pain.unsafe", "reason": "switching safety off"}
    api = world.client.post(
        f"{API}/patients/{world.pid}/overrides", json=rule, headers=world.clinician_headers
    )
    assert api.status_code == 400 and "cannot be switched off" in api.json()["error"]
    clinic = world.browser(world.clinician)
    page = clinic.get(f"/clinic/patients/{world.pid}/program")
    form = clinic.post(
        f"/clinic/patients/{world.pid}/program", data={"csrf": csrf_of(page.text), **rule}
    )
    assert form.status_code == 400 and "cannot be switched off" in form.text
    with pytest.raises(ServiceError, match="cannot be switched off"):
        world.services.apply_override(
            world.pid,
            Override(date=TODAY, by="Dr Cee", **rule),  # type: ignore[arg-type]
        )
    with world.database.transaction() as session:
        assert session.scalars(select(OverrideRecord)).all() == []
        assert session.scalars(select(DecisionRecord)).all() == []


def test_14_invite_codes_ignore_case_and_guesses_are_limited(world: World) -> None:
    patient, code = world.accounts.create_patient(world.clinician, "Ivy")
    claimed = world.accounts.register_person(
        "ivy@example.org", "Ivy", PASSWORD, invite=f"  {code.lower().replace('-', ' ')} "
    )
    assert claimed.patient_id == patient
    statuses = [
        world.client.post(
            f"{API}/register",
            json={
                "email": f"g{n}@example.org",
                "display_name": "G",
                "password": "walking up the hill",
                "invite": f"ABCD-EF{n:02d}-0000",
            },
        ).status_code
        for n in range(25)
    ]
    assert 429 in statuses and set(statuses) <= {400, 429}


def test_14_a_second_id_for_a_logged_day_is_a_conflict(world: World) -> None:
    first = world.client.post(
        f"{API}/patients/{world.pid}/sessions",
        json=world.session_body(START, "first-id-0001"),
        headers=world.person_headers,
    )
    assert first.status_code == 201
    second = world.client.post(
        f"{API}/patients/{world.pid}/sessions",
        json=world.session_body(START, "second-id-0002"),
        headers=world.person_headers,
    )
    assert second.status_code == 409 and "first-id-0001" in second.json()["error"]


def test_14_a_number_sent_as_a_string_is_refused(world: World) -> None:
    body = {
        "date": (START + dt.timedelta(days=1)).isoformat(),
        "pain_on_waking": "2",
        "stiffness_on_waking": 1,
    }
    response = world.client.post(
        f"{API}/patients/{world.pid}/checkins", json=body, headers=world.person_headers
    )
    assert response.status_code == 422 and response.json()["fields"] == ["pain_on_waking"]


def test_the_security_migrations_keep_every_account_link_token_and_session(world: World) -> None:
    """Down to before them and up again on a database in use: nothing is lost (on SQLite a
    table copied in a migration would fire the cascades of everything that refers to it)."""
    world.browser(world.person)
    tables = ("users", "api_tokens", "web_sessions", "clinician_patients", "program_versions")

    def counts() -> dict[str, int]:
        with world.database.engine.connect() as connection:
            found = {
                t: int(connection.execute(text(f"SELECT count(*) FROM {t}")).scalar() or 0)
                for t in tables
            }
            found["linked"] = int(
                connection.execute(
                    text("SELECT count(*) FROM patients WHERE user_id IS NOT NULL")
                ).scalar()
                or 0
            )
        return found

    before = counts()
    assert all(before.values()), before
    world.database.downgrade("0004")
    assert counts() == before
    world.database.upgrade()
    assert counts() == before
