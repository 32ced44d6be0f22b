"""SQLite's one-trip statements (storage/sqlite_driver.py) answer as the DBAPI promises, and
make one trip to aiosqlite's thread per statement."""

from __future__ import annotations

import sqlite3

import aiosqlite
import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError

from storage.db import Database


@pytest.fixture
async def db(sqlite_url):
    database = Database(sqlite_url)
    async with database.transaction() as s:
        await s.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT UNIQUE NOT NULL)"))
    yield database
    await database.dispose()


@pytest.fixture
def trips(monkeypatch) -> list[str]:
    """What each trip to aiosqlite's thread ran."""
    seen: list[str] = []
    queue = aiosqlite.Connection._execute

    async def counted(self, fn, *args, **kwargs):
        seen.append(getattr(fn, "__name__", "?"))
        return await queue(self, fn, *args, **kwargs)

    monkeypatch.setattr(aiosqlite.Connection, "_execute", counted)
    return seen


async def test_a_transaction_is_one_trip_per_statement_and_one_to_commit(db, trips):
    async with db.transaction() as s:
        await s.execute(text("INSERT INTO t (name) VALUES ('a')"))
        assert (await s.execute(text("SELECT name FROM t"))).scalars().all() == ["a"]
    # BEGIN IMMEDIATE with the INSERT, the SELECT, COMMIT; no rollback of a committed connection.
    assert trips == ["_statement"] * 2 + ["commit"]


async def test_the_first_statement_takes_the_write_lock_even_a_read(db, sqlite_url):
    other = sqlite3.connect(make_url(sqlite_url).database, timeout=0, isolation_level=None)
    try:
        async with db.transaction() as s:
            assert (await s.execute(text("SELECT count(*) FROM t"))).scalar_one() == 0
            with pytest.raises(sqlite3.OperationalError, match="locked"):
                other.execute("BEGIN IMMEDIATE")
        other.execute("BEGIN IMMEDIATE")  # released at COMMIT
        other.execute("ROLLBACK")
    finally:
        other.close()


async def test_a_transaction_without_statements_makes_no_trip_and_owes_nothing_after(db, trips):
    async with db.transaction():
        pass
    assert trips == []
    async with db.transaction() as s:
        await s.execute(text("INSERT INTO t (name) VALUES ('a')"))
    async with db.reading() as s:
        assert (await s.execute(text("SELECT count(*) FROM t"))).scalar_one() == 1


async def test_rows_counts_and_ids_come_back(db):
    async with db.transaction() as s:
        inserted = await s.execute(text("INSERT INTO t (name) VALUES ('a')"))
        assert inserted.lastrowid == 1
        await s.execute(text("INSERT INTO t (name) VALUES (:n)"), [{"n": "b"}, {"n": "c"}])
        updated = await s.execute(text("UPDATE t SET name = name || '!' WHERE id > 1"))
        assert updated.rowcount == 2
        rows = (await s.execute(text("SELECT id, name FROM t ORDER BY id"))).all()
    assert [tuple(r) for r in rows] == [(1, "a"), (2, "b!"), (3, "c!")]


async def test_a_failed_statement_raises_and_rolls_its_transaction_back(db, trips):
    with pytest.raises(IntegrityError):
        async with db.transaction() as s:
            await s.execute(text("INSERT INTO t (name) VALUES ('a')"))
            await s.execute(text("INSERT INTO t (name) VALUES ('a')"))
    assert trips[-1] == "rollback"
    async with db.reading() as s:
        assert (await s.execute(text("SELECT count(*) FROM t"))).scalar_one() == 0
