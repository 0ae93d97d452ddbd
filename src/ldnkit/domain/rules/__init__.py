"""Every clinical decision: the safety screen's rules and the order-time interaction rule.

One rule is one small function with a stable id; its words, severity and sources are the id's
record in `knowledge/data/rules.yaml`, and the numbers it decides with are in `limits.yaml`.
The screen (`screen`) is the list `SCREEN` of rules from the family modules:

- `opioids`: active, stopped too recently, stopped on a day not recorded, gut-acting only;
- `procedures`: a procedure with opioids ahead (hold before, restart after);
- `organs`: liver and kidney, and their status not recorded;
- `reproduction`: pregnancy and breastfeeding;
- `products`: naltrexone products already taken, naltrexone allergy;
- `conditions`: thyroid, alcohol, opioid use disorder, guideline positions, unknown conditions;
- `medications`: what the screen cannot fully read (unrecognised, ambiguous, misspelt, in
  conflict, or no list at all).

`orders` holds the order-time rule CDS Hooks asks (`order_findings`): naltrexone of any strength
or product and an opioid meeting in an order.
"""

from ldnkit.domain.drugs import DrugFacts, drug_facts, washout_days
from ldnkit.domain.rules.facts import gather_facts, read_when_stopped
from ldnkit.domain.rules.model import (
    SEVERITY_RANK,
    Facts,
    Finding,
    Rule,
    Screening,
    Verdict,
    rule,
)
from ldnkit.domain.rules.orders import (
    ORDER_RULES,
    OrderFinding,
    Point,
    SessionDrug,
    order_findings,
    order_rule_reads,
)
from ldnkit.domain.rules.screen import SCREEN, earliest_start, screen

__all__ = [
    "ORDER_RULES",
    "SCREEN",
    "SEVERITY_RANK",
    "DrugFacts",
    "Facts",
    "Finding",
    "OrderFinding",
    "Point",
    "Rule",
    "Screening",
    "SessionDrug",
    "Verdict",
    "drug_facts",
    "earliest_start",
    "gather_facts",
    "order_findings",
    "order_rule_reads",
    "read_when_stopped",
    "rule",
    "screen",
    "washout_days",
]
