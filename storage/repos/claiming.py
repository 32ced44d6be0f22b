"""Claiming due rows (reminders, outbox messages): the database decides who sends, not memory."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.db import dialect


async def claim_pending(session: AsyncSession, model: Any, due: Select, returning: Any, **values: Any) -> list[Any]:
    """Move the `pending` rows whose ids `due` selects to `sending` (with `values`) and return
    `returning` of those this call won.

    PostgreSQL locks the selected rows and skips those another transaction holds (`FOR UPDATE
    SKIP LOCKED`); the conditional update then decides on both databases (SQLite serialises
    writers). Two statements on purpose: as a subquery of the update, PostgreSQL may rescan the
    locking select after the update changed its rows, and claim more than its LIMIT.
    """
    if dialect(session) == "postgresql":
        due = due.with_for_update(skip_locked=True)
    ids = list((await session.execute(due)).scalars())
    if not ids:
        return []
    won = await session.execute(
        update(model)
        .where(model.id.in_(ids), model.state == "pending")
        .values(state="sending", **values)
        .returning(returning)
        .execution_options(synchronize_session=False)
    )
    return list(won.scalars())


async def renew_leases(session: AsyncSession, model: Any, ids: list[int], instance: str, until: datetime) -> None:
    """Extend the leases of the rows `instance` is still working on (its heartbeat)."""
    await session.execute(
        update(model)
        .where(model.id.in_(ids), model.claimed_by == instance, model.state == "sending")
        .values(lease_until=until)
        .execution_options(synchronize_session=False)
    )
