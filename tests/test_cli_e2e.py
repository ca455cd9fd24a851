"""Four weeks of a self-managing person, driven through the real `groundup` command
against a temporary SQLite database: start, daily today/log, morning check-ins, a
flare-up, recovery and a retest. Then the stored history and decisions are checked."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

import yaml

from groundup.clinical.logs import CheckIn, Retest, SessionLog
from groundup.knowledge import load_rules
from groundup.services import Services
from groundup.storage.database import Database

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "clear-left-calf.yaml"


def run(home: Path, *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "COLUMNS": "120",
        "NO_COLOR": "1",
        "GROUNDUP_DATABASE_URL": f"sqlite:///{home / 'g.db'}",
        "GROUNDUP_DATA_DIR": str(home),
    }
    env.pop("GROUNDUP_DEBUG", None)
    result = subprocess.run(
        [sys.executable, "-m", "groundup", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
        cwd=cwd,
    )
    assert "Traceback" not in result.stderr, result.stderr
    return result


def ok(home: Path, *args: str) -> str:
    result = run(home, *args)
    assert result.returncode == 0, (args, result.stdout, result.stderr)
    return result.stdout


def test_four_weeks_of_a_self_managing_person(tmp_path: Path) -> None:
    today = dt.date.today()
    start = today - dt.timedelta(days=29)
    intake = yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))
    intake["assessment"]["date"] = start.isoformat()
    intake_file = tmp_path / "me.yaml"
    intake_file.write_text(yaml.safe_dump(intake), encoding="utf-8")

    out = ok(tmp_path, "start", str(intake_file), "--name", "Robin", "--date", start.isoformat())
    # The example records a mid-portion Achilles tendinopathy: loading starts in phase 2.
    assert "Phase 2" in out
    assert "Plan for: Achilles tendon pain (mid-portion)" in out

    flare_day: dt.date | None = None
    retest_day: dt.date | None = None
    sessions = 0
    for offset in range(29):
        day = start + dt.timedelta(days=offset)
        if offset > 0:
            # The morning check-in: sore after the flare-up session, settled otherwise.
            sore = flare_day is not None and day == flare_day + dt.timedelta(days=1)
            ok(
                tmp_path,
                "checkin",
                "--date",
                day.isoformat(),
                "--pain",
                "4" if sore else "1",
                "--stiffness",
                "1",
            )
        if offset == 24:
            retest = dict(intake["assessment"])
            retest["date"] = day.isoformat()
            retest["tests"] = dict(retest["tests"], heel_raise_reps={"left": 20, "right": 25})
            retest_file = tmp_path / "retest.yaml"
            retest_file.write_text(yaml.safe_dump({"assessment": retest}), encoding="utf-8")
            shown = ok(tmp_path, "retest", str(retest_file))
            assert "48 % → 80 %" in shown
            retest_day = day
        today_view = json.loads(ok(tmp_path, "today", "--date", day.isoformat(), "--json"))
        if today_view["status"] != "planned":
            continue
        sessions += 1
        pain = "2"
        if sessions == 5:  # the flare-up: one session hurts a lot
            pain, flare_day = "7", day
        ok(
            tmp_path,
            "log",
            "--date",
            day.isoformat(),
            "--as-prescribed",
            "--pain",
            pain,
            "--pain-after",
            "2",
            "--rpe",
            "6",
        )
        # A retry of the same log is recognised and changes nothing.
        again = json.loads(
            ok(
                tmp_path,
                "log",
                "--date",
                day.isoformat(),
                "--as-prescribed",
                "--pain",
                pain,
                "--pain-after",
                "2",
                "--rpe",
                "6",
                "--json",
            )
        )
        assert again["duplicate"] is True

    assert flare_day is not None and retest_day is not None
    why = json.loads(ok(tmp_path, "why", "--limit", "1000", "--json"))
    rules = [d["rule"] for d in why]
    assert "flare.start" in rules
    # The person's table names the kind of change in words; rule ids are the clinician's.
    person_table = ok(tmp_path, "why", "--limit", "1000")
    assert "flare.start" not in person_table and "flare-up" in person_table
    assert "flare.start" in ok(tmp_path, "why", "--limit", "1000", "--clinician")
    assert "flare.end" in rules
    assert rules.index("flare.end") > rules.index("flare.start")
    assert "retest.recorded" in rules
    progressed_after_flare = [
        d
        for d in why
        if d["rule"].startswith("progress.")
        and d["date"] > next(x["date"] for x in why if x["rule"] == "flare.end")
    ]
    assert progressed_after_flare, "progress resumes after the flare-up settles"
    flare = next(d for d in why if d["rule"] == "flare.start")
    assert flare["date"] == flare_day.isoformat()
    assert flare["numbers"]["max_pain"] == 7

    # What is stored is exactly what was logged.
    services = Services(Database(f"sqlite:///{tmp_path / 'g.db'}"), load_rules())
    (person,) = services.patients()
    history = services.history(person.id)
    logged = [e for e in history if isinstance(e, SessionLog)]
    assert len(logged) == sessions
    assert len([e for e in history if isinstance(e, CheckIn)]) == 28
    assert [e.date for e in history if isinstance(e, Retest)] == [retest_day]
    assert max(s.max_pain for s in logged) == 7
    assert len(services.decisions(person.id)) == len(why)
    versions = services.program_versions(person.id)
    assert versions[0][1] == "plan"
    assert len(versions) == services.program(person.id).version

    progress = json.loads(ok(tmp_path, "progress", "--json"))
    assert [p for _, p in progress["session_pain"]].count(7) == 1
    assert progress["lsi"]["heel_raise_reps"][-1][1] == 80.0
    assert "Pain" in ok(tmp_path, "progress")
    assert "check-in" in ok(tmp_path, "history", "--limit", "5")


def test_bad_input_gets_one_line_and_keeps_what_is_stored(tmp_path: Path) -> None:
    intake = yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))
    start = dt.date.today() - dt.timedelta(days=10)
    intake["assessment"]["date"] = start.isoformat()
    intake_file = tmp_path / "me.yaml"
    intake_file.write_text(yaml.safe_dump(intake), encoding="utf-8")
    ok(tmp_path, "start", str(intake_file), "--name", "Robin", "--date", start.isoformat())
    before = ok(tmp_path, "export")
    corrupt = tmp_path / "corrupt.json"
    corrupt.write_text('{"format": "groundup-export", "version": 1, "person": {', encoding="utf-8")
    cases = [
        ("log", "--as-prescribed", "--pain", "12", "--pain-after", "1", "--rpe", "6"),
        ("log", "--as-prescribed", "--pain", "2", "--rpe", "6"),
        ("checkin", "--pain", "11", "--stiffness", "1"),
        (
            "log",
            "--person",
            "ffffffff",
            "--as-prescribed",
            "--pain",
            "1",
            "--pain-after",
            "1",
            "--rpe",
            "5",
        ),
        (
            "log",
            "--date",
            (start - dt.timedelta(days=30)).isoformat(),
            "--as-prescribed",
            "--pain",
            "1",
            "--pain-after",
            "1",
            "--rpe",
            "5",
        ),
        ("import", str(corrupt)),
        ("import", str(tmp_path / "missing.json")),
        ("today", "--date", "31/31/2020"),
    ]
    for args in cases:
        result = run(tmp_path, *args)
        assert result.returncode != 0, args
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("groundup: "), (args, result.stderr)
    assert ok(tmp_path, "export") == before


def test_the_terminal_says_when_questionnaires_are_due_and_takes_the_answers(
    tmp_path: Path,
) -> None:
    """Today in the terminal says when the questionnaires are due (as the web's Today
    does), and `groundup questionnaires FILE` records them on their own; bad files get one
    line and store nothing."""
    today = dt.date.today()
    start = today - dt.timedelta(days=30)
    intake = yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))
    intake["assessment"]["date"] = start.isoformat()
    intake_file = tmp_path / "me.yaml"
    intake_file.write_text(yaml.safe_dump(intake), encoding="utf-8")
    ok(tmp_path, "start", str(intake_file), "--name", "Robin", "--date", start.isoformat())
    due = json.loads(ok(tmp_path, "today", "--json"))["questionnaires_due"]
    assert due == (start + dt.timedelta(days=28)).isoformat()
    assert "Your questionnaires are due (you last answered them on" in ok(tmp_path, "today")

    wrong = tmp_path / "wrong.yaml"
    wrong.write_text("lefs:\n  usual_activities: 9\n", encoding="utf-8")
    result = run(tmp_path, "questionnaires", str(wrong))
    assert result.returncode != 0
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    unknown = tmp_path / "unknown.yaml"
    unknown.write_text("lefz:\n  usual_activities: 2\n", encoding="utf-8")
    result = run(tmp_path, "questionnaires", str(unknown))
    assert result.returncode != 0 and "'lefz' is not a questionnaire" in result.stderr
    assert json.loads(ok(tmp_path, "today", "--json"))["questionnaires_due"] == due

    answers = tmp_path / "answers.yaml"
    lefs = {k: min(4, v + 1) for k, v in intake["assessment"]["lefs"].items()}
    answers.write_text(yaml.safe_dump({"lefs": lefs}), encoding="utf-8")
    assert "Answers saved" in ok(tmp_path, "questionnaires", str(answers))
    after = json.loads(ok(tmp_path, "today", "--json"))["questionnaires_due"]
    assert after == (today + dt.timedelta(days=28)).isoformat()
    assert "questionnaires are due" not in ok(tmp_path, "today")
