"""The clinical knowledge as data files, read and validated into core values.

This is the only place that reads the knowledge files; the clinical core receives what it
returns as arguments. Every loader raises `KnowledgeError` naming the file and the field
when a file does not match its schema.
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from importlib.resources.abc import Traversable
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from groundup.clinical.exercises import Exercise, ExerciseLibrary, LibraryError
from groundup.clinical.outcomes import QuestionnaireSet
from groundup.clinical.pathways import PathwayDataError, check_pathways
from groundup.clinical.profile import AssessmentRules
from groundup.clinical.rules import (
    Pathways,
    Phases,
    ProgressionRules,
    Readiness,
    Rules,
    Templates,
)
from groundup.clinical.screening import ScreeningRules

DATA = resources.files("groundup.knowledge") / "data"

M = TypeVar("M", bound=BaseModel)


class KnowledgeError(ValueError):
    """A knowledge file is missing, unreadable or does not match its schema."""


def describe_validation_error(error: ValidationError, prefix: str = "") -> str:
    """One readable line for the first problem pydantic found."""
    first = error.errors()[0]
    where = ".".join(str(part) for part in first["loc"]) or "(top level)"
    message = first["msg"].removeprefix("Value error, ")
    more = len(error.errors()) - 1
    suffix = f" (and {more} more problem{'s' if more > 1 else ''})" if more else ""
    return f"{prefix}{where}: {message}{suffix}"


# libyaml's parser when PyYAML ships with it: the knowledge files load several times faster.
SafeLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def read_yaml(file: Traversable) -> Any:
    try:
        return yaml.load(file.read_text(encoding="utf-8"), Loader=SafeLoader)
    except (OSError, yaml.YAMLError) as exc:
        raise KnowledgeError(f"{file.name}: cannot read: {exc}") from exc


def load_model(model: type[M], relative_path: str) -> M:
    """Read one knowledge file into a validated model."""
    file = DATA.joinpath(*relative_path.split("/"))
    try:
        return model.model_validate(read_yaml(file))
    except ValidationError as exc:
        raise KnowledgeError(describe_validation_error(exc, f"{relative_path}: ")) from exc


def exercises_from_documents(documents: dict[str, Any]) -> ExerciseLibrary:
    """Validate exercise documents ({file name: parsed YAML}) into a library."""
    exercises: list[Exercise] = []
    for name, document in sorted(documents.items()):
        if not isinstance(document, dict) or not isinstance(document.get("exercises"), list):
            raise KnowledgeError(f"{name}: expected a mapping with an 'exercises' list")
        for index, raw in enumerate(document["exercises"]):
            label = raw.get("id", f"#{index}") if isinstance(raw, dict) else f"#{index}"
            try:
                exercises.append(Exercise.model_validate(raw))
            except ValidationError as exc:
                raise KnowledgeError(describe_validation_error(exc, f"{name}: {label}: ")) from exc
    try:
        return ExerciseLibrary(exercises)
    except LibraryError as exc:
        raise KnowledgeError(str(exc)) from exc


@cache
def load_library() -> ExerciseLibrary:
    """The shipped exercise library."""
    folder = DATA / "exercises"
    documents = {
        entry.name: read_yaml(entry)
        for entry in folder.iterdir()
        if entry.name.endswith((".yaml", ".yml"))
    }
    return exercises_from_documents(documents)


@cache
def load_assessment_rules() -> AssessmentRules:
    """Test definitions, norms and thresholds for reading an assessment."""
    return load_model(AssessmentRules, "assessment.yaml")


@cache
def load_questionnaires() -> QuestionnaireSet:
    """The shipped outcome measures (questionnaires), scoring and change thresholds."""
    return load_model(QuestionnaireSet, "questionnaires.yaml")


@cache
def load_screening_rules() -> ScreeningRules:
    """The shipped safety screen: red-flag questions, rules and advice."""
    return load_model(ScreeningRules, "screening.yaml")


@cache
def load_rules() -> Rules:
    """Everything the planner and the progression engine need, bundled."""
    rules = Rules(
        library=load_library(),
        assessment=load_assessment_rules(),
        phases=load_model(Phases, "phases.yaml"),
        progression=load_model(ProgressionRules, "progression.yaml"),
        templates=load_model(Templates, "templates.yaml"),
        questionnaires=load_questionnaires(),
        pathways=load_model(Pathways, "pathways.yaml"),
        readiness=load_model(Readiness, "readiness.yaml"),
        screening=load_screening_rules(),
    )
    try:
        check_pathways(rules)
    except PathwayDataError as exc:
        raise KnowledgeError(str(exc)) from exc
    return rules
