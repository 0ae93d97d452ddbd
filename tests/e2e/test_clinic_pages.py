"""The clinician's pages in a real browser, on a phone and on a desktop: intake problems shown
together, one patient from a form sent twice, archive and restore, a live calculator with its
anchors, the summary on one A4 page, and the plan's prescription as a PDF."""

from __future__ import annotations

import datetime as dt
import io
import re
from typing import Any

import pytest
from pypdf import PdfReader

from ldnkit.services.demo import DEMO_CLINICIAN

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 800}
SIZES = [pytest.param(PHONE, id="phone"), pytest.param(DESKTOP, id="desktop")]


def _pdf_text(pdf: bytes) -> tuple[int, str]:
    reader = PdfReader(io.BytesIO(pdf))
    return len(reader.pages), "\n".join(page.extract_text() for page in reader.pages)


def _patients_named(page: Any, base_url: str, name: str) -> int:
    page.goto(f"{base_url}/clinic")
    return int(page.locator("table.patients a", has_text=name).count())


@pytest.mark.parametrize("size", SIZES)
def test_intake_errors_are_shown_together_and_nothing_is_saved(
    signed_in: Any, base_url: str, size: dict[str, int]
) -> None:
    page = signed_in(DEMO_CLINICIAN, size)
    name = f"Ines Intake {size['width']}"
    page.goto(f"{base_url}/clinic/patients/new")
    page.fill("input[name=name]", name)
    page.fill("input[name=med_name_0]", "tramadol 50 mg")
    page.fill("input[name=med_last_dose_0]", "2030-01-01")
    page.fill("input[name=med_last_dose_1]", "2026-01-01")
    page.fill("input[name=proc_date_0]", "2025-03-01")
    page.fill("input[name=intake_pain]", "11")
    page.fill("input[name=intake_fatigue]", "-2")
    page.click("button[type=submit]")
    summary = page.locator(".error-summary")
    summary.wait_for()
    said = summary.inner_text()
    for expected in (
        "Medication 1 (tramadol 50 mg), last dose: 2030-01-01 is after today",
        "Medication 2: a last dose is filled in without a name",
        "Planned procedure 1, date: 2025-03-01 is in the past",
        "Pain at intake: \u201c11\u201d is not on the 0 to 10 scale",
        "Fatigue at intake: \u201c-2\u201d is not on the 0 to 10 scale",
    ):
        assert expected in said, expected
    assert summary.locator("li").count() == 5
    # Each problem is beside its field, which is marked invalid and described by it.
    pain = page.locator("#f-intake_pain")
    assert pain.get_attribute("aria-invalid") == "true"
    assert pain.get_attribute("aria-describedby") == "err-intake_pain"
    assert "0 to 10" in page.locator("#err-intake_pain").inner_text()
    # What was typed is kept, and a link in the list leads to its field.
    assert page.input_value("input[name=intake_fatigue]") == "-2"
    summary.locator("a", has_text="Fatigue at intake").click()
    assert page.url.endswith("#f-intake_fatigue")
    assert _patients_named(page, base_url, name) == 0


@pytest.mark.parametrize("size", SIZES)
def test_an_intake_form_sent_twice_adds_one_patient(
    signed_in: Any, base_url: str, size: dict[str, int]
) -> None:
    page = signed_in(DEMO_CLINICIAN, size)
    name = f"Dora Double {size['width']}"
    page.goto(f"{base_url}/clinic/patients/new")
    page.fill("input[name=name]", name)
    page.fill("textarea[name=conditions]", "fibromyalgia")
    page.fill("input[name=med_name_0]", "vitamin D")
    # Two sends of the same form at the same moment, as a double tap or a resent request does.
    statuses = page.evaluate(
        """async () => {
            const form = document.querySelector("main form");
            const send = () => fetch(form.action, {method: "POST", body: new FormData(form)});
            const answers = await Promise.all([send(), send(), send()]);
            return answers.map(a => a.url);
        }"""
    )
    ids = {re.search(r"/clinic/patients/(\d+)", url).group(1) for url in statuses}  # type: ignore[union-attr]
    assert len(ids) == 1, statuses
    # And a double click on the button, the way people do it.
    page.goto(f"{base_url}/clinic/patients/new")
    page.fill("input[name=name]", name + " again")
    page.dblclick("button[type=submit]")
    page.wait_for_url(re.compile(r"/clinic/patients/\d+"))
    assert _patients_named(page, base_url, name + " again") == 1
    assert _patients_named(page, base_url, name) == 2  # "Dora Double" and "... again"


@pytest.mark.parametrize("size", SIZES)
def test_a_patient_is_archived_hidden_from_the_list_and_restored(
    signed_in: Any, base_url: str, size: dict[str, int]
) -> None:
    page = signed_in(DEMO_CLINICIAN, size)
    name = f"Arlo Archive {size['width']}"
    page.goto(f"{base_url}/clinic/patients/new")
    page.fill("input[name=name]", name)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r"/clinic/patients/\d+"))
    record_url = page.url.split("#")[0]
    page.get_by_role("button", name="Archive").click()
    page.wait_for_url(re.compile(r"archived=1"))
    assert "Archived" in page.locator("main").inner_text()
    assert _patients_named(page, base_url, name) == 0
    page.get_by_role("link", name=re.compile(r"Archived \(\d+\)")).click()
    page.get_by_role("link", name=name).click()
    page.get_by_role("button", name="Restore to the patient list").click()
    page.wait_for_url(re.compile(r"restored=1"))
    assert _patients_named(page, base_url, name) == 1
    page.goto(f"{record_url}/audit?kind=write")
    trail = page.locator("table.audit").inner_text()
    assert "archived the record" in trail
    assert "restored the record" in trail


@pytest.mark.parametrize("size", SIZES)
def test_the_fiqr_calculator_shows_its_anchors_and_works_the_result_out_live(
    signed_in: Any, base_url: str, size: dict[str, int]
) -> None:
    page = signed_in(DEMO_CLINICIAN, size)
    page.goto(f"{base_url}/clinic/criteria/fiqr")
    result = page.locator("#result-body")
    assert "Not scored yet: 21 of 21 items are empty" in result.inner_text()
    energy = page.locator("#anchor-symptoms_1").inner_text()
    assert "0 = lots of energy · 10 = no energy" in energy
    assert "Mind the direction" in energy
    sleep = page.locator("#anchor-symptoms_3").inner_text()
    assert "0 = awoke well rested · 10 = awoke very tired" in sleep
    assert (
        "0 = no difficulty · 10 = very difficult" in page.locator("#anchor-function_0").inner_text()
    )
    page.evaluate("window.notReloaded = true")
    for domain, count in (("function", 9), ("overall", 2), ("symptoms", 10)):
        for i in range(count):
            field = page.locator(f"#f-{domain}_{i}")
            field.fill("6")
            field.dispatch_event("change")
    pytest.importorskip("playwright.sync_api").expect(result).to_contain_text(
        "FIQR total 60 of 100"
    )
    text = result.inner_text()
    assert "Severity, Salaffi 2018 (4 bands): moderate" in text
    assert "Severity, Salaffi 2021 (5 bands): moderate" in text
    assert page.evaluate("window.notReloaded") is True  # updated in place, no page load
    assert page.url.endswith("/clinic/criteria/fiqr")


@pytest.mark.parametrize("size", SIZES)
def test_the_acr_2016_calculator_names_areas_and_copies_a_note(
    signed_in: Any, base_url: str, size: dict[str, int]
) -> None:
    page = signed_in(DEMO_CLINICIAN, size, permissions=["clipboard-read", "clipboard-write"])
    page.goto(f"{base_url}/clinic/criteria/acr2016")
    result = page.locator("#result-body")
    assert "Please answer 4 more questions" in result.inner_text()
    areas = ("neck", "upper_back", "lower_back", "hip_left", "hip_right", "shoulder_girdle_right")
    for area in (*areas, "jaw_left"):  # the jaw counts for the WPI, not for a region
        page.locator(f".bodymap [data-area={area}]").click()
    for score, value in (("fatigue", "2"), ("waking_unrefreshed", "2"), ("cognitive", "1")):
        page.select_option(f"select[name={score}]", value)
    page.fill("input[name=duration_months]", "2")
    page.locator("input[name=duration_months]").dispatch_event("change")
    expect = pytest.importorskip("playwright.sync_api").expect
    expect(result.locator(".headline")).to_have_text("Criteria not met")
    # Typed and copied at once: leaving the field works the result out again, and the copy
    # waits for it instead of copying the one before.
    page.fill("input[name=duration_months]", "6")
    result.locator("button", has_text="Copy to note").click()
    expect(page.locator("#note-text-status")).to_contain_text("Copied")
    assert "Symptoms present at a similar level for (months): 6" in page.evaluate(
        "navigator.clipboard.readText()"
    )
    expect(result.locator(".headline")).to_have_text("Criteria met")
    assert "Polysymptomatic distress (FS/PSD) 12 of 31: severe (12-19)" in result.inner_text()
    result.locator("button", has_text="Copy to note").click()
    expect(page.locator("#note-text-status")).to_contain_text("Copied")
    note = page.evaluate("navigator.clipboard.readText()")
    assert note.startswith("2016 revision of the 2010/2011 fibromyalgia criteria")
    assert "Jaw, left" in note
    assert "Regions with pain 4 of 5" in note
    assert "jaw_left" not in note
    assert "other_explanation" not in page.locator("main").inner_text()


def test_the_summary_prints_on_one_a4_page_with_a_black_and_white_verdict(
    signed_in: Any, base_url: str
) -> None:
    page = signed_in(DEMO_CLINICIAN, DESKTOP)
    for name in ("Ana Ribeiro", "Ben Okafor", "Chloe Martin"):
        page.goto(f"{base_url}/clinic")
        page.get_by_role("link", name=name).click()
        page.get_by_role("link", name="Print summary").click()
        page.emulate_media(media="print")
        pages, text = _pdf_text(page.pdf(format="A4"))
        assert pages == 1, f"{name}: {pages} pages"
        assert name in text
        assert "ELIGIBLE" in text
        verdict = page.locator(".verdict").first
        style = verdict.evaluate(
            "e => { const s = getComputedStyle(e); "
            "return [s.backgroundColor, s.color, s.borderTopStyle, s.borderTopColor]; }"
        )
        assert style == ["rgba(0, 0, 0, 0)", "rgb(0, 0, 0)", "solid", "rgb(0, 0, 0)"], style
        page.emulate_media(media="screen")


@pytest.mark.parametrize("size", SIZES)
def test_a_liquid_plan_with_a_morning_dose_is_saved_and_its_prescription_downloaded(
    signed_in: Any, base_url: str, size: dict[str, int]
) -> None:
    page = signed_in(DEMO_CLINICIAN, size)
    name = f"Lia Liquid {size['width']}"
    page.goto(f"{base_url}/clinic/patients/new")
    page.fill("input[name=name]", name)
    page.fill("textarea[name=conditions]", "fibromyalgia")
    page.fill("input[name=med_name_0]", "vitamin D")
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r"/clinic/patients/\d+"))
    page.get_by_role("link", name="Plan", exact=True).click()
    start = dt.date.today() + dt.timedelta(days=2)
    page.select_option("select[name=protocol]", "custom")
    page.fill("input[name=start]", start.isoformat())
    for field, value in (
        ("start_dose_mg", "0.25"),
        ("step_mg", "0.25"),
        ("interval_days", "7"),
        ("target_mg", "1.75"),
    ):
        page.fill(f"input[name={field}]", value)
    # Leaving the last field updates the preview; wait for it before the next choice.
    with page.expect_response(lambda answer: answer.request.method == "POST"):
        page.locator("input[name=target_mg]").press("Tab")
    page.check("input[name=dose_form][value=liquid]")
    page.select_option("select[name=recipe]", "fawcett")
    page.fill("input[name=morning_from]", (start + dt.timedelta(days=14)).isoformat())
    page.locator("input[name=morning_from]").dispatch_event("change")
    preview = page.locator("#preview")
    expect = pytest.importorskip("playwright.sync_api").expect
    expect(preview).to_contain_text("0.75 mL")
    text = preview.inner_text()
    assert "Compounded oral liquid (Fawcett 1997)" in text
    assert "Use by, stored refrigerated (4 °C): 60 days" in text
    assert "Move to morning from" in text
    page.click("button[value=save]")
    page.wait_for_url(re.compile(r"/plan\?saved=1"))
    link = page.get_by_role("link", name="Prescription (PDF)")
    answer = page.context.request.get(base_url + str(link.get_attribute("href")))
    assert answer.headers["content-type"] == "application/pdf"
    pages, printed = _pdf_text(answer.body())
    printed = " ".join(printed.split())
    assert pages == 1
    for expected in (
        "LDN prescription",
        name,
        "Dr Demo",
        "oral liquid",
        f"{start} {start + dt.timedelta(days=6)} 0.25 mg bedtime 0.25 mL",
        "0.75 mg morning 0.75 mL",
        "Compounded oral liquid (Fawcett 1997)",
        f"Safety screen for {start}: eligible, earliest start {start}",
        "Do not take opioid pain medicines",
        "Signature of the prescriber",
    ):
        assert expected in printed, printed
