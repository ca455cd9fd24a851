"""Migrations: empty → head, down to nothing and up again, and the models match them."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from groundup.storage.database import Database
from groundup.storage.models import Base

TABLES = {t.name for t in Base.metadata.sorted_tables}


def test_upgrade_downgrade_upgrade(database_url: str) -> None:
    db = Database(database_url, migrate=False)
    try:
        assert not TABLES & set(inspect(db.engine).get_table_names())
        db.upgrade()
        assert set(inspect(db.engine).get_table_names()) >= TABLES
        db.downgrade("base")
        assert not TABLES & set(inspect(db.engine).get_table_names())
        db.upgrade()
        assert set(inspect(db.engine).get_table_names()) >= TABLES
    finally:
        db.dispose()


def test_models_match_the_migrations(database_url: str) -> None:
    db = Database(database_url)
    try:
        with db.engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            differences = compare_metadata(context, Base.metadata)
        assert differences == []
    finally:
        db.dispose()
