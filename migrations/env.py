"""Alembic environment: runs Signoff's migrations on the connection that ``app.store.db`` puts in config.attributes.

Loaded by path from the checkout or from the installed ``app.migrations`` package, so only absolute imports; it never
configures logging (the app owns that) and never imports Qt.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine
from sqlalchemy.engine import Connection
from sqlalchemy.pool import NullPool

from app.store.models import Base

config = context.config
target_metadata = Base.metadata


def _configure(**options: object) -> None:
    dialect_name = options.pop("dialect_name")
    context.configure(
        target_metadata=target_metadata,
        # SQLite cannot ALTER most things in place; batch mode copies the table instead.
        render_as_batch=dialect_name == "sqlite",
        compare_type=True,
        **options,
    )


def _run_on(connection: Connection) -> None:
    _configure(connection=connection, dialect_name=connection.dialect.name)
    # When app.store.db passes a connection it already holds the transaction (and the locks), so Alembic joins it.
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run_on(connection)
        return
    url = config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("Signoff's migrations need a connection in config.attributes or a sqlalchemy.url option")
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            _run_on(connection)
            connection.commit()
    finally:
        engine.dispose()


def run_migrations_offline() -> None:
    url = config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("Signoff's offline migrations need a sqlalchemy.url option")
    _configure(url=url, literal_binds=True, dialect_name=url.split(":", 1)[0].split("+", 1)[0])
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
