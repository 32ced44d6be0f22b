"""Alembic environment. On PostgreSQL an advisory lock makes replicas that start together
migrate one after the other instead of racing.

Every upgrade runs in one transaction, DDL included, on both databases: a first start that is
interrupted (SIGTERM, kill -9, power) leaves the database as it was, not half made. PostgreSQL
does this by itself; Python's sqlite3 commits before every DDL statement unless it is told to
leave transactions alone, so here the driver is put in autocommit and SQLAlchemy's begin sends
BEGIN itself (the pysqlite recipe in SQLAlchemy's SQLite dialect docs)."""

from alembic import context
from sqlalchemy import create_engine, event, pool, text

from storage.models import Base

config = context.config
MIGRATION_LOCK = 7_201_026


def run_migrations_online() -> None:
    url = config.get_main_option("sqlalchemy.url") or ""  # storage/migrate.py always sets it
    engine = create_engine(url, poolclass=pool.NullPool)
    if engine.dialect.name == "sqlite":

        @event.listens_for(engine, "connect")
        def _driver_autocommit(dbapi_connection, _record) -> None:
            dbapi_connection.isolation_level = None

        @event.listens_for(engine, "begin")
        def _begin(connection) -> None:
            connection.exec_driver_sql("BEGIN IMMEDIATE")

    with engine.connect() as connection:
        is_pg = connection.dialect.name == "postgresql"
        if is_pg:
            connection.execute(text("SELECT pg_advisory_lock(:k)"), {"k": MIGRATION_LOCK})
            connection.commit()
        try:
            context.configure(
                connection=connection,
                target_metadata=Base.metadata,
                render_as_batch=connection.dialect.name == "sqlite",
                compare_type=True,
                transactional_ddl=True,
                transaction_per_migration=False,
            )
            with context.begin_transaction():
                context.run_migrations()
        finally:
            if is_pg:
                connection.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": MIGRATION_LOCK})
                connection.commit()
    engine.dispose()


run_migrations_online()
