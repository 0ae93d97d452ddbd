"""Drug recognition: a medication name or RxNorm code -> ingredients -> classes, with reasons.

`recognise("Percocet 5/325")` reads brand names, combinations, generic and tall-man names,
abbreviations (APAP, HYCD, MSO4), shortened names (OXYCOD, TRAM), RxNorm ingredient and
clinical-drug codes (every code of the CDC opioid value sets), ATC codes and misspellings.
Every word is accounted for: forms, units, routes, salts, release words and frequencies are
vocabulary (`knowledge/data/drug_words.yaml`); any other word is reported as unread, and then
`is_opioid` is None (unknown), never False. The lexicon is data; these modules only read it:

- `scan`: text -> tokens; `index`: the look-up tables; `spelling`: near misses and shortened
  names; `reading`: word by word; `classify`: long-acting and naltrexone kind;
  `recognise`: name and code together, with their conflicts; `facts`: what every clinical
  rule reads about a medication (`DrugFacts`), derived once per name and code.
"""

from ldnkit.domain.drugs.facts import DrugFacts, drug_facts, washout_days
from ldnkit.domain.drugs.model import (
    Ambiguity,
    CodeConflict,
    Guess,
    How,
    IngredientMatch,
    Recognition,
    StrengthUnit,
)
from ldnkit.domain.drugs.recognise import recognise
from ldnkit.knowledge.drugs import DrugClass, NaltrexoneKind

__all__ = [
    "Ambiguity",
    "CodeConflict",
    "DrugClass",
    "DrugFacts",
    "Guess",
    "How",
    "IngredientMatch",
    "NaltrexoneKind",
    "Recognition",
    "StrengthUnit",
    "drug_facts",
    "recognise",
    "washout_days",
]
