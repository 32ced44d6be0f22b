"""aiosqlite for SQLAlchemy, with one trip to aiosqlite's thread per statement.

SQLAlchemy's adapter makes three or four trips per statement (open a cursor, execute, fetch the
rows, close the cursor), and each trip is a hand-over to aiosqlite's thread and a wake-up of the
event loop. SQLite writers take turns, so on a busy server those trips are the turn's wall time
and every other writer waits them out (bench fig1, docs/benchmarks.md). Here the whole
statement runs in one trip; everything else is SQLAlchemy's adapter unchanged.

It leans on aiosqlite's ``Connection._execute`` (queue a call for its thread), as SQLAlchemy's
own adapter leans on its ``_tx`` queue; tests run every SQLite path through it.
"""

from __future__ import annotations

import collections
import sqlite3
from typing import Any, cast

import aiosqlite
from sqlalchemy.dialects.sqlite.aiosqlite import (
    AsyncAdapt_aiosqlite_connection,
    AsyncAdapt_aiosqlite_cursor,
    AsyncAdapt_aiosqlite_dbapi,
)
from sqlalchemy.util import EMPTY_DICT
from sqlalchemy.util.concurrency import await_


def _statement(raw: sqlite3.Connection, begin: str | None, operation: str, parameters: Any, many: bool) -> tuple:
    """On aiosqlite's thread: the transaction's BEGIN if it is still owed, then the statement from
    cursor to closed cursor."""
    if begin is not None:
        raw.execute(begin)
    cursor = raw.cursor()
    try:
        if many:
            cursor.executemany(operation, parameters)
        elif parameters is None:
            cursor.execute(operation)
        else:
            cursor.execute(operation, parameters)
        description = cursor.description
        rows = cursor.fetchall() if description else ()
        return description, rows, cursor.rowcount, cursor.lastrowid
    finally:
        cursor.close()


class _Cursor(AsyncAdapt_aiosqlite_cursor):
    """A cursor that holds a statement's outcome; the sqlite3 cursor lived on the thread."""

    __slots__ = ("_outcome", "_size")

    def __init__(self, adapt_connection: AsyncAdapt_aiosqlite_connection) -> None:
        self._adapt_connection = adapt_connection
        self._connection = adapt_connection._connection
        self._cursor = cast(Any, None)  # no sqlite3 cursor here: it lives on aiosqlite's thread
        self._soft_closed_memoized = EMPTY_DICT
        self._rows = collections.deque()
        self._outcome: tuple = (None, -1, None)
        self._size = 1

    @property
    def description(self):
        return self._outcome[0]

    @property
    def rowcount(self) -> int:
        return self._outcome[1]

    @property
    def lastrowid(self):
        return self._outcome[2]

    @property
    def arraysize(self) -> int:
        return self._size

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        self._size = value

    async def _async_soft_close(self) -> None:
        """Nothing to close: the rows are already here."""

    def execute(self, operation: Any, parameters: Any = None) -> None:
        self._run(operation, parameters, many=False)

    def executemany(self, operation: Any, seq_of_parameters: Any) -> None:
        self._run(operation, seq_of_parameters, many=True)

    def _run(self, operation: Any, parameters: Any, *, many: bool) -> None:
        try:
            await_(self._run_async(operation, parameters, many))
        except Exception as error:
            self._adapt_connection._handle_exception(error)

    async def _run_async(self, operation: Any, parameters: Any, many: bool) -> None:
        # SQLAlchemy types these as its DBAPI protocols; here they are aiosqlite's and ours.
        connection = cast(aiosqlite.Connection, self._connection)
        adapt = cast(_Connection, self._adapt_connection)
        async with adapt._execute_mutex:
            begin, adapt.owed_begin = adapt.owed_begin, None
            description, rows, rowcount, lastrowid = await connection._execute(
                _statement, connection._conn, begin, operation, parameters, many
            )
        self._outcome = (description, rowcount, lastrowid)
        self._rows = collections.deque(rows)


class _Connection(AsyncAdapt_aiosqlite_connection):
    __slots__ = ("owed_begin",)
    _cursor_cls = _Cursor  # type: ignore[assignment]  # a drop-in for SQLAlchemy's cursor, same interface

    def __init__(self, dbapi: Any, connection: aiosqlite.Connection) -> None:
        super().__init__(dbapi, cast(Any, connection))  # aiosqlite's Connection is the DBAPI connection here
        self.owed_begin: str | None = None

    def begin_with_next_statement(self, begin: str) -> None:
        """A transaction's BEGIN goes to the thread with its first statement, not in a trip of its
        own; a transaction that runs no statement never begins, so it has nothing to end."""
        self.owed_begin = begin

    def commit(self) -> None:
        if self.owed_begin is not None:
            self.owed_begin = None
        else:
            super().commit()

    def rollback(self) -> None:
        """The pool rolls back every connection it takes back, most of them just committed: a
        trip to the thread for nothing. sqlite3 knows without one whether a transaction is open
        (our connections run in autocommit mode and BEGIN explicitly, see storage/db.py)."""
        self.owed_begin = None
        raw = self._connection._connection
        if raw is not None and raw.in_transaction:
            super().rollback()


class OneTripDBAPI(AsyncAdapt_aiosqlite_dbapi):
    """Pass as ``module=`` to the engine of a ``sqlite+aiosqlite`` URL."""

    def __init__(self) -> None:
        super().__init__(aiosqlite, sqlite3)

    def connect(self, *arg: Any, **kw: Any) -> _Connection:
        adapted = super().connect(*arg, **kw)
        return _Connection(self, cast(aiosqlite.Connection, adapted._connection))
