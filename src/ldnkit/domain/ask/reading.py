"""Reading a question: what it names (drugs, conditions, subjects) and the words it asks about.

Drugs are read by the drug recogniser (brands, abbreviations, misspellings -> ingredients and
classes), conditions by their names, synonyms and codes, lay words through the cited lay-terms
list, and every other word is checked against the knowledge base's own words (a misspelling is
read as the nearest known word, a beginning such as "fibro" as its completions). What comes out
is a list of groups of search terms, one per thing the question asks about, and the subjects
the question names, which the answer takes from the rules.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from typing import Literal

from ldnkit.domain.ask.corpus import Corpus, Term
from ldnkit.domain.ask.words import LDN_WORDS, STOPWORDS, Token, tokens, words
from ldnkit.domain.drugs import DrugClass, IngredientMatch, Recognition, recognise
from ldnkit.knowledge import Condition
from ldnkit.knowledge.base import normalise_name

GroupKind = Literal["word", "lay", "drug", "condition", "phrase"]

_OPIOID = frozenset({DrugClass.OPIOID_AGONIST, DrugClass.OPIOID_PARTIAL_AGONIST})
_THYROID = frozenset({DrugClass.THYROID_HORMONE, DrugClass.ANTITHYROID})
_PERIPHERAL = frozenset({DrugClass.PERIPHERAL_OPIOID_AGONIST})
# Ways of reading a word as a drug that could turn an ordinary word into one.
_LOOSE = frozenset({"misspelling", "truncation", "abbreviation"})
_MAINTENANCE = frozenset({"methadone", "buprenorphine"})
# Naltrexone products that are not LDN, by the recogniser's kind, and the subject answering them.
_PRODUCT_SUBJECTS = {
    "standard": "standard-naltrexone",
    "extended_release_injection": "naltrexone-injection",
    "naltrexone_bupropion": "naltrexone-bupropion",
}

# Conditions whose screen role is a safety role answer from that role's subject.
ROLE_SUBJECTS = {
    "thyroid": "thyroid",
    "pregnancy": "pregnancy",
    "liver_acute": "liver-acute",
    "liver_chronic": "liver-chronic",
    "kidney_impaired": "kidney",
    "alcohol_heavy": "alcohol",
    "opioid_use_disorder": "opioid-use-disorder",
}
# Conditions LDN is used or studied for: naming one puts a question in ldnkit's domain.
_LDN_ROLES = frozenset({"candidate", "limited_evidence", "not_recommended"})
# Short synonyms that are also ordinary words; they name a condition only in capitals ("AIDS").
_CAPITALS_ONLY = frozenset({"aids", "ra", "uc", "oa", "fm", "me"})

# What makes a question about LDN's practicalities even when it does not say "LDN": asking
# about a dose, a missed dose, side effects, capsules... (with every other word known).
_CUE_SUBJECTS = frozenset({"dose", "higher-dose", "side-effects", "stopping", "expectations"})
_CUE_LAY = frozenset(
    {
        "missed",
        "kick-in",
        "not-working",
        "forms",
        "cost",
        "drug-test",
        "controlled",
        "weird-dreams",
        "meaningful-change",
        "where-to-get",
        "regular-naltrexone",
        "higher-dose",
        "how-it-works",
        "not-tolerated",
        "titration-pace",
        "dissolve",
        "narcotic",
    }
)
_CUE_WORDS = frozenset(
    {
        "titration",
        "titrate",
        "protocol",
        "capsule",
        "capsules",
        "compounded",
        "washout",
        "fiqr",
        "wpi",
        "criteria",
        "diagnostic",
        "diagnosis",
    }
)

_ABOUT_THE_DRUG = frozenset({"stop", "stopping", "stopped", "quit", "quitting", "off"})
_OF_THE_DRUG = frozenset(
    {"dose", "doses", "dosage", "medication", "medicine", "meds", "pills", "last", "final"}
)
_UNITS = frozenset({"mg", "mcg", "ml", "milligrams"})
_DUMMY_IT = re.compile(r"\b(?:is|was) it \w+ (?:to|for)\b|\bit (?:is|s) \w+ (?:to|for)\b")
_ICD = re.compile(r"\b[A-Za-z]\d{2}(?:\.\d{1,4})?\b")
_SNOMED = re.compile(r"\b\d{6,18}\b")


@dataclass(frozen=True)
class Group:
    """One thing the question asks about: alternative search terms, and the subjects it names."""

    terms: tuple[Term, ...]
    label: str
    kind: GroupKind
    subjects: tuple[str, ...] = ()
    known: bool = True


@dataclass(frozen=True)
class DrugMention:
    """A drug the question names, with what the recogniser read in it."""

    written: str
    ingredients: tuple[IngredientMatch, ...]
    window: str  # the name with the words around it ("morphine ER", "50 mg naltrexone")
    recognition: Recognition  # what the window is recognised as

    @property
    def classes(self) -> frozenset[DrugClass]:
        return frozenset(c for i in self.ingredients for c in i.classes)

    @property
    def relevant(self) -> bool:
        """Whether the drug matters for LDN (opioid, thyroid, naltrexone...)."""
        return bool(self.classes)


@dataclass
class Reading:
    """What a question names and asks, ready for the search and the answer."""

    text: str
    groups: list[Group] = field(default_factory=list)
    subjects: list[str] = field(default_factory=list)
    drugs: list[DrugMention] = field(default_factory=list)
    conditions: list[Condition] = field(default_factory=list)
    ldn_named: bool = False
    pronoun: bool = False  # "can I drink on it": in ldnkit, "it" is LDN
    # "is it safe to take ibuprofen...": an "it" that stands for nothing; with another drug
    # named, the question is about that drug.
    dummy_it: bool = False
    cue: bool = False
    english: bool = True

    @property
    def unknown(self) -> list[str]:
        """Words the knowledge base does not use at all (after spelling tolerance)."""
        return [g.label for g in self.groups if not g.known]

    @property
    def other_drug(self) -> bool:
        """Whether the question is about a drug that does not matter for LDN."""
        return any(not d.relevant for d in self.drugs)

    @property
    def in_domain(self) -> bool:
        """Whether the question is about LDN and what surrounds it.

        Naming LDN (or asking about "it") is enough. Otherwise a condition LDN is used for, or
        a question about LDN's practicalities (a dose, a missed dose, capsules), counts only
        when it names no other drug and every word is one the knowledge base uses, so that "the
        normal dose of metformin" or "amoxicillin in pregnancy" is not taken for an LDN question.
        """
        if self.ldn_named or (self.pronoun and not (self.dummy_it and self.other_drug)):
            return True
        if self.other_drug or self.unknown:
            return False
        return self.cue or any(c.screen_role in _LDN_ROLES for c in self.conditions)


def _add_subject(reading: Reading, subject: str) -> None:
    if subject not in reading.subjects:
        reading.subjects.append(subject)


def _find(haystack: list[str], needle: list[str]) -> int | None:
    """Where a run of words first appears in another."""
    for i in range(len(haystack) - len(needle) + 1):
        if haystack[i : i + len(needle)] == needle:
            return i
    return None


def _latin_share(text: str) -> float:
    letters = [c for c in text if c.isalpha()]
    if not letters:
        return 1.0
    latin = sum(1 for c in letters if unicodedata.name(c, "").startswith("LATIN"))
    return latin / len(letters)


def read(text: str, corpus: Corpus) -> Reading:
    """Read a (cleaned, non-empty) question."""
    reading = Reading(text=text)
    for pattern, system in ((_ICD, "icd10cm"), (_SNOMED, "snomed")):
        for match in pattern.finditer(text):
            found = corpus.kb.find_condition(match.group(0), system)
            if found is not None:
                _add_condition(reading, found, match.group(0))
                text = text.replace(match.group(0), " ")
    toks = tokens(text)
    said = [t.word for t in toks]
    taken = [False] * len(toks)
    reading.pronoun = any(w in ("it", "this") for w in said)
    reading.dummy_it = _DUMMY_IT.search(" ".join(said)) is not None
    # Lay phrases first: "pain meds" and "kidney transplant" must not be read word by word.
    _read_lay_words(reading, said, taken, corpus)
    _read_drugs(reading, text, toks, said, taken, corpus)
    _read_conditions(reading, toks, said, taken, corpus)
    _read_subject_phrases(reading, said, taken, corpus)
    _read_words(reading, toks, taken, corpus)
    reading.english = _english(toks, taken, corpus, reading.text)
    reading.cue = reading.cue or bool(_CUE_SUBJECTS.intersection(reading.subjects))
    return reading


def _english(toks: list[Token], taken: list[bool], corpus: Corpus, text: str) -> bool:
    """Whether the question is in English: in Latin letters, and mostly words ldnkit knows."""
    if _latin_share(text) < 0.5:
        return False
    letters = [(t, used) for t, used in zip(toks, taken, strict=True) if t.word.isalpha()]
    known = sum(
        1
        for t, used in letters
        if used
        or t.word in STOPWORDS
        or t.word in LDN_WORDS
        or t.word in corpus.known
        or corpus.speller.correct(t.word)
    )
    return len(letters) < 4 or known * 2 >= len(letters)


def _add_condition(reading: Reading, condition: Condition, written: str) -> None:
    if condition in reading.conditions:
        return
    reading.conditions.append(condition)
    names = (condition.name, *condition.synonyms)
    role = ROLE_SUBJECTS.get(condition.screen_role)
    subjects = (role,) if role else ()
    for subject in subjects:
        _add_subject(reading, subject)
    reading.groups.append(
        Group(
            terms=tuple(Term(tuple(words(n))) for n in dict.fromkeys(names) if words(n)),
            label=written,
            kind="condition",
            subjects=subjects,
        )
    )


def _read_drugs(
    reading: Reading,
    text: str,
    toks: list[Token],
    said: list[str],
    taken: list[bool],
    corpus: Corpus,
) -> None:
    spans: dict[tuple[int, int], list[IngredientMatch]] = {}
    if not said:  # nothing but a code, already read
        return
    for match in recognise(text).ingredients:
        span = words(match.matched)
        if all(w in STOPWORDS for w in span) or (
            match.how in _LOOSE and all(w in corpus.known for w in span)
        ):
            continue  # ordinary words ("as a", "taking") read as a look-alike drug name
        start = _find(said, span) if span else None
        if start is not None:
            spans.setdefault((start, start + len(span)), []).append(match)
    starts = sorted(s for s, _ in spans)
    for (start, end), matches in sorted(spans.items()):
        if any(m.id == "naltrexone" for m in matches):
            reading.ldn_named = True
        if any(taken[start:end]):
            continue  # already read as a lay phrase ("regular naltrexone", "tacrolimus")
        # The words around a name can change what it is: "morphine ER" is long-acting and
        # "50 mg naltrexone" is not LDN. Read the name with the words around it, up to the
        # next drug named.
        before = max([start - 3, 0, *(e for s, e in spans if e <= start)])
        after = min([end + 3, len(toks), *(s for s in starts if s >= end)])
        written = " ".join(t.written for t in toks[start:end])
        around = " ".join(t.written for t in toks[before:after])
        window = recognise(around)
        for i in range(start, end):
            taken[i] = True
        if any(m.id == "naltrexone" for m in matches):
            _naltrexone_product(reading, written, window)
            matches = [m for m in matches if m.id != "naltrexone" and m.classes]
            if not matches:
                continue
        # "stopping tramadol", "my thyroid dose": about that drug, not about LDN's dose.
        if start > 0 and said[start - 1] in _ABOUT_THE_DRUG:
            taken[start - 1] = True
        # Its strength and its dose ("OxyContin 20 mg", "my thyroid dose") are the drug's too.
        after = end
        while after < len(said) and (
            said[after] in _OF_THE_DRUG or said[after] in _UNITS or toks[after].is_number
        ):
            taken[after] = True
            after += 1
        mention = DrugMention(written, tuple(matches), around, window)
        reading.drugs.append(mention)
        _drug_group(reading, mention)


def _naltrexone_product(reading: Reading, written: str, window: Recognition) -> None:
    """Naltrexone that is not LDN (50 mg, the injection, naltrexone-bupropion) is a subject."""
    subject = _PRODUCT_SUBJECTS.get(window.naltrexone_kind or "")
    if subject is None:
        return
    _add_subject(reading, subject)
    reading.groups.append(
        Group(terms=(Term(tuple(words(written))),), label=written, kind="drug", subjects=(subject,))
    )


def _drug_group(reading: Reading, mention: DrugMention) -> None:
    classes = mention.classes
    names = [m.name for m in mention.ingredients]
    extra: list[str] = []
    subjects: list[str] = []
    if classes & _OPIOID:
        extra.append("opioid")
        subjects.append("opioids")
        if any(m.id in _MAINTENANCE for m in mention.ingredients):
            subjects.append("opioid-maintenance")
    if classes & _THYROID:
        extra.append("thyroid")
        subjects.append("thyroid")
    if classes & _PERIPHERAL and not classes & _OPIOID:
        subjects.append("gut-opioids")
    for subject in subjects:
        _add_subject(reading, subject)
    terms = dict.fromkeys((tuple(words(mention.written)), *(tuple(words(n)) for n in names)))
    terms.update(dict.fromkeys((w,) for w in extra))
    reading.groups.append(
        Group(
            terms=tuple(Term(t) for t in terms if t),
            label=mention.written,
            kind="drug",
            subjects=tuple(subjects),
        )
    )


def _read_conditions(
    reading: Reading, toks: list[Token], said: list[str], taken: list[bool], corpus: Corpus
) -> None:
    i = 0
    while i < len(toks):
        for n in range(min(6, len(toks) - i), 0, -1):
            if any(taken[i : i + n]):
                continue
            key = normalise_name(" ".join(said[i : i + n]))
            condition = corpus.condition_names.get(key)
            if condition is None:
                continue
            if key in _CAPITALS_ONLY and not toks[i].written.isupper():
                continue
            written = " ".join(t.written for t in toks[i : i + n])
            for j in range(i, i + n):
                taken[j] = True
            _add_condition(reading, condition, written)
            i += n - 1
            break
        i += 1


def _read_lay_words(reading: Reading, said: list[str], taken: list[bool], corpus: Corpus) -> None:
    i = 0
    while i < len(said):
        for n in range(min(corpus.lay_longest, len(said) - i), 0, -1):
            if any(taken[i : i + n]):
                continue
            phrase = corpus.lay.get(tuple(said[i : i + n]))
            if phrase is None:
                continue
            for j in range(i, i + n):
                taken[j] = True
            _lay_group(reading, phrase.says, phrase.means, phrase.term.id, corpus)
            i += n - 1
            break
        i += 1


def _lay_group(
    reading: Reading,
    says: tuple[str, ...],
    means: tuple[tuple[str, ...], ...],
    term_id: str,
    corpus: Corpus,
) -> None:
    subjects = tuple(
        dict.fromkeys(s for m in (says, *means) for s in corpus.subject_words.get(m, ()))
    )
    for subject in subjects:
        _add_subject(reading, subject)
    if term_id in _CUE_LAY or set(subjects) & _CUE_SUBJECTS:
        reading.cue = True
    reading.groups.append(
        Group(
            terms=tuple(Term(t) for t in dict.fromkeys((says, *means))),
            label=" ".join(says),
            kind="lay",
            subjects=subjects,
        )
    )


def _read_subject_phrases(
    reading: Reading, said: list[str], taken: list[bool], corpus: Corpus
) -> None:
    """Subjects named by phrases of several words ("side effects", "how much")."""
    i = 0
    while i < len(said):
        for n in range(min(4, len(said) - i), 1, -1):
            phrase = tuple(said[i : i + n])
            found = corpus.subject_words.get(phrase)
            if found is None or any(taken[i : i + n]):
                continue
            for j in range(i, i + n):
                taken[j] = True
            for subject in found:
                _add_subject(reading, subject)
            if set(found) & _CUE_SUBJECTS:
                reading.cue = True
            reading.groups.append(
                Group(
                    terms=(Term(phrase), *_subject_terms(found, corpus)),
                    label=" ".join(phrase),
                    kind="phrase",
                    subjects=found,
                )
            )
            i += n - 1
            break
        i += 1


def _subject_terms(subject_ids: tuple[str, ...], corpus: Corpus) -> tuple[Term, ...]:
    """The one-word names of subjects: what a phrase naming the subject is searched as."""
    return tuple(
        Term(tuple(words(w)))
        for s in subject_ids
        for w in corpus.subjects[s].words
        if len(words(w)) == 1
    )


def _number(
    reading: Reading, toks: list[Token], taken: list[bool], token: Token, corpus: Corpus
) -> None:
    """An amount ("4.5 mg", "50mg") is searched as written; a bare number ("3 months") is not
    searched at all: "3" alone matches doses, days and patients alike."""
    after = token.position + 1
    if _age(reading, toks, taken, token, corpus):
        return
    if after >= len(toks) or toks[after].word not in _UNITS or taken[after]:
        return
    taken[after] = True
    phrase = (*(p for p in re.split(r"[.,]", token.word) if p), toks[after].word)
    subjects = corpus.subject_words.get((toks[after].word,), ())
    for subject in subjects:
        _add_subject(reading, subject)
    reading.groups.append(
        Group(
            terms=(Term(phrase),),
            label=f"{token.written} {toks[after].written}",
            kind="word",
            subjects=subjects,
        )
    )


def _age(
    reading: Reading, toks: list[Token], taken: list[bool], token: Token, corpus: Corpus
) -> bool:
    """ "my 12 year old", "an 80-year-old": a child or an older person, as the lay words say."""
    following = [t.word for t in toks[token.position + 1 : token.position + 3]]
    if following not in (["year", "old"], ["years", "old"]) or not token.word.isdigit():
        return False
    age = int(token.word)
    said = ("under", "18") if age < 18 else ("over", "65") if age >= 65 else None
    phrase = corpus.lay.get(said) if said else None
    if phrase is None:
        return False
    for i in range(token.position + 1, token.position + 3):
        taken[i] = True
    _lay_group(reading, phrase.says, phrase.means, phrase.term.id, corpus)
    return True


def _read_words(reading: Reading, toks: list[Token], taken: list[bool], corpus: Corpus) -> None:
    for token, used in zip(toks, taken, strict=True):
        word = token.word
        if used or word in STOPWORDS:
            continue
        if word in LDN_WORDS:
            reading.ldn_named = True
            continue
        if token.is_number:
            _number(reading, toks, taken, token, corpus)
            continue
        if word in _CUE_WORDS:
            reading.cue = True
        correction = corpus.speller.correct(word)
        lay = corpus.lay.get((correction,)) if correction else None
        if lay is not None:
            _lay_group(reading, lay.says, lay.means, lay.term.id, corpus)
            continue
        # A misspelt or shortened condition name ("fibromyalga", "fibro") names the condition.
        completions = corpus.speller.completions(word) if word not in corpus.speller.counts else []
        named = [corpus.condition_names.get(w) for w in (correction, *completions) if w]
        condition = next((c for c in named if c is not None), None)
        if condition is not None:
            _add_condition(reading, condition, token.written)
            continue
        terms = [Term((word,))]
        known = word in corpus.known
        if correction is not None:
            terms.append(Term((correction,)))
            known = True
        elif completions:
            terms = [Term((word,), prefix=True)]
            known = True
        subjects = tuple(
            dict.fromkeys(s for t in terms for s in corpus.subject_words.get(t.words, ()))
        )
        for subject in subjects:
            _add_subject(reading, subject)
        if set(subjects) & _CUE_SUBJECTS:
            reading.cue = True
        reading.groups.append(
            Group(
                terms=tuple(terms), label=token.written, kind="word", subjects=subjects, known=known
            )
        )
