"""A patient's saved profile as the patient page and the printed summary show it, in words.

Conditions are named as the knowledge base knows them, with the code they go by
("Fibromyalgia (M79.7)"); what the knowledge base does not recognise is shown as typed and said
to be unrecognised. Unrecorded answers read "not recorded", never as normal or "no".
"""

from __future__ import annotations

from typing import Any

from ldnkit.knowledge import knowledge_base
from ldnkit.store.records import PatientRecord

NOT_RECORDED = "not recorded"
_WORDS = {
    "unknown": NOT_RECORDED,
    "chronic_disease": "chronic liver disease",
    "acute_hepatitis": "acute hepatitis",
    "decompensated_cirrhosis": "decompensated cirrhosis",
    "severe": "severely impaired",
}
_SYSTEMS = {"icd10cm": "ICD-10-CM", "snomed": "SNOMED CT"}
SCORE_LABELS = (("pain", "pain"), ("fatigue", "fatigue"), ("sleep_quality", "sleep quality"))


def condition_text(condition: Any) -> str:
    """One condition as recorded, named: "Fibromyalgia (M79.7)", "xyz (not recognised)"."""
    kb = knowledge_base()
    if isinstance(condition, dict):
        system, code = str(condition.get("system", "")), str(condition.get("code", ""))
        try:
            found = kb.find_condition(code, system)
        except ValueError:
            found = None
        written = f"{_SYSTEMS.get(system, system)} {code}"
        return f"{found.name} ({written})" if found else f"{written} (not recognised)"
    text = str(condition).strip()
    found = kb.find_condition(text)
    if found is None:
        return f"{text} (not recognised)"
    if text.isdigit():
        return f"{found.name} (SNOMED CT {text})"
    if any(ch.isdigit() for ch in text):
        return f"{found.name} ({text.upper()})"  # typed as an ICD-10-CM code: shown as typed
    return f"{found.name} ({found.icd10cm[0]})" if found.icd10cm else found.name


def _yes_no(value: object) -> str:
    return NOT_RECORDED if value is None else ("yes" if value else "no")


def _word(value: object) -> str:
    text = str(value or "unknown")
    return _WORDS.get(text, text.replace("_", " "))


def baseline_text(intake: dict[str, Any] | None) -> str:
    """The intake scores (the response baseline) in words, or that there are none."""
    if not intake:
        return "none recorded at intake (the diary's first weeks are the baseline)"
    parts = [f"{label} {intake[key]:g}" for key, label in SCORE_LABELS if key in intake]
    return ", ".join(parts) + " (0-10, at intake)"


def profile_lines(record: PatientRecord) -> list[tuple[str, str]]:
    """(label, text) for each part of the profile, in the order a clinician reads them."""
    p = record.profile
    age = p.get("age")
    sex = p.get("sex", "unknown")
    meds = [
        (m.get("name") or f"RxNorm {m.get('rxnorm')}")
        + f" ({m.get('status', 'active')}"
        + (f", last dose {m['last_dose']}" if m.get("last_dose") else "")
        + ")"
        for m in p.get("medications", [])
    ]
    allergies = [
        a.get("name") or a.get("rxnorm") if isinstance(a, dict) else a
        for a in p.get("allergies", [])
    ]
    lines = [
        ("Age", NOT_RECORDED if age is None else str(age)),
        ("Sex", _word(sex)),
        ("Conditions", "; ".join(condition_text(c) for c in p.get("conditions", [])) or "none"),
        ("Medications", "; ".join(meds) or "none recorded"),
        ("Allergies", "; ".join(str(a) for a in allergies) or "none recorded"),
        ("Pregnant", _yes_no(p.get("pregnant"))),
        ("Breastfeeding", _yes_no(p.get("breastfeeding"))),
        ("Liver", _word(p.get("liver"))),
        ("Kidney", _word(p.get("kidney"))),
        ("Alcohol", _word(p.get("alcohol"))),
    ]
    for procedure in p.get("planned_procedures", []):
        opioids = ", opioids expected" if procedure.get("opioids_expected") else ""
        what = procedure.get("name") or "procedure"
        lines.append(("Planned procedure", f"{what} on {procedure.get('date')}{opioids}"))
    lines.append(("Baseline", baseline_text(record.intake)))
    return lines
