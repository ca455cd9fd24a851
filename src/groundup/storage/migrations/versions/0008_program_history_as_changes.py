"""program history as changes: most program versions keep only how they differ

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06 20:45:00

Every program version used to hold the whole program (about 17 kB). Now the newest two,
the plan, overrides, the first version of each phase and one in every few hold it; the
others hold the changes that turn the next version into them (groundup.services.versions).
Upgrading rewrites each person's versions that way; downgrading rebuilds them whole.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from groundup.services.versions import apply, compact

# revision identifiers, used by Alembic.
revision: str = "0008"
down_revision: str | Sequence[str] | None = "0007"
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


def upgrade() -> None:
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
