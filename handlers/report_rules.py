"""The rules behind the deliverables: ordering, levels, gaps, set-aside and formatting.

Pure functions of model objects and plain values (no session, no clock), unit-tested without a
database; `handlers.report_views` applies them to a whole snapshot.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import timedelta

from handlers import formats, scoring
from handlers.scoring import level, sort_use_cases
from storage.models import DataSource, Risk, UseCase

GAP_RATING = 2  # a rating at or below this is a gap
CLOSING_SOON = timedelta(days=3)
CLOSED_RISK = ("closed",)
INACTIVE_USE_CASE = ("rejected", "withdrawn", "merged")
# What is set aside, per kind: never in a live list, count, chart or score; only in its
# deliverable's "Set aside" part, with who set it aside, when and why.
SET_ASIDE = {
    "UC": INACTIVE_USE_CASE,
    "KPI": ("withdrawn", "removed"),
    "RISK": CLOSED_RISK,
    "MS": ("removed",),
    "ACT": ("removed",),
    "SRC": ("removed", "merged"),
}


def is_set_aside(kind: str, status: str) -> bool:
    """`kind` is the human id's prefix (UC, KPI, RISK, MS, ACT)."""
    return status in SET_ASIDE.get(kind, ())


def sets_aside(action: str, detail: dict) -> bool:
    """Whether an audit row (of storage.repos.reports.SET_ASIDE_ACTIONS) set its item aside: a
    risk update only when it closed the risk."""
    if action == "risk.update":
        status = (detail.get("changed") or {}).get("status")
        return isinstance(status, list) and len(status) == 2 and status[1] in CLOSED_RISK
    return True


def risk_score(r: Risk) -> int:
    return scoring.risk_score(r.likelihood, r.impact)


risk_level = level  # the deliverables' name for the register's level


def priority_order(cases: list[UseCase]) -> list[UseCase]:
    """By poll rank (unranked last), then score (highest first), then number: the same order as
    `usecase list --sort priority`."""
    return sort_use_cases(cases, "priority")


def gap_severity(rating: int) -> str:
    return "severe" if rating <= 1 else "moderate"


def source_gaps(src: DataSource) -> list[tuple[str, int]]:
    return [
        (dim, rating)
        for dim, rating in (
            ("quality", src.quality),
            ("accessibility", src.accessibility),
            ("security", src.security),
        )
        if rating is not None and rating <= GAP_RATING
    ]


def uses_source(uc: UseCase, src: DataSource, merged: Sequence[DataSource] = ()) -> bool:
    """A use case depends on a source its data-sources text names (SRC-n or the source's name),
    or names a source `merged` into it (a use case that named the duplicate needs the one kept)."""
    text = (uc.data_sources or "").lower()
    if not text:
        return False
    for s in (src, *merged):
        if re.search(rf"\bsrc-{s.number}\b", text):
            return True
        name = s.name.strip().lower()
        if name and re.search(rf"(?<!\w){re.escape(name)}(?!\w)", text) is not None:
            return True
    return False


# One formatter per kind of value (handlers.formats); the names stay for the rules' callers.
fmt_num = formats.number
fmt_day = formats.day
fmt_local = formats.local


def short(text: str, n: int = 40) -> str:
    """A label for a chart axis: one line, at most n characters (the tables keep the full text)."""
    text = one_line(text)
    return text if len(text) <= n else text[: n - 1] + "…"


def one_line(text: str) -> str:
    return " ".join((text or "").split())


# Audit actions in the words people use: (noun, plural, participle). Unknown actions fall back
# to their own key, so a new feature shows up (as its key) before it gets words here.
ACTION_WORDS = {
    "usecase.propose": ("use case", "use cases", "proposed"),
    "usecase.shortlisted": ("use case", "use cases", "shortlisted"),
    "usecase.approved": ("use case", "use cases", "approved"),
    "usecase.rejected": ("use case", "use cases", "rejected"),
    "usecase.withdrawn": ("use case", "use cases", "withdrawn"),
    "usecase.merged": ("use case", "use cases", "merged"),
    "usecase.edit": ("use case", "use cases", "edited"),
    "usecase.priority": ("priority", "priorities", "set from a poll"),
    "usecase.require": ("requirement", "requirements", "added"),
    "kpi.suggest": ("KPI", "KPIs", "suggested"),
    "kpi.edit": ("KPI", "KPIs", "edited"),
    "kpi.withdraw": ("KPI", "KPIs", "withdrawn"),
    "risk.report": ("risk", "risks", "reported"),
    "risk.update": ("risk", "risks", "updated"),
    "source.add": ("data source", "data sources", "added"),
    "source.edit": ("data source", "data sources", "edited"),
    "source.remove": ("data source", "data sources", "removed"),
    "source.merge": ("data source", "data sources", "merged"),
    "poll.start": ("poll", "polls", "started"),
    "poll.close": ("poll", "polls", "closed"),
    "poll.extend": ("poll", "polls", "extended"),
    "poll.remind": ("poll", "polls", "reminded"),
    "poll.vote": ("vote", "votes", "cast"),
    "milestone.add": ("milestone", "milestones", "added"),
    "milestone.edit": ("milestone", "milestones", "edited"),
    "milestone.done": ("milestone", "milestones", "done"),
    "milestone.remove": ("milestone", "milestones", "removed"),
    "milestone.reopen": ("milestone", "milestones", "reopened"),
    "milestone.snooze": ("milestone", "milestones", "snoozed"),
    "resource.add": ("resource", "resources", "added"),
    "resource.remove": ("resource", "resources", "removed"),
    "raci.activity.add": ("RACI activity", "RACI activities", "added"),
    "raci.activity.remove": ("RACI activity", "RACI activities", "removed"),
    "raci.assign": ("RACI role", "RACI roles", "assigned"),
    "member.joined": ("member", "members", "joined"),
    "member.left": ("member", "members", "left"),
    "role.assign": ("programme role", "programme roles", "assigned"),
    "summary.post": ("summary", "summaries", "posted"),
    "signoff.request": ("sign-off", "sign-offs", "requested"),
    "signoff.approved": ("sign-off", "sign-offs", "approved"),
    "signoff.rejected": ("sign-off", "sign-offs", "rejected"),
}


def changes_in_words(actions: dict[str, int]) -> list[str]:
    """{"kpi.suggest": 10, "kpi.withdraw": 1} -> ["10 KPIs suggested, 1 withdrawn"]: one line per
    kind of thing, its verbs in the order of ACTION_WORDS, unknown actions last as they are."""
    lines: dict[str, list[str]] = {}
    order = list(ACTION_WORDS)
    for action in sorted(actions, key=lambda a: (order.index(a) if a in order else len(order), a)):
        n = actions[action]
        if not n:
            continue
        if action not in ACTION_WORDS:
            lines.setdefault(action, []).append(f"{action}: {n}")
            continue
        noun, plural, verb = ACTION_WORDS[action]
        words = lines.setdefault(noun, [])
        words.append(f"{n} {noun if n == 1 else plural} {verb}" if not words else f"{n} {verb}")
    return [", ".join(parts) for parts in lines.values()]
