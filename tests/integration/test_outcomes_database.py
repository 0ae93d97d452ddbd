"""`ldnkit outcomes` from the clinic database: a clinic worked by hand, who sees what, the stop
and dispense records, bad input, and the clinic's own FHIR export giving the same figures."""

from __future__ import annotations

import csv
import datetime as dt
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import pytest
from fhir.resources.R4B.bundle import Bundle
from pypdf import PdfReader
from scipy import stats  # type: ignore[import-untyped]

from ldnkit.cli import main
from ldnkit.demo.clinic_history import CourseSpec, add_course
from ldnkit.domain.titration import PlanRequest
from ldnkit.population.outcomes import outcomes_from_export
from ldnkit.services import courses
from ldnkit.services.accounts import NewAccount, create_account
from ldnkit.services.export import bulk_export, fhir_bundle
from ldnkit.services.outcomes import clinic_report
from ldnkit.store.records import Actor
from ldnkit.store.repository import Forbidden, NotFound, Store
from ldnkit.validation import InputError

D = dt.date
AS_OF = D(2026, 6, 30)
PASSWORD = "correct-horse-battery-9"


def standard(start: dt.date) -> PlanRequest:
    return PlanRequest(protocol="standard", start=start)


# Worked by hand, as of 2026-06-30, 30 days' grace (see each line):
COURSES_A = (
    # Started 01-02; fills cover to 04-02; stopped (04-02 + 30 <= as_of) after 90 days.
    # Baseline 7 on the start day itself, follow-up 4 on 03-15: -3, a responder (3/7 >= 30%).
    CourseSpec("Ana", ("fibromyalgia",), D(2025, 12, 1), D(2026, 1, 1), standard(D(2026, 1, 2)),
               dispenses=((D(2026, 1, 2), 30), (D(2026, 2, 1), 30), (D(2026, 3, 3), 30)),
               pain=((D(2025, 12, 20), 8), (D(2026, 1, 2), 7), (D(2026, 3, 15), 4))),
    # One fill of 60 days: stopped after 60. Follow-up on day 28 exactly: 6 -> 5, improved only.
    CourseSpec("Ben", ("M79.7",), D(2025, 12, 1), D(2026, 1, 10), standard(D(2026, 1, 10)),
               dispenses=((D(2026, 1, 10), 60),), pain=((D(2026, 1, 5), 6), (D(2026, 2, 7), 5))),
    # Prescribed, never filled.
    CourseSpec("Cy", ("gout",), D(2026, 1, 20), D(2026, 2, 1), standard(D(2026, 2, 1))),
    # Filled 05-20 for 30 days: still covered with grace on 06-30, censored at 41 days. The only
    # pain score is after the start: no baseline.
    CourseSpec("Di", ("CRPS",), D(2026, 4, 1), D(2026, 5, 1), standard(D(2026, 5, 1)),
               dispenses=((D(2026, 5, 20), 30),), pain=((D(2026, 5, 25), 6),)),
    # Filled 02-01 for 30 days, stopped by the clinician on 02-20; a second fill was entered in
    # error (counted, it would make 60 days): 30 days. 5 -> 5 on day 28: no change.
    CourseSpec("Ed", ("fibromyalgia",), D(2026, 1, 15), D(2026, 2, 1), standard(D(2026, 2, 1)),
               dispenses=((D(2026, 2, 1), 30), (D(2026, 2, 10), 30)), in_error=(1,),
               stop=(D(2026, 2, 20), "side_effects", ""),
               pain=((D(2026, 2, 1), 5), (D(2026, 3, 1), 5))),
    # Started at 6 mg (allowed above 5 mg on purpose): not LDN, so not counted as prescribed.
    CourseSpec("Fay", ("fibromyalgia",), D(2026, 1, 1), D(2026, 3, 1),
               PlanRequest(protocol="custom", start=D(2026, 3, 1), start_dose_mg=6, step_mg=1,
                           interval_days=7, target_mg=6, allow_above_5mg=True),
               dispenses=((D(2026, 3, 1), 30),)),
)  # fmt: skip
# Another clinician's patient: in the whole clinic, never in doctor A's figures.
COURSES_B = (
    CourseSpec("Gil", ("fibromyalgia",), D(2026, 2, 1), D(2026, 3, 1), standard(D(2026, 3, 1)),
               dispenses=((D(2026, 3, 1), 90),)),
)  # fmt: skip


@dataclass(frozen=True)
class Clinic:
    url: str
    store: Store
    doctor_a: Actor
    doctor_b: Actor
    analyst: Actor
    patient: Actor
    ids: dict[str, int]


def _account(store: Store, role: str, email: str, clinician: str | None = None) -> Actor:
    new = NewAccount(role=role, email=email, password=PASSWORD, clinician=clinician)
    return create_account(store, new).actor


def _build(url: str) -> Clinic:
    store = Store.open(url)
    store.upgrade()
    a = _account(store, "clinician", "doc-a@clinic.test")
    b = _account(store, "clinician", "doc-b@clinic.test")
    analyst = _account(store, "analyst", "analyst@clinic.test")
    patient = _account(store, "patient", "pat@home.test", "doc-a@clinic.test")
    ids = {spec.name: add_course(store, a, spec, AS_OF) for spec in COURSES_A}
    ids |= {spec.name: add_course(store, b, spec, AS_OF) for spec in COURSES_B}
    return Clinic(url, store, a, b, analyst, patient, ids)


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def clinic(
    request: pytest.FixtureRequest, fresh_database: Any, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Clinic]:
    with fresh_database(request.param, tmp_path_factory.mktemp("outcomes-db")) as url:
        built = _build(url)
        yield built
        built.store.close()


def test_a_clinicians_own_patients_give_the_figures_worked_by_hand(clinic: Clinic) -> None:
    report = clinic_report(clinic.store, clinic.doctor_a, AS_OF)
    f = report.run.figures
    # Fay's plan starts at 6 mg; the patient account made with a login has no plan.
    assert report.patients == 7
    assert (f.prescribed, f.never_started, f.started) == (5, 1, 4)
    assert (f.with_response_measure, f.responders_30, f.any_improvement) == (3, 1, 2)
    assert f.responder_rate_30 == pytest.approx(1 / 3)
    wilson = stats.binomtest(1, 3).proportion_ci(method="wilson")
    assert f.responder_rate_30_ci == pytest.approx((wilson.low, wilson.high))
    changes = [-3.0, -1.0, 0.0]
    assert f.nrs_change_mean == pytest.approx(-4 / 3)
    half = stats.t.ppf(0.975, 2) * stats.sem(changes)
    assert f.nrs_change_ci == pytest.approx((-4 / 3 - half, -4 / 3 + half))
    # Stops after 30 (Ed), 60 (Ben), 90 (Ana); Di censored at 41: S = 3/4, then 3/8, then 0.
    p = f.persistence
    assert (p.discontinued, p.censored, p.median_days) == (3, 1, 60)
    assert (p.at_90_days, p.at_180_days) == (0.0, 0.0)
    assert f.predictors == ()
    assert report.stopped == {"side_effects": 1}
    assert report.withheld == frozenset()  # a clinician sees their own small groups
    skipped = {(s.resource, s.reason): (s.count, s.example) for s in report.skipped}
    assert skipped == {
        ("condition", "a name the knowledge base does not know: not placed in a diagnosis group"):
            (1, f"patient {clinic.ids['Cy']}: gout"),
        ("condition", "a name with 3 ICD-10-CM codes: not placed in a diagnosis group"):
            (1, f"patient {clinic.ids['Di']}: CRPS"),
    }  # fmt: skip


def test_the_grace_period_moves_who_counts_as_stopped(clinic: Clinic) -> None:
    # With 90 days' grace Ana's coverage end (04-02) + 90 is after 06-30: still on LDN.
    report = clinic_report(clinic.store, clinic.doctor_a, AS_OF, grace_days=90)
    assert report.run.figures.grace_days == 90
    assert report.run.figures.persistence.censored == 2
    assert [g for g, _ in report.run.sensitivity] == [30, 60, 90]


def test_an_analyst_sees_the_whole_clinic_with_groups_under_5_withheld(clinic: Clinic) -> None:
    report = clinic_report(clinic.store, clinic.analyst, AS_OF)
    f = report.run.figures
    assert (report.patients, f.prescribed, f.started) == (8, 6, 5)
    assert {"never_started", "responders_30", "with_response_measure"} <= report.withheld
    document = report.json()
    assert document["never_started"] == "<5"
    assert document["prescribed"] == 6
    assert document["responder_rate_30"] == "withheld"
    assert document["stopped"] == {"side_effects": "<5"}
    # What was not counted is said without the examples that name patients.
    skipped = cast(list[dict[str, Any]], document["skipped"])
    assert all(s["example"] is None and s["count"] == "<5" for s in skipped)
    assert "patient" not in " ".join(report.skipped_lines())
    assert report.report().suppression_note


def test_an_analyst_never_reads_a_patients_record(clinic: Clinic) -> None:
    anyone = clinic.ids["Ana"]
    store = clinic.store
    reads = (store.patient, store.current_plan, store.diary, store.dispenses, store.stops,
             store.patient_course)  # fmt: skip
    for read in reads:
        with pytest.raises(NotFound):
            read(clinic.analyst, anyone)
    with pytest.raises(Forbidden):
        clinic.store.patients(clinic.analyst)
    with pytest.raises(Forbidden):
        clinic.store.course_records(clinic.patient, "clinic outcomes")
    with pytest.raises(NotFound):
        clinic.store.patient_course(clinic.doctor_b, anyone)


def test_reading_the_clinic_is_one_audited_read_in_aggregate(clinic: Clinic) -> None:
    before = {e.id for e in clinic.store.audit_trail()}
    clinic_report(clinic.store, clinic.analyst, AS_OF)
    new = [e for e in clinic.store.audit_trail() if e.id not in before]
    assert [(e.action, e.patient_id, e.what, e.detail) for e in new] == [
        ("read", None, "clinic outcomes", "8 patients, in aggregate")
    ]
    assert new[0].email == "analyst@clinic.test"


def test_the_stop_and_the_dispenses_are_audited_on_the_patients_record(clinic: Clinic) -> None:
    trail = clinic.store.audit_trail(clinic.ids["Ed"])
    written = {(e.what, e.detail) for e in trail if e.action == "write"}
    assert ("LDN stopped", "on 2026-02-20, side effects") in written
    assert any(w == "dispense recorded" and "30 days' supply dispensed on 2026-02-01" in d
               for w, d in written)  # fmt: skip
    assert any(w == "dispense entered in error" for w, _ in written)


def test_the_database_and_its_own_bulk_export_give_the_same_figures(
    clinic: Clinic, tmp_path: Path
) -> None:
    for actor, folder in ((None, tmp_path / "all"), (clinic.doctor_a, tmp_path / "a")):
        counts = bulk_export(clinic.store, folder, actor)
        assert counts["MedicationStatement"] == 1
        from_db = clinic_report(clinic.store, actor, AS_OF)
        from_export, _ = outcomes_from_export(folder, AS_OF, workers=1)
        assert from_export.figures == from_db.run.figures
        assert from_export.sensitivity == from_db.run.sensitivity


def test_a_patients_fhir_export_carries_the_course(clinic: Clinic) -> None:
    bundle = fhir_bundle(clinic.store, clinic.doctor_a, clinic.ids["Ed"])
    Bundle.model_validate(bundle)
    resources = [e["resource"] for e in bundle["entry"]]
    kinds = [r["resourceType"] for r in resources]
    assert kinds.count("MedicationDispense") == 2
    (statement,) = [r for r in resources if r["resourceType"] == "MedicationStatement"]
    assert statement["status"] == "stopped"
    assert statement["effectivePeriod"] == {"start": "2026-02-01", "end": "2026-02-20"}
    assert statement["statusReason"][0]["coding"][0]["code"] == "side_effects"
    (order,) = [r for r in resources if r["resourceType"] == "MedicationRequest"]
    assert (order["status"], order["statusReason"]["text"]) == ("stopped", "Stopped: side effects")
    dispenses = [r for r in resources if r["resourceType"] == "MedicationDispense"]
    assert [d["status"] for d in dispenses] == ["completed", "entered-in-error"]
    (condition,) = [r for r in resources if r["resourceType"] == "Condition"]
    assert condition["code"]["coding"][0]["code"] == "M79.7"
    assert condition["code"]["text"] == "fibromyalgia"
    pain = [
        r for r in resources if r.get("code", {}).get("coding", [{}])[0].get("code") == "72514-3"
    ]
    assert [p["valueInteger"] for p in pain] == [5, 5]


def run_json(capsys: pytest.CaptureFixture[str], *args: str) -> dict[str, Any]:
    assert main(["outcomes", *args, "--json"]) == 0
    document: dict[str, Any] = json.loads(capsys.readouterr().out)
    return document


def test_the_command_counts_the_database_as_each_reader_would(
    clinic: Clinic, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("LDNKIT_DATABASE_URL", clinic.url)
    everyone = run_json(capsys, "--as-of", AS_OF.isoformat())
    assert (everyone["prescribed"], everyone["never_started"]) == (6, 1)
    own = run_json(capsys, "--as-of", AS_OF.isoformat(), "--as", "doc-a@clinic.test")
    assert (own["prescribed"], own["persistence"]["median_days"]) == (5, 60)
    analyst = run_json(capsys, "--as-of", AS_OF.isoformat(), "--as", "analyst@clinic.test")
    assert analyst["never_started"] == "<5"
    assert main(["outcomes", "--as-of", AS_OF.isoformat(), "--as", "doc-a@clinic.test"]) == 0
    table = capsys.readouterr().out
    assert "the patients of doc-a@clinic.test: 7 patient records" in table
    assert "Stopped by their clinician" in table
    assert f"(e.g. patient {clinic.ids['Cy']}: gout)" in table


def test_the_command_writes_the_pdf_and_the_csv_an_analyst_may_share(
    clinic: Clinic, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    monkeypatch.setenv("LDNKIT_DATABASE_URL", clinic.url)
    pdf, table = tmp_path / "outcomes.pdf", tmp_path / "outcomes.csv"
    args = ["outcomes", "--as-of", AS_OF.isoformat(), "--as", "analyst@clinic.test"]
    assert main([*args, "--pdf", str(pdf), "--csv", str(table)]) == 0
    capsys.readouterr()
    text = "\n".join(page.extract_text() for page in PdfReader(pdf).pages)
    assert "LDN outcomes as of 2026-06-30" in text
    assert "Small groups withheld" in text
    assert "Stopped by their clinician, by the first reason recorded" in text
    rows = list(csv.reader(table.read_text().splitlines()))
    assert ["clinic", "", "never_started", "<5"] in rows
    assert ["stopped by clinician", "side_effects", "patients", "<5"] in rows
    assert main([*args, "--pdf", str(tmp_path / "no-such-folder" / "x.pdf")]) == 2
    assert capsys.readouterr().err.startswith("error: file: got")


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (["--as-of", "2026-02-30"], "--as-of"),
        (["--as", "pat@home.test"], "--as"),
        (["--as", "nobody@clinic.test"], "--as"),
        (["--grace-days", "-3"], "--grace-days"),
    ],
)
def test_bad_input_on_the_database_path_is_one_line_and_exit_2(
    clinic: Clinic,
    args: list[str],
    field: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("LDNKIT_DATABASE_URL", clinic.url)
    assert main(["outcomes", *args]) == 2
    err = capsys.readouterr().err
    assert field in err.splitlines()[0]
    assert len(err.strip().splitlines()) == 1
    assert "Traceback" not in err


def test_export_bulk_refuses_a_folder_that_holds_files_and_writes_nothing(
    clinic: Clinic, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    monkeypatch.setenv("LDNKIT_DATABASE_URL", clinic.url)
    (tmp_path / "notes.txt").write_text("mine")
    assert main(["export", "bulk", str(tmp_path)]) == 2
    assert capsys.readouterr().err.startswith("error: DIR: got")
    assert [p.name for p in tmp_path.iterdir()] == ["notes.txt"]
    assert main(["export", "bulk", str(tmp_path / "new"), "--json"]) == 0
    written = json.loads(capsys.readouterr().out)
    assert written["resources"]["Patient"] == 8
    assert sorted(p.name for p in (tmp_path / "new").iterdir()) == [
        "Condition.ndjson", "MedicationDispense.ndjson", "MedicationRequest.ndjson",
        "MedicationStatement.ndjson", "Observation.ndjson", "Patient.ndjson", "manifest.json",
    ]  # fmt: skip


# -- recording dispenses and stops: bad input changes nothing ----------------------------------


@pytest.fixture
def fresh(database_url: str) -> Iterator[tuple[Store, Actor, int]]:
    store = Store.open(database_url)
    store.upgrade()
    doctor = _account(store, "clinician", "doc@clinic.test")
    spec = CourseSpec(
        "Hal", ("fibromyalgia",), D(2026, 1, 1), D(2026, 2, 1), standard(D(2026, 2, 1))
    )
    patient_id = add_course(store, doctor, spec, AS_OF)
    yield store, doctor, patient_id
    store.close()


@pytest.mark.parametrize(
    ("data", "field", "expected"),
    [
        ({"dispensed_on": D(2026, 1, 31), "days_supply": 30}, "dispensed_on", "plan was written"),
        ({"dispensed_on": D(2026, 7, 1), "days_supply": 30}, "dispensed_on", "before today"),
        ({"dispensed_on": D(2026, 3, 1), "days_supply": 0}, "days_supply", "at least 1"),
        ({"dispensed_on": D(2026, 3, 1), "days_supply": 400}, "days_supply", "365"),
        ({"dispensed_on": "2026-02-30", "days_supply": 30}, "dispensed_on", "date"),
        ({"days_supply": 30}, "dispensed_on", ""),
    ],
)
def test_a_dispense_that_cannot_have_happened_is_refused_and_nothing_is_written(
    fresh: tuple[Store, Actor, int], data: dict[str, object], field: str, expected: str
) -> None:
    store, doctor, patient_id = fresh
    with pytest.raises(InputError) as refused:
        courses.record_dispense(store, doctor, patient_id, data, AS_OF)
    assert refused.value.problems[0].field == field
    assert expected in refused.value.problems[0].expected
    assert store.dispenses(doctor, patient_id) == []


def test_a_stop_needs_a_plan_a_day_a_reason_and_happens_once(
    fresh: tuple[Store, Actor, int],
) -> None:
    store, doctor, patient_id = fresh
    bad = [
        ({"stopped_on": D(2026, 1, 20), "reason": "cost"}, "stopped_on"),  # before the plan
        ({"stopped_on": D(2026, 7, 2), "reason": "cost"}, "stopped_on"),  # in the future
        ({"stopped_on": D(2026, 3, 1), "reason": "bored"}, "reason"),
        ({"stopped_on": D(2026, 3, 1), "reason": "other", "note": "  "}, "note"),
    ]
    for data, field in bad:
        with pytest.raises(InputError) as refused:
            courses.stop_ldn(store, doctor, patient_id, data, AS_OF)
        assert refused.value.problems[0].field == field
    assert store.stops(doctor, patient_id) == []
    stop = courses.stop_ldn(
        store, doctor, patient_id,
        {"stopped_on": D(2026, 3, 1), "reason": "other", "note": "moved away"}, AS_OF,
    )  # fmt: skip
    assert (stop.reason, stop.note, stop.recorded_by) == ("other", "moved away", "doc@clinic.test")
    with pytest.raises(InputError, match="stopped on 2026-03-01"):
        courses.stop_ldn(store, doctor, patient_id, {"stopped_on": D(2026, 3, 2), "reason": "cost"},
                         AS_OF)  # fmt: skip
    # A dispense after the stop needs a new plan; one before it (entered late) is fine.
    after = {"dispensed_on": D(2026, 3, 5), "days_supply": 30}
    with pytest.raises(InputError, match="when LDN was stopped"):
        courses.record_dispense(store, doctor, patient_id, after, AS_OF)
    late = courses.record_dispense(
        store, doctor, patient_id, {"dispensed_on": D(2026, 2, 1), "days_supply": 30}, AS_OF
    )
    assert [d.id for d in store.dispenses(doctor, patient_id)] == [late.id]


def test_another_clinician_cannot_record_a_dispense_and_the_refusal_is_audited(
    fresh: tuple[Store, Actor, int],
) -> None:
    store, doctor, patient_id = fresh
    other = _account(store, "clinician", "other@clinic.test")
    dispense = {"dispensed_on": D(2026, 3, 1), "days_supply": 30}
    with pytest.raises(NotFound):
        courses.record_dispense(store, other, patient_id, dispense, AS_OF)
    with pytest.raises(NotFound):
        courses.mark_in_error(store, doctor, patient_id, 10**12)
    denied = [e for e in store.audit_trail(patient_id) if e.action == "denied"]
    assert {e.what for e in denied} >= {"dispense", "dispense entered in error"}
