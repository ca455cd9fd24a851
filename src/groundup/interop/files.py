"""One way to turn a person's record into a downloadable file, and a file back into a record.

The command line, the pages and the API all call these, so a download is the same file
wherever it is made.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Literal, get_args

from groundup.interop import csv_tables, fhir
from groundup.services.export import ExportBundle
from groundup.services.workflow import Services

ExportFormat = Literal["json", "csv", "fhir"]
FORMATS: tuple[str, ...] = get_args(ExportFormat)


@dataclass(frozen=True)
class ExportFile:
    content: bytes
    media_type: str
    filename: str


def export_file(services: Services, patient_id: str, format: ExportFormat) -> ExportFile:
    """Everything about the person in one of the export formats."""
    data = services.export_person(patient_id)
    stem = f"groundup-{patient_id}"
    if format == "json":
        text = json.dumps(data, indent=1, ensure_ascii=False)
        return ExportFile(text.encode("utf-8"), "application/json", f"{stem}.json")
    export = ExportBundle.model_validate(data)
    if format == "csv":
        return ExportFile(
            csv_tables.csv_zip(export, services.rules_for(patient_id)),
            "application/zip",
            f"{stem}-tables.zip",
        )
    text = fhir.bundle_json(export, services.rules_for(patient_id))
    return ExportFile(text.encode("utf-8"), "application/fhir+json", f"{stem}.fhir.json")


def is_fhir(data: Any) -> bool:
    """A FHIR resource rather than a groundup export (FHIR names its type, groundup its format)."""
    return isinstance(data, dict) and "resourceType" in data


def import_record(services: Services, data: Any) -> str:
    """Restore a person from a groundup export or a groundup FHIR bundle; their id.

    Raises fhir.FhirError or ServiceError with one readable line; nothing is stored then."""
    record = fhir.record_from_bundle(data, services.rules) if is_fhir(data) else data
    return services.import_person(record)
