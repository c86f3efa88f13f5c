"""Alembic environment of the keys schema (the steps are shared with the other schema)."""

from kluis.migrations.environment import migrate

migrate()
