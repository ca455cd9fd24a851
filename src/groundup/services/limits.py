"""Back-off for guessing: sign-in, second-factor codes, registration, invites, resets.

Each attempt is counted against one or more keys (an account, a client address, both)
*before* it is checked, in one statement per key that also decides whether the attempt
may go ahead at all. That statement is atomic on SQLite (one writer at a time) and on
PostgreSQL (the row is locked while it is updated; a concurrent update waits, then sees the
new count), so twenty simultaneous guesses are counted as twenty, whichever worker
process they reach. The state lives in the database, not in a process.

No hard lock-out: the first `free` attempts within the window go ahead at once; after that
each further one must wait `delay` seconds after the one before, the delay doubling up
to `cap`. A success clears the account's keys; the window forgets old failures.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import cast

from sqlalchemy import Table, case, func, literal, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from groundup.storage.database import Database
from groundup.storage.models import RateLimit


@dataclass(frozen=True)
class Limit:
    """How many tries one key gets before back-off, and how the wait grows."""

    name: str
    free: int  # attempts within the window that go ahead without waiting
    base: float  # the first wait, in seconds
    cap: float  # the longest wait
    window: float  # seconds after which a key's failures are forgotten


# Per account (from anywhere): the owner is slowed by at most a minute, never locked out.
ACCOUNT = Limit("account", free=5, base=1.0, cap=60.0, window=15 * 60)
# Per account and client address: a guesser at one address is slowed far more.
ACCOUNT_AT_ADDRESS = Limit("account-address", free=5, base=2.0, cap=15 * 60, window=15 * 60)
# Per client address, across accounts.
ADDRESS = Limit("address", free=20, base=2.0, cap=15 * 60, window=15 * 60)
# Second-factor codes, per account: six digits must not be guessable.
CODE = Limit("code", free=5, base=2.0, cap=15 * 60, window=15 * 60)
# Registrations and password-reset requests, per client address.
SIGN_UP = Limit("sign-up", free=10, base=5.0, cap=60 * 60, window=60 * 60)
# Invite codes tried, per client address.
INVITE = Limit("invite", free=10, base=5.0, cap=60 * 60, window=60 * 60)


class TooManyAttempts(Exception):
    """Wait `retry_after` seconds before the next try."""

    def __init__(self, retry_after: float) -> None:
        super().__init__(f"too many attempts; try again in {math.ceil(retry_after)} s")
        self.retry_after = max(1, math.ceil(retry_after))


def _upsert_empty(session: Session, key: str) -> None:
    values = {"key": key, "failures": 0, "delay": 0.0, "not_before": 0.0, "updated": 0.0}
    if session.get_bind().dialect.name == "postgresql":
        session.execute(
            postgresql.insert(RateLimit)
            .values(values)
            .on_conflict_do_nothing(index_elements=["key"])
        )
    else:
        session.execute(
            sqlite.insert(RateLimit).values(values).on_conflict_do_nothing(index_elements=["key"])
        )


class Limiter:
    """Counts attempts per key in the database; see the module's docstring."""

    def __init__(self, database: Database, clock: Callable[[], float] = time.time) -> None:
        self.db = database
        self.clock = clock

    def attempt(self, keys: Sequence[tuple[Limit, str]]) -> None:
        """Count one attempt against every key; TooManyAttempts (and nothing counted for
        the keys after it) when one of them must wait."""
        now = self.clock()
        with self.db.transaction() as session:
            for limit, key in keys:
                full = f"{limit.name}:{key}"[:300]
                _upsert_empty(session, full)
                table = cast(Table, RateLimit.__table__)
                stale = table.c.updated < now - limit.window
                failures = case((stale, 0), else_=table.c.failures) + 1
                old_delay = case((stale, 0.0), else_=table.c.delay)
                delay = case(
                    (failures < limit.free, 0.0),
                    (old_delay <= 0, limit.base),
                    (old_delay * 2 >= limit.cap, limit.cap),
                    else_=old_delay * 2,
                )
                counted = session.execute(
                    update(table)
                    .where(
                        table.c.key == full,
                        (table.c.not_before <= now) | stale,
                    )
                    .values(
                        failures=failures,
                        delay=delay,
                        # Within the free tries no wait at all (not "from now": two
                        # requests a microsecond apart must not block each other).
                        not_before=case((delay > 0, literal(now) + delay), else_=0.0),
                        updated=now,
                    )
                    .returning(table.c.failures)
                ).first()
                if counted is None:
                    # The longest wait of all the keys, so that the next try is not
                    # refused again by another of them.
                    names = [f"{other.name}:{k}"[:300] for other, k in keys]
                    waiting = session.scalar(
                        select(func.max(table.c.not_before)).where(table.c.key.in_(names))
                    )
                    raise TooManyAttempts((waiting or now) - now)

    def succeeded(self, keys: Sequence[tuple[Limit, str]]) -> None:
        """The attempt was right: these keys start again from nothing."""
        with self.db.transaction() as session:
            for limit, key in keys:
                session.execute(
                    update(RateLimit)
                    .where(RateLimit.key == f"{limit.name}:{key}"[:300])
                    .values(failures=0, delay=0.0, not_before=0.0)
                )

    def refund(self, limit: Limit, key: str) -> None:
        """Take back the count of an attempt that turned out right (a client address that
        signs in correctly is not a guesser for it); its wait, if any, stays."""
        with self.db.transaction() as session:
            session.execute(
                update(RateLimit)
                .where(RateLimit.key == f"{limit.name}:{key}"[:300], RateLimit.failures > 0)
                .values(failures=RateLimit.failures - 1)
            )
