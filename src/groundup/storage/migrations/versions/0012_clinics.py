"""clinics: clinics, their members (clinicians, some flagged as the clinic's admins) and the
clinic a patient belongs to. Clinicians already here and their patients go into one clinic
so that nothing is lost; a site admin names its clinic admins (`groundup clinic admin`).

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07 02:20:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0012"
down_revision: str | Sequence[str] | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

DEFAULT_CLINIC = "Our clinic"


def upgrade() -> None:
    clinics = op.create_table(
        "clinics",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_clinics")),
        sa.UniqueConstraint("name", name=op.f("uq_clinics_name")),
    )
    op.create_table(
        "clinic_members",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("clinic_id", sa.Integer(), nullable=False),
        sa.Column("admin", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["clinic_id"],
            ["clinics.id"],
            name=op.f("fk_clinic_members_clinic_id_clinics"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_clinic_members_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_clinic_members")),
    )
    op.create_index(
        op.f("ix_clinic_members_clinic_id"), "clinic_members", ["clinic_id"], unique=False
    )
    # A plain ADD COLUMN, never a batch copy of `patients`: on SQLite the copy drops the
    # old table, and with foreign keys on that deletes every row that refers to a patient.
    # SQLite cannot add a named reference to an existing table in place, so the column has
    # none on either database; clinics are never deleted, and the services write it.
    op.add_column("patients", sa.Column("clinic_id", sa.Integer(), nullable=True))
    op.create_index(op.f("ix_patients_clinic_id"), "patients", ["clinic_id"], unique=False)

    # Everyone already here: one clinic for all clinicians and the patients linked to them.
    connection = op.get_bind()
    users = sa.table("users", sa.column("id", sa.Integer), sa.column("role", sa.String))
    clinicians = [
        row.id
        for row in connection.execute(
            sa.select(users.c.id).where(users.c.role == "clinician").order_by(users.c.id)
        )
    ]
    if not clinicians:
        return
    now = sa.func.now() if connection.dialect.name == "postgresql" else sa.func.current_timestamp()
    connection.execute(sa.insert(clinics).values(name=DEFAULT_CLINIC, created_at=now))
    clinic_id = connection.execute(
        sa.select(clinics.c.id).where(clinics.c.name == DEFAULT_CLINIC)
    ).scalar_one()
    members = sa.table(
        "clinic_members",
        sa.column("user_id", sa.Integer),
        sa.column("clinic_id", sa.Integer),
        sa.column("admin", sa.Boolean),
        sa.column("created_at", sa.DateTime(timezone=True)),
    )
    for user_id in clinicians:
        connection.execute(
            sa.insert(members).values(
                user_id=user_id, clinic_id=clinic_id, admin=False, created_at=now
            )
        )
    links = sa.table("clinician_patients", sa.column("patient_id", sa.String))
    patients = sa.table("patients", sa.column("id", sa.String), sa.column("clinic_id", sa.Integer))
    connection.execute(
        sa.update(patients)
        .where(patients.c.id.in_(sa.select(links.c.patient_id)))
        .values(clinic_id=clinic_id)
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_patients_clinic_id"), table_name="patients")
    if op.get_bind().dialect.name == "sqlite":
        op.execute("ALTER TABLE patients DROP COLUMN clinic_id")  # in place, no copy
    else:
        op.drop_column("patients", "clinic_id")
    op.drop_index(op.f("ix_clinic_members_clinic_id"), table_name="clinic_members")
    op.drop_table("clinic_members")
    op.drop_table("clinics")
