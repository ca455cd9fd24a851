"""`groundup clinic ...`: a clinic set up from the command line, a patient moved, a
caseload handed over, a library exported and imported; every refusal one line."""

from __future__ import annotations

import json
from pathlib import Path

from groundup.knowledge import load_rules
from groundup.services import Services
from groundup.services.accounts import Accounts
from groundup.storage.database import Database
from test_cli_e2e import run

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
PASSWORD = "a long enough secret"


def _people(home: Path) -> str:
    database = Database(f"sqlite:///{home / 'g.db'}")
    accounts = Accounts(Services(database, load_rules()))
    ann = accounts.create_user("ann@example.org", "Ann Admin", "clinician", PASSWORD)
    for email, name in (("bea@example.org", "Bea Bell"), ("dan@example.org", "Dan South")):
        accounts.create_user(email, name, "clinician", PASSWORD)
    patient_id, _ = accounts.create_patient(ann, "Penny Northfield")
    database.dispose()
    return patient_id


def one_line_failure(result: object) -> str:
    assert result.returncode == 2, result.stdout  # type: ignore[attr-defined]
    text = result.stderr.strip()  # type: ignore[attr-defined]
    assert text.count("\n") == 0 and text.startswith("groundup: "), text
    return str(text)


def test_a_clinic_set_up_and_run_from_the_command_line(tmp_path: Path) -> None:
    patient_id = _people(tmp_path)
    assert run(tmp_path, "clinic", "create", "North clinic").returncode == 0
    assert run(tmp_path, "clinic", "create", "South clinic").returncode == 0
    added = run(tmp_path, "clinic", "add-member", "North clinic", "ann@example.org", "--admin")
    assert added.returncode == 0 and "clinic admin" in added.stdout and "1 patient" in added.stdout
    assert run(tmp_path, "clinic", "add-member", "North clinic", "bea@example.org").returncode == 0
    run(tmp_path, "clinic", "add-member", "South clinic", "dan@example.org", "--admin")
    listed = run(tmp_path, "clinic", "list")
    assert "North clinic: 2 clinician(s); admins: Ann Admin" in listed.stdout
    caseload = run(tmp_path, "clinic", "caseload", "--as", "ann@example.org")
    assert "Penny Northfield: Ann Admin" in caseload.stdout
    moved = run(
        tmp_path,
        "clinic",
        "move",
        patient_id[:8],
        "--to",
        "bea@example.org",
        "--as",
        "ann@example.org",
    )
    assert moved.returncode == 0 and "looked after by Bea Bell" in moved.stdout
    # Across clinics: refused, one line.
    message = one_line_failure(
        run(
            tmp_path,
            "clinic",
            "move",
            patient_id[:8],
            "--to",
            "dan@example.org",
            "--as",
            "ann@example.org",
        )
    )
    assert "not found" in message or "no such clinician in your clinic" in message
    message = one_line_failure(
        run(
            tmp_path,
            "clinic",
            "move",
            patient_id[:8],
            "--to",
            "dan@example.org",
            "--as",
            "dan@example.org",
        )
    )
    assert "no such person in your clinic" in message
    one_line_failure(run(tmp_path, "clinic", "add-member", "South clinic", "bea@example.org"))
    one_line_failure(run(tmp_path, "clinic", "create", "North clinic"))
    one_line_failure(run(tmp_path, "clinic", "caseload", "--as", "bea@example.org"))
    handed = run(
        tmp_path,
        "clinic",
        "hand-over",
        "bea@example.org",
        "--to",
        "ann@example.org",
        "--as",
        "ann@example.org",
    )
    assert handed.returncode == 0 and "1 patient(s) handed over" in handed.stdout


def test_a_library_exported_by_one_clinic_and_imported_by_another(tmp_path: Path) -> None:
    _people(tmp_path)
    run(tmp_path, "clinic", "create", "North clinic")
    run(tmp_path, "clinic", "create", "South clinic")
    run(tmp_path, "clinic", "add-member", "North clinic", "ann@example.org", "--admin")
    run(tmp_path, "clinic", "add-member", "South clinic", "dan@example.org", "--admin")
    exercise = str(EXAMPLES / "clinic" / "own-exercise.yaml")
    assert (
        run(tmp_path, "exercise", "import", exercise, "--clinician", "ann@example.org").returncode
        == 0
    )
    shared = run(tmp_path, "clinic", "share", "towel_calf_raise_hold", "--as", "ann@example.org")
    assert shared.returncode == 0, shared.stderr
    target = tmp_path / "north.json"
    exported = run(tmp_path, "clinic", "export", "--as", "ann@example.org", "-o", str(target))
    assert exported.returncode == 0 and "1 exercise(s)" in exported.stdout
    imported = run(tmp_path, "clinic", "import", str(target), "--as", "dan@example.org")
    assert imported.returncode == 0, imported.stderr
    assert (
        "towel_calf_raise_hold: already in use here, imported as towel_calf_raise_hold_2"
        in imported.stdout
    )
    bad = tmp_path / "bad.json"
    bad.write_text(
        json.dumps({"format": "groundup-clinic-library", "version": 1, "protocols": [{"key": "x"}]})
    )
    message = one_line_failure(
        run(tmp_path, "clinic", "import", str(bad), "--as", "dan@example.org")
    )
    assert "protocols.0." in message
    (tmp_path / "notjson.json").write_text("{nope")
    one_line_failure(
        run(tmp_path, "clinic", "import", str(tmp_path / "notjson.json"), "--as", "dan@example.org")
    )
