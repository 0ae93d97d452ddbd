"""What every clinical rule reads about one medication name or code, derived once.

`drug_facts(name, rxnorm)` is the one door from a medication to the rules: the safety screen,
the order-time interaction rule that CDS Hooks asks, and the cited answers all read the same
`DrugFacts`, so the same medication meets the same opioid rule on every path.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from ldnkit.domain.drugs.model import Recognition
from ldnkit.domain.drugs.recognise import recognise
from ldnkit.knowledge.drugs import DrugClass, NaltrexoneKind
from ldnkit.knowledge.limits import limits

OPIOID_CLASSES = frozenset({DrugClass.OPIOID_AGONIST, DrugClass.OPIOID_PARTIAL_AGONIST})
_THYROID_CLASSES = frozenset({DrugClass.THYROID_HORMONE, DrugClass.ANTITHYROID})
_INDIRECT_READINGS = {"abbreviation": "abbreviation", "truncation": "shortened name",
                      "misspelling": "misspelling"}  # fmt: skip


@dataclass(frozen=True, slots=True)
class DrugFacts:
    """What the rules need to know about one medication name or code, derived once."""

    recognition: Recognition
    opioid_ingredients: str  # "oxycodone + ..." for messages; empty when no opioid
    acting: str  # "short-acting" | "long-acting"
    washout: int  # opioid-free days needed before naltrexone
    thyroid: bool
    naltrexone_kind: NaltrexoneKind | None  # None also when the product has no naltrexone
    peripheral_opioids: str  # gut-acting opioid agonists (loperamide): information only
    read_as: str  # how an opioid was read when not by its plain name, for the message
    # Which medication rules read this drug while it is taken: "opioid", "thyroid",
    # "naltrexone", "peripheral", "unrecognised", "ambiguous", "guessed", "conflict". Grouping
    # once per patient spares every rule a pass over all medications.
    groups: tuple[str, ...]

    @property
    def is_opioid(self) -> bool:
        """An opioid was found (an unreadable medication is `unknown`, not an opioid)."""
        return self.recognition.is_opioid is True

    @property
    def unknown(self) -> bool:
        """The rules cannot tell whether it holds an opioid."""
        return self.recognition.is_opioid is None

    @property
    def is_naltrexone(self) -> bool:
        """Naltrexone in any product, at any strength."""
        return DrugClass.NALTREXONE in self.recognition.classes


def washout_days(recognition: Recognition) -> int:
    """Opioid-free days needed before naltrexone after this opioid product."""
    washout = limits().washout
    if recognition.maintenance:
        return washout.maintenance.days
    return (washout.long_acting if recognition.long_acting else washout.short_acting).days


def _read_as(rec: Recognition) -> str:
    """' (read from "HYDROC", a shortened name)' when an opioid was read indirectly."""
    parts = [
        f'"{m.matched}", {_INDIRECT_READINGS[m.how]}'
        for m in rec.ingredients
        if m.classes & OPIOID_CLASSES and m.how in _INDIRECT_READINGS
    ]
    return f" (read from {'; '.join(dict.fromkeys(parts))})" if parts else ""


# Keyed by the medication's name and code (cheap to hash), not by the recognition itself.
@lru_cache(maxsize=65536)
def drug_facts(name: str | None, rxnorm: str | None) -> DrugFacts:
    """Recognise a medication and derive what the rules read from it."""
    rec = recognise(name, rxnorm)
    thyroid = bool(rec.classes & _THYROID_CLASSES)
    naltrexone_kind = rec.naltrexone_kind if DrugClass.NALTREXONE in rec.classes else None
    peripheral = " + ".join(
        m.name for m in rec.ingredients if DrugClass.PERIPHERAL_OPIOID_AGONIST in m.classes
    )
    opioid = rec.is_opioid is True
    flags = {
        "opioid": opioid,
        "thyroid": thyroid,
        "naltrexone": naltrexone_kind is not None,
        "peripheral": bool(peripheral) and not opioid,
        # An ambiguity alone gets its own finding, which names the readings.
        "unrecognised": bool(rec.unread)
        or rec.unresolved_code is not None
        or not (rec.ingredients or rec.ambiguous),
        "ambiguous": bool(rec.ambiguous),
        "guessed": bool(rec.guesses) and not opioid,
        "conflict": rec.code_conflict is not None,
    }
    return DrugFacts(
        recognition=rec,
        opioid_ingredients=" + ".join(
            m.name for m in rec.ingredients if m.classes & OPIOID_CLASSES
        ),
        acting="long-acting" if rec.long_acting else "short-acting",
        washout=washout_days(rec),
        thyroid=thyroid,
        naltrexone_kind=naltrexone_kind,
        peripheral_opioids=peripheral,
        read_as=_read_as(rec),
        groups=tuple(group for group, applies in flags.items() if applies),
    )
