"""The commands of `groundup`."""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.text import Text

from groundup import pictures
from groundup.cli import render
from groundup.cli.files import InputError, read_document, section, validate
from groundup.cli.main import EXIT_REFER, app, fail, out
from groundup.clinical import screening
from groundup.clinical.assessment import Assessment
from groundup.clinical.intake import Intake, questionnaire_answers
from groundup.clinical.outcomes import OutcomeError, QuestionnaireSet, Score, score
from groundup.clinical.profile import build_profile
from groundup.clinical.vocabulary import Equipment, Kind, Muscle, Phase, Position
from groundup.knowledge import (
    load_assessment_rules,
    load_library,
    load_questionnaires,
    load_screening_rules,
)

E = TypeVar("E", bound=StrEnum)


def _choice(value: str | None, enum: type[E], what: str) -> E | None:
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
    position: Annotated[
        str | None, typer.Option(help="supine, seated, standing, kneeling…")
    ] = None,
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
        else [c for e in equipment if (c := _choice(e, Equipment, "equipment")) is not None],
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
    return _choice(value, Phase, "phase")


@app.command()
def exercise(
    exercise_id: Annotated[
        str,
        typer.Argument(
            metavar="ID",
            help="exercise id, name or alias; or `check` / `import` followed by a FILE",
        ),
    ],
    file: Annotated[
        Path | None,
        typer.Argument(metavar="[FILE]", help="with check or import: own exercises (YAML/JSON)"),
    ] = None,
    clinician_email: Annotated[
        str | None,
        typer.Option(
            "--clinician",
            metavar="EMAIL",
            help="check or import: the clinician whose own exercises these are",
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="machine-readable output")] = False,
    svg: Annotated[
        Path | None,
        typer.Option("--svg", metavar="FILE", help="write the exercise's picture (SVG) to FILE"),
    ] = None,
) -> None:
    """Show one exercise as a card: dose, tempo, difficulty, cues, faults.

    `groundup exercise check FILE` checks a file of own exercises by the built-in
    library's rules (with --clinician, next to that clinician's own exercises);
    `groundup exercise import FILE --clinician EMAIL` saves them (an edit adds a version)."""
    if exercise_id in ("check", "import"):
        from groundup.cli.own_commands import exercise_file

        exercise_file(exercise_id, file, clinician_email)
        return
    library = load_library()
    found = library.find(exercise_id)
    if found is None:
        raise fail(f"unknown exercise {exercise_id!r}; `groundup exercises` lists the ids")
    if svg is not None:
        try:
            svg.write_text(pictures.render(found) + "\n", encoding="utf-8")
        except OSError as exc:
            raise fail(f"cannot write {svg}: {exc.strerror or exc}") from None
        out.print(f"Wrote the picture of {found.name} to {svg}.")
        return
    if as_json:
        out.print_json(found.model_dump_json())
        return
    out.print(render.exercise_card(found))


# ----- intake files: the safety screen and the assessment ------------------------------

IntakeFile = Annotated[
    Path,
    typer.Argument(metavar="FILE", help="intake file (YAML or JSON), see examples/"),
]
JsonFlag = Annotated[bool, typer.Option("--json", help="machine-readable output")]
ClinicianFlag = Annotated[
    bool,
    typer.Option("--clinician", help="clinical wording, with sources and confidence"),
]


def read_intake(path: Path, needed: str) -> Intake:
    """Read an intake file that must hold the `needed` section, checked field by field.

    For the screen only the screen answers (and the names of the sections) are checked: a
    slip in the assessment must not keep anyone from the safety screen.
    """
    data = read_document(path)
    section(data, needed, path)
    if needed == "screen":
        data = {
            key: value for key, value in data.items() if key not in ("assessment", "preferences")
        }
    intake = validate(Intake, data, str(path))
    if getattr(intake, needed) is None:
        raise InputError(f"{path}: the '{needed}' section is empty")
    return intake


def questionnaire_scores(
    assessment: Assessment, measures: QuestionnaireSet, path: Path
) -> dict[str, Score]:
    """Score every questionnaire the assessment answers; bad answers name the field."""
    scores: dict[str, Score] = {}
    for measure_id, answers in questionnaire_answers(assessment).items():
        try:
            scores[measure_id] = score(measures.measure(measure_id), answers)
        except OutcomeError as exc:
            raise InputError(f"{path}: assessment.{measure_id}: {exc}") from exc
    return scores


def _screen_json(path: Path, result: screening.ScreenResult | None) -> dict[str, Any]:
    return {
        "file": str(path),
        "refers": None if result is None else result.refers,
        "urgency_label": None if result is None or result.urgency is None else result.urgency.label,
        "screen": None if result is None else result.model_dump(mode="json"),
    }


@app.command("screen")
def screen_command(
    file: IntakeFile,
    as_json: JsonFlag = False,
    clinician: ClinicianFlag = False,
) -> None:
    """Run the safety screen on an intake file. Exits with 3 when it refers to a doctor."""
    intake = read_intake(file, "screen")
    assert intake.screen is not None
    result = screening.screen(intake.screen, load_screening_rules())
    if as_json:
        out.print_json(data=_screen_json(file, result))
    else:
        out.print(render.screen_report(result, clinician=clinician))
    if result.refers:
        raise typer.Exit(EXIT_REFER)


@app.command("assess")
def assess_command(
    file: IntakeFile,
    as_json: JsonFlag = False,
    clinician: ClinicianFlag = False,
) -> None:
    """Read an assessment into an imbalance profile, with questionnaire scores.

    When the file's safety screen refers, the referral comes first and the exit code is 3.
    """
    intake = read_intake(file, "assessment")
    assessment = intake.assessment
    assert assessment is not None
    rules = load_assessment_rules()
    measures = load_questionnaires()
    scores = questionnaire_scores(assessment, measures, file)
    profile = build_profile(assessment, rules)
    result = (
        None if intake.screen is None else screening.screen(intake.screen, load_screening_rules())
    )
    refers = result is not None and result.refers
    if as_json:
        payload = _screen_json(file, result)
        payload["profile"] = profile.model_dump(mode="json")
        payload["scores"] = {key: value.model_dump(mode="json") for key, value in scores.items()}
        out.print_json(data=payload)
    else:
        if result is None:
            out.print(
                Text(
                    "No safety screen in this file: answer one (`groundup screen`) "
                    "before starting any exercise.",
                    style="yellow",
                )
            )
        elif refers:
            out.print(render.screen_report(result, clinician=clinician))
            out.print(
                Text(
                    "The results below are for whoever sees you next. "
                    "No exercise program until a doctor has cleared you.",
                    style="bold red",
                )
            )
        else:
            out.print(render.screen_mention(result))
        out.print()
        out.print(render.profile_report(profile, rules, clinician=clinician))
        if scores:
            out.print()
            out.print(render.scores_table(scores, measures, clinician=clinician))
    if refers:
        raise typer.Exit(EXIT_REFER)
