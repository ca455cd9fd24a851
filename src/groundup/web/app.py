"""The FastAPI application: pages for people and clinicians, and the REST API."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib import resources
from typing import Annotated

from fastapi import FastAPI, Form, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from groundup import __version__
from groundup.config import Settings, get_settings
from groundup.knowledge import load_rules
from groundup.services import Conflict, NotFound, ServiceError, Services
from groundup.services.accounts import Accounts, AuthError, Forbidden
from groundup.services.reminders import Reminders
from groundup.storage.database import Database
from groundup.web.deps import (
    SESSION_COOKIE,
    AccountsDep,
    CsrfChecked,
    LoginRequired,
    OptionalAccount,
    PageAccount,
    client_address,
)
from groundup.web.headers import SecurityHeaders
from groundup.web.pages import render
from groundup.worker import app_worker


def _is_api(request: Request) -> bool:
    return request.url.path.startswith("/api/")


def _status(exc: ServiceError) -> int:
    if isinstance(exc, NotFound):
        return 404
    if isinstance(exc, Conflict):
        return 409
    if isinstance(exc, AuthError):
        return 401
    if isinstance(exc, Forbidden):
        return 403
    return 400


def create_app(
    services: Services | None = None,
    settings: Settings | None = None,
    *,
    worker: bool | None = None,
) -> FastAPI:
    """The app over the configured database (or over the services given, in tests).

    `worker`: run the job worker (reminders) in a background thread while the app is up;
    by default it does when serving the configured database and GROUNDUP_WORKER allows."""
    settings = settings or get_settings()
    if worker is None:
        worker = services is None and settings.worker
    if services is None:
        services = Services(Database(settings.url), load_rules(), actor="web")
    jobs = app_worker(services, settings) if worker else None

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        if jobs is not None:
            jobs.start()
        try:
            yield
        finally:
            if jobs is not None:
                jobs.stop()

    app = FastAPI(
        lifespan=lifespan,
        title="groundup",
        version=__version__,
        summary="Stepwise strengthening for lower-leg muscle imbalances",
        docs_url=None,  # the interactive docs load scripts from a CDN: not here
        openapi_url="/api/v1/openapi.json",
        redoc_url=None,
    )
    app.state.services = services
    app.state.accounts = Accounts(services)
    app.state.settings = settings
    app.state.reminders = Reminders(services, settings)
    app.mount(
        "/static",
        StaticFiles(directory=str(resources.files("groundup.web") / "static")),
        name="static",
    )

    @app.exception_handler(LoginRequired)
    async def _login(request: Request, _exc: LoginRequired) -> Response:
        return RedirectResponse(f"/login?next={request.url.path}", status_code=303)

    @app.exception_handler(ServiceError)
    async def _service_error(request: Request, exc: ServiceError) -> Response:
        status = _status(exc)
        if _is_api(request):
            return JSONResponse({"error": str(exc)}, status_code=status)
        return render(request, "error.html", status_code=status, message=str(exc))

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
        message = str(exc.detail) if exc.detail else "something went wrong"
        if exc.status_code == 404 and message == "Not Found":
            message = "there is no such page"
        if _is_api(request):
            return JSONResponse(
                {"error": message}, status_code=exc.status_code, headers=exc.headers
            )
        return render(request, "error.html", status_code=exc.status_code, message=message)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> Response:
        problems = []
        for error in exc.errors()[:5]:
            where = ".".join(
                str(p) for p in error.get("loc", ()) if p not in ("body", "query", "path", "form")
            )
            problems.append(f"{where or 'request'}: {error.get('msg', 'invalid')}")
        message = "; ".join(problems) or "the request is not valid"
        if _is_api(request):
            return JSONResponse(
                {"error": message, "fields": [p.split(":")[0] for p in problems]}, status_code=422
            )
        return render(request, "error.html", status_code=400, message=message)

    app.add_middleware(SecurityHeaders)

    _auth_routes(app, settings)
    from groundup.web import api, calendar, clinician, install, person, reminders

    app.include_router(install.router)
    app.include_router(person.router)
    app.include_router(calendar.router)
    app.include_router(reminders.router)
    app.include_router(clinician.router)
    app.include_router(api.router)
    from groundup.web import documents  # the PDF downloads

    app.include_router(documents.router)
    return app


def _session_response(target: str, token: str, settings: Settings) -> RedirectResponse:
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


def _home_for(role: str) -> str:
    return {"person": "/me", "clinician": "/clinic", "admin": "/admin"}.get(role, "/")


def _safe_next(target: str | None, fallback: str) -> str:
    if target and target.startswith("/") and not target.startswith("//"):
        return target
    return fallback


def _auth_routes(app: FastAPI, settings: Settings) -> None:
    @app.get("/", response_class=HTMLResponse)
    def index(request: Request, account: OptionalAccount) -> Response:
        if account is not None:
            return RedirectResponse(_home_for(account.role), status_code=303)
        return render(request, "index.html")

    @app.get("/login", response_class=HTMLResponse)
    def login_page(request: Request, account: OptionalAccount, next: str | None = None) -> Response:
        if account is not None:
            return RedirectResponse(_home_for(account.role), status_code=303)
        return render(request, "login.html", next=next or "")

    @app.post("/login", dependencies=[CsrfChecked])
    def login(
        request: Request,
        accounts: AccountsDep,
        email: Annotated[str, Form(max_length=254)],
        password: Annotated[str, Form(max_length=256)],
        next: Annotated[str, Form(max_length=500)] = "",
    ) -> Response:
        try:
            account = accounts.authenticate(email, password, client_address(request))
        except AuthError as exc:
            return render(
                request, "login.html", status_code=401, error=str(exc), email=email, next=next
            )
        token, _ = accounts.start_session(account)
        return _session_response(_safe_next(next, _home_for(account.role)), token, settings)

    @app.post("/logout", dependencies=[CsrfChecked])
    def logout(request: Request, accounts: AccountsDep) -> Response:
        token = request.cookies.get(SESSION_COOKIE)
        if token:
            accounts.end_session(token)
        response = RedirectResponse("/", status_code=303)
        response.delete_cookie(SESSION_COOKIE)
        return response

    @app.get("/register", response_class=HTMLResponse)
    def register_page(request: Request, invite: str | None = None) -> Response:
        return render(request, "register.html", invite=invite or "")

    @app.post("/register", dependencies=[CsrfChecked])
    def register(
        request: Request,
        accounts: AccountsDep,
        email: Annotated[str, Form(max_length=254)],
        display_name: Annotated[str, Form(max_length=120)],
        password: Annotated[str, Form(max_length=256)],
        invite: Annotated[str, Form(max_length=40)] = "",
    ) -> Response:
        try:
            account = accounts.register_person(email, display_name, password, invite=invite or None)
        except ServiceError as exc:
            return render(
                request,
                "register.html",
                status_code=400,
                error=str(exc),
                email=email,
                display_name=display_name,
                invite=invite,
            )
        token, _ = accounts.start_session(account)
        return _session_response("/me", token, settings)

    @app.get("/password", response_class=HTMLResponse)
    def password_page(request: Request, account: PageAccount) -> Response:
        return render(request, "password.html")

    @app.post("/password", dependencies=[CsrfChecked])
    def change_password(
        request: Request,
        account: PageAccount,
        accounts: AccountsDep,
        current: Annotated[str, Form(max_length=256)],
        new: Annotated[str, Form(max_length=256)],
    ) -> Response:
        try:
            accounts.change_password(account, current, new)
        except ServiceError as exc:
            return render(request, "password.html", status_code=400, error=str(exc))
        token, _ = accounts.start_session(account)
        return _session_response(_home_for(account.role), token, settings)

    @app.get("/healthz")
    def health() -> dict[str, str]:
        return {"status": "ok"}
