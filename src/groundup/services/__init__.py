"""The service layer: groundup's use cases, shared by the command line and the web app."""

from groundup.services.workflow import (
    Conflict,
    LogOutcome,
    NotFound,
    PatientSummary,
    Paused,
    Referred,
    ServiceError,
    Services,
    Today,
)

__all__ = [
    "Conflict",
    "LogOutcome",
    "NotFound",
    "PatientSummary",
    "Paused",
    "Referred",
    "ServiceError",
    "Services",
    "Today",
]
