"""Write the example log files in examples/logs/ by walking synthetic people through the
program that examples/clear-left-calf.yaml produces.

    .venv/bin/python scripts/make_example_logs.py

Each file is a plain list of events (sessions set by set, morning check-ins, retests)
that `groundup simulate examples/clear-left-calf.yaml examples/logs/NAME.yaml` replays.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from groundup.cli.files import read_document, validate
from groundup.cli.program_commands import build_program
from groundup.clinical.intake import Intake
from groundup.knowledge import load_rules
from groundup.simulation import Scenario, follow

ROOT = Path(__file__).resolve().parent.parent
INTAKE = ROOT / "examples" / "clear-left-calf.yaml"

SCENARIOS = {
    "steady-recovery": Scenario(
        name="steady",
        weeks=16,
        session_pain=(3, 2, 2, 1),
        morning_pain=(3, 2, 2, 1, 1, 0),
        morning_stiffness=(2, 1),
        effort=(6.0,),
    ),
    "flare-up": Scenario(
        name="flare",
        weeks=10,
        session_pain=(3, 2, 2, 2),
        morning_pain=(3, 2, 2, 2),
        effort=(6.0,),
        spike_sessions=(10,),
    ),
    "stall": Scenario(
        name="stall",
        weeks=8,
        session_pain=(3,),
        morning_pain=(3,),
        effort=(6.0,),
        fault_weeks=tuple(range(1, 20)),
    ),
    "worsening": Scenario(
        name="worse",
        weeks=5,
        session_pain=(3, 4, 6, 6, 7),
        morning_pain=(3, 4, 5, 6, 7),
        effort=(7.0,),
    ),
}

HEADERS = {
    "steady-recovery": "Steady recovery: pain settles, tests improve, every phase gate is met in turn.",
    "flare-up": "A flare-up in week 4: a pain spike, a reduced-volume plan, a staged return, then progress again.",
    "stall": "A stall: form faults keep holding the dose, nothing progresses for weeks.",
    "worsening": "Worsening: pain rises week on week despite the program stepping back; it refers.",
}


def main() -> None:
    rules = load_rules()
    intake = validate(Intake, read_document(INTAKE), str(INTAKE))
    _, program = build_program(intake, rules)
    assert intake.assessment is not None
    baseline = intake.assessment.model_copy(update={"date": program.start_date})
    for name, scenario in SCENARIOS.items():
        events, _, _ = follow(program, baseline, scenario, rules)
        data = [e.model_dump(mode="json", exclude_defaults=True) | {"type": e.type} for e in events]
        path = ROOT / "examples" / "logs" / f"{name}.yaml"
        header = (
            f"# {HEADERS[name]}\n"
            f"# Replay: groundup simulate examples/clear-left-calf.yaml examples/logs/{name}.yaml\n"
            "# Written by scripts/make_example_logs.py.\n"
        )
        path.write_text(header + yaml.safe_dump({"events": data}, sort_keys=False, width=100))
        print(f"{path.relative_to(ROOT)}: {len(events)} events")


if __name__ == "__main__":
    main()
