"""The Alembic environment of both schemas: each tree's env.py calls ``migrate``; the config names the target
(``data`` or ``keys``), which picks the tables and the version table."""

from alembic import context
from sqlalchemy import Connection, engine_from_config, pool

from kluis.migrations.models import METADATA


def migrate() -> None:
    config = context.config
    target = config.attributes.get("target") or config.get_main_option("target") or "data"
    version_table = "alembic_version" if target == "data" else "alembic_version_keys"

    def run(connection: Connection) -> None:
        context.configure(
            connection=connection,
            target_metadata=METADATA[target],
            version_table=version_table,
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()

    connection = config.attributes.get("connection")
    if connection is not None:
        run(connection)
        return
    engine = engine_from_config(
        config.get_section(config.config_ini_section) or {}, prefix="sqlalchemy.", poolclass=pool.NullPool
    )
    with engine.connect() as conn:
        run(conn)
        conn.commit()
