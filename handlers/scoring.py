"""Scores and levels that several features and the deliverables share: a use case's score and
priority order, a risk's score and level.

One implementation each, so that `usecase list`, `risk list`, `usecase show` and the reports
never disagree; pure functions of model objects and plain values, like the *_rules modules.
"""

from __future__ import annotations

from storage.models import UseCase

CRITICAL_SCORE = 20  # the risk register's levels
HIGH_SCORE = 10
MEDIUM_SCORE = 5


def score(uc: UseCase) -> int | None:
    """Impact x feasibility, or None until both are rated."""
    return uc.impact * uc.feasibility if uc.impact and uc.feasibility else None


def sort_use_cases(cases: list[UseCase], sort: str | None) -> list[UseCase]:
    if sort == "newest":
        return sorted(cases, key=lambda uc: uc.number, reverse=True)
    if sort == "priority":  # the deliverable's order: poll rank (unranked last), then score
        return sorted(cases, key=lambda u: (u.priority_rank is None, u.priority_rank or 0, -(score(u) or 0), u.number))
    if sort in ("impact", "feasibility", "score"):

        def key(uc: UseCase) -> tuple[int, int]:
            value = score(uc) if sort == "score" else getattr(uc, sort)
            return (-(value or 0), uc.number)

        return sorted(cases, key=key)
    return cases


def risk_score(likelihood: int, impact: int) -> int:
    return likelihood * impact


def level(score: int) -> str:
    """low 1-4, medium 5-9, high 10-16, critical 20-25 (no product of 1-5 falls between)."""
    if score >= CRITICAL_SCORE:
        return "critical"
    if score >= HIGH_SCORE:
        return "high"
    if score >= MEDIUM_SCORE:
        return "medium"
    return "low"
