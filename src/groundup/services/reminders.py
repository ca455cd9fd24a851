"""Reminders as use cases: what a person chose, their devices, the stop link in every
e-mail, and the two jobs the worker runs — planning (which reminders are due now, queued
once each) and sending (one reminder, by one channel, to one address or device).

What a reminder says is worked out when it is sent, from the program as it is then; a
reminder that no longer applies (the session was logged meanwhile, reminders were turned
off) is not sent. A clinician may learn whether a patient's reminders are on, nothing more.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import hmac
import re
import secrets
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from email.message import EmailMessage
from email.utils import formataddr, formatdate, parseaddr
from functools import cached_property

from jinja2 import Environment, PackageLoader, select_autoescape
from sqlalchemy import delete, exists, select
from sqlalchemy.orm import Session

from groundup.clinical.planning import minutes_shown
from groundup.clinical.program import Program
from groundup.config import Settings
from groundup.reminders.mail import Mailer, MailError, SmtpServer
from groundup.reminders.push import PushResult, VapidKeys, send_push
from groundup.reminders.timing import (
    GRACE,
    Channel,
    DayFacts,
    Kind,
    QuietHours,
    Timing,
    TimingError,
    clock_time,
    relevant,
    time_zone,
)
from groundup.reminders.words import Reminder, compose
from groundup.services import audit
from groundup.services.calendar import session_lines
from groundup.services.workflow import NotFound, ServiceError, Services
from groundup.storage.jobs import NewJob, insert_new, queue_jobs
from groundup.storage.models import (
    CheckInRecord,
    Patient,
    PushSubscription,
    ReminderSettings,
    ScheduledSession,
    ServerKey,
    SessionLogRecord,
    User,
)
from groundup.worker import GiveUp, JobRun, Later, Retry, utc_now

SEND_JOB = "send_reminder"
PLAN_JOB = "plan_reminders"
PLAN_BATCH = 200
DEFAULT_TRAINING_TIME = "17:30"
DEFAULT_MORNING_TIME = "07:30"
DEFAULT_QUIET = ("21:30", "07:00")
VAPID_KEY = "vapid_private_pem"
LINK_SECRET = "reminder_link_secret"
MAX_DEVICES = 10
EMAIL = re.compile(r"^[^@\s<>\"]{1,64}@[^@\s<>\"]{1,189}\.[^@\s<>\"]{2,63}$")
STOP_TOKEN = re.compile(r"^([0-9a-f]{32})\.([A-Za-z0-9_-]{22})$")

templates = Environment(
    loader=PackageLoader("groundup.reminders", "templates"),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)


@dataclass(frozen=True)
class ReminderChoices:
    """What a person chose: which reminders, by which channels, when, in which zone."""

    enabled: bool = False
    kinds: frozenset[Kind] = frozenset(Kind)
    by_email: bool = False
    email: str | None = None
    by_push: bool = False
    training_time: str = DEFAULT_TRAINING_TIME
    morning_time: str = DEFAULT_MORNING_TIME
    quiet_start: str | None = DEFAULT_QUIET[0]
    quiet_end: str | None = DEFAULT_QUIET[1]
    time_zone: str = "UTC"

    def checked(self) -> ReminderChoices:
        """These choices if they can be used; else ServiceError saying what to change."""
        try:
            clock_time(self.training_time, "training-day reminder time")
            clock_time(self.morning_time, "morning reminder time")
            if bool(self.quiet_start) != bool(self.quiet_end):
                raise TimingError("quiet hours: give both a start and an end, or neither")
            if self.quiet_start and self.quiet_end:
                clock_time(self.quiet_start, "start of the quiet hours")
                clock_time(self.quiet_end, "end of the quiet hours")
            time_zone(self.time_zone)
        except TimingError as exc:
            raise ServiceError(str(exc)) from None
        email = (self.email or "").strip() or None
        if email is not None and not EMAIL.match(email):
            raise ServiceError(f"{email!r} does not look like an e-mail address")
        if self.enabled:
            if not self.kinds:
                raise ServiceError("choose at least one thing to be reminded of")
            if not (self.by_email or self.by_push):
                raise ServiceError("choose how to be reminded: by e-mail, on a device, or both")
            if self.by_email and email is None:
                raise ServiceError("give the e-mail address the reminders should go to")
        return replace(self, email=email)

    def timing(self) -> Timing:
        quiet = QuietHours(
            clock_time(self.quiet_start, "quiet start") if self.quiet_start else None,
            clock_time(self.quiet_end, "quiet end") if self.quiet_end else None,
        )
        return Timing(
            kinds=self.kinds,
            training_time=clock_time(self.training_time, "training time"),
            morning_time=clock_time(self.morning_time, "morning time"),
            quiet=quiet,
            zone=time_zone(self.time_zone),
        )

    @property
    def quiet_words(self) -> str:
        if self.quiet_start and self.quiet_end and self.quiet_start != self.quiet_end:
            return f"{self.quiet_start} to {self.quiet_end}"
        return "none"


def _utc(moment: dt.datetime) -> dt.datetime:
    """A stored moment as UTC (SQLite gives them back without their zone, which is UTC)."""
    return moment.replace(tzinfo=dt.UTC) if moment.tzinfo is None else moment.astimezone(dt.UTC)


def _choices(row: ReminderSettings) -> ReminderChoices:
    return ReminderChoices(
        enabled=row.enabled,
        kinds=frozenset(Kind(k) for k in row.kinds if k in Kind.__members__.values()),
        by_email=row.by_email,
        email=row.email,
        by_push=row.by_push,
        training_time=row.training_time,
        morning_time=row.morning_time,
        quiet_start=row.quiet_start,
        quiet_end=row.quiet_end,
        time_zone=row.time_zone,
    )


@dataclass(frozen=True)
class Device:
    """A device that receives notifications (the keys stay in the database)."""

    id: int
    name: str
    added: dt.datetime


def _b64url_bytes(text: str, what: str, size: int | None = None) -> bytes:
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise ServiceError(f"the device's {what} is not valid") from None
    if size is not None and len(raw) != size:
        raise ServiceError(f"the device's {what} is not valid")
    return raw


class Reminders:
    """The reminder use cases over the services' database."""

    def __init__(
        self,
        services: Services,
        settings: Settings,
        *,
        now: Callable[[], dt.datetime] = utc_now,
    ) -> None:
        self.services = services
        self.db = services.db
        self.settings = settings
        self.now = now
        self._local = threading.local()
        self._keys_lock = threading.Lock()

    # ----- server keys -------------------------------------------------------------------

    def _server_key(self, name: str, make: Callable[[], str]) -> str:
        """A key every server shares: read it, or make it once (the first server wins)."""
        with self.db.transaction() as session:
            insert_new(session, ServerKey, [{"name": name, "value": make()}], ["name"])
        with self.db.reading() as session:
            value = session.scalar(select(ServerKey.value).where(ServerKey.name == name))
        assert value is not None
        return value

    @cached_property
    def vapid(self) -> VapidKeys:
        with self._keys_lock:
            return VapidKeys(self._server_key(VAPID_KEY, lambda: VapidKeys.generate().private_pem))

    @cached_property
    def _link_secret(self) -> bytes:
        with self._keys_lock:
            return bytes.fromhex(self._server_key(LINK_SECRET, lambda: secrets.token_hex(32)))

    def prepare(self) -> None:
        """Make the shared keys now (at start-up) rather than on first use."""
        _ = self.vapid, self._link_secret

    @property
    def email_ready(self) -> bool:
        return bool(self.settings.smtp_url)

    @property
    def push_contact(self) -> str:
        if self.settings.push_contact:
            return self.settings.push_contact
        return f"mailto:{parseaddr(self.settings.mail_from)[1] or 'reminders@groundup.invalid'}"

    # ----- what the person chose ---------------------------------------------------------

    def choices(self, patient_id: str) -> ReminderChoices:
        """The person's choices, or the defaults (off; e-mail to their account's address)."""
        with self.db.reading() as session:
            row = session.get(ReminderSettings, patient_id)
            if row is not None:
                return _choices(row)
            patient = session.get(Patient, patient_id)
            if patient is None:
                raise NotFound(f"no person with id {patient_id!r}")
            email = (
                session.scalar(select(User.email).where(User.id == patient.user_id))
                if patient.user_id is not None
                else None
            )
        return ReminderChoices(email=email)

    def save(self, patient_id: str, choices: ReminderChoices) -> ReminderChoices:
        """Store the person's choices; planning starts from now (nothing already past is
        sent because of the change)."""
        choices = choices.checked()
        now = self.now()
        with self.db.transaction() as session:
            self.services.patient_in(session, patient_id, lock=True)
            row = session.get(ReminderSettings, patient_id)
            if row is None:
                row = ReminderSettings(patient_id=patient_id, stop_id=secrets.token_hex(16))
                session.add(row)
            row.enabled = choices.enabled
            row.kinds = sorted(k.value for k in choices.kinds)
            row.by_email = choices.by_email
            row.email = choices.email
            row.by_push = choices.by_push
            row.training_time = choices.training_time
            row.morning_time = choices.morning_time
            row.quiet_start = choices.quiet_start
            row.quiet_end = choices.quiet_end
            row.time_zone = choices.time_zone
            row.updated_at = now
            # Planning goes on from now: a change never sends what was due before it.
            row.planned_until = now
            row.next_at = choices.timing().next_after(now) if choices.enabled else None
            self.services.audit_in(
                session, patient_id, "reminders", "on" if choices.enabled else "off"
            )
        return choices

    def stop(self, patient_id: str, *, by: str = "settings") -> bool:
        """Turn all the person's reminders off. True if they were on."""
        with self.db.transaction() as session:
            self.services.patient_in(session, patient_id, lock=True)
            row = session.get(ReminderSettings, patient_id)
            if row is None or not row.enabled:
                return False
            row.enabled = False
            row.next_at = None
            row.updated_at = self.now()
            self.services.audit_in(session, patient_id, "reminders", f"off ({by})")
            return True

    def are_on(self, patient_id: str) -> bool:
        """Whether the person's reminders are on: all a clinician may learn of them."""
        with self.db.reading() as session:
            return bool(
                session.scalar(
                    select(ReminderSettings.enabled).where(
                        ReminderSettings.patient_id == patient_id
                    )
                )
            )

    # ----- the stop link -----------------------------------------------------------------

    def _signature(self, stop_id: str) -> str:
        digest = hmac.new(self._link_secret, f"stop:{stop_id}".encode(), hashlib.sha256)
        return base64.urlsafe_b64encode(digest.digest()[:16]).rstrip(b"=").decode()

    def stop_token(self, patient_id: str) -> str:
        """The token of the person's stop link: a random id of theirs and its signature."""
        with self.db.reading() as session:
            stop_id = session.scalar(
                select(ReminderSettings.stop_id).where(ReminderSettings.patient_id == patient_id)
            )
        if stop_id is None:
            raise NotFound("this person has no reminders")
        return f"{stop_id}.{self._signature(stop_id)}"

    def stop_url(self, patient_id: str) -> str:
        return f"{self.settings.base_url}/reminders/stop/{self.stop_token(patient_id)}"

    def person_for_stop(self, token: str) -> str | None:
        """Whose stop link this is; None for anything but a genuine one."""
        found = STOP_TOKEN.match(token)
        if found is None or not hmac.compare_digest(
            found.group(2), self._signature(found.group(1))
        ):
            return None
        with self.db.reading() as session:
            patient_id: str | None = session.scalar(
                select(ReminderSettings.patient_id).where(
                    ReminderSettings.stop_id == found.group(1)
                )
            )
            return patient_id

    # ----- devices -----------------------------------------------------------------------

    def add_device(
        self, patient_id: str, endpoint: str, p256dh: str, auth: str, name: str = ""
    ) -> int:
        """Remember a browser's push subscription for the person. A subscription already
        known (also under someone else, on a shared device) now belongs to this person."""
        endpoint = endpoint.strip()
        if not endpoint.startswith("https://") or len(endpoint) > 2000:
            raise ServiceError("the device's push address must be an https:// address")
        key = _b64url_bytes(p256dh, "public key", 65)
        if key[0] != 4:
            raise ServiceError("the device's public key is not valid")
        _b64url_bytes(auth, "auth secret", 16)
        digest = hashlib.sha256(endpoint.encode()).hexdigest()
        with self.db.transaction() as session:
            self.services.patient_in(session, patient_id, lock=True)
            session.execute(
                delete(PushSubscription).where(PushSubscription.endpoint_hash == digest)
            )
            count = len(
                session.scalars(
                    select(PushSubscription.id).where(PushSubscription.patient_id == patient_id)
                ).all()
            )
            if count >= MAX_DEVICES:
                raise ServiceError(
                    f"at most {MAX_DEVICES} devices: remove one you no longer use first"
                )
            row = PushSubscription(
                patient_id=patient_id,
                endpoint=endpoint,
                endpoint_hash=digest,
                p256dh=p256dh,
                auth=auth,
                device=name.strip()[:120],
            )
            session.add(row)
            session.flush()
            self.services.audit_in(session, patient_id, "reminders", "device added")
            return row.id

    def devices(self, patient_id: str) -> list[Device]:
        with self.db.reading() as session:
            rows = session.scalars(
                select(PushSubscription)
                .where(PushSubscription.patient_id == patient_id)
                .order_by(PushSubscription.id)
            ).all()
            return [Device(r.id, r.device or "A browser", r.created_at) for r in rows]

    def remove_device(self, patient_id: str, device_id: int) -> bool:
        with self.db.transaction() as session:
            result = session.execute(
                delete(PushSubscription).where(
                    PushSubscription.id == device_id, PushSubscription.patient_id == patient_id
                )
            )
            removed = bool(getattr(result, "rowcount", 0))
            if removed:
                self.services.audit_in(session, patient_id, "reminders", "device removed")
            return removed

    # ----- planning ----------------------------------------------------------------------

    def _facts(self, session: Session, patient_id: str, program: Program, day: dt.date) -> DayFacts:
        statuses = session.scalars(
            select(ScheduledSession.status).where(
                ScheduledSession.patient_id == patient_id, ScheduledSession.date == day
            )
        ).all()
        if not statuses:
            status = "planned" if program.is_training_day(day) else "rest"
        else:
            status = "planned" if "planned" in statuses else statuses[0]
        trained = session.scalar(
            select(
                exists().where(
                    SessionLogRecord.patient_id == patient_id,
                    SessionLogRecord.date == day - dt.timedelta(days=1),
                    SessionLogRecord.skipped.is_(False),
                )
            )
        )
        checked = session.scalar(
            select(
                exists().where(CheckInRecord.patient_id == patient_id, CheckInRecord.date == day)
            )
        )
        return DayFacts(day, status, bool(trained), bool(checked))

    def _program(self, session: Session, patient_id: str) -> Program | None:
        try:
            return self.services.program_in(session, patient_id)
        except NotFound:
            return None

    def _plan_person(
        self, session: Session, row: ReminderSettings, now: dt.datetime
    ) -> list[NewJob]:
        choices = _choices(row)
        try:
            timing = choices.timing()
        except TimingError:  # a time zone this machine does not know: nothing to plan
            row.next_at = None
            return []
        after = _utc(row.planned_until) if row.planned_until else now - dt.timedelta(minutes=1)
        jobs: list[NewJob] = []
        program = self._program(session, row.patient_id)
        due = timing.due_between(after, now) if program is not None else []
        devices = (
            session.scalars(
                select(PushSubscription.id).where(PushSubscription.patient_id == row.patient_id)
            ).all()
            if choices.by_push
            else []
        )
        for kind, day, at in due:
            assert program is not None
            facts = self._facts(session, row.patient_id, program, day)
            if not relevant(kind, program, facts, self.services.rules, choices.kinds):
                continue
            base = {"patient_id": row.patient_id, "kind": kind.value, "day": day.isoformat()}
            key = f"reminder:{row.patient_id}:{kind.value}:{day.isoformat()}"
            if choices.by_email and choices.email and self.email_ready:
                jobs.append(NewJob(SEND_JOB, f"{key}:email", {**base, "channel": "email"}, at))
            for device in devices:
                jobs.append(
                    NewJob(
                        SEND_JOB,
                        f"{key}:push:{device}",
                        {**base, "channel": "push", "device": device},
                        at,
                    )
                )
        row.planned_until = now
        row.next_at = timing.next_after(now)
        return jobs

    def plan_job(self, run: JobRun) -> None:
        """The worker's handler for a planning run."""
        run.complete(f"{self.plan(run.now)} reminders queued")

    def plan(self, now: dt.datetime | None = None) -> int:
        """Queue every reminder that has come due, once: the people whose next moment has
        passed are read in batches, locked so that two planners never take the same
        person, and their reminders are queued in the same transaction that moves their
        planning on. How many reminders were queued."""
        now = now or self.now()
        queued = 0
        while True:
            with self.db.transaction() as session:
                rows = session.scalars(
                    select(ReminderSettings)
                    .where(ReminderSettings.enabled.is_(True), ReminderSettings.next_at <= now)
                    .order_by(ReminderSettings.next_at)
                    .limit(PLAN_BATCH)
                    .with_for_update(skip_locked=True)
                ).all()
                jobs = [job for row in rows for job in self._plan_person(session, row, now)]
                queued += queue_jobs(session, jobs)
            if len(rows) < PLAN_BATCH:
                break
        return queued

    # ----- what it says -----------------------------------------------------------------

    def compose(self, patient_id: str, kind: Kind, day: dt.date) -> Reminder:
        """The reminder of `kind` for the person's `day`, from their program as it is now."""
        with self.db.reading() as session:
            patient = self.services.patient_in(session, patient_id)
            program = self.services.program_in(session, patient_id)
            name, mass_unit = patient.display_name, patient.mass_unit
        return self._compose(program, kind, day, name, mass_unit, patient_id)

    def _compose(
        self,
        program: Program,
        kind: Kind,
        day: dt.date,
        name: str,
        mass_unit: str,
        patient_id: str,
    ) -> Reminder:
        rules = self.services.rules_for(patient_id)  # own exercises have names too
        tested = program.profile.tested_on or program.start_date
        return compose(
            kind,
            program,
            day,
            name=name.split()[0] if name.split() else name,
            minutes=minutes_shown(program.slots, rules),
            exercise_lines=[
                line[2:] for line in session_lines(program, rules, mass_unit) if line[:2] == "- "
            ],
            retest_weeks=max(0, (day - tested).days // 7),
        )

    def email(
        self, reminder: Reminder, *, to: str, name: str, key: str, stop_url: str
    ) -> EmailMessage:
        """The reminder as an e-mail: plain text and HTML, with a stop link that works
        without signing in (and the headers mail apps use for their own stop button)."""
        base = self.settings.base_url
        context = {
            "reminder": reminder,
            "link": base + reminder.path,
            "settings_link": f"{base}/me/reminders",
            "stop_link": stop_url,
        }
        message = EmailMessage()
        message["Subject"] = reminder.title
        message["From"] = self.settings.mail_from
        message["To"] = formataddr((name, to))
        message["Date"] = formatdate(usegmt=True)
        domain = parseaddr(self.settings.mail_from)[1].rpartition("@")[2] or "groundup.invalid"
        message["Message-ID"] = f"<{hashlib.sha256(key.encode()).hexdigest()[:40]}@{domain}>"
        message["List-Unsubscribe"] = f"<{stop_url}>"
        message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
        message["Auto-Submitted"] = "auto-generated"
        message.set_content(
            templates.get_template("reminder.txt").render(context), cte="quoted-printable"
        )
        message.add_alternative(
            templates.get_template("reminder.html").render(context),
            subtype="html",
            cte="quoted-printable",
        )
        return message

    # ----- sending -----------------------------------------------------------------------

    def _mailer(self) -> Mailer:
        mailer: Mailer | None = getattr(self._local, "mailer", None)
        if mailer is None:
            if not self.settings.smtp_url:
                raise GiveUp("e-mail is not set up on this server (GROUNDUP_SMTP_URL)")
            try:
                server = SmtpServer.parse(self.settings.smtp_url)
            except ValueError as exc:
                raise GiveUp(str(exc)) from None
            mailer = self._local.mailer = Mailer(server)
        return mailer

    def close(self) -> None:
        """Close this thread's mail connection."""
        mailer: Mailer | None = getattr(self._local, "mailer", None)
        if mailer is not None:
            mailer.quit()
            self._local.mailer = None

    def send(self, run: JobRun) -> None:
        """The worker's handler for one reminder by one channel."""
        payload = run.job.payload
        patient_id = str(payload["patient_id"])
        kind = Kind(payload["kind"])
        channel = Channel(payload["channel"])
        day = dt.date.fromisoformat(str(payload["day"]))
        with self.db.reading() as session:
            row = session.get(ReminderSettings, patient_id)
            patient = session.get(Patient, patient_id)
            if row is None or patient is None or not row.enabled:
                run.complete("not sent: reminders are off")
                return
            choices = _choices(row)
            chosen = choices.by_email if channel is Channel.EMAIL else choices.by_push
            if kind not in choices.kinds or not chosen:
                run.complete(f"not sent: {kind.value} by {channel.value} is no longer chosen")
                return
            program = self._program(session, patient_id)
            if program is None:
                run.complete("not sent: there is no program")
                return
            facts = self._facts(session, patient_id, program, day)
            if not relevant(kind, program, facts, self.services.rules, choices.kinds):
                run.complete("not sent: no longer needed")
                return
            name, mass_unit, stop_id = patient.display_name, patient.mass_unit, row.stop_id
            device = (
                session.get(PushSubscription, int(payload["device"]))
                if channel is Channel.PUSH
                else None
            )
        timing = choices.timing()
        if timing.quiet_now(run.now):
            release = timing.after_quiet(run.now)
            if release - run.now > GRACE:
                run.complete("not sent: the quiet hours last too long for it to still help")
                return
            raise Later(release, "waiting for the end of the quiet hours")
        reminder = self._compose(program, kind, day, name, mass_unit, patient_id)
        if channel is Channel.EMAIL:
            self._send_email(run, reminder, choices, name, stop_id)
        else:
            self._send_push(run, reminder, patient_id, device)
        if run.completed:
            self.db.audit_read(
                audit.line("reminders", patient_id, "reminder", f"{kind.value} by {channel.value}")
            )

    def _send_email(
        self, run: JobRun, reminder: Reminder, choices: ReminderChoices, name: str, stop_id: str
    ) -> None:
        if not choices.email:
            raise GiveUp("no e-mail address")
        message = self.email(
            reminder,
            to=choices.email,
            name=name,
            key=run.job.key,
            stop_url=f"{self.settings.base_url}/reminders/stop/{stop_id}.{self._signature(stop_id)}",
        )
        mailer = self._mailer()
        try:
            mailer.deliver(message, lambda: run.completing(f"sent by e-mail to {choices.email}"))
        except MailError as exc:
            if exc.transient:
                raise Retry(str(exc)) from None
            raise GiveUp(str(exc)) from None

    def _send_push(
        self, run: JobRun, reminder: Reminder, patient_id: str, device: PushSubscription | None
    ) -> None:
        if device is None or device.patient_id != patient_id:
            run.complete("not sent: the device was removed")
            return
        payload = {
            "title": reminder.title,
            "body": reminder.short,
            "url": reminder.path,
            "tag": hashlib.sha256(run.job.key.encode()).hexdigest()[:16],
        }
        result, words = send_push(
            device.endpoint,
            device.p256dh,
            device.auth,
            payload,
            keys=self.vapid,
            contact=self.push_contact,
            key=run.job.key,
        )
        if result is PushResult.SENT:
            run.complete(f"sent to device {device.id}: {words}")
        elif result is PushResult.GONE:
            self.remove_device(patient_id, device.id)
            run.complete(f"not sent: {words}; the device was forgotten")
        elif result is PushResult.RETRY:
            raise Retry(words)
        else:
            raise GiveUp(words)


def kinds_from(names: Sequence[str]) -> frozenset[Kind]:
    """Kinds from their names (training, checkin, retest, flare)."""
    chosen = set()
    for name in names:
        try:
            chosen.add(Kind(name.strip()))
        except ValueError:
            raise ServiceError(
                f"{name!r}: choose from {', '.join(k.value for k in Kind)}"
            ) from None
    return frozenset(chosen)
