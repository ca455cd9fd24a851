"""The program as iCalendar: the file matches the schedule the services report, private
links work until replaced or stopped, and the command writes the file (or refuses in one
line). Files are read back with the icalendar library itself."""

from __future__ import annotations

import datetime as dt
import math
import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from icalendar import Calendar, Event
from sqlalchemy import func, select

from groundup.cli.files import read_document, validate
from groundup.clinical.intake import Intake
from groundup.clinical.logs import ExerciseLog, SessionLog, SetLog
from groundup.clinical.planning import session_minutes
from groundup.clinical.program import Program
from groundup.clinical.progression import retest_due_on
from groundup.config import Settings
from groundup.knowledge import load_rules
from groundup.services import ServiceError, Services
from groundup.services.accounts import Account, Accounts
from groundup.services.calendar import (
    CalendarFeeds,
    CalendarTimes,
    build_calendar,
    person_key,
    program_calendar,
    schedule_view,
)
from groundup.storage.database import Database
from groundup.storage.models import AuditEntry, CalendarFeed
from groundup.web.app import create_app
from test_cli_e2e import run

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
START = dt.date(2025, 3, 4)  # the clear example's assessment day, a Tuesday; Mon/Wed/Fri
PASSWORD = "a long enough password"

PUBLIC = Settings(public_url="https://groundup.example.org")  # type: ignore[arg-type]


class Clock:
    """A settable 'today' for the services."""

    def __init__(self, day: dt.date) -> None:
        self.day = day

    def __call__(self) -> dt.date:
        return self.day


def intake(name: str = "clear-left-calf.yaml") -> Intake:
    path = EXAMPLES / name
    return validate(Intake, read_document(path), str(path))


def begin(services: Services, patient_id: str, *, template: str | None = None) -> None:
    data = intake()
    assert data.screen is not None and data.assessment is not None
    services.record_screen(patient_id, data.screen, START)
    services.start_program(
        patient_id, data.assessment, data.preferences, day=START, template=template
    )


def done_session(services: Services, patient_id: str, day: dt.date, log_id: str) -> SessionLog:
    """The session as planned, every set done with little pain."""
    program = services.program(patient_id)
    exercises = tuple(
        ExerciseLog(
            exercise_id=slot.exercise_id,
            side=dose.side,
            sets=tuple(SetLog(amount=dose.amount, rpe=6, pain=1) for _ in range(dose.sets)),
        )
        for slot in program.slots
        for dose in slot.doses
    )
    return SessionLog(id=log_id, date=day, exercises=exercises)


def training_days(program: Program, first: dt.date, last: dt.date) -> list[dt.date]:
    """The program's training days from `first` to `last`, worked out from its weekdays."""
    return [
        day
        for n in range((last - first).days + 1)
        if program.is_training_day(day := first + dt.timedelta(days=n))
    ]


@pytest.fixture
def clock() -> Clock:
    return Clock(START + dt.timedelta(days=3))


@pytest.fixture
def services(tmp_path: Path, clock: Clock) -> Services:
    return Services(Database(f"sqlite:///{tmp_path / 'c.db'}"), load_rules(), clock=clock)


def events(data: bytes, prefix: str) -> list[Event]:
    calendar = Calendar.from_ical(data)
    return [e for e in calendar.walk("VEVENT") if str(e["UID"]).startswith(prefix)]


def start_of(event: Event) -> dt.datetime | dt.date:
    value: dt.datetime | dt.date = event.decoded("DTSTART")
    return value


def session_day(event: Event) -> dt.date:
    start = start_of(event)
    assert isinstance(start, dt.datetime)
    return start.date()


# ----- the file ---------------------------------------------------------------------------


def test_sessions_fall_on_the_days_the_services_schedule(services: Services, clock: Clock) -> None:
    pid = services.enrol("Alex")
    begin(services, pid)
    program = services.program(pid)
    log = SessionLog(id="w1", date=START + dt.timedelta(days=1), skipped=True, skip_reason="busy")
    services.log_session(pid, log)  # Wednesday: skipped

    data = program_calendar(services, pid, weeks=6)

    sessions = events(data, "session-")
    first, last = clock.day - dt.timedelta(days=7), clock.day + dt.timedelta(days=41)
    expected = {}
    for n in range((last - first).days + 1):
        day = first + dt.timedelta(days=n)
        today = services.today(pid, day)
        if today.status != "rest":
            expected[day] = today.status
    assert sorted(session_day(e) for e in sessions) == sorted(expected)
    # Mondays, Wednesdays, Fridays from the start
    assert sorted(expected) == training_days(program, START, last)
    minutes = math.ceil(session_minutes(program.slots, services.rules))
    library = services.rules.library
    for event in sessions:
        day = session_day(event)
        start = start_of(event)
        assert isinstance(start, dt.datetime) and start.tzinfo is None  # floating local time
        assert start.time() == dt.time(18, 0)
        assert event.decoded("DTEND") - start == dt.timedelta(minutes=minutes)
        summary = str(event["SUMMARY"])
        alarms = event.walk("VALARM")
        if expected[day] == "skipped":
            assert summary.startswith("Skipped: ") and str(event["STATUS"]) == "CANCELLED"
            assert not alarms
        elif day < clock.day:
            assert summary.startswith("Not logged: ") and not alarms
        else:
            assert summary == f"Strengthening session (phase {program.phase.number})"
            description = str(event["DESCRIPTION"])
            for slot in program.slots:
                assert library[slot.exercise_id].name in description
            assert f"About {minutes} minutes" in description
            assert event.decoded("SEQUENCE") == program.version
            assert len(alarms) == 1
            assert alarms[0].decoded("TRIGGER") == dt.timedelta(minutes=-15)
            assert str(alarms[0]["ACTION"]) == "DISPLAY"


def test_a_done_session_is_shown_done_without_a_reminder(services: Services, clock: Clock) -> None:
    pid = services.enrol("Alex")
    begin(services, pid)
    monday = START + dt.timedelta(days=6)
    clock.day = monday
    services.log_session(pid, done_session(services, pid, monday, "m1"))
    assert services.today(pid, monday).status == "done"

    (event,) = [
        e for e in events(program_calendar(services, pid), "session-") if session_day(e) == monday
    ]

    assert str(event["SUMMARY"]).startswith("Done: ")
    assert not event.walk("VALARM")


def test_the_morning_checkin_repeats_daily_with_a_reminder(
    services: Services, clock: Clock
) -> None:
    pid = services.enrol("Alex")
    begin(services, pid)
    times = CalendarTimes.parse("07:00", "06:45")

    (checkin,) = events(program_calendar(services, pid, weeks=3, times=times), "checkin-")

    assert start_of(checkin) == dt.datetime.combine(START, dt.time(6, 45))
    rule = checkin["RRULE"]
    assert rule["FREQ"] == ["DAILY"]
    assert rule["UNTIL"] == [dt.datetime.combine(clock.day + dt.timedelta(days=20), dt.time(6, 45))]
    (alarm,) = checkin.walk("VALARM")
    assert alarm.decoded("TRIGGER") == dt.timedelta(0)
    assert str(checkin["TRANSP"]) == "TRANSPARENT"


def test_retest_days_follow_the_interval_the_engine_uses(services: Services, clock: Clock) -> None:
    pid = services.enrol("Alex")
    begin(services, pid)
    every = services.rules.progression.retest_every_weeks
    program = services.program(pid)
    assert program.profile.tested_on == START

    retests = events(program_calendar(services, pid, weeks=12), "retest-")

    expected = [START + dt.timedelta(weeks=every * k) for k in (1, 2, 3)]
    assert [start_of(e) for e in retests] == expected
    assert all(len(e.walk("VALARM")) == 1 for e in retests)
    # The engine asks for it at the first session on or after that day, not before.
    due = retest_due_on(program, services.rules)
    assert due == expected[0]
    before = max(d for d in training_days(program, START, due) if d < due)
    after = min(d for d in training_days(program, due, due + dt.timedelta(days=7)))
    clock.day = after
    asked = services.log_session(pid, done_session(services, pid, before, "b")).decisions
    assert "prompt.retest_due" not in {d.rule for d in asked}
    asked = services.log_session(pid, done_session(services, pid, after, "a")).decisions
    assert "prompt.retest_due" in {d.rule for d in asked}


def test_an_overdue_retest_is_shown_today(services: Services, clock: Clock) -> None:
    pid = services.enrol("Alex")
    begin(services, pid)
    clock.day = START + dt.timedelta(weeks=5)

    retests = events(program_calendar(services, pid, weeks=2), "retest-")

    assert [start_of(e) for e in retests] == [clock.day]


def test_uids_are_stable_and_unique_and_every_event_is_stamped(services: Services) -> None:
    pid = services.enrol("Alex")
    begin(services, pid)
    view = schedule_view(services, pid, services.clock(), 6)
    times = CalendarTimes()
    one = build_calendar(view, services.rules, times, now=dt.datetime(2025, 3, 7, 9, tzinfo=dt.UTC))
    two = build_calendar(view, services.rules, times, now=dt.datetime(2025, 3, 8, 9, tzinfo=dt.UTC))
    again = Calendar.from_ical(program_calendar(services, pid))

    uids = [str(e["UID"]) for e in one.walk("VEVENT")]
    assert len(uids) == len(set(uids))
    assert uids == [str(e["UID"]) for e in two.walk("VEVENT")]
    assert uids == [str(e["UID"]) for e in again.walk("VEVENT")]
    assert all(person_key(pid) in uid and pid not in uid for uid in uids)
    assert {e.decoded("DTSTAMP") for e in two.walk("VEVENT")} == {
        dt.datetime(2025, 3, 8, 9, tzinfo=dt.UTC)
    }
    assert str(again["PRODID"]) == "-//groundup//program calendar//EN"
    assert str(again["X-WR-CALNAME"]) == "groundup: leg strengthening (Alex)"
    assert str(again["VERSION"]) == "2.0"
    assert again.refresh_interval == dt.timedelta(hours=6)


def test_two_sessions_a_day_are_spaced_apart(services: Services) -> None:
    pid = services.enrol("Alex")
    begin(services, pid, template="alfredson")
    day = services.clock() + dt.timedelta(days=1)

    starts = sorted(
        start_of(e)
        for e in events(program_calendar(services, pid), "session-")
        if session_day(e) == day
    )

    assert starts == [dt.datetime.combine(day, dt.time(14)), dt.datetime.combine(day, dt.time(18))]


def test_times_and_weeks_outside_their_range_are_refused(services: Services) -> None:
    pid = services.enrol("Alex")
    begin(services, pid)
    with pytest.raises(ServiceError, match="HH:MM"):
        CalendarTimes.parse("6pm", None)
    with pytest.raises(ServiceError, match="weeks"):
        program_calendar(services, pid, weeks=27)


# ----- private links, storage -------------------------------------------------------------


def test_deleting_a_person_removes_their_calendar_links(database_url: str) -> None:
    database = Database(database_url)
    try:
        services = Services(database, load_rules(), clock=lambda: START)
        pid = services.enrol("Alex")
        begin(services, pid)
        feeds = CalendarFeeds(services)
        old = feeds.create(pid, CalendarTimes())
        new = feeds.create(pid, CalendarTimes())
        assert feeds.open(old) is None and feeds.open(new) is not None
        exported = str(services.export_person(pid))
        with database.transaction() as session:
            hashes = session.scalars(select(CalendarFeed.token_hash)).all()
        assert len(hashes) == 2
        assert not any(h in exported for h in hashes)  # links are not part of the export

        services.delete_person(pid)

        with database.transaction() as session:
            assert session.scalar(select(func.count()).select_from(CalendarFeed)) == 0
            assert (
                session.scalar(
                    select(func.count()).select_from(AuditEntry).where(AuditEntry.patient_id == pid)
                )
                == 0
            )
        assert feeds.open(new) is None
    finally:
        database.dispose()


# ----- the web pages and the link ---------------------------------------------------------


def csrf_of(page: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', page)
    assert found, "the page has no form token"
    return found.group(1)


def register(client: TestClient, email: str, name: str) -> None:
    page = client.get("/register").text
    response = client.post(
        "/register",
        data={"csrf": csrf_of(page), "email": email, "display_name": name, "password": PASSWORD},
    )
    assert response.status_code == 303  # signing up answers alike: then sign in
    token = csrf_of(client.get("/login").text)
    signed_in = client.post("/login", data={"csrf": token, "email": email, "password": PASSWORD})
    assert signed_in.status_code == 303


def person(client: TestClient, services: Services, email: str, name: str) -> str:
    """Register through the page, then start a program: the person's record id."""
    register(client, email, name)
    pid = services.patients()[-1].id
    begin(services, pid)
    return pid


def make_link(client: TestClient, **times: str) -> str:
    page = client.get("/me/calendar")
    assert page.status_code == 200
    response = client.post("/me/calendar/link", data={"csrf": csrf_of(page.text), **times})
    assert response.status_code == 200, response.text
    found = re.search(
        r"readonly[^>]*>(https://groundup\.example\.org/calendar/[A-Za-z0-9_-]+\.ics)<",
        response.text,
    )
    assert found, "the new link is shown"
    # The configured public address, not the request's Host (`testserver` here).
    assert "webcal://groundup.example.org/calendar/" in response.text
    assert "testserver" not in response.text
    return found.group(1).removeprefix("https://groundup.example.org")


@pytest.fixture
def app(services: Services) -> object:
    return create_app(services=services, settings=PUBLIC)


def client_for(app: object) -> TestClient:
    return TestClient(app, follow_redirects=False)  # type: ignore[arg-type]


def test_a_link_serves_the_calendar_until_it_is_replaced_or_stopped(
    app: object, services: Services
) -> None:
    ann = client_for(app)
    pid = person(ann, services, "ann@example.org", "Ann")
    link = make_link(ann, session="07:15", checkin="06:30")
    stranger = client_for(app)  # a calendar app: no cookie

    fetched = stranger.get(link)

    assert fetched.status_code == 200
    assert fetched.headers["content-type"].startswith("text/calendar")
    assert "attachment" not in fetched.headers.get("content-disposition", "")
    sessions = events(fetched.content, "session-")
    assert sessions and all(person_key(pid) in str(e["UID"]) for e in sessions)
    assert {start_of(e).time() for e in sessions} == {dt.time(7, 15)}  # type: ignore[union-attr]
    page = ann.get("/me/calendar").text
    assert link not in page  # shown once only
    assert "made on" in page

    replaced = make_link(ann)
    assert stranger.get(link).status_code == 404
    assert stranger.get(replaced).status_code == 200

    page = ann.get("/me/calendar").text
    stopped = ann.post("/me/calendar/stop", data={"csrf": csrf_of(page)})
    assert stopped.status_code == 303
    assert "stopped" in ann.get(stopped.headers["location"]).text
    gone = stranger.get(replaced)
    unknown = stranger.get("/calendar/" + "A" * 43 + ".ics")
    assert gone.status_code == unknown.status_code == 404
    assert gone.text == unknown.text  # no hint that the link ever worked


def test_anothers_link_shows_only_their_calendar(app: object, services: Services) -> None:
    ann, bob = client_for(app), client_for(app)
    ann_id = person(ann, services, "ann@example.org", "Ann")
    bob_id = person(bob, services, "bob@example.org", "Bob")
    ann_link, bob_link = make_link(ann), make_link(bob)

    ann_uids = {str(e["UID"]) for e in Calendar.from_ical(bob.get(ann_link).content).walk("VEVENT")}
    bob_uids = {str(e["UID"]) for e in Calendar.from_ical(ann.get(bob_link).content).walk("VEVENT")}

    assert all(person_key(ann_id) in uid for uid in ann_uids)
    assert all(person_key(bob_id) in uid for uid in bob_uids)
    assert not ann_uids & bob_uids
    # Bob making a new link leaves Ann's working.
    make_link(bob)
    assert bob.get(ann_link).status_code == 200


@pytest.mark.parametrize(
    "path",
    [
        "/calendar/x.ics",
        "/calendar/" + "A" * 43 + ".ics",
        "/calendar/" + "a" * 500 + ".ics",
        "/calendar/%00%ff.ics",
        "/calendar/..%2f..%2fetc%2fpasswd.ics",
        "/calendar/abc%20def%20ghi%20jkl%20mno%20pqr%20stu%20vwx.ics",
        "/calendar/.ics",
    ],
)
def test_bad_links_find_nothing(app: object, path: str) -> None:
    response = client_for(app).get(path)
    assert response.status_code == 404


def test_forms_need_the_token_and_the_file_downloads(app: object, services: Services) -> None:
    ann = client_for(app)
    person(ann, services, "ann@example.org", "Ann")
    assert ann.post("/me/calendar/link", data={"session": "18:00"}).status_code == 403
    assert ann.post("/me/calendar/stop", data={}).status_code == 403
    page = ann.get("/me/calendar").text
    bad = ann.post("/me/calendar/link", data={"csrf": csrf_of(page), "session": "25:00"})
    assert bad.status_code == 400 and "HH:MM" in bad.text
    assert "/calendar/" not in re.sub(r'action="/me/calendar[^"]*"', "", bad.text)

    download = ann.get("/me/calendar.ics", params={"session": "19:30", "checkin": ""})

    assert download.status_code == 200
    assert download.headers["content-type"].startswith("text/calendar")
    assert 'filename="groundup-program.ics"' in download.headers["content-disposition"]
    starts = {start_of(e) for e in events(download.content, "session-")}
    assert {s.time() for s in starts} == {dt.time(19, 30)}  # type: ignore[union-attr]
    assert ann.get("/me/calendar.ics", params={"weeks": "99"}).status_code == 400
    assert "/me/calendar" in ann.get("/me").text  # linked from today's page


def test_a_clinician_downloads_only_their_own_patients_calendar(
    app: object, services: Services
) -> None:
    accounts = Accounts(services)
    lee = accounts.create_user("lee@clinic.test", "Dr Lee", "clinician", PASSWORD)
    kay = accounts.create_user("kay@clinic.test", "Dr Kay", "clinician", PASSWORD)
    pid, _ = accounts.create_patient(lee, "Sam")
    begin(services, pid)

    def signed_in(clinician: Account) -> TestClient:
        """A browser of the clinician's, past the second factor."""
        client = client_for(app)
        cookie, _ = accounts.start_session(clinician, second_factor=True)
        client.cookies.set("gu_session", cookie)
        return client

    assert signed_in(lee).get(f"/clinic/patients/{pid}/calendar.ics").status_code == 200
    assert signed_in(kay).get(f"/clinic/patients/{pid}/calendar.ics").status_code == 404


def test_before_a_program_the_page_sends_the_person_back(app: object) -> None:
    ann = client_for(app)
    register(ann, "ann@example.org", "Ann")
    token = csrf_of(ann.get("/password").text)

    assert ann.get("/me/calendar").headers["location"] == "/me"
    assert ann.post("/me/calendar/link", data={"csrf": token}).headers["location"] == "/me"
    assert ann.get("/me/calendar.ics").status_code == 404


# ----- the command ------------------------------------------------------------------------


def test_the_command_writes_the_calendar_file(tmp_path: Path) -> None:
    started = run(tmp_path, "start", str(EXAMPLES / "clear-left-calf.yaml"), "--name", "Robin")
    assert started.returncode == 0, started.stderr

    result = run(tmp_path, "calendar", "--out", str(tmp_path / "mine.ics"), "--weeks", "2")

    assert result.returncode == 0, result.stderr
    data = (tmp_path / "mine.ics").read_bytes()
    sessions = events(data, "session-")
    today = dt.date.today()
    # The program starts today (the example's assessment is old, but `start` begins now):
    # Mondays, Wednesdays and Fridays from today to two weeks ahead.
    expected = [
        day for n in range(0, 14) if (day := today + dt.timedelta(days=n)).weekday() in (0, 2, 4)
    ]
    assert sorted(session_day(e) for e in sessions) == expected
    assert len(events(data, "checkin-")) == 1


def test_the_command_without_a_program_says_so_in_one_line(tmp_path: Path) -> None:
    referred = run(tmp_path, "start", str(EXAMPLES / "refer-dvt.yaml"), "--name", "Robin")
    assert referred.returncode == 3, referred.stderr

    result = run(tmp_path, "calendar", "--out", str(tmp_path / "mine.ics"))

    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0
    assert "no program" in result.stderr
    assert not (tmp_path / "mine.ics").exists()
    bad = run(tmp_path, "calendar", "--weeks", "0")
    assert bad.returncode == 2 and bad.stderr.strip().count("\n") == 0
