"""The program's schedule as an iCalendar file, and the private links that serve it.

What goes in, for the coming weeks (six unless asked otherwise):
- every scheduled session on its day, with the exercises and doses in the description,
  its length from the session's time estimate and a reminder 15 minutes before;
- the morning check-in, one short event repeating daily, with a reminder when it starts;
- the periodic retest, as an all-day event on the day it falls due (today if overdue),
  then every retest interval after that.

Choices:
- Times are floating local times (no time zone). groundup keeps no time zone per
  person, and "18:00" should mean six in the evening wherever the person is, travelling
  included. The person picks the two times; the defaults are below.
- Every event has a UID made from what it is (the session's day and number; the
  check-in series; the retest counted from the last tests) and a key derived from the
  person's id, so a calendar that fetches again updates its events instead of adding
  copies, and no UID reveals the record's id. Sessions and retests carry the program's
  version as their SEQUENCE, so an app that imports a newer file takes the newer doses.
- The calendar runs from a week ago: past sessions read "Done", "Skipped" (also marked
  cancelled) or "Not logged" and have no reminder; the check-in series starts there too.
- Doses are the ones in force when the calendar is made; the program moves on as the
  person progresses, which a subscribed calendar picks up on its next fetch.

A private link holds a random token; the table keeps only its hash, so the link can be
shown once, when it is made. Making a new one revokes the old; revoking leaves none.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets
from dataclasses import dataclass

from icalendar import Alarm, Calendar, Event
from sqlalchemy import select
from sqlalchemy.orm import Session

from groundup.clinical.planning import minutes_shown
from groundup.clinical.program import PART_TITLES, Program, dose_words, mass_words
from groundup.clinical.progression import retest_due_on
from groundup.clinical.rules import Rules
from groundup.services.workflow import ServiceError, Services
from groundup.storage.models import CalendarFeed, ScheduledSession

DEFAULT_WEEKS = 6
MAX_WEEKS = 26
PAST_DAYS = 7  # the last week stays on the calendar, marked done or skipped
SESSION_REMINDER = dt.timedelta(minutes=15)
CHECKIN_MINUTES = 5
# Two or three sessions a day are spaced this far apart, ending at the chosen time.
SESSION_SPACING = dt.timedelta(hours=4)
EARLIEST_SESSION = dt.time(6, 0)
PRODID = "-//groundup//program calendar//EN"
CALENDAR_NAME = "groundup: leg strengthening"
TOKEN = re.compile(r"^[A-Za-z0-9_-]{32,64}$")
CLOCK_TIME = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")


@dataclass(frozen=True)
class CalendarTimes:
    """When, in the person's own local time, sessions and the check-in go on the calendar."""

    session: dt.time = dt.time(18, 0)
    checkin: dt.time = dt.time(7, 30)

    @classmethod
    def parse(cls, session: str | None, checkin: str | None) -> CalendarTimes:
        """From 'HH:MM' texts (24-hour clock); an empty text keeps the default."""
        default = cls()
        return cls(
            _clock_time(session, "session time", default.session),
            _clock_time(checkin, "check-in time", default.checkin),
        )

    def words(self) -> tuple[str, str]:
        return self.session.strftime("%H:%M"), self.checkin.strftime("%H:%M")


def _clock_time(text: str | None, what: str, default: dt.time) -> dt.time:
    if text is None or not text.strip():
        return default
    if not CLOCK_TIME.match(text.strip()):
        raise ServiceError(f"{what}: write it as HH:MM on a 24-hour clock, like 18:00")
    return dt.time.fromisoformat(text.strip())


@dataclass(frozen=True)
class CalendarSession:
    day: dt.date
    number: int
    status: str  # planned, done, skipped


@dataclass(frozen=True)
class ScheduleView:
    """What the calendar shows for one person over a stretch of days."""

    person_key: str
    display_name: str
    program: Program
    mass_unit: str
    first: dt.date
    last: dt.date
    today: dt.date
    sessions: tuple[CalendarSession, ...]
    retests: tuple[dt.date, ...]


def person_key(patient_id: str) -> str:
    """A stable key for UIDs that does not reveal the record's id."""
    return hashlib.sha256(f"groundup-calendar:{patient_id}".encode()).hexdigest()[:16]


def retest_days(program: Program, rules: Rules, today: dt.date, last: dt.date) -> list[dt.date]:
    """The periodic retest days up to `last`: the due day (today when overdue), then every
    retest interval after it."""
    interval = dt.timedelta(weeks=rules.progression.retest_every_weeks)
    day = max(retest_due_on(program, rules), today)
    days = []
    while day <= last:
        days.append(day)
        day += interval
    return days


def schedule_view(services: Services, patient_id: str, today: dt.date, weeks: int) -> ScheduleView:
    """The person's sessions from a week ago to `weeks` weeks ahead, day by day as
    `Services.today` reports them: the stored schedule where there is one, else the
    program's training days. Raises NotFound when there is no program yet."""
    if not 1 <= weeks <= MAX_WEEKS:
        raise ServiceError(f"weeks: choose 1 to {MAX_WEEKS}")
    first = today - dt.timedelta(days=PAST_DAYS)
    last = today + dt.timedelta(days=weeks * 7 - 1)
    with services.db.transaction() as session:
        patient = services.patient_in(session, patient_id)
        program = services.program_in(session, patient_id)
        rows = session.scalars(
            select(ScheduledSession)
            .where(
                ScheduledSession.patient_id == patient_id,
                ScheduledSession.date >= first,
                ScheduledSession.date <= last,
            )
            .order_by(ScheduledSession.date, ScheduledSession.number)
        ).all()
        services.audit_in(session, patient_id, "read_calendar", f"{weeks} weeks")
        mass_unit = patient.mass_unit
        display_name = patient.display_name
    stored: dict[dt.date, list[CalendarSession]] = {}
    for row in rows:
        stored.setdefault(row.date, []).append(CalendarSession(row.date, row.number, row.status))
    sessions: list[CalendarSession] = []
    for offset in range((last - first).days + 1):
        day = first + dt.timedelta(days=offset)
        if day in stored:
            sessions += stored[day]
        elif program.is_training_day(day):
            sessions += [
                CalendarSession(day, n, "planned") for n in range(1, program.times_per_day + 1)
            ]
    return ScheduleView(
        person_key=person_key(patient_id),
        display_name=display_name,
        program=program,
        mass_unit=mass_unit,
        first=first,
        last=last,
        today=today,
        sessions=tuple(sessions),
        retests=tuple(retest_days(program, services.rules, today, last)),
    )


# ----- the calendar -----------------------------------------------------------------------


def _uid(what: str, view: ScheduleView) -> str:
    return f"{what}-{view.person_key}@groundup"


def _reminder(text: str, before_start: dt.timedelta) -> Alarm:
    alarm = Alarm.new(description=text)
    alarm.add("action", "DISPLAY")
    alarm.add("trigger", -before_start)
    return alarm


def session_lines(program: Program, rules: Rules, mass_unit: str) -> list[str]:
    """The session's exercises by part, one line per exercise and side, with the dose."""
    lines: list[str] = []
    for part, title in PART_TITLES.items():
        slots = program.part(part)
        if not slots:
            continue
        lines.append(f"{title}:")
        for slot in slots:
            exercise = rules.library[slot.exercise_id]
            for dose in slot.doses:
                side = f"{dose.side.value} leg" if dose.side else "both legs"
                text = dose_words(dose, exercise.dose_type)
                if dose.load_kg:
                    text += f" with {mass_words(dose.load_kg, mass_unit)}"
                lines.append(f"- {exercise.name}, {side}: {text}")
    return lines


def _session_starts(day: dt.date, count: int, chosen: dt.time) -> list[dt.datetime]:
    """When each of the day's sessions starts: the last at the chosen time, earlier ones
    spaced before it (or after it, if that would be too early in the morning)."""
    last = dt.datetime.combine(day, chosen)
    first = last - SESSION_SPACING * (count - 1)
    if first < dt.datetime.combine(day, EARLIEST_SESSION):
        first = last
    return [first + SESSION_SPACING * n for n in range(count)]


def _session_event(
    view: ScheduleView,
    item: CalendarSession,
    start: dt.datetime,
    minutes: int,
    lines: list[str],
    stamp: dt.datetime,
    base_url: str | None,
) -> Event:
    program = view.program
    per_day = program.times_per_day
    name = "Strengthening session"
    if per_day > 1:
        name += f" {item.number} of {per_day}"
    summary = f"{name} (phase {program.phase.number})"
    if item.status == "done":
        summary, text = f"Done: {summary}", "You logged this session. Well done."
    elif item.status == "skipped":
        summary, text = f"Skipped: {summary}", "This session was skipped."
    elif item.day < view.today:
        summary, text = f"Not logged: {summary}", "No session was logged for this day."
    else:
        text = "\n".join(
            [
                f"Stage {program.phase.number}: {program.phase.label.lower()}. "
                f"About {minutes} minutes.",
                "",
                *lines,
                "",
                "These are your doses today; they change as you progress, "
                "and groundup always shows the latest.",
            ]
        )
        if program.state.referred:
            text = "Please see a doctor before you go on.\n\n" + text
    event = Event.new(
        uid=_uid(f"session-{item.day.isoformat()}-{item.number}", view),
        start=start,
        end=start + dt.timedelta(minutes=minutes),
        summary=summary,
        description=text,
        stamp=stamp,
        sequence=view.program.version,
        url=f"{base_url}/me" if base_url else None,
    )
    event.add("status", "CANCELLED" if item.status == "skipped" else "CONFIRMED")
    if item.status == "planned" and item.day >= view.today:
        event.add_component(_reminder(f"{summary} in 15 minutes", SESSION_REMINDER))
    return event


def _checkin_event(
    view: ScheduleView, times: CalendarTimes, stamp: dt.datetime, base_url: str | None
) -> Event:
    start = dt.datetime.combine(max(view.program.start_date, view.first), times.checkin)
    event = Event.new(
        uid=_uid("checkin", view),
        start=start,
        end=start + dt.timedelta(minutes=CHECKIN_MINUTES),
        summary="Morning check-in",
        description=(
            "Before the day gets going: how much pain and stiffness you woke up with "
            "(0 to 10), and anything new. It takes a minute and shapes your next sessions."
        ),
        stamp=stamp,
        url=f"{base_url}/me/checkin" if base_url else None,
    )
    event.add("rrule", {"freq": "daily", "until": dt.datetime.combine(view.last, times.checkin)})
    event.add("transp", "TRANSPARENT")
    event.add_component(_reminder("Morning check-in", dt.timedelta(0)))
    return event


def _retest_event(
    view: ScheduleView,
    number: int,
    day: dt.date,
    times: CalendarTimes,
    rules: Rules,
    stamp: dt.datetime,
    base_url: str | None,
) -> Event:
    tested = view.program.profile.tested_on or view.program.start_date
    every = rules.progression.retest_every_weeks
    event = Event.new(
        # Counted from the last tests, so a due day that moves keeps its event.
        uid=_uid(f"retest-{tested.isoformat()}-{number}", view),
        start=day,
        end=day + dt.timedelta(days=1),
        summary="Retest day",
        description=(
            f"Time to repeat your tests (every {every} weeks). They show how far you have "
            "come, and your program moves on from what they find."
        ),
        stamp=stamp,
        sequence=view.program.version,
        url=f"{base_url}/me/retest" if base_url else None,
    )
    event.add("transp", "TRANSPARENT")
    # All-day: remind at the check-in time of the day itself.
    at = dt.timedelta(hours=times.checkin.hour, minutes=times.checkin.minute)
    event.add_component(_reminder("Retest day", -at))
    return event


def build_calendar(
    view: ScheduleView,
    rules: Rules,
    times: CalendarTimes,
    *,
    now: dt.datetime,
    base_url: str | None = None,
) -> Calendar:
    """The iCalendar of a schedule. `base_url` (the web app's address) adds links back."""
    stamp = now.astimezone(dt.UTC)
    calendar = Calendar.new(
        name=f"{CALENDAR_NAME} ({view.display_name})",
        description="Your sessions, morning check-ins and retests from groundup.",
        prodid=PRODID,
        refresh_interval=dt.timedelta(hours=6),
        uid=_uid("calendar", view),
    )
    calendar["REFRESH-INTERVAL"].params["VALUE"] = "DURATION"  # RFC 7986 asks for it
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    calendar.add("x-published-ttl", "PT6H")
    program = view.program
    minutes = minutes_shown(program.slots, rules)
    lines = session_lines(program, rules, view.mass_unit)
    by_day: dict[dt.date, list[CalendarSession]] = {}
    for item in view.sessions:
        by_day.setdefault(item.day, []).append(item)
    for day, items in by_day.items():
        starts = _session_starts(day, program.times_per_day, times.session)
        for item in items:
            start = starts[min(item.number, len(starts)) - 1]
            calendar.add_component(
                _session_event(view, item, start, minutes, lines, stamp, base_url)
            )
    calendar.add_component(_checkin_event(view, times, stamp, base_url))
    for number, day in enumerate(view.retests, start=1):
        calendar.add_component(_retest_event(view, number, day, times, rules, stamp, base_url))
    return calendar


def program_calendar(
    services: Services,
    patient_id: str,
    *,
    weeks: int = DEFAULT_WEEKS,
    times: CalendarTimes | None = None,
    base_url: str | None = None,
) -> bytes:
    """The person's calendar as .ics bytes, from today (the services' clock) on."""
    view = schedule_view(services, patient_id, services.clock(), weeks)
    calendar = build_calendar(
        view,
        services.rules_for(patient_id),
        times or CalendarTimes(),
        now=dt.datetime.now(dt.UTC),
        base_url=base_url,
    )
    data: bytes = calendar.to_ical()
    return data


# ----- private links ----------------------------------------------------------------------


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class FeedLink:
    created_at: dt.datetime
    times: CalendarTimes


class CalendarFeeds:
    """Private calendar links: at most one works per person at a time."""

    def __init__(self, services: Services) -> None:
        self.services = services

    def create(self, patient_id: str, times: CalendarTimes) -> str:
        """A new link's token (shown once); any link the person had stops working."""
        token = secrets.token_urlsafe(32)
        with self.services.db.transaction() as session:
            self.services.patient_in(session, patient_id, lock=True)
            self._revoke(session, patient_id)
            session_time, checkin_time = times.words()
            session.add(
                CalendarFeed(
                    patient_id=patient_id,
                    token_hash=_digest(token),
                    session_time=session_time,
                    checkin_time=checkin_time,
                )
            )
            self.services.audit_in(session, patient_id, "calendar_link", "new")
        return token

    def revoke(self, patient_id: str) -> int:
        """Stop the person's link; how many links were stopped (0 or 1)."""
        with self.services.db.transaction() as session:
            self.services.patient_in(session, patient_id, lock=True)
            count = self._revoke(session, patient_id)
            if count:
                self.services.audit_in(session, patient_id, "calendar_link", "revoked")
            return count

    @staticmethod
    def _revoke(session: Session, patient_id: str) -> int:
        live = session.scalars(
            select(CalendarFeed).where(
                CalendarFeed.patient_id == patient_id, CalendarFeed.revoked_at.is_(None)
            )
        ).all()
        for feed in live:
            feed.revoked_at = dt.datetime.now(dt.UTC)
        return len(live)

    def active(self, patient_id: str) -> FeedLink | None:
        """The person's working link, if any (its token cannot be shown again)."""
        with self.services.db.transaction() as session:
            feed = session.scalars(
                select(CalendarFeed).where(
                    CalendarFeed.patient_id == patient_id, CalendarFeed.revoked_at.is_(None)
                )
            ).first()
            if feed is None:
                return None
            return FeedLink(feed.created_at, _feed_times(feed))

    def open(self, token: str) -> tuple[str, CalendarTimes] | None:
        """Whose calendar a link shows, and at which times; None for anything else."""
        if not TOKEN.match(token):
            return None
        with self.services.db.transaction() as session:
            feed = session.scalars(
                select(CalendarFeed).where(
                    CalendarFeed.token_hash == _digest(token), CalendarFeed.revoked_at.is_(None)
                )
            ).first()
            if feed is None:
                return None
            return feed.patient_id, _feed_times(feed)


def _feed_times(feed: CalendarFeed) -> CalendarTimes:
    return CalendarTimes.parse(feed.session_time, feed.checkin_time)
