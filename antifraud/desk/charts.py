"""Charts as inline SVG, rendered on the server (no CDN, no script): columns over time and
horizontal bars. Colours come from CSS classes, so the page's stylesheet owns the look."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from html import escape


@dataclass(frozen=True, slots=True)
class Series:
    name: str
    values: Sequence[float]
    css: str  # s1 | s2 | s3 ...


@dataclass(frozen=True, slots=True)
class BarRow:
    label: str
    total: float
    part: float | None = None  # drawn over the total, darker (e.g. dissuaded of tasks)
    text: str | None = None  # what to print beside the bar; the total by default


def nice_ceiling(value: float) -> float:
    """The axis maximum: 1, 2, 2.5 or 5 times a power of ten, at least `value`."""
    if value <= 0:
        return 1.0
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * power:
            return float(step * power)
    return float(10 * power)


def _fmt(value: float) -> str:
    return f"{value:.0f}" if value == int(value) else f"{value:.1f}"


def _legend(series: Sequence[Series], x: float, y: float) -> list[str]:
    parts: list[str] = []
    for item in series:
        parts.append(
            f'<rect class="{item.css}" x="{x:.1f}" y="{y - 9:.1f}" width="10" height="10" rx="2"/>'
        )
        parts.append(
            f'<text class="legend" x="{x + 14:.1f}" y="{y:.1f}">{escape(item.name)}</text>'
        )
        x += 22 + 7.2 * len(item.name)
    return parts


def column_chart(
    labels: Sequence[str], series: Sequence[Series], title: str, width: int = 640, height: int = 240
) -> str:
    """Grouped columns per time bucket; every other label is dropped when they would crowd."""
    left, right, top, bottom = 40.0, 10.0, 30.0, 26.0
    plot_w, plot_h = width - left - right, height - top - bottom
    peak = max((v for s in series for v in s.values), default=0.0)
    axis_max = nice_ceiling(peak)
    parts = [
        f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg">',
        f"<title>{escape(title)}</title>",
    ]
    for i in range(5):
        value = axis_max * i / 4
        y = top + plot_h - plot_h * i / 4
        parts.append(
            f'<line class="grid" x1="{left}" x2="{width - right}" y1="{y:.1f}" y2="{y:.1f}"/>'
        )
        parts.append(
            f'<text class="axis" x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">{_fmt(value)}</text>'
        )
    n = max(1, len(labels))
    slot = plot_w / n
    bar_w = max(1.5, (slot * 0.8) / max(1, len(series)))
    every = max(1, math.ceil(n / 12))
    for i, label in enumerate(labels):
        x0 = left + i * slot + slot * 0.1
        for j, item in enumerate(series):
            value = item.values[i] if i < len(item.values) else 0.0
            h = plot_h * value / axis_max
            x = x0 + j * bar_w
            parts.append(
                f'<rect class="{item.css}" x="{x:.1f}" y="{top + plot_h - h:.1f}" width="{bar_w - 1:.1f}" height="{h:.1f}" rx="1"><title>{escape(label)} {escape(item.name)}: {_fmt(value)}</title></rect>'
            )
        if i % every == 0:
            parts.append(
                f'<text class="axis" x="{left + i * slot + slot / 2:.1f}" y="{height - 8}" text-anchor="middle">{escape(label)}</text>'
            )
    parts += _legend(series, left, 16)
    parts.append("</svg>")
    return "".join(parts)


def bar_chart(
    rows: Sequence[BarRow],
    title: str,
    legend: Sequence[Series] = (),
    width: int = 480,
    label_w: int = 170,
    value_w: int = 70,
    fmt: Callable[[float], str] = _fmt,
) -> str:
    """Horizontal bars, one row each: a light total with an optional darker part over it."""
    row_h, top = 24.0, 30.0 if legend else 8.0
    height = int(top + row_h * max(1, len(rows)) + 6)
    plot_w = width - label_w - value_w
    axis_max = nice_ceiling(max((r.total for r in rows), default=0.0))
    parts = [
        f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg">',
        f"<title>{escape(title)}</title>",
    ]
    if not rows:
        parts.append(f'<text class="axis" x="{label_w}" y="{top + 16}">—</text>')
    for i, row in enumerate(rows):
        y = top + i * row_h
        w_total = plot_w * row.total / axis_max
        parts.append(
            f'<text class="label" x="{label_w - 8}" y="{y + 15:.1f}" text-anchor="end">{escape(row.label)}</text>'
        )
        parts.append(
            f'<rect class="track" x="{label_w}" y="{y + 4:.1f}" width="{plot_w:.1f}" height="14" rx="3"/>'
        )
        parts.append(
            f'<rect class="s1" x="{label_w}" y="{y + 4:.1f}" width="{w_total:.1f}" height="14" rx="3"/>'
        )
        if row.part is not None:
            w_part = plot_w * row.part / axis_max
            parts.append(
                f'<rect class="s2" x="{label_w}" y="{y + 4:.1f}" width="{w_part:.1f}" height="14" rx="3"/>'
            )
        text = row.text if row.text is not None else fmt(row.total)
        parts.append(
            f'<text class="value" x="{label_w + plot_w + 6:.1f}" y="{y + 15:.1f}">{escape(text)}</text>'
        )
    if legend:
        parts += _legend(legend, label_w, 16)
    parts.append("</svg>")
    return "".join(parts)
