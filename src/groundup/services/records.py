"""Turning stored rows into clinical values and back. Nothing here decides anything."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from groundup.clinical.logs import (
    CheckIn,
    ExerciseLog,
    Override,
    Retest,
    SessionLog,
    SetLog,
)
from groundup.clinical.progression import Decision
from groundup.clinical.vocabulary import Side
from groundup.storage.models import (
    CheckInRecord,
    DecisionRecord,
    SessionLogRecord,
    SetLogRecord,
)


def fingerprint(log: SessionLog) -> str:
    """A digest of what a session log says, to tell a retry from a conflicting reuse of an id."""
    payload = json.dumps(log.model_dump(mode="json"), sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()


def session_to_rows(patient_id: str, log: SessionLog, program_version: int) -> SessionLogRecord:
    record = SessionLogRecord(
        log_id=log.id,
        patient_id=patient_id,
        date=log.date,
        skipped=log.skipped,
        skip_reason=log.skip_reason,
        pain_after=log.pain_after,
        max_pain=log.max_pain,
        program_version=program_version,
        fingerprint=fingerprint(log),
    )
    position = 0
    for exercise in log.exercises:
        for number, entry in enumerate(exercise.sets, 1):
            position += 1
            record.sets.append(
                SetLogRecord(
                    position=position,
                    exercise_id=exercise.exercise_id,
                    side=exercise.side.value if exercise.side else None,
                    set_number=number,
                    amount=entry.amount,
                    load_kg=entry.load_kg,
                    knob=None if entry.knob is None else str(entry.knob),
                    knob_is_number=isinstance(entry.knob, int | float),
                    rpe=entry.rpe,
                    rir=entry.rir,
                    pain=entry.pain,
                    form=entry.form,
                )
            )
    return record


def session_from_rows(record: SessionLogRecord) -> SessionLog:
    exercises: list[ExerciseLog] = []
    current: tuple[str, str | None] | None = None
    sets: list[SetLog] = []
    for row in record.sets:
        key = (row.exercise_id, row.side)
        if key != current or row.set_number == 1:
            if current is not None and sets:
                exercises.append(_exercise(current, sets))
            current, sets = key, []
        knob: float | str | None = row.knob
        if row.knob is not None and row.knob_is_number:
            knob = float(row.knob)
        sets.append(
            SetLog(
                amount=row.amount,
                load_kg=row.load_kg,
                knob=knob,
                rpe=row.rpe,
                rir=row.rir,
                pain=row.pain,
                form=row.form,
            )
        )
    if current is not None and sets:
        exercises.append(_exercise(current, sets))
    return SessionLog(
        id=record.log_id,
        date=record.date,
        skipped=record.skipped,
        skip_reason=record.skip_reason,
        exercises=tuple(exercises),
        pain_after=record.pain_after,
    )


def _exercise(key: tuple[str, str | None], sets: list[SetLog]) -> ExerciseLog:
    exercise_id, side = key
    return ExerciseLog(exercise_id=exercise_id, side=Side(side) if side else None, sets=tuple(sets))


def checkin_to_row(patient_id: str, checkin: CheckIn) -> CheckInRecord:
    return CheckInRecord(
        patient_id=patient_id,
        date=checkin.date,
        pain_on_waking=checkin.pain_on_waking,
        stiffness_on_waking=checkin.stiffness_on_waking,
        new_red_flags=list(checkin.new_red_flags),
    )


def checkin_from_row(record: CheckInRecord) -> CheckIn:
    return CheckIn(
        date=record.date,
        pain_on_waking=record.pain_on_waking,
        stiffness_on_waking=record.stiffness_on_waking,
        new_red_flags=tuple(record.new_red_flags),
    )


def decision_to_row(patient_id: str, decision: Decision, version: int) -> DecisionRecord:
    return DecisionRecord(
        patient_id=patient_id,
        date=decision.date,
        rule=decision.rule,
        kind=decision.kind,
        exercise_id=decision.exercise_id,
        side=decision.side.value if decision.side else None,
        data=decision.model_dump(mode="json"),
        program_version=version,
    )


def decision_from_row(record: DecisionRecord) -> Decision:
    return Decision.model_validate(record.data)


def retest_event(data: dict[str, Any]) -> Retest:
    return Retest.model_validate(data)


def override_event(data: dict[str, Any]) -> Override:
    return Override.model_validate(data)
