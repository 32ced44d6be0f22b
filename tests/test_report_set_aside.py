"""Property: whatever mix of live and set-aside items an initiative holds, no withdrawn,
rejected, merged, closed or removed item appears in any live list, count or chart of any
document (the executive summary, the overview, the six deliverables); each appears in its
deliverable's "Set aside" part instead. Pure: snapshots built in memory, no database."""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from handlers.report_rules import INACTIVE_USE_CASE
from handlers.report_summary import executive_summary
from handlers.report_views import DELIVERABLES, Builder
from storage.models import DataSource, Initiative, Kpi, Member, Milestone, Resource, Risk, UseCase
from storage.repos.reports import Snapshot

NOW = datetime(2026, 11, 26, 9, 30, tzinfo=UTC)
T0 = datetime(2026, 11, 2, tzinfo=UTC)
UC_STATUSES = ("proposed", "shortlisted", "approved", *INACTIVE_USE_CASE)


@st.composite
def snapshots(draw) -> Snapshot:
    ini = Initiative(id=1, name="Prop", conversation_id="c", workdays="mon,tue,wed,thu,fri")
    member = Member(id=1, user_id="U1", display_name="Dana", initiative_id=1)
    snap = Snapshot(ini, members={1: member})
    for n, status in enumerate(draw(st.lists(st.sampled_from(UC_STATUSES), min_size=1, max_size=7)), start=1):
        snap.use_cases.append(
            UseCase(
                id=n,
                number=n,
                title=f"Case {n}",
                status=status,
                impact=draw(st.integers(1, 5)),
                feasibility=draw(st.integers(1, 5)),
                data_sources="SRC-1",
                priority_rank=draw(st.none() | st.integers(1, 7)),
                department="",
                description="",
                expected_benefit="",
            )
        )
    ucs = len(snap.use_cases)
    for n in range(1, draw(st.integers(0, 6)) + 1):
        snap.kpis.append(
            Kpi(
                id=n,
                number=n,
                name=f"Metric {n}",
                use_case_id=draw(st.none() | st.integers(1, ucs)),
                status=draw(st.sampled_from(("active", "withdrawn"))),
                baseline=1.0,
                target=2.0,
                unit="",
                direction="increase",
                objective="",
            )
        )
    for n in range(1, draw(st.integers(0, 6)) + 1):
        snap.risks.append(
            Risk(
                id=n,
                number=n,
                title=f"Risk {n}",
                category="c",
                likelihood=draw(st.integers(1, 5)),
                impact=draw(st.integers(1, 5)),
                mitigation=draw(st.sampled_from(("", "Plan"))),
                owner_member_id=1,
                status=draw(st.sampled_from(("open", "mitigating", "closed"))),
            )
        )
        for uc in draw(st.sets(st.integers(1, ucs), max_size=2)):
            snap.risk_links.append((n, uc))
    for n in range(1, draw(st.integers(0, 5)) + 1):
        start = date(2026, 11, 2) + timedelta(days=draw(st.integers(0, 40)))
        snap.milestones.append(
            Milestone(
                id=n,
                number=n,
                name=f"Step {n}",
                start_date=start,
                due_date=start + timedelta(days=draw(st.integers(0, 10))),
                status=draw(st.sampled_from(("open", "done", "removed"))),
                after_milestone_id=n - 1 if n > 1 and draw(st.booleans()) else None,
            )
        )
        snap.milestone_owners.append((n, 1))
        snap.resources.append(
            Resource(
                id=n, number=n, name=f"Res {n}", kind="person", amount=60.0, unit="%", milestone_id=n, owner_member_id=1
            )
        )
    snap.sources.append(DataSource(id=1, number=1, name="Lake", type="db", quality=1, remediation="", issues=""))
    for u in snap.use_cases:
        if u.status in INACTIVE_USE_CASE:
            snap.set_aside_rows.append((f"UC-{u.number}", f"usecase.{u.status}", "Dana", T0, {"reason": "why"}))
    return snap


def set_aside_ids(snap: Snapshot) -> set[str]:
    gone_uc = {u.id for u in snap.use_cases if u.status in INACTIVE_USE_CASE}
    ids = {f"UC-{u.number}" for u in snap.use_cases if u.id in gone_uc}
    ids |= {f"KPI-{k.number}" for k in snap.kpis if k.status == "withdrawn" or k.use_case_id in gone_uc}
    ids |= {f"RISK-{r.number}" for r in snap.risks if r.status == "closed"}
    ids |= {f"MS-{m.number}" for m in snap.milestones if m.status == "removed"}
    return ids


def live_text(doc) -> str:
    """Everything a document shows outside its "Set aside" part, charts' data included."""
    parts = []
    for s in doc.sections:
        if s.heading == "Set aside":
            continue
        parts += [s.heading, s.text, *s.items, *(f"{k}: {v}" for k, v in s.facts)]
        if s.table is not None:
            parts += [" | ".join(row) for row in s.table.rows]
        if s.chart is not None:
            parts.append(json.dumps(s.chart.data))
    return "\n".join(parts)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(snapshots())
def test_no_set_aside_item_counts_anywhere_live(snap):
    b = Builder(snap, ZoneInfo("Europe/Berlin"))
    docs = [executive_summary(b, NOW), b.build("overview", NOW), *(b.build(k, NOW) for k in DELIVERABLES)]
    gone = set_aside_ids(snap)
    for doc in docs:
        text = live_text(doc)
        for ref in gone:
            assert not re.search(rf"\b{ref}\b", text), f"{ref} is set aside but shows in {doc.key}"
    # ... and each is in its deliverable's "Set aside" part.
    aside = {
        row[0]
        for doc in docs
        for s in doc.sections
        if s.heading == "Set aside" and s.table is not None
        for row in s.table.rows
    }
    assert gone <= aside
    # Counts are of the live items only.
    facts = dict(docs[1].sections[0].facts)
    live_ucs = [u for u in snap.use_cases if u.status not in INACTIVE_USE_CASE]
    assert facts["Use cases"].split(" ")[0] == str(len(live_ucs))
    assert facts["KPIs"] == str(sum(1 for k in snap.kpis if f"KPI-{k.number}" not in gone))
    assert facts["Open risks"].split(" ")[0] == str(sum(1 for r in snap.risks if r.status != "closed"))
    heat = [s.chart for s in docs[-2].sections if s.chart is not None]
    if heat:
        assert sum(map(sum, heat[0].data["counts"])) == sum(1 for r in snap.risks if r.status != "closed")
    gantt = [s.chart for s in docs[-1].sections if s.chart is not None]
    if gantt:
        assert len(gantt[0].data["rows"]) == sum(1 for m in snap.milestones if m.status != "removed")
