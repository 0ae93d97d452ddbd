"""Planned procedures where opioids are expected: hold LDN before, restart after."""

from __future__ import annotations

import datetime as dt

from ldnkit.domain.profile import PlannedProcedure
from ldnkit.domain.rules.model import Facts, Finding, finding, rule
from ldnkit.domain.rules.words import relative, shift
from ldnkit.knowledge.limits import limits


def _coming(facts: Facts) -> list[tuple[PlannedProcedure, int, dt.date]]:
    """Procedures with opioids whose opioid-free interval after has not passed: each with the
    days until it (negative once it is over) and the first day after that interval."""
    as_of = facts.profile.as_of
    interval = limits().washout.short_acting.days
    coming = []
    for procedure in facts.profile.planned_procedures:
        if procedure.opioids_expected:
            after = shift(procedure.date, interval)
            if after > as_of:
                coming.append((procedure, (procedure.date - as_of).days, after))
    return coming


@rule("procedure-hold", needs={"procedures"})
def procedure_hold(facts: Facts, out: list[Finding]) -> None:
    """A procedure with opioids ahead: LDN started now stops again the usual hold before it
    (the minimum hold at the least), and restarts once the opioids given for it have stopped
    and the opioid-free interval has passed."""
    hold = limits().hold
    for procedure, ahead, after in _coming(facts):
        if ahead <= hold.usual.days:
            continue  # inside the hold window: procedure-hold-window
        day = procedure.date
        last_dose = shift(day, -hold.usual.days)
        out.append(
            finding(
                "procedure-hold",
                procedure.name or "A planned procedure",
                blocks=(last_dose, after),
                procedure_date=day.isoformat(),
                relative=relative(day, facts.profile.as_of),
                last_dose=last_dose.isoformat(),
                latest_last_dose=shift(day, -hold.minimum.days).isoformat(),
            )
        )


@rule("procedure-hold-window", needs={"procedures"})
def procedure_hold_window(facts: Facts, out: list[Finding]) -> None:
    """Inside the hold window LDN cannot start now: it would have to stop again before the
    procedure. The first dose waits for the opioid-free interval after it (from the procedure
    day, if opioids stop that day)."""
    hold = limits().hold.usual.days
    for procedure, ahead, after in _coming(facts):
        if ahead > hold:
            continue
        day = procedure.date
        out.append(
            finding(
                "procedure-hold-window",
                procedure.name or "A planned procedure",
                resolves_on=after,
                blocks=(shift(day, -hold), after),
                procedure_date=day.isoformat(),
                relative=relative(day, facts.profile.as_of),
                earliest=after.isoformat(),
            )
        )
