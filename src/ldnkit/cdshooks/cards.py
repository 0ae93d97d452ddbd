"""Which cards a call gets, and what they say.

order-select / order-sign: a `critical` card when an opioid is ordered for a patient on
naltrexone, or naltrexone at 10 mg or less is ordered for a patient with an active opioid
(DESIGN.md); no card otherwise. "On" a drug means an active medication in the record, or
another draft order in the same ordering session (drugs ordered together are taken together).
patient-view: for a patient on naltrexone, the safety screen's verdict and top findings.

The words and their sources live in `cards.yaml`; citations come from the knowledge base.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field

from ldnkit.cdshooks.models import Action, Card, Coding, Indicator, Link, Source, Suggestion
from ldnkit.domain.drugs import DrugClass, Recognition
from ldnkit.domain.screening import SEVERITY_RANK, Screening
from ldnkit.knowledge import knowledge_base
from ldnkit.knowledge.rules import rule_texts

LDN_MAX_MG = 10.0  # the contract's line between low-dose and standard naltrexone orders
SUMMARY_LIMIT = 139  # the spec: a summary under 140 characters
TOP_FINDINGS = 5
PRIMARY_SOURCE = "fda-revia-label"


class _Point(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    text: str
    sources: tuple[str, ...] = Field(min_length=1)


class CardText(BaseModel):
    """One card's words: a summary template, cited points, and the sources they draw on."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    summary: str
    points: tuple[_Point, ...] = ()
    intro: str | None = None
    sources: tuple[str, ...] = ()
    # What the EHR may offer a clinician who overrides the card (sent back as feedback).
    override_reasons: tuple[Coding, ...] = ()


@cache
def card_texts() -> dict[str, CardText]:
    """The card texts, validated once per process."""
    raw = yaml.safe_load(
        (resources.files("ldnkit.cdshooks") / "cards.yaml").read_text(encoding="utf-8")
    )
    return {key: CardText.model_validate(value) for key, value in raw.items()}


@dataclass(frozen=True)
class Drug:
    """A medication as the rules see it: recognised, with its dose when the order states one."""

    label: str
    recognition: Recognition
    dose_mg: float | None = None
    # `MedicationRequest/<id>` for a draft order (what a suggestion would delete).
    reference: str | None = None

    @property
    def is_opioid(self) -> bool:
        # An opioid found; a medication the screen cannot read is not treated as one here
        # (the order rules act on what is known; the screen reports the unknown).
        return self.recognition.is_opioid is True

    @property
    def is_naltrexone(self) -> bool:
        return DrugClass.NALTREXONE in self.recognition.classes

    @property
    def milligrams(self) -> float | None:
        """The dose per administration: as ordered, else the product strength.

        A concentration (mg/mL) is not a dose, so a liquid's strength does not count here.
        """
        if self.dose_mg is not None:
            return self.dose_mg
        if self.recognition.strength_unit in (None, "mg"):
            return self.recognition.strength_mg
        return None

    @property
    def low_dose_naltrexone(self) -> bool:
        """Naltrexone at 10 mg or less; an order that states no strength counts (the safe side)."""
        if not self.is_naltrexone:
            return False
        if self.milligrams is not None:
            return self.milligrams <= LDN_MAX_MG
        return self.recognition.naltrexone_kind not in ("standard", "extended_release_injection")


def order_cards(
    ordered: Sequence[Drug], pending: Sequence[Drug], active: Sequence[Drug]
) -> list[Card]:
    """Critical cards for the orders being placed; `pending` are the session's other drafts."""
    cards: list[Card] = []
    for order in ordered:
        others = [d for d in (*ordered, *pending) if d is not order]
        if order.is_opioid:
            naltrexone = [d for d in (*active, *others) if d.is_naltrexone]
            if naltrexone:
                cards.append(_opioid_card(order, naltrexone))
        elif order.low_dose_naltrexone:
            # Opioids ordered in this same call get the card above, with both drafts offered
            # for removal; counting them here too would say the same thing twice.
            opioids = [d for d in (*active, *pending) if d.is_opioid]
            if opioids:
                cards.append(_naltrexone_card(order, opioids))
    return cards


def _opioid_card(order: Drug, naltrexone: list[Drug]) -> Card:
    text = card_texts()["opioid-ordered-on-naltrexone"]
    summary = _summary(
        text.summary, order=_short(order).capitalize(), naltrexone=_names(naltrexone)
    )
    suggestions = [_removal(order), *(_removal(d) for d in naltrexone)]
    return _critical(summary, _detail(text, order, naltrexone), suggestions, text)


def _naltrexone_card(order: Drug, opioids: list[Drug]) -> Card:
    text = card_texts()["naltrexone-ordered-on-opioid"]
    dose = (
        f"{_mg(order.milligrams)} mg" if order.milligrams is not None else "(strength not stated)"
    )
    summary = _summary(text.summary, dose=dose, opioid=_names(opioids))
    return _critical(summary, _detail(text, order, opioids), [_removal(order)], text)


def _critical(
    summary: str, detail: str, suggestions: list[Suggestion | None], text: CardText
) -> Card:
    offered = [s for s in suggestions if s is not None]
    return Card(
        uuid=str(uuid.uuid4()),
        summary=summary,
        detail=detail,
        indicator="critical",
        source=Source(
            label="ldnkit LDN safety rules (naltrexone label, LDN protocol)", url=_primary_url()
        ),
        suggestions=offered or None,
        selectionBehavior="at-most-one" if offered else None,
        overrideReasons=list(text.override_reasons) or None,
        links=_label_links(),
    )


def _label_links() -> list[Link] | None:
    url = _primary_url()
    if not url:
        return None
    return [Link(label="Naltrexone (REVIA) prescribing information", url=url, type="absolute")]


def _removal(drug: Drug) -> Suggestion | None:
    """A suggestion to delete a draft order; None when the order has no id to name."""
    reference = drug.reference
    if reference is None:
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


def _detail(text: CardText, order: Drug, others: list[Drug]) -> str:
    numbers = {source: n for n, source in enumerate(text.sources, start=1)}
    lines = [
        f"**Ordered:** {_describe(order)}  ",
        f"**Conflicts with:** {'; '.join(_describe(d) for d in others)}",
        "",
    ]
    for point in text.points:
        marks = "".join(f"[{numbers[s]}]" for s in point.sources)
        lines.append(f"- {' '.join(point.text.split())} {marks}")
    return "\n".join([*lines, "", *_citations(text.sources)])


def _describe(drug: Drug) -> str:
    where = "draft order" if drug.reference else "active medication"
    ingredients = ", ".join(i.name for i in drug.recognition.ingredients) or "not recognised"
    dose = f", {_mg(drug.milligrams)} mg" if drug.milligrams is not None else ""
    return f"{_markdown(drug.label)} ({ingredients}{dose}; {where})"


def _citations(source_ids: Iterable[str]) -> list[str]:
    """A numbered Sources list: each citation with its link."""
    sources = knowledge_base().sources
    lines = ["**Sources**", ""]
    for n, source_id in enumerate(source_ids, start=1):
        source = sources[source_id]
        link = f" <{source.link}>" if source.link else ""
        lines.append(f"{n}. {_markdown(source.citation)}{link}")
    return lines


def patient_view_cards(screening: Screening, naltrexone: Sequence[Drug], as_of: str) -> list[Card]:
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


def _summary(template: str, **values: str) -> str:
    """Fill a summary template, shortening the longest values until it fits the spec's limit."""
    filled = template.format(**values)
    budget = dict(values)
    while len(filled) > SUMMARY_LIMIT:
        longest = max(budget, key=lambda k: len(budget[k]))
        excess = len(filled) - SUMMARY_LIMIT
        budget[longest] = _shorten(budget[longest], max(len(budget[longest]) - excess, 8))
        shorter = template.format(**budget)
        if len(shorter) >= len(filled):  # nothing left to shorten
            return shorter[: SUMMARY_LIMIT - 1] + "…"
        filled = shorter
    return filled


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: max(limit - 1, 1)].rstrip() + "…"


def _short(drug: Drug) -> str:
    """A drug as a summary names it: its ingredients and dose (the detail has the full name)."""
    ingredients = " / ".join(i.name for i in drug.recognition.ingredients)
    if not ingredients:
        return drug.label
    dose = f" {_mg(drug.milligrams)} mg" if drug.milligrams is not None else ""
    return ingredients + dose


def _names(drugs: Sequence[Drug]) -> str:
    names: list[str] = []
    for drug in drugs:
        if _short(drug) not in names:
            names.append(_short(drug))
    return ", ".join(names)


def _mg(value: float | None) -> str:
    return "" if value is None else f"{value:g}"


def _markdown(text: Any) -> str:
    """Plain text safe inside Markdown: EHR-supplied names must not turn into markup or links."""
    escaped = str(text)
    for char in "\\`*_{}[]<>#|!":
        escaped = escaped.replace(char, "\\" + char)
    return escaped
