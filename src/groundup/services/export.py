"""The export format: everything about one person, in a form that imports back."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import Field

from groundup.clinical.assessment import Assessment
from groundup.clinical.exercises import Exercise, Frozen
from groundup.clinical.logs import Event, Retest
from groundup.clinical.program import Program
from groundup.clinical.progression import Decision
from groundup.clinical.rules import Template
from groundup.clinical.screening import ScreenAnswers, ScreenResult

EXPORT_FORMAT = "groundup-export"
EXPORT_VERSION = 1


class ExportPerson(Frozen):
    id: str = Field(pattern=r"^[0-9a-f]{32}$")
    display_name: str = Field(min_length=1, max_length=120)
    length_unit: Literal["cm", "in"] = "cm"
    mass_unit: Literal["kg", "lb"] = "kg"
    date_format: Literal["%Y-%m-%d", "%d/%m/%Y", "%m/%d/%Y", "%d.%m.%Y"] = "%Y-%m-%d"


class ExportScreen(Frozen):
    date: dt.date
    answers: ScreenAnswers
    result: ScreenResult


class ExportAssessment(Frozen):
    date: dt.date
    assessment: Assessment


class ExportVersion(Frozen):
    version: int
    cause: str
    decision_index: int | None = None
    program: Program


class ExportDecision(Frozen):
    program_version: int
    decision: Decision


class ExportOwnExercise(Frozen):
    """A clinician's own exercise in the version the person's program was given, with its
    photo (the stored JPEG, base64): the record imports whole into another server."""

    version: int = Field(ge=1)
    exercise: Exercise
    photo: str | None = Field(default=None, max_length=12_000_000)


class ExportOwnTemplate(Frozen):
    """A clinician's own protocol in the version the person's program was planned from."""

    key: str = Field(pattern=r"^[a-z][a-z0-9_]*$", max_length=64)
    version: int = Field(ge=1)
    template: Template


class ExportBundle(Frozen):
    format: Literal["groundup-export"]
    version: Literal[1]
    person: ExportPerson
    screens: tuple[ExportScreen, ...] = ()
    initial_assessment: ExportAssessment | None = None
    program_versions: tuple[ExportVersion, ...] = ()
    events: tuple[Event, ...] = Field(default=(), max_length=100_000)
    decisions: tuple[ExportDecision, ...] = ()
    own_exercises: tuple[ExportOwnExercise, ...] = Field(default=(), max_length=500)
    own_templates: tuple[ExportOwnTemplate, ...] = Field(default=(), max_length=50)

    def assessments(self) -> list[tuple[str, dt.date, Assessment]]:
        """The initial assessment, then each retest as it came: (kind, date, assessment)."""
        found: list[tuple[str, dt.date, Assessment]] = []
        if self.initial_assessment is not None:
            initial = self.initial_assessment
            found.append(("initial", initial.date, initial.assessment))
        found += [
            ("retest", e.date, e.assessment)
            for e in self.events
            if isinstance(e, Retest) and not e.questionnaires_only
        ]
        return found

    def questionnaires_alone(self) -> list[tuple[dt.date, Assessment]]:
        """The questionnaires the person answered on their own, without tests: (date,
        assessment holding the answers); its other fields repeat the last assessment's."""
        return [
            (e.date, e.assessment)
            for e in self.events
            if isinstance(e, Retest) and e.questionnaires_only
        ]
