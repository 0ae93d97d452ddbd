"""Medications the screen cannot fully read: unknown words or codes, ambiguous abbreviations,
names read by their spelling, codes that disagree with their names, and no list at all.

Unknown is never "no": each is a caution, so an opioid under a name the lexicon does not know
never leaves the screen saying "eligible".
"""

from __future__ import annotations

from ldnkit.domain.drugs import Recognition
from ldnkit.domain.rules.model import NO_MEDICATIONS, Facts, Finding, finding, rule
from ldnkit.domain.rules.words import either, quoted_words
from ldnkit.knowledge.limits import limits
from ldnkit.knowledge.rules import rule_texts

_GUESSED_HOW = {"misspelling": "a misspelling", "truncation": "a shortened name"}


def unreadable(rec: Recognition) -> str:
    """What the screen could not read in a medication, in words for the message."""
    parts = []
    if rec.unread:
        parts.append(quoted_words(rec.unread))
    if rec.unresolved_code:
        parts.append(
            f"RxNorm code {rec.unresolved_code} (not in the drug lexicon or the CDC opioid "
            "value sets)"
        )
    if not parts:
        parts.append("any drug name in it")
    return " or ".join(parts)


@rule("medication-unrecognised", needs={"unrecognised", "stopped_unknown"})
def unrecognised_medications(facts: Facts, out: list[Finding]) -> None:
    for med, drug in facts.medications.get("unrecognised", NO_MEDICATIONS):
        out.append(
            finding(
                "medication-unrecognised",
                med.label,
                what=unreadable(drug.recognition),
                stopped="",
            )
        )
    as_of = facts.profile.as_of
    lookback = limits().screen.unrecognised_stopped_lookback.days
    for med, drug in facts.medications.get("stopped_unknown", NO_MEDICATIONS):
        when = "on a date not recorded" if med.last_dose is None else f"on {med.last_dose}"
        if med.last_dose is not None and (as_of - med.last_dose).days >= lookback:
            continue  # stopped long enough ago that even a maintenance opioid has washed out
        what = unreadable(drug.recognition) if "unrecognised" in drug.groups else "it fully"
        out.append(
            finding(
                "medication-unrecognised",
                med.label,
                what=what,
                stopped=" " + rule_texts()["medication-unrecognised-stopped"].render(when=when),
            )
        )


@rule("medication-ambiguous", needs={"ambiguous"})
def ambiguous_medications(facts: Facts, out: list[Finding]) -> None:
    for med, drug in facts.medications.get("ambiguous", NO_MEDICATIONS):
        for ambiguity in drug.recognition.ambiguous:
            readings = ambiguity.readings
            note = ""
            if ambiguity.opioid_possible:
                note = (
                    " (an opioid, which would rule out starting LDN)"
                    if len(readings) == 1
                    else ", and an opioid among them would rule out starting LDN"
                )
            out.append(
                finding(
                    "medication-ambiguous",
                    med.label,
                    written=ambiguity.written,
                    readings=either(readings),
                    opioid_note=note,
                )
            )


@rule("medication-spelling", needs={"guessed"})
def guessed_medications(facts: Facts, out: list[Finding]) -> None:
    for med, drug in facts.medications.get("guessed", NO_MEDICATIONS):
        for guess in drug.recognition.guesses:
            out.append(
                finding(
                    "medication-spelling",
                    med.label,
                    written=guess.written,
                    reading=guess.reading,
                    how=_GUESSED_HOW[guess.how],
                )
            )


@rule("medication-code-conflict", needs={"conflict"})
def code_conflicts(facts: Facts, out: list[Finding]) -> None:
    for med, drug in facts.medications.get("conflict", NO_MEDICATIONS):
        conflict = drug.recognition.code_conflict
        assert conflict is not None
        out.append(
            finding(
                "medication-code-conflict",
                med.label,
                code=conflict.code,
                code_reading=conflict.code_reading,
                name_reading=conflict.name_reading,
            )
        )


@rule("medications-none-recorded", needs={"no_medications"})
def medications_none(facts: Facts, out: list[Finding]) -> None:
    if not facts.profile.medications:
        out.append(finding("medications-none-recorded", "Medication list"))
