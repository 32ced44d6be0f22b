"""The whole domain as SQLAlchemy 2 declarative models.

Scope runs workspace -> initiative -> everything else; every table below initiative carries
`initiative_id` so that every query can be filtered by the scope resolved from the delivery.
Human numbers (UC-n, KPI-n, ...) are `number` columns, unique per initiative, drawn from `Counter`.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, ClassVar, cast

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from storage.types import UTCDateTime

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar = {datetime: UTCDateTime(), dict[str, Any]: JSON, list[Any]: JSON}


def table(model: type[Base]) -> Table:
    """The model's Core table, for statements sent without the ORM (the hot paths): typed as the
    Table it is, where the declarative base only promises a FromClause."""
    return cast(Table, model.__table__)


def _fk(target: str, nullable: bool = False, ondelete: str = "CASCADE") -> Any:
    return mapped_column(ForeignKey(target, ondelete=ondelete), nullable=nullable, index=True)


# ---- scope ----------------------------------------------------------------------------------


class Workspace(Base):
    __tablename__ = "workspace"
    __table_args__ = (UniqueConstraint("platform", "external_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    platform: Mapped[str] = mapped_column(String(16))
    external_id: Mapped[str] = mapped_column(String(128))
    name: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime]


class Initiative(Base):
    """One per conversation; whoever first talks to the bot there becomes its first facilitator."""

    __tablename__ = "initiative"
    __table_args__ = (UniqueConstraint("workspace_id", "conversation_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = _fk("workspace.id")
    conversation_id: Mapped[str] = mapped_column(String(200))
    name: Mapped[str] = mapped_column(String(200), default="")
    # The report's cover: who sponsors it, for which organisation, and one line under the title.
    sponsor: Mapped[str] = mapped_column(String(200), default="", server_default="")
    organisation: Mapped[str] = mapped_column(String(200), default="", server_default="")
    cover_line: Mapped[str] = mapped_column(String(300), default="", server_default="")
    is_private: Mapped[bool] = mapped_column(Boolean, default=False)
    timezone: Mapped[str | None] = mapped_column(String(64))
    workdays: Mapped[str] = mapped_column(String(32), default="mon,tue,wed,thu,fri")
    digest_schedule: Mapped[str | None] = mapped_column(String(32))  # e.g. "mon 09:00"
    created_by: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime]


class Member(Base):
    __tablename__ = "member"
    __table_args__ = (UniqueConstraint("initiative_id", "user_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    initiative_id: Mapped[int] = _fk("initiative.id")
    user_id: Mapped[str] = mapped_column(String(128))
    display_name: Mapped[str] = mapped_column(String(200), default="")
    role: Mapped[str] = mapped_column(String(16), default="stakeholder")  # facilitator | stakeholder
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    joined_at: Mapped[datetime]


class Counter(Base):
    """Next human number per initiative and kind; bumped inside the creating transaction."""

    __tablename__ = "counter"
    initiative_id: Mapped[int] = mapped_column(ForeignKey("initiative.id", ondelete="CASCADE"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    value: Mapped[int] = mapped_column(Integer, default=0)


# ---- intake ---------------------------------------------------------------------------------


class UseCase(Base):
    __tablename__ = "use_case"
    __table_args__ = (
        UniqueConstraint("initiative_id", "number"),
        # Every proposal reads its initiative's live titles (the near-duplicate check): from this
        # index alone, not a table row per title (SQLite: 4.5 % of a proposal at 330 titles).
        Index("ix_use_case_live_titles", "initiative_id", "number", "status", "title"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    initiative_id: Mapped[int] = _fk("initiative.id")
    number: Mapped[int]
    title: Mapped[str] = mapped_column(String(150))
    description: Mapped[str] = mapped_column(Text, default="")
    category: Mapped[str | None] = mapped_column(String(40))
    impact: Mapped[int | None]
    feasibility: Mapped[int | None]
    sponsor_member_id: Mapped[int | None] = _fk("member.id", nullable=True, ondelete="SET NULL")
    department: Mapped[str] = mapped_column(String(200), default="")
    data_sources: Mapped[str] = mapped_column(Text, default="")
    expected_benefit: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(16), default="proposed")
    status_reason: Mapped[str] = mapped_column(Text, default="")
    priority_rank: Mapped[int | None]
    priority_poll_id: Mapped[int | None] = _fk("poll.id", nullable=True, ondelete="SET NULL")
    source_link: Mapped[str] = mapped_column(Text, default="")
    proposer_member_id: Mapped[int] = _fk("member.id")
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class Requirement(Base):
    __tablename__ = "requirement"
    id: Mapped[int] = mapped_column(primary_key=True)
    use_case_id: Mapped[int] = _fk("use_case.id")
    text: Mapped[str] = mapped_column(String(300))
    created_by_member_id: Mapped[int] = _fk("member.id")
    created_at: Mapped[datetime]


class Kpi(Base):
    __tablename__ = "kpi"
    __table_args__ = (UniqueConstraint("initiative_id", "number"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    initiative_id: Mapped[int] = _fk("initiative.id")
    number: Mapped[int]
    use_case_id: Mapped[int | None] = _fk("use_case.id", nullable=True)
    objective: Mapped[str] = mapped_column(Text, default="")
    name: Mapped[str] = mapped_column(String(150))
    baseline: Mapped[float | None] = mapped_column(Float)
    target: Mapped[float | None] = mapped_column(Float)
    unit: Mapped[str] = mapped_column(String(40), default="")
    direction: Mapped[str] = mapped_column(String(16), default="increase")
    method: Mapped[str] = mapped_column(Text, default="")
    target_date: Mapped[date | None] = mapped_column(Date)
    owner_member_id: Mapped[int | None] = _fk("member.id", nullable=True, ondelete="SET NULL")
    status: Mapped[str] = mapped_column(String(16), default="active")
    created_by_member_id: Mapped[int] = _fk("member.id")
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class Risk(Base):
    __tablename__ = "risk"
    __table_args__ = (UniqueConstraint("initiative_id", "number"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    initiative_id: Mapped[int] = _fk("initiative.id")
    number: Mapped[int]
    title: Mapped[str] = mapped_column(String(150))
    description: Mapped[str] = mapped_column(Text, default="")
    category: Mapped[str] = mapped_column(String(40))
    likelihood: Mapped[int]
    impact: Mapped[int]
    mitigation: Mapped[str] = mapped_column(Text, default="")
    owner_member_id: Mapped[int | None] = _fk("member.id", nullable=True, ondelete="SET NULL")
    status: Mapped[str] = mapped_column(String(16), default="open")
    review_date: Mapped[date | None] = mapped_column(Date)
    created_by_member_id: Mapped[int] = _fk("member.id")
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class RiskUseCase(Base):
    __tablename__ = "risk_use_case"
    risk_id: Mapped[int] = mapped_column(ForeignKey("risk.id", ondelete="CASCADE"), primary_key=True)
    use_case_id: Mapped[int] = mapped_column(ForeignKey("use_case.id", ondelete="CASCADE"), primary_key=True)


class RiskScoreChange(Base):
    """Every re-score, kept forever: the register shows its history."""

    __tablename__ = "risk_score_change"
    id: Mapped[int] = mapped_column(primary_key=True)
    risk_id: Mapped[int] = _fk("risk.id")
    member_id: Mapped[int] = _fk("member.id")
    old_likelihood: Mapped[int]
    old_impact: Mapped[int]
    new_likelihood: Mapped[int]
    new_impact: Mapped[int]
    at: Mapped[datetime]


class DataSource(Base):
    __tablename__ = "data_source"
    __table_args__ = (UniqueConstraint("initiative_id", "number"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    initiative_id: Mapped[int] = _fk("initiative.id")
    number: Mapped[int]
    name: Mapped[str] = mapped_column(String(150))
    type: Mapped[str] = mapped_column(String(40))
    owner: Mapped[str] = mapped_column(String(200), default="")
    owner_member_id: Mapped[int | None] = _fk("member.id", nullable=True, ondelete="SET NULL")
    size: Mapped[str] = mapped_column(String(100), default="")
    refresh: Mapped[str] = mapped_column(String(100), default="")
    quality: Mapped[int | None]
    accessibility: Mapped[int | None]
    security: Mapped[int | None]
    issues: Mapped[str] = mapped_column(Text, default="")
    # What will be done about its gaps, and who sees to it (the gap analysis shows both).
    remediation: Mapped[str] = mapped_column(Text, default="")
    remediation_owner_member_id: Mapped[int | None] = _fk("member.id", nullable=True, ondelete="SET NULL")
    # Set aside (`source remove`, or `source merge` into the source it duplicated): in no live
    # list, count or gap; who, when and why are in the audit row that did it.
    status: Mapped[str] = mapped_column(String(16), default="active", server_default="active")  # active|removed|merged
    merged_into_id: Mapped[int | None] = _fk("data_source.id", nullable=True, ondelete="SET NULL")
    created_by_member_id: Mapped[int] = _fk("member.id")
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


# ---- polls ----------------------------------------------------------------------------------


class Poll(Base):
    __tablename__ = "poll"
    __table_args__ = (UniqueConstraint("initiative_id", "number"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    initiative_id: Mapped[int] = _fk("initiative.id")
    number: Mapped[int]
    question: Mapped[str] = mapped_column(String(300))
    method: Mapped[str] = mapped_column(String(16))
    count_method: Mapped[str] = mapped_column(String(16), default="")
    dots: Mapped[int] = mapped_column(Integer, default=10)
    anonymous: Mapped[bool] = mapped_column(Boolean, default=False)
    hide_results: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(16), default="open")
    closes_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    salt: Mapped[str] = mapped_column(String(64))
    created_by_member_id: Mapped[int] = _fk("member.id")
    message_channel: Mapped[str] = mapped_column(String(200), default="")
    message_ts: Mapped[str] = mapped_column(String(64), default="")
    # Chosen at `poll start --sets-priority` (or later with `usecase priority from POLL-n`): only
    # such a poll ranks the use cases when it closes, never whichever closed last.
    sets_priority: Mapped[bool] = mapped_column(Boolean, default=False)
    tally_version: Mapped[int] = mapped_column(Integer, default=0)
    rendered_version: Mapped[int] = mapped_column(Integer, default=0)
    rendered_at: Mapped[datetime | None]  # last poll-message update queued: updates are >= 2 s apart
    created_at: Mapped[datetime]


class PollOption(Base):
    __tablename__ = "poll_option"
    __table_args__ = (UniqueConstraint("poll_id", "position"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    poll_id: Mapped[int] = _fk("poll.id")
    position: Mapped[int]
    label: Mapped[str] = mapped_column(String(200))
    use_case_id: Mapped[int | None] = _fk("use_case.id", nullable=True, ondelete="SET NULL")


class Participation(Base):
    """Who took part, and nothing about how: kept apart from the choices for anonymous polls."""

    __tablename__ = "participation"
    __table_args__ = (UniqueConstraint("poll_id", "member_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    poll_id: Mapped[int] = _fk("poll.id")
    member_id: Mapped[int] = _fk("member.id")
    voted_at: Mapped[datetime]


class Ballot(Base):
    """The choices, keyed by an HMAC of the voter (server secret + poll salt), never the voter id."""

    __tablename__ = "ballot"
    __table_args__ = (UniqueConstraint("poll_id", "voter_key"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    poll_id: Mapped[int] = _fk("poll.id")
    voter_key: Mapped[str] = mapped_column(String(128))
    choices: Mapped[dict[str, Any]]
    # Bumped by every re-vote: with Poll.tally_version (close, extend) it tells the coalescer
    # the poll message is behind, without every vote queueing on the poll row's lock.
    revision: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    updated_at: Mapped[datetime]


class PollReminder(Base):
    """A reminder to a poll's non-voters (automatic 24 h before the deadline, or `poll remind`):
    a row with a due time, claimed with a conditional update; `key` makes each one once."""

    __tablename__ = "poll_reminder"
    id: Mapped[int] = mapped_column(primary_key=True)
    poll_id: Mapped[int] = _fk("poll.id")
    key: Mapped[str] = mapped_column(String(200), unique=True)
    due_at: Mapped[datetime] = mapped_column(index=True)
    state: Mapped[str] = mapped_column(String(16), default="pending")  # pending|sending|sent|cancelled|failed
    claimed_by: Mapped[str | None] = mapped_column(String(100))
    claimed_at: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]
    reminded: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str] = mapped_column(Text, default="")


# ---- RACI and sign-off ----------------------------------------------------------------------


class RaciActivity(Base):
    __tablename__ = "raci_activity"
    __table_args__ = (UniqueConstraint("initiative_id", "number"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    initiative_id: Mapped[int] = _fk("initiative.id")
    number: Mapped[int]
    name: Mapped[str] = mapped_column(String(150))
    description: Mapped[str] = mapped_column(Text, default="")
    deliverable: Mapped[str | None] = mapped_column(String(32))  # summary key of a Phase 1 deliverable
    use_case_id: Mapped[int | None] = _fk("use_case.id", nullable=True)
    milestone_id: Mapped[int | None] = _fk("milestone.id", nullable=True)
    removed: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime]


class RaciAssignment(Base):
    __tablename__ = "raci_assignment"
    __table_args__ = (
        UniqueConstraint("activity_id", "member_id", "role"),
        # Exactly one Accountable per activity: two racing assigns cannot both win.
        Index(
            "uq_raci_assignment_one_accountable",
            "activity_id",
            unique=True,
            sqlite_where=text("role = 'A'"),
            postgresql_where=text("role = 'A'"),
        ),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    activity_id: Mapped[int] = _fk("raci_activity.id")
    member_id: Mapped[int] = _fk("member.id")
    role: Mapped[str] = mapped_column(String(1))  # R | A | C | I
    assigned_by_member_id: Mapped[int] = _fk("member.id")
    created_at: Mapped[datetime]


class RaciProposal(Base):
    """A stakeholder's suggested assignment, waiting for a facilitator to accept or decline."""

    __tablename__ = "raci_proposal"
    __table_args__ = (UniqueConstraint("initiative_id", "number"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    initiative_id: Mapped[int] = _fk("initiative.id")
    number: Mapped[int]
    activity_id: Mapped[int] = _fk("raci_activity.id")
    assignments: Mapped[list[Any]]  # [[role, member_id], ...]
    replace: Mapped[bool] = mapped_column(Boolean, default=False)
    proposed_by_member_id: Mapped[int] = _fk("member.id")
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending | accepted | declined
    decided_by_member_id: Mapped[int | None] = _fk("member.id", nullable=True, ondelete="SET NULL")
    decided_at: Mapped[datetime | None]
    created_at: Mapped[datetime]


class ProjectRole(Base):
    __tablename__ = "project_role"
    __table_args__ = (UniqueConstraint("initiative_id", "member_id", "role", "scope"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    initiative_id: Mapped[int] = _fk("initiative.id")
    member_id: Mapped[int] = _fk("member.id")
    role: Mapped[str] = mapped_column(String(100))
    scope: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime]


class SignOff(Base):
    """A request pinned to one version of the deliverable (hash + stored copy)."""

    __tablename__ = "sign_off"
    __table_args__ = (UniqueConstraint("initiative_id", "number"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    initiative_id: Mapped[int] = _fk("initiative.id")
    number: Mapped[int]
    activity_id: Mapped[int] = _fk("raci_activity.id")
    requested_by_member_id: Mapped[int] = _fk("member.id")
    content_hash: Mapped[str] = mapped_column(String(64))
    snapshot: Mapped[str] = mapped_column(Text)
    due_date: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime]


class SignOffResponse(Base):
    """One approver's decision; never edited, a new request supersedes it."""

    __tablename__ = "sign_off_response"
    __table_args__ = (UniqueConstraint("sign_off_id", "member_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    sign_off_id: Mapped[int] = _fk("sign_off.id")
    member_id: Mapped[int] = _fk("member.id")
    decision: Mapped[str] = mapped_column(String(16), default="pending")  # pending|approved|rejected
    comment: Mapped[str] = mapped_column(Text, default="")
    decided_at: Mapped[datetime | None]


# ---- plan and reminders ---------------------------------------------------------------------


class Milestone(Base):
    __tablename__ = "milestone"
    __table_args__ = (UniqueConstraint("initiative_id", "number"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    initiative_id: Mapped[int] = _fk("initiative.id")
    number: Mapped[int]
    name: Mapped[str] = mapped_column(String(150))
    start_date: Mapped[date | None] = mapped_column(Date)
    due_date: Mapped[date] = mapped_column(Date)
    after_milestone_id: Mapped[int | None] = _fk("milestone.id", nullable=True, ondelete="SET NULL")
    phase_step: Mapped[int | None]
    remind_offsets: Mapped[str] = mapped_column(String(64), default="3,1,0")  # handlers.plan_rules.DEFAULT_OFFSETS
    status: Mapped[str] = mapped_column(String(16), default="open")  # open | done | removed
    done_at: Mapped[datetime | None]
    created_at: Mapped[datetime]


class MilestoneOwner(Base):
    __tablename__ = "milestone_owner"
    milestone_id: Mapped[int] = mapped_column(ForeignKey("milestone.id", ondelete="CASCADE"), primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id", ondelete="CASCADE"), primary_key=True)


class Holiday(Base):
    __tablename__ = "holiday"
    initiative_id: Mapped[int] = mapped_column(ForeignKey("initiative.id", ondelete="CASCADE"), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)


class Resource(Base):
    __tablename__ = "resource"
    __table_args__ = (UniqueConstraint("initiative_id", "number"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    initiative_id: Mapped[int] = _fk("initiative.id")
    number: Mapped[int]
    name: Mapped[str] = mapped_column(String(150))
    kind: Mapped[str] = mapped_column(String(16))
    amount: Mapped[float | None] = mapped_column(Float)
    unit: Mapped[str] = mapped_column(String(40), default="")
    milestone_id: Mapped[int | None] = _fk("milestone.id", nullable=True, ondelete="SET NULL")
    owner_member_id: Mapped[int | None] = _fk("member.id", nullable=True, ondelete="SET NULL")
    created_at: Mapped[datetime]


class Reminder(Base):
    """A reminder is a row with a due time; the scheduler only wakes us, claiming decides who sends.

    `key` makes creating the same reminder twice impossible (milestone + offset, poll + kind...).
    """

    __tablename__ = "reminder"
    id: Mapped[int] = mapped_column(primary_key=True)
    initiative_id: Mapped[int] = _fk("initiative.id")
    key: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(32))
    milestone_id: Mapped[int | None] = _fk("milestone.id", nullable=True)
    poll_id: Mapped[int | None] = _fk("poll.id", nullable=True)
    due_at: Mapped[datetime] = mapped_column(index=True)
    state: Mapped[str] = mapped_column(String(16), default="pending", index=True)
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    claimed_by: Mapped[str | None] = mapped_column(String(100))
    claimed_at: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]
    late: Mapped[bool] = mapped_column(Boolean, default=False)
    last_error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime]


class JobClaim(Base):
    """One row per (job, period): whoever inserts it runs the job, so a digest goes out once."""

    __tablename__ = "job_claim"
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    claimed_by: Mapped[str] = mapped_column(String(100))
    claimed_at: Mapped[datetime]


# ---- delivery and record --------------------------------------------------------------------


class Outbox(Base):
    """Everything the bot sends on its own: written in the transaction that caused it."""

    __tablename__ = "outbox"
    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = _fk("workspace.id")
    initiative_id: Mapped[int | None] = _fk("initiative.id", nullable=True)
    target_kind: Mapped[str] = mapped_column(String(16))  # user | channel
    target_id: Mapped[str] = mapped_column(String(200))
    payload: Mapped[dict[str, Any]]
    dedupe_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    state: Mapped[str] = mapped_column(String(16), default="pending", index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime]
    claimed_by: Mapped[str | None] = mapped_column(String(100))
    lease_until: Mapped[datetime | None]  # wall clock: a sender renews it while it sends
    last_error: Mapped[str] = mapped_column(Text, default="")
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]


class InboxDelivery(Base):
    """A delivery acked before its work could finish: written alone, before the ack, so a crash
    after the ack cannot lose it. Deleted once worked; a row whose lease ran out (its worker died)
    is taken over by any replica, and the delivery key makes the work take effect once."""

    __tablename__ = "inbox_delivery"
    id: Mapped[int] = mapped_column(primary_key=True)
    delivery_key: Mapped[str] = mapped_column(String(300), unique=True)
    platform: Mapped[str] = mapped_column(String(16))
    payload: Mapped[dict[str, Any]]  # the neutral delivery and how to answer it
    state: Mapped[str] = mapped_column(String(16), default="sending", index=True)  # sending | pending
    claimed_by: Mapped[str | None] = mapped_column(String(100))
    lease_until: Mapped[datetime]
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime]


class AuditEvent(Base):
    __tablename__ = "audit_event"
    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = _fk("workspace.id")
    initiative_id: Mapped[int | None] = _fk("initiative.id", nullable=True)
    actor_user_id: Mapped[str] = mapped_column(String(128))
    actor_name: Mapped[str] = mapped_column(String(200), default="")
    action: Mapped[str] = mapped_column(String(64))
    entity: Mapped[str] = mapped_column(String(64), default="")
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)
    at: Mapped[datetime] = mapped_column(index=True)


class ProcessedEvent(Base):
    """A delivery already handled, with the reply it got, so a redelivery answers the same."""

    __tablename__ = "processed_event"
    key: Mapped[str] = mapped_column(String(300), primary_key=True)
    reply: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(index=True)


class ConversationReference(Base):
    """Teams needs the stored reference of a conversation to message it proactively."""

    __tablename__ = "conversation_reference"
    __table_args__ = (UniqueConstraint("workspace_id", "key"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = _fk("workspace.id")
    key: Mapped[str] = mapped_column(String(300))  # "conv:<id>" or "user:<aad or user id>"
    reference: Mapped[dict[str, Any]]
    updated_at: Mapped[datetime]


class WebToken(Base):
    """The web face's token of an initiative (bot/faces/web/): only its SHA-256 is kept, and it
    acts as the facilitator who issued it. One per initiative: issuing another replaces it."""

    __tablename__ = "web_token"
    id: Mapped[int] = mapped_column(primary_key=True)
    initiative_id: Mapped[int] = mapped_column(ForeignKey("initiative.id", ondelete="CASCADE"), unique=True)
    member_id: Mapped[int] = _fk("member.id")
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime]


# ---- Slack installations (multi-workspace OAuth) --------------------------------------------
# The shapes slack_sdk's SQLAlchemy installation and state stores read and write (storage does not
# import platform SDKs, so they are spelled out here; tests/test_slack_oauth.py checks they match).
# Being in our metadata, `alignbot db upgrade` creates them with everything else.


def _slack_token_columns() -> list[Column]:
    return [
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("client_id", String(32), nullable=False),
        Column("app_id", String(32), nullable=False),
        Column("enterprise_id", String(32)),
        Column("enterprise_name", String(200)),
    ]


def _slack_bot_columns() -> list[Column]:
    return [
        Column("team_id", String(32)),
        Column("team_name", String(200)),
        Column("bot_token", String(200)),
        Column("bot_id", String(32)),
        Column("bot_user_id", String(32)),
        Column("bot_scopes", String(1000)),
        Column("bot_refresh_token", String(200)),
        Column("bot_token_expires_at", DateTime),
    ]


SLACK_INSTALLATIONS = Table(
    "slack_installations",
    Base.metadata,
    *_slack_token_columns(),
    Column("enterprise_url", String(200)),
    *_slack_bot_columns(),
    Column("user_id", String(32), nullable=False),
    Column("user_token", String(200)),
    Column("user_scopes", String(1000)),
    Column("user_refresh_token", String(200)),
    Column("user_token_expires_at", DateTime),
    Column("incoming_webhook_url", String(200)),
    Column("incoming_webhook_channel", String(200)),
    Column("incoming_webhook_channel_id", String(200)),
    Column("incoming_webhook_configuration_url", String(200)),
    Column("is_enterprise_install", Boolean, default=False, nullable=False),
    Column("token_type", String(32)),
    Column("installed_at", DateTime, nullable=False, default=func.now()),
    Index("slack_installations_idx", "client_id", "enterprise_id", "team_id", "user_id", "installed_at"),
)
SLACK_BOTS = Table(
    "slack_bots",
    Base.metadata,
    *_slack_token_columns(),
    *_slack_bot_columns(),
    Column("is_enterprise_install", Boolean, default=False, nullable=False),
    Column("installed_at", DateTime, nullable=False, default=func.now()),
    Index("slack_bots_idx", "client_id", "enterprise_id", "team_id", "installed_at"),
)
SLACK_OAUTH_STATES = Table(
    "slack_oauth_states",
    Base.metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("state", String(200), nullable=False),
    Column("expire_at", DateTime, nullable=False),
)
