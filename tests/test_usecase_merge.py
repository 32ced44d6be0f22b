"""`usecase merge UC-keep UC-duplicate` (issue #18): the duplicate's requirements, KPIs and risks
move to the use case kept, the better priority rank follows, the duplicate is set aside as merged
(audited, with who and why), and a bad merge is refused with nothing stored."""

from __future__ import annotations

import re

from sqlalchemy import select

from storage.db import Database
from storage.models import AuditEvent, Kpi, Requirement, RiskUseCase, UseCase
from tests.console import run_console

SETUP = [
    'usecase propose "Churn model" --requirements "Customer table; Daily refresh"',
    'usecase propose "Churn prediction" --description "Who leaves next month" --requirements "Daily refresh; CRM feed"',
    'kpi suggest UC-2 "Churn rate" --baseline 8 --target 5 --unit percent --direction decrease',
    'risk report "No CRM owner" --category other --likelihood 3 --impact 4 --usecase UC-1 UC-2',
    'risk report "Stale CRM" --category "data quality" --likelihood 2 --impact 2 --usecase UC-2',
]
UNKNOWN = "There is no UC-9 in this initiative. `usecase list` shows them."
NOT_FACILITATOR = "Only a facilitator of this initiative can use `usecase merge`."


async def test_a_merge_moves_everything_to_the_use_case_kept(db_url):
    out = run_console(
        [*SETUP, 'usecase merge UC-1 UC-2 --reason "Same model"', "usecase list", "summary usecases"],
        db_url,
    )
    assert "Merged UC-2 Churn prediction into UC-1 Churn model (1 requirement, 1 KPI, 1 risk moved)." in out
    assert re.search(r"UC-2\s+Churn prediction\s+-\s+-\s+-\s+merged", out)  # usecase list shows its status
    priority = out[out.index("Use cases by priority") : out.index("What each use case is")]
    assert "1 live use case(s)" in priority and "UC-2" not in priority
    report = out[out.rindex("Set aside") :]
    assert "UC-2" in report and "merged into UC-1: Same model" in report
    db = Database(db_url)
    async with db.reading() as s:
        uc1, uc2 = (await s.scalars(select(UseCase).order_by(UseCase.number))).all()
        assert (uc2.status, uc2.status_reason) == ("merged", "merged into UC-1: Same model")
        reqs = sorted((await s.scalars(select(Requirement.text).where(Requirement.use_case_id == uc1.id))).all())
        assert reqs == ["CRM feed", "Customer table", "Daily refresh"]  # the shared one once
        assert (await s.scalars(select(Requirement).where(Requirement.use_case_id == uc2.id))).all() == []
        assert [k.use_case_id for k in (await s.scalars(select(Kpi))).all()] == [uc1.id]
        links = sorted((r.risk_id, r.use_case_id) for r in (await s.scalars(select(RiskUseCase))).all())
        assert [u for _, u in links] == [uc1.id, uc1.id]  # RISK-1 once, RISK-2 moved
        assert uc1.description == "Who leaves next month"  # an empty field taken over
        audit = (await s.scalars(select(AuditEvent).where(AuditEvent.action == "usecase.merged"))).one()
        assert audit.entity == "UC-2" and audit.detail["into"] == "UC-1"
    await db.dispose()


async def test_bad_merges_are_refused_and_store_nothing(sqlite_url):
    out = run_console(
        [
            *SETUP,
            "usecase merge UC-1 UC-1",
            "usecase merge UC-1 UC-9",
            'usecase withdraw UC-2 --reason "dup"',
            "usecase merge UC-1 UC-2",
            'usecase propose "Churn scoring" --force',
            'poll start "Which first?" --method single --usecases all --in 3d',
            "usecase merge UC-1 UC-3",
            ":as bob",
            "usecase merge UC-3 UC-1",
        ],
        sqlite_url,
    )
    assert "UC-1 cannot be merged into itself: name the duplicate second." in out
    assert UNKNOWN in out
    assert "UC-2 is withdrawn: only live use cases can be merged." in out
    assert "still counts votes for UC-1 or UC-3: merge once it has closed." in out
    assert NOT_FACILITATOR in out
    db = Database(sqlite_url)
    async with db.reading() as s:
        statuses = (await s.scalars(select(UseCase.status).order_by(UseCase.number))).all()
        assert statuses == ["proposed", "withdrawn", "proposed"]
        assert (await s.scalars(select(AuditEvent).where(AuditEvent.action == "usecase.merged"))).all() == []
    await db.dispose()


def test_the_use_case_kept_takes_the_better_rank_and_only_empty_fields():
    from datetime import UTC, datetime

    from handlers.usecases import take_over

    now = datetime(2026, 11, 16, 9, tzinfo=UTC)
    keep = UseCase(number=1, priority_rank=3, priority_poll_id=7, description="Ours", department="")
    drop = UseCase(number=2, priority_rank=1, priority_poll_id=7, description="Theirs", department="Sales")
    take_over(keep, drop, now)
    assert (keep.priority_rank, keep.description, keep.department, keep.updated_at) == (1, "Ours", "Sales", now)
    worse = UseCase(number=3, priority_rank=5, priority_poll_id=8)
    take_over(keep, worse, now)
    assert (keep.priority_rank, keep.priority_poll_id) == (1, 7)
    unranked = UseCase(number=4, priority_rank=None)
    take_over(keep, unranked, now)
    assert keep.priority_rank == 1
    fresh = UseCase(number=5, priority_rank=None)
    take_over(fresh, UseCase(number=6, priority_rank=2, priority_poll_id=9), now)
    assert (fresh.priority_rank, fresh.priority_poll_id) == (2, 9)
