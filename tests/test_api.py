"""The REST API under /api/v1, route by route, over a real SQLite database.

Every route has a happy path with real assertions, and bad input gets a 4xx JSON answer
with a readable `error` — never a 500.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyotp
import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlalchemy import func, select, update

from groundup.cli.files import read_document, validate
from groundup.clinical.intake import Intake
from groundup.clinical.logs import Override
from groundup.clinical.vocabulary import Muscle, Phase
from groundup.knowledge import load_rules
from groundup.services import Services
from groundup.services.accounts import Account, Accounts
from groundup.services.export import ExportBundle
from groundup.storage.database import Database
from groundup.storage.models import ApiToken, DecisionRecord, SessionLogRecord
from groundup.web.app import create_app

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
PASSWORD = "a long enough secret"
API = "/api/v1"
TODAY = dt.date.today()
START = TODAY - dt.timedelta(days=6)
EVERY_DAY = list(range(7))


def intake_json(name: str = "clear-left-calf.yaml") -> dict[str, Any]:
    """An example intake as JSON, dated so that its program started six days ago and
    trains every day (so any recent day has a session to log)."""
    path = EXAMPLES / name
    data = validate(Intake, read_document(path), str(path)).model_dump(mode="json")
    data["assessment"]["date"] = START.isoformat()
    data["preferences"]["training_days"] = EVERY_DAY
    return data


def api_routes(app: FastAPI) -> list[tuple[str, str, APIRoute]]:
    """(method, full path, route) for every API route the app serves.

    FastAPI ≥ 0.13x keeps included routers as lazy entries in `app.routes`; a plain
    `isinstance(r, APIRoute)` filter over it sees none of them, so expand them first."""
    try:
        from fastapi.routing import iter_route_contexts
    except ImportError:  # older FastAPI: included routes are copied into app.routes
        contexts: list[Any] = list(app.routes)
    else:
        contexts = list(iter_route_contexts(app.routes))
    found = []
    for context in contexts:
        route = getattr(context, "original_route", context)
        if isinstance(route, APIRoute) and str(context.path).startswith(API):
            found += [(method, str(context.path), route) for method in sorted(route.methods)]
    assert len(found) >= 25, "the API's routes were not found"
    return found


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


class World:
    """An app over a fresh database, and the people in it."""

    def __init__(self, tmp_path: Path) -> None:
        self.database = Database(f"sqlite:///{tmp_path / 'a.db'}")
        self.services = Services(self.database, load_rules())
        self.app = create_app(services=self.services)
        self.accounts: Accounts = self.app.state.accounts
        self.client = TestClient(self.app, raise_server_exceptions=False)

    def clinician(self, email: str = "clin@example.org", name: str = "Dr Chen") -> Account:
        return self.accounts.create_user(email, name, "clinician", PASSWORD)

    def person(self, email: str, name: str, invite: str | None = None) -> Account:
        return self.accounts.register_person(email, name, PASSWORD, invite=invite)

    def token(self, account: Account) -> dict[str, str]:
        return auth(self.accounts.new_api_token(account, "test"))

    def get(self, path: str, headers: dict[str, str], **params: Any) -> Any:
        response = self.client.get(API + path, headers=headers, params=params)
        return response

    def post(self, path: str, headers: dict[str, str], body: Any) -> Any:
        return self.client.post(API + path, headers=headers, json=body)

    def started(self, headers: dict[str, str], pid: str) -> dict[str, Any]:
        """Screen and start the program through the API; returns the program."""
        data = intake_json()
        assert self.post(f"/patients/{pid}/screen", headers, data["screen"]).status_code == 201
        response = self.post(
            f"/patients/{pid}/program",
            headers,
            {"assessment": data["assessment"], "preferences": data["preferences"]},
        )
        assert response.status_code == 201, response.text
        program: dict[str, Any] = response.json()
        return program


def session_body(
    program: dict[str, Any], day: dt.date, log_id: str, pain: int = 2
) -> dict[str, Any]:
    """A session that did every exercise of the program at its dose."""
    return {
        "id": log_id,
        "date": day.isoformat(),
        "exercises": [
            {
                "exercise_id": slot["exercise_id"],
                "side": dose["side"],
                "sets": [{"amount": dose["amount"], "rpe": 6, "pain": pain}] * dose["sets"],
            }
            for slot in program["slots"]
            for dose in slot["doses"]
        ],
    }


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    w = World(tmp_path)
    yield w
    w.database.dispose()


@pytest.fixture
def person(world: World) -> tuple[Account, dict[str, str]]:
    account = world.person("pat@example.org", "Pat Person")
    return account, world.token(account)


@pytest.fixture
def started(
    world: World, person: tuple[Account, dict[str, str]]
) -> tuple[str, dict[str, str], dict[str, Any]]:
    """A person with a program: (patient id, their auth headers, the program)."""
    account, headers = person
    assert account.patient_id is not None
    return account.patient_id, headers, world.started(headers, account.patient_id)


def assert_error(response: Any, status: int | tuple[int, ...], match: str = "") -> dict[str, Any]:
    statuses = status if isinstance(status, tuple) else (status,)
    assert response.status_code in statuses, (response.status_code, response.text)
    assert response.headers["content-type"].startswith("application/json")
    body: dict[str, Any] = response.json()
    assert isinstance(body["error"], str) and body["error"]
    assert match.lower() in body["error"].lower(), body["error"]
    return body


# ----- tokens -------------------------------------------------------------------------------


def test_a_token_is_traded_for_email_password_and_the_second_factor(world: World) -> None:
    clinician = world.clinician()
    request = {"email": "Clin@Example.org", "password": PASSWORD, "name": "laptop"}
    # A clinician gets no token on the password alone: first the second factor's set-up,
    # then its code every time.
    assert_error(world.client.post(f"{API}/tokens", json=request), 403, "second factor")
    secret = pyotp.random_base32()
    world.accounts.set_second_factor(clinician, secret)
    assert_error(world.client.post(f"{API}/tokens", json=request), 401, "code")
    wrong = {**request, "code": "000000" if pyotp.TOTP(secret).now() != "000000" else "111111"}
    assert_error(world.client.post(f"{API}/tokens", json=wrong), 401, "not right")
    response = world.client.post(
        f"{API}/tokens", json={**request, "code": pyotp.TOTP(secret).now()}
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["token"].startswith("gu_") and body["token_type"] == "bearer"
    expires = dt.datetime.fromisoformat(body["expires_at"])
    assert dt.timedelta(days=89) < expires - dt.datetime.now(dt.UTC) <= dt.timedelta(days=90)
    me = world.get("/me", auth(body["token"]))
    assert me.status_code == 200
    assert me.json()["email"] == "clin@example.org" and me.json()["role"] == "clinician"


def test_wrong_credentials_get_401_and_sign_in_is_rate_limited(world: World) -> None:
    world.clinician()
    for _ in range(5):
        response = world.client.post(
            f"{API}/tokens", json={"email": "clin@example.org", "password": "not the password"}
        )
        assert_error(response, 401, "wrong e-mail or password")
    response = world.client.post(
        f"{API}/tokens", json={"email": "clin@example.org", "password": PASSWORD}
    )
    assert_error(response, 429, "too many")
    # Back-off, not a lock-out: the owner waits seconds, not a quarter of an hour.
    assert 1 <= int(response.headers["retry-after"]) <= 60


def test_token_request_needs_its_fields(world: World) -> None:
    body = assert_error(world.client.post(f"{API}/tokens", json={"email": "a@b.org"}), 422)
    assert body["fields"] == ["password"]
    assert_error(
        world.client.post(f"{API}/tokens", json={"email": "a@b.org", "password": "x", "days": 0}),
        422,
        "days",
    )


def test_a_revoked_token_is_refused(world: World, person: tuple[Account, dict[str, str]]) -> None:
    _, headers = person
    assert world.get("/me", headers).status_code == 200
    response = world.client.delete(f"{API}/tokens/current", headers=headers)
    assert response.status_code == 200 and response.json() == {"revoked": True}
    assert_error(world.get("/me", headers), 401, "revoked")
    assert_error(world.client.delete(f"{API}/tokens/current", headers=headers), 401)


def test_an_expired_token_is_refused(world: World, person: tuple[Account, dict[str, str]]) -> None:
    _, headers = person
    assert world.get("/me", headers).status_code == 200
    with world.database.transaction() as session:
        session.execute(
            update(ApiToken).values(expires_at=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1))
        )
    response = world.get("/me", headers)
    assert_error(response, 401, "expired")
    assert response.headers["www-authenticate"] == "Bearer"


@pytest.mark.parametrize(
    "header",
    [
        None,
        "Bearer",
        "Bearer gu_not-a-real-token",
        "Bearer not-even-ours",
        "Basic dXNlcjpwYXNz",
        "Bearer " + "gu_" + "x" * 5000,
    ],
)
def test_routes_refuse_missing_or_bad_tokens(world: World, header: str | None) -> None:
    headers = {} if header is None else {"Authorization": header}
    response = world.get("/me", headers)
    body = assert_error(response, 401, "sign in")
    if header is None:
        assert body == {"error": "sign in: send Authorization: Bearer <token>"}


def test_the_session_cookie_reads_but_cannot_write(world: World) -> None:
    account = world.person("pat@example.org", "Pat Person")
    cookie, _ = world.accounts.start_session(account, second_factor=True)
    browser = TestClient(world.app, raise_server_exceptions=False)
    browser.cookies.set("gu_session", cookie)
    me = browser.get(f"{API}/me")
    assert me.status_code == 200 and me.json()["patient_id"] == account.patient_id
    screen = browser.post(f"{API}/patients/{account.patient_id}/screen", json={})
    assert_error(screen, 401, "Authorization: Bearer")
    assert_error(browser.delete(f"{API}/tokens/current"), 401)
    assert_error(browser.delete(f"{API}/patients/{account.patient_id}"), 401)
    assert world.services.latest_screen(str(account.patient_id)) is None


# ----- accounts and people ------------------------------------------------------------------


def sign_in(world: World, email: str, password: str = PASSWORD) -> dict[str, str]:
    response = world.client.post(f"{API}/tokens", json={"email": email, "password": password})
    assert response.status_code == 201, response.text
    return auth(response.json()["token"])


def test_register_gives_a_person_their_own_record_and_then_a_token(world: World) -> None:
    response = world.client.post(
        f"{API}/register",
        json={"email": "new@example.org", "display_name": "New Person", "password": PASSWORD},
    )
    assert response.status_code == 202, response.text
    assert response.json()["status"] == "accepted" and "token" not in response.json()
    headers = sign_in(world, "new@example.org")
    me = world.get("/me", headers).json()
    assert me["role"] == "person"
    pid = me["patient_id"]
    assert len(pid) == 32
    detail = world.get(f"/patients/{pid}", headers).json()
    assert detail["display_name"] == "New Person" and detail["has_account"] is True
    # An address that has an account gets the very same answer, and nothing changes.
    again = world.client.post(
        f"{API}/register",
        json={"email": "NEW@example.org", "display_name": "Other", "password": PASSWORD + "!"},
    )
    assert (again.status_code, again.json()) == (response.status_code, response.json())
    assert world.get("/me", sign_in(world, "new@example.org")).json()["display_name"] == (
        "New Person"
    )
    short = world.client.post(
        f"{API}/register",
        json={"email": "b@example.org", "display_name": "B", "password": "short"},
    )
    assert_error(short, 400, "at least 10")


def test_register_with_an_invite_claims_the_clinicians_record(world: World) -> None:
    clinician = world.clinician()
    headers = world.token(clinician)
    created = world.post("/patients", headers, {"display_name": "Invited Irene"})
    assert created.status_code == 201
    pid, code = created.json()["id"], created.json()["invite_code"]
    response = world.client.post(
        f"{API}/register",
        json={
            "email": "irene@example.org",
            "display_name": "Irene",
            "password": PASSWORD,
            "invite": code,
        },
    )
    assert response.status_code == 202
    assert world.get("/me", sign_in(world, "irene@example.org")).json()["patient_id"] == pid
    reused = world.client.post(
        f"{API}/register",
        json={
            "email": "other@example.org",
            "display_name": "Other",
            "password": PASSWORD,
            "invite": code,
        },
    )
    assert_error(reused, 400, "invite code is not valid")


def test_me_describes_the_account(world: World, person: tuple[Account, dict[str, str]]) -> None:
    account, headers = person
    assert world.get("/me", headers).json() == {
        "id": account.id,
        "email": "pat@example.org",
        "display_name": "Pat Person",
        "role": "person",
        "patient_id": account.patient_id,
    }


def test_patients_are_listed_by_name_and_paginated(world: World) -> None:
    clinician = world.clinician()
    headers = world.token(clinician)
    for name in ("Cara", "Abe", "Bea", "Dan", "Eve"):
        assert world.post("/patients", headers, {"display_name": name}).status_code == 201
    world.person("someone@example.org", "Not Theirs")
    first = world.get("/patients", headers, limit=2)
    assert first.status_code == 200
    page = first.json()
    assert [p["display_name"] for p in page["items"]] == ["Abe", "Bea"]
    assert (page["total"], page["limit"], page["offset"]) == (5, 2, 0)
    assert page["next"] == f"{API}/patients?limit=2&offset=2"
    last = world.client.get(page["next"].replace("offset=2", "offset=4"), headers=headers).json()
    assert [p["display_name"] for p in last["items"]] == ["Eve"]
    assert last["next"] is None
    following = world.client.get(page["next"], headers=headers).json()
    assert [p["display_name"] for p in following["items"]] == ["Cara", "Dan"]
    assert world.get("/patients", headers, offset=99).json()["items"] == []
    for bad in ({"limit": 0}, {"limit": 1000}, {"offset": -1}, {"limit": "ten"}):
        assert_error(world.get("/patients", headers, **bad), 422)


def test_a_person_lists_only_themselves_and_an_admin_nobody(
    world: World, started: tuple[str, dict[str, str], dict[str, Any]]
) -> None:
    pid, headers, _ = started
    world.person("other@example.org", "Other Person")
    page = world.get("/patients", headers).json()
    assert page["total"] == 1
    assert page["items"][0]["id"] == pid
    assert page["items"][0]["phase"] == "activation" or page["items"][0]["phase"]
    assert page["items"][0]["program_version"] == 1
    admin = world.accounts.create_user("admin@example.org", "Admin", "admin", PASSWORD)
    assert world.get("/patients", world.token(admin)).json()["total"] == 0


def test_only_clinicians_enrol_patients(
    world: World, person: tuple[Account, dict[str, str]]
) -> None:
    _, headers = person
    assert_error(world.post("/patients", headers, {"display_name": "X"}), 403, "clinician")
    clinician = world.token(world.clinician())
    assert_error(world.post("/patients", clinician, {"display_name": ""}), 422, "display_name")
    assert_error(world.post("/patients", clinician, {"name": "X"}), 422)
    created = world.post("/patients", clinician, {"display_name": "  Spaced  "})
    assert created.status_code == 201
    body = created.json()
    assert body["display_name"] == "Spaced"
    assert len(body["invite_code"]) == 14


def test_patient_detail(world: World, started: tuple[str, dict[str, str], dict[str, Any]]) -> None:
    pid, headers, program = started
    detail = world.get(f"/patients/{pid}", headers).json()
    assert detail["id"] == pid
    assert detail["display_name"] == "Pat Person"
    assert detail["phase"] == program["phase"]
    assert detail["program_version"] == 1
    assert detail["length_unit"] == "cm" and detail["mass_unit"] == "kg"
    assert detail["screen"]["outcome"] == "clear"
    assert detail["last_activity"] is None


def test_new_invite_codes_are_for_clinicians(
    world: World, person: tuple[Account, dict[str, str]]
) -> None:
    account, headers = person
    assert_error(world.post(f"/patients/{account.patient_id}/invites", headers, None), 403)
    clinician = world.token(world.clinician())
    pid = world.post("/patients", clinician, {"display_name": "Zed"}).json()["id"]
    response = world.post(f"/patients/{pid}/invites", clinician, None)
    assert response.status_code == 201
    assert len(response.json()["invite_code"]) == 14


def test_a_person_deletes_their_own_record(
    world: World, started: tuple[str, dict[str, str], dict[str, Any]]
) -> None:
    pid, headers, program = started
    logged = world.post(
        f"/patients/{pid}/sessions", headers, session_body(program, START, "deleted-1")
    )
    assert logged.status_code == 201
    response = world.client.delete(f"{API}/patients/{pid}", headers=headers)
    assert response.status_code == 200
    assert response.json()["deleted"] is True and response.json()["sessions"] == 1
    assert_error(world.get(f"/patients/{pid}", headers), 404)
    assert world.get("/me", headers).json()["patient_id"] is None
    with world.database.transaction() as session:
        assert session.scalar(select(func.count()).select_from(SessionLogRecord)) == 0


def test_a_clinician_deletes_only_records_nobody_has_claimed(world: World) -> None:
    clinician = world.token(world.clinician())
    unclaimed = world.post("/patients", clinician, {"display_name": "Typo"}).json()
    claimed = world.post("/patients", clinician, {"display_name": "Real"}).json()
    world.person("real@example.org", "Real", invite=claimed["invite_code"])
    refused = world.client.delete(f"{API}/patients/{claimed['id']}", headers=clinician)
    assert_error(refused, 403, "only they can delete")
    assert world.get(f"/patients/{claimed['id']}", clinician).status_code == 200
    done = world.client.delete(f"{API}/patients/{unclaimed['id']}", headers=clinician)
    assert done.status_code == 200
    assert_error(world.get(f"/patients/{unclaimed['id']}", clinician), 404)


# ----- screen and program -------------------------------------------------------------------


def test_screen_clear_and_refer(world: World, person: tuple[Account, dict[str, str]]) -> None:
    account, headers = person
    pid = account.patient_id
    assert_error(world.get(f"/patients/{pid}/screen", headers), 404, "no safety screen")
    clear = world.post(f"/patients/{pid}/screen", headers, intake_json()["screen"])
    assert clear.status_code == 201
    assert clear.json()["outcome"] == "clear"
    refer = world.post(f"/patients/{pid}/screen", headers, intake_json("refer-dvt.yaml")["screen"])
    assert refer.status_code == 201
    assert refer.json()["outcome"] == "refer" and refer.json()["reasons"]
    latest = world.get(f"/patients/{pid}/screen", headers).json()
    assert latest == refer.json()


@pytest.mark.parametrize(
    "body",
    [
        {"fever": "very"},
        {"calf_difference_cm": 1e308},
        {"days_since_injury": -1},
        {"days_since_injury": 10**30},
        {"unknown_question": True},
        [],
        "yes",
    ],
)
def test_bad_screen_answers_are_refused(
    world: World, person: tuple[Account, dict[str, str]], body: Any
) -> None:
    account, headers = person
    assert_error(world.post(f"/patients/{account.patient_id}/screen", headers, body), 422)


def test_no_program_without_a_screen_and_none_when_it_refers(
    world: World, person: tuple[Account, dict[str, str]]
) -> None:
    account, headers = person
    pid = account.patient_id
    data = intake_json()
    body = {"assessment": data["assessment"], "preferences": data["preferences"]}
    assert_error(world.post(f"/patients/{pid}/program", headers, body), 400, "safety screen first")
    world.post(f"/patients/{pid}/screen", headers, intake_json("refer-dvt.yaml")["screen"])
    refused = world.post(f"/patients/{pid}/program", headers, body)
    conflict = assert_error(refused, 409, "see a doctor")
    assert conflict["referred"] is True
    assert conflict["urgency"] in ("emergency", "soon")
    assert conflict["reasons"] and all(r["person_text"] for r in conflict["reasons"])
    assert conflict["advice"]
    assert_error(world.get(f"/patients/{pid}/program", headers), 404, "no program")


def test_the_program_starts_once(
    world: World, started: tuple[str, dict[str, str], dict[str, Any]]
) -> None:
    pid, headers, program = started
    assert program["version"] == 1
    assert program["start_date"] == START.isoformat()
    assert program["training_days"] == EVERY_DAY
    assert program["slots"]
    data = intake_json()
    again = world.post(f"/patients/{pid}/program", headers, {"assessment": data["assessment"]})
    body = assert_error(again, 409, "already has a program")
    assert body.get("referred", False) is False
    assert world.get(f"/patients/{pid}/program", headers).json() == program


@pytest.mark.parametrize(
    ("change", "status", "match"),
    [
        (lambda d: d["assessment"]["pain"].update(at_rest=11), 422, "at_rest"),
        (lambda d: d["assessment"].update(age="old"), 422, "age"),
        (lambda d: d["assessment"].pop("affected_side"), 422, "affected_side"),
        (lambda d: d["assessment"].update(date="2999-01-01"), 400, "future"),
        (lambda d: d["assessment"].update(date="03/04/2025"), 422, "date"),
        (lambda d: d.update(template="no_such_template"), 400, "unknown template"),
        (lambda d: d.update(template="Robert'); DROP TABLE"), 422, "template"),
        (lambda d: d["preferences"].update(minutes_per_session=10**12), 422, "minutes"),
        (lambda d: d["assessment"]["lefs"].update(not_an_item=3), 400, "questionnaire"),
        (lambda d: d.update(extra=1), 422, "extra"),
    ],
)
def test_bad_program_requests_are_refused(
    world: World, person: tuple[Account, dict[str, str]], change: Any, status: int, match: str
) -> None:
    account, headers = person
    pid = account.patient_id
    data = intake_json()
    world.post(f"/patients/{pid}/screen", headers, data["screen"])
    body = {"assessment": data["assessment"], "preferences": data["preferences"]}
    change(body)
    assert_error(world.post(f"/patients/{pid}/program", headers, body), status, match)
    assert_error(world.get(f"/patients/{pid}/program", headers), 404)


def test_a_named_template_can_be_chosen(
    world: World, person: tuple[Account, dict[str, str]]
) -> None:
    account, headers = person
    pid = account.patient_id
    data = intake_json()
    world.post(f"/patients/{pid}/screen", headers, data["screen"])
    response = world.post(
        f"/patients/{pid}/program",
        headers,
        {
            "assessment": data["assessment"],
            "preferences": data["preferences"],
            "template": "alfredson",
        },
    )
    assert response.status_code == 201, response.text
    assert response.json()["template"] == "alfredson"


def test_program_versions(
    world: World, started: tuple[str, dict[str, str], dict[str, Any]]
) -> None:
    pid, headers, program = started
    page = world.get(f"/patients/{pid}/program/versions", headers).json()
    assert page["total"] == 1
    assert page["items"][0]["version"] == 1 and page["items"][0]["cause"] == "plan"
    assert page["next"] is None
    one = world.get(f"/patients/{pid}/program/versions/1", headers)
    assert one.status_code == 200 and one.json()["slots"] == program["slots"]
    assert_error(world.get(f"/patients/{pid}/program/versions/99", headers), 404, "version 99")
    assert_error(world.get(f"/patients/{pid}/program/versions/abc", headers), 422)
    assert_error(world.get(f"/patients/{pid}/program/versions/0", headers), 422)
    assert_error(world.get(f"/patients/{pid}/program/versions/{10**40}", headers), 422)


def test_versions_are_paginated_newest_first(
    world: World, started: tuple[str, dict[str, str], dict[str, Any]]
) -> None:
    pid, headers, _ = started
    clinician = world.clinician()
    # Each override makes a program version; the services apply them directly here (the
    # override route itself is tested with a linked clinician below).
    for n in range(3):
        world.services.apply_override(
            pid,
            Override(
                date=START + dt.timedelta(days=n),
                by="Dr Chen",
                reason="testing versions",
                action="force_phase",
                # Each one moves the phase: forcing the phase it is in is refused.
                phase=Phase.ACTIVATION if n % 2 == 0 else Phase.LOW_LOAD_RESISTANCE,
            ),
            by_user_id=clinician.id,
        )
    page = world.get(f"/patients/{pid}/program/versions", headers, limit=2).json()
    assert page["total"] == 4
    assert [v["version"] for v in page["items"]] == [4, 3]
    assert page["next"] == f"{API}/patients/{pid}/program/versions?limit=2&offset=2"
    rest = world.client.get(page["next"], headers=headers).json()
    assert [v["version"] for v in rest["items"]] == [2, 1]
    assert rest["next"] is None


def test_today(world: World, started: tuple[str, dict[str, str], dict[str, Any]]) -> None:
    pid, headers, program = started
    today = world.get(f"/patients/{pid}/today", headers).json()
    assert today["date"] == TODAY.isoformat()
    assert today["scheduled"] is True and today["status"] == "planned"
    assert today["open_sessions"] == [1]
    assert today["slots"] == program["slots"]
    before = world.get(
        f"/patients/{pid}/today", headers, date=(START - dt.timedelta(days=1)).isoformat()
    ).json()
    assert before["status"] == "rest" and before["scheduled"] is False
    for bad in ("tomorrow", "2025-13-01", "9" * 30):
        assert_error(world.get(f"/patients/{pid}/today", headers, date=bad), 422, "date")


def test_today_needs_a_program(world: World, person: tuple[Account, dict[str, str]]) -> None:
    account, headers = person
    assert_error(world.get(f"/patients/{account.patient_id}/today", headers), 404, "no program")


# ----- sessions, check-ins, retests, decisions ---------------------------------------------


def test_logging_a_session_lists_its_decisions(
    world: World, started: tuple[str, dict[str, str], dict[str, Any]]
) -> None:
    pid, headers, program = started
    body = session_body(program, START, "session-1", pain=7)
    response = world.post(f"/patients/{pid}/sessions", headers, body)
    assert response.status_code == 201, response.text
    logged = response.json()
    assert logged["session_id"] == "session-1" and logged["duplicate"] is False
    assert logged["decisions"], "pain 7 during a session must change the program"
    assert {d["kind"] for d in logged["decisions"]} & {"regress", "flare"}
    assert all(d["person_text"] and d["rule"] for d in logged["decisions"])
    listed = world.get(f"/patients/{pid}/decisions", headers).json()
    assert listed["total"] == len(logged["decisions"])
    assert {d["rule"] for d in listed["items"]} == {d["rule"] for d in logged["decisions"]}
    today = world.get(f"/patients/{pid}/today", headers, date=START.isoformat()).json()
    assert today["status"] == "done"
    detail = world.get(f"/patients/{pid}", headers).json()
    assert detail["last_activity"] == START.isoformat()


def test_a_retried_session_is_stored_once_and_a_reused_id_conflicts(
    world: World, started: tuple[str, dict[str, str], dict[str, Any]]
) -> None:
    pid, headers, program = started
    body = session_body(program, START, "retry-me-please")
    assert world.post(f"/patients/{pid}/sessions", headers, body).status_code == 201
    with world.database.transaction() as session:
        decisions = session.scalar(select(func.count()).select_from(DecisionRecord))
        stored = session.scalars(select(SessionLogRecord.data)).all()
    again = world.post(f"/patients/{pid}/sessions", headers, body)
    assert again.status_code == 200
    assert again.json()["duplicate"] is True and again.json()["decisions"] == []
    with world.database.transaction() as session:
        assert session.scalar(select(func.count()).select_from(SessionLogRecord)) == 1
        assert session.scalars(select(SessionLogRecord.data)).all() == stored
        assert session.scalar(select(func.count()).select_from(DecisionRecord)) == decisions
    assert world.get(f"/patients/{pid}/sessions", headers).json()["total"] == 1
    changed = session_body(program, START, "retry-me-please", pain=3)
    assert_error(world.post(f"/patients/{pid}/sessions", headers, changed), 409, "already used")


def test_log_ids_belong_to_one_person_so_another_cannot_block_or_probe_them(
    world: World, started: tuple[str, dict[str, str], dict[str, Any]]
) -> None:
    pid, headers, program = started
    assert (
        world.post(
            f"/patients/{pid}/sessions", headers, session_body(program, START, "shared-id-1")
        ).status_code
        == 201
    )
    other = world.person("other@example.org", "Other Person")
    other_headers = world.token(other)
    other_program = world.started(other_headers, str(other.patient_id))
    response = world.post(
        f"/patients/{other.patient_id}/sessions",
        other_headers,
        session_body(other_program, START, "shared-id-1"),
    )
    assert response.status_code == 201, response.text
    assert response.json()["duplicate"] is False
    mine = world.get(f"/patients/{pid}/sessions", headers).json()
    assert [item["id"] for item in mine["items"]] == ["shared-id-1"]


def test_sessions_are_listed_newest_first_and_paginated(
    world: World, started: tuple[str, dict[str, str], dict[str, Any]]
) -> None:
    pid, headers, program = started
    for n in range(4):
        day = START + dt.timedelta(days=n)
        current = world.get(f"/patients/{pid}/program", headers).json()
        body = session_body(current, day, f"session-{n}")
        assert world.post(f"/patients/{pid}/sessions", headers, body).status_code == 201
    skipped = {
        "id": "skipped-1",
        "date": (START + dt.timedelta(days=4)).isoformat(),
        "skipped": True,
    }
    assert world.post(f"/patients/{pid}/sessions", headers, skipped).status_code == 201
    page = world.get(f"/patients/{pid}/sessions", headers, limit=2).json()
    assert [s["id"] for s in page["items"]] == ["skipped-1", "session-3"]
    assert page["total"] == 5
    assert page["items"][0]["skipped"] is True
    rest = world.get(f"/patients/{pid}/sessions", headers, limit=2, offset=2).json()
    assert [s["id"] for s in rest["items"]] == ["session-2", "session-1"]
    assert rest["next"] == f"{API}/patients/{pid}/sessions?limit=2&offset=4"
    assert program["version"] == 1


def _bad_sessions(program: dict[str, Any]) -> list[tuple[str, dict[str, Any], int, str]]:
    good = session_body(program, START, "bad-session")
    first = good["exercises"][0]

    def with_set(**change: Any) -> dict[str, Any]:
        body = session_body(program, START, "bad-session")
        body["exercises"][0] = {**first, "sets": [{**first["sets"][0], **change}]}
        return body

    tomorrow = (TODAY + dt.timedelta(days=1)).isoformat()
    return [
        ("pain 11", with_set(pain=11), 422, "pain"),
        ("negative amount", with_set(amount=-1), 422, "amount"),
        ("huge amount", with_set(amount=1e300), 422, "amount"),
        ("pain as text", with_set(pain="a lot"), 422, "pain"),
        ("long knob", with_set(knob="k" * 65), 422, "knob"),
        ("long form", with_set(form="f" * 65), 422, "at most 64"),
        ("future date", {**good, "date": tomorrow}, 400, "future"),
        ("far future", {**good, "date": "9999-12-31"}, 400, "future"),
        ("before start", {**good, "date": "2001-01-01"}, 400, "before the program"),
        ("not a date", {**good, "date": "yesterday"}, 422, "date"),
        ("no exercises", {**good, "exercises": []}, 422, "at least one exercise"),
        ("skipped with work", {**good, "skipped": True}, 422, "skipped"),
        (
            "unknown exercise",
            {**good, "exercises": [{**first, "exercise_id": "moon_walk"}]},
            400,
            "unknown exercise",
        ),
        (
            "bad exercise id",
            {**good, "exercises": [{**first, "exercise_id": "Moon Walk!"}]},
            422,
            "exercise_id",
        ),
        ("bad side", {**good, "exercises": [{**first, "side": "middle"}]}, 422, "side"),
        ("no id", {k: v for k, v in good.items() if k != "id"}, 422, "id"),
        ("long id", {**good, "id": "x" * 65}, 422, "id"),
        ("short id", {**good, "id": "1"}, 422, "8 to 64"),
        ("odd id", {**good, "id": "../../etc/passwd"}, 422, "8 to 64"),
        ("extra field", {**good, "mood": "great"}, 422, "mood"),
        (
            "too many sets",
            {**good, "exercises": [{**first, "sets": [first["sets"][0]] * 21}]},
            422,
            "sets",
        ),
    ]


def test_bad_sessions_are_refused_and_nothing_is_stored(
    world: World, started: tuple[str, dict[str, str], dict[str, Any]]
) -> None:
    pid, headers, program = started
    for name, body, status, match in _bad_sessions(program):
        response = world.post(f"/patients/{pid}/sessions", headers, body)
        assert response.status_code == status, (name, response.status_code, response.text)
        assert_error(response, status, match)
    assert world.get(f"/patients/{pid}/sessions", headers).json()["total"] == 0
    rest_day = {
        "id": "rest-day-1",
        "date": (START - dt.timedelta(days=3)).isoformat(),
        "skipped": True,
    }
    assert_error(world.post(f"/patients/{pid}/sessions", headers, rest_day), 400)


def test_checkins(world: World, started: tuple[str, dict[str, str], dict[str, Any]]) -> None:
    pid, headers, _ = started
    for n, pain in enumerate((3, 2, 2)):
        day = (START + dt.timedelta(days=n + 1)).isoformat()
        response = world.post(
            f"/patients/{pid}/checkins",
            headers,
            {"date": day, "pain_on_waking": pain, "stiffness_on_waking": 1},
        )
        assert response.status_code == 201, response.text
        assert response.json()["program_version"] >= 1
    twice = world.post(
        f"/patients/{pid}/checkins",
        headers,
        {
            "date": (START + dt.timedelta(days=1)).isoformat(),
            "pain_on_waking": 1,
            "stiffness_on_waking": 1,
        },
    )
    assert_error(twice, 409, "already a check-in")
    for bad, status in (
        ({"date": START.isoformat(), "pain_on_waking": 11, "stiffness_on_waking": 1}, 422),
        ({"date": START.isoformat(), "pain_on_waking": 1}, 422),
        ({"date": "2999-01-01", "pain_on_waking": 1, "stiffness_on_waking": 1}, 400),
        ({"date": START.isoformat(), "pain_on_waking": True, "stiffness_on_waking": [1]}, 422),
    ):
        assert_error(world.post(f"/patients/{pid}/checkins", headers, bad), status)
    page = world.get(f"/patients/{pid}/checkins", headers, limit=2).json()
    assert page["total"] == 3
    assert [c["date"] for c in page["items"]] == [
        (START + dt.timedelta(days=3)).isoformat(),
        (START + dt.timedelta(days=2)).isoformat(),
    ]
    assert page["items"][0]["pain_on_waking"] == 2
    assert page["next"] is not None


def test_c11_a_check_in_keeps_whether_the_pain_settled_within_the_hour(
    world: World, started: tuple[str, dict[str, str], dict[str, Any]]
) -> None:
    pid, headers, _ = started
    day = (START + dt.timedelta(days=1)).isoformat()
    body = {"date": day, "pain_on_waking": 1, "stiffness_on_waking": 1}
    bad = world.post(f"/patients/{pid}/checkins", headers, {**body, "settled_within_hour": "maybe"})
    assert_error(bad, 422)
    saved = world.post(f"/patients/{pid}/checkins", headers, {**body, "settled_within_hour": "no"})
    assert saved.status_code == 201, saved.text
    page = world.get(f"/patients/{pid}/checkins", headers).json()
    assert page["items"][0]["settled_within_hour"] == "no"


def test_a_retest_is_recorded_and_listed_with_the_first_assessment(
    world: World, started: tuple[str, dict[str, str], dict[str, Any]]
) -> None:
    pid, headers, _ = started
    assessment = intake_json()["assessment"]
    assessment["date"] = TODAY.isoformat()
    assessment["tests"]["heel_raise_reps"] = {"left": 20, "right": 25}
    response = world.post(f"/patients/{pid}/retests", headers, assessment)
    assert response.status_code == 201, response.text
    assert isinstance(response.json()["decisions"], list)
    page = world.get(f"/patients/{pid}/assessments", headers).json()
    assert [a["kind"] for a in page["items"]] == ["retest", "initial"]
    assert page["items"][0]["assessment"]["tests"]["heel_raise_reps"]["left"] == 20
    assert page["items"][0]["profile"]
    future = {**assessment, "date": "2999-01-01"}
    assert_error(world.post(f"/patients/{pid}/retests", headers, future), 400, "future")
    assert_error(world.post(f"/patients/{pid}/retests", headers, {"age": 30}), 422)
    assert world.get(f"/patients/{pid}/assessments", headers).json()["total"] == 2


def test_decisions_are_paginated_newest_first(
    world: World, started: tuple[str, dict[str, str], dict[str, Any]]
) -> None:
    pid, headers, program = started
    made: list[dict[str, Any]] = []
    for n in range(3):
        current = world.get(f"/patients/{pid}/program", headers).json()
        body = session_body(current, START + dt.timedelta(days=n), f"decided-{n}")
        made += world.post(f"/patients/{pid}/sessions", headers, body).json()["decisions"]
    total = world.get(f"/patients/{pid}/decisions", headers).json()["total"]
    assert total == len(made) >= 3
    page = world.get(f"/patients/{pid}/decisions", headers, limit=1).json()
    assert page["items"][0]["date"] == (START + dt.timedelta(days=2)).isoformat()
    assert page["items"][0] == made[-1]
    collected = []
    url: str | None = f"{API}/patients/{pid}/decisions?limit=2"
    while url:
        chunk = world.client.get(url, headers=headers).json()
        collected += chunk["items"]
        url = chunk["next"]
    assert collected == list(reversed(made))
    assert program["version"] == 1


def test_progress(world: World, started: tuple[str, dict[str, str], dict[str, Any]]) -> None:
    pid, headers, program = started
    world.post(
        f"/patients/{pid}/sessions", headers, session_body(program, START, "progress-1", pain=3)
    )
    world.post(
        f"/patients/{pid}/checkins",
        headers,
        {
            "date": (START + dt.timedelta(days=1)).isoformat(),
            "pain_on_waking": 2,
            "stiffness_on_waking": 4,
        },
    )
    progress = world.get(f"/patients/{pid}/progress", headers).json()
    assert progress["session_pain"] == [{"date": START.isoformat(), "pain": 3}]
    assert progress["morning"] == [
        {"date": (START + dt.timedelta(days=1)).isoformat(), "pain": 2, "stiffness": 4}
    ]
    assert "heel_raise_reps" in progress["lsi"]
    assert progress["lsi"]["heel_raise_reps"][0]["lsi"] == pytest.approx(48, abs=0.5)
    assert progress["weekly_minutes"] and progress["weekly_minutes"][0]["minutes"] > 0
    assert sum(w["done"] for w in progress["adherence"]) == 1
    assert progress["phases"][0]["phase"] == program["phase"]


def test_progress_needs_a_program(world: World, person: tuple[Account, dict[str, str]]) -> None:
    account, headers = person
    assert_error(world.get(f"/patients/{account.patient_id}/progress", headers), 404)


# ----- overrides ----------------------------------------------------------------------------


@pytest.fixture
def clinic(world: World) -> tuple[str, dict[str, str], dict[str, str], dict[str, Any]]:
    """A clinician's patient who has claimed the record, with a program:
    (patient id, clinician headers, patient headers, program)."""
    clinician = world.clinician()
    clinician_headers = world.token(clinician)
    created = world.post("/patients", clinician_headers, {"display_name": "Olive"}).json()
    patient = world.person("olive@example.org", "Olive", invite=created["invite_code"])
    patient_headers = world.token(patient)
    program = world.started(clinician_headers, created["id"])
    return created["id"], clinician_headers, patient_headers, program


def test_a_clinician_overrides_and_it_is_recorded(
    world: World, clinic: tuple[str, dict[str, str], dict[str, str], dict[str, Any]]
) -> None:
    pid, clinician, patient, program = clinic
    slot = next(s for s in program["slots"] if s["part"] == "main")
    response = world.post(
        f"/patients/{pid}/overrides",
        clinician,
        {
            "action": "pin_dose",
            "exercise_id": slot["exercise_id"],
            "sets": 2,
            "reason": "keep it steady this week",
            "date": START.isoformat(),
        },
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["decisions"][0]["kind"] == "override"
    assert "Dr Chen" in body["decisions"][0]["clinician_text"]
    assert body["program_version"] == 2
    pinned = world.get(f"/patients/{pid}/program", patient).json()
    doses = next(s for s in pinned["slots"] if s["exercise_id"] == slot["exercise_id"])["doses"]
    assert all(d["pinned"] and d["sets"] == 2 for d in doses)
    latest = world.get(f"/patients/{pid}/decisions", patient, limit=1).json()["items"][0]
    assert latest["rule"] == "override.pin_dose"


def test_people_cannot_override(
    world: World, clinic: tuple[str, dict[str, str], dict[str, str], dict[str, Any]]
) -> None:
    pid, _, patient, _ = clinic
    response = world.post(
        f"/patients/{pid}/overrides",
        patient,
        {"action": "force_phase", "phase": "maintenance", "reason": "I feel great"},
    )
    assert_error(response, 403, "only a clinician")
    assert world.get(f"/patients/{pid}/program", patient).json()["version"] == 1


@pytest.mark.parametrize(
    ("body", "status", "match"),
    [
        ({"action": "pin_dose", "reason": "no exercise given"}, 422, "exercise_id"),
        ({"action": "force_phase", "reason": "no phase"}, 422, "phase"),
        ({"action": "explode", "reason": "nope"}, 422, "action"),
        ({"action": "resume", "reason": "x"}, 422, "reason"),
        ({"action": "resume", "reason": "fine", "by": "someone else"}, 422, "by"),
        ({"action": "resume", "reason": "fine", "date": "2999-01-01"}, 400, "future"),
        (
            {"action": "pin_dose", "exercise_id": "nordic_curl", "reason": "not in program"},
            404,
            "not in the current program",
        ),
        (
            {"action": "pin_dose", "exercise_id": "heel_raise", "sets": 99, "reason": "too many"},
            422,
            "sets",
        ),
        (
            {"action": "pin_dose", "exercise_id": "heel_raise", "knob": "k" * 65, "reason": "long"},
            422,
            "knob",
        ),
    ],
)
def test_bad_overrides_are_refused(
    world: World,
    clinic: tuple[str, dict[str, str], dict[str, str], dict[str, Any]],
    body: dict[str, Any],
    status: int,
    match: str,
) -> None:
    pid, clinician, _, _ = clinic
    assert_error(world.post(f"/patients/{pid}/overrides", clinician, body), status, match)


def test_a_safety_rule_cannot_be_switched_off_and_nothing_is_stored(
    world: World, clinic: tuple[str, dict[str, str], dict[str, str], dict[str, Any]]
) -> None:
    pid, clinician, _, _ = clinic
    response = world.post(
        f"/patients/{pid}/overrides",
        clinician,
        {"action": "rule_off", "rule": "pain.unsafe", "reason": "trying to switch safety off"},
    )
    # Refused before anything is stored, as on the page and the command line.
    assert_error(response, 400, "cannot be switched off")
    assert world.get(f"/patients/{pid}/decisions", clinician).json()["total"] == 0


# ----- export -------------------------------------------------------------------------------


def test_export_is_a_complete_bundle(
    world: World, started: tuple[str, dict[str, str], dict[str, Any]]
) -> None:
    pid, headers, program = started
    world.post(f"/patients/{pid}/sessions", headers, session_body(program, START, "exported-1"))
    response = world.get(f"/patients/{pid}/export", headers)
    assert response.status_code == 200
    assert f"groundup-{pid}.json" in response.headers["content-disposition"]
    bundle = ExportBundle.model_validate(response.json())
    assert bundle.person.id == pid
    assert [e.type for e in bundle.events] == ["session"]
    assert bundle.program_versions[0].program.version == 1


# ----- exercises ----------------------------------------------------------------------------


def test_exercises_are_listed_filtered_and_paginated(
    world: World, person: tuple[Account, dict[str, str]]
) -> None:
    _, headers = person
    library = world.services.rules.library
    everything = world.get("/exercises", headers, limit=200).json()
    assert everything["total"] == len(library)
    ids = [e["id"] for e in everything["items"]]
    assert ids == sorted(ids)
    page = world.get("/exercises", headers, limit=5, offset=5).json()
    assert [e["id"] for e in page["items"]] == ids[5:10]
    assert page["next"] == f"{API}/exercises?limit=5&offset=10"
    shins = world.get("/exercises", headers, muscle="tibialis_anterior", limit=200).json()
    assert shins["total"] == len(library.select(muscle=Muscle.TIBIALIS_ANTERIOR))
    assert 0 < shins["total"] < len(library)
    assert all(
        any(t["muscle"] == "tibialis_anterior" for t in e["targets"]) for e in shins["items"]
    )
    phase_one = world.get("/exercises", headers, phase="activation", limit=200).json()
    assert all("activation" in e["phases"] for e in phase_one["items"])
    bare = world.client.get(
        f"{API}/exercises",
        headers=headers,
        params=[("equipment", "none"), ("muscle", "soleus"), ("limit", "1")],
    ).json()
    assert bare["total"] >= 1
    assert all(set(e["equipment"]) <= {"none", "wall", "chair"} for e in bare["items"])
    if bare["next"]:
        assert "equipment=none" in bare["next"] and "muscle=soleus" in bare["next"]
    assert_error(world.get("/exercises", headers, muscle="biceps"), 422, "muscle")
    assert_error(world.get("/exercises", headers, phase=7), 422, "phase")


def test_one_exercise(world: World, person: tuple[Account, dict[str, str]]) -> None:
    _, headers = person
    first = next(iter(world.services.rules.library))
    response = world.get(f"/exercises/{first}", headers)
    assert response.status_code == 200
    assert response.json()["id"] == first and response.json()["steps"]
    assert_error(world.get("/exercises/no_such_thing", headers), 404, "no exercise")
    assert_error(world.get("/exercises/" + "x" * 500, headers), 404, "no exercise")
    assert_error(world.client.get(f"{API}/exercises/{first}"), 401)


# ----- the OpenAPI document and errors everywhere ------------------------------------------


def test_the_openapi_document_lists_every_route(world: World) -> None:
    response = world.client.get(f"{API}/openapi.json")
    assert response.status_code == 200
    spec = response.json()
    for method, path, route in api_routes(world.app):
        operation = spec["paths"][path][method.lower()]
        assert operation["summary"], path
        assert len(operation["description"]) > 20, path
        assert {"401", "404", "422"} <= set(operation["responses"]), path
        success = [c for c in operation["responses"] if c.startswith("2")]
        assert success, path
        assert "$ref" in str(operation["responses"][success[0]]["content"]), path
        if route.body_field is not None:
            assert "$ref" in str(operation["requestBody"]), path
    documented = {
        (m.upper(), p) for p, ops in spec["paths"].items() if p.startswith(API) for m in ops
    }
    assert documented == {(m, p) for m, p, _ in api_routes(world.app)}
    schemes = spec["components"]["securitySchemes"]
    assert any(s.get("scheme") == "bearer" for s in schemes.values())
    assert "Program" in spec["components"]["schemas"]
    assert "ErrorOut" in spec["components"]["schemas"]


@pytest.mark.parametrize(
    ("content", "content_type", "status"),
    [
        (b"\xff\xfe\x00{", "application/json", 400),
        (b'{"pain": NaN}', "application/json", 400),
        (b'{"pain": Infinity}', "application/json", 400),
        (b'{"date": ', "application/json", 400),
        (b"[" * 100_000, "application/json", 400),
        (b'{"a": ' + b"9" * 5000 + b"}", "application/json", 400),
        (b'{"a": 1}', "text/plain", 415),
        (b"a=1&b=2", "application/x-www-form-urlencoded", 415),
        (b"x" * 1_100_000, "application/json", 413),
        (b"", "application/json", 422),
        (b"null", "application/json", 422),
        (b"12", "application/json", 422),
    ],
)
def test_malformed_bodies_get_4xx_json_on_every_write(
    world: World,
    started: tuple[str, dict[str, str], dict[str, Any]],
    content: bytes,
    content_type: str,
    status: int,
) -> None:
    pid, headers, _ = started
    clinician = world.token(world.clinician())
    writes = [(m, p) for m, p, r in api_routes(world.app) if r.body_field is not None]
    assert len(writes) >= 8
    for method, path in writes:
        url = path.replace("{patient_id}", pid)
        who = clinician if "overrides" in path or path == f"{API}/patients" else headers
        response = world.client.request(
            method, url, content=content, headers={**who, "Content-Type": content_type}
        )
        if "overrides" in path and status == 422:
            expected: tuple[int, ...] = (404, 422)  # the clinician is not this person's
        elif "overrides" in path:
            expected = (status, 404)
        else:
            expected = (status,)
        assert_error(response, expected)


def test_no_route_answers_500_to_odd_ids_and_queries(
    world: World, started: tuple[str, dict[str, str], dict[str, Any]]
) -> None:
    pid, headers, _ = started
    odd_ids = ["0" * 32, "not-hex", "Z" * 32, "%00", "x" * 2000, pid.upper(), "1;DROP TABLE"]
    for method, path, route in api_routes(world.app):
        if "{" not in path:
            continue
        for odd in odd_ids:
            url = path.replace("{patient_id}", odd).replace("{version}", "1")
            url = url.replace("{exercise_id}", odd)
            response = world.client.request(method, url, headers=headers, json={})
            assert 400 <= response.status_code < 500, (method, url, response.status_code)
            assert response.json()["error"]
        if "{patient_id}" in path and method == "GET":
            url = path.replace("{patient_id}", pid).replace("{version}", "1")
            response = world.client.get(
                url, headers=headers, params={"date": "2025-02-30", "limit": "1e9", "offset": "x"}
            )
            takes = {p.name for p in route.dependant.query_params} | {
                p.name for d in route.dependant.dependencies for p in d.query_params
            }
            if takes & {"date", "limit", "offset"}:
                assert_error(response, 422)
            else:
                assert response.status_code == 200, (url, response.status_code)


# ----- a referral pauses the program (review M1, M2) ----------------------------------------


def test_a_check_in_warning_sign_pauses_the_program_at_the_api(
    world: World, started: tuple[str, dict[str, str], dict[str, Any]]
) -> None:
    pid, headers, program = started
    checkin = {
        "date": START.isoformat(),
        "pain_on_waking": 2,
        "stiffness_on_waking": 1,
        "warning_signs": ["calf_swollen_hot"],
        "new_red_flags": ["it came on last night"],
    }
    response = world.post(f"/patients/{pid}/checkins", headers, checkin)
    assert response.status_code == 201, response.text
    (refer,) = [d for d in response.json()["decisions"] if d["kind"] == "refer"]
    assert refer["numbers"]["urgency"] == "emergency"
    # Today offers no session, and a session sent anyway is refused with the advice.
    today = world.get(f"/patients/{pid}/today", headers, date=START.isoformat()).json()
    assert today["paused"] is True and today["slots"] == [] and today["open_sessions"] == []
    body = session_body(program, START, "after-referral")
    refused = assert_error(world.post(f"/patients/{pid}/sessions", headers, body), 409, "paused")
    assert refused["paused"] is True and "emergency department" in refused["advice"]
    skip = {"id": "skip-after-referral", "date": START.isoformat(), "skipped": True}
    assert_error(world.post(f"/patients/{pid}/sessions", headers, skip), 409, "paused")
    assert world.get(f"/patients/{pid}/sessions", headers).json()["total"] == 0


def test_an_unknown_warning_sign_is_a_400(
    world: World, started: tuple[str, dict[str, str], dict[str, Any]]
) -> None:
    pid, headers, _ = started
    checkin = {
        "date": START.isoformat(),
        "pain_on_waking": 2,
        "stiffness_on_waking": 1,
        "warning_signs": ["calf_a_bit_tight"],
    }
    assert_error(world.post(f"/patients/{pid}/checkins", headers, checkin), 400, "warning sign")
    assert world.get(f"/patients/{pid}/checkins", headers).json()["total"] == 0
