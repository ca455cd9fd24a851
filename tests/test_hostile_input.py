"""Broken, odd and hostile files handed to every command that reads one.

The corpus is made at test time under a temporary folder (never committed): truncated YAML
and JSON, wrong types, huge and non-finite numbers, wrong encodings, a NUL byte, deep
nesting, a YAML alias bomb, binary noise, an empty file, a folder, a missing file, a pipe,
a device and a 100 MB file. Each command must answer exit 2 with exactly one stderr line
starting "groundup:", no traceback, within a time limit, and store nothing.

Each case runs the real command line (`groundup.cli.main.run`, the console script's entry
point) in a forked child process with its own stdout/stderr files, a memory cap and a
deadline, so a hang or a runaway read fails the test instead of stalling it — and so the
corpus runs in seconds rather than paying the interpreter's start-up per case. One case per
command also goes through the real `python -m groundup` subprocess.

To cover a new command that reads a file, add it to COMMANDS (name, how the file is passed,
and which valid document its content-based variants start from).
"""

from __future__ import annotations

import datetime as dt
import json
import multiprocessing
import os
import random
import resource
import subprocess
import sys
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import create_engine, func, inspect, select, table

from groundup.cli.files import InputError, read_document, validate
from groundup.clinical.intake import Intake
from groundup.knowledge import load_rules
from groundup.services import Services
from groundup.storage.database import Database

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "clear-left-calf.yaml"
STEADY_LOG = ROOT / "examples" / "logs" / "steady-recovery.yaml"
DEADLINE_S = 60
# How much more address space a command may take on top of what the forked test process
# already holds (a long test run holds a lot: a fixed cap would starve the child instead).
MEMORY_HEADROOM = 1536 * 1024 * 1024
HUGE_BYTES = 100 * 1024 * 1024


# ----- the valid documents the variants start from ----------------------------------------


def _intake() -> dict[str, Any]:
    data = read_document(EXAMPLE)
    intake = validate(Intake, data, str(EXAMPLE)).model_dump(mode="json")
    intake["assessment"]["date"] = (dt.date.today() - dt.timedelta(days=3)).isoformat()
    intake["preferences"]["training_days"] = list(range(7))
    return intake


@dataclass
class Home:
    """A data folder with one person who has a program; what the commands write into."""

    path: Path
    person: str
    export: dict[str, Any]
    session: dict[str, Any]

    @property
    def url(self) -> str:
        return f"sqlite:///{self.path / 'g.db'}"

    def env(self) -> dict[str, str]:
        env = {
            **os.environ,
            "COLUMNS": "200",
            "NO_COLOR": "1",
            "GROUNDUP_DATABASE_URL": self.url,
            "GROUNDUP_DATA_DIR": str(self.path),
        }
        env.pop("GROUNDUP_DEBUG", None)
        return env

    def counts(self) -> dict[str, int]:
        engine = create_engine(self.url)
        try:
            with engine.connect() as connection:
                names = inspect(connection).get_table_names()
                return {
                    name: int(connection.scalar(select(func.count()).select_from(table(name))) or 0)
                    for name in names
                }
        finally:
            engine.dispose()


def make_home(path: Path) -> Home:
    database = Database(f"sqlite:///{path / 'g.db'}")
    services = Services(database, load_rules(), actor="test")
    intake = Intake.model_validate(_intake())
    pid = services.enrol("Robin Hostile")
    services.record_screen(pid, intake.screen, dt.date.today())
    assert intake.assessment is not None
    program = services.start_program(
        pid, intake.assessment, intake.preferences, day=dt.date.today() - dt.timedelta(days=3)
    )
    export = json.loads(json.dumps(services.export_person(pid), default=str))
    export["person"]["id"] = uuid.uuid4().hex  # so that a valid copy would import
    slot = program.slots[0]
    dose = slot.doses[0]
    session = {
        "id": "hostile-session-1",
        "date": dt.date.today().isoformat(),
        "exercises": [
            {
                "exercise_id": slot.exercise_id,
                "side": dose.side.value if dose.side else None,
                "sets": [{"amount": dose.amount, "rpe": 6, "pain": 2}],
            }
        ],
    }
    database.dispose()
    return Home(path, pid, export, session)


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Home:
    # What every forked child would otherwise import and load again: the command modules
    # (as `run()` registers them) and the rules.
    from groundup.cli import (  # noqa: F401
        commands,
        guided,
        person_commands,
        program_commands,
        serve_commands,
    )

    load_rules()
    return make_home(tmp_path_factory.mktemp("home"))


# ----- the commands ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Command:
    name: str
    args: Callable[[Path, Home], list[str]]
    base: str  # which valid document the content variants are made from


COMMANDS = [
    Command("screen", lambda f, h: ["screen", str(f)], "intake"),
    Command("assess", lambda f, h: ["assess", str(f)], "intake"),
    Command("plan", lambda f, h: ["plan", str(f)], "intake"),
    Command("simulate-program", lambda f, h: ["simulate", str(f), str(STEADY_LOG)], "example"),
    Command("simulate-log", lambda f, h: ["simulate", str(EXAMPLE), str(f)], "log"),
    Command("start", lambda f, h: ["start", str(f), "--name", "Someone New"], "intake"),
    Command("retest", lambda f, h: ["retest", str(f), "--person", h.person], "intake"),
    Command("log", lambda f, h: ["log", "--file", str(f), "--person", h.person], "session"),
    Command("import", lambda f, h: ["import", str(f)], "export"),
]


def base_document(kind: str, home: Home) -> Any:
    if kind == "intake":
        return _intake()
    if kind == "example":
        return json.loads(json.dumps(read_document(EXAMPLE), default=str))
    if kind == "log":
        return json.loads(json.dumps(read_document(STEADY_LOG), default=str))
    if kind == "session":
        return json.loads(json.dumps(home.session))
    return json.loads(json.dumps(home.export))


# ----- the corpus -------------------------------------------------------------------------


def _map_leaves(data: Any, change: Callable[[Any], Any]) -> Any:
    if isinstance(data, dict):
        return {k: _map_leaves(v, change) for k, v in data.items()}
    if isinstance(data, list):
        return [_map_leaves(v, change) for v in data]
    return change(data)


def _numbers_to(literal: str) -> Callable[[Any], Any]:
    """Every number (not bool) becomes a marker, later replaced by a raw literal."""

    def change(value: Any) -> Any:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return "@@NUMBER@@"
        return value

    return change


def _json_with_numbers(doc: Any, literal: str) -> str:
    text = json.dumps(_map_leaves(doc, _numbers_to(literal)))
    return text.replace('"@@NUMBER@@"', literal)


def _yaml_with_numbers(doc: Any, literal: str) -> str:
    text = yaml.safe_dump(_map_leaves(doc, _numbers_to(literal)), sort_keys=False)
    return text.replace("'@@NUMBER@@'", literal)


ALIAS_BOMB = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 10)}]\n" for i in range(8)
)


def _text(name: str, content: str) -> Callable[[Path, Any], Path]:
    def make(folder: Path, _doc: Any) -> Path:
        path = folder / name
        path.write_text(content, encoding="utf-8")
        return path

    return make


def _from_doc(name: str, render: Callable[[Any], str | bytes]) -> Callable[[Path, Any], Path]:
    def make(folder: Path, doc: Any) -> Path:
        path = folder / name
        content = render(doc)
        if isinstance(content, str):
            path.write_text(content, encoding="utf-8")
        else:
            path.write_bytes(content)
        return path

    return make


def _special(kind: str) -> Callable[[Path, Any], Path]:
    def make(folder: Path, _doc: Any) -> Path:
        if kind == "folder":
            path = folder / "a-folder.yaml"
            path.mkdir()
        elif kind == "missing":
            path = folder / "not-there.yaml"
        elif kind == "fifo":
            path = folder / "a-pipe.yaml"
            os.mkfifo(path)
        elif kind == "device":
            path = Path("/dev/zero")
        else:
            raise AssertionError(kind)
        return path

    return make


def _huge(folder: Path, _doc: Any) -> Path:
    path = folder / "huge.yaml"
    line = b"- padding padding padding padding padding padding padding padding padding\n"
    with path.open("wb") as f:
        for _ in range(HUGE_BYTES // len(line) + 1):
            f.write(line)
    assert path.stat().st_size >= HUGE_BYTES
    return path


def _truncated_yaml(doc: Any) -> str:
    text = yaml.safe_dump(doc, sort_keys=False)
    # Cut inside a quoted value so that what is left cannot parse as a smaller document.
    cut = int(len(text) * 0.6)
    return text[:cut] + '\n  broken: "unfinished'


CORPUS: dict[str, Callable[[Path, Any], Path]] = {
    "truncated-yaml": _from_doc("truncated.yaml", _truncated_yaml),
    "truncated-json": _from_doc(
        "truncated.json", lambda d: json.dumps(d)[: int(len(json.dumps(d)) * 0.6)]
    ),
    "top-level-list": _from_doc("list.yaml", lambda d: yaml.safe_dump([d, d])),
    "top-level-string": _text("string.yaml", "just some words\n"),
    "top-level-number": _text("number.json", "42\n"),
    "leaves-are-mappings": _from_doc(
        "leaves.json", lambda d: json.dumps(_map_leaves(d, lambda v: {"nested": [v]}))
    ),
    "leaves-are-words": _from_doc(
        "words.yaml",
        lambda d: yaml.safe_dump(
            _map_leaves(d, lambda v: "lots" if not isinstance(v, str) else ["a", "list"])
        ),
    ),
    "numbers-1e308": _from_doc("big.json", lambda d: _json_with_numbers(d, "1e308")),
    "numbers-minus-1e308": _from_doc("neg.json", lambda d: _json_with_numbers(d, "-1e308")),
    "numbers-10-pow-400": _from_doc(
        "int400.json", lambda d: _json_with_numbers(d, "1" + "0" * 400)
    ),
    "numbers-10-pow-5000": _from_doc("int5k.yaml", lambda d: _yaml_with_numbers(d, "9" * 5000)),
    "numbers-1e400-yaml": _from_doc("inf.yaml", lambda d: _yaml_with_numbers(d, "1.0e+400")),
    "numbers-nan-yaml": _from_doc("nan.yaml", lambda d: _yaml_with_numbers(d, ".nan")),
    "numbers-inf-yaml": _from_doc("inf2.yaml", lambda d: _yaml_with_numbers(d, "-.inf")),
    "numbers-nan-json": _from_doc("nan.json", lambda d: _json_with_numbers(d, "NaN")),
    "numbers-infinity-json": _from_doc("inf.json", lambda d: _json_with_numbers(d, "Infinity")),
    "numbers-negative": _from_doc("negative.yaml", lambda d: _yaml_with_numbers(d, "-7")),
    "utf16": _from_doc("utf16.yaml", lambda d: yaml.safe_dump(d).encode("utf-16")),
    "latin1": _from_doc(
        "latin1.yaml", lambda d: ("# Zoë's café\n" + yaml.safe_dump(d)).encode("latin-1")
    ),
    "nul-byte": _from_doc("nul.yaml", lambda d: yaml.safe_dump(d).replace("\n", "\n\x00", 1)),
    "nul-byte-json": _from_doc("nul.json", lambda d: json.dumps(d)[:-1] + "\x00}"),
    "deep-yaml": _text("deep.yaml", "[" * 100_000 + "]" * 100_000 + "\n"),
    "deep-json": _text("deep.json", "[" * 100_000 + "]" * 100_000),
    "deep-yaml-mappings": _text("deepmap.yaml", "a: " * 20_000 + "1\n"),
    "alias-bomb": _text("bomb.yaml", ALIAS_BOMB),
    "binary": _from_doc("noise.yaml", lambda d: random.Random(7).randbytes(65_536)),
    "empty": _text("empty.yaml", ""),
    "blank": _text("blank.yaml", " \n\n\t\n"),
    "yaml-python-tag": _text("tag.yaml", "screen: !!python/object/apply:os.system ['true']\n"),
    "folder": _special("folder"),
    "missing": _special("missing"),
    "fifo": _special("fifo"),
    "device": _special("device"),
}


def _child(args: list[str], env: dict[str, str], out: str, err: str) -> None:
    """The forked child: the real entry point, with its own environment, files and limits."""
    with open("/proc/self/statm") as statm:
        held = int(statm.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    cap = held + MEMORY_HEADROOM
    resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
    os.environ.clear()
    os.environ.update(env)
    for fd, name in ((1, out), (2, err)):
        handle = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
        os.dup2(handle, fd)
        os.close(handle)
    sys.stdin = open(os.devnull)  # noqa: SIM115  (never prompt)
    sys.stdout = open(1, "w", encoding="utf-8", closefd=False)  # noqa: SIM115
    sys.stderr = open(2, "w", encoding="utf-8", closefd=False)  # noqa: SIM115
    from groundup.cli.main import run
    from groundup.config import get_settings

    get_settings.cache_clear()
    sys.argv = ["groundup", *args]
    code = 0
    try:
        run()
    except SystemExit as exit_:
        code = exit_.code if isinstance(exit_.code, int) else 1
    except BaseException:
        import traceback

        traceback.print_exc()
        code = 99
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


@dataclass
class Outcome:
    code: int | None
    stdout: str
    stderr: str


def run_forked(args: list[str], home: Home, scratch: Path) -> Outcome:
    out, err = scratch / "stdout.txt", scratch / "stderr.txt"
    context = multiprocessing.get_context("fork")
    process = context.Process(target=_child, args=(args, home.env(), str(out), str(err)))
    process.start()
    process.join(DEADLINE_S)
    if process.is_alive():
        process.kill()
        process.join()
        pytest.fail(f"groundup {' '.join(args)}: still running after {DEADLINE_S} s (a hang)")
    read = lambda p: p.read_text(encoding="utf-8", errors="replace") if p.exists() else ""  # noqa: E731
    return Outcome(process.exitcode, read(out), read(err))


def assert_refused(outcome: Outcome, context: str) -> None:
    assert "Traceback" not in outcome.stderr, f"{context}: {outcome.stderr[-2000:]}"
    lines = outcome.stderr.splitlines()
    assert outcome.code == 2, f"{context}: exit {outcome.code}: {outcome.stderr[-600:]}"
    assert len(lines) == 1, f"{context}: stderr has {len(lines)} lines: {outcome.stderr[:600]}"
    assert lines[0].startswith("groundup: "), f"{context}: {lines[0]!r}"
    assert "unexpected error" not in lines[0], f"{context}: {lines[0]}"
    assert len(lines[0]) < 400, f"{context}: a long line is not a clear error: {lines[0][:200]}…"


CASES = [(c, k) for c in COMMANDS for k in CORPUS]


@pytest.fixture(scope="module")
def huge_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _huge(tmp_path_factory.mktemp("huge"), None)


@pytest.mark.slow
@pytest.mark.parametrize(("command", "kind"), CASES, ids=[f"{c.name}-{k}" for c, k in CASES])
def test_a_broken_file_gets_one_clear_line_and_stores_nothing(
    command: Command, kind: str, home: Home, tmp_path: Path
) -> None:
    document = base_document(command.base, home)
    path = CORPUS[kind](tmp_path, document)
    before = home.counts()
    outcome = run_forked(command.args(path, home), home, tmp_path)
    assert_refused(outcome, f"{command.name} {kind}")
    assert home.counts() == before, f"{command.name} {kind}: something was stored"


@pytest.mark.slow
@pytest.mark.parametrize("command", COMMANDS, ids=[c.name for c in COMMANDS])
def test_a_100_mb_file_is_refused_before_it_is_read(
    command: Command, home: Home, huge_file: Path, tmp_path: Path
) -> None:
    before = home.counts()
    outcome = run_forked(command.args(huge_file, home), home, tmp_path)
    assert_refused(outcome, f"{command.name} 100 MB")
    assert "MB" in outcome.stderr
    assert home.counts() == before


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["alias-bomb", "deep-json", "utf16", "fifo"])
def test_the_real_command_refuses_the_worst_files(kind: str, home: Home, tmp_path: Path) -> None:
    """The console entry point itself, as a person runs it (a subprocess, not a fork)."""
    path = CORPUS[kind](tmp_path, _intake())
    before = home.counts()
    result = subprocess.run(
        [sys.executable, "-m", "groundup", "start", str(path), "--name", "Someone"],
        capture_output=True,
        text=True,
        env=home.env(),
        stdin=subprocess.DEVNULL,
        timeout=DEADLINE_S * 2,
        check=False,
    )
    assert_refused(Outcome(result.returncode, result.stdout, result.stderr), kind)
    assert home.counts() == before


def test_the_valid_documents_are_accepted(tmp_path: Path) -> None:
    """The positive control: every command takes the document its variants start from (and
    the storing ones store it), so a refusal above is the variant's doing."""
    fresh = make_home(tmp_path / "fresh")
    for command in COMMANDS:
        path = tmp_path / f"{command.name}.json"
        path.write_text(json.dumps(base_document(command.base, fresh)), encoding="utf-8")
        before = fresh.counts()
        outcome = run_forked(command.args(path, fresh), fresh, tmp_path)
        assert outcome.code == 0, (command.name, outcome.stderr)
        assert "Traceback" not in outcome.stderr
        if command.name in ("start", "import", "log", "retest"):
            assert fresh.counts() != before, f"{command.name}: the valid file stored nothing"


def test_a_long_record_is_not_refused_for_its_size(tmp_path: Path) -> None:
    """A person's record outgrows the limit for hand-written files; import reads it whole."""
    from groundup.cli.files import MAX_INPUT_BYTES, MAX_RECORD_BYTES, MAX_RECORD_VALUES

    sessions = [{"day": f"2026-01-{1 + i % 28:02d}", "note": "x" * 200} for i in range(30_000)]
    path = tmp_path / "long-record.json"
    path.write_text(json.dumps({"sessions": sessions}), encoding="utf-8")
    assert MAX_INPUT_BYTES < path.stat().st_size < MAX_RECORD_BYTES
    with pytest.raises(InputError, match="MB"):
        read_document(path)
    data = read_document(path, max_bytes=MAX_RECORD_BYTES, max_values=MAX_RECORD_VALUES)
    assert len(data["sessions"]) == 30_000
