"""The interactive API docs in real Chromium: Swagger UI from the installed package,
started by the project's own script, under the app's content security policy — it must
draw the API's operations with no policy refusal in the console."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect
from test_journeys import DESKTOP

pytestmark = pytest.mark.browser


def test_the_api_docs_render_under_the_apps_policy(
    browser: Browser, live_server: str, screenshots: Path
) -> None:
    page = browser.new_page(viewport=DESKTOP)
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.goto(f"{live_server}/api/docs")
    expect(page.locator(".opblock").first).to_be_visible(timeout=20_000)
    assert page.locator(".opblock").count() >= 25
    expect(page.get_by_text("/api/v1/tokens").first).to_be_visible()
    assert page.get_by_text("/me/screen").count() == 0  # pages are not the API
    assert not problems, problems
    assert all(url.startswith(live_server) for url in requests), requests  # no CDN
    page.screenshot(path=str(screenshots / "40-api-docs-desktop.png"))
    page.close()
