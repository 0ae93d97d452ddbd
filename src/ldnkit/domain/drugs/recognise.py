"""A medication name, an RxNorm code or both -> a Recognition, with every reason.

A code is read through what the lexicon knows of it: an ingredient code, or a clinical drug read
through its RxNorm display name (the CDC value sets add what they say: opioid, extended release,
buprenorphine or methadone). A code the lexicon cannot resolve is reported, never ignored, even
when the name beside it is read; a code and a name that mean different ingredients are reported
as a conflict, and an opioid on either side makes the medication an opioid.
"""

from __future__ import annotations

from functools import lru_cache

from ldnkit.domain.drugs.classify import long_acting, naltrexone_kind
from ldnkit.domain.drugs.index import index
from ldnkit.domain.drugs.model import CodeConflict, IngredientMatch, Recognition
from ldnkit.domain.drugs.reading import Hit, Reading, classes_line, read_text
from ldnkit.knowledge.drugs import NaltrexoneKind
from ldnkit.knowledge.valuesets import SOURCE_ID, ValueSetMedication
from ldnkit.validation import InputError, Problem, show


def _read_code(code: str) -> tuple[Reading, ValueSetMedication | None, bool]:
    """(what the code says, its value-set record, whether the lexicon resolves it)."""
    ix = index()
    entry = ix.codes.get(code)
    if entry is None:
        reading = Reading()
        reading.lines.append(
            f"RxNorm code {code} is not in the lexicon or the CDC opioid value sets: "
            "what it stands for is unknown"
        )
        return reading, None, False
    if entry.ingredient is not None:
        reading = Reading()
        ing = ix.lex.ingredient(entry.ingredient)
        reading.hits.append(Hit(ing, code, "rxnorm", -1, -1))
        suffix = "" if entry.verified else " (code not yet verified)"
        reading.lines.append(f"RxNorm ingredient {code} = {ing.name}{suffix}")
        reading.lines.append(classes_line(ing))
        reading.sources.extend(ing.sources)
        return reading, None, True
    assert entry.display is not None
    reading = read_text(entry.display, how_override="rxnorm")
    for hit in reading.hits:
        hit.matched = code
    head = [f'RxNorm clinical drug {code} = "{entry.display}"']
    sets = entry.value_set
    if sets is not None:
        head.append(f"RxNorm {code} is in the CDC value sets: " + ", ".join(sets.value_sets))
    reading.lines[:0] = head
    reading.sources[:0] = entry.sources
    # Resolved when its name names a drug; any word of it left unread is reported as such.
    return reading, sets, bool(reading.hits)


def _conflict(code: str, by_code: Reading, by_name: Reading) -> CodeConflict | None:
    """Code and name disagree when neither's ingredients contain the other's."""
    ix = index()
    code_ids = {h.ingredient.id for h in by_code.hits}
    name_ids = {h.ingredient.id for h in by_name.hits}
    if not code_ids or not name_ids or code_ids <= name_ids or name_ids <= code_ids:
        return None
    return CodeConflict(
        code=code,
        code_reading=" + ".join(ix.lex.ingredient(i).name for i in sorted(code_ids)),
        name_reading=" + ".join(ix.lex.ingredient(i).name for i in sorted(name_ids)),
    )


def _strength_text(hit: Hit) -> str:
    assert hit.strength is not None
    return f"{hit.strength.mg:g} {hit.strength.unit}"


def _recognition(
    query: str,
    reading: Reading,
    sets: ValueSetMedication | None,
    unresolved_code: str | None,
    conflict: CodeConflict | None,
) -> Recognition:
    unique: dict[str, Hit] = {}
    for hit in reading.hits:
        known = unique.get(hit.ingredient.id)
        if known is None or (known.strength is None and hit.strength is not None):
            unique[hit.ingredient.id] = hit
    hits = list(unique.values())
    classes = frozenset(c for h in hits for c in h.ingredient.classes)
    opioids = [h.ingredient for h in hits if h.ingredient.is_opioid]
    lines = list(reading.lines)
    if not hits and not reading.ambiguous:
        lines.append(f'nothing recognised in "{query}"' if reading.words else "nothing recognised")
    unread = tuple(dict.fromkeys(reading.unread))
    if unread:
        lines.append("not read: " + ", ".join(f'"{w}"' for w in unread))
    if conflict is not None:
        lines.append(
            f"RxNorm {conflict.code} means {conflict.code_reading}, but the name reads as "
            f"{conflict.name_reading}: they disagree"
        )
    is_opioid: bool | None = bool(opioids) or (sets is not None and sets.is_opioid) or None
    if is_opioid is None:
        unsure = (
            unread
            or unresolved_code
            or any(a.opioid_possible for a in reading.ambiguous)
            or reading.guesses
            or not (hits or reading.ambiguous)
        )
        is_opioid = None if unsure else False
    if sets is not None and sets.is_opioid and not opioids:
        lines.append("opioid: the CDC value sets list it as an opioid product")
    is_long, why_long = long_acting(reading, opioids) if opioids else (False, None)
    if sets is not None and sets.extended_release and not is_long:
        is_long, why_long = True, "long-acting: the CDC lists it as an extended-release opioid"
    if why_long:
        lines.append(why_long)
    elif opioids:
        lines.append("short-acting: no release modifier and no long-acting product")
    maintenance = any(h.ingredient.maintenance for h in hits) or bool(sets and sets.maintenance)
    naltrexone = unique.get("naltrexone")
    kind: NaltrexoneKind | None = None
    if naltrexone is not None:
        kind, why_kind = naltrexone_kind(reading, naltrexone, bool(opioids))
        lines.append(why_kind)
    main = naltrexone or (hits[0] if len(hits) == 1 else None)
    strength = main.strength if main is not None else None
    if main is not None and strength is not None:
        lines.append(f"strength {_strength_text(main)} ({main.ingredient.name})")
    return Recognition(
        query=query,
        ingredients=tuple(
            IngredientMatch(
                id=h.ingredient.id,
                name=h.ingredient.name,
                classes=h.ingredient.classes,
                matched=h.matched,
                how=h.how,
                distance=h.distance,
                strength_mg=h.strength.mg if h.strength else None,
                strength_unit=h.strength.unit if h.strength else None,
            )
            for h in hits
        ),
        classes=classes,
        is_opioid=is_opioid,
        long_acting=is_long,
        maintenance=maintenance,
        strength_mg=strength.mg if strength else None,
        strength_unit=strength.unit if strength else None,
        naltrexone_kind=kind,
        unread=unread,
        ambiguous=tuple(dict.fromkeys(reading.ambiguous)),
        guesses=tuple(dict.fromkeys(reading.guesses)),
        unresolved_code=unresolved_code,
        code_conflict=conflict,
        value_sets=sets.value_sets if sets is not None else (),
        explanation=tuple(dict.fromkeys(lines)),
        sources=tuple(dict.fromkeys(reading.sources)),
    )


@lru_cache(maxsize=65536)
def recognise(name: str | None = None, rxnorm: str | None = None) -> Recognition:
    """Recognise a medication by name, RxNorm code or both; the result says what and why.

    Both are read when both are given. Nothing is an error but no input at all: what cannot be
    read is reported (`unread`, `ambiguous`, `unresolved_code`) and makes `is_opioid` None.
    Results are cached: population screening calls this for every medication of every patient.
    """
    text = (name or "").strip()
    code = (rxnorm or "").strip()
    if not text and not code:
        received = "nothing" if name is None else show(name)
        raise InputError([Problem("name", received, "a drug name or an RxNorm code")])
    if code and not code.isdigit():
        raise InputError.single("rxnorm", rxnorm, "an RxNorm code of digits, such as 7804")
    reading = Reading()
    sets: ValueSetMedication | None = None
    resolved = True
    if code:
        reading, sets, resolved = _read_code(code)
    conflict = None
    if text:
        by_name = read_text(text)
        if code and resolved:
            conflict = _conflict(code, reading, by_name)
        # The code's findings come first; the text adds what the code did not say.
        reading.extend(by_name)
    if sets is not None and SOURCE_ID not in reading.sources:
        reading.sources.append(SOURCE_ID)
    query = " ".join(p for p in (text, f"RxNorm {code}" if code else "") if p)
    unresolved = code if code and not resolved else None
    return _recognition(query, reading, sets, unresolved, conflict)
