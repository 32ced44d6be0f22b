"""One way to write each kind of value, for chat replies and documents alike.

A KPI's baseline read `1234.57` in `kpi show` and `1,234.5678` in the report: two formatters for
one number. Every feature imports these instead, so a value reads the same wherever it appears.
Pure functions of the value (and the zone passed in); "-" stands for "not set" in text (the
spreadsheet writers leave such cells empty instead).
"""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

NONE = "-"
DECIMALS = 4  # a measured value keeps up to four decimals (0.0125 stays 0.0125)


def count(n: int | None) -> str:
    """A number of things: whole, with thousands separators (1,234)."""
    return NONE if n is None else f"{int(n):,}"


def number(value: float | None) -> str:
    """A measured value (a KPI's baseline or target, a resource's amount): thousands separators,
    up to four decimals, no trailing zeros (1,234.5678; 1,200,000; 7.5)."""
    if value is None:
        return NONE
    value = float(value)
    if value.is_integer() and abs(value) < 1e15:
        return f"{int(value):,}"
    return f"{value:,.{DECIMALS}f}".rstrip("0").rstrip(".")


def score(value: float | None) -> str:
    """A score on a scale (impact x feasibility, likelihood x impact): whole when it is, else one
    decimal (20; 13.5)."""
    if value is None:
        return NONE
    value = float(value)
    return str(int(value)) if value.is_integer() else f"{value:.1f}"


def money(value: float | None, currency: str = "") -> str:
    """An amount of money: thousands separators, cents only when there are any (25,000 EUR;
    1,250.50 EUR)."""
    if value is None:
        return NONE
    value = float(value)
    text = f"{value:,.0f}" if value.is_integer() else f"{value:,.2f}"
    return f"{text} {currency}".strip()


def percent(share: float | None) -> str:
    """A share where 1.0 is everything, as a percentage with at most one decimal (130%; 62.5%)."""
    if share is None:
        return NONE
    value = round(float(share) * 100, 1)
    return f"{int(value)}%" if value.is_integer() else f"{value:.1f}%"


def day(d: date | None) -> str:
    """A calendar day, ISO (2026-12-18): unambiguous in every locale."""
    return d.isoformat() if d else NONE


def local(dt: datetime | None, tz: ZoneInfo) -> str:
    """A moment in the reader's zone, to the minute (2026-11-26 10:30)."""
    return dt.astimezone(tz).strftime("%Y-%m-%d %H:%M") if dt else NONE


MONEY_UNITS = ("eur", "usd", "gbp", "chf", "$", "€", "£")


def amount(value: float | None, unit: str = "", *, with_unit: bool = False) -> str:
    """A value as its unit says: money for a currency (25,000; 1,250.50), else a plain number;
    the unit written after it only when asked (a table has a Unit column of its own)."""
    u = (unit or "").strip()
    if value is None:
        return NONE
    text = money(value) if u.lower().split("/")[0] in MONEY_UNITS else number(value)
    return f"{text} {u}".strip() if with_unit else text
