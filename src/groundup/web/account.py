"""Signing in and the account itself: sign-in (password, then the second factor), sign-up,
password change and reset, the second factor's set-up, the sessions and API tokens one
has (and ending them), and closing a person's account.

A sign-in goes in steps, each its own page: the password; for a password someone else
chose, a new one; for clinicians and admins (and people who turned it on) the second
factor — set up at the first sign-in, a code from the app every time after. Until the
last step the browser's session reaches only these pages (`deps.SignInIncomplete`).

Sign-up and password reset answer the same for every address, in words and in time, so
that nobody can learn from them who has an account.
"""

from __future__ import annotations

import datetime as dt
import io
from typing import Annotated, Any

import segno
from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from groundup.config import Settings
from groundup.services import ServiceError
from groundup.services.accounts import Account, AuthError, SignIn, TooMany
from groundup.web.deps import (
    SESSION_COOKIE,
    STAGE_PAGES,
    AccountsDep,
    CsrfChecked,
    OptionalAccount,
    PageAccount,
    PartialSignIn,
    client_address,
)
from groundup.web.pages import render

router = APIRouter()

NOTICES = {
    "registered": "Thanks. Now sign in with your e-mail address and the password you chose. "
    "(If you already had an account with this address, your old password still applies — "
    "use “Forgot your password?” if you need a new one.)",
    "mail": "Thanks. We have sent an e-mail to that address: open its link to confirm it, "
    "then sign in. (If the address has an account already, the e-mail says so instead.)",
    "confirmed": "Your address is confirmed: sign in.",
    "reset": "Your password is changed: sign in with the new one.",
    "password": "Your password is changed. Every other browser and app was signed out.",
    "ended": "That session is signed out.",
    "revoked": "That token no longer works.",
    "everywhere": "Every other browser and every app token is signed out.",
    "two-factor": "Your second factor is on.",
    "codes": "Here are new recovery codes; the old ones no longer work.",
    "off": "Your second factor is off: signing in needs only your password again.",
}


def home_for(role: str) -> str:
    return {"person": "/me", "clinician": "/clinic", "admin": "/admin"}.get(role, "/")


def safe_next(target: str | None, fallback: str) -> str:
    """A page on this site to go to next: one leading slash, nothing a browser could read
    as another site (a second slash, a backslash, a control character)."""
    if (
        target
        and target.startswith("/")
        and not target.startswith("//")
        and "\\" not in target
        and not any(c < " " for c in target)
    ):
        return target
    return fallback


def session_response(target: str, token: str, settings: Settings) -> RedirectResponse:
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        token,
        httponly=True,
        samesite="lax",
        secure=settings.cookie_secure,
        max_age=12 * 3600,
    )
    return response


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def _too_many(request: Request, template: str, exc: TooMany, **context: Any) -> Response:
    response = render(request, template, status_code=429, error=str(exc), **context)
    response.headers["Retry-After"] = str(exc.retry_after)
    return response


def _next_step(state_stage: str, account: Account, target: str) -> str:
    """Where a browser goes after a step of signing in: the next step, or its page."""
    if state_stage in STAGE_PAGES:
        page = STAGE_PAGES[state_stage]
        return f"{page}?next={target}" if target else page
    return safe_next(target, home_for(account.role))


# ----- the password ------------------------------------------------------------------------


@router.get("/login", response_class=HTMLResponse)
def login_page(
    request: Request, account: OptionalAccount, next: str | None = None, done: str = ""
) -> Response:
    if account is not None:
        return RedirectResponse(home_for(account.role), status_code=303)
    return render(request, "login.html", next=next or "", notice=NOTICES.get(done))


@router.post("/login", dependencies=[CsrfChecked])
def login(
    request: Request,
    accounts: AccountsDep,
    email: Annotated[str, Form(max_length=254)],
    password: Annotated[str, Form(max_length=256)],
    next: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    address = client_address(request)
    try:
        account = accounts.authenticate(email, password, address)
    except TooMany as exc:
        return _too_many(request, "login.html", exc, email=email, next=next)
    except AuthError as exc:
        return render(
            request, "login.html", status_code=401, error=str(exc), email=email, next=next
        )
    token, _ = accounts.start_session(
        account,
        second_factor=not accounts.needs_second_factor(account),
        user_agent=request.headers.get("user-agent", ""),
        address=address,
    )
    state = accounts.sign_in_state(token)
    stage = state.stage if state is not None else "full"
    return session_response(_next_step(stage, account, next), token, _settings(request))


@router.post("/logout", dependencies=[CsrfChecked])
def logout(request: Request, accounts: AccountsDep) -> Response:
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        accounts.end_session(token)
    response = RedirectResponse("/", status_code=303)
    response.delete_cookie(SESSION_COOKIE)
    return response


# ----- the second factor at sign-in ----------------------------------------------------------


def _demo_code(request: Request, state: SignIn, accounts: AccountsDep) -> str | None:
    """On a demo server only: the code the demo account's app would show now."""
    if not _settings(request).demo:
        return None
    from groundup.demo import current_code

    return current_code(accounts, state.account.email)


@router.get("/login/code", response_class=HTMLResponse)
def code_page(
    request: Request, state: PartialSignIn, accounts: AccountsDep, next: str = ""
) -> Response:
    if state.stage != "code":
        return RedirectResponse(_next_step(state.stage, state.account, next), status_code=303)
    return render(
        request,
        "login_code.html",
        next=next,
        signing_in=state.account,
        demo_code=_demo_code(request, state, accounts),
    )


@router.post("/login/code", dependencies=[CsrfChecked])
def code_post(
    request: Request,
    state: PartialSignIn,
    accounts: AccountsDep,
    code: Annotated[str, Form(max_length=40)],
    next: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    token = request.cookies.get(SESSION_COOKIE, "")
    context = {"next": next, "signing_in": state.account}
    try:
        fresh, _ = accounts.pass_second_factor(token, code.strip(), client_address(request))
    except TooMany as exc:
        return _too_many(request, "login_code.html", exc, **context)
    except AuthError as exc:
        return render(
            request,
            "login_code.html",
            status_code=401,
            error=str(exc),
            demo_code=_demo_code(request, state, accounts),
            **context,
        )
    return session_response(
        safe_next(next, home_for(state.account.role)), fresh, _settings(request)
    )


# ----- setting up the second factor ------------------------------------------------------------


def _usable(state: SignIn) -> bool:
    """Who may see the set-up page: a full session, or one whose next step is set-up."""
    return state.stage in ("full", "enrol")


@router.get("/account/two-factor", response_class=HTMLResponse)
def two_factor_page(
    request: Request, state: PartialSignIn, accounts: AccountsDep, next: str = "", done: str = ""
) -> Response:
    if not _usable(state):
        return RedirectResponse(_next_step(state.stage, state.account, next), status_code=303)
    account = state.account
    if accounts.has_second_factor(account):
        return render(
            request,
            "account_two_factor.html",
            enrolled=True,
            codes_left=accounts.recovery_codes_left(account),
            can_turn_off=account.role == "person",
            notice=NOTICES.get(done),
        )
    return _enrolment_page(request, state, accounts, next)


def _enrolment_page(
    request: Request,
    state: SignIn,
    accounts: AccountsDep,
    next: str,
    *,
    status_code: int = 200,
    error: str | None = None,
) -> Response:
    """The set-up page: the QR code, the key written out in groups of four, the code box."""
    secret = accounts.enrolment(state.account).secret
    return render(
        request,
        "account_two_factor.html",
        status_code=status_code,
        error=error,
        enrolled=False,
        required=state.stage == "enrol",
        secret=" ".join(secret[i : i + 4] for i in range(0, len(secret), 4)),
        next=next,
    )


@router.get("/account/two-factor/qr.svg")
def two_factor_qr(state: PartialSignIn, accounts: AccountsDep) -> Response:
    """The set-up link as a QR code, drawn here (SVG): the secret never leaves the app."""
    if not _usable(state) or accounts.has_second_factor(state.account):
        return Response(status_code=404)
    enrolment = accounts.enrolment(state.account)
    drawn = io.BytesIO()
    # A whole SVG document (with its namespace): an <img> shows nothing without it.
    segno.make(enrolment.uri, error="m").save(drawn, kind="svg", scale=5, border=2, dark="#111")
    return Response(drawn.getvalue(), media_type="image/svg+xml")


@router.post("/account/two-factor", dependencies=[CsrfChecked])
def two_factor_confirm(
    request: Request,
    state: PartialSignIn,
    accounts: AccountsDep,
    code: Annotated[str, Form(max_length=40)],
    next: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    if not _usable(state):
        return RedirectResponse(_next_step(state.stage, state.account, next), status_code=303)
    token = request.cookies.get(SESSION_COOKIE)
    try:
        codes = accounts.confirm_enrolment(state.account, code.strip(), token)
    except ServiceError as exc:
        return _enrolment_page(request, state, accounts, next, status_code=400, error=str(exc))
    return render(
        request,
        "account_recovery_codes.html",
        codes=codes,
        go_on=safe_next(next, home_for(state.account.role)),
        notice=NOTICES["two-factor"],
    )


@router.post("/account/two-factor/codes", dependencies=[CsrfChecked])
def two_factor_new_codes(request: Request, account: PageAccount, accounts: AccountsDep) -> Response:
    codes = accounts.new_recovery_codes(account)
    return render(
        request,
        "account_recovery_codes.html",
        codes=codes,
        go_on="/account",
        notice=NOTICES["codes"],
    )


@router.post("/account/two-factor/off", dependencies=[CsrfChecked])
def two_factor_off(
    request: Request,
    account: PageAccount,
    accounts: AccountsDep,
    code: Annotated[str, Form(max_length=40)],
) -> Response:
    try:
        accounts.turn_off_second_factor(account, code.strip(), client_address(request))
    except (AuthError, ServiceError) as exc:
        return render(
            request,
            "account_two_factor.html",
            status_code=429 if isinstance(exc, TooMany) else 400,
            error=str(exc),
            enrolled=True,
            codes_left=accounts.recovery_codes_left(account),
            can_turn_off=True,
        )
    return RedirectResponse("/account?done=off", status_code=303)


# ----- signing up ----------------------------------------------------------------------------


@router.get("/register", response_class=HTMLResponse)
def register_page(request: Request, invite: str | None = None) -> Response:
    return render(request, "register.html", invite=(invite or "")[:40])


@router.post("/register", dependencies=[CsrfChecked])
def register(
    request: Request,
    accounts: AccountsDep,
    email: Annotated[str, Form(max_length=254)],
    display_name: Annotated[str, Form(max_length=120)],
    password: Annotated[str, Form(max_length=256)],
    invite: Annotated[str, Form(max_length=40)] = "",
) -> Response:
    context = {"email": email, "display_name": display_name, "invite": invite}
    try:
        accounts.sign_up(
            email, display_name, password, invite=invite or None, address=client_address(request)
        )
    except TooMany as exc:
        return _too_many(request, "register.html", exc, **context)
    except ServiceError as exc:
        return render(request, "register.html", status_code=400, error=str(exc), **context)
    done = "mail" if accounts.mailer.configured else "registered"
    return RedirectResponse(f"/login?done={done}", status_code=303)


@router.get("/confirm", response_class=HTMLResponse)
def confirm(request: Request, accounts: AccountsDep, token: str = "") -> Response:
    try:
        accounts.confirm_email(token[:100])
    except ServiceError as exc:
        return render(request, "error.html", status_code=400, message=str(exc))
    return RedirectResponse("/login?done=confirmed", status_code=303)


# ----- passwords -----------------------------------------------------------------------------


def _password_state(state: SignIn) -> bool:
    return state.stage in ("full", "new_password")


@router.get("/password", response_class=HTMLResponse)
def password_page(request: Request, state: PartialSignIn, next: str = "") -> Response:
    if not _password_state(state):
        return RedirectResponse(_next_step(state.stage, state.account, next), status_code=303)
    return render(request, "password.html", required=state.stage == "new_password", next=next)


@router.post("/password", dependencies=[CsrfChecked])
def change_password(
    request: Request,
    state: PartialSignIn,
    accounts: AccountsDep,
    current: Annotated[str, Form(max_length=256)],
    new: Annotated[str, Form(max_length=256)],
    next: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    if not _password_state(state):
        return RedirectResponse(_next_step(state.stage, state.account, next), status_code=303)
    try:
        accounts.change_password(state.account, current, new)
    except ServiceError as exc:
        return render(
            request,
            "password.html",
            status_code=400,
            error=str(exc),
            required=state.stage == "new_password",
            next=next,
        )
    # Every session ended with the old password; this browser starts a new one, as far
    # along as it was (the second factor, if it had passed it).
    token, _ = accounts.start_session(
        state.account,
        second_factor=state.second_factor,
        user_agent=request.headers.get("user-agent", ""),
        address=client_address(request),
    )
    fresh = accounts.sign_in_state(token)
    stage = fresh.stage if fresh is not None else "full"
    target = _next_step(stage, state.account, next)
    if stage == "full" and not next:
        target = "/account?done=password"
    return session_response(target, token, _settings(request))


@router.get("/password/forgot", response_class=HTMLResponse)
def forgot_page(request: Request, accounts: AccountsDep) -> Response:
    return render(request, "password_forgot.html", mail=accounts.mailer.configured)


@router.post("/password/forgot", dependencies=[CsrfChecked])
def forgot(
    request: Request,
    accounts: AccountsDep,
    email: Annotated[str, Form(max_length=254)],
) -> Response:
    try:
        accounts.request_password_reset(email, client_address(request))
    except TooMany as exc:
        return _too_many(request, "password_forgot.html", exc, mail=accounts.mailer.configured)
    return render(request, "password_forgot.html", mail=accounts.mailer.configured, sent=True)


@router.get("/password/reset", response_class=HTMLResponse)
def reset_page(request: Request, token: str = "") -> Response:
    return render(request, "password_reset.html", token=token[:100])


@router.post("/password/reset", dependencies=[CsrfChecked])
def reset(
    request: Request,
    accounts: AccountsDep,
    token: Annotated[str, Form(max_length=100)],
    new: Annotated[str, Form(max_length=256)],
) -> Response:
    try:
        accounts.reset_password(token, new)
    except ServiceError as exc:
        return render(request, "password_reset.html", status_code=400, error=str(exc), token=token)
    return RedirectResponse("/login?done=reset", status_code=303)


# ----- sessions and tokens ---------------------------------------------------------------------


def _when(moment: dt.datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC")


def _browser(agent: str) -> str:
    """A few words for a user agent: the browser and the system, if they can be told."""
    if not agent:
        return "a browser"
    browser = next(
        (
            name
            for key, name in (
                ("Edg/", "Edge"),
                ("Firefox/", "Firefox"),
                ("Chrome/", "Chrome"),
                ("Safari/", "Safari"),
            )
            if key in agent
        ),
        "a browser",
    )
    system = next(
        (
            name
            for key, name in (
                ("Android", "Android"),
                ("iPhone", "iPhone"),
                ("iPad", "iPad"),
                ("Windows", "Windows"),
                ("Mac OS", "macOS"),
                ("Linux", "Linux"),
            )
            if key in agent
        ),
        "",
    )
    return f"{browser} on {system}" if system else browser


@router.get("/account", response_class=HTMLResponse)
def account_page(
    request: Request, account: PageAccount, accounts: AccountsDep, done: str = ""
) -> Response:
    state: SignIn = request.state.sign_in
    sessions = [
        {
            "handle": s.handle,
            "what": _browser(s.user_agent),
            "address": s.address or "—",
            "since": _when(s.created_at),
            "until": _when(s.expires_at),
            "current": s.handle == state.handle,
        }
        for s in accounts.sessions_of(account)
    ]
    tokens = [
        {
            "id": t.id,
            "name": t.name,
            "since": _when(t.created_at),
            "until": _when(t.expires_at) if t.expires_at else "never",
        }
        for t in accounts.tokens_of(account)
    ]
    return render(
        request,
        "account.html",
        sessions=sessions,
        tokens=tokens,
        second_factor=accounts.has_second_factor(account),
        notice=NOTICES.get(done),
    )


@router.post("/account/sessions/{handle}/end", dependencies=[CsrfChecked])
def end_session(
    request: Request, handle: str, account: PageAccount, accounts: AccountsDep
) -> Response:
    state: SignIn = request.state.sign_in
    accounts.end_session_by_handle(account, handle)
    if handle == state.handle:
        response = RedirectResponse("/", status_code=303)
        response.delete_cookie(SESSION_COOKIE)
        return response
    return RedirectResponse("/account?done=ended", status_code=303)


@router.post("/account/tokens/{token_id}/revoke", dependencies=[CsrfChecked])
def revoke_token(token_id: int, account: PageAccount, accounts: AccountsDep) -> Response:
    accounts.revoke_token(account, token_id)
    return RedirectResponse("/account?done=revoked", status_code=303)


@router.post("/account/everywhere", dependencies=[CsrfChecked])
def sign_out_everywhere(request: Request, account: PageAccount, accounts: AccountsDep) -> Response:
    state: SignIn = request.state.sign_in
    accounts.end_everywhere(account)
    token, _ = accounts.start_session(
        account,
        second_factor=state.second_factor,
        user_agent=request.headers.get("user-agent", ""),
        address=client_address(request),
    )
    return session_response("/account?done=everywhere", token, _settings(request))


# ----- closing a person's account ---------------------------------------------------------------


def _close_context(accounts: AccountsDep, account: Account) -> dict[str, Any]:
    return {
        "clinicians": accounts.keeps_record(account),
        "second_factor": accounts.has_second_factor(account),
    }


@router.get("/account/close", response_class=HTMLResponse)
def close_page(request: Request, account: PageAccount, accounts: AccountsDep) -> Response:
    if account.role != "person":
        return render(
            request,
            "error.html",
            status_code=403,
            message="clinician and admin accounts are closed by an administrator",
        )
    return render(request, "account_close.html", **_close_context(accounts, account))


@router.post("/account/close", dependencies=[CsrfChecked])
def close(
    request: Request,
    account: PageAccount,
    accounts: AccountsDep,
    password: Annotated[str, Form(max_length=256)],
    confirm: Annotated[str, Form(max_length=10)] = "",
    code: Annotated[str, Form(max_length=40)] = "",
) -> Response:
    context = _close_context(accounts, account)
    if account.role != "person":
        return render(request, "error.html", status_code=403, message="not for this account")
    if confirm != "yes":
        return render(
            request,
            "account_close.html",
            status_code=400,
            error="Tick the box to confirm that you want to close your account.",
            **context,
        )
    try:
        deleted = accounts.close_account(account, password, code.strip(), client_address(request))
    except TooMany as exc:
        return _too_many(request, "account_close.html", exc, **context)
    except AuthError as exc:
        return render(request, "account_close.html", status_code=401, error=str(exc), **context)
    request.state.account = None
    response = render(request, "account_closed.html", deleted=deleted, **context)
    response.delete_cookie(SESSION_COOKIE)
    return response
