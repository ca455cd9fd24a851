"""The FastAPI application: pages for people and clinicians, and the REST API."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib import resources
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from groundup import __version__
from groundup.clinical.text import clean_text
from groundup.config import Settings, get_settings
from groundup.knowledge import load_rules
from groundup.services import Conflict, NotFound, Paused, ServiceError, Services
from groundup.services.accounts import Accounts, AuthError, Forbidden, TooMany
from groundup.services.reminders import Reminders
from groundup.services.workflow import UnstorableText
from groundup.storage.database import Database
from groundup.web.account import home_for
from groundup.web.deps import (
    STAGE_PAGES,
    LoginRequired,
    OptionalAccount,
    SignInIncomplete,
)
from groundup.web.guard import AddressTextGuard, RequestAudit
from groundup.web.headers import SecurityHeaders
from groundup.web.pages import render
from groundup.worker import app_worker


def _is_api(request: Request) -> bool:
    return request.url.path.startswith("/api/")


def _status(exc: ServiceError) -> int:
    if isinstance(exc, TooMany):
        return 429
    if isinstance(exc, NotFound):
        return 404
    if isinstance(exc, Conflict):
        return 409
    if isinstance(exc, AuthError):
        return 401
    if isinstance(exc, Forbidden):
        return 403
    if isinstance(exc, UnstorableText):
        return 422
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
        docs_url=None,  # served by `web.docs` from a local copy, under the app's CSP
        openapi_url="/api/v1/openapi.json",
        redoc_url=None,
    )
    app.state.services = services
    app.state.accounts = Accounts(services, settings)
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

    @app.exception_handler(SignInIncomplete)
    async def _next_step(request: Request, exc: SignInIncomplete) -> Response:
        return RedirectResponse(
            f"{STAGE_PAGES[exc.stage]}?next={request.url.path}", status_code=303
        )

    @app.exception_handler(ServiceError)
    async def _service_error(request: Request, exc: ServiceError) -> Response:
        status = _status(exc)
        headers = {"Retry-After": str(exc.retry_after)} if isinstance(exc, TooMany) else None
        message = clean_text(str(exc))
        if _is_api(request):
            body: dict[str, Any] = {"error": message}
            if isinstance(exc, UnstorableText):
                body["fields"] = [clean_text(exc.field)]
            if isinstance(exc, Paused):
                body["paused"] = True
                body["advice"] = clean_text(exc.advice)
            return JSONResponse(body, status_code=status, headers=headers)
        page = render(request, "error.html", status_code=status, message=message)
        if headers:
            page.headers.update(headers)
        return page

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
        message = clean_text(str(exc.detail)) if exc.detail else "something went wrong"
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
            # A location can echo what was sent (a key with half a surrogate pair in it):
            # cleaned, so that the answer can always be written.
            problems.append(clean_text(f"{where or 'request'}: {error.get('msg', 'invalid')}"))
        message = "; ".join(problems) or "the request is not valid"
        if _is_api(request):
            return JSONResponse(
                {"error": message, "fields": [p.split(":")[0] for p in problems]}, status_code=422
            )
        return render(request, "error.html", status_code=400, message=message)

    app.add_middleware(AddressTextGuard)
    app.add_middleware(RequestAudit, trusted=settings.trusted_proxies)
    app.add_middleware(SecurityHeaders)  # added last: outermost, so every answer has them

    _auth_routes(app, settings)
    from groundup.web import (
        account,
        api,
        api_clinic,
        calendar,
        clinic_admin,
        clinician,
        docs,
        exercises,
        first_hour,
        install,
        person,
        reminders,
    )

    app.include_router(install.router)
    app.include_router(account.router)
    app.include_router(docs.router)
    app.include_router(person.router)
    app.include_router(first_hour.router)
    app.include_router(calendar.router)
    app.include_router(reminders.router)
    app.include_router(clinician.router)
    app.include_router(exercises.router)
    app.include_router(clinic_admin.router)
    app.include_router(api.router)
    app.include_router(api_clinic.router)
    from groundup.web import documents  # the PDF downloads

    app.include_router(documents.router)
    return app


def _auth_routes(app: FastAPI, _settings: Settings) -> None:
    @app.get("/", response_class=HTMLResponse)
    def index(request: Request, account: OptionalAccount) -> Response:
        if account is not None:
            return RedirectResponse(home_for(account.role), status_code=303)
        return render(request, "index.html")

    @app.get("/healthz")
    def health() -> dict[str, str]:
        return {"status": "ok"}
