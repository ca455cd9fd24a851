"""PDF downloads: the home-program handout and the progress report.

The person gets their own (`/me/handout.pdf`, `/me/report.pdf`); a clinician gets a
patient's, with the clinician version of the report. Access goes through the same checks
as the pages: `current_person` for /me, and the clinician role plus `Accounts.require`
(404 for an unknown or foreign id) for /clinic. No program yet is a 404 page in words.
"""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter
from fastapi.responses import Response

from groundup.documents import Audience, build_handout, build_report
from groundup.services import Services
from groundup.web.deps import ClinicianPatient, ServicesDep
from groundup.web.person import MeDep

router = APIRouter()
Kind = Literal["handout", "report"]


def _pdf(services: Services, patient_id: str, kind: Kind, audience: Audience) -> Response:
    today = services.clock()
    if kind == "handout":
        pdf = build_handout(services, patient_id, today)
    else:
        pdf = build_report(services, patient_id, today, audience)
    return Response(
        pdf,
        media_type="application/pdf",
        headers={
            "Content-Disposition": f'attachment; filename="groundup-{kind}-{today.isoformat()}.pdf"',
            "Cache-Control": "no-store",
        },
    )


@router.get("/me/handout.pdf")
def my_handout(me: MeDep, services: ServicesDep) -> Response:
    return _pdf(services, me.patient_id, "handout", "person")


@router.get("/me/report.pdf")
def my_report(me: MeDep, services: ServicesDep) -> Response:
    return _pdf(services, me.patient_id, "report", "person")


# One route per document, not a `{kind}` parameter: nothing about the request is checked
# before `Accounts.require` (`ClinicianPatient`), so a foreign id always meets the access
# check first.
@router.get("/clinic/patients/{patient_id}/handout.pdf")
def patient_handout(patient_id: ClinicianPatient, services: ServicesDep) -> Response:
    return _pdf(services, patient_id, "handout", "clinician")


@router.get("/clinic/patients/{patient_id}/report.pdf")
def patient_report(patient_id: ClinicianPatient, services: ServicesDep) -> Response:
    return _pdf(services, patient_id, "report", "clinician")
