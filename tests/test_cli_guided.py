"""`groundup start` and `groundup retest`, driven as a person would: the real command in a
separate process, each test with its own database, answers typed on stdin."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from groundup.cli.guided import metronome, stopwatch, training_days, weeks
from groundup.knowledge import load_rules
from groundup.services import NotFound, Services
from groundup.storage.database import Database

ROOT = Path(__file__).resolve().parent.parent
CLEAR = ROOT / "examples" / "clear-left-calf.yaml"
REFER = ROOT / "examples" / "refer-dvt.yaml"
EXIT_INPUT, EXIT_REFER = 2, 3


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """A folder of one's own: the database and the remembered person live here."""
    return tmp_path


def groundup(
    home: Path, *args: str | Path, answers: list[str] | None = None
) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "COLUMNS": "120",
        "NO_COLOR": "1",
        "TERM": "dumb",
        "GROUNDUP_DATABASE_URL": f"sqlite:///{home / 'g.db'}",
        "GROUNDUP_DATA_DIR": str(home),
    }
    env.pop("GROUNDUP_DEBUG", None)
    return subprocess.run(
        [sys.executable, "-m", "groundup", *map(str, args)],
        input="" if answers is None else "\n".join(answers) + "\n",
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )


def stored(home: Path) -> Services:
    return Services(Database(f"sqlite:///{home / 'g.db'}"), load_rules())


def one_error_line(result: subprocess.CompletedProcess[str]) -> str:
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("groundup: ")
    assert "Traceback" not in result.stderr
    return lines[0]


# ----- answers for the guided flow -----------------------------------------------------

WHO = ["Robin", "metric", "1"]  # name, units, date format
SCREEN_CLEAR = [
    "",  # no recent injury: the Ottawa questions are skipped
    *["n"] * 3,  # calf pain, calf tenderness, one-sided swelling: the clot questions are skipped
    *["n"] * 4,  # compartment
    *["n"] * 3,  # infection
    *["n"] * 3,  # general health
    *["n"] * 3,  # nerves and circulation (cold feet is skipped after "no" to cramps)
    *["n"] * 2,  # bone and tendon (hopping and push-off are skipped)
]
FACTS = ["12", "38", "female", "right", "", "4 months", "1", "4", "2", "no", "2 hours"]
GOALS = ["running", "3", ""]  # one PSFS activity, then Enter to finish
TESTS = [
    *["15", "24"],  # heel raises
    *["", ""],  # shin raises: left out
    *["9", "11"],  # knee to wall, cm
    *["", ""],  # balance: left out
    *["30", "30"],  # heel walk
    *["", "20"],  # toe walk: right side only
    *["", ""] * 3,  # the hop tests: left out
]
PREFERENCES = ["", "", "mon wed fri"]


def test_start_from_file_shows_the_program_and_a_second_start_is_a_second_person(
    home: Path,
) -> None:
    first = groundup(home, "start", CLEAR, "--name", "Alex")
    assert first.returncode == 0, first.stderr
    assert "Phase 2" in first.stdout  # the example's Achilles tendinopathy loads from phase 2
    assert "Main work" in first.stdout
    assert (home / "current-person").exists()

    second = groundup(home, "start", CLEAR, "--name", "Alex")
    assert second.returncode == 0, second.stderr
    assert "already a person called 'Alex'" in second.stdout
    people = stored(home).patients()
    assert len(people) == 2
    assert {p.display_name for p in people} == {"Alex"}
    assert all(p.version == 1 for p in people)


def test_start_from_a_referring_file_exits_3_and_stores_no_program(home: Path) -> None:
    result = groundup(home, "start", REFER)
    assert result.returncode == EXIT_REFER, result.stderr
    assert "REFER" in result.stdout
    assert "No program was made" in result.stdout
    services = stored(home)
    (person,) = services.patients()
    assert person.display_name == "Me"  # no terminal to ask the name on
    screen = services.latest_screen(person.id)
    assert screen is not None
    assert screen.refers
    with pytest.raises(NotFound):
        services.program(person.id)


def test_guided_start_with_left_out_tests_makes_a_program(home: Path) -> None:
    answers = [*WHO, *SCREEN_CLEAR, *FACTS, *GOALS, "n", *TESTS, *PREFERENCES]
    result = groundup(home, "start", "--date", "2025-05-01", answers=answers)
    assert result.returncode == 0, result.stderr + result.stdout[-2000:]
    assert "please give a number from 16 to 100" in result.stdout  # age 12 was asked again
    assert "Phase" in result.stdout
    # No calf pain, tenderness or swelling: the blood-clot (Wells) questions were not asked.
    assert "Your calf and leg" in result.stdout
    assert "Signs of a blood clot in the leg" not in result.stdout
    assert "plaster cast" not in result.stdout

    services = stored(home)
    (person,) = services.patients()
    screen = services.latest_screen(person.id)
    assert screen is not None
    assert screen.wells_score is None
    program = services.program(person.id)
    assert program.start_date.isoformat() == "2025-05-01"
    assert program.training_days == (0, 2, 4)
    ((_, kind, assessment, _),) = services.assessments(person.id)
    assert kind == "initial"
    assert assessment.age == 38
    assert assessment.symptom_duration_weeks == pytest.approx(17.3, abs=0.1)
    assert assessment.pain.lingers_after_activity_hours == 2
    assert [(p.activity, p.score) for p in assessment.psfs] == [("running", 3)]
    assert assessment.lefs is None
    tests = assessment.tests
    assert tests.heel_raise_reps is not None
    assert (tests.heel_raise_reps.left, tests.heel_raise_reps.right) == (15, 24)
    assert tests.tibialis_raise_reps is None
    assert tests.single_leg_stance_eyes_closed_s is None
    assert tests.toe_walk_s is not None
    assert (tests.toe_walk_s.left, tests.toe_walk_s.right) == (None, 20)


def test_guided_start_with_signs_of_a_clot_exits_3(home: Path) -> None:
    screen = [
        "",  # no recent injury
        *["y", "n", "y"],  # calf pain, not tender to squeeze, one leg swollen
        *["n", "n", "y", "n", "n"],  # an operation in the last 12 weeks
        "3.5",  # calf difference, cm
        *["y", "n", "n", "n"],  # a dent when pressed
        *["n"] * 15,
    ]
    result = groundup(home, "start", answers=[*WHO, *screen])
    assert result.returncode == EXIT_REFER, result.stderr
    assert "Signs of a blood clot in the leg" in result.stdout
    assert "blood clot" in result.stdout
    assert "No program was made" in result.stdout
    services = stored(home)
    (person,) = services.patients()
    with pytest.raises(NotFound):
        services.program(person.id)


def test_guided_start_ends_with_one_line_when_the_answers_run_out(home: Path) -> None:
    result = groundup(home, "start", answers=[*WHO, *SCREEN_CLEAR[:6]])
    assert result.returncode == EXIT_INPUT
    assert one_error_line(result) == "groundup: no answer given; run with a FILE instead"
    assert stored(home).patients() == []


def test_bad_option_values_are_one_line_before_any_question(home: Path) -> None:
    result = groundup(home, "start", "--units", "furlongs")
    assert result.returncode == EXIT_INPUT
    assert "metric or imperial" in one_error_line(result)
    assert "name" not in result.stdout


# ----- retest --------------------------------------------------------------------------

RETEST = {
    "date": "2025-04-15",
    "pain": {"at_rest": 1, "during_activity": 3, "on_waking": 2},
    "tests": {
        "heel_raise_reps": {"left": 20, "right": 25},
        "toe_walk_s": {"left": 35, "right": 38},
    },
}


def test_retest_from_file_records_it_and_shows_lsi_before_and_after(home: Path) -> None:
    assert groundup(home, "start", CLEAR, "--name", "Alex", "--date", "2025-03-04").returncode == 0
    path = home / "retest.yaml"
    path.write_text(yaml.safe_dump({"assessment": RETEST}), encoding="utf-8")
    result = groundup(home, "retest", path)
    assert result.returncode == 0, result.stderr
    assert "48 % → 80 %" in result.stdout
    assert "57.9 % → 92.1 %" in result.stdout
    services = stored(home)
    (person,) = services.patients()
    kinds = [kind for _, kind, _, _ in services.assessments(person.id)]
    assert kinds == ["initial", "retest"]
    retest = services.assessments(person.id)[-1][2]
    assert retest.age == 45  # the facts come from the first assessment
    assert retest.affected_side.value == "left"


def test_guided_retest_keeps_the_first_facts_and_rerates_the_same_goals(home: Path) -> None:
    assert groundup(home, "start", CLEAR, "--name", "Alex", "--date", "2025-03-04").returncode == 0
    answers = [
        *["", "", "", "", ""],  # age, sex, side, condition, duration: Enter keeps them
        *["1", "3", "2", "n", "1"],  # pain, night pain, how long it lingers
        *["5", "7", "3"],  # the three activities from the start, rated again
        "n",  # no LEFS this time
        *["20", "25", "", "", "", "", "", "", "", "", "30", "36"],
        *["", ""] * 3,  # the hop tests: left out
    ]
    result = groundup(home, "retest", "--date", "2025-04-20", answers=answers)
    assert result.returncode == 0, result.stderr + result.stdout[-2000:]
    assert "48 % → 80 %" in result.stdout
    assert "57.9 % → 83.3 %" in result.stdout
    services = stored(home)
    (person,) = services.patients()
    retest = services.assessments(person.id)[-1][2]
    assert (retest.age, retest.sex.value, retest.affected_side.value) == (45, "female", "left")
    assert retest.symptom_duration_weeks == pytest.approx(34 + 47 / 7, abs=0.1)
    assert [p.score for p in retest.psfs] == [5, 7, 3]
    assert retest.psfs[0].activity == "walking the dog for 45 minutes"


def test_guided_retest_dated_before_the_start_stops_before_any_question(home: Path) -> None:
    assert groundup(home, "start", CLEAR, "--name", "Alex", "--date", "2025-03-04").returncode == 0
    result = groundup(home, "retest", "--date", "2025-01-01")
    assert result.returncode == EXIT_INPUT
    assert "before the program started" in one_error_line(result)
    assert "How old" not in result.stdout


def test_retest_with_pain_out_of_range_is_one_line_and_stores_nothing(home: Path) -> None:
    assert groundup(home, "start", CLEAR, "--name", "Alex", "--date", "2025-03-04").returncode == 0
    bad = {**RETEST, "pain": {"at_rest": 12, "during_activity": 3, "on_waking": 2}}
    path = home / "bad.yaml"
    path.write_text(yaml.safe_dump(bad), encoding="utf-8")
    result = groundup(home, "retest", path)
    assert result.returncode == EXIT_INPUT
    assert "pain.at_rest" in one_error_line(result)
    services = stored(home)
    (person,) = services.patients()
    assert [kind for _, kind, _, _ in services.assessments(person.id)] == ["initial"]


def test_retest_before_anyone_started_is_one_line(home: Path) -> None:
    path = home / "retest.yaml"
    path.write_text(yaml.safe_dump(RETEST), encoding="utf-8")
    result = groundup(home, "retest", path)
    assert result.returncode == EXIT_INPUT
    assert "groundup start" in one_error_line(result)


# ----- the metronome and the stopwatch, on a fake clock --------------------------------


class FakeClock:
    def __init__(self) -> None:
        self.t = 0.0

    def now(self) -> float:
        return self.t

    def sleep(self, seconds: float) -> None:
        self.t += seconds


def test_metronome_at_60_bpm_ticks_once_a_second_up_to_the_cap() -> None:
    clock = FakeClock()
    ticks: list[tuple[int, float]] = []
    beats = metronome(
        lambda beat: ticks.append((beat, clock.now())),
        bpm=60,
        max_beats=10,
        now=clock.now,
        sleep=clock.sleep,
    )
    assert beats == 10
    assert [beat for beat, _ in ticks] == list(range(1, 11))
    assert [at for _, at in ticks] == pytest.approx([float(n) for n in range(10)])


def test_metronome_stops_when_asked() -> None:
    clock = FakeClock()
    ticks: list[int] = []
    beats = metronome(
        ticks.append,
        max_beats=300,
        now=clock.now,
        sleep=clock.sleep,
        stopped=lambda: clock.t >= 4.5,
    )
    assert beats == 5  # beats at 0, 1, 2, 3 and 4 s
    assert ticks == [1, 2, 3, 4, 5]


def test_stopwatch_counts_each_second_up_to_the_cap() -> None:
    clock = FakeClock()
    seconds: list[int] = []
    elapsed = stopwatch(seconds.append, max_seconds=45, now=clock.now, sleep=clock.sleep)
    assert seconds == list(range(1, 46))
    assert elapsed == 45


def test_stopwatch_stopped_early_gives_the_time_so_far() -> None:
    clock = FakeClock()
    seconds: list[int] = []
    elapsed = stopwatch(
        seconds.append,
        max_seconds=45,
        now=clock.now,
        sleep=clock.sleep,
        stopped=lambda: clock.t >= 12.3,
    )
    assert seconds == list(range(1, 13))
    assert 12.3 <= elapsed <= 12.4


# ----- the small parsers ---------------------------------------------------------------


def test_durations_and_days_in_plain_words() -> None:
    assert weeks("8") == 8
    assert weeks("3 months") == pytest.approx(13.0)
    assert weeks("2 years") == 104
    assert training_days("Mon, wed fri") == (0, 2, 4)
    assert training_days("") is None
    with pytest.raises(ValueError, match="not a day"):
        training_days("m")
    with pytest.raises(ValueError, match="how long"):
        weeks("a while")
