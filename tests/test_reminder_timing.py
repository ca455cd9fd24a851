"""When reminders go out and what they say (pure: no database). The promises pinned by
properties: nothing is ever sent inside the quiet hours; planning in consecutive windows
queues each reminder once and misses none whose window came in time; the time zone and
summer time are the person's own."""

from __future__ import annotations

import datetime as dt
import itertools
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from groundup.clinical.program import FlareState, Program
from groundup.knowledge import load_rules
from groundup.reminders.timing import (
    GRACE,
    DayFacts,
    Kind,
    QuietHours,
    Timing,
    TimingError,
    relevant,
    retest_due_since,
    time_zone,
)
from groundup.reminders.words import compose, day_words, next_training_day

ZONES = [
    "UTC",
    "Europe/London",
    "Europe/Oslo",
    "America/New_York",
    "Asia/Kolkata",
    "Pacific/Auckland",
]
clock_times = st.builds(dt.time, st.integers(0, 23), st.sampled_from([0, 15, 30, 45]))
quiet_hours = st.one_of(st.just(QuietHours()), st.builds(QuietHours, clock_times, clock_times))
timings = st.builds(
    Timing,
    kinds=st.frozensets(st.sampled_from(list(Kind)), min_size=1),
    training_time=clock_times,
    morning_time=clock_times,
    quiet=quiet_hours,
    zone=st.sampled_from(ZONES).map(ZoneInfo),
)
# Around the European and American summer-time changes of 2025, and plain days.
instants = st.datetimes(min_value=dt.datetime(2025, 3, 1), max_value=dt.datetime(2025, 11, 30)).map(
    lambda moment: moment.replace(tzinfo=dt.UTC)
)


def timing(**changes: object) -> Timing:
    base: dict[str, object] = {
        "kinds": frozenset(Kind),
        "training_time": dt.time(17, 30),
        "morning_time": dt.time(7, 30),
        "quiet": QuietHours(dt.time(21, 30), dt.time(7, 0)),
        "zone": ZoneInfo("Europe/Oslo"),
    }
    return Timing(**{**base, **changes})  # type: ignore[arg-type]


@settings(max_examples=300, deadline=None)
@given(timings, st.sampled_from(list(Kind)), st.dates(dt.date(2025, 3, 1), dt.date(2025, 11, 30)))
def test_no_reminder_is_ever_sent_inside_the_quiet_hours(
    plan: Timing, kind: Kind, day: dt.date
) -> None:
    at = plan.send_at(kind, day)
    assert not plan.quiet.holds(plan.local(at).time())
    assert not plan.quiet_now(at)
    assert plan.after_quiet(at) == at


@settings(max_examples=200, deadline=None)
@given(timings, instants, st.lists(st.integers(1, 90 * 60), min_size=1, max_size=60))
def test_planning_in_consecutive_windows_queues_each_reminder_once_and_misses_none(
    plan: Timing, start: dt.datetime, gaps: list[int]
) -> None:
    """Whatever the planner's rhythm (windows of a second to 90 minutes), every reminder
    moment inside the planned stretch is queued exactly once."""
    moments = [start]
    for seconds in gaps:
        moments.append(moments[-1] + dt.timedelta(seconds=seconds))
    queued = [
        (kind, day)
        for after, until in itertools.pairwise(moments)
        for kind, day, _ in plan.due_between(after, until)
    ]
    assert len(queued) == len(set(queued)), "a reminder was queued twice"
    expected = {
        (kind, day)
        for day in (start.date() + dt.timedelta(days=n) for n in range(-2, 9))
        for kind in plan.kinds
        if start < plan.send_at(kind, day) <= moments[-1]
    }
    assert set(queued) == expected


@settings(max_examples=200, deadline=None)
@given(timings, instants)
def test_the_next_moment_is_the_first_reminder_after_now(plan: Timing, now: dt.datetime) -> None:
    following = plan.next_after(now)
    assert following is not None and following > now
    assert plan.due_between(now, following - dt.timedelta(microseconds=1)) == []
    assert plan.due_between(now, following)


def test_a_reminder_long_overdue_is_dropped() -> None:
    plan = timing(kinds=frozenset({Kind.CHECKIN}), quiet=QuietHours())
    at = plan.send_at(Kind.CHECKIN, dt.date(2025, 3, 5))
    assert plan.due_between(at - dt.timedelta(hours=5), at + GRACE) != []
    assert plan.due_between(at - dt.timedelta(hours=5), at + GRACE + dt.timedelta(minutes=1)) == []


def test_times_are_the_persons_own_through_summer_time() -> None:
    """17:30 in Oslo is 16:30 UTC in winter and 15:30 UTC in summer (30 March 2025)."""
    plan = timing(kinds=frozenset({Kind.TRAINING}))
    assert plan.send_at(Kind.TRAINING, dt.date(2025, 3, 28)) == dt.datetime(
        2025, 3, 28, 16, 30, tzinfo=dt.UTC
    )
    assert plan.send_at(Kind.TRAINING, dt.date(2025, 3, 31)) == dt.datetime(
        2025, 3, 31, 15, 30, tzinfo=dt.UTC
    )


def test_quiet_hours_across_midnight_hold_a_late_reminder_until_morning() -> None:
    plan = timing(training_time=dt.time(23, 0))
    assert plan.local(plan.send_at(Kind.TRAINING, dt.date(2025, 3, 5))) == dt.datetime(
        2025, 3, 6, 7, 0
    )
    morning = timing(morning_time=dt.time(6, 30))
    assert plan.local(morning.send_at(Kind.CHECKIN, dt.date(2025, 3, 5))) == dt.datetime(
        2025, 3, 5, 7, 0
    )


def test_quiet_hours_that_start_where_they_end_are_none() -> None:
    quiet = QuietHours(dt.time(8, 0), dt.time(8, 0))
    assert not quiet.active and not quiet.holds(dt.time(8, 0))


def test_an_unknown_time_zone_is_refused_in_plain_words() -> None:
    for name in ("Mars/Olympus", "../etc/passwd", ""):
        with pytest.raises(TimingError, match="time zone"):
            time_zone(name)


# ----- which reminders apply, and what they say -------------------------------------------


@pytest.fixture(scope="module")
def program(tmp_path_factory: pytest.TempPathFactory) -> Program:
    """The clear example's program (Monday, Wednesday, Friday), as the services make it."""
    from groundup.services import Services
    from groundup.storage.database import Database
    from test_reminders import begin

    database = Database(f"sqlite:///{tmp_path_factory.mktemp('p') / 'p.db'}")
    try:
        services = Services(database, load_rules())
        patient_id = services.enrol("Sam")
        begin(services, patient_id)
        return services.program(patient_id)
    finally:
        database.dispose()


def facts(
    day: dt.date, session: str = "planned", trained: bool = False, checked: bool = False
) -> DayFacts:
    return DayFacts(day, session, trained, checked)


def test_which_reminders_apply(program: Program) -> None:
    rules = load_rules()
    every = frozenset(Kind)
    day = program.start_date + dt.timedelta(days=1)
    assert relevant(Kind.TRAINING, program, facts(day), rules, every)
    assert not relevant(Kind.TRAINING, program, facts(day, "done"), rules, every)
    assert not relevant(Kind.TRAINING, program, facts(day, "rest"), rules, every)
    assert relevant(Kind.CHECKIN, program, facts(day, trained=True), rules, every)
    assert not relevant(Kind.CHECKIN, program, facts(day), rules, every), "no session yesterday"
    assert not relevant(Kind.CHECKIN, program, facts(day, trained=True, checked=True), rules, every)
    assert not relevant(Kind.FLARE, program, facts(day), rules, every), "no flare-up"
    due = retest_due_since(program, rules)
    assert relevant(Kind.RETEST, program, facts(due), rules, every)
    assert not relevant(Kind.RETEST, program, facts(due - dt.timedelta(days=1)), rules, every)
    assert relevant(Kind.RETEST, program, facts(due + dt.timedelta(days=7)), rules, every)
    assert not relevant(Kind.RETEST, program, facts(due + dt.timedelta(days=3)), rules, every)


def test_a_flare_up_asks_each_morning_instead_of_the_plain_check_in(program: Program) -> None:
    rules = load_rules()
    day = program.start_date + dt.timedelta(days=2)
    flaring = program.model_copy(
        update={
            "state": program.state.model_copy(
                update={
                    "flare": FlareState(
                        started=day, stage=0, sessions_left_in_stage=2, volume_fraction=0.5
                    )
                }
            )
        }
    )
    every = frozenset(Kind)
    assert relevant(Kind.FLARE, flaring, facts(day), rules, every)
    assert not relevant(Kind.CHECKIN, flaring, facts(day, trained=True), rules, every)
    assert relevant(
        Kind.CHECKIN, flaring, facts(day, trained=True), rules, frozenset({Kind.CHECKIN})
    ), "without the follow-up chosen, the plain check-in reminder stays"
    words = compose(
        Kind.FLARE, flaring, day, name="Fran", minutes=20, exercise_lines=[], retest_weeks=1
    )
    text = " ".join(words.paragraphs)
    assert "about 50% of the usual amount" in text and "see a doctor" in text
    training = compose(
        Kind.TRAINING, flaring, day, name="Fran", minutes=20, exercise_lines=["x"], retest_weeks=1
    )
    assert any("lighter" in p for p in training.paragraphs)


def test_nothing_urges_training_while_the_program_says_see_a_doctor(program: Program) -> None:
    rules = load_rules()
    referred = program.model_copy(
        update={"state": program.state.model_copy(update={"referred": True})}
    )
    day = program.start_date + dt.timedelta(days=1)
    for kind in Kind:
        assert not relevant(kind, referred, facts(day, trained=True), rules, frozenset(Kind))


def test_what_the_reminders_say_comes_from_the_program(program: Program) -> None:
    day = dt.date(2025, 3, 6)  # a Thursday; the example trains Monday, Wednesday, Friday
    training = compose(
        Kind.TRAINING,
        program,
        day,
        name="Sam",
        minutes=27,
        exercise_lines=["Seated heel raise, both legs: 2 × 10 reps"],
        retest_weeks=2,
    )
    assert f"stage {program.phase.number}" in training.paragraphs[1]
    assert "about 27 minutes" in training.paragraphs[1]
    assert training.items == ("Seated heel raise, both legs: 2 × 10 reps",)
    assert training.path == "/me"
    checkin = compose(
        Kind.CHECKIN, program, day, name="Sam", minutes=27, exercise_lines=[], retest_weeks=2
    )
    assert checkin.after == ("Your next session: Friday 7 March.",)
    assert checkin.path == "/me/checkin"
    retest = compose(
        Kind.RETEST, program, day, name="Sam", minutes=27, exercise_lines=[], retest_weeks=6
    )
    assert "6 weeks since your last tests" in retest.paragraphs[1]
    assert retest.path == "/me/retest"
    assert next_training_day(program, day) == dt.date(2025, 3, 7)
    assert day_words(dt.date(2025, 12, 1)) == "Monday 1 December"
