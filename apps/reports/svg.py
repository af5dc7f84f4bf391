"""Small server-side SVG charts: bars, lines and sparklines. No JavaScript, no CDN.

Every label is escaped; the result is safe to put in a template as it is.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from html import escape

from django.utils.safestring import SafeString, mark_safe

INK = "#1d2433"
MUTED = "#5b6475"
LINE = "#dde2ea"
BRAND = "#2446a6"
PALETTE = ("#2446a6", "#1f7a4d", "#a35c00", "#b3261e", "#7a2fb3", "#0b7285")


def _esc(value: object) -> str:
    return escape(str(value), quote=True)


def _num(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def _nice_max(value: float) -> float:
    """The smallest 1, 2, 2.5 or 5 times a power of ten at or above ``value``."""
    if value <= 0:
        return 1
    magnitude = 10 ** math.floor(math.log10(value))
    for m in (1, 2, 2.5, 5, 10):
        if m * magnitude >= value:
            return m * magnitude
    return 10 * magnitude


def _svg(width: int, height: int, body: list[str], title: str) -> SafeString:
    return mark_safe(  # noqa: S308 - every piece of text in body is escaped with _esc
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{_esc(title)}" font-family="system-ui, sans-serif" font-size="11">'
        f"<title>{_esc(title)}</title>" + "".join(body) + "</svg>"
    )


def bar_chart(
    data: Sequence[tuple[str, float]],
    *,
    title: str,
    width: int = 420,
    bar_height: int = 18,
    color: str = BRAND,
    colors: Sequence[str] | None = None,
) -> SafeString:
    """Horizontal bars, one per (label, value), value written at the end of the bar."""
    label_w = min(170, max((len(str(label)) for label, _ in data), default=4) * 6 + 8)
    gap = 6
    height = max(1, len(data)) * (bar_height + gap) + 8
    top = max((v for _, v in data), default=0)
    scale = (width - label_w - 50) / (top or 1)
    body = []
    if not data:
        body.append(f'<text x="4" y="16" fill="{MUTED}">No data</text>')
    for i, (label, value) in enumerate(data):
        y = 4 + i * (bar_height + gap)
        w = max(0.0, value * scale)
        fill = colors[i % len(colors)] if colors else color
        text = str(label)
        short = text if len(text) <= 28 else text[:27] + "…"
        body.append(
            f'<text x="{label_w - 6}" y="{y + bar_height * 0.7:.1f}" text-anchor="end" '
            f'fill="{INK}">{_esc(short)}<title>{_esc(text)}</title></text>'
            f'<rect x="{label_w}" y="{y}" width="{w:.1f}" height="{bar_height}" rx="2" '
            f'fill="{fill}"><title>{_esc(text)}: {_num(value)}</title></rect>'
            f'<text x="{label_w + w + 4:.1f}" y="{y + bar_height * 0.7:.1f}" '
            f'fill="{MUTED}">{_num(value)}</text>'
        )
    return _svg(width, height, body, title)


def line_chart(
    series: dict[str, Sequence[float]],
    labels: Sequence[str],
    *,
    title: str,
    width: int = 560,
    height: int = 200,
) -> SafeString:
    """One or more lines over the same x labels, with a y axis and a legend."""
    left, right, top, bottom = 36, 10, 10, 34
    plot_w, plot_h = width - left - right, height - top - bottom
    n = len(labels)
    peak = _nice_max(max((max(v, default=0) for v in series.values()), default=0))
    body = []
    for i in range(5):
        value = peak * i / 4
        y = top + plot_h - plot_h * i / 4
        body.append(
            f'<line x1="{left}" x2="{width - right}" y1="{y:.1f}" y2="{y:.1f}" stroke="{LINE}"/>'
            f'<text x="{left - 4}" y="{y + 4:.1f}" text-anchor="end" fill="{MUTED}">'
            f"{_num(value)}</text>"
        )

    def x_at(i: int) -> float:
        return left + (plot_w * i / (n - 1) if n > 1 else plot_w / 2)

    step = max(1, n // 8)
    for i in range(0, n, step):
        body.append(
            f'<text x="{x_at(i):.1f}" y="{height - bottom + 14}" text-anchor="middle" '
            f'fill="{MUTED}">{_esc(labels[i])}</text>'
        )
    for index, (name, values) in enumerate(series.items()):
        color = PALETTE[index % len(PALETTE)]
        points = " ".join(
            f"{x_at(i):.1f},{top + plot_h - plot_h * v / peak:.1f}" for i, v in enumerate(values)
        )
        if points:
            body.append(
                f'<polyline fill="none" stroke="{color}" stroke-width="2" points="{points}">'
                f"<title>{_esc(name)}</title></polyline>"
            )
        lx = left + index * 150
        body.append(
            f'<rect x="{lx}" y="{height - 12}" width="10" height="10" fill="{color}"/>'
            f'<text x="{lx + 14}" y="{height - 3}" fill="{INK}">{_esc(name)}</text>'
        )
    return _svg(width, height, body, title)


def sparkline(
    values: Sequence[float], *, title: str, width: int = 120, height: int = 28, color: str = BRAND
) -> SafeString:
    """A tiny line without axes; the last value is marked."""
    n = len(values)
    peak = max(values, default=0) or 1
    if n == 0:
        return _svg(width, height, [], title)

    def xy(i: int, v: float) -> tuple[float, float]:
        x = 2 + ((width - 4) * i / (n - 1) if n > 1 else (width - 4) / 2)
        y = height - 2 - (height - 4) * v / peak
        return x, y

    points = " ".join(f"{x:.1f},{y:.1f}" for x, y in (xy(i, v) for i, v in enumerate(values)))
    lx, ly = xy(n - 1, values[-1])
    body = [
        f'<polyline fill="none" stroke="{color}" stroke-width="1.5" points="{points}"/>',
        f'<circle cx="{lx:.1f}" cy="{ly:.1f}" r="2" fill="{color}"/>',
    ]
    return _svg(width, height, body, title)
