"""0012 (clinics): a database filled at 0011 keeps every clinician and patient; they are
put in one clinic, and the patients' links are untouched."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import create_engine, text

from groundup.storage.database import Database

NOW = dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC)


def test_upgrading_puts_everyone_in_one_clinic(database_url: str) -> None:
    old = Database(database_url, migrate=False)
    old.upgrade("0011")
    old.dispose()
    engine = create_engine(database_url)
    with engine.begin() as connection:
        for uid, role in ((1, "clinician"), (2, "clinician"), (3, "person"), (4, "admin")):
            connection.execute(
                text(
                    "INSERT INTO users (id, email, display_name, role, password_hash, active,"
                    " created_at, must_change_password, email_confirmed)"
                    " VALUES (:id, :email, :name, :role, 'x', :t, :now, :f, :t)"
                ),
                {
                    "id": uid,
                    "email": f"u{uid}@example.org",
                    "name": f"User {uid}",
                    "role": role,
                    "now": NOW,
                    "t": True,
                    "f": False,
                },
            )
        for pid in ("a" * 32, "b" * 32, "c" * 32):
            connection.execute(
                text(
                    "INSERT INTO patients (id, display_name, length_unit, mass_unit,"
                    " date_format, events, created_at) VALUES (:id, :id, 'cm', 'kg',"
                    " '%Y-%m-%d', 0, :now)"
                ),
                {"id": pid, "now": NOW},
            )
        for cid, pid in ((1, "a" * 32), (2, "b" * 32), (1, "b" * 32)):
            connection.execute(
                text(
                    "INSERT INTO clinician_patients (clinician_id, patient_id, created_at)"
                    " VALUES (:c, :p, :now)"
                ),
                {"c": cid, "p": pid, "now": NOW},
            )
    engine.dispose()

    database = Database(database_url)  # upgrades to head
    try:
        with database.engine.connect() as connection:
            clinics = connection.execute(text("SELECT id, name FROM clinics")).all()
            assert len(clinics) == 1
            clinic_id = clinics[0][0]
            members = connection.execute(
                text("SELECT user_id, clinic_id, admin FROM clinic_members ORDER BY user_id")
            ).all()
            assert [(m[0], m[1], bool(m[2])) for m in members] == [
                (1, clinic_id, False),
                (2, clinic_id, False),
            ]
            patients = {
                row[0]: row[1]
                for row in connection.execute(text("SELECT id, clinic_id FROM patients"))
            }
            # Patients with a clinician are the clinic's; someone on their own stays so.
            assert patients == {"a" * 32: clinic_id, "b" * 32: clinic_id, "c" * 32: None}
            links = connection.execute(
                text("SELECT clinician_id, patient_id FROM clinician_patients")
            ).all()
            assert len(links) == 3
            # Nothing that refers to a patient was lost on the way.
        database.downgrade("0011")
        database.upgrade()
        with database.engine.connect() as connection:
            assert connection.execute(text("SELECT count(*) FROM clinician_patients")).scalar() == 3
            assert connection.execute(text("SELECT count(*) FROM patients")).scalar() == 3
    finally:
        database.dispose()


def test_an_empty_database_gets_no_clinic(database_url: str) -> None:
    database = Database(database_url)
    try:
        with database.engine.connect() as connection:
            assert connection.execute(text("SELECT count(*) FROM clinics")).scalar() == 0
    finally:
        database.dispose()
