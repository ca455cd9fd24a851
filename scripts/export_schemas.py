"""Write the published JSON Schema of intake files to schemas/.

    python scripts/export_schemas.py          # (re)write schemas/intake.schema.json
    python scripts/export_schemas.py --check  # exit 1 if the committed file is out of date

The schema is generated from `groundup.clinical.intake.Intake`, so it always matches what
`groundup screen` and `groundup assess` accept; tests/test_schemas.py fails when the
committed file drifts from the models.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from groundup.clinical.intake import Intake

ROOT = Path(__file__).resolve().parent.parent
INTAKE_SCHEMA = ROOT / "schemas" / "intake.schema.json"
DIALECT = "https://json-schema.org/draft/2020-12/schema"


def intake_schema() -> dict[str, Any]:
    """The JSON Schema of an intake document (screen answers, assessment, preferences)."""
    schema = Intake.model_json_schema()
    return {
        "$schema": DIALECT,
        "title": "groundup intake",
        "description": (
            "A groundup intake document: the safety-screen answers, the assessment and the "
            "preferences. Read by `groundup screen` and `groundup assess`."
        ),
        **{key: value for key, value in schema.items() if key not in ("title", "description")},
    }


def render(schema: dict[str, Any]) -> str:
    """The schema as committed: two-space indent, UTF-8, a final newline."""
    return json.dumps(schema, indent=2, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only check, write nothing")
    args = parser.parse_args(argv)
    text = render(intake_schema())
    relative = INTAKE_SCHEMA.relative_to(ROOT)
    if args.check:
        current = INTAKE_SCHEMA.read_text(encoding="utf-8") if INTAKE_SCHEMA.exists() else ""
        if current != text:
            print(f"{relative} is out of date: run python scripts/export_schemas.py")
            return 1
        print(f"{relative} is up to date")
        return 0
    INTAKE_SCHEMA.parent.mkdir(parents=True, exist_ok=True)
    INTAKE_SCHEMA.write_text(text, encoding="utf-8")
    print(f"wrote {relative}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
