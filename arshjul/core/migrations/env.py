"""Alembic environment: migrations run against the engine the app hands over
(`arshjul.core.database.migrate`), or against the configured URL from the alembic CLI."""

from alembic import context
from sqlmodel import SQLModel

import models.tables  # noqa: F401  (registers the tables on SQLModel.metadata)
from arshjul.core.database import get_engine

target_metadata = SQLModel.metadata
EXTERNAL_TABLES = {"apscheduler_jobs"}  # created by our migration, described by APScheduler


def include_object(obj, name, type_, reflected, compare_to) -> bool:
    table = obj.table.name if type_ in ("index", "column") else name
    return table not in EXTERNAL_TABLES


def run_migrations() -> None:
    engine = context.config.attributes.get("engine") or get_engine()
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
            include_object=include_object,
        )
        with context.begin_transaction():
            context.run_migrations()
        connection.commit()


run_migrations()
