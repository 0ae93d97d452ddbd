"""The patient's flows in Debian's chromium (Playwright) on a 390x844 phone and on a desktop,
against a real uvicorn server: a new password with the clinic's one-time code and a password
change, a past diary day edited and deleted, a future day refused, a form kept across an ended
session, the downloads (diary CSV, FHIR JSON, the visit brief PDF read back with pypdf), and the
check-in calendar feed parsed with icalendar, then revoked.

Screenshots go to test-artifacts/screenshots/ so a person can look at them.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import icalendar
import pytest
from pypdf import PdfReader
from sqlalchemy import create_engine, text

from ldnkit.domain.diary import DiaryEntry
from ldnkit.domain.titration import PlanRequest, build_plan
from ldnkit.services.demo import DEMO_CLINICIAN, DEMO_PASSWORD, seed_demo
from ldnkit.services.diary import record_entry
from ldnkit.settings import Settings
from ldnkit.store.passwords import hash_password
from ldnkit.store.repository import Store
from ldnkit.web.server import background_server

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
SHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
VIEWPORTS: dict[str, dict[str, Any]] = {
    "phone": {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True},
    "desktop": {"viewport": {"width": 1280, "height": 900}},
}


def today() -> dt.date:
    """Read at each use: a run that passes midnight must not compare with yesterday."""
    return dt.date.today()


if not Path(CHROMIUM).exists():
    if os.environ.get("CI"):
        pytest.fail("Debian's chromium is missing; .ci/run installs it", pytrace=False)
    pytest.skip("Debian's chromium is not installed", allow_module_level=True)
playwright_api = pytest.importorskip("playwright.sync_api")
expect = playwright_api.expect


@dataclass(frozen=True)
class Clinic:
    url: str
    db_url: str


@pytest.fixture(scope="module")
def clinic(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Clinic]:
    """The demo clinic (diaries up to today), sessions ending after 5 idle minutes."""
    db_url = f"sqlite:///{tmp_path_factory.mktemp('flows')}/demo.db"
    store = Store.open(db_url)
    store.upgrade()
    seed_demo(store)
    store.close()
    with background_server(Settings(database_url=db_url, session_idle_minutes=5)) as url:
        yield Clinic(url, db_url)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    SHOTS.mkdir(parents=True, exist_ok=True)
    flags = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
             "--disable-component-update", "--disable-sync", "--no-first-run"]  # fmt: skip
    with playwright_api.sync_playwright() as p:
        launched = p.chromium.launch(executable_path=CHROMIUM, args=flags)
        yield launched
        launched.close()


@pytest.fixture(params=list(VIEWPORTS))
def device(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def _new_patient(clinic: Clinic, name: str, days: int = 0) -> str:
    """A patient of the demo clinician on the standard plan, started 30 days ago, with the last
    `days` diary days filled in; returns the login email."""
    email = f"{name.lower()}@flows.test"
    store = Store.open(clinic.db_url)
    doctor = store.account_by_email(DEMO_CLINICIAN)
    assert doctor is not None
    record = store.create_patient(doctor.actor, name, {}, email=email,
                                  password_hash=hash_password(DEMO_PASSWORD))  # fmt: skip
    start = today() - dt.timedelta(days=30)
    request = PlanRequest(protocol="standard", start=start)
    steps = [s.model_dump(mode="json") for s in build_plan(request).steps]
    store.save_plan(doctor.actor, record.id, "standard", start, request.model_dump(mode="json"),
                    steps)  # fmt: skip
    account = store.account_for_patient(record.id)
    assert account is not None
    for back in range(1, days + 1):
        day = today() - dt.timedelta(days=back)
        entry = DiaryEntry(day=day, pain=6, fatigue=5, sleep_quality=4, dose_mg=1.5)
        record_entry(store, account.actor, record.id, entry)
    store.close()
    return email


def _page(browser: Any, device: str, **options: Any) -> Any:
    return browser.new_context(**VIEWPORTS[device], **options).new_page()


def _sign_in(page: Any, clinic: Clinic, email: str, password: str = DEMO_PASSWORD) -> None:
    page.goto(f"{clinic.url}/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()


def _tap(page: Any, device: str, locator: Any) -> None:
    if device == "phone":
        locator.tap()
    else:
        locator.click()


def _choose(page: Any, device: str, name: str, value: int) -> None:
    _tap(page, device, page.locator(f"input[name={name}][value='{value}'] + span"))


def _fits(page: Any) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= page.viewport_size["width"], "the page must fit without sideways scrolling"


def test_a_forgotten_password_is_replaced_with_the_clinics_code_then_changed(
    clinic: Clinic, browser: Any, device: str
) -> None:
    email = _new_patient(clinic, f"Reset{device.title()}")
    doctor = _page(browser, "desktop")
    _sign_in(doctor, clinic, DEMO_CLINICIAN)
    doctor.get_by_role("link", name=f"Reset{device.title()}").click()
    doctor.get_by_role("link", name="Sign-in", exact=True).click()
    doctor.get_by_role("button", name="Make a one-time code").click()
    code = doctor.locator(".one-time-code .code").inner_text()
    link = doctor.locator(".one-time-code a").get_attribute("href")
    assert re.fullmatch(r"[A-Z0-9]{4}-[A-Z0-9]{4}-[A-Z0-9]{4}", code)
    doctor.screenshot(path=str(SHOTS / "clinician-one-time-code.png"), full_page=True)
    doctor.context.close()

    page = _page(browser, device)
    page.goto(link)
    assert page.input_value("input[name=code]") == code
    page.fill("input[name=password]", "my own new phrase")
    page.fill("input[name=password_again]", "my own new phrase")
    _fits(page)
    page.screenshot(path=str(SHOTS / f"patient-reset-password-{device}.png"), full_page=True)
    _tap(page, device, page.get_by_role("button", name="Set my password and sign in"))
    page.wait_for_url(re.compile(r"/me/today$"))
    _tap(page, device, page.get_by_role("link", name="Password"))
    page.fill("input[name=current_password]", "not my password")
    page.fill("input[name=password]", "a second new phrase")
    page.fill("input[name=password_again]", "a second new phrase")
    _tap(page, device, page.get_by_role("button", name="Change password"))
    expect(page.locator(".error").first).to_contain_text(
        "Current password: that is not the password you sign in with now"
    )
    page.fill("input[name=current_password]", "my own new phrase")
    page.fill("input[name=password]", "a second new phrase")
    page.fill("input[name=password_again]", "a second new phrase")
    _tap(page, device, page.get_by_role("button", name="Change password"))
    page.wait_for_url(re.compile(r"/me/today$"))
    page.context.close()

    again = _page(browser, device)
    _sign_in(again, clinic, email, "my own new phrase")
    assert again.url.endswith("/login")  # the old password is gone
    _sign_in(again, clinic, email, "a second new phrase")
    assert again.url.endswith("/me/today")
    again.context.close()


def test_a_past_day_is_opened_from_the_date_picker_edited_and_deleted(
    clinic: Clinic, browser: Any, device: str
) -> None:
    email = _new_patient(clinic, f"Edit{device.title()}", days=5)
    day = (today() - dt.timedelta(days=3)).isoformat()
    page = _page(browser, device)
    _sign_in(page, clinic, email)
    page.fill("input[type=date][name=day]", day)
    _tap(page, device, page.get_by_role("button", name="Open", exact=True))
    page.wait_for_url(re.compile(rf"day={day}$"))
    expect(page.locator(".saved-note")).to_contain_text("Saved.")
    assert page.locator("input[name=pain][value='6']").is_checked()
    _choose(page, device, "pain", 2)
    page.screenshot(path=str(SHOTS / f"patient-edit-past-day-{device}.png"), full_page=True)
    _tap(page, device, page.get_by_role("button", name="Save", exact=True))
    page.wait_for_url(re.compile(r"/me/progress"))
    assert f"Saved your entry for {day}." in page.inner_text("main")
    row = page.locator("table.my-days tbody tr", has_text=day)
    assert " 2 5 4 " in " " + " ".join(row.inner_text().split()) + " "
    below = row.locator("xpath=following-sibling::tr[1]")
    assert "changed; 1 earlier version kept" in below.inner_text()

    _tap(page, device, page.get_by_role("link", name=day))
    _tap(page, device, page.get_by_text("Delete this day's entry"))
    _tap(page, device, page.get_by_role("button", name=f"Yes, delete the entry for {day}"))
    page.wait_for_url(re.compile(r"/me/progress"))
    assert f"Deleted your entry for {day}." in page.inner_text("main")
    assert page.locator("table.diary tbody tr", has_text=day).count() == 0
    _fits(page)
    page.context.close()
    store = Store.open(clinic.db_url)
    account = store.account_by_email(email)
    assert account is not None
    assert account.patient_id is not None
    versions = store.diary_versions(account.actor, account.patient_id, dt.date.fromisoformat(day))
    store.close()
    assert [(v.entry.pain, v.deleted) for v in versions] == [(6, False), (2, True)]


def test_a_future_day_is_refused(clinic: Clinic, browser: Any, device: str) -> None:
    email = _new_patient(clinic, f"Future{device.title()}")
    later = (today() + dt.timedelta(days=2)).isoformat()
    page = _page(browser, device)
    _sign_in(page, clinic, email)
    picker = page.locator("input[type=date][name=day]")
    assert picker.get_attribute("max") == today().isoformat()
    page.goto(f"{clinic.url}/me/today?day={later}")
    expect(page.locator("main .message")).to_have_text(
        f"Day: please enter a date from the calendar, today ({today()}) or before."
    )
    assert page.locator("h1").inner_text() == "Today"  # the page falls back to today
    # A form that names a later day anyway (an old page, a clock set wrong) is refused too.
    page.evaluate(f"document.querySelector('form.diary-form input[name=day]').value = '{later}'")
    for name, value in (("pain", 3), ("fatigue", 3), ("sleep_quality", 3)):
        _choose(page, device, name, value)
    _tap(page, device, page.get_by_role("button", name="Save", exact=True))
    expect(page.locator(".error-summary")).to_contain_text(
        f"Day: please enter a day on or before today ({today()})"
    )
    page.screenshot(path=str(SHOTS / f"patient-future-day-refused-{device}.png"), full_page=True)
    page.context.close()


def _end_session_by_idleness(clinic: Clinic, email: str) -> None:
    engine = create_engine(clinic.db_url)
    with engine.begin() as c:
        c.execute(
            text(
                "UPDATE sessions SET last_seen_at = :t WHERE account_id = "
                "(SELECT id FROM accounts WHERE email = :email)"
            ),
            {"t": dt.datetime.now(dt.UTC) - dt.timedelta(minutes=6), "email": email},
        )
    engine.dispose()


def test_a_form_filled_while_the_session_ended_is_saved_after_signing_in_again(
    clinic: Clinic, browser: Any, device: str
) -> None:
    email = _new_patient(clinic, f"Slow{device.title()}")
    page = _page(browser, device)
    _sign_in(page, clinic, email)
    for name, value in (("pain", 7), ("fatigue", 8), ("sleep_quality", 2)):
        _choose(page, device, name, value)
    _tap(page, device, page.get_by_text("More: mood, side effects, note"))
    page.fill("textarea[name=note]", "a bad night, typed slowly")
    _end_session_by_idleness(clinic, email)  # 30 minutes pass while she types
    _tap(page, device, page.get_by_role("button", name="Save", exact=True))
    page.wait_for_url(re.compile(r"/login\?kept=1$"))
    assert "your diary entry has been kept" in page.inner_text("main")
    page.screenshot(path=str(SHOTS / f"patient-session-ended-kept-{device}.png"), full_page=True)
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", DEMO_PASSWORD)
    _tap(page, device, page.get_by_role("button", name="Sign in"))
    page.wait_for_url(re.compile(r"/me/progress\?saved="))
    assert f"Saved your entry for {today()}." in page.inner_text("main")
    page.goto(f"{clinic.url}/me/today")
    assert page.locator("input[name=pain][value='7']").is_checked()
    assert page.input_value("textarea[name=note]") == "a bad night, typed slowly"
    page.context.close()


def test_the_patient_downloads_the_diary_the_record_and_the_visit_brief(
    clinic: Clinic, browser: Any, device: str, tmp_path: Path
) -> None:
    page = _page(browser, device, accept_downloads=True)
    _sign_in(page, clinic, "chloe@demo.ldnkit.test")
    _tap(page, device, page.get_by_role("link", name="My progress"))
    page.screenshot(path=str(SHOTS / f"patient-progress-{device}.png"), full_page=True)
    saved: dict[str, Path] = {}
    for name, link in (
        ("csv", "My diary as a spreadsheet (CSV)"),
        ("fhir", "My record for another health app (FHIR JSON)"),
        ("pdf", "Visit brief for a doctor (PDF)"),
    ):
        with page.expect_download() as caught:
            _tap(page, device, page.get_by_role("link", name=link))
        saved[name] = tmp_path / caught.value.suggested_filename
        caught.value.save_as(saved[name])
    assert saved["csv"].read_text(encoding="utf-8").startswith("day,")
    bundle = json.loads(saved["fhir"].read_text(encoding="utf-8"))
    assert bundle["resourceType"] == "Bundle"
    assert any(e["resource"]["resourceType"] == "Observation" for e in bundle["entry"])
    pages = PdfReader(io.BytesIO(saved["pdf"].read_bytes())).pages
    brief = " ".join(" ".join(p.extract_text() for p in pages).split())
    assert "Visit brief: low-dose naltrexone (LDN) Patient: Chloe Martin" in brief
    assert "Standard (1.5 mg steps), started" in brief
    assert "Pain, fatigue and sleep" in brief
    assert "95% interval" in brief
    assert "Vivid dreams" in brief
    assert "Suggestion: Insomnia (difficulty sleeping), Vivid dreams" in brief
    assert re.search(r"Sources \[1\] ", brief)
    page.context.close()


def test_the_check_in_reminder_feed_is_subscribed_parsed_and_revoked(
    clinic: Clinic, browser: Any, device: str
) -> None:
    email = _new_patient(clinic, f"Remind{device.title()}")
    page = _page(browser, device)
    _sign_in(page, clinic, email)
    _tap(page, device, page.get_by_role("link", name="My plan"))
    _tap(page, device, page.get_by_role("link", name="Daily check-in reminder"))
    page.fill("input[name=remind_at]", "21:15")
    _tap(page, device, page.get_by_role("button", name="Make my reminder address"))
    address = page.locator(".feed-url").inner_text()
    assert page.locator("a", has_text="Add to my calendar").get_attribute("href") == (
        address.replace("http://", "webcal://")
    )
    _fits(page)
    page.screenshot(path=str(SHOTS / f"patient-reminder-feed-{device}.png"), full_page=True)
    feed = httpx.get(address)  # the calendar app, signed in to nothing
    assert feed.status_code == 200
    calendar = icalendar.Calendar.from_ical(feed.text)
    (event,) = calendar.walk("VEVENT")
    assert event.decoded("DTSTART") == dt.datetime.combine(today(), dt.time(21, 15))
    assert event["RRULE"].to_ical() == b"FREQ=DAILY"
    assert str(event["SUMMARY"]) == "Diary check-in"
    assert str(event["URL"]) == f"{clinic.url}/me/today"
    page.goto(f"{clinic.url}/me/reminders")
    assert address not in page.content()  # shown once
    _tap(page, device, page.get_by_role("button", name="Stop my reminders"))
    expect(page.locator("main .message")).to_contain_text("Reminders stopped")
    assert httpx.get(address).status_code == 410
    page.context.close()
