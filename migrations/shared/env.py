"""Alembic environment for the shared (platform) schema."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from app.core.db import PLATFORM_SCHEMA
from app.core.models import PlatformBase
from app.models import load_all

load_all()  # registers every table

target_metadata = PlatformBase.metadata


def run(connection) -> None:  # type: ignore[no-untyped-def]
    connection.exec_driver_sql(f'CREATE SCHEMA IF NOT EXISTS "{PLATFORM_SCHEMA}"')
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        version_table_schema=PLATFORM_SCHEMA,
        include_schemas=True,
        include_name=lambda name, type_, _: type_ != "schema" or name == PLATFORM_SCHEMA,
    )
    with context.begin_transaction():
        context.run_migrations()


connection = context.config.attributes.get("connection")
if connection is not None:
    run(connection)
else:
    engine = create_engine(context.config.get_main_option("sqlalchemy.url"))
    with engine.begin() as conn:
        run(conn)
