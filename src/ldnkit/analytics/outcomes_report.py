"""The clinic outcomes report as people read it: one set of rows for the terminal, the web page,
the PDF and the CSV.

`outcomes_report` turns the figures into labelled, formatted cells beside the published case
series (cited), with the grace-period lines, the response by diagnosis, the clinician's stop
reasons and what was not counted. Figures withheld from the reader (an analyst's small groups,
see `ldnkit.domain.outcomes.disclosure`) read "<5" for a group under 5 patients and "withheld"
for a figure that would reveal one.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Collection, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from ldnkit.analytics.outcome_charts import (
    ResponderBar,
    persistence_chart_svg,
    persistence_chart_text,
    responder_chart_svg,
    responder_chart_text,
)
from ldnkit.domain.outcomes import OutcomeRun, PersistenceFigures, PredictorFigures, Skipped
from ldnkit.domain.outcomes.disclosure import (
    SMALL_GROUP,
    STOPPED_TOTAL,
    predictor_key,
    small,
    stop_key,
)
from ldnkit.domain.outcomes.figures import ClinicOutcomes, PublishedFigureOut, clinic_value
from ldnkit.domain.outcomes.statistics import wilson_interval
from ldnkit.knowledge import knowledge_base
from ldnkit.knowledge.citing import Citations
from ldnkit.knowledge.outcomes import outcome_book

SMALL = f"<{SMALL_GROUP}"
WITHHELD = "withheld"
NOT_FOLLOWED = "not followed that long yet"
SUPPRESSION_NOTE = (
    f"Groups of fewer than {SMALL_GROUP} patients are shown as {SMALL}, and figures from which "
    "such a group could be worked out are withheld, so that no patient can be recognised."
)
STOP_REASON_LABELS = {
    "side_effects": "Side effects",
    "no_benefit": "No benefit",
    "cost": "Cost",
    "patient_choice": "The patient's choice",
    "other": "Other",
}

# The clinic's rows: (label, figure name); a published figure naming the same figure sits beside.
ROWS: tuple[tuple[str, str], ...] = (
    ("Prescribed LDN", "prescribed"),
    ("Never filled it", "never_started_rate"),
    ("Started (filled at least once)", "started"),
    ("With pain scores before and after", "with_response_measure"),
    ("Responders", "responder_rate_30"),  # labelled by responder_words() when drawn
    ("Pain fell at all", "any_improvement_rate"),
    ("Mean change in pain (0-10)", "nrs_change_mean"),
    ("Median days on LDN", "persistence.median_days"),
    ("Still on LDN at 90 days", "persistence.at_90_days"),
    ("Still on LDN at 180 days", "persistence.at_180_days"),
)


def responder_words() -> str:
    """The responder's fall in pain as the knowledge base defines it (outcomes.yaml), in words."""
    return f"pain fell by {outcome_book().responder.min_reduction * 100:g}% or more"


def definitions() -> list[str]:
    """How the clinic's figures are counted, in words, with the numbers of outcomes.yaml."""
    book = outcome_book()
    windows, persistence = book.response_windows, book.persistence
    return [
        "Prescribed: an order for naltrexone whose dose is in the LDN band (for a saved plan, "
        "its first dose). Started: at least one fill (a dispense recorded) of it.",
        "Staying on LDN: each fill lasts its days' supply "
        f"({persistence.default_days_supply} days when none is given); a patient counts as "
        "stopped when the next fill does not come within the grace period after it runs out. "
        "A clinician's recorded stop is shown with its reason but does not change this count, "
        "so that the figures are made as the published series makes them.",
        f"Response: the last pain score (0-10) in the {windows.baseline_days_before} days up to "
        f"the first fill, against the last one from day {windows.follow_up_from_day} to day "
        f"{windows.follow_up_to_day} after it; a responder's {responder_words()}.",
        "Diagnosis groups: the conditions recorded by the day of the first fill, by ICD-10-CM "
        "category and by condition.",
    ]


def pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f}%"


def _published_pct(value: float) -> str:
    # As the article gives it: 44%, not 44.0%.
    return f"{100 * value:g}%"


def _ci(interval: tuple[float, float] | None, percent: bool) -> str:
    if interval is None:
        return ""
    low, high = interval
    if percent:
        return f" (95% CI {pct(low)} to {pct(high)})"
    return f" (95% CI {low:+.2f} to {high:+.2f})"


def group_label(group: str) -> str:
    """A diagnosis group in words: the knowledge base's name, or the ICD-10-CM category."""
    kind, _, key = group.partition(":")
    if kind == "condition":
        return knowledge_base().condition(key).name
    return f"{key} (ICD-10-CM category)"


@dataclass(frozen=True)
class Row:
    label: str
    clinic: str
    published: str


@dataclass(frozen=True)
class PredictorRow:
    group: str
    label: str
    n: str
    responders: str
    rate: str
    rest_rate: str
    odds_ratio: str
    p_fisher: str


@dataclass(frozen=True)
class Reference:
    number: int
    citation: str
    link: str | None


@dataclass(frozen=True)
class Report:
    """Everything a reader sees, as text cells (JSON for the PDF template)."""

    title: str
    scope: str
    as_of: str
    grace_days: int
    suppression_note: str | None
    rows: list[Row]
    persistence: str
    sensitivity: list[str]
    responder_words: str
    definitions: list[str]  # how the figures are counted, with the knowledge base's numbers
    predictors: list[PredictorRow]
    predictors_note: str
    stopped: list[Row]  # label, patients ("" in published); empty when not recorded
    published_title: str | None
    published_setting: str | None
    published_predictors: list[str]
    published_notes: list[str]
    skipped: list[str]
    references: list[Reference] = field(default_factory=list)

    def as_data(self) -> dict[str, Any]:
        return asdict(self)


def _of(count: str, total: str) -> str:
    """ "3 of 12", or for a withheld count "withheld (of 12)"."""
    return f"{WITHHELD} (of {total})" if count == WITHHELD else f"{count} of {total}"


class _Cells:
    """Formats figures for one reader, withholding what that reader may not see."""

    def __init__(self, figures: ClinicOutcomes, withheld: Collection[str]) -> None:
        self.figures = figures
        self.withheld = withheld

    def count(self, key: str, value: int) -> str:
        if key in self.withheld:
            return SMALL if small(value) else WITHHELD
        return f"{value:,}"

    def hidden(self, key: str) -> bool:
        return key in self.withheld

    def clinic(self, key: str) -> str:
        figures = self.figures
        measured = self.count("with_response_measure", figures.with_response_measure)
        if key == "never_started_rate":
            never = self.count("never_started", figures.never_started)
            rate = clinic_value(key, figures)
            return never if self.hidden(key) else f"{never} ({pct(rate)})"
        if key == "responder_rate_30":
            responders = self.count("responders_30", figures.responders_30)
            if self.hidden(key):
                return _of(responders, measured)
            return f"{responders} of {measured}: {pct(figures.responder_rate_30)}" + _ci(
                figures.responder_rate_30_ci, percent=True
            )
        if key == "any_improvement_rate":
            improved = self.count("any_improvement", figures.any_improvement)
            if self.hidden(key):
                return _of(improved, measured)
            return f"{improved} of {measured}: {pct(figures.any_improvement_rate)}"
        if key == "nrs_change_mean":
            mean = figures.nrs_change_mean
            if self.hidden(key):
                return WITHHELD
            return "-" if mean is None else f"{mean:+.2f}" + _ci(figures.nrs_change_ci, False)
        if key in ("prescribed", "started", "with_response_measure"):
            return self.count(key, getattr(figures, key))
        if self.hidden(key):
            return WITHHELD
        value = clinic_value(key, figures)
        if value is None:
            return "-" if not key.startswith("persistence.at") else NOT_FOLLOWED
        if key.startswith("persistence.at"):
            return pct(value)
        return f"{round(value):,}"

    def persistence(self, grace: int) -> str:
        p = self.figures.persistence
        return (
            f"Persistence with {grace} days' grace after a fill runs out: "
            f"{self.count('persistence.discontinued', p.discontinued)} stopped, "
            f"{self.count('persistence.censored', p.censored)} still on LDN."
        )

    def sensitivity(self, grace: int, persistence: PersistenceFigures) -> str:
        if self.hidden("sensitivity"):
            return f"{grace} days: {WITHHELD}"
        median = persistence.median_days
        at_180 = persistence.at_180_days
        return (
            f"{grace} days: median {'not reached' if median is None else f'{median} days'}, "
            f"{'-' if at_180 is None else pct(at_180)} still on LDN at 180 days"
        )

    def predictor(self, p: PredictorFigures) -> PredictorRow:
        def shown(figure: str, text: str) -> str:
            return WITHHELD if self.hidden(predictor_key(p.group, figure)) else text

        return PredictorRow(
            group=p.group,
            label=group_label(p.group),
            n=self.count(predictor_key(p.group, "n"), p.n),
            responders=self.count(predictor_key(p.group, "responders"), p.responders),
            rate=shown("rate", pct(p.rate)),
            rest_rate=shown("rest_rate", pct(p.rest_rate)),
            odds_ratio=shown(
                "odds_ratio", "not finite" if p.odds_ratio is None else f"{p.odds_ratio:.2f}"
            ),
            p_fisher=shown("p_fisher", f"{p.p_fisher:.3g}"),
        )


def _published_cell(figure: PublishedFigureOut, cite: Citations, notes: list[str]) -> str:
    value = {
        "proportion": _published_pct(figure.value),
        "points": f"{figure.value:+.2f}",
        "days": f"{figure.value:g} days",
        "patients": f"{figure.value:,.0f}",
    }[figure.unit]
    marks = cite.mark(figure.sources)
    if figure.note:
        notes.append(f"{figure.text} {marks} {figure.note}")
        return f"{value} {marks} *"
    return f"{value} {marks}"


def skipped_line(item: Skipped, example: str | None, *, suppressed: bool = False) -> str:
    """One kind of record left out, counted, with an example as the reader can find it (none,
    and a small count as "<5", for a reader who may not see small groups)."""
    if suppressed:
        return f"{SMALL if small(item.count) else f'{item.count:,}'} {item.resource}: {item.reason}"
    shown = f" (e.g. {example})" if example else ""
    return f"{item.count:,} {item.resource}: {item.reason}{shown}"


def outcomes_report(
    run: OutcomeRun,
    scope: str,
    *,
    skipped: Sequence[str] = (),
    stopped: Mapping[str, int] | None = None,
    withheld: Collection[str] = frozenset(),
    suppressed: bool = False,
) -> Report:
    """The report of a run for one reader; `withheld` names the figures they may not see."""
    figures = run.figures
    cells = _Cells(figures, withheld)
    cite = Citations(knowledge_base())
    notes: list[str] = []
    series = figures.published[0] if figures.published else None
    beside = {f.clinic: f for f in series.figures if f.clinic} if series else {}
    rows = []
    for label, key in ROWS:
        if key == "responder_rate_30":
            label = responder_words().capitalize()
        figure = beside.get(key)
        published = _published_cell(figure, cite, notes) if figure else ""
        rows.append(Row(label, cells.clinic(key), published))
    published_predictors = []
    if series is not None:
        cite.mark(series.sources)
        published_predictors = [f"{p.text} {cite.mark(p.sources)}" for p in series.predictors]
    stopped_rows = []
    if stopped:
        stopped_rows = [
            Row(STOP_REASON_LABELS.get(reason, reason), cells.count(stop_key(reason), n), "")
            for reason, n in stopped.items()
        ]
        total = sum(stopped.values())
        stopped_rows.append(
            Row("All stopped by their clinician", cells.count(STOPPED_TOTAL, total), "")
        )
    return Report(
        title=f"LDN outcomes as of {figures.as_of.isoformat()}",
        scope=scope,
        as_of=figures.as_of.isoformat(),
        grace_days=figures.grace_days,
        suppression_note=SUPPRESSION_NOTE if suppressed else None,
        rows=rows,
        persistence=cells.persistence(figures.grace_days),
        sensitivity=[cells.sensitivity(g, p) for g, p in run.sensitivity],
        responder_words=responder_words(),
        definitions=definitions(),
        predictors=[cells.predictor(p) for p in figures.predictors],
        predictors_note=(
            f"Diagnoses with {SMALL_GROUP} or more patients with pain scores before and after; "
            "p-values are not adjusted for the number of diagnoses compared."
        ),
        stopped=stopped_rows,
        published_title=series.title if series else None,
        published_setting=f"{series.setting} {cite.mark(series.sources)}" if series else None,
        published_predictors=published_predictors,
        published_notes=notes,
        skipped=list(skipped),
        references=[
            Reference(number, source.citation, source.link) for number, source in cite.references()
        ],
    )


@dataclass(frozen=True)
class Charts:
    """The persistence curve and the responders by diagnosis, as SVG and as text."""

    persistence_svg: str
    persistence_text: str
    responders_svg: str
    responders_text: str


def outcome_charts(
    run: OutcomeRun, withheld: Collection[str] = frozenset(), *, suppressed: bool = False
) -> Charts:
    """The report's two charts for one reader (small groups left out for an analyst)."""
    figures = run.figures
    cells = _Cells(figures, withheld)
    bars = []
    for p in figures.predictors:
        hidden = cells.hidden(predictor_key(p.group, "rate"))
        row = cells.predictor(p)
        bars.append(
            ResponderBar(
                label=row.label,
                shown=f"{row.responders} of {row.n}",
                rate=None if hidden else p.rate,
                interval=None if hidden else wilson_interval(p.responders, p.n),
            )
        )
    overall = None if cells.hidden("responder_rate_30") else figures.responder_rate_30
    # Drawn only where at least 5 patients are still followed for a reader who may not see
    # small groups: with fewer than 5 started, not at all.
    min_at_risk = SMALL_GROUP if suppressed else None
    curve = run.curve
    return Charts(
        persistence_chart_svg(curve, figures.grace_days, min_at_risk=min_at_risk),
        persistence_chart_text(curve, figures.grace_days, min_at_risk=min_at_risk),
        responder_chart_svg(bars, overall, responder_words()),
        responder_chart_text(bars, overall),
    )


def _csv_count(key: str, value: int, withheld: Collection[str]) -> str:
    if key in withheld:
        return SMALL if small(value) else WITHHELD
    return str(value)


def _csv_value(key: str, value: float | None, withheld: Collection[str]) -> str:
    if key in withheld:
        return WITHHELD
    return "" if value is None else repr(float(value))


def outcomes_csv(
    run: OutcomeRun,
    *,
    stopped: Mapping[str, int] | None = None,
    withheld: Collection[str] = frozenset(),
) -> str:
    """The figures and groups as CSV for analysts: one value per line, withheld ones marked."""
    figures = run.figures
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(("section", "group", "figure", "value", "ci_low", "ci_high", "sources"))

    def interval(key: str, ci: tuple[float, float] | None) -> tuple[str, str]:
        if ci is None or key in withheld:
            return ("", "") if ci is None else (WITHHELD, WITHHELD)
        return repr(ci[0]), repr(ci[1])

    for key in ("prescribed", "never_started", "started", "with_response_measure"):
        writer.writerow(("clinic", "", key, _csv_count(key, getattr(figures, key), withheld)))
    writer.writerow(
        ("clinic", "", "never_started_rate", _csv_value("never_started_rate",
         clinic_value("never_started_rate", figures), withheld))
    )  # fmt: skip
    rates = (
        ("responders_30", "responder_rate_30", figures.responder_rate_30_ci),
        ("any_improvement", "any_improvement_rate", None),
    )
    for count_key, rate_key, ci in rates:
        writer.writerow(
            ("clinic", "", count_key, _csv_count(count_key, getattr(figures, count_key), withheld))
        )
        rate = getattr(figures, rate_key)
        writer.writerow(
            ("clinic", "", rate_key, _csv_value(rate_key, rate, withheld), *interval(rate_key, ci))
        )
    writer.writerow(
        ("clinic", "", "nrs_change_mean",
         _csv_value("nrs_change_mean", figures.nrs_change_mean, withheld),
         *interval("nrs_change_mean", figures.nrs_change_ci))
    )  # fmt: skip
    p = figures.persistence
    for name in ("median_days", "at_90_days", "at_180_days"):
        key = f"persistence.{name}"
        writer.writerow(("clinic", "", key, _csv_value(key, getattr(p, name), withheld)))
    for name in ("discontinued", "censored"):
        key = f"persistence.{name}"
        writer.writerow(("clinic", "", key, _csv_count(key, getattr(p, name), withheld)))
    for grace, persistence in run.sensitivity:
        for name in ("median_days", "at_180_days"):
            value = getattr(persistence, name)
            writer.writerow(
                ("grace period", f"{grace} days", f"persistence.{name}",
                 _csv_value("sensitivity", value, withheld))
            )  # fmt: skip
    for predictor in figures.predictors:
        group = predictor.group
        for name in ("n", "responders"):
            key = predictor_key(group, name)
            writer.writerow(
                ("diagnosis", group, name, _csv_count(key, getattr(predictor, name), withheld))
            )
        for name in ("rate", "rest_rate", "odds_ratio", "p_fisher"):
            key = predictor_key(group, name)
            value = getattr(predictor, name)
            writer.writerow(("diagnosis", group, name, _csv_value(key, value, withheld)))
    for reason, count in (stopped or {}).items():
        writer.writerow(
            ("stopped by clinician", reason, "patients",
             _csv_count(stop_key(reason), count, withheld))
        )  # fmt: skip
    for series in figures.published:
        for figure in series.figures:
            writer.writerow(
                ("published", series.id, figure.id, repr(figure.value), "", "",
                 " ".join(figure.sources))
            )  # fmt: skip
    return out.getvalue()


def withheld_count(key: str, value: int, withheld: Collection[str]) -> int | str:
    """A count for JSON: the number, or "<5" / "withheld"."""
    if key in withheld:
        return SMALL if small(value) else WITHHELD
    return value


COUNT_FIGURES = frozenset(
    {
        "prescribed",
        "never_started",
        "started",
        "with_response_measure",
        "responders_30",
        "any_improvement",
        "discontinued",
        "censored",
        "n",
        "responders",
    }
)


def withheld_json(figures: ClinicOutcomes, withheld: Collection[str]) -> dict[str, Any]:
    """The `--json` figures with what the reader may not see replaced by "<5" or "withheld"."""
    data = figures.model_dump(mode="json")

    def hide(section: dict[str, Any], prefix: str) -> None:
        for name, value in section.items():
            key = prefix + name
            if key not in withheld:
                continue
            section[name] = (
                withheld_count(key, value, withheld) if name in COUNT_FIGURES else WITHHELD
            )

    hide(data, "")
    hide(data["persistence"], "persistence.")
    for row in data["predictors"]:
        hide(row, predictor_key(row["group"], ""))
    return data


def withheld_stops(stopped: Mapping[str, int], withheld: Collection[str]) -> dict[str, int | str]:
    """Patients stopped by reason for JSON, withheld ones replaced."""
    return {reason: withheld_count(stop_key(reason), n, withheld) for reason, n in stopped.items()}


def report_pdf(
    run: OutcomeRun, report: Report, withheld: Collection[str], *, suppressed: bool
) -> bytes:
    """The report typeset for print (A4), its charts included; the data passed as data."""
    from ldnkit.analytics.pdf import render_pdf

    charts = outcome_charts(run, withheld, suppressed=suppressed)
    return render_pdf("outcomes", {**report.as_data(), "charts": asdict(charts)})
