"""The clinic's records: SQLAlchemy models, Alembic migrations and the repository."""
