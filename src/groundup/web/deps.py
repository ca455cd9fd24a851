"""What route functions receive: the services, the signed-in account, checks on forms.

Access to a person's data is decided in one place, `Accounts.require`, reached here
through `patient_for`; routes never compare ids themselves.
"""

from __future__ import annotations

import hmac
import secrets
from typing import Annotated

from fastapi import Depends, Form, HTTPException, Request

from groundup.services import Services
from groundup.services.accounts import Account, Accounts

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


def optional_account(request: Request, accounts: AccountsDep) -> Account | None:
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    found = accounts.session_account(token)
    if found is None:
        return None
    account, csrf = found
    request.state.csrf = csrf
    request.state.account = account
    return account


def page_account(account: Annotated[Account | None, Depends(optional_account)]) -> Account:
    if account is None:
        raise LoginRequired
    return account


OptionalAccount = Annotated[Account | None, Depends(optional_account)]
PageAccount = Annotated[Account, Depends(page_account)]


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


def check_csrf(
    request: Request, _account: OptionalAccount, csrf: Annotated[str, Form()] = ""
) -> None:
    """Every form post carries the CSRF token; a mismatch is refused (403)."""
    expected = getattr(request.state, "csrf", None) or request.cookies.get(CSRF_COOKIE)
    if not expected or not csrf or not hmac.compare_digest(str(expected), csrf):
        raise HTTPException(
            status_code=403,
            detail="the form expired or did not come from this site; reload the page and try again",
        )


CsrfChecked = Depends(check_csrf)


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"
