"""A clinician's own exercise from the form to the patient's session player, in Chromium:
the clinician writes the exercise, uploads its photo, writes a protocol with it, enrols a
patient and starts their program on that protocol; the patient signs up with the invite
and meets the exercise, with its photo, in the session player. The second journey builds
a protocol in three phases in the form (the first with three stages of weeks), swaps an
exercise for the own one with a reason in the program editor; the patient meets it with
its photo in the player, at the dose the program holds, and on the handout, logs the
session as the player offers it, and after a second clean day the engine steps its dose
up; a week on, the engine moves the protocol to its second phase, the swap carried. Screenshots of the new
clinician pages at phone and desktop sizes go to artifacts/screenshots/."""

from __future__ import annotations

import datetime as dt
import io
import re
from collections.abc import Iterator
from pathlib import Path

import pypdfium2
import pytest
from PIL import Image, ImageDraw
from playwright.sync_api import Browser, Page, expect
from test_journeys import DESKTOP, PHONE, fill, shoot, sign_in_staff

from conftest import demo_server
from groundup.clinical.logs import CheckIn, ExerciseLog, SessionLog, SetLog
from groundup.knowledge import load_rules
from groundup.services import Services
from groundup.storage.database import Database

pytestmark = pytest.mark.browser

NAME = "Towel-roll calf hold"


# The own exercise both journeys write.
TOWEL_FIELDS = {
    "id": "towel_calf_hold",
    "name": NAME,
    "summary": "Rising onto a rolled towel and holding loads the calf at an easy angle.",
    "laterality": "both_legs",
    "role_gastrocnemius": "prime_mover",
    "role_soleus": "synergist",
    "phases": ["activation", "low_load_resistance", "higher_load"],
    "equipment": ["wall"],
    "tempo_top": "3",
    "knob_name": "towel height",
    "knob_levels": "flat towel, rolled towel, two towels",
    "knob_default": "rolled towel",
    "knob_easier_how": "Use a flat towel.",
    "knob_harder_how": "Stack a second towel.",
    "steps": "Stand facing a wall, toes on a rolled towel.\nRise, hold, lower slowly.",
    "cues": "Weight over the big toe.",
    "faults": "The ankles roll outwards. | Press the big toe down.",
    "regression": "calf_raise_wall",
}


def photo(path: Path) -> Path:
    image = Image.new("RGB", (1200, 800), (236, 240, 244))
    draw = ImageDraw.Draw(image)
    draw.rectangle((380, 560, 820, 620), fill=(120, 80, 40))  # a rolled towel
    draw.ellipse((520, 120, 680, 280), fill=(60, 90, 140))
    draw.rectangle((560, 280, 640, 560), fill=(60, 90, 140))
    out = io.BytesIO()
    image.save(out, format="JPEG")
    path.write_bytes(out.getvalue())
    return path


def test_an_own_exercise_with_its_photo_reaches_the_patients_player(
    browser: Browser, live_server: str, screenshots: Path, tmp_path: Path
) -> None:
    page = browser.new_page(viewport=DESKTOP)
    sign_in_staff(page, live_server, "clinician@demo.groundup.example", "demo-clinic-2026")
    expect(page).to_have_url(f"{live_server}/clinic")
    page.get_by_role("link", name="Exercises").click()
    expect(page.get_by_role("heading", name="Own exercises and protocols")).to_be_visible()
    page.get_by_role("link", name="New exercise").click()
    shoot(page, screenshots, "30-own-exercise-new")
    fill(page, TOWEL_FIELDS)
    page.get_by_role("button", name="Create exercise").click()
    expect(page.get_by_text("Saved as version 1")).to_be_visible()
    page.locator('input[name="photo"]').set_input_files(str(photo(tmp_path / "towel.jpg")))
    page.get_by_role("button", name="Upload photo").click()
    expect(page.get_by_text("Photo saved")).to_be_visible()
    shown = page.locator('.photo-card img[src^="/exercise-pictures/"]')
    expect(shown).to_be_visible()
    assert shown.evaluate("img => img.naturalWidth") == 1200
    shoot(page, screenshots, "31-own-exercise-photo")

    # The advanced way: the protocol written as YAML.
    page.goto(f"{live_server}/clinic/protocols/new")
    page.get_by_role("link", name="Advanced: edit as YAML").click()
    page.locator('textarea[name="text"]').fill(
        "key: towel_protocol\n"
        "name: Towel calf protocol\n"
        "description: The towel calf hold with shin raises to balance it, every day.\n"
        "source: Own clinical practice\n"
        "confidence: U\n"
        "phase: low_load_resistance\n"
        "training_days: [0, 1, 2, 3, 4, 5, 6]\n"
        "include_warm_up: false\n"
        "include_mobility: false\n"
        "items:\n"
        "  - {exercise_id: towel_calf_hold, sets: 3, amount: 10}\n"
        "  - {exercise_id: tibialis_raise_wall, sets: 2, amount: 15}\n"
    )
    shoot(page, screenshots, "32-own-protocol")
    page.get_by_role("button", name="Save protocol").click()
    expect(page.get_by_text("Protocol saved")).to_be_visible()
    expect(page.locator("table.own-exercises")).to_contain_text(NAME)
    shoot(page, screenshots, "33-own-exercises")

    # A new patient, screened and assessed, started on the protocol.
    page.goto(f"{live_server}/clinic/new")
    fill(page, {"name": "Olu Own"})
    page.get_by_role("button", name="Create patient").click()
    code = page.locator(".invite-code").inner_text().strip()
    patient = re.search(r"/clinic/patients/([0-9a-f]{32})/assess", page.content())
    assert patient is not None
    page.goto(f"{live_server}/clinic/patients/{patient.group(1)}/assess")
    page.get_by_role("button", name="Record screen").click()
    today = dt.date.today()
    fill(
        page,
        {
            "date": today.isoformat(),
            "age": "41",
            "sex": "female",
            "affected_side": "left",
            "symptom_duration_weeks": "20",
            "pain.at_rest": "1",
            "pain.during_activity": "4",
            "pain.on_waking": "2",
            "pain.lingers_after_activity_hours": "1",
            "tests.heel_raise_reps.left": "14",
            "tests.heel_raise_reps.right": "24",
            "template": "towel_protocol",
        },
    )
    page.get_by_role("button", name="Record assessment and start the program").click()
    expect(page.get_by_text("Program started from the assessment.")).to_be_visible()
    assert NAME in page.content()
    page.close()

    # The patient signs up with the invite and opens today's session.
    person = browser.new_page(viewport=PHONE)
    person.goto(f"{live_server}/register?invite={code}")
    fill(
        person,
        {"display_name": "Olu Own", "email": "olu@example.org", "password": "a long enough one"},
    )
    person.get_by_role("button", name="Create account").click()
    if "/login" in person.url:
        fill(person, {"email": "olu@example.org", "password": "a long enough one"})
        person.get_by_role("button", name="Sign in").click()
    person.goto(f"{live_server}/me")
    person.get_by_role("button", name="Start the session").click()
    for _ in range(10):
        if person.get_by_role("heading", name=NAME).count():
            break
        person.locator('input[name="pain"][value="2"]').check(force=True)
        if person.locator('input[name="effort"][value="6"]').count():
            person.locator('input[name="effort"][value="6"]').check(force=True)
        person.locator('button[name="action"][value="next"]').click()
    expect(person.get_by_role("heading", name=NAME)).to_be_visible()
    image = person.locator('figure.exercise-photo img[src^="/exercise-pictures/"]')
    expect(image).to_be_visible()
    assert image.evaluate("img => img.complete && img.naturalWidth") == 1200
    expect(person.get_by_text("towel height: rolled towel")).to_be_visible()
    shoot(person, screenshots, "34-own-exercise-player")
    person.close()


# ----- the form-built protocol, a swap in the editor, the player, the handout, progress ----

SWAP_REASON = "The towel hold is kinder to her calf than the plain wall raise this month"


@pytest.fixture(scope="module")
def own_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """A demo server of its own, with its data folder known: the second day's session is
    logged through the services on that folder's database, dated the next day."""
    home = tmp_path_factory.mktemp("own-journey")
    with demo_server(home) as url:
        yield url, home


def _own_exercise(page: Page, live_server: str, tmp_path: Path) -> None:
    page.goto(f"{live_server}/clinic/exercises/new")
    fill(page, TOWEL_FIELDS)
    page.get_by_role("button", name="Create exercise").click()
    expect(page.get_by_text("Saved as version 1")).to_be_visible()
    page.locator('input[name="photo"]').set_input_files(str(photo(tmp_path / "towel.jpg")))
    page.get_by_role("button", name="Upload photo").click()
    expect(page.get_by_text("Photo saved")).to_be_visible()


def test_a_form_built_protocol_a_swap_with_a_reason_the_player_the_handout_and_progress(
    browser: Browser, own_server: tuple[str, Path], screenshots: Path, tmp_path: Path
) -> None:
    live_server, home = own_server
    page = browser.new_page(viewport=DESKTOP)
    sign_in_staff(page, live_server, "clinician@demo.groundup.example", "demo-clinic-2026")
    expect(page).to_have_url(f"{live_server}/clinic")
    _own_exercise(page, live_server, tmp_path)

    # The protocol, built in the form: three phases, the first with two exercises and three
    # stages of weeks, each moving on by its own rule; no YAML.
    page.goto(f"{live_server}/clinic/protocols/new")
    expect(page.locator('textarea[name="text"]')).to_have_count(0)
    fill(
        page,
        {
            "key": "calf_three_stages",
            "name": "Calf in three phases",
            "description": "Wall calf raises and shin raises every day, then heavier in two more phases.",
            "phase": "low_load_resistance",
            "training_days": [str(d) for d in range(7)],
        },
    )
    page.locator('input[name="include_warm_up"]').uncheck()
    page.locator('input[name="include_mobility"]').uncheck()
    page.locator('select[name="items.0.exercise_id"]').select_option("calf_raise_wall")
    fill(page, {"items.0.sets": "2", "items.0.amount": "10"})
    page.locator('select[name="items.1.exercise_id"]').select_option("tibialis_raise_wall")
    fill(page, {"items.1.sets": "2", "items.1.amount": "12"})
    # The own exercise is offered among the clinician's own.
    expect(
        page.locator('select[name="items.0.exercise_id"] optgroup[label^="Own"] option')
    ).to_contain_text([NAME])
    for stage, (first, last) in enumerate([(1, 2), (3, 4), (5, 6)]):
        page.get_by_role("button", name="Add stage").click()
        fill(
            page,
            {
                f"blocks.{stage}.weeks_from": str(first),
                f"blocks.{stage}.weeks_to": str(last),
                f"blocks.{stage}.sets": "2",
                f"blocks.{stage}.amount": "10",
                f"blocks.{stage}.note": f"Stage {stage + 1}",
            },
        )
    # What was filled before each added row is still there.
    expect(page.locator('input[name="items.1.amount"]')).to_have_value("12")
    # Two more phases, each with its exercises; each phase but the last with its rule.
    page.get_by_role("button", name="Add a phase").click()
    page.get_by_role("button", name="Add a phase").click()
    expect(page.locator("fieldset.protocol-phase")).to_have_count(3)
    expect(page.locator('input[name="blocks.2.note"]')).to_have_value("Stage 3")
    fill(
        page,
        {
            "phases.0.name": "Settle",
            "phases.0.move_on": "weeks",
            "phases.0.after_weeks": "1",
            "phases.1.name": "Load",
            "phases.1.phase": "higher_load",
            "phases.1.move_on": "milestones",
            "phases.2.name": "Build",
            "phases.2.phase": "higher_load",
        },
    )
    moving_on = page.locator("#phase-2 .milestone-pick")
    moving_on.get_by_text("Gate of 5. Higher load").click()
    for milestone in ("higher_pain_free", "higher_min_sessions"):
        moving_on.locator(f'input[value="{milestone}"]').check()
    page.locator('select[name="phases.1.items.0.exercise_id"]').select_option("calf_raise_wall")
    fill(page, {"phases.1.items.0.sets": "3", "phases.1.items.0.amount": "12"})
    page.locator('select[name="phases.1.items.1.exercise_id"]').select_option(
        "single_leg_heel_raise"
    )
    fill(page, {"phases.1.items.1.sets": "2", "phases.1.items.1.amount": "10"})
    page.locator('select[name="phases.2.items.0.exercise_id"]').select_option("hsr_calf_raise")
    fill(page, {"phases.2.items.0.sets": "3", "phases.2.items.0.amount": "15"})
    # Out of the last field filled before the window changes size: Chromium scrolls a
    # focused field back into view after a resize, which would move the page under the
    # next click.
    page.evaluate("document.activeElement && document.activeElement.blur()")
    for size in (PHONE, DESKTOP):  # no sideways scroll at either width
        page.set_viewport_size(size)
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    shoot(page, screenshots, "61-protocol-three-phases")
    page.set_viewport_size(DESKTOP)
    page.get_by_role("button", name="Save protocol").click()
    expect(page.get_by_text("Protocol saved")).to_be_visible()
    expect(page.locator("main")).to_contain_text("Calf in three phases")

    # A patient, assessed and started on it.
    page.goto(f"{live_server}/clinic/new")
    fill(page, {"name": "Ada Swap"})
    page.get_by_role("button", name="Create patient").click()
    code = page.locator(".invite-code").inner_text().strip()
    found = re.search(r"/clinic/patients/([0-9a-f]{32})/assess", page.content())
    assert found is not None
    patient_id = found.group(1)
    page.goto(f"{live_server}/clinic/patients/{patient_id}/assess")
    page.get_by_role("button", name="Record screen").click()
    today = dt.date.today()
    fill(
        page,
        {
            "date": today.isoformat(),
            "age": "38",
            "sex": "female",
            "affected_side": "left",
            "symptom_duration_weeks": "16",
            "pain.at_rest": "0",
            "pain.during_activity": "3",
            "pain.on_waking": "1",
            "pain.lingers_after_activity_hours": "1",
            "tests.heel_raise_reps.left": "14",
            "tests.heel_raise_reps.right": "24",
            "template": "calf_three_stages",
        },
    )
    page.get_by_role("button", name="Record assessment and start the program").click()
    expect(page.get_by_text("Program started from the assessment.")).to_be_visible()

    # The swap, with its reason, in the program editor.
    page.goto(f"{live_server}/clinic/patients/{patient_id}/program")
    swap = page.locator("form#swap")
    swap.locator('select[name="swap"]').select_option("calf_raise_wall:towel_calf_hold")
    swap.locator('input[name="reason"]').fill(SWAP_REASON)
    swap.get_by_role("button", name="Swap exercise").click()
    expect(page.locator(".result")).to_contain_text("override.swap_exercise")
    expect(page.locator(".result")).to_contain_text(SWAP_REASON)
    expect(page.locator("table.program")).to_contain_text(NAME)
    page.close()

    # The patient: the new exercise with its photo in the player; the session logged.
    person = browser.new_page(viewport=PHONE)
    person.goto(f"{live_server}/register?invite={code}")
    fill(
        person,
        {"display_name": "Ada Swap", "email": "ada@example.org", "password": "a long enough one"},
    )
    person.get_by_role("button", name="Create account").click()
    if "/login" in person.url:
        fill(person, {"email": "ada@example.org", "password": "a long enough one"})
        person.get_by_role("button", name="Sign in").click()
    person.goto(f"{live_server}/me")
    person.get_by_role("button", name="Start the session").click()
    met = False
    for _ in range(40):
        if person.get_by_role("button", name="Save this session").count():
            break
        if person.get_by_role("heading", name=NAME).count():
            met = True
            image = person.locator('figure.exercise-photo img[src^="/exercise-pictures/"]')
            expect(image).to_be_visible()
            assert image.evaluate("img => img.complete && img.naturalWidth") == 1200
            shoot(person, screenshots, "62-swapped-own-exercise-player")
            # The player offers the dose the program holds (the protocol's 2 × 10): the
            # session is done as offered.
            expect(person.locator(".big-number")).to_have_text("2 × 10 reps")
            offered = [box.input_value() for box in person.locator('input[name^="set"]').all()]
            assert offered == ["10", "10"], offered
        person.locator('input[name="pain"][value="1"]').check(force=True)
        if person.locator('input[name="effort"][value="5"]').count():
            person.locator('input[name="effort"][value="5"]').check(force=True)
        if person.locator('input[name="form"][value="clean"]').count():
            person.locator('input[name="form"][value="clean"]').check(force=True)
        person.locator('button[name="action"][value="next"]').click()
    assert met, "the swapped-in exercise never came up in the player"
    person.locator('input[name="pain_after"][value="0"]').check(force=True)
    person.get_by_role("button", name="Save this session").click()
    expect(person.get_by_text("Session saved")).to_be_visible()

    # The handout: the exercise by name, with its photo embedded as an image.
    handout = person.request.get(f"{live_server}/me/handout.pdf")
    assert handout.status == 200
    pdf = pypdfium2.PdfDocument(handout.body())
    text = " ".join(pdf[i].get_textpage().get_text_range() for i in range(len(pdf)))
    assert NAME in " ".join(text.split())
    images = [
        obj.get_px_size()
        for i in range(len(pdf))
        for obj in pdf[i].get_objects(filter=(pypdfium2.raw.FPDF_PAGEOBJ_IMAGE,), max_depth=3)
    ]
    assert any(abs(w / h - 1.5) < 0.02 for w, h in images), images
    person.close()

    # The next day (through the services on the server's database): a second clean session
    # on another day, and the engine steps the new exercise's dose up.
    tomorrow = today + dt.timedelta(days=1)
    (path,) = home.glob("demo-*/demo-web.db")  # the demo server's own fresh database
    database = Database(f"sqlite:///{path}")
    try:
        now = [tomorrow]
        services = Services(database, load_rules(), actor="test", clock=lambda: now[0])
        before = services.program(patient_id).slot("towel_calf_hold")
        assert before is not None and services.program(patient_id).slot("calf_raise_wall") is None
        program = services.program(patient_id)
        # The next morning's check-in: the response to the first session, known.
        services.record_checkin(
            patient_id, CheckIn(date=tomorrow, pain_on_waking=0, stiffness_on_waking=0)
        )
        services.log_session(
            patient_id,
            SessionLog(
                id="ada-day-two",
                date=tomorrow,
                exercises=tuple(
                    ExerciseLog(
                        exercise_id=s.exercise_id,
                        side=d.side,
                        sets=tuple(SetLog(amount=d.amount, rpe=4, pain=1) for _ in range(d.sets)),
                    )
                    for s in program.slots
                    for d in s.doses
                ),
                pain_after=0,
            ),
        )
        after = services.program(patient_id).slot("towel_calf_hold")
        assert after is not None
        assert [(d.sets, d.amount, d.load_kg, d.knob) for d in after.doses] != [
            (d.sets, d.amount, d.load_kg, d.knob) for d in before.doses
        ], "the engine never stepped up the swapped-in exercise"
        assert any(
            d.kind == "progress" and d.exercise_id == "towel_calf_hold"
            for d in services.decisions(patient_id)
        )

        # Day by day to the end of the first phase's week: the engine moves the protocol on
        # to its second phase by the phase's rule, and the swap is carried into it.
        assert services.program(patient_id).stage == 0
        day = tomorrow
        while services.program(patient_id).stage == 0 and day < today + dt.timedelta(days=10):
            day += dt.timedelta(days=1)
            now[0] = day
            program = services.program(patient_id)
            services.record_checkin(
                patient_id, CheckIn(date=day, pain_on_waking=0, stiffness_on_waking=0)
            )
            services.log_session(
                patient_id,
                SessionLog(
                    id=f"ada-{day.isoformat()}",
                    date=day,
                    exercises=tuple(
                        ExerciseLog(
                            exercise_id=s.exercise_id,
                            side=d.side,
                            sets=tuple(
                                SetLog(amount=d.amount, rpe=4, pain=1) for _ in range(d.sets)
                            ),
                        )
                        for s in program.slots
                        for d in s.doses
                    ),
                    pain_after=0,
                ),
            )
        moved = services.program(patient_id)
        assert moved.stage == 1 and day == today + dt.timedelta(days=7), (moved.stage, day)
        assert moved.phase.value == "higher_load"
        (advance,) = [d for d in services.decisions(patient_id) if d.rule == "stage.advance"]
        assert advance.numbers["after_weeks"] == 1 and advance.numbers["days_in_phase"] == 7
        assert "phase 2, Load" in advance.person_text
        assert moved.slot("single_leg_heel_raise") is not None
        assert moved.slot("towel_calf_hold") is not None
        assert moved.slot("calf_raise_wall") is None, "the swap was not carried"
        assert "stays in place of calf raise" in advance.person_text.lower()
    finally:
        database.dispose()
