"""stored text that breaks the text rule is cleaned, so that every record reads back

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 09:00:00

Before the rule in `groundup.clinical.text` was applied to everything that comes in, a
database could take in text it cannot give back: on SQLite, half of a surrogate pair
inside JSON (a check-in's warning signs, then the program built from them) made every read
of that person fail, export included. This walks every text and JSON column once and
cleans what the rule refuses (`clean_text`: a lone surrogate becomes U+FFFD, so the reader
sees a character was lost; NUL and other control characters are dropped). From then on
nothing unstorable comes in, so reads never need to check. Cleaning once, here, rather than
on every read: the record is repaired for every reader (pages, PDFs, exports, the engine)
at once, and an export made afterwards is the same file each time.

Only rows that may hold such text are read in full: a cheap test on the column's text
picks them first (a control character, or a JSON escape that could be one).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

from groundup.clinical.text import clean_data, clean_text, first_unstorable

# revision identifiers, used by Alembic.
revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# (table, primary key, text columns, JSON columns) as they are at this revision.
COLUMNS: tuple[tuple[str, str, tuple[str, ...], tuple[str, ...]], ...] = (
    ("users", "id", ("display_name",), ()),
    ("patients", "id", ("display_name",), ()),
    ("screens", "id", (), ("answers", "result")),
    ("assessments", "id", (), ("data", "profile", "scores")),
    ("program_versions", "id", (), ("data",)),
    ("session_logs", "id", ("skip_reason",), ("data",)),
    ("set_logs", "id", ("knob", "form"), ()),
    ("checkins", "id", (), ("new_red_flags",)),
    ("decisions", "id", (), ("data",)),
    ("overrides", "id", (), ("data",)),
    ("api_tokens", "id", ("name",), ()),
    ("audit_log", "id", ("actor", "detail"), ()),
)
BATCH = 500


def _may_need_cleaning(text: str) -> bool:
    """True when the raw column text holds a control character or a JSON escape that
    could stand for one (or for a surrogate): only those rows are parsed."""
    return (
        any(ord(c) < 32 or 127 <= ord(c) <= 159 for c in text)
        or "\\u" in text
        or any(e in text for e in ("\\b", "\\f"))
    )


def _clean_rows(table: str, key: str, column: str, is_json: bool) -> None:
    connection = op.get_bind()
    json_type = sa.JSON()
    if connection.dialect.name == "postgresql":
        from sqlalchemy.dialects import postgresql

        json_type = postgresql.JSONB()
    target = sa.table(table, sa.column(key), sa.column(column, json_type if is_json else sa.Text()))
    raw = sa.cast(target.c[column], sa.Text)
    last: Any = None
    while True:
        query = sa.select(target.c[key], raw.label("text")).order_by(target.c[key]).limit(BATCH)
        if last is not None:
            query = query.where(target.c[key] > last)
        rows = connection.execute(query).all()
        if not rows:
            return
        last = rows[-1][0]
        for row_key, text in rows:
            if text is None or not _may_need_cleaning(text):
                continue
            if is_json:
                value = json.loads(text)
                if first_unstorable(value) is None:
                    continue
                cleaned: Any = clean_data(value)
            else:
                cleaned = clean_text(text)
                if cleaned == text:
                    continue
            connection.execute(
                sa.update(target).where(target.c[key] == row_key).values({column: cleaned})
            )
            if table == "session_logs" and column == "data" and isinstance(cleaned, dict):
                # The retry check compares digests of what was logged: keep it in step.
                digest = hashlib.sha256(json.dumps(cleaned, sort_keys=True).encode()).hexdigest()
                logs = sa.table("session_logs", sa.column("id"), sa.column("fingerprint"))
                connection.execute(
                    sa.update(logs).where(logs.c.id == row_key).values(fingerprint=digest)
                )


def upgrade() -> None:
    for table, key, texts, jsons in COLUMNS:
        for column in texts:
            _clean_rows(table, key, column, is_json=False)
        for column in jsons:
            _clean_rows(table, key, column, is_json=True)


def downgrade() -> None:
    """Nothing to undo: cleaned text stays clean."""
