"""How the command line shows things: Rich tables and panels, one place per kind of value."""

from __future__ import annotations

from collections.abc import Mapping

from rich import box
from rich.console import Group, RenderableType
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from groundup.clinical.exercises import Exercise
from groundup.clinical.outcomes import QuestionnaireSet, Score
from groundup.clinical.profile import AssessmentRules, ImbalanceProfile, SideComparison
from groundup.clinical.screening import ScreenResult, Urgency
from groundup.clinical.vocabulary import DoseType, Irritability, Laterality, Severity, Side


def dose_text(exercise: Exercise) -> str:
    dose = exercise.dose
    unit = exercise.dose_type.unit
    per_side = " per side" if exercise.laterality is Laterality.ONE_LEG else ""
    amount = (
        f"{dose.amount:g} {unit}" if exercise.dose_type is not DoseType.REPS else f"{dose.amount:g}"
    )
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


# ----- the safety screen ---------------------------------------------------------------

_WHEN = {
    Urgency.EMERGENCY: "now",
    Urgency.SAME_DAY: "today",
    Urgency.SOON: "within days",
    Urgency.NEXT_VISIT: "next visit",
}

_SEVERITY_STYLE = {
    Severity.NONE: "dim",
    Severity.MILD: "cyan",
    Severity.MODERATE: "yellow",
    Severity.SEVERE: "bold red",
}


def _number(value: float) -> str:
    return f"{round(value, 2):g}"


def screen_verdict(result: ScreenResult) -> Text:
    """The one line that says whether the person may go on."""
    if result.urgency is Urgency.EMERGENCY:
        return Text("REFER: get medical help now. Don't start the exercises.", style="bold red")
    if result.urgency is Urgency.SAME_DAY:
        return Text("REFER: see a doctor today. Don't start the exercises.", style="bold red")
    if result.refers:
        return Text("REFER: see a doctor before you start the exercises.", style="bold red")
    return Text("CLEAR: nothing in your answers needs a doctor before you start.", "bold green")


def _wells(result: ScreenResult) -> str:
    if result.wells_score is None:
        return "Wells DVT score not applicable (no calf pain, tenderness or one-sided swelling)"
    return f"Wells DVT score {result.wells_score}"


def screen_report(result: ScreenResult, *, clinician: bool = False) -> Panel:
    """The whole screen result: verdict, urgency, every reason, and the advice."""
    parts: list[RenderableType] = [screen_verdict(result), Text("")]
    if result.urgency is None:
        parts.append(Text("No warning signs were found in your answers."))
    else:
        parts.append(Text.assemble(("How urgent: ", "bold"), result.urgency.label))
        parts += [Text(""), Text("Why" if result.refers else "Worth mentioning", style="bold")]
        for reason in result.reasons:
            tag = f"[{_WHEN[reason.urgency]}] "
            if clinician:
                parts.append(
                    Text.assemble(
                        "• ",
                        (tag, "bold"),
                        (reason.name, "bold"),
                        f": {reason.clinician_text} ",
                        (f"({reason.source}) [{reason.confidence.value}]", "dim"),
                    )
                )
                if reason.numbers:
                    numbers = ", ".join(f"{k} {v}" for k, v in reason.numbers.items())
                    parts.append(Text(f"  numbers: {numbers}", style="dim"))
            else:
                parts.append(Text.assemble("• ", (tag, "bold"), reason.person_text.strip()))
    parts += [Text(""), Text("What to do", style="bold"), Text(result.advice)]
    if clinician:
        parts += [
            Text(""),
            Text(
                f"{_wells(result)}; screening rules version {result.rules_version}",
                style="dim",
            ),
        ]
    return Panel(
        Group(*parts),
        title="Safety screen",
        border_style="red" if result.refers else "green",
    )


def screen_mention(result: ScreenResult) -> Text:
    """One line for a clear screen shown above an assessment."""
    text = Text.assemble(("Safety screen: clear.", "bold green"), " Nothing needs a doctor first.")
    notes = result.notes
    if notes:
        count = "one thing" if len(notes) == 1 else f"{len(notes)} things"
        text.append(
            f" There is {count} to mention at your next visit "
            "(`groundup screen` on this file shows it)."
        )
    return text


# ----- the assessment -----------------------------------------------------------------


def _plain_value(value: float | None) -> str:
    return "—" if value is None else _number(value)


def _deficit_cell(comparison: SideComparison) -> Text:
    severity = comparison.severity
    if comparison.left is None or comparison.right is None:
        return Text("one side only", style="dim")
    if comparison.weaker_side is not None and not comparison.beyond_error:
        return Text("within error", style="dim")
    text = Text(severity.value, style=_SEVERITY_STYLE[severity])
    if comparison.weaker_side is not None and severity is not Severity.NONE:
        text.append(f", {comparison.weaker_side.value}")
    return text


def _lsi_cell(comparison: SideComparison) -> str:
    if comparison.lsi is not None:
        return f"{comparison.lsi:g} %"
    return "—"


def comparison_table(profile: ImbalanceProfile, rules: AssessmentRules) -> Table:
    """Every test done, side by side: values, LSI (involved ÷ uninvolved), measurement error
    and deficit."""
    table = Table(title="Tests, side by side", expand=False, box=box.SIMPLE_HEAD)
    table.add_column("Test", style="bold")
    table.add_column("Left", justify="right")
    table.add_column("Right", justify="right")
    table.add_column("LSI", justify="right")
    table.add_column("Diff.", justify="right")
    table.add_column("Error", justify="right")
    table.add_column("Deficit")
    for item in profile.comparisons:
        table.add_row(
            Text(f"{rules.tests[item.test].short}, {item.unit}"),
            _plain_value(item.left),
            _plain_value(item.right),
            _lsi_cell(item),
            _plain_value(item.difference),
            _plain_value(item.measurement_error),
            _deficit_cell(item),
        )
    return table


def _affected_line(profile: ImbalanceProfile, clinician: bool) -> Text | None:
    affected = profile.affected_side
    involved = profile.involved_side
    if affected is None:
        return None
    if involved is None:
        if clinician:
            return Text(
                "Both sides affected: no LSI (symmetry says nothing about capacity); each "
                "side is compared with its capacity goal where a verified one exists."
            )
        return Text("Both legs are sore, so each leg is compared with its own goal.")
    if clinician:
        return Text(
            f"Involved side: {involved.value}. LSI = {involved.value} ÷ "
            f"{involved.other.value} × 100, as measured (above 100 % when the involved side "
            "did more)."
        )
    return Text(
        f"Your sore leg: {involved.value}. LSI is your {involved.value} leg as a percentage "
        f"of your {involved.other.value} (above 100 % when it did more)."
    )


def _goal_line(item: SideComparison, label: str, clinician: bool) -> Text:
    capacity = item.capacity
    line = Text(f"• {label}: ")
    if not capacity.available:
        line.append(capacity.text, style="dim")
        return line
    line.append(capacity.text)
    reached = [side.value for side in Side if capacity.met(side) is True]
    short = [side.value for side in Side if capacity.met(side) is False]
    if reached:
        line.append(f"; {' and '.join(reached)} reach{'es' if len(reached) == 1 else ''} it")
    if short:
        line.append(f"; {' and '.join(short)} short of it", style="yellow")
    if clinician:
        line.append(
            f"; {capacity.age_note} ({capacity.source}) [{capacity.confidence}]", style="dim"
        )
    return line


def norm_lines(
    profile: ImbalanceProfile, rules: AssessmentRules, *, clinician: bool = False
) -> list[Text]:
    """Per test, the capacity goal (if a verified one exists) and how the result compares
    with published norms, if any apply."""
    lines: list[Text] = []
    for item in profile.comparisons:
        definition = rules.tests[item.test]
        label = definition.label if clinician else definition.person_label
        if item.capacity.available:
            lines.append(_goal_line(item, label, clinician))
        norm = item.norm
        line = Text(f"• {label}: ")
        line.append(norm.text, style="" if norm.available else "dim")
        below = [
            side for side, flag in (("left", norm.below_left), ("right", norm.below_right)) if flag
        ]
        if below:
            line.append(f"; {' and '.join(below)} below it", style="yellow")
        if clinician and norm.source:
            weak = ", weak" if (n := rules.norms.get(item.test)) is not None and n.weak else ""
            line.append(f" ({norm.source}) [{norm.confidence}{weak}]", style="dim")
        lines.append(line)
    return lines


_IRRITABILITY_MEANING = {
    Irritability.HIGH: "Your pain is easily stirred up at the moment, so the start is gentle.",
    Irritability.MODERATE: "Your pain is stirred up fairly easily, so the start is careful.",
    Irritability.LOW: "Your pain settles well, so the work can start at a normal level.",
}


def profile_report(
    profile: ImbalanceProfile, rules: AssessmentRules, *, clinician: bool = False
) -> Group:
    """The imbalance profile: tests, findings, implicated muscles and irritability."""
    when = f" ({profile.tested_on.isoformat()})" if profile.tested_on else ""
    parts: list[RenderableType] = [Text(f"Imbalance profile{when}", style="bold underline")]
    if profile.weaker_side is not None:
        parts.append(Text(f"Weaker side overall: {profile.weaker_side.value}.", style="bold"))
    else:
        parts.append(Text("Neither side is clearly weaker overall."))
    affected = _affected_line(profile, clinician)
    if affected is not None:
        parts.append(affected)
    if profile.comparisons:
        parts.append(comparison_table(profile, rules))
        parts.append(Text("Compared with goals and published norms", style="bold"))
        parts += norm_lines(profile, rules, clinician=clinician)
    else:
        parts.append(Text("No side-by-side tests were recorded.", style="dim"))

    parts += [Text(""), Text("What the tests found", style="bold")]
    if not profile.findings:
        parts.append(Text("Nothing beyond the tests' measurement error or the norms."))
    numbers = {finding.id: number for number, finding in enumerate(profile.findings, 1)}
    for number, finding in enumerate(profile.findings, 1):
        line = Text(f"#{number} ")
        line.append(f"[{finding.severity.value}] ", style=_SEVERITY_STYLE[finding.severity])
        line.append(finding.clinician_text if clinician else finding.person_text)
        if clinician and finding.source not in finding.clinician_text:
            confidence = f" [{finding.confidence}]" if finding.confidence else ""
            line.append(f" ({finding.source}){confidence}", style="dim")
        parts.append(line)

    parts += [Text(""), Text("Muscles that need the work", style="bold")]
    if profile.implicated:
        muscles = Table(show_header=True, box=None, padding=(0, 2))
        muscles.add_column("Muscle group")
        muscles.add_column("Side")
        muscles.add_column("Severity")
        muscles.add_column("Found in")
        for item in profile.implicated:
            sides = " and ".join(side.value for side in item.sides) or "both / not sided"
            row: list[RenderableType] = [
                item.muscle.label,
                sides,
                Text(item.severity.value, style=_SEVERITY_STYLE[item.severity]),
            ]
            row.append(", ".join(f"#{numbers[finding_id]}" for finding_id in item.because))
            muscles.add_row(*row)
        parts.append(muscles)
    else:
        parts.append(Text("None stands out.", style="dim"))

    irritability = profile.irritability
    parts += [
        Text(""),
        Text.assemble(("How irritable: ", "bold"), irritability.level.value),
        Text(_IRRITABILITY_MEANING[irritability.level]),
    ]
    parts += [Text(f"• {reason}") for reason in irritability.reasons]
    if clinician:
        parts.append(Text(irritability.source, style="dim"))
    return Group(*parts)


def scores_table(
    scores: Mapping[str, Score], measures: QuestionnaireSet, *, clinician: bool = False
) -> Table:
    """Questionnaire scores with whether each is valid and what it is out of."""
    table = Table(title="Questionnaires", expand=False)
    table.add_column("Questionnaire", style="bold")
    table.add_column("Score", justify="right")
    table.add_column("Valid")
    table.add_column("Answered", justify="right")
    table.add_column("Notes")
    for measure_id, result in scores.items():
        measure = measures.measure(measure_id)
        name = measure.short_name if clinician else f"{measure.plain_name} ({measure.short_name})"
        notes: list[str] = []
        if result.reason:
            notes.append(result.reason)
        if result.not_applicable and result.valid:
            notes.append(f"{len(result.not_applicable)} marked not applicable")
        if measure.reference_mean is not None and result.valid:
            change = measure.mcid or measure.mdc
            judged = f"; judged by change ({change.value:g} points)" if change else ""
            notes.append(
                f"healthy controls averaged {measure.reference_mean.value:g} (a group mean, "
                f"not a target){judged}"
            )
        table.add_row(
            Text(name),
            result.display(),
            Text("yes", style="green") if result.valid else Text("no", style="bold red"),
            str(result.answered),
            Text("; ".join(notes)),
        )
    return table
