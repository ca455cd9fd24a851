"""Small server-side SVG line charts for the clinician pages (no script, no inline style).

Colours are SVG presentation attributes, which the strict CSP allows.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from html import escape

from markupsafe import Markup

PALETTE = ("#0b5cad", "#a1261b", "#1d6b3a", "#8a5a00", "#6b3fa0", "#2f7f86")
WIDTH, HEIGHT = 640, 240
LEFT, RIGHT, TOP, BOTTOM = 44, 12, 14, 58


def _x(day: dt.date, first: dt.date, span: int) -> float:
    return LEFT + (WIDTH - LEFT - RIGHT) * ((day - first).days / span if span else 0.5)


def _y(value: float, low: float, high: float) -> float:
    fraction = (value - low) / (high - low) if high > low else 0.5
    return TOP + (HEIGHT - TOP - BOTTOM) * (1 - fraction)


def line_chart(
    series: Mapping[str, Sequence[tuple[dt.date, float]]],
    *,
    title: str,
    low: float,
    high: float,
    unit: str = "",
    guides: Sequence[tuple[float, str]] = (),
) -> Markup:
    """A line chart of dated values, one line per series, with a legend under it."""
    points = [p for values in series.values() for p in values]
    if not points:
        return Markup(f'<p class="small">{escape(title)}: no data yet.</p>')
    first = min(d for d, _ in points)
    last = max(d for d, _ in points)
    span = (last - first).days
    parts = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg">',
        f"<title>{escape(title)}</title>",
    ]
    steps = 4
    for i in range(steps + 1):
        value = low + (high - low) * i / steps
        y = _y(value, low, high)
        parts.append(
            f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" '
            'stroke="#d5dbe3" stroke-width="1"/>'
            f'<text x="{LEFT - 6}" y="{y + 4:.1f}" font-size="11" text-anchor="end" '
            f'fill="#4a5565">{value:g}{escape(unit)}</text>'
        )
    for value, label in guides:
        y = _y(value, low, high)
        parts.append(
            f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" '
            'stroke="#1d6b3a" stroke-width="1.5" stroke-dasharray="5 4"/>'
            f'<text x="{LEFT + 4}" y="{y - 4:.1f}" font-size="11" text-anchor="start" '
            f'fill="#1d6b3a">{escape(label)}</text>'
        )
    baseline = HEIGHT - BOTTOM
    for day in sorted({first, last}):
        x = _x(day, first, span)
        anchor = "start" if day == first and span else "end" if span else "middle"
        parts.append(
            f'<text x="{x:.1f}" y="{baseline + 16}" font-size="11" text-anchor="{anchor}" '
            f'fill="#4a5565">{day.isoformat()}</text>'
        )
    legend_x = LEFT
    for index, (name, values) in enumerate(series.items()):
        colour = PALETTE[index % len(PALETTE)]
        ordered = sorted(values)
        coords = [(_x(d, first, span), _y(v, low, high)) for d, v in ordered]
        if len(coords) > 1:
            path = " ".join(f"{x:.1f},{y:.1f}" for x, y in coords)
            parts.append(
                f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="2.5"/>'
            )
        for (x, y), (day, value) in zip(coords, ordered, strict=True):
            parts.append(
                f'<circle cx="{x:.1f}" cy="{y:.1f}" r="4" fill="{colour}">'
                f"<title>{escape(name)} {day.isoformat()}: {value:g}{escape(unit)}</title></circle>"
            )
        row = HEIGHT - 18 if index < 3 else HEIGHT - 4
        if index == 3:
            legend_x = LEFT
        parts.append(
            f'<rect x="{legend_x}" y="{row - 9}" width="12" height="12" fill="{colour}"/>'
            f'<text x="{legend_x + 16}" y="{row + 1}" font-size="12" fill="#1b2430">'
            f"{escape(name)}</text>"
        )
        legend_x += 24 + 7 * len(name)
    parts.append("</svg>")
    return Markup("".join(parts))
