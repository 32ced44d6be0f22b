"""The executive summary: one page a sponsor reads in a minute, first in every report.

Made only from the snapshot's data (the same live items as the deliverables, never the set-aside
ones), with fixed orders and limits, so the same data and day give the same page: no prose is
invented, every line points at the IDs it comes from.
"""

from __future__ import annotations

from datetime import datetime

from handlers import formats
from handlers.report_rules import fmt_day, one_line, risk_level, risk_score
from handlers.report_views import DELIVERABLES, TITLES, Builder, Document, Section, TableData
from handlers.scoring import CRITICAL_SCORE, HIGH_SCORE
from handlers.scoring import score as uc_score

TOP = 5  # rows per part: a page, not a register


def executive_summary(b: Builder, now: datetime, stale: dict[str, bool] | None = None) -> Document:
    today = now.astimezone(b.tz).date()
    b.stale = stale
    poll = b.priority_poll
    ballots = len(b.snap.priority_ballots.get(poll.id, [])) if poll is not None else 0
    top = b.by_priority[:TOP]
    why = (
        f"Ranked by POLL-{poll.number} ({formats.count(ballots)} ballots, "
        f"closed {formats.local(poll.closed_at, b.tz)}), then by score."
        if poll is not None
        else "No poll sets the priority yet: ranked by score (impact x feasibility)."
    )
    uc_rows = [
        [
            str(u.priority_rank) if u.priority_rank else "-",
            f"UC-{u.number}",
            u.title,
            formats.score(uc_score(u)),
            ", ".join(b.kpis_of[u.id]) or "none yet",
            u.status,
        ]
        for u in top
    ]
    risks = sorted((r for r in b.live_risks if risk_score(r) >= HIGH_SCORE), key=lambda r: (-risk_score(r), r.number))
    risk_rows = [
        [
            f"RISK-{r.number}",
            r.title,
            f"{risk_score(r)} ({risk_level(risk_score(r))})",
            one_line(r.mitigation) or "none yet",
            b.who(r.owner_member_id),
        ]
        for r in risks[:TOP]
    ]
    gap_rows = [
        [
            f"SRC-{s.number} {s.name}",
            f"{dim} {rating}",
            ", ".join(f"UC-{u.number}" for u in blocked) or "-",
            one_line(s.remediation) or "none yet",
            b.who(s.remediation_owner_member_id),
        ]
        for rating, _, dim, s, blocked in sorted(b.gaps, key=lambda g: (g[0], -len(g[4]), g[1], g[2]))[:TOP]
    ]
    order = b.milestone_order()
    status = {m.id: b.milestone_status(m, today) for m in order}
    late = [m for m in order if status[m.id] == "overdue"]
    upcoming = [m for m in order if status[m.id] != "done" and m not in late][:TOP]
    date_items = [
        f"Late: MS-{m.number} {m.name} (due {fmt_day(m.due_date)}, {b.whos(b.owners[m.id])})" for m in late
    ] + [f"MS-{m.number} {m.name}: due {fmt_day(m.due_date)} ({status[m.id]})" for m in upcoming]
    if order:
        date_items.append(f"Plan ends {fmt_day(max(m.due_date for m in order))}")
    approvals = []
    latest = b.latest_sign_offs()
    for key in DELIVERABLES:
        _, sign = latest.get(key, (None, None))
        if sign is None:
            approvals.append(f"{TITLES[key]}: not requested")
            continue
        state, waiting = b.sign_off_state(sign.id)
        if state == "approved" and (stale or {}).get(key):
            approvals.append(f"{TITLES[key]}: SIGN-{sign.number} approved, but changed since")
        elif state == "rejected":
            approvals.append(f"{TITLES[key]}: SIGN-{sign.number} rejected ({b.decisions(sign.id, 'rejected')})")
        elif state == "pending":
            approvals.append(f"{TITLES[key]}: SIGN-{sign.number} waiting for {', '.join(sorted(waiting))}")
    decisions = []
    if poll is None and b.live_use_cases:
        decisions.append("Choose the poll that sets the use cases' priority (`usecase priority from POLL-n`).")
    shortlisted = [u for u in b.by_priority if u.status == "shortlisted"]
    if shortlisted:
        decisions.append(
            "Approve or reject the shortlisted use cases: " + ", ".join(f"UC-{u.number}" for u in shortlisted)
        )
    unmitigated = [r for r in risks if risk_score(r) >= CRITICAL_SCORE and not r.mitigation.strip()]
    if unmitigated:
        decisions.append(
            "Agree a mitigation for the critical risks " + ", ".join(f"RISK-{r.number}" for r in unmitigated)
        )
    unowned = sorted({s.number for _, _, _, s, blocked in b.gaps if blocked and s.remediation_owner_member_id is None})
    if unowned:
        decisions.append("Name a remediation owner for the gaps of " + ", ".join(f"SRC-{n}" for n in unowned))
    if late:
        decisions.append("Re-plan or recover the late milestones " + ", ".join(f"MS-{m.number}" for m in late))
    return Document(
        "summary",
        TITLES["summary"],
        b.snap.initiative.name,
        [
            Section(
                "Top use cases",
                text=why,
                table=TableData(["Rank", "ID", "Use case", "Score", "KPIs", "Status"], uc_rows, "summary_use_cases"),
                empty="No use cases yet.",
            ),
            Section(
                "Critical and high risks",
                table=TableData(["ID", "Risk", "Score", "Mitigation", "Owner"], risk_rows, "summary_risks"),
                empty="No open risk scores 10 or more.",
            ),
            Section(
                "Main gaps",
                table=TableData(["Source", "Gap", "Blocks", "Remediation", "Owner"], gap_rows, "summary_gaps"),
                empty="No data-source gaps.",
            ),
            Section("Key dates", items=date_items, empty="No milestones yet."),
            Section("Approvals outstanding", items=approvals, empty="Every deliverable is approved."),
            Section("Decisions needed", items=decisions, empty="No decision is waiting."),
        ],
    )
