"""Line charts drawn on the server as inline SVG (``templates/macros/charts.html``).

Why not a charting library: pygal (the maintained candidate) writes a ``<style>`` element and an
inline ``<script>`` into every SVG (even with ``js=[]``), a ``style=`` attribute, and no
``role``/``aria-labelledby``; our CSP (``style-src 'self'``, ``script-src 'self'``, unchanged)
blocks the first three, so its output would have to be taken apart and restyled anyway. Here the
geometry is computed (pure, unit-tested), the template writes plain SVG elements with classes,
and ``static/css/app.css`` colours them. Every chart has a title and a description for screen
readers and a table of the same numbers beside it.

Infrastructure: imports nothing from the domains.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

WIDTH, HEIGHT = 480, 240
LEFT, RIGHT, TOP, BOTTOM = 44, 14, 14, 30  # room for the y labels (left) and x labels (below)
MAX_X_LABELS = 6
SERIES_STYLES = 6  # .chart-series-0 … -5 in app.css: colour (≥ 3:1 on white) and a dash pattern each

Number = int | float


@dataclass(frozen=True)
class Series:
    key: str
    label: str
    values: Sequence[Number | None]  # None: no value that week (the line has a gap)


@dataclass(frozen=True)
class Point:
    x: float
    y: float
    value: Number


@dataclass(frozen=True)
class Line:
    series: Series
    style: int  # index of the CSS class
    segments: list[list[Point]]  # runs of consecutive known values

    def paths(self) -> list[str]:
        """The ``points`` attribute of each polyline."""
        return [" ".join(f"{p.x:.1f},{p.y:.1f}" for p in run) for run in self.segments]

    @property
    def points(self) -> list[Point]:
        return [p for run in self.segments for p in run]


@dataclass(frozen=True)
class Tick:
    position: float  # x or y in the viewBox
    label: str


@dataclass(frozen=True)
class LineChart:
    id: str  # unique on the page: the ids of the title, description and table derive from it
    title: str
    description: str
    labels: list[str]  # one per x position (weeks), as the table shows them
    lines: list[Line]
    x_ticks: list[Tick]
    y_ticks: list[Tick]
    unit: str = ""  # "%" for rates

    width: int = WIDTH
    height: int = HEIGHT
    left: int = LEFT
    right_edge: int = WIDTH - RIGHT
    top: int = TOP
    bottom_edge: int = HEIGHT - BOTTOM

    def cell(self, value: Number | None) -> str:
        """How the table writes a value: "–" for none."""
        if value is None:
            return "–"
        return f"{format_number(value)}{self.unit}"

    def rows(self) -> list[tuple[str, list[str]]]:
        return [(label, [self.cell(line.series.values[i]) for line in self.lines])
                for i, label in enumerate(self.labels)]


def format_number(value: Number) -> str:
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.1f}"


def nice_step(top: float, max_ticks: int = 5) -> float:
    """The smallest 1, 2 or 5 × 10ⁿ step (at least 1) that needs at most ``max_ticks`` intervals."""
    if top <= 0:
        return 1
    magnitude = 10 ** math.floor(math.log10(top / max_ticks)) if top / max_ticks >= 1 else 1
    for factor in (1, 2, 5, 10):
        step = factor * magnitude
        if math.ceil(top / step) <= max_ticks:
            return step
    return 10 * magnitude


def line_chart(id: str, title: str, description: str, labels: Sequence[str], series: Sequence[Series], *,
               unit: str = "", axis_labels: Sequence[str] | None = None) -> LineChart:
    """A line chart of ``series`` over ``labels`` (x positions, oldest first); ``axis_labels``: shorter
    texts for the x axis (default ``labels``), of which at most ``MAX_X_LABELS`` are written."""
    count = len(labels)
    if any(len(s.values) != count for s in series):
        raise ValueError("every series needs one value per label")
    known = [float(v) for s in series for v in s.values if v is not None]
    step = nice_step(max(known, default=0))
    top = max(step, math.ceil(max(known, default=0) / step) * step)
    plot_w, plot_h = WIDTH - RIGHT - LEFT, HEIGHT - BOTTOM - TOP

    def x_at(i: int) -> float:
        return LEFT + (plot_w * i / (count - 1) if count > 1 else plot_w / 2)

    def y_at(value: float) -> float:
        return TOP + plot_h * (1 - value / top)

    lines = []
    for n, s in enumerate(series):
        segments: list[list[Point]] = []
        run: list[Point] = []
        for i, value in enumerate(s.values):
            if value is None:
                if run:
                    segments.append(run)
                run = []
                continue
            run.append(Point(x_at(i), y_at(float(value)), value))
        if run:
            segments.append(run)
        lines.append(Line(s, n % SERIES_STYLES, segments))
    y_ticks = [Tick(y_at(k * step), f"{format_number(k * step)}{unit}") for k in range(int(round(top / step)) + 1)]
    texts = list(axis_labels or labels)
    every = max(1, math.ceil(count / MAX_X_LABELS))
    x_ticks = [Tick(x_at(i), texts[i]) for i in range(count) if (count - 1 - i) % every == 0]
    return LineChart(id, title, description, list(labels), lines, x_ticks, y_ticks, unit)
