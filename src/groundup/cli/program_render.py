"""How the command line shows a program and the decisions that shape it."""

from __future__ import annotations

from rich.console import Group, RenderableType
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from groundup.clinical.planning import minutes_shown, template_load_missing
from groundup.clinical.program import Dose, Part, Program, Slot, dose_words
from groundup.clinical.progression import Decision
from groundup.clinical.readiness import run_ready
from groundup.clinical.rules import Rules
from groundup.clinical.vocabulary import DoseType
from groundup.clinical.wording import person_words

WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
PART_TITLES = {"warm_up": "Warm-up", "main": "Main work", "mobility": "Mobility"}
KIND_STYLE = {
    "progress": "green",
    "hold": "yellow",
    "regress": "magenta",
    "flare": "red",
    "cap": "yellow",
    "phase": "bold cyan",
    "prompt": "cyan",
    "refer": "bold red",
    "info": "dim",
    "override": "blue",
}

# What the person sees in place of a rule id: the kind of change, in words.
KIND_WORDS = {
    "progress": "step up",
    "hold": "kept",
    "regress": "step back",
    "flare": "flare-up",
    "cap": "limited",
    "phase": "new phase",
    "prompt": "to do",
    "refer": "see a doctor",
    "info": "note",
    "override": "your clinician",
}


def dose_line(dose: Dose, dose_type: DoseType) -> str:
    """A dose with its load in kg, for the clinical views."""
    text = dose_words(dose, dose_type)
    if dose.load_kg:
        text += f" @ {dose.load_kg:g} kg"
    return text


def _slot_rows(
    table: Table, slot: Slot, rules: Rules, *, reasons: bool, clinician: bool = True
) -> None:
    exercise = rules.library[slot.exercise_id]
    for n, dose in enumerate(slot.doses):
        side = dose.side.value if dose.side else "both"
        knob = exercise.knob.describe(dose.knob) if exercise.knob and dose.knob is not None else ""
        tempo = dose.tempo.text() if dose.tempo else ""
        name = exercise.name if n == 0 else ""
        if n == 0 and slot.pair_with:
            name += f"\n[dim]↔ alternate with {rules.library[slot.pair_with].name.lower()}[/]"
        pinned = " [blue](pinned)[/]" if dose.pinned else ""
        row = [
            name,
            side,
            dose_line(dose, exercise.dose_type) + pinned,
            tempo,
            knob,
            f"{dose.rest_seconds} s",
        ]
        if reasons:
            why = slot.reason if clinician else person_words(slot.reason, rules.assessment)
            row.append(why if n == 0 else "")
        table.add_row(*row)


def program_view(
    program: Program, rules: Rules, *, reasons: bool = True, clinician: bool = False
) -> Group:
    """The program as tables. The person reads plain words; the clinician the planner's own
    reasons, with the phase's clinical purpose and the sources."""
    days = ", ".join(WEEKDAYS[d] for d in program.training_days)
    per_day = f", {program.times_per_day}× a day" if program.times_per_day > 1 else ""
    header = Text.assemble(
        (f"Phase {program.phase.number}: {program.phase.label}", "bold"),
        f"  ·  {days}{per_day}  ·  about {minutes_shown(program.slots, rules)} min a session",
        f"  ·  version {program.version}",
    )
    definition = rules.phases[program.phase]
    purpose = Text(definition.clinical_purpose if clinician else definition.purpose, style="italic")
    pathway = rules.pathways[program.pathway]
    condition = Text.assemble(
        ("Plan for: ", "bold"),
        pathway.name,
        (f"  ({pathway.clinical_name})", "dim") if pathway.clinical_name != pathway.name else "",
    )
    parts: list[RenderableType] = [header, condition, purpose]
    parts_order: tuple[Part, ...] = ("warm_up", "main", "mobility")
    for part in parts_order:
        slots = program.part(part)
        if not slots:
            continue
        table = Table(title=PART_TITLES[part], title_justify="left", expand=False)
        for column in ("exercise", "side", "dose", "tempo", "difficulty", "rest"):
            table.add_column(column)
        if reasons:
            table.add_column("why", max_width=60)
        for slot in slots:
            _slot_rows(table, slot, rules, reasons=reasons, clinician=clinician)
        parts.append(table)
    if program.reasons:
        parts.append(Text("Notes", style="bold"))
        parts += [
            Text(f"• {r if clinician else person_words(r, rules.assessment)}")
            for r in program.reasons
        ]
    return Group(*parts)


def decisions_table(decisions: list[Decision], *, clinician: bool = False) -> Table:
    table = Table(title=f"{len(decisions)} decisions", expand=False)
    table.add_column("date")
    table.add_column("rule" if clinician else "change")
    table.add_column("what happened", max_width=90)
    for decision in decisions:
        style = KIND_STYLE.get(decision.kind, "")
        text = decision.clinician_text if clinician else decision.person_text
        label = decision.rule if clinician else KIND_WORDS.get(decision.kind, decision.kind)
        table.add_row(decision.date.isoformat(), Text(label, style=style), text)
    return table


def referral_panel(text: str) -> Panel:
    return Panel(Text(text), title="[bold red]See a doctor first[/]", border_style="red")


def offered_templates(program: Program, rules: Rules, file: str) -> Text | None:
    """The ready-made programs that suit the person's condition, and how to choose one."""
    offered = [t for t in rules.pathways[program.pathway].templates if t != program.template]
    if not offered:
        return None
    text = Text("Ready-made programs for this condition", style="bold")
    for name in offered:
        template = rules.templates.templates[name]
        text.append(f"\n• {template.name}: ", style="")
        text.append(f"groundup plan {file} --template {name}", style="cyan")
        if template.needs == "run_ready" and not run_ready(program.profile, rules).met:
            text.append(" (once the criteria to start running are met)", style="dim")
        missing = template_load_missing(template, program.preferences, rules)
        if missing is not None:
            when = "from the first week" if template.loaded_from_start else "later on"
            text.append(f" (needs {missing} {when})", style="dim")
    return text
