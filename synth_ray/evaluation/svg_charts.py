"""Small inline SVG charts for the HTML report: no plotting library, no JavaScript.

Each function returns one ``<svg>`` element as text, sized in CSS pixels, styled by
the report's stylesheet classes (``real``, ``synthetic``...) so colours live in one
place. Numbers on axes are "nice" (steps of 1, 2, 2.5 or 5 times a power of ten).
"""

from __future__ import annotations

import datetime as dt
import html
import itertools
import math
from collections.abc import Callable, Sequence

from synth_ray.evaluation.column_stats import Distribution

__all__ = ["bar_chart", "heatmap", "histogram_chart", "nice_ticks", "score_bar"]

_LEFT, _RIGHT, _TOP, _BOTTOM = 42, 8, 8, 22


def _esc(text: object) -> str:
    return html.escape(str(text), quote=True)


def nice_ticks(lo: float, hi: float, count: int = 5) -> list[float]:
    """About ``count`` round numbers spanning ``[lo, hi]``."""
    if not (math.isfinite(lo) and math.isfinite(hi)) or hi <= lo:
        return [lo]
    raw = (hi - lo) / max(count - 1, 1)
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    first = math.ceil(lo / step - 1e-9) * step
    return [first + i * step for i in range(int((hi - first) / step + 1e-9) + 1)]


def _number(value: float, step: float) -> str:
    if abs(value) >= 1e6:
        return f"{value / 1e6:g}M"
    if abs(value) >= 1e4 or (abs(value) >= 1e3 and step >= 1e3):
        return f"{value / 1e3:g}k"
    decimals = 0
    while decimals < 6 and abs(round(step, decimals) - step) > step * 1e-6:
        decimals += 1  # as many as the step needs: 0.025 -> 3
    return f"{value:.{decimals}f}"


def _date_label(value: float, span: float) -> str:
    """A datetime (seconds since the epoch) as precisely as a ``span``-wide axis needs."""
    moment = dt.datetime(1970, 1, 1) + dt.timedelta(seconds=value)
    day = 86_400
    fmt = ("%Y" if span > 6 * 365 * day else "%Y-%m" if span > 90 * day
           else "%Y-%m-%d" if span > 3 * day else "%m-%d %H:%M")
    return moment.strftime(fmt)


def _x_ticks(lo: float, hi: float, datetimes: bool) -> list[tuple[float, str]]:
    """Tick positions and labels: round numbers, or four evenly spaced dates."""
    if datetimes:
        return [(lo + (hi - lo) * f, _date_label(lo + (hi - lo) * f, hi - lo))
                for f in (0.125, 0.375, 0.625, 0.875)]
    ticks = nice_ticks(lo, hi, 6)
    step = ticks[1] - ticks[0] if len(ticks) > 1 else hi - lo
    return [(t, _number(t, step)) for t in ticks]


def _y_axis(y_max: float, height: int, width: int) -> tuple[list[str], float]:
    """Horizontal grid lines with percent labels; returns the parts and the scale top."""
    ticks = nice_ticks(0.0, y_max, 3)
    top = max(ticks[-1], y_max) or 1.0
    parts = []
    for t in ticks:
        y = _TOP + height * (1 - t / top)
        parts.append(f'<line class="gridline" x1="{_LEFT}" x2="{_LEFT + width}" y1="{y:.1f}" y2="{y:.1f}"/>'
                     f'<text class="tick" x="{_LEFT - 4}" y="{y + 3:.1f}" text-anchor="end">{t:.0%}</text>')
    return parts, top


def _step_path(edges: Sequence[float], shares: Sequence[float], x: Callable[[float], float],
               y: Callable[[float], float], closed: bool) -> str:
    points = [(x(edges[0]), y(0.0))]
    for i, share in enumerate(shares):
        points += [(x(edges[i]), y(share)), (x(edges[i + 1]), y(share))]
    points.append((x(edges[-1]), y(0.0)))
    path = " ".join(f"{'M' if i == 0 else 'L'}{px:.1f},{py:.1f}" for i, (px, py) in enumerate(points))
    return path + (" Z" if closed else "")


def histogram_chart(dist: Distribution, *, datetimes: bool = False, width: int = 320,
                    height: int = 150, classes: tuple[str, str] = ("real", "synthetic"),
                    x_title: str = "") -> str:
    """Two overlaid histograms: the first as a filled area, the second as an outline."""
    if not dist.edges:
        return '<p class="muted">no values to plot</p>'
    lo, hi = dist.edges[0], dist.edges[-1]
    bottom = _BOTTOM + (16 if x_title else 0)
    plot_w, plot_h = width - _LEFT - _RIGHT, height - _TOP - bottom
    grid, top = _y_axis(max(max(dist.real, default=0), max(dist.synthetic, default=0)), plot_h, plot_w)

    def x(v: float) -> float:
        return _LEFT + plot_w * (v - lo) / (hi - lo)

    def y(v: float) -> float:
        return _TOP + plot_h * (1 - v / top)

    baseline = _TOP + plot_h + 14
    labels = []
    for t, text in _x_ticks(lo, hi, datetimes):
        anchor = "end" if x(t) > width - _RIGHT - 3 * len(text) else "middle"
        labels.append(f'<text class="tick" x="{x(t):.1f}" y="{baseline}" text-anchor="{anchor}">'
                      f"{_esc(text)}</text>")
    if x_title:
        labels.append(f'<text class="tick" x="{_LEFT + plot_w / 2:.1f}" y="{baseline + 16}" '
                      f'text-anchor="middle">{_esc(x_title)}</text>')
    first, second = classes
    return (f'<svg class="chart" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
            f'role="img">{"".join(grid)}'
            f'<path class="{first} area" d="{_step_path(dist.edges, dist.real, x, y, True)}"/>'
            f'<path class="{second} line" d="{_step_path(dist.edges, dist.synthetic, x, y, False)}"/>'
            f'<line class="axis" x1="{_LEFT}" x2="{_LEFT + plot_w}" y1="{_TOP + plot_h}" '
            f'y2="{_TOP + plot_h}"/>{"".join(labels)}</svg>')


def bar_chart(dist: Distribution, *, width: int = 320, height: int = 150) -> str:
    """Grouped bars, real beside synthetic, one group per category or value."""
    count = max(len(dist.labels), 1)
    slot_px = (width - _LEFT - _RIGHT) / count
    longest = min(max((len(label) for label in dist.labels), default=0), 14)
    rotate = longest * 6.0 > slot_px * 0.95  # 10 px text is about 6 px a character
    bottom = 22 + int(longest * 4.2) if rotate else _BOTTOM
    plot_w, plot_h = width - _LEFT - _RIGHT, height - _TOP - bottom
    grid, top = _y_axis(max(max(dist.real, default=0), max(dist.synthetic, default=0)), plot_h, plot_w)
    slot = plot_w / count
    bar = max(slot * 0.38, 1.0)
    parts = list(grid)
    for i, label in enumerate(dist.labels):
        left = _LEFT + i * slot + slot / 2 - bar
        for j, (css, share) in enumerate((("real", dist.real[i]), ("synthetic", dist.synthetic[i]))):
            h = plot_h * share / top
            parts.append(f'<rect class="{css} bar" x="{left + j * bar:.1f}" y="{_TOP + plot_h - h:.1f}" '
                         f'width="{bar:.1f}" height="{h:.1f}"><title>{_esc(label)}: {css} '
                         f"{share:.1%}</title></rect>")
        short = label if len(label) <= 14 else label[:13] + "…"
        cx, cy = _LEFT + i * slot + slot / 2, _TOP + plot_h + 12
        turn = f' transform="rotate(-40 {cx:.1f} {cy:.1f})" text-anchor="end"' if rotate else (
            ' text-anchor="middle"')
        parts.append(f'<text class="tick" x="{cx:.1f}" y="{cy:.1f}"{turn}>{_esc(short)}</text>')
    parts.append(f'<line class="axis" x1="{_LEFT}" x2="{_LEFT + plot_w}" y1="{_TOP + plot_h}" '
                 f'y2="{_TOP + plot_h}"/>')
    return (f'<svg class="chart" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
            f'role="img">{"".join(parts)}</svg>')


def _heat_colour(value: float) -> str:
    """White (0) through amber to deep red (>= 0.5) for an absolute difference."""
    if not math.isfinite(value):
        return "#e5e7eb"
    stops = [(0.0, (255, 255, 255)), (0.1, (254, 240, 200)), (0.25, (253, 174, 97)),
             (0.5, (215, 48, 39)), (1.0, (127, 0, 0))]
    value = min(max(value, 0.0), 1.0)
    for (a, ca), (b, cb) in itertools.pairwise(stops):
        if value <= b:
            t = (value - a) / (b - a)
            return "#" + "".join(f"{round(x + (y - x) * t):02x}" for x, y in zip(ca, cb, strict=True))
    return "#7f0000"


def heatmap(names: Sequence[str], cells: dict[tuple[str, str], tuple[float, str]], *,
            size: int = 560) -> str:
    """A symmetric matrix of values in [0, 1], each cell with a tooltip; grey where missing."""
    n = max(len(names), 1)
    label_w = min(150, 14 + 7 * max((len(x) for x in names), default=4))
    cell = max(min((size - label_w) / n, 44.0), 8.0)
    side = label_w + cell * n
    parts = []
    for i, a in enumerate(names):
        y = label_w + i * cell
        parts.append(f'<text class="tick" x="{label_w - 6}" y="{y + cell / 2 + 4:.1f}" '
                     f'text-anchor="end">{_esc(a[:20])}</text>')
        cx = label_w + i * cell + cell / 2
        parts.append(f'<text class="tick" x="{cx:.1f}" y="{label_w - 6}" '
                     f'transform="rotate(-45 {cx:.1f} {label_w - 6})">{_esc(a[:20])}</text>')
        for j, b in enumerate(names):
            value, tip = cells.get((a, b)) or cells.get((b, a)) or (float("nan"), f"{a} × {b}")
            colour = "#475569" if i == j else _heat_colour(value)
            x = label_w + j * cell
            parts.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{cell:.1f}" height="{cell:.1f}" '
                         f'fill="{colour}" class="cell"><title>{_esc(tip)}</title></rect>')
            if i != j and cell >= 30 and math.isfinite(value):
                ink = "#fff" if value > 0.35 else "#1f2937"
                parts.append(f'<text class="cellnum" x="{x + cell / 2:.1f}" y="{y + cell / 2 + 4:.1f}" '
                             f'fill="{ink}" text-anchor="middle">{value:.2f}</text>')
    legend_y = side + 14
    for k in range(50):
        parts.append(f'<rect x="{label_w + k * 3:.0f}" y="{legend_y}" width="3" height="10" '
                     f'fill="{_heat_colour(k / 49 * 0.6)}"/>')
    parts.append(f'<text class="tick" x="{label_w - 6}" y="{legend_y + 9}" text-anchor="end">0</text>'
                 f'<text class="tick" x="{label_w + 154}" y="{legend_y + 9}">≥ 0.5 difference</text>')
    height = side + 32
    return (f'<svg class="chart" width="{side:.0f}" height="{height:.0f}" '
            f'viewBox="0 0 {side:.0f} {height:.0f}" role="img">{"".join(parts)}</svg>')


def score_bar(value: float, *, width: int = 90) -> str:
    """A thin horizontal bar for a score in [0, 1], green when high, red when low."""
    if not math.isfinite(value):
        return '<span class="muted">n/a</span>'
    colour = "#16a34a" if value >= 0.9 else "#d97706" if value >= 0.75 else "#dc2626"
    return (f'<svg width="{width}" height="10" class="scorebar"><rect width="{width}" height="10" '
            f'rx="3" fill="#e5e7eb"/><rect width="{width * max(min(value, 1.0), 0.0):.1f}" '
            f'height="10" rx="3" fill="{colour}"/></svg>')
