"""A fixed sample initiative for the report tests: a retailer's Databricks assessment.

Inserted through the ORM, so it does not wait for the intake, polls, RACI and plan commands.
Everything is deterministic (fixed times, fixed order) so golden files stay byte-identical.
It holds what a real phase leaves behind: a withdrawn and a rejected use case (and a KPI of the
withdrawn one), a withdrawn KPI, a closed risk, a removed milestone with a resource, an overdue
milestone, a person over-allocated in overlapping milestones, a team entered as 2 FTE with an
owner, a rejected sign-off, and the audit rows that say who set each item aside, when and why.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import (
    AuditEvent,
    Ballot,
    DataSource,
    Initiative,
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
    Workspace,
)

NOW = datetime(2026, 11, 26, 9, 30, tzinfo=UTC)  # a Thursday
T0 = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)

PEOPLE = [
    ("U01", "Dana Facilitator", "facilitator"),
    ("U02", "Sam Sponsor", "stakeholder"),
    ("U03", "Olga Owner", "stakeholder"),
    ("U04", "Tariq Tech", "stakeholder"),
    ("U05", "Priya Analyst", "stakeholder"),
    ("U06", "Lee Security", "stakeholder"),
]

# title, category, impact, feasibility, sponsor idx, data sources, status, rank
USE_CASES = [
    ("Demand forecasting per store", "ml", 5, 4, 1, "SRC-1, SRC-2", "approved", 1),
    ("Customer 360 profile", "analytics", 5, 3, 1, "CRM, SRC-1", "approved", 2),
    ("Dynamic pricing", "ml", 4, 2, 1, "SRC-1, SRC-5", "shortlisted", 4),
    ("Migrate legacy ETL to Lakehouse", "migration", 4, 4, 3, "SRC-4", "approved", 3),
    ("Supplier lead-time analytics", "analytics", 3, 4, 2, "SRC-3", "proposed", 6),
    ("Real-time stock alerts", "streaming", 4, 3, 3, "SRC-2", "proposed", 5),
    ("Marketing mix model", "ml", 3, 2, 1, "CRM", "proposed", None),
    ("Self-service BI for stores", "bi", 3, 5, 2, "SRC-1", "proposed", None),
    ("Fraud detection at checkout", "ml", 5, 2, 5, "SRC-1, SRC-5", "proposed", None),
    ("Data quality monitoring", "governance", 2, 5, 3, "", "proposed", None),
    ("GDPR data deletion workflow", "governance", 3, 3, 5, "CRM", "rejected", None),
    ("Energy use dashboard", "bi", 2, 4, 4, "SRC-6", "proposed", None),
    ("Chatbot for store staff", "ml", 3, 3, 3, "SRC-2", "withdrawn", None),
]
DEPARTMENTS = ["Supply chain", "Marketing", "Pricing", "IT", "Procurement", "Stores"]

# name, type, owner idx, size, refresh, quality, access, security, issues
SOURCES = [
    ("POS transactions", "database", 2, "4 TB", "hourly", 4, 3, 4, ""),
    ("Inventory system", "erp", 2, "800 GB", "daily", 2, 3, 4, "Duplicate SKUs across regions"),
    ("Supplier portal", "api", 3, "20 GB", "daily", 3, 1, 3, "No bulk export; rate-limited API"),
    ("Legacy DWH", "database", 3, "12 TB", "nightly", 3, 4, 2, "Stored procedures nobody owns"),
    ("Payments gateway", "stream", 5, "1 TB", "real-time", 4, 2, 1, "PCI scope"),
    ("CRM", "saas", 1, "300 GB", "daily", 2, 2, 3, ""),
]


async def insert_sample(
    session: AsyncSession,
    *,
    name: str = "retail-assessment",
    platform: str = "console",
    workspace: str = "console",
    conversation: str = "",
) -> Initiative:
    ws = Workspace(platform=platform, external_id=workspace, name="Retailer", created_at=T0)
    session.add(ws)
    await session.flush()
    ini = Initiative(
        workspace_id=ws.id,
        conversation_id=conversation or name,
        name=name,
        timezone="Europe/Berlin",
        created_by="U01",
        created_at=T0,
    )
    session.add(ini)
    await session.flush()
    members = []
    for i, (uid, display, role) in enumerate(PEOPLE):
        m = Member(
            initiative_id=ini.id,
            user_id=uid,
            display_name=display,
            role=role,
            joined_at=T0 + timedelta(minutes=i),
        )
        session.add(m)
        members.append(m)
    await session.flush()
    facilitator = members[0]

    poll = Poll(
        initiative_id=ini.id,
        number=1,
        question="Which use cases should we start with?",
        method="ranked",
        count_method="borda",
        status="closed",
        closes_at=T0 + timedelta(days=10),
        closed_at=T0 + timedelta(days=10),
        salt="s1",
        sets_priority=True,
        created_by_member_id=facilitator.id,
        created_at=T0 + timedelta(days=3),
    )
    open_poll = Poll(
        initiative_id=ini.id,
        number=2,
        question="Which cloud region should host the workspace?",
        method="single",
        status="open",
        closes_at=NOW + timedelta(days=2),
        salt="s2",
        created_by_member_id=facilitator.id,
        created_at=NOW - timedelta(days=1),
    )
    session.add_all([poll, open_poll])
    await session.flush()

    cases = []
    for i, (title, cat, imp, feas, sponsor, srcs, status, rank) in enumerate(USE_CASES, start=1):
        uc = UseCase(
            initiative_id=ini.id,
            number=i,
            title=title,
            description=f"{title}: details.",
            department=DEPARTMENTS[i % len(DEPARTMENTS)],
            expected_benefit=f"Benefit of {title.lower()}.",
            status_reason="Duplicate of UC-8" if status == "withdrawn" else "",
            category=cat,
            impact=imp,
            feasibility=feas,
            sponsor_member_id=members[sponsor].id,
            data_sources=srcs,
            status=status,
            priority_rank=rank,
            priority_poll_id=poll.id if rank else None,
            proposer_member_id=members[(i % 5) + 1].id,
            created_at=T0 + timedelta(hours=i),
            updated_at=T0 + timedelta(hours=i),
        )
        session.add(uc)
        cases.append(uc)
    await session.flush()
    for pos, uc in enumerate(cases[:6], start=1):
        session.add(PollOption(poll_id=poll.id, position=pos, label=uc.title, use_case_id=uc.id))
    session.add_all(
        [
            PollOption(poll_id=open_poll.id, position=1, label="West Europe"),
            PollOption(poll_id=open_poll.id, position=2, label="North Europe"),
        ]
    )
    rankings = [[1, 2, 4, 3, 6, 5], [2, 1, 4, 3, 5, 6], [1, 4, 2, 6, 3, 5], [1, 2, 3, 4, 5, 6], [4, 1, 2, 3, 6, 5]]
    for i, (m, ranking) in enumerate(zip(members[:5], rankings, strict=True)):
        session.add(Participation(poll_id=poll.id, member_id=m.id, voted_at=T0 + timedelta(days=5)))
        session.add(Ballot(poll_id=poll.id, voter_key=f"key{i}", choices={"rank": ranking}, updated_at=T0))
    session.add(Participation(poll_id=open_poll.id, member_id=members[1].id, voted_at=NOW - timedelta(hours=3)))

    for uc, texts in [
        (cases[0], ["Daily forecasts per store and SKU", "Explainable drivers for planners"]),
        (cases[1], ["Single customer id across channels"]),
        (cases[3], ["Parallel run for one month", "Lineage for every migrated table"]),
        (cases[5], ["Alerts within 5 minutes of a stock-out"]),
    ]:
        for t in texts:
            session.add(Requirement(use_case_id=uc.id, text=t, created_by_member_id=members[4].id, created_at=T0))

    kpis = [
        (cases[0], "", "Forecast accuracy (MAPE)", 32.0, 18.0, "%", "decrease", date(2027, 6, 30), 1),
        (cases[0], "", "Out-of-stock rate", 7.5, 4.0, "%", "decrease", date(2027, 9, 30), 2),
        (cases[1], "", "Campaign conversion", 2.1, 3.0, "%", "increase", date(2027, 12, 31), 1),
        (cases[3], "", "Nightly batch duration", 6.0, 2.0, "hours", "decrease", date(2027, 3, 31), 3),
        (cases[5], "", "Alert latency", 240.0, 5.0, "minutes", "decrease", None, 3),
        (
            None,
            "Reduce platform cost",
            "Data platform cost",
            1200000.0,
            900000.0,
            "EUR/year",
            "decrease",
            date(2027, 12, 31),
            0,
        ),
    ]
    kpis += [
        (cases[12], "", "Staff questions answered", 0.0, 500.0, "per day", "increase", None, 3),
        (cases[0], "", "Planner hours saved", 1234.5678, 2000.0, "hours", "increase", None, 4),
    ]
    for n, (uc, objective, kname, base, target, unit, direction, when, owner) in enumerate(kpis, start=1):
        session.add(
            Kpi(
                initiative_id=ini.id,
                number=n,
                use_case_id=uc.id if uc else None,
                objective=objective,
                name=kname,
                baseline=base,
                target=target,
                unit=unit,
                direction=direction,
                target_date=when,
                owner_member_id=members[owner].id,
                status="withdrawn" if n == 8 else "active",
                created_by_member_id=facilitator.id,
                created_at=T0,
                updated_at=T0,
            )
        )

    risks = [
        ("Skills gap in Spark", "skills gap", 4, 4, "Training plan with the vendor; pair programming", 3, "open"),
        ("PCI data leaks into the lake", "security", 3, 5, "", 5, "open"),
        ("Legacy DWH decommission slips", "schedule", 4, 3, "Freeze new DWH work from January", 2, "open"),
        ("Budget cut in Q2", "budget", 2, 4, "Phase the rollout", 1, "open"),
        ("Vendor lock-in", "strategy", 2, 2, "Open table formats (Delta)", 3, "closed"),
        ("Store network bandwidth", "infrastructure", 5, 4, "", 3, "open"),
        ("Key analyst leaves", "skills gap", 3, 4, "", None, "open"),
    ]
    risk_rows = []
    for n, (title, cat, lik, imp, mit, owner, status) in enumerate(risks, start=1):
        r = Risk(
            initiative_id=ini.id,
            number=n,
            title=title,
            category=cat,
            likelihood=lik,
            impact=imp,
            mitigation=mit,
            owner_member_id=members[owner].id if owner is not None else None,
            status=status,
            review_date=date(2026, 11, 20) if n == 3 else date(2026, 12, 15) if n % 2 else None,
            created_by_member_id=facilitator.id,
            created_at=T0,
            updated_at=T0,
        )
        session.add(r)
        risk_rows.append(r)
    await session.flush()
    for r, uc in [(0, 0), (0, 1), (1, 8), (2, 3), (5, 5)]:
        session.add(RiskUseCase(risk_id=risk_rows[r].id, use_case_id=cases[uc].id))
    session.add_all(
        [
            RiskScoreChange(
                risk_id=risk_rows[0].id,
                member_id=members[3].id,
                old_likelihood=3,
                old_impact=4,
                new_likelihood=4,
                new_impact=4,
                at=T0 + timedelta(days=7, hours=5),
            ),
            RiskScoreChange(
                risk_id=risk_rows[2].id,
                member_id=facilitator.id,
                old_likelihood=2,
                old_impact=3,
                new_likelihood=4,
                new_impact=3,
                at=NOW - timedelta(days=2),
            ),
        ]
    )

    for n, (sname, stype, owner, size, refresh, q, a, s, issues) in enumerate(SOURCES, start=1):
        session.add(
            DataSource(
                initiative_id=ini.id,
                number=n,
                name=sname,
                type=stype,
                owner_member_id=members[owner].id,
                size=size,
                refresh=refresh,
                quality=q,
                accessibility=a,
                security=s,
                issues=issues,
                remediation="Tokenise card data before it lands" if n == 5 else "",
                remediation_owner_member_id=members[5].id if n == 5 else None,
                created_by_member_id=facilitator.id,
                created_at=T0,
                updated_at=T0,
            )
        )

    for role, idx, rscope in [
        ("Executive sponsor", 1, ""),
        ("Data owner", 2, "POS and inventory"),
        ("Data owner", 5, "Payments"),
        ("Technical lead", 3, "Platform"),
        ("Business analyst", 4, ""),
    ]:
        session.add(
            ProjectRole(initiative_id=ini.id, member_id=members[idx].id, role=role, scope=rscope, created_at=T0)
        )

    milestones = []
    for n, (mname, start, due, status) in enumerate(
        [
            ("Kick-off and stakeholder map", date(2026, 11, 2), date(2026, 11, 6), "done"),
            ("Use-case intake closed", date(2026, 11, 9), date(2026, 11, 20), "done"),
            ("Infrastructure assessment", date(2026, 11, 16), date(2026, 11, 25), "open"),
            ("Risk workshop", date(2026, 11, 30), date(2026, 12, 2), "open"),
            ("Roadmap sign-off", date(2026, 12, 7), date(2026, 12, 18), "open"),
            ("Vendor selection", date(2026, 11, 23), date(2026, 12, 4), "removed"),
            ("Steering committee", date(2026, 12, 21), date(2026, 12, 21), "open"),
        ],
        start=1,
    ):
        m = Milestone(
            initiative_id=ini.id,
            number=n,
            name=mname,
            start_date=start,
            due_date=due,
            status=status,
            done_at=datetime(2026, due.month, due.day, 16, tzinfo=UTC) if status == "done" else None,
            created_at=T0,
        )
        session.add(m)
        milestones.append(m)
    await session.flush()
    for i in range(1, 5):
        milestones[i].after_milestone_id = milestones[i - 1].id
    milestones[6].after_milestone_id = milestones[4].id
    for mi, owner in [(0, 0), (1, 0), (2, 3), (2, 2), (3, 0), (4, 1)]:
        session.add(MilestoneOwner(milestone_id=milestones[mi].id, member_id=members[owner].id))
    for n, (rname, kind, amount, unit, mi, owner) in enumerate(
        [
            ("Solution architect", "people", 10.0, "days", 2, 3),
            ("Data engineer", "people", 15.0, "days", 2, 3),
            ("Workshop facilitation", "people", 2.0, "days", 3, 0),
            ("Assessment budget", "budget", 25000.0, "EUR", 4, 1),
            ("Sandbox workspace", "infrastructure", 1.0, "workspace", 2, 3),
            ("Travel", "budget", 3000.0, "EUR", None, 0),
            ("Vendor demos", "budget", 5000.0, "EUR", 5, 1),
            ("Platform engineering", "person", 60.0, "%", 2, 3),
            ("Pipeline build", "person", 50.0, "%", 2, 3),
            ("Data engineering team", "person", 2.0, "FTE", 4, 2),
        ],
        start=1,
    ):
        session.add(
            Resource(
                initiative_id=ini.id,
                number=n,
                name=rname,
                kind=kind,
                amount=amount,
                unit=unit,
                milestone_id=milestones[mi].id if mi is not None else None,
                owner_member_id=members[owner].id,
                created_at=T0,
            )
        )

    ws_id, by_name = ws.id, {m.display_name: m for m in members}

    def audit(action: str, entity: str, who: str, at: datetime, **detail) -> None:
        m = by_name[who]
        session.add(
            AuditEvent(
                workspace_id=ws_id,
                initiative_id=ini.id,
                actor_user_id=m.user_id,
                actor_name=who,
                action=action,
                entity=entity,
                detail=detail,
                at=at,
            )
        )

    audit("usecase.rejected", "UC-11", "Dana Facilitator", T0 + timedelta(days=4), reason="Legal runs it")
    audit("usecase.withdrawn", "UC-13", "Tariq Tech", NOW - timedelta(days=3), reason="Duplicate of UC-8")
    audit("kpi.withdraw", "KPI-8", "Priya Analyst", NOW - timedelta(days=2), reason="Not measurable yet")
    audit("risk.update", "RISK-5", "Tariq Tech", T0 + timedelta(days=9), changed={"status": ["open", "closed"]})
    audit("milestone.remove", "MS-6", "Dana Facilitator", NOW - timedelta(days=1), cancelled_reminders=2)
    for k in range(1, 4):
        audit("kpi.suggest", f"KPI-{k}", "Priya Analyst", NOW - timedelta(days=5, hours=k))
    audit("usecase.propose", "UC-12", "Olga Owner", NOW - timedelta(days=4))
    audit("signoff.request", "SIGN-3", "Dana Facilitator", NOW - timedelta(days=2))
    audit("kpi.suggest", "KPI-1", "Priya Analyst", NOW - timedelta(days=9))  # older than the window

    activities = []
    for n, (aname, deliverable) in enumerate(
        [
            ("Prioritise use cases", "usecases"),
            ("Assess infrastructure", "infrastructure"),
            ("Define KPIs", "kpis"),
            ("Maintain risk register", "risks"),
            ("Project plan", "plan"),
            ("Security review", None),
        ],
        start=1,
    ):
        a = RaciActivity(initiative_id=ini.id, number=n, name=aname, deliverable=deliverable, created_at=T0)
        session.add(a)
        activities.append(a)
    await session.flush()
    for ai, mi, role in [
        (0, 1, "A"),
        (0, 4, "R"),
        (0, 0, "C"),
        (0, 2, "I"),
        (1, 3, "A"),
        (1, 3, "R"),
        (1, 2, "C"),
        (2, 1, "A"),
        (2, 4, "R"),
        (3, 0, "A"),
        (3, 5, "R"),
        (3, 3, "C"),
        (4, 0, "R"),
        (4, 1, "I"),
        (5, 5, "R"),
        (5, 3, "C"),
    ]:
        session.add(
            RaciAssignment(
                activity_id=activities[ai].id,
                member_id=members[mi].id,
                role=role,
                assigned_by_member_id=facilitator.id,
                created_at=T0,
            )
        )
    await session.flush()
    return ini


async def add_sign_offs(session: AsyncSession, ini: Initiative, hashes: dict[str, str]) -> None:
    """SIGN-1 use cases approved (with the given hash), SIGN-2 KPIs pending for the sponsor,
    SIGN-3 risks rejected by the security lead (with why)."""
    from sqlalchemy import select

    acts = {a.deliverable: a for a in (await session.execute(select(RaciActivity))).scalars()}
    members = {m.user_id: m for m in (await session.execute(select(Member))).scalars()}
    s1 = SignOff(
        initiative_id=ini.id,
        number=1,
        activity_id=acts["usecases"].id,
        requested_by_member_id=members["U01"].id,
        content_hash=hashes["usecases"],
        snapshot="(snapshot)",
        created_at=T0 + timedelta(days=12),
    )
    s2 = SignOff(
        initiative_id=ini.id,
        number=2,
        activity_id=acts["kpis"].id,
        requested_by_member_id=members["U01"].id,
        content_hash=hashes["kpis"],
        snapshot="(snapshot)",
        due_date=date(2026, 12, 1),
        created_at=NOW - timedelta(days=1),
    )
    s3 = SignOff(
        initiative_id=ini.id,
        number=3,
        activity_id=acts["risks"].id,
        requested_by_member_id=members["U01"].id,
        content_hash="0" * 64,
        snapshot="(snapshot)",
        created_at=NOW - timedelta(days=2),
    )
    session.add_all([s1, s2, s3])
    await session.flush()
    session.add_all(
        [
            SignOffResponse(
                sign_off_id=s1.id,
                member_id=members["U02"].id,
                decision="approved",
                decided_at=T0 + timedelta(days=13, hours=2),
            ),
            SignOffResponse(sign_off_id=s2.id, member_id=members["U02"].id, decision="pending"),
            SignOffResponse(
                sign_off_id=s2.id,
                member_id=members["U05"].id,
                decision="approved",
                decided_at=NOW - timedelta(hours=5),
            ),
            SignOffResponse(
                sign_off_id=s3.id,
                member_id=members["U06"].id,
                decision="rejected",
                comment="Name an owner for the PCI mitigation",
                decided_at=NOW - timedelta(days=1),
            ),
        ]
    )
    await session.flush()
