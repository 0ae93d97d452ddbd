"""The clinician's pages over HTTP: the profile in words, calculators that answer as they are
filled, the plan builder with everything `ldnkit plan` and `ldnkit liquid` do, the
prescription, and an audit trail a person can read."""

from __future__ import annotations

import datetime as dt
import html
import io
import re
from collections.abc import Iterator
from contextlib import AbstractContextManager

import httpx
import pytest
from pypdf import PdfReader

from ldnkit.domain.rules import SCREEN
from ldnkit.knowledge import knowledge_base
from ldnkit.services.demo import DEMO_CLINICIAN, DEMO_PASSWORD, seed_demo
from ldnkit.settings import Settings
from ldnkit.store.repository import Store
from ldnkit.web import server
from ldnkit.web.server import api_token, background_server, csrf_from

TODAY = dt.date.today()


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    db_url = f"sqlite:///{tmp_path_factory.mktemp('clinic-web')}/clinic.db"
    store = Store.open(db_url)
    store.upgrade()
    seed_demo(store, today=TODAY - dt.timedelta(days=1))
    store.close()
    settings = Settings(database_url=db_url, clinic_name="Riverside Pain Clinic, 1 Main St")
    with background_server(settings) as url:
        yield url


def doctor(site: str) -> AbstractContextManager[httpx.Client]:
    return server.signed_in(site, DEMO_CLINICIAN, DEMO_PASSWORD)


def visible(page: str) -> str:
    """The page's text as a person reads it: no markup, entities resolved, spaces collapsed."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split())


def _admit(client: httpx.Client, **fields: str) -> str:
    page = client.get("/clinic/patients/new").text
    token = re.search(r'name="intake_token" value="([^"]+)"', page)
    assert token is not None
    form = {"csrf_token": csrf_from(page), "intake_token": token.group(1), **fields}
    created = client.post("/clinic/patients/new", data=form)
    assert created.status_code == 303, visible(created.text)[:2000]
    return created.headers["location"].split("#")[0]


def test_the_profile_names_conditions_pregnancy_breastfeeding_and_the_baseline(site: str) -> None:
    soon, later = TODAY + dt.timedelta(days=30), TODAY + dt.timedelta(days=90)
    with doctor(site) as client:
        record = _admit(
            client,
            name="Prue Profile",
            conditions="fibromyalgia\nG93.32",
            med_name_0="tramadol 50 mg",
            pregnant="no",
            breastfeeding="yes",
            intake_pain="7",
            intake_fatigue="6.5",
            intake_sleep_quality="3",
            proc_rows="2",
            proc_date_0=soon.isoformat(),
            proc_name_0="knee arthroscopy",
            proc_date_1=later.isoformat(),
            proc_name_1="dental implant",
            proc_opioids_1="no",
        )
        shown = visible(client.get(record).text)
        assert (
            "Conditions Fibromyalgia (M79.7); Myalgic encephalomyelitis / chronic fatigue "
            "syndrome (ME/CFS) (G93.32)"
        ) in shown
        assert "Pregnant no Breastfeeding yes" in shown
        assert "Baseline pain 7, fatigue 6.5, sleep quality 3 (0-10, at intake)" in shown
        assert f"knee arthroscopy on {soon}, opioids expected" in shown
        assert f"dental implant on {later}" in shown
        # The subject is said once: "tramadol 50 mg contains tramadol", not "tramadol 50 mg:
        # tramadol 50 mg contains".
        assert "contraindicated · tramadol 50 mg contains tramadol, an opioid" in shown
        assert "tramadol 50 mg: tramadol 50 mg" not in shown
        edit = client.get(f"{record}/edit").text
        assert f'name="proc_date_1" value="{later}"' in edit
        assert 'name="proc_date_2" value=""' in edit  # one more row to add a procedure
        assert 'name="intake_fatigue"' in edit
        assert 'value="6.5"' in edit


def test_fatigue_without_pain_at_intake_is_refused_not_dropped(site: str) -> None:
    with doctor(site) as client:
        page = client.get("/clinic/patients/new").text
        form = {"csrf_token": csrf_from(page), "name": "Fay", "intake_fatigue": "6"}
        refused = client.post("/clinic/patients/new", data=form)
        assert refused.status_code == 422
        assert "Pain at intake: please enter pain too" in visible(refused.text)


def test_a_calculator_answers_as_it_is_filled_and_saves_only_when_asked(site: str) -> None:
    with doctor(site) as client:
        page = client.get("/clinic/criteria/acr2011").text
        shown = visible(page)
        assert "Please answer 4 more questions" in shown
        assert "Fatigue Waking unrefreshed Cognitive symptoms (memory, thinking)" in shown
        assert "None" not in shown
        # Every 0-3 item with its anchor; the other explanation by its words, not its key.
        assert "3: severe: pervasive, continuous, life-disturbing problems" in shown
        assert "Another disorder would explain the pain" in shown
        form = {
            "csrf_token": csrf_from(page),
            "pain_areas": ["neck", "upper_back", "lower_back", "hip_left", "hip_right",
                           "upper_leg_left", "upper_leg_right"],
            "fatigue": "2", "waking_unrefreshed": "2", "cognitive": "1",
            "duration_months": "6", "headache": "yes",
            "patient_id": "1", "action": "calculate",
        }  # fmt: skip
        live = client.post("/clinic/criteria/acr2011", data=form, headers={"HX-Request": "true"})
        assert live.status_code == 200
        assert "<html" not in live.text
        answer = visible(live.text)
        assert "Criteria met" in answer
        assert "Polysymptomatic distress (FS/PSD) 13 of 31: severe (12-19)" in answer
        assert "FS 13 or more: yes" in answer
        assert "Saved" not in answer
        unsaved = visible(client.get("/clinic/patients/1").text)
        assert "ACR 2010 criteria, 2011 modification" not in unsaved
        saved = client.post("/clinic/criteria/acr2011", data={**form, "action": "save"})
        assert "Saved to the patient's record" in visible(saved.text)
        assert "ACR 2010 criteria, 2011 modification" in visible(
            client.get("/clinic/patients/1").text
        )


def test_saving_a_result_without_a_patient_says_to_choose_one(site: str) -> None:
    with doctor(site) as client:
        page = client.get("/clinic/criteria/iom2015").text
        form = {"csrf_token": csrf_from(page), "reduced_activity_months": "8", "pem": "yes",
                "symptoms_half_the_time": "no", "action": "save"}  # fmt: skip
        refused = client.post("/clinic/criteria/iom2015", data=form)
        assert refused.status_code == 422
        shown = visible(refused.text)
        assert "Patient: choose the patient to save this to." in shown
        assert "less often or milder: the diagnosis should be questioned" in shown


def _plan_form(client: httpx.Client, record: str, **fields: str) -> dict[str, str]:
    page = client.get(f"{record}/plan").text
    return {"csrf_token": csrf_from(page), "protocol": "standard", **fields}


def test_the_plan_builder_says_what_to_tick_for_a_dose_above_the_usual_range(site: str) -> None:
    start = (TODAY + dt.timedelta(days=1)).isoformat()
    with doctor(site) as client:
        record = _admit(client, name="Otto Over", med_name_0="vitamin D")
        form = _plan_form(client, record, protocol="custom", start=start, start_dose_mg="1",
                          step_mg="1", interval_days="7", target_mg="6")  # fmt: skip
        refused = client.post(f"{record}/plan", data={**form, "action": "preview"})
        assert refused.status_code == 422
        said = visible(refused.text)
        assert "ticking \u201cAllow a dose above 5 mg (up to 12 mg)\u201d" in said
        assert "--allow" not in said
        assert "allow_above_5mg" not in said
        allowed = client.post(
            f"{record}/plan", data={**form, "allow_above_5mg": "yes", "action": "preview"}
        )
        assert allowed.status_code == 200
        assert "6 mg" in visible(allowed.text)


def test_a_plan_with_its_adjustments_and_liquid_is_saved_shown_again_and_served(site: str) -> None:
    start = TODAY + dt.timedelta(days=1)
    stop = start + dt.timedelta(days=42)
    with doctor(site) as client:
        record = _admit(client, name="Ada Adjust", med_name_0="vitamin D")
        form = _plan_form(
            client, record, start=start.isoformat(), dose_form="liquid", recipe="water",
            tablet_mg="50", volume_ml="50", supply_days="30",
            step_back_on=(start + dt.timedelta(days=15)).isoformat(),
            procedure_date=(start + dt.timedelta(days=40)).isoformat(),
            opioids_stop=stop.isoformat(),
        )  # fmt: skip
        preview = client.post(f"{record}/plan", data={**form, "action": "preview"})
        assert preview.status_code == 200, visible(preview.text)[-1500:]
        shown = visible(preview.text)
        assert "Step back from" in shown
        assert f"Procedure hold from {start + dt.timedelta(days=38)}: no LDN from" in shown
        assert f"restart on {stop + dt.timedelta(days=7)}" in shown
        assert "Home dilution in plain water" in shown
        assert "No stability data exist for this recipe." in shown
        assert "1.5 mL (a tablet lasts 33.3 days)" in shown
        # Plain water is used by 5 days after it is made: a fresh tablet every 6 days.
        assert "Tablets to dissolve over the 30 days: 5" in shown
        saved = client.post(f"{record}/plan", data={**form, "action": "save"})
        assert saved.status_code == 303
        builder = client.get(f"{record}/plan").text
        assert f'name="opioids_stop" value="{stop}"' in builder
        assert 'value="liquid" checked' in builder
        pid = record.rsplit("/", 1)[1]
        token = api_token(site, DEMO_CLINICIAN, DEMO_PASSWORD)
        served = httpx.get(f"{site}/api/v1/patients/{pid}/plan",
                           headers={"Authorization": f"Bearer {token}"}).json()  # fmt: skip
        notes = [s.get("note") or "" for s in served["steps"]]
        assert any(n.startswith("Back to the last tolerated dose") for n in notes)
        assert any(n.startswith("Restart at the starting dose") for n in notes)


def test_the_prescription_names_the_clinic_prescriber_capsules_and_screen(site: str) -> None:
    start = TODAY + dt.timedelta(days=3)
    with doctor(site) as client:
        record = _admit(client, name="Cara Capsule", age="52", sex="female",
                        med_name_0="vitamin D")  # fmt: skip
        form = _plan_form(client, record, start=start.isoformat(), supply_days="30")
        assert client.post(f"{record}/plan", data={**form, "action": "save"}).status_code == 303
        answer = client.get(f"{record}/plan.pdf")
    assert answer.headers["content-type"] == "application/pdf"
    reader = PdfReader(io.BytesIO(answer.content))
    assert len(reader.pages) == 1
    text = " ".join("\n".join(p.extract_text() for p in reader.pages).split())
    for expected in (
        "Riverside Pain Clinic, 1 Main St",
        "Cara Capsule",
        "age 52, female",
        "Dr Demo",
        "Naltrexone hydrochloride, low dose (LDN), capsules",
        f"{start} {start + dt.timedelta(days=13)} 1.5 mg bedtime 1 \u00d7 1.5 mg capsule",
        "Dispense: capsules for 30 days",
        "14 \u00d7 naltrexone 1.5 mg immediate-release capsules",
        f"Safety screen for {start}:",
        "Signature of the prescriber",
        "REVIA (naltrexone hydrochloride tablets USP)",
    ):
        assert expected in text, expected


def test_the_audit_page_counts_list_views_and_filters_by_kind_and_person(site: str) -> None:
    with doctor(site) as client:
        for _ in range(3):
            client.get("/clinic")
        trail = visible(client.get("/clinic/patients/1/audit").text)
        views = re.search(r"viewed the patient list (\d+) times", trail)
        assert views is not None
        assert int(views.group(1)) >= 3
        assert "ana@demo.ldnkit.test (patient) entered" in trail
        page = client.get("/clinic/patients/1/audit").text
        ana = re.search(r'<option value="(\d+)">ana@demo.ldnkit.test \(patient\)</option>', page)
        assert ana is not None
        only_ana = visible(client.get(f"/clinic/patients/1/audit?person={ana.group(1)}").text)
        assert "clinician@demo.ldnkit.test" not in only_ana.split("Show", 1)[1]
        reads = visible(client.get("/clinic/patients/1/audit?kind=read").text)
        assert "entered" not in reads.split("Show", 1)[1]
        odd = client.get("/clinic/patients/1/audit?kind=DROP&person=%C2%B2")
        assert odd.status_code == 200  # an unknown filter shows everything


KEY_LIKE = re.compile(r"\b[a-z]+_[a-z_]+\b|--[a-z][a-z-]+|\bNone\b|\bnull\b|\bseed\b")
# Ids written with hyphens (side effects such as vivid-dreams, rules such as opioid-active):
# people read their names, never these.
IDS = re.compile(
    r"\b("
    + "|".join(
        re.escape(i)
        for i in [e.id for e in knowledge_base().side_effects] + [r.id for r in SCREEN]
        if "-" in i
    )
    + r")\b"
)


@pytest.mark.parametrize(
    "path",
    [
        "/clinic",
        "/clinic/patients/new",
        "/clinic/patients/1",
        "/clinic/patients/2",
        "/clinic/patients/3",
        "/clinic/patients/3/edit",
        "/clinic/patients/2/summary",
        "/clinic/patients/1/audit",
        "/clinic/patients/2/plan",
        *(
            f"/clinic/criteria/{name}"
            for name in ("acr2010", "acr2011", "acr2016", "fiqr", "iom2015")
        ),
    ],
)
def test_clinician_pages_show_no_field_keys_flags_or_nones(site: str, path: str) -> None:
    with doctor(site) as client:
        page = client.get(path).text
    text = visible(re.sub(r"<(script|style)[^>]*>.*?</\1>", " ", page, flags=re.S))
    assert KEY_LIKE.findall(text) == []
    assert IDS.findall(text) == []


def test_a_live_preview_with_a_problem_replaces_the_old_preview(site: str) -> None:
    start = (TODAY + dt.timedelta(days=1)).isoformat()
    with doctor(site) as client:
        record = _admit(client, name="Pia Preview", med_name_0="vitamin D")
        form = _plan_form(
            client, record, protocol="custom", start=start, start_dose_mg="0.75",
            step_mg="0.5", interval_days="7", target_mg="2", action="preview",
        )  # fmt: skip
        live = client.post(f"{record}/plan", data=form, headers={"HX-Request": "true"})
        # A 200, so that HTMX swaps it in: the problem replaces the preview it makes untrue.
        assert live.status_code == 200
        shown = visible(live.text)
        assert "Start dose (mg): 0.75 cannot be used here" in shown
        assert "use a liquid for other doses" in shown
        assert "Preview" not in shown
        full = client.post(f"{record}/plan", data=form)
        assert full.status_code == 422
