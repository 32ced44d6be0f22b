"""The rules behind the deliverables: ordering, levels, gaps, RACI findings and formatting.

Pure functions of model objects and plain values (no session, no clock), unit-tested without a
database; `handlers.report_views` applies them to a whole snapshot.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from handlers.risks import level
from storage.models import DataSource, Risk, UseCase

GAP_RATING = 2  # a rating at or below this is a gap
CLOSING_SOON = timedelta(days=3)
CRITICAL_SCORE = 20  # the risk register's own levels (handlers.risks.level)
CLOSED_RISK = ("closed",)
DONE_MILESTONE = ("done", "removed")
INACTIVE_USE_CASE = ("rejected", "withdrawn", "merged")


def uc_score(uc: UseCase) -> int | None:
    return uc.impact * uc.feasibility if uc.impact and uc.feasibility else None


def risk_score(r: Risk) -> int:
    return r.likelihood * r.impact


def risk_level(score: int) -> str:
    return level(score)


def priority_order(cases: list[UseCase]) -> list[UseCase]:
    """By poll rank (unranked last), then score (highest first), then number."""
    return sorted(
        cases,
        key=lambda u: (u.priority_rank is None, u.priority_rank or 0, -(uc_score(u) or 0), u.number),
    )


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


def uses_source(uc: UseCase, src: DataSource) -> bool:
    """A use case depends on a source its data-sources text names (SRC-n or the source's name)."""
    text = (uc.data_sources or "").lower()
    if not text:
        return False
    if re.search(rf"\bsrc-{src.number}\b", text):
        return True
    name = src.name.strip().lower()
    return bool(name) and re.search(rf"(?<!\w){re.escape(name)}(?!\w)", text) is not None


def raci_findings(activity_names: dict[int, str], letters: dict[int, list[str]]) -> list[str]:
    """What `raci check` complains about: every activity needs exactly one A and at least one R."""
    out = []
    for aid, name in activity_names.items():
        roles = letters.get(aid, [])
        a = roles.count("A")
        if a == 0:
            out.append(f"{name}: no one is accountable (A)")
        elif a > 1:
            out.append(f"{name}: {a} people are accountable (A); there should be one")
        if "R" not in roles:
            out.append(f"{name}: no one is responsible (R)")
    return out


def fmt_num(value: float | None) -> str:
    if value is None:
        return "-"
    if value.is_integer() and abs(value) < 1e15:
        return f"{int(value):,}"
    return f"{value:,.4f}".rstrip("0").rstrip(".")


def fmt_day(d: date | None) -> str:
    return d.isoformat() if d else "-"


def fmt_local(dt: datetime | None, tz: ZoneInfo) -> str:
    return dt.astimezone(tz).strftime("%Y-%m-%d %H:%M") if dt else "-"


def short(text: str, n: int = 40) -> str:
    """A label for a chart axis: one line, at most n characters (the tables keep the full text)."""
    text = one_line(text)
    return text if len(text) <= n else text[: n - 1] + "…"


def one_line(text: str) -> str:
    return " ".join((text or "").split())
