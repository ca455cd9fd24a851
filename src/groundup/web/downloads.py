"""Sending a person's exported record as a file download (pages and API alike)."""

from __future__ import annotations

from typing import cast

from fastapi.responses import Response

from groundup.interop.files import FORMATS, ExportFormat, export_file
from groundup.services import NotFound, Services


def export_download(services: Services, patient_id: str, format: str) -> Response:
    """The person's record in the chosen format, as an attachment with its file name.

    The caller has already checked that the signed-in account may see this person; the
    format is checked after that, so a foreign id never learns more than "not found"."""
    if format not in FORMATS:
        raise NotFound(f"there is no {format[:20]!r} download: choose json, csv or fhir")
    made = export_file(services, patient_id, cast(ExportFormat, format))
    return Response(
        made.content,
        media_type=made.media_type,
        headers={
            "Content-Disposition": f'attachment; filename="{made.filename}"',
            "Cache-Control": "no-store",
        },
    )
