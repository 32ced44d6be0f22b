"""Milestones, holidays, resources and reminder rows, always filtered by the initiative.

Reminder claiming lives here because it is a storage decision: a conditional update (and on
PostgreSQL `FOR UPDATE SKIP LOCKED`) decides who sends, not anything held in memory.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime
from typing import Any

from sqlalchemy import delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import (
    Holiday,
    Initiative,
    Member,
    Milestone,
    MilestoneOwner,
    Outbox,
    RaciActivity,
    Reminder,
    Resource,
    Workspace,
)
from storage.repos.upsert import insert_ignore

# ---- milestones -------------------------------------------------------------------------------


async def milestones(session: AsyncSession, initiative_id: int) -> list[Milestone]:
    """The plan's milestones (removed ones left out), by due date then number."""
    rows = await session.execute(
        select(Milestone)
        .where(Milestone.initiative_id == initiative_id, Milestone.status != "removed")
        .order_by(Milestone.due_date, Milestone.number)
    )
    return list(rows.scalars())


async def milestone(session: AsyncSession, initiative_id: int, number: int) -> Milestone | None:
    return (
        await session.execute(
            select(Milestone).where(
                Milestone.initiative_id == initiative_id,
                Milestone.number == number,
                Milestone.status != "removed",
            )
        )
    ).scalar_one_or_none()


async def owners(session: AsyncSession, milestone_ids: list[int]) -> dict[int, list[Member]]:
    out: dict[int, list[Member]] = defaultdict(list)
    if not milestone_ids:
        return out
    rows = await session.execute(
        select(MilestoneOwner.milestone_id, Member)
        .join(Member, Member.id == MilestoneOwner.member_id)
        .where(MilestoneOwner.milestone_id.in_(milestone_ids))
        .order_by(Member.id)
    )
    for ms_id, member in rows:
        out[ms_id].append(member)
    return out


async def set_owners(session: AsyncSession, milestone_id: int, member_ids: list[int]) -> None:
    await session.execute(delete(MilestoneOwner).where(MilestoneOwner.milestone_id == milestone_id))
    for member_id in dict.fromkeys(member_ids):
        session.add(MilestoneOwner(milestone_id=milestone_id, member_id=member_id))
    await session.flush()


async def activity_for(
    session: AsyncSession, initiative_id: int, ms: Milestone, deliverable: str | None
) -> RaciActivity | None:
    """The RACI activity linked to the milestone, or the one delivering its Phase 1 step."""
    conds = [RaciActivity.milestone_id == ms.id]
    if deliverable:
        conds.append(RaciActivity.deliverable == deliverable)
    rows = await session.execute(
        select(RaciActivity)
        .where(RaciActivity.initiative_id == initiative_id, RaciActivity.removed.is_(False), or_(*conds))
        .order_by((RaciActivity.milestone_id == ms.id).desc(), RaciActivity.number)
    )
    return rows.scalars().first()


async def deliverable_activities(session: AsyncSession, initiative_id: int) -> list[RaciActivity]:
    """Activities that deliver a Phase 1 step (oldest first per deliverable wins the link)."""
    rows = await session.execute(
        select(RaciActivity)
        .where(
            RaciActivity.initiative_id == initiative_id,
            RaciActivity.removed.is_(False),
            RaciActivity.deliverable.is_not(None),
        )
        .order_by(RaciActivity.number.desc())
    )
    return list(rows.scalars())


# ---- calendar ---------------------------------------------------------------------------------


async def holidays(session: AsyncSession, initiative_id: int) -> list[date]:
    rows = await session.execute(
        select(Holiday.day).where(Holiday.initiative_id == initiative_id).order_by(Holiday.day)
    )
    return list(rows.scalars())


async def add_holiday(session: AsyncSession, initiative_id: int, day: date) -> bool:
    return await insert_ignore(session, Holiday, initiative_id=initiative_id, day=day)


async def remove_holiday(session: AsyncSession, initiative_id: int, day: date) -> bool:
    res = await session.execute(delete(Holiday).where(Holiday.initiative_id == initiative_id, Holiday.day == day))
    return bool(res.rowcount)


# ---- resources --------------------------------------------------------------------------------


async def resources(session: AsyncSession, initiative_id: int) -> list[Resource]:
    rows = await session.execute(
        select(Resource).where(Resource.initiative_id == initiative_id).order_by(Resource.number)
    )
    return list(rows.scalars())


async def resource(session: AsyncSession, initiative_id: int, number: int) -> Resource | None:
    return (
        await session.execute(
            select(Resource).where(Resource.initiative_id == initiative_id, Resource.number == number)
        )
    ).scalar_one_or_none()


# ---- reminders --------------------------------------------------------------------------------


async def put_reminder(
    session: AsyncSession,
    *,
    initiative_id: int,
    key: str,
    kind: str,
    milestone_id: int | None,
    due_at: datetime,
    payload: dict[str, Any],
    now: datetime,
) -> bool:
    """Create the reminder, or bring a cancelled one with the same key back; True when it is pending."""
    if await insert_ignore(
        session,
        Reminder,
        initiative_id=initiative_id,
        key=key,
        kind=kind,
        milestone_id=milestone_id,
        due_at=due_at,
        state="pending",
        payload=payload,
        late=False,
        last_error="",
        created_at=now,
    ):
        return True
    res = await session.execute(
        update(Reminder)
        .where(Reminder.key == key, Reminder.state == "cancelled")
        .values(state="pending", due_at=due_at, payload=payload, claimed_by=None, claimed_at=None)
    )
    return bool(res.rowcount)


async def cancel_pending(session: AsyncSession, milestone_id: int, *, kinds: tuple[str, ...] | None = None) -> int:
    """Pending reminders of a milestone stop at once: the claim only takes `pending` rows."""
    stmt = update(Reminder).where(Reminder.milestone_id == milestone_id, Reminder.state == "pending")
    if kinds:
        stmt = stmt.where(Reminder.kind.in_(kinds))
    res = await session.execute(stmt.values(state="cancelled"))
    return res.rowcount or 0


async def pending_for(session: AsyncSession, milestone_ids: list[int]) -> dict[int, list[Reminder]]:
    out: dict[int, list[Reminder]] = defaultdict(list)
    if not milestone_ids:
        return out
    rows = await session.execute(
        select(Reminder)
        .where(Reminder.milestone_id.in_(milestone_ids), Reminder.state == "pending")
        .order_by(Reminder.due_at)
    )
    for r in rows.scalars():
        out[r.milestone_id].append(r)
    return out


async def claim_due(session: AsyncSession, now: datetime, instance: str, limit: int) -> list[Reminder]:
    """Take due pending reminders for this process: nobody else can take the same row.

    PostgreSQL skips rows another transaction holds; the conditional update then confirms each
    claim on both databases (SQLite serialises writers, so the update alone decides there).
    """
    query = (
        select(Reminder.id)
        .where(Reminder.state == "pending", Reminder.due_at <= now)
        .order_by(Reminder.due_at, Reminder.id)
        .limit(limit)
    )
    if session.bind.dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    ids = list((await session.execute(query)).scalars())
    won: list[int] = []
    for rid in ids:
        res = await session.execute(
            update(Reminder)
            .where(Reminder.id == rid, Reminder.state == "pending")
            .values(state="sending", claimed_by=instance, claimed_at=now)
        )
        if res.rowcount == 1:
            won.append(rid)
    if not won:
        return []
    rows = await session.execute(select(Reminder).where(Reminder.id.in_(won)).order_by(Reminder.due_at, Reminder.id))
    return list(rows.scalars())


async def next_due(session: AsyncSession) -> datetime | None:
    return (
        await session.execute(
            select(Reminder.due_at).where(Reminder.state == "pending").order_by(Reminder.due_at).limit(1)
        )
    ).scalar_one_or_none()


async def scope_of(session: AsyncSession, initiative_id: int) -> tuple[Initiative, Workspace]:
    row = (
        await session.execute(
            select(Initiative, Workspace)
            .join(Workspace, Workspace.id == Initiative.workspace_id)
            .where(Initiative.id == initiative_id)
        )
    ).one()
    return row[0], row[1]


async def failed_sends(session: AsyncSession, initiative_id: int) -> list[tuple[Outbox, Reminder]]:
    """Reminder messages the outbox gave up on, with their reminder, for `plan show`.

    A reminder's outbox rows carry the dedupe key `reminder:<id>:<target>`.
    """
    rows = (
        await session.execute(
            select(Outbox).where(
                Outbox.initiative_id == initiative_id,
                Outbox.state == "failed",
                Outbox.dedupe_key.like("reminder:%"),
            )
        )
    ).scalars()
    by_id: dict[int, list[Outbox]] = defaultdict(list)
    for ob in rows:
        by_id[int(ob.dedupe_key.split(":")[1])].append(ob)
    if not by_id:
        return []
    reminders = (await session.execute(select(Reminder).where(Reminder.id.in_(list(by_id))))).scalars()
    return [(ob, r) for r in reminders for ob in by_id[r.id]]
