"""The inbox of deliveries acked before their work finished: hold one, renew leases, take over
rows whose worker died, forget a row once worked."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Row, delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import InboxDelivery
from storage.repos.claiming import claim_pending, renew_leases
from storage.repos.upsert import dialect_insert


async def hold_many(
    session: AsyncSession,
    deliveries: list[tuple[str, str, dict[str, Any]]],
    instance: str,
    now: datetime,
    lease: timedelta,
) -> dict[str, int]:
    """Write many deliveries (key, platform, payload) in one statement, claimed by `instance`;
    the ids by key of those written (a key already held, a twin's, is left out)."""
    rows = [
        dict(
            delivery_key=key,
            platform=platform,
            payload=payload,
            state="sending",
            claimed_by=instance,
            lease_until=now + lease,
            attempts=1,
            created_at=now,
        )
        for key, platform, payload in deliveries
    ]
    statement = (
        dialect_insert(session, InboxDelivery)
        .values(rows)
        .on_conflict_do_nothing(index_elements=["delivery_key"])
        .returning(InboxDelivery.delivery_key, InboxDelivery.id)
    )
    return {key: row_id for key, row_id in (await session.execute(statement)).all()}


async def renew(session: AsyncSession, ids: list[int], instance: str, until: datetime) -> None:
    await renew_leases(session, InboxDelivery, ids, instance, until)


async def take_over(
    session: AsyncSession, now: datetime, instance: str, lease: timedelta, limit: int, max_attempts: int
) -> list[Row]:
    """Rows whose lease ran out (their worker died or stalled) claimed for `instance`, oldest
    first, through the same conditional update as reminders and the outbox. A row that failed
    `max_attempts` times stays `failed` for a person to look at."""
    await session.execute(
        update(InboxDelivery)
        .where(InboxDelivery.state == "sending", InboxDelivery.lease_until < now)
        .values(state="pending")
        .execution_options(synchronize_session=False)
    )
    await session.execute(
        update(InboxDelivery)
        .where(InboxDelivery.state == "pending", InboxDelivery.attempts >= max_attempts)
        .values(state="failed")
        .execution_options(synchronize_session=False)
    )
    due = select(InboxDelivery.id).where(InboxDelivery.state == "pending").order_by(InboxDelivery.id).limit(limit)
    won = await claim_pending(
        session,
        InboxDelivery,
        due,
        InboxDelivery.id,
        claimed_by=instance,
        lease_until=now + lease,
        attempts=InboxDelivery.attempts + 1,
    )
    if not won:
        return []
    rows = await session.execute(
        select(InboxDelivery.id, InboxDelivery.platform, InboxDelivery.payload)
        .where(InboxDelivery.id.in_(won))
        .order_by(InboxDelivery.id)
    )
    return list(rows.all())


async def release(session: AsyncSession, row_id: int, instance: str) -> None:
    """Hand a row back at once (its work failed on our side): the next sweep retries it."""
    await session.execute(
        update(InboxDelivery)
        .where(InboxDelivery.id == row_id, InboxDelivery.claimed_by == instance)
        .values(state="pending")
        .execution_options(synchronize_session=False)
    )


async def forget(session: AsyncSession, row_id: int) -> None:
    await session.execute(delete(InboxDelivery).where(InboxDelivery.id == row_id))


async def counts(session: AsyncSession) -> dict[str, int]:
    rows = await session.execute(select(InboxDelivery.state, func.count()).group_by(InboxDelivery.state))
    return dict(rows.all())
