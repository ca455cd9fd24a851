"""The synthetic clinic the scale benchmark loads, and the stored session JSON the engine's
history is read from: real databases (SQLite always, PostgreSQL when configured)."""

from __future__ import annotations

import datetime as dt
from collections import Counter

import pytest
from sqlalchemy import func, select, update

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
    SetLogRecord,
)
from groundup.synthetic import build_clinic
from test_services import first_session, started

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
        assert session.scalar(select(func.count()).select_from(SetLogRecord)) == counts.sets
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


def test_a_session_reads_back_the_same_from_its_json_and_from_its_sets(
    services: Services, database: Database
) -> None:
    pid, day = started(services)
    logged = first_session(services, pid, day)
    services.log_session(pid, logged)
    from_json = [e for e in services.history(pid) if isinstance(e, SessionLog)]
    # A session stored before sessions kept their JSON is rebuilt from its set rows.
    with database.transaction() as session:
        session.execute(update(SessionLogRecord).values(data=None))
    from_sets = [e for e in services.history(pid) if isinstance(e, SessionLog)]
    assert from_json == from_sets == [logged]
