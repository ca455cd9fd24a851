"""Nobody sees or changes anyone else's data — checked over every route the app serves.

The people: person A (whose data everyone else goes after), person B, clinician C (A's),
clinician D (no patients, in no clinic) and admin E. Clinics: C is the admin of clinic X,
where F is another clinician (not A's); G is the admin of clinic Y and H a clinician there.
Every route is tried by every role, of the same clinic and of the other one. Routes are enumerated from the app itself, so a
route added later is covered without touching this file; a write route this file has no
sample body for fails the test until one is added.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from groundup.cli.files import read_document, validate
from groundup.clinical.intake import Intake
from groundup.knowledge import load_rules
from groundup.services import Services
from groundup.services.accounts import Account, Accounts
from groundup.storage.database import Database
from groundup.storage.models import (
    CheckInRecord,
    ClinicianPatient,
    ClinicMember,
    DecisionRecord,
    OverrideRecord,
    Patient,
    ProgramVersion,
    ScreenRecord,
    SessionLogRecord,
    User,
)
from groundup.web.app import create_app

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
PASSWORD = "a long enough secret"
A_NAME = "Alexandra Quimby-Zed"
TODAY = dt.date.today()
START = TODAY - dt.timedelta(days=6)
REFUSED = {401, 403, 404}
# Statuses a page may answer with when a form is refused before the access check runs
# (the CSRF check, or form validation): no data in either.
PAGE_REFUSED = REFUSED | {400, 422}


def all_routes(app: FastAPI) -> list[tuple[str, str, APIRoute]]:
    """(method, full path, route) for every route the app serves.

    FastAPI ≥ 0.13x keeps included routers as lazy entries in `app.routes`; a plain
    `isinstance(r, APIRoute)` filter over it would silently see none of the routers' routes,
    so they are expanded first."""
    try:
        from fastapi.routing import iter_route_contexts
    except ImportError:  # older FastAPI: included routes are copied into app.routes
        contexts: list[Any] = list(app.routes)
    else:
        contexts = list(iter_route_contexts(app.routes))
    found = []
    for context in contexts:
        route = getattr(context, "original_route", context)
        if isinstance(route, APIRoute):
            found += [(method, str(context.path), route) for method in sorted(route.methods)]
    return found


def intake_json(name: str = "clear-left-calf.yaml") -> dict[str, Any]:
    path = EXAMPLES / name
    data = validate(Intake, read_document(path), str(path)).model_dump(mode="json")
    data["assessment"]["date"] = START.isoformat()
    data["preferences"]["training_days"] = list(range(7))
    return data


def session_body(program: Any, day: dt.date, log_id: str) -> dict[str, Any]:
    return {
        "id": log_id,
        "date": day.isoformat(),
        "exercises": [
            {
                "exercise_id": slot.exercise_id,
                "side": dose.side.value if dose.side else None,
                "sets": [{"amount": dose.amount, "rpe": 6, "pain": 2}] * dose.sets,
            }
            for slot in program.slots
            for dose in slot.doses
        ],
    }


@dataclass
class Who:
    name: str
    account: Account | None
    token: str | None = None
    cookie: str | None = None
    csrf: str | None = None

    def bearer(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}


class World:
    def __init__(self, tmp: Path) -> None:
        self.database = Database(f"sqlite:///{tmp / 'a.db'}")
        self.services = Services(self.database, load_rules())
        self.app = create_app(services=self.services)
        self.accounts: Accounts = self.app.state.accounts
        accounts = self.accounts
        clinician_c = accounts.create_user("c@example.org", "Dr Cee", "clinician", PASSWORD)
        clinician_d = accounts.create_user("d@example.org", "Dr Dee", "clinician", PASSWORD)
        admin_e = accounts.create_user("e@example.org", "Admin Eve", "admin", PASSWORD)
        clinician_f = accounts.create_user("f@example.org", "Dr Eff", "clinician", PASSWORD)
        clinician_g = accounts.create_user("g@example.org", "Dr Gee", "clinician", PASSWORD)
        clinician_h = accounts.create_user("h@example.org", "Dr Aitch", "clinician", PASSWORD)
        clinics = self.services.clinics
        self.clinic_x = clinics.create("Clinic X")
        self.clinic_y = clinics.create("Clinic Y")
        clinics.add_member(self.clinic_x.id, "c@example.org", admin=True)
        clinics.add_member(self.clinic_x.id, "f@example.org")
        clinics.add_member(self.clinic_y.id, "g@example.org", admin=True)
        clinics.add_member(self.clinic_y.id, "h@example.org")
        self.a_id, code = accounts.create_patient(clinician_c, A_NAME)
        person_a = accounts.register_person("a@example.org", A_NAME, PASSWORD, invite=code)
        person_b = accounts.register_person("b@example.org", "Bartholomew Other", PASSWORD)
        assert person_a.patient_id == self.a_id
        self.b_id = person_b.patient_id
        self.people = {
            name: self._signed_in(name, account)
            for name, account in (
                ("A", person_a),
                ("B", person_b),
                ("C", clinician_c),
                ("D", clinician_d),
                ("E", admin_e),
                ("F", clinician_f),
                ("G", clinician_g),
                ("H", clinician_h),
            )
        }
        self.nobody = Who("nobody", None)
        # A's record holds everything a leak could show.
        data = intake_json()
        self.services.record_screen(self.a_id, Intake.model_validate(data).screen, START)  # type: ignore[arg-type]
        intake = Intake.model_validate(data)
        assert intake.assessment is not None
        self.program = self.services.start_program(
            self.a_id, intake.assessment, intake.preferences, day=TODAY
        )
        from groundup.clinical.logs import CheckIn, SessionLog

        self.services.log_session(
            self.a_id, SessionLog.model_validate(session_body(self.program, START, "a-1"))
        )
        self.services.record_checkin(
            self.a_id,
            CheckIn(date=START + dt.timedelta(days=1), pain_on_waking=1, stiffness_on_waking=1),
        )
        self.client = TestClient(self.app, raise_server_exceptions=False, follow_redirects=False)

    def _signed_in(self, name: str, account: Account) -> Who:
        cookie, csrf = self.accounts.start_session(account, second_factor=True)
        return Who(name, account, self.accounts.new_api_token(account, "test"), cookie, csrf)

    def counts(self) -> dict[str, Any]:
        """Everything about A that a successful foreign write would change."""
        with self.database.transaction() as session:

            def count(model: Any) -> int:
                return int(
                    session.scalar(
                        select(func.count()).select_from(model).where(model.patient_id == self.a_id)
                    )
                    or 0
                )

            patient = session.get(Patient, self.a_id)
            c_user = session.scalars(select(User).where(User.email == "c@example.org")).one()
            links = sorted(
                session.scalars(
                    select(ClinicianPatient.clinician_id).where(
                        ClinicianPatient.patient_id == self.a_id
                    )
                )
            )
            return {
                "patient": None if patient is None else (patient.display_name, patient.user_id),
                "screens": count(ScreenRecord),
                "versions": count(ProgramVersion),
                "sessions": count(SessionLogRecord),
                "checkins": count(CheckInRecord),
                "decisions": count(DecisionRecord),
                "overrides": count(OverrideRecord),
                "c_active": c_user.active,
                "links": links,
                "clinic": None if patient is None else patient.clinic_id,
                "members": sorted(
                    (m.user_id, m.clinic_id, m.admin) for m in session.scalars(select(ClinicMember))
                ),
            }

    def request(
        self,
        who: Who,
        method: str,
        url: str,
        *,
        api: bool,
        use_cookie: bool,
        body: Any = None,
        form: dict[str, str] | None = None,
    ) -> Any:
        self.client.cookies.clear()
        headers: dict[str, str] = {}
        if use_cookie and who.cookie:
            self.client.cookies.set("gu_session", who.cookie)
        elif not use_cookie:
            headers.update(who.bearer())
        if api:
            return self.client.request(method, url, headers=headers, json=body)
        if method == "GET":
            return self.client.get(url, headers=headers)
        data = dict(form or {})
        if use_cookie and who.csrf:
            data["csrf"] = who.csrf
        return self.client.request(method, url, headers=headers, data=data)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    w = World(tmp_path_factory.mktemp("authz"))
    yield w
    w.database.dispose()


# ----- what each route gets sent ------------------------------------------------------------


def api_body(world: World, method: str, path: str) -> Any:
    """A valid body for each API write under /patients/{patient_id}: if the access check were
    missing, these would succeed — so a refusal proves the check."""
    if method in ("GET", "DELETE"):
        return None
    data = intake_json()
    tail = path.split("{patient_id}", 1)[1]
    bodies: dict[str, Any] = {
        "/screen": data["screen"],
        "/program": {"assessment": data["assessment"], "preferences": data["preferences"]},
        "/sessions": session_body(world.program, START + dt.timedelta(days=2), "foreign-session-1"),
        "/checkins": {
            "date": (START + dt.timedelta(days=3)).isoformat(),
            "pain_on_waking": 9,
            "stiffness_on_waking": 9,
        },
        "/retests": {**data["assessment"], "date": TODAY.isoformat()},
        "/overrides": {"action": "force_phase", "phase": "maintenance", "reason": "not mine"},
        "/invites": None,
        # a clinic admin's move of A to clinician G (of the other clinic)
        "/move": {"to": world.people["G"].account.id},  # type: ignore[union-attr]
    }
    if tail not in bodies:
        pytest.fail(f"{method} {path}: add a valid sample body for it to {__file__}")
    return bodies[tail]


def _sample(annotation: Any) -> str:
    text = str(annotation)
    if "date" in text:
        return TODAY.isoformat()
    if "int" in text or "float" in text:
        return "1"
    if "bool" in text:
        return "true"
    return "x"


def page_form(route: APIRoute) -> dict[str, str]:
    """A form with every field the page route declares, filled with plausible values."""
    form = {}
    fields: list[Any] = []
    pending = [route.dependant]
    while pending:
        dependant = pending.pop()
        fields += dependant.body_params
        pending += dependant.dependencies
    for field in fields:
        if field.alias == "csrf":
            continue
        default = field.field_info.default
        if default not in (None, ...) and not callable(default) and str(default) != "":
            form[field.alias] = str(default)
        else:
            form[field.alias] = _sample(field.field_info.annotation)
    return form


def fill(path: str, world: World, patient_id: str) -> str:
    url = path.replace("{patient_id}", patient_id).replace("{version}", "1")
    c_id = world.people["C"].account.id  # type: ignore[union-attr]
    url = url.replace("{user_id}", str(c_id))
    return re.sub(r"\{[^}]+\}", "1", url)


def assert_refused(response: Any, *, api: bool, allowed: set[int], context: str) -> None:
    status = response.status_code
    assert status != 500, context
    assert not 200 <= status < 300, f"{context}: answered {status} — someone else's data"
    if 300 <= status < 400:
        assert not api, f"{context}: the API must not redirect"
        location = response.headers.get("location", "")
        assert location.startswith("/login"), f"{context}: redirected to {location!r}"
    else:
        assert status in allowed, f"{context}: answered {status}"
    assert A_NAME not in response.text, f"{context}: shows A's name"
    if api:
        assert response.json()["error"], context


# ----- the tests ----------------------------------------------------------------------------


def patient_routes(world: World) -> list[tuple[str, str, APIRoute]]:
    routes = [r for r in all_routes(world.app) if "{patient_id}" in r[1]]
    api = [r for r in routes if r[1].startswith("/api/")]
    assert len(api) >= 20, "the API's per-person routes were not found"
    return routes


def test_no_role_reaches_someone_elses_record(world: World) -> None:
    before = world.counts()
    attackers = [world.people[n] for n in ("B", "D", "E", "F", "G", "H")] + [world.nobody]
    exercised: set[tuple[str, str]] = set()
    for method, path, route in patient_routes(world):
        api = path.startswith("/api/")
        url = fill(path, world, world.a_id)
        for who in attackers:
            for use_cookie in (False, True):
                context = f"{who.name} {'cookie' if use_cookie else 'token'} {method} {url}"
                response = world.request(
                    who,
                    method,
                    url,
                    api=api,
                    use_cookie=use_cookie,
                    body=api_body(world, method, path) if api else None,
                    form=None if api else page_form(route),
                )
                allowed = REFUSED if api or method == "GET" else PAGE_REFUSED
                assert_refused(response, api=api, allowed=allowed, context=context)
                if who is world.nobody or (api and use_cookie and method != "GET"):
                    assert response.status_code in (401, 403) or response.is_redirect, context
        exercised.add((method, path))
    every = {(m, p) for m, p, _ in patient_routes(world)}
    assert exercised == every
    assert world.counts() == before, "a refused request changed A's data"


def test_the_owner_and_their_clinician_do_reach_it(world: World) -> None:
    """The positive control: the same GET routes work for A and for C, so the refusals above
    are the access check at work, not routes that always fail."""
    a, c = world.people["A"], world.people["C"]
    for method, path, _ in patient_routes(world):
        if method != "GET":
            continue
        url = fill(path, world, world.a_id)
        if path.startswith("/api/"):
            for who in (a, c):
                for use_cookie in (False, True):
                    response = world.request(who, "GET", url, api=True, use_cookie=use_cookie)
                    assert response.status_code == 200, (who.name, url, response.text[:300])
        else:
            response = world.request(c, "GET", url, api=False, use_cookie=True)
            assert response.status_code == 200, (url, response.status_code)
            assert A_NAME in shown_text(response) or "Alexandra" in shown_text(response), url


def shown_text(response: Any) -> str:
    """What a page shows: its text, or a PDF download's text as read back from the PDF."""
    if response.headers.get("content-type") != "application/pdf":
        return str(response.text)
    import pypdfium2 as pdfium

    document = pdfium.PdfDocument(response.content)
    try:
        return " ".join(page.get_textpage().get_text_range() for page in document)
    finally:
        document.close()


def test_ids_cannot_be_probed(world: World) -> None:
    """An id that exists but is not yours and an id that does not exist get the same answer."""
    unknown = uuid.uuid4().hex
    for method, path, route in patient_routes(world):
        api = path.startswith("/api/")
        for who in [world.people[n] for n in ("B", "D", "E", "G")] + [world.nobody]:
            for use_cookie in (False, True) if api else (True,):
                answers = []
                for patient_id in (world.a_id, unknown, "not-an-id"):
                    url = fill(path, world, patient_id)
                    response = world.request(
                        who,
                        method,
                        url,
                        api=api,
                        use_cookie=use_cookie,
                        body=api_body(world, method, path) if api else None,
                        form=None if api else page_form(route),
                    )
                    text = response.text.replace(patient_id, "<id>")
                    location = response.headers.get("location", "").replace(patient_id, "<id>")
                    answers.append((response.status_code, text, location))
                context = f"{who.name} {method} {path} ({'cookie' if use_cookie else 'token'})"
                assert answers[0] == answers[1], f"{context}: a foreign id answers differently"
                if api:
                    assert answers[0][:2] == answers[2][:2], f"{context}: a malformed id differs"


def test_a_persons_own_id_is_the_only_one_they_reach(world: World) -> None:
    """B reaches B's record and not A's, on the same route, with the same token."""
    b = world.people["B"]
    assert b.account is not None and b.account.patient_id == world.b_id
    own = world.request(b, "GET", f"/api/v1/patients/{world.b_id}", api=True, use_cookie=False)
    assert own.status_code == 200 and own.json()["display_name"] == "Bartholomew Other"
    other = world.request(b, "GET", f"/api/v1/patients/{world.a_id}", api=True, use_cookie=False)
    assert other.status_code == 404
    listed = world.request(b, "GET", "/api/v1/patients", api=True, use_cookie=False).json()
    assert [p["id"] for p in listed["items"]] == [world.b_id]
    for who in ("D", "E", "F", "G", "H"):
        listed = world.request(
            world.people[who], "GET", "/api/v1/patients", api=True, use_cookie=False
        ).json()
        assert listed["items"] == [] and listed["total"] == 0


def test_only_clinicians_override_and_invite_even_on_their_own_record(world: World) -> None:
    a = world.people["A"]
    before = world.counts()
    for path, body in (
        ("overrides", {"action": "force_phase", "phase": "maintenance", "reason": "me myself"}),
        ("invites", None),
    ):
        response = world.request(
            a,
            "POST",
            f"/api/v1/patients/{world.a_id}/{path}",
            api=True,
            use_cookie=False,
            body=body,
        )
        assert response.status_code == 403, response.text
        assert "only a clinician" in response.json()["error"]
    assert world.counts() == before


def test_the_html_pages_show_nobody_else(world: World) -> None:
    """Every GET page under /me and /clinic (and /admin), as person B and as clinician D:
    a refusal or the sign-in page for A's pages, and never A's name anywhere."""
    pages = [
        (path, route)
        for method, path, route in all_routes(world.app)
        if method == "GET" and path.startswith(("/me", "/clinic", "/admin"))
    ]
    for path, _ in pages:
        url = fill(path, world, world.a_id)
        for who in [world.people[n] for n in ("B", "D", "E", "F", "G", "H")]:
            response = world.request(who, "GET", url, api=False, use_cookie=True)
            context = f"{who.name} GET {url}"
            assert response.status_code != 500, context
            assert A_NAME not in response.text, f"{context}: shows A's name"
            if "{patient_id}" in path or (path.startswith("/clinic") and who.name == "B"):
                if 300 <= response.status_code < 400:
                    location = response.headers.get("location", "")
                    assert location.startswith(("/login", "/me", "/")), context
                    assert "/clinic/patients" not in location, context
                else:
                    assert response.status_code in REFUSED, (context, response.status_code)
        anonymous = world.request(world.nobody, "GET", url, api=False, use_cookie=True)
        assert anonymous.status_code in (303, 307, 401, 403, 404), url
        if anonymous.is_redirect:
            assert anonymous.headers["location"].startswith("/login"), url
        assert A_NAME not in anonymous.text


def test_clinicians_see_only_their_own_on_the_dashboard(world: World) -> None:
    c = world.people["C"]
    d = world.people["D"]
    mine = world.request(c, "GET", "/clinic", api=False, use_cookie=True)
    theirs = world.request(d, "GET", "/clinic", api=False, use_cookie=True)
    if mine.status_code == 200:  # the dashboard exists
        assert A_NAME in mine.text
        assert theirs.status_code == 200 and A_NAME not in theirs.text
        assert "Bartholomew" not in mine.text and "Bartholomew" not in theirs.text


def test_cookie_writes_are_refused_even_for_the_owner(world: World) -> None:
    """The session cookie is for reading: a forged cross-site write carries it, and fails."""
    a = world.people["A"]
    before = world.counts()
    for method, path, _ in patient_routes(world):
        if not path.startswith("/api/") or method == "GET":
            continue
        url = fill(path, world, world.a_id)
        response = world.request(
            a, method, url, api=True, use_cookie=True, body=api_body(world, method, path)
        )
        assert response.status_code == 401, (method, url, response.status_code)
    assert world.counts() == before


# ----- own exercises, their photos and own protocols -------------------------------------------

OWN_NAME = "Towel-roll calf raise hold"


@pytest.fixture(scope="module")
def own(world: World) -> dict[str, str]:
    """C's own exercise (with a photo) and protocol; what every other role goes after."""
    import io

    from PIL import Image

    from groundup.services.library import Owner
    from groundup.services.photos import check_photo

    c = world.people["C"].account
    assert c is not None
    owner = Owner.clinician(c.id)
    data = read_document(EXAMPLES / "clinic" / "own-exercise.yaml")["exercises"][0]
    world.services.own.save(owner, [data], by_user_id=c.id)
    picture = io.BytesIO()
    Image.new("RGB", (20, 20), (9, 9, 9)).save(picture, format="JPEG")
    item = world.services.own.set_photo(owner, data["id"], check_photo(picture.getvalue()))
    protocol = read_document(EXAMPLES / "clinic" / "own-protocol.yaml")["templates"][0]
    world.services.own.save_protocols(owner, [protocol], by_user_id=c.id)
    assert item.picture is not None
    return {"exercise_id": data["id"], "key": item.picture}


def own_state(world: World) -> Any:
    from groundup.storage.models import ExercisePicture, OwnExercise, OwnTemplate

    with world.database.reading() as session:
        return (
            sorted(
                (r.exercise_id, r.version, r.retired, r.picture_id, str(r.data))
                for r in session.scalars(select(OwnExercise))
            ),
            sorted(r.key for r in session.scalars(select(ExercisePicture))),
            sorted((r.key, r.version) for r in session.scalars(select(OwnTemplate))),
        )


def own_routes(world: World) -> list[tuple[str, str, APIRoute]]:
    found = [
        r
        for r in all_routes(world.app)
        if "/exercises" in r[1] or "/protocols" in r[1] or r[1].startswith("/exercise-pictures")
    ]
    assert len(found) >= 15, found
    return found


def own_body(method: str, path: str) -> Any:
    if method in ("GET", "DELETE") or path.endswith("/photo"):
        return None
    if path.endswith("/retire"):
        return {"retired": True}
    if "/protocols" in path:
        return read_document(EXAMPLES / "clinic" / "own-protocol.yaml")["templates"][0]
    data = dict(read_document(EXAMPLES / "clinic" / "own-exercise.yaml")["exercises"][0])
    data["name"] = "Taken over"
    return data


def test_no_role_reaches_a_clinicians_own_exercises(world: World, own: dict[str, str]) -> None:
    """Every route of own exercises, photos and protocols, as every other role, by token
    and by cookie: C's exercise, photo and protocol are neither shown nor changed. (A, C's
    patient, may see the exercise and its photo; nobody but C may change them.)"""
    before = own_state(world)
    for method, path, route in own_routes(world):
        api = path.startswith("/api/")
        url = path.replace("{exercise_id}", own["exercise_id"]).replace("{key}", own["key"])
        readers = ("B", "D", "E", "F", "G", "H")
        writers = ("A", "B", "D", "E", "F", "G", "H")
        for name in (*(writers if method != "GET" else readers), "nobody"):
            who = world.nobody if name == "nobody" else world.people[name]
            for use_cookie in (False, True):
                context = f"{who.name} {'cookie' if use_cookie else 'token'} {method} {url}"
                response = world.request(
                    who,
                    method,
                    url,
                    api=api,
                    use_cookie=use_cookie,
                    body=own_body(method, path) if api else None,
                    form=None if api else page_form(route),
                )
                assert response.status_code != 500, context
                assert OWN_NAME not in response.text, f"{context}: shows C's exercise"
                if method != "GET":
                    assert not 200 <= response.status_code < 300, context
                elif response.status_code == 200 and "pictures" in path:
                    pytest.fail(f"{context}: served C's photo")
    assert own_state(world) == before, "a refused request changed C's own exercises"


def test_the_clinician_and_their_patient_do_reach_them(world: World, own: dict[str, str]) -> None:
    """The positive control for the test above."""
    c, a = world.people["C"], world.people["A"]
    exercise_id, key = own["exercise_id"], own["key"]
    page = world.request(c, "GET", f"/clinic/exercises/{exercise_id}", api=False, use_cookie=True)
    assert page.status_code == 200 and OWN_NAME in page.text
    mine = world.request(c, "GET", "/api/v1/exercises/own", api=True, use_cookie=False)
    assert mine.json()["items"][0]["exercise"]["name"] == OWN_NAME
    for who in (c, a):
        photo = world.request(who, "GET", f"/exercise-pictures/{key}", api=False, use_cookie=True)
        assert photo.status_code == 200 and photo.headers["content-type"] == "image/jpeg"
        seen = world.request(
            who, "GET", f"/api/v1/exercises/{exercise_id}", api=True, use_cookie=False
        )
        assert seen.status_code == 200 and seen.json()["name"] == OWN_NAME


# ----- clinics: the same clinic and the other one ----------------------------------------------

SHARED_NAME = "Shared towel hold of clinic X"
SHARED_PROTOCOL = "Return-to-run plan of clinic X"


@pytest.fixture(scope="module")
def shared(world: World, own: dict[str, str]) -> dict[str, str]:
    """An exercise (with a photo) and a protocol C shared with clinic X."""
    import io

    from PIL import Image

    from groundup.services.library import Owner
    from groundup.services.photos import check_photo

    c = world.people["C"].account
    assert c is not None
    owner = Owner.clinician(c.id)
    data = dict(read_document(EXAMPLES / "clinic" / "own-exercise.yaml")["exercises"][0])
    data.update(id="shared_towel_hold", name=SHARED_NAME)
    world.services.own.save(owner, [data], by_user_id=c.id)
    picture = io.BytesIO()
    Image.new("RGB", (20, 20), (90, 9, 9)).save(picture, format="JPEG")
    item = world.services.own.set_photo(owner, data["id"], check_photo(picture.getvalue()))
    protocol = dict(read_document(EXAMPLES / "clinic" / "own-protocol.yaml")["templates"][0])
    protocol["key"] = "shared_protocol_x"
    protocol["name"] = SHARED_PROTOCOL
    protocol["items"] = [{**protocol["items"][0], "exercise_id": data["id"]}]
    world.services.own.save_protocols(owner, [protocol], by_user_id=c.id)
    world.services.own.share(owner, data["id"])
    world.services.own.share_protocol(owner, "shared_protocol_x")
    assert item.picture is not None
    return {"exercise_id": data["id"], "picture": item.picture, "key": "shared_protocol_x"}


def _shared_url(path: str, shared: dict[str, str]) -> str:
    key = shared["picture"] if path.startswith("/exercise-pictures") else shared["key"]
    return path.replace("{exercise_id}", shared["exercise_id"]).replace("{key}", key)


def test_another_clinic_never_reaches_a_clinics_shared_items(
    world: World, shared: dict[str, str]
) -> None:
    """Every route of own exercises, photos and protocols, as every role outside clinic X
    (G, its other clinic's admin, and H included), by token and by cookie: the shared
    exercise, its photo and the shared protocol are neither shown nor changed."""
    before = own_state(world)
    for method, path, route in own_routes(world):
        api = path.startswith("/api/")
        url = _shared_url(path, shared)
        names = ("A", "B", "D", "E", "G", "H") if method != "GET" else ("B", "D", "E", "G", "H")
        for name in (*names, "nobody"):
            who = world.nobody if name == "nobody" else world.people[name]
            for use_cookie in (False, True):
                context = f"{who.name} {'cookie' if use_cookie else 'token'} {method} {url}"
                response = world.request(
                    who,
                    method,
                    url,
                    api=api,
                    use_cookie=use_cookie,
                    body=own_body(method, path) if api else None,
                    form=None if api else page_form(route),
                )
                assert response.status_code != 500, context
                assert SHARED_NAME not in response.text, f"{context}: shows clinic X's exercise"
                # (The key itself may be echoed from the address: the name is what is kept.)
                assert SHARED_PROTOCOL not in response.text, f"{context}: shows the protocol"
                if method != "GET":
                    assert not 200 <= response.status_code < 300, context
                elif response.status_code == 200 and "pictures" in path:
                    pytest.fail(f"{context}: served clinic X's photo")
    assert own_state(world) == before, "a refused request changed clinic X's items"


def test_every_clinician_of_the_clinic_uses_its_shared_items(
    world: World, shared: dict[str, str]
) -> None:
    """The positive control: F (clinic X, not C) sees and uses them; so does A's photo."""
    f, a = world.people["F"], world.people["A"]
    exercise_id = shared["exercise_id"]
    page = world.request(f, "GET", f"/clinic/exercises/{exercise_id}", api=False, use_cookie=True)
    assert page.status_code == 200 and SHARED_NAME in page.text
    seen = world.request(f, "GET", f"/api/v1/exercises/{exercise_id}", api=True, use_cookie=False)
    assert seen.status_code == 200 and seen.json()["name"] == SHARED_NAME
    protocols = world.request(f, "GET", "/api/v1/protocols", api=True, use_cookie=False).json()
    assert [p["key"] for p in protocols] == ["shared_protocol_x"]
    for who in (f, a):
        photo = world.request(
            who, "GET", f"/exercise-pictures/{shared['picture']}", api=False, use_cookie=True
        )
        assert photo.status_code == 200, who.name


def clinic_routes(world: World) -> list[tuple[str, str, APIRoute]]:
    found = [
        r
        for r in all_routes(world.app)
        if r[1].startswith(("/clinic/team", "/clinic/library", "/api/v1/clinic"))
    ]
    assert len(found) >= 12, found
    return found


def clinic_body(world: World, method: str, path: str) -> Any:
    if method == "GET":
        return None
    g = world.people["G"].account
    assert g is not None
    if path.endswith("/move") or path.endswith("/hand-over"):
        return {"to": g.id}
    # The site admin's clinic routes: E may use them, so the body must change nothing even
    # for E (no such clinician); everyone else is refused before it is read.
    if path == "/api/v1/clinics":
        return {"name": "Taken over", "admin_email": "nobody-here@example.org"}
    if path.startswith("/api/v1/clinics/"):
        return {"email": "nobody-here@example.org"}
    if path.endswith("/members"):
        return {"email": "f@example.org"}  # clinic X's clinician, into the other clinic
    if path.endswith("/library"):
        return {"format": "groundup-clinic-library", "version": 1}
    pytest.fail(f"{method} {path}: add a sample body for it to {__file__}")


def test_clinic_routes_never_cross_clinics(world: World) -> None:
    """Every clinic route (team, caseload, move, hand over, members, library) as every role:
    nobody but C, clinic X's admin, sees A or changes who looks after A; clinic Y's admin G
    gets 404 or 403 for clinic X's patient and clinicians."""
    before = world.counts()
    for method, path, route in clinic_routes(world):
        api = path.startswith("/api/")
        url = fill(path, world, world.a_id)
        for name in ("A", "B", "D", "E", "F", "G", "H", "nobody"):
            who = world.nobody if name == "nobody" else world.people[name]
            for use_cookie in (False, True):
                context = f"{who.name} {'cookie' if use_cookie else 'token'} {method} {url}"
                response = world.request(
                    who,
                    method,
                    url,
                    api=api,
                    use_cookie=use_cookie,
                    body=clinic_body(world, method, path) if api else None,
                    form=None if api else page_form(route),
                )
                assert response.status_code != 500, context
                assert A_NAME not in response.text, f"{context}: shows A"
                assert OWN_NAME not in response.text, f"{context}: shows C's private exercise"
                importing = path.endswith("/library") and method == "POST" and name == "G"
                if method != "GET" and not importing:
                    assert not 200 <= response.status_code < 300, context
                foreign_id = "{patient_id}" in path or "{user_id}" in path
                signed_in = use_cookie != api  # pages read the cookie; the API, tokens
                if name == "G" and foreign_id and method != "GET" and signed_in:
                    assert response.status_code in (400, 404, 422), context
    assert world.counts() == before, "a refused request changed who looks after A"


def test_the_clinic_admin_does_see_the_caseload(world: World) -> None:
    """The positive control: C (clinic X's admin) sees A on the caseload; G does not."""
    c, g = world.people["C"], world.people["G"]
    page = world.request(c, "GET", "/clinic/team", api=False, use_cookie=True)
    assert page.status_code == 200 and A_NAME in page.text
    listed = world.request(c, "GET", "/api/v1/clinic/caseload", api=True, use_cookie=False)
    assert [p["display_name"] for p in listed.json()] == [A_NAME]
    theirs = world.request(g, "GET", "/api/v1/clinic/caseload", api=True, use_cookie=False)
    assert theirs.status_code == 200 and theirs.json() == []
