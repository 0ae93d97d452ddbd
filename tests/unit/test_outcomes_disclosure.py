"""What an analyst may not see: groups under 5 patients, and every figure that would reveal one.

Each case is worked by hand: the counts of a clinic, and which of them a reader could subtract
their way to a group of 1 to 4 patients from.
"""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from ldnkit.domain.outcomes import ClinicOutcomes, PersistenceFigures, PredictorFigures
from ldnkit.domain.outcomes.disclosure import predictor_key, stop_key, withheld_figures


def figures(**counts: Any) -> ClinicOutcomes:
    """A clinic's figures from its counts (rates and intervals are not read by the rules);
    by default no group is under 5."""
    started = counts.get("started", 20)
    values: dict[str, Any] = {
        "as_of": dt.date(2026, 6, 1),
        "grace_days": 30,
        "prescribed": counts.get("prescribed", 30),
        "never_started": counts.get("prescribed", 30) - started,
        "started": started,
        "with_response_measure": counts.get("measured", 12),
        "responders_30": counts.get("responders", 6),
        "responder_rate_30": 0.5,
        "responder_rate_30_ci": (0.2, 0.8),
        "any_improvement": counts.get("improved", 6),
        "any_improvement_rate": 0.5,
        "nrs_change_mean": -1.0,
        "nrs_change_ci": (-2.0, 0.0),
        "persistence": PersistenceFigures(
            median_days=90,
            at_90_days=0.5,
            at_180_days=0.4,
            discontinued=counts.get("discontinued", 10),
            censored=started - counts.get("discontinued", 10),
        ),
        "predictors": tuple(counts.get("predictors", ())),
        "published": (),
    }
    return ClinicOutcomes(**values)


def predictor(group: str, n: int, responders: int) -> PredictorFigures:
    return PredictorFigures(
        group=group, n=n, responders=responders, rate=responders / n, rest_rate=0.5,
        odds_ratio=1.0, p_fisher=1.0,
    )  # fmt: skip


def test_a_clinic_without_small_groups_shows_everything() -> None:
    assert withheld_figures(figures()) == frozenset()


def test_an_empty_group_is_shown_it_describes_nobody() -> None:
    assert withheld_figures(figures(prescribed=20, started=20, improved=12)) == frozenset()


def test_a_small_group_is_withheld_with_the_counts_it_could_be_subtracted_from() -> None:
    # 20 prescribed, 3 never filled: 17 started would give the 3 away, and 17 = 10 stopped + 7
    # still on LDN would give the 17 back; the 7 goes too (the smaller part). 12 measured,
    # 8 improved leaves 4 not improved, a group of its own: the 8 is withheld.
    withheld = withheld_figures(
        figures(prescribed=20, started=17, discontinued=10, measured=12, improved=8)
    )
    assert {"never_started", "started", "persistence.censored", "any_improvement"} <= withheld
    assert {"never_started_rate", "any_improvement_rate"} <= withheld
    assert not {"prescribed", "persistence.discontinued", "with_response_measure"} & withheld
    assert not {"responders_30", "responder_rate_30", "nrs_change_mean"} & withheld


def test_fewer_than_5_started_withholds_persistence_and_the_curve() -> None:
    withheld = withheld_figures(
        figures(prescribed=9, started=4, discontinued=2, measured=3, responders=1, improved=2)
    )
    assert {"persistence.median_days", "persistence.at_90_days", "sensitivity", "curve"} <= withheld
    assert {"nrs_change_mean", "nrs_change_ci", "responder_rate_30_ci"} <= withheld


def test_a_diagnosis_group_with_a_small_cell_keeps_its_size_and_hides_its_statistics() -> None:
    # 20 measured, 10 responders. Spondylosis 8 (6 responded, 2 did not): the 2 is a group.
    # The other 10 split 5/5 both inside and outside: nothing to hide.
    groups = [predictor("icd10cm:M47", 8, 6), predictor("icd10cm:M79", 10, 5)]
    clinic = figures(measured=20, responders=10, improved=10, started=25, predictors=groups)
    withheld = withheld_figures(clinic)
    hidden = {predictor_key("icd10cm:M47", f) for f in ("responders", "rate", "rest_rate",
              "odds_ratio", "p_fisher")}  # fmt: skip
    assert hidden <= withheld
    assert predictor_key("icd10cm:M47", "n") not in withheld
    assert not {k for k in withheld if k.startswith("predictor:icd10cm:M79")}


def test_a_small_stop_reason_hides_the_reason_it_could_be_subtracted_from() -> None:
    withheld = withheld_figures(figures(), {"cost": 3, "side_effects": 10})
    assert {stop_key("cost"), stop_key("side_effects")} <= withheld
    assert "stopped" not in withheld


def test_a_few_unprescribed_records_hide_the_record_count_not_the_prescribed() -> None:
    withheld = withheld_figures(figures(), patients=32)
    assert "patients" in withheld
    assert "prescribed" not in withheld


def _counts(f: ClinicOutcomes) -> dict[str, int]:
    return {
        "prescribed": f.prescribed,
        "never_started": f.never_started,
        "started": f.started,
        "persistence.discontinued": f.persistence.discontinued,
        "persistence.censored": f.persistence.censored,
        "with_response_measure": f.with_response_measure,
        "responders_30": f.responders_30,
        "any_improvement": f.any_improvement,
    }


# Every group a reader could need to protect, as a sum of shown counts (+1 / -1 each).
GROUPS: dict[str, dict[str, int]] = {
    "never_started": {"never_started": 1},
    "started": {"started": 1},
    "discontinued": {"persistence.discontinued": 1},
    "censored": {"persistence.censored": 1},
    "measured": {"with_response_measure": 1},
    "unmeasured": {"started": 1, "with_response_measure": -1},
    "responders": {"responders_30": 1},
    "non_responders": {"with_response_measure": 1, "responders_30": -1},
    "improved": {"any_improvement": 1},
    "not_improved": {"with_response_measure": 1, "any_improvement": -1},
}
# The equations a reader knows, as coefficient rows: total - sum(parts) = 0.
EQUATIONS = (
    {"prescribed": 1, "never_started": -1, "started": -1},
    {"started": 1, "persistence.discontinued": -1, "persistence.censored": -1},
)


def _derivable(target: dict[str, int], shown: set[str]) -> bool:
    """Whether a reader can compute `target` from the shown counts and the equations.

    Over these few integer equations, a combination of at most two equations with weights
    -1, 0 or 1 is enough: every group above needs at most that.
    """
    for weights in itertools.product((-1, 0, 1), repeat=len(EQUATIONS)):
        combined = dict(target)
        for weight, equation in zip(weights, EQUATIONS, strict=True):
            for name, coefficient in equation.items():
                combined[name] = combined.get(name, 0) - weight * coefficient
        if all(value == 0 or name in shown for name, value in combined.items()):
            return True
    return False


@settings(max_examples=300, deadline=None)
@given(
    prescribed=st.integers(0, 40),
    data=st.data(),
)
def test_no_group_under_5_can_be_worked_out_from_what_an_analyst_sees(
    prescribed: int, data: st.DataObject
) -> None:
    started = data.draw(st.integers(0, prescribed))
    discontinued = data.draw(st.integers(0, started))
    measured = data.draw(st.integers(0, started))
    responders = data.draw(st.integers(0, measured))
    improved = data.draw(st.integers(responders, measured))
    f = figures(
        prescribed=prescribed, started=started, discontinued=discontinued, measured=measured,
        responders=responders, improved=improved,
    )  # fmt: skip
    withheld = withheld_figures(f)
    counts = _counts(f)
    shown = {name for name in counts if name not in withheld}
    for group, terms in GROUPS.items():
        size = sum(counts[name] * sign for name, sign in terms.items())
        if 0 < size < 5:
            assert not _derivable(terms, shown), (group, size, sorted(shown))
