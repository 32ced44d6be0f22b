"""Table cells back to the values they show, for files people sort, filter and sum.

The deliverables' tables hold text written by `handlers.formats` ("1,200,000", "62.5%",
"2026-12-18", "2026-11-26 10:30", "-" for not set). A spreadsheet needs numbers and dates,
so each column is typed from what it holds: a column becomes numbers (or percentages, days,
moments) only when every cell that is set reads as one, so a free-text column where someone
happened to type "1,234" stays text. Pure functions: no I/O.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime

EMPTY = ("", "-")
_NUMBER = r"-?(?:\d{1,3}(?:,\d{3})+|\d{1,15})(?:\.(\d{1,10}))?"
PATTERNS = {
    "number": re.compile(_NUMBER),
    "percent": re.compile(_NUMBER + r" ?%"),
    "day": re.compile(r"\d{4}-\d{2}-\d{2}"),
    "minute": re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}"),
}


@dataclass(frozen=True)
class Cell:
    """A cell as a spreadsheet stores it: a value (None when empty) and an Excel number format."""

    value: str | int | float | date | datetime | None
    number_format: str = "General"
    plain: str = ""  # as CSV writes it: no thousands separators


def kind_of(text: str) -> str | None:
    """What one cell reads as (None when it is empty)."""
    if text in EMPTY:
        return None
    return next((kind for kind, pattern in PATTERNS.items() if pattern.fullmatch(text)), "text")


def column_kind(cells: list[str]) -> str:
    kinds = {kind for c in cells if (kind := kind_of(c)) is not None}
    if len(kinds) != 1:
        return "text"
    (kind,) = kinds
    if kind in ("day", "minute"):  # only real calendar days: 2026-13-45 stays text
        try:
            for c in cells:
                if c not in EMPTY:
                    datetime.fromisoformat(c)
        except ValueError:
            return "text"
    return kind


def _decimal(text: str) -> tuple[int | float, int, str]:
    plain = text.replace(",", "")
    places = len(plain.partition(".")[2])
    return (float(plain) if places else int(plain)), places, plain


def typed(text: str, kind: str) -> Cell:
    if text in EMPTY:
        return Cell(None)
    if kind == "number":
        value, places, plain = _decimal(text)
        return Cell(value, "#,##0" + ("." + "0" * places if places else ""), plain)
    if kind == "percent":
        value, places, plain = _decimal(text.rstrip("% "))
        return Cell(value / 100, "0" + ("." + "0" * places if places else "") + "%", plain + "%")
    if kind == "day":
        return Cell(date.fromisoformat(text), "yyyy-mm-dd", text)
    if kind == "minute":
        return Cell(datetime.fromisoformat(text), "yyyy-mm-dd hh:mm", text)
    return Cell(text, "@", text)


def typed_rows(rows: list[list[str]]) -> list[list[Cell]]:
    """Every cell typed by its column."""
    if not rows:
        return []
    kinds = [column_kind([row[c] for row in rows]) for c in range(len(rows[0]))]
    return [[typed(cell, kinds[c]) for c, cell in enumerate(row)] for row in rows]
