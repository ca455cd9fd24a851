"""The interactive API docs (Swagger UI) at /api/docs, served from the app itself.

The Swagger UI files come from the `swagger-ui-py` package, installed with groundup
(never from a CDN, never copied into this repository); the page that starts them and the
script that starts them are the project's own, so that the page runs under the app's
content security policy (scripts and styles from this site only). The docs show the API
alone (`/api/docs/openapi.json`: the paths under /api/v1 and the schemas they use); the
whole document at /api/v1/openapi.json also lists the pages, for tools that test them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import swagger_ui
from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response

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
  <div id="swagger-ui" data-openapi="/api/docs/openapi.json"></div>
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


@router.get("/api/docs/openapi.json")
def api_document(request: Request) -> JSONResponse:
    return JSONResponse(api_only(request.app.openapi()))


def api_only(document: dict[str, Any]) -> dict[str, Any]:
    """The OpenAPI document with only the paths under /api/v1 and the schemas they use."""
    paths = {p: v for p, v in document["paths"].items() if p.startswith("/api/v1")}
    components = dict(document.get("components", {}))
    schemas = components.get("schemas", {})
    used: set[str] = set()
    pending = _refs(paths)
    while pending:
        name = pending.pop()
        if name not in used and name in schemas:
            used.add(name)
            pending |= _refs(schemas[name])
    components["schemas"] = {k: v for k, v in schemas.items() if k in used}
    return {**document, "paths": paths, "components": components}


def _refs(value: Any) -> set[str]:
    """The schema names that `$ref`s in a piece of the document point to."""
    found: set[str] = set()
    if isinstance(value, dict):
        ref = value.get("$ref")
        if isinstance(ref, str):
            found.add(ref.rsplit("/", 1)[-1])
        for item in value.values():
            found |= _refs(item)
    elif isinstance(value, list):
        for item in value:
            found |= _refs(item)
    return found
