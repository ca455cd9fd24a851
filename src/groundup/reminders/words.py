"""What a reminder says, in plain words, from the program: the session that is due today,
the next training day, the retest, the flare-up plan. Pure."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from groundup.clinical.program import Program
from groundup.reminders.timing import Kind

WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
LOOK_AHEAD_DAYS = 14


@dataclass(frozen=True)
class Reminder:
    """One reminder, ready for an e-mail or a notification."""

    kind: Kind
    title: str  # the e-mail's subject and the notification's title
    short: str  # the notification's text: a sentence or two
    paragraphs: tuple[str, ...]
    items: tuple[str, ...]  # a list under the first paragraphs (today's exercises)
    after: tuple[str, ...]  # paragraphs after the list
    action: str  # the button's words
    path: str  # where the button goes, within the app


def day_words(day: dt.date) -> str:
    """'Thursday 12 March'."""
    return f"{WEEKDAYS[day.weekday()]} {day.day} {MONTHS[day.month - 1]}"


def next_training_day(program: Program, after: dt.date) -> dt.date | None:
    """The first training day after `after`, within two weeks."""
    for offset in range(1, LOOK_AHEAD_DAYS + 1):
        day = after + dt.timedelta(days=offset)
        if program.is_training_day(day):
            return day
    return None


def _next_line(program: Program, day: dt.date, *, today_too: bool = False) -> str:
    if today_too and program.is_training_day(day):
        return "Your next session is today."
    upcoming = next_training_day(program, day)
    return f"Your next session: {day_words(upcoming)}." if upcoming else ""


def compose(
    kind: Kind,
    program: Program,
    day: dt.date,
    *,
    name: str,
    minutes: int,
    exercise_lines: Sequence[str],
    retest_weeks: int,
) -> Reminder:
    """The reminder of `kind` for the person's `day`, from their program as it is now.

    `exercise_lines` is today's session, one line an exercise and side with its dose;
    `minutes` the session's length; `retest_weeks` the time since the last tests."""
    hello = f"Hello {name},"
    flare = program.state.flare
    stage = f"stage {program.phase.number} ({program.phase.label.lower()})"
    if kind is Kind.TRAINING:
        paragraphs = [hello, f"today is a training day: {stage}, about {minutes} minutes."]
        if flare is not None:
            paragraphs.append(
                f"You are on the flare-up plan, so today's session is lighter: about "
                f"{flare.volume_fraction:.0%} of the usual amount."
            )
        paragraphs.append("Today's session:")
        return Reminder(
            kind=kind,
            title="Today is a training day",
            short=f"Stage {program.phase.number}, about {minutes} minutes. "
            "Open groundup when you are ready.",
            paragraphs=tuple(paragraphs),
            items=tuple(exercise_lines),
            after=(
                "Log it when you finish, with how much it hurt during and just after: "
                "your next session is built on what you log.",
            ),
            action="Open today's session",
            path="/me",
        )
    if kind is Kind.CHECKIN:
        return Reminder(
            kind=kind,
            title="Good morning: how did your leg wake up?",
            short="A one-minute check-in: pain and stiffness on waking. Your program waits for it.",
            paragraphs=(
                hello,
                "you trained yesterday. How much pain and stiffness did you wake up with, "
                "from 0 to 10? It takes a minute.",
                "Until groundup has your answer, your program holds instead of stepping up: "
                "a morning without a check-in is never taken as a good one.",
            ),
            items=(),
            after=tuple(line for line in (_next_line(program, day, today_too=True),) if line),
            action="Do the morning check-in",
            path="/me/checkin",
        )
    if kind is Kind.FLARE:
        amount = f"about {flare.volume_fraction:.0%} of the usual amount" if flare else "lighter"
        return Reminder(
            kind=kind,
            title="How is your leg this morning?",
            short="You are on the flare-up plan. Check in this morning, so it can step "
            "back up when your leg settles.",
            paragraphs=(
                hello,
                f"you are on the flare-up plan: sessions are lighter ({amount}) until the "
                "pain settles.",
                "Tell groundup how much pain and stiffness you woke up with. It steps the "
                "plan back up only when your mornings show the leg has settled.",
                "If the pain keeps rising, or you notice swelling, numbness, or a hot, red "
                "leg, stop the exercises and see a doctor.",
            ),
            items=(),
            after=tuple(line for line in (_next_line(program, day, today_too=True),) if line),
            action="Do the morning check-in",
            path="/me/checkin",
        )
    return Reminder(
        kind=kind,
        title="Your retest is due",
        short=f"It has been {retest_weeks} weeks since your last tests: "
        "time to see how far you have come.",
        paragraphs=(
            hello,
            f"it has been {retest_weeks} weeks since your last tests. Doing them again shows "
            "how far you have come, and your program moves on from what they find: some "
            "stages only open with fresh numbers.",
        ),
        items=(),
        after=tuple(
            line
            for line in (
                "A good time is a training day, before the session, when your legs are fresh.",
                _next_line(program, day, today_too=True),
            )
            if line
        ),
        action="Start the retest",
        path="/me/retest",
    )
