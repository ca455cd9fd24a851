"""sessions keep their JSON; patients found by their user id through an index

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-21 18:20:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    json = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
    with op.batch_alter_table("session_logs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("data", json, nullable=True))
    with op.batch_alter_table("patients", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_patients_user_id"), ["user_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("patients", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_patients_user_id"))
    with op.batch_alter_table("session_logs", schema=None) as batch_op:
        batch_op.drop_column("data")
