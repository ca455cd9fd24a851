"""warning signs at the check-in, chosen from the screen's list (ids beside the free words),
and sessions in progress kept per person and day

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06 20:20:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision: str = "0009"
down_revision: str | Sequence[str] | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    json = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
    with op.batch_alter_table("checkins") as batch:
        batch.add_column(
            sa.Column("warning_signs", json, nullable=False, server_default=sa.text("'[]'"))
        )
    op.create_table(
        "session_drafts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.String(length=32), nullable=False),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("data", json, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["patient_id"],
            ["patients.id"],
            name=op.f("fk_session_drafts_patient_id_patients"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_session_drafts")),
        sa.UniqueConstraint("patient_id", "date", name=op.f("uq_session_drafts_patient_id")),
    )


def downgrade() -> None:
    op.drop_table("session_drafts")
    with op.batch_alter_table("checkins") as batch:
        batch.drop_column("warning_signs")
