"""Accounts and access: people, clinicians and admins; sign-in, sessions, API tokens,
invites; and the one place that decides who may see whose data."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import math
import re
import secrets
import time
import uuid
from dataclasses import dataclass
from functools import cache
from typing import Any

import pyotp
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Select, bindparam, delete, func, select, update
from sqlalchemy.orm import Session
from zxcvbn import zxcvbn

from groundup.clinical.text import clean_text, text_problem
from groundup.config import Settings
from groundup.services import limits
from groundup.services.calendar import CalendarFeeds
from groundup.services.limits import Limiter, TooManyAttempts
from groundup.services.mail import Mailer
from groundup.services.workflow import (
    Conflict,
    NotFound,
    ServiceError,
    Services,
    UnstorableText,
)
from groundup.storage.models import (
    ApiToken,
    ClinicianPatient,
    Invite,
    MailToken,
    Patient,
    RecoveryCode,
    User,
    WebSession,
)

ROLES = ("person", "clinician", "admin")
# Roles whose sign-in always needs the second factor: they reach many people's records.
SECOND_FACTOR_ROLES = ("clinician", "admin")
SESSION_HOURS = 12
INVITE_DAYS = 14
MIN_PASSWORD = 10
MAX_PASSWORD = 256
# zxcvbn's score: 3 means about 10^8 guesses or more, "safely unguessable" online.
MIN_STRENGTH = 3
RESET_HOURS = 1
CONFIRM_DAYS = 3
RECOVERY_CODES = 10
# Registration and reset requests take at least this long whatever happens, so that their
# timing does not tell a known address from a new one.
ALIKE_SECONDS = 0.4
TOTP_ISSUER = "groundup"
EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]{2,}$")

_hasher = PasswordHasher()


@cache
def _dummy_hash() -> str:
    """A hash to check a password against when the address has no account, so that an
    unknown address costs the same argon2 work as a known one."""
    return _hasher.hash(secrets.token_urlsafe(24))


class AuthError(ServiceError):
    """Sign-in refused: wrong e-mail or password, or a wrong or missing code."""


class TooMany(AuthError):
    """Too many attempts: wait `retry_after` seconds (back-off, not a lock-out)."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(
            f"too many attempts: wait {retry_after} seconds and try again"
            if retry_after < 120
            else f"too many attempts: wait {math.ceil(retry_after / 60)} minutes and try again"
        )
        self.retry_after = retry_after


class SecondFactorNeeded(AuthError):
    """The password was right; this account also needs its second factor."""


class Forbidden(ServiceError):
    """The user may not see or change this."""


@dataclass(frozen=True)
class Account:
    id: int
    email: str
    display_name: str
    role: str
    patient_id: str | None  # the person's own record, for role "person"


@dataclass(frozen=True)
class SignIn:
    """A browser session and how far its sign-in has got.

    stage: "full" (signed in), "new_password" (a password someone else chose must be
    replaced first), "enrol" (the second factor must be set up) or "code" (the second
    factor's code is still to come). Only "full" reaches anyone's data."""

    account: Account
    csrf: str
    stage: str
    handle: str
    second_factor: bool  # this browser has passed the second factor


@dataclass(frozen=True)
class SessionInfo:
    handle: str
    created_at: dt.datetime
    expires_at: dt.datetime
    user_agent: str
    address: str
    second_factor: bool


@dataclass(frozen=True)
class TokenInfo:
    id: int
    name: str
    created_at: dt.datetime
    expires_at: dt.datetime | None


@dataclass(frozen=True)
class Enrolment:
    """A second factor being set up: the secret, and the link an authenticator app reads."""

    secret: str
    uri: str


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
    _signed_in(
        WebSession.expires_at,
        WebSession.csrf,
        WebSession.handle,
        WebSession.second_factor_at,
        User.must_change_password,
        User.totp_secret,
    )
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


def _one_line(text: str, what: str) -> None:
    problem = text_problem(text, one_line=True)
    if problem is not None:
        raise UnstorableText(what, problem)


def _recovery_digest(code: str) -> str:
    return _digest("recovery:" + re.sub(r"[\s-]", "", code).lower())


def _new_recovery_code() -> str:
    raw = "".join(secrets.choice("abcdefghjkmnpqrstuvwxyz23456789") for _ in range(12))
    return f"{raw[:4]}-{raw[4:8]}-{raw[8:]}"


def normal_invite(code: str) -> str:
    """Invite codes are read without regard to case, spaces or dashes typed."""
    raw = re.sub(r"[\s-]", "", code).upper()
    return "-".join(raw[i : i + 4] for i in range(0, len(raw), 4))


class Accounts:
    """Account use cases over the same database as the clinical services."""

    def __init__(self, services: Services, settings: Settings | None = None) -> None:
        self.services = services
        self.db = services.db
        self.settings = settings or Settings()
        self.mailer = Mailer(self.settings)
        self.limiter = Limiter(self.db)

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

    def _attempt(self, keys: list[tuple[limits.Limit, str]]) -> None:
        """Count an attempt (`services.limits`); TooMany when it must wait."""
        try:
            self.limiter.attempt(keys)
        except TooManyAttempts as exc:
            raise TooMany(exc.retry_after) from None

    def _audit(self, session: Session, action: str, detail: str = "") -> None:
        """An account's own event (no record's): sign-in, password, second factor."""
        self.services.audit_in(session, None, action, detail)

    def create_user(
        self,
        email: str,
        display_name: str,
        role: str,
        password: str,
        *,
        must_change_password: bool = False,
        email_confirmed: bool = True,
    ) -> Account:
        email, name = self._check_details(email, display_name, role, password)
        with self.db.transaction() as session:
            if session.scalar(select(User.id).where(User.email == email)) is not None:
                raise Conflict("an account with this e-mail already exists")
            user = User(
                email=email,
                display_name=name,
                role=role,
                password_hash=_hasher.hash(password),
                active=True,
                must_change_password=must_change_password,
                email_confirmed=email_confirmed,
            )
            session.add(user)
            session.flush()
            return self._account(user, None)

    def _check_details(
        self, email: str, display_name: str, role: str, password: str
    ) -> tuple[str, str]:
        email = email.strip().lower()
        name = display_name.strip()
        _one_line(email, "email")
        if not EMAIL.match(email) or len(email) > 254:
            raise ServiceError("give a valid e-mail address")
        _one_line(name, "display_name")
        if not 1 <= len(name) <= 120:
            raise ServiceError("give a name of 1 to 120 characters")
        if role not in ROLES:
            raise ServiceError(f"role must be one of {', '.join(ROLES)}")
        self.check_password(password, email=email, name=name)
        return email, name

    @staticmethod
    def check_password(password: str, *, email: str = "", name: str = "") -> None:
        """A password nobody guesses early: long enough, and not one a guesser tries first
        (zxcvbn's estimate: a repeat, a sequence, a common word or password, or the
        person's own name or address)."""
        if len(password) < MIN_PASSWORD:
            raise ServiceError(f"choose a password of at least {MIN_PASSWORD} characters")
        if len(password) > MAX_PASSWORD:
            raise ServiceError(f"that password is too long ({MAX_PASSWORD} characters at most)")
        problem = text_problem(password)
        if problem is not None:
            raise UnstorableText("password", problem)
        inputs = [email, email.split("@")[0], *name.split(), "groundup"]
        estimate = zxcvbn(password[:100], user_inputs=[i for i in inputs if i])
        if estimate["score"] < MIN_STRENGTH:
            hint = (estimate.get("feedback") or {}).get("warning") or ""
            raise ServiceError(
                "choose a password that is harder to guess"
                + (f" ({hint.rstrip('.').lower()})" if hint else "")
                + ": a few unrelated words together work well"
            )

    def register_person(
        self, email: str, display_name: str, password: str, *, invite: str | None = None
    ) -> Account:
        """A person with their own record, or claiming one by invite (set-up, the demo and
        tests; people sign up through `sign_up`, which answers alike for every address)."""
        account = self.create_user(email, display_name, "person", password)
        return self._give_record(account, display_name, invite)

    def _give_record(self, account: Account, display_name: str, invite: str | None) -> Account:
        try:
            if invite:
                patient_id = self._claim(invite, account.id)
            else:
                patient_id = self.services.enrol(display_name, user_id=account.id)
        except ServiceError:
            self._remove_user(account.id)
            raise
        return Account(account.id, account.email, account.display_name, "person", patient_id)

    def sign_up(
        self, email: str, display_name: str, password: str, *, invite: str | None, address: str
    ) -> None:
        """Self-registration that answers the same for an address with an account and one
        without, in what it says and in how long it takes.

        Bad details (the e-mail's form, the name, a weak password, an invite code that is
        not valid) are refused whoever owns the address. Then: a new address gets its
        account (to confirm by e-mail first when mail is configured); an address that has
        one already gets nothing new (and its owner an e-mail saying someone tried)."""
        started = time.monotonic()
        try:
            self._attempt([(limits.SIGN_UP, address)])
            email, name = self._check_details(email, display_name, "person", password)
            if invite:
                self._check_invite(invite, address)
            confirm = self.mailer.configured
            try:
                account = self.create_user(
                    email, name, "person", password, email_confirmed=not confirm
                )
            except Conflict:
                self.mailer.send(
                    email,
                    "Someone tried to register your address with groundup",
                    "Someone (perhaps you) tried to create a groundup account with this "
                    "address, which has one already. Nothing was changed.\n\nIf it was you, "
                    f"sign in at {self.settings.base_url}/login — or, if you have forgotten "
                    f"your password, reset it at {self.settings.base_url}/password/forgot.\n",
                )
                return
            self._give_record(account, name, invite)
            if confirm:
                link = self._mail_token(account.id, "confirm", dt.timedelta(days=CONFIRM_DAYS))
                self.mailer.send(
                    email,
                    "Confirm your groundup account",
                    "Open this link to confirm your address and start using groundup "
                    f"(it works for {CONFIRM_DAYS} days):\n\n"
                    f"{self.settings.base_url}/confirm?token={link}\n",
                )
        finally:
            _at_least(started, ALIKE_SECONDS)

    def _check_invite(self, code: str, address: str) -> None:
        self._attempt([(limits.INVITE, address)])
        with self.db.reading() as session:
            invite = session.get(Invite, _digest(normal_invite(code)))
            if invite is None or invite.used_at is not None or _aware(invite.expires_at) < _now():
                raise ServiceError("that invite code is not valid (used, expired or mistyped)")

    def _remove_user(self, user_id: int) -> None:
        with self.db.transaction() as session:
            session.execute(delete(User).where(User.id == user_id))

    def _claim(self, code: str, user_id: int) -> str:
        with self.db.transaction() as session:
            invite = session.get(Invite, _digest(normal_invite(code)), with_for_update=True)
            if invite is None or invite.used_at is not None or _aware(invite.expires_at) < _now():
                raise ServiceError("that invite code is not valid (used, expired or mistyped)")
            patient = session.get(Patient, invite.patient_id)
            assert patient is not None
            if patient.user_id is not None:
                raise ServiceError("that record already has an account")
            patient.user_id = user_id
            invite.used_at = _now()
            self.services.audit_in(session, patient.id, "claim_invite")
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
                    code_hash=_digest(normal_invite(code)),
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

    def _managed(self, admin: Account, session: Session, user_id: int) -> User:
        if admin.role != "admin":
            raise Forbidden("only admins manage clinicians")
        user = session.get(User, user_id)
        if user is None or user.role not in SECOND_FACTOR_ROLES:
            raise NotFound("no such clinician")
        return user

    def set_active(self, admin: Account, user_id: int, active: bool) -> None:
        with self.db.transaction() as session:
            user = self._managed(admin, session, user_id)
            if user.role != "clinician":
                raise NotFound("no such clinician")
            user.active = active
            if not active:
                self._end_all(session, user_id)
            self._audit(
                session, "clinician_active" if active else "clinician_inactive", str(user_id)
            )

    def set_temporary_password(self, admin: Account, user_id: int, password: str) -> None:
        """An admin gives a clinician (or another admin) a password to sign in with once:
        it must be changed at that sign-in. Every session and token of theirs ends."""
        with self.db.transaction() as session:
            user = self._managed(admin, session, user_id)
            self.check_password(password, email=user.email, name=user.display_name)
            self._set_password(session, user, password, action="temporary_password", temporary=True)

    def reset_second_factor(self, admin: Account, user_id: int) -> None:
        """An admin clears someone's second factor (a lost phone and lost recovery codes):
        they set it up again at their next sign-in; every session and token ends."""
        with self.db.transaction() as session:
            user = self._managed(admin, session, user_id)
            if user.id == admin.id:
                raise Forbidden("another admin must reset your own second factor")
            self._clear_second_factor(session, user)
            self._end_all(session, user_id)
            self._audit(session, "second_factor_reset", str(user_id))

    def users_with_second_factor(self) -> dict[int, bool]:
        """For the admin page: which staff accounts have set up their second factor."""
        with self.db.reading() as session:
            rows = session.execute(
                select(User.id, User.totp_secret).where(User.role.in_(SECOND_FACTOR_ROLES))
            ).all()
            return {row.id: row.totp_secret is not None for row in rows}

    # ----- signing in ------------------------------------------------------------------

    def authenticate(self, email: str, password: str, address: str) -> Account:
        """The account behind an e-mail and password, or AuthError — after the same work
        whether the address has an account or not (one argon2 check either way), and
        counted against the account, the client address and both (`services.limits`)."""
        email = email.strip().lower()[:254]
        if text_problem(email, one_line=True) is not None:
            email = ""  # cannot be anyone's: refused below after the same work
        keys = [
            (limits.ACCOUNT, email),
            (limits.ACCOUNT_AT_ADDRESS, f"{email} {address}"),
            (limits.ADDRESS, address),
        ]
        self._attempt(keys)
        with self.db.transaction() as session:
            user = (
                session.scalars(select(User).where(User.email == email)).first() if email else None
            )
            stored = user.password_hash if user is not None and user.password_hash else None
            try:
                valid = _hasher.verify(stored or _dummy_hash(), password) and stored is not None
            except (VerificationError, InvalidHashError):
                valid = False
            if valid and user is not None and user.active:
                if not user.email_confirmed:
                    raise AuthError("confirm your e-mail address first: open the link we sent you")
                if _hasher.check_needs_rehash(user.password_hash or ""):
                    user.password_hash = _hasher.hash(password)
                account = self._account(user, self._own_patient(session, user))
            else:
                account = None
        if account is None:
            raise AuthError("wrong e-mail or password")
        self.limiter.succeeded(keys[:2])
        self.limiter.refund(limits.ADDRESS, address)
        return account

    def needs_second_factor(self, account: Account) -> bool:
        """Clinicians and admins always; a person once they have set one up."""
        if account.role in SECOND_FACTOR_ROLES:
            return True
        with self.db.reading() as session:
            secret = session.scalar(select(User.totp_secret).where(User.id == account.id))
        return secret is not None

    def start_session(
        self,
        account: Account,
        *,
        second_factor: bool,
        user_agent: str = "",
        address: str = "",
    ) -> tuple[str, str]:
        """A new browser session: (cookie token, CSRF token). `second_factor`: the sign-in
        has passed the second factor (or the session replaces one that had)."""
        token = secrets.token_urlsafe(32)
        csrf = secrets.token_urlsafe(32)
        with self.db.transaction() as session:
            session.execute(delete(WebSession).where(WebSession.expires_at < _now()))
            session.add(
                WebSession(
                    token_hash=_digest(token),
                    handle=secrets.token_hex(8),
                    user_id=account.id,
                    csrf=csrf,
                    expires_at=_now() + dt.timedelta(hours=SESSION_HOURS),
                    second_factor_at=_now() if second_factor else None,
                    user_agent=clean_text(user_agent)[:200],
                    address=clean_text(address)[:64],
                )
            )
        return token, csrf

    def sign_in_state(self, token: str) -> SignIn | None:
        """The session behind a cookie and how far its sign-in has got; None if not valid."""
        with self.db.reading() as session:
            found = session.execute(_BY_SESSION, {"digest": _digest(token)}).first()
        if found is None:
            return None
        if _aware(found.expires_at) < _now():
            self.end_session(token)
            return None
        if not found.active:
            return None
        account = _account_of(found)
        passed = found.second_factor_at is not None
        if found.must_change_password:
            stage = "new_password"
        elif passed or (account.role not in SECOND_FACTOR_ROLES and found.totp_secret is None):
            stage = "full"
        elif found.totp_secret is None:
            stage = "enrol"
        else:
            stage = "code"
        return SignIn(account, found.csrf, stage, found.handle, passed)

    def session_account(self, token: str) -> tuple[Account, str] | None:
        """The account and CSRF token behind a fully signed-in session cookie, or None."""
        state = self.sign_in_state(token)
        if state is None or state.stage != "full":
            return None
        return state.account, state.csrf

    def end_session(self, token: str) -> None:
        with self.db.transaction() as session:
            session.execute(delete(WebSession).where(WebSession.token_hash == _digest(token)))

    def _end_all(self, session: Session, user_id: int) -> None:
        session.execute(delete(WebSession).where(WebSession.user_id == user_id))
        session.execute(update(ApiToken).where(ApiToken.user_id == user_id).values(revoked=True))

    def change_password(self, account: Account, old: str, new: str) -> None:
        """A new password; every session and every API token of the account ends (the page
        that asked starts a new session for this browser)."""
        self.check_password(new, email=account.email, name=account.display_name)
        with self.db.transaction() as session:
            user = session.get(User, account.id)
            assert user is not None
            try:
                _hasher.verify(user.password_hash or "", old)
            except (VerificationError, InvalidHashError):
                raise AuthError("the current password is not right") from None
            if hmac.compare_digest(old.encode("utf-8", "replace"), new.encode("utf-8", "replace")):
                raise ServiceError("choose a new password, not the one you have now")
            self._set_password(session, user, new, action="password_change")

    def _set_password(
        self, session: Session, user: User, password: str, *, action: str, temporary: bool = False
    ) -> None:
        """A new password (checked already): every session and API token of the account
        ends with the old one. A temporary one must be replaced at the next sign-in."""
        user.password_hash = _hasher.hash(password)
        user.must_change_password = temporary
        self._end_all(session, user.id)
        self._audit(session, action, "" if user.id is None else str(user.id))

    # ----- the second factor ------------------------------------------------------------

    def enrolment(self, account: Account) -> Enrolment:
        """The secret being set up (made on first call, kept until confirmed)."""
        with self.db.transaction() as session:
            user = session.get(User, account.id, with_for_update=True)
            assert user is not None
            if user.totp_pending is None:
                user.totp_pending = pyotp.random_base32(32)
            secret = user.totp_pending
        uri = pyotp.TOTP(secret).provisioning_uri(name=account.email, issuer_name=TOTP_ISSUER)
        return Enrolment(secret, uri)

    def confirm_enrolment(
        self, account: Account, code: str, session_token: str | None
    ) -> list[str]:
        """Switch the second factor on with a first code from the app; the one-time
        recovery codes, shown once. This browser counts as having passed it; the account's
        other sessions must pass it next time, and its API tokens (made with the password
        alone) end."""
        with self.db.transaction() as session:
            user = session.get(User, account.id, with_for_update=True)
            assert user is not None
            if user.totp_pending is None:
                raise ServiceError("start setting up the second factor first")
            step = self._matching_step(user.totp_pending, code, None)
            if step is None:
                raise AuthError(
                    "that code is not right: type the 6 digits your app shows now for groundup"
                )
            user.totp_secret, user.totp_pending = user.totp_pending, None
            user.totp_enabled_at = _now()
            user.totp_last_step = step
            session.execute(
                update(ApiToken).where(ApiToken.user_id == user.id).values(revoked=True)
            )
            if session_token is not None:
                session.execute(
                    update(WebSession)
                    .where(WebSession.token_hash == _digest(session_token))
                    .values(second_factor_at=_now())
                )
            codes = self._replace_recovery_codes(session, user.id)
            self._audit(session, "second_factor_on")
            return codes

    def new_recovery_codes(self, account: Account) -> list[str]:
        with self.db.transaction() as session:
            user = session.get(User, account.id)
            if user is None or user.totp_secret is None:
                raise ServiceError("set up the second factor first")
            codes = self._replace_recovery_codes(session, account.id)
            self._audit(session, "recovery_codes_new")
            return codes

    def recovery_codes_left(self, account: Account) -> int:
        with self.db.reading() as session:
            return int(
                session.scalar(
                    select(func.count())
                    .select_from(RecoveryCode)
                    .where(RecoveryCode.user_id == account.id, RecoveryCode.used_at.is_(None))
                )
                or 0
            )

    def has_second_factor(self, account: Account) -> bool:
        with self.db.reading() as session:
            return session.scalar(select(User.totp_secret).where(User.id == account.id)) is not None

    def _replace_recovery_codes(self, session: Session, user_id: int) -> list[str]:
        session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user_id))
        codes = [_new_recovery_code() for _ in range(RECOVERY_CODES)]
        session.add_all(RecoveryCode(user_id=user_id, code_hash=_recovery_digest(c)) for c in codes)
        return codes

    def turn_off_second_factor(self, account: Account, code: str, address: str) -> None:
        """A person switches their second factor off (with a code); staff cannot."""
        if account.role in SECOND_FACTOR_ROLES:
            raise Forbidden("clinicians and admins always sign in with a second factor")
        self.check_code(account, code, address)
        with self.db.transaction() as session:
            user = session.get(User, account.id)
            assert user is not None
            self._clear_second_factor(session, user)
            self._audit(session, "second_factor_off")

    def _clear_second_factor(self, session: Session, user: User) -> None:
        user.totp_secret = user.totp_pending = None
        user.totp_enabled_at = None
        user.totp_last_step = None
        session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))

    @staticmethod
    def _matching_step(secret: str, code: str, last_step: int | None) -> int | None:
        """The time step a six-digit code belongs to (this one, or one either side, for a
        phone's clock a little off), if it was not used before; else None."""
        digits = re.sub(r"\s", "", code)
        if not re.fullmatch(r"\d{6}", digits):
            return None
        totp = pyotp.TOTP(secret)
        now = time.time()
        for offset in (0, -1, 1):
            moment = now + offset * totp.interval
            step = int(totp.timecode(dt.datetime.fromtimestamp(moment, dt.UTC)))
            if hmac.compare_digest(totp.at(moment), digits) and (
                last_step is None or step > last_step
            ):
                return step
        return None

    def check_code(self, account: Account, code: str, address: str) -> str:
        """Accept a code from the app (each once) or a recovery code (each once): "totp" or
        "recovery", or AuthError. Attempts are limited per account, with back-off."""
        self._attempt([(limits.CODE, str(account.id))])
        with self.db.transaction() as session:
            user = session.get(User, account.id, with_for_update=True)
            if user is None or user.totp_secret is None:
                raise AuthError("this account has no second factor set up")
            step = self._matching_step(user.totp_secret, code, user.totp_last_step)
            kind = None
            if step is not None:
                # Atomic: of two requests with the same code, one moves the step on.
                moved = session.execute(
                    update(User)
                    .where(
                        User.id == user.id,
                        (User.totp_last_step.is_(None)) | (User.totp_last_step < step),
                    )
                    .values(totp_last_step=step)
                )
                kind = "totp" if moved.rowcount == 1 else None  # type: ignore[attr-defined]
            elif len(code) <= 40:
                used = session.execute(
                    update(RecoveryCode)
                    .where(
                        RecoveryCode.user_id == user.id,
                        RecoveryCode.code_hash == _recovery_digest(code),
                        RecoveryCode.used_at.is_(None),
                    )
                    .values(used_at=_now())
                )
                kind = "recovery" if used.rowcount == 1 else None  # type: ignore[attr-defined]
                if kind:
                    self._audit(session, "recovery_code_used")
        if kind is None:
            raise AuthError("that code is not right, or was used already")
        self.limiter.succeeded([(limits.CODE, str(account.id))])
        return kind

    def pass_second_factor(self, token: str, code: str, address: str) -> tuple[str, str]:
        """The session's second step: with a right code, a fresh session (new token: a
        session that gains rights gets a new id) that has passed it."""
        state = self.sign_in_state(token)
        if state is None or state.stage != "code":
            raise AuthError("sign in again")
        self.check_code(state.account, code, address)
        with self.db.reading() as session:
            row = session.get(WebSession, _digest(token))
            agent = row.user_agent if row else ""
        self.end_session(token)
        return self.start_session(
            state.account, second_factor=True, user_agent=agent, address=address
        )

    # ----- e-mailed links: password reset, address confirmation -------------------------

    def _mail_token(self, user_id: int, purpose: str, valid: dt.timedelta) -> str:
        token = secrets.token_urlsafe(32)
        with self.db.transaction() as session:
            session.add(
                MailToken(
                    token_hash=_digest(token),
                    user_id=user_id,
                    purpose=purpose,
                    expires_at=_now() + valid,
                )
            )
        return token

    def _use_mail_token(self, session: Session, token: str, purpose: str) -> User:
        row = session.get(MailToken, _digest(token), with_for_update=True)
        if (
            row is None
            or row.purpose != purpose
            or row.used_at is not None
            or _aware(row.expires_at) < _now()
        ):
            raise ServiceError("this link has expired or was used already")
        row.used_at = _now()
        user = session.get(User, row.user_id)
        assert user is not None
        return user

    def request_password_reset(self, email: str, address: str) -> None:
        """Send a reset link if the address has an account; answer alike either way (in
        words and in time). Without a mail server nothing is sent: the page says to ask
        an administrator instead, for every address alike."""
        started = time.monotonic()
        try:
            self._attempt([(limits.SIGN_UP, address)])
            email = email.strip().lower()[:254]
            if not self.mailer.configured or text_problem(email, one_line=True) is not None:
                return
            with self.db.reading() as session:
                user = session.scalars(
                    select(User).where(User.email == email, User.active.is_(True))
                ).first()
                user_id = user.id if user is not None else None
            if user_id is None:
                return
            token = self._mail_token(user_id, "reset", dt.timedelta(hours=RESET_HOURS))
            self.mailer.send(
                email,
                "Reset your groundup password",
                f"Open this link to choose a new password (it works for {RESET_HOURS} hour, "
                "once):\n\n"
                f"{self.settings.base_url}/password/reset?token={token}\n\n"
                "If you did not ask for this, ignore this e-mail: nothing changes.\n",
            )
        finally:
            _at_least(started, ALIKE_SECONDS)

    def reset_password(self, token: str, new: str) -> None:
        """A new password from an e-mailed link; every session and token ends."""
        with self.db.transaction() as session:
            row = session.get(MailToken, _digest(token))
            user = session.get(User, row.user_id) if row is not None else None
            if user is not None:
                self.check_password(new, email=user.email, name=user.display_name)
            user = self._use_mail_token(session, token, "reset")
            self._set_password(session, user, new, action="password_reset")

    def confirm_email(self, token: str) -> None:
        with self.db.transaction() as session:
            user = self._use_mail_token(session, token, "confirm")
            user.email_confirmed = True

    # ----- API tokens -------------------------------------------------------------------

    def issue_api_token(
        self,
        email: str,
        password: str,
        code: str | None,
        name: str,
        *,
        days: int,
        address: str,
    ) -> tuple[str, Account]:
        """Sign in for an API client: the password, and for an account with a second
        factor (every clinician and admin) its code too. Staff who have not set up the
        second factor get no token until they have, in the web app."""
        account = self.authenticate(email, password, address)
        if self.needs_second_factor(account):
            if not self.has_second_factor(account):
                raise Forbidden(
                    "set up your second factor in the web app first (sign in there): "
                    "API tokens for clinicians and admins need it"
                )
            if not code:
                raise SecondFactorNeeded(
                    "this account needs its second factor: send the 6-digit code from "
                    "your app (or a recovery code) as `code`"
                )
            self.check_code(account, code, address)
        token = self.new_api_token(account, name, days=days)
        return token, account

    def new_api_token(self, account: Account, name: str, *, days: int | None = 90) -> str:
        """A token for an account already signed in (see `issue_api_token` for sign-in)."""
        name = name.strip()[:120] or "API client"
        _one_line(name, "name")
        token = "gu_" + secrets.token_urlsafe(32)
        with self.db.transaction() as session:
            session.add(
                ApiToken(
                    user_id=account.id,
                    token_hash=_digest(token),
                    name=name,
                    expires_at=None if days is None else _now() + dt.timedelta(days=days),
                )
            )
            self._audit(session, "api_token_new", name)
        return token

    def token_expiry(self, token: str) -> dt.datetime | None:
        """When a token stops working (None: never, or no such token)."""
        with self.db.reading() as session:
            expires = session.scalar(
                select(ApiToken.expires_at).where(ApiToken.token_hash == _digest(token))
            )
        if expires is not None and expires.tzinfo is None:
            expires = expires.replace(tzinfo=dt.UTC)
        return expires

    def revoke_this_token(self, token: str) -> None:
        """Revoke the token itself (the one a request was sent with)."""
        with self.db.transaction() as session:
            session.execute(
                update(ApiToken).where(ApiToken.token_hash == _digest(token)).values(revoked=True)
            )

    def token_account(self, token: str) -> Account | None:
        with self.db.reading() as session:  # on the connection: no ORM work for plain rows
            found = session.connection().execute(_BY_TOKEN, {"digest": _digest(token)}).first()
        if found is None or found.revoked or not found.active:
            return None
        if found.expires_at is not None and _aware(found.expires_at) < _now():
            return None
        return _account_of(found)

    def token_id(self, token: str) -> int | None:
        with self.db.reading() as session:
            found: int | None = session.scalar(
                select(ApiToken.id).where(ApiToken.token_hash == _digest(token))
            )
            return found

    # ----- what is signed in, and ending it ---------------------------------------------

    def sessions_of(self, account: Account) -> list[SessionInfo]:
        with self.db.reading() as session:
            rows = session.scalars(
                select(WebSession)
                .where(WebSession.user_id == account.id, WebSession.expires_at > _now())
                .order_by(WebSession.created_at.desc())
            ).all()
            return [
                SessionInfo(
                    r.handle,
                    _aware(r.created_at),
                    _aware(r.expires_at),
                    r.user_agent,
                    r.address,
                    r.second_factor_at is not None,
                )
                for r in rows
            ]

    def tokens_of(self, account: Account) -> list[TokenInfo]:
        now = _now()
        with self.db.reading() as session:
            rows = session.scalars(
                select(ApiToken)
                .where(ApiToken.user_id == account.id, ApiToken.revoked.is_(False))
                .order_by(ApiToken.created_at.desc())
            ).all()
            return [
                TokenInfo(
                    r.id,
                    r.name,
                    _aware(r.created_at),
                    None if r.expires_at is None else _aware(r.expires_at),
                )
                for r in rows
                if r.expires_at is None or _aware(r.expires_at) > now
            ]

    def end_session_by_handle(self, account: Account, handle: str) -> None:
        with self.db.transaction() as session:
            gone = session.execute(
                delete(WebSession).where(
                    WebSession.user_id == account.id, WebSession.handle == handle[:32]
                )
            )
            if gone.rowcount != 1:  # type: ignore[attr-defined]
                raise NotFound("no such session (it may have ended already)")
            self._audit(session, "session_end")

    def revoke_token(self, account: Account, token_id: int) -> None:
        with self.db.transaction() as session:
            done = session.execute(
                update(ApiToken)
                .where(
                    ApiToken.user_id == account.id,
                    ApiToken.id == token_id,
                    ApiToken.revoked.is_(False),
                )
                .values(revoked=True)
            )
            if done.rowcount != 1:  # type: ignore[attr-defined]
                raise NotFound("no such token (it may have been revoked already)")
            self._audit(session, "api_token_revoke", str(token_id))

    def end_everywhere(self, account: Account) -> None:
        """Sign out of every browser and revoke every API token of the account."""
        with self.db.transaction() as session:
            self._end_all(session, account.id)
            self._audit(session, "sign_out_everywhere")

    # ----- closing an account -------------------------------------------------------------

    def keeps_record(self, account: Account) -> list[str]:
        """The clinicians who keep a closing person's record (their names); none for a
        person who manages on their own."""
        if account.patient_id is None:
            return []
        with self.db.reading() as session:
            return list(
                session.scalars(
                    select(User.display_name)
                    .join(ClinicianPatient, ClinicianPatient.clinician_id == User.id)
                    .where(ClinicianPatient.patient_id == account.patient_id)
                    .order_by(User.display_name)
                ).all()
            )

    def close_account(
        self, account: Account, password: str, code: str | None, address: str
    ) -> bool:
        """A person closes their account, confirming with their password (and code, if
        they have a second factor). Their sign-in, sessions, tokens and calendar links
        end. Their record is deleted with it — unless a clinician treated them through
        groundup: then the clinic keeps that record, as health-record law requires of it,
        and only the clinic can see it. True when the record was deleted."""
        if account.role != "person":
            raise Forbidden("only a person can close their own account here")
        with self.db.reading() as session:
            user = session.get(User, account.id)
            stored = user.password_hash if user is not None else None
        try:
            _hasher.verify(stored or _dummy_hash(), password)
        except (VerificationError, InvalidHashError):
            raise AuthError("the password is not right") from None
        if self.has_second_factor(account):
            self.check_code(account, code or "", address)
        kept = bool(self.keeps_record(account))
        patient_id = account.patient_id
        if patient_id is not None:
            CalendarFeeds(self.services).revoke(patient_id)
            if not kept:
                self.services.delete_person(patient_id)
        with self.db.transaction() as session:
            session.execute(delete(User).where(User.id == account.id))
            # The line keeps no e-mail or name: the account is gone.
            self._audit(
                session,
                "account_closed",
                "record kept by the clinic" if kept else "record deleted",
            )
        return not kept

    # ----- access ----------------------------------------------------------------------

    def can_access(self, account: Account, patient_id: str) -> bool:
        """A person sees their own record; a clinician their linked patients; nobody else."""
        if not PATIENT_ID.fullmatch(patient_id):
            return False  # never a record id: no query for it
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

    def last_code_step(self, email: str) -> int | None:
        """The time step of the last code an account used (the demo's code hint)."""
        with self.db.reading() as session:
            found: int | None = session.scalar(
                select(User.totp_last_step).where(User.email == email.lower())
            )
            return found

    def set_second_factor(self, account: Account, secret: str) -> None:
        """Give an account a known second factor (the demo's printed keys; tests)."""
        with self.db.transaction() as session:
            user = session.get(User, account.id)
            assert user is not None
            user.totp_secret, user.totp_pending = secret, None
            user.totp_enabled_at = _now()


PATIENT_ID = re.compile(r"[0-9a-f]{32}")


def _at_least(started: float, seconds: float) -> None:
    """Sleep until `seconds` have passed since `started` (monotonic clock)."""
    left = seconds - (time.monotonic() - started)
    if left > 0:
        time.sleep(left)


def new_id() -> str:
    return uuid.uuid4().hex
