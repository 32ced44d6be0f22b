"""Chart positions read from the figures' own artists (offsets, lines, texts), not from pixels:
points at their exact values, coinciding labels listed once, the Gantt's today line at the day
passed in, diamonds at the due dates, the legend outside the bars, labels inside the picture."""

from __future__ import annotations

from datetime import date

from matplotlib.backends.backend_agg import FigureCanvasAgg

from bot.render.charts import gantt_figure, heatmap_figure, matrix_figure


def offsets(fig) -> list[tuple[float, float]]:
    ax = fig.axes[0]
    return [tuple(map(float, xy)) for c in ax.collections for xy in c.get_offsets()]


def texts(fig) -> list[str]:
    return [t.get_text() for t in fig.axes[0].texts]


def test_matrix_plots_the_exact_means_of_a_score_poll():
    fig = matrix_figure(
        {"points": [{"label": "A", "x": 4.5, "y": 4.0}, {"label": "B", "x": 3.0, "y": 1.5}], "title": ""}
    )
    assert sorted(offsets(fig)) == [(3.0, 1.5), (4.5, 4.0)]  # was drawn at 4 x 4 and 1 x 3


def test_coinciding_points_share_one_marker_with_their_ids_beside_it():
    points = [{"label": f"UC-{n}", "x": 4, "y": 5} for n in (1, 2, 3)] + [{"label": "UC-4", "x": 2, "y": 2}]
    fig = matrix_figure({"points": points})
    assert sorted(offsets(fig)) == [(2.0, 2.0), (4.0, 5.0)]
    assert "UC-1, UC-2, UC-3" in texts(fig) and "UC-4" in texts(fig)


def test_heatmap_names_the_risks_in_their_cells():
    counts = [[0] * 5 for _ in range(5)]
    ids = [[[] for _ in range(5)] for _ in range(5)]
    counts[4][3], ids[4][3] = 2, ["RISK-6", "RISK-9"]
    fig = heatmap_figure({"counts": counts, "ids": ids})
    cell = [t for t in fig.axes[0].texts if t.get_text() == "RISK-6\nRISK-9"]
    assert len(cell) == 1 and cell[0].get_position() == (4, 4.82)


def test_gantt_today_line_diamonds_legend_and_labels():
    rows = [
        {"label": "MS-1 Kick-off", "id": "MS-1", "start": "2026-11-02", "end": "2026-11-06", "status": "done"},
        {
            "label": "MS-2 A milestone with a long name that must not be cut",
            "id": "MS-2",
            "start": "2026-11-09",
            "end": "2026-11-25",
            "status": "overdue",
            "after": "MS-1",
            "critical": True,
        },
    ]
    fig = gantt_figure({"rows": rows, "today": "2026-11-26"})
    ax = fig.axes[0]
    today = [line for line in ax.lines if line.get_linestyle() == "--"]
    assert [line.get_xdata()[0] for line in today] == [date(2026, 11, 26).toordinal()]
    diamonds = [(line.get_xdata()[0], line.get_ydata()[0]) for line in ax.lines if line.get_marker() == "D"]
    assert diamonds == [(date(2026, 11, 6).toordinal() + 0.5, 0), (date(2026, 11, 25).toordinal() + 0.5, 1)]
    bars = [p.get_facecolor() for p in ax.patches]
    assert bars[0] != bars[1]  # done and overdue in their own colours
    assert len(ax.texts) == 1 and ax.texts[0].arrow_patch is not None  # MS-1 -> MS-2
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    renderer = canvas.get_renderer()
    (legend,) = fig.legends
    labels = [t.get_text() for t in legend.get_texts()]
    assert labels == ["done", "overdue", "today", "critical path"]
    plot = ax.get_window_extent(renderer)
    assert not legend.get_window_extent(renderer).overlaps(plot)  # the legend covers no bar
    whole = fig.bbox
    for tick in ax.get_yticklabels():
        box = tick.get_window_extent(renderer)
        assert box.x0 >= whole.x0 and box.x1 <= whole.x1  # never cut at the edge


def test_gantt_without_a_day_draws_no_today_line():
    rows = [{"label": "MS-1", "start": "2026-11-02", "end": "2026-11-06", "status": "open"}]
    fig = gantt_figure({"rows": rows})
    assert not [line for line in fig.axes[0].lines if line.get_linestyle() == "--"]
