"""PNG charts drawn from the data an `Image` element carries (see handlers.messages.Image).

Matplotlib's object API with the Agg canvas: no pyplot, so no global figure state, no display
and nothing shared between threads. Output is deterministic (no timestamps or software tag in
the PNG, fixed size and dpi), so the same data gives the same bytes. Blocking: call it through
`asyncio.to_thread` from async code.
"""

from __future__ import annotations

import io
from datetime import date
from typing import Any

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import LinearSegmentedColormap
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from PIL import Image as PILImage

DPI = 100
MAX_ROWS = 60  # bars in one picture; the tables beside a chart always hold every row
MAX_LABELLED = 40  # points named one by one in the matrix; more are counted per cell
STATUS_COLOURS = {"done": "#2e7d32", "open": "#1565c0", "late": "#c62828", "removed": "#9e9e9e"}
RISK_CMAP = LinearSegmentedColormap.from_list("risk", ["#e8f5e9", "#fff59d", "#ffb74d", "#e53935"])


def _label(text: Any) -> str:
    """Chart text is data, never mathtext: a `$` must not start a formula."""
    return str(text).replace("$", r"\$")


def _png(fig: Figure, dpi: int) -> bytes:
    """A palette PNG: charts have few colours, and a quarter of the bytes keeps them inside chat
    limits (a Teams card is 80 KB, images included)."""
    canvas = FigureCanvasAgg(fig)
    fig.set_dpi(dpi)
    canvas.draw()
    image = PILImage.frombuffer("RGBA", canvas.get_width_height(), canvas.buffer_rgba(), "raw", "RGBA", 0, 1)
    buf = io.BytesIO()
    image.convert("RGB").quantize(colors=96, method=PILImage.Quantize.MEDIANCUT).save(buf, format="PNG", optimize=True)
    return buf.getvalue()


def _capped(items: list, what: str, title: str) -> tuple[list, str]:
    if len(items) <= MAX_ROWS:
        return items, title
    return items[:MAX_ROWS], f"{title} (first {MAX_ROWS} of {len(items)} {what})".strip()


def bar(data: dict[str, Any], dpi: int = DPI) -> bytes:
    pairs, title = _capped(list(zip(data.get("labels", []), data.get("values", []), strict=False)), "bars", "")
    title = _label(data.get("title") or "") + title
    fig = Figure(figsize=(7, max(2.0, (0.35 if len(pairs) <= 15 else 0.22) * len(pairs) + 1.2)), layout="constrained")
    ax = fig.add_subplot()
    labels = [_label(p[0]) for p in pairs][::-1]
    values = [float(p[1]) for p in pairs][::-1]
    ax.barh(range(len(values)), values, color="#1565c0")
    ax.set_yticks(range(len(labels)), labels)
    ax.set_xlabel(_label(data.get("xlabel", "")))
    if title:
        ax.set_title(title)
    ax.spines[["top", "right"]].set_visible(False)
    return _png(fig, dpi)


def matrix(data: dict[str, Any], dpi: int = DPI) -> bytes:
    """Impact (y) against feasibility (x) on 1-5 scales; the top-right quadrant is the quick wins."""
    fig = Figure(figsize=(6.5, 6), layout="constrained")
    ax = fig.add_subplot()
    ax.axhspan(3, 5.5, xmin=0.5, xmax=1, color="#e8f5e9", zorder=0)
    ax.axhline(3, color="#bdbdbd", lw=0.8)
    ax.axvline(3, color="#bdbdbd", lw=0.8)
    points = data.get("points", [])
    if len(points) > MAX_LABELLED:
        # Too many to name one by one: one bubble per cell, sized and labelled by its count.
        cells: dict[tuple[int, int], int] = {}
        for p in points:
            cells[(int(p["x"]), int(p["y"]))] = cells.get((int(p["x"]), int(p["y"])), 0) + 1
        most = max(cells.values())
        for (x, y), n in sorted(cells.items()):
            ax.scatter([x], [y], s=80 + 1400 * n / most, color="#1565c0", alpha=0.6, zorder=3)
            ax.annotate(str(n), (x, y), ha="center", va="center", fontsize=9, color="white", zorder=4)
    else:
        seen: dict[tuple[int, int], int] = {}
        for p in points:
            x, y = int(p["x"]), int(p["y"])
            k = seen.get((x, y), 0)
            seen[(x, y)] = k + 1
            dx, dy = (0.0, 0.2, -0.2)[k % 3], -(k // 3) * 0.2  # spread points sharing a cell, deterministically
            ax.scatter([x + dx], [y + dy], s=60, color="#1565c0", zorder=3)
            ax.annotate(_label(p["label"]), (x + dx, y + dy), textcoords="offset points", xytext=(5, 4), fontsize=8)
    ax.set_xlim(0.5, 5.5)
    ax.set_ylim(0.5, 5.5)
    ax.set_xticks(range(1, 6))
    ax.set_yticks(range(1, 6))
    ax.set_xlabel(_label(data.get("xlabel", "Feasibility")))
    ax.set_ylabel(_label(data.get("ylabel", "Impact")))
    ax.text(5.4, 5.4, "quick wins", ha="right", va="top", fontsize=8, color="#2e7d32")
    if data.get("title"):
        ax.set_title(_label(data["title"]))
    return _png(fig, dpi)


def heatmap(data: dict[str, Any], dpi: int = DPI) -> bytes:
    """counts[likelihood-1][impact-1]; cells coloured by likelihood x impact, annotated with counts."""
    counts = data.get("counts") or [[0] * 5 for _ in range(5)]
    fig = Figure(figsize=(6, 5.2), layout="constrained")
    ax = fig.add_subplot()
    scores = [[(li + 1) * (im + 1) for im in range(5)] for li in range(5)]
    ax.imshow(scores, cmap=RISK_CMAP, origin="lower", vmin=1, vmax=25, extent=(0.5, 5.5, 0.5, 5.5))
    for li in range(5):
        for im in range(5):
            n = int(counts[li][im])
            if n:
                ax.text(im + 1, li + 1, str(n), ha="center", va="center", fontsize=14, fontweight="bold")
    ax.set_xticks(range(1, 6))
    ax.set_yticks(range(1, 6))
    ax.set_xlabel("Impact")
    ax.set_ylabel("Likelihood")
    if data.get("title"):
        ax.set_title(_label(data["title"]))
    return _png(fig, dpi)


def gantt(data: dict[str, Any], dpi: int = DPI) -> bytes:
    rows, title = _capped(list(data.get("rows", [])), "milestones", "")
    title = _label(data.get("title") or "") + title
    fig = Figure(figsize=(8, max(2.0, (0.4 if len(rows) <= 15 else 0.22) * len(rows) + 1.4)), layout="constrained")
    ax = fig.add_subplot()
    for i, r in enumerate(rows):
        start = date.fromisoformat(r["start"]).toordinal()
        end = date.fromisoformat(r["end"]).toordinal() + 1  # a due date is a whole day
        ax.barh(i, end - start, left=start, color=STATUS_COLOURS.get(r.get("status", ""), "#1565c0"))
    ax.set_yticks(range(len(rows)), [_label(r["label"]) for r in rows])
    ax.invert_yaxis()
    if rows:
        lo = min(date.fromisoformat(r["start"]).toordinal() for r in rows)
        hi = max(date.fromisoformat(r["end"]).toordinal() for r in rows) + 1
        step = max(1, (hi - lo) // 8)
        ticks = list(range(lo, hi + 1, step))
        ax.set_xticks(ticks, [date.fromordinal(t).strftime("%d %b") for t in ticks], fontsize=8)
    statuses = sorted({r.get("status", "") for r in rows} & set(STATUS_COLOURS))
    if statuses:
        ax.legend(handles=[Patch(color=STATUS_COLOURS[s], label=s) for s in statuses], loc="lower right", fontsize=8)
    ax.spines[["top", "right"]].set_visible(False)
    if title:
        ax.set_title(title)
    return _png(fig, dpi)


KINDS = {"bar": bar, "matrix": matrix, "heatmap": heatmap, "gantt": gantt}


def render_chart(kind: str, data: dict[str, Any], dpi: int = DPI) -> bytes:
    draw = KINDS.get(kind)
    if draw is None:
        raise ValueError(f"unknown chart kind {kind!r}; one of {', '.join(KINDS)}")
    return draw(data, dpi)
