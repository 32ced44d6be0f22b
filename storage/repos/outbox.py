"""The outbox in bulk: queueing many rows, claiming a batch to send, recording what was sent;
and as an operator sees it: what failed, and putting it back in the queue."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Row, bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage import models
from storage.models import Initiative, Outbox, Workspace
from storage.repos.claiming import claim_pending, renew_leases
from storage.repos.upsert import insert_ignore_many


async def enqueue_many(session: AsyncSession, rows: Sequence[dict[str, Any]], now: datetime) -> int:
    """Queue many messages in one execution; a row whose `dedupe_key` was queued before is
    skipped (ON CONFLICT DO NOTHING). Returns how many were queued."""
    defaults = {"state": "pending", "attempts": 0, "next_attempt_at": now, "last_error": "", "created_at": now}
    return await insert_ignore_many(session, Outbox, [{**defaults, "dedupe_key": None, **r} for r in rows])


async def claim_due(
    session: AsyncSession, now: datetime, instance: str, limit: int, wall: datetime, lease: timedelta
) -> list[Row]:
    """Claim up to `limit` rows due now for `instance`, oldest first, leased until `wall` +
    `lease`; rows whose lease ran out (their sender died) are handed back first, marked uncertain:
    the sender may have sent them without recording it.

    Each row comes with what sending needs: id, attempts, target, payload, platform, the
    workspace's external id, the initiative's conversation, the last error and when it was queued.
    """
    await session.execute(
        update(Outbox)
        .where(Outbox.state == "sending", Outbox.lease_until < wall)
        .values(state="pending", last_error="uncertain: its sender stopped before recording the send")
        .execution_options(synchronize_session=False)
    )
    due = (
        select(Outbox.id)
        .where(Outbox.state == "pending", Outbox.next_attempt_at <= now)
        .order_by(Outbox.id)
        .limit(limit)
    )
    won = await claim_pending(
        session, Outbox, due, Outbox.id, claimed_by=instance, next_attempt_at=now, lease_until=wall + lease
    )
    if not won:
        return []
    rows = await session.execute(
        select(
            Outbox.id,
            Outbox.attempts,
            Outbox.target_kind,
            Outbox.target_id,
            Outbox.payload,
            Workspace.platform,
            Workspace.external_id,
            Initiative.conversation_id,
            Outbox.last_error,
            Outbox.created_at,
        )
        .join(Workspace, Workspace.id == Outbox.workspace_id)
        .outerjoin(Initiative, Initiative.id == Outbox.initiative_id)
        .where(Outbox.id.in_(won))
        .order_by(Outbox.id)
    )
    return list(rows.all())


async def renew(session: AsyncSession, ids: list[int], instance: str, until: datetime) -> None:
    await renew_leases(session, Outbox, ids, instance, until)


async def defer(session: AsyncSession, row_id: int, until: datetime) -> None:
    """Back to the queue without counting an attempt (its destination is throttled)."""
    await session.execute(update(Outbox).where(Outbox.id == row_id).values(state="pending", next_attempt_at=until))


async def mark_sent(session: AsyncSession, sent: Sequence[tuple[int, dict[str, Any]]], now: datetime) -> None:
    """Record many sends, each (row id, the platform's result), in one executemany of a cached
    Core statement (an ORM bulk update costs much more Python per row)."""
    if not sent:
        return
    table = models.table(Outbox)
    await session.execute(
        update(table)
        .where(table.c.id == bindparam("row_id"))
        .values(
            state="sent", attempts=table.c.attempts + 1, sent_at=now, result=bindparam("sent_result"), last_error=""
        ),
        [{"row_id": row_id, "sent_result": result} for row_id, result in sent],
    )


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
