"""The outbox as an operator sees it: what failed, and putting it back in the queue."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Outbox, Workspace


async def troubled(session: AsyncSession, *, include_retrying: bool = True) -> list[tuple[Outbox, str]]:
    """Rows that failed for good, and (optionally) rows still retrying after an error, with their platform."""
    condition = Outbox.state == "failed"
    if include_retrying:
        condition = condition | ((Outbox.state == "pending") & (Outbox.attempts > 0))
    rows = await session.execute(
        select(Outbox, Workspace.platform)
        .join(Workspace, Workspace.id == Outbox.workspace_id)
        .where(condition)
        .order_by(Outbox.id)
    )
    return [(ob, platform) for ob, platform in rows.all()]


async def requeue_failed(session: AsyncSession, now: datetime, ids: list[int] | None = None) -> list[int]:
    """Failed rows back to pending, due now, with a fresh set of attempts; returns their ids."""
    query = select(Outbox.id).where(Outbox.state == "failed")
    if ids:
        query = query.where(Outbox.id.in_(ids))
    chosen = list((await session.execute(query.order_by(Outbox.id))).scalars())
    if chosen:
        await session.execute(
            update(Outbox)
            .where(Outbox.id.in_(chosen), Outbox.state == "failed")
            .values(state="pending", attempts=0, next_attempt_at=now, claimed_by=None)
        )
    return chosen


async def states_of(session: AsyncSession, ids: list[int]) -> dict[int, tuple[str, str]]:
    rows = await session.execute(select(Outbox.id, Outbox.state, Outbox.last_error).where(Outbox.id.in_(ids)))
    return {i: (state, error) for i, state, error in rows.all()}
