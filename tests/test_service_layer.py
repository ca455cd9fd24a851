"""The service layer owns the database: one summary query for lists of people, named
results, and the web API and the documents reach the data only through the services."""

from __future__ import annotations

import ast
import datetime as dt
from pathlib import Path

import pytest

from groundup.services import NotFound, Services
from groundup.services.workflow import Display
from test_services import first_session, started

SRC = Path(__file__).resolve().parent.parent / "src" / "groundup"


def test_summaries_name_each_persons_newest_version_and_last_session(
    services: Services,
) -> None:
    services.clock = lambda: dt.date(2025, 7, 1)
    pid, day = started(services)
    services.log_session(pid, first_session(services, pid, day))
    newest = services.program(pid)
    waiting = services.enrol("Sam")
    (one,) = services.summaries([pid])
    assert (one.id, one.display_name, one.phase, one.version, one.last_activity) == (
        pid,
        "Alex",
        newest.phase.value,
        newest.version,
        day,
    )
    assert one.version == services.program_versions(pid)[-1][0]
    (other,) = services.summaries([waiting])
    assert (other.phase, other.version, other.last_activity) == (None, None, None)
    assert [p.id for p in services.patients()] == [pid, waiting]
    assert services.summaries([]) == []
    assert services.summaries(["nobody"]) == []


def test_a_persons_details_are_named(services: Services) -> None:
    pid = services.enrol("Robin", mass_unit="lb", date_format="%d/%m/%Y")
    person = services.person(pid)
    assert person.display_name == "Robin" and not person.has_account
    assert person.display == Display("cm", "lb", "%d/%m/%Y")
    length, mass, date_format = services.display(pid)  # still unpacks as before
    assert (length, mass, date_format) == ("cm", "lb", "%d/%m/%Y")
    with pytest.raises(NotFound):
        services.person("nobody")


@pytest.mark.parametrize("module", ["web/api.py", "documents/layout.py"])
def test_the_api_and_documents_use_no_tables(module: str) -> None:
    tree = ast.parse((SRC / module).read_text(encoding="utf-8"))
    imported = {
        node.module
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module is not None
    }
    assert "groundup.storage.models" not in imported
    assert not {m for m in imported if m.startswith("sqlalchemy")}


def test_no_module_calls_the_services_private_helpers() -> None:
    for path in SRC.rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        for name in ("_audit(", "_patient(", "_program(", "_history(", "_audit_read("):
            assert f"services.{name}" not in text, f"{path}: services.{name}"
