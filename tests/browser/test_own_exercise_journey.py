"""A clinician's own exercise from the form to the patient's session player, in Chromium:
the clinician writes the exercise, uploads its photo, writes a protocol with it, enrols a
patient and starts their program on that protocol; the patient signs up with the invite
and meets the exercise, with its photo, in the session player. Screenshots of the new
clinician pages at phone and desktop sizes go to artifacts/screenshots/."""

from __future__ import annotations

import datetime as dt
import io
import re
from pathlib import Path

import pytest
from PIL import Image, ImageDraw
from playwright.sync_api import Browser, expect
from test_journeys import DESKTOP, PHONE, fill, shoot, sign_in_staff

pytestmark = pytest.mark.browser

NAME = "Towel-roll calf hold"


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
    fill(
        page,
        {
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
        },
    )
    page.get_by_role("button", name="Create exercise").click()
    expect(page.get_by_text("Saved as version 1")).to_be_visible()
    page.locator('input[name="photo"]').set_input_files(str(photo(tmp_path / "towel.jpg")))
    page.get_by_role("button", name="Upload photo").click()
    expect(page.get_by_text("Photo saved")).to_be_visible()
    shown = page.locator('.photo-card img[src^="/exercise-pictures/"]')
    expect(shown).to_be_visible()
    assert shown.evaluate("img => img.naturalWidth") == 1200
    shoot(page, screenshots, "31-own-exercise-photo")

    page.goto(f"{live_server}/clinic/protocols/new")
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
