"""Accounts and access: people, clinicians and admins; sign-in, sessions, API tokens,
invites; and the one place that decides who may see whose data."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets
import uuid
from dataclasses import dataclass
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Select, bindparam, delete, func, select
from sqlalchemy.orm import Session

from groundup.services.workflow import Conflict, NotFound, ServiceError, Services
from groundup.storage.models import (
    ApiToken,
    ClinicianPatient,
    Invite,
    LoginAttempt,
    Patient,
    User,
    WebSession,
)

ROLES = ("person", "clinician", "admin")
SESSION_HOURS = 12
INVITE_DAYS = 14
MIN_PASSWORD = 10
MAX_FAILURES_PER_EMAIL = 5
MAX_FAILURES_PER_ADDRESS = 20
FAILURE_WINDOW = dt.timedelta(minutes=15)
EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]{2,}$")

_hasher = PasswordHasher()


class AuthError(ServiceError):
    """Sign-in refused: wrong e-mail or password, or too many attempts."""


class Forbidden(ServiceError):
    """The user may not see or change this."""


@dataclass(frozen=True)
class Account:
    id: int
    email: str
    display_name: str
    role: str
    patient_id: str | None  # the person's own record, for role "person"


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _aware(moment: dt.datetime) -> dt.datetime:
    """SQLite hands datetimes back without their zone; they were stored in UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def _signed_in(*columns: Any) -> Select[Any]:
    """The user behind a credential and, for a person, their own record: one query."""
    own = (
        select(Patient.id)
        .where(Patient.user_id == User.id, User.role == "person")
        .limit(1)
        .scalar_subquery()
    )
    return select(
        *columns,
        User.id.label("user_id"),
        User.email,
        User.display_name,
        User.role,
        User.active,
        own.label("patient_id"),
    )


_BY_SESSION = (
    _signed_in(WebSession.expires_at, WebSession.csrf)
    .join(User, User.id == WebSession.user_id)
    .where(WebSession.token_hash == bindparam("digest"))
)
_BY_TOKEN = (
    _signed_in(ApiToken.expires_at, ApiToken.revoked)
    .join(User, User.id == ApiToken.user_id)
    .where(ApiToken.token_hash == bindparam("digest"))
)


def _account_of(row: Any) -> Account:
    return Account(row.user_id, row.email, row.display_name, row.role, row.patient_id)


class Accounts:
    """Account use cases over the same database as the clinical services."""

    def __init__(self, services: Services) -> None:
        self.services = services
        self.db = services.db

    # ----- users --------------------------------------------------------------------

    def _account(self, user: User, patient_id: str | None) -> Account:
        return Account(user.id, user.email, user.display_name, user.role, patient_id)

    def _own_patient(self, session: Session, user: User) -> str | None:
        if user.role != "person":
            return None
        found: str | None = session.scalar(
            select(Patient.id).where(Patient.user_id == user.id).limit(1)
        )
        return found

    def create_user(self, email: str, display_name: str, role: str, password: str) -> Account:
        email = email.strip().lower()
        name = display_name.strip()
        if not EMAIL.match(email):
            raise ServiceError("give a valid e-mail address")
        if not 1 <= len(name) <= 120:
            raise ServiceError("give a name of 1 to 120 characters")
        if role not in ROLES:
            raise ServiceError(f"role must be one of {', '.join(ROLES)}")
        self._check_password(password)
        with self.db.transaction() as session:
            if session.scalar(select(User.id).where(User.email == email)) is not None:
                raise Conflict("an account with this e-mail already exists")
            user = User(
                email=email,
                display_name=name,
                role=role,
                password_hash=_hasher.hash(password),
                active=True,
            )
            session.add(user)
            session.flush()
            return self._account(user, None)

    @staticmethod
    def _check_password(password: str) -> None:
        if len(password) < MIN_PASSWORD:
            raise ServiceError(f"choose a password of at least {MIN_PASSWORD} characters")
        if len(password) > 256:
            raise ServiceError("that password is too long (256 characters at most)")

    def register_person(
        self, email: str, display_name: str, password: str, *, invite: str | None = None
    ) -> Account:
        """Self-registration: a person with their own record, or claiming one by invite."""
        account = self.create_user(email, display_name, "person", password)
        try:
            if invite:
                patient_id = self._claim(invite, account.id)
            else:
                patient_id = self.services.enrol(display_name, user_id=account.id)
        except ServiceError:
            self._remove_user(account.id)
            raise
        return Account(account.id, account.email, account.display_name, "person", patient_id)

    def _remove_user(self, user_id: int) -> None:
        with self.db.transaction() as session:
            session.execute(delete(User).where(User.id == user_id))

    def _claim(self, code: str, user_id: int) -> str:
        with self.db.transaction() as session:
            invite = session.get(Invite, _digest(code.strip()), with_for_update=True)
            if invite is None or invite.used_at is not None or _aware(invite.expires_at) < _now():
                raise ServiceError("that invite code is not valid (used, expired or mistyped)")
            patient = session.get(Patient, invite.patient_id)
            assert patient is not None
            if patient.user_id is not None:
                raise ServiceError("that record already has an account")
            patient.user_id = user_id
            invite.used_at = _now()
            self.services._audit(session, patient.id, "claim_invite")
            return patient.id

    def create_patient(self, clinician: Account, display_name: str) -> tuple[str, str]:
        """A clinician enrols a patient; returns (patient id, one-time invite code)."""
        if clinician.role != "clinician":
            raise Forbidden("only clinicians create patients")
        patient_id = self.services.enrol(display_name, clinician_id=clinician.id)
        return patient_id, self.new_invite(clinician, patient_id)

    def new_invite(self, clinician: Account, patient_id: str) -> str:
        self.require(clinician, patient_id)
        code = "-".join(secrets.token_hex(2).upper() for _ in range(3))
        with self.db.transaction() as session:
            session.add(
                Invite(
                    code_hash=_digest(code),
                    patient_id=patient_id,
                    created_by=clinician.id,
                    expires_at=_now() + dt.timedelta(days=INVITE_DAYS),
                )
            )
        return code

    def clinicians(self) -> list[Account]:
        with self.db.transaction() as session:
            users = session.scalars(
                select(User).where(User.role == "clinician").order_by(User.display_name)
            ).all()
            return [self._account(u, None) for u in users]

    def set_active(self, admin: Account, user_id: int, active: bool) -> None:
        if admin.role != "admin":
            raise Forbidden("only admins manage clinicians")
        with self.db.transaction() as session:
            user = session.get(User, user_id)
            if user is None or user.role != "clinician":
                raise NotFound("no such clinician")
            user.active = active
            if not active:
                session.execute(delete(WebSession).where(WebSession.user_id == user_id))
                session.execute(delete(ApiToken).where(ApiToken.user_id == user_id))

    # ----- signing in ------------------------------------------------------------------

    def authenticate(self, email: str, password: str, address: str) -> Account:
        email = email.strip().lower()
        since = _now() - FAILURE_WINDOW
        with self.db.transaction() as session:
            by_email = (
                session.scalar(
                    select(func.count())
                    .select_from(LoginAttempt)
                    .where(LoginAttempt.key == f"email:{email}", LoginAttempt.at > since)
                )
                or 0
            )
            by_address = (
                session.scalar(
                    select(func.count())
                    .select_from(LoginAttempt)
                    .where(LoginAttempt.key == f"addr:{address}", LoginAttempt.at > since)
                )
                or 0
            )
        if by_email >= MAX_FAILURES_PER_EMAIL or by_address >= MAX_FAILURES_PER_ADDRESS:
            raise AuthError("too many failed attempts; wait 15 minutes and try again")
        with self.db.transaction() as session:
            user = session.scalars(select(User).where(User.email == email)).first()
            valid = False
            if user is not None and user.active and user.password_hash:
                try:
                    valid = _hasher.verify(user.password_hash, password)
                except (VerificationError, InvalidHashError):
                    valid = False
            if valid and user is not None:
                if _hasher.check_needs_rehash(user.password_hash or ""):
                    user.password_hash = _hasher.hash(password)
                return self._account(user, self._own_patient(session, user))
        # The failure is recorded in its own transaction, so that refusing does not undo it.
        with self.db.transaction() as session:
            session.add(LoginAttempt(key=f"email:{email}"))
            session.add(LoginAttempt(key=f"addr:{address}"))
        raise AuthError("wrong e-mail or password")

    def start_session(self, account: Account) -> tuple[str, str]:
        """A new browser session: (cookie token, CSRF token)."""
        token = secrets.token_urlsafe(32)
        csrf = secrets.token_urlsafe(32)
        with self.db.transaction() as session:
            session.execute(delete(WebSession).where(WebSession.expires_at < _now()))
            session.add(
                WebSession(
                    token_hash=_digest(token),
                    user_id=account.id,
                    csrf=csrf,
                    expires_at=_now() + dt.timedelta(hours=SESSION_HOURS),
                )
            )
        return token, csrf

    def session_account(self, token: str) -> tuple[Account, str] | None:
        """The account and CSRF token behind a session cookie, or None if it is not valid."""
        with self.db.reading() as session:
            found = session.execute(_BY_SESSION, {"digest": _digest(token)}).first()
        if found is None:
            return None
        if _aware(found.expires_at) < _now():
            self.end_session(token)
            return None
        if not found.active:
            return None
        return _account_of(found), found.csrf

    def end_session(self, token: str) -> None:
        with self.db.transaction() as session:
            session.execute(delete(WebSession).where(WebSession.token_hash == _digest(token)))

    def change_password(self, account: Account, old: str, new: str) -> None:
        self._check_password(new)
        with self.db.transaction() as session:
            user = session.get(User, account.id)
            assert user is not None
            try:
                _hasher.verify(user.password_hash or "", old)
            except (VerificationError, InvalidHashError):
                raise AuthError("the current password is not right") from None
            user.password_hash = _hasher.hash(new)
            # Every other signed-in browser must sign in again.
            session.execute(delete(WebSession).where(WebSession.user_id == user.id))

    def new_api_token(self, account: Account, name: str, *, days: int | None = 90) -> str:
        token = "gu_" + secrets.token_urlsafe(32)
        with self.db.transaction() as session:
            session.add(
                ApiToken(
                    user_id=account.id,
                    token_hash=_digest(token),
                    name=name.strip()[:120] or "API client",
                    expires_at=None if days is None else _now() + dt.timedelta(days=days),
                )
            )
        return token

    def token_account(self, token: str) -> Account | None:
        with self.db.reading() as session:  # on the connection: no ORM work for plain rows
            found = session.connection().execute(_BY_TOKEN, {"digest": _digest(token)}).first()
        if found is None or found.revoked or not found.active:
            return None
        if found.expires_at is not None and _aware(found.expires_at) < _now():
            return None
        return _account_of(found)

    # ----- access ----------------------------------------------------------------------

    def can_access(self, account: Account, patient_id: str) -> bool:
        """A person sees their own record; a clinician their linked patients; nobody else."""
        if account.role == "person":
            return account.patient_id is not None and account.patient_id == patient_id
        if account.role == "clinician":
            with self.db.reading() as session:
                link = session.get(ClinicianPatient, (account.id, patient_id))
                return link is not None
        return False

    def require(self, account: Account, patient_id: str) -> None:
        """Raise NotFound (not Forbidden: ids are not confirmed to exist) unless allowed."""
        if not self.can_access(account, patient_id):
            raise NotFound("no such person, or not yours to see")

    def patients_of(self, account: Account) -> list[str]:
        if account.role == "person":
            return [account.patient_id] if account.patient_id else []
        if account.role != "clinician":
            return []
        with self.db.transaction() as session:
            return list(
                session.scalars(
                    select(ClinicianPatient.patient_id).where(
                        ClinicianPatient.clinician_id == account.id
                    )
                ).all()
            )

    def ensure_admin(
        self, email: str, password: str, display_name: str = "Administrator"
    ) -> Account:
        """Create the first admin if there is none with this e-mail (used by set-up and demo)."""
        with self.db.transaction() as session:
            user = session.scalars(select(User).where(User.email == email.lower())).first()
            if user is not None:
                return self._account(user, None)
        return self.create_user(email, display_name, "admin", password)


def new_id() -> str:
    return uuid.uuid4().hex
