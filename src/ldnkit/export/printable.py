"""A titration plan as plain text to print or hand to the patient (fixed width, 78 columns)."""

from __future__ import annotations

import datetime as dt
import textwrap

from ldnkit.domain.plan_gate import Override, StartCheck
from ldnkit.domain.titration import Plan
from ldnkit.knowledge import knowledge_base
from ldnkit.knowledge.protocols import protocol_book

_WIDTH = 78


def _wrap(text: str, indent: str = "", first: str | None = None) -> list[str]:
    return textwrap.wrap(
        text,
        width=_WIDTH,
        initial_indent=indent if first is None else first,
        subsequent_indent=indent,
        # A link split at a hyphen or mid-word no longer works when typed from paper.
        break_long_words=False,
        break_on_hyphens=False,
    )


def _dose(mg: float) -> str:
    return f"{mg:g} mg"


def screen_lines(check: StartCheck, override: Override | None) -> list[str]:
    """What the plan's start was checked against and, when it starts against it, the override."""
    screening = check.screening
    earliest = screening.earliest_start
    lines = [
        f"Safety screen for {check.screened_on}: {screening.verdict}, "
        + (f"earliest start {earliest}." if earliest else "no start date.")
    ]
    if override is not None:
        who = f" by {override.by}" if override.by else ""
        at = override.at.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M")
        lines += ["STARTED AGAINST THE SAFETY SCREEN (the prescriber's decision)"]
        lines += _wrap(check.explanation(), indent="  ")
        lines += _wrap(f"Decided{who} on {at} UTC. Reason: {override.reason}", indent="  ")
    return lines


def plan_to_text(
    plan: Plan,
    patient_label: str | None = None,
    check: StartCheck | None = None,
    override: Override | None = None,
) -> str:
    """The plan's steps, pauses, adjustments, patient notes and the full citations.

    With `check`, the safety screen the start was checked against (and any override of it) is
    printed under the heading, where whoever reads the plan sees it first.
    """
    lines = [f"LDN titration plan ({plan.protocol} protocol)"]
    if patient_label:
        lines.append(f"For: {patient_label}")
    if check is not None:
        lines += [*screen_lines(check, override), ""]
    lines += [
        f"Target dose: {_dose(plan.target_mg)}, one dose a day.",
        "Each step runs from its first date to its last date, both included.",
        "",
        f"{'From':<12}{'To':<12}{'Dose':<9}{'When':<9}Note",
    ]
    for step in plan.steps:
        end = step.end.isoformat() if step.end else "ongoing"
        row = f"{step.start.isoformat():<12}{end:<12}{_dose(step.dose_mg):<9}{step.time:<9}"
        lines += _wrap(step.note or "", indent=" " * len(row), first=row) or [row.rstrip()]

    holds = [a for a in plan.adjustments if a.kind == "procedure-hold"]
    for hold in holds:
        until = f"restart on {hold.resumes_on}" if hold.resumes_on else "restart date to be set"
        lines += ["", f"No LDN from {hold.on}: procedure hold, {until}."]

    cited: dict[str, None] = dict.fromkeys(plan.sources)
    if plan.adjustments:
        lines += ["", "Changes made to the plan"]
        for adjustment in plan.adjustments:
            head = f"- {adjustment.on} {adjustment.kind}: "
            text = f"{adjustment.message} [{', '.join(adjustment.sources)}]"
            lines += _wrap(text, indent="  ", first=head)
            cited.update(dict.fromkeys(adjustment.sources))

    lines += ["", "Please note"]
    for note in protocol_book().plan_notes:
        lines += _wrap(f"{note.text} [{', '.join(note.sources)}]", indent="  ", first="- ")
        cited.update(dict.fromkeys(note.sources))

    sources = knowledge_base().sources
    lines += ["", "Sources"]
    for source_id in cited:
        source = sources[source_id]
        reference = source.citation + (f" {source.link}" if source.link else "")
        lines += _wrap(reference, indent="  ", first=f"[{source_id}] ")
    return "\n".join(lines) + "\n"
