"""How the command line shows things: Rich tables and panels, one place per kind of value."""

from __future__ import annotations

from rich.console import Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from groundup.clinical.exercises import Exercise
from groundup.clinical.vocabulary import DoseType, Laterality


def dose_text(exercise: Exercise) -> str:
    dose = exercise.dose
    unit = exercise.dose_type.unit
    per_side = " per side" if exercise.laterality is Laterality.ONE_LEG else ""
    amount = f"{dose.amount:g} {unit}" if exercise.dose_type is not DoseType.REPS else f"{dose.amount:g}"
    return f"{dose.sets} × {amount}{per_side}"


def exercise_table(exercises: list[Exercise]) -> Table:
    table = Table(title=f"{len(exercises)} exercises", expand=False, show_lines=False)
    table.add_column("id", style="bold")
    table.add_column("name")
    table.add_column("trains")
    table.add_column("phases")
    table.add_column("equipment")
    table.add_column("dose")
    for exercise in exercises:
        table.add_row(
            exercise.id,
            exercise.name,
            ", ".join(m.value for m in exercise.prime_movers)
            or ", ".join(t.muscle.value for t in exercise.targets),
            " ".join(str(p.number) for p in exercise.phases),
            ", ".join(e.value for e in exercise.equipment),
            dose_text(exercise),
        )
    return table


def exercise_card(exercise: Exercise) -> Panel:
    facts = Table.grid(padding=(0, 2))
    facts.add_column(style="bold")
    facts.add_column()
    if exercise.aliases:
        facts.add_row("Also called", ", ".join(exercise.aliases))
    facts.add_row(
        "Trains",
        "; ".join(f"{t.muscle.label} ({t.role.value.replace('_', ' ')})" for t in exercise.targets),
    )
    facts.add_row("Phases", ", ".join(f"{p.number} {p.label}" for p in exercise.phases))
    facts.add_row("Position", exercise.position.value)
    facts.add_row("Equipment", ", ".join(e.value.replace("_", " ") for e in exercise.equipment))
    facts.add_row(
        "Dose",
        f"{dose_text(exercise)} (range {exercise.dose.range_low:g}–{exercise.dose.range_high:g}), "
        f"rest {exercise.dose.rest_seconds} s",
    )
    if exercise.tempo is not None:
        facts.add_row("Tempo", exercise.tempo.text())
    if exercise.knob is not None:
        knob = exercise.knob
        facts.add_row("Difficulty", knob.describe(knob.default))
        facts.add_row("  easier", knob.easier_how)
        facts.add_row("  harder", knob.harder_how)
    if exercise.loadable:
        load = f", start at {exercise.default_load_kg:g} kg" if exercise.default_load_kg else ""
        facts.add_row("Load", f"can be loaded{load}")
    if exercise.regression:
        facts.add_row("Easier version", exercise.regression)
    if exercise.progression:
        facts.add_row("Harder version", exercise.progression)
    facts.add_row("Sources", "; ".join(exercise.sources))

    parts: list[object] = [Text(exercise.summary), Text(""), facts]
    parts += [Text(""), Text("How to do it", style="bold")]
    parts += [Text(f"{i}. {step}") for i, step in enumerate(exercise.steps, 1)]
    parts += [Text(""), Text("Cues", style="bold")] + [Text(f"• {c}") for c in exercise.cues]
    if exercise.faults:
        parts += [Text(""), Text("Common faults", style="bold")]
        parts += [Text(f"• {f.text} → {f.fix}") for f in exercise.faults]
    if exercise.cautions:
        parts += [Text(""), Text("Take care", style="bold yellow")]
        parts += [Text(f"• {c}") for c in exercise.cautions]
    return Panel(Group(*parts), title=f"[bold]{exercise.name}[/] [dim]({exercise.id})[/]")  # type: ignore[arg-type]
