"""The interactive API docs (Swagger UI) at /api/docs, served from the app itself.

The Swagger UI files come from the `swagger-ui-py` package, installed with groundup
(never from a CDN, never copied into this repository); the page that starts them and the
script that points them at /api/v1/openapi.json are the project's own, so that the page
runs under the app's content security policy (scripts and styles from this site only).
"""

from __future__ import annotations

from pathlib import Path

import swagger_ui
from fastapi import APIRouter
from fastapi.responses import FileResponse, HTMLResponse, Response

from groundup import __version__

router = APIRouter(include_in_schema=False)

ASSETS = Path(swagger_ui.__file__).parent / "static"
# Only the files the page loads are served, each with its media type.
SERVED = {
    "swagger-ui.css": "text/css",
    "swagger-ui-bundle.js": "text/javascript",
}

PAGE = f"""<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>groundup API {__version__}</title>
  <link rel="stylesheet" href="/api/docs/assets/swagger-ui.css">
</head>
<body>
  <div id="swagger-ui" data-openapi="/api/v1/openapi.json"></div>
  <script src="/api/docs/assets/swagger-ui-bundle.js"></script>
  <script src="/static/api-docs.js"></script>
</body>
</html>
"""


@router.get("/api/docs", response_class=HTMLResponse)
def docs_page() -> HTMLResponse:
    return HTMLResponse(PAGE)


@router.get("/api/docs/assets/{name}")
def docs_asset(name: str) -> Response:
    kind = SERVED.get(name)
    if kind is None or not (ASSETS / name).is_file():
        return Response('{"error": "there is no such file"}', 404, media_type="application/json")
    return FileResponse(ASSETS / name, media_type=kind)
