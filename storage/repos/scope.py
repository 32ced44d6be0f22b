"""Workspace -> initiative -> member, resolved from the delivery itself, never from payload ids."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from sqlalchemy import bindparam, delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.db import rowcount
from storage.models import Counter, Initiative, Member, Workspace, table
from storage.repos.upsert import insert_ignore, insert_ignore_many

# Built once: the core resolves scope for every delivery, and building the expression each
# time cost more than a tenth of a command's CPU (py-spy, bench fig1).
_RESOLVE = (
    select(Workspace, Initiative, Member)
    .outerjoin(
        Initiative,
        (Initiative.workspace_id == Workspace.id) & (Initiative.conversation_id == bindparam("conversation")),
    )
    .outerjoin(Member, (Member.initiative_id == Initiative.id) & Member.user_id.in_(bindparam("users", expanding=True)))
    .where(Workspace.platform == bindparam("platform"), Workspace.external_id == bindparam("external_id"))
)


async def resolve(
    session: AsyncSession, platform: str, external_id: str, conversation_id: str, user_ids: Collection[str]
) -> tuple[Workspace | None, Initiative | None, dict[str, Member]]:
    """Workspace, conversation's initiative and the people among `user_ids` who are its members,
    in one round trip: the core does this for every delivery (or burst of clicks from one
    conversation), and after first contact all of them exist. None for whichever is missing."""
    params = dict(platform=platform, external_id=external_id, conversation=conversation_id, users=list(user_ids))
    rows = (await session.execute(_RESOLVE, params)).all()
    if not rows:
        return None, None, {}
    return rows[0][0], rows[0][1], {m.user_id: m for _, _, m in rows if m is not None}


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
    return bool(rowcount(result))


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
    return (await add_members(session, initiative, {user_id: display_name}, now, role=role))[user_id]


async def add_members(
    session: AsyncSession, initiative: Initiative, names: dict[str, str], now: datetime, *, role: str | None = None
) -> dict[str, Member]:
    """Make members of people just looked up and not found (user id -> display name), in one
    statement. With no role given, the initiative's creator is its facilitator, anyone else a
    stakeholder."""
    rows = [
        dict(
            initiative_id=initiative.id,
            user_id=user_id,
            display_name=name or user_id,
            role=role or ("facilitator" if user_id == initiative.created_by else "stakeholder"),
            active=True,
            joined_at=now,
        )
        for user_id, name in names.items()
    ]
    await insert_ignore_many(session, Member, rows)
    found = (
        await session.execute(
            select(Member).where(Member.initiative_id == initiative.id, Member.user_id.in_(list(names)))
        )
    ).scalars()
    made = {m.user_id: m for m in found}
    for user_id, m in made.items():
        rename(m, names[user_id])
    return made


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


async def memberships(
    session: AsyncSession, platform: str, workspace_external_id: str, user_id: str, *, limit: int
) -> list[tuple[Initiative, Member]]:
    """The initiatives of a workspace the person is an active member of, oldest first, with their membership."""
    rows = await session.execute(
        select(Initiative, Member)
        .join(Workspace, Workspace.id == Initiative.workspace_id)
        .join(Member, Member.initiative_id == Initiative.id)
        .where(
            Workspace.platform == platform,
            Workspace.external_id == workspace_external_id,
            Member.user_id == user_id,
            Member.active.is_(True),
        )
        .order_by(Initiative.id)
        .limit(limit)
    )
    return [(i, m) for i, m in rows.all()]


_COUNTER = table(Counter)
# A Core UPDATE, built once: the ORM's version evaluates its WHERE against the session's objects
# and builds the expression anew, for a row no session holds.
_DRAW = (
    update(_COUNTER)
    .where(_COUNTER.c.initiative_id == bindparam("initiative"), _COUNTER.c.kind == bindparam("counter"))
    .values(value=_COUNTER.c.value + 1)
    .returning(_COUNTER.c.value)
)


async def next_number(session: AsyncSession, initiative_id: int, kind: str) -> int:
    """Draw UC-n, KPI-n, ...: the row lock taken by UPDATE serialises concurrent creators; the
    counter row is made (race-free) only the first time a kind is drawn."""
    params = dict(initiative=initiative_id, counter=kind)
    value = (await session.execute(_DRAW, params)).scalar_one_or_none()
    if value is None:
        await insert_ignore(session, Counter, initiative_id=initiative_id, kind=kind, value=0)
        value = (await session.execute(_DRAW, params)).scalar_one()
    return int(value)


async def initiative_named(session: AsyncSession, workspace_id: int, name: str, but: int) -> Initiative | None:
    """Another initiative of the workspace already called `name` (any case): names pick exports."""
    return (
        await session.execute(
            select(Initiative)
            .where(
                Initiative.workspace_id == workspace_id,
                func.lower(Initiative.name) == name.lower(),
                Initiative.id != but,
            )
            .limit(1)
        )
    ).scalar_one_or_none()
