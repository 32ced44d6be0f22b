"""Use-case queries, always filtered by the initiative taken from the delivery."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import UseCase


async def list_for(session: AsyncSession, initiative_id: int) -> list[UseCase]:
    rows = await session.execute(select(UseCase).where(UseCase.initiative_id == initiative_id).order_by(UseCase.number))
    return list(rows.scalars())


async def by_number(session: AsyncSession, initiative_id: int, number: int) -> UseCase | None:
    rows = await session.execute(
        select(UseCase).where(UseCase.initiative_id == initiative_id, UseCase.number == number)
    )
    return rows.scalar_one_or_none()
