"""RACI, project-role and sign-off queries, always filtered by the initiative of the delivery."""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.db import rowcount
from storage.models import (
    Member,
    Milestone,
    ProjectRole,
    RaciActivity,
    RaciAssignment,
    RaciProposal,
    SignOff,
    SignOffResponse,
)


async def activities(session: AsyncSession, initiative_id: int) -> list[RaciActivity]:
    rows = await session.execute(
        select(RaciActivity)
        .where(RaciActivity.initiative_id == initiative_id, RaciActivity.removed.is_(False))
        .order_by(RaciActivity.number)
    )
    return list(rows.scalars())


async def activity_by_number(session: AsyncSession, initiative_id: int, number: int) -> RaciActivity | None:
    return (
        await session.execute(
            select(RaciActivity).where(
                RaciActivity.initiative_id == initiative_id,
                RaciActivity.number == number,
                RaciActivity.removed.is_(False),
            )
        )
    ).scalar_one_or_none()


async def activity(session: AsyncSession, initiative_id: int, activity_id: int) -> RaciActivity | None:
    found = await session.get(RaciActivity, activity_id)
    return found if found is not None and found.initiative_id == initiative_id else None


async def activity_of(session: AsyncSession, sign: SignOff) -> RaciActivity:
    """The activity a sign-off request was made for; the foreign key guarantees there is one."""
    return await session.get_one(RaciActivity, sign.activity_id)


async def activity_by_name(session: AsyncSession, initiative_id: int, name: str) -> RaciActivity | None:
    return (
        (
            await session.execute(
                select(RaciActivity)
                .where(
                    RaciActivity.initiative_id == initiative_id,
                    RaciActivity.removed.is_(False),
                    func.lower(RaciActivity.name) == name.strip().lower(),
                )
                .order_by(RaciActivity.number)
            )
        )
        .scalars()
        .first()
    )


async def activity_for(
    session: AsyncSession, initiative_id: int, *, use_case_id: int | None = None, milestone_id: int | None = None
) -> RaciActivity | None:
    q = select(RaciActivity).where(RaciActivity.initiative_id == initiative_id, RaciActivity.removed.is_(False))
    if use_case_id is not None:
        q = q.where(RaciActivity.use_case_id == use_case_id)
    if milestone_id is not None:
        q = q.where(RaciActivity.milestone_id == milestone_id)
    return (await session.execute(q.order_by(RaciActivity.number))).scalars().first()


async def deliverable_keys(session: AsyncSession, initiative_id: int) -> set[str]:
    rows = await session.execute(
        select(RaciActivity.deliverable).where(
            RaciActivity.initiative_id == initiative_id,
            RaciActivity.removed.is_(False),
            RaciActivity.deliverable.is_not(None),
        )
    )
    return {k for k in rows.scalars() if k}


async def cells(session: AsyncSession, activity_id: int) -> dict[int, frozenset[str]]:
    rows = await session.execute(
        select(RaciAssignment.member_id, RaciAssignment.role).where(RaciAssignment.activity_id == activity_id)
    )
    out: dict[int, set[str]] = defaultdict(set)
    for member_id, role in rows:
        out[member_id].add(role)
    return {m: frozenset(r) for m, r in out.items()}


async def all_cells(session: AsyncSession, initiative_id: int) -> dict[int, dict[int, frozenset[str]]]:
    """activity id -> member id -> roles, for the initiative's live activities."""
    rows = await session.execute(
        select(RaciAssignment.activity_id, RaciAssignment.member_id, RaciAssignment.role)
        .join(RaciActivity, RaciActivity.id == RaciAssignment.activity_id)
        .where(RaciActivity.initiative_id == initiative_id, RaciActivity.removed.is_(False))
    )
    out: dict[int, dict[int, set[str]]] = defaultdict(lambda: defaultdict(set))
    for activity_id, member_id, role in rows:
        out[activity_id][member_id].add(role)
    return {a: {m: frozenset(r) for m, r in cells.items()} for a, cells in out.items()}


async def store_cells(
    session: AsyncSession,
    activity_id: int,
    before: dict[int, frozenset[str]],
    after: dict[int, frozenset[str]],
    *,
    by_member_id: int,
    now,
) -> None:
    """Write the difference: deletes first, so a handed-over A frees its slot before the new one."""
    for m in sorted(set(before) | set(after)):
        gone = before.get(m, frozenset()) - after.get(m, frozenset())
        if gone:
            await session.execute(
                delete(RaciAssignment).where(
                    RaciAssignment.activity_id == activity_id,
                    RaciAssignment.member_id == m,
                    RaciAssignment.role.in_(sorted(gone)),
                )
            )
    await session.flush()
    for m in sorted(after):
        for role in sorted(after[m] - before.get(m, frozenset())):
            session.add(
                RaciAssignment(
                    activity_id=activity_id, member_id=m, role=role, assigned_by_member_id=by_member_id, created_at=now
                )
            )
    await session.flush()


async def holders(session: AsyncSession, initiative_id: int, activity_id: int, role: str) -> list[Member]:
    rows = await session.execute(
        select(Member)
        .join(RaciAssignment, RaciAssignment.member_id == Member.id)
        .join(RaciActivity, RaciActivity.id == RaciAssignment.activity_id)
        .where(
            RaciActivity.initiative_id == initiative_id,
            RaciActivity.id == activity_id,
            RaciAssignment.role == role,
            Member.initiative_id == initiative_id,
        )
        .order_by(Member.id)
    )
    return list(rows.scalars().unique())


async def member_by_id(session: AsyncSession, initiative_id: int, member_id: int) -> Member | None:
    found = await session.get(Member, member_id)
    return found if found is not None and found.initiative_id == initiative_id else None


# ---- proposals --------------------------------------------------------------------------------


async def proposal(session: AsyncSession, initiative_id: int, number: int) -> RaciProposal | None:
    return (
        await session.execute(
            select(RaciProposal).where(RaciProposal.initiative_id == initiative_id, RaciProposal.number == number)
        )
    ).scalar_one_or_none()


async def decide_proposal(session: AsyncSession, proposal_id: int, status: str, by_member_id: int, now) -> bool:
    """Pending -> decided exactly once; False when someone already decided it."""
    result = await session.execute(
        update(RaciProposal)
        .where(RaciProposal.id == proposal_id, RaciProposal.status == "pending")
        .values(status=status, decided_by_member_id=by_member_id, decided_at=now)
        .returning(RaciProposal.id)
    )
    return result.first() is not None


# ---- project roles ----------------------------------------------------------------------------


async def project_roles(session: AsyncSession, initiative_id: int) -> list[ProjectRole]:
    rows = await session.execute(
        select(ProjectRole)
        .where(ProjectRole.initiative_id == initiative_id)
        .order_by(ProjectRole.role, ProjectRole.scope, ProjectRole.id)
    )
    return list(rows.scalars())


async def role_holders(session: AsyncSession, initiative_id: int, role: str) -> list[Member]:
    rows = await session.execute(
        select(Member)
        .join(ProjectRole, ProjectRole.member_id == Member.id)
        .where(ProjectRole.initiative_id == initiative_id, func.lower(ProjectRole.role) == role.strip().lower())
        .order_by(Member.id)
    )
    return list(rows.scalars().unique())


async def remove_project_role(
    session: AsyncSession, initiative_id: int, member_id: int, role: str, scope: str | None
) -> int:
    q = delete(ProjectRole).where(
        ProjectRole.initiative_id == initiative_id,
        ProjectRole.member_id == member_id,
        func.lower(ProjectRole.role) == role.lower(),
    )
    if scope is not None:
        q = q.where(func.lower(ProjectRole.scope) == scope.lower())
    return rowcount(await session.execute(q))


# ---- sign-off ---------------------------------------------------------------------------------


async def sign_off(session: AsyncSession, initiative_id: int, number: int) -> SignOff | None:
    return (
        await session.execute(select(SignOff).where(SignOff.initiative_id == initiative_id, SignOff.number == number))
    ).scalar_one_or_none()


async def sign_offs(session: AsyncSession, initiative_id: int, activity_id: int | None = None) -> list[SignOff]:
    q = select(SignOff).where(SignOff.initiative_id == initiative_id)
    if activity_id is not None:
        q = q.where(SignOff.activity_id == activity_id)
    return list((await session.execute(q.order_by(SignOff.number))).scalars())


async def latest_sign_off(session: AsyncSession, initiative_id: int, activity_id: int) -> SignOff | None:
    return (
        (
            await session.execute(
                select(SignOff)
                .where(SignOff.initiative_id == initiative_id, SignOff.activity_id == activity_id)
                .order_by(SignOff.number.desc())
            )
        )
        .scalars()
        .first()
    )


async def responses(session: AsyncSession, sign_off_ids: list[int]) -> list[SignOffResponse]:
    if not sign_off_ids:
        return []
    rows = await session.execute(
        select(SignOffResponse).where(SignOffResponse.sign_off_id.in_(sign_off_ids)).order_by(SignOffResponse.id)
    )
    return list(rows.scalars())


async def decide(session: AsyncSession, sign_off_id: int, member_id: int, decision: str, comment: str, now) -> bool:
    """A pending response becomes a decision exactly once: decisions are never edited afterwards."""
    result = await session.execute(
        update(SignOffResponse)
        .where(
            SignOffResponse.sign_off_id == sign_off_id,
            SignOffResponse.member_id == member_id,
            SignOffResponse.decision == "pending",
        )
        .values(decision=decision, comment=comment, decided_at=now)
        .returning(SignOffResponse.id)
    )
    return result.first() is not None


async def milestone_by_number(session: AsyncSession, initiative_id: int, number: int) -> Milestone | None:
    return (
        await session.execute(
            select(Milestone).where(
                Milestone.initiative_id == initiative_id, Milestone.number == number, Milestone.status != "removed"
            )
        )
    ).scalar_one_or_none()
