"""The session calls every feature makes: store new rows, remove one, read one back by its id.

Handlers go through here (and the feature repositories) instead of calling the session, so a
handler reads as the rule it applies and tests/test_layering.py can hold that no handler talks SQL.
"""

from __future__ import annotations

from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

T = TypeVar("T")


async def add(session: AsyncSession, *rows: Any) -> None:
    """Stores new rows, flushed at once: what the command does next needs their ids (links, audit, replies)."""
    session.add_all(rows)
    await session.flush()


async def remove(session: AsyncSession, row: Any) -> None:
    await session.delete(row)


async def by_id(session: AsyncSession, model: type[T], row_id: int) -> T | None:
    return await session.get(model, row_id)


async def reload(session: AsyncSession, row: Any) -> None:
    """Reads a row again: another transaction changed it since this one loaded it (a poll closed meanwhile)."""
    await session.refresh(row)


async def one(session: AsyncSession, model: type[T], row_id: int) -> T:
    """A row that must exist (a foreign key points at it): its absence is a bug, raised, not a reply."""
    return await session.get_one(model, row_id)
