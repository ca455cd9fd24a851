"""a clinician's own exercises (with versions and photos) and own protocols

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06 20:10:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision: str = "0008"
down_revision: str | Sequence[str] | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    json = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
    op.create_table(
        "exercise_pictures",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=32), nullable=False),
        sa.Column("owner_kind", sa.String(length=16), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=False),
        sa.Column("content_type", sa.String(length=32), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_exercise_pictures")),
        sa.UniqueConstraint("key", name=op.f("uq_exercise_pictures_key")),
    )
    op.create_table(
        "own_exercises",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("exercise_id", sa.String(length=64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("owner_kind", sa.String(length=16), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("data", json, nullable=False),
        sa.Column("picture_id", sa.Integer(), nullable=True),
        sa.Column("retired", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by"],
            ["users.id"],
            name=op.f("fk_own_exercises_created_by_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["picture_id"],
            ["exercise_pictures.id"],
            name=op.f("fk_own_exercises_picture_id_exercise_pictures"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_own_exercises")),
        sa.UniqueConstraint("exercise_id", "version", name=op.f("uq_own_exercises_exercise_id")),
    )
    op.create_index(
        op.f("ix_own_exercises_exercise_id"), "own_exercises", ["exercise_id"], unique=False
    )
    op.create_index("ix_own_exercises_owner", "own_exercises", ["owner_kind", "owner_id"])
    op.create_table(
        "own_exercise_uses",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.String(length=32), nullable=False),
        sa.Column("exercise_id", sa.String(length=64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["patient_id"],
            ["patients.id"],
            name=op.f("fk_own_exercise_uses_patient_id_patients"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_own_exercise_uses")),
        sa.UniqueConstraint(
            "patient_id", "exercise_id", name=op.f("uq_own_exercise_uses_patient_id")
        ),
    )
    op.create_index(
        op.f("ix_own_exercise_uses_patient_id"), "own_exercise_uses", ["patient_id"], unique=False
    )
    op.create_table(
        "own_templates",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("owner_kind", sa.String(length=16), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("data", json, nullable=False),
        sa.Column("retired", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by"],
            ["users.id"],
            name=op.f("fk_own_templates_created_by_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_own_templates")),
        sa.UniqueConstraint("key", "version", name=op.f("uq_own_templates_key")),
    )
    op.create_index(op.f("ix_own_templates_key"), "own_templates", ["key"], unique=False)
    op.create_index("ix_own_templates_owner", "own_templates", ["owner_kind", "owner_id"])
    op.create_table(
        "own_template_uses",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.String(length=32), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["patient_id"],
            ["patients.id"],
            name=op.f("fk_own_template_uses_patient_id_patients"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_own_template_uses")),
        sa.UniqueConstraint("patient_id", "key", name=op.f("uq_own_template_uses_patient_id")),
    )
    op.create_index(
        op.f("ix_own_template_uses_patient_id"), "own_template_uses", ["patient_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_own_template_uses_patient_id"), table_name="own_template_uses")
    op.drop_table("own_template_uses")
    op.drop_index("ix_own_templates_owner", table_name="own_templates")
    op.drop_index(op.f("ix_own_templates_key"), table_name="own_templates")
    op.drop_table("own_templates")
    op.drop_index(op.f("ix_own_exercise_uses_patient_id"), table_name="own_exercise_uses")
    op.drop_table("own_exercise_uses")
    op.drop_index("ix_own_exercises_owner", table_name="own_exercises")
    op.drop_index(op.f("ix_own_exercises_exercise_id"), table_name="own_exercises")
    op.drop_table("own_exercises")
    op.drop_table("exercise_pictures")
