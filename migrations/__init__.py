"""Alembic migrations for the catalog (`sohoa db upgrade`)."""
