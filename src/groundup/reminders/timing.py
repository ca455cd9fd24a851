"""When reminders go out: each kind at the person's chosen clock time in their own time
zone, moved past their quiet hours, and only while it still means something.

Pure: no clock and no database; instants come in as arguments (aware datetimes in UTC).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from enum import StrEnum
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from groundup.clinical.program import Program
from groundup.clinical.rules import Rules

# A reminder whose moment passed longer ago than this (the servers were down) is dropped:
# a morning check-in reminder in the afternoon helps nobody.
GRACE = dt.timedelta(hours=3)
# A retest that stays due is mentioned again this often.
RETEST_REPEAT_DAYS = 7
CLOCK_TIME = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")


class Kind(StrEnum):
    TRAINING = "training"
    CHECKIN = "checkin"
    RETEST = "retest"
    FLARE = "flare"

    @property
    def words(self) -> str:
        return KIND_WORDS[self]


KIND_WORDS = {
    Kind.TRAINING: "Training days",
    Kind.CHECKIN: "The morning check-in after a session",
    Kind.RETEST: "A retest that is due",
    Kind.FLARE: "Flare-up follow-up, each morning",
}


class Channel(StrEnum):
    EMAIL = "email"
    PUSH = "push"


class TimingError(ValueError):
    """A time or time zone that cannot be used; the message says which and why."""


def clock_time(text: str, what: str) -> dt.time:
    """'HH:MM' on a 24-hour clock."""
    if not CLOCK_TIME.match(text.strip()):
        raise TimingError(f"{what}: write it as HH:MM on a 24-hour clock, like 07:30")
    return dt.time.fromisoformat(text.strip())


def time_zone(name: str) -> ZoneInfo:
    """An IANA time zone such as Europe/Oslo."""
    try:
        if not name or name.startswith(("/", ".")) or ".." in name:
            raise ValueError(name)
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise TimingError(
            f"time zone {name!r} is not known; use a name like Europe/London or America/Chicago"
        ) from None


@dataclass(frozen=True)
class QuietHours:
    """A stretch of the day (local time) with no reminders; it may run past midnight.
    No start or end, or the two equal, means no quiet hours."""

    start: dt.time | None = None
    end: dt.time | None = None

    @property
    def active(self) -> bool:
        return self.start is not None and self.end is not None and self.start != self.end

    def holds(self, at: dt.time) -> bool:
        if not self.active:
            return False
        assert self.start is not None and self.end is not None
        if self.start < self.end:
            return self.start <= at < self.end
        return at >= self.start or at < self.end

    def release(self, local: dt.datetime) -> dt.datetime:
        """The first moment at or after `local` (naive, local time) outside the quiet hours."""
        if not self.holds(local.time()):
            return local
        assert self.end is not None
        end = local.replace(hour=self.end.hour, minute=self.end.minute, second=0, microsecond=0)
        if end <= local:
            end += dt.timedelta(days=1)
        return end


@dataclass(frozen=True)
class Timing:
    """A person's reminder times: training days and retests at `training_time`, the
    check-in and flare-up follow-up at `morning_time`, none in the quiet hours."""

    kinds: frozenset[Kind]
    training_time: dt.time
    morning_time: dt.time
    quiet: QuietHours
    zone: dt.tzinfo

    def clock(self, kind: Kind) -> dt.time:
        return self.training_time if kind in (Kind.TRAINING, Kind.RETEST) else self.morning_time

    def local(self, instant: dt.datetime) -> dt.datetime:
        """An instant as the person's wall-clock time (naive)."""
        return instant.astimezone(self.zone).replace(tzinfo=None)

    def instant(self, local: dt.datetime) -> dt.datetime:
        """A wall-clock time of the person's as an instant in UTC."""
        return local.replace(tzinfo=self.zone).astimezone(dt.UTC)

    def send_at(self, kind: Kind, day: dt.date) -> dt.datetime:
        """When the reminder of `kind` for the person's local `day` goes out (UTC)."""
        return self.instant(self.quiet.release(dt.datetime.combine(day, self.clock(kind))))

    def quiet_now(self, instant: dt.datetime) -> bool:
        return self.quiet.holds(self.local(instant).time())

    def after_quiet(self, instant: dt.datetime) -> dt.datetime:
        """`instant`, or the end of the quiet hours it falls in."""
        return self.instant(self.quiet.release(self.local(instant)))

    def _days_around(self, start: dt.datetime, end: dt.datetime) -> list[dt.date]:
        # One day either side: quiet hours can carry a reminder past midnight.
        first = self.local(start).date() - dt.timedelta(days=1)
        last = self.local(end).date() + dt.timedelta(days=1)
        return [first + dt.timedelta(days=n) for n in range((last - first).days + 1)]

    def due_between(
        self, after: dt.datetime, until: dt.datetime
    ) -> list[tuple[Kind, dt.date, dt.datetime]]:
        """Reminders whose moment is in (after, until] and not older than GRACE at `until`:
        (kind, the local day it is for, when it goes out), oldest first. Consecutive
        windows never repeat one."""
        found = [
            (kind, day, at)
            for day in self._days_around(after, until)
            for kind in sorted(self.kinds)
            if after < (at := self.send_at(kind, day)) <= until and until - at <= GRACE
        ]
        return sorted(found, key=lambda item: (item[2], item[0]))

    def next_after(self, instant: dt.datetime) -> dt.datetime | None:
        """The first reminder moment after `instant`, whatever the day brings; None when
        no kind is chosen."""
        moments = [
            at
            for day in self._days_around(instant, instant + dt.timedelta(days=1))
            for kind in self.kinds
            if (at := self.send_at(kind, day)) > instant
        ]
        return min(moments, default=None)


@dataclass(frozen=True)
class DayFacts:
    """What the records say about one of the person's days."""

    day: dt.date
    session: str  # planned, done, skipped, rest: as Services.today reports the day
    trained_day_before: bool  # a session was logged (not skipped) the day before
    checked_in: bool


def retest_due_since(program: Program, rules: Rules) -> dt.date:
    """The day the retest interval since the last tests ran out."""
    interval = dt.timedelta(weeks=rules.progression.retest_every_weeks)
    return (program.profile.tested_on or program.start_date) + interval


def relevant(
    kind: Kind, program: Program, facts: DayFacts, rules: Rules, chosen: frozenset[Kind]
) -> bool:
    """Whether a reminder of `kind` says something true and useful on `facts.day`.

    Nothing urges training or testing while the program says to see a doctor; during a
    flare-up the follow-up (when chosen) replaces the plain check-in reminder."""
    if program.state.referred:
        return False
    if kind is Kind.TRAINING:
        return facts.session == "planned"
    if kind is Kind.CHECKIN:
        flare_instead = program.state.flare is not None and Kind.FLARE in chosen
        return facts.trained_day_before and not facts.checked_in and not flare_instead
    if kind is Kind.FLARE:
        return program.state.flare is not None and not facts.checked_in
    due = retest_due_since(program, rules)
    return facts.day >= due and (facts.day - due).days % RETEST_REPEAT_DAYS == 0
