"""The installable app's parts over HTTP: the manifest (its content type, icons that exist
at the sizes it names), the service worker from the site root, the offline page; and the
icons are what scripts/make_icons.py draws."""

from __future__ import annotations

import hashlib
import importlib.util
import io
import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from PIL import Image, ImageChops

from groundup.knowledge import load_rules
from groundup.services import Services
from groundup.storage.database import Database
from groundup.web.app import create_app

ROOT = Path(__file__).resolve().parent.parent
ICONS = ROOT / "src" / "groundup" / "web" / "static" / "icons"


@pytest.fixture
def client(tmp_path: Path) -> TestClient:
    services = Services(Database(f"sqlite:///{tmp_path / 'i.db'}"), load_rules())
    return TestClient(create_app(services=services), follow_redirects=False)


def test_the_manifest_names_the_app_and_icons_that_exist(client: TestClient) -> None:
    response = client.get("/manifest.webmanifest")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/manifest+json"
    manifest = json.loads(response.content)
    assert manifest["short_name"] == "groundup" and manifest["display"] == "standalone"
    assert manifest["start_url"] == "/" and manifest["scope"] == "/"
    for icon in manifest["icons"]:
        image = client.get(icon["src"])
        assert image.status_code == 200 and image.headers["content-type"] == "image/png"
        width, height = (int(n) for n in icon["sizes"].split("x"))
        assert Image.open(io.BytesIO(image.content)).size == (width, height)
    page = client.get("/login").text
    assert '<link rel="manifest" href="/manifest.webmanifest">' in page
    assert f'<meta name="theme-color" content="{manifest["theme_color"]}">' in page


def test_the_service_worker_is_served_from_the_root_under_the_apps_policy(
    client: TestClient,
) -> None:
    response = client.get("/sw.js")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/javascript")
    assert response.headers["service-worker-allowed"] == "/"
    assert response.headers["cache-control"] == "no-cache"
    assert "script-src 'self'" in response.headers["content-security-policy"]
    for path in ("/offline", "/static/install.js", "/static/offline.js", "/static/app.css"):
        assert path in response.text and client.get(path).status_code == 200
    # The shell cache is named after the app's own files as served: a changed style sheet
    # or script is a new worker that fetches them afresh (not one visit late).
    digest = hashlib.sha256()
    for name in ("app.css", "app.js", "install.js", "offline.js"):
        digest.update(client.get(f"/static/{name}").content)
    assert f'var ASSETS = "{digest.hexdigest()[:12]}";' in response.text


def test_a_maskable_icon_keeps_its_mark_inside_the_safe_zone() -> None:
    """Everything but the background lies within the central circle of 80 % diameter."""
    image = Image.open(ICONS / "maskable-512.png").convert("RGB")
    background = image.getpixel((0, 0))
    size = image.size[0]
    radius = size * 0.4
    for x in range(0, size, 4):
        for y in range(0, size, 4):
            if (x - size / 2) ** 2 + (y - size / 2) ** 2 > radius**2:
                assert image.getpixel((x, y)) == background, (x, y)


def test_the_committed_icons_are_what_the_script_draws(tmp_path: Path) -> None:
    spec = importlib.util.spec_from_file_location("make_icons", ROOT / "scripts" / "make_icons.py")
    assert spec is not None and spec.loader is not None
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    for name, (size, style) in script.ICON_FILES.items():
        committed = Image.open(ICONS / name).convert("RGBA")
        drawn = script.draw_icon(size, style).convert("RGBA")
        assert committed.size == (size, size)
        difference = ImageChops.difference(committed, drawn).getextrema()
        assert max(high for _, high in difference) <= 8, f"{name}: run scripts/make_icons.py"


def test_the_root_favicon_is_the_apps_icon(client: TestClient) -> None:
    answer = client.get("/favicon.ico")
    assert answer.status_code == 200 and answer.headers["content-type"] == "image/png"
    assert answer.content.startswith(b"\x89PNG")
