"""Sending a person's exported record as a file download (pages and API alike)."""

from __future__ import annotations

from fastapi.responses import Response

from groundup.interop.files import ExportFormat, export_file
from groundup.services import Services


def export_download(services: Services, patient_id: str, format: ExportFormat) -> Response:
    """The person's record in the chosen format, as an attachment with its file name.

    The caller has already checked that the signed-in account may see this person."""
    made = export_file(services, patient_id, format)
    return Response(
        made.content,
        media_type=made.media_type,
        headers={
            "Content-Disposition": f'attachment; filename="{made.filename}"',
            "Cache-Control": "no-store",
        },
    )
