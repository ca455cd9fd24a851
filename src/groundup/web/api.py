"""The REST API under /api/v1: everything the pages do, as JSON.

Signing in: `POST /api/v1/tokens` trades an e-mail and password for a bearer token
(`Authorization: Bearer gu_...`). Reading (GET) also accepts the browser's session cookie so
that the pages' scripts can call the API; every write needs the bearer token, which a
cross-site form cannot send (no CSRF).

Access to a person's data is decided in one place, `Accounts.require`, which every route
under `/patients/{patient_id}` reaches through the `PatientAccess` dependency before it
does anything else. An id that does not exist and an id that is not yours get the same
404 and the same message, so ids cannot be probed.

Every error is JSON with a human-readable `error` (the app's exception handlers); bad
input is a 4xx, never a 500.
"""

from __future__ import annotations

import datetime as dt
import email.message
import json
import re
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Generic, Literal, TypeVar
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from fastapi.security import APIKeyCookie, HTTPBearer
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError
from starlette.concurrency import run_in_threadpool

from groundup.clinical.assessment import Assessment
from groundup.clinical.exercises import ID_PATTERN, Exercise, ExerciseLibrary
from groundup.clinical.logs import (
    QUESTIONNAIRE_MAX_WEEKS,
    CheckIn,
    Override,
    OverrideAction,
    SessionLog,
)
from groundup.clinical.program import Preferences, Program, Slot
from groundup.clinical.progression import Decision
from groundup.clinical.screening import ScreenAnswers, ScreenReason, ScreenResult, Urgency
from groundup.clinical.text import first_unstorable
from groundup.clinical.vocabulary import Equipment, Muscle, Phase, Side
from groundup.interop.files import ExportFormat
from groundup.services import Referred, ServiceError, Services, audit
from groundup.services.accounts import Account, Forbidden, _aware
from groundup.services.export import ExportBundle
from groundup.services.library import Owner, OwnItem, OwnProtocol
from groundup.services.photos import MAX_PHOTO_BYTES, PhotoRefused, check_photo
from groundup.services.workflow import NotFound, progress_data
from groundup.web.deps import SESSION_COOKIE, AccountsDep, ServicesDep, client_address
from groundup.web.downloads import export_download

T = TypeVar("T")

MAX_BODY_BYTES = 1_000_000
MAX_PAGE = 200
DEFAULT_PAGE = 50
TOKEN_DAYS = 90
# Columns of the session tables that hold at most 64 characters.
MAX_SHORT_TEXT = 64
# Session ids are the client's and unique across the database: short or counted ids could
# collide with (and so reveal) another person's, hence at least 8 characters, as the pages use.
LOG_ID = re.compile(r"[A-Za-z0-9_-]{8,64}")
SIGN_IN = "sign in: send Authorization: Bearer <token>"
BAD_TOKEN = (
    "sign in: this token has expired, was revoked or is not valid; "
    "get a new one with POST /api/v1/tokens"
)


# ----- the error shapes, for the OpenAPI document -----------------------------------------


class ErrorOut(BaseModel):
    """Every error: one sentence saying what went wrong and, where it helps, what to do."""

    error: str = Field(description="what went wrong, in plain words")


class ValidationErrorOut(ErrorOut):
    fields: list[str] = Field(description="where in the request the problems are")


class ConflictOut(ErrorOut):
    """A conflict; when the safety screen refers, `referred` is true and the reasons say why."""

    referred: bool = False
    paused: bool = Field(
        default=False,
        description="true when the program is paused after a referral; `advice` says what to do",
    )
    urgency: Urgency | None = None
    advice: str | None = None
    reasons: list[ScreenReason] = []


ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorOut, "description": "The request cannot be carried out"},
    401: {"model": ErrorOut, "description": "Not signed in, or the token is not valid"},
    403: {"model": ErrorOut, "description": "Signed in, but not allowed to do this"},
    404: {"model": ErrorOut, "description": "No such thing, or not yours to see"},
    409: {"model": ConflictOut, "description": "Conflicts with what is stored"},
    413: {"model": ErrorOut, "description": "The body is too large"},
    415: {"model": ErrorOut, "description": "The body is not JSON"},
    422: {"model": ValidationErrorOut, "description": "The request is not valid"},
}


# ----- strict JSON bodies -------------------------------------------------------------------


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number JSON allows")


def _body_problem(body: bytes, content_type: str | None) -> tuple[int, str] | None:
    """Why a request body is unusable (status, message), or None when it is well-formed JSON.

    Python's JSON reader accepts NaN and Infinity and guesses encodings; a body here must be
    UTF-8 JSON with finite numbers, so that nothing odd reaches the models or the database.
    Text that cannot be stored (`groundup.clinical.text`) is a 422 naming the field, in
    `JsonRoute`, before any model or query sees it.
    """
    if not body:
        return None
    message = email.message.Message()
    message["content-type"] = content_type or ""
    subtype = message.get_content_subtype()
    if message.get_content_maintype() != "application" or not (
        subtype == "json" or subtype.endswith("+json")
    ):
        return 415, "send the body as JSON, with the header Content-Type: application/json"
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return 400, "the body is not UTF-8 text: send JSON encoded as UTF-8"
    try:
        parsed = json.loads(text, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        return 400, f"the body is not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})"
    except (ValueError, RecursionError) as exc:
        return 400, f"the body is not usable JSON: {exc}"
    unstorable = first_unstorable(parsed)
    if unstorable is not None:
        raise _invalid(*unstorable)
    return None


async def _read_body(request: Request, most: int = MAX_BODY_BYTES) -> bytes | None:
    """The body, read at most `most` bytes far; None when it is larger."""
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > most:
        return None
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > most:
            return None
        chunks.append(chunk)
    body = b"".join(chunks)
    request._body = body  # what FastAPI's own `await request.body()` then returns
    return body


class JsonRoute(APIRoute):
    """A route that reads and checks its JSON body before FastAPI parses it.

    The body is also validated strictly (as JSON: a number must be a number, not a string
    that looks like one) against the route's body model; FastAPI's own validation, which
    follows, is lax and would take `"pain": "2"` for 2."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        if self.body_field is None:
            return handler
        strict: TypeAdapter[Any] = TypeAdapter(self.body_field.field_info.annotation or Any)

        async def checked(request: Request) -> Response:
            body = await _read_body(request)
            if body is None:
                return JSONResponse(
                    {"error": f"the body is too large (at most {MAX_BODY_BYTES:,} bytes)"},
                    status_code=413,
                )
            problem = _body_problem(body, request.headers.get("content-type"))
            if problem is not None:
                return JSONResponse({"error": problem[1]}, status_code=problem[0])
            if body:
                try:
                    strict.validate_json(body, strict=True)
                except ValidationError as exc:
                    raise RequestValidationError(exc.errors(include_url=False)) from None
            return await handler(request)

        return checked


router = APIRouter(
    prefix="/api/v1",
    route_class=JsonRoute,
    responses=ERRORS,
)


def _invalid(field: str, message: str) -> RequestValidationError:
    """A validation error found after the models accepted the request, shaped like theirs;
    `field` is dotted (`exercises.0.sets`), empty for the body as a whole."""
    where = tuple(field.split(".")) if field else ()
    return RequestValidationError(
        [{"type": "value_error", "loc": ("body", *where), "msg": message}]
    )


def _model(model: type[T], **data: Any) -> T:
    """Build a core model from request fields; its own checks become a 422, not a 500."""
    try:
        return model(**data)
    except ValidationError as exc:
        raise RequestValidationError(exc.errors(include_url=False)) from None


# ----- who is calling -----------------------------------------------------------------------

_bearer = HTTPBearer(
    auto_error=False,
    scheme_name="token",
    description="An API token from POST /api/v1/tokens: `Authorization: Bearer gu_...`",
)
_cookie = APIKeyCookie(
    name=SESSION_COOKIE,
    auto_error=False,
    scheme_name="browser session",
    description="The browser's session cookie; accepted for GET requests only",
)


@dataclass(frozen=True)
class Caller:
    account: Account
    token: str | None  # the API token used; None when a browser session cookie was


def _unauthorised(message: str) -> HTTPException:
    return HTTPException(status_code=401, detail=message, headers={"WWW-Authenticate": "Bearer"})


def current_caller(
    request: Request,
    accounts: AccountsDep,
    _token: Annotated[Any, Depends(_bearer)],
    _session: Annotated[Any, Depends(_cookie)],
) -> Caller:
    """The signed-in account: a bearer token, or (for reading only) the session cookie."""
    header = request.headers.get("authorization")
    if header is not None:
        scheme, _, token = header.strip().partition(" ")
        token = token.strip()
        if scheme.lower() == "bearer" and token.startswith("gu_") and len(token) <= 200:
            account = accounts.token_account(token)
            if account is not None:
                audit.identify(account.id, f"{account.role} {account.email} (API)")
                return Caller(account, token)
        raise _unauthorised(BAD_TOKEN)
    if request.method in ("GET", "HEAD"):
        cookie = request.cookies.get(SESSION_COOKIE)
        if cookie and len(cookie) <= 200:
            state = accounts.sign_in_state(cookie)
            if state is not None and state.stage == "full":
                request.state.sign_in = state
                audit.identify(state.account.id, f"{state.account.role} {state.account.email}")
                return Caller(state.account, None)
    raise _unauthorised(SIGN_IN)


CallerDep = Annotated[Caller, Depends(current_caller)]


@dataclass(frozen=True)
class Access:
    """A caller allowed to see one person's record."""

    account: Account
    patient_id: str


PatientId = Annotated[
    str,
    Path(
        description="the person's id (32 hexadecimal characters)",
        json_schema_extra={"pattern": "^[0-9a-f]{32}$"},
    ),
]


def patient_access(
    patient_id: PatientId,
    caller: CallerDep,
    accounts: AccountsDep,
) -> Access:
    """The one gate to a person's data: `Accounts.require`, before anything else."""
    accounts.require(caller.account, patient_id)
    return Access(caller.account, patient_id)


PatientAccess = Annotated[Access, Depends(patient_access)]


def clinician_only(account: Account, refusal: str) -> None:
    """Anyone but a clinician is refused (403), with `refusal` saying why."""
    if account.role != "clinician":
        raise Forbidden(refusal)


def _clinician(access: Access, what: str) -> None:
    clinician_only(access.account, f"only a clinician can {what}")


# ----- pages of results --------------------------------------------------------------------


class Page(BaseModel, Generic[T]):
    items: list[T]
    total: int = Field(description="how many there are in all")
    limit: int
    offset: int
    next: str | None = Field(description="the path and query of the next page; null on the last")


@dataclass(frozen=True)
class Paging:
    limit: int
    offset: int


def paging(
    limit: Annotated[
        int, Query(ge=1, le=MAX_PAGE, description=f"items per page, 1–{MAX_PAGE}")
    ] = DEFAULT_PAGE,
    offset: Annotated[int, Query(ge=0, le=10_000_000, description="items to skip")] = 0,
) -> Paging:
    return Paging(limit, offset)


PagingDep = Annotated[Paging, Depends(paging)]


def _page(request: Request, items: Sequence[T], paging: Paging) -> Page[T]:
    chosen = list(items[paging.offset : paging.offset + paging.limit])
    following = None
    if paging.offset + paging.limit < len(items):
        params = [
            (k, v) for k, v in request.query_params.multi_items() if k not in ("limit", "offset")
        ]
        params += [("limit", str(paging.limit)), ("offset", str(paging.offset + paging.limit))]
        following = f"{request.url.path}?{urlencode(params)}"
    return Page[T](
        items=chosen,
        total=len(items),
        limit=paging.limit,
        offset=paging.offset,
        next=following,
    )


# ----- response and request models ----------------------------------------------------------


class TokenRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    email: str = Field(max_length=254)
    password: str = Field(max_length=256)
    name: str = Field(
        default="API client", max_length=120, description="what the token is for, e.g. 'my phone'"
    )
    days: int = Field(default=TOKEN_DAYS, ge=1, le=365, description="days until it expires")
    code: str | None = Field(
        default=None,
        max_length=40,
        description="the 6-digit code from the authenticator app (or a recovery code): "
        "needed by clinicians, admins and anyone who turned the second factor on",
    )


class Me(BaseModel):
    id: int
    email: str
    display_name: str
    role: Literal["person", "clinician", "admin"]
    patient_id: str | None = Field(description="a person's own record; null for others")


class TokenOut(BaseModel):
    token: str = Field(description="send it as `Authorization: Bearer <token>`; shown only once")
    token_type: Literal["bearer"] = "bearer"
    expires_at: dt.datetime | None


class RegisteredOut(BaseModel):
    """The same answer for every address, so that it never tells who has an account."""

    status: Literal["accepted"] = "accepted"
    message: str = Field(description="what to do next")
    confirm_by_email: bool = Field(
        description="true when the address must be confirmed (a link by e-mail) before signing in"
    )


class BrowserSessionOut(BaseModel):
    id: str = Field(description="the session's handle (not its token)")
    created_at: dt.datetime
    expires_at: dt.datetime
    user_agent: str
    address: str
    second_factor: bool
    current: bool = Field(description="the session this request came with")


class ApiTokenOut(BaseModel):
    id: int
    name: str
    created_at: dt.datetime
    expires_at: dt.datetime | None
    current: bool = Field(description="the token this request came with")


class CloseRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    password: str = Field(max_length=256)
    code: str | None = Field(default=None, max_length=40, description="if the second factor is on")


class ClosedOut(BaseModel):
    closed: Literal[True] = True
    record_deleted: bool = Field(
        description="false when a clinic keeps the record of the care it gave (health-record "
        "law makes it): only the clinic sees it from now on"
    )


class RegisterRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    email: str = Field(max_length=254)
    display_name: str = Field(max_length=120)
    password: str = Field(max_length=256, description="at least 10 characters")
    invite: str | None = Field(
        default=None, max_length=40, description="the code from your clinician, if you have one"
    )
    token_name: str = Field(default="API client", max_length=120)


class PatientOut(BaseModel):
    id: str
    display_name: str
    phase: Phase | None = Field(description="the program's phase; null before a program")
    program_version: int | None
    last_activity: dt.date | None = Field(description="the date of the last logged session")


class PatientDetail(PatientOut):
    has_account: bool = Field(description="the person has claimed the record with an account")
    length_unit: Literal["cm", "in"]
    mass_unit: Literal["kg", "lb"]
    date_format: str
    screen: ScreenResult | None = Field(description="the latest safety screen, if any")


class NewPatient(BaseModel):
    model_config = ConfigDict(extra="forbid")
    display_name: str = Field(min_length=1, max_length=120)


class CreatedPatient(BaseModel):
    id: str
    display_name: str
    invite_code: str = Field(description="give it to the person; they register with it")


class InviteOut(BaseModel):
    invite_code: str


class StartProgram(BaseModel):
    model_config = ConfigDict(extra="forbid")
    assessment: Assessment
    preferences: Preferences = Preferences()
    template: str | None = Field(
        default=None,
        max_length=64,
        pattern=ID_PATTERN,
        description="a named program (e.g. alfredson) instead of the tailored one",
    )


class VersionOut(BaseModel):
    version: int
    cause: str = Field(description="plan, decision, override or retest")
    phase: Phase
    created_at: dt.datetime


class TodayOut(BaseModel):
    date: dt.date
    scheduled: bool
    status: Literal["planned", "done", "skipped", "rest"]
    open_sessions: list[int] = Field(description="which of the day's sessions are still to do")
    program_version: int
    phase: Phase
    slots: list[Slot] = Field(description="the session's exercises; none while paused")
    paused: bool = Field(
        default=False,
        description="true after a referral: no session until a clinician resumes the "
        "program, and logging one is refused (409)",
    )


class DecisionsOut(BaseModel):
    decisions: list[Decision] = Field(description="what the rules decided, each explained")
    program_version: int | None = Field(description="the program version now in force")


class SessionOut(DecisionsOut):
    session_id: str
    duplicate: bool = Field(description="true when this id was already logged: nothing new")


class AssessmentOut(BaseModel):
    date: dt.date
    kind: Literal["initial", "retest"]
    assessment: Assessment
    profile: dict[str, Any] = Field(description="the imbalance profile built from it")


class PainPoint(BaseModel):
    date: dt.date
    pain: int


class MorningPoint(BaseModel):
    date: dt.date
    pain: int
    stiffness: int


class LsiPoint(BaseModel):
    date: dt.date
    lsi: float


class WeekMinutes(BaseModel):
    week: dt.date
    minutes: float


class WeekAdherence(BaseModel):
    week: dt.date
    done: int
    scheduled: int


class PhaseStart(BaseModel):
    date: dt.date
    phase: str


class ProgressOut(BaseModel):
    session_pain: list[PainPoint]
    morning: list[MorningPoint]
    lsi: dict[str, list[LsiPoint]]
    weekly_minutes: list[WeekMinutes]
    adherence: list[WeekAdherence]
    phases: list[PhaseStart]


class OverrideRequest(BaseModel):
    """A clinician's change to the program; who made it is taken from the token."""

    model_config = ConfigDict(extra="forbid")
    date: dt.date | None = Field(default=None, description="defaults to today")
    reason: str = Field(min_length=3, max_length=1000)
    action: OverrideAction = Field(
        description="check_clear: the check an intake warning asked for (e.g. the shin for a "
        "bone stress injury) was done and is clear; the program may then move past its ceiling. "
        "weight_bearing_full: the surgeon or physiotherapist now allows full weight on the leg, "
        "out of the boot or cast; standing work and the one-leg tests may then come in. "
        "swap_exercise: `exercise_id` out, `replacement` in at its starting dose (it must share "
        "the muscles' role and suit the phase, the equipment and any weight-bearing limit). "
        "add_exercise: `exercise_id` joins the main work. remove_exercise: `exercise_id` leaves "
        "it. A key exercise (the condition's own for the phase, or the only one training what "
        "the phase gate measures) is swapped or removed only with `confirm: true`. undo_edit: "
        "the last swap, addition or removal of `exercise_id` is undone, the previous exercise "
        "back at its previous dose. "
        "questionnaires_every: the person answers their questionnaires every `every_weeks` "
        "weeks (1–26); questionnaires_off: no regular questionnaires"
    )
    exercise_id: str | None = Field(default=None, pattern=ID_PATTERN, max_length=64)
    side: Side | None = None
    sets: int | None = Field(default=None, ge=1, le=10)
    amount: float | None = Field(default=None, gt=0, le=3600)
    load_kg: float | None = Field(default=None, ge=0, le=500)
    knob: float | str | None = Field(default=None)
    rule: str | None = Field(default=None, max_length=64)
    phase: Phase | None = None
    replacement: str | None = Field(
        default=None,
        pattern=ID_PATTERN,
        max_length=64,
        description="swap_exercise: the exercise that takes `exercise_id`'s place",
    )
    confirm: bool = Field(
        default=False,
        description="swap or remove a key exercise of the phase (refused without it)",
    )
    every_weeks: int | None = Field(
        default=None,
        ge=1,
        le=QUESTIONNAIRE_MAX_WEEKS,
        strict=True,
        description="questionnaires_every: whole weeks between the person's questionnaires",
    )


class DeletedOut(BaseModel):
    deleted: Literal[True] = True
    sessions: int
    decisions: int


class RevokedOut(BaseModel):
    revoked: Literal[True] = True


def _summaries(services: Services, ids: Sequence[str]) -> list[PatientOut]:
    out = [
        PatientOut(
            id=p.id,
            display_name=p.display_name,
            phase=Phase(p.phase) if p.phase else None,
            program_version=p.version,
            last_activity=p.last_activity,
        )
        for p in services.summaries(ids)
    ]
    return sorted(out, key=lambda p: (p.display_name.lower(), p.id))


def _me(account: Account) -> Me:
    return Me(
        id=account.id,
        email=account.email,
        display_name=account.display_name,
        role=account.role,
        patient_id=account.patient_id,
    )


def _current_version(services: Services, patient_id: str) -> int | None:
    try:
        return services.program(patient_id).version
    except NotFound:
        return None


def _decisions_out(
    services: Services, patient_id: str, decisions: Sequence[Decision]
) -> DecisionsOut:
    """The decisions an event led to, with the program version they left."""
    return DecisionsOut(
        decisions=list(decisions), program_version=_current_version(services, patient_id)
    )


def _check_log(log: SessionLog) -> None:
    """What the core model allows but the API does not: guessable ids, overlong short texts."""
    if not LOG_ID.fullmatch(log.id):
        raise _invalid(
            "id",
            "use 8 to 64 letters, digits, '-' or '_' for a session id; a random one (a UUID) "
            "is best, and a retry sends the same id again",
        )
    for e, exercise in enumerate(log.exercises):
        for s, entry in enumerate(exercise.sets):
            where = f"exercises.{e}.sets.{s}"
            if isinstance(entry.knob, str) and len(entry.knob) > MAX_SHORT_TEXT:
                raise _invalid(f"{where}.knob", f"at most {MAX_SHORT_TEXT} characters")
            if len(entry.form) > MAX_SHORT_TEXT:
                raise _invalid(f"{where}.form", f"at most {MAX_SHORT_TEXT} characters")


def _not_future(day: dt.date | None, services: Services, what: str) -> None:
    if day is not None and day > services.clock():
        raise ServiceError(
            f"the {what} date {day.isoformat()} is in the future: record what has happened"
        )


# ----- signing in ---------------------------------------------------------------------------


@router.post(
    "/tokens",
    status_code=201,
    response_model=TokenOut,
    summary="Get an API token",
    tags=["sign in"],
    responses={
        401: {
            "model": ErrorOut,
            "description": "Wrong e-mail or password, or the second factor's code is missing "
            "or wrong",
        },
        403: {"model": ErrorOut, "description": "Set up the second factor in the web app first"},
        429: {"model": ErrorOut, "description": "Too many attempts: wait (see Retry-After)"},
    },
)
def create_token(
    body: TokenRequest, request: Request, accounts: AccountsDep, services: ServicesDep
) -> Any:
    """Trade an e-mail and password — and, for clinicians, admins and anyone who turned it
    on, the second factor's `code` — for a bearer token (90 days unless `days` says
    otherwise).

    Attempts are counted per account, per client address and per both; after a few wrong
    ones each next try must wait a little longer (429 with Retry-After), never a lock-out."""
    token, _ = accounts.issue_api_token(
        body.email,
        body.password,
        body.code,
        body.name,
        days=body.days,
        address=client_address(request),
    )
    return TokenOut(token=token, expires_at=accounts.token_expiry(token))


@router.delete(
    "/tokens/current",
    response_model=RevokedOut,
    summary="Revoke this token",
    tags=["sign in"],
)
def revoke_token(caller: CallerDep, accounts: AccountsDep) -> RevokedOut:
    """Revoke the bearer token this request was sent with; it is refused from now on."""
    if caller.token is None:  # pragma: no cover - writes never accept the cookie
        raise _unauthorised(SIGN_IN)
    accounts.revoke_this_token(caller.token)
    return RevokedOut()


@router.post(
    "/register",
    status_code=202,
    response_model=RegisteredOut,
    summary="Register as a person",
    tags=["sign in"],
    responses={429: {"model": ErrorOut, "description": "Too many attempts: wait"}},
)
def register(body: RegisterRequest, request: Request, accounts: AccountsDep) -> RegisteredOut:
    """Create a person's account with their own record (or claim the record a clinician made,
    with the invite code); then sign in with POST /api/v1/tokens.

    The answer is the same for an address that has an account already (nothing is made
    then; with e-mail configured its owner is told someone tried), so that registering
    never tells who has an account. Details that are not valid (the e-mail's form, a weak
    password, an invite code) are refused whoever owns the address."""
    accounts.sign_up(
        body.email,
        body.display_name,
        body.password,
        invite=body.invite or None,
        address=client_address(request),
    )
    mail = accounts.mailer.configured
    return RegisteredOut(
        message=(
            "open the link we sent to the address to confirm it, then sign in with "
            "POST /api/v1/tokens"
            if mail
            else "sign in with POST /api/v1/tokens (an address that had an account already "
            "keeps its old password)"
        ),
        confirm_by_email=mail,
    )


@router.get("/me", response_model=Me, summary="Who am I", tags=["sign in"])
def me(caller: CallerDep) -> Me:
    """The signed-in account: role, name, and for a person the id of their own record."""
    return _me(caller.account)


@router.get(
    "/me/sessions",
    response_model=list[BrowserSessionOut],
    summary="Where you are signed in",
    tags=["sign in"],
)
def my_sessions(request: Request, caller: CallerDep, accounts: AccountsDep) -> Any:
    """Every browser signed in to this account, newest first."""
    current = getattr(getattr(request.state, "sign_in", None), "handle", None)
    return [
        BrowserSessionOut(
            id=s.handle,
            created_at=s.created_at,
            expires_at=s.expires_at,
            user_agent=s.user_agent,
            address=s.address,
            second_factor=s.second_factor,
            current=s.handle == current,
        )
        for s in accounts.sessions_of(caller.account)
    ]


@router.delete(
    "/me/sessions/{session_id}",
    response_model=RevokedOut,
    summary="Sign a browser out",
    tags=["sign in"],
)
def end_my_session(
    session_id: Annotated[str, Path(max_length=32)], caller: CallerDep, accounts: AccountsDep
) -> RevokedOut:
    """Sign out one browser session of this account (its id from GET /me/sessions)."""
    accounts.end_session_by_handle(caller.account, session_id)
    return RevokedOut()


@router.get(
    "/me/tokens", response_model=list[ApiTokenOut], summary="Your API tokens", tags=["sign in"]
)
def my_tokens(caller: CallerDep, accounts: AccountsDep) -> Any:
    """Every API token of this account that still works, newest first."""
    current = accounts.token_id(caller.token) if caller.token else None
    return [
        ApiTokenOut(
            id=t.id,
            name=t.name,
            created_at=t.created_at,
            expires_at=t.expires_at,
            current=t.id == current,
        )
        for t in accounts.tokens_of(caller.account)
    ]


@router.delete(
    "/me/tokens/{token_id}", response_model=RevokedOut, summary="Revoke a token", tags=["sign in"]
)
def revoke_my_token(
    token_id: Annotated[int, Path(ge=1, le=2**62)], caller: CallerDep, accounts: AccountsDep
) -> RevokedOut:
    """Revoke one API token of this account (its id from GET /me/tokens); it is refused
    from now on."""
    accounts.revoke_token(caller.account, token_id)
    return RevokedOut()


@router.post(
    "/me/sign-out-everywhere",
    response_model=RevokedOut,
    summary="Sign out everywhere",
    tags=["sign in"],
)
def sign_out_everywhere(caller: CallerDep, accounts: AccountsDep) -> RevokedOut:
    """End every browser session and revoke every API token of this account, this one too."""
    accounts.end_everywhere(caller.account)
    return RevokedOut()


@router.post(
    "/me/close",
    response_model=ClosedOut,
    summary="Close your account",
    tags=["sign in"],
)
def close_account(
    body: CloseRequest, request: Request, caller: CallerDep, accounts: AccountsDep
) -> ClosedOut:
    """A person closes their account (download the record first: GET …/export). Their
    record is deleted with it, unless a clinician treated them through groundup: the clinic
    then keeps that record, as health-record law requires, and only the clinic sees it."""
    deleted = accounts.close_account(
        caller.account, body.password, body.code, client_address(request)
    )
    return ClosedOut(record_deleted=deleted)


# ----- people -------------------------------------------------------------------------------


@router.get(
    "/patients", response_model=Page[PatientOut], summary="List the people you see", tags=["people"]
)
def list_patients(
    request: Request,
    caller: CallerDep,
    accounts: AccountsDep,
    services: ServicesDep,
    page: PagingDep,
) -> Page[PatientOut]:
    """A clinician's patients, by name; for a person, just their own record; for an admin,
    nobody (admins manage accounts, not clinical data)."""
    return _page(request, _summaries(services, accounts.patients_of(caller.account)), page)


@router.post(
    "/patients",
    status_code=201,
    response_model=CreatedPatient,
    summary="Enrol a patient",
    tags=["people"],
)
def create_patient(body: NewPatient, caller: CallerDep, accounts: AccountsDep) -> CreatedPatient:
    """A clinician enrols a patient and gets a one-time invite code (valid 14 days) with which
    the person can register and claim the record. Clinicians only."""
    patient_id, code = accounts.create_patient(caller.account, body.display_name)
    return CreatedPatient(id=patient_id, display_name=body.display_name.strip(), invite_code=code)


@router.get(
    "/patients/{patient_id}",
    response_model=PatientDetail,
    summary="One person",
    tags=["people"],
)
def get_patient(access: PatientAccess, services: ServicesDep) -> PatientDetail:
    """The person's name, display units, program phase and latest safety screen."""
    pid = access.patient_id
    summary = _summaries(services, [pid])
    if not summary:
        raise NotFound("no such person, or not yours to see")
    person = services.person(pid)
    return PatientDetail(
        **summary[0].model_dump(),
        has_account=person.has_account,
        length_unit=person.display.length_unit,
        mass_unit=person.display.mass_unit,
        date_format=person.display.date_format,
        screen=services.latest_screen(pid),
    )


@router.delete(
    "/patients/{patient_id}", response_model=DeletedOut, summary="Delete a record", tags=["people"]
)
def delete_patient(access: PatientAccess, services: ServicesDep) -> DeletedOut:
    """Delete a person's record and everything in it, for good (one anonymous line stays in
    the audit log saying that a deletion happened).

    Who may: a person may delete their own record at any time (deletion on request); their
    sign-in account stays, without a record. A clinician may delete a patient they enrolled
    only while the person has not claimed the record with an account (a mistaken or abandoned
    enrolment). Once the person has an account the data is theirs: only they can delete it,
    and a clinician gets 403 — a clinician must not be able to wipe a person's own history,
    and clinical records have retention duties that a one-click delete would break."""
    pid = access.patient_id
    if access.account.role == "clinician" and services.person(pid).has_account:
        raise Forbidden(
            "this person has their own account, so only they can delete their record; "
            "ask them to do it from their settings"
        )
    if access.account.role not in ("person", "clinician"):  # pragma: no cover - require refuses
        raise Forbidden("only the person or their clinician can delete a record")
    counts = services.delete_person(pid)
    return DeletedOut(sessions=counts["sessions"], decisions=counts["decisions"])


@router.post(
    "/patients/{patient_id}/invites",
    status_code=201,
    response_model=InviteOut,
    summary="A new invite code",
    tags=["people"],
)
def new_invite(access: PatientAccess, accounts: AccountsDep) -> InviteOut:
    """A fresh one-time invite code (valid 14 days) for a patient who has no account yet.
    Clinicians only."""
    _clinician(access, "create invite codes")
    return InviteOut(invite_code=accounts.new_invite(access.account, access.patient_id))


# ----- screen and program -------------------------------------------------------------------


@router.post(
    "/patients/{patient_id}/screen",
    status_code=201,
    response_model=ScreenResult,
    summary="Record a safety screen",
    tags=["program"],
)
def post_screen(body: ScreenAnswers, access: PatientAccess, services: ServicesDep) -> ScreenResult:
    """Answer the red-flag questions (every answer left out means "no"). The result says clear
    or refer, how urgently, and every reason why; a screen that refers stops any program."""
    return services.record_screen(access.patient_id, body, services.clock())


@router.get(
    "/patients/{patient_id}/screen",
    response_model=ScreenResult,
    summary="The latest safety screen",
    tags=["program"],
)
def get_screen(access: PatientAccess, services: ServicesDep) -> ScreenResult:
    """The most recent safety screen's result; 404 before the first screen."""
    result = services.latest_screen(access.patient_id)
    if result is None:
        raise NotFound("there is no safety screen yet")
    return result


@router.post(
    "/patients/{patient_id}/program",
    status_code=201,
    response_model=Program,
    summary="Start the program",
    tags=["program"],
    responses={
        409: {
            "model": ConflictOut,
            "description": "There is a program already, or the safety screen refers "
            "(`referred: true`, with the reasons): see a doctor first",
        }
    },
)
def start_program(body: StartProgram, access: PatientAccess, services: ServicesDep) -> Any:
    """Record the first assessment and build the program from it (needs a clear safety
    screen). 409 when there is a program already — record a retest instead — and 409 with
    `referred: true` and the screen's reasons when the screen refers."""
    _not_future(body.assessment.date, services, "assessment")
    try:
        return services.start_program(
            access.patient_id,
            body.assessment,
            body.preferences,
            day=services.clock(),
            template=body.template,
        )
    except Referred as exc:
        result = exc.result
        return JSONResponse(
            ConflictOut(
                error=str(exc),
                referred=True,
                urgency=result.urgency,
                advice=result.advice,
                reasons=list(result.reasons),
            ).model_dump(mode="json"),
            status_code=409,
        )


@router.get(
    "/patients/{patient_id}/program",
    response_model=Program,
    summary="The program in force",
    tags=["program"],
)
def get_program(access: PatientAccess, services: ServicesDep) -> Program:
    """The current program version: phase, schedule, every exercise with its dose per side,
    and the engine's state. 404 before the program starts."""
    return services.program(access.patient_id)


@router.get(
    "/patients/{patient_id}/program/versions",
    response_model=Page[VersionOut],
    summary="Program versions",
    tags=["program"],
)
def list_versions(
    request: Request, access: PatientAccess, services: ServicesDep, page: PagingDep
) -> Page[VersionOut]:
    """Every version of the program, newest first, with what caused it."""
    rows = services.program_versions(access.patient_id)
    items = [
        # SQLite gives the stored UTC time back without its zone; the document promises one.
        VersionOut(version=v, cause=cause, phase=Phase(phase), created_at=_aware(at))
        for v, cause, phase, at in reversed(rows)
    ]
    return _page(request, items, page)


@router.get(
    "/patients/{patient_id}/program/versions/{version}",
    response_model=Program,
    summary="One program version",
    tags=["program"],
)
def get_version(
    access: PatientAccess,
    services: ServicesDep,
    version: Annotated[int, Path(ge=1, le=1_000_000, description="the version number")],
) -> Program:
    """The program as it was at one version."""
    return services.program_version(access.patient_id, version)


@router.get(
    "/patients/{patient_id}/today",
    response_model=TodayOut,
    summary="Today's session",
    tags=["sessions"],
)
async def get_today(
    request: Request,
    patient_id: PatientId,
    accounts: AccountsDep,
    services: ServicesDep,
    _token: Annotated[Any, Depends(_bearer)],
    _session: Annotated[Any, Depends(_cookie)],
    date: Annotated[
        dt.date | None, Query(description="the day (ISO date); today when left out")
    ] = None,
) -> Response:
    """What to do on a day: whether it is a training day, whether it is done, and the
    exercises with their doses."""

    # The most frequent request: the caller, the gate (`patient_access`, as every route
    # under /patients/{patient_id}) and the answer in one step, serialised once without
    # validating it again. With a bearer token it runs on the event loop: it only reads
    # (its audit line is queued, `Services.today`), in well under a millisecond, and
    # a trip to a worker thread and back cost more than that on a busy machine. A
    # session cookie can end an expired session (a write, which may wait its turn), so
    # that goes to a worker thread as the other routes do.
    def answer() -> bytes:
        with services.db.reading():  # one connection and snapshot for all three
            caller = current_caller(request, accounts, None, None)
            access = patient_access(patient_id, caller, accounts)
            today = services.today(access.patient_id, date or services.clock())
        paused = today.program.state.referred
        return (
            TodayOut(
                date=today.day,
                scheduled=today.scheduled,
                status=today.status,
                open_sessions=[] if paused else list(today.numbers),
                program_version=today.program.version,
                phase=today.program.phase,
                slots=[] if paused else list(today.slots),
                paused=paused,
            )
            .model_dump_json()
            .encode()
        )

    if request.headers.get("authorization") is not None:
        return Response(answer(), media_type="application/json")
    return Response(await run_in_threadpool(answer), media_type="application/json")


# ----- what the person records --------------------------------------------------------------


@router.post(
    "/patients/{patient_id}/sessions",
    status_code=201,
    response_model=SessionOut,
    summary="Log a session",
    tags=["sessions"],
    responses={200: {"model": SessionOut, "description": "Already logged (a retry): nothing new"}},
)
def log_session(
    body: SessionLog, response: Response, access: PatientAccess, services: ServicesDep
) -> SessionOut:
    """Log a session set by set (or as skipped) and get the rules' decisions, each explained.

    The id is the client's (8–64 letters, digits, '-' or '_'; a UUID is best): sending the
    same session again (a retry) stores nothing new and answers 200 with `duplicate: true`;
    reusing an id for a different session is a 409."""
    _check_log(body)
    outcome = services.log_session(access.patient_id, body)
    if outcome.duplicate:
        response.status_code = 200
    return SessionOut(
        session_id=body.id,
        duplicate=outcome.duplicate,
        decisions=list(outcome.decisions),
        program_version=outcome.program.version,
    )


@router.get(
    "/patients/{patient_id}/sessions",
    response_model=Page[SessionLog],
    summary="Logged sessions",
    tags=["sessions"],
)
def list_sessions(
    request: Request, access: PatientAccess, services: ServicesDep, page: PagingDep
) -> Page[SessionLog]:
    """Every logged session, newest first."""
    history = [e for e in services.history(access.patient_id) if isinstance(e, SessionLog)]
    # Newest first: by date, and on one date the later arrival first.
    newest = [
        s for _, s in sorted(enumerate(history), key=lambda p: (p[1].date, p[0]), reverse=True)
    ]
    return _page(request, newest, page)


@router.post(
    "/patients/{patient_id}/checkins",
    status_code=201,
    response_model=DecisionsOut,
    summary="Record a morning check-in",
    tags=["sessions"],
)
def post_checkin(body: CheckIn, access: PatientAccess, services: ServicesDep) -> DecisionsOut:
    """Pain and stiffness on waking (0–10), and any new warning signs; one per day (409 for a
    second). The rules may hold or ease the program in answer.

    `warning_signs` are ids from the safety screen's check-in list (`checkin_signs` in
    screening.yaml: calf_swollen_hot, breathless_chest_pain, tight_hard_muscle,
    fever_hot_joint, heel_snap, weakness_foot_drop, bone_spot, night_rest_pain; an unknown
    id is a 400). Any one refers with the urgency the screen gives it (the decision's
    `numbers.urgency`) and pauses the program: until a clinician resumes it, today shows no
    session and new session logs are refused (409 with `paused` and `advice`). Words in
    `new_red_flags` are kept as a note for the clinician and do not refer by themselves."""
    decisions = services.record_checkin(access.patient_id, body)
    return _decisions_out(services, access.patient_id, decisions)


@router.get(
    "/patients/{patient_id}/checkins",
    response_model=Page[CheckIn],
    summary="Morning check-ins",
    tags=["sessions"],
)
def list_checkins(
    request: Request, access: PatientAccess, services: ServicesDep, page: PagingDep
) -> Page[CheckIn]:
    """Every morning check-in, newest first."""
    checkins = [e for e in services.history(access.patient_id) if isinstance(e, CheckIn)]
    return _page(request, sorted(checkins, key=lambda c: c.date, reverse=True), page)


@router.post(
    "/patients/{patient_id}/retests",
    status_code=201,
    response_model=DecisionsOut,
    summary="Record a retest",
    tags=["assessment"],
)
def post_retest(body: Assessment, access: PatientAccess, services: ServicesDep) -> DecisionsOut:
    """Repeat the assessment; its tests feed the phase gates (dated today when no date)."""
    decisions = services.record_retest(access.patient_id, body, services.clock())
    return _decisions_out(services, access.patient_id, decisions)


@router.get(
    "/patients/{patient_id}/assessments",
    response_model=Page[AssessmentOut],
    summary="Assessments",
    tags=["assessment"],
)
def list_assessments(
    request: Request, access: PatientAccess, services: ServicesDep, page: PagingDep
) -> Page[AssessmentOut]:
    """The first assessment and every retest, newest first, each with its imbalance profile."""
    rows = services.assessments(access.patient_id)
    items = [
        AssessmentOut(date=day, kind=kind, assessment=a, profile=profile)
        for day, kind, a, profile in reversed(rows)
    ]
    return _page(request, items, page)


@router.get(
    "/patients/{patient_id}/decisions",
    response_model=Page[Decision],
    summary="Decisions",
    tags=["sessions"],
)
def list_decisions(
    request: Request, access: PatientAccess, services: ServicesDep, page: PagingDep
) -> Page[Decision]:
    """Every change the rules (or a clinician) made, newest first: which rule fired, on which
    numbers, in one plain sentence for the person and one precise one for the clinician."""
    decisions = services.decisions(access.patient_id)
    return _page(request, list(reversed(decisions)), page)


@router.get(
    "/patients/{patient_id}/progress",
    response_model=ProgressOut,
    summary="Progress",
    tags=["sessions"],
)
def get_progress(access: PatientAccess, services: ServicesDep) -> ProgressOut:
    """The numbers behind the progress charts: pain per session, morning pain and stiffness,
    limb symmetry (LSI) per test, weekly minutes of work, adherence and phase changes."""
    data = progress_data(services, access.patient_id, services.clock())
    return ProgressOut(
        session_pain=[PainPoint(date=d, pain=p) for d, p in data.session_pain],
        morning=[MorningPoint(date=d, pain=p, stiffness=s) for d, p, s in data.morning],
        lsi={t: [LsiPoint(date=d, lsi=v) for d, v in pts] for t, pts in data.lsi.items()},
        weekly_minutes=[WeekMinutes(week=w, minutes=m) for w, m in data.weekly_minutes],
        adherence=[WeekAdherence(week=w, done=d, scheduled=s) for w, d, s in data.adherence],
        phases=[PhaseStart(date=d, phase=p) for d, p in data.phases],
    )


@router.post(
    "/patients/{patient_id}/overrides",
    status_code=201,
    response_model=DecisionsOut,
    summary="Override the program",
    tags=["program"],
)
def post_override(
    body: OverrideRequest, access: PatientAccess, services: ServicesDep
) -> DecisionsOut:
    """A clinician pins or frees a dose, switches a rule off or on, forces a phase, resumes
    after a referral, or swaps, adds or removes an exercise (and undoes that); the override
    is recorded with who and why. Clinicians only (403). A change the program cannot take is
    a 4xx naming the field, never stored."""
    _clinician(access, "override the program")
    override = _model(
        Override,
        by=access.account.display_name,
        **body.model_dump(exclude={"date"}),
        date=body.date or services.clock(),
    )
    if isinstance(override.knob, str) and len(override.knob) > MAX_SHORT_TEXT:
        raise _invalid("knob", f"at most {MAX_SHORT_TEXT} characters")
    decisions = services.apply_override(access.patient_id, override, by_user_id=access.account.id)
    return _decisions_out(services, access.patient_id, decisions)


class ExerciseChoice(BaseModel):
    id: str
    name: str
    position: str
    equipment: list[str]


class ExerciseChoices(BaseModel):
    items: list[ExerciseChoice] = Field(
        description="swap stand-ins (ladder neighbours first) or exercises that may be added"
    )


@router.get(
    "/patients/{patient_id}/program/choices",
    response_model=ExerciseChoices,
    summary="Exercises to swap in or add",
    tags=["program"],
)
def program_choices(
    access: PatientAccess,
    services: ServicesDep,
    exercise_id: Annotated[
        str | None,
        Query(
            pattern=ID_PATTERN,
            max_length=64,
            description="an exercise in the program: its stand-ins (same muscles and role, "
            "suited to the phase, the equipment and any weight-bearing limit; ladder "
            "neighbours first). Left out: the exercises that may be added",
        ),
    ] = None,
) -> ExerciseChoices:
    """What the program editor offers for `swap_exercise` and `add_exercise` overrides.
    The person may read it; only their clinician can apply an override."""
    found = (
        services.swap_suggestions(access.patient_id, exercise_id)
        if exercise_id
        else services.addable(access.patient_id)
    )
    return ExerciseChoices(
        items=[
            ExerciseChoice(
                id=e.id,
                name=e.name,
                position=e.position.value,
                equipment=[q.value for q in e.equipment],
            )
            for e in found
        ]
    )


@router.get(
    "/patients/{patient_id}/export",
    response_model=ExportBundle,
    summary="Export everything",
    tags=["people"],
    responses={
        200: {
            "content": {
                "application/zip": {"schema": {"type": "string", "format": "binary"}},
                "application/fhir+json": {"schema": {"type": "object"}},
            },
            "description": "JSON by default; a zip of CSV tables, or a FHIR R4B Bundle",
        }
    },
)
def export(
    access: PatientAccess,
    services: ServicesDep,
    format: Annotated[
        ExportFormat,
        Query(description="json (imports back), csv (a zip of tables) or fhir (R4B Bundle)"),
    ] = "json",
) -> Response:
    """Everything about the person: JSON or a FHIR bundle that `groundup import` reads back,
    or CSV tables for a spreadsheet."""
    return export_download(services, access.patient_id, format)


# ----- the exercise library -----------------------------------------------------------------


class OwnExerciseIn(Exercise):
    """An own exercise: every field a built-in exercise has, checked by the same rules
    (links must resolve, ladders may not loop). `sources` may be left out."""

    sources: tuple[str, ...] = Field(
        default=(), description="where it comes from; left out: the clinician's own practice"
    )


class OwnExerciseOut(BaseModel):
    exercise: Exercise
    version: int = Field(description="each edit adds one; a program keeps the one it was given")
    retired: bool = Field(description="offered for no new protocol; programs keep it")
    photo: str | None = Field(description="the photo's address, when it has one")
    updated_at: dt.datetime


class RetireRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    retired: bool = Field(default=True, description="false brings it back into use")


class OwnProtocolIn(BaseModel):
    """An own protocol: `key` plus the fields of a built-in template (see
    `groundup template check`); its exercises must exist (built-in or own)."""

    model_config = ConfigDict(extra="allow")
    key: str = Field(pattern=ID_PATTERN, max_length=64)


class OwnProtocolPhaseOut(BaseModel):
    """One phase of a protocol written in several, with its rule for moving on."""

    name: str
    phase: Phase
    exercises: list[str]
    after_weeks: int | None = Field(default=None, description="moves on after these weeks")
    milestones: list[str] = Field(
        default=[], description="moves on once these phase-gate criteria (ids) are met"
    )


class OwnProtocolOut(BaseModel):
    key: str
    version: int
    name: str
    phase: Phase = Field(description="the phase it starts in")
    exercises: list[str] = Field(description="every exercise it uses, in any of its phases")
    phases: list[OwnProtocolPhaseOut] = Field(
        default=[], description="its phases in order (empty: a single-phase protocol)"
    )


PHOTO_TYPES = ("image/jpeg", "image/png", "image/webp")


def _owner(caller: Caller, what: str) -> Owner:
    clinician_only(caller.account, f"only a clinician can {what}")
    return Owner.clinician(caller.account.id)


def _own_out(item: OwnItem) -> OwnExerciseOut:
    return OwnExerciseOut(
        exercise=item.exercise,
        version=item.version,
        retired=item.retired,
        photo=f"/exercise-pictures/{item.picture}" if item.picture else None,
        updated_at=item.updated_at,
    )


def protocol_out(protocol: OwnProtocol) -> OwnProtocolOut:
    template = protocol.template
    return OwnProtocolOut(
        key=protocol.key,
        version=protocol.version,
        name=template.name,
        phase=template.phase,
        exercises=list(
            dict.fromkeys(
                i.exercise_id
                for stage in range(template.stage_count)
                for i in template.stage(stage).items
            )
        ),
        phases=[
            OwnProtocolPhaseOut(
                name=stage.name,
                phase=stage.phase,
                exercises=[i.exercise_id for i in stage.items],
                after_weeks=stage.move_on.after_weeks if stage.move_on else None,
                milestones=list(stage.move_on.milestones) if stage.move_on else [],
            )
            for stage in template.phases
        ],
    )


def _save_own(
    services: Services, caller: Caller, owner: Owner, body: OwnExerciseIn, *, new: bool
) -> OwnExerciseOut:
    """Save an own exercise (a new one, or a new version of one), in the caller's name."""
    [item] = services.own.save(
        owner,
        [body.model_dump(mode="json")],
        by_user_id=caller.account.id,
        author=caller.account.display_name,
        new=new,
    )
    return _own_out(item)


def _library_for(caller: Caller, services: Services) -> ExerciseLibrary:
    """The exercises this caller may see: the built-in ones, a clinician's own, and for a
    person those of their clinicians."""
    account = caller.account
    if account.role == "clinician":
        return services.own.library(Owner.clinician(account.id))
    if account.role == "person" and account.patient_id:
        return services.rules_for(account.patient_id).library
    return services.rules.library


ExerciseIdPath = Annotated[
    str, Path(description="the exercise's id, e.g. heel_raise", max_length=64)
]


@router.get(
    "/exercises/own",
    response_model=Page[OwnExerciseOut],
    summary="My own exercises",
    tags=["exercises"],
)
def list_own_exercises(
    request: Request, caller: CallerDep, services: ServicesDep, page: PagingDep
) -> Page[OwnExerciseOut]:
    """The clinician's own exercises, newest versions, retired ones included. Clinicians only."""
    owner = _owner(caller, "have own exercises")
    items = sorted(services.own.items(owner), key=lambda i: i.exercise.id)
    return _page(request, [_own_out(i) for i in items], page)


@router.post(
    "/exercises",
    status_code=201,
    response_model=OwnExerciseOut,
    summary="Create an own exercise",
    tags=["exercises"],
)
def create_own_exercise(
    body: OwnExerciseIn, caller: CallerDep, services: ServicesDep
) -> OwnExerciseOut:
    """A new exercise of the clinician's own, at version 1. Refused (422, naming the field)
    when it breaks a rule of the built-in library; 409 when the id is already theirs."""
    owner = _owner(caller, "create exercises")
    return _save_own(services, caller, owner, body, new=True)


@router.put(
    "/exercises/{exercise_id}",
    response_model=OwnExerciseOut,
    summary="Edit an own exercise",
    tags=["exercises"],
)
def edit_own_exercise(
    exercise_id: ExerciseIdPath, body: OwnExerciseIn, caller: CallerDep, services: ServicesDep
) -> OwnExerciseOut:
    """Save the exercise as a new version (programs keep the version they were given).
    The body's id must be the path's."""
    owner = _owner(caller, "edit exercises")
    services.own.item(owner, exercise_id)  # 404 unless it is theirs
    if body.id != exercise_id:
        raise _invalid("id", "must be the exercise's id in the path; an id cannot change")
    return _save_own(services, caller, owner, body, new=False)


@router.post(
    "/exercises/{exercise_id}/retire",
    response_model=OwnExerciseOut,
    summary="Retire an own exercise (or bring it back)",
    tags=["exercises"],
)
def retire_own_exercise(
    exercise_id: ExerciseIdPath, body: RetireRequest, caller: CallerDep, services: ServicesDep
) -> OwnExerciseOut:
    """Retire the exercise (no new protocol can use it; programs that have it keep it), or
    bring it back with `{"retired": false}`. Clinicians only, their own exercises only."""
    owner = _owner(caller, "retire exercises")
    return _own_out(services.own.retire(owner, exercise_id, retired=body.retired))


@router.put(
    "/exercises/{exercise_id}/photo",
    response_model=OwnExerciseOut,
    summary="Give an own exercise a photo",
    tags=["exercises"],
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {t: {"schema": {"type": "string", "format": "binary"}} for t in PHOTO_TYPES},
        }
    },
)
async def put_own_photo(
    exercise_id: ExerciseIdPath, request: Request, caller: CallerDep, services: ServicesDep
) -> OwnExerciseOut:
    """The photo as the body (JPEG, PNG or WebP, at most 8 MB). Its type is read from its
    content; it is re-encoded as a JPEG without metadata. Anything else is refused (413 or
    422) and nothing is stored."""
    owner = _owner(caller, "add photos")
    await run_in_threadpool(services.own.item, owner, exercise_id)
    body = await _read_body(request, MAX_PHOTO_BYTES)
    if body is None:
        raise HTTPException(
            status_code=413,
            detail=f"the file is larger than {MAX_PHOTO_BYTES // (1024 * 1024)} MB; "
            "send a smaller photo; nothing was stored",
        )
    try:
        photo = check_photo(body)
    except PhotoRefused as exc:
        raise _invalid("", f"{exc}; nothing was stored") from None
    item = await run_in_threadpool(services.own.set_photo, owner, exercise_id, photo)
    return _own_out(item)


@router.delete(
    "/exercises/{exercise_id}/photo",
    response_model=OwnExerciseOut,
    summary="Take an own exercise's photo away",
    tags=["exercises"],
)
def delete_own_photo(
    exercise_id: ExerciseIdPath, caller: CallerDep, services: ServicesDep
) -> OwnExerciseOut:
    """Remove the exercise's photo: patients see the drawing in its position again."""
    owner = _owner(caller, "remove photos")
    return _own_out(services.own.set_photo(owner, exercise_id, None))


@router.get(
    "/protocols",
    response_model=list[OwnProtocolOut],
    summary="My own protocols",
    tags=["exercises"],
)
def list_own_protocols(caller: CallerDep, services: ServicesDep) -> list[OwnProtocolOut]:
    """The clinician's own protocols, newest versions, with the exercises each uses."""
    owner = _owner(caller, "have own protocols")
    return [protocol_out(p) for p in services.own.protocols(owner)]


@router.post(
    "/protocols",
    status_code=201,
    response_model=OwnProtocolOut,
    summary="Create or edit an own protocol",
    tags=["exercises"],
)
def create_own_protocol(
    body: OwnProtocolIn, caller: CallerDep, services: ServicesDep
) -> OwnProtocolOut:
    """A protocol of the clinician's own, run by the same engine (the pain rules, caps,
    flare-up plan and referral rules stay on). The same key again adds a version."""
    owner = _owner(caller, "create protocols")
    [saved] = services.own.save_protocols(
        owner, [body.model_dump(mode="json")], by_user_id=caller.account.id
    )
    return protocol_out(saved)


@router.get(
    "/exercises", response_model=Page[Exercise], summary="The exercise library", tags=["exercises"]
)
def list_exercises(
    request: Request,
    caller: CallerDep,
    services: ServicesDep,
    page: PagingDep,
    muscle: Annotated[Muscle | None, Query(description="trains or stretches this muscle")] = None,
    phase: Annotated[Phase | None, Query(description="belongs to this phase")] = None,
    equipment: Annotated[
        list[Equipment] | None,
        Query(description="doable with only this equipment (a wall and a chair always count)"),
    ] = None,
) -> Page[Exercise]:
    """Every exercise, in id order, filtered by muscle, phase and equipment at hand."""
    chosen = _library_for(caller, services).select(muscle=muscle, phase=phase, equipment=equipment)
    return _page(request, chosen, page)


@router.get(
    "/exercises/{exercise_id}",
    response_model=Exercise,
    summary="One exercise",
    tags=["exercises"],
)
def get_exercise(
    caller: CallerDep,
    services: ServicesDep,
    exercise_id: Annotated[str, Path(description="the exercise's id, e.g. heel_raise")],
) -> Exercise:
    """An exercise: what it trains, how to do it, its cues, faults, dose and ladder."""
    exercise = _library_for(caller, services).get(exercise_id)
    if exercise is None:
        raise NotFound(f"no exercise with id {exercise_id[:64]!r}")
    return exercise
