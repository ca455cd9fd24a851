"""The demo tells the same story whatever day of the week it is prepared on: Sam has moved
up a phase, Fran's flare-up plan is running, Sid's stall has been noticed, and each history
runs up to that day."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from groundup import demo
from groundup.clinical.logs import SessionLog
from groundup.knowledge import load_rules
from groundup.services import Services
from groundup.services.accounts import Accounts
from groundup.storage.database import Database

SUNDAY = dt.date(2026, 12, 6)


@pytest.mark.parametrize(
    "offset", range(7), ids=lambda n: (SUNDAY + dt.timedelta(n)).strftime("%a")
)
def test_the_demo_story_holds_on_every_weekday(tmp_path: Path, offset: int) -> None:
    today = SUNDAY + dt.timedelta(days=offset)
    services = Services(
        Database(f"sqlite:///{tmp_path / 'demo.db'}"), load_rules(), clock=lambda: today
    )
    try:
        demo.seed(services, Accounts(services), today)
        people = {p.display_name: p.id for p in services.patients()}
        sam, fran, sid = people["Sam Steady"], people["Fran Flare"], people["Sid Stall"]
        assert any(d.rule == "phase.advance" for d in services.decisions(sam))
        assert services.program(fran).state.flare is not None
        assert any(d.rule.startswith("stall.") for d in services.decisions(sid))
        for person in (sam, fran, sid):
            sessions = [e for e in services.history(person) if isinstance(e, SessionLog)]
            # The last training day of the week before is never more than two days back.
            assert today - max(s.date for s in sessions) <= dt.timedelta(days=2)
    finally:
        services.db.dispose()
