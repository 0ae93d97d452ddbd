"""The safety screen, as callers have always imported it: `screen(profile)`.

The rules themselves live in `ldnkit.domain.rules` (one function per rule id, one module per
family); this module keeps the screen's public names where population, FHIR, ask, the services
and the adapters import them.
"""

from ldnkit.domain.rules import (
    SCREEN,
    SEVERITY_RANK,
    DrugFacts,
    Finding,
    Screening,
    Verdict,
    drug_facts,
    earliest_start,
    gather_facts,
    read_when_stopped,
    screen,
    washout_days,
)

RULES = SCREEN

__all__ = [
    "RULES",
    "SEVERITY_RANK",
    "DrugFacts",
    "Finding",
    "Screening",
    "Verdict",
    "drug_facts",
    "earliest_start",
    "gather_facts",
    "read_when_stopped",
    "screen",
    "washout_days",
]
