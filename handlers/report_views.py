"""The deliverables as documents of plain-text sections: pure functions of a loaded snapshot.

Every deliverable is built once here and then rendered many ways (chat elements, Markdown, HTML,
CSV, XLSX), so the formats can never disagree. Nothing here touches the database or the clock:
`now` is passed in, and only the overview uses it (the six signable deliverables depend on the
data alone, so a sign-off's hash changes only when the content does).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cached_property
from typing import TypeVar
from zoneinfo import ZoneInfo

from handlers import formats
from handlers import plan_rules as plan
from handlers.messages import Image
from handlers.polls import chart_for as poll_chart
from handlers.polls import count_tally
from handlers.raci_rules import check_matrix
from handlers.report_rules import (
    CLOSING_SOON,
    GAP_RATING,
    changes_in_words,
    fmt_day,
    fmt_local,
    fmt_num,
    gap_severity,
    is_set_aside,
    one_line,
    priority_order,
    risk_level,
    risk_score,
    sets_aside,
    short,
    source_gaps,
    uses_source,
)
from handlers.scoring import CRITICAL_SCORE, HIGH_SCORE
from handlers.scoring import score as uc_score
from storage.models import DataSource, Kpi, Member, Milestone, Poll, Resource, Risk, SignOff, UseCase
from storage.repos.reports import Snapshot

DELIVERABLES = ("usecases", "infrastructure", "kpis", "raci", "risks", "plan")
KEYS = ("summary", "overview", *DELIVERABLES)
TITLES = {
    "summary": "Executive summary",
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


SET_ASIDE_HEADERS = ["ID", "Title", "Status", "Set aside by", "When", "Why"]
USE_CASE_HEADERS = [
    "Rank",
    "ID",
    "Title",
    "Department",
    "Category",
    "Impact",
    "Feasibility",
    "Score",
    "Sponsor",
    "KPIs",
    "Risks",
    "Status",
]
RISK_HEADERS = [
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
]


SHARE_UNITS = ("fte", "ftes", "%", "percent", "pct")


def _is_share(r: Resource) -> bool:
    return (r.unit or "").strip().lower() in SHARE_UNITS


def live_only(chart: Image, gone: set[str]) -> Image:
    """A poll's result chart without the options set aside since it closed."""
    if not gone:
        return chart
    data = dict(chart.data)
    if "points" in data:
        data["points"] = [p for p in data["points"] if p["label"] not in gone]
    if "labels" in data:
        pairs = [(lab, v) for lab, v in zip(data["labels"], data["values"], strict=False) if lab not in gone]
        data["labels"], data["values"] = [p[0] for p in pairs], [p[1] for p in pairs]
    return Image(alt=chart.alt, title=chart.title, chart=chart.chart, data=data)


def table_section(
    heading: str, headers: list[str], rows: list[list[str]], name: str, empty: str, text: str = ""
) -> Section:
    """A part of a document that is one table; `name` names its CSV file and XLSX sheet."""
    return Section(heading, text=text, table=TableData(headers, rows, name), empty=empty)


K = TypeVar("K")
V = TypeVar("V")


def _grouped(pairs: Iterable[tuple[K, V]]) -> defaultdict[K, list[V]]:
    """key -> its values in the order given; a key with none reads as [] (a defaultdict)."""
    out: defaultdict[K, list[V]] = defaultdict(list)
    for key, value in pairs:
        out[key].append(value)
    return out


def _who_set_aside(rows: list[tuple[str, str, str, datetime, dict]]) -> dict[str, tuple[str, datetime, str]]:
    """Who set each item aside, when and why: the latest audit row that did (rows come oldest first)."""
    out: dict[str, tuple[str, datetime, str]] = {}
    for entity, action, who, at, detail in rows:
        if sets_aside(action, detail):
            out[entity] = (who, at, str(detail.get("reason") or ""))
    return out


# ---- the builder ----------------------------------------------------------------------------


class Builder:
    """Indexes a snapshot once (dicts by id) so every deliverable is linear in its data."""

    def __init__(self, snap: Snapshot, tz: ZoneInfo) -> None:
        self.snap = snap
        self.tz = tz
        self.stale: dict[str, bool] | None = None  # deliverable -> changed since approved, when known
        self.calendar = plan.Calendar(plan.parse_workdays(snap.initiative.workdays or "mon-fri"), snap.holidays)
        self.uc_by_id = {u.id: u for u in snap.use_cases}
        self.ms_by_id = {m.id: m for m in snap.milestones}
        self.risk_by_id = {r.id: r for r in snap.risks}
        self.set_aside_by = _who_set_aside(snap.set_aside_rows)
        self._split_live()
        self._index_links()

    def _split_live(self) -> None:
        """Live and set-aside items, split once: no live list, count, chart or score below reads
        anything but the live ones. A KPI of a set-aside use case measures nothing live."""
        snap = self.snap
        self.live_use_cases = [u for u in snap.use_cases if not is_set_aside("UC", u.status)]
        live_uc_ids = {u.id for u in self.live_use_cases}
        self.live_kpis = [
            k
            for k in snap.kpis
            if not is_set_aside("KPI", k.status) and (k.use_case_id is None or k.use_case_id in live_uc_ids)
        ]
        self.live_risks = [r for r in snap.risks if not is_set_aside("RISK", r.status)]
        self.active_activities = [a for a in snap.activities if not a.removed]

    def _index_links(self) -> None:
        """What belongs to each item, by its id; a link between live items only."""
        snap = self.snap
        live_uc_ids = {u.id for u in self.live_use_cases}
        live_risk_ids = {r.id for r in self.live_risks}
        self.reqs: dict[int, list[str]] = _grouped((r.use_case_id, r.text) for r in snap.requirements)
        self.kpis_of: dict[int, list[str]] = _grouped(
            (k.use_case_id, f"KPI-{k.number}") for k in self.live_kpis if k.use_case_id is not None
        )
        links = [(rid, uid) for rid, uid in snap.risk_links if rid in live_risk_ids and uid in live_uc_ids]
        self.risks_of: dict[int, list[int]] = _grouped((uid, rid) for rid, uid in links)
        self.ucs_of_risk: dict[int, list[int]] = _grouped(links)
        self.owners: dict[int, list[int]] = _grouped(snap.milestone_owners)
        self.letters: dict[int, list[str]] = _grouped((a.activity_id, a.role) for a in snap.assignments)

    @cached_property
    def live_sources(self) -> list[DataSource]:
        return [s for s in self.snap.sources if not is_set_aside("SRC", s.status)]

    @cached_property
    def merged_into(self) -> dict[int, list[DataSource]]:
        """What was merged into each source: a use case naming the duplicate needs the one kept."""
        out: dict[int, list[DataSource]] = defaultdict(list)
        for s in self.snap.sources:
            if s.status == "merged" and s.merged_into_id is not None:
                out[s.merged_into_id].append(s)
        return out

    def set_aside_sources(self) -> Section:
        return self.set_aside_items("SRC", self.snap.sources, lambda s: s.name, "data sources", "data_sources")

    def set_aside_items(self, kind: str, items: Iterable, title: Callable, what: str, name: str) -> Section:
        """The "Set aside" part of the items of one kind (UC, RISK, SRC) whose status sets them aside."""
        rows = [
            self.set_aside_row(f"{kind}-{x.number}", title(x), x.status) for x in items if is_set_aside(kind, x.status)
        ]
        return self.set_aside_section(rows, what, name)

    def sources_fact(self) -> tuple[str, str]:
        gaps = sum(1 for s in self.live_sources if source_gaps(s))
        return ("Data sources", f"{len(self.live_sources)} ({gaps} with gaps)")

    @cached_property
    def by_priority(self) -> list[UseCase]:
        """The live use cases in priority order, sorted once for every deliverable that lists them."""
        return priority_order(self.live_use_cases)

    def set_aside_row(self, ref: str, title: str, status: str) -> list[str]:
        who, at, why = self.set_aside_by.get(ref, ("-", None, ""))
        return [ref, title, status, who or "-", fmt_local(at, self.tz), one_line(why) or "-"]

    def set_aside_section(self, rows: list[list[str]], what: str, name: str) -> Section:
        """`name` names the table's CSV file and XLSX sheet (a sheet name has at most 31 characters)."""
        return Section(
            "Set aside",
            text=f"Withdrawn, rejected, closed or removed {what}: counted nowhere above.",
            table=TableData(SET_ASIDE_HEADERS, rows, f"{name}_set_aside"),
            empty=f"No {what} set aside.",
        )

    def set_aside_kpis(self) -> list[list[str]]:
        live = {k.id for k in self.live_kpis}
        rows = []
        for k in self.snap.kpis:
            if k.id in live:
                continue
            uc = self.uc_by_id.get(k.use_case_id) if k.use_case_id else None
            if is_set_aside("KPI", k.status) or uc is None:
                rows.append(self.set_aside_row(f"KPI-{k.number}", k.name, k.status))
            else:  # its use case is set aside, so it measures nothing live
                row = self.set_aside_row(f"UC-{uc.number}", k.name, f"{uc.status} use case")
                rows.append([f"KPI-{k.number}", *row[1:]])
        return rows

    def milestone_status(self, m: Milestone, today: date | None) -> str:
        """The one status of a milestone that `plan show`, the plan deliverable, the Gantt, the
        digest and the Home tab all show (handlers.plan_rules.status). Without a day (the
        signable text, which must not change with the clock) it is the recorded open or done."""
        if m.status == "removed":
            return "removed"
        if today is None:
            return m.status
        item = plan.PlanItem(m.id, m.due_date, m.after_milestone_id, m.start_date, m.status == "done")
        return plan.status(item, today, self.calendar)

    def over_allocation(self) -> dict[str, tuple[float, list[int]]]:
        """Person -> (peak share, milestones) above 100 % in overlapping open milestones,
        computed once for the plan deliverable and "Needs attention" (as `plan resources`)."""
        live = {m.id: m for m in self.milestone_order() if m.status != "done"}
        return plan.over_allocated(
            plan.allocations(
                (
                    r.kind,
                    r.amount,
                    r.unit,
                    self.who(r.owner_member_id) if r.owner_member_id is not None else None,
                    live[r.milestone_id].number if r.milestone_id in live else None,
                    live[r.milestone_id].start_date if r.milestone_id in live else None,
                    live[r.milestone_id].due_date if r.milestone_id in live else None,
                )
                for r in self.snap.resources
            )
        )

    @cached_property
    def priority_poll(self):
        """The poll the live ranks come from, if any."""
        polls = {p.id: p for p in self.snap.polls}
        for u in self.by_priority:
            if u.priority_poll_id in polls:
                return polls[u.priority_poll_id]
        return None

    def raci_issues(self) -> list[str]:
        """What `raci check` lists (handlers.raci_rules.check_matrix, default overload), so the
        deliverable and the command never disagree."""
        cells: dict[int, dict[int, frozenset[str]]] = defaultdict(dict)
        for a in self.snap.assignments:
            held = cells[a.activity_id]
            held[a.member_id] = held.get(a.member_id, frozenset()) | {a.role}
        members = sorted(self.snap.members.values(), key=lambda m: m.id)
        issues = check_matrix(
            {f"ACT-{a.number} {a.name}": cells[a.id] for a in self.active_activities},
            {m.id: self.who(m.id) for m in members},
            inactive=[m.id for m in members if not m.active],
        )
        return [i.message for i in issues]

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
        sections = [
            table_section(
                "Use cases by priority",
                USE_CASE_HEADERS,
                [self._use_case_row(uc) for uc in cases],
                "use_cases",
                "No use cases yet.",
                text=f"{len(cases)} live use case(s), ordered by poll rank, then score (impact x feasibility). "
                + self._priority_source(),
            ),
            table_section(
                "What each use case is",
                ["ID", "Title", "Description", "Expected benefit"],
                [
                    [f"UC-{uc.number}", uc.title, one_line(uc.description) or "-", one_line(uc.expected_benefit) or "-"]
                    for uc in cases
                ],
                "use_case_details",
                "No use cases yet.",
            ),
            table_section(
                "Requirements",
                ["Use case", "Requirement"],
                [[f"UC-{uc.number}", text] for uc in cases for text in self.reqs[uc.id]],
                "requirements",
                "No requirements recorded.",
            ),
        ]
        scored = [u for u in cases if u.impact and u.feasibility]
        if scored:
            sections.append(self._impact_feasibility_chart(scored))
        ranked = [u for u in cases if u.priority_rank]
        if ranked:
            sections.append(self._poll_chart(ranked))
        sections.append(self.set_aside_items("UC", self.snap.use_cases, lambda u: u.title, "use cases", "use_cases"))
        return self.doc("usecases", sections)

    def _use_case_row(self, uc: UseCase) -> list[str]:
        risks = sorted(self.risk_by_id[r].number for r in self.risks_of[uc.id])
        return [
            str(uc.priority_rank) if uc.priority_rank else "-",
            f"UC-{uc.number}",
            uc.title,
            one_line(uc.department) or "-",
            uc.category or "-",
            formats.score(uc.impact),
            formats.score(uc.feasibility),
            formats.score(uc_score(uc)),
            self.who(uc.sponsor_member_id),
            ", ".join(self.kpis_of[uc.id]) or "-",
            ", ".join(f"RISK-{n}" for n in risks) or "-",
            uc.status,
        ]

    def _priority_source(self) -> str:
        """Where the ranks come from, so a reader knows whether people voted the order."""
        poll = self.priority_poll
        if poll is None:
            return "No poll sets the priority yet (`usecase priority from POLL-n`): ordered by score."
        return f"Priority from POLL-{poll.number} ({poll.question}), closed {fmt_local(poll.closed_at, self.tz)}."

    def _impact_feasibility_chart(self, scored: list[UseCase]) -> Section:
        points = [{"label": f"UC-{u.number}", "x": u.feasibility, "y": u.impact} for u in scored]
        return Section(
            "Impact versus feasibility",
            chart=Image(
                alt="Impact versus feasibility of the use cases",
                title="Impact versus feasibility",
                chart="matrix",
                data={"points": points, "xlabel": "Feasibility", "ylabel": "Impact", "title": ""},
            ),
        )

    def _poll_chart(self, ranked: list[UseCase]) -> Section:
        """The closed priority poll's own result chart (its tally) when its ballots are here,
        else the stored ranks drawn as bars."""
        polls = {p.id: p for p in self.snap.polls}
        poll = polls.get(ranked[0].priority_poll_id) if ranked[0].priority_poll_id else None
        stored = self.snap.priority_ballots.get(poll.id, []) if poll else []
        counted = self._tally_chart(poll, stored) if poll is not None and stored else None
        if counted is not None:
            return counted
        return self._rank_bars(ranked, poll)

    def _tally_chart(self, poll: Poll, stored: list[dict]) -> Section | None:
        """The poll's result chart counted again from its ballots, without set-aside options."""
        options = [o for o in self.snap.options if o.poll_id == poll.id]
        try:
            tally = count_tally(poll.method, len(options), stored, poll.count_method)
            chart = live_only(poll_chart(poll, options, tally, stored), self.set_aside_labels(options))
        except (KeyError, ValueError, TypeError):  # a ballot shape this version cannot count
            return None
        if chart is None:
            return None
        return Section(
            "Priority poll result",
            text=f"POLL-{poll.number}: {poll.question} ({len(stored)} ballots)",
            chart=chart,
        )

    def _rank_bars(self, ranked: list[UseCase], poll: Poll | None) -> Section:
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

    def set_aside_labels(self, options) -> set[str]:
        """The labels of a poll's options whose use case is set aside (they leave its chart)."""
        return {
            o.label
            for o in options
            if o.use_case_id in self.uc_by_id and is_set_aside("UC", self.uc_by_id[o.use_case_id].status)
        }

    # ---- 2. infrastructure and gaps ----

    @cached_property
    def gaps(self) -> list[tuple]:
        """(rating, source number, dimension, source, live use cases it blocks), worst first."""
        gaps = []
        # Only live use cases that name a source can be blocked by one: match those alone,
        # and only against sources that have a gap.
        naming = [u for u in self.live_use_cases if u.data_sources]
        for s in self.live_sources:
            found = source_gaps(s)
            if not found:
                continue
            blocked = [u for u in naming if uses_source(u, s, self.merged_into.get(s.id, ()))]
            for dim, rating in found:
                gaps.append((rating, s.number, dim, s, blocked))
        gaps.sort(key=lambda g: (g[0], g[1], g[2]))
        return gaps

    def inventory_row(self, s: DataSource) -> list[str]:
        return [
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

    def infrastructure(self) -> Document:
        gap_rows = [self._gap_row(rating, dim, s, blocked) for rating, _, dim, s, blocked in self.gaps]
        return self.doc(
            "infrastructure",
            [
                table_section(
                    "Data-source inventory",
                    ["ID", "Name", "Type", "Owner", "Size", "Refresh", "Quality", "Access", "Security", "Issues"],
                    [self.inventory_row(s) for s in self.live_sources],
                    "data_sources",
                    "No data sources recorded.",
                    text="Ratings from 1 (poor) to 5 (good).",
                ),
                table_section(
                    "Gaps",
                    ["Severity", "Source", "Name", "Dimension", "Rating", "Blocks", "Remediation", "Owner"],
                    gap_rows,
                    "gaps",
                    "No gaps: every rated dimension is above 2.",
                    text=f"A rating of {GAP_RATING} or less is a gap; 1 is severe, 2 moderate.",
                ),
                self.set_aside_sources(),
            ],
        )

    def _gap_row(self, rating: int, dim: str, s: DataSource, blocked: list[UseCase]) -> list[str]:
        return [
            gap_severity(rating),
            f"SRC-{s.number}",
            s.name,
            dim,
            str(rating),
            ", ".join(f"UC-{u.number}" for u in blocked) or "-",
            one_line(s.remediation) or "-",
            self.who(s.remediation_owner_member_id),
        ]

    # ---- 3. objectives and KPIs ----

    def kpis(self) -> Document:
        ordered = sorted(
            self.live_kpis, key=lambda k: (k.use_case_id is None, self._uc_number(k.use_case_id), k.number)
        )
        missing = [f"UC-{u.number} {u.title}" for u in self.by_priority if not self.kpis_of[u.id]]
        return self.doc(
            "kpis",
            [
                table_section(
                    "KPIs",
                    ["ID", "KPI", "For", "Baseline", "Target", "Unit", "Direction", "By", "Owner", "Status"],
                    [self._kpi_row(k) for k in ordered],
                    "kpis",
                    "No KPIs yet.",
                ),
                Section(
                    "Use cases without a KPI",
                    items=missing,
                    empty="Every active use case has at least one KPI.",
                ),
                self.set_aside_section(self.set_aside_kpis(), "KPIs", "kpis"),
            ],
        )

    def _kpi_row(self, k: Kpi) -> list[str]:
        """A KPI measures a use case, or else its own objective (or the initiative as a whole)."""
        uc = self.uc_by_id.get(k.use_case_id) if k.use_case_id else None
        return [
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
        findings = self.raci_issues()
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
            Section(
                "RACI check",
                items=findings,
                empty="No findings: every activity has one A and an R, and everyone has a role.",
            ),
        ]
        if with_approvals:
            sections.append(self.approvals(stale or {}))
        aside = [self.set_aside_row(f"ACT-{a.number}", a.name, "removed") for a in self.snap.activities if a.removed]
        sections.append(self.set_aside_section(aside, "activities", "raci"))
        return self.doc("raci", sections)

    def decisions(self, sign_off_id: int, decision: str) -> str:
        """Who decided so, each with their comment ("Sam Sponsor: needs the Q3 figures")."""
        out = []
        for r in self.snap.responses:
            if r.sign_off_id == sign_off_id and r.decision == decision:
                comment = one_line(r.comment)
                out.append(self.who(r.member_id) + (f": {comment}" if comment else ""))
        return "; ".join(sorted(out)) or "-"

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
        out: dict[str, tuple] = {}
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
                rows.append([TITLES[key], "-", "not requested", "-", "-", "-", "-"])
                continue
            state, waiting = self.sign_off_state(sign.id)
            if state == "approved" and stale.get(key):
                state = "stale (changed since approval)"
            decided = [r.decided_at for r in self.snap.responses if r.sign_off_id == sign.id and r.decided_at]
            when = fmt_local(max(decided), self.tz) if decided else "-"
            rows.append(
                [
                    TITLES[key],
                    f"SIGN-{sign.number}",
                    state,
                    self.decisions(sign.id, "approved"),
                    self.decisions(sign.id, "rejected"),
                    ", ".join(sorted(waiting)) or "-",
                    when,
                ]
            )
        return Section(
            "Approvals",
            text="Who approved, who asked for changes and why, and who has yet to answer, per deliverable.",
            table=TableData(
                [
                    "Deliverable",
                    "Request",
                    "Status",
                    "Approved by",
                    "Rejected by (why)",
                    "Waiting for",
                    "Last decision",
                ],
                rows,
                "approvals",
            ),
        )

    # ---- 5. risks ----

    def risks(self) -> Document:
        ordered = sorted(self.live_risks, key=lambda r: (-risk_score(r), r.number))
        sections = [
            table_section(
                "Risk register",
                RISK_HEADERS,
                [self._risk_row(r) for r in ordered],
                "risks",
                "No risks recorded.",
                text="Score = likelihood x impact (1-25): critical from 20, high from 10, medium from 5.",
            ),
            table_section(
                "Re-score history",
                ["Risk", "When", "From", "To", "By"],
                self._rescore_rows(),
                "risk_history",
                "No risk has been re-scored.",
            ),
        ]
        if ordered:
            sections.append(self._heat_map(ordered))
        sections.append(self.set_aside_items("RISK", self.snap.risks, lambda r: r.title, "risks", "risks"))
        return self.doc("risks", sections)

    def _risk_row(self, r: Risk) -> list[str]:
        return [
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

    def _rescore_rows(self) -> list[list[str]]:
        """Every re-score of a live risk, oldest first: the history of a set-aside one goes with it."""
        return [
            [
                f"RISK-{self.risk_by_id[c.risk_id].number}",
                fmt_local(c.at, self.tz),
                f"{c.old_likelihood}x{c.old_impact}={c.old_likelihood * c.old_impact}",
                f"{c.new_likelihood}x{c.new_impact}={c.new_likelihood * c.new_impact}",
                self.who(c.member_id),
            ]
            for c in self.snap.score_changes
            if c.risk_id in self.risk_by_id and not is_set_aside("RISK", self.risk_by_id[c.risk_id].status)
        ]

    def _heat_map(self, ordered: list[Risk]) -> Section:
        """Counts and IDs per likelihood (rows) and impact (columns); a rating outside 1-5 is left out."""
        counts = [[0] * 5 for _ in range(5)]
        ids: list[list[list[str]]] = [[[] for _ in range(5)] for _ in range(5)]
        for r in ordered:
            if 1 <= r.likelihood <= 5 and 1 <= r.impact <= 5:
                counts[r.likelihood - 1][r.impact - 1] += 1
                ids[r.likelihood - 1][r.impact - 1].append(f"RISK-{r.number}")
        return Section(
            "Heat map",
            text="Open risks by likelihood (rows) and impact (columns), with their IDs.",
            chart=Image(
                alt="Heat map of open risks by likelihood and impact",
                title="Risk heat map",
                chart="heatmap",
                data={"counts": counts, "ids": ids, "title": ""},
            ),
        )

    # ---- 6. plan ----

    def milestone_order(self) -> list[Milestone]:
        return sorted(
            (m for m in self.snap.milestones if m.status != "removed"),
            key=lambda m: (m.start_date or m.due_date, m.due_date, m.number),
        )

    def critical_path(self) -> list[int]:
        order = self.milestone_order()
        items = {
            m.id: plan.PlanItem(m.id, m.due_date, m.after_milestone_id, m.start_date, m.status == "done") for m in order
        }
        return plan.critical_path(items)

    def plan(self, today: date | None = None) -> Document:
        order = self.milestone_order()
        critical = self.critical_path()
        status = {m.id: self.milestone_status(m, today) for m in order}
        by_id = {m.id: m for m in order}  # a removed milestone is nobody's predecessor here
        resources = sorted(self.snap.resources, key=lambda r: (self._ms_number(r.milestone_id), r.kind, r.number))
        live = [r for r in resources if self._removed_milestone_of(r) is None]
        sections = [
            self._milestones_section(order, status, critical, by_id, today),
            Section(
                "Critical path",
                text="Every milestone on this chain delays the end of the plan if it slips." if critical else "",
                items=[f"MS-{by_id[i].number} {by_id[i].name} (due {fmt_day(by_id[i].due_date)})" for i in critical],
                empty="No open milestones, so no critical path.",
            ),
        ]
        if order:
            sections.append(self.timeline(order, status, critical, today))
        sections += [
            table_section(
                "Resources per milestone",
                ["Milestone", "Kind", "Resource", "Amount", "Unit", "Owner"],
                [self._resource_row(r) for r in live],
                "resources",
                "No resources allocated.",
            ),
            self._resource_totals(live),
            self._over_allocation_section(),
            self.set_aside_section(self._plan_set_aside_rows(resources), "milestones and resources", "plan"),
        ]
        return self.doc("plan", sections)

    def _milestones_section(
        self,
        order: list[Milestone],
        status: dict[int, str],
        critical: list[int],
        by_id: dict[int, Milestone],
        today: date | None,
    ) -> Section:
        rows = [
            [
                f"MS-{m.number}",
                m.name,
                fmt_day(m.start_date),
                fmt_day(m.due_date),
                self.whos(self.owners[m.id]),
                status[m.id],
                f"MS-{by_id[m.after_milestone_id].number}" if m.after_milestone_id in by_id else "-",
                "yes" if m.id in critical else "-",
            ]
            for m in order
        ]
        return Section(
            "Milestones",
            text="Status as `plan show` gives it: done, on track, due soon or overdue."
            if today is not None
            else "Status as recorded (open or done).",
            table=TableData(
                ["ID", "Milestone", "Start", "Due", "Owners", "Status", "After", "Critical"], rows, "milestones"
            ),
            empty="No milestones yet.",
        )

    def _removed_milestone_of(self, r: Resource) -> Milestone | None:
        """The removed milestone a resource was allocated to: it goes with it to "Set aside"."""
        ms = self.ms_by_id.get(r.milestone_id) if r.milestone_id else None
        return ms if ms is not None and ms.status == "removed" else None

    def _resource_row(self, r: Resource) -> list[str]:
        ms = self.ms_by_id.get(r.milestone_id) if r.milestone_id else None
        return [
            f"MS-{ms.number}" if ms else "unassigned",
            r.kind,
            r.name,
            formats.amount(r.amount, r.unit),
            r.unit or "-",
            self.who(r.owner_member_id),
        ]

    def _plan_set_aside_rows(self, resources: list[Resource]) -> list[list[str]]:
        """The removed milestones, then the resources they took with them."""
        rows = [
            self.set_aside_row(f"MS-{m.number}", m.name, "removed")
            for m in self.snap.milestones
            if m.status == "removed"
        ]
        for r in resources:
            ms = self._removed_milestone_of(r)
            if ms is not None:
                row = self.set_aside_row(f"MS-{ms.number}", r.name, f"resource of removed MS-{ms.number}")
                rows.append([f"RES-{r.number}", *row[1:]])
        return rows

    def _resource_totals(self, resources: list[Resource]) -> Section:
        """Amounts add up per unit over the whole plan, except shares of someone's time, which
        add up within one milestone's period only (60 % in May and 60 % in June is no 120 %)."""
        quantities: dict[tuple[str, str], float] = defaultdict(float)
        per_milestone: dict[tuple[int, str, str], float] = defaultdict(float)
        for r in resources:
            if r.amount is None:
                continue
            if _is_share(r):
                per_milestone[(self._ms_number(r.milestone_id), r.kind, r.unit)] += r.amount
            else:
                quantities[(r.kind, r.unit)] += r.amount
        rows = [
            ["whole plan", kind, formats.amount(v, unit), unit or "-"] for (kind, unit), v in sorted(quantities.items())
        ]
        rows += [
            [f"MS-{n}" if n < 1 << 30 else "unassigned", kind, formats.amount(v, unit), unit or "-"]
            for (n, kind, unit), v in sorted(per_milestone.items())
        ]
        return Section(
            "Totals per unit and period",
            text="Amounts add up only within one unit; shares of a person's time (FTE, %) only within one "
            "milestone's period.",
            table=TableData(["Period", "Kind", "Amount", "Unit"], rows, "resource_totals"),
            empty="No amounts recorded.",
        )

    def _over_allocation_section(self) -> Section:
        items = [
            f"{person}: {formats.percent(peak)} at once across " + ", ".join(f"MS-{n}" for n in numbers)
            for person, (peak, numbers) in sorted(self.over_allocation().items())
        ]
        return Section(
            "Over-allocation",
            text="People above 100 % of their time in overlapping open milestones (as `plan resources`).",
            items=items,
            empty="Nobody is allocated over 100 %.",
        )

    def timeline(self, order: list[Milestone], status: dict[int, str], critical: list[int], today) -> Section:
        numbers = {m.id: m.number for m in order}
        return Section(
            "Timeline",
            chart=Image(
                alt="Timeline of the milestones",
                title="Project timeline",
                chart="gantt",
                data={
                    "rows": [
                        {
                            "label": short(f"MS-{m.number} {m.name}"),
                            "id": f"MS-{m.number}",
                            "start": (m.start_date or m.due_date).isoformat(),
                            "end": m.due_date.isoformat(),
                            "status": status[m.id],
                            "after": f"MS-{numbers[m.after_milestone_id]}" if m.after_milestone_id in numbers else "",
                            "critical": m.id in critical,
                        }
                        for m in order
                    ],
                    "today": today.isoformat() if today is not None else "",
                    "title": "",
                },
            ),
        )

    def _ms_number(self, ms_id: int | None) -> int:
        ms = self.ms_by_id.get(ms_id) if ms_id else None
        return ms.number if ms else 1 << 30

    # ---- overview ----

    def aside_counts(self) -> dict[tuple[str, str], int]:
        snap = self.snap
        return {
            ("use case", "use cases"): len(snap.use_cases) - len(self.live_use_cases),
            ("KPI", "KPIs"): len(snap.kpis) - len(self.live_kpis),
            ("risk", "risks"): len(snap.risks) - len(self.live_risks),
            ("milestone", "milestones"): sum(1 for m in snap.milestones if m.status == "removed"),
            ("RACI activity", "RACI activities"): len(snap.activities) - len(self.active_activities),
            ("data source", "data sources"): len(snap.sources) - len(self.live_sources),
        }

    def overview(self, now: datetime) -> Document:
        today = now.astimezone(self.tz).date()
        return self.doc(
            "overview",
            [
                Section("State of the assessment", facts=self._state_facts(today)),
                self._changes_section(),
                Section("Needs attention", items=self.attention(now, today), empty="Nothing needs attention."),
            ],
        )

    def _state_facts(self, today: date) -> list[tuple[str, str]]:
        """One line per kind of item, live ones only; what was set aside is counted apart."""
        snap = self.snap
        facts = [
            ("Use cases", self._use_cases_fact()),
            ("KPIs", formats.count(len(self.live_kpis))),
            (
                "Open risks",
                f"{formats.count(len(self.live_risks))} "
                f"({sum(1 for r in self.live_risks if risk_score(r) >= CRITICAL_SCORE)} critical)",
            ),
            self.sources_fact(),
            (
                "Polls",
                f"{sum(1 for p in snap.polls if p.status == 'open')} open, "
                f"{sum(1 for p in snap.polls if p.status != 'open')} closed",
            ),
            ("RACI activities", formats.count(len(self.active_activities))),
            ("Milestones", self._milestones_fact(today)),
        ]
        aside = self.aside_counts()
        if any(aside.values()):
            facts.append(
                ("Set aside", ", ".join(f"{n} {one if n == 1 else many}" for (one, many), n in aside.items() if n))
            )
        return facts

    def _use_cases_fact(self) -> str:
        if not self.live_use_cases:
            return "0"
        by_status: dict[str, int] = defaultdict(int)
        for u in self.live_use_cases:
            by_status[u.status] += 1
        per_status = ", ".join(f"{formats.count(n)} {s}" for s, n in sorted(by_status.items()))
        return f"{formats.count(len(self.live_use_cases))} ({per_status})"

    def _milestones_fact(self, today: date) -> str:
        order = self.milestone_order()
        late = sum(1 for m in order if self.milestone_status(m, today) == "overdue")
        done = sum(1 for m in order if m.status == "done")
        return f"{done} of {len(order)} done" + (f", {late} overdue" if late else "")

    def _changes_section(self) -> Section:
        """What changed since the last digest went out, or in the last week when none has."""
        snap = self.snap
        changed = (
            f"Changed since the last digest ({fmt_local(snap.since, self.tz)})"
            if snap.since_digest
            else "Changed in the last 7 days"
        )
        items = changes_in_words(snap.recent_actions)
        return Section(changed, items=items, empty=f"Nothing {changed[0].lower()}{changed[1:]}.")

    def attention(self, now: datetime, today: date) -> list[str]:
        """Everything someone must act on, most pressing kind first."""
        signs = self._latest_sign_offs_in_order()
        risks = sorted(self.live_risks, key=lambda r: (-risk_score(r), r.number))
        return [
            *self._sign_offs_to_redo(signs),
            *self._overdue_milestones(today),
            *self._over_allocated(),
            *(f"Milestone without owner: MS-{m.number} {m.name}" for m in self._milestones_without_owner()),
            *(f"Risk without owner: RISK-{r.number} {r.title}" for r in risks if r.owner_member_id is None),
            *self._risks_without_mitigation(risks),
            *self._reviews_past_due(risks, today),
            *self._gaps_without_remediation_owner(),
            *(f"No KPI: UC-{u.number} {u.title}" for u in self.by_priority if not self.kpis_of[u.id]),
            *self._activities_without_a_or_r(),
            *self._polls_closing_soon(now),
            *self._sign_offs_pending(signs),
        ]

    def _latest_sign_offs_in_order(self) -> list[tuple[str, SignOff]]:
        """(deliverable, latest sign-off) of those asked for, in the deliverables' order."""
        latest = sorted(
            self.latest_sign_offs().items(),
            key=lambda kv: DELIVERABLES.index(kv[0]) if kv[0] in DELIVERABLES else 99,
        )
        return [(key, sign) for key, (_, sign) in latest if sign is not None]

    def _sign_offs_to_redo(self, signs: list[tuple[str, SignOff]]) -> list[str]:
        """Rejected sign-offs, and approvals the deliverable has changed under since."""
        out = []
        stale = self.stale or {}
        for key, sign in signs:
            state, _ = self.sign_off_state(sign.id)
            title = TITLES.get(key, key)
            if state == "rejected":
                out.append(f"Sign-off rejected: SIGN-{sign.number} {title} ({self.decisions(sign.id, 'rejected')})")
            elif state == "approved" and stale.get(key):
                out.append(f"Approval out of date: SIGN-{sign.number} {title} changed since it was approved")
        return out

    def _sign_offs_pending(self, signs: list[tuple[str, SignOff]]) -> list[str]:
        out = []
        for key, sign in signs:
            state, waiting = self.sign_off_state(sign.id)
            if state == "pending":
                out.append(
                    f"Sign-off pending: SIGN-{sign.number} {TITLES.get(key, key)} ({', '.join(sorted(waiting))})"
                )
        return out

    def _overdue_milestones(self, today: date) -> list[str]:
        return [
            f"Overdue: MS-{m.number} {m.name} (due {fmt_day(m.due_date)}, {self.whos(self.owners[m.id])})"
            for m in self.milestone_order()
            if self.milestone_status(m, today) == "overdue"
        ]

    def _over_allocated(self) -> list[str]:
        return [
            f"Over-allocated: {person} at {formats.percent(peak)} across " + ", ".join(f"MS-{n}" for n in numbers)
            for person, (peak, numbers) in sorted(self.over_allocation().items())
        ]

    def _milestones_without_owner(self) -> list[Milestone]:
        return [m for m in self.milestone_order() if m.status != "done" and not self.owners[m.id]]

    def _risks_without_mitigation(self, risks: list[Risk]) -> list[str]:
        """High and critical risks only: a low risk may well be accepted as it is."""
        return [
            f"{risk_level(risk_score(r)).capitalize()} risk without mitigation: RISK-{r.number} {r.title} "
            f"(score {risk_score(r)})"
            for r in risks
            if risk_score(r) >= HIGH_SCORE and not r.mitigation.strip()
        ]

    def _reviews_past_due(self, risks: list[Risk], today: date) -> list[str]:
        return [
            f"Review past due: RISK-{r.number} {r.title} (review {fmt_day(r.review_date)})"
            for r in risks
            if r.review_date is not None and r.review_date < today
        ]

    def _gaps_without_remediation_owner(self) -> list[str]:
        """Only gaps that block a use case someone has shortlisted or approved: those hold work up."""
        out = []
        for rating, _, dim, src, blocked in self.gaps:
            short_listed = [u for u in blocked if u.status in ("shortlisted", "approved")]
            if short_listed and src.remediation_owner_member_id is None:
                out.append(
                    f"Gap without remediation owner: SRC-{src.number} {src.name} {dim} ({rating}) blocks "
                    + ", ".join(f"UC-{u.number}" for u in short_listed)
                )
        return out

    def _activities_without_a_or_r(self) -> list[str]:
        out = []
        for act in self.active_activities:
            letters = self.letters[act.id]
            missing = [word for letter, word in (("A", "accountable"), ("R", "responsible")) if letter not in letters]
            if missing:
                out.append(f"No one {' or '.join(missing)}: ACT-{act.number} {act.name}")
        return out

    def _polls_closing_soon(self, now: datetime) -> list[str]:
        return [
            f"Poll closing soon: POLL-{p.number} {p.question} (closes {fmt_local(p.closes_at, self.tz)})"
            for p in self.snap.polls
            if p.status == "open" and p.closes_at and now <= p.closes_at <= now + CLOSING_SOON
        ]

    def build(self, key: str, now: datetime, stale: dict[str, bool] | None = None) -> Document:
        """The document as people read it: the plan's statuses and "Needs attention" as of `now`."""
        self.stale = stale
        if key == "overview":
            return self.overview(now)
        if key == "raci":
            return self.raci(stale=stale)
        if key == "plan":
            return self.plan(now.astimezone(self.tz).date())
        return getattr(self, key)()
