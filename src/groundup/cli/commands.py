"""The commands of `groundup`."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from groundup.cli import render
from groundup.cli.main import app, fail, out
from groundup.clinical.vocabulary import Equipment, Kind, Muscle, Phase, Position
from groundup.knowledge import load_library


def _choice(value: str | None, enum: type, what: str):  # type: ignore[no-untyped-def]
    if value is None:
        return None
    try:
        return enum(value.strip().lower().replace(" ", "_").replace("-", "_"))
    except ValueError:
        options = ", ".join(e.value for e in enum)
        raise fail(f"unknown {what} {value!r}; choose one of: {options}") from None


@app.command()
def exercises(
    muscle: Annotated[str | None, typer.Option(help="only exercises for this muscle group")] = None,
    phase: Annotated[str | None, typer.Option(help="only exercises suited to this phase")] = None,
    equipment: Annotated[
        list[str] | None,
        typer.Option(help="equipment you have (repeat); exercises needing more are left out"),
    ] = None,
    position: Annotated[str | None, typer.Option(help="supine, seated, standing, kneeling…")] = None,
    kind: Annotated[str | None, typer.Option(help="warm_up, strength, balance, mobility…")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="machine-readable output")] = False,
) -> None:
    """List the exercise library, filtered."""
    library = load_library()
    phase_value = _phase(phase)
    chosen = library.select(
        muscle=_choice(muscle, Muscle, "muscle group"),
        phase=phase_value,
        equipment=None
        if equipment is None
        else [_choice(e, Equipment, "equipment") for e in equipment],
        position=_choice(position, Position, "position"),
        kind=_choice(kind, Kind, "kind"),
    )
    if as_json:
        out.print_json(json.dumps([e.model_dump(mode="json") for e in chosen]))
        return
    if not chosen:
        out.print("No exercise matches those filters.")
        return
    out.print(render.exercise_table(chosen))


def _phase(value: str | None) -> Phase | None:
    if value is not None and value.strip().isdigit():
        number = int(value)
        phases = list(Phase)
        if not 1 <= number <= len(phases):
            raise fail(f"phase {number} does not exist; phases run from 1 to {len(phases)}")
        return phases[number - 1]
    result = _choice(value, Phase, "phase")
    return result  # type: ignore[no-any-return]


@app.command()
def exercise(
    exercise_id: Annotated[str, typer.Argument(metavar="ID", help="exercise id, name or alias")],
    as_json: Annotated[bool, typer.Option("--json", help="machine-readable output")] = False,
) -> None:
    """Show one exercise as a card: dose, tempo, difficulty, cues, faults."""
    library = load_library()
    found = library.find(exercise_id)
    if found is None:
        raise fail(
            f"unknown exercise {exercise_id!r}; `groundup exercises` lists the ids"
        )
    if as_json:
        out.print_json(found.model_dump_json())
        return
    out.print(render.exercise_card(found))
