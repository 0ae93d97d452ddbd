"""Charts of the diary and of FIQR totals, as standalone SVG with text alternatives.

`symptom_chart_svg` draws pain, fatigue and sleep quality (0-10) per day, shades each dose step
and marks the days with side effects; `fiqr_chart_svg` draws FIQR totals (0-100). Each line has
its own colour (Okabe-Ito, distinguishable with colour-vision deficiency) and its own dash
pattern, so the chart still reads in greyscale. `symptom_chart_text` and `fiqr_chart_text`
give the same information as plain-text tables for screen readers, e-mail and terminals.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass

from ldnkit.analytics.svg import (
    DateAxis,
    Frame,
    ValueAxis,
    chart_id,
    date_axis,
    esc,
    num,
    polyline,
    short_date,
    svg_open,
    text,
    text_table,
    value_axis,
)
from ldnkit.domain.diary import DiaryEntry

StepTuple = tuple[dt.date, dt.date | None, float]

# A run of missing diary days longer than this breaks the line instead of bridging it.
MAX_BRIDGED_GAP_DAYS = 2
DEFAULT_WIDTH = 480  # narrow viewBox: text stays legible when scaled down to a phone


@dataclass(frozen=True)
class Series:
    measure: str
    label: str
    colour: str
    dash: str


SERIES = (
    Series("pain", "Pain", "#D55E00", ""),
    Series("fatigue", "Fatigue", "#0072B2", "6 4"),
    Series("sleep_quality", "Sleep quality", "#009E73", "2 3"),
)
STEP_FILLS = ("#f2f2f2", "#e1e6ee")
MARKER_COLOUR = "#7a3b8f"


def _runs(entries: Sequence[DiaryEntry]) -> list[list[DiaryEntry]]:
    """Entries split where the diary has a gap longer than MAX_BRIDGED_GAP_DAYS."""
    runs: list[list[DiaryEntry]] = []
    for entry in entries:
        if runs and (entry.day - runs[-1][-1].day).days <= MAX_BRIDGED_GAP_DAYS + 1:
            runs[-1].append(entry)
        else:
            runs.append([entry])
    return runs


def _mean(values: Sequence[float]) -> float | None:
    return math.fsum(values) / len(values) if values else None


def _fmt_mg(dose: float) -> str:
    return f"{dose:g} mg"


def _side_effect_label(entry: DiaryEntry) -> str:
    names = ", ".join(f"{r.id.replace('-', ' ')} ({r.severity})" for r in entry.side_effects)
    return f"{entry.day.isoformat()}: {names}"


ShownStep = tuple[dt.date, dt.date, float]


def _visible_steps(steps: Sequence[StepTuple], first: dt.date, last: dt.date) -> list[ShownStep]:
    """Steps clipped to the charted days; steps wholly outside are left out."""
    shown: list[ShownStep] = []
    for start, end, dose in sorted(steps, key=lambda s: s[0]):
        stop = last if end is None else min(end, last)
        begin = max(start, first)
        if begin <= stop:
            shown.append((begin, stop, dose))
    return shown


def _symptom_desc(
    entries: Sequence[DiaryEntry], steps: Sequence[ShownStep], first: dt.date, last: dt.date
) -> str:
    if not entries:
        return "No diary entries to chart yet."
    parts = [
        f"Daily pain, fatigue and sleep quality on 0 to 10 scales from {first.isoformat()} to "
        f"{last.isoformat()}, {len(entries)} diary entries. Pain and fatigue are better lower; "
        "sleep quality is better higher."
    ]
    head, tail = entries[:7], entries[-7:]
    for series in SERIES:
        a = _mean([float(getattr(e, series.measure)) for e in head])
        b = _mean([float(getattr(e, series.measure)) for e in tail])
        if a is not None and b is not None:
            parts.append(
                f"{series.label} averaged {a:.1f} in the first week and {b:.1f} in the last."
            )
    if steps:
        parts.append(
            "Dose steps: "
            + "; ".join(
                f"{_fmt_mg(d)} from {s.isoformat()} to {e.isoformat()}" for s, e, d in steps
            )
            + "."
        )
    counts: dict[str, int] = {}
    for entry in entries:
        for report in entry.side_effects:
            counts[report.id] = counts.get(report.id, 0) + 1
    if counts:
        parts.append(
            "Side effects reported: "
            + ", ".join(f"{k.replace('-', ' ')} on {v} days" for k, v in sorted(counts.items()))
            + "."
        )
    return " ".join(parts)


def _empty_chart(out: list[str], frame: Frame, message: str) -> str:
    """Close an opened chart with a centred message instead of axes and lines."""
    out.append(
        text(frame.width / 2, frame.height / 2, message, 14, text_anchor="middle", fill="#555")
    )
    out.append("</svg>")
    return "\n".join(out)


def symptom_chart_svg(
    entries: Sequence[DiaryEntry],
    steps: Sequence[StepTuple] = (),
    width: int = DEFAULT_WIDTH,
    title: str = "Pain, fatigue and sleep quality",
) -> str:
    """Pain, fatigue and sleep quality per day, dose steps shaded, side-effect days marked."""
    diary = sorted(entries, key=lambda e: e.day)
    frame = Frame(width=max(width, 320), height=320, left=34, right=12, top=58, bottom=82)
    if diary:
        first, last = diary[0].day, diary[-1].day
    else:
        first = last = dt.date(2000, 1, 1)
    shown = _visible_steps(steps, first, last) if diary else []
    ident = chart_id(title, first, last, len(diary), len(shown))
    desc = _symptom_desc(diary, shown, first, last)
    out = svg_open(frame, ident, title, desc, "ldn-symptom-chart")
    out.append(text(frame.left, 20, title, 15, font_weight="600", fill="#111"))
    if not diary:
        return _empty_chart(out, frame, "No diary entries yet")

    days = DateAxis(first, last, frame)
    values = ValueAxis(0, 10, frame)
    half_day = frame.plot_width / days.span / 2
    out.append('<g class="dose-steps">')
    for index, (begin, stop, dose) in enumerate(shown):
        x0 = max(frame.left, days.x(begin) - half_day)
        x1 = min(frame.width - frame.right, days.x(stop) + half_day)
        out.append(
            f'<rect class="dose-step" data-dose-mg="{dose:g}" x="{num(x0)}" y="{num(frame.top)}" '
            f'width="{num(max(x1 - x0, 1))}" height="{num(frame.plot_bottom - frame.top)}" '
            f'fill="{STEP_FILLS[index % 2]}"><title>{esc(_fmt_mg(dose))} from '
            f"{esc(begin.isoformat())} to {esc(stop.isoformat())}</title></rect>"
        )
        out.append(
            text(
                (x0 + x1) / 2,
                frame.top + 14,
                _fmt_mg(dose),
                12,
                text_anchor="middle",
                fill="#444",
                class_="dose-label",
            )
        )
    out.append("</g>")
    out.extend(value_axis(values, (0, 2, 4, 6, 8, 10)))
    out.extend(date_axis(days))
    out.append('<g class="series">')
    for series in SERIES:
        for run in _runs(diary):
            pts = [(days.x(e.day), values.y(getattr(e, series.measure))) for e in run]
            attrs = {
                "stroke": series.colour,
                "stroke_width": "2",
                "stroke_linejoin": "round",
                "data_measure": series.measure,
                "class_": "series-line",
            }
            if series.dash:
                attrs["stroke_dasharray"] = series.dash
            if len(pts) == 1:  # a lone day still shows, as a dot
                x, y = pts[0]
                out.append(
                    f'<circle cx="{num(x)}" cy="{num(y)}" r="2.5" fill="{series.colour}" '
                    f'data-measure="{series.measure}" class="series-dot"/>'
                )
            else:
                out.append(polyline(pts, **attrs))
    out.append("</g>")
    marker_y = frame.top - 10
    out.append('<g class="side-effects">')
    for entry in diary:
        if entry.side_effects:
            x = days.x(entry.day)
            out.append(
                f'<path class="side-effect-marker" data-day="{entry.day.isoformat()}" '
                f'd="M{num(x - 4)},{num(marker_y - 6)} L{num(x + 4)},{num(marker_y - 6)} '
                f'L{num(x)},{num(marker_y + 1)} Z" fill="{MARKER_COLOUR}">'
                f"<title>{esc(_side_effect_label(entry))}</title></path>"
            )
    out.append("</g>")
    out.extend(_symptom_legend(frame, bool(shown)))
    out.append("</svg>")
    return "\n".join(out)


def _symptom_legend(frame: Frame, with_steps: bool) -> list[str]:
    y = frame.height - 40
    out = ['<g class="legend">']
    x = frame.left
    for series in SERIES:
        dash = f' stroke-dasharray="{series.dash}"' if series.dash else ""
        out.append(
            f'<line x1="{num(x)}" y1="{num(y)}" x2="{num(x + 22)}" y2="{num(y)}" '
            f'stroke="{series.colour}" stroke-width="2.5"{dash}/>'
        )
        out.append(text(x + 27, y + 4, series.label, 13, fill="#222"))
        x += 27 + len(series.label) * 7.5 + 14
    y2 = y + 22
    x = frame.left
    out.append(
        f'<path d="M{num(x + 7)},{num(y2 - 6)} L{num(x + 15)},{num(y2 - 6)} '
        f'L{num(x + 11)},{num(y2 + 1)} Z" fill="{MARKER_COLOUR}"/>'
    )
    out.append(text(x + 27, y2 + 2, "Side effect reported", 13, fill="#222"))
    if with_steps:
        x += 27 + 20 * 7.5 + 14
        out.append(
            f'<rect x="{num(x)}" y="{num(y2 - 8)}" width="22" height="12" '
            f'fill="{STEP_FILLS[1]}" stroke="#999"/>'
        )
        out.append(text(x + 27, y2 + 2, "Dose step", 13, fill="#222"))
    out.append("</g>")
    return out


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def symptom_chart_text(entries: Sequence[DiaryEntry], steps: Sequence[StepTuple] = ()) -> str:
    """The symptom chart as a plain-text table: weekly means, doses and side effects."""
    diary = sorted(entries, key=lambda e: e.day)
    if not diary:
        return "No diary entries yet."
    header = ("Week from", "Days", "Pain", "Fatigue", "Sleep", "Dose (mg)", "Side effects")
    rows = []
    week_start = diary[0].day
    while week_start <= diary[-1].day:
        week_end = week_start + dt.timedelta(6)
        week = [e for e in diary if week_start <= e.day <= week_end]
        if week:
            doses = sorted({e.dose_mg for e in week if e.dose_mg is not None})
            counts: dict[str, int] = {}
            for entry in week:
                for report in entry.side_effects:
                    counts[report.id] = counts.get(report.id, 0) + 1
            rows.append(
                (
                    week_start.isoformat(),
                    str(len(week)),
                    _fmt(_mean([float(e.pain) for e in week])),
                    _fmt(_mean([float(e.fatigue) for e in week])),
                    _fmt(_mean([float(e.sleep_quality) for e in week])),
                    ", ".join(f"{d:g}" for d in doses) or "none",
                    ", ".join(f"{k.replace('-', ' ')} x{v}" for k, v in sorted(counts.items()))
                    or "-",
                )
            )
        week_start = week_end + dt.timedelta(1)
    table = text_table(header, rows)
    note = "Scores 0-10: pain and fatigue better lower, sleep quality better higher."
    if steps:
        plan = "; ".join(
            f"{d:g} mg from {s.isoformat()}" + (f" to {e.isoformat()}" if e else "")
            for s, e, d in sorted(steps, key=lambda s: s[0])
        )
        note += f"\nDose steps: {plan}."
    return f"{table}\n{note}"


def fiqr_chart_svg(
    points: Sequence[tuple[dt.date, float]],
    width: int = DEFAULT_WIDTH,
    title: str = "FIQR total over time",
) -> str:
    """FIQR totals (0-100, lower is better) over time, one dot per questionnaire."""
    series = sorted(points, key=lambda p: p[0])
    for day, total in series:
        if not 0 <= total <= 100 or math.isnan(total):
            raise ValueError(f"FIQR total on {day.isoformat()} must be 0-100, got {total}")
    frame = Frame(width=max(width, 320), height=260, left=40, right=16, top=40, bottom=44)
    first = series[0][0] if series else dt.date(2000, 1, 1)
    last = series[-1][0] if series else first
    ident = chart_id(title, first, last, len(series))
    if series:
        desc = (
            f"FIQR total (0 to 100, lower is better) from {len(series)} questionnaires between "
            f"{first.isoformat()} and {last.isoformat()}: "
            + ", ".join(f"{d.isoformat()} {t:.1f}" for d, t in series)
            + "."
        )
    else:
        desc = "No FIQR questionnaires to chart yet."
    out = svg_open(frame, ident, title, desc, "ldn-fiqr-chart")
    out.append(text(frame.left, 22, title, 15, font_weight="600", fill="#111"))
    if not series:
        return _empty_chart(out, frame, "No FIQR questionnaires yet")
    days = DateAxis(first, last, frame)
    values = ValueAxis(0, 100, frame)
    out.extend(value_axis(values, (0, 25, 50, 75, 100)))
    out.extend(date_axis(days))
    pts = [(days.x(d), values.y(t)) for d, t in series]
    if len(pts) > 1:
        out.append(polyline(pts, stroke="#0072B2", stroke_width="2", class_="fiqr-line"))
    for (day, total), (x, y) in zip(series, pts, strict=True):
        out.append(
            f'<circle class="fiqr-point" cx="{num(x)}" cy="{num(y)}" r="4" fill="#0072B2">'
            f"<title>{esc(short_date(day))} {day.year}: FIQR {total:.1f}</title></circle>"
        )
        out.append(text(x, y - 8, f"{round(total, 1):g}", 11, text_anchor="middle", fill="#333"))
    out.append("</svg>")
    return "\n".join(out)


def fiqr_chart_text(points: Sequence[tuple[dt.date, float]]) -> str:
    """The FIQR chart as a plain-text table, with the change from the first questionnaire."""
    series = sorted(points, key=lambda p: p[0])
    if not series:
        return "No FIQR questionnaires yet."
    base = series[0][1]
    rows = [
        (d.isoformat(), f"{t:.1f}", "-" if i == 0 else f"{t - base:+.1f}")
        for i, (d, t) in enumerate(series)
    ]
    return text_table(("Date", "FIQR total", "Change"), rows) + "\nFIQR 0-100: lower is better."
