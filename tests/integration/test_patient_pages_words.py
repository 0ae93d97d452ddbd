"""What patients read and take away, on the served demo clinic: progress in plain words (the
day-90 text of their own response, the suggestion their clinician sees, honest counts), no
field keys, rule ids or "seed" anywhere, the downloads (CSV, FHIR JSON, the visit brief PDF)
audited, the check-in calendar feed, and the web app manifest."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections.abc import Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass

import httpx
import icalendar
import pytest
from pypdf import PdfReader
from sqlalchemy import create_engine, text

from ldnkit.domain.titration import PlanRequest, build_plan
from ldnkit.fhir.boundary import validated
from ldnkit.knowledge import knowledge_base
from ldnkit.knowledge.response import response_texts
from ldnkit.services.demo import DEMO_PASSWORD, seed_demo
from ldnkit.settings import Settings
from ldnkit.store.passwords import hash_password
from ldnkit.store.repository import Store
from ldnkit.web import server
from ldnkit.web.server import background_server, csrf_from, sign_in


@dataclass(frozen=True)
class Site:
    url: str
    db_url: str


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    db_url = f"sqlite:///{tmp_path_factory.mktemp('words')}/demo.db"
    store = Store.open(db_url)
    store.upgrade()
    seed_demo(store)
    store.close()
    with background_server(Settings(database_url=db_url)) as url:
        yield Site(url, db_url)


def patient(site: Site, name: str) -> AbstractContextManager[httpx.Client]:
    return server.signed_in(site.url, f"{name}@demo.ldnkit.test", DEMO_PASSWORD)


def _main(page: str) -> str:
    return page.split("<main>", 1)[1].split("</main>", 1)[0]


def _words(page: str) -> str:
    """The text a person reads in the page's main part (tags dropped)."""
    return " ".join(re.sub(r"<[^>]+>", " ", _main(page)).split())


PATIENT_PAGES = ("/me/today", "/me/plan", "/me/progress", "/me/reminders", "/learn/expect",
                 "/learn/side-effects")  # fmt: skip


@pytest.mark.parametrize("name", ["ana", "ben", "chloe"])
def test_patient_pages_never_show_seed_rule_ids_or_field_keys(site: Site, name: str) -> None:
    rule_ids = {"opioid-active", "opioid-washout", "procedure-hold", "not-ldn-product"}
    keys = {"sleep_quality", "dose_mg", "side_effects", "how=", "--allow"}
    with patient(site, name) as client:
        for path in PATIENT_PAGES:
            words = _words(client.get(path).text)
            assert not re.search(r"\bseed\b", words, re.IGNORECASE), path
            assert not [w for w in rule_ids | keys if w in words], path


def test_a_non_responder_at_day_90_reads_the_day_90_text_not_the_new_starter_text(
    site: Site,
) -> None:
    texts = response_texts().patient
    with patient(site, "ben") as client:
        words = _words(client.get("/me/progress").text)
    assert texts.not_responding.render() in words
    assert "too early to judge" not in words


def test_a_responder_reads_that_it_is_helping(site: Site) -> None:
    with patient(site, "ana") as client:
        words = _words(client.get("/me/progress").text)
    assert response_texts().patient.responding.render() in words


def test_the_patient_sees_the_morning_dose_suggestion_her_clinician_sees(site: Site) -> None:
    with patient(site, "chloe") as client:
        page = client.get("/me/progress").text
    suggestion = re.search(r'<div class="suggestion" id="suggestion">(.*?)</div>', page, re.S)
    assert suggestion is not None
    assert "taking the dose in the morning instead of at bedtime" in suggestion.group(1)
    assert "Insomnia" in suggestion.group(1)
    assert "<summary>Sources</summary>" in suggestion.group(1)
    with httpx.Client(base_url=site.url, follow_redirects=False) as doctor:
        sign_in(doctor, "clinician@demo.ldnkit.test", DEMO_PASSWORD)
        store = Store.open(site.db_url)
        account = store.account_by_email("chloe@demo.ldnkit.test")
        store.close()
        assert account is not None
        clinician_page = doctor.get(f"/clinic/patients/{account.patient_id}").text
    message = re.search(r"<p>([^<]*taking the dose in the morning[^<]*)", suggestion.group(1))
    assert message is not None
    assert message.group(1).split(" <small>")[0].strip() in clinician_page


def test_a_new_patient_reads_honest_counts_of_the_diary_days_needed(site: Site) -> None:
    start = dt.date.today() - dt.timedelta(days=20)
    store = Store.open(site.db_url)
    doctor = store.account_by_email("clinician@demo.ldnkit.test")
    assert doctor is not None
    record = store.create_patient(doctor.actor, "Fresh", {}, email="fresh@demo.ldnkit.test",
                                  password_hash=hash_password(DEMO_PASSWORD))  # fmt: skip
    request = PlanRequest(protocol="standard", start=start)
    store.save_plan(doctor.actor, record.id, "standard", start, request.model_dump(mode="json"),
                    [s.model_dump(mode="json") for s in build_plan(request).steps])  # fmt: skip
    store.close()
    with patient(site, "fresh") as client:
        page = client.get("/me/today").text
        form = {"csrf_token": csrf_from(page), "day": dt.date.today().isoformat(), "pain": "5",
                "fatigue": "5", "sleep_quality": "5"}  # fmt: skip
        assert client.post("/me/today", data=form).status_code == 303
        words = _words(client.get("/me/progress").text)
    assert "At least 10 of the last 14 days need an entry to tell how it is going; you have 1." in (
        words
    )
    assert "7 diary days in the 28 days before your start are needed (you have 0)" in words
    assert "You are on day 21 of treatment." in words


def test_the_patient_downloads_their_diary_record_and_visit_brief_each_audited(
    site: Site,
) -> None:
    with patient(site, "chloe") as client:
        spreadsheet = client.get("/me/diary.csv")
        record = client.get("/me/record.json")
        brief = client.get("/me/visit-brief.pdf")
        other = client.get("/clinic/patients/1/diary.csv")
    assert other.status_code == 403  # a clinician's page, not a patient's
    assert spreadsheet.headers["content-disposition"] == 'attachment; filename="my-ldn-diary.csv"'
    rows = list(csv.DictReader(io.StringIO(spreadsheet.text)))
    assert record.headers["content-type"].startswith("application/fhir+json")
    bundle = validated(record.json())
    kinds = {e["resource"]["resourceType"] for e in bundle["entry"]}
    assert {"MedicationRequest", "Observation"} <= kinds
    assert brief.headers["content-type"] == "application/pdf"
    text = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(brief.content)).pages)
    flat = " ".join(text.split())
    assert "Visit brief: low-dose naltrexone (LDN)" in flat
    assert "Chloe Martin" in flat
    assert "95% interval" in flat
    assert "Insomnia (difficulty sleeping)" in flat
    assert "A dose was recorded on" in flat
    assert knowledge_base().source("dworkin-2008-immpact").citation[:60] in flat
    store = Store.open(site.db_url)
    account = store.account_by_email("chloe@demo.ldnkit.test")
    assert account is not None
    assert account.patient_id is not None
    diary = store.diary(account.actor, account.patient_id)
    trail = [(e.what, e.email) for e in store.audit_trail(account.patient_id)]
    store.close()
    assert [r["day"] for r in rows] == [e.day.isoformat() for e in diary]
    for what in ("diary (CSV)", "record (FHIR JSON)", "visit brief (PDF)"):
        assert (f"download: {what}", "chloe@demo.ldnkit.test") in trail


def test_the_check_in_feed_is_fetched_without_signing_in_then_revoked(site: Site) -> None:
    with patient(site, "ana") as client:
        page = client.get("/me/reminders").text
        form = {"csrf_token": csrf_from(page), "remind_at": "19:30", "action": "new"}
        made = client.post("/me/reminders", data=form)
        address = re.search(r'<p class="code feed-url">([^<]+)</p>', made.text)
        assert address is not None
        url = address.group(1)
        assert "webcal://" in made.text
        shown_once = client.get("/me/reminders").text
        assert url not in shown_once
        assert "every day at 19:30" in shown_once
        secret = url.rsplit("/", 1)[1].removesuffix(".ics")
        feed = httpx.get(url)  # a calendar app: no cookie, no token
        assert feed.status_code == 200
        assert feed.headers["content-type"].startswith("text/calendar")
        (event,) = icalendar.Calendar.from_ical(feed.text).walk("VEVENT")
        assert event.decoded("DTSTART").time() == dt.time(19, 30)
        assert str(event["URL"]).endswith("/me/today")
        assert "Ana" not in feed.text
        engine = create_engine(site.db_url)
        with engine.connect() as c:
            stored = [str(h) for h in c.execute(text("SELECT secret_hash FROM reminder_feeds"))]
        engine.dispose()
        assert stored
        assert all(secret not in h for h in stored)
        stop = client.post("/me/reminders", data={"csrf_token": csrf_from(shown_once),
                                                   "action": "stop"})  # fmt: skip
        assert "Reminders stopped" in stop.text
    assert httpx.get(url).status_code == 410
    assert httpx.get(url.replace(secret, "x" + secret[1:])).status_code == 404


def test_making_a_new_feed_address_stops_the_old_one(site: Site) -> None:
    urls = []
    with patient(site, "ben") as client:
        for _ in range(2):
            page = client.get("/me/reminders").text
            made = client.post("/me/reminders", data={"csrf_token": csrf_from(page),
                                                      "action": "new"})  # fmt: skip
            found = re.search(r'<p class="code feed-url">([^<]+)</p>', made.text)
            assert found is not None
            urls.append(found.group(1))
    assert [httpx.get(u).status_code for u in urls] == [410, 200]


def test_the_web_app_manifest_opens_the_diary_like_an_app(site: Site) -> None:
    manifest = httpx.get(f"{site.url}/manifest.webmanifest")
    assert manifest.headers["content-type"].startswith("application/manifest+json")
    data = manifest.json()
    assert (data["start_url"], data["display"]) == ("/me/today", "standalone")
    for icon in data["icons"]:
        assert httpx.get(f"{site.url}{icon['src']}").status_code == 200
    assert {"192x192", "512x512"} <= {icon["sizes"] for icon in data["icons"]}
    with patient(site, "ana") as client:
        assert '<link rel="manifest" href="/manifest.webmanifest">' in client.get("/me/today").text
