"""Reminders end to end on a real database and a real SMTP server (aiosmtpd): what is due
and when, what a reminder says, that each is sent once even with several workers, that
the stop link stops them without signing in, and what a clinician can see."""

from __future__ import annotations

import datetime as dt
import re
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from groundup.clinical.logs import CheckIn
from groundup.config import Settings
from groundup.knowledge import load_rules
from groundup.reminders.mail import Mailer, SmtpServer
from groundup.reminders.timing import Kind
from groundup.services import ServiceError, Services
from groundup.services.accounts import Accounts
from groundup.services.reminders import SEND_JOB, ReminderChoices, Reminders
from groundup.storage.database import Database
from groundup.storage.jobs import JobQueue, NewJob
from groundup.storage.models import AuditEntry, Job
from groundup.web.app import create_app
from groundup.worker import Worker, app_worker
from mail_sink import MailSink, mail_sink
from test_calendar import begin, done_session
from test_web_clinician import sign_in as staff_sign_in
from test_web_clinician import staff

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
START = dt.date(2025, 3, 4)  # a Tuesday; the example trains Monday, Wednesday, Friday
WEDNESDAY = dt.date(2025, 3, 5)
OSLO = "Europe/Oslo"  # UTC+1 in March
PASSWORD = "a long enough password"


class Clock:
    """A settable 'now' (UTC) for the reminders and the worker."""

    def __init__(self, now: dt.datetime) -> None:
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now

    def local(self, day: dt.date, hhmm: str, zone: str = OSLO) -> None:
        """Set the clock to a wall-clock time in `zone`."""
        from zoneinfo import ZoneInfo

        self.now = dt.datetime.combine(day, dt.time.fromisoformat(hhmm), ZoneInfo(zone)).astimezone(
            dt.UTC
        )


@pytest.fixture
def clock() -> Clock:
    return Clock(dt.datetime(2025, 3, 5, 12, 0, tzinfo=dt.UTC))


@pytest.fixture
def sink() -> Iterator[MailSink]:
    with mail_sink() as running:
        yield running


@pytest.fixture
def settings(sink: MailSink, tmp_path: Path) -> Settings:
    return Settings(
        data_dir=tmp_path,
        smtp_url=sink.url,
        mail_from="groundup <reminders@clinic.example>",
        public_url="https://groundup.clinic.example",
        job_lease_seconds=30,
    )


@pytest.fixture
def services(database: Database, clock: Clock) -> Services:
    return Services(database, load_rules(), actor="test", clock=lambda: clock.now.date())


@pytest.fixture
def person(services: Services) -> str:
    accounts = Accounts(services)
    account = accounts.register_person("sam@example.org", "Sam Steady", PASSWORD)
    assert account.patient_id is not None
    begin(services, account.patient_id)
    return account.patient_id


def choose(reminders: Reminders, patient_id: str, **changes: object) -> ReminderChoices:
    choices = ReminderChoices(
        enabled=True,
        by_email=True,
        email="sam@example.org",
        training_time="17:30",
        morning_time="07:30",
        quiet_start="21:30",
        quiet_end="07:00",
        time_zone=OSLO,
    )
    return reminders.save(patient_id, choices.__class__(**{**choices.__dict__, **changes}))


def worker_for(services: Services, settings: Settings, clock: Clock) -> Worker:
    return app_worker(services, settings, clock=clock)


def run_until_idle(worker: Worker) -> int:
    ran = worker.tick()
    worker.between_jobs()
    return ran


def training_reminders(
    services: Services, settings: Settings, clock: Clock, person: str, **changes: object
) -> Reminders:
    """At noon on Wednesday, the person asks for training-day reminders by e-mail."""
    clock.local(WEDNESDAY, "12:00")
    reminders = Reminders(services, settings, now=clock)
    choose(reminders, person, **{"kinds": frozenset({Kind.TRAINING}), **changes})
    return reminders


def sender(services: Services, reminders: Reminders, clock: Clock) -> Worker:
    """A worker that only sends (no planning runs of its own)."""
    queue = JobQueue(services.db, lease=dt.timedelta(seconds=30))
    return Worker(queue, {SEND_JOB: reminders.send}, clock=clock)


# ----- e-mail, end to end ----------------------------------------------------------------


def test_a_training_day_reminder_arrives_once_by_email_with_todays_session(
    services: Services, settings: Settings, clock: Clock, sink: MailSink, person: str
) -> None:
    training_reminders(services, settings, clock, person)
    worker = worker_for(services, settings, clock)
    run_until_idle(worker)
    assert sink.count() == 0, "nothing is due at noon"
    clock.local(WEDNESDAY, "17:31")
    run_until_idle(worker)
    clock.local(WEDNESDAY, "17:45")
    run_until_idle(worker)
    assert sink.count() == 1
    mail = sink.messages()[0]
    assert mail.recipients == ["sam@example.org"]
    message = mail.message
    assert message["Subject"] == "Today is a training day"
    assert message["From"] == "groundup <reminders@clinic.example>"
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    program = services.program(person)
    library = services.rules.library
    for slot in program.slots:
        assert library[slot.exercise_id].name in text
    assert "Hello Sam," in text
    assert "https://groundup.clinic.example/me" in text
    stop = re.search(
        r"<(https://groundup\.clinic\.example/reminders/stop/[^>]+)>", message["List-Unsubscribe"]
    )
    assert stop is not None
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert stop.group(1) in text and stop.group(1) in html
    # The next day is a rest day: nothing more, however often the worker runs.
    clock.local(WEDNESDAY + dt.timedelta(days=1), "18:00")
    run_until_idle(worker)
    assert sink.count() == 1


def test_no_reminder_for_a_session_already_logged(
    services: Services, settings: Settings, clock: Clock, sink: MailSink, person: str
) -> None:
    training_reminders(services, settings, clock, person)
    services.log_session(person, done_session(services, person, WEDNESDAY, "wed-1"))
    clock.local(WEDNESDAY, "17:40")
    run_until_idle(worker_for(services, settings, clock))
    assert sink.count() == 0


def test_the_morning_check_in_follows_a_session_and_stops_once_checked_in(
    services: Services, settings: Settings, clock: Clock, sink: MailSink, person: str
) -> None:
    clock.local(WEDNESDAY, "12:00")
    reminders = Reminders(services, settings, now=clock)
    choose(reminders, person, kinds=frozenset({Kind.CHECKIN}))
    services.log_session(person, done_session(services, person, WEDNESDAY, "wed-1"))
    worker = worker_for(services, settings, clock)
    thursday = WEDNESDAY + dt.timedelta(days=1)
    clock.local(thursday, "07:35")
    run_until_idle(worker)
    assert [m.message["Subject"] for m in sink.messages()] == [
        "Good morning: how did your leg wake up?"
    ]
    text = sink.messages()[0].message.get_body(("plain",)).get_content()
    assert "Your next session: Friday 7 March." in text
    # Friday morning: no session on Thursday, so no check-in reminder.
    services.record_checkin(person, CheckIn(date=thursday, pain_on_waking=1, stiffness_on_waking=1))
    clock.local(thursday + dt.timedelta(days=1), "07:35")
    run_until_idle(worker)
    assert sink.count() == 1


def test_quiet_hours_hold_a_reminder_until_they_end(
    services: Services, settings: Settings, clock: Clock, sink: MailSink, person: str
) -> None:
    training_reminders(
        services,
        settings,
        clock,
        person,
        training_time="17:00",
        quiet_start="16:00",
        quiet_end="18:00",
    )
    worker = worker_for(services, settings, clock)
    clock.local(WEDNESDAY, "17:05")
    run_until_idle(worker)
    assert sink.count() == 0
    clock.local(WEDNESDAY, "18:01")
    run_until_idle(worker)
    assert sink.count() == 1


def test_a_reminder_queued_before_the_quiet_hours_waits_for_their_end(
    services: Services, settings: Settings, clock: Clock, sink: MailSink, person: str
) -> None:
    """Sending late (a backlog) never sends into the quiet hours: it waits, then goes."""
    reminders = training_reminders(
        services,
        settings,
        clock,
        person,
        training_time="17:00",
        quiet_start="17:30",
        quiet_end="19:00",
    )
    clock.local(WEDNESDAY, "17:01")
    assert reminders.plan() == 1
    clock.local(WEDNESDAY, "17:45")  # the worker only gets to it in the quiet hours
    worker = sender(services, reminders, clock)
    worker.tick()
    assert sink.count() == 0
    clock.local(WEDNESDAY, "18:30")
    worker.tick()
    assert sink.count() == 0
    clock.local(WEDNESDAY, "19:00")
    worker.tick()
    assert sink.count() == 1
    with services.db.reading() as session:
        job = session.scalars(select(Job).where(Job.kind == SEND_JOB)).one()
    assert job.state == "done" and job.attempts == 1


def test_a_change_of_choices_does_not_send_what_was_due_before_it(
    services: Services, settings: Settings, clock: Clock, sink: MailSink, person: str
) -> None:
    clock.local(WEDNESDAY, "17:40")
    reminders = Reminders(services, settings, now=clock)
    choose(reminders, person, kinds=frozenset({Kind.TRAINING}), training_time="17:30")
    run_until_idle(worker_for(services, settings, clock))
    assert sink.count() == 0


def test_reminders_that_are_off_are_not_sent_even_when_already_queued(
    services: Services, settings: Settings, clock: Clock, sink: MailSink, person: str
) -> None:
    reminders = training_reminders(services, settings, clock, person)
    clock.local(WEDNESDAY, "17:31")
    assert reminders.plan() == 1
    assert reminders.stop(person)
    assert sender(services, reminders, clock).tick() == 1
    assert sink.count() == 0
    with services.db.reading() as session:
        job = session.scalars(select(Job).where(Job.kind == SEND_JOB)).one()
    assert job.state == "done" and job.outcome == "not sent: reminders are off"


def test_an_unreachable_mail_server_is_tried_again_later(
    services: Services, settings: Settings, clock: Clock, sink: MailSink, person: str
) -> None:
    clock.local(WEDNESDAY, "12:00")
    dead = settings.model_copy(update={"smtp_url": "smtp://127.0.0.1:9"})
    reminders = Reminders(services, dead, now=clock)
    choose(reminders, person, kinds=frozenset({Kind.TRAINING}))
    clock.local(WEDNESDAY, "17:31")
    reminders.plan()
    sender(services, reminders, clock).tick()
    with services.db.reading() as session:
        job = session.scalars(select(Job).where(Job.kind == SEND_JOB)).one()
    assert job.state == "queued" and job.attempts == 1
    assert "cannot be reached" in job.outcome
    retry_at = job.run_at.replace(tzinfo=dt.UTC) if job.run_at.tzinfo is None else job.run_at
    assert retry_at > clock.now
    # The server is back (the real one): the retry delivers it.
    clock.now = retry_at + dt.timedelta(seconds=1)
    sender(services, Reminders(services, settings, now=clock), clock).tick()
    assert sink.count() == 1


# ----- exactly once ----------------------------------------------------------------------


def test_two_workers_on_one_database_send_each_reminder_once(
    database_url: str, settings: Settings, clock: Clock, sink: MailSink
) -> None:
    """Two workers (threads with their own connections) race over 40 due reminders."""
    first = Database(database_url)
    second = Database(database_url)
    try:
        services = Services(first, load_rules(), actor="test", clock=lambda: clock.now.date())
        clock.local(WEDNESDAY, "12:00")
        reminders = Reminders(services, settings, now=clock)
        for n in range(40):
            patient_id = services.enrol(f"Person {n}")
            begin(services, patient_id)
            choose(
                reminders, patient_id, kinds=frozenset({Kind.TRAINING}), email=f"p{n}@example.org"
            )
        clock.local(WEDNESDAY, "17:31")
        other = Services(second, load_rules(), actor="test", clock=lambda: clock.now.date())
        workers = [worker_for(services, settings, clock), worker_for(other, settings, clock)]
        threads = [threading.Thread(target=run_until_idle, args=(w,)) for w in workers]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        recipients = sorted(r for m in sink.messages() for r in m.recipients)
        assert recipients == sorted(f"p{n}@example.org" for n in range(40))
        with first.reading() as session:
            states = dict(
                session.execute(
                    select(Job.state, func.count()).where(Job.kind == SEND_JOB).group_by(Job.state)
                ).all()
            )
        assert states == {"done": 40}
    finally:
        first.dispose()
        second.dispose()


def test_a_worker_whose_job_was_taken_over_delivers_nothing(
    database: Database, sink: MailSink, clock: Clock
) -> None:
    """The first worker's lease ran out while it was sending; a second worker claimed the
    job. The first may not record it, so its message never gets its final dot."""
    queue = JobQueue(database, lease=dt.timedelta(seconds=10))
    queue.add([NewJob("mail", "mail:1", {}, clock.now)])
    slow = queue.claim("slow", clock.now)
    assert slow is not None
    later = clock.now + dt.timedelta(seconds=11)
    fast = queue.claim("fast", later)
    assert fast is not None and fast.id == slow.id
    mailer = Mailer(SmtpServer.parse(sink.url))
    from email.message import EmailMessage

    def message(subject: str) -> EmailMessage:
        m = EmailMessage()
        m["From"], m["To"], m["Subject"] = "a@example.org", "b@example.org", subject
        m.set_content("hello")
        return m

    assert mailer.deliver(message("slow"), lambda: queue.completing(slow, "sent", later)) is False
    other = Mailer(SmtpServer.parse(sink.url))
    assert other.deliver(message("fast"), lambda: queue.completing(fast, "sent", later)) is True
    other.quit()
    assert [m.message["Subject"] for m in sink.messages()] == ["fast"]


# ----- the stop link, the settings page, the clinician -----------------------------------


@pytest.fixture
def client(services: Services, settings: Settings) -> TestClient:
    return TestClient(create_app(services=services, settings=settings), follow_redirects=False)


def csrf_of(page: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', page)
    assert found
    return found.group(1)


def sign_in(client: TestClient, email: str) -> str:
    page = client.get("/login").text
    response = client.post(
        "/login", data={"csrf": csrf_of(page), "email": email, "password": PASSWORD}
    )
    assert response.status_code == 303
    return csrf_of(client.get("/password").text)


def test_the_stop_link_stops_reminders_without_signing_in(
    services: Services, settings: Settings, clock: Clock, person: str, client: TestClient
) -> None:
    reminders = Reminders(services, settings, now=clock)
    choose(reminders, person)
    url = reminders.stop_url(person)
    path = url.removeprefix(settings.base_url)
    page = client.get(path)
    assert page.status_code == 200 and "Stop all reminders" in page.text
    assert reminders.are_on(person), "opening the link (as link checkers do) stops nothing"
    # A mail app's own one-click stop button (RFC 8058).
    done = client.post(path, content=b"List-Unsubscribe=One-Click")
    assert done.status_code == 200 and "Your reminders are stopped" in done.text
    assert not reminders.are_on(person)
    with services.db.reading() as session:
        details = session.scalars(
            select(AuditEntry.detail).where(
                AuditEntry.patient_id == person, AuditEntry.action == "reminders"
            )
        ).all()
    assert "off (stop link)" in details


@pytest.mark.parametrize(
    "mangle",
    [
        lambda t: t[:-1] + ("A" if t[-1] != "A" else "B"),  # a forged signature
        lambda t: "0" * 32 + t[32:],  # someone else's id with this signature
        lambda t: t.split(".")[0],  # no signature
        lambda t: "../../etc/passwd",
    ],
)
def test_a_stop_link_that_is_not_genuine_is_no_such_page(
    services: Services, settings: Settings, clock: Clock, person: str, client: TestClient, mangle
) -> None:
    reminders = Reminders(services, settings, now=clock)
    choose(reminders, person)
    token = mangle(reminders.stop_token(person))
    assert client.get(f"/reminders/stop/{token}").status_code == 404
    assert client.post(f"/reminders/stop/{token}").status_code == 404
    assert reminders.are_on(person)


def test_the_settings_page_saves_choices_and_one_click_stops_them(
    services: Services, person: str, client: TestClient, settings: Settings, clock: Clock
) -> None:
    csrf = sign_in(client, "sam@example.org")
    page = client.get("/me/reminders")
    assert page.status_code == 200 and "You get no reminders" in page.text
    form = {
        "csrf": csrf,
        "kind_training": "on",
        "kind_retest": "on",
        "by_email": "on",
        "email": "sam.steady@example.org",
        "training_time": "18:15",
        "morning_time": "07:00",
        "quiet": "on",
        "quiet_start": "22:00",
        "quiet_end": "06:30",
        "time_zone": "America/Chicago",
    }
    assert client.post("/me/reminders", data={**form, "csrf": "wrong"}).status_code == 403
    saved = client.post("/me/reminders", data=form)
    assert saved.status_code == 303
    reminders = Reminders(services, settings, now=clock)
    choices = reminders.choices(person)
    assert choices.enabled and choices.kinds == {Kind.TRAINING, Kind.RETEST}
    assert (choices.email, choices.training_time, choices.time_zone) == (
        "sam.steady@example.org",
        "18:15",
        "America/Chicago",
    )
    assert (choices.quiet_start, choices.quiet_end) == ("22:00", "06:30")
    shown = client.get("/me/reminders").text
    assert "by e-mail to sam.steady@example.org" in shown
    bad = client.post("/me/reminders", data={**form, "time_zone": "Mars/Olympus"})
    assert bad.status_code == 400 and "is not known" in bad.text
    none = client.post("/me/reminders", data={**form, "by_email": ""})
    assert none.status_code == 400 and "Choose how to be reminded" in none.text
    assert client.post("/me/reminders/stop", data={"csrf": csrf}).status_code == 303
    assert not reminders.are_on(person)


def test_a_clinician_sees_whether_reminders_are_on_and_nothing_of_what_they_are(
    services: Services, settings: Settings, clock: Clock, client: TestClient
) -> None:
    accounts = Accounts(services)
    clinician = staff(accounts, "jo@clinic.example", "Dr Jo")
    patient_id, _ = accounts.create_patient(clinician, "Pat Patient")
    begin(services, patient_id)
    reminders = Reminders(services, settings, now=clock)
    staff_sign_in(client, "jo@clinic.example")

    def reminders_fact() -> str:
        page = client.get(f"/clinic/patients/{patient_id}").text
        found = re.search(r"<dt>Reminders</dt><dd>(\w+)</dd>", page)
        assert found
        return found.group(1)

    assert reminders_fact() == "off"
    choose(reminders, patient_id, email="pat.secret@example.org", training_time="05:55")
    assert reminders_fact() == "on"
    page = client.get(f"/clinic/patients/{patient_id}").text
    assert "pat.secret@example.org" not in page and "05:55" not in page and OSLO not in page
    assert client.get("/me/reminders").status_code in (303, 404)


def test_choices_that_cannot_work_are_refused_in_plain_words(
    services: Services, settings: Settings, clock: Clock, person: str
) -> None:
    reminders = Reminders(services, settings, now=clock)
    with pytest.raises(ServiceError, match="HH:MM"):
        choose(reminders, person, training_time="25:00")
    with pytest.raises(ServiceError, match="at least one"):
        choose(reminders, person, kinds=frozenset())
    with pytest.raises(ServiceError, match="e-mail address"):
        choose(reminders, person, email="not an address")
    with pytest.raises(ServiceError, match="both a start and an end"):
        choose(reminders, person, quiet_end=None)
    assert not reminders.are_on(person)


def test_a_person_cannot_remove_someone_elses_device(
    services: Services, settings: Settings, clock: Clock
) -> None:
    from groundup.reminders.push import b64url
    from test_reminders_push import Browser

    reminders = Reminders(services, settings, now=clock)
    mine, theirs = services.enrol("Me"), services.enrol("Them")
    browser = Browser.new()
    device = reminders.add_device(
        theirs, "https://push.example/their-phone", browser.p256dh, b64url(browser.auth)
    )
    assert not reminders.remove_device(mine, device)
    assert [d.id for d in reminders.devices(theirs)] == [device]
    assert reminders.remove_device(theirs, device)
    assert reminders.devices(theirs) == []
