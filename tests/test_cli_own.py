"""`groundup exercise check|import FILE` and `groundup template check|import FILE`."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from groundup.knowledge import load_rules
from groundup.services import Services
from groundup.services.accounts import Accounts
from groundup.storage.database import Database
from groundup.storage.models import OwnExercise, OwnTemplate
from test_cli_e2e import run

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def _clinician(home: Path) -> None:
    database = Database(f"sqlite:///{home / 'g.db'}")
    Accounts(Services(database, load_rules())).create_user(
        "c@example.org", "Dr Cee", "clinician", "a long enough secret"
    )
    database.dispose()


def _rows(home: Path, model: type[OwnExercise] | type[OwnTemplate]) -> list[tuple[str, int]]:
    database = Database(f"sqlite:///{home / 'g.db'}")
    with database.reading() as session:
        rows = session.scalars(select(model)).all()
        found = [
            (getattr(r, "exercise_id", None) or getattr(r, "key", ""), r.version) for r in rows
        ]
    database.dispose()
    return found


def test_a_file_of_own_exercises_is_checked_then_imported(tmp_path: Path) -> None:
    checked = run(tmp_path, "exercise", "check", str(EXAMPLES / "clinic" / "own-exercise.yaml"))
    assert checked.returncode == 0 and "towel_calf_raise_hold" in checked.stdout
    _clinician(tmp_path)
    args = ("exercise", "import", str(EXAMPLES / "clinic" / "own-exercise.yaml"), "--clinician")
    first = run(tmp_path, *args, "c@example.org")
    assert first.returncode == 0, first.stderr
    assert "version 1" in first.stdout
    assert _rows(tmp_path, OwnExercise) == [("towel_calf_raise_hold", 1)]
    # The protocol naming it now checks and imports for that clinician.
    protocol = str(EXAMPLES / "clinic" / "own-protocol.yaml")
    alone = run(tmp_path, "template", "check", protocol)
    assert alone.returncode == 2
    assert alone.stderr.strip().count("\n") == 0
    assert "items.0.exercise_id: no exercise with id 'towel_calf_raise_hold'" in alone.stderr
    mine = run(tmp_path, "template", "import", protocol, "--clinician", "c@example.org")
    assert mine.returncode == 0, mine.stderr
    assert _rows(tmp_path, OwnTemplate) == [("calf_return_own", 1)]


def test_a_bad_file_gets_one_line_naming_the_field_and_nothing_is_stored(
    tmp_path: Path,
) -> None:
    _clinician(tmp_path)
    text = (EXAMPLES / "clinic" / "own-exercise.yaml").read_text(encoding="utf-8")
    cases = {
        "muscle": (
            text.replace("muscle: soleus", "muscle: biceps"),
            "exercise import",
            "targets.1.muscle:",
        ),
        "range": (
            text.replace("amount: 10, range_low: 8", "amount: 30, range_low: 8"),
            "exercise import",
            "dose: default amount 30 lies outside its range",
        ),
        "link": (
            text.replace("regression: calf_raise_wall", "regression: no_such_thing"),
            "exercise import",
            "regression points to unknown exercise 'no_such_thing'",
        ),
        "loop": (
            text.replace("regression: calf_raise_wall", "regression: towel_calf_raise_hold"),
            "exercise check",
            "cannot be its own regression",
        ),
    }
    for name, (body, command, words) in cases.items():
        path = tmp_path / f"{name}.yaml"
        path.write_text(body, encoding="utf-8")
        result = run(tmp_path, *command.split(), str(path), "--clinician", "c@example.org")
        assert result.returncode == 2, (name, result.stdout)
        line = result.stderr.strip()
        assert "\n" not in line and words in line and str(path) in line, (name, line)
    assert _rows(tmp_path, OwnExercise) == []
    protocol = tmp_path / "protocol.yaml"
    protocol.write_text(
        (EXAMPLES / "clinic" / "own-protocol.yaml")
        .read_text(encoding="utf-8")
        .replace("training_days: [0, 2, 4]", "training_days: [0, 2, 9]"),
        encoding="utf-8",
    )
    result = run(tmp_path, "template", "check", str(protocol))
    assert result.returncode == 2 and "training_days" in result.stderr


def test_a_protocol_in_three_phases_is_checked_and_imported(tmp_path: Path) -> None:
    protocol = EXAMPLES / "clinic" / "three-phase-protocol.yaml"
    checked = run(tmp_path, "template", "check", str(protocol))
    assert checked.returncode == 0, checked.stderr
    assert "calf_three_phase (3 phases)" in " ".join(checked.stdout.split())
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        protocol.read_text(encoding="utf-8").replace(
            "exercise_id: single_leg_heel_raise", "exercise_id: no_such_raise"
        ),
        encoding="utf-8",
    )
    refused = run(tmp_path, "template", "check", str(bad))
    assert refused.returncode == 2
    assert refused.stderr.strip().count("\n") == 0
    assert "phases.2.items.0.exercise_id: no exercise with id 'no_such_raise'" in refused.stderr
    _clinician(tmp_path)
    imported = run(tmp_path, "template", "import", str(protocol), "--clinician", "c@example.org")
    assert imported.returncode == 0, imported.stderr
    assert _rows(tmp_path, OwnTemplate) == [("calf_three_phase", 1)]
