"""KPI queries, always filtered by the initiative taken from the delivery."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Kpi


async def list_for(session: AsyncSession, initiative_id: int, *, use_case_id: int | None = None) -> list[Kpi]:
    query = select(Kpi).where(Kpi.initiative_id == initiative_id)
    if use_case_id is not None:
        query = query.where(Kpi.use_case_id == use_case_id)
    rows = await session.execute(query.order_by(Kpi.number))
    return list(rows.scalars())


async def by_number(session: AsyncSession, initiative_id: int, number: int) -> Kpi | None:
    rows = await session.execute(select(Kpi).where(Kpi.initiative_id == initiative_id, Kpi.number == number))
    return rows.scalar_one_or_none()
