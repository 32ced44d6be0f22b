"""Milestones, holidays, resources and reminder rows, always filtered by the initiative.

Reminder claiming lives here because it is a storage decision: a conditional update (and on
PostgreSQL `FOR UPDATE SKIP LOCKED`) decides who sends, not anything held in memory.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.db import rowcount
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
from storage.repos.claiming import claim_pending
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
    return (await activities_for(session, initiative_id, [(ms, deliverable)])).get(ms.id)


async def activities_for(
    session: AsyncSession, initiative_id: int, linked: list[tuple[Milestone, str | None]]
) -> dict[int, RaciActivity]:
    """`activity_for` of many milestones of one initiative in one query, by milestone id: an
    activity linked to the milestone first, else the lowest-numbered one delivering its step."""
    if not linked:
        return {}
    conds = [RaciActivity.milestone_id.in_([ms.id for ms, _ in linked])]
    deliverables = {d for _, d in linked if d}
    if deliverables:
        conds.append(RaciActivity.deliverable.in_(deliverables))
    found = list(
        (
            await session.execute(
                select(RaciActivity)
                .where(RaciActivity.initiative_id == initiative_id, RaciActivity.removed.is_(False), or_(*conds))
                .order_by(RaciActivity.number)
            )
        ).scalars()
    )
    out: dict[int, RaciActivity] = {}
    for ms, deliverable in linked:
        match = next((a for a in found if a.milestone_id == ms.id), None)
        if match is None and deliverable:
            match = next((a for a in found if a.deliverable == deliverable), None)
        if match is not None:
            out[ms.id] = match
    return out


async def milestones_by_id(session: AsyncSession, ids: list[int]) -> dict[int, Milestone]:
    if not ids:
        return {}
    rows = await session.execute(select(Milestone).where(Milestone.id.in_(ids)))
    return {ms.id: ms for ms in rows.scalars()}


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
    return bool(rowcount(res))


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
    return bool(rowcount(res))


async def cancel_pending(session: AsyncSession, milestone_id: int, *, kinds: tuple[str, ...] | None = None) -> int:
    """Pending reminders of a milestone stop at once: the claim only takes `pending` rows."""
    stmt = update(Reminder).where(Reminder.milestone_id == milestone_id, Reminder.state == "pending")
    if kinds:
        stmt = stmt.where(Reminder.kind.in_(kinds))
    res = await session.execute(stmt.values(state="cancelled"))
    return rowcount(res)


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
        if r.milestone_id is not None:  # always, by the query: the column is nullable for digests
            out[r.milestone_id].append(r)
    return out


async def claim_due(session: AsyncSession, now: datetime, instance: str, limit: int) -> list[Reminder]:
    """Take due pending reminders for this process, oldest first: nobody else can take the same row."""
    due = (
        select(Reminder.id)
        .where(Reminder.state == "pending", Reminder.due_at <= now)
        .order_by(Reminder.due_at, Reminder.id)
        .limit(limit)
    )
    won = await claim_pending(session, Reminder, due, Reminder, claimed_by=instance, claimed_at=now)
    return sorted(won, key=lambda r: (r.due_at, r.id))


async def record_outcomes(
    session: AsyncSession,
    now: datetime,
    *,
    sent: list[int],
    missed: list[int],
    cancelled: list[int],
    late_after: timedelta,
) -> None:
    """Close claimed reminders, one statement per outcome; a sent one is `late` when sent more
    than `late_after` after its time."""
    for state, ids in (("cancelled", cancelled), ("missed", missed)):
        if ids:
            await session.execute(
                update(Reminder)
                .where(Reminder.id.in_(ids))
                .values(state=state)
                .execution_options(synchronize_session=False)
            )
    if sent:
        await session.execute(
            update(Reminder)
            .where(Reminder.id.in_(sent))
            .values(state="sent", sent_at=now, late=Reminder.due_at < now - late_after)
            .execution_options(synchronize_session=False)
        )


async def next_due(session: AsyncSession) -> datetime | None:
    return (
        await session.execute(
            select(Reminder.due_at).where(Reminder.state == "pending").order_by(Reminder.due_at).limit(1)
        )
    ).scalar_one_or_none()


async def scopes_of(session: AsyncSession, initiative_ids: list[int]) -> dict[int, tuple[Initiative, Workspace]]:
    """Each initiative with its workspace, by initiative id (a missing id is a KeyError for the caller)."""
    rows = await session.execute(
        select(Initiative, Workspace)
        .join(Workspace, Workspace.id == Initiative.workspace_id)
        .where(Initiative.id.in_(initiative_ids))
    )
    return {initiative.id: (initiative, workspace) for initiative, workspace in rows.all()}


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
        by_id[int((ob.dedupe_key or "").split(":")[1])].append(ob)  # the query took only "reminder:N" keys
    if not by_id:
        return []
    reminders = (await session.execute(select(Reminder).where(Reminder.id.in_(list(by_id))))).scalars()
    return [(ob, r) for r in reminders for ob in by_id[r.id]]
