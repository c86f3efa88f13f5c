"""Alembic environment of the data schema (the steps are shared with the other schema)."""

from kluis.migrations.environment import migrate

migrate()
