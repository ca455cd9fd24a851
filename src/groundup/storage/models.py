"""The tables. Clinical values (answers, assessments, programs, decisions) are stored as the
JSON of their core models next to the columns that queries need (dates, ids, sides, pain).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    text,
    true,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

Json = JSON().with_variant(JSONB(), "postgresql")

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {dict[str, Any]: Json, list[Any]: Json}


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    display_name: Mapped[str] = mapped_column(String(120))
    role: Mapped[str] = mapped_column(String(16))  # person, clinician, admin
    password_hash: Mapped[str | None] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_now)
    # Set when someone else chose the password (an admin for a clinician): the next sign-in
    # asks for a new one before anything else.
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=False)
    # False only while a new address waits for its confirmation e-mail to be opened.
    email_confirmed: Mapped[bool] = mapped_column(Boolean, default=True)
    # The second factor (TOTP): the secret once confirmed, a new one while being set up,
    # and the last time step accepted (a code is good once).
    totp_secret: Mapped[str | None] = mapped_column(String(64))
    totp_pending: Mapped[str | None] = mapped_column(String(64))
    totp_enabled_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    totp_last_step: Mapped[int | None] = mapped_column(BigInteger)


class Patient(Base):
    __tablename__ = "patients"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    display_name: Mapped[str] = mapped_column(String(120))
    # Indexed: signing in finds a person's own record by their user id on every request.
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    length_unit: Mapped[str] = mapped_column(String(2), default="cm")
    mass_unit: Mapped[str] = mapped_column(String(2), default="kg")
    date_format: Mapped[str] = mapped_column(String(16), default="%Y-%m-%d")
    # Events (sessions, check-ins, retests, overrides) received so far: each event's
    # `arrival` number, which is the order the progression engine evaluates them in.
    events: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_now)
    # The clinic whose clinicians look after this person (none for someone on their own).
    # No database reference (see migration 0012): clinics are never deleted.
    clinic_id: Mapped[int | None] = mapped_column(Integer, index=True)

    clinicians: Mapped[list[ClinicianPatient]] = relationship(
        back_populates="patient", cascade="all, delete-orphan", passive_deletes=True
    )


class Clinic(Base):
    """A clinic: clinicians who share a caseload and the exercises and protocols they choose
    to share. Its admins are members flagged `admin` (not the site-wide admin role)."""

    __tablename__ = "clinics"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_now)


class ClinicMember(Base):
    """A clinician's place in a clinic: one clinic per clinician."""

    __tablename__ = "clinic_members"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinics.id", ondelete="CASCADE"), index=True)
    admin: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_now)


class ClinicianPatient(Base):
    __tablename__ = "clinician_patients"

    clinician_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    patient_id: Mapped[str] = mapped_column(
        ForeignKey("patients.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_now)

    patient: Mapped[Patient] = relationship(back_populates="clinicians")


class ScreenRecord(Base):
    __tablename__ = "screens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    patient_id: Mapped[str] = mapped_column(
        ForeignKey("patients.id", ondelete="CASCADE"), index=True
    )
    date: Mapped[dt.date] = mapped_column(Date)
    answers: Mapped[dict[str, Any]]
    result: Mapped[dict[str, Any]]
    refers: Mapped[bool] = mapped_column(Boolean)
    urgency: Mapped[str | None] = mapped_column(String(16))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_now)


class AssessmentRecord(Base):
    __tablename__ = "assessments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    patient_id: Mapped[str] = mapped_column(
        ForeignKey("patients.id", ondelete="CASCADE"), index=True
    )
    date: Mapped[dt.date] = mapped_column(Date)
    kind: Mapped[str] = mapped_column(String(16))  # initial, retest
    data: Mapped[dict[str, Any]]
    profile: Mapped[dict[str, Any]]
    scores: Mapped[dict[str, Any]]
    arrival: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_now)


class ProgramVersion(Base):
    """Every version of a person's program; each after the first names what caused it.
    Most hold only their changes (see groundup.services.versions)."""

    __tablename__ = "program_versions"
    __table_args__ = (UniqueConstraint("patient_id", "version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    patient_id: Mapped[str] = mapped_column(
        ForeignKey("patients.id", ondelete="CASCADE"), index=True
    )
    version: Mapped[int] = mapped_column(Integer)
    cause: Mapped[str] = mapped_column(String(16))  # plan, decision, override, retest
    decision_id: Mapped[int | None] = mapped_column(ForeignKey("decisions.id", ondelete="SET NULL"))
    phase: Mapped[str] = mapped_column(String(32))
    # The whole program, or empty when the row holds only `changes`: how to turn the next
    # version's program into this one (groundup.services.versions says when).
    data: Mapped[dict[str, Any] | None] = mapped_column(Json)
    changes: Mapped[dict[str, Any] | None] = mapped_column(Json)
    # Kept whole for good: the plan, overrides, the start of a phase, one in every few.
    checkpoint: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_now)


class ScheduledSession(Base):
    """A training day on the calendar, from the program version in force; its status
    moves from planned to done or skipped when a log arrives."""

    __tablename__ = "scheduled_sessions"
    __table_args__ = (UniqueConstraint("patient_id", "date", "number"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    patient_id: Mapped[str] = mapped_column(ForeignKey("patients.id", ondelete="CASCADE"))
    date: Mapped[dt.date] = mapped_column(Date)
    number: Mapped[int] = mapped_column(Integer, default=1)  # sessions that day: 1, 2
    program_version: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(8), default="planned")  # planned, done, skipped
    session_log_id: Mapped[str | None] = mapped_column(String(64))


class SessionDraftRecord(Base):
    """A session in progress, kept after each step of the player so that it survives a
    closed tab: one per person and day, gone once the session is saved or skipped."""

    __tablename__ = "session_drafts"
    __table_args__ = (UniqueConstraint("patient_id", "date"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    patient_id: Mapped[str] = mapped_column(ForeignKey("patients.id", ondelete="CASCADE"))
    date: Mapped[dt.date] = mapped_column(Date)
    data: Mapped[dict[str, Any]]
    updated_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), default=_now, onupdate=_now
    )


class SessionLogRecord(Base):
    """A logged session; its id is chosen by the client so a retry cannot duplicate it."""

    __tablename__ = "session_logs"
    __table_args__ = (
        Index("ix_session_logs_patient_date", "patient_id", "date"),
        # The client's log id is unique per person: one person cannot see or block another's.
        UniqueConstraint("patient_id", "log_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    log_id: Mapped[str] = mapped_column(String(64))
    patient_id: Mapped[str] = mapped_column(ForeignKey("patients.id", ondelete="CASCADE"))
    date: Mapped[dt.date] = mapped_column(Date)
    skipped: Mapped[bool] = mapped_column(Boolean, default=False)
    skip_reason: Mapped[str] = mapped_column(Text, default="")
    pain_after: Mapped[int | None] = mapped_column(Integer)
    max_pain: Mapped[int] = mapped_column(Integer, default=0)
    program_version: Mapped[int] = mapped_column(Integer)
    fingerprint: Mapped[str] = mapped_column(String(64))
    arrival: Mapped[int | None] = mapped_column(Integer)
    # The whole session as logged, sets and all: the core model's JSON without the values
    # that are its defaults (the history the engine reads is one row per session).
    data: Mapped[dict[str, Any] | None] = mapped_column(Json)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_now)


class CheckInRecord(Base):
    __tablename__ = "checkins"
    __table_args__ = (UniqueConstraint("patient_id", "date"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    patient_id: Mapped[str] = mapped_column(ForeignKey("patients.id", ondelete="CASCADE"))
    date: Mapped[dt.date] = mapped_column(Date)
    pain_on_waking: Mapped[int] = mapped_column(Integer)
    stiffness_on_waking: Mapped[int] = mapped_column(Integer)
    new_red_flags: Mapped[list[Any]]
    # Warning signs chosen from the screen's check-in list, by id.
    warning_signs: Mapped[list[Any]] = mapped_column(default=list, server_default=text("'[]'"))
    # Kneecap pain: after the last session, was the pain back to how it was within the hour
    # ("yes", "no", "not_sure"; empty when not asked).
    settled_within_hour: Mapped[str | None] = mapped_column(String(16))
    arrival: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_now)


class DecisionRecord(Base):
    __tablename__ = "decisions"
    __table_args__ = (Index("ix_decisions_patient_date", "patient_id", "date"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    patient_id: Mapped[str] = mapped_column(ForeignKey("patients.id", ondelete="CASCADE"))
    date: Mapped[dt.date] = mapped_column(Date)
    rule: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16))
    exercise_id: Mapped[str | None] = mapped_column(String(64))
    side: Mapped[str | None] = mapped_column(String(5))
    data: Mapped[dict[str, Any]]
    program_version: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_now)


class OverrideRecord(Base):
    __tablename__ = "overrides"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    patient_id: Mapped[str] = mapped_column(
        ForeignKey("patients.id", ondelete="CASCADE"), index=True
    )
    date: Mapped[dt.date] = mapped_column(Date)
    by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    data: Mapped[dict[str, Any]]
    arrival: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_now)


class WebSession(Base):
    """A signed-in browser: the cookie holds a random token, the table only its hash."""

    __tablename__ = "web_sessions"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    # What the person sees and ends it by (not the token, nor its hash).
    handle: Mapped[str] = mapped_column(String(32), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    csrf: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_now)
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    # When this browser passed the second factor; null while it has only the password.
    second_factor_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    user_agent: Mapped[str] = mapped_column(String(200), default="")
    address: Mapped[str] = mapped_column(String(64), default="")


class ApiToken(Base):
    """A token for API clients; only its hash is stored."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_now)
    expires_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)


class Invite(Base):
    """A one-time code a clinician gives a patient to claim their record."""

    __tablename__ = "invites"

    code_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    patient_id: Mapped[str] = mapped_column(
        ForeignKey("patients.id", ondelete="CASCADE"), index=True
    )
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_now)
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    used_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class CalendarFeed(Base):
    """A private calendar link for one person: the link holds a random token, the table
    only its hash. Revoked links stay as rows (revoked_at set) until the person is deleted."""

    __tablename__ = "calendar_feeds"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    patient_id: Mapped[str] = mapped_column(
        ForeignKey("patients.id", ondelete="CASCADE"), index=True
    )
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # When sessions and the check-in go on the calendar, in the person's local time (HH:MM).
    session_time: Mapped[str] = mapped_column(String(5))
    checkin_time: Mapped[str] = mapped_column(String(5))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_now)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class RecoveryCode(Base):
    """A one-time code that stands in for the second factor; only its hash is stored."""

    __tablename__ = "recovery_codes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    used_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class MailToken(Base):
    """A link sent by e-mail (a password reset, an address to confirm); only its hash."""

    __tablename__ = "mail_tokens"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    purpose: Mapped[str] = mapped_column(String(16))  # reset, confirm
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    used_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class RateLimit(Base):
    """Attempts against one key (an account, a client address, a second factor), for
    back-off: counted and checked in one atomic statement (`services.limits`). Times are
    seconds since the epoch, so that both databases can add to them in SQL."""

    __tablename__ = "rate_limits"

    key: Mapped[str] = mapped_column(String(300), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    delay: Mapped[float] = mapped_column(Float, default=0.0)  # seconds until the next try
    not_before: Mapped[float] = mapped_column(Float, default=0.0)
    updated: Mapped[float] = mapped_column(Float, default=0.0)


class AuditEntry(Base):
    """Who read or changed whose data. Removed with the person, but for one line that
    says a deletion happened (with no personal data)."""

    __tablename__ = "audit_log"
    __table_args__ = (
        Index("ix_audit_log_patient_at", "patient_id", "at"),
        # The audit viewer lists by time, and by account.
        Index("ix_audit_log_at", "at"),
        Index("ix_audit_log_user_at", "user_id", "at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_now)
    actor: Mapped[str] = mapped_column(String(120))
    patient_id: Mapped[str | None] = mapped_column(String(32))
    action: Mapped[str] = mapped_column(String(32))
    detail: Mapped[str] = mapped_column(Text, default="")
    # Who (the account, kept as a number: the line outlives the account) and from where.
    user_id: Mapped[int | None] = mapped_column(Integer)
    address: Mapped[str] = mapped_column(String(64), default="")


class ReminderSettings(Base):
    """What a person wants to be reminded of, how, when, and in which time zone.

    `planned_until` is how far the reminders have been queued; `next_at` is when the
    planner next needs to look at this person (NULL while reminders are off), so that a
    planning run reads only the people whose time has come."""

    __tablename__ = "reminder_settings"

    patient_id: Mapped[str] = mapped_column(
        ForeignKey("patients.id", ondelete="CASCADE"), primary_key=True
    )
    enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    kinds: Mapped[list[Any]]  # training, checkin, retest, flare
    by_email: Mapped[bool] = mapped_column(Boolean, default=False)
    email: Mapped[str | None] = mapped_column(String(254))
    by_push: Mapped[bool] = mapped_column(Boolean, default=False)
    # Clock times (HH:MM) in the person's own time zone.
    training_time: Mapped[str] = mapped_column(String(5))
    morning_time: Mapped[str] = mapped_column(String(5))
    quiet_start: Mapped[str | None] = mapped_column(String(5))
    quiet_end: Mapped[str | None] = mapped_column(String(5))
    time_zone: Mapped[str] = mapped_column(String(64))
    # The random half of the stop link in every e-mail (the other half is a signature).
    stop_id: Mapped[str] = mapped_column(String(32), unique=True)
    planned_until: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    next_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), index=True)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_now)


class PushSubscription(Base):
    """A device that receives the person's reminders by Web Push (its browser's endpoint
    and the keys the payload is encrypted for)."""

    __tablename__ = "push_subscriptions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    patient_id: Mapped[str] = mapped_column(
        ForeignKey("patients.id", ondelete="CASCADE"), index=True
    )
    endpoint: Mapped[str] = mapped_column(Text)
    endpoint_hash: Mapped[str] = mapped_column(String(64), unique=True)
    p256dh: Mapped[str] = mapped_column(String(200))
    auth: Mapped[str] = mapped_column(String(64))
    device: Mapped[str] = mapped_column(String(120), default="")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_now)


class Job(Base):
    """A unit of scheduled work (plan reminders, send one reminder, tidy up).

    `key` names the work itself, so the same work is queued once however many servers
    try. A worker claims a job by setting a fresh `lease_token` and `lease_until`; it may
    finish it only while the token is still its own, and a job whose lease ran out (its
    worker died) can be claimed again."""

    __tablename__ = "jobs"
    __table_args__ = (Index("ix_jobs_state_run_at", "state", "run_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    key: Mapped[str] = mapped_column(String(200), unique=True)
    payload: Mapped[dict[str, Any]]
    state: Mapped[str] = mapped_column(String(8), default="queued")  # queued, running, done, failed
    run_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    lease_token: Mapped[str | None] = mapped_column(String(32))
    lease_until: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    worker: Mapped[str | None] = mapped_column(String(120))
    outcome: Mapped[str] = mapped_column(Text, default="")
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_now)


class ServerKey(Base):
    """Keys the servers share, made once on first use: the Web Push (VAPID) key pair and
    the secret that signs stop links. Kept in the database so every server has the same."""

    __tablename__ = "server_keys"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_now)


# ----- a clinician's own exercises --------------------------------------------------------
# Owned by a scope: (`owner_kind`, `owner_id`) is ("clinician", user id) for a clinician's
# private items and ("clinic", clinic id) for those shared with their clinic.


class ExercisePicture(Base):
    """An uploaded photo of an own exercise, checked and re-encoded (`services.photos`)."""

    __tablename__ = "exercise_pictures"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # The address the photo is served under: random, so pictures cannot be counted through.
    key: Mapped[str] = mapped_column(String(32), unique=True)
    owner_kind: Mapped[str] = mapped_column(String(16))
    owner_id: Mapped[int] = mapped_column(Integer)
    content_type: Mapped[str] = mapped_column(String(32))
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    data: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_now)


class OwnExercise(Base):
    """One version of an own exercise: its validated `Exercise` as JSON. Editing adds a
    version; a program keeps the version it was given (`OwnExerciseUse`)."""

    __tablename__ = "own_exercises"
    __table_args__ = (
        UniqueConstraint("exercise_id", "version"),
        Index("ix_own_exercises_owner", "owner_kind", "owner_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    exercise_id: Mapped[str] = mapped_column(String(64), index=True)
    version: Mapped[int] = mapped_column(Integer)
    owner_kind: Mapped[str] = mapped_column(String(16))
    owner_id: Mapped[int] = mapped_column(Integer)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    data: Mapped[dict[str, Any]]
    picture_id: Mapped[int | None] = mapped_column(
        ForeignKey("exercise_pictures.id", ondelete="SET NULL")
    )
    retired: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_now)


class OwnExerciseUse(Base):
    """Which version of an own exercise a person's program was given."""

    __tablename__ = "own_exercise_uses"
    __table_args__ = (UniqueConstraint("patient_id", "exercise_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    patient_id: Mapped[str] = mapped_column(
        ForeignKey("patients.id", ondelete="CASCADE"), index=True
    )
    exercise_id: Mapped[str] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_now)


class OwnTemplateUse(Base):
    """Which version of an own protocol a person's program was planned from."""

    __tablename__ = "own_template_uses"
    __table_args__ = (UniqueConstraint("patient_id", "key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    patient_id: Mapped[str] = mapped_column(
        ForeignKey("patients.id", ondelete="CASCADE"), index=True
    )
    key: Mapped[str] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_now)


class OwnTemplate(Base):
    """One version of an own protocol: its validated `Template` as JSON, under a key
    unique across the database (the name a program is planned with)."""

    __tablename__ = "own_templates"
    __table_args__ = (
        UniqueConstraint("key", "version"),
        Index("ix_own_templates_owner", "owner_kind", "owner_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(64), index=True)
    version: Mapped[int] = mapped_column(Integer)
    owner_kind: Mapped[str] = mapped_column(String(16))
    owner_id: Mapped[int] = mapped_column(Integer)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    data: Mapped[dict[str, Any]]
    retired: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_now)


__all__ = [
    "ApiToken",
    "AssessmentRecord",
    "AuditEntry",
    "Base",
    "CalendarFeed",
    "CheckInRecord",
    "Clinic",
    "ClinicMember",
    "ClinicianPatient",
    "DecisionRecord",
    "ExercisePicture",
    "Invite",
    "Job",
    "MailToken",
    "OverrideRecord",
    "OwnExercise",
    "OwnExerciseUse",
    "OwnTemplate",
    "OwnTemplateUse",
    "Patient",
    "ProgramVersion",
    "PushSubscription",
    "RateLimit",
    "RecoveryCode",
    "ReminderSettings",
    "ScheduledSession",
    "ScreenRecord",
    "ServerKey",
    "SessionLogRecord",
    "User",
    "WebSession",
]
