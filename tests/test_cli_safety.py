"""Safety at the terminal, through the real `groundup` command on a temporary SQLite
database: the interactive log stops for pain as the pain rules say, a warning sign stops
the session, check-in signs come from the screen's list with their own urgency, and a
paused program shows no session and refuses new logs until a clinician resumes it."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

import yaml

from groundup.knowledge import load_rules

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "clear-left-calf.yaml"
RULES = load_rules()
P = RULES.progression
SIGNS = list(RULES.screening.checkin_signs)
TODAY = dt.date.today().isoformat()


def run(home: Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
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
        input=stdin,
        timeout=120,
        check=False,
    )
    assert "Traceback" not in result.stderr, result.stderr
    return result


def ok(home: Path, *args: str, stdin: str = "") -> str:
    result = run(home, *args, stdin=stdin)
    assert result.returncode == 0, (args, result.stdout, result.stderr)
    return result.stdout


def started(home: Path) -> None:
    """The clear example, assessed today, training every day."""
    intake = yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))
    intake["assessment"]["date"] = TODAY
    intake["preferences"]["training_days"] = list(range(7))
    path = home / "me.yaml"
    path.write_text(yaml.safe_dump(intake), encoding="utf-8")
    # The start date too, or a run crossing midnight starts the program a day after TODAY.
    ok(home, "start", str(path), "--name", "Robin", "--date", TODAY)


def steps(home: Path) -> list[str]:
    """Each step of today's session, as `log` asks them: 'main' or 'other'."""
    today = json.loads(ok(home, "today", "--date", TODAY, "--json"))
    return [
        "main" if slot["part"] == "main" else "other"
        for slot in today["slots"]
        for _ in slot["doses"]
    ]


def answers(pain: int) -> str:
    """Did it, all sets as planned, this pain, effort 6, form clean."""
    return f"yes\ny\n{pain}\n6\ny\n"


def test_pain_in_the_flare_up_zone_ends_the_terminal_session_and_saves_it(
    tmp_path: Path,
) -> None:
    started(tmp_path)
    stdin = answers(1) + answers(P.flare_pain)
    out = ok(tmp_path, "log", "--date", TODAY, stdin=stdin)
    assert f"Pain {P.flare_pain}: stop here for today. What you did is saved." in out
    assert "flare-up plan" in out.lower()
    # Nothing more was asked, the session is stored, and the flare-up plan is in force.
    assert "Pain right after the session" not in out
    history = json.loads(ok(tmp_path, "history", "--json"))
    (session,) = [e for e in history if e["type"] == "session"]
    assert len(session["exercises"]) == 2 and session["pain_after"] == P.flare_pain
    today = ok(tmp_path, "today", "--date", TODAY)
    assert "Today's session is done" in today and "Flare-up plan since" in today


def test_pain_6_ends_that_exercise_and_the_session_goes_on(tmp_path: Path) -> None:
    started(tmp_path)
    kinds = steps(tmp_path)
    today = json.loads(ok(tmp_path, "today", "--date", TODAY, "--json"))
    # Answer pain 6 on the first exercise with two sides; everything else pain 1.
    doses = [(slot["exercise_id"], len(slot["doses"])) for slot in today["slots"]]
    target = next(i for i, (_, count) in enumerate(doses) if count == 2)
    stdin = ""
    for i, (_, count) in enumerate(doses):
        if i == target:
            stdin += answers(P.pain_acceptable_max + 1)  # its second side is not asked
        else:
            stdin += answers(1) * count
    stdin += "1\n"  # pain right after the session
    out = ok(tmp_path, "log", "--date", TODAY, stdin=stdin)
    assert f"Pain {P.pain_acceptable_max + 1}: stop" in out
    assert "left out, it was stopped for pain" in out
    history = json.loads(ok(tmp_path, "history", "--json"))
    (session,) = [e for e in history if e["type"] == "session"]
    assert len(session["exercises"]) == len(kinds) - 1


def test_a_warning_sign_during_the_terminal_session_stops_and_pauses(tmp_path: Path) -> None:
    started(tmp_path)
    number = SIGNS.index("tight_hard_muscle") + 1
    stdin = answers(1) + f"stop\n{number}\n"
    out = ok(tmp_path, "log", "--date", TODAY, stdin=stdin)
    assert "emergency department" in out and "paused" in out
    # No session is shown now, and logging is refused with the advice, in one line.
    shown = ok(tmp_path, "today", "--date", TODAY)
    assert "See a doctor first" in shown and "Warm-up" not in shown and "main" not in shown
    refused = run(
        tmp_path,
        "log",
        "--date",
        TODAY,
        "--as-prescribed",
        "--pain",
        "1",
        "--pain-after",
        "1",
        "--rpe",
        "5",
        "--id",
        "after-the-sign",
    )
    assert refused.returncode != 0
    assert "paused until a clinician resumes it" in refused.stderr
    assert len(refused.stderr.strip().splitlines()) <= 3


def test_check_in_signs_have_their_urgency_and_a_resume_lifts_the_pause(tmp_path: Path) -> None:
    started(tmp_path)
    out = ok(
        tmp_path,
        "checkin",
        "--date",
        TODAY,
        "--pain",
        "2",
        "--stiffness",
        "1",
        "--sign",
        "bone_spot",
        "--note",
        "calf a bit tight",
    )
    assert "within the next few days" in out and "calf a bit tight" in out
    paused = json.loads(ok(tmp_path, "today", "--date", TODAY, "--json"))
    assert paused["paused"] is True and paused["slots"] == [] and paused["urgency"] == "soon"
    ok(
        tmp_path,
        "override",
        "resume",
        "--reason",
        "seen: tendon intact",
        "--by",
        "Dr Test",
        "--date",
        TODAY,
    )
    resumed = json.loads(ok(tmp_path, "today", "--date", TODAY, "--json"))
    assert resumed["paused"] is False and resumed["slots"]
    ok(
        tmp_path,
        "log",
        "--date",
        TODAY,
        "--as-prescribed",
        "--pain",
        "1",
        "--pain-after",
        "1",
        "--rpe",
        "5",
    )


def test_the_terminal_check_in_asks_about_warning_signs(tmp_path: Path) -> None:
    started(tmp_path)
    number = SIGNS.index("calf_swollen_hot") + 1
    out = ok(tmp_path, "checkin", "--date", TODAY, stdin=f"2\n1\n{number}\n")
    assert "have you noticed any of these?" in out
    assert "Go to an emergency department now" in out


def test_words_alone_are_a_note_and_unknown_signs_or_the_old_flag_are_one_line(
    tmp_path: Path,
) -> None:
    started(tmp_path)
    out = ok(
        tmp_path,
        "checkin",
        "--date",
        TODAY,
        "--pain",
        "1",
        "--stiffness",
        "1",
        "--note",
        "my calf is a bit tight",
    )
    assert "Kept for your clinician" in out
    assert json.loads(ok(tmp_path, "today", "--date", TODAY, "--json"))["paused"] is False
    for args in (["--sign", "calf_a_bit_tight"], ["--red-flag", "calf hot"]):
        bad = run(tmp_path, "checkin", "--date", TODAY, "--pain", "1", "--stiffness", "1", *args)
        assert bad.returncode != 0 and len(bad.stderr.strip().splitlines()) <= 3
        assert "--sign" in bad.stderr


def test_s13_high_pain_on_waking_asks_the_safety_questions_again_at_the_terminal(
    tmp_path: Path,
) -> None:
    started(tmp_path)
    out = ok(tmp_path, "checkin", "--date", TODAY, "--pain", "5", "--stiffness", "2")
    assert "groundup recheck" in out
    assert "groundup recheck" in ok(tmp_path, "today", "--date", TODAY)
    clear = ok(tmp_path, "recheck", "--date", TODAY, "--none")
    assert "Nothing in these answers needs a check" in clear
    assert json.loads(ok(tmp_path, "today", "--date", TODAY, "--json"))["paused"] is False
    # Interactive: night or rest pain, no sore spot on a bone.
    refused = run(tmp_path, "recheck", "--date", TODAY, stdin="y\nn\n")
    assert refused.returncode == 3, refused.stdout + refused.stderr
    assert "paused" in refused.stdout
    paused = json.loads(ok(tmp_path, "today", "--date", TODAY, "--json"))
    assert paused["paused"] is True and paused["slots"] == []


def test_c11_a_kneecap_not_settled_within_the_hour_holds_the_next_terminal_session(
    tmp_path: Path,
) -> None:
    days = [(dt.date.today() - dt.timedelta(days=n)).isoformat() for n in (2, 1, 0)]
    intake = yaml.safe_load((ROOT / "examples" / "knee-step-down.yaml").read_text("utf-8"))
    intake["assessment"]["date"] = days[0]
    intake["preferences"]["training_days"] = list(range(7))
    path = tmp_path / "knee.yaml"
    path.write_text(yaml.safe_dump(intake), encoding="utf-8")
    ok(tmp_path, "start", str(path), "--name", "Kim", "--date", days[0])
    logged = ("--as-prescribed", "--pain", "1", "--pain-after", "1", "--rpe", "5")
    ok(tmp_path, "log", "--date", days[0], *logged)
    # Interactive: pain, stiffness, the hour question, then no warning sign.
    asked = run(tmp_path, "checkin", "--date", days[1], stdin="1\n1\nno\n\n")
    assert asked.returncode == 0, asked.stdout + asked.stderr
    assert "within an hour" in asked.stdout
    out = ok(tmp_path, "log", "--date", days[2], *logged, "--json")
    rules = [d["rule"] for d in json.loads(out)["decisions"]]
    assert "hold.not_settled" in rules and not [r for r in rules if r.startswith("progress.")]
    refused = run(tmp_path, "checkin", "--pain", "1", "--stiffness", "1", "--settled", "maybe")
    assert refused.returncode != 0 and "--settled" in refused.stderr + refused.stdout
