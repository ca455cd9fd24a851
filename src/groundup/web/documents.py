"""PDF downloads: the home-program handout and the progress report.

The person gets their own (`/me/handout.pdf`, `/me/report.pdf`); a clinician gets a
patient's, with the clinician version of the report. Access goes through the same checks
as the pages: `current_person` for /me, and the clinician role plus `Accounts.require`
(404 for an unknown or foreign id) for /clinic. No program yet is a 404 page in words.
"""

from __future__ import annotations

import datetime as dt

from fastapi import APIRouter
from fastapi.responses import Response

from groundup.documents import Audience, build_handout, build_report
from groundup.web.clinician import ClinicianAccount
from groundup.web.deps import AccountsDep, ServicesDep
from groundup.web.person import MeDep

router = APIRouter()


def _pdf(pdf: bytes, name: str, day: dt.date) -> Response:
    return Response(
        pdf,
        media_type="application/pdf",
        headers={
            "Content-Disposition": f'attachment; filename="groundup-{name}-{day.isoformat()}.pdf"',
            "Cache-Control": "no-store",
        },
    )


@router.get("/me/handout.pdf")
def my_handout(me: MeDep, services: ServicesDep) -> Response:
    today = services.clock()
    return _pdf(build_handout(services, me.patient_id, today), "handout", today)


@router.get("/me/report.pdf")
def my_report(me: MeDep, services: ServicesDep) -> Response:
    today = services.clock()
    return _pdf(build_report(services, me.patient_id, today), "report", today)


@router.get("/clinic/patients/{patient_id}/handout.pdf")
def patient_handout(
    patient_id: str, account: ClinicianAccount, services: ServicesDep, accounts: AccountsDep
) -> Response:
    accounts.require(account, patient_id)
    today = services.clock()
    return _pdf(build_handout(services, patient_id, today), "handout", today)


@router.get("/clinic/patients/{patient_id}/report.pdf")
def patient_report(
    patient_id: str, account: ClinicianAccount, services: ServicesDep, accounts: AccountsDep
) -> Response:
    accounts.require(account, patient_id)
    today = services.clock()
    audience: Audience = "clinician"
    return _pdf(build_report(services, patient_id, today, audience), "report", today)
