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

from matplotlib.artist import Artist
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import LinearSegmentedColormap
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from PIL import Image as PILImage

DPI = 100
MAX_ROWS = 60  # bars in one picture; the tables beside a chart always hold every row
MAX_LABELLED = 40  # points named one by one in the matrix; more are counted per cell
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


def matrix_figure(data: dict[str, Any]) -> Figure:
    """Impact (y) against feasibility (x) on 1-5 scales; the top-right quadrant is the quick wins.

    Points sit at their exact values (a score poll's means are 4.5 x 4.0, not 4 x 4). Points that
    coincide share one marker with their labels listed beside it, so no label prints over another.
    """
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
            key = (round(float(p["x"])), round(float(p["y"])))
            cells[key] = cells.get(key, 0) + 1
        most = max(cells.values())
        for (cx, cy), n in sorted(cells.items()):
            ax.scatter([cx], [cy], s=80 + 1400 * n / most, color="#1565c0", alpha=0.6, zorder=3)
            ax.annotate(str(n), (cx, cy), ha="center", va="center", fontsize=9, color="white", zorder=4)
    else:
        at: dict[tuple[float, float], list[str]] = {}
        for p in points:
            at.setdefault((round(float(p["x"]), 2), round(float(p["y"]), 2)), []).append(_label(p["label"]))
        for (x, y), labels in sorted(at.items()):
            ax.scatter([x], [y], s=60 if len(labels) == 1 else 110, color="#1565c0", zorder=3)
            # Near neighbours: alternate the label above and below the marker.
            crowded = any(
                (ox, oy) != (x, y) and abs(ox - x) < 0.35 and abs(oy - y) < 0.2 and (ox, oy) < (x, y) for ox, oy in at
            )
            ax.annotate(
                ", ".join(labels),
                (x, y),
                textcoords="offset points",
                xytext=(6, -10 if crowded else 4),
                fontsize=8,
                zorder=4,
            )
    ax.set_xlim(0.5, 5.5)
    ax.set_ylim(0.5, 5.5)
    ax.set_xticks(range(1, 6))
    ax.set_yticks(range(1, 6))
    ax.set_xlabel(_label(data.get("xlabel", "Feasibility")))
    ax.set_ylabel(_label(data.get("ylabel", "Impact")))
    ax.text(5.4, 5.4, "quick wins", ha="right", va="top", fontsize=8, color="#2e7d32")
    if data.get("title"):
        ax.set_title(_label(data["title"]))
    return fig


def matrix(data: dict[str, Any], dpi: int = DPI) -> bytes:
    return _png(matrix_figure(data), dpi)


def heatmap_figure(data: dict[str, Any]) -> Figure:
    """counts[likelihood-1][impact-1]; cells coloured by likelihood x impact, annotated with the
    count and, when given (`ids`, same shape), the risks' IDs."""
    counts = data.get("counts") or [[0] * 5 for _ in range(5)]
    ids = data.get("ids")
    fig = Figure(figsize=(6, 5.2), layout="constrained")
    ax = fig.add_subplot()
    scores = [[(li + 1) * (im + 1) for im in range(5)] for li in range(5)]
    ax.imshow(scores, cmap=RISK_CMAP, origin="lower", vmin=1, vmax=25, extent=(0.5, 5.5, 0.5, 5.5))
    for li in range(5):
        for im in range(5):
            n = int(counts[li][im])
            if not n:
                continue
            names = [str(i) for i in (ids[li][im] if ids else [])]
            if names:
                shown = names if len(names) <= 3 else [*names[:2], f"+{len(names) - 2}"]
                ax.text(im + 1, li + 1.18, str(n), ha="center", va="center", fontsize=12, fontweight="bold")
                ax.text(im + 1, li + 0.82, _label("\n".join(shown)), ha="center", va="center", fontsize=7)
            else:
                ax.text(im + 1, li + 1, str(n), ha="center", va="center", fontsize=14, fontweight="bold")
    ax.set_xticks(range(1, 6))
    ax.set_yticks(range(1, 6))
    ax.set_xlabel("Impact")
    ax.set_ylabel("Likelihood")
    if data.get("title"):
        ax.set_title(_label(data["title"]))
    return fig


def heatmap(data: dict[str, Any], dpi: int = DPI) -> bytes:
    return _png(heatmap_figure(data), dpi)


GANTT_STATUS = {
    "done": ("#2e7d32", "done"),
    "on track": ("#1565c0", "on track"),
    "open": ("#1565c0", "open"),
    "due soon": ("#f9a825", "due soon"),
    "overdue": ("#c62828", "overdue"),
}


def gantt_figure(data: dict[str, Any]) -> Figure:
    """Bars from start to due coloured by the milestone's status (the one status of
    handlers.plan_rules.status), a diamond at each due date, an arrow from each milestone to
    the one that waits on it, and a "today" line at the day passed in (never the wall clock).
    The legend sits above the plot, so it covers no bar; labels are fitted by the layout."""
    rows, title = _capped(list(data.get("rows", [])), "milestones", "")
    title = _label(data.get("title") or "") + title
    fig = Figure(figsize=(9, max(2.4, (0.42 if len(rows) <= 15 else 0.24) * len(rows) + 1.8)), layout="constrained")
    ax = fig.add_subplot()
    _gantt_bars(ax, rows)
    _gantt_arrows(ax, rows)
    ax.set_yticks(range(len(rows)), [_label(r["label"]) for r in rows])
    ax.set_ylim(len(rows) - 0.4, -0.6)
    if rows:
        _gantt_days(ax, rows, data.get("today"))
    handles = _gantt_legend(rows, bool(data.get("today")))
    if handles:
        fig.legend(handles=handles, loc="outside upper center", ncols=len(handles), fontsize=8, frameon=False)
    ax.spines[["top", "right"]].set_visible(False)
    if title:
        ax.set_title(title)
    return fig


def _gantt_bars(ax: Axes, rows: list[dict[str, Any]]) -> None:
    """One bar a milestone, outlined in black on the critical path, and a diamond on its due day."""
    for i, r in enumerate(rows):
        start = date.fromisoformat(r["start"]).toordinal()
        end = date.fromisoformat(r["end"]).toordinal() + 1  # a due date is a whole day
        colour = GANTT_STATUS.get(r.get("status", ""), ("#1565c0", ""))[0]
        edge = "#000000" if r.get("critical") else colour
        ax.barh(i, end - start, left=start, height=0.55, color=colour, edgecolor=edge, linewidth=1.2, zorder=2)
        ax.plot([end - 0.5], [i], marker="D", markersize=7, color=colour, markeredgecolor="#000000", zorder=3)


def _gantt_arrows(ax: Axes, rows: list[dict[str, Any]]) -> None:
    """From the due day of the milestone a row waits on (`after`, among the rows shown) to its start."""
    index = {r.get("id", r["label"]): i for i, r in enumerate(rows)}
    for i, r in enumerate(rows):
        before = index.get(r.get("after") or "")
        if before is None:
            continue
        b_end = date.fromisoformat(rows[before]["end"]).toordinal() + 0.5
        start = date.fromisoformat(r["start"]).toordinal()
        ax.annotate(
            "",
            xy=(start, i),
            xytext=(b_end, before),
            arrowprops={"arrowstyle": "->", "color": "#616161", "lw": 1, "connectionstyle": "angle,angleA=0,angleB=90"},
            zorder=1,
        )


def _gantt_days(ax: Axes, rows: list[dict[str, Any]], today_iso: str | None) -> None:
    """The day axis spans every milestone and today (drawn as a line), with about eight ticks."""
    lo = min(date.fromisoformat(r["start"]).toordinal() for r in rows)
    hi = max(date.fromisoformat(r["end"]).toordinal() for r in rows) + 1
    today = date.fromisoformat(today_iso).toordinal() if today_iso else None
    if today is not None:
        lo, hi = min(lo, today), max(hi, today + 1)
        ax.axvline(today, color="#6a1b9a", lw=1.5, ls="--", zorder=4, label="today")
    ax.set_xlim(lo - 1, hi + 1)
    step = max(1, (hi - lo) // 8)
    ticks = list(range(lo, hi + 1, step))
    ax.set_xticks(ticks, [date.fromordinal(t).strftime("%d %b") for t in ticks], fontsize=8)


def _gantt_legend(rows: list[dict[str, Any]], has_today: bool) -> list[Artist]:
    """Only what the chart shows: the statuses present, the today line, the critical path."""
    seen = [s for s in GANTT_STATUS if s in {r.get("status", "") for r in rows}]
    handles: list[Artist] = [Patch(color=GANTT_STATUS[s][0], label=GANTT_STATUS[s][1]) for s in seen]
    if has_today and rows:
        handles.append(Line2D([], [], color="#6a1b9a", ls="--", label="today"))
    if any(r.get("critical") for r in rows):
        handles.append(Patch(facecolor="none", edgecolor="#000000", label="critical path"))
    return handles


def gantt(data: dict[str, Any], dpi: int = DPI) -> bytes:
    return _png(gantt_figure(data), dpi)


KINDS = {"bar": bar, "matrix": matrix, "heatmap": heatmap, "gantt": gantt}


def render_chart(kind: str, data: dict[str, Any], dpi: int = DPI) -> bytes:
    draw = KINDS.get(kind)
    if draw is None:
        raise ValueError(f"unknown chart kind {kind!r}; one of {', '.join(KINDS)}")
    return draw(data, dpi)
