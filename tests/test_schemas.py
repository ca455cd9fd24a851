"""The published intake JSON Schema: generated from the models, never drifting, and
accepting every shipped example."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml

from groundup.clinical.intake import Intake

ROOT = Path(__file__).resolve().parent.parent
SCHEMA_FILE = ROOT / "schemas" / "intake.schema.json"
EXAMPLES = sorted((ROOT / "examples").glob("*.yaml"))
INTAKE_KEYS = set(Intake.model_fields)


def _export_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "export_schemas", ROOT / "scripts" / "export_schemas.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _as_json(data: Any) -> Any:
    """What the document is as JSON: YAML dates become ISO strings."""
    return json.loads(json.dumps(data, default=str))


def _intake_examples() -> list[Path]:
    shaped = []
    for path in EXAMPLES:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        if isinstance(data, dict) and data and set(data) <= INTAKE_KEYS:
            shaped.append(path)
    return shaped


def test_committed_intake_schema_matches_the_models() -> None:
    script = _export_script()
    fresh = script.render(script.intake_schema())
    committed = SCHEMA_FILE.read_text(encoding="utf-8")
    assert committed == fresh, "run: python scripts/export_schemas.py"


def test_export_script_check_mode_passes_on_the_committed_file() -> None:
    assert _export_script().main(["--check"]) == 0


def test_schema_names_the_dialect_and_forbids_unknown_fields() -> None:
    schema = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert set(schema["properties"]) == INTAKE_KEYS
    assert schema["additionalProperties"] is False
    assert schema["$defs"]["Pain"]["properties"]["at_rest"]["maximum"] == 10


def test_there_are_intake_examples() -> None:
    names = {path.name for path in _intake_examples()}
    assert {
        "clear-left-calf.yaml",
        "refer-dvt.yaml",
        "bilateral-shin.yaml",
        "knee-step-down.yaml",
    } <= names


@pytest.mark.parametrize("path", _intake_examples(), ids=lambda p: p.name)
def test_example_validates_against_the_models(path: Path) -> None:
    intake = Intake.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))
    assert intake.screen is not None
    assert intake.assessment is not None


@pytest.mark.parametrize("path", _intake_examples(), ids=lambda p: p.name)
def test_example_validates_against_the_published_schema(path: Path) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    schema = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    document = _as_json(yaml.safe_load(path.read_text(encoding="utf-8")))
    jsonschema.Draft202012Validator(schema).validate(document)


def test_published_schema_rejects_pain_out_of_range() -> None:
    jsonschema = pytest.importorskip("jsonschema")
    schema = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    document = _as_json(yaml.safe_load((ROOT / "examples" / "clear-left-calf.yaml").read_text()))
    document["assessment"]["pain"]["at_rest"] = 11
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft202012Validator(schema).validate(document)
