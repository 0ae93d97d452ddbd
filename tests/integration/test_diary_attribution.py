"""Who entered each diary day, on SQLite and PostgreSQL: kept in the store, shown on the pages,
in the CSV and FHIR exports and in the response assessment; a clinician's change to a
patient-reported day keeps the patient's version."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest

from ldnkit.demo.diaries import demo_diary
from ldnkit.domain.diary import DiaryEntry
from ldnkit.domain.titration import PlanRequest, build_plan
from ldnkit.export.diary_csv import diary_csv
from ldnkit.services.accounts import NewAccount, create_account
from ldnkit.services.demo import seed_demo
from ldnkit.services.diary import record_entry
from ldnkit.services.export import fhir_bundle
from ldnkit.services.progress import view_of
from ldnkit.settings import Settings
from ldnkit.store.records import Account
from ldnkit.store.repository import Store
from ldnkit.web.server import background_server, sign_in

PASSWORD = "attribution-pass-1"
DAY = dt.date(2026, 4, 2)


@dataclass(frozen=True)
class Clinic:
    store: Store
    doctor: Account
    patient: Account

    @property
    def pid(self) -> int:
        assert self.patient.patient_id is not None
        return self.patient.patient_id


@pytest.fixture
def clinic(database_url: str) -> Iterator[Clinic]:
    store = Store.open(database_url)
    store.upgrade()
    doctor = create_account(
        store, NewAccount(role="clinician", email="doc@who.test", password=PASSWORD)
    )
    patient = create_account(
        store,
        NewAccount(role="patient", email="pat@who.test", password=PASSWORD,
                   clinician="doc@who.test"),
    )  # fmt: skip
    yield Clinic(store, doctor, patient)
    store.close()


def _entry(day: dt.date = DAY, pain: int = 6, note: str = "") -> DiaryEntry:
    return DiaryEntry(day=day, pain=pain, fatigue=5, sleep_quality=4, note=note)


def test_each_day_records_the_account_and_role_that_entered_it(clinic: Clinic) -> None:
    record_entry(clinic.store, clinic.patient.actor, clinic.pid, _entry(DAY))
    record_entry(clinic.store, clinic.doctor.actor, clinic.pid, _entry(DAY + dt.timedelta(1)))
    mine, theirs = clinic.store.diary_records(clinic.patient.actor, clinic.pid)
    assert (mine.author.account_id, mine.author.role) == (clinic.patient.id, "patient")
    assert (theirs.author.account_id, theirs.author.role) == (clinic.doctor.id, "clinician")
    assert theirs.author.email == "doc@who.test"


def test_a_clinicians_change_to_a_patient_reported_day_keeps_the_patients_version(
    clinic: Clinic,
) -> None:
    reported = _entry(pain=8, note="as I felt it")
    record_entry(clinic.store, clinic.patient.actor, clinic.pid, reported)
    corrected = _entry(pain=3, note="corrected at the visit")
    record_entry(clinic.store, clinic.doctor.actor, clinic.pid, corrected, "replace")

    (now,) = clinic.store.diary_records(clinic.doctor.actor, clinic.pid)
    assert now.entry == corrected
    assert now.author.role == "clinician"
    assert now.earlier_versions == 1
    (kept,) = clinic.store.diary_versions(clinic.doctor.actor, clinic.pid, DAY)
    assert kept.entry == reported
    assert (kept.author.account_id, kept.author.role) == (clinic.patient.id, "patient")
    assert kept.replaced_by.account_id == clinic.doctor.id
    # The patient sees their own earlier version too.
    assert clinic.store.diary_versions(clinic.patient.actor, clinic.pid, DAY)[0].entry == reported


def test_a_resent_or_kept_entry_makes_no_new_version(clinic: Clinic) -> None:
    entry = _entry(note="once")
    record_entry(clinic.store, clinic.patient.actor, clinic.pid, entry)
    record_entry(clinic.store, clinic.patient.actor, clinic.pid, entry)
    record_entry(clinic.store, clinic.doctor.actor, clinic.pid, _entry(pain=1), "keep")
    assert clinic.store.diary_versions(clinic.doctor.actor, clinic.pid, DAY) == []
    (record,) = clinic.store.diary_records(clinic.doctor.actor, clinic.pid)
    assert record.author.role == "patient"


def test_the_csv_fhir_export_and_response_assessment_say_who_entered_each_day(
    clinic: Clinic,
) -> None:
    start = dt.date.today() - dt.timedelta(days=89)
    request = PlanRequest(protocol="standard", start=start)
    steps = [s.model_dump(mode="json") for s in build_plan(request).steps]
    clinic.store.save_plan(clinic.doctor.actor, clinic.pid, "standard", start,
                           request.model_dump(mode="json"), steps)  # fmt: skip
    diary = [e for e in demo_diary("responder", start) if e.day <= dt.date.today()]
    for entry in diary:
        record_entry(clinic.store, clinic.patient.actor, clinic.pid, entry)
    last = diary[-1]
    record_entry(
        clinic.store,
        clinic.doctor.actor,
        clinic.pid,
        last.model_copy(update={"note": "checked"}),
        "replace",
    )
    records = clinic.store.diary_records(clinic.doctor.actor, clinic.pid)

    rows = list(csv.DictReader(io.StringIO(diary_csv(records))))
    assert {r["entered_by"] for r in rows[:-1]} == {"patient"}
    assert (rows[-1]["entered_by"], rows[-1]["entered_by_email"]) == ("clinician", "doc@who.test")
    assert rows[-1]["earlier_versions"] == "1"

    bundle = fhir_bundle(clinic.store, clinic.doctor.actor, clinic.pid)
    observations = [e["resource"] for e in bundle["entry"]
                    if e["resource"]["resourceType"] == "Observation"]  # fmt: skip
    first = [o for o in observations if o["effectiveDateTime"] == diary[0].day.isoformat()]
    assert all(o["performer"] == [{"reference": f"Patient/{clinic.pid}"}] for o in first)
    assert all(o["status"] == "final" for o in first)
    changed = [o for o in observations if o["effectiveDateTime"] == last.day.isoformat()]
    assert all(o["status"] == "amended" for o in changed)
    assert changed[0]["performer"][0]["identifier"]["value"] == str(clinic.doctor.id)

    record = clinic.store.patient(clinic.doctor.actor, clinic.pid)
    plan = clinic.store.current_plan(clinic.doctor.actor, clinic.pid)
    view = view_of(record, plan, [r.entry for r in records], dt.date.today(), records)
    assert view.assessment is not None
    who = view.assessment.entered_by
    assert who is not None
    assert (who.clinician, who.not_recorded) == (1, 0)
    a = view.assessment
    used = a.latest_entries + (a.baseline_entries if a.baseline_source == "diary" else 0)
    assert who.patient == used - 1


def test_the_pages_show_who_entered_each_day(clinic: Clinic, database_url: str) -> None:
    record_entry(clinic.store, clinic.patient.actor, clinic.pid, _entry(note="mine"))
    record_entry(clinic.store, clinic.doctor.actor, clinic.pid, _entry(note="theirs"), "replace")
    with (
        background_server(Settings(database_url=database_url)) as url,
        httpx.Client(base_url=url) as doctor,
        httpx.Client(base_url=url) as patient,
    ):
        sign_in(doctor, "doc@who.test", PASSWORD)
        sign_in(patient, "pat@who.test", PASSWORD)
        page = doctor.get(f"/clinic/patients/{clinic.pid}").text
        progress = patient.get("/me/progress").text
    assert "clinician (doc@who.test); changed, 1 earlier version kept" in page
    assert "entered by your clinician; changed; 1 earlier version kept" in progress


def test_the_demo_diaries_are_entered_by_their_patients(database_url: str) -> None:
    store = Store.open(database_url)
    store.upgrade()
    logins = seed_demo(store)
    for login in (login for login in logins if login.role == "patient"):
        account = store.account_by_email(login.email)
        assert account is not None
        assert account.patient_id is not None
        records = store.diary_records(account.actor, account.patient_id)
        assert records
        assert {(r.author.account_id, r.author.role) for r in records} == {(account.id, "patient")}
    store.close()
