"""The README's "Using it for yourself" example, run as written: every command of its
shell block, parsed from README.md, against a temporary database, each exiting 0."""

from __future__ import annotations

import datetime as dt
import re
import shlex
from pathlib import Path

import pytest

from groundup.cli.files import InputError
from groundup.cli.guided import parse_days
from groundup.knowledge import load_rules
from groundup.services import Services
from groundup.storage.database import Database
from test_cli_e2e import ROOT, run


def readme_commands() -> list[list[str]]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("## Using it for yourself", 1)[1]
    block = re.search(r"```sh\n(.*?)```", section, re.S)
    assert block, "the README's terminal example is missing"
    commands = []
    for line in block.group(1).splitlines():
        words = shlex.split(line, comments=True)
        if words:
            assert words[0] == "groundup", line
            commands.append(words[1:])
    return commands


def test_the_readme_terminal_example_runs_as_written(tmp_path: Path) -> None:
    commands = readme_commands()
    assert commands[0][:2] == ["start", "examples/clear-left-calf.yaml"]
    assert any(c[0] == "log" for c in commands)
    work = tmp_path / "here"
    work.mkdir()
    (work / "examples").symlink_to(ROOT / "examples")
    outputs = []
    for words in commands:
        result = run(tmp_path, *words, cwd=work)
        assert result.returncode == 0, (words, result.stdout, result.stderr)
        outputs.append(result.stdout)
    # The example file's assessment is old: start says so, and the program starts today.
    assert "weeks before the start" in outputs[0]
    assert "Logged your session for" in outputs[2]
    assert (work / "program.pdf").read_bytes().startswith(b"%PDF")
    assert (work / "me.json").stat().st_size > 1000

    # Started today (not on the file's assessment date), so today's session could be logged.
    services = Services(Database(f"sqlite:///{tmp_path / 'g.db'}"), load_rules())
    (person,) = services.patients()
    assert services.program(person.id).start_date == dt.date.today()

    # Running `start` again does not quietly make a second "Me".
    again = run(tmp_path, *commands[0], cwd=work)
    assert again.returncode != 0
    assert "already a person called 'Me'" in again.stderr
    assert len(again.stderr.strip().splitlines()) == 1
    assert len(services.patients()) == 1


def test_training_days_are_read_as_typed() -> None:
    assert parse_days("daily") == tuple(range(7))
    assert parse_days("mon,wed,fri") == (0, 2, 4)
    assert parse_days("Mon-Fri") == (0, 1, 2, 3, 4)
    assert parse_days("sat-mon") == (0, 5, 6)
    for bad in ("", "someday", "mon-tue-wed", "mon,,fri"):
        with pytest.raises(InputError):
            parse_days(bad)
