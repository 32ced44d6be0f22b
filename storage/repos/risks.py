"""Risk queries, always filtered by the initiative taken from the delivery."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Risk, RiskScoreChange, RiskUseCase, UseCase


async def list_for(session: AsyncSession, initiative_id: int, *, status: str | None = None) -> list[Risk]:
    query = select(Risk).where(Risk.initiative_id == initiative_id)
    if status:
        query = query.where(Risk.status == status)
    rows = await session.execute(query.order_by(Risk.number))
    return list(rows.scalars())


async def by_number(session: AsyncSession, initiative_id: int, number: int) -> Risk | None:
    rows = await session.execute(select(Risk).where(Risk.initiative_id == initiative_id, Risk.number == number))
    return rows.scalar_one_or_none()


async def linked_use_cases(session: AsyncSession, risk_id: int) -> list[UseCase]:
    rows = await session.execute(
        select(UseCase)
        .join(RiskUseCase, RiskUseCase.use_case_id == UseCase.id)
        .where(RiskUseCase.risk_id == risk_id)
        .order_by(UseCase.number)
    )
    return list(rows.scalars())


async def score_history(session: AsyncSession, risk_id: int) -> list[RiskScoreChange]:
    rows = await session.execute(
        select(RiskScoreChange).where(RiskScoreChange.risk_id == risk_id).order_by(RiskScoreChange.id)
    )
    return list(rows.scalars())
