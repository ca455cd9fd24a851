"""The person's first hour, under /me: "you are clear to start" after the safety screen,
what the tests found (both legs side by side, with a picture) and what the program does
about it, and the whole program with every exercise's part, dose, reason and drawing.

These pages only read: the screen result, the first assessment's stored profile and the
current program. They share the person's pages' sign-in rule (`MeDep`).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from markupsafe import Markup

from groundup import pictures
from groundup.clinical.exercises import Exercise
from groundup.clinical.planning import minutes_shown
from groundup.clinical.profile import ImbalanceProfile, SideComparison
from groundup.clinical.program import PART_TITLES, Dose, Program, dose_words, mass_words
from groundup.clinical.vocabulary import Muscle, Role, Severity, Side
from groundup.clinical.wording import person_words
from groundup.services import Services
from groundup.web.deps import ServicesDep, see
from groundup.web.pages import render
from groundup.web.person import WEEKDAYS, MeDep, _program_or_none, person_name

router = APIRouter(prefix="/me")

# Each muscle group as a person would name it.
MUSCLE_WORDS: dict[Muscle, str] = {
    Muscle.TIBIALIS_ANTERIOR: "the muscle at the front of the shin",
    Muscle.GASTROCNEMIUS: "the calf (the part that works with the knee straight)",
    Muscle.SOLEUS: "the calf (the deep part that works with the knee bent)",
    Muscle.PERONEALS: "the muscles on the outside of the shin",
    Muscle.TIBIALIS_POSTERIOR: "the muscle on the inside of the shin that holds up the arch",
    Muscle.INTRINSIC_FOOT: "the small muscles of the foot and the toe muscles",
    Muscle.TOE_EXTENSORS: "the muscles that lift the toes",
    Muscle.QUADRICEPS: "the front of the thigh",
    Muscle.HAMSTRINGS: "the back of the thigh",
    Muscle.GLUTEALS: "the buttock muscles",
    Muscle.HIP_ABDUCTORS: "the muscles at the side of the hip",
    Muscle.CORE: "the trunk muscles",
}

# How big a gap between the legs is, in plain words, with the tag colour.
GAP_WORDS: dict[Severity, tuple[str, str]] = {
    Severity.NONE: ("About even", "good"),
    Severity.MILD: ("A small gap", "warn"),
    Severity.MODERATE: ("A clear gap", "warn"),
    Severity.SEVERE: ("A big gap", "bad"),
}

IRRITABILITY_WORDS = {
    "low": "Your pain settles quickly, so the program can start at a normal pace.",
    "moderate": "Your pain takes a while to settle, so the program starts gently and builds up.",
    "high": "Your pain is easily stirred up, so the program starts very gently, with holds "
    "rather than movement at first.",
}


def _number(value: float | None) -> str:
    return "—" if value is None else f"{value:g}"


def side_by_side(comparison: SideComparison) -> Markup:
    """Two bars, left and right, so the gap between the legs shows at a glance."""
    values = [comparison.left or 0.0, comparison.right or 0.0]
    top = max(values) or 1.0
    weaker = comparison.weaker_side if comparison.severity is not Severity.NONE else None
    width, bar_left, bar_room = 320, 64, 190
    rows = []
    for n, (side, value) in enumerate(zip((Side.LEFT, Side.RIGHT), values, strict=True)):
        y = 8 + n * 34
        length = max(2.0, bar_room * value / top)
        colour = "#a1261b" if side is weaker else "#0b5cad"
        shown = _number(comparison.value(side))
        rows.append(
            f'<text x="0" y="{y + 17}" font-size="14" fill="#1b2430">{side.value.title()}</text>'
            f'<rect x="{bar_left}" y="{y}" width="{length:.1f}" height="24" rx="4" '
            f'fill="{colour}"/>'
            f'<text x="{bar_left + length + 6:.1f}" y="{y + 17}" font-size="14" '
            f'fill="#1b2430">{shown} {comparison.unit}</text>'
        )
    label = (
        f"{comparison.label}: left {_number(comparison.left)}, "
        f"right {_number(comparison.right)} {comparison.unit}"
    )
    return Markup(
        f'<svg class="bars" viewBox="0 0 {width} 76" role="img" aria-label="{Markup.escape(label)}">'
        + "".join(rows)
        + "</svg>"
    )


def _gap_sentence(comparison: SideComparison) -> str:
    if comparison.left is None or comparison.right is None:
        return "Only one leg was measured, so there is nothing to compare yet."
    if comparison.severity is Severity.NONE or comparison.weaker_side is None:
        return "Your two legs did about the same."
    weak = comparison.weaker_side
    share = comparison.weaker_percent
    part = f" (about {share:.0f} % of the other)" if share is not None else ""
    return f"Your {weak.value} leg did less{part}."


def _profile(services: Services, patient_id: str) -> ImbalanceProfile | None:
    history = services.assessments(patient_id)
    if not history:
        return None
    initial = next((h for h in history if h[1] == "initial"), history[0])
    return ImbalanceProfile.model_validate(initial[3])


def _exercises_for(
    program: Program, services: Services, muscle: Muscle, patient_id: str
) -> list[str]:
    """The program's exercises that work this muscle: those that move it first, else those
    where it helps."""
    for roles in ({Role.PRIME_MOVER}, {Role.SYNERGIST, Role.STABILISER}):
        names: list[str] = []
        for slot in program.slots:
            if slot.part != "main":
                continue
            exercise = services.rules_for(patient_id).library[slot.exercise_id]
            if any(t.muscle is muscle and t.role in roles for t in exercise.targets):
                name = person_name(exercise.name)
                if name not in names:
                    names.append(name)
        if names:
            return names
    return []


@router.get("/clear")
def clear_page(request: Request, me: MeDep, services: ServicesDep) -> Response:
    """After a screen that does not refer: say plainly that the person may start."""
    result = services.latest_screen(me.patient_id)
    if result is None:
        return see("/me/screen")
    if result.refers:
        return see("/me/referral")
    if _program_or_none(services, me.patient_id) is not None:
        return see("/me")
    return render(
        request,
        "person_clear.html",
        notes=[r.person_text for r in result.notes],
    )


@router.get("/results")
def results_page(request: Request, me: MeDep, services: ServicesDep) -> Response:
    """What the first tests found, both legs side by side, and what the program does."""
    program = _program_or_none(services, me.patient_id)
    profile = _profile(services, me.patient_id) if program else None
    if program is None or profile is None:
        return see("/me")
    tests = services.rules.assessment.tests
    rows = []
    for comparison in profile.comparisons:
        definition = tests.get(comparison.test)
        words, tag = GAP_WORDS[comparison.severity]
        rows.append(
            {
                "test": definition.person_label if definition else comparison.label,
                "picture": side_by_side(comparison),
                "gap": words,
                "tag": tag,
                "sentence": _gap_sentence(comparison),
                "findings": [
                    f.person_text
                    for f in profile.findings
                    if f.id.startswith(comparison.test + ".")
                ],
            }
        )
    other_findings = [
        f.person_text
        for f in profile.findings
        if not any(f.id.startswith(c.test + ".") for c in profile.comparisons)
    ]
    plan = []
    for item in profile.implicated:
        sides = " and ".join(s.value for s in item.sides)
        plan.append(
            {
                "muscle": MUSCLE_WORDS[item.muscle],
                "sides": f"{sides} leg" if len(item.sides) == 1 else "both legs",
                "exercises": _exercises_for(program, services, item.muscle, me.patient_id),
            }
        )
    phase = services.rules.phases[program.phase]
    return render(
        request,
        "person_results.html",
        rows=rows,
        other_findings=other_findings,
        plan=plan,
        irritability=IRRITABILITY_WORDS.get(profile.irritability.level.value, ""),
        phase_number=program.phase.number,
        phase_label=program.phase.label,
        phase_purpose=phase.purpose,
    )


def _dose_line(dose: Dose, exercise: Exercise, mass_unit: str) -> str:
    text = dose_words(dose, exercise.dose_type)
    if dose.load_kg:
        text += f" with {mass_words(dose.load_kg, mass_unit)}"
    return text


@router.get("/program")
def program_page(request: Request, me: MeDep, services: ServicesDep) -> Response:
    """Every exercise of the current program: its part, dose per side, why, and its drawing."""
    program = _program_or_none(services, me.patient_id)
    if program is None:
        return see("/me")
    _, mass_unit, _ = services.display(me.patient_id)
    rules = services.rules_for(me.patient_id)
    library = rules.library
    parts: list[dict[str, Any]] = []
    for part, title in PART_TITLES.items():
        items = []
        for slot in program.slots:
            if slot.part != part:
                continue
            exercise = library[slot.exercise_id]
            items.append(
                {
                    "name": person_name(exercise.name),
                    "summary": exercise.summary,
                    # Our own SVG, built from checked pose data: safe to inline.
                    "picture": Markup(pictures.render(exercise)),
                    "doses": [
                        {
                            "side": f"{d.side.value.title()} leg" if d.side else "Both legs",
                            "dose": _dose_line(d, exercise, mass_unit),
                        }
                        for d in slot.doses
                    ],
                    "reason": person_words(slot.reason, rules.assessment),
                    "steps": exercise.steps,
                    "pair": person_name(library[slot.pair_with].name)
                    if slot.pair_with and slot.pair_with in library
                    else "",
                }
            )
        if items:
            parts.append({"title": title, "exercises": items})
    phase = services.rules.phases[program.phase]
    return render(
        request,
        "person_program.html",
        parts=parts,
        phase_number=program.phase.number,
        phase_label=program.phase.label,
        phase_purpose=phase.purpose,
        minutes=minutes_shown(program.slots, rules),
        training_days=", ".join(WEEKDAYS[d] for d in program.training_days),
        times_per_day=program.times_per_day,
    )
