"""Charts of clinic outcomes, as standalone SVG with text alternatives (see `charts.py`).

- `persistence_chart_svg`: the Kaplan-Meier curve of staying on LDN (the share of started
  patients still on it, by days since their first fill), with the number still followed
  beneath it. For a reader who may not see small groups the curve stops where fewer than 5
  patients are still followed: past that point each step is one or two people.
- `responder_chart_svg`: responders by diagnosis group, each bar with its Wilson 95% interval,
  beside the rate of every patient measured.

`persistence_chart_text` and `responder_chart_text` say the same as plain-text tables.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from ldnkit.analytics.svg import Frame, chart_id, esc, num, svg_open, text, text_table
from ldnkit.domain.outcomes.figures import FOLLOW_UP_DAYS
from ldnkit.domain.outcomes.statistics import SurvivalCurve

CURVE_COLOUR = "#0072B2"  # Okabe-Ito blue
BAR_COLOUR = "#009E73"  # Okabe-Ito green
REFERENCE_COLOUR = "#D55E00"
WIDTH = 480


def followed_until(curve: SurvivalCurve, min_at_risk: int | None) -> float:
    """The last day the curve is drawn to: the longest follow-up, or the last day with at least
    `min_at_risk` patients still followed."""
    if min_at_risk is None:
        return curve.longest
    followed = curve.followed
    return followed[-min_at_risk] if len(followed) >= min_at_risk else 0.0


def _day_ticks(last: float) -> list[int]:
    step = next((s for s in (30, 60, 90, 180, 365) if last / s <= 6), 730)
    return list(range(0, int(last) + 1, step))


def _at_risk_days(last: float) -> list[int]:
    return [d for d in _day_ticks(last) if d <= last]


def _curve_desc(curve: SurvivalCurve, grace: int, last: float, started: int) -> str:
    parts = [
        f"Kaplan-Meier estimate of the share of the {started} patients who started LDN still "
        f"on it, by days since their first fill (a patient counts as stopped {grace} days "
        f"after a fill ran out without another), drawn to day {last:g}."
    ]
    for day in FOLLOW_UP_DAYS:  # the days the figures report S(t) at
        if day <= last:
            value = curve.at(day)
            if value is not None:
                parts.append(f"Still on LDN at {day} days: {100 * value:.1f}%.")
    median = curve.median()
    if median is not None and median <= last:
        parts.append(f"Half had stopped by day {median:g}.")
    parts.append(
        "Patients still followed: "
        + ", ".join(f"day {d}: {curve.at_risk(d)}" for d in _at_risk_days(last))
        + "."
    )
    return " ".join(parts)


def persistence_chart_svg(
    curve: SurvivalCurve | None,
    grace: int,
    *,
    min_at_risk: int | None = None,
    title: str = "Still on LDN, by days since the first fill",
) -> str:
    """The persistence curve (see the module); `min_at_risk` cuts it where fewer are followed."""
    frame = Frame(width=WIDTH, height=300, left=66, right=16, top=44, bottom=74)
    last = followed_until(curve, min_at_risk) if curve is not None else 0.0
    started = len(curve.followed) if curve is not None else 0
    ident = chart_id(title, grace, last, started, curve.times if curve else ())
    if curve is None or last <= 0:
        why = "No patient has started LDN yet." if curve is None else (
            "Too few patients to draw without identifying them."
        )  # fmt: skip
        out = svg_open(frame, ident, title, why, "ldn-persistence-chart")
        out.append(text(frame.left, 22, title, 15, font_weight="600", fill="#111"))
        out.append(
            text(frame.width / 2, frame.height / 2, why, 13, text_anchor="middle", fill="#555")
        )
        out.append("</svg>")
        return "\n".join(out)
    desc = _curve_desc(curve, grace, last, started)
    out = svg_open(frame, ident, title, desc, "ldn-persistence-chart")
    out.append(text(frame.left, 22, title, 15, font_weight="600", fill="#111"))
    plot_right = frame.width - frame.right

    def x(day: float) -> float:
        return frame.left + day / max(last, 1.0) * (plot_right - frame.left)

    def y(share: float) -> float:
        return frame.plot_bottom - share * (frame.plot_bottom - frame.top)

    for share in (0.0, 0.25, 0.5, 0.75, 1.0):
        out.append(
            f'<line x1="{num(frame.left)}" y1="{num(y(share))}" x2="{num(plot_right)}" '
            f'y2="{num(y(share))}" stroke="#e3e3e3"/>'
        )
        out.append(
            text(frame.left - 6, y(share) + 4, f"{share:.0%}", 12, text_anchor="end", fill="#333")
        )
    for day in _day_ticks(last):
        out.append(
            f'<line x1="{num(x(day))}" y1="{num(frame.plot_bottom)}" x2="{num(x(day))}" '
            f'y2="{num(frame.plot_bottom + 4)}" stroke="#555"/>'
        )
        out.append(
            text(x(day), frame.plot_bottom + 17, str(day), 12, text_anchor="middle", fill="#333")
        )
        # The number still followed under each tick, as printed under published curves.
        out.append(
            text(
                x(day),
                frame.plot_bottom + 50,
                str(curve.at_risk(day)),
                12,
                text_anchor="middle",
                fill="#333",
                class_="at-risk",
            )
        )
    out.append(
        text(frame.left, frame.plot_bottom + 33, "Days since the first fill", 12, fill="#333")
    )
    out.append(
        text(
            frame.left - 14, frame.plot_bottom + 50, "Followed", 11, text_anchor="end", fill="#333"
        )
    )
    share = 1.0
    path = [f"M{num(x(0))},{num(y(share))}"]
    for time, survival in zip(curve.times, curve.survival, strict=True):
        if time > last:
            break
        if survival != share:  # a censored time alone does not move the curve
            path.append(f"H{num(x(time))}V{num(y(survival))}")
            share = survival
    path.append(f"H{num(x(last))}")
    out.append(
        f'<path class="km-curve" d="{"".join(path)}" fill="none" stroke="{CURVE_COLOUR}" '
        f'stroke-width="2.5"/>'
    )
    out.append("</svg>")
    return "\n".join(out)


def persistence_chart_text(
    curve: SurvivalCurve | None, grace: int, *, min_at_risk: int | None = None
) -> str:
    """The curve as a table: still on LDN and still followed at each tick day."""
    if curve is None:
        return "No patient has started LDN yet."
    last = followed_until(curve, min_at_risk)
    if last <= 0:
        return "Too few patients to show without identifying them."
    rows = []
    for day in _at_risk_days(last):
        value = curve.at(day)
        rows.append(
            (str(day), "-" if value is None else f"{100 * value:.1f}%", str(curve.at_risk(day)))
        )
    table = text_table(("Day", "Still on LDN", "Still followed"), rows)
    return f"{table}\nStopped = {grace} days after a fill ran out without another."


@dataclass(frozen=True)
class ResponderBar:
    """One diagnosis group: its label, counts as shown, and rate with interval (None: withheld)."""

    label: str
    shown: str  # "3 of 7", "<5 of 7"
    rate: float | None
    interval: tuple[float, float] | None


def responder_chart_svg(
    bars: Sequence[ResponderBar],
    overall: float | None,
    responder_words: str,
    title: str = "Responders by diagnosis at the start",
) -> str:
    """Horizontal bars of the responder rate by diagnosis, with the rate of everyone measured."""
    row_height = 34
    frame = Frame(
        width=WIDTH, height=96 + row_height * max(len(bars), 1), left=176, right=24, top=56,
        bottom=40,
    )  # fmt: skip
    desc_rows = "; ".join(
        f"{b.label}: {b.shown}"
        + (
            f", {100 * b.rate:.1f}%"
            + (
                f" (95% CI {100 * b.interval[0]:.1f}% to {100 * b.interval[1]:.1f}%)"
                if b.interval
                else ""
            )
            if b.rate is not None
            else ", rate withheld"
        )
        for b in bars
    )
    overall_text = "" if overall is None else f" Everyone measured: {100 * overall:.1f}%."
    desc = (
        f"Share of patients whose {responder_words}, by diagnosis recorded at the start. "
        + (desc_rows + "." if bars else "No diagnosis group is large enough to show.")
        + overall_text
    )
    ident = chart_id(title, desc)
    out = svg_open(frame, ident, title, desc, "ldn-responder-chart")
    out.append(text(16, 22, title, 15, font_weight="600", fill="#111"))
    out.append(text(16, 40, f"Responders: {responder_words}", 12, fill="#333"))
    plot_right = frame.width - frame.right

    def x(share: float) -> float:
        return frame.left + share * (plot_right - frame.left)

    bottom = frame.top + row_height * max(len(bars), 1)
    for share in (0.0, 0.25, 0.5, 0.75, 1.0):
        out.append(
            f'<line x1="{num(x(share))}" y1="{num(frame.top)}" x2="{num(x(share))}" '
            f'y2="{num(bottom)}" stroke="#e3e3e3"/>'
        )
        out.append(
            text(x(share), bottom + 16, f"{share:.0%}", 12, text_anchor="middle", fill="#333")
        )
    if not bars:
        out.append(
            text(
                (frame.left + plot_right) / 2,
                frame.top + 20,
                "No diagnosis group large enough",
                12,
                text_anchor="middle",
                fill="#555",
            )
        )
    for index, bar in enumerate(bars):
        top = frame.top + index * row_height
        middle = top + row_height / 2
        out.append(text(frame.left - 8, middle - 2, _short(bar.label), 11, text_anchor="end",
                        fill="#222"))  # fmt: skip
        out.append(text(frame.left - 8, middle + 12, bar.shown, 11, text_anchor="end",
                        fill="#555"))  # fmt: skip
        if bar.rate is None:
            out.append(text(x(0) + 4, middle + 4, "withheld", 12, fill="#555"))
            continue
        out.append(
            f'<rect class="responder-bar" x="{num(x(0))}" y="{num(top + 8)}" '
            f'width="{num(max(x(bar.rate) - x(0), 1))}" height="{num(row_height - 16)}" '
            f'fill="{BAR_COLOUR}"><title>{esc(bar.label)}: {esc(bar.shown)}</title></rect>'
        )
        if bar.interval is not None:
            low, high = bar.interval
            out.append(
                f'<path d="M{num(x(low))},{num(middle)} H{num(x(high))} M{num(x(low))},'
                f"{num(middle - 5)} V{num(middle + 5)} M{num(x(high))},{num(middle - 5)} "
                f'V{num(middle + 5)}" stroke="#222" stroke-width="1.5" fill="none"/>'
            )
    if overall is not None:
        out.append(
            f'<line class="overall" x1="{num(x(overall))}" y1="{num(frame.top - 4)}" '
            f'x2="{num(x(overall))}" y2="{num(bottom)}" stroke="{REFERENCE_COLOUR}" '
            'stroke-width="2" stroke-dasharray="5 4"/>'
        )
        out.append(
            text(x(overall), bottom + 32, "everyone measured", 11, text_anchor="middle",
                 fill=REFERENCE_COLOUR)
        )  # fmt: skip
    out.append("</svg>")
    return "\n".join(out)


def _short(label: str, most: int = 24) -> str:
    return label if len(label) <= most else label[: most - 1].rstrip() + "…"


def responder_chart_text(bars: Sequence[ResponderBar], overall: float | None) -> str:
    """The responder bars as a table."""
    if not bars:
        return "No diagnosis group is large enough to show."
    rows = []
    for bar in bars:
        if bar.rate is None:
            rows.append((bar.label, bar.shown, "withheld", ""))
            continue
        ci = f"{100 * bar.interval[0]:.1f}% to {100 * bar.interval[1]:.1f}%" if bar.interval else ""
        rows.append((bar.label, bar.shown, f"{100 * bar.rate:.1f}%", ci))
    table = text_table(("Diagnosis", "Responders", "Rate", "95% CI"), rows)
    if overall is not None and not math.isnan(overall):
        table += f"\nEveryone measured: {100 * overall:.1f}%."
    return table
