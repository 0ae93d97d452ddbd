"""From what was read to what the screen needs: long-acting or not, and the naltrexone kind.

Long-acting opioids need a longer opioid-free interval before naltrexone; naltrexone products
differ (LDN, the standard-dose tablet, the monthly injection, naltrexone-bupropion, slow-release
capsules), and only one of them is LDN.
"""

from __future__ import annotations

from ldnkit.domain.drugs.index import index
from ldnkit.domain.drugs.reading import Hit, Reading
from ldnkit.knowledge.drugs import Ingredient, NaltrexoneKind
from ldnkit.knowledge.limits import limits


def release_marks(reading: Reading) -> list[str]:
    """The words and word pairs of the text that mark extended release."""
    vocab = index().vocab
    words = sorted(reading.words & vocab.release_words)
    phrases = [p for p in vocab.release_phrases if f" {p} " in f" {reading.flat} "]
    return words + phrases


def long_acting(reading: Reading, opioids: list[Ingredient]) -> tuple[bool, str | None]:
    """Whether an opioid product is long-acting, and why."""
    vocab = index().vocab
    release = release_marks(reading)
    opioid_ids = {o.id for o in opioids}
    for product in reading.products:
        if product.long_acting and opioid_ids & set(product.ingredients):
            return True, f'long-acting: "{product.name}" is an extended-release product'
    if release:
        return True, f'long-acting: release modifier "{release[0]}"'
    for ing in opioids:
        if ing.long_acting:
            return True, f"long-acting: every {ing.name} product needs the long washout"
    explicit = any(p.long_acting is False for p in reading.products)
    formless = not (reading.words & vocab.short_form_words)
    for ing in opioids:
        if ing.long_acting_if_form_unknown and formless and not explicit:
            return True, f"long-acting: no form given for {ing.name}, so the patch is assumed"
    return False, None


def naltrexone_kind(
    reading: Reading, hit: Hit, has_opioid: bool
) -> tuple[NaltrexoneKind | None, str]:
    """Which naltrexone product this is, and why; None when it cannot be told."""
    vocab = index().vocab
    if has_opioid:
        return None, "naltrexone inside an opioid product (abuse deterrent): not an LDN product"
    release = release_marks(reading)
    slow = (
        f'naltrexone with release modifier "{release[0]}": a slow-release form, not the '
        "immediate-release naltrexone LDN uses"
        if release
        else ""
    )
    for product in reading.products:
        if product.naltrexone_kind == "ldn" and slow:
            return "slow_release", slow
        if product.naltrexone_kind:
            return product.naltrexone_kind, f'naltrexone kind from "{product.name}"'
    ids = {h.ingredient.id for h in reading.hits}
    if "bupropion" in ids:
        return "naltrexone_bupropion", "naltrexone with bupropion: the weight-loss combination"
    s = hit.strength
    band = limits().ldn_dose
    ldn_max, standard = band.usual_max.mg, band.standard.mg
    if reading.words & vocab.injection_words or (s is not None and s.mg == band.injection.mg):
        return "extended_release_injection", "naltrexone by injection: the extended-release form"
    if slow:
        return "slow_release", slow
    if s is None or s.mg is None:
        return None, (
            "naltrexone without a strength: kind unknown "
            f"(up to {ldn_max:g} mg is LDN, {standard:g} mg is the standard tablet)"
        )
    if s.unit == "mg/mL":
        if s.mg <= ldn_max:
            return "ldn", f"naltrexone liquid {s.mg:g} mg/mL: a compounded LDN liquid"
        return None, f"naltrexone liquid {s.mg:g} mg/mL: kind unknown"
    if s.mg <= ldn_max:
        return "ldn", f"naltrexone {s.mg:g} mg: within the LDN band (up to {ldn_max:g} mg)"
    if s.mg >= band.standard_min.mg:
        return "standard", f"naltrexone {s.mg:g} mg: standard-dose naltrexone, not LDN"
    return None, (
        f"naltrexone {s.mg:g} mg: above the LDN band (up to {ldn_max:g} mg) "
        f"and below the {standard:g} mg standard tablet: kind unknown"
    )


def kind_at_dose(kind: NaltrexoneKind | None, dose_mg: float | None) -> NaltrexoneKind | None:
    """The naltrexone kind of a product taken at `dose_mg` per dose (None: as the product says).

    A dose decides over a tablet's strength (LDN is often made from the standard tablet), but
    not over a product that is another treatment whatever its dose (the injection,
    naltrexone-bupropion, slow-release forms).
    """
    if dose_mg is None or kind not in (None, "ldn", "standard"):
        return kind
    band = limits().ldn_dose
    if dose_mg <= band.usual_max.mg:
        return "ldn"
    return "standard" if dose_mg >= band.standard_min.mg else None
