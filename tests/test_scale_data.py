"""The synthetic clinic the scale benchmark loads, and the stored session JSON the engine's
history is read from: real databases (SQLite always, PostgreSQL when configured)."""

from __future__ import annotations

import datetime as dt
from collections import Counter

import pytest
from sqlalchemy import func, select

from groundup.clinical.logs import CheckIn, SessionLog
from groundup.knowledge import load_rules
from groundup.services import Services
from groundup.services.accounts import Account, Accounts
from groundup.services.dashboard import attention
from groundup.services.workflow import progress_data
from groundup.storage.database import Database
from groundup.storage.models import (
    ClinicianPatient,
    DecisionRecord,
    Patient,
    SessionLogRecord,
)
from groundup.synthetic import build_clinic

TODAY = dt.date(2026, 6, 1)


@pytest.fixture(scope="module")
def rules():  # type: ignore[no-untyped-def]
    return load_rules()


def test_the_clinic_has_the_people_and_logs_asked_for(database: Database, rules) -> None:  # type: ignore[no-untyped-def]
    counts = build_clinic(
        database, rules, people=7, clinicians=3, today=TODAY, days=120, templates=3
    )
    assert counts.people == 7 and counts.clinicians == 3
    with database.reading() as session:
        assert session.scalar(select(func.count()).select_from(Patient)) == 7
        stored = session.scalars(select(SessionLogRecord.data)).all()
        assert sum(len(e.sets) for d in stored for e in SessionLog.model_validate(d).exercises) == (
            counts.sets
        )
        assert session.scalar(select(func.count()).select_from(DecisionRecord)) == counts.decisions
        caseloads = Counter(session.scalars(select(ClinicianPatient.clinician_id)).all())
        first, last = session.execute(
            select(func.min(SessionLogRecord.date), func.max(SessionLogRecord.date))
        ).one()
    assert sorted(caseloads.values()) == [2, 2, 3]  # everyone has one clinician
    assert counts.sets > counts.sessions > 0
    assert TODAY - dt.timedelta(days=120) <= first and last <= TODAY

    # The services read it as their own: history, charts and the dashboard.
    services = Services(database, rules, clock=lambda: TODAY)
    accounts = Accounts(services)
    clinician = Account(1, "clinician1@clinic.groundup.example", "Clinician 1", "clinician", None)
    statuses = attention(services, accounts, clinician, TODAY)
    assert len(statuses) == caseloads[1]
    for status in statuses:
        history = services.history(status.patient_id)
        sessions = [e for e in history if isinstance(e, SessionLog)]
        assert sessions and any(isinstance(e, CheckIn) for e in history)
        assert status.last_session == max(s.date for s in sessions if not s.skipped)
        charts = progress_data(services, status.patient_id, TODAY)
        assert len(charts.session_pain) == len([s for s in sessions if not s.skipped])
        assert services.decisions(status.patient_id)
