"""From the domain's findings to CDS Hooks cards: wording around them, and the wire format.

Nothing is decided here. order-select / order-sign: each finding of the order-time rule
(`ldnkit.domain.rules.order_findings`: an opioid ordered for a patient on naltrexone, or
naltrexone of any strength or product ordered for a patient with an active opioid) becomes a
`critical` card naming the product and why, point by point with numbered sources.
patient-view: for a patient on naltrexone, the safety screen's verdict and top findings.

The card's own words are `knowledge/data/cards.yaml`; citations come from the knowledge base.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from typing import Any

from ldnkit.cdshooks.models import Action, Card, Coding, Indicator, Link, Source, Suggestion
from ldnkit.cdshooks.orders import UnreadableOrder
from ldnkit.domain.rules import SEVERITY_RANK, OrderFinding, Screening, SessionDrug
from ldnkit.domain.rules.orders import NALTREXONE_ORDERED, OPIOID_ORDERED, UNKNOWN_ORDERED
from ldnkit.domain.rules.products import product_name
from ldnkit.knowledge import knowledge_base
from ldnkit.knowledge.cards import CardText, card_texts
from ldnkit.knowledge.rules import rule_texts

SUMMARY_LIMIT = 139  # the spec: a summary under 140 characters
TOP_FINDINGS = 5
PRIMARY_SOURCE = "fda-revia-label"
# The order rule's findings are contraindications: a critical card each.
_INDICATOR: dict[str, Indicator] = {"contraindicated": "critical", "wait": "warning",
                                    "caution": "warning", "info": "info"}  # fmt: skip


def order_cards(findings: Sequence[OrderFinding]) -> list[Card]:
    """One card per finding of the order-time rule."""
    return [_order_card(f) for f in findings]


def _order_card(finding: OrderFinding) -> Card:
    text = card_texts()[finding.rule]
    order = finding.order
    if finding.rule in (OPIOID_ORDERED, UNKNOWN_ORDERED):
        summary = _summary(
            text.summary,
            keep=("naltrexone",),
            order=_first_upper(_short(order)),
            naltrexone=_names(finding.conflicts, products=True),
        )
        # Either draft may be the one to drop: the ordered drug, or a naltrexone drafted with it.
        suggestions = [_removal(order), *(_removal(d) for d in finding.conflicts)]
    else:
        # The other side is named {opioid} or {unknown}, as the rule's template says.
        side = "opioid" if finding.rule == NALTREXONE_ORDERED else "unknown"
        summary = _summary(
            text.summary,
            keep=("order",),
            order=_first_upper(_product(order)),
            **{side: _names(finding.conflicts)},
        )
        suggestions = [_removal(order)]
    offered = [s for s in suggestions if s is not None]
    return Card(
        uuid=str(uuid.uuid4()),
        summary=summary,
        detail=_detail(finding),
        indicator=_INDICATOR[finding.severity],
        source=Source(
            label="ldnkit LDN safety rules (naltrexone label, LDN protocol)", url=_primary_url()
        ),
        suggestions=offered or None,
        selectionBehavior="at-most-one" if offered else None,
        overrideReasons=_override_reasons(text) or None,
        links=_label_links(),
    )


def unreadable_order_card(order: UnreadableOrder) -> Card:
    """A draft order whose drug cannot be read: not checked, and the clinician is told so."""
    text = card_texts()["order-unreadable"]
    named = order.reference or f"at {order.where}"
    return Card(
        uuid=str(uuid.uuid4()),
        summary=_summary(text.summary),
        detail=" ".join((text.intro or "").format(order=_markdown(named)).split()),
        indicator="warning",
        source=Source(label="ldnkit LDN safety rules", url=_primary_url()),
        links=_label_links(),
    )


def _override_reasons(text: CardText) -> list[Coding]:
    return [Coding(system=r.system, code=r.code, display=r.display) for r in text.override_reasons]


def _label_links() -> list[Link] | None:
    url = _primary_url()
    if not url:
        return None
    return [Link(label="Naltrexone (REVIA) prescribing information", url=url, type="absolute")]


def _removal(drug: SessionDrug) -> Suggestion | None:
    """A suggestion to delete a draft order; None when the order has no id to name."""
    reference = drug.reference
    if not drug.draft or reference is None:
        return None
    return Suggestion(
        label=f"Remove the draft order for {_shorten(drug.label, 80)}",
        uuid=str(uuid.uuid4()),
        actions=[
            Action(
                type="delete",
                description=f"Remove the unsigned order {reference} ({drug.label})",
                resourceId=reference,
            )
        ],
    )


def _detail(finding: OrderFinding) -> str:
    cited = [s for p in finding.points for s in p.sources]
    numbers = {source: n for n, source in enumerate(dict.fromkeys(cited), start=1)}
    lines = [
        f"**Ordered:** {_describe(finding.order)}  ",
        f"**Conflicts with:** {'; '.join(_describe(d) for d in finding.conflicts)}",
        "",
        _markdown(finding.message),
        "",
    ]
    for point in finding.points:
        marks = "".join(f"[{numbers[s]}]" for s in dict.fromkeys(point.sources))
        lines.append(f"- {point.text} {marks}")
    return "\n".join([*lines, "", *_citations(numbers)])


def _describe(drug: SessionDrug) -> str:
    where = "draft order" if drug.draft else "active medication"
    ingredients = ", ".join(i.name for i in drug.facts.recognition.ingredients) or "not recognised"
    dose = f", {_mg(drug.milligrams)} mg" if drug.milligrams is not None else ""
    product = f", {_product_name(drug)}" if drug.is_naltrexone else ""
    return f"{_markdown(drug.label)} ({ingredients}{dose}{product}; {where})"


def _citations(source_ids: Iterable[str]) -> list[str]:
    """A numbered Sources list: each citation with its link."""
    sources = knowledge_base().sources
    lines = ["**Sources**", ""]
    for n, source_id in enumerate(source_ids, start=1):
        source = sources[source_id]
        link = f" <{source.link}>" if source.link else ""
        lines.append(f"{n}. {_markdown(source.citation)}{link}")
    return lines


def patient_view_cards(
    screening: Screening, naltrexone: Sequence[SessionDrug], as_of: str
) -> list[Card]:
    """For a patient on naltrexone: the screen's verdict and its most severe findings."""
    if not naltrexone:
        return []
    text = card_texts()["patient-view"]
    findings = sorted(screening.findings, key=lambda f: SEVERITY_RANK[f.severity], reverse=True)[
        :TOP_FINDINGS
    ]
    titles = rule_texts()
    named: list[str] = []
    for finding in findings:
        title = titles[finding.rule].title if finding.rule in titles else finding.rule
        if finding.severity != "info" and title not in named:
            named.append(title)
    top = f" ({', '.join(named[:3])})" if named else ""
    summary = _summary(
        text.summary, naltrexone=_names(naltrexone), verdict=screening.verdict, top=top
    )
    cited: list[str] = []
    for finding in findings:
        cited.extend(s for s in finding.sources if s not in cited)
    numbers = {source: n for n, source in enumerate(cited, start=1)}
    lines = [" ".join((text.intro or "").format(as_of=as_of, verdict=screening.verdict).split())]
    if screening.earliest_start is not None and screening.verdict != "eligible":
        lines.append(f"The screen would pass from {screening.earliest_start.isoformat()}.")
    lines.append("")
    if findings:
        lines.append("**Findings, most severe first**")
        lines.append("")
    for finding in findings:
        marks = "".join(f"[{numbers[s]}]" for s in finding.sources)
        lines.append(
            f"- **{finding.severity}** {_markdown(finding.subject)}: "
            f"{_markdown(' '.join(finding.message.split()))} {marks}"
        )
    if len(screening.findings) > len(findings):
        lines.append(f"- and {len(screening.findings) - len(findings)} more (run the full screen)")
    if not findings:
        lines.append("No finding speaks against continuing LDN.")
    detail = "\n".join([*lines, "", *_citations(cited)]) if cited else "\n".join(lines)
    indicator: Indicator = "info" if screening.verdict == "eligible" else "warning"
    return [
        Card(
            uuid=str(uuid.uuid4()),
            summary=summary,
            detail=detail,
            indicator=indicator,
            source=Source(label="ldnkit LDN safety screen", url=_primary_url()),
            links=_label_links(),
        )
    ]


def _primary_url() -> str | None:
    return knowledge_base().sources[PRIMARY_SOURCE].url


def _summary(template: str, keep: tuple[str, ...] = (), **values: str) -> str:
    """Fill a summary template, shortening the longest values until it fits the spec's limit.

    Values named in `keep` (the naltrexone product a card is about) are shortened last.
    """
    filled = template.format(**values)
    budget = dict(values)
    while len(filled) > SUMMARY_LIMIT:
        spare = [k for k in budget if k not in keep and len(budget[k]) > 8] or list(budget)
        longest = max(spare, key=lambda k: len(budget[k]))
        excess = len(filled) - SUMMARY_LIMIT
        budget[longest] = _shorten(budget[longest], max(len(budget[longest]) - excess, 8))
        shorter = template.format(**budget)
        if len(shorter) >= len(filled):  # nothing left to shorten
            return shorter[: SUMMARY_LIMIT - 1] + "…"
        filled = shorter
    return filled


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: max(limit - 1, 1)].rstrip() + "…"


def _short(drug: SessionDrug) -> str:
    """A drug as a summary names it: its ingredients and dose (the detail has the full name)."""
    ingredients = " / ".join(i.name for i in drug.facts.recognition.ingredients)
    if not ingredients:
        return drug.label
    dose = f" {_mg(drug.milligrams)} mg" if drug.milligrams is not None else ""
    return ingredients + dose


def _product_name(drug: SessionDrug) -> str:
    return product_name(drug.kind)


def _product(drug: SessionDrug) -> str:
    """A naltrexone drug as a summary names it: the product, with its dose when stated
    ("standard-dose naltrexone 50 mg", "naltrexone 1.5 mg (LDN)")."""
    kind = drug.kind
    dose = f"{_mg(drug.milligrams)} mg" if drug.milligrams is not None else None
    if kind not in (None, "ldn"):
        return _product_name(drug) + (f" {dose}" if dose else "")
    notes = [_product_name(drug)] if kind == "ldn" else []
    if dose is None:
        notes.append("strength not stated")
    return _short(drug) + (f" ({', '.join(notes)})" if notes else "")


def _first_upper(text: str) -> str:
    return text[:1].upper() + text[1:]


def _names(drugs: Sequence[SessionDrug], *, products: bool = False) -> str:
    names: list[str] = []
    for drug in drugs:
        name = _product(drug) if products and drug.is_naltrexone else _short(drug)
        if name not in names:
            names.append(name)
    return ", ".join(names)


def _mg(value: float | None) -> str:
    return "" if value is None else f"{value:g}"


def _markdown(text: Any) -> str:
    """Plain text safe inside Markdown: EHR-supplied names must not turn into markup or links."""
    escaped = str(text)
    for char in "\\`*_{}[]<>#|!":
        escaped = escaped.replace(char, "\\" + char)
    return escaped
