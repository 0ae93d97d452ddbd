"""Assembling an answer: which records answer the question, in what order, and when to refuse.

1. Safety first, from the rules: a question naming an opioid gets the screen's opioid rule
   rendered for that drug (do not combine; the opioid-free days for its kind), then the
   subject's statements; a thyroid drug, pregnancy, breastfeeding, surgery, the liver, the
   kidneys, alcohol, children... likewise. These come before anything else, in the order the
   question names them, taking turns so that a two-part question sees both parts.
2. Then the records the search finds, kept only when they cover most of what the question asks:
   each group of terms (one per thing asked about) weighs as much as it is rare among the
   records (BM25's inverse document frequency), and a record must cover at least half of the
   question's weight. A record never fills the list just because it matched a common word.
3. A question about nothing in ldnkit's domain is refused (`out_of_scope`); an LDN question
   nothing covers is `no_answer`, saying what is not covered and whom to ask.
"""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from ldnkit.domain.ask.corpus import Corpus, Search, SearchResult
from ldnkit.domain.ask.model import (
    MAX_QUESTION_CHARS,
    Answer,
    AnswerConflict,
    AnswerSource,
    AnswerStatement,
    ConflictPosition,
    Status,
)
from ldnkit.domain.ask.reading import DrugMention, Reading, read
from ldnkit.domain.ask.records import Record, render_rule
from ldnkit.domain.drugs import DrugClass, drug_facts
from ldnkit.knowledge import Condition
from ldnkit.knowledge.ask import refusals
from ldnkit.knowledge.limits import render
from ldnkit.knowledge.rules import rule_texts
from ldnkit.validation import InputError

MAX_STATEMENTS = 8
# How many records of each safety subject lead an answer (the rest follow the other answers).
SAFETY_HEAD = 2
MAX_CONFLICTS = 3
SEARCH_LIMIT = 40
# The share of a question's weight a record must cover to be shown (see the module's notes).
COVERAGE_NEEDED = 0.5

_OPIOID = frozenset({DrugClass.OPIOID_AGONIST, DrugClass.OPIOID_PARTIAL_AGONIST})
_THYROID = frozenset({DrugClass.THYROID_HORMONE, DrugClass.ANTITHYROID})
_GUT = frozenset({DrugClass.PERIPHERAL_OPIOID_AGONIST})
# Subjects whose first record is a rule rendered for the drug the question names.
_RENDERED = {"opioids": "rule:opioid-active", "gut-opioids": "rule:opioid-peripheral"}
# At equal coverage, what a record is decides: side effects and statements first; the screen's
# rule texts (written for a patient's record) after them; the suggestions and positions of
# single articles last.
_KIND_ORDER = {
    kind: n
    for n, kind in enumerate(
        (
            "side-effect",
            "statement",
            "condition",
            "protocol",
            "criteria",
            "rule",
            "study",
            "product",
            "plan-note",
            "mechanism",
            "conflict",
            "position",
            "alternative",
        )
    )
}
# Named things (a drug, a condition, a lay phrase, a subject's phrase) are what a question is
# about; they weigh twice a plain word.
_KIND_WEIGHT = {"word": 1.0, "lay": 2.0, "drug": 2.0, "condition": 2.0, "phrase": 2.0}


def clean(question: str) -> str:
    """The question with control characters and runs of spaces made single spaces.

    An empty question (nothing but spaces or control characters) is bad input.
    """
    text = unicodedata.normalize("NFKC", question)
    text = "".join(" " if unicodedata.category(c).startswith("C") else c for c in text)
    text = " ".join(text.split())
    if not text:
        raise InputError.single("question", question, "a question about LDN, in words")
    return text


@dataclass
class _Candidate:
    record: Record
    order: int  # position in the corpus: the last tie-break, so answers never vary
    covered: set[int] = field(default_factory=set)
    bm25: float = 0.0
    routed: bool = False
    # Place in the list of a subject that routed it (0 = its first record; 99 = not routed):
    # at equal coverage, the subjects of a two-part question take turns.
    turn: int = 99


def answer(question: str, corpus: Corpus, search: Search) -> Answer:
    """Answer a question from the knowledge-base records only."""
    text = clean(question)
    if len(text) > MAX_QUESTION_CHARS:
        too_long = render(
            refusals().too_long, length=f"{len(text):,}", limit=f"{MAX_QUESTION_CHARS:,}"
        )
        return _refusal(text, too_long, corpus)
    reading = read(text, corpus)
    if not reading.english:
        return _refusal(text, render(refusals().not_english), corpus)
    if not reading.in_domain:
        return _refusal(text, render(refusals().out_of_scope), corpus)
    if not reading.groups and not reading.subjects:
        reading.subjects.append("overview")
    groups = [g.terms for g in reading.groups]
    found = search(groups, SEARCH_LIMIT) if groups else SearchResult((), (), len(corpus.records))
    candidates = _candidates(reading, corpus, found)
    # What the safety subjects answer is answered; the other records must answer the rest.
    safety = {s for s in reading.subjects if corpus.subjects[s].safety}
    rest_of_question = [
        i for i, g in enumerate(reading.groups) if not safety.intersection(g.subjects)
    ]
    weights = {
        i: _idf(len(found.matches[i]), found.size) * _KIND_WEIGHT[reading.groups[i].kind]
        for i in rest_of_question
    }
    total = sum(weights.values())

    def coverage(c: _Candidate) -> float:
        if not reading.groups:
            return 1.0
        return sum(weights.get(i, 0.0) for i in c.covered) / total if total else 0.0

    head, tail = _safety_first(reading, corpus, candidates)

    # A question naming several subjects (or conditions) shows each one's first record first.
    several = len([s for s in reading.subjects if s not in safety]) + len(reading.conditions) > 1

    def rank(c: _Candidate) -> tuple[bool, float, int, int, float, int]:
        return (
            not (several and c.turn == 0),
            -round(coverage(c), 3),
            c.turn,
            _KIND_ORDER[c.record.kind],
            -c.bm25,
            c.order,
        )

    rest = sorted((c for c in candidates.values() if c.record.id not in head + tail), key=rank)
    kept = [c for c in rest if coverage(c) >= COVERAGE_NEEDED]
    # Each named part of the question (a condition, a subject, a lay phrase) keeps its best
    # record even when the other part weighs more: "does it work for fibromyalgia, and how
    # long does it take" gets both.
    for i in rest_of_question:
        if reading.groups[i].kind != "word":
            best = next((c for c in rest if i in c.covered), None)
            if best is not None and best not in kept:
                kept.append(best)
    kept.sort(key=rank)
    chosen = [*(candidates[i] for i in head), *kept, *(candidates[i] for i in tail)]
    statements = [c.record for c in chosen if c.record.kind != "conflict"][:MAX_STATEMENTS]
    conflict_ids = _conflicts(reading, corpus, chosen)
    status: Status = "answered" if statements or conflict_ids else "no_answer"
    covered = {i for c in chosen for i in c.covered}
    missing = [g.label for i, g in enumerate(reading.groups) if i not in covered and not g.known]
    if status == "no_answer":
        about = [g.label for g in reading.groups]
        subject = f'"{" ".join(about)}"' if about else "this"
        message = render(refusals().no_answer, subject=subject)
    elif missing:
        message = render(refusals().partly, missing=" ".join(missing))
    else:
        message = None
    return _answer(text, status, message, statements, conflict_ids, corpus)


def _idf(matching: int, size: int) -> float:
    """BM25's inverse document frequency: a group matching few records weighs more."""
    return math.log(1 + (size - matching + 0.5) / (matching + 0.5))


def _candidates(reading: Reading, corpus: Corpus, found: SearchResult) -> dict[str, _Candidate]:
    order = {r.id: n for n, r in enumerate(corpus.records)}
    candidates: dict[str, _Candidate] = {}

    def candidate(record: Record) -> _Candidate:
        if record.id not in candidates:
            candidates[record.id] = _Candidate(record, order.get(record.id, -1))
        return candidates[record.id]

    # Rendered for the drugs named, these stand in for the rules' general texts.
    for record, subject_id in _drug_rules(reading):
        c = candidate(record)
        c.routed = True
        c.turn = 0
        c.covered |= {i for i, g in enumerate(reading.groups) if subject_id in g.subjects}
    for record_id, score in found.ranked:
        c = candidate(corpus.record(record_id))
        c.bm25 = score
        c.covered |= {i for i, m in enumerate(found.matches) if record_id in m}
    for subject_id in reading.subjects:
        subject = corpus.subjects[subject_id]
        naming = {i for i, g in enumerate(reading.groups) if subject_id in g.subjects}
        routed = subject.records if subject.safety else (*subject.records, *subject.conflicts)
        for n, record_id in enumerate(routed):
            c = candidate(corpus.record(record_id))
            c.routed = True
            c.turn = min(c.turn, n)
            c.covered |= naming
    for condition, i in _condition_groups(reading):
        # The condition's page first, then its disagreements in the knowledge base's order.
        linked = (f"condition:{condition.id}", *(x.id for x in condition.conflicts))
        for n, record_id in enumerate(linked):
            c = candidate(corpus.record(record_id))
            c.routed = True
            c.turn = min(c.turn, n)
            c.covered.add(i)
    return candidates


def _condition_groups(reading: Reading) -> Iterable[tuple[Condition, int]]:
    """Each condition the question names, with the index of the group naming it."""
    groups = [i for i, g in enumerate(reading.groups) if g.kind == "condition"]
    return zip(reading.conditions, groups, strict=True)


def _rendered(rule_id: str, drugs: list[DrugMention], **values: object) -> Record:
    """A screen rule rendered for the drugs named, citing the rule's and the drugs' sources."""
    rule = rule_texts()[rule_id]
    return Record(
        id=f"rule:{rule_id}",
        kind="rule",
        title=None,  # the text starts with the drugs
        text=render_rule(
            rule, subject=" and ".join(dict.fromkeys(d.written for d in drugs)), **values
        ),
        sources=_sources(rule.sources, *(d.recognition.sources for d in drugs)),
    )


def _drug_rules(reading: Reading) -> Iterable[tuple[Record, str]]:
    """The screen's rules for the drugs the question names, with the subject each answers."""
    opioids = [d for d in reading.drugs if d.classes & _OPIOID]
    if opioids:
        # What the screen derives from each name (its opioids, kind, opioid-free days, how it
        # was read), so that the answer says what the screen would say.
        facts = [drug_facts(d.window, None) for d in opioids]
        names = dict.fromkeys(f.opioid_ingredients for f in facts if f.opioid_ingredients)
        long_acting = any(f.acting == "long-acting" for f in facts)
        record = _rendered(
            "opioid-active",
            opioids,
            ingredients=" + ".join(names),
            kind="(long-acting)" if long_acting else "(short-acting)",
            read_as="".join(dict.fromkeys(f.read_as for f in facts)),
            # Several opioids: the longest opioid-free interval of them, never a shorter one.
            washout=max(f.washout for f in facts),
        )
        yield record, "opioids"
    thyroid = [d for d in reading.drugs if d.classes & _THYROID]
    if thyroid:
        yield _rendered("thyroid-medication", thyroid), "thyroid"
    gut = [d for d in reading.drugs if d.classes & _GUT and not d.classes & _OPIOID]
    if gut:
        names = dict.fromkeys(i.name for d in gut for i in d.ingredients)
        yield _rendered("opioid-peripheral", gut, ingredients=" + ".join(names)), "gut-opioids"


def _sources(*lists: Sequence[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(s for sources in lists for s in sources))


def _safety_first(
    reading: Reading, corpus: Corpus, candidates: dict[str, _Candidate]
) -> tuple[list[str], list[str]]:
    """Records of the safety subjects, rendered rules first, taking turns between subjects.

    The first two of each subject lead the answer; the others follow whatever else answers
    the question, so that the second part of a two-part question is not pushed off the page.
    """
    queues: list[list[str]] = []
    for subject_id in reading.subjects:
        subject = corpus.subjects[subject_id]
        if not subject.safety:
            continue
        queue = list(subject.records)
        rendered = _RENDERED.get(subject_id)
        if rendered in candidates:
            queue.insert(0, rendered)
        queues.append(queue)
    head: list[str] = []
    tail: list[str] = []
    turn = 0
    while any(queues):
        for queue in queues:
            while queue:
                record_id = queue.pop(0)
                if record_id not in head and record_id not in tail:
                    (head if turn < SAFETY_HEAD else tail).append(record_id)
                    break
        turn += 1
    return head, tail


def _conflicts(reading: Reading, corpus: Corpus, chosen: list[_Candidate]) -> list[str]:
    """The safety subjects' disagreements, then those the answer's records found, in order."""
    found: list[str] = []
    for subject_id in reading.subjects:
        if corpus.subjects[subject_id].safety:
            found.extend(corpus.subjects[subject_id].conflicts)
    for c in chosen:
        found.extend(c.record.conflicts)
    return list(dict.fromkeys(found))[:MAX_CONFLICTS]


def _refusal(text: str, message: str, corpus: Corpus) -> Answer:
    return _answer(text, "out_of_scope", message, [], [], corpus)


def _answer(
    text: str,
    status: Status,
    message: str | None,
    statements: list[Record],
    conflict_ids: list[str],
    corpus: Corpus,
) -> Answer:
    kb = corpus.kb
    conflicts = [c for c in kb.conflicts if c.id in conflict_ids]
    conflicts.sort(key=lambda c: conflict_ids.index(c.id))
    cited = _sources(
        *(s.sources for s in statements), *(side.sources for c in conflicts for side in c.positions)
    )
    return Answer(
        question=text,
        status=status,
        message=message,
        statements=[
            AnswerStatement(id=r.id, title=r.title, text=r.text, sources=list(r.sources))
            for r in statements
        ],
        conflicts=[
            AnswerConflict(
                id=c.id,
                title=c.topic,
                positions=[
                    ConflictPosition(text=side.claim, sources=list(side.sources))
                    for side in c.positions
                ],
                note=c.note,
            )
            for c in conflicts
        ],
        sources=[
            AnswerSource(
                id=s.id,
                citation=s.citation,
                kind=s.kind,
                year=s.year,
                doi=s.doi,
                pmid=s.pmid,
                url=s.url,
            )
            for s in (kb.source(i) for i in cited)
        ],
        knowledge_base=kb.version,
    )
