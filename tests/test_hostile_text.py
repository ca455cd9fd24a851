"""Hostile text through every door, then every read: on SQLite and on PostgreSQL.

A person and their clinician write, through every API route and every form that takes
text: first text the rule refuses (half a surrogate pair, NUL, other control characters,
noncharacters) — each must be refused with a 4xx naming the field, never a 5xx, and
nothing stored — then odd but valid text (other scripts, emoji, right-to-left marks,
markup, formulas, quotes, line breaks in notes), which must be stored and read back
exactly. Then every page and every API route of that person and that clinician is read,
and the record exported in every format: no 5xx anywhere, and the valid text comes back
as it went in.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote, urlencode

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlalchemy import select

from groundup.cli.files import read_document, validate
from groundup.clinical.intake import Intake
from groundup.clinical.text import clean_text, text_problem
from groundup.storage.models import AuditEntry, Base
from test_authorization import all_routes
from test_security_findings import API, EXAMPLE, START, TODAY, World, csrf_of

REFUSED = {
    "lone surrogate": "calf \ud83d",
    "NUL": "calf\x00pain",
    "bell": "calf\x07",
    "escape": "\x1b[31mred",
    "C1 control": "calf\x85pain",
    "noncharacter": "calf\ufffe",
}
# Stored and read back exactly.
ODD = {
    "name": "Zoë Ünal-Ødegård 🦶",
    "reason": 'Hold <script>alert("x")</script> & =SUM(A1) \u202eevil\u202c; 1\' OR 1=1 --',
    "notes": "Left calf tight.\nRight fine.\tNo swelling — 足首",
    "flag": "tingling in toes 🦶🏽",
    "knob": "bänd grün 🟢",
}


def hostile_json(value: str) -> str:
    """A JSON string literal as a client would send it (a lone surrogate as its escape)."""
    return json.dumps(value)


@pytest.fixture
def world(database_url: str) -> Iterator[World]:
    w = World(database_url)
    yield w
    w.database.dispose()


def api_writes(world: World) -> list[tuple[str, str, dict[str, str], dict[str, Any], str]]:
    """(method, path, headers, body with a @@TEXT@@ hole, the field named) for every API
    route that takes text."""
    intake = validate(Intake, read_document(EXAMPLE), str(EXAMPLE)).model_dump(mode="json")
    assessment = {
        **intake["assessment"],
        "date": TODAY.isoformat(),
        "observations": {"notes": "@@TEXT@@"},
    }
    p, c, pid = world.person_headers, world.clinician_headers, world.pid
    session = world.session_body(START, "hostile-0001")
    knob = json.loads(json.dumps(session))
    knob["exercises"][0]["sets"][0]["knob"] = "@@TEXT@@"
    form = json.loads(json.dumps(session))
    form["exercises"][0]["sets"][0]["form"] = "@@TEXT@@"
    day = (START + dt.timedelta(days=1)).isoformat()
    return [
        ("POST", "/tokens", {}, {"email": "@@TEXT@@", "password": "x"}, "email"),
        ("POST", "/tokens", {}, {"email": "p@example.org", "password": "@@TEXT@@"}, "password"),
        (
            "POST",
            "/register",
            {},
            {"email": "h@example.org", "display_name": "@@TEXT@@", "password": "a walk uphill!"},
            "display_name",
        ),
        (
            "POST",
            "/register",
            {},
            {
                "email": "h@example.org",
                "display_name": "H",
                "password": "a walk uphill!",
                "invite": "@@TEXT@@",
            },
            "invite",
        ),
        ("POST", "/patients", c, {"display_name": "@@TEXT@@"}, "display_name"),
        ("POST", f"/patients/{pid}/screen", p, {"@@TEXT@@": True}, "@@TEXT@@"),
        (
            "POST",
            f"/patients/{pid}/program",
            p,
            {"assessment": assessment, "preferences": intake["preferences"]},
            "assessment.observations.notes",
        ),
        (
            "POST",
            f"/patients/{pid}/sessions",
            p,
            {"id": "skip-00001", "date": day, "skipped": True, "skip_reason": "@@TEXT@@"},
            "skip_reason",
        ),
        ("POST", f"/patients/{pid}/sessions", p, knob, "exercises.0.sets.0.knob"),
        ("POST", f"/patients/{pid}/sessions", p, form, "exercises.0.sets.0.form"),
        (
            "POST",
            f"/patients/{pid}/checkins",
            p,
            {
                "date": day,
                "pain_on_waking": 1,
                "stiffness_on_waking": 1,
                "new_red_flags": ["@@TEXT@@"],
            },
            "new_red_flags.0",
        ),
        ("POST", f"/patients/{pid}/retests", p, assessment, "observations.notes"),
        (
            "POST",
            f"/patients/{pid}/overrides",
            c,
            {"action": "resume", "reason": "@@TEXT@@"},
            "reason",
        ),
        ("POST", "/me/close", p, {"password": "@@TEXT@@"}, "password"),
    ]


def page_writes(world: World) -> list[tuple[str, dict[str, str], str]]:
    """(path, form fields with a @@TEXT@@ hole, who) for the forms that take text."""
    pid = world.pid
    return [
        ("/login", {"email": "@@TEXT@@", "password": "x"}, "nobody"),
        (
            "/register",
            {"email": "h@example.org", "display_name": "@@TEXT@@", "password": "x"},
            "nobody",
        ),
        ("/password/forgot", {"email": "@@TEXT@@"}, "nobody"),
        ("/password/reset", {"token": "@@TEXT@@", "new": "x"}, "nobody"),
        ("/password", {"current": "@@TEXT@@", "new": "a walk uphill!"}, "person"),
        ("/me/checkin", {"pain": "1", "stiffness": "1", "signs": "@@TEXT@@"}, "person"),
        ("/me/session/skip", {"reason": "@@TEXT@@"}, "person"),
        ("/me/calendar/link", {"session": "@@TEXT@@", "checkin": "06:30"}, "person"),
        ("/account/close", {"password": "@@TEXT@@", "confirm": "yes"}, "person"),
        ("/clinic/new", {"name": "@@TEXT@@"}, "clinician"),
        (f"/clinic/patients/{pid}/assess", {"observations.notes": "@@TEXT@@"}, "clinician"),
        (
            f"/clinic/patients/{pid}/program",
            {"action": "resume", "reason": "@@TEXT@@"},
            "clinician",
        ),
        ("/account/two-factor", {"code": "@@TEXT@@"}, "clinician"),
    ]


def fill(value: Any, text: str) -> Any:
    if isinstance(value, str):
        return value.replace("@@TEXT@@", text)
    if isinstance(value, dict):
        return {fill(k, text): fill(v, text) for k, v in value.items()}
    if isinstance(value, list):
        return [fill(v, text) for v in value]
    return value


def post_json(world: World, path: str, headers: dict[str, str], body: Any) -> Any:
    raw = json.dumps(body)  # escapes a lone surrogate as \\udXXX, as a JSON client sends it
    return world.client.post(
        API + path, content=raw.encode(), headers={**headers, "Content-Type": "application/json"}
    )


def browsers(world: World) -> dict[str, TestClient]:
    return {
        "person": world.browser(world.person),
        "clinician": world.browser(world.clinician),
        "nobody": TestClient(world.app, raise_server_exceptions=False, follow_redirects=False),
    }


def post_form(client: TestClient, who: str, path: str, fields: dict[str, str]) -> Any:
    """A form post with the browser's own form token (the session's, or the sign-in
    page's for a visitor)."""
    token = csrf_of(client.get("/login" if who == "nobody" else "/account").text)
    # Encoded by hand: a lone surrogate goes as the bytes a careless client would send
    # (ED A0 BD); the server reads those as a replacement character.
    body = urlencode({"csrf": token, **fields}, encoding="utf-8", errors="surrogatepass")
    return client.post(
        path, content=body, headers={"Content-Type": "application/x-www-form-urlencoded"}
    )


def counts(world: World) -> dict[str, int]:
    with world.database.reading() as session:
        return {
            table.name: len(session.execute(select(table)).all())
            for table in Base.metadata.sorted_tables
            if table.name not in ("audit_log", "rate_limits", "web_sessions", "api_tokens")
        }


def every_string_storable(world: World) -> None:
    """The invariant itself: nothing stored anywhere breaks the rule."""
    world.database.flush_audit()
    with world.database.reading() as session:
        for table in Base.metadata.sorted_tables:
            for row in session.execute(select(table)).mappings():
                for column, value in row.items():
                    for text in _strings(value):
                        assert text_problem(text) is None, (table.name, column, text)


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield str(k)
            yield from _strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from _strings(v)


def read_everything(
    world: World, clients: dict[str, TestClient], readers: tuple[str, ...] = ("person", "clinician")
) -> str:
    """Every GET page and API route of the person and of the clinician (their patient's
    pages too) and every export: no 5xx. Returns all the text the reads gave back."""
    shown: list[str] = []
    pid = world.pid
    tokens = {"person": world.person_headers, "clinician": world.clinician_headers}
    everyone = [tokens[r] for r in readers]
    routes: list[tuple[str, str, APIRoute]] = [r for r in all_routes(world.app) if r[0] == "GET"]
    for _, path, _route in routes:
        if "{" in path and "{patient_id}" not in path:
            continue
        url = path.replace("{patient_id}", pid).replace("{version}", "1")
        if path.startswith(API):
            for headers in everyone:
                response = world.client.get(url, headers=headers)
                assert response.status_code < 500, (url, response.status_code)
                shown.append(response.text)
            continue
        if path.startswith(("/me", "/clinic", "/account", "/admin", "/password")):
            for who in readers:
                response = clients[who].get(url)
                assert response.status_code < 500, (who, url, response.status_code)
                if response.headers.get("content-type", "").startswith(
                    ("text/", "application/json")
                ):
                    shown.append(response.text)
    for format in ("json", "csv", "fhir"):
        for headers in everyone:
            exported = world.client.get(
                f"{API}/patients/{pid}/export", params={"format": format}, headers=headers
            )
            assert exported.status_code == 200, (format, exported.text[:300])
    record = world.client.get(f"{API}/patients/{pid}/export", headers=everyone[-1])
    shown.append(json.dumps(record.json(), ensure_ascii=False))
    return "\n".join(shown)


def test_hostile_text_is_refused_everywhere_and_odd_text_reads_back_exactly(
    world: World,
) -> None:
    clients = browsers(world)
    before = counts(world)
    # 1. What the rule refuses: 4xx naming the field, never a 5xx, nothing stored.
    for kind, bad in REFUSED.items():
        for method, path, headers, body, field in api_writes(world):
            response = post_json(world, path, headers, fill(body, bad))
            context = f"{kind}: {method} {path}"
            assert response.status_code < 500, (context, response.text[:300])
            assert response.status_code in (400, 401, 404, 409, 413, 422), context
            if response.status_code == 422:
                fields = response.json().get("fields", [])
                named = clean_text(fill(field, bad))  # a name is shown cleaned
                assert named in fields or any(f.startswith(named.split(".")[0]) for f in fields), (
                    context,
                    fields,
                )
        if kind == "lone surrogate":
            continue  # a form cannot carry one: see below
        for path, fields, who in page_writes(world):
            response = post_form(clients[who], who, path, fill(fields, bad))
            context = f"{kind}: form {path}"
            assert response.status_code == 422, (context, response.status_code)
            name = next(k for k, v in fields.items() if "@@TEXT@@" in v)
            assert name in response.text, context
        quoted = quote(bad, encoding="utf-8", errors="surrogatepass")
        for url in (f"/clinic/patients/{quoted}", f"/clinic?q={quoted}", f"/login?next={quoted}"):
            response = clients["clinician"].get(url)
            assert response.status_code < 500, (kind, url)
    assert counts(world) == before, "a refused write stored something"
    # A form's bytes for half a surrogate pair (ED A0 BD) are read as U+FFFD, which is
    # text: such a post is an ordinary one (no 5xx), and nothing unstorable is kept.
    for path, fields, who in page_writes(world):
        response = post_form(clients[who], who, path, fill(fields, REFUSED["lone surrogate"]))
        assert response.status_code < 500, (path, response.status_code)
    every_string_storable(world)

    # 2. Odd but valid text goes in through the same doors and is kept as written.
    p, c, pid = world.person_headers, world.clinician_headers, world.pid
    renamed = post_json(world, "/patients", c, {"display_name": ODD["name"]})
    assert renamed.status_code == 201, renamed.text
    other_pid = renamed.json()["id"]
    day = START + dt.timedelta(days=1)
    checkin = post_json(
        world,
        f"/patients/{pid}/checkins",
        p,
        {
            "date": day.isoformat(),
            "pain_on_waking": 1,
            "stiffness_on_waking": 1,
            "new_red_flags": [ODD["flag"]],
        },
    )
    assert checkin.status_code == 201, checkin.text
    session = world.session_body(START, "odd-text-0001", knob=ODD["knob"])
    assert post_json(world, f"/patients/{pid}/sessions", p, session).status_code == 201
    skipped = {
        "id": "odd-skip-0001",
        "date": (START + dt.timedelta(days=2)).isoformat(),
        "skipped": True,
        "skip_reason": ODD["notes"],
    }
    assert post_json(world, f"/patients/{pid}/sessions", p, skipped).status_code == 201
    intake = validate(Intake, read_document(EXAMPLE), str(EXAMPLE)).model_dump(mode="json")
    retest = {
        **intake["assessment"],
        "date": TODAY.isoformat(),
        "observations": {"notes": ODD["notes"]},
        "psfs": [{"activity": ODD["name"], "score": 5}],
    }
    assert post_json(world, f"/patients/{pid}/retests", p, retest).status_code == 201
    override = post_json(
        world,
        f"/patients/{pid}/overrides",
        c,
        # A phase other than the one it is in: forcing that one is refused at every door.
        {"action": "force_phase", "phase": "activation", "reason": ODD["reason"]},
    )
    assert override.status_code == 201, override.text
    page = clients["person"].get("/me/checkin")
    assert page.status_code < 500
    every_string_storable(world)

    # 3. Every read, by both, of both records: no 5xx, and the odd text comes back whole.
    shown = read_everything(world, clients)
    for value in ODD.values():
        assert value in shown or json.dumps(value, ensure_ascii=False)[1:-1] in shown, value
    record = world.client.get(f"{API}/patients/{pid}/export", headers=p).json()
    events = {e["type"]: e for e in record["events"] if e["type"] != "session"}
    sessions = [e for e in record["events"] if e["type"] == "session"]
    assert events["override"]["reason"] == ODD["reason"]
    assert events["checkin"]["new_red_flags"] == [ODD["flag"]]
    assert events["retest"]["assessment"]["observations"]["notes"] == ODD["notes"]
    assert {s["skip_reason"] for s in sessions} >= {ODD["notes"]}
    assert ODD["knob"] in [
        entry["knob"] for s in sessions for e in s["exercises"] for entry in e["sets"]
    ]
    world.pid = other_pid
    read_everything(world, clients, readers=("clinician",))
    other = world.client.get(f"{API}/patients/{other_pid}", headers=c).json()
    assert other["display_name"] == ODD["name"]


def test_a_lone_surrogate_never_reaches_the_audit_log(world: World) -> None:
    """An audit line is written whatever it holds, so it is cleaned rather than refused."""
    from groundup.services import audit

    mark = audit.begin("203.0.113.1")
    try:
        audit.identify(1, "someone \ud83d\x00")
        world.services.program(world.pid)
    finally:
        audit.end(mark)
    world.database.flush_audit()
    with world.database.reading() as session:
        actors = session.scalars(select(AuditEntry.actor)).all()
    assert "someone \ufffd" in actors
    assert all(text_problem(a) is None for a in actors)
