"""INSERT ... ON CONFLICT DO NOTHING on both dialects: the database, not a check-then-insert,
decides who was first, so concurrent duplicates cannot both win."""

from __future__ import annotations

from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession


async def insert_ignore(session: AsyncSession, model: type, **values: Any) -> bool:
    """Insert one row unless a unique key already holds it; True when this call inserted it."""
    dialect = session.bind.dialect.name
    ins = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(model)
    key = model.__table__.primary_key.columns.values()[0]
    # RETURNING, not rowcount: drivers disagree on rowcount for ON CONFLICT DO NOTHING.
    result = await session.execute(ins.values(**values).on_conflict_do_nothing().returning(key))
    return result.first() is not None
