"""Which figures an analyst may not see: groups under 5 patients, and what would reveal them.

An analyst sees the whole clinic in aggregate. A count of 1 to 4 patients is withheld (shown as
"<5"); so is any figure from which a withheld count could be worked out:

- counts that add up (prescribed = never started + started; started = stopped + still on LDN;
  measured = responders + the rest; a diagnosis group + everyone else measured; the stop
  reasons and their total; the patient records and the prescribed). When a group under 5 could
  be had by subtracting shown counts, one more count of that sum is withheld (the smallest part,
  the total only when no part is left; the record count before the prescribed), until none can
  be; groups that are never shown (the non-responders) count as groups too;
- rates and their intervals whose numerator or denominator is withheld, or whose numerator or
  its complement is under 5 (a rate of a known total reveals its count);
- a diagnosis group's odds ratio, Fisher p and rate among everyone else, when any cell of its
  2 x 2 table is under 5 (with the margins shown they reveal the table);
- persistence (median, 90 and 180 days, the grace-period lines) and the mean change in pain,
  when the patients they summarise are under 5.

An empty group (0) is shown: it describes nobody.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from ldnkit.domain.outcomes.figures import ClinicOutcomes

# The smallest group of patients shown to an analyst (the issue's and many registries' rule).
SMALL_GROUP = 5


def small(count: int) -> bool:
    return 0 < count < SMALL_GROUP


@dataclass(frozen=True)
class _Sum:
    """total = sum(parts); names starting with "~" are groups never shown themselves."""

    total: str
    parts: tuple[str, ...]
    # Withhold the total before a part (the count of patient records, not the prescribed).
    total_first: bool = False


def predictor_key(group: str, figure: str) -> str:
    return f"predictor:{group}.{figure}"


def stop_key(reason: str) -> str:
    return f"stopped:{reason}"


STOPPED_TOTAL = "stopped"


def withheld_figures(
    figures: ClinicOutcomes,
    stopped: Mapping[str, int] | None = None,
    *,
    patients: int | None = None,
) -> frozenset[str]:
    """The names of the figures to withhold from an analyst (see the module's rules).

    Names: the figure names of `ClinicOutcomes` (`responders_30`, `persistence.at_90_days`),
    `never_started_rate`, `sensitivity`, `curve`, `predictor:<group>.<figure>`,
    `stopped` and `stopped:<reason>` for the patients a clinician stopped, by reason, and
    `patients` for the patient records counted (prescribed or not).
    """
    counts, sums = _counts_and_sums(figures, stopped or {})
    if patients is not None:
        counts["patients"] = patients
        counts["~not_prescribed"] = patients - figures.prescribed
        sums.append(_Sum("patients", ("prescribed", "~not_prescribed"), total_first=True))
    withheld = {name for name, value in counts.items() if small(value) and name[0] != "~"}
    _withhold_complements(counts, sums, withheld)
    derived = set(withheld)
    measured = figures.with_response_measure
    started = figures.started
    rates = (
        ("never_started_rate", "never_started", "started", "prescribed"),
        ("responder_rate_30", "responders_30", "~non_responders", "with_response_measure"),
        ("any_improvement_rate", "any_improvement", "~not_improved", "with_response_measure"),
    )
    for name, numerator, complement, denominator in rates:
        _rate(name, numerator, complement, denominator, counts, withheld, derived)
    if "responder_rate_30" in derived:
        derived.add("responder_rate_30_ci")
    if small(measured):
        derived.update({"nrs_change_mean", "nrs_change_ci"})
    if small(started):
        derived.update(
            {
                "persistence.median_days",
                "persistence.at_90_days",
                "persistence.at_180_days",
                "sensitivity",
                "curve",
            }
        )
    for p in figures.predictors:
        cells = _two_by_two(figures, p.group, p.n, p.responders)
        if predictor_key(p.group, "responders") in withheld or small(p.responders):
            derived.add(predictor_key(p.group, "rate"))
        if any(small(c) for c in cells):
            derived.update(
                predictor_key(p.group, f) for f in ("rest_rate", "odds_ratio", "p_fisher")
            )
        if predictor_key(p.group, "n") in withheld:
            derived.update(
                predictor_key(p.group, f)
                for f in ("responders", "rate", "rest_rate", "odds_ratio", "p_fisher")
            )
    return frozenset(derived)


def _two_by_two(figures: ClinicOutcomes, group: str, n: int, a: int) -> tuple[int, int, int, int]:
    rest = figures.with_response_measure - n
    c = figures.responders_30 - a
    return a, n - a, c, rest - c


def _counts_and_sums(
    figures: ClinicOutcomes, stopped: Mapping[str, int]
) -> tuple[dict[str, int], list[_Sum]]:
    measured = figures.with_response_measure
    persistence = figures.persistence
    counts: dict[str, int] = {
        "prescribed": figures.prescribed,
        "never_started": figures.never_started,
        "started": figures.started,
        "persistence.discontinued": persistence.discontinued,
        "persistence.censored": persistence.censored,
        "with_response_measure": measured,
        "~started_unmeasured": figures.started - measured,
        "responders_30": figures.responders_30,
        "~non_responders": measured - figures.responders_30,
        "any_improvement": figures.any_improvement,
        "~not_improved": measured - figures.any_improvement,
    }
    sums = [
        _Sum("prescribed", ("never_started", "started")),
        _Sum("started", ("persistence.discontinued", "persistence.censored")),
        _Sum("started", ("with_response_measure", "~started_unmeasured")),
        _Sum("with_response_measure", ("responders_30", "~non_responders")),
        _Sum("with_response_measure", ("any_improvement", "~not_improved")),
    ]
    for p in figures.predictors:
        a, b, c, d = _two_by_two(figures, p.group, p.n, p.responders)
        names = {
            "n": predictor_key(p.group, "n"),
            "a": predictor_key(p.group, "responders"),
            "b": f"~{p.group}.non_responders",
            "c": f"~{p.group}.rest_responders",
            "d": f"~{p.group}.rest_non_responders",
            "rest": f"~{p.group}.rest",
        }
        counts.update({names["n"]: p.n, names["a"]: a, names["b"]: b, names["c"]: c, names["d"]: d})
        counts[names["rest"]] = c + d
        sums += [
            _Sum(names["n"], (names["a"], names["b"])),
            _Sum("with_response_measure", (names["n"], names["rest"])),
            _Sum("responders_30", (names["a"], names["c"])),
            _Sum(names["rest"], (names["c"], names["d"])),
        ]
    if stopped:
        total = sum(stopped.values())
        counts[STOPPED_TOTAL] = total
        counts["~not_stopped"] = figures.prescribed - total
        for reason, count in stopped.items():
            counts[stop_key(reason)] = count
        sums += [
            _Sum(STOPPED_TOTAL, tuple(stop_key(r) for r in stopped)),
            _Sum("prescribed", (STOPPED_TOTAL, "~not_stopped")),
        ]
    return counts, sums


def _known(
    counts: Mapping[str, int], sums: list[_Sum], withheld: set[str]
) -> dict[str, _Sum | None]:
    """Every count a reader can have: shown (None), or worked out from a sum (that sum)."""
    known: dict[str, _Sum | None] = {
        name: None for name in counts if name[0] != "~" and name not in withheld
    }
    changed = True
    while changed:
        changed = False
        for equation in sums:
            missing = [t for t in (equation.total, *equation.parts) if t not in known]
            if len(missing) == 1:  # one unknown term of a sum is its difference
                known[missing[0]] = equation
                changed = True
    return known


def _withhold_complements(counts: Mapping[str, int], sums: list[_Sum], withheld: set[str]) -> None:
    """Withhold counts until no small group can be worked out from the shown ones."""
    while True:
        known = _known(counts, sums, withheld)
        leaks = sorted(t for t, how in known.items() if how is not None and small(counts[t]))
        if not leaks:
            return
        withheld.add(_cut(leaks[0], known, counts))


def _cut(term: str, known: Mapping[str, _Sum | None], counts: Mapping[str, int]) -> str:
    """A shown count whose withholding stops `term` from being worked out the way it was.

    The smallest shown part of the sum first, then what a part was worked out from, the total
    last (the headline figures stay when anything else will do).
    """
    equation = known[term]
    assert equation is not None  # only worked-out terms are cut
    if equation.total_first and equation.total != term and known[equation.total] is None:
        return equation.total
    parts = [p for p in equation.parts if p != term]
    order = sorted(parts, key=lambda p: (counts[p], p))
    for part in order:
        if known[part] is None:
            return part
    for part in order:
        return _cut(part, known, counts)
    if equation.total != term and known[equation.total] is None:
        return equation.total
    return _cut(equation.total, known, counts)


def _rate(
    name: str,
    numerator: str,
    complement: str,
    denominator: str,
    counts: Mapping[str, int],
    withheld: Iterable[str],
    derived: set[str],
) -> None:
    """Withhold a rate that would reveal a withheld count, or a group under 5."""
    hidden = set(withheld)
    if {numerator, denominator} & hidden or small(counts[numerator]) or small(counts[complement]):
        derived.add(name)
