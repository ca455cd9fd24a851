"""program history as changes, and a session's sets stored once

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06 20:45:00

Every program version used to hold the whole program (about 17 kB). Now the newest two,
the plan, overrides, the first version of each phase and one in every few hold it; the
others hold the changes that turn the next version into them (groundup.services.versions).
Upgrading rewrites each person's versions that way; downgrading rebuilds them whole.

A session's sets were stored twice: in the session's JSON and as rows of `set_logs`, which
nothing read but sessions stored before the JSON existed (0004). Those sessions get their
JSON from their rows, and `set_logs` goes; downgrading makes the rows again from the JSON.
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from groundup.clinical.logs import SessionLog
from groundup.services.versions import apply, compact

# revision identifiers, used by Alembic.
revision: str = "0010"
down_revision: str | Sequence[str] | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_json = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
_versions = sa.table(
    "program_versions",
    sa.column("id", sa.Integer),
    sa.column("patient_id", sa.String),
    sa.column("version", sa.Integer),
    sa.column("cause", sa.String),
    sa.column("phase", sa.String),
    sa.column("data", _json),
    sa.column("changes", _json),
    sa.column("checkpoint", sa.Boolean),
)


def _people(connection: sa.Connection) -> list[str]:
    return list(connection.execute(sa.select(_versions.c.patient_id).distinct()).scalars())


_sessions = sa.table(
    "session_logs",
    sa.column("id", sa.Integer),
    sa.column("log_id", sa.String),
    sa.column("date", sa.Date),
    sa.column("skipped", sa.Boolean),
    sa.column("skip_reason", sa.Text),
    sa.column("pain_after", sa.Integer),
    sa.column("data", _json),
)
_SET_COLUMNS = (
    "session_log_id",
    "position",
    "exercise_id",
    "side",
    "set_number",
    "amount",
    "load_kg",
    "knob",
    "knob_is_number",
    "rpe",
    "rir",
    "pain",
    "form",
)
_sets = sa.table("set_logs", *(sa.column(name) for name in ("id", *_SET_COLUMNS)))


def _session_from_sets(row: Any, sets: Sequence[Any]) -> dict[str, Any]:
    """A session's JSON (as the services store it) from its row and its set rows."""
    exercises: list[dict[str, Any]] = []
    for entry in sets:
        knob: Any = entry.knob
        if knob is not None and entry.knob_is_number:
            knob = float(knob)
        logged = {
            "amount": entry.amount,
            "load_kg": entry.load_kg,
            "knob": knob,
            "rpe": entry.rpe,
            "rir": entry.rir,
            "pain": entry.pain,
            "form": entry.form,
        }
        last = exercises[-1] if exercises else None
        if (
            last is None
            or (last["exercise_id"], last["side"]) != (entry.exercise_id, entry.side)
            or entry.set_number == 1
        ):
            exercises.append(
                {"exercise_id": entry.exercise_id, "side": entry.side, "sets": [logged]}
            )
        else:
            last["sets"].append(logged)
    log = SessionLog.model_validate(
        {
            "id": row.log_id,
            "date": row.date,
            "skipped": row.skipped,
            "skip_reason": row.skip_reason,
            "exercises": exercises,
            "pain_after": row.pain_after,
        }
    )
    return log.model_dump(mode="json", exclude_defaults=True)


def _set_rows(session_log_id: int, data: Any) -> list[dict[str, Any]]:
    log = SessionLog.model_validate(data)
    rows: list[dict[str, Any]] = []
    for exercise in log.exercises:
        for number, entry in enumerate(exercise.sets, 1):
            rows.append(
                {
                    "session_log_id": session_log_id,
                    "position": len(rows) + 1,
                    "exercise_id": exercise.exercise_id,
                    "side": exercise.side.value if exercise.side else None,
                    "set_number": number,
                    "amount": entry.amount,
                    "load_kg": entry.load_kg,
                    "knob": None if entry.knob is None else str(entry.knob),
                    "knob_is_number": isinstance(entry.knob, int | float),
                    "rpe": entry.rpe,
                    "rir": entry.rir,
                    "pain": entry.pain,
                    "form": entry.form,
                }
            )
    return rows


def upgrade() -> None:
    connection = op.get_bind()
    missing = connection.execute(
        sa.select(_sessions).where(
            sa.or_(_sessions.c.data.is_(None), sa.cast(_sessions.c.data, sa.Text) == "null")
        )
    ).all()
    for row in missing:
        sets = connection.execute(
            sa.select(_sets).where(_sets.c.session_log_id == row.id).order_by(_sets.c.position)
        ).all()
        connection.execute(
            sa.update(_sessions)
            .where(_sessions.c.id == row.id)
            .values(data=_session_from_sets(row, sets))
        )
    with op.batch_alter_table("set_logs") as batch:
        batch.drop_index(batch.f("ix_set_logs_session_log_id"))
    op.drop_table("set_logs")
    with op.batch_alter_table("program_versions") as batch:
        batch.add_column(sa.Column("changes", _json, nullable=True))
        batch.add_column(
            sa.Column("checkpoint", sa.Boolean(), nullable=False, server_default=sa.true())
        )
        batch.alter_column("data", existing_type=_json, nullable=True)
    connection = op.get_bind()
    for patient_id in _people(connection):
        rows = connection.execute(
            sa.select(
                _versions.c.id,
                _versions.c.version,
                _versions.c.cause,
                _versions.c.phase,
                _versions.c.data,
            )
            .where(_versions.c.patient_id == patient_id)
            .order_by(_versions.c.version)
        ).all()
        stored = compact((r.version, r.cause, r.phase, False, r.data) for r in rows)
        for row, (checkpoint, value) in zip(rows, stored, strict=True):
            whole = value is row.data
            if whole and checkpoint:
                continue
            connection.execute(
                sa.update(_versions)
                .where(_versions.c.id == row.id)
                .values(
                    checkpoint=checkpoint,
                    data=row.data if whole else sa.null(),
                    changes=sa.null() if whole else (value or {"o": {}}),
                )
            )


def downgrade() -> None:
    connection = op.get_bind()
    for patient_id in _people(connection):
        rows = connection.execute(
            sa.select(_versions.c.id, _versions.c.data, _versions.c.changes)
            .where(_versions.c.patient_id == patient_id)
            .order_by(_versions.c.version.desc())
        ).all()
        program = None
        for row in rows:
            if row.data is not None:
                program = row.data
                continue
            program = apply(program, row.changes)
            connection.execute(
                sa.update(_versions).where(_versions.c.id == row.id).values(data=program)
            )
    with op.batch_alter_table("program_versions") as batch:
        batch.alter_column("data", existing_type=_json, nullable=False)
        batch.drop_column("checkpoint")
        batch.drop_column("changes")
    op.create_table(
        "set_logs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("session_log_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("exercise_id", sa.String(length=64), nullable=False),
        sa.Column("side", sa.String(length=5), nullable=True),
        sa.Column("set_number", sa.Integer(), nullable=False),
        sa.Column("amount", sa.Float(), nullable=False),
        sa.Column("load_kg", sa.Float(), nullable=True),
        sa.Column("knob", sa.String(length=64), nullable=True),
        sa.Column("knob_is_number", sa.Boolean(), nullable=False),
        sa.Column("rpe", sa.Float(), nullable=True),
        sa.Column("rir", sa.Integer(), nullable=True),
        sa.Column("pain", sa.Integer(), nullable=False),
        sa.Column("form", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["session_log_id"],
            ["session_logs.id"],
            name=op.f("fk_set_logs_session_log_id_session_logs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_set_logs")),
    )
    with op.batch_alter_table("set_logs") as batch:
        batch.create_index(batch.f("ix_set_logs_session_log_id"), ["session_log_id"], unique=False)
    for session_id, data in connection.execute(
        sa.select(_sessions.c.id, _sessions.c.data).order_by(_sessions.c.id)
    ):
        made = _set_rows(session_id, data)
        if made:
            connection.execute(sa.insert(_sets), made)
