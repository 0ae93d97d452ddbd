"""The clinic outcomes page, its PDF and CSV, and the dispense and stop forms, against a real
uvicorn server on a real SQLite file holding a made-up clinic history."""

from __future__ import annotations

import csv
import datetime as dt
import html
import io
import re
from collections.abc import Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Literal

import httpx
import pytest
from pypdf import PdfReader

from ldnkit.demo.clinic_history import add_history, history_specs
from ldnkit.services.accounts import NewAccount, create_account
from ldnkit.settings import Settings
from ldnkit.store.repository import Store
from ldnkit.web import server
from ldnkit.web.server import background_server, csrf_from

PASSWORD = "correct-horse-outcomes"
DOCTOR, OTHER, ANALYST, PATIENT = (
    "doc@clinic.test", "other@clinic.test", "analyst@clinic.test", "pat@home.test",
)  # fmt: skip
TODAY = dt.date.today()


@dataclass(frozen=True)
class Clinic:
    url: str
    db_url: str
    patients: list[int]  # the doctor's


@pytest.fixture(scope="module")
def clinic(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Clinic]:
    db_url = f"sqlite:///{tmp_path_factory.mktemp('web-outcomes')}/clinic.db"
    store = Store.open(db_url)
    store.upgrade()
    logins: list[tuple[Literal["clinician", "patient", "analyst"], str, str | None]] = [
        ("clinician", DOCTOR, None),
        ("clinician", OTHER, None),
        ("analyst", ANALYST, None),
        ("patient", PATIENT, DOCTOR),
    ]
    accounts = {}
    for role, email, clinician in logins:
        new = NewAccount(role=role, email=email, password=PASSWORD, clinician=clinician)
        accounts[email] = create_account(store, new).actor
    mine = add_history(store, accounts[DOCTOR], history_specs(3, 30, TODAY), TODAY)
    add_history(store, accounts[OTHER], history_specs(4, 8, TODAY), TODAY)
    store.close()
    with background_server(Settings(database_url=db_url)) as url:
        yield Clinic(url, db_url, mine)


def signed_in(clinic: Clinic, email: str) -> AbstractContextManager[httpx.Client]:
    # The outcomes PDF takes a while to draw.
    return server.signed_in(clinic.url, email, PASSWORD, timeout=60)


def _text(page: str) -> str:
    return html.unescape(" ".join(re.sub(r"<[^>]+>", " ", page).split()))


def _pdf_text(pdf: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


def test_a_clinician_sees_their_own_patients_figures_beside_the_published_series(
    clinic: Clinic,
) -> None:
    with signed_in(clinic, DOCTOR) as doctor:
        page = doctor.get(f"/outcomes?as_of={TODAY}")
    assert page.status_code == 200
    text = _text(page.text)
    assert f"the patients of {DOCTOR}: 31 patient records" in text  # 30 and the login's own
    assert "Small groups withheld" not in text
    assert re.search(r"Prescribed LDN \d+ 137 \[1\]", text)
    assert "McKenzie-Brown AM" in text
    assert "30 days: median" in text
    assert "90 days: median" in text
    assert 'class="ldn-chart ldn-persistence-chart"' in page.text
    assert 'class="ldn-chart ldn-responder-chart"' in page.text
    assert "Chart as a table" in text
    # The windows as outcomes.yaml sets them.
    assert "the last one from day 28 to day 180 after it" in text


def test_an_analyst_sees_the_whole_clinic_and_is_told_small_groups_are_withheld(
    clinic: Clinic,
) -> None:
    with signed_in(clinic, ANALYST) as analyst:
        assert analyst.get("/").headers["location"] == "/outcomes"
        page = analyst.get(f"/outcomes?as_of={TODAY}")
    assert page.status_code == 200
    text = _text(page.text)
    # 39 records, one of them (the patient's own login) without a plan: a group under 5, so
    # the number of records is not said.
    assert f"as of {TODAY}: the whole clinic." in text
    assert "39 patient records" not in text
    assert "Small groups withheld" in text
    assert "<5" in text or "withheld" in text
    assert "Patient 0" not in text  # no name, no example naming a patient
    assert "patient 1:" not in text.lower()
    assert 'href="/outcomes"' in page.text
    assert "/clinic" not in page.text


def test_the_report_downloads_as_a_pdf_laid_out_for_print(clinic: Clinic) -> None:
    with signed_in(clinic, ANALYST) as analyst:
        response = analyst.get(f"/outcomes.pdf?as_of={TODAY}&grace_days=60")
    assert response.headers["content-type"] == "application/pdf"
    assert f'filename="ldn-outcomes-{TODAY}.pdf"' in response.headers["content-disposition"]
    text = _pdf_text(response.content)
    assert f"LDN outcomes as of {TODAY}" in text
    assert "Small groups withheld" in text
    assert "Persistence with 60 days' grace" in text
    assert "Still on LDN, by days since the first fill" in text  # the chart's own title
    assert "McKenzie-Brown AM" in text
    assert "How these are counted" in text
    with signed_in(clinic, DOCTOR) as doctor:
        mine = _pdf_text(doctor.get(f"/outcomes.pdf?as_of={TODAY}").content)
    assert f"the patients of {DOCTOR}" in mine
    assert "Small groups withheld" not in mine


def test_the_figures_download_as_csv_with_small_groups_marked_for_the_analyst(
    clinic: Clinic,
) -> None:
    with signed_in(clinic, ANALYST) as analyst:
        response = analyst.get(f"/outcomes.csv?as_of={TODAY}")
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    values = {(r["section"], r["group"], r["figure"]): r["value"] for r in rows}
    assert values[("clinic", "", "prescribed")].isdigit()
    assert values[("published", "mckenzie-brown-2023", "never-filled")] == "0.44"
    counts = [r["value"] for r in rows if r["section"] in ("clinic", "diagnosis")]
    # Every count shown is 0 or at least 5; the others are marked.
    assert all(v in ("<5", "withheld", "") or not v.isdigit() or v == "0" or int(v) >= 5
               for v in counts)  # fmt: skip
    with signed_in(clinic, DOCTOR) as doctor:
        mine = list(csv.DictReader(io.StringIO(doctor.get("/outcomes.csv").text)))
    assert not [r for r in mine if r["value"] in ("<5", "withheld")]


@pytest.mark.parametrize(
    ("query", "said"),
    [
        ("as_of=2026-02-30", "Count up to: got '2026-02-30'; expected a date YYYY-MM-DD"),
        ("grace_days=forever", "Grace period: got 'forever'; expected a number of days"),
        ("grace_days=366", "Grace period: got '366'"),
    ],
)
def test_a_bad_choice_is_said_beside_its_field_in_the_pages_words(
    clinic: Clinic, query: str, said: str
) -> None:
    with signed_in(clinic, DOCTOR) as doctor:
        page = doctor.get(f"/outcomes?{query}")
    assert page.status_code == 422
    assert said in _text(page.text)


def test_a_patient_account_is_not_shown_the_clinic_outcomes(clinic: Clinic) -> None:
    with signed_in(clinic, PATIENT) as patient:
        for path in ("/outcomes", "/outcomes.pdf", "/outcomes.csv"):
            assert patient.get(path).status_code == 403


def _dispenses(client: httpx.Client, patient_id: int) -> list[str]:
    page = client.get(f"/clinic/patients/{patient_id}").text
    table = page.split('<table class="dispenses">', 1)[-1].split("</table>", 1)[0]
    return re.findall(r"<td>(\d{4}-\d\d-\d\d)</td>", table)


def test_a_clinician_records_a_dispense_corrects_one_and_stops_ldn_on_the_patients_page(
    clinic: Clinic,
) -> None:
    # A patient of the made-up history whose plan is not stopped.
    with signed_in(clinic, DOCTOR) as doctor:
        patient_id = next(
            p for p in clinic.patients
            if "Record a dispense" in doctor.get(f"/clinic/patients/{p}").text
        )  # fmt: skip
        page = doctor.get(f"/clinic/patients/{patient_id}")
        csrf = csrf_from(page.text)
        before = _dispenses(doctor, patient_id)
        day = TODAY.isoformat()
        dispenses = f"/clinic/patients/{patient_id}/dispenses"
        future = {"csrf_token": csrf, "dispensed_on": "2099-01-01", "days_supply": "30"}
        bad = doctor.post(dispenses, data=future)
        assert bad.status_code == 422
        said = 'Dispensed on: got "2099-01-01"; expected a day on or before today'
        assert said in _text(bad.text)
        assert _dispenses(doctor, patient_id) == before
        done = doctor.post(
            dispenses, data={"csrf_token": csrf, "dispensed_on": day, "days_supply": "28"}
        )
        assert done.status_code == 303
        assert done.headers["location"] == f"/clinic/patients/{patient_id}#course"
        assert _dispenses(doctor, patient_id) == [day, *before]
        shown = doctor.get(f"/clinic/patients/{patient_id}").text
        newest = re.findall(r"/dispenses/(\d+)/in-error", shown)[0]
        corrected = doctor.post(f"{dispenses}/{newest}/in-error", data={"csrf_token": csrf})
        assert corrected.status_code == 303
        assert "entered in error (not counted)" in doctor.get(f"/clinic/patients/{patient_id}").text
        stop = f"/clinic/patients/{patient_id}/stop"
        no_reason = doctor.post(
            stop, data={"csrf_token": csrf, "stopped_on": day, "reason": "other"}
        )
        assert no_reason.status_code == 422
        assert "Note: got" in _text(no_reason.text)
        note = "<b>insurance</b> ended"
        stopped = doctor.post(
            stop, data={"csrf_token": csrf, "stopped_on": day, "reason": "cost", "note": note}
        )
        assert stopped.status_code == 303
        after = doctor.get(f"/clinic/patients/{patient_id}").text
        assert f"LDN stopped on {day}" in after
        assert "&lt;b&gt;insurance&lt;/b&gt; ended" in after  # escaped, shown as typed
        assert "Record a dispense" not in after
        audit = _text(doctor.get(f"/clinic/patients/{patient_id}/audit").text)
    assert "LDN stopped" in audit
    assert "dispense recorded" in audit
    with signed_in(clinic, ANALYST) as analyst:
        token = csrf_from(analyst.get("/outcomes").text)
        refused = analyst.post(
            dispenses, data={"csrf_token": token, "dispensed_on": day, "days_supply": "30"}
        )
        assert refused.status_code == 403
