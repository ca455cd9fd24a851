"""An intake document: the safety-screen answers, the assessment and the preferences.

This is the shape of the files `groundup screen`, `assess` and `plan` read, and of what
the guided self-assessment produces.
"""

from __future__ import annotations

from groundup.clinical.assessment import Assessment
from groundup.clinical.exercises import Frozen
from groundup.clinical.outcomes import ActivityRating, Answers, QuestionnaireSet, Score, score
from groundup.clinical.program import Preferences
from groundup.clinical.screening import ScreenAnswers


class Intake(Frozen):
    screen: ScreenAnswers | None = None
    assessment: Assessment | None = None
    preferences: Preferences = Preferences()


def questionnaire_answers(assessment: Assessment) -> dict[str, Answers]:
    """The questionnaires an assessment answered, by measure id."""
    answered: dict[str, Answers] = {}
    for measure_id in ("lefs", "faam_adl", "faam_sports", "visa_a"):
        answers = getattr(assessment, measure_id)
        if answers is not None:
            answered[measure_id] = answers
    if assessment.psfs:
        answered["psfs"] = [
            ActivityRating(activity=a.activity, rating=a.score) for a in assessment.psfs
        ]
    return answered


def score_questionnaires(
    assessment: Assessment, questionnaires: QuestionnaireSet
) -> dict[str, Score]:
    """Every questionnaire the assessment answered, scored. Raises OutcomeError on bad answers."""
    return {
        measure_id: score(questionnaires.measure(measure_id), answers)
        for measure_id, answers in questionnaire_answers(assessment).items()
    }


def outcome_scores(assessment: Assessment, questionnaires: QuestionnaireSet) -> dict[str, float]:
    """The valid questionnaire scores as plain numbers, for phase gates."""
    return {
        measure_id: result.value
        for measure_id, result in score_questionnaires(assessment, questionnaires).items()
        if result.valid and result.value is not None
    }
