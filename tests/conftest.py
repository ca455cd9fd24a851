"""Shared fixtures: real databases (SQLite always; PostgreSQL when its URL is set).

PostgreSQL tests use the server named by GROUNDUP_TEST_POSTGRES_URL (`.ci/run` sets it),
or else the local default below. They create a fresh database per test. When no server
answers they are skipped in a quick local run — but under CI=true that is a failure.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from groundup.knowledge import load_rules
from groundup.services import Services
from groundup.storage.database import Database

POSTGRES_ENV = "GROUNDUP_TEST_POSTGRES_URL"
LOCAL_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def postgres_server_url() -> str:
    url = os.environ.get(POSTGRES_ENV) or LOCAL_POSTGRES
    try:
        engine = create_engine(url, connect_args={"connect_timeout": 5})
        with engine.connect() as connection:
            connection.execute(text("select 1"))
        engine.dispose()
    except Exception as exc:  # the server is down or refuses us
        if _in_ci():
            pytest.fail(f"PostgreSQL at {url} is not reachable: {exc}")
        pytest.skip(f"PostgreSQL at {url} is not reachable")
    return url


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL database for one test, dropped afterwards."""
    server = make_url(postgres_server_url())
    name = f"groundup_t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(server.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield server.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = :name AND pid <> pg_backend_pid()"
                ),
                {"name": name},
            )
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'groundup.db'}"


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'groundup.db'}"
    return str(request.getfixturevalue("postgres_url"))


@pytest.fixture
def database(database_url: str) -> Iterator[Database]:
    db = Database(database_url)
    yield db
    db.dispose()


@pytest.fixture
def services(database: Database) -> Services:
    return Services(database, load_rules(), actor="test")
