"""Bar and line charts as SVG, drawn on the server (issue 19 §2): no script, no CDN, nothing for the CSP to allow.

Each chart names itself to assistive technology (``role="img"`` labelled by its ``<title>`` and described by a
``<desc>`` that reads every figure); the page shows the same figures in a table beside it. The texts come in
already translated: this module only draws.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

WIDTH, HEIGHT = 640, 280
LEFT, RIGHT, TOP, BOTTOM = 56, 16, 16, 64  # room for the y ticks, the x labels and the axis titles
# Dark enough for 3:1 against white (WCAG 1.4.11) and told apart by more than hue: each series has a legend.
COLOURS = ("#1f5fa8", "#b4400a", "#2a7a3b", "#7e3fa6", "#8a6d00", "#0f6f78")


@dataclass(frozen=True)
class Series:
    name: str
    values: Sequence[int]


def nice_top(largest: int) -> int:
    """The top of the y axis: 1, 2 or 5 times a power of ten, at least ``largest`` (and at least 1)."""
    if largest <= 1:
        return 1
    power = 10 ** math.floor(math.log10(largest))
    return next(step * power for step in (1, 2, 5, 10) if step * power >= largest)


def ticks(top: int) -> list[int]:
    """Up to five whole-number steps from 0 to ``top``."""
    step = max(1, top // 5) if top % 5 == 0 else max(1, math.ceil(top / 4))
    return list(range(0, top + 1, step)) + ([] if top % step == 0 else [top])


def bar_chart(chart_id: str, title: str, labels: Sequence[str], series: Sequence[Series], *,
              x_title: str, y_title: str) -> Markup:
    """Bars per label, one per series side by side."""
    top = nice_top(max((v for s in series for v in s.values), default=0))
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    slot = plot_w / max(1, len(labels))
    bar = slot * 0.7 / max(1, len(series))
    shapes = []
    for n, s in enumerate(series):
        for i, value in enumerate(s.values):
            h = plot_h * value / top
            x = LEFT + i * slot + slot * 0.15 + n * bar
            shapes.append(f'<rect x="{x:.1f}" y="{TOP + plot_h - h:.1f}" width="{bar:.1f}" height="{h:.1f}" '
                          f'fill="{COLOURS[n % len(COLOURS)]}"><title>{escape(labels[i])}, {escape(s.name)}: '
                          f'{value}</title></rect>')
    return _frame(chart_id, title, labels, series, top, slot, shapes, x_title, y_title)


def line_chart(chart_id: str, title: str, labels: Sequence[str], series: Sequence[Series], *,
               x_title: str, y_title: str) -> Markup:
    """A line per series through the labels, with a marker on each point."""
    top = nice_top(max((v for s in series for v in s.values), default=0))
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    slot = plot_w / max(1, len(labels))
    shapes = []
    for n, s in enumerate(series):
        colour = COLOURS[n % len(COLOURS)]
        points = [(LEFT + (i + 0.5) * slot, TOP + plot_h - plot_h * v / top) for i, v in enumerate(s.values)]
        path = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
        shapes.append(f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="2"/>')
        shapes.extend(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3.5" fill="{colour}"><title>{escape(labels[i])}, '
                      f'{escape(s.name)}: {s.values[i]}</title></circle>' for i, (x, y) in enumerate(points))
    return _frame(chart_id, title, labels, series, top, slot, shapes, x_title, y_title)


def describe(labels: Sequence[str], series: Sequence[Series]) -> str:
    """Every figure in words, for a screen reader: "label: name value, name value; ..."."""
    return "; ".join(f"{label}: " + ", ".join(f"{s.name} {s.values[i]}" for s in series)
                     for i, label in enumerate(labels))


def _frame(chart_id: str, title: str, labels: Sequence[str], series: Sequence[Series], top: int, slot: float,
           shapes: list[str], x_title: str, y_title: str) -> Markup:
    plot_h, bottom = HEIGHT - TOP - BOTTOM, HEIGHT - BOTTOM
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" '
             f'width="{WIDTH}" height="{HEIGHT}" role="img" aria-labelledby="{chart_id}-title {chart_id}-desc">',
             f'<title id="{chart_id}-title">{escape(title)}</title>',
             f'<desc id="{chart_id}-desc">{escape(describe(labels, series))}</desc>']
    for tick in ticks(top):
        y = TOP + plot_h - plot_h * tick / top
        parts.append(f'<line x1="{LEFT}" y1="{y:.1f}" x2="{WIDTH - RIGHT}" y2="{y:.1f}" stroke="#d0d0d0"/>'
                     f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">{tick}</text>')
    parts.append(f'<line x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{bottom}" stroke="#1b1b1b"/>'
                 f'<line x1="{LEFT}" y1="{bottom}" x2="{WIDTH - RIGHT}" y2="{bottom}" stroke="#1b1b1b"/>')
    parts.extend(shapes)
    parts.extend(f'<text x="{LEFT + (i + 0.5) * slot:.1f}" y="{bottom + 16}" text-anchor="middle">'
                 f'{escape(label)}</text>' for i, label in enumerate(labels))
    parts.append(f'<text x="{LEFT + (WIDTH - LEFT - RIGHT) / 2:.1f}" y="{HEIGHT - 26}" text-anchor="middle">'
                 f'{escape(x_title)}</text>'
                 f'<text transform="translate(14 {TOP + plot_h / 2:.1f}) rotate(-90)" text-anchor="middle">'
                 f'{escape(y_title)}</text>')
    if len(series) > 1:
        x = LEFT
        for n, s in enumerate(series):
            parts.append(f'<rect x="{x}" y="{HEIGHT - 14}" width="10" height="10" '
                         f'fill="{COLOURS[n % len(COLOURS)]}"/><text x="{x + 14}" y="{HEIGHT - 5}">'
                         f'{escape(s.name)}</text>')
            x += 24 + 8 * len(s.name)
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704  # every text above went through escape(); the rest are numbers
