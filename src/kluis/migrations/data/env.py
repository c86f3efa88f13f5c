"""Alembic environment shared by both schemas; the target (data or keys) comes from the config."""

from alembic import context
from sqlalchemy import Connection, engine_from_config, pool

from kluis.migrations.models import METADATA

config = context.config
target = config.attributes.get("target") or config.get_main_option("target") or "data"
metadata = METADATA[target]
VERSION_TABLE = "alembic_version" if target == "data" else "alembic_version_keys"


def run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        version_table=VERSION_TABLE,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


connection = config.attributes.get("connection")
if connection is not None:
    run(connection)
else:
    engine = engine_from_config(
        config.get_section(config.config_ini_section) or {}, prefix="sqlalchemy.", poolclass=pool.NullPool
    )
    with engine.connect() as conn:
        run(conn)
        conn.commit()
