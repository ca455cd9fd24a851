"""Accounts: argon2 passwords, rate-limited sign-in, sessions that expire, tokens,
one-time invites, and the single access rule."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select, update

from groundup.services import Conflict, NotFound, ServiceError, Services
from groundup.services.accounts import Accounts, AuthError, Forbidden, TooMany
from groundup.storage.models import ApiToken, Invite, User, WebSession

PASSWORD = "a long enough secret"


@pytest.fixture
def accounts(services: Services) -> Accounts:
    return Accounts(services)


def test_passwords_are_stored_as_argon2_hashes(accounts: Accounts, database) -> None:  # type: ignore[no-untyped-def]
    accounts.create_user("Ann@Example.org", "Ann", "clinician", PASSWORD)
    with database.transaction() as session:
        user = session.scalars(select(User)).one()
        assert user.email == "ann@example.org"
        assert user.password_hash is not None and user.password_hash.startswith("$argon2id$")
        assert PASSWORD not in user.password_hash


@pytest.mark.parametrize(
    ("email", "name", "role", "password", "message"),
    [
        ("not-an-email", "A", "person", PASSWORD, "e-mail"),
        ("a@b.org", "", "person", PASSWORD, "name"),
        ("a@b.org", "A", "superuser", PASSWORD, "role"),
        ("a@b.org", "A", "person", "short", "at least 10"),
    ],
)
def test_bad_account_details_are_refused(
    accounts: Accounts, email: str, name: str, role: str, password: str, message: str
) -> None:
    with pytest.raises(ServiceError, match=message):
        accounts.create_user(email, name, role, password)


def test_one_account_per_email(accounts: Accounts) -> None:
    accounts.create_user("a@b.org", "A", "person", PASSWORD)
    with pytest.raises(Conflict):
        accounts.create_user("A@B.org", "A again", "person", PASSWORD)


def test_sign_in_backs_off_after_five_wrong_passwords(accounts: Accounts) -> None:
    """Five wrong tries, then a wait before the next (not a lock-out: once the wait is
    over, the right password works again)."""
    now = [1_000_000.0]
    accounts.limiter.clock = lambda: now[0]
    accounts.create_user("a@b.org", "A", "clinician", PASSWORD)
    for _ in range(5):
        with pytest.raises(AuthError, match="wrong"):
            accounts.authenticate("a@b.org", "wrong password!", "10.0.0.1")
    with pytest.raises(TooMany, match="too many") as refused:
        accounts.authenticate("a@b.org", PASSWORD, "10.0.0.1")
    assert 1 <= refused.value.retry_after <= 60
    now[0] += refused.value.retry_after
    assert accounts.authenticate("a@b.org", PASSWORD, "10.0.0.1").email == "a@b.org"


def test_sessions_expire_and_sign_out_ends_them(accounts: Accounts, database) -> None:  # type: ignore[no-untyped-def]
    account = accounts.create_user("a@b.org", "A", "clinician", PASSWORD)
    token, csrf = accounts.start_session(
        accounts.authenticate("a@b.org", PASSWORD, "x"), second_factor=True
    )
    found = accounts.session_account(token)
    assert found is not None and found[0].id == account.id and found[1] == csrf
    with database.transaction() as session:
        session.execute(
            update(WebSession).values(expires_at=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1))
        )
    assert accounts.session_account(token) is None
    token, _ = accounts.start_session(account, second_factor=True)
    accounts.end_session(token)
    assert accounts.session_account(token) is None


def test_changing_the_password_signs_out_everywhere(accounts: Accounts) -> None:
    """Every browser session and every API token ends with the old password."""
    account = accounts.create_user("a@b.org", "A", "clinician", PASSWORD)
    token, _ = accounts.start_session(account, second_factor=True)
    api_token = accounts.new_api_token(account, "phone")
    with pytest.raises(AuthError):
        accounts.change_password(account, "not the password", "another long secret")
    assert accounts.token_account(api_token) is not None
    accounts.change_password(account, PASSWORD, "another long secret")
    assert accounts.session_account(token) is None
    assert accounts.token_account(api_token) is None
    assert accounts.authenticate("a@b.org", "another long secret", "x").id == account.id


def test_api_tokens_expire_and_can_be_revoked(accounts: Accounts, database) -> None:  # type: ignore[no-untyped-def]
    account = accounts.create_user("a@b.org", "A", "clinician", PASSWORD)
    token = accounts.new_api_token(account, "laptop")
    assert accounts.token_account(token) is not None
    with database.transaction() as session:
        session.execute(
            update(ApiToken).values(expires_at=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1))
        )
    assert accounts.token_account(token) is None
    second = accounts.new_api_token(account, "phone")
    with database.transaction() as session:
        session.execute(update(ApiToken).where(ApiToken.name == "phone").values(revoked=True))
    assert accounts.token_account(second) is None
    assert accounts.token_account("gu_made_up") is None


def test_invites_are_single_use_and_expire(accounts: Accounts, database) -> None:  # type: ignore[no-untyped-def]
    clinician = accounts.create_user("c@b.org", "C", "clinician", PASSWORD)
    patient_id, code = accounts.create_patient(clinician, "Pat")
    person = accounts.register_person("p@b.org", "Pat", PASSWORD, invite=code)
    assert person.patient_id == patient_id
    assert accounts.can_access(person, patient_id)
    with pytest.raises(ServiceError, match="invite"):
        accounts.register_person("q@b.org", "Q", PASSWORD, invite=code)
    second_code = accounts.new_invite(clinician, accounts.create_patient(clinician, "Other")[0])
    with database.transaction() as session:
        session.execute(
            update(Invite).values(expires_at=dt.datetime.now(dt.UTC) - dt.timedelta(days=1))
        )
    with pytest.raises(ServiceError, match="invite"):
        accounts.register_person("r@b.org", "R", PASSWORD, invite=second_code)
    # A failed registration leaves no half-made account behind.
    with pytest.raises(AuthError):
        accounts.authenticate("r@b.org", PASSWORD, "x")


def test_access_is_own_record_or_linked_patients_only(accounts: Accounts) -> None:
    clinician = accounts.create_user("c@b.org", "C", "clinician", PASSWORD)
    other = accounts.create_user("d@b.org", "D", "clinician", PASSWORD)
    admin = accounts.create_user("e@b.org", "E", "admin", PASSWORD)
    patient_id, _ = accounts.create_patient(clinician, "Pat")
    alice = accounts.register_person("a@b.org", "Alice", PASSWORD)
    bob = accounts.register_person("b@b.org", "Bob", PASSWORD)
    assert alice.patient_id is not None and bob.patient_id is not None
    assert accounts.can_access(alice, alice.patient_id)
    assert not accounts.can_access(alice, bob.patient_id)
    assert accounts.can_access(clinician, patient_id)
    assert not accounts.can_access(other, patient_id)
    assert not accounts.can_access(admin, patient_id)
    assert not accounts.can_access(clinician, alice.patient_id)
    with pytest.raises(NotFound):
        accounts.require(other, patient_id)
    with pytest.raises(Forbidden):
        accounts.create_patient(alice, "Nope")


def test_deactivated_clinicians_cannot_sign_in(accounts: Accounts) -> None:
    admin = accounts.create_user("e@b.org", "E", "admin", PASSWORD)
    clinician = accounts.create_user("c@b.org", "C", "clinician", PASSWORD)
    token, _ = accounts.start_session(clinician, second_factor=True)
    accounts.set_active(admin, clinician.id, False)
    assert accounts.session_account(token) is None
    with pytest.raises(AuthError):
        accounts.authenticate("c@b.org", PASSWORD, "x")
    with pytest.raises(Forbidden):
        accounts.set_active(clinician, admin.id, False)
