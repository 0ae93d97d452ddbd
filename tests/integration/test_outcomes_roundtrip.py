"""Outcomes over the clinic database equal outcomes over its own FHIR Bulk Data export.

The database path maps the store's records onto the course model; the export writes them as
FHIR and the FHIR path reads them back with DuckDB. The figures (the whole `--json` contract,
and the grace-period lines) must be the same, on the demo clinic and on clinics that hypothesis
makes up: random plans (some starting above the LDN band, some replaced), dispenses (some
entered in error), stops, diaries with changed days, and conditions written every way a
clinician writes them.
"""

from __future__ import annotations

import datetime as dt
import shutil
import uuid
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from ldnkit.demo.clinic_history import CourseSpec, add_history
from ldnkit.domain.outcomes import ClinicOutcomes
from ldnkit.domain.titration import PlanRequest
from ldnkit.population.outcomes import outcomes_from_export
from ldnkit.services.accounts import NewAccount, create_account
from ldnkit.services.demo import seed_demo
from ldnkit.services.export import bulk_export
from ldnkit.services.outcomes import clinic_report
from ldnkit.store.repository import Store

AS_OF = dt.date(2026, 6, 30)
FIRST = dt.date(2025, 6, 1)
SPAN = (AS_OF - FIRST).days


def _same_figures(
    store: Store, folder: Path, as_of: dt.date, grace: int | None = None
) -> ClinicOutcomes:
    bulk_export(store, folder)
    from_db = clinic_report(store, None, as_of, grace)
    from_export, _ = outcomes_from_export(folder, as_of, grace, workers=1)
    assert from_export.figures == from_db.run.figures
    assert from_export.sensitivity == from_db.run.sensitivity
    return from_db.run.figures


def test_the_demo_clinic_and_its_export_give_the_same_figures(tmp_path: Path) -> None:
    store = Store.open(f"sqlite:///{tmp_path}/demo.db")
    store.upgrade()
    seed_demo(store, today=AS_OF)
    _same_figures(store, tmp_path / "export", AS_OF)
    figures = clinic_report(store, None, AS_OF).run.figures
    # Three patients on the standard plan, filled monthly, each with a diary before and after.
    assert (figures.prescribed, figures.started, figures.with_response_measure) == (3, 3, 3)
    store.close()


# -- clinics made up by hypothesis -------------------------------------------------------------

CONDITIONS = (
    "fibromyalgia", "M79.7", "m797", "neuropathic pain", "chronic fatigue syndrome", "CRPS",
    "gout", "M47.816", "95417003", {"system": "icd10cm", "code": "G90.50"},
    {"system": "http://snomed.info/sct", "code": "95417003"},
)  # fmt: skip


def days(low: int = 0, high: int = SPAN) -> st.SearchStrategy[dt.date]:
    return st.integers(low, high).map(lambda n: FIRST + dt.timedelta(days=n))


@st.composite
def plan_requests(draw: st.DrawFn, start: dt.date) -> PlanRequest:
    kind = draw(st.sampled_from(("standard", "gentle", "custom", "above")))
    if kind in ("standard", "gentle"):
        return PlanRequest(protocol=kind, start=start)
    dose = draw(st.sampled_from((0.5, 1.5, 3.0, 4.5))) if kind == "custom" else 6.0
    return PlanRequest(
        protocol="custom", start=start, start_dose_mg=dose, step_mg=0.5, interval_days=7,
        target_mg=max(dose, 4.5), allow_above_5mg=dose > 5,
    )  # fmt: skip


@st.composite
def courses(draw: st.DrawFn, number: int) -> CourseSpec:
    conditions = tuple(draw(st.lists(st.sampled_from(CONDITIONS), max_size=3, unique_by=str)))
    listed = draw(days())
    if not draw(st.booleans()) and number % 4 == 3:  # now and then a patient with no plan
        return CourseSpec(f"Patient {number}", conditions, listed)
    written = draw(days(high=SPAN - 1))
    plan = draw(plan_requests(written + dt.timedelta(days=draw(st.integers(0, 10)))))
    replaced_by = None
    if draw(st.integers(0, 4)) == 0:
        later = draw(days((written - FIRST).days + 1, SPAN))
        replaced_by = (later, draw(plan_requests(later)))
    offset = (written - FIRST).days
    fill = st.tuples(days(offset, SPAN), st.integers(1, 120))
    fills = draw(st.lists(fill, max_size=6, unique_by=lambda f: f[0]))
    in_error = tuple(i for i in range(len(fills)) if draw(st.integers(0, 5)) == 0)
    stop = None
    newest = replaced_by[0] if replaced_by else written
    if draw(st.booleans()):
        reason = draw(st.sampled_from(("side_effects", "no_benefit", "cost", "patient_choice")))
        stop = (draw(days((newest - FIRST).days, SPAN)), reason, "")
    pain = draw(
        st.lists(st.tuples(days(), st.integers(0, 10)), max_size=8, unique_by=lambda p: p[0])
    )
    changed = tuple((day, (score + 3) % 11) for day, score in pain if draw(st.integers(0, 5)) == 0)
    return CourseSpec(
        f"Patient {number}", conditions, listed, written, plan, replaced_by,
        dispenses=tuple(sorted(fills)), in_error=in_error, stop=stop,  # type: ignore[arg-type]
        pain=tuple(sorted(pain)), changed=changed,
    )  # fmt: skip


@st.composite
def clinics(draw: st.DrawFn) -> list[CourseSpec]:
    size = draw(st.integers(1, 7))
    return [draw(courses(number)) for number in range(size)]


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated database with one clinician, copied for each made-up clinic."""
    folder = tmp_path_factory.mktemp("roundtrip")
    store = Store.open(f"sqlite:///{folder}/template.db")
    store.upgrade()
    create_account(
        store, NewAccount(role="clinician", email="doc@clinic.test", password="round-trip-clinic")
    )
    store.close()
    return folder / "template.db"


@pytest.mark.slow
@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(specs=clinics(), as_of=days(200, SPAN), grace=st.sampled_from((None, 0, 45)))
def test_made_up_clinics_and_their_exports_give_the_same_figures(
    template: Path, tmp_path: Path, specs: list[CourseSpec], as_of: dt.date, grace: Any
) -> None:
    work = tmp_path / uuid.uuid4().hex
    work.mkdir()
    shutil.copy(template, work / "clinic.db")
    store = Store.open(f"sqlite:///{work}/clinic.db")
    try:
        account = store.account_by_email("doc@clinic.test")
        assert account is not None
        add_history(store, account.actor, specs, AS_OF)
        figures = _same_figures(store, work / "export", as_of, grace)
        # What the made-up clinics exercise (shown with --hypothesis-show-statistics).
        event(f"prescribed {min(figures.prescribed, 3)}+, started {min(figures.started, 2)}+")
        event(f"measured {min(figures.with_response_measure, 1)}+")
        event(f"stopped {min(figures.persistence.discontinued, 1)}+")
    finally:
        store.close()
        shutil.rmtree(work, ignore_errors=True)
