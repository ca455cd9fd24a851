"""The printed handout and progress report: built for demo people with five weeks of
history, read back with pypdfium2 (text and pixels), through the library, the command
line and the web app."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pypdfium2 as pdfium
import pytest
from fastapi.testclient import TestClient

from groundup import demo
from groundup.clinical.intake import score_questionnaires
from groundup.clinical.outcomes import interpret_change
from groundup.clinical.program import dose_words
from groundup.documents import NoProgram, build_handout, build_report
from groundup.documents.handout import pain_zones
from groundup.documents.layout import WEEKDAYS
from groundup.knowledge import load_rules
from groundup.services import Services
from groundup.services.accounts import Accounts
from groundup.storage.database import Database
from groundup.web.app import create_app
from test_cli_e2e import run as cli
from test_web_clinician import sign_in, staff

TODAY = dt.date(2026, 3, 7)  # a Saturday
# A rendered page counts as blank below this share of non-white pixels. A page with only
# the running header and page number has about 0.002; the emptiest real page (the last
# diary week) about 0.03.
INK_MIN = 0.01


def pages_text(pdf: bytes) -> list[str]:
    """Each page's text with runs of white space (line breaks in cells) made single spaces."""
    document = pdfium.PdfDocument(pdf)
    try:
        texts = []
        for page in document:
            textpage = page.get_textpage()
            texts.append(" ".join(textpage.get_text_range().split()))
        return texts
    finally:
        document.close()


def ink(pdf: bytes) -> list[float]:
    """The share of clearly non-white pixels on each page, rendered at 50 dpi."""
    document = pdfium.PdfDocument(pdf)
    try:
        shares = []
        for page in document:
            image = page.render(scale=50 / 72).to_pil().convert("L")
            histogram = image.histogram()
            dark = sum(histogram[:230])
            shares.append(dark / (image.width * image.height))
        return shares
    finally:
        document.close()


def flat(text: str) -> str:
    return " ".join(text.split())


@dataclass
class World:
    services: Services
    accounts: Accounts
    people: dict[str, str]  # first name → patient id
    handout: bytes
    report: bytes
    clinician_report: bytes


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    path = tmp_path_factory.mktemp("documents") / "d.db"
    database = Database(f"sqlite:///{path}")
    services = Services(database, load_rules(), clock=lambda: TODAY)
    accounts = Accounts(services)
    demo.seed(services, accounts, TODAY)
    people = {p.display_name.split()[0]: p.id for p in services.patients()}
    sam = people["Sam"]
    yield World(
        services,
        accounts,
        people,
        build_handout(services, sam, TODAY),
        build_report(services, sam, TODAY, "person"),
        build_report(services, sam, TODAY, "clinician"),
    )
    database.dispose()


# ----- the handout -------------------------------------------------------------------------


def test_the_handout_names_the_person_phase_and_every_exercise_with_its_dose(
    world: World,
) -> None:
    text = " ".join(pages_text(world.handout))
    program = world.services.program(world.people["Sam"])
    library = world.services.rules.library
    assert "Sam Steady" in text
    assert f"Phase {program.phase.number}: {program.phase.label}" in text
    for slot in program.slots:
        exercise = library[slot.exercise_id]
        assert exercise.name in text
        for dose in slot.doses:
            assert dose_words(dose, exercise.dose_type) in text
    # The weaker side's extra set is spelt out where it has one.
    weaker = [
        s for s in program.slots if len({d.sets for d in s.doses}) > 1 and program.weaker_side
    ]
    assert weaker, "the demo program gives the weaker side extra sets"
    assert "your weaker side: 1 extra set" in text


def test_the_handout_states_the_pain_rules_from_the_engines_thresholds(world: World) -> None:
    text = " ".join(pages_text(world.handout))
    p = world.services.rules.progression
    assert f"0 to {p.pain_safe_max} Fine" in text
    assert f"{p.pain_safe_max + 1} to {p.pain_acceptable_max} Acceptable" in text
    assert f"{p.flare_pain} or more Flare-up" in text
    assert f"When {p.consecutive_sessions} sessions in a row stay here" in text
    assert f"{p.morning_worse_by} point or more worse than before the session" in text
    assert f"Right after a session pain may reach {p.pain_after_acceptable_max} out of 10" in text
    assert f"at {p.flare_pain_after} or more, the flare-up plan starts" in text
    assert "When to stop and get help" in text
    assert "call an ambulance" in text


def test_the_pain_rules_follow_the_thresholds_they_are_given() -> None:
    rules = load_rules().progression.model_copy(
        update={"pain_safe_max": 2, "pain_acceptable_max": 4, "flare_pain": 8}
    )
    zones = {zone.verdict: zone.band for zone in pain_zones(rules)}
    assert zones == {
        "Fine": "0 to 2",
        "Acceptable": "3 to 4",
        "Too much": "5 to 7",
        "Flare-up": "8 or more",
    }


def test_the_diary_lists_every_planned_session_of_the_coming_weeks(world: World) -> None:
    text = " ".join(pages_text(world.handout))
    program = world.services.program(world.people["Sam"])
    _, _, date_format = world.services.display(world.people["Sam"])
    planned = [
        TODAY + dt.timedelta(days=n)
        for n in range(28)
        if program.is_training_day(TODAY + dt.timedelta(days=n))
    ]
    assert len(planned) == 4 * len(program.training_days)
    for day in planned:
        assert f"{WEEKDAYS[day.weekday()]} {day.strftime(date_format)}" in text
    assert "Week 4:" in text and "Week 5:" not in text
    two = " ".join(pages_text(build_handout(world.services, world.people["Sam"], TODAY, weeks=2)))
    assert "Week 2:" in two and "Week 3:" not in two


def test_each_exercise_card_stays_whole_on_one_page(world: World) -> None:
    program = world.services.program(world.people["Sam"])
    library = world.services.rules.library
    pages = pages_text(world.handout)
    count = len(program.slots)
    for number, slot in enumerate(program.slots, start=1):
        exercise = library[slot.exercise_id]
        holding = [p for p in pages if f"exercise {number} of {count}" in p]
        assert len(holding) == 1, exercise.name
        page = holding[0]
        assert exercise.name in page and "How to do it" in page
        for fault in exercise.faults:
            assert flat(fault.fix) in page, (exercise.name, fault.id)
        assert flat(exercise.steps[-1]) in page


# ----- the report --------------------------------------------------------------------------


def test_the_report_shows_lsi_outcome_verdicts_and_decisions(world: World) -> None:
    sam = world.people["Sam"]
    text = " ".join(pages_text(world.report))
    assessments = world.services.assessments(sam)
    assert len(assessments) >= 2, "the demo person has been re-tested"
    first = {c["test"]: c["lsi"] for c in assessments[0][3]["comparisons"]}
    latest = {c["test"]: c["lsi"] for c in assessments[-1][3]["comparisons"]}
    heel = world.services.rules.assessment.tests["heel_raise_reps"].person_label.capitalize()
    assert f"{heel} {first['heel_raise_reps']:.0f} % {latest['heel_raise_reps']:.0f} %" in text
    rules = world.services.rules
    before = score_questionnaires(assessments[0][2], rules.questionnaires)["lefs"]
    after = score_questionnaires(assessments[-1][2], rules.questionnaires)["lefs"]
    assert before.value is not None and after.value is not None
    verdict = interpret_change(rules.questionnaires.measure("lefs"), before.value, after.value)
    assert flat(verdict.plain) in text
    advance = [d for d in world.services.decisions(sam) if d.rule == "phase.advance"]
    assert advance, "the demo person moved on a phase"
    assert flat(advance[-1].person_text) in text
    assert "What comes next" in text and "Next re-test:" in text
    # Charts are drawn: their axis labels are text in the PDF.
    assert "pain 0–10" in text and "minutes of work" in text


def test_the_clinician_report_adds_rule_ids_numbers_and_clinical_wording(world: World) -> None:
    sam = world.people["Sam"]
    person = " ".join(pages_text(world.report))
    clinician = " ".join(pages_text(world.clinician_report))
    decisions = world.services.decisions(sam)
    for rule in ("phase.advance", "retest.recorded", "progress.reps"):
        assert rule in clinician
        assert rule not in person
    advance = [d for d in decisions if d.rule == "phase.advance"][-1]
    assert flat(advance.clinician_text) in clinician
    assert flat(advance.clinician_text) not in person
    gate = world.services.rules.phases[world.services.program(sam).phase].gate
    assert all(c.id in clinician for c in gate)
    assert "MCID" in clinician and "MCID" not in person


def test_every_page_of_every_document_has_ink(world: World) -> None:
    for name, pdf in (
        ("handout", world.handout),
        ("report", world.report),
        ("clinician report", world.clinician_report),
    ):
        shares = ink(pdf)
        assert shares, name
        assert min(shares) > INK_MIN, (name, [round(s, 3) for s in shares])


def test_a_flaring_persons_handout_says_the_doses_are_lighter(world: World) -> None:
    fran = world.people["Fran"]
    program = world.services.program(fran)
    assert program.state.flare is not None
    text = " ".join(pages_text(build_handout(world.services, fran, TODAY, weeks=1)))
    assert "Flare-up plan in force" in text


def test_a_person_who_started_today_gets_both_documents(world: World) -> None:
    intake = demo._intake()
    assert intake.screen is not None and intake.assessment is not None
    new = world.services.enrol("Nell New", mass_unit="lb", date_format="%d/%m/%Y")
    world.services.record_screen(new, intake.screen, TODAY)
    world.services.start_program(
        new, intake.assessment.model_copy(update={"date": TODAY}), intake.preferences, day=TODAY
    )
    handout = " ".join(pages_text(build_handout(world.services, new, TODAY, weeks=1)))
    assert "Nell New" in handout and TODAY.strftime("%d/%m/%Y") in handout
    report = " ".join(pages_text(build_report(world.services, new, TODAY, "person")))
    assert "Sessions done: 0 of" in report
    assert "Shown once the questionnaires have been answered again" in report
    assert "Log a session or a check-in to see this" in report


def test_no_program_means_nothing_to_print(world: World) -> None:
    nobody = world.services.enrol("Nobody Yet")
    with pytest.raises(NoProgram, match="no program yet"):
        build_handout(world.services, nobody, TODAY)
    with pytest.raises(NoProgram, match="no program yet"):
        build_report(world.services, nobody, TODAY, "clinician")


# ----- the command line --------------------------------------------------------------------


def test_the_commands_write_the_pdfs_and_refuse_without_a_program(tmp_path: Path) -> None:
    services = Services(Database(f"sqlite:///{tmp_path / 'g.db'}"), load_rules())
    demo.seed(services, Accounts(services), dt.date.today())
    sam = next(p.id for p in services.patients() if p.display_name == "Sam Steady")
    nobody = services.enrol("Nobody Yet")

    mine = tmp_path / "mine.pdf"
    result = cli(tmp_path, "handout", "--person", sam, "--out", str(mine), "--weeks", "2")
    assert result.returncode == 0, result.stderr
    assert str(mine) in result.stdout
    text = " ".join(pages_text(mine.read_bytes()))
    assert "Sam Steady" in text and "Week 2:" in text and "Week 3:" not in text

    written = tmp_path / "clinic.pdf"
    result = cli(tmp_path, "report", "--person", sam, "--clinician", "--out", str(written))
    assert result.returncode == 0, result.stderr
    assert str(written) in result.stdout
    assert "phase.advance" in " ".join(pages_text(written.read_bytes()))

    for command in ("handout", "report"):
        target = tmp_path / f"{command}-none.pdf"
        result = cli(tmp_path, command, "--person", nobody, "--out", str(target))
        assert result.returncode == 2
        assert "Traceback" not in result.stderr
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and "no program yet" in lines[0], result.stderr
        assert not target.exists()


# ----- the web app -------------------------------------------------------------------------


def assert_pdf(response: object) -> bytes:
    assert getattr(response, "status_code", None) == 200
    headers = getattr(response, "headers", {})
    assert headers["content-type"] == "application/pdf"
    assert "attachment" in headers["content-disposition"]
    content: bytes = getattr(response, "content", b"")
    assert content.startswith(b"%PDF")
    return content


def test_a_person_downloads_their_own_handout_and_report(world: World) -> None:
    client = TestClient(create_app(services=world.services), follow_redirects=False)
    assert sign_in(client, demo.PEOPLE[0][0], demo.PEOPLE[0][1]) == 303
    assert 'href="/me/handout.pdf"' in client.get("/me").text
    assert 'href="/me/report.pdf"' in client.get("/me/progress").text
    handout = " ".join(pages_text(assert_pdf(client.get("/me/handout.pdf"))))
    assert "Sam Steady" in handout and "Pain rules" in handout
    report = " ".join(pages_text(assert_pdf(client.get("/me/report.pdf"))))
    assert "Sam Steady" in report and "phase.advance" not in report
    assert client.get("/me/diary.pdf").status_code == 404
    # Another person's record is not theirs: the clinic pages are for clinicians.
    fran = world.people["Fran"]
    assert client.get(f"/clinic/patients/{fran}/handout.pdf").status_code == 403
    assert client.get(f"/clinic/patients/{fran}/report.pdf").status_code == 403


def test_a_clinician_downloads_a_patients_documents_and_no_one_elses(world: World) -> None:
    client = TestClient(create_app(services=world.services), follow_redirects=False)
    assert sign_in(client, demo.CLINICIAN[0], demo.CLINICIAN[1]) == 303
    sam = world.people["Sam"]
    page = client.get(f"/clinic/patients/{sam}").text
    assert f'href="/clinic/patients/{sam}/report.pdf"' in page
    report = " ".join(pages_text(assert_pdf(client.get(f"/clinic/patients/{sam}/report.pdf"))))
    assert "clinician version" in report and "phase.advance" in report
    assert_pdf(client.get(f"/clinic/patients/{sam}/handout.pdf"))

    other = staff(world.accounts, "other@clinic.test", "Dr Other")
    outsider = TestClient(create_app(services=world.services), follow_redirects=False)
    assert sign_in(outsider, "other@clinic.test") == 303
    for name in ("handout.pdf", "report.pdf"):
        response = outsider.get(f"/clinic/patients/{sam}/{name}")
        assert response.status_code == 404
        assert response.headers["content-type"].startswith("text/html")
    assert other.role == "clinician"


def test_no_program_yet_is_a_page_in_words_not_a_crash(world: World) -> None:
    client = TestClient(create_app(services=world.services), follow_redirects=False)
    clinician = next(c for c in world.accounts.clinicians() if c.email == demo.CLINICIAN[0])
    pid, _ = world.accounts.create_patient(clinician, "Not Started")
    assert sign_in(client, demo.CLINICIAN[0], demo.CLINICIAN[1]) == 303
    for name in ("handout.pdf", "report.pdf"):
        response = client.get(f"/clinic/patients/{pid}/{name}")
        assert response.status_code == 404
        assert "no program yet" in response.text
