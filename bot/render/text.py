"""Plain text for the console: aligned tables, no markup, terminal-safe."""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from typing import Any

from bot.render.escape import terminal
from handlers.messages import Buttons, Element, Fields, File, Form, Heading, Image, ListItems, Table, Text


def width(s: str) -> int:
    """Terminal columns: East Asian wide characters take two, combining marks none."""
    if s.isascii():  # every ASCII character is one column; tables are nearly all ASCII
        return len(s)
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 0 if unicodedata.combining(c) else 1 for c in s)


def pad(s: str, n: int) -> str:
    return s + " " * max(0, n - width(s))


def _cell(value: object) -> str:
    s = str(value)
    if s.isascii() and s.isprintable():  # nothing to escape or join (most cells of a large table)
        return s
    return terminal(s).replace("\n", " ")


def table(headers: list[str], rows: list[list[str]]) -> list[str]:
    cells = [[_cell(c) for c in r] for r in [headers, *rows]]
    sizes = [[width(c) for c in r] for r in cells]  # measured once, used for the columns and the padding
    widths = [max(r[i] for r in sizes if i < len(r)) for i in range(len(headers))]
    lines = [
        "  ".join([c.ljust(len(c) + widths[i] - n) for i, (c, n) in enumerate(zip(r, w, strict=True))]).rstrip()
        for r, w in zip(cells, sizes, strict=True)
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return lines


def _fields(e: Fields) -> list[str]:
    """One line a field, the values aligned after the longest name."""
    n = max((width(k) for k, _ in e.items), default=0)
    return [f"{pad(terminal(k) + ':', n + 1)} {terminal(v)}" for k, v in e.items]


# Each element's lines; the element types a terminal cannot show (a form) say what to type instead.
_LINES: dict[type, Callable[[Any], list[str]]] = {
    Heading: lambda e: [terminal(e.text), "=" * min(60, width(e.text))],
    Text: lambda e: [terminal(e.text)],
    Fields: _fields,
    ListItems: lambda e: [f"  • {terminal(i)}" for i in e.items],
    Table: lambda e: table(e.headers, e.rows),
    Buttons: lambda e: ["  ".join(f"[{terminal(b.label)}]" for b in e.buttons)],
    Image: lambda e: [f"{terminal(e.title or e.alt)}: {e.path}"],
    File: lambda e: [f"{terminal(e.title)}: {e.path}"],
    Form: lambda e: [f"{e.title}: the console has no forms; type the command with its arguments instead."],
}


def render(elements: list[Element]) -> str:
    out: list[str] = []
    for e in elements:
        for kind, lines in _LINES.items():
            if isinstance(e, kind):
                out += lines(e)
                break
    return "\n".join(out)
