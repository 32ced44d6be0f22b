"""The deliverables as documents of plain-text sections: pure functions of a loaded snapshot.

Every deliverable is built once here and then rendered many ways (chat elements, Markdown, HTML,
CSV, XLSX), so the formats can never disagree. Nothing here touches the database or the clock:
`now` is passed in, and only the overview uses it (the six signable deliverables depend on the
data alone, so a sign-off's hash changes only when the content does).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cached_property
from zoneinfo import ZoneInfo

from handlers.messages import Image
from handlers.polls import chart_for as poll_chart
from handlers.polls import count_tally
from handlers.report_rules import (
    CLOSED_RISK,
    CLOSING_SOON,
    CRITICAL_SCORE,
    DONE_MILESTONE,
    GAP_RATING,
    INACTIVE_USE_CASE,
    fmt_day,
    fmt_local,
    fmt_num,
    gap_severity,
    one_line,
    priority_order,
    raci_findings,
    risk_level,
    risk_score,
    short,
    source_gaps,
    uc_score,
    uses_source,
)
from storage.models import Member, Milestone, UseCase
from storage.repos.reports import Snapshot

DELIVERABLES = ("usecases", "infrastructure", "kpis", "raci", "risks", "plan")
KEYS = ("overview", *DELIVERABLES)
TITLES = {
    "overview": "Assessment overview",
    "usecases": "Prioritized use cases",
    "infrastructure": "Infrastructure report and gap analysis",
    "kpis": "Objectives and KPIs",
    "raci": "RACI matrix and approvals",
    "risks": "Risk register and mitigation plans",
    "plan": "Project plan and resource allocation",
}


@dataclass
class TableData:
    headers: list[str]
    rows: list[list[str]]
    name: str = ""  # the entity, for CSV files and XLSX sheets


@dataclass
class Section:
    heading: str
    text: str = ""
    facts: list[tuple[str, str]] = field(default_factory=list)
    items: list[str] = field(default_factory=list)
    table: TableData | None = None
    chart: Image | None = None
    empty: str = ""  # said instead of the table when it has no rows


@dataclass
class Document:
    key: str
    title: str
    initiative: str
    sections: list[Section]


# ---- the builder ----------------------------------------------------------------------------


class Builder:
    """Indexes a snapshot once (dicts by id) so every deliverable is linear in its data."""

    def __init__(self, snap: Snapshot, tz: ZoneInfo) -> None:
        self.snap = snap
        self.tz = tz
        self.uc_by_id = {u.id: u for u in snap.use_cases}
        self.ms_by_id = {m.id: m for m in snap.milestones}
        self.reqs: dict[int, list[str]] = defaultdict(list)
        for r in snap.requirements:
            self.reqs[r.use_case_id].append(r.text)
        self.kpis_of: dict[int, list[str]] = defaultdict(list)
        for k in snap.kpis:
            if k.use_case_id is not None and k.status != "removed":
                self.kpis_of[k.use_case_id].append(f"KPI-{k.number}")
        self.risks_of: dict[int, list[int]] = defaultdict(list)
        self.ucs_of_risk: dict[int, list[int]] = defaultdict(list)
        for rid, uid in snap.risk_links:
            self.risks_of[uid].append(rid)
            self.ucs_of_risk[rid].append(uid)
        self.risk_by_id = {r.id: r for r in snap.risks}
        self.owners: dict[int, list[int]] = defaultdict(list)
        for mid, member in snap.milestone_owners:
            self.owners[mid].append(member)
        self.active_activities = [a for a in snap.activities if not a.removed]
        self.letters: dict[int, list[str]] = defaultdict(list)
        for a in snap.assignments:
            self.letters[a.activity_id].append(a.role)

    @cached_property
    def by_priority(self) -> list[UseCase]:
        """The use cases in priority order, sorted once for every deliverable that lists them."""
        return priority_order(self.snap.use_cases)

    def who(self, member_id: int | None) -> str:
        m: Member | None = self.snap.members.get(member_id) if member_id is not None else None
        return (m.display_name or m.user_id) if m else "-"

    def whos(self, ids: list[int]) -> str:
        return ", ".join(sorted(self.who(i) for i in ids)) or "-"

    def doc(self, key: str, sections: list[Section]) -> Document:
        return Document(key, TITLES[key], self.snap.initiative.name, sections)

    # ---- 1. prioritized use cases ----

    def usecases(self) -> Document:
        cases = self.by_priority
        rows = []
        for uc in cases:
            s = uc_score(uc)
            risks = sorted(self.risk_by_id[r].number for r in self.risks_of[uc.id])
            rows.append(
                [
                    str(uc.priority_rank) if uc.priority_rank else "-",
                    f"UC-{uc.number}",
                    uc.title,
                    uc.category or "-",
                    str(uc.impact or "-"),
                    str(uc.feasibility or "-"),
                    str(s) if s is not None else "-",
                    self.who(uc.sponsor_member_id),
                    ", ".join(self.kpis_of[uc.id]) or "-",
                    ", ".join(f"RISK-{n}" for n in risks) or "-",
                    uc.status,
                ]
            )
        table = TableData(
            ["Rank", "ID", "Title", "Category", "Impact", "Feasibility", "Score", "Sponsor", "KPIs", "Risks", "Status"],
            rows,
            "use_cases",
        )
        req_rows = [[f"UC-{uc.number}", text] for uc in cases for text in self.reqs[uc.id]]
        points = [
            {"label": f"UC-{u.number}", "x": u.feasibility, "y": u.impact}
            for u in cases
            if u.impact and u.feasibility and u.status not in INACTIVE_USE_CASE
        ]
        ranked = [u for u in cases if u.priority_rank]
        sections = [
            Section(
                "Use cases by priority",
                text=f"{len(cases)} use case(s), ordered by poll rank, then score (impact x feasibility).",
                table=table,
                empty="No use cases yet.",
            ),
            Section(
                "Requirements",
                table=TableData(["Use case", "Requirement"], req_rows, "requirements"),
                empty="No requirements recorded.",
            ),
        ]
        if points:
            sections.append(
                Section(
                    "Impact versus feasibility",
                    chart=Image(
                        alt="Impact versus feasibility of the use cases",
                        title="Impact versus feasibility",
                        chart="matrix",
                        data={"points": points, "xlabel": "Feasibility", "ylabel": "Impact", "title": ""},
                    ),
                )
            )
        if ranked:
            sections.append(self._poll_chart(ranked))
        return self.doc("usecases", sections)

    def _poll_chart(self, ranked: list[UseCase]) -> Section:
        """The closed priority poll's own result chart (its tally) when its ballots are here,
        else the stored ranks drawn as bars."""
        polls = {p.id: p for p in self.snap.polls}
        poll = polls.get(ranked[0].priority_poll_id) if ranked[0].priority_poll_id else None
        stored = self.snap.priority_ballots.get(poll.id, []) if poll else []
        if poll is not None and stored:
            options = [o for o in self.snap.options if o.poll_id == poll.id]
            try:
                tally = count_tally(poll.method, len(options), stored, poll.count_method)
                chart = poll_chart(poll, options, tally, stored)
            except (KeyError, ValueError, TypeError):  # a ballot shape this version cannot count
                chart = None
            if chart is not None:
                return Section(
                    "Priority poll result",
                    text=f"POLL-{poll.number}: {poll.question} ({len(stored)} ballots)",
                    chart=chart,
                )
        worst = max(u.priority_rank or 0 for u in ranked)
        # Bar length is the inverted rank so the top priority has the longest bar.
        return Section(
            "Priority poll result",
            text=f"From POLL-{poll.number}: {poll.question}" if poll else "",
            chart=Image(
                alt="Use cases by priority rank",
                title="Priority ranking",
                chart="bar",
                data={
                    "labels": [short(f"UC-{u.number} {u.title}") for u in ranked],
                    "values": [worst + 1 - (u.priority_rank or 0) for u in ranked],
                    "title": "",
                    "xlabel": "Priority (longer is higher)",
                },
            ),
        )

    # ---- 2. infrastructure and gaps ----

    def infrastructure(self) -> Document:
        inv = [
            [
                f"SRC-{s.number}",
                s.name,
                s.type,
                s.owner or self.who(s.owner_member_id),
                s.size or "-",
                s.refresh or "-",
                str(s.quality or "-"),
                str(s.accessibility or "-"),
                str(s.security or "-"),
                one_line(s.issues) or "-",
            ]
            for s in self.snap.sources
        ]
        gaps = []
        # Only active use cases that name a source can be blocked by one: match those alone,
        # and only against sources that have a gap.
        naming = [u for u in self.snap.use_cases if u.data_sources and u.status not in INACTIVE_USE_CASE]
        for s in self.snap.sources:
            found = source_gaps(s)
            if not found:
                continue
            blocked = [u for u in naming if uses_source(u, s)]
            for dim, rating in found:
                gaps.append((rating, s.number, dim, s, blocked))
        gaps.sort(key=lambda g: (g[0], g[1], g[2]))
        gap_rows = [
            [
                gap_severity(rating),
                f"SRC-{s.number}",
                s.name,
                dim,
                str(rating),
                ", ".join(f"UC-{u.number}" for u in blocked) or "-",
            ]
            for rating, _, dim, s, blocked in gaps
        ]
        return self.doc(
            "infrastructure",
            [
                Section(
                    "Data-source inventory",
                    text="Ratings from 1 (poor) to 5 (good).",
                    table=TableData(
                        ["ID", "Name", "Type", "Owner", "Size", "Refresh", "Quality", "Access", "Security", "Issues"],
                        inv,
                        "data_sources",
                    ),
                    empty="No data sources recorded.",
                ),
                Section(
                    "Gaps",
                    text=f"A rating of {GAP_RATING} or less is a gap; 1 is severe, 2 moderate.",
                    table=TableData(["Severity", "Source", "Name", "Dimension", "Rating", "Blocks"], gap_rows, "gaps"),
                    empty="No gaps: every rated dimension is above 2.",
                ),
            ],
        )

    # ---- 3. objectives and KPIs ----

    def kpis(self) -> Document:
        rows = []
        for k in sorted(
            self.snap.kpis, key=lambda k: (k.use_case_id is None, self._uc_number(k.use_case_id), k.number)
        ):
            uc = self.uc_by_id.get(k.use_case_id) if k.use_case_id else None
            rows.append(
                [
                    f"KPI-{k.number}",
                    k.name,
                    f"UC-{uc.number}" if uc else (one_line(k.objective) or "initiative"),
                    fmt_num(k.baseline),
                    fmt_num(k.target),
                    k.unit or "-",
                    k.direction,
                    fmt_day(k.target_date),
                    self.who(k.owner_member_id),
                    k.status,
                ]
            )
        missing = [
            f"UC-{u.number} {u.title}"
            for u in self.by_priority
            if not self.kpis_of[u.id] and u.status not in INACTIVE_USE_CASE
        ]
        return self.doc(
            "kpis",
            [
                Section(
                    "KPIs",
                    table=TableData(
                        ["ID", "KPI", "For", "Baseline", "Target", "Unit", "Direction", "By", "Owner", "Status"],
                        rows,
                        "kpis",
                    ),
                    empty="No KPIs yet.",
                ),
                Section(
                    "Use cases without a KPI",
                    items=missing,
                    empty="Every active use case has at least one KPI.",
                ),
            ],
        )

    def _uc_number(self, uc_id: int | None) -> int:
        uc = self.uc_by_id.get(uc_id) if uc_id else None
        return uc.number if uc else 0

    # ---- 4. RACI and approvals ----

    def raci(self, *, with_approvals: bool = True, stale: dict[str, bool] | None = None) -> Document:
        role_rows = [[r.role, self.who(r.member_id), r.scope or "-"] for r in self.snap.roles]
        people = sorted(
            {a.member_id for a in self.snap.assignments if a.activity_id in {x.id for x in self.active_activities}},
            key=lambda i: (self.who(i).lower(), i),
        )
        cells: dict[tuple[int, int], str] = defaultdict(str)
        for a in self.snap.assignments:
            cells[(a.activity_id, a.member_id)] += a.role
        order = "RACI"
        matrix = [
            [f"ACT-{act.number}", act.name]
            + ["".join(sorted(cells[(act.id, p)], key=order.index)) or "-" for p in people]
            for act in self.active_activities
        ]
        findings = raci_findings({a.id: f"ACT-{a.number} {a.name}" for a in self.active_activities}, self.letters)
        sections = [
            Section(
                "Programme roles",
                table=TableData(["Role", "Person", "Scope"], role_rows, "project_roles"),
                empty="No programme roles assigned.",
            ),
            Section(
                "RACI matrix",
                text="R responsible, A accountable, C consulted, I informed.",
                table=TableData(["ID", "Activity", *[self.who(p) for p in people]], matrix, "raci"),
                empty="No RACI activities yet.",
            ),
            Section("RACI check", items=findings, empty="No findings: every activity has one A and an R."),
        ]
        if with_approvals:
            sections.append(self.approvals(stale or {}))
        return self.doc("raci", sections)

    def sign_off_state(self, sign_off_id: int) -> tuple[str, list[str]]:
        responses = [r for r in self.snap.responses if r.sign_off_id == sign_off_id]
        decisions = [r.decision for r in responses]
        waiting = [self.who(r.member_id) for r in responses if r.decision == "pending"]
        if "rejected" in decisions:
            return "rejected", waiting
        if responses and all(d == "approved" for d in decisions):
            return "approved", waiting
        return "pending", waiting

    def latest_sign_offs(self) -> dict[str, tuple]:
        """Deliverable key -> (activity, latest sign-off or None)."""
        latest: dict[int, object] = {}
        for s in self.snap.sign_offs:
            latest[s.activity_id] = s
        out = {}
        for act in self.active_activities:
            if act.deliverable:
                out.setdefault(act.deliverable, (act, latest.get(act.id)))
        return out

    def approvals(self, stale: dict[str, bool]) -> Section:
        rows = []
        latest = self.latest_sign_offs()
        for key in DELIVERABLES:
            _, sign = latest.get(key, (None, None))
            if sign is None:
                rows.append([TITLES[key], "-", "not requested", "-", "-"])
                continue
            state, waiting = self.sign_off_state(sign.id)
            if state == "approved" and stale.get(key):
                state = "stale (changed since approval)"
            decided = [r.decided_at for r in self.snap.responses if r.sign_off_id == sign.id and r.decided_at]
            when = fmt_local(max(decided), self.tz) if state.startswith("approved") and decided else "-"
            rows.append([TITLES[key], f"SIGN-{sign.number}", state, ", ".join(sorted(waiting)) or "-", when])
        return Section(
            "Approvals",
            table=TableData(["Deliverable", "Request", "Status", "Waiting for", "Approved"], rows, "approvals"),
        )

    # ---- 5. risks ----

    def risks(self) -> Document:
        ordered = sorted(self.snap.risks, key=lambda r: (-risk_score(r), r.number))
        rows = [
            [
                f"RISK-{r.number}",
                r.title,
                r.category,
                str(r.likelihood),
                str(r.impact),
                str(risk_score(r)),
                risk_level(risk_score(r)),
                self.who(r.owner_member_id),
                one_line(r.mitigation) or "-",
                r.status,
                fmt_day(r.review_date),
                ", ".join(sorted(f"UC-{self.uc_by_id[u].number}" for u in self.ucs_of_risk[r.id])) or "-",
            ]
            for r in ordered
        ]
        history = [
            [
                f"RISK-{self.risk_by_id[c.risk_id].number}",
                fmt_local(c.at, self.tz),
                f"{c.old_likelihood}x{c.old_impact}={c.old_likelihood * c.old_impact}",
                f"{c.new_likelihood}x{c.new_impact}={c.new_likelihood * c.new_impact}",
                self.who(c.member_id),
            ]
            for c in self.snap.score_changes
            if c.risk_id in self.risk_by_id
        ]
        counts = [[0] * 5 for _ in range(5)]
        for r in self.snap.risks:
            if r.status not in CLOSED_RISK and 1 <= r.likelihood <= 5 and 1 <= r.impact <= 5:
                counts[r.likelihood - 1][r.impact - 1] += 1
        sections = [
            Section(
                "Risk register",
                text="Score = likelihood x impact (1-25): critical from 20, high from 10, medium from 5.",
                table=TableData(
                    [
                        "ID",
                        "Risk",
                        "Category",
                        "L",
                        "I",
                        "Score",
                        "Level",
                        "Owner",
                        "Mitigation",
                        "Status",
                        "Review",
                        "Use cases",
                    ],
                    rows,
                    "risks",
                ),
                empty="No risks recorded.",
            ),
            Section(
                "Re-score history",
                table=TableData(["Risk", "When", "From", "To", "By"], history, "risk_history"),
                empty="No risk has been re-scored.",
            ),
        ]
        if self.snap.risks:
            sections.append(
                Section(
                    "Heat map",
                    text="Open risks by likelihood (rows) and impact (columns).",
                    chart=Image(
                        alt="Heat map of open risks by likelihood and impact",
                        title="Risk heat map",
                        chart="heatmap",
                        data={"counts": counts, "title": ""},
                    ),
                )
            )
        return self.doc("risks", sections)

    # ---- 6. plan ----

    def milestone_order(self) -> list[Milestone]:
        return sorted(
            (m for m in self.snap.milestones if m.status != "removed"),
            key=lambda m: (m.start_date or m.due_date, m.due_date, m.number),
        )

    def plan(self) -> Document:
        order = self.milestone_order()
        rows = [
            [
                f"MS-{m.number}",
                m.name,
                fmt_day(m.start_date),
                fmt_day(m.due_date),
                self.whos(self.owners[m.id]),
                m.status,
                f"MS-{self.ms_by_id[m.after_milestone_id].number}" if m.after_milestone_id in self.ms_by_id else "-",
            ]
            for m in order
        ]
        res_rows = []
        totals: dict[tuple[str, str], float] = defaultdict(float)
        for r in sorted(
            self.snap.resources,
            key=lambda r: (self._ms_number(r.milestone_id), r.kind, r.number),
        ):
            ms = self.ms_by_id.get(r.milestone_id) if r.milestone_id else None
            res_rows.append(
                [
                    f"MS-{ms.number}" if ms else "unassigned",
                    r.kind,
                    r.name,
                    fmt_num(r.amount),
                    r.unit or "-",
                    self.who(r.owner_member_id),
                ]
            )
            if r.amount is not None:
                totals[(r.kind, r.unit)] += r.amount
        total_rows = [[kind, fmt_num(v), unit or "-"] for (kind, unit), v in sorted(totals.items())]
        sections = [
            Section(
                "Milestones",
                table=TableData(["ID", "Milestone", "Start", "Due", "Owners", "Status", "After"], rows, "milestones"),
                empty="No milestones yet.",
            )
        ]
        if order:
            sections.append(
                Section(
                    "Timeline",
                    chart=Image(
                        alt="Timeline of the milestones",
                        title="Project timeline",
                        chart="gantt",
                        data={
                            "rows": [
                                {
                                    "label": short(f"MS-{m.number} {m.name}"),
                                    "start": (m.start_date or m.due_date).isoformat(),
                                    "end": m.due_date.isoformat(),
                                    "status": m.status,
                                }
                                for m in order
                            ],
                            "title": "",
                        },
                    ),
                )
            )
        sections += [
            Section(
                "Resources per milestone",
                table=TableData(["Milestone", "Kind", "Resource", "Amount", "Unit", "Owner"], res_rows, "resources"),
                empty="No resources allocated.",
            ),
            Section(
                "Totals per kind",
                table=TableData(["Kind", "Amount", "Unit"], total_rows, "resource_totals"),
                empty="No amounts recorded.",
            ),
        ]
        return self.doc("plan", sections)

    def _ms_number(self, ms_id: int | None) -> int:
        ms = self.ms_by_id.get(ms_id) if ms_id else None
        return ms.number if ms else 1 << 30

    # ---- overview ----

    def overview(self, now: datetime) -> Document:
        snap = self.snap
        today = now.astimezone(self.tz).date()
        by_status: dict[str, int] = defaultdict(int)
        for u in snap.use_cases:
            by_status[u.status] += 1
        open_risks = [r for r in snap.risks if r.status not in CLOSED_RISK]
        order = self.milestone_order()
        facts = [
            (
                "Use cases",
                f"{len(snap.use_cases)} ({', '.join(f'{n} {s}' for s, n in sorted(by_status.items()))})"
                if snap.use_cases
                else "0",
            ),
            ("KPIs", str(len([k for k in snap.kpis if k.status != "removed"]))),
            (
                "Open risks",
                f"{len(open_risks)} ({sum(1 for r in open_risks if risk_score(r) >= CRITICAL_SCORE)} critical)",
            ),
            ("Data sources", f"{len(snap.sources)} ({sum(1 for s in snap.sources if source_gaps(s))} with gaps)"),
            (
                "Polls",
                f"{sum(1 for p in snap.polls if p.status == 'open')} open, "
                f"{sum(1 for p in snap.polls if p.status != 'open')} closed",
            ),
            ("RACI activities", str(len(self.active_activities))),
            ("Milestones", f"{sum(1 for m in order if m.status == 'done')} of {len(order)} done"),
        ]
        changes = [f"{action}: {n}" for action, n in sorted(snap.recent_actions.items())]
        changed = (
            f"Changed since the last digest ({fmt_local(snap.since, self.tz)})"
            if snap.since_digest
            else "Changed in the last 7 days"
        )
        return self.doc(
            "overview",
            [
                Section("State of the assessment", facts=facts),
                Section(changed, items=changes, empty=f"Nothing {changed[0].lower()}{changed[1:]}."),
                Section("Needs attention", items=self.attention(now, today), empty="Nothing needs attention."),
            ],
        )

    def attention(self, now: datetime, today: date) -> list[str]:
        out = []
        for m in self.milestone_order():
            if m.status not in DONE_MILESTONE and m.due_date < today:
                out.append(
                    f"Overdue: MS-{m.number} {m.name} (due {fmt_day(m.due_date)}, {self.whos(self.owners[m.id])})"
                )
        for r in sorted(self.snap.risks, key=lambda r: (-risk_score(r), r.number)):
            if r.status not in CLOSED_RISK and risk_score(r) >= CRITICAL_SCORE and not r.mitigation.strip():
                out.append(f"Critical risk without mitigation: RISK-{r.number} {r.title} (score {risk_score(r)})")
        for u in self.by_priority:
            if not self.kpis_of[u.id] and u.status not in INACTIVE_USE_CASE:
                out.append(f"No KPI: UC-{u.number} {u.title}")
        for act in self.active_activities:
            if "A" not in self.letters[act.id]:
                out.append(f"No one accountable: ACT-{act.number} {act.name}")
        for p in self.snap.polls:
            if p.status == "open" and p.closes_at and now <= p.closes_at <= now + CLOSING_SOON:
                out.append(
                    f"Poll closing soon: POLL-{p.number} {p.question} (closes {fmt_local(p.closes_at, self.tz)})"
                )
        for key, (_, sign) in sorted(
            self.latest_sign_offs().items(), key=lambda kv: DELIVERABLES.index(kv[0]) if kv[0] in DELIVERABLES else 99
        ):
            if sign is None:
                continue
            state, waiting = self.sign_off_state(sign.id)
            if state == "pending":
                out.append(
                    f"Sign-off pending: SIGN-{sign.number} {TITLES.get(key, key)} ({', '.join(sorted(waiting))})"
                )
        return out

    def build(self, key: str, now: datetime, stale: dict[str, bool] | None = None) -> Document:
        if key == "overview":
            return self.overview(now)
        if key == "raci":
            return self.raci(stale=stale)
        return getattr(self, key)()
