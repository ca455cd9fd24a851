"""Reminders on the web: the person's settings page and their devices, and the stop link
in every e-mail, which works without signing in (mail apps' own one-click stop button
posts to the same address, RFC 8058).

A stop link that is not genuine gets the same "no such page" as any missing page.
"""

from __future__ import annotations

import zoneinfo
from functools import cache
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import RedirectResponse, Response

from groundup.reminders.timing import KIND_WORDS, Kind
from groundup.services import ServiceError
from groundup.services.reminders import ReminderChoices, Reminders
from groundup.web.deps import CsrfChecked, FormDep
from groundup.web.pages import render
from groundup.web.person import MeDep

router = APIRouter()

NOTICES = {
    "saved": "Saved. Your reminders are on.",
    "stopped": "All your reminders are stopped. Nothing more will be sent.",
    "device": "This device will now get your reminders as notifications.",
    "removed": "That device will get no more notifications.",
}
KIND_HINTS = {
    Kind.TRAINING: "On each training day, at your training time: what today's session holds.",
    Kind.CHECKIN: "The morning after a session: how your leg woke up. Your program waits "
    "for it before it steps up.",
    Kind.RETEST: "When it is time to repeat your tests, and once a week while it stays due.",
    Kind.FLARE: "During a flare-up, each morning: a check-in so the plan can step back up.",
}


async def get_reminders(request: Request) -> Reminders:
    reminders: Reminders = request.app.state.reminders
    return reminders


RemindersDep = Annotated[Reminders, Depends(get_reminders)]


@cache
def time_zones() -> tuple[str, ...]:
    """The time zones to choose from: IANA region/city names, and UTC."""
    names = {z for z in zoneinfo.available_timezones() if "/" in z and not z.startswith("Etc/")}
    return ("UTC", *sorted(names))


def _status_words(saved: ReminderChoices, devices: int) -> str:
    ways = []
    if saved.by_email and saved.email:
        ways.append(f"by e-mail to {saved.email}")
    if saved.by_push:
        ways.append(f"as notifications on {devices} device{'' if devices == 1 else 's'}")
    quiet = f", never from {saved.quiet_start} to {saved.quiet_end}" if saved.quiet_start else ""
    return f"Reminders {' and '.join(ways)}, in {saved.time_zone.replace('_', ' ')} time{quiet}."


def _page(
    request: Request,
    reminders: Reminders,
    patient_id: str,
    *,
    choices: ReminderChoices | None = None,
    error: str | None = None,
    notice: str | None = None,
    status_code: int = 200,
) -> Response:
    saved = reminders.choices(patient_id)
    shown = choices or saved
    devices = reminders.devices(patient_id)
    context: dict[str, Any] = {
        "saved": saved,
        "status_words": _status_words(saved, len(devices)),
        "values": shown,
        "kinds": [(kind, KIND_WORDS[kind], KIND_HINTS[kind]) for kind in Kind],
        "devices": devices,
        "zones": time_zones(),
        # A zone the person never chose is guessed in the browser (see install.js).
        "zone_guess": not saved.enabled and saved.time_zone == "UTC",
        "email_ready": reminders.email_ready,
        "push_key": reminders.vapid.public_key,
    }
    return render(
        request,
        "person_reminders.html",
        status_code=status_code,
        error=error,
        notice=notice,
        **context,
    )


@router.get("/me/reminders")
def reminders_page(
    request: Request, me: MeDep, reminders: RemindersDep, done: str = ""
) -> Response:
    return _page(request, reminders, me.patient_id, notice=NOTICES.get(done))


def _text(form: Any, name: str, most: int = 254) -> str:
    value = form.get(name)
    return str(value).strip()[:most] if isinstance(value, str) else ""


@router.post("/me/reminders", dependencies=[CsrfChecked])
def save_reminders(request: Request, me: MeDep, reminders: RemindersDep, form: FormDep) -> Response:
    """Save the choices and turn reminders on."""
    kinds = frozenset(kind for kind in Kind if form.get(f"kind_{kind.value}") == "on")
    quiet = form.get("quiet") == "on"
    choices = ReminderChoices(
        enabled=True,
        kinds=kinds,
        by_email=form.get("by_email") == "on",
        email=_text(form, "email") or None,
        by_push=form.get("by_push") == "on",
        training_time=_text(form, "training_time", 5),
        morning_time=_text(form, "morning_time", 5),
        quiet_start=_text(form, "quiet_start", 5) if quiet else None,
        quiet_end=_text(form, "quiet_end", 5) if quiet else None,
        time_zone=_text(form, "time_zone", 64),
    )
    try:
        reminders.save(me.patient_id, choices)
    except ServiceError as exc:
        message = str(exc)
        return _page(
            request,
            reminders,
            me.patient_id,
            choices=choices,
            error=message[:1].upper() + message[1:] + ".",
            status_code=400,
        )
    return RedirectResponse("/me/reminders?done=saved", status_code=303)


@router.post("/me/reminders/stop", dependencies=[CsrfChecked])
def stop_reminders(me: MeDep, reminders: RemindersDep) -> Response:
    reminders.stop(me.patient_id)
    return RedirectResponse("/me/reminders?done=stopped", status_code=303)


@router.post("/me/reminders/devices", dependencies=[CsrfChecked])
def add_device(me: MeDep, reminders: RemindersDep, form: FormDep) -> Response:
    """This browser's push subscription (sent by install.js)."""
    reminders.add_device(
        me.patient_id,
        _text(form, "endpoint", 2001),
        _text(form, "p256dh", 200),
        _text(form, "auth", 64),
        _text(form, "device", 120),
    )
    return RedirectResponse("/me/reminders?done=device", status_code=303)


@router.post("/me/reminders/devices/{device_id}/remove", dependencies=[CsrfChecked])
def remove_device(device_id: int, me: MeDep, reminders: RemindersDep) -> Response:
    reminders.remove_device(me.patient_id, device_id)
    return RedirectResponse("/me/reminders?done=removed", status_code=303)


# ----- the stop link (no sign-in) ---------------------------------------------------------


def _no_store(response: Response) -> Response:
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Robots-Tag"] = "noindex"
    return response


@router.get("/reminders/stop/{token}")
def stop_link_page(request: Request, token: str, reminders: RemindersDep) -> Response:
    """One button: link checkers that open links in e-mails do not stop anything."""
    patient_id = reminders.person_for_stop(token)
    if patient_id is None:
        raise HTTPException(status_code=404)
    on = reminders.are_on(patient_id)
    return _no_store(render(request, "reminders_stop.html", token=token, on=on, stopped=False))


@router.post("/reminders/stop/{token}")
def stop_link(request: Request, token: str, reminders: RemindersDep) -> Response:
    """Stop every reminder of the link's person: from the page's button, or from a mail
    app's own stop button (RFC 8058 one-click)."""
    patient_id = reminders.person_for_stop(token)
    if patient_id is None:
        raise HTTPException(status_code=404)
    reminders.stop(patient_id, by="stop link")
    return _no_store(render(request, "reminders_stop.html", token=token, on=False, stopped=True))
