"""ME/CFS by the IOM (National Academy of Medicine) 2015 criteria.

All are required: reduced activity for more than 6 months with unexplained fatigue not
relieved by rest, post-exertional malaise, unrefreshing sleep, and at least one of cognitive
impairment or orthostatic intolerance. The report also asks that symptoms be present at
least half the time with moderate or greater intensity; that is assessed when given.
"""

from __future__ import annotations

from ldnkit.domain.criteria.common import (
    CriterionResult,
    Months,
    Note,
    Output,
    StrictInput,
    notes,
    number,
    sources_of,
)
from ldnkit.domain.criteria.texts import criteria_data, criterion_text


class Iom2015Input(StrictInput):
    reduced_activity_months: Months
    fatigue_not_relieved_by_rest: bool
    pem: bool
    unrefreshing_sleep: bool
    cognitive_impairment: bool
    orthostatic_intolerance: bool
    # Optional: the frequency/intensity qualifier; absent means not assessed.
    symptoms_half_the_time: bool | None = None


class Iom2015Result(Output):
    name: str
    title: str
    met: bool
    criteria: tuple[CriterionResult, ...]
    notes: tuple[Note, ...]
    sources: tuple[str, ...]


def _yes_no(criterion_id: str, present: bool, yes: str, no: str) -> CriterionResult:
    return CriterionResult(
        id=criterion_id,
        text=criterion_text(criterion_id),
        passed=present,
        detail=yes if present else no,
    )


def iom2015(data: Iom2015Input) -> Iom2015Result:
    """IOM 2015 ME/CFS criteria, each requirement with whether it passed."""
    spec = criteria_data().mecfs["iom2015"]
    over = spec.reduced_activity_months_over
    months = data.reduced_activity_months
    criteria = [
        CriterionResult(
            id="reduced-activity",
            text=criterion_text("reduced-activity", months=over),
            passed=months > over,
            detail=f"{number(months)} months: "
            + ("more than " if months > over else "not more than ")
            + f"{over}",
        ),
        _yes_no(
            "fatigue",
            data.fatigue_not_relieved_by_rest,
            "fatigue not substantially relieved by rest",
            "fatigue absent or relieved by rest",
        ),
        _yes_no("pem", data.pem, "post-exertional malaise present", "no post-exertional malaise"),
        _yes_no(
            "unrefreshing-sleep",
            data.unrefreshing_sleep,
            "sleep is unrefreshing",
            "sleep is refreshing",
        ),
        _yes_no(
            "cognitive-or-orthostatic",
            data.cognitive_impairment or data.orthostatic_intolerance,
            "present: "
            + " and ".join(
                name
                for name, flag in (
                    ("cognitive impairment", data.cognitive_impairment),
                    ("orthostatic intolerance", data.orthostatic_intolerance),
                )
                if flag
            ),
            "neither cognitive impairment nor orthostatic intolerance",
        ),
    ]
    note_ids = []
    if data.symptoms_half_the_time is None:
        note_ids.append("iom-frequency-not-given")
    else:
        criteria.append(
            _yes_no(
                "frequency-severity",
                data.symptoms_half_the_time,
                "at least half the time, moderate or worse",
                "less often or milder: the diagnosis should be questioned",
            )
        )
    found = notes(note_ids)
    return Iom2015Result(
        name="iom2015",
        title=spec.title,
        met=all(c.passed for c in criteria),
        criteria=tuple(criteria),
        notes=found,
        sources=sources_of(spec.sources, extra=found),
    )
