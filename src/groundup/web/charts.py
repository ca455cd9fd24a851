"""Small server-side SVG charts for the web pages: lines over dates, and bars per week.

Each chart is a self-contained `<svg role="img">` with an `aria-label` summary and a
`<title>`. Series differ by colour *and* by marker shape and dash pattern, so they still
read in greyscale or for someone who does not see the colours. Only presentation
attributes are used (no `style=`), which the pages' Content-Security-Policy allows.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

from groundup.clinical.rules import Rules
from groundup.services.workflow import ProgressData

# Okabe–Ito colours: distinguishable with the common colour-vision differences.
BLUE = "#0072B2"
VERMILLION = "#D55E00"
GREEN = "#009E73"
PURPLE = "#CC79A7"
ORANGE = "#E69F00"
SKY = "#56B4E9"
PALETTE = (BLUE, VERMILLION, GREEN, PURPLE, ORANGE, SKY)
MARKERS = ("circle", "square", "triangle", "diamond", "cross", "circle")
DASHES = ("", "6 3", "2 3", "8 3 2 3", "", "4 4")

INK = "#1b2430"
MUTED = "#4a5565"
GRID = "#d5dbe3"

WIDTH = 340
HEIGHT = 250
LEFT, RIGHT, TOP, BOTTOM = 44, 10, 34, 40
FONT = 13
CHAR = 7.0  # the rough width of one character at FONT, for laying out the legend


@dataclass(frozen=True)
class Series:
    """One line: a name for the legend and (date, value) points."""

    name: str
    points: Sequence[tuple[dt.date, float]]
    colour: str = BLUE
    marker: str = "circle"
    dash: str = ""


def styled(names_and_points: Sequence[tuple[str, Sequence[tuple[dt.date, float]]]]) -> list[Series]:
    """Series with the palette, markers and dash patterns given out in turn."""
    return [
        Series(
            name,
            points,
            PALETTE[n % len(PALETTE)],
            MARKERS[n % len(MARKERS)],
            DASHES[n % len(DASHES)],
        )
        for n, (name, points) in enumerate(names_and_points)
    ]


def short_date(day: dt.date) -> str:
    """'3 Mar': short enough for an axis on a phone."""
    return f"{day.day} {day:%b}"


def _number(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    """Round tick values covering low..high (1, 2, 2.5 or 5 times a power of ten)."""
    if high <= low:
        high = low + 1
    raw = (high - low) / max(1, count)
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw)
    first = math.floor(low / step) * step
    ticks = []
    value = first
    while value <= high + step * 1e-9:
        if value >= low - step * 1e-9:
            ticks.append(round(value, 6))
        value += step
    return ticks


def _marker(kind: str, x: float, y: float, colour: str, label: str) -> str:
    title = f"<title>{escape(label)}</title>"
    if kind == "square":
        return (
            f'<rect x="{x - 4:.1f}" y="{y - 4:.1f}" width="8" height="8" fill="{colour}" '
            f'stroke="#fff" stroke-width="1">{title}</rect>'
        )
    if kind == "triangle":
        points = f"{x:.1f},{y - 5:.1f} {x + 5:.1f},{y + 4:.1f} {x - 5:.1f},{y + 4:.1f}"
        return (
            f'<polygon points="{points}" fill="{colour}" stroke="#fff" stroke-width="1">'
            f"{title}</polygon>"
        )
    if kind == "diamond":
        points = f"{x:.1f},{y - 5:.1f} {x + 5:.1f},{y:.1f} {x:.1f},{y + 5:.1f} {x - 5:.1f},{y:.1f}"
        return (
            f'<polygon points="{points}" fill="{colour}" stroke="#fff" stroke-width="1">'
            f"{title}</polygon>"
        )
    if kind == "cross":
        return (
            f'<path d="M{x - 4:.1f},{y - 4:.1f}L{x + 4:.1f},{y + 4:.1f}M{x - 4:.1f},{y + 4:.1f}'
            f'L{x + 4:.1f},{y - 4:.1f}" stroke="{colour}" stroke-width="2.5">{title}</path>'
        )
    return (
        f'<circle cx="{x:.1f}" cy="{y:.1f}" r="4.5" fill="{colour}" stroke="#fff" '
        f'stroke-width="1">{title}</circle>'
    )


def _legend(items: Sequence[tuple[str, str, str, str]]) -> tuple[list[str], float]:
    """Legend entries (name, colour, marker, dash) in rows along the top, and the height
    where the plot may start below them."""
    out: list[str] = []
    x, y = 8.0, 14.0
    for name, colour, marker, dash in items:
        width = 32 + len(name) * CHAR
        if x + width > WIDTH - RIGHT and x > 8:
            x, y = 8.0, y + 18
        dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
        if marker == "bar":
            out.append(
                f'<rect x="{x:.1f}" y="{y - 6:.1f}" width="16" height="10" fill="{colour}" '
                f'stroke="{INK}" stroke-width="1"/>'
            )
        elif marker == "outline":
            out.append(
                f'<rect x="{x:.1f}" y="{y - 6:.1f}" width="16" height="10" fill="#fff" '
                f'stroke="{INK}" stroke-width="1.5" stroke-dasharray="3 2"/>'
            )
        else:
            out.append(
                f'<line x1="{x:.1f}" y1="{y:.1f}" x2="{x + 18:.1f}" y2="{y:.1f}" '
                f'stroke="{colour}" stroke-width="2"{dash_attr}/>'
            )
            out.append(_marker(marker, x + 9, y, colour, name))
        out.append(
            f'<text x="{x + 22:.1f}" y="{y + 4:.1f}" font-size="{FONT}" fill="{INK}">'
            f"{escape(name)}</text>"
        )
        x += width
    return out, y + 20


def _frame(label: str, body: list[str], css_class: str) -> Markup:
    return Markup(
        f'<svg class="{escape(css_class)}" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-label="{escape(label)}" xmlns="http://www.w3.org/2000/svg" '
        f'font-family="system-ui, sans-serif"><title>{escape(label)}</title>'
        + "".join(body)
        + "</svg>"
    )


def _empty(label: str, message: str, css_class: str) -> Markup:
    body = [
        f'<rect x="{LEFT}" y="{TOP}" width="{WIDTH - LEFT - RIGHT}" '
        f'height="{HEIGHT - TOP - BOTTOM}" fill="#f3f6f9" stroke="{GRID}"/>',
        f'<text x="{WIDTH / 2:.1f}" y="{HEIGHT / 2:.1f}" text-anchor="middle" '
        f'font-size="{FONT + 1}" fill="{MUTED}">{escape(message)}</text>',
    ]
    return _frame(f"{label}: {message}", body, css_class)


def _y_axis(
    ticks: Sequence[float],
    y_of: Callable[[float], float],
    y_label: str,
    fmt: Callable[[float], str],
    top: float,
) -> list[str]:
    out = []
    for tick in ticks:
        y = y_of(tick)
        out.append(
            f'<line x1="{LEFT}" y1="{y:.1f}" x2="{WIDTH - RIGHT}" y2="{y:.1f}" '
            f'stroke="{GRID}" stroke-width="1"/>'
        )
        out.append(
            f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" font-size="{FONT}" '
            f'fill="{MUTED}">{escape(fmt(tick))}</text>'
        )
    middle = (top + HEIGHT - BOTTOM) / 2
    out.append(
        f'<text x="12" y="{middle:.1f}" text-anchor="middle" font-size="{FONT}" fill="{INK}" '
        f'transform="rotate(-90 12 {middle:.1f})">{escape(y_label)}</text>'
    )
    out.append(
        f'<line x1="{LEFT}" y1="{HEIGHT - BOTTOM}" x2="{WIDTH - RIGHT}" y2="{HEIGHT - BOTTOM}" '
        f'stroke="{INK}" stroke-width="1"/>'
    )
    return out


def _date_ticks(first: dt.date, last: dt.date, most: int = 4) -> list[dt.date]:
    span = (last - first).days
    if span <= 0:
        return [first]
    count = min(most, span + 1)
    days = sorted({first + dt.timedelta(days=round(span * n / (count - 1))) for n in range(count)})
    return days


def line_chart(
    series: Sequence[Series],
    *,
    label: str,
    y_label: str,
    y_min: float = 0,
    y_max: float | None = None,
    reference: tuple[float, str] | None = None,
    value_text: Callable[[float], str] = _number,
    empty: str = "Nothing to show yet",
    css_class: str = "chart",
) -> Markup:
    """Lines over dates. `label` starts the accessible summary; the latest value of each
    series is added to it. `reference` draws a dashed line at a value, with its words."""
    drawn = [s for s in series if s.points]
    if not drawn:
        return _empty(label, empty, css_class)
    days = [d for s in drawn for d, _ in s.points]
    values = [v for s in drawn for _, v in s.points]
    first, last = min(days), max(days)
    top = y_max if y_max is not None else max(values)
    if reference is not None:
        top = max(top, reference[0])
    top = max(top, y_min + 1)
    ticks = nice_ticks(y_min, top)
    top = max(top, ticks[-1])
    legend, plot_top = _legend([(s.name, s.colour, s.marker, s.dash) for s in drawn])
    plot_w = WIDTH - LEFT - RIGHT
    plot_h = HEIGHT - plot_top - BOTTOM
    span = max(1, (last - first).days)

    def x_of(day: dt.date) -> float:
        if first == last:
            return LEFT + plot_w / 2
        return LEFT + 8 + (plot_w - 16) * (day - first).days / span

    def y_of(value: float) -> float:
        return plot_top + plot_h - plot_h * (value - y_min) / (top - y_min)

    body = _y_axis(ticks, y_of, y_label, value_text, plot_top)
    for day in _date_ticks(first, last):
        x = x_of(day)
        body.append(
            f'<line x1="{x:.1f}" y1="{HEIGHT - BOTTOM}" x2="{x:.1f}" y2="{HEIGHT - BOTTOM + 4}" '
            f'stroke="{INK}"/>'
        )
        # Labels near the ends are anchored inwards so they are not cut off.
        anchor = "end" if x > WIDTH - RIGHT - 24 else "start" if x < LEFT + 16 else "middle"
        body.append(
            f'<text x="{x:.1f}" y="{HEIGHT - BOTTOM + 17}" text-anchor="{anchor}" '
            f'font-size="{FONT}" fill="{MUTED}">{escape(short_date(day))}</text>'
        )
    if reference is not None:
        y = y_of(reference[0])
        body.append(
            f'<line x1="{LEFT}" y1="{y:.1f}" x2="{WIDTH - RIGHT}" y2="{y:.1f}" stroke="{INK}" '
            f'stroke-width="1.2" stroke-dasharray="5 4"/>'
        )
        body.append(
            f'<text x="{WIDTH - RIGHT - 2}" y="{y - 4:.1f}" text-anchor="end" '
            f'font-size="{FONT - 1}" fill="{INK}">{escape(reference[1])}</text>'
        )
    for item in drawn:
        points = sorted(item.points)
        path = " ".join(f"{x_of(d):.1f},{y_of(v):.1f}" for d, v in points)
        dash = f' stroke-dasharray="{item.dash}"' if item.dash else ""
        if len(points) > 1:
            body.append(
                f'<polyline points="{path}" fill="none" stroke="{item.colour}" '
                f'stroke-width="2.2"{dash}/>'
            )
        body += [
            _marker(
                item.marker,
                x_of(d),
                y_of(v),
                item.colour,
                f"{item.name}, {short_date(d)}: {value_text(v)}",
            )
            for d, v in points
        ]
    body += legend
    latest = "; ".join(
        f"{s.name} latest {value_text(sorted(s.points)[-1][1])} on {short_date(sorted(s.points)[-1][0])}"
        for s in drawn
    )
    summary = (
        f"{label}, {short_date(first)} to {short_date(last)}. {latest}."
        if first != last
        else f"{label}, {short_date(first)}. {latest}."
    )
    return _frame(summary, body, css_class)


@dataclass(frozen=True)
class Bar:
    """One bar: its axis label, its value and, optionally, an outlined total behind it."""

    label: str
    value: float
    total: float | None = None
    note: str = ""


def bar_chart(
    bars: Sequence[Bar],
    *,
    label: str,
    y_label: str,
    value_name: str,
    total_name: str = "",
    value_text: Callable[[float], str] = _number,
    empty: str = "Nothing to show yet",
    colour: str = BLUE,
    css_class: str = "chart",
    whole: bool = False,
) -> Markup:
    """Bars in order (e.g. one a week). With totals, each bar stands inside a dashed
    outline of its total, e.g. sessions done inside sessions planned."""
    if not bars:
        return _empty(label, empty, css_class)
    top = max(max(b.value for b in bars), max((b.total or 0) for b in bars), 1)
    ticks = nice_ticks(0, top, 4)
    if whole:  # counts: whole-number ticks only
        ticks = sorted({float(math.ceil(t)) for t in ticks})
    top = max(top, ticks[-1])
    legend_items = [(value_name, colour, "bar", "")]
    if total_name and any(b.total is not None for b in bars):
        legend_items.append((total_name, INK, "outline", ""))
    legend, plot_top = _legend(legend_items)
    plot_top += 10  # room for the note above the tallest bar
    plot_w = WIDTH - LEFT - RIGHT
    plot_h = HEIGHT - plot_top - BOTTOM
    slot = plot_w / len(bars)
    width = min(36.0, slot * 0.7)

    def y_of(value: float) -> float:
        return plot_top + plot_h - plot_h * value / top

    body = _y_axis(ticks, y_of, y_label, value_text, plot_top)
    every = max(1, math.ceil(len(bars) / 6))
    for n, bar in enumerate(bars):
        x = LEFT + slot * n + (slot - width) / 2
        if bar.total is not None and bar.total > 0:
            y = y_of(bar.total)
            body.append(
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{width:.1f}" '
                f'height="{HEIGHT - BOTTOM - y:.1f}" fill="#fff" stroke="{INK}" '
                f'stroke-width="1.5" stroke-dasharray="3 2"/>'
            )
        y = y_of(bar.value)
        title = f"{bar.label}: {value_text(bar.value)}" + (f" ({bar.note})" if bar.note else "")
        body.append(
            f'<rect x="{x + 3:.1f}" y="{y:.1f}" width="{max(1.0, width - 6):.1f}" '
            f'height="{HEIGHT - BOTTOM - y:.1f}" fill="{colour}" stroke="{INK}" '
            f'stroke-width="0.8"><title>{escape(title)}</title></rect>'
        )
        if bar.note and len(bars) <= 8:
            top_y = min(y, y_of(bar.total)) if bar.total else y
            body.append(
                f'<text x="{x + width / 2:.1f}" y="{top_y - 4:.1f}" text-anchor="middle" '
                f'font-size="{FONT - 1}" fill="{INK}">{escape(bar.note)}</text>'
            )
        if n % every == 0:
            body.append(
                f'<text x="{x + width / 2:.1f}" y="{HEIGHT - BOTTOM + 17}" text-anchor="middle" '
                f'font-size="{FONT}" fill="{MUTED}">{escape(bar.label)}</text>'
            )
    body += legend
    last = bars[-1]
    summary = (
        f"{label}: {len(bars)} {'bar' if len(bars) == 1 else 'bars'}, from {bars[0].label} "
        f"to {last.label}. Latest, {last.label}: {value_text(last.value)}"
        + (f" of {value_text(last.total)}" if last.total is not None else "")
        + "."
    )
    return _frame(summary, body, css_class)


@dataclass(frozen=True)
class ProgressCharts:
    """The four progress charts a person sees, on their page and in the printed report."""

    pain: Markup
    lsi: Markup
    minutes: Markup
    adherence: Markup


def progress_charts(data: ProgressData, rules: Rules) -> ProgressCharts:
    """Pain, side-to-side balance, weekly minutes and sessions done, in plain words."""
    limit = rules.progression.pain_acceptable_max
    pain = line_chart(
        [
            Series("Pain in session", [(d, float(p)) for d, p in data.session_pain], BLUE),
            Series(
                "Morning pain",
                [(d, float(p)) for d, p, _ in data.morning],
                VERMILLION,
                "square",
                "6 3",
            ),
            Series(
                "Morning stiffness",
                [(d, float(s)) for d, _, s in data.morning],
                GREEN,
                "triangle",
                "2 3",
            ),
        ],
        label="Pain over time, 0 to 10",
        y_label="pain 0–10",
        y_max=10,
        reference=(limit, f"above {limit}: too much"),
        empty="Log a session or a check-in to see this",
    )
    tests = rules.assessment.tests
    even = max(band.below for band in rules.assessment.lsi_bands)
    # The LSI is kept as measured: above 100 when the sore leg did more than the other.
    highest = max((v for points in data.lsi.values() for _, v in points), default=100.0)
    lsi = line_chart(
        styled([(tests[t].short if t in tests else t, points) for t, points in data.lsi.items()]),
        label="Limb symmetry per test, the sore leg as a percentage of the other",
        y_label="percent",
        y_max=max(100.0, highest),
        reference=(even, f"{even:g} %"),
        value_text=lambda v: f"{v:.0f}",
        empty="Shown after an assessment with one sore leg",
    )
    minutes = bar_chart(
        [Bar(short_date(week), value) for week, value in data.weekly_minutes],
        label="Minutes of exercise each week",
        y_label="minutes",
        value_name="minutes of work",
        value_text=lambda v: f"{v:.0f}",
        empty="Log a session to see this",
    )
    adherence = bar_chart(
        [
            Bar(short_date(week), done, planned, f"{done}/{planned}")
            for week, done, planned in data.adherence
        ],
        label="Sessions done each week, out of those planned",
        y_label="sessions",
        value_name="done",
        total_name="planned",
        value_text=lambda v: f"{v:.0f}",
        colour=GREEN,
        whole=True,
        empty="Shown from your first training day",
    )
    return ProgressCharts(pain, lsi, minutes, adherence)
