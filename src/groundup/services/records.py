"""Turning stored rows into clinical values and back. Nothing here decides anything."""

from __future__ import annotations

import hashlib
import json
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
)


def fingerprint(log: SessionLog, data: dict[str, Any] | None = None) -> str:
    """A digest of what a session log says, to tell a retry from a conflicting reuse of an id."""
    data = data or log.model_dump(mode="json")
    if not data.get("warning_signs"):  # as logs were before the field: their digests hold
        data = {k: v for k, v in data.items() if k != "warning_signs"}
    payload = json.dumps(data, sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()


def session_row(patient_id: str, log: SessionLog, program_version: int) -> SessionLogRecord:
    """The session's row: its columns for queries and its JSON, sets and all, without the
    values that are the model's defaults (the fingerprint is of the whole JSON)."""
    return SessionLogRecord(
        data=log.model_dump(mode="json", exclude_defaults=True),
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


SESSION_COLUMNS = (
    cast(SessionLogRecord.data, Text).label("text"),
    SessionLogRecord.id,
    SessionLogRecord.arrival,
)


def checkin_to_row(patient_id: str, checkin: CheckIn) -> CheckInRecord:
    return CheckInRecord(
        patient_id=patient_id,
        date=checkin.date,
        pain_on_waking=checkin.pain_on_waking,
        stiffness_on_waking=checkin.stiffness_on_waking,
        new_red_flags=list(checkin.new_red_flags),
        warning_signs=list(checkin.warning_signs),
        settled_within_hour=checkin.settled_within_hour,
    )


def checkin_from_row(record: CheckInRecord) -> CheckIn:
    return CheckIn(
        date=record.date,
        pain_on_waking=record.pain_on_waking,
        stiffness_on_waking=record.stiffness_on_waking,
        new_red_flags=tuple(record.new_red_flags),
        warning_signs=tuple(record.warning_signs or ()),
        settled_within_hour=record.settled_within_hour,
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
