"""Every citable record of the knowledge base, as one flat list the answerer can search and show.

A record's text is the knowledge base's own sentence (a statement, a rule text, a condition's
summary, a study's design and effect as the evidence page prints them, a side effect as the
patient pages list it...), never a sentence written here. Ids are stable and public: a statement
keeps its bare id (`opioid-washout`); other records are prefixed with their kind
(`rule:pregnancy`, `condition:fibromyalgia`, `side-effect:vivid-dreams`, `protocol:standard`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Literal

from ldnkit.domain.criteria.fibromyalgia import pain_and_severity_text
from ldnkit.domain.criteria.texts import criteria_data, criterion_text
from ldnkit.knowledge import Condition, KnowledgeBase
from ldnkit.knowledge.limits import limits, render
from ldnkit.knowledge.protocols import product_book, protocol_book
from ldnkit.knowledge.rules import RuleText, rule_texts

RecordKind = Literal[
    "statement",
    "rule",
    "condition",
    "study",
    "position",
    "side-effect",
    "mechanism",
    "alternative",
    "protocol",
    "plan-note",
    "product",
    "criteria",
    "conflict",
]

# Rules whose only placeholder is the subject and that read as general advice with their title
# as the subject ("Pregnancy: there are no adequate human studies..."). The others describe one
# item of a patient's record (a washout with its dates, an unknown medication) or need a drug's
# details, which the answerer fills in from the question (`rule:opioid-active`).
GENERAL_RULES = (
    "liver-acute",
    "liver-chronic",
    "kidney-impaired",
    "pregnancy",
    "breastfeeding",
    "thyroid-medication",
    "alcohol",
    "hypersensitivity",
    "opioid-use-disorder",
)
# Rules about a drug the question names (`opioid-active`, `opioid-peripheral`) are not records
# here: their text needs the drug, so the answerer renders them for it.

# Criteria notes that name a calculator's input field: users never see field keys.
_FIELD_NOTES = frozenset({"exclusion-ignored-2016", "iom-frequency-not-given"})

_TOPIC_WORDS = {
    "side-effects": "side effects adverse effects",
    "interactions": "interactions combine together",
    "formulation": "formulation capsules liquid",
    "cost": "cost price",
    "dosing": "dose dosing",
    "timing": "timing time weeks months",
    "response": "response results",
    "efficacy": "efficacy effective works evidence research studies",
}
_SLUG = re.compile(r"[^a-z0-9]+")


@dataclass(frozen=True, slots=True)
class Record:
    """One citable record: what is shown (title, text), what is searched, and its sources.

    `keywords` are searched but never shown (a condition's synonyms and codes, a topic's
    words); `conflicts` are the disagreements shown whenever this record is.
    """

    id: str
    kind: RecordKind
    title: str | None
    text: str
    sources: tuple[str, ...]
    keywords: str = ""
    conflicts: tuple[str, ...] = ()


def slug(text: str) -> str:
    """A label as an id part: "Younger et al. 2013" -> "younger-et-al-2013"."""
    return _SLUG.sub("-", text.casefold()).strip("-")


def condition_words(condition: Condition) -> str:
    """What names a condition in questions and records: name, synonyms and codes."""
    return " ".join((condition.name, *condition.synonyms, *condition.icd10cm, *condition.snomed))


def render_rule(rule: RuleText, **values: object) -> str:
    """A rule's text with its placeholders filled; the subject defaults to the rule's title."""
    return rule.render(**{"subject": rule.title, **values})


def build_records(kb: KnowledgeBase) -> tuple[Record, ...]:
    """Every citable record, in a fixed order (the order breaks ties between equal answers)."""
    records = [
        *_statements(kb),
        *_rules(),
        *_conditions(kb),
        *_side_effects(kb),
        *_mechanisms_and_alternatives(kb),
        *_protocols(),
        *_products(),
        *_criteria(),
        *_conflicts(kb),
    ]
    seen: set[str] = set()
    for record in records:
        if record.id in seen:
            raise ValueError(f"record id {record.id!r} is used twice")
        seen.add(record.id)
    return tuple(records)


def _statements(kb: KnowledgeBase) -> Iterator[Record]:
    for s in kb.statements:
        words = [_TOPIC_WORDS.get(s.topic, s.topic)]
        if s.condition is not None:
            words.append(condition_words(kb.condition(s.condition)))
        yield Record(
            id=s.id,
            kind="statement",
            title=None,
            text=s.text,
            sources=s.sources,
            keywords=" ".join(words),
        )


def _rules() -> Iterator[Record]:
    texts = rule_texts()
    for rule_id in GENERAL_RULES:
        rule = texts[rule_id]
        yield Record(
            id=f"rule:{rule_id}",
            kind="rule",
            title=None,  # the text starts with it
            text=render_rule(rule),
            keywords=rule.title,
            sources=rule.sources,
        )


def _conditions(kb: KnowledgeBase) -> Iterator[Record]:
    for c in kb.conditions:
        names = condition_words(c)
        yield Record(
            id=f"condition:{c.id}",
            kind="condition",
            title=c.name,
            text=c.summary,
            sources=c.sources,
            keywords=f"{names} evidence",
        )
        for study in c.studies:
            design = study.design + (f", n={study.n}" if study.n else "")
            design += f", {study.dose}" if study.dose else ""
            yield Record(
                id=f"study:{c.id}:{slug(study.label)}",
                kind="study",
                title=f"{study.label} ({c.name})",
                text=f"{design}. {study.effect}",
                sources=study.sources,
                keywords=f"{names} study trial",
            )
        for n, position in enumerate(c.positions, 1):
            yield Record(
                id=f"position:{c.id}:{n}",
                kind="position",
                title=f"{position.by} ({c.name})",
                text=position.text,
                sources=position.sources,
                keywords=names,
            )


def _side_effects(kb: KnowledgeBase) -> Iterator[Record]:
    for effect in kb.side_effects:
        # Worded as the patient pages list a side effect: name, the source's frequency, rare.
        text = effect.name + (f": {effect.frequency}" if effect.frequency else "")
        text += " (rare)" if effect.rare else ""
        yield Record(
            id=f"side-effect:{effect.id}",
            kind="side-effect",
            title="Side effect reported with LDN",
            text=text,
            sources=effect.sources,
            keywords="side effect adverse effect",
        )


def _mechanisms_and_alternatives(kb: KnowledgeBase) -> Iterator[Record]:
    for m in kb.mechanisms:
        yield Record(
            id=f"mechanism:{m.id}",
            kind="mechanism",
            title=m.name,
            text=m.text,
            sources=m.sources,
            keywords="how it works mechanism",
        )
    for a in kb.alternatives:
        yield Record(
            id=f"alternative:{a.id}",
            kind="alternative",
            title=a.name,
            text=a.text,
            sources=a.sources,
            keywords=f"{a.name} {a.kind} alternative instead",
        )


def _protocols() -> Iterator[Record]:
    book = protocol_book()
    for protocol in book.protocols:
        yield Record(
            id=f"protocol:{protocol.id}",
            kind="protocol",
            title=f"Titration protocol: {protocol.name}",
            text=protocol.summary,
            sources=protocol.sources,
            keywords="dose titration schedule increase",
        )
    adjustments = book.adjustments
    hold = adjustments.procedure_hold
    yield Record(
        id="adjustment:move-to-morning",
        kind="protocol",
        title="Plan adjustment: morning dose",
        text=" ".join(adjustments.move_to_morning.message.split()),
        sources=adjustments.move_to_morning.sources,
    )
    yield Record(
        id="adjustment:step-back",
        kind="protocol",
        title="Plan adjustment: step back",
        text=" ".join(adjustments.step_back.message.split()),
        sources=adjustments.step_back.sources,
        keywords="side effects tolerate",
    )
    yield Record(
        id="adjustment:procedure-hold",
        kind="protocol",
        title="Plan adjustment: planned procedure",
        text=" ".join(
            render(hold.message, washout_days=limits().washout.short_acting.days).split()
        ),
        sources=tuple(dict.fromkeys((*hold.hold_sources, *hold.restart_sources))),
        keywords="surgery operation",
    )
    for n, note in enumerate(book.plan_notes, 1):
        yield Record(
            id=f"plan-note:{n}",
            kind="plan-note",
            title="Printed with every plan",
            text=" ".join(note.text.split()),
            sources=note.sources,
        )


def _products() -> Iterator[Record]:
    products = product_book()
    capsules = products.capsules
    strengths = ", ".join(f"{mg:g}" for mg in capsules.strengths_mg)
    yield Record(
        id="product:capsule-strengths",
        kind="product",
        title="LDN capsules",
        text=f"Capsule strengths used for LDN plans: {strengths} mg.",
        sources=capsules.strengths_sources,
        keywords="capsule capsules strengths",
    )
    for n, note in enumerate(capsules.notes, 1):
        yield Record(
            id=f"product:capsule-note-{n}",
            kind="product",
            title="LDN capsules",
            text=note.text,
            sources=note.sources,
            keywords="capsule capsules",
        )
    for recipe in products.liquid_recipes:
        keeps = "; ".join(f"{b.days} days {b.label}" for b in recipe.beyond_use)
        yield Record(
            id=f"product:liquid-{recipe.id}",
            kind="product",
            title=recipe.name,
            text=" ".join(
                f"{recipe.recipe.strip()} Use within {keeps}. {' '.join(recipe.warnings)}".split()
            ),
            sources=recipe.sources,
            keywords="liquid solution water dissolve",
        )


def _criteria() -> Iterator[Record]:
    data = criteria_data()
    for set_id, spec in data.fibromyalgia.items():
        parts = [
            pain_and_severity_text(spec),
            criterion_text("duration", months=spec.duration_months_min),
        ]
        if spec.regions_min is not None:
            parts.append(criterion_text("generalized-pain", regions=spec.regions_min))
        if spec.excludes_other_explanation:
            parts.append(criterion_text("no-other-explanation"))
        yield Record(
            id=f"criteria:{set_id}",
            kind="criteria",
            title=spec.title,
            text=". ".join(parts) + ".",
            sources=spec.sources,
            keywords=f"{set_id} {set_id[:3]} {set_id[3:]} fibromyalgia diagnosis criteria "
            "diagnose WPI widespread pain index",
        )
    for set_id, mecfs in data.mecfs.items():
        parts = [criterion_text("reduced-activity", months=mecfs.reduced_activity_months_over)]
        parts += [
            criterion_text(c)
            for c in ("fatigue", "pem", "unrefreshing-sleep", "cognitive-or-orthostatic")
        ]
        yield Record(
            id=f"criteria:{set_id}",
            kind="criteria",
            title=mecfs.title,
            text=". ".join(parts) + ".",
            sources=mecfs.sources,
            keywords="ME/CFS chronic fatigue syndrome diagnosis criteria diagnose",
        )
    for note_id, note in data.notes.items():
        if note_id in _FIELD_NOTES:
            continue
        yield Record(
            id=f"criteria:{note_id}",
            kind="criteria",
            title="Diagnostic criteria",
            text=note.text,
            sources=note.sources,
            keywords="fibromyalgia criteria diagnosis",
        )
    fiqr = data.fiqr
    domains = "; ".join(
        f"{d.label}: {len(d.items)} items, up to {d.max}" for d in fiqr.domains.values()
    )
    yield Record(
        id="criteria:fiqr",
        kind="criteria",
        title=fiqr.title,
        text=f"{domains}; each item scored 0-10, total 0-100.",
        sources=fiqr.sources,
        keywords="FIQR questionnaire fibromyalgia impact score",
    )


def _conflicts(kb: KnowledgeBase) -> Iterable[Record]:
    for conflict in kb.conflicts:
        names = " ".join(condition_words(kb.condition(c)) for c in conflict.conditions)
        yield Record(
            id=conflict.id,
            kind="conflict",
            title=conflict.topic,
            text=" ".join(side.claim for side in conflict.positions),
            sources=conflict.sources,
            keywords=f"{names} disagree",
            conflicts=(conflict.id,),
        )
