"""Engine, sessions and transactions for SQLite (embedded default) and PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, cast

from sqlalchemy import event
from sqlalchemy.engine import CursorResult, Result, make_url
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

from storage.sqlite_driver import OneTripDBAPI


def dialect(session: AsyncSession) -> str:
    """The session's database ("sqlite" or "postgresql"), for the statements that differ."""
    return session.get_bind().dialect.name


def rowcount(result: Result[Any]) -> int:
    """Rows an UPDATE or DELETE changed: SQLAlchemy types `execute()` as a plain Result, whose
    DML form is a CursorResult."""
    return cast(CursorResult[Any], result).rowcount or 0


def async_url(url: str) -> str:
    """Accept the plain URLs people write and pick our async drivers."""
    u = make_url(url)
    if u.drivername in ("sqlite", "sqlite+pysqlite"):
        u = u.set(drivername="sqlite+aiosqlite")
    elif u.drivername in ("postgresql", "postgres", "postgresql+psycopg2"):
        u = u.set(drivername="postgresql+psycopg")
    return u.render_as_string(hide_password=False)


def sync_url(url: str) -> str:
    """The same database through a blocking driver, for Alembic in a worker thread."""
    u = make_url(async_url(url))
    if u.drivername == "sqlite+aiosqlite":
        u = u.set(drivername="sqlite")
    return u.render_as_string(hide_password=False)


# Transactions open at once in this process on PostgreSQL. One event loop gains nothing from
# more: under a burst, fifty interleaved transactions each stretch fifty-fold, holding their row
# locks (a counter, a poll) and pooled connections that long, and the slowest wait seconds. Eight
# in order kept p99 at concurrency 50 to 0.66 s where no limit gave 1.1 s (bench fig1), and
# still hide round trips to a remote server.
POSTGRES_TRANSACTIONS = 8


class Database:
    """One engine per process.

    SQLite allows one writer at a time; rather than meet "database is locked" under load, writes
    in this process queue on an asyncio lock. On PostgreSQL they queue, first come first served,
    for one of POSTGRES_TRANSACTIONS places. Transactions never nest, so neither can deadlock.
    """

    def __init__(self, url: str, *, echo: bool = False) -> None:
        self.url = async_url(url)
        self.is_sqlite = self.url.startswith("sqlite")
        kwargs: dict = {"echo": echo}
        if self.is_sqlite:
            kwargs["module"] = OneTripDBAPI()
        else:
            kwargs.update(pool_size=10, max_overflow=20, pool_pre_ping=True)
        self.engine = create_async_engine(self.url, **kwargs)
        if self.is_sqlite:
            event.listen(self.engine.sync_engine, "connect", _sqlite_pragmas)
            event.listen(self.engine.sync_engine, "begin", _sqlite_begin_immediate)
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False)
        self._turns = asyncio.Lock() if self.is_sqlite else asyncio.Semaphore(POSTGRES_TRANSACTIONS)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """A session inside one transaction: committed on success, rolled back on any exception."""
        async with self._turns, self.sessions() as session, session.begin():
            yield session

    @asynccontextmanager
    async def aside(self) -> AsyncIterator[AsyncSession]:
        """A short transaction that does not queue behind the others on PostgreSQL: the inbox
        write before an ack and lease renewals must get through while the transactions that make
        the database slow hold every turn. SQLite has one writer: there it queues like any."""
        if self.is_sqlite:
            async with self.transaction() as session:
                yield session
            return
        async with self.sessions() as session, session.begin():
            yield session

    @asynccontextmanager
    async def reading(self) -> AsyncIterator[AsyncSession]:
        async with self.sessions() as session:
            yield session

    async def dispose(self) -> None:
        await self.engine.dispose()


def _sqlite_pragmas(dbapi_conn, _record) -> None:
    # pysqlite's own transaction handling fights with explicit BEGIN; let SQLAlchemy emit it.
    dbapi_conn.isolation_level = None
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=10000")
    cur.close()


def _sqlite_begin_immediate(conn) -> None:
    """Take the write lock at BEGIN so two processes never deadlock upgrading a read lock."""
    conn.connection.dbapi_connection.begin_with_next_statement("BEGIN IMMEDIATE")
