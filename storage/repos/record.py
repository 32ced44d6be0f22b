"""The audit trail, the de-duplication ledger, the outbox and Teams conversation references."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.db import rowcount
from storage.models import AuditEvent, ConversationReference, ProcessedEvent, table
from storage.repos import outbox
from storage.repos.upsert import insert_ignore, insert_ignore_many


async def stored_replies(session: AsyncSession, keys: Sequence[str]) -> dict[str, dict[str, Any] | None]:
    """The deliveries among `keys` handled before, with their replies (None: answered silently)."""
    rows = await session.execute(select(ProcessedEvent.key, ProcessedEvent.reply).where(ProcessedEvent.key.in_(keys)))
    return {key: reply for key, reply in rows.all()}


async def claim_answered(session: AsyncSession, replies: dict[str, dict[str, Any]], now: datetime) -> int:
    """Claim deliveries with the replies already decided (the core decides first, then claims);
    how many were new. Fewer than given means a twin was answered first: roll back."""
    rows = [dict(key=key, reply=reply, created_at=now) for key, reply in replies.items()]
    return await insert_ignore_many(session, ProcessedEvent, rows)


async def forget_deliveries_before(session: AsyncSession, cutoff: datetime) -> int:
    result = await session.execute(delete(ProcessedEvent).where(ProcessedEvent.created_at < cutoff))
    return rowcount(result)


def audit_row(
    *,
    workspace_id: int,
    initiative_id: int | None,
    actor_user_id: str,
    actor_name: str,
    action: str,
    entity: str = "",
    detail: dict[str, Any] | None = None,
    at: datetime,
) -> dict[str, Any]:
    return dict(
        workspace_id=workspace_id,
        initiative_id=initiative_id,
        actor_user_id=actor_user_id,
        actor_name=actor_name,
        action=action,
        entity=entity,
        detail=detail or {},
        at=at,
    )


async def write_audit(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> None:
    """Audit rows (from `audit_row`) in one Core INSERT: a command's rows, or a burst of votes',
    cost one statement rather than an ORM flush each."""
    if rows:
        await session.execute(insert(table(AuditEvent)), list(rows))


async def audit_for(session: AsyncSession, initiative_id: int, entity: str) -> list[AuditEvent]:
    rows = await session.execute(
        select(AuditEvent)
        .where(AuditEvent.initiative_id == initiative_id, AuditEvent.entity == entity)
        .order_by(AuditEvent.at, AuditEvent.id)
    )
    return list(rows.scalars())


async def enqueue(
    session: AsyncSession,
    *,
    workspace_id: int,
    initiative_id: int | None,
    target_kind: str,
    target_id: str,
    payload: dict[str, Any],
    now: datetime,
    dedupe_key: str | None = None,
) -> bool:
    """Queue a message the bot sends on its own; False when `dedupe_key` was queued before."""
    row = dict(
        workspace_id=workspace_id,
        initiative_id=initiative_id,
        target_kind=target_kind,
        target_id=target_id,
        payload=payload,
        dedupe_key=dedupe_key,
    )
    return await outbox.enqueue_many(session, [row], now) == 1


async def save_conversation_reference(
    session: AsyncSession, workspace_id: int, key: str, reference: dict[str, Any], now: datetime
) -> None:
    if not await insert_ignore(
        session, ConversationReference, workspace_id=workspace_id, key=key, reference=reference, updated_at=now
    ):
        row = (
            await session.execute(
                select(ConversationReference).where(
                    ConversationReference.workspace_id == workspace_id, ConversationReference.key == key
                )
            )
        ).scalar_one()
        if row.reference != reference:
            row.reference = reference
            row.updated_at = now


async def conversation_reference(session: AsyncSession, workspace_id: int, key: str) -> dict[str, Any] | None:
    row = (
        await session.execute(
            select(ConversationReference).where(
                ConversationReference.workspace_id == workspace_id, ConversationReference.key == key
            )
        )
    ).scalar_one_or_none()
    return row.reference if row else None
