"""The program in the person's own calendar app: a private link that calendar apps fetch
again by themselves, and a one-off .ics download.

The link's token is stored only as a hash, so the page can show the link once, right
after it is made; making a new one stops the old, and the person can stop it at any time.
The link itself needs no sign-in (calendar apps cannot sign in): an unknown, stopped or
malformed token gets the same "no such page" as any missing page.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import RedirectResponse, Response

from groundup.services import NotFound, ServiceError, Services
from groundup.services.calendar import (
    DEFAULT_WEEKS,
    CalendarFeeds,
    CalendarTimes,
    program_calendar,
)
from groundup.web.deps import ClinicianPatient, CsrfChecked, FormDep, ServicesDep
from groundup.web.pages import render
from groundup.web.person import MeDep

router = APIRouter()

FILE_NAME = "groundup-program.ics"
NOTICES = {"stopped": "Your calendar link is stopped. Calendars that used it no longer update."}


def _base_url(request: Request) -> str:
    """The configured public address (never the request's Host header)."""
    return str(request.app.state.settings.base_url)


def _ics(data: bytes, *, download: bool) -> Response:
    headers = {"Cache-Control": "private, no-store", "X-Robots-Tag": "noindex"}
    if download:
        headers["Content-Disposition"] = f'attachment; filename="{FILE_NAME}"'
    return Response(data, media_type="text/calendar; charset=utf-8", headers=headers)


def _has_program(services: Services, patient_id: str) -> bool:
    return _per_day(services, patient_id) > 0


def _per_day(services: Services, patient_id: str) -> int:
    """Sessions a day in the person's program; 0 before there is one."""
    try:
        return services.program(patient_id).times_per_day
    except NotFound:
        return 0


def _page(
    request: Request,
    services: Services,
    patient_id: str,
    *,
    link: str | None = None,
    values: dict[str, str] | None = None,
    error: str | None = None,
    notice: str | None = None,
    status_code: int = 200,
) -> Response:
    active = CalendarFeeds(services).active(patient_id)
    _, _, date_format = services.display(patient_id)
    session_time, checkin_time = (active.times if active else CalendarTimes()).words()
    context: dict[str, Any] = {
        "link": link,
        "webcal": "webcal://" + link.split("://", 1)[1] if link else None,
        "active_since": active.created_at.strftime(date_format) if active else None,
        "values": {"session": session_time, "checkin": checkin_time, **(values or {})},
        "weeks": DEFAULT_WEEKS,
        "per_day": _per_day(services, patient_id),
    }
    return render(
        request,
        "person_calendar.html",
        status_code=status_code,
        error=error,
        notice=notice,
        **context,
    )


@router.get("/me/calendar")
def calendar_page(request: Request, me: MeDep, services: ServicesDep, done: str = "") -> Response:
    if not _has_program(services, me.patient_id):
        return RedirectResponse("/me", status_code=303)
    return _page(request, services, me.patient_id, notice=NOTICES.get(done))


@router.post("/me/calendar/link", dependencies=[CsrfChecked])
def new_link(request: Request, me: MeDep, services: ServicesDep, form: FormDep) -> Response:
    """Make a private link (stopping any old one) and show it, this once."""
    if not _has_program(services, me.patient_id):
        return RedirectResponse("/me", status_code=303)
    values = {name: str(form.get(name) or "").strip() for name in ("session", "checkin")}
    try:
        times = CalendarTimes.parse(values["session"], values["checkin"])
    except ServiceError as exc:
        message = str(exc)
        return _page(
            request,
            services,
            me.patient_id,
            values=values,
            error=message[:1].upper() + message[1:] + ".",
            status_code=400,
        )
    token = CalendarFeeds(services).create(me.patient_id, times)
    link = _base_url(request) + request.app.url_path_for("calendar_feed", token=token)
    return _page(request, services, me.patient_id, link=link)


@router.post("/me/calendar/stop", dependencies=[CsrfChecked])
def stop_link(me: MeDep, services: ServicesDep) -> Response:
    CalendarFeeds(services).revoke(me.patient_id)
    return RedirectResponse("/me/calendar?done=stopped", status_code=303)


@router.get("/me/calendar.ics")
def download(
    request: Request,
    me: MeDep,
    services: ServicesDep,
    session: str = "",
    checkin: str = "",
    weeks: int = DEFAULT_WEEKS,
) -> Response:
    """A one-off copy of the calendar, at the times asked for."""
    times = CalendarTimes.parse(session, checkin)
    data = program_calendar(
        services, me.patient_id, weeks=weeks, times=times, base_url=_base_url(request)
    )
    return _ics(data, download=True)


@router.get("/calendar/{token}.ics", name="calendar_feed")
def calendar_feed(request: Request, token: str, services: ServicesDep) -> Response:
    """What calendar apps fetch. Anything but a working link is simply not there."""
    found = CalendarFeeds(services).open(token)
    if found is None:
        raise HTTPException(status_code=404)
    patient_id, times = found
    try:
        data = program_calendar(services, patient_id, times=times, base_url=_base_url(request))
    except NotFound:
        raise HTTPException(status_code=404) from None
    return _ics(data, download=False)


@router.get("/clinic/patients/{patient_id}/calendar.ics")
def clinician_download(
    request: Request, patient_id: ClinicianPatient, services: ServicesDep
) -> Response:
    """A patient's calendar for a clinician who may see them (404 for anyone else's)."""
    data = program_calendar(services, patient_id, base_url=_base_url(request))
    return _ics(data, download=True)
