"""Schemathesis against the API's own OpenAPI document: no input makes the app answer 5xx.

The app runs in-process (ASGI) on a real SQLite database seeded with a clinician, a person
with a program and a logged session. Every operation gets valid and invalid requests
(schemathesis' positive and negative modes), sent with a valid bearer token and with the
seeded person's id in the path, so the requests reach the handlers rather than stopping at
sign-in or the access check. Writes that would end the run (deleting the person, revoking
the token) get a throwaway person or token of their own.

Each response is checked for: no server error, a status code the document declares, and a
body that matches the document's schema for it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import not_a_server_error
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from groundup.cli.files import read_document, validate
from groundup.clinical.intake import Intake
from groundup.clinical.logs import SessionLog
from groundup.knowledge import load_rules
from groundup.services import Services
from groundup.services.accounts import Account, Accounts
from groundup.storage.database import Database
from groundup.web.app import create_app

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "clear-left-calf.yaml"
PASSWORD = "a long enough secret"
MAX_EXAMPLES = 25
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


class Seeded:
    def __init__(self, tmp: Path) -> None:
        self.database = Database(f"sqlite:///{tmp / 'fuzz.db'}")
        self.services = Services(self.database, load_rules(), actor="fuzz")
        self.app = create_app(services=self.services)
        self.accounts: Accounts = self.app.state.accounts
        self.clinician = self.accounts.create_user(
            "fuzz-clinician@example.org", "Dr Fuzz", "clinician", PASSWORD
        )
        self.clinician_token = self.accounts.new_api_token(self.clinician, "fuzz")
        self.session = self.accounts.start_session(self.clinician, second_factor=True)
        self.patient_id = self.new_patient(program=True)

    def new_patient(self, *, program: bool) -> str:
        pid, _code = self.accounts.create_patient(self.clinician, "Fuzzy Person")
        if not program:
            return pid
        intake = validate(Intake, read_document(EXAMPLE), str(EXAMPLE))
        today = dt.date.today()
        start = today - dt.timedelta(days=10)
        preferences = intake.preferences.model_copy(update={"training_days": tuple(range(7))})
        assert intake.assessment is not None
        self.services.record_screen(pid, intake.screen, start)
        program_ = self.services.start_program(
            pid, intake.assessment.model_copy(update={"date": start}), preferences, day=start
        )
        slot = program_.slots[0]
        dose = slot.doses[0]
        self.services.log_session(
            pid,
            SessionLog.model_validate(
                {
                    "id": "fuzz-seed-session",
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
        return pid

    def throwaway_token(self) -> str:
        return self.accounts.new_api_token(self.clinician, "throwaway")

    def bystander(self) -> Account:
        """Another account, for the routes that end sessions and tokens (signing out
        everywhere would end the clinician's, which every other case uses)."""
        if not hasattr(self, "_bystander"):
            self._bystander = self.accounts.register_person(
                "fuzz-bystander@example.org", "Bystander", PASSWORD
            )
        return self._bystander


# Routes that end the caller's sessions or tokens (or the account): aimed at the bystander.
ENDS_SIGN_INS = {
    "/logout",
    "/account/everywhere",
    "/account/sessions/{handle}/end",
    "/account/tokens/{token_id}/revoke",
    "/account/close",
    "/api/v1/me/sign-out-everywhere",
    "/api/v1/me/sessions/{session_id}",
    "/api/v1/me/tokens/{token_id}",
    "/api/v1/me/close",
}


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Seeded]:
    world = Seeded(tmp_path_factory.mktemp("fuzz"))
    yield world
    world.database.dispose()


@pytest.fixture(scope="module")
def api_schema(seeded: Seeded) -> Any:
    return schemathesis.openapi.from_asgi("/api/v1/openapi.json", seeded.app)


def _prepare(seeded: Seeded, method: str, path: str) -> Callable[[Any], dict[str, str]]:
    """How a case is aimed: which path ids it gets and which token it sends."""

    def aim(case: Any) -> dict[str, str]:
        token = seeded.clinician_token
        if path == "/api/v1/tokens/current" and method == "DELETE":
            token = seeded.throwaway_token()
        if path in ENDS_SIGN_INS:
            token = seeded.accounts.new_api_token(seeded.bystander(), "bystander")
        if case.path_parameters is not None and "patient_id" in case.path_parameters:
            if method == "DELETE":
                case.path_parameters["patient_id"] = seeded.new_patient(program=False)
            else:
                case.path_parameters["patient_id"] = seeded.patient_id
        if not path.startswith("/api/"):
            # The pages sign in with the session cookie, and their forms carry its CSRF token.
            # /logout would end the session: it gets one of its own.
            cookie, csrf = (
                seeded.accounts.start_session(seeded.bystander(), second_factor=True)
                if path in ENDS_SIGN_INS
                else seeded.session
            )
            if isinstance(case.body, dict) and "csrf" in case.body:
                case.body["csrf"] = csrf
            return {"Cookie": f"gu_session={cookie}"}
        return {"Authorization": f"Bearer {token}"}

    return aim


def _operations(schema: Any, *, api: bool) -> list[Any]:
    """The API's operations, or (api=False) the HTML pages the document also lists."""
    return [
        operation
        for operation in (result.ok() for result in schema.get_all_operations())
        if operation.path.startswith("/api/") == api
    ]


def _fuzz(
    operation: Any,
    mode: GenerationMode,
    aim: Callable[[Any], dict[str, str]],
    checks: list[Any],
) -> Any:
    """One operation's property test: every generated request answers within the document."""

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        database=None,
        derandomize=True,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    def check(case: Any) -> None:
        headers = aim(case)
        response = case.call(headers=headers)
        case.validate_response(response, checks=checks, headers=headers)

    return check


def _run(operations: list[Any], seeded: Seeded, checks: list[Any]) -> list[str]:
    problems: list[str] = []
    for operation in operations:
        aim = _prepare(seeded, operation.method.upper(), operation.path)
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            try:
                _fuzz(operation, mode, aim, checks)()
            except Unsatisfiable:
                # Nothing to make invalid (no parameters, no body): the positive run covers it.
                assert mode is GenerationMode.NEGATIVE, operation.path
            except (Exception, BaseExceptionGroup) as exc:  # collect every failure, then report
                problems.append(
                    f"{operation.method.upper()} {operation.path} ({mode.value}): {exc}"[:3000]
                )
    return problems


@pytest.mark.slow
def test_no_request_makes_the_api_fail(api_schema: Any, seeded: Seeded) -> None:
    operations = _operations(api_schema, api=True)
    assert len(operations) >= 25, "the API's operations were not found in its document"
    problems = _run(operations, seeded, CHECKS)
    assert not problems, "\n\n".join(problems)


@pytest.mark.slow
def test_no_request_makes_a_page_fail(api_schema: Any, seeded: Seeded) -> None:
    """The pages the document lists (forms, sign-in): never a server error. Their answers
    are HTML and redirects, so only that is checked."""
    operations = _operations(api_schema, api=False)
    assert operations, "the pages were not found in the document"
    problems = _run(operations, seeded, [not_a_server_error])
    assert not problems, "\n\n".join(problems)


# ----- plain regression tests for what the fuzzing found ------------------------------------


def test_program_versions_say_their_time_zone(seeded: Seeded) -> None:
    """SQLite hands the stored UTC time back without its zone; the answer must carry one, as
    the document's date-time format requires."""
    from fastapi.testclient import TestClient

    client = TestClient(seeded.app)
    response = client.get(
        f"/api/v1/patients/{seeded.patient_id}/program/versions",
        headers={"Authorization": f"Bearer {seeded.clinician_token}"},
    )
    assert response.status_code == 200
    for item in response.json()["items"]:
        moment = dt.datetime.fromisoformat(item["created_at"])
        assert moment.utcoffset() == dt.timedelta(0), item


def test_the_sign_in_limit_is_a_documented_answer(tmp_path: Path) -> None:
    from fastapi.testclient import TestClient

    database = Database(f"sqlite:///{tmp_path / 'limit.db'}")
    client = TestClient(create_app(services=Services(database, load_rules())))
    operation = client.get("/api/v1/openapi.json").json()["paths"]["/api/v1/tokens"]["post"]
    assert "429" in operation["responses"]
    answers = [
        client.post(
            "/api/v1/tokens", json={"email": "nobody-429@example.org", "password": "wrong guess"}
        )
        for _ in range(12)
    ]
    assert answers[0].status_code == 401
    assert answers[-1].status_code == 429
    assert answers[-1].json()["error"].startswith("too many")
    database.dispose()
