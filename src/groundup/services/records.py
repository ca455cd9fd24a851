"""Turning stored rows into clinical values and back. Nothing here decides anything."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Text, cast

from groundup.clinical.logs import (
    CheckIn,
    Override,
    Retest,
    SessionLog,
)
from groundup.clinical.progression import Decision
from groundup.storage.models import (
    CheckInRecord,
    DecisionRecord,
    SessionLogRecord,
    SetLogRecord,
)


def fingerprint(log: SessionLog, data: dict[str, Any] | None = None) -> str:
    """A digest of what a session log says, to tell a retry from a conflicting reuse of an id."""
    data = data or log.model_dump(mode="json")
    if not data.get("warning_signs"):  # as logs were before the field: their digests hold
        data = {k: v for k, v in data.items() if k != "warning_signs"}
    payload = json.dumps(data, sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()


def session_to_rows(patient_id: str, log: SessionLog, program_version: int) -> SessionLogRecord:
    record = session_row(patient_id, log, program_version)
    record.sets = [SetLogRecord(**values) for values in set_rows(log)]
    return record


def session_row(patient_id: str, log: SessionLog, program_version: int) -> SessionLogRecord:
    """The session's own row, without its sets (see `set_rows`)."""
    data = log.model_dump(mode="json")
    return SessionLogRecord(
        data=data,
        log_id=log.id,
        patient_id=patient_id,
        date=log.date,
        skipped=log.skipped,
        skip_reason=log.skip_reason,
        pain_after=log.pain_after,
        max_pain=log.max_pain,
        program_version=program_version,
        fingerprint=fingerprint(log, data),
    )


def set_rows(log: SessionLog, session_log_id: int | None = None) -> list[dict[str, Any]]:
    """One row of values per set, in order, ready for one multi-row insert."""
    rows: list[dict[str, Any]] = []
    for exercise in log.exercises:
        for number, entry in enumerate(exercise.sets, 1):
            row: dict[str, Any] = {
                "position": len(rows) + 1,
                "exercise_id": exercise.exercise_id,
                "side": exercise.side.value if exercise.side else None,
                "set_number": number,
                "amount": entry.amount,
                "load_kg": entry.load_kg,
                "knob": None if entry.knob is None else str(entry.knob),
                "knob_is_number": isinstance(entry.knob, int | float),
                "rpe": entry.rpe,
                "rir": entry.rir,
                "pain": entry.pain,
                "form": entry.form,
            }
            if session_log_id is not None:
                row["session_log_id"] = session_log_id
            rows.append(row)
    return rows


SESSION_COLUMNS = (
    cast(SessionLogRecord.data, Text).label("text"),
    SessionLogRecord.id,
    SessionLogRecord.log_id,
    SessionLogRecord.date,
    SessionLogRecord.skipped,
    SessionLogRecord.skip_reason,
    SessionLogRecord.pain_after,
    SessionLogRecord.arrival,
)
SET_COLUMNS = (
    SetLogRecord.session_log_id,
    SetLogRecord.exercise_id,
    SetLogRecord.side,
    SetLogRecord.set_number,
    SetLogRecord.amount,
    SetLogRecord.load_kg,
    SetLogRecord.knob,
    SetLogRecord.knob_is_number,
    SetLogRecord.rpe,
    SetLogRecord.rir,
    SetLogRecord.pain,
    SetLogRecord.form,
)


def sessions_from_columns(
    sessions: Sequence[Any], sets: Sequence[Any]
) -> list[tuple[int, SessionLog]]:
    """(arrival, session) for rows with SESSION_COLUMNS and SET_COLUMNS (the sets in
    session and position order), plain rows or records: one validation per session
    rather than one object per set."""
    exercises: dict[int, list[dict[str, Any]]] = {}
    for row in sets:
        knob: float | str | None = row.knob
        if row.knob is not None and row.knob_is_number:
            knob = float(row.knob)
        entry = {
            "amount": row.amount,
            "load_kg": row.load_kg,
            "knob": knob,
            "rpe": row.rpe,
            "rir": row.rir,
            "pain": row.pain,
            "form": row.form,
        }
        listed = exercises.setdefault(row.session_log_id, [])
        last = listed[-1] if listed else None
        key = (row.exercise_id, row.side)
        if last is None or (last["exercise_id"], last["side"]) != key or row.set_number == 1:
            listed.append({"exercise_id": row.exercise_id, "side": row.side, "sets": [entry]})
        else:
            last["sets"].append(entry)
    return [
        (
            row.arrival or 0,
            SessionLog.model_validate(
                {
                    "id": row.log_id,
                    "date": row.date,
                    "skipped": row.skipped,
                    "skip_reason": row.skip_reason,
                    "exercises": exercises.get(row.id, ()),
                    "pain_after": row.pain_after,
                }
            ),
        )
        for row in sessions
    ]


def session_from_rows(record: SessionLogRecord) -> SessionLog:
    return sessions_from_columns([record], record.sets)[0][1]


def checkin_to_row(patient_id: str, checkin: CheckIn) -> CheckInRecord:
    return CheckInRecord(
        patient_id=patient_id,
        date=checkin.date,
        pain_on_waking=checkin.pain_on_waking,
        stiffness_on_waking=checkin.stiffness_on_waking,
        new_red_flags=list(checkin.new_red_flags),
        warning_signs=list(checkin.warning_signs),
    )


def checkin_from_row(record: CheckInRecord) -> CheckIn:
    return CheckIn(
        date=record.date,
        pain_on_waking=record.pain_on_waking,
        stiffness_on_waking=record.stiffness_on_waking,
        new_red_flags=tuple(record.new_red_flags),
        warning_signs=tuple(record.warning_signs or ()),
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
