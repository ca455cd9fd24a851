"""`groundup screen` and `groundup assess`, driven as a person would: the real command in a
separate process, with the shipped examples and with broken files."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
CLEAR = EXAMPLES / "clear-left-calf.yaml"
REFER = EXAMPLES / "refer-dvt.yaml"
SHIN = EXAMPLES / "bilateral-shin.yaml"
EXIT_INPUT, EXIT_REFER = 2, 3


def groundup(*args: str | Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "120", "NO_COLOR": "1", "TERM": "dumb"}
    env.pop("GROUNDUP_DEBUG", None)
    return subprocess.run(
        [sys.executable, "-m", "groundup", *map(str, args)],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )


def clear_example() -> dict[str, Any]:
    data = yaml.safe_load(CLEAR.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


# ----- the safety screen ------------------------------------------------------------------


def test_screen_that_refers_exits_3_and_says_why() -> None:
    result = groundup("screen", REFER)
    assert result.returncode == EXIT_REFER
    assert result.stderr == ""
    assert "REFER" in result.stdout
    assert "blood clot" in result.stdout  # the reason, in plain words
    assert "emergency" in result.stdout  # the urgency's plain label


def test_screen_in_clinician_words_names_the_rule_and_the_wells_score() -> None:
    result = groundup("screen", REFER, "--clinician")
    assert result.returncode == EXIT_REFER
    assert "Wells" in result.stdout
    assert "Wells DVT score 3" in result.stdout


def test_clear_screen_exits_0() -> None:
    result = groundup("screen", CLEAR)
    assert result.returncode == 0, result.stderr
    assert "CLEAR" in result.stdout


def test_screen_json_has_the_documented_keys() -> None:
    result = groundup("screen", REFER, "--json")
    assert result.returncode == EXIT_REFER
    data = json.loads(result.stdout)
    assert set(data) == {"file", "refers", "urgency_label", "screen"}
    assert data["refers"] is True
    assert data["screen"]["outcome"] == "refer"
    assert data["screen"]["wells_score"] == 3
    assert [r["rule_id"] for r in data["screen"]["reasons"]] == ["dvt_likely"]


def test_screen_needs_a_screen_section(tmp_path: Path) -> None:
    path = tmp_path / "no-screen.yaml"
    data = clear_example()
    del data["screen"]
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    result = groundup("screen", path)
    assert result.returncode == EXIT_INPUT
    assert "no 'screen' section" in result.stderr


# ----- the assessment -------------------------------------------------------------------


def test_assess_shows_the_lsi_of_48_and_the_weaker_left_side() -> None:
    result = groundup("assess", CLEAR)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "Safety screen: clear" in out
    assert "48 %" in out
    assert "Weaker side overall: left" in out
    # Tested on the floor, not on the study's incline: a goal, no age norm.
    assert "goal 21 reps (the median for healthy women)" in out
    assert "not compared with the age norms" in out
    assert "typical for your age" not in out
    assert "gastrocnemius" in out
    assert "How irritable: moderate" in out
    assert "51/80" in out  # LEFS
    assert "40/100" in out  # VISA-A


def test_assess_with_a_referring_screen_puts_the_referral_first_and_exits_3() -> None:
    result = groundup("assess", REFER)
    assert result.returncode == EXIT_REFER
    out = result.stdout
    assert "REFER" in out
    assert "Imbalance profile" in out
    assert out.index("REFER") < out.index("Imbalance profile")


def test_assess_json_has_the_documented_keys_and_numbers() -> None:
    result = groundup("assess", CLEAR, "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert set(data) == {"file", "refers", "urgency_label", "screen", "profile", "scores"}
    assert data["refers"] is False
    heel = data["profile"]["comparisons"][0]
    assert heel["test"] == "heel_raise_reps"
    assert (heel["left"], heel["right"], heel["lsi"]) == (12, 25, 48.0)
    assert heel["severity"] == "severe"
    assert data["profile"]["weaker_side"] == "left"
    assert data["profile"]["irritability"]["level"] == "moderate"
    assert set(data["scores"]) == {"lefs", "visa_a", "psfs"}
    assert data["scores"]["lefs"]["value"] == 51
    assert data["scores"]["psfs"]["value"] == pytest.approx(11 / 3)


def test_assess_json_reports_questionnaire_validity() -> None:
    data = json.loads(groundup("assess", SHIN, "--json").stdout)
    adl, sports = data["scores"]["faam_adl"], data["scores"]["faam_sports"]
    assert adl["valid"] and adl["answered"] == 19
    assert adl["not_applicable"] == ["walking_even_barefoot", "heavy_work"]
    assert not sports["valid"] and sports["value"] is None
    assert "7 of 8" in sports["reason"]
    assert data["profile"]["irritability"]["level"] == "high"


def test_assess_without_a_screen_says_so(tmp_path: Path) -> None:
    path = tmp_path / "no-screen.json"
    data = clear_example()
    del data["screen"]
    path.write_text(json.dumps(data, default=str), encoding="utf-8")
    result = groundup("assess", path)
    assert result.returncode == 0, result.stderr
    assert "No safety screen" in result.stdout
    assert json.loads(groundup("assess", path, "--json").stdout)["refers"] is None


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.yaml")), ids=lambda p: p.name)
@pytest.mark.parametrize("extra", [("--clinician",), ("--json",)], ids=["clinician", "json"])
def test_every_example_loads_and_assesses(path: Path, extra: tuple[str, ...]) -> None:
    result = groundup("assess", path, *extra)
    assert result.returncode in (0, EXIT_REFER), result.stderr
    assert result.stderr == ""
    assert "Imbalance profile" in result.stdout or "profile" in json.loads(result.stdout)


# ----- bad input: one line, a non-zero exit, no traceback -----------------------------


def _edited(tmp_path: Path, name: str, edit: Any) -> Path:
    data = clear_example()
    edit(data)
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def _set(*keys: str, value: Any) -> Any:
    def edit(data: dict[str, Any]) -> None:
        for key in keys[:-1]:
            data = data[key]
        data[keys[-1]] = value

    return edit


def _bad_files(tmp_path: Path) -> dict[str, tuple[list[str | Path], str]]:
    malformed = tmp_path / "malformed.yaml"
    malformed.write_text("assessment:\n  age: [45\n  sex: female\n", encoding="utf-8")
    empty = tmp_path / "empty.yaml"
    empty.write_text("", encoding="utf-8")
    latin1 = tmp_path / "latin1.yaml"
    latin1.write_bytes("screen:\n  fever: false\n# café\n".encode("latin-1"))
    bad_json = tmp_path / "bad.json"
    bad_json.write_text('{"assessment": {"age": 45,}}', encoding="utf-8")
    scalar = tmp_path / "scalar.yaml"
    scalar.write_text("just some words\n", encoding="utf-8")
    pain_11 = _edited(tmp_path, "pain.yaml", _set("assessment", "pain", "at_rest", value=11))
    reps = _edited(
        tmp_path,
        "reps.yaml",
        _set("assessment", "tests", "heel_raise_reps", "left", value=-3),
    )
    wrong_type = _edited(tmp_path, "age.yaml", _set("assessment", "age", value="forty"))
    unknown = _edited(tmp_path, "unknown.yaml", _set("assessment", "favourite_colour", value="red"))
    lefs = _edited(tmp_path, "lefs.yaml", _set("assessment", "lefs", "hopping", value=7))
    screen_type = _edited(tmp_path, "fever.yaml", _set("screen", "fever", value="maybe"))
    return {
        "missing file": (["assess", tmp_path / "nowhere.yaml"], "no such file"),
        "malformed YAML": (["assess", malformed], "not valid YAML at line"),
        "pain 11": (["assess", pain_11], "assessment.pain.at_rest"),
        "reps -3": (["assess", reps], "assessment.tests.heel_raise_reps.left"),
        "wrong type": (["assess", wrong_type], "assessment.age"),
        "unknown field": (["assess", unknown], "assessment.favourite_colour"),
        "empty file": (["assess", empty], "empty"),
        "non-UTF-8": (["screen", latin1], "UTF-8"),
        "malformed JSON": (["assess", bad_json], "not valid JSON"),
        "not a mapping": (["screen", scalar], "expected a mapping"),
        "LEFS answer 7": (["assess", lefs], "assessment.lefs"),
        "screen answer not yes/no": (["screen", screen_type], "screen.fever"),
        "unknown exercise": (["exercise", "no-such-exercise"], "unknown exercise"),
    }


BAD_CASES = [
    "missing file",
    "malformed YAML",
    "pain 11",
    "reps -3",
    "wrong type",
    "unknown field",
    "empty file",
    "non-UTF-8",
    "malformed JSON",
    "not a mapping",
    "LEFS answer 7",
    "screen answer not yes/no",
    "unknown exercise",
]


@pytest.mark.parametrize("case", BAD_CASES)
def test_bad_input_gives_one_clear_line_and_a_nonzero_exit(tmp_path: Path, case: str) -> None:
    args, expected = _bad_files(tmp_path)[case]
    result = groundup(*args)
    assert result.returncode == EXIT_INPUT
    assert "Traceback" not in result.stderr + result.stdout
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("groundup: ")
    assert expected in lines[0]
    assert result.stdout == ""


def test_bad_input_with_json_still_prints_no_json(tmp_path: Path) -> None:
    args, _ = _bad_files(tmp_path)["pain 11"]
    result = groundup(*args, "--json")
    assert result.returncode == EXIT_INPUT
    assert result.stdout == ""
    assert len(result.stderr.strip().splitlines()) == 1
