"""Page behaviour: forms re-render with each field's problem, merges, plans, exports, audit."""

from __future__ import annotations

import csv
import datetime as dt
import html
import io
import re
from collections.abc import Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass

import httpx
import pytest
from pypdf import PdfReader

from ldnkit.services.accounts import NewAccount, create_account
from ldnkit.settings import Settings
from ldnkit.store.repository import Store
from ldnkit.web import server
from ldnkit.web.server import background_server, csrf_from

PASSWORD = "pages-pass-1"


def pdf_text(pdf: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


@dataclass(frozen=True)
class Site:
    url: str
    db_url: str
    patient: int


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    db_url = f"sqlite:///{tmp_path_factory.mktemp('pages')}/pages.db"
    store = Store.open(db_url)
    store.upgrade()
    create_account(store, NewAccount(role="clinician", email="doc@pages.test", password=PASSWORD))
    patient = create_account(
        store,
        NewAccount(
            role="patient", email="pat@pages.test", password=PASSWORD, clinician="doc@pages.test"
        ),
    ).patient_id
    store.close()
    assert patient is not None
    with background_server(Settings(database_url=db_url)) as url:
        yield Site(url, db_url, patient)


def signed_in(site: Site, email: str) -> AbstractContextManager[httpx.Client]:
    return server.signed_in(site.url, email, PASSWORD)


def test_a_today_form_with_bad_answers_comes_back_with_each_fields_problem(site: Site) -> None:
    with signed_in(site, "pat@pages.test") as patient:
        csrf = csrf_from(patient.get("/me/today").text)
        form = {
            "csrf_token": csrf,
            "fatigue": "11",
            "sleep_quality": "5",
            "taken": "yes",
            "dose_mg": "50",
            "note": "kept as typed",
        }
        response = patient.post("/me/today", data=form)
        assert response.status_code == 422
        page = response.text
        assert "Pain: please choose a number from 0 to 10." in page
        assert "Fatigue: please choose a number from 0 to 10." in page
        assert (
            "Dose (mg): please enter an LDN dose of at most 12 mg: 50 mg is standard-dose "
            "naltrexone, not LDN." in page
        )
        assert "kept as typed</textarea>" in page  # the answers are not lost
        assert "sleep_quality:" not in page
        assert "got nothing" not in page


@pytest.mark.parametrize("day", ["0001-01-01", "9999-12-31"])
def test_a_diary_day_at_the_calendars_end_is_refused_not_a_crash(site: Site, day: str) -> None:
    with signed_in(site, "pat@pages.test") as patient:
        shown = patient.get(f"/me/today?day={day}")
        assert shown.status_code == 422
        assert "Day: please enter a date from the calendar, today (" in shown.text
        csrf = csrf_from(patient.get("/me/today").text)
        form = {"csrf_token": csrf, "day": day, "pain": "5", "fatigue": "4", "sleep_quality": "6"}
        response = patient.post("/me/today", data=form)
        assert response.status_code == 422
        assert "Day: please enter a date from 1900-01-01 to 2199-12-31." in response.text
        assert patient.get("/me/progress").status_code == 200


def test_a_second_entry_for_a_day_asks_how_to_merge_and_then_merges(site: Site) -> None:
    day = "2026-08-01"
    with signed_in(site, "pat@pages.test") as patient:
        csrf = csrf_from(patient.get(f"/me/today?day={day}").text)
        form = {"csrf_token": csrf, "day": day, "pain": "6", "fatigue": "5", "sleep_quality": "4"}
        assert patient.post("/me/today", data=form).status_code == 303
        clash = patient.post("/me/today", data={**form, "pain": "2"})
        assert clash.status_code == 409
        assert f"{day} already has an entry" in clash.text
        assert 'name="how" value="replace"' in clash.text
        merged = patient.post("/me/today", data={**form, "pain": "2", "how": "combine"})
        assert merged.status_code == 303
        progress = patient.get(merged.headers["location"]).text
        assert f"Saved your entry for {day}" in progress
    with signed_in(site, "doc@pages.test") as doctor:
        exported = doctor.get(f"/clinic/patients/{site.patient}/diary.csv")
        assert exported.headers["content-type"].startswith("text/csv")
        rows = list(csv.DictReader(io.StringIO(exported.text)))
        assert [(r["day"], r["pain"]) for r in rows if r["day"] == day] == [(day, "4")]


def test_intake_with_bad_fields_re_renders_with_the_problems_and_saves_nothing(site: Site) -> None:
    with signed_in(site, "doc@pages.test") as doctor:
        before = doctor.get("/clinic").text.count("/clinic/patients/")
        csrf = csrf_from(doctor.get("/clinic/patients/new").text)
        form = {
            "csrf_token": csrf,
            "name": "",
            "age": "131",
            "med_name_0": "tramadol",
            "med_last_dose_0": "yesterday",
            "liver": "fine",
        }
        response = doctor.post("/clinic/patients/new", data=form)
        assert response.status_code == 422
        shown = html.unescape(response.text)
        for said in (
            "Name: please enter the patient's name",
            "Age: \u201c131\u201d cannot be used here; please enter a number at most 130.",
            "Medication 1 (tramadol), last dose: \u201cyesterday\u201d cannot be used here; "
            "please enter a date YYYY-MM-DD.",
            "Liver: \u201cfine\u201d cannot be used here; please enter one of normal,",
        ):
            assert said in shown, said
        assert doctor.get("/clinic").text.count("/clinic/patients/") == before


@pytest.mark.parametrize("rows", ["abc", "²", "-1", "100000", "9" * 5000])
def test_intake_with_a_tampered_row_count_re_renders_a_bounded_form(site: Site, rows: str) -> None:
    # med_rows is a hidden field posted back; a tampered value must neither crash the page
    # nor render thousands of medication rows.
    with signed_in(site, "doc@pages.test") as doctor:
        csrf = csrf_from(doctor.get("/clinic/patients/new").text)
        form = {"csrf_token": csrf, "name": "", "med_rows": rows, "med_name_0": "tramadol"}
        response = doctor.post("/clinic/patients/new", data=form)
        assert response.status_code == 422
        assert "Name: please enter" in response.text
        assert 'name="med_name_0"' in response.text
        assert 'name="med_name_50"' not in response.text


def test_a_form_with_a_nul_character_is_refused_and_saves_nothing(site: Site) -> None:
    with signed_in(site, "doc@pages.test") as doctor:
        before = doctor.get("/clinic").text.count("/clinic/patients/")
        csrf = csrf_from(doctor.get("/clinic/patients/new").text)
        response = doctor.post(
            "/clinic/patients/new", data={"csrf_token": csrf, "name": "Nul\x00Patient"}
        )
        assert response.status_code == 422
        assert "Name: please enter text without NUL (0x00) characters." in response.text
        assert doctor.get("/clinic").text.count("/clinic/patients/") == before


def test_a_plan_is_previewed_refused_above_5_mg_saved_and_exported(site: Site) -> None:
    base = f"/clinic/patients/{site.patient}/plan"
    start = (dt.date.today() + dt.timedelta(days=1)).isoformat()
    with signed_in(site, "doc@pages.test") as doctor:
        csrf = csrf_from(doctor.get(base).text)
        form = {
            "csrf_token": csrf,
            "protocol": "custom",
            "start": start,
            "start_dose_mg": "1",
            "step_mg": "1",
            "interval_days": "7",
            "target_mg": "50",
            "action": "preview",
        }
        refused = doctor.post(base, data=form)
        assert refused.status_code == 422
        assert "Target dose (mg): 50.0 (standard-dose naltrexone, not LDN)" in refused.text
        assert "target_mg" not in re.sub(r"<[^>]+>", " ", refused.text)  # only in markup
        partial = doctor.post(base, data={**form, "target_mg": "4"}, headers={"HX-Request": "true"})
        assert partial.status_code == 200
        assert "<html" not in partial.text
        assert "4 mg" in partial.text
        assert "Capsules for 60 days" in partial.text
        saved = doctor.post(base, data={**form, "target_mg": "4", "action": "save"})
        assert saved.status_code == 303
        ics = doctor.get(f"{base}.ics")
        assert ics.headers["content-type"].startswith("text/calendar")
        assert "BEGIN:VEVENT" in ics.text
        printed = doctor.get(f"{base}.pdf")
        assert printed.headers["content-type"] == "application/pdf"
        assert "4 mg" in pdf_text(printed.content)
    with signed_in(site, "pat@pages.test") as patient:
        mine = patient.get("/me/plan")
        assert "Your plan: Custom, started" in mine.text
        assert patient.get("/me/plan.ics").text.startswith("BEGIN:VCALENDAR")


def test_reading_a_patient_page_is_audited(site: Site) -> None:
    with signed_in(site, "doc@pages.test") as doctor:
        assert doctor.get(f"/clinic/patients/{site.patient}").status_code == 200
    store = Store.open(site.db_url)
    doctor_account = store.account_by_email("doc@pages.test")
    trail = store.audit_trail(site.patient, limit=20)
    store.close()
    assert doctor_account is not None
    reads = {e.what for e in trail if e.account_id == doctor_account.id and e.action == "read"}
    assert {"patient", "diary", "plan", "screenings", "visit notes"} <= reads
    with signed_in(site, "doc@pages.test") as doctor:
        shown = doctor.get(f"/clinic/patients/{site.patient}/audit").text
        assert "<td>doc@pages.test (clinician)</td><td>viewed this audit trail</td>" in shown
        assert re.search(r"<td>pat@pages.test \(patient\)</td><td>entered [^<]*diary", shown)


def test_criteria_results_can_be_saved_to_the_patients_record(site: Site) -> None:
    with signed_in(site, "doc@pages.test") as doctor:
        csrf = csrf_from(doctor.get("/clinic/criteria/fiqr").text)
        form = {"csrf_token": csrf, "patient_id": str(site.patient), "taken_on": "2026-10-01"}
        for domain, count in (("function", 9), ("overall", 2), ("symptoms", 10)):
            form.update({f"{domain}_{i}": "5" for i in range(count)})
        response = doctor.post("/clinic/criteria/fiqr", data={**form, "action": "save"})
        assert response.status_code == 200
        assert "Saved to the patient" in response.text
        page = doctor.get(f"/clinic/patients/{site.patient}").text
        assert "FIQR total over time" in page
        # Every item at 5: function 45/3 + overall 10 + symptoms 50/2 = 50.
        assert re.search(r"<td>2026-10-01</td><td>[^<]*</td>\s*<td>total 50(\.0)?</td>", page)


def _fiqr_form(csrf: str, patient_id: str) -> dict[str, str]:
    form = {"csrf_token": csrf, "patient_id": patient_id, "taken_on": "2026-10-01"}
    for domain, count in (("function", 9), ("overall", 2), ("symptoms", 10)):
        form.update({f"{domain}_{i}": "5" for i in range(count)})
    return {**form, "action": "save"}


def test_criteria_saved_to_a_patient_id_that_does_not_exist_is_not_found(site: Site) -> None:
    with signed_in(site, "doc@pages.test") as doctor:
        csrf = csrf_from(doctor.get("/clinic/criteria/fiqr").text)
        form = _fiqr_form(csrf, "999999999")
        assert doctor.post("/clinic/criteria/fiqr", data=form).status_code == 404


@pytest.mark.parametrize("patient_id", ["²", "99999999999999999999999", "9" * 5000])
def test_criteria_saved_to_a_patient_id_that_is_no_id_names_the_field(
    site: Site, patient_id: str
) -> None:
    with signed_in(site, "doc@pages.test") as doctor:
        csrf = csrf_from(doctor.get("/clinic/criteria/fiqr").text)
        response = doctor.post("/clinic/criteria/fiqr", data=_fiqr_form(csrf, patient_id))
    assert response.status_code == 422
    assert "Patient: " in response.text
    assert "please enter one of your patients, chosen from the list" in response.text
    shown = re.sub(r"<[^>]+>", " ", response.text.split("<main>")[1])
    assert "patient_id" not in shown  # a label, never the key (only the markup names it)


def test_patient_pages_explain_with_sources(site: Site) -> None:
    with signed_in(site, "pat@pages.test") as patient:
        for slug in ("expect", "side-effects"):
            text = patient.get(f"/learn/{slug}").text
            assert '<details class="sources"><summary>Sources</summary>' in text
        assert patient.get("/learn/nothing-here").status_code == 404


def test_signing_out_ends_the_session(site: Site) -> None:
    with signed_in(site, "pat@pages.test") as patient:
        csrf = csrf_from(patient.get("/me/today").text)
        stale = patient.cookies.get("ldnkit_session")
        out = patient.post("/logout", data={"csrf_token": csrf})
        assert out.status_code == 303
        assert out.headers["location"] == "/login"
    with httpx.Client(base_url=site.url, cookies={"ldnkit_session": stale or ""}) as replay:
        again = replay.get("/me/today", follow_redirects=False)
        assert again.status_code == 303
        assert again.headers["location"] == "/login"


def test_a_corrected_profile_is_saved_and_screened_again(site: Site) -> None:
    with signed_in(site, "doc@pages.test") as doctor:
        csrf = csrf_from(doctor.get("/clinic/patients/new").text)
        form = {
            "csrf_token": csrf,
            "name": "Edith Edit",
            "conditions": "fibromyalgia",
            "med_name_0": "oxycodone 5 mg",
            "liver": "normal",
        }
        created = doctor.post("/clinic/patients/new", data=form)
        page_url = created.headers["location"].split("#")[0]
        assert "contraindicated" in doctor.get(page_url).text
        edit = doctor.get(f"{page_url}/edit").text
        assert 'value="oxycodone 5 mg"' in edit
        assert "fibromyalgia</textarea>" in edit
        stopped = {
            "csrf_token": csrf_from(edit),
            "name": "Edith Edit",
            "conditions": "fibromyalgia",
            "med_name_0": "oxycodone 5 mg",
            "med_status_0": "stopped",
            "med_last_dose_0": (dt.date.today() - dt.timedelta(days=30)).isoformat(),
            "liver": "normal",
            "age": "abc",
        }
        refused = doctor.post(f"{page_url}/edit", data=stopped)
        assert refused.status_code == 422
        assert (
            "Age: \u201cabc\u201d cannot be used here; please enter a whole number." in refused.text
        )
        saved = doctor.post(f"{page_url}/edit", data={**stopped, "age": "58"})
        assert saved.status_code == 303
        screened = doctor.get(page_url).text
        verdict = re.search(r'<span class="verdict (\w+)">', screened)
        assert verdict is not None
        assert verdict.group(1) != "contraindicated"
        assert "oxycodone 5 mg (stopped, last dose" in screened


def _new_patient(doctor: httpx.Client, name: str, **medication: str) -> str:
    """A patient entered through the intake form; returns the patient page's path."""
    form = {
        "csrf_token": csrf_from(doctor.get("/clinic/patients/new").text),
        "name": name,
        "conditions": "fibromyalgia",
        "liver": "normal",
        "kidney": "normal",
        **medication,
    }
    created = doctor.post("/clinic/patients/new", data=form)
    assert created.status_code == 303, created.text
    return created.headers["location"].split("#")[0]


def _start_value(page: str) -> str:
    found = re.search(
        r'<input id="f-start" type="date" name="start" value="([^"]*)" required', page
    )
    assert found is not None, "the plan form has a required start date"
    return found.group(1)


def test_a_plan_for_the_tramadol_patient_is_refused_until_the_clinician_overrides_with_a_reason(
    site: Site,
) -> None:
    reason = "Tramadol stops tonight (pain team); urine screen on the start day."
    with signed_in(site, "doc@pages.test") as doctor:
        patient_page = _new_patient(doctor, "Tom Tramadol", med_name_0="tramadol 50 mg")
        builder = doctor.get(f"{patient_page}/plan").text
        assert '<span class="verdict contraindicated">contraindicated</span>' in builder
        assert "no start date" in builder
        assert "tramadol 50 mg" in builder
        assert _start_value(builder) == ""
        form = {
            "csrf_token": csrf_from(builder),
            "protocol": "standard",
            "start": dt.date.today().isoformat(),
            "action": "save",
        }
        refused = doctor.post(f"{patient_page}/plan", data=form)
        assert refused.status_code == 422
        assert (
            "Not saved. The safety screen says contraindicated (tramadol 50 mg): it gives no "
            "start date. To save a plan anyway, tick “Start against the safety screen” and "
            "write why."
        ) in refused.text
        assert "No plan yet" in doctor.get(patient_page).text
        ticked_blank = doctor.post(
            f"{patient_page}/plan", data={**form, "override": "yes", "override_reason": "  "}
        )
        assert ticked_blank.status_code == 422
        assert "Reason: please enter the reason for starting against the safety screen" in (
            html.unescape(ticked_blank.text)
        )
        untick = doctor.post(f"{patient_page}/plan", data={**form, "override_reason": reason})
        assert untick.status_code == 422  # a reason alone is not the decision; the tick is
        saved = doctor.post(
            f"{patient_page}/plan", data={**form, "override": "yes", "override_reason": reason}
        )
        assert saved.status_code == 303
        printed = " ".join(pdf_text(doctor.get(f"{patient_page}/plan.pdf").content).split())
        assert "STARTED AGAINST THE SAFETY SCREEN" in printed
        assert "by doc@pages.test" in printed
        assert reason in printed
        record = doctor.get(patient_page).text
        assert "Started against the safety screen</strong> by doc@pages.test" in record
        assert reason in record
        audit = doctor.get(f"{patient_page}/audit").text
        assert "started a plan against the safety screen" in audit
        assert reason in html.unescape(audit)


def test_the_percocet_patient_four_days_into_the_washout_gets_the_earliest_start_by_default(
    site: Site,
) -> None:
    today = dt.date.today()
    earliest = (today + dt.timedelta(days=3)).isoformat()
    day_before = (today + dt.timedelta(days=2)).isoformat()
    with signed_in(site, "doc@pages.test") as doctor:
        patient_page = _new_patient(
            doctor,
            "Pia Percocet",
            med_name_0="Percocet 5/325",
            med_status_0="stopped",
            med_last_dose_0=(today - dt.timedelta(days=4)).isoformat(),
        )
        builder = doctor.get(f"{patient_page}/plan").text
        assert '<span class="verdict wait">wait</span>' in builder
        assert f"earliest start {earliest}" in builder
        assert _start_value(builder) == earliest
        form = {"csrf_token": csrf_from(builder), "protocol": "standard", "start": day_before}
        preview = doctor.post(
            f"{patient_page}/plan",
            data={**form, "action": "preview"},
            headers={"HX-Request": "true"},
        )
        assert preview.status_code == 200
        assert f"Choose a start date on or after {earliest}" in preview.text
        refused = doctor.post(f"{patient_page}/plan", data={**form, "action": "save"})
        assert refused.status_code == 422
        assert (
            f"Not saved. The safety screen says wait (Percocet 5/325): the earliest start is "
            f"{earliest}, and this plan starts on {day_before}. Choose a start date on or after "
            f"{earliest}, or tick “Start against the safety screen” and write why."
        ) in refused.text
        saved = doctor.post(
            f"{patient_page}/plan", data={**form, "start": earliest, "action": "save"}
        )
        assert saved.status_code == 303
        builder = doctor.get(f"{patient_page}/plan").text
        assert f"Checked against the safety screen for {earliest}: " in builder
        assert "Started against the safety screen" not in builder


def test_intake_offers_severe_kidney_impairment_and_shows_unknowns_as_not_recorded(
    site: Site,
) -> None:
    with signed_in(site, "doc@pages.test") as doctor:
        page = doctor.get("/clinic/patients/new").text
        assert '<option value="severe">severely impaired</option>' in page
        assert '<option value="unknown">not recorded</option>' in page
        form = {
            "csrf_token": csrf_from(page),
            "name": "Kidney Patient",
            "age": "60",
            "med_name_0": "vitamin D",
            "kidney": "severe",
        }
        response = doctor.post("/clinic/patients/new", data=form)
        assert response.status_code == 303, response.text
        record = doctor.get(response.headers["location"]).text
        assert "<dt>Kidney</dt><dd>severely impaired</dd>" in record
        assert "<dt>Liver</dt><dd>not recorded</dd>" in record
        assert "be taken with severe kidney problems" in record
