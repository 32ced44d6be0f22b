"""A table cut into the pieces a platform's table element can hold, with what each piece shows.

Slack's table block holds at most 100 rows (the header is one) and 20 columns; a Teams card has
a size budget. A larger table becomes several tables, each saying which rows (and columns) it
holds, so nothing is cut silently. Wide tables repeat their first column (the id) in each piece.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from handlers.messages import Table


@dataclass(frozen=True)
class TablePart:
    headers: list[str]
    rows: list[list[str]]
    label: str  # "" when the part is the whole table


def _span(first: int, last: int, total: int, what: str) -> str:
    return f"{what} {first}–{last} of {total}"


def column_groups(width: int, max_columns: int) -> list[list[int]]:
    """Column indexes per piece: all of them, or the first column with up to max_columns - 1 others."""
    if width <= max_columns:
        return [list(range(width))]
    step = max_columns - 1
    return [[0, *range(start, min(start + step, width))] for start in range(1, width, step)]


def parts(
    table: Table,
    *,
    max_rows: int,
    max_columns: int,
    row_cost: Callable[[list[str]], int] | None = None,
    budget: int = 0,
) -> Iterator[TablePart]:
    """Pieces of at most max_rows data rows and, with `row_cost`, rows costing at most `budget`
    together (each row measured once, so a 5,000-row table is cut in one pass)."""
    width = len(table.headers)
    groups = column_groups(width, max_columns)
    total = len(table.rows)
    for columns in groups:
        headers = [table.headers[i] for i in columns]
        rows = [[(r[i] if i < len(r) else "") for i in columns] for r in table.rows]
        column_note = "" if len(groups) == 1 else _span(columns[1] + 1, columns[-1] + 1, width, "columns")
        chunks = _row_chunks(headers, rows, max_rows, row_cost, budget)
        for first, end in chunks:
            notes = [column_note] if column_note else []
            if len(chunks) > 1:
                notes.insert(0, _span(first + 1, end, total, "rows"))
            label = ", ".join(notes)
            yield TablePart(headers, rows[first:end], label[:1].upper() + label[1:])


def _row_chunks(
    headers: list[str], rows: list[list[str]], max_rows: int, row_cost: Callable[[list[str]], int] | None, budget: int
) -> list[tuple[int, int]]:
    """(first, end) of each piece's rows: a piece ends at max_rows or, with `row_cost`, before
    the row that would take it over the budget (its header row counts in every piece); a piece
    always holds at least one row, even one over the budget alone."""
    chunks: list[tuple[int, int]] = []
    start, spent = 0, row_cost(headers) if row_cost else 0
    used = spent
    for n, row in enumerate(rows):
        cost = row_cost(row) if row_cost else 0
        if n > start and (n - start >= max_rows or (row_cost and used + cost > budget)):
            chunks.append((start, n))
            start, used = n, spent
        used += cost
    chunks.append((start, len(rows)))
    return chunks
