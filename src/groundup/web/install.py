"""groundup as an installable app: the web app manifest, the service worker (served from
the site's root, so that it may look after every page), and the page shown when a page
is needed that the device has no copy of and the network is gone."""

from __future__ import annotations

import hashlib
import json
from functools import cache
from importlib import resources

from fastapi import APIRouter, Request
from fastapi.responses import Response

from groundup.web.pages import render

router = APIRouter()

THEME_COLOUR = "#1b2430"  # the top bar
BACKGROUND_COLOUR = "#f3f6f9"  # the page


def manifest() -> dict[str, object]:
    """The web app manifest: what a browser needs to install groundup."""
    icon = "/static/icons/"
    return {
        "id": "/",
        "name": "groundup: leg strengthening",
        "short_name": "groundup",
        "description": "Your strengthening program for lower-leg pain: today's session, "
        "the morning check-in, your progress and reminders.",
        "start_url": "/",
        "scope": "/",
        "display": "standalone",
        "orientation": "any",
        "theme_color": THEME_COLOUR,
        "background_color": BACKGROUND_COLOUR,
        "lang": "en",
        "categories": ["health", "fitness", "medical"],
        "icons": [
            {
                "src": f"{icon}icon-192.png",
                "sizes": "192x192",
                "type": "image/png",
                "purpose": "any",
            },
            {
                "src": f"{icon}icon-512.png",
                "sizes": "512x512",
                "type": "image/png",
                "purpose": "any",
            },
            {
                "src": f"{icon}maskable-192.png",
                "sizes": "192x192",
                "type": "image/png",
                "purpose": "maskable",
            },
            {
                "src": f"{icon}maskable-512.png",
                "sizes": "512x512",
                "type": "image/png",
                "purpose": "maskable",
            },
            {
                "src": f"{icon}badge-96.png",
                "sizes": "96x96",
                "type": "image/png",
                "purpose": "monochrome",
            },
        ],
        "shortcuts": [
            {"name": "Today's session", "url": "/me"},
            {"name": "Morning check-in", "url": "/me/checkin"},
        ],
    }


@cache
def _manifest_bytes() -> bytes:
    return json.dumps(manifest(), indent=1).encode()


SHELL_STATIC = ("app.css", "app.js", "install.js", "offline.js")


@cache
def _worker_script() -> bytes:
    """The service worker with the digest of the app's own files in its shell cache's name:
    a new style sheet or script is a new worker, which fetches them afresh."""
    static = resources.files("groundup.web") / "static"
    digest = hashlib.sha256()
    for name in SHELL_STATIC:
        digest.update((static / name).read_bytes())
    script = (static / "sw.js").read_bytes()
    marker = b'var ASSETS = "unversioned";'
    assert marker in script
    return script.replace(marker, f'var ASSETS = "{digest.hexdigest()[:12]}";'.encode())


@router.get("/manifest.webmanifest", include_in_schema=False)
def manifest_file() -> Response:
    return Response(
        _manifest_bytes(),
        media_type="application/manifest+json",
        headers={"Cache-Control": "no-cache"},
    )


@router.get("/sw.js", include_in_schema=False)
def service_worker() -> Response:
    """The service worker, from the root: its scope is the whole site. Never cached by the
    browser's HTTP cache, so a new version is picked up on the next visit."""
    return Response(
        _worker_script(),
        media_type="text/javascript",
        headers={"Cache-Control": "no-cache", "Service-Worker-Allowed": "/"},
    )


@cache
def _favicon() -> bytes:
    return (resources.files("groundup.web") / "static" / "icons" / "favicon-32.png").read_bytes()


@router.get("/favicon.ico", include_in_schema=False)
def favicon() -> Response:
    """The icon browsers ask for at the root on pages that name none (the API docs)."""
    return Response(_favicon(), media_type="image/png", headers={"Cache-Control": "max-age=86400"})


@router.get("/offline", include_in_schema=False)
def offline_page(request: Request) -> Response:
    return render(request, "offline.html")
