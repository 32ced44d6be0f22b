"""The executive summary: one page a sponsor reads in a minute, first in every report.

Made only from the snapshot's data (the same live items as the deliverables, never the set-aside
ones), with fixed orders and limits, so the same data and day give the same page: no prose is
invented, every line points at the IDs it comes from.
"""

from __future__ import annotations

from datetime import date, datetime

from handlers import formats
from handlers.report_rules import fmt_day, one_line, risk_level, risk_score
from handlers.report_views import DELIVERABLES, TITLES, Builder, Document, Section, TableData
from handlers.scoring import CRITICAL_SCORE, HIGH_SCORE
from handlers.scoring import score as uc_score
from storage.models import Milestone, Risk, SignOff

TOP = 5  # rows per part: a page, not a register


def executive_summary(b: Builder, now: datetime, stale: dict[str, bool] | None = None) -> Document:
    today = now.astimezone(b.tz).date()
    b.stale = stale
    risks = _high_risks(b)
    order, status = _milestone_statuses(b, today)
    late = [m for m in order if status[m.id] == "overdue"]
    return Document(
        "summary",
        TITLES["summary"],
        b.snap.initiative.name,
        [
            _top_use_cases(b),
            _risk_section(b, risks),
            _gap_section(b),
            Section("Key dates", items=_key_dates(b, order, status, late), empty="No milestones yet."),
            Section("Approvals outstanding", items=_approvals(b, stale or {}), empty="Every deliverable is approved."),
            Section("Decisions needed", items=_decisions(b, risks, late), empty="No decision is waiting."),
        ],
    )


def _ranking_note(b: Builder) -> str:
    """Where the order comes from: a sponsor must see whether people voted it or a score set it."""
    poll = b.priority_poll
    if poll is None:
        return "No poll sets the priority yet: ranked by score (impact x feasibility)."
    ballots = len(b.snap.priority_ballots.get(poll.id, []))
    return (
        f"Ranked by POLL-{poll.number} ({formats.count(ballots)} ballots, "
        f"closed {formats.local(poll.closed_at, b.tz)}), then by score."
    )


def _top_use_cases(b: Builder) -> Section:
    rows = [
        [
            str(u.priority_rank) if u.priority_rank else "-",
            f"UC-{u.number}",
            u.title,
            formats.score(uc_score(u)),
            ", ".join(b.kpis_of[u.id]) or "none yet",
            u.status,
        ]
        for u in b.by_priority[:TOP]
    ]
    return Section(
        "Top use cases",
        text=_ranking_note(b),
        table=TableData(["Rank", "ID", "Use case", "Score", "KPIs", "Status"], rows, "summary_use_cases"),
        empty="No use cases yet.",
    )


def _high_risks(b: Builder) -> list[Risk]:
    """The live risks scoring high or critical, worst first: the table shows the first few, the
    decisions look at all of them."""
    return sorted((r for r in b.live_risks if risk_score(r) >= HIGH_SCORE), key=lambda r: (-risk_score(r), r.number))


def _risk_section(b: Builder, risks: list[Risk]) -> Section:
    rows = [
        [
            f"RISK-{r.number}",
            r.title,
            f"{risk_score(r)} ({risk_level(risk_score(r))})",
            one_line(r.mitigation) or "none yet",
            b.who(r.owner_member_id),
        ]
        for r in risks[:TOP]
    ]
    return Section(
        "Critical and high risks",
        table=TableData(["ID", "Risk", "Score", "Mitigation", "Owner"], rows, "summary_risks"),
        empty="No open risk scores 10 or more.",
    )


def _gap_section(b: Builder) -> Section:
    """The worst gaps first, and among equal ratings the ones blocking most use cases."""
    worst = sorted(b.gaps, key=lambda g: (g[0], -len(g[4]), g[1], g[2]))[:TOP]
    rows = [
        [
            f"SRC-{s.number} {s.name}",
            f"{dim} {rating}",
            ", ".join(f"UC-{u.number}" for u in blocked) or "-",
            one_line(s.remediation) or "none yet",
            b.who(s.remediation_owner_member_id),
        ]
        for rating, _, dim, s, blocked in worst
    ]
    return Section(
        "Main gaps",
        table=TableData(["Source", "Gap", "Blocks", "Remediation", "Owner"], rows, "summary_gaps"),
        empty="No data-source gaps.",
    )


def _milestone_statuses(b: Builder, today: date) -> tuple[list[Milestone], dict[int, str]]:
    order = b.milestone_order()
    return order, {m.id: b.milestone_status(m, today) for m in order}


def _key_dates(b: Builder, order: list[Milestone], status: dict[int, str], late: list[Milestone]) -> list[str]:
    """Every late milestone, then the next few still open, then when the plan ends."""
    upcoming = [m for m in order if status[m.id] != "done" and m not in late][:TOP]
    items = [f"Late: MS-{m.number} {m.name} (due {fmt_day(m.due_date)}, {b.whos(b.owners[m.id])})" for m in late]
    items += [f"MS-{m.number} {m.name}: due {fmt_day(m.due_date)} ({status[m.id]})" for m in upcoming]
    if order:
        items.append(f"Plan ends {fmt_day(max(m.due_date for m in order))}")
    return items


def _approvals(b: Builder, stale: dict[str, bool]) -> list[str]:
    latest = b.latest_sign_offs()
    lines = (_approval_outstanding(b, key, latest.get(key, (None, None))[1], stale) for key in DELIVERABLES)
    return [line for line in lines if line is not None]


def _approval_outstanding(b: Builder, key: str, sign: SignOff | None, stale: dict[str, bool]) -> str | None:
    """What is still missing for one deliverable's approval; None when its approval holds."""
    if sign is None:
        return f"{TITLES[key]}: not requested"
    state, waiting = b.sign_off_state(sign.id)
    if state == "approved" and stale.get(key):
        return f"{TITLES[key]}: SIGN-{sign.number} approved, but changed since"
    if state == "rejected":
        return f"{TITLES[key]}: SIGN-{sign.number} rejected ({b.decisions(sign.id, 'rejected')})"
    if state == "pending":
        return f"{TITLES[key]}: SIGN-{sign.number} waiting for {', '.join(sorted(waiting))}"
    return None


def _decisions(b: Builder, risks: list[Risk], late: list[Milestone]) -> list[str]:
    """What only the sponsors can decide, each naming the IDs it is about (a kind with none is left out)."""
    decisions = []
    if b.priority_poll is None and b.live_use_cases:
        decisions.append("Choose the poll that sets the use cases' priority (`usecase priority from POLL-n`).")
    asks = [
        (
            "Approve or reject the shortlisted use cases: ",
            [f"UC-{u.number}" for u in b.by_priority if u.status == "shortlisted"],
        ),
        (
            "Agree a mitigation for the critical risks ",
            [f"RISK-{r.number}" for r in risks if risk_score(r) >= CRITICAL_SCORE and not r.mitigation.strip()],
        ),
        ("Name a remediation owner for the gaps of ", [f"SRC-{n}" for n in _blocking_sources_without_owner(b)]),
        ("Re-plan or recover the late milestones ", [f"MS-{m.number}" for m in late]),
    ]
    return decisions + [ask + ", ".join(ids) for ask, ids in asks if ids]


def _blocking_sources_without_owner(b: Builder) -> list[int]:
    """Source numbers with a gap that blocks a use case and nobody to remediate it."""
    return sorted({s.number for _, _, _, s, blocked in b.gaps if blocked and s.remediation_owner_member_id is None})
