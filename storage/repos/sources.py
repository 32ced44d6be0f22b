"""Data-source inventory queries, always filtered by the initiative taken from the delivery."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import DataSource


async def list_for(session: AsyncSession, initiative_id: int) -> list[DataSource]:
    """The live sources: removed and merged ones are set aside."""
    rows = await session.execute(
        select(DataSource)
        .where(DataSource.initiative_id == initiative_id, DataSource.status == "active")
        .order_by(DataSource.number)
    )
    return list(rows.scalars())



async def by_number(session: AsyncSession, initiative_id: int, number: int) -> DataSource | None:
    rows = await session.execute(
        select(DataSource).where(DataSource.initiative_id == initiative_id, DataSource.number == number)
    )
    return rows.scalar_one_or_none()
