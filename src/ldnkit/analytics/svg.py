"""Small helpers for hand-written SVG: escaping, numbers, date axes and the accessible frame.

Charts are plain strings so the server can inline them in a page or a report without a plotting
library. Every chart is a standalone <svg> with a viewBox (it scales to the width of a phone),
`role="img"`, and a <title> and <desc> that screen readers announce.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import html
import math
from collections.abc import Sequence
from dataclasses import dataclass

MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif"


def esc(text: object) -> str:
    """Text safe inside an element or an attribute value."""
    return html.escape(str(text), quote=True)


def num(value: float) -> str:
    """A coordinate with at most one decimal, no trailing zeros: short and stable output."""
    text = f"{value:.1f}"
    return text[:-2] if text.endswith(".0") else text


def short_date(day: dt.date) -> str:
    """'Jan 5': fixed English month names so output does not depend on the server's locale."""
    return f"{MONTHS[day.month - 1]} {day.day}"


def chart_id(*parts: object) -> str:
    """An id unique to the chart's content, so several charts can share one page."""
    digest = hashlib.sha256("|".join(str(p) for p in parts).encode()).hexdigest()[:10]
    return f"ldn-chart-{digest}"


@dataclass(frozen=True)
class Frame:
    """The plot area inside the viewBox."""

    width: float
    height: float
    left: float
    right: float
    top: float
    bottom: float

    @property
    def plot_width(self) -> float:
        return self.width - self.left - self.right

    @property
    def plot_bottom(self) -> float:
        return self.height - self.bottom


@dataclass(frozen=True)
class DateAxis:
    """Maps days to x coordinates across the plot area."""

    first: dt.date
    last: dt.date
    frame: Frame

    @property
    def span(self) -> int:
        return max(1, (self.last - self.first).days)

    def x(self, day: dt.date) -> float:
        return self.frame.left + (day - self.first).days / self.span * self.frame.plot_width

    def ticks(self, most: int = 5) -> list[dt.date]:
        """Tick days a whole number of weeks apart (or days, for short series)."""
        if self.span < 7:
            return [self.first + dt.timedelta(i) for i in range(self.span + 1)]
        step = max(7, math.ceil(self.span / most / 7) * 7)
        return [self.first + dt.timedelta(i) for i in range(0, self.span + 1, step)]


@dataclass(frozen=True)
class ValueAxis:
    """Maps values in [low, high] to y coordinates, high at the top."""

    low: float
    high: float
    frame: Frame

    def y(self, value: float) -> float:
        top, bottom = self.frame.top, self.frame.plot_bottom
        return bottom - (value - self.low) / (self.high - self.low) * (bottom - top)


def svg_open(frame: Frame, ident: str, title: str, desc: str, extra_class: str = "") -> list[str]:
    """The opening tag, title, description and shared style of a chart."""
    cls = "ldn-chart" + (f" {extra_class}" if extra_class else "")
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="{esc(cls)}" '
        f'viewBox="0 0 {num(frame.width)} {num(frame.height)}" width="100%" '
        f'preserveAspectRatio="xMidYMid meet" role="img" '
        f'aria-labelledby="{ident}-title {ident}-desc" '
        f'style="max-width:{num(frame.width * 1.5)}px;height:auto" font-family="{esc(FONT)}">',
        f'<title id="{ident}-title">{esc(title)}</title>',
        f'<desc id="{ident}-desc">{esc(desc)}</desc>',
        f'<rect x="0" y="0" width="{num(frame.width)}" height="{num(frame.height)}" '
        'fill="#ffffff"/>',
    ]


def attributes(attrs: dict[str, str]) -> str:
    """Keyword arguments as SVG attributes: `stroke_width` -> stroke-width, `class_` -> class."""
    return "".join(f' {k.rstrip("_").replace("_", "-")}="{esc(v)}"' for k, v in attrs.items())


def text(x: float, y: float, content: str, size: float = 12, **attrs: str) -> str:
    extra = attributes(attrs)
    return f'<text x="{num(x)}" y="{num(y)}" font-size="{num(size)}"{extra}>{esc(content)}</text>'


def polyline(points: Sequence[tuple[float, float]], **attrs: str) -> str:
    coords = " ".join(f"{num(x)},{num(y)}" for x, y in points)
    extra = attributes(attrs)
    return f'<polyline points="{coords}" fill="none"{extra}/>'


def date_axis(axis: DateAxis) -> list[str]:
    """Tick marks and labels under the plot."""
    frame = axis.frame
    out = [
        f'<line x1="{num(frame.left)}" y1="{num(frame.plot_bottom)}" '
        f'x2="{num(frame.width - frame.right)}" y2="{num(frame.plot_bottom)}" stroke="#555"/>'
    ]
    for day in axis.ticks():
        x = axis.x(day)
        out.append(
            f'<line x1="{num(x)}" y1="{num(frame.plot_bottom)}" x2="{num(x)}" '
            f'y2="{num(frame.plot_bottom + 4)}" stroke="#555"/>'
        )
        out.append(
            text(x, frame.plot_bottom + 18, short_date(day), 13, text_anchor="middle", fill="#333")
        )
    return out


def value_axis(axis: ValueAxis, ticks: Sequence[float]) -> list[str]:
    """Horizontal grid lines with their values at the left."""
    frame = axis.frame
    out = []
    for value in ticks:
        y = axis.y(value)
        out.append(
            f'<line x1="{num(frame.left)}" y1="{num(y)}" x2="{num(frame.width - frame.right)}" '
            f'y2="{num(y)}" stroke="#e3e3e3"/>'
        )
        out.append(text(frame.left - 6, y + 4, f"{value:g}", 13, text_anchor="end", fill="#333"))
    return out


def text_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A plain-text table with aligned columns (the charts' text alternative)."""
    widths = [len(h) for h in header]
    for row in rows:
        widths = [max(w, len(cell)) for w, cell in zip(widths, row, strict=True)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)).rstrip()]
    lines.append("  ".join("-" * w for w in widths))
    for row in rows:
        lines.append("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
    return "\n".join(lines)
