"""The session player offers the dose the program holds. An exercise the clinician swaps
into a protocol run by blocks of weeks takes the block's sets × reps (as every main
exercise of it does), not its own starting dose: before, the player offered 8 reps of a
swapped-in exercise whose protocol held 2 × 10, the next session's block put it back to
10, and a person who did what the player offered never had the sessions at the program's
dose that a step up needs."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from groundup.clinical.logs import Override
from groundup.services.library import Owner
from test_services import intake
from test_web_own_exercises import Site, create

BLOCKED = {
    "key": "blocked_calf",
    "name": "Calf by blocks",
    "description": "Wall calf raises and shin raises every day, by blocks of weeks.",
    "source": "Own clinical practice",
    "confidence": "U",
    "phase": "low_load_resistance",
    "training_days": list(range(7)),
    "include_warm_up": False,
    "include_mobility": False,
    "items": [
        {"exercise_id": "calf_raise_wall", "sets": 2, "amount": 10},
        {"exercise_id": "tibialis_raise_wall", "sets": 2, "amount": 12},
    ],
    "blocks": [{"weeks_from": 1, "weeks_to": 4, "sets": 2, "amount": 10}],
}


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Site]:
    s = Site(tmp_path)
    yield s
    s.database.dispose()


def test_the_player_offers_a_swapped_in_exercise_at_the_protocols_block_dose(
    site: Site,
) -> None:
    create(site)  # the own exercise: towel_calf_hold, reps 8–15
    site.services.own.save_protocols(Owner.clinician(site.c.id), [BLOCKED], by_user_id=site.c.id)
    data = intake()
    assert data.screen is not None and data.assessment is not None
    pid, today = site.patient_id, dt.date.today()
    site.services.record_screen(pid, data.screen, today)
    site.services.start_program(
        pid,
        data.assessment.model_copy(update={"date": today}),
        data.preferences,
        day=today,
        template="blocked_calf",
    )
    site.services.apply_override(
        pid,
        Override(
            date=today,
            by="Dr Cee",
            reason="The towel hold is kinder to her calf this month",
            action="swap_exercise",
            exercise_id="calf_raise_wall",
            replacement="towel_calf_hold",
            confirm=True,
        ),
        by_user_id=site.c.id,
    )
    slot = site.services.program(pid).slot("towel_calf_hold")
    assert slot is not None
    assert [(d.sets, d.amount) for d in slot.doses] == [(2, 10.0)]
    # And the words say that dose, not "an easy dose" the block would overwrite.
    (swap,) = [d for d in site.services.decisions(pid) if d.rule == "override.swap_exercise"]
    assert "at this week's 2 × 10" in swap.person_text
    assert "at the protocol's block dose 2 × 10" in swap.clinician_text
    # The player's first screen is the swapped-in exercise, offered at that dose.
    person, csrf = site.client(site.person)
    today_page = person.get("/me").text
    fields = dict(re.findall(r'name="(log_id|version)" value="([^"]+)"', today_page))
    started = person.post(
        "/me/session/0",
        data={
            "csrf": csrf,
            "log_id": fields["log_id"],
            "version": fields["version"],
            "day": today.isoformat(),
            "draft": "[]",
            "action": "start",
        },
    )
    assert started.status_code == 200
    assert re.search(r"<h1[^>]*>\s*Towel calf hold", started.text), started.text[:3000]
    offered = re.findall(
        r'name="set\d+" type="text" inputmode="decimal" value="([^"]*)"', started.text
    )
    assert offered == ["10", "10"]
    assert "2 × 10 reps" in started.text
