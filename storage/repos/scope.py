"""Workspace -> initiative -> member, resolved from the delivery itself, never from payload ids."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Counter, Initiative, Member, Workspace
from storage.repos.upsert import insert_ignore


async def resolve(
    session: AsyncSession, platform: str, external_id: str, conversation_id: str, user_id: str
) -> tuple[Workspace | None, Initiative | None, Member | None]:
    """Workspace, conversation's initiative and person in one round trip: the core does this for
    every delivery, and after first contact all three exist. None for whichever is missing."""
    row = (
        await session.execute(
            select(Workspace, Initiative, Member)
            .outerjoin(
                Initiative,
                (Initiative.workspace_id == Workspace.id) & (Initiative.conversation_id == conversation_id),
            )
            .outerjoin(Member, (Member.initiative_id == Initiative.id) & (Member.user_id == user_id))
            .where(Workspace.platform == platform, Workspace.external_id == external_id)
        )
    ).first()
    return (row[0], row[1], row[2]) if row else (None, None, None)


async def workspace(session: AsyncSession, platform: str, external_id: str, now: datetime) -> Workspace:
    found = await workspace_if_exists(session, platform, external_id)
    if found is None:
        await insert_ignore(session, Workspace, platform=platform, external_id=external_id, name="", created_at=now)
        found = await workspace_if_exists(session, platform, external_id)
    assert found is not None
    return found


async def workspace_if_exists(session: AsyncSession, platform: str, external_id: str) -> Workspace | None:
    return (
        await session.execute(
            select(Workspace).where(Workspace.platform == platform, Workspace.external_id == external_id)
        )
    ).scalar_one_or_none()


async def forget_workspace(session: AsyncSession, platform: str, external_id: str) -> bool:
    """Delete a workspace; the database cascades to its initiatives and everything under them."""
    result = await session.execute(
        delete(Workspace).where(Workspace.platform == platform, Workspace.external_id == external_id)
    )
    return bool(result.rowcount)


async def find_initiative(session: AsyncSession, workspace_id: int, conversation_id: str) -> Initiative | None:
    return (
        await session.execute(
            select(Initiative).where(
                Initiative.workspace_id == workspace_id, Initiative.conversation_id == conversation_id
            )
        )
    ).scalar_one_or_none()


async def initiative(
    session: AsyncSession,
    ws: Workspace,
    conversation_id: str,
    *,
    name: str,
    creator: str,
    is_private: bool,
    now: datetime,
) -> tuple[Initiative, bool]:
    """The conversation's initiative, made on first contact; True when this call made it."""
    found = await find_initiative(session, ws.id, conversation_id)
    if found is not None:
        return found, False
    created = await insert_ignore(
        session,
        Initiative,
        workspace_id=ws.id,
        conversation_id=conversation_id,
        name=name or conversation_id,
        is_private=is_private,
        created_by=creator,
        created_at=now,
        workdays="mon,tue,wed,thu,fri",
    )
    found = await find_initiative(session, ws.id, conversation_id)
    assert found is not None
    return found, created


async def member(
    session: AsyncSession,
    initiative: Initiative,
    user_id: str,
    display_name: str,
    now: datetime,
    role: str = "stakeholder",
) -> Member:
    m = await find_member(session, initiative.id, user_id)
    if m is None:
        return await add_member(session, initiative, user_id, display_name, now, role)
    rename(m, display_name)
    return m


async def add_member(
    session: AsyncSession, initiative: Initiative, user_id: str, display_name: str, now: datetime, role: str
) -> Member:
    """For a person just looked up and not found; a concurrent first contact may still win."""
    await insert_ignore(
        session,
        Member,
        initiative_id=initiative.id,
        user_id=user_id,
        display_name=display_name or user_id,
        role=role,
        active=True,
        joined_at=now,
    )
    m = await find_member(session, initiative.id, user_id)
    assert m is not None
    rename(m, display_name)
    return m


def rename(m: Member, display_name: str) -> None:
    """Keep the name the platform last gave, never replacing a real name with a bare id."""
    if display_name and m.display_name != display_name and display_name != m.user_id:
        m.display_name = display_name


async def find_member(session: AsyncSession, initiative_id: int, user_id: str) -> Member | None:
    return (
        await session.execute(select(Member).where(Member.initiative_id == initiative_id, Member.user_id == user_id))
    ).scalar_one_or_none()


async def members(session: AsyncSession, initiative_id: int) -> list[Member]:
    return list(
        (await session.execute(select(Member).where(Member.initiative_id == initiative_id).order_by(Member.id)))
        .scalars()
        .all()
    )


async def next_number(session: AsyncSession, initiative_id: int, kind: str) -> int:
    """Draw UC-n, KPI-n, ...: the row lock taken by UPDATE serialises concurrent creators; the
    counter row is made (race-free) only the first time a kind is drawn."""
    draw = (
        update(Counter)
        .where(Counter.initiative_id == initiative_id, Counter.kind == kind)
        .values(value=Counter.value + 1)
        .returning(Counter.value)
    )
    value = (await session.execute(draw)).scalar_one_or_none()
    if value is None:
        await insert_ignore(session, Counter, initiative_id=initiative_id, kind=kind, value=0)
        value = (await session.execute(draw)).scalar_one()
    return int(value)
