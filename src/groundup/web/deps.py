"""What route functions receive: the services, the signed-in account, checks on forms.

Access to a person's data is decided in one place, `Accounts.require`: the person's pages
reach it through `person.current_person`, the clinician's pages through `ClinicianPatient`
here, the API through `api.PatientAccess`; routes never compare ids themselves.
"""

from __future__ import annotations

import hmac
import ipaddress
import secrets
from collections.abc import Sequence
from ipaddress import IPv4Network, IPv6Network
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.responses import RedirectResponse
from starlette.datastructures import FormData

from groundup.clinical.text import clean_text, text_problem
from groundup.services import Services, audit
from groundup.services.accounts import Account, Accounts, SignIn

SESSION_COOKIE = "gu_session"
CSRF_COOKIE = "gu_csrf"


# These two only read the app's state: async, so FastAPI calls them on the event loop
# instead of sending each to a worker thread.
async def get_services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


async def get_accounts(request: Request) -> Accounts:
    accounts: Accounts = request.app.state.accounts
    return accounts


ServicesDep = Annotated[Services, Depends(get_services)]
AccountsDep = Annotated[Accounts, Depends(get_accounts)]


class LoginRequired(Exception):
    """Raised by page dependencies: the handler sends the browser to the sign-in page."""


class SignInIncomplete(Exception):
    """The browser has the password but not yet the rest (a new password, the second
    factor): the handler sends it to the page for that step."""

    def __init__(self, stage: str) -> None:
        super().__init__(stage)
        self.stage = stage


STAGE_PAGES = {
    "new_password": "/password",
    "enrol": "/account/two-factor",
    "code": "/login/code",
}


def sign_in_state(request: Request, accounts: AccountsDep) -> SignIn | None:
    """The browser's session at whatever stage its sign-in is (see `SignIn`)."""
    token = request.cookies.get(SESSION_COOKIE)
    if not token or len(token) > 200:
        return None
    state = accounts.sign_in_state(token)
    if state is None:
        return None
    request.state.csrf = state.csrf
    request.state.sign_in = state
    audit.identify(state.account.id, f"{state.account.role} {state.account.email}")
    if state.stage == "full":
        request.state.account = state.account
    return state


SignInState = Annotated[SignIn | None, Depends(sign_in_state)]


def optional_account(state: SignInState) -> Account | None:
    """The signed-in account, once its sign-in is complete; None before that."""
    return state.account if state is not None and state.stage == "full" else None


def page_account(state: SignInState) -> Account:
    if state is None:
        raise LoginRequired
    if state.stage != "full":
        raise SignInIncomplete(state.stage)
    return state.account


def partial_sign_in(state: SignInState) -> SignIn:
    """A session at any stage: for the pages that complete a sign-in."""
    if state is None:
        raise LoginRequired
    return state


OptionalAccount = Annotated[Account | None, Depends(optional_account)]
PageAccount = Annotated[Account, Depends(page_account)]
PartialSignIn = Annotated[SignIn, Depends(partial_sign_in)]


def clinician_account(account: PageAccount) -> Account:
    """A signed-in clinician; anyone else is refused (403)."""
    if account.role != "clinician":
        raise HTTPException(status_code=403, detail="these pages are for clinicians")
    return account


def admin_account(account: PageAccount) -> Account:
    """A signed-in administrator; anyone else is refused (403)."""
    if account.role != "admin":
        raise HTTPException(status_code=403, detail="this page is for administrators")
    return account


ClinicianAccount = Annotated[Account, Depends(clinician_account)]
AdminAccount = Annotated[Account, Depends(admin_account)]


def clinician_patient(patient_id: str, account: ClinicianAccount, accounts: AccountsDep) -> str:
    """The path's patient, once `Accounts.require` lets this clinician see them: an unknown
    id and another clinician's patient get the same 404, before anything else is read."""
    accounts.require(account, patient_id)
    return patient_id


ClinicianPatient = Annotated[str, Depends(clinician_patient)]


async def read_form(request: Request) -> FormData:
    """The posted form (`forms` reads its fields)."""
    return await request.form()


FormDep = Annotated[FormData, Depends(read_form)]


def see(target: str) -> RedirectResponse:
    """After a form post: the browser goes on to `target` with a GET (303 See Other)."""
    return RedirectResponse(target, status_code=303)


def csrf_token(request: Request) -> str:
    """The token forms must carry: the session's, or a cookie's before signing in."""
    token = getattr(request.state, "csrf", None)
    if token:
        return str(token)
    cookie = request.cookies.get(CSRF_COOKIE)
    if cookie:
        return cookie
    fresh = secrets.token_urlsafe(32)
    request.state.new_csrf_cookie = fresh
    return fresh


async def check_form(request: Request, _account: OptionalAccount) -> None:
    """Every form post carries the CSRF token (a mismatch is refused, 403), and every field
    holds text that can be stored (`groundup.clinical.text`; 422 naming the field), checked
    here once for every form before any page reads it."""
    form = await request.form()
    csrf = form.get("csrf")
    expected = getattr(request.state, "csrf", None) or request.cookies.get(CSRF_COOKIE)
    if (
        not expected
        or not isinstance(csrf, str)
        or not csrf
        or not hmac.compare_digest(str(expected).encode(), csrf.encode("utf-8", "replace"))
    ):
        raise HTTPException(
            status_code=403,
            detail="the form expired or did not come from this site; reload the page and try again",
        )
    for name, value in form.multi_items():
        for text in (name, value):
            problem = text_problem(text) if isinstance(text, str) else None
            if problem is not None:
                label = clean_text(name)[:60]
                raise HTTPException(
                    status_code=422,
                    detail=f"the field “{label}” {problem}; go back, correct it and send again",
                )


CsrfChecked = Depends(check_form)


def client_address_of(
    peer: str, forwarded: list[str], trusted: Sequence[IPv4Network | IPv6Network]
) -> str:
    """The client's address: the connection's own, unless it comes from a configured
    trusted proxy; then the nearest address in X-Forwarded-For that is not a trusted proxy
    itself. A header from anyone else is ignored (it could say anything)."""
    if not trusted:
        return peer
    try:
        hop = ipaddress.ip_address(peer)
    except ValueError:
        return peer
    if not any(hop in network for network in trusted):
        return peer
    chain = [part.strip() for header in forwarded for part in header.split(",") if part.strip()]
    for entry in reversed(chain):
        try:
            hop = ipaddress.ip_address(entry)
        except ValueError:
            break  # not an address: trust nothing further along
        if not any(hop in network for network in trusted):
            return str(hop)
    return str(hop)


def client_address(request: Request) -> str:
    """The client's address for this request (worked out once, by `RequestAudit`)."""
    context = audit.current()
    if context is not None and context.address:
        return context.address
    peer = request.client.host if request.client else "unknown"
    settings = request.app.state.settings
    return client_address_of(
        peer, request.headers.getlist("x-forwarded-for"), settings.trusted_proxies
    )
