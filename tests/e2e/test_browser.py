"""Browser tests: Debian's chromium driven by Playwright against a real uvicorn server.

Screenshots of the main pages go to test-artifacts/screenshots/ so a person can look at them.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from pathlib import Path

import pytest

from ldnkit.knowledge import knowledge_base
from ldnkit.services.demo import DEMO_CLINICIAN, DEMO_PASSWORD

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
SHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}

if not Path(CHROMIUM).exists():
    # In CI a missing browser must fail loudly, not pass as a quiet skip.
    if os.environ.get("CI"):
        pytest.fail("Debian's chromium is missing; .ci/run installs it", pytrace=False)
    pytest.skip(
        "Debian's chromium is not installed (apt-get install chromium)", allow_module_level=True
    )
playwright_api = pytest.importorskip("playwright.sync_api")
SHOTS.mkdir(parents=True, exist_ok=True)


# `base_url` (the demo clinic, served) and `chromium` come from conftest.py.


def _sign_in(page: object, base_url: str, email: str) -> None:
    page.goto(f"{base_url}/login")  # type: ignore[attr-defined]
    page.fill("input[name=email]", email)  # type: ignore[attr-defined]
    page.fill("input[name=password]", DEMO_PASSWORD)  # type: ignore[attr-defined]
    page.click("button[type=submit]")  # type: ignore[attr-defined]


def test_patient_records_todays_entry_on_a_phone_and_sees_it_on_the_chart(
    base_url: str, chromium: object
) -> None:
    context = chromium.new_context(viewport=PHONE, is_mobile=True, has_touch=True)  # type: ignore[attr-defined]
    page = context.new_page()
    _sign_in(page, base_url, "ana@demo.ldnkit.test")
    page.wait_for_url(re.compile(r"/me/today$"))
    page.screenshot(path=str(SHOTS / "patient-today-phone.png"), full_page=True)
    for name, value in (("pain", 2), ("fatigue", 3), ("sleep_quality", 8)):
        page.locator(f"input[name={name}][value='{value}'] + span").tap()
    page.get_by_role("button", name="Save").tap()
    page.wait_for_url(re.compile(r"/me/progress"))
    today = dt.date.today().isoformat()
    assert f"Saved your entry for {today}" in page.inner_text("main")
    first_row = page.locator("table.diary tbody tr").first.inner_text()
    assert first_row.split()[:1] == [today]
    assert "\t2\t3\t8" in first_row or " 2 3 8" in " ".join(first_row.split())
    chart_desc = page.locator("figure.chart svg desc").first.text_content() or ""
    assert f"to {today}" in chart_desc
    page.screenshot(path=str(SHOTS / "patient-progress-phone.png"), full_page=True)
    context.close()


def test_clinician_enters_a_patient_on_tramadol_and_sees_the_contraindication_with_its_source(
    base_url: str, chromium: object
) -> None:
    context = chromium.new_context(viewport=DESKTOP)  # type: ignore[attr-defined]
    page = context.new_page()
    _sign_in(page, base_url, DEMO_CLINICIAN)
    page.wait_for_url(re.compile(r"/clinic$"))
    page.screenshot(path=str(SHOTS / "clinician-patients.png"), full_page=True)
    page.click("text=New patient: intake and screen")
    page.fill("input[name=name]", "Tom Tramadol")
    page.fill("input[name=age]", "61")
    page.fill("textarea[name=conditions]", "fibromyalgia")
    page.fill("input[name=med_name_0]", "tramadol 50 mg")
    page.screenshot(path=str(SHOTS / "clinician-intake.png"), full_page=True)
    page.click("text=Save and screen")
    page.wait_for_url(re.compile(r"/clinic/patients/\d+"))
    screening = page.locator("#screening")
    assert screening.locator(".verdict").first.inner_text() == "contraindicated"
    finding = screening.locator("li.finding.contraindicated").first.inner_text()
    assert "tramadol" in finding
    label = knowledge_base().sources["fda-revia-label"].citation
    assert label in finding
    page.screenshot(path=str(SHOTS / "clinician-screen-tramadol.png"), full_page=False)
    context.close()


def test_clinician_builds_a_plan_and_downloads_the_ics(
    base_url: str, chromium: object, tmp_path: Path
) -> None:
    context = chromium.new_context(viewport=DESKTOP, accept_downloads=True)  # type: ignore[attr-defined]
    page = context.new_page()
    _sign_in(page, base_url, DEMO_CLINICIAN)
    page.wait_for_url(re.compile(r"/clinic$"))
    page.click("text=Ben Okafor")
    page.screenshot(path=str(SHOTS / "clinician-patient-page.png"), full_page=True)
    page.click("a.button:has-text('Plan')")
    page.select_option("select[name=protocol]", "gentle")
    start = (dt.date.today() + dt.timedelta(days=3)).isoformat()
    page.fill("input[name=start]", start)
    page.locator("input[name=start]").dispatch_event("change")
    # HTMX swaps the preview in as the form changes; no page load.
    preview = page.locator("#preview table.steps")
    playwright_api.expect(preview).to_contain_text(start)
    assert "0.5 mg" in preview.inner_text()
    assert page.url.endswith("/plan")
    page.click("button[value=save]")
    page.wait_for_url(re.compile(r"/plan\?saved=1"))
    page.screenshot(path=str(SHOTS / "clinician-plan.png"), full_page=True)
    with page.expect_download() as caught:
        page.click("text=Calendar reminders (.ics)")
    saved = tmp_path / "plan.ics"
    caught.value.save_as(saved)
    ics = saved.read_text(encoding="utf-8")
    assert ics.startswith("BEGIN:VCALENDAR")
    assert f"DTSTART;VALUE=DATE:{start.replace('-', '')}" in ics or start.replace("-", "") in ics
    assert "0.5 mg" in ics
    context.close()


def test_clinician_sees_the_verdict_on_the_plan_page_and_the_earliest_start_as_the_start_date(
    base_url: str, chromium: object
) -> None:
    today = dt.date.today()
    earliest = (today + dt.timedelta(days=3)).isoformat()
    context = chromium.new_context(viewport=DESKTOP)  # type: ignore[attr-defined]
    page = context.new_page()
    _sign_in(page, base_url, DEMO_CLINICIAN)
    page.wait_for_url(re.compile(r"/clinic$"))
    page.click("text=New patient: intake and screen")
    page.fill("input[name=name]", "Pia Percocet")
    page.fill("textarea[name=conditions]", "fibromyalgia")
    page.fill("input[name=med_name_0]", "Percocet 5/325")
    page.select_option("select[name=med_status_0]", "stopped")
    page.fill("input[name=med_last_dose_0]", (today - dt.timedelta(days=4)).isoformat())
    page.click("text=Save and screen")
    page.wait_for_url(re.compile(r"/clinic/patients/\d+"))
    page.click("a.button:has-text('Plan')")
    screen = page.locator("#plan-screen")
    assert screen.locator(".verdict").inner_text() == "wait"
    assert f"earliest start {earliest}" in screen.inner_text()
    assert "Percocet 5/325" in screen.locator("li.finding.wait").inner_text()
    assert page.input_value("input[name=start]") == earliest
    page.screenshot(path=str(SHOTS / "clinician-plan-washout.png"), full_page=True)
    # A day earlier: the preview warns as the date changes, and saving is refused.
    page.fill("input[name=start]", (today + dt.timedelta(days=2)).isoformat())
    page.locator("input[name=start]").dispatch_event("change")
    playwright_api.expect(page.locator("#start-warning")).to_contain_text(
        f"Choose a start date on or after {earliest}"
    )
    page.click("button[value=save]")
    playwright_api.expect(page.locator("#refusal")).to_contain_text("Not saved.")
    page.screenshot(path=str(SHOTS / "clinician-plan-refused.png"), full_page=True)
    context.close()


def test_screenshots_of_the_criteria_body_map_and_learn_pages(
    base_url: str, chromium: object
) -> None:
    context = chromium.new_context(viewport=DESKTOP)  # type: ignore[attr-defined]
    page = context.new_page()
    _sign_in(page, base_url, DEMO_CLINICIAN)
    page.wait_for_url(re.compile(r"/clinic$"))
    page.goto(f"{base_url}/clinic/criteria/acr2016")
    for area in ("neck", "upper_back", "hip_left", "shoulder_girdle_right"):
        page.click(f".bodymap [data-area={area}]")
    assert page.locator("input[name=pain_areas]:checked").count() == 4
    page.screenshot(path=str(SHOTS / "clinician-criteria-bodymap.png"), full_page=True)
    for score, value in (("fatigue", "2"), ("waking_unrefreshed", "2"), ("cognitive", "1")):
        page.select_option(f"select[name={score}]", value)
    page.fill("input[name=duration_months]", "6")
    page.click("text=Calculate")
    assert "wpi" in page.locator("#result").inner_text().lower()
    context.close()
    phone = chromium.new_context(viewport=PHONE, is_mobile=True)  # type: ignore[attr-defined]
    page = phone.new_page()
    _sign_in(page, base_url, "chloe@demo.ldnkit.test")
    page.goto(f"{base_url}/learn/side-effects")
    assert page.locator("main details.sources summary").first.inner_text() == "Sources"
    page.screenshot(path=str(SHOTS / "patient-learn-side-effects.png"), full_page=False)
    phone.close()


def _ask_on_a_phone(chromium: object, base_url: str, email: str, question: str) -> object:
    """Sign in on a phone, open Ask from the navigation, ask, and wait for the answer."""
    context = chromium.new_context(viewport=PHONE, is_mobile=True, has_touch=True)  # type: ignore[attr-defined]
    page = context.new_page()
    _sign_in(page, base_url, email)
    page.wait_for_load_state()
    page.get_by_role("link", name="Ask", exact=True).tap()
    page.wait_for_url(re.compile(r"/ask$"))
    page.fill("textarea[name=question]", question)
    page.get_by_role("button", name="Ask", exact=True).tap()
    page.locator("#answer section.answer").wait_for()
    return page


def test_a_patient_asks_on_a_phone_and_reads_plain_cited_words_and_the_disagreement(
    base_url: str, chromium: object
) -> None:
    page = _ask_on_a_phone(chromium, base_url, "ana@demo.ldnkit.test", "Is LDN safe in pregnancy?")
    answer = page.locator("#answer")  # type: ignore[attr-defined]
    assert answer.locator("section.answer").get_attribute("data-status") == "answered"
    assert "Pregnancy: there are no adequate human studies" in answer.inner_text()
    assert "Sources disagree: LDN in pregnancy" in answer.inner_text()
    assert "talk to your clinician" in answer.inner_text()
    # Sources are folded behind "Sources" and open with a tap.
    label = knowledge_base().source("fda-revia-label").citation
    first = answer.locator("details.sources").first
    assert not first.locator("li").first.is_visible()
    first.locator("summary").tap()
    playwright_api.expect(first.locator("li").first).to_be_visible()
    assert label in first.inner_text()
    width = page.evaluate("document.documentElement.scrollWidth")  # type: ignore[attr-defined]
    assert width <= PHONE["width"], "the answer must fit the phone without sideways scrolling"
    page.screenshot(path=str(SHOTS / "patient-ask-phone.png"), full_page=True)  # type: ignore[attr-defined]
    page.context.close()  # type: ignore[attr-defined]


def test_a_clinician_asks_on_a_phone_and_reads_numbered_citations_and_the_disagreement(
    base_url: str, chromium: object
) -> None:
    page = _ask_on_a_phone(chromium, base_url, DEMO_CLINICIAN, "Can I take LDN with levothyroxine?")
    answer = page.locator("#answer")  # type: ignore[attr-defined]
    first = answer.locator("ol.statements li").first.inner_text()
    assert first.startswith("levothyroxine: monitor thyroid function closely")
    assert re.search(r"\[1\]\[2\]$", first)
    assert "Sources disagree: Thyroid medication when LDN starts" in answer.inner_text()
    raknes = knowledge_base().source("raknes-2020")
    assert raknes.citation in answer.locator("ol.references").inner_text()
    page.screenshot(path=str(SHOTS / "clinician-ask-phone.png"), full_page=True)  # type: ignore[attr-defined]
    page.context.close()  # type: ignore[attr-defined]
