"""Everything one initiative's deliverables are made from, loaded in one query per table.

Reports read whole tables of one initiative at a time: a handful of queries whatever the size,
never one per use case or risk (2,000 use cases must not mean 2,000 round trips).
"""

from __future__ import annotations

from collections import Counter as Tally
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import Row, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import (
    AuditEvent,
    Ballot,
    DataSource,
    Holiday,
    Initiative,
    JobClaim,
    Kpi,
    Member,
    Milestone,
    MilestoneOwner,
    Participation,
    Poll,
    PollOption,
    ProjectRole,
    RaciActivity,
    RaciAssignment,
    Requirement,
    Resource,
    Risk,
    RiskScoreChange,
    RiskUseCase,
    SignOff,
    SignOffResponse,
    UseCase,
)

# The audit actions that can set an item aside (withdraw, reject, merge, close, remove).
SET_ASIDE_ACTIONS = (
    "usecase.rejected",
    "usecase.withdrawn",
    "usecase.merged",
    "kpi.withdraw",
    "risk.update",
    "milestone.remove",
    "raci.activity.remove",
    "source.remove",
    "source.merge",
)


@dataclass
class Snapshot:
    initiative: Initiative
    members: dict[int, Member] = field(default_factory=dict)
    use_cases: list[UseCase] = field(default_factory=list)
    requirements: list[Requirement] = field(default_factory=list)
    kpis: list[Kpi] = field(default_factory=list)
    risks: list[Risk] = field(default_factory=list)
    risk_links: list[tuple[int, int]] = field(default_factory=list)  # (risk id, use case id)
    score_changes: list[RiskScoreChange] = field(default_factory=list)
    sources: list[DataSource] = field(default_factory=list)
    polls: list[Poll] = field(default_factory=list)
    options: list[PollOption] = field(default_factory=list)
    # (poll id, member id) of the polls still open: who has yet to vote is all a report asks of
    # them, and a closed poll's participation rows (one per voter) would be most of the snapshot.
    participations: list[Row[int, int]] = field(default_factory=list)
    # Choices of the closed polls that ranked use cases (for the result chart); never whose they are.
    priority_ballots: dict[int, list[dict]] = field(default_factory=dict)
    activities: list[RaciActivity] = field(default_factory=list)
    assignments: list[RaciAssignment] = field(default_factory=list)
    roles: list[ProjectRole] = field(default_factory=list)
    sign_offs: list[SignOff] = field(default_factory=list)
    responses: list[SignOffResponse] = field(default_factory=list)
    milestones: list[Milestone] = field(default_factory=list)
    milestone_owners: list[tuple[int, int]] = field(default_factory=list)  # (milestone id, member id)
    resources: list[Resource] = field(default_factory=list)
    recent_actions: Tally = field(default_factory=Tally)  # audit action -> count since `since`
    since: datetime | None = None
    since_digest: bool = False  # `since` is when the previous digest went out
    # (human id, action, who, when, detail) of the audit rows that may have set an item aside,
    # oldest first (handlers.report_rules.sets_aside says which did).
    set_aside_rows: list[tuple[str, str, str, datetime, dict]] = field(default_factory=list)
    holidays: list[date] = field(default_factory=list)  # the plan's calendar, for milestone status


async def last_digest_at(session: AsyncSession, initiative_id: int, before: datetime) -> datetime | None:
    """When the previous digest was claimed (the plan's digest schedule keys its claims
    `digest:<initiative id>:<period>`); the current period's own claim is not "previous"."""
    return (
        await session.execute(
            select(func.max(JobClaim.claimed_at)).where(
                JobClaim.key.like(f"digest:{initiative_id}:%"), JobClaim.claimed_at < before
            )
        )
    ).scalar_one_or_none()


async def _all(session: AsyncSession, query) -> list:
    return list((await session.execute(query)).scalars())


async def load_snapshot(session: AsyncSession, initiative: Initiative, since: datetime | None = None) -> Snapshot:
    """One query per table, each filtered by the initiative (through its parent where the table has
    no initiative column), in a fixed order so every report reads the same lists."""
    snap = Snapshot(initiative)
    await _load_intake(session, snap)
    await _load_risks(session, snap)
    await _load_polls(session, snap)
    await _load_raci(session, snap)
    await _load_plan(session, snap)
    await _load_audit(session, snap, since)
    return snap


async def _tuples(session: AsyncSession, query) -> list[tuple]:
    """The rows of a query of columns (not whole objects), as plain tuples."""
    return [tuple(row) for row in (await session.execute(query)).all()]


async def _load_intake(session: AsyncSession, snap: Snapshot) -> None:
    """Members, use cases with their requirements, KPIs and data sources."""
    iid = snap.initiative.id
    snap.members = {m.id: m for m in await _all(session, select(Member).where(Member.initiative_id == iid))}
    snap.use_cases = await _all(session, select(UseCase).where(UseCase.initiative_id == iid).order_by(UseCase.number))
    snap.requirements = await _all(
        session,
        select(Requirement)
        .join(UseCase, UseCase.id == Requirement.use_case_id)
        .where(UseCase.initiative_id == iid)
        .order_by(Requirement.id),
    )
    snap.kpis = await _all(session, select(Kpi).where(Kpi.initiative_id == iid).order_by(Kpi.number))
    snap.sources = await _all(
        session, select(DataSource).where(DataSource.initiative_id == iid).order_by(DataSource.number)
    )


async def _load_risks(session: AsyncSession, snap: Snapshot) -> None:
    """Risks, the use cases they threaten and their re-scores."""
    iid = snap.initiative.id
    snap.risks = await _all(session, select(Risk).where(Risk.initiative_id == iid).order_by(Risk.number))
    snap.risk_links = await _tuples(
        session,
        select(RiskUseCase.risk_id, RiskUseCase.use_case_id)
        .join(Risk, Risk.id == RiskUseCase.risk_id)
        .where(Risk.initiative_id == iid),
    )
    snap.score_changes = await _all(
        session,
        select(RiskScoreChange)
        .join(Risk, Risk.id == RiskScoreChange.risk_id)
        .where(Risk.initiative_id == iid)
        .order_by(RiskScoreChange.at, RiskScoreChange.id),
    )


async def _load_polls(session: AsyncSession, snap: Snapshot) -> None:
    """Polls and options; who took part in the open ones; the choices of the closed polls that
    ranked use cases (never whose they are)."""
    iid = snap.initiative.id
    snap.polls = await _all(session, select(Poll).where(Poll.initiative_id == iid).order_by(Poll.number))
    snap.options = await _all(
        session,
        select(PollOption)
        .join(Poll, Poll.id == PollOption.poll_id)
        .where(Poll.initiative_id == iid)
        .order_by(PollOption.poll_id, PollOption.position),
    )
    snap.participations = list(
        (
            await session.execute(
                select(Participation.poll_id, Participation.member_id)
                .join(Poll, Poll.id == Participation.poll_id)
                .where(Poll.initiative_id == iid, Poll.status == "open")
            )
        ).all()
    )
    ranked_by = {u.priority_poll_id for u in snap.use_cases if u.priority_poll_id is not None}
    closed = [p.id for p in snap.polls if p.id in ranked_by and p.status == "closed"]
    if closed:
        for poll_id, choices in await _tuples(
            session,
            select(Ballot.poll_id, Ballot.choices)
            .where(Ballot.poll_id.in_(closed))
            .order_by(Ballot.poll_id, Ballot.voter_key),
        ):
            snap.priority_ballots.setdefault(poll_id, []).append(choices)


async def _load_raci(session: AsyncSession, snap: Snapshot) -> None:
    """RACI activities and assignments, programme roles, sign-offs and their responses."""
    iid = snap.initiative.id
    snap.activities = await _all(
        session, select(RaciActivity).where(RaciActivity.initiative_id == iid).order_by(RaciActivity.number)
    )
    snap.assignments = await _all(
        session,
        select(RaciAssignment)
        .join(RaciActivity, RaciActivity.id == RaciAssignment.activity_id)
        .where(RaciActivity.initiative_id == iid)
        .order_by(RaciAssignment.id),
    )
    snap.roles = await _all(
        session, select(ProjectRole).where(ProjectRole.initiative_id == iid).order_by(ProjectRole.id)
    )
    snap.sign_offs = await _all(session, select(SignOff).where(SignOff.initiative_id == iid).order_by(SignOff.number))
    snap.responses = await _all(
        session,
        select(SignOffResponse)
        .join(SignOff, SignOff.id == SignOffResponse.sign_off_id)
        .where(SignOff.initiative_id == iid)
        .order_by(SignOffResponse.id),
    )


async def _load_plan(session: AsyncSession, snap: Snapshot) -> None:
    """Milestones with their owners, resources, and the holidays of the plan's calendar."""
    iid = snap.initiative.id
    snap.milestones = await _all(
        session, select(Milestone).where(Milestone.initiative_id == iid).order_by(Milestone.number)
    )
    snap.milestone_owners = await _tuples(
        session,
        select(MilestoneOwner.milestone_id, MilestoneOwner.member_id)
        .join(Milestone, Milestone.id == MilestoneOwner.milestone_id)
        .where(Milestone.initiative_id == iid),
    )
    snap.resources = await _all(
        session, select(Resource).where(Resource.initiative_id == iid).order_by(Resource.number)
    )
    snap.holidays = [d for (d,) in await _tuples(session, select(Holiday.day).where(Holiday.initiative_id == iid))]


async def _load_audit(session: AsyncSession, snap: Snapshot, since: datetime | None) -> None:
    """The audit rows that may have set an item aside, and how often each action ran since `since`."""
    iid = snap.initiative.id
    snap.set_aside_rows = [
        (entity, action, who, at, detail or {})
        for entity, action, who, at, detail in await _tuples(
            session,
            select(AuditEvent.entity, AuditEvent.action, AuditEvent.actor_name, AuditEvent.at, AuditEvent.detail)
            .where(AuditEvent.initiative_id == iid, AuditEvent.action.in_(SET_ASIDE_ACTIONS))
            .order_by(AuditEvent.at, AuditEvent.id),
        )
    ]
    snap.since = since
    if since is not None:
        snap.recent_actions = Tally(
            dict(
                await _tuples(
                    session,
                    select(AuditEvent.action, func.count())
                    .where(AuditEvent.initiative_id == iid, AuditEvent.at >= since)
                    .group_by(AuditEvent.action),
                )
            )
        )
