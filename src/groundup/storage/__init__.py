"""Storage: SQLAlchemy models, the database connection and Alembic migrations.

Only the service layer uses this package; the clinical core knows nothing of it.
"""
