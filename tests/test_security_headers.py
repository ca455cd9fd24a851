"""Every answer carries the security headers: pages, the API, errors and static files."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi import Response
from fastapi.testclient import TestClient

from groundup.knowledge import load_rules
from groundup.services import Services
from groundup.storage.database import Database
from groundup.web.app import create_app

EXPECTED = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "same-origin",
}


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/", 200),
        ("/login", 200),
        ("/static/app.css", 200),
        ("/api/v1/patients/" + "0" * 32 + "/today", 401),
        ("/no-such-page", 404),
    ],
)
def test_every_answer_carries_the_security_headers(tmp_path: Path, path: str, status: int) -> None:
    database = Database(f"sqlite:///{tmp_path / 'h.db'}")
    try:
        client = TestClient(create_app(services=Services(database, load_rules())))
        response = client.get(path)
        assert response.status_code == status
        for name, value in EXPECTED.items():
            assert response.headers[name] == value
        policy = response.headers["content-security-policy"]
        assert "default-src 'self'" in policy and "frame-ancestors 'none'" in policy
        assert len(response.headers.get_list("x-frame-options")) == 1
    finally:
        database.dispose()


def test_a_header_the_route_sets_itself_is_kept(tmp_path: Path) -> None:
    database = Database(f"sqlite:///{tmp_path / 'h.db'}")
    try:
        app = create_app(services=Services(database, load_rules()))

        @app.get("/framed")
        def framed() -> Response:
            return Response("x", headers={"X-Frame-Options": "SAMEORIGIN"})

        response = TestClient(app).get("/framed")
        assert response.headers.get_list("x-frame-options") == ["SAMEORIGIN"]
        assert response.headers["x-content-type-options"] == "nosniff"
    finally:
        database.dispose()
