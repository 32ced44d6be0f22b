"""Use-case queries, always filtered by the initiative taken from the delivery."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import bindparam, delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.db import rowcount
from storage.models import (
    Kpi,
    Member,
    Poll,
    PollOption,
    RaciActivity,
    Requirement,
    Risk,
    RiskUseCase,
    UseCase,
    table,
)


async def list_for(
    session: AsyncSession, initiative_id: int, *, status: str | None = None, category: str | None = None
) -> list[UseCase]:
    query = select(UseCase).where(UseCase.initiative_id == initiative_id)
    if status:
        query = query.where(UseCase.status == status)
    if category:
        query = query.where(UseCase.category == category)
    rows = await session.execute(query.order_by(UseCase.number))
    return list(rows.scalars())


_USE_CASE = table(UseCase)
_LIVE_TITLES = (
    select(_USE_CASE.c.number, _USE_CASE.c.title)
    .where(_USE_CASE.c.initiative_id == bindparam("initiative"), _USE_CASE.c.status != "withdrawn")
    .order_by(_USE_CASE.c.number)
)


async def live_titles(session: AsyncSession, initiative_id: int) -> Sequence[Any]:
    """(number, title) rows of the use cases not withdrawn, for the near-duplicate check on every
    proposal: built once, and of the table's columns, not the mapped class's, which sent every
    row through the ORM's loading (6 % of a proposal's instructions at 330 titles, callgrind);
    taken with one fetchall, not row by row through the result's iterator (another 6 %)."""
    return (await session.execute(_LIVE_TITLES, {"initiative": initiative_id})).all()


_INSERT = insert(_USE_CASE).returning(_USE_CASE.c.id)


async def add(session: AsyncSession, values: dict) -> UseCase:
    """A new use case, stored with one Core INSERT; the object returned, for the reply, is not in
    the session. The ORM's flush of one new object cost a proposal 9 % of its instructions
    (callgrind); nothing else in a proposal's transaction loads or changes the use case."""
    return UseCase(id=(await session.execute(_INSERT, values)).scalar_one(), **values)


async def by_number(session: AsyncSession, initiative_id: int, number: int) -> UseCase | None:
    rows = await session.execute(
        select(UseCase).where(UseCase.initiative_id == initiative_id, UseCase.number == number)
    )
    return rows.scalar_one_or_none()


async def requirements(session: AsyncSession, use_case_id: int) -> list[Requirement]:
    rows = await session.execute(
        select(Requirement).where(Requirement.use_case_id == use_case_id).order_by(Requirement.id)
    )
    return list(rows.scalars())


async def count_requirements(session: AsyncSession, use_case_id: int) -> int:
    return (
        await session.execute(
            select(func.count()).select_from(Requirement).where(Requirement.use_case_id == use_case_id)
        )
    ).scalar_one()


async def kpis(session: AsyncSession, initiative_id: int, use_case_id: int) -> list[Kpi]:
    rows = await session.execute(
        select(Kpi).where(Kpi.initiative_id == initiative_id, Kpi.use_case_id == use_case_id).order_by(Kpi.number)
    )
    return list(rows.scalars())


async def risks(session: AsyncSession, initiative_id: int, use_case_id: int) -> list[Risk]:
    rows = await session.execute(
        select(Risk)
        .join(RiskUseCase, RiskUseCase.risk_id == Risk.id)
        .where(Risk.initiative_id == initiative_id, RiskUseCase.use_case_id == use_case_id)
        .order_by(Risk.number)
    )
    return list(rows.scalars())


async def poll_number(session: AsyncSession, initiative_id: int, poll_id: int) -> int | None:
    return (
        await session.execute(select(Poll.number).where(Poll.initiative_id == initiative_id, Poll.id == poll_id))
    ).scalar_one_or_none()


async def polls_with_option(session: AsyncSession, initiative_id: int, use_case_id: int) -> int:
    """How many polls offered this use case as an option (the polls feature owns their tallies)."""
    return (
        await session.execute(
            select(func.count(func.distinct(PollOption.poll_id)))
            .join(Poll, Poll.id == PollOption.poll_id)
            .where(Poll.initiative_id == initiative_id, PollOption.use_case_id == use_case_id)
        )
    ).scalar_one()


async def members_by_id(session: AsyncSession, initiative_id: int) -> dict[int, Member]:
    rows = await session.execute(select(Member).where(Member.initiative_id == initiative_id))
    return {m.id: m for m in rows.scalars()}


async def open_polls_with(session: AsyncSession, use_case_ids: Sequence[int]) -> list[int]:
    """The numbers of open polls offering any of these use cases."""
    rows = await session.execute(
        select(Poll.number)
        .join(PollOption, PollOption.poll_id == Poll.id)
        .where(Poll.status == "open", PollOption.use_case_id.in_(use_case_ids))
        .distinct()
        .order_by(Poll.number)
    )
    return list(rows.scalars())


async def move_attachments(session: AsyncSession, keep: UseCase, drop: UseCase) -> dict[str, int]:
    """Give `keep` what hangs off `drop`: requirements (a text `keep` already has is not doubled),
    KPIs, risk links (one per risk) and RACI activities. Returns how many of each moved, by
    singular noun."""
    texts = select(Requirement.text).where(Requirement.use_case_id == keep.id)
    have = set((await session.execute(texts)).scalars())
    doubled = delete(Requirement).where(Requirement.use_case_id == drop.id, Requirement.text.in_(have))
    await session.execute(doubled)
    moved = {}
    for name, model in (("requirement", Requirement), ("KPI", Kpi), ("RACI activity", RaciActivity)):
        result = await session.execute(
            update(model).where(model.use_case_id == drop.id).values(use_case_id=keep.id)
        )
        moved[name] = rowcount(result)
    links = select(RiskUseCase.risk_id)
    linked = set((await session.execute(links.where(RiskUseCase.use_case_id == keep.id))).scalars())
    risks = list((await session.execute(links.where(RiskUseCase.use_case_id == drop.id))).scalars())
    await session.execute(delete(RiskUseCase).where(RiskUseCase.use_case_id == drop.id))
    new = [r for r in risks if r not in linked]
    if new:
        await session.execute(insert(RiskUseCase), [{"risk_id": r, "use_case_id": keep.id} for r in new])
    moved["risk"] = len(new)
    return moved
