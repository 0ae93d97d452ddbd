"""The order-time interaction rule: naltrexone and an opioid meeting in an order.

Read when a clinician orders (CDS Hooks order-select and order-sign), over the drafts being
ordered, the session's other drafts (drugs ordered together are taken together) and the
patient's active medications:

- `opioid-ordered-on-naltrexone`: an opioid ordered for a patient on naltrexone;
- `naltrexone-ordered-on-opioid`: naltrexone of any strength or product (LDN, the
  standard-dose tablet, the extended-release injection, naltrexone-bupropion) ordered for a
  patient with an active opioid;
- `unrecognised-ordered-on-naltrexone` and `naltrexone-ordered-on-unrecognised`: the same
  meetings where one side is a medication the lexicon cannot read. Unknown is never "no": it
  could be an opioid under a name ldnkit does not know, so the clinician is asked to confirm
  (a caution, not a contraindication).

Each finding names the naltrexone product and why it matters, point by point with sources
(rules.yaml: the rule's record, its fragments, and `naltrexone-<kind>` for the product). The
adapter turns findings into cards; it decides nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ldnkit.domain.drugs import DrugFacts, NaltrexoneKind
from ldnkit.domain.drugs.classify import kind_at_dose
from ldnkit.domain.rules.medications import unreadable
from ldnkit.domain.rules.products import product_name, product_text
from ldnkit.knowledge.rules import RuleText, Severity, rule_texts

OPIOID_ORDERED = "opioid-ordered-on-naltrexone"
NALTREXONE_ORDERED = "naltrexone-ordered-on-opioid"
UNKNOWN_ORDERED = "unrecognised-ordered-on-naltrexone"
NALTREXONE_ON_UNKNOWN = "naltrexone-ordered-on-unrecognised"
ORDER_RULES = (OPIOID_ORDERED, NALTREXONE_ORDERED, UNKNOWN_ORDERED, NALTREXONE_ON_UNKNOWN)


@dataclass(frozen=True, slots=True)
class SessionDrug:
    """A medication as the order rule sees it: a draft of the ordering session or an active
    medication of the patient, with its dose when the order states one."""

    label: str
    facts: DrugFacts
    dose_mg: float | None = None  # per administration, as ordered
    draft: bool = False
    # The caller's handle on a draft (CDS Hooks: `MedicationRequest/<id>`), given back as is.
    reference: str | None = None

    @property
    def is_opioid(self) -> bool:
        # An opioid found; a medication that cannot be read is not treated as one here (the
        # order rule acts on what is known; the screen reports the unknown).
        return self.facts.is_opioid

    @property
    def is_naltrexone(self) -> bool:
        return self.facts.is_naltrexone

    @property
    def unknown(self) -> bool:
        """The lexicon cannot tell whether it holds an opioid."""
        return self.facts.unknown

    @property
    def milligrams(self) -> float | None:
        """The dose per administration: as ordered, else the product strength.

        A concentration (mg/mL) is not a dose, so a liquid's strength does not count here.
        """
        if self.dose_mg is not None:
            return self.dose_mg
        rec = self.facts.recognition
        return rec.strength_mg if rec.strength_unit in (None, "mg") else None

    @property
    def kind(self) -> NaltrexoneKind | None:
        """Which naltrexone product this is, the ordered dose deciding over a tablet's strength."""
        return kind_at_dose(self.facts.naltrexone_kind, self.dose_mg)


@dataclass(frozen=True, slots=True)
class Point:
    """One sentence of a finding's reasons, with the sources that say it."""

    text: str
    sources: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class OrderFinding:
    """Naltrexone and an opioid meet in an order: which rule, the order, what it conflicts
    with, the naltrexone product(s) named, and why, point by point."""

    rule: str
    severity: Severity
    title: str
    order: SessionDrug
    conflicts: tuple[SessionDrug, ...]
    products: tuple[str, ...]  # the naltrexone products involved, in words
    message: str
    points: tuple[Point, ...]
    sources: tuple[str, ...]


def order_rule_reads(drug: SessionDrug) -> bool:
    """Whether an order can meet the rule at all (an opioid, naltrexone of any kind, or a drug
    that cannot be read): an order that cannot needs no patient record."""
    return drug.is_opioid or drug.is_naltrexone or drug.unknown


def order_findings(
    ordered: Sequence[SessionDrug], pending: Sequence[SessionDrug], active: Sequence[SessionDrug]
) -> list[OrderFinding]:
    """The rule's findings for the orders being placed; `pending` are the session's other
    drafts, `active` the patient's active medications."""
    found: list[OrderFinding] = []
    for order in ordered:
        others = [d for d in (*ordered, *pending) if d is not order]
        if order.is_opioid or order.unknown:
            naltrexone = [d for d in (*active, *others) if d.is_naltrexone]
            if naltrexone:
                meeting = _opioid_ordered if order.is_opioid else _unknown_ordered
                found.append(meeting(order, naltrexone))
        elif order.is_naltrexone:
            # Opioids (or unreadable drugs) ordered in this same call get the finding above,
            # naming both drafts; counting them here too would say the same thing twice.
            opioids = [d for d in (*active, *pending) if d.is_opioid]
            if opioids:
                found.append(_naltrexone_ordered(order, opioids))
            unknown = [d for d in (*active, *pending) if d.unknown]
            if unknown:
                found.append(_naltrexone_on_unknown(order, unknown))
    return found


def _opioid_ordered(order: SessionDrug, naltrexone: list[SessionDrug]) -> OrderFinding:
    kinds = list(dict.fromkeys(d.kind for d in naltrexone))
    taking = "; ".join(f"{d.label} ({product_name(d.kind)})" for d in naltrexone)
    text = rule_texts()[OPIOID_ORDERED]
    message = text.render(
        subject=order.label, ingredients=order.facts.opioid_ingredients, naltrexone=taking
    )
    return _finding(text, order, naltrexone, kinds, message)


def _naltrexone_ordered(order: SessionDrug, opioids: list[SessionDrug]) -> OrderFinding:
    taking = "; ".join(f"{d.label} ({d.facts.opioid_ingredients})" for d in opioids)
    text = rule_texts()[NALTREXONE_ORDERED]
    message = text.render(subject=order.label, product=product_name(order.kind), opioids=taking)
    return _finding(text, order, opioids, [order.kind], message)


def _unknown_ordered(order: SessionDrug, naltrexone: list[SessionDrug]) -> OrderFinding:
    kinds = list(dict.fromkeys(d.kind for d in naltrexone))
    taking = "; ".join(f"{d.label} ({product_name(d.kind)})" for d in naltrexone)
    text = rule_texts()[UNKNOWN_ORDERED]
    what = unreadable(order.facts.recognition)
    message = text.render(subject=order.label, what=what, naltrexone=taking)
    return _finding(text, order, naltrexone, kinds, message)


def _naltrexone_on_unknown(order: SessionDrug, unknown: list[SessionDrug]) -> OrderFinding:
    taking = "; ".join(f"{d.label} (not read: {unreadable(d.facts.recognition)})" for d in unknown)
    text = rule_texts()[NALTREXONE_ON_UNKNOWN]
    message = text.render(subject=order.label, product=product_name(order.kind), unknown=taking)
    return _finding(text, order, unknown, [order.kind], message)


def _finding(
    text: RuleText,
    order: SessionDrug,
    conflicts: list[SessionDrug],
    kinds: list[NaltrexoneKind | None],
    message: str,
) -> OrderFinding:
    # Why, point by point: what each naltrexone product involved does with opioids, then the
    # rule's own points (the label, the opioid-free interval, procedures).
    records = [*(product_text(kind) for kind in kinds), *(rule_texts()[f] for f in text.fragments)]
    points = tuple(Point(" ".join(r.render().split()), r.sources) for r in records)
    sources = tuple(dict.fromkeys([*(s for p in points for s in p.sources), *text.sources]))
    assert text.severity is not None
    return OrderFinding(
        rule=text.id,
        severity=text.severity,
        title=text.title,
        order=order,
        conflicts=tuple(conflicts),
        products=tuple(product_name(kind) for kind in kinds),
        message=" ".join(message.split()),
        points=points,
        sources=sources,
    )
