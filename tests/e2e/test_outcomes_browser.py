"""The clinic outcomes page in Debian's chromium: a clinician and an analyst open it, see the
figures (the analyst with small groups withheld and told so), and download the PDF report, whose
text is read back with pypdf. Screenshots go to test-artifacts/screenshots/."""

from __future__ import annotations

import datetime as dt
import io
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader

from ldnkit.demo.clinic_history import add_history, history_specs
from ldnkit.services.accounts import NewAccount, create_account
from ldnkit.services.demo import DEMO_ANALYST, DEMO_CLINICIAN, DEMO_PASSWORD, seed_demo
from ldnkit.settings import Settings
from ldnkit.store.repository import Store
from ldnkit.web.server import background_server

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
SHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
DESKTOP = {"width": 1280, "height": 900}
TODAY = dt.date.today()

if not Path(CHROMIUM).exists():
    if os.environ.get("CI"):  # in CI a missing browser must fail loudly
        pytest.fail("Debian's chromium is missing; .ci/run installs it", pytrace=False)
    pytest.skip("Debian's chromium is not installed", allow_module_level=True)
playwright_api = pytest.importorskip("playwright.sync_api")


@pytest.fixture(scope="module")
def base_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The demo clinic with a made-up history: 40 more of the demo clinician's patients and 10
    of a colleague's, so that the analyst's whole clinic has groups both above and under 5."""
    db_url = f"sqlite:///{tmp_path_factory.mktemp('e2e-outcomes')}/clinic.db"
    store = Store.open(db_url)
    store.upgrade()
    seed_demo(store, today=TODAY)
    doctor = store.account_by_email(DEMO_CLINICIAN)
    assert doctor is not None
    colleague = create_account(
        store,
        NewAccount(role="clinician", email="colleague@demo.ldnkit.test", password=DEMO_PASSWORD),
    )
    add_history(store, doctor.actor, history_specs(11, 40, TODAY), TODAY)
    add_history(store, colleague.actor, history_specs(12, 10, TODAY), TODAY)
    store.close()
    with background_server(Settings(database_url=db_url)) as url:
        yield url


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    SHOTS.mkdir(parents=True, exist_ok=True)
    with playwright_api.sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"]
        )
        yield browser
        browser.close()


@contextmanager
def signed_in(chromium: Any, base_url: str, email: str, home: str) -> Iterator[Any]:
    """A desktop page signed in as `email`, landed on its home page."""
    context = chromium.new_context(viewport=DESKTOP, accept_downloads=True)
    page = context.new_page()
    page.goto(f"{base_url}/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", DEMO_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(home))
    yield page
    context.close()


def _downloaded_pdf_text(page: Any) -> str:
    with page.expect_download() as caught:
        page.get_by_role("link", name="Download the report (PDF)").click()
    download = caught.value
    assert download.suggested_filename == f"ldn-outcomes-{TODAY}.pdf"
    data = Path(download.path()).read_bytes()
    assert data.startswith(b"%PDF")
    return "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(data)).pages)


def test_a_clinician_opens_the_clinic_page_and_downloads_the_report(
    base_url: str, chromium: Any
) -> None:
    with signed_in(chromium, base_url, DEMO_CLINICIAN, r"/clinic$") as page:
        _clinician_reads_and_downloads(page)


def _clinician_reads_and_downloads(page: Any) -> None:
    page.get_by_role("link", name="Outcomes").click()
    page.wait_for_url(re.compile(r"/outcomes$"))
    main = page.inner_text("main")
    assert f"the patients of {DEMO_CLINICIAN}: 43 patient records" in main
    assert "Small groups withheld" not in main
    prescribed = page.locator("table.figures tr", has_text="Prescribed LDN").inner_text()
    assert prescribed.split("\t")[1].strip().isdigit()
    chart = page.locator("svg.ldn-persistence-chart desc").text_content() or ""
    assert "Kaplan-Meier estimate of the share of the" in chart
    page.get_by_label("Grace period after a fill runs out").select_option("90")
    page.get_by_role("button", name="Show").click()
    page.wait_for_url(re.compile(r"grace_days=90"))
    assert "Persistence with 90 days' grace" in page.inner_text("main")
    page.screenshot(path=str(SHOTS / "clinician-outcomes.png"), full_page=True)
    text = _downloaded_pdf_text(page)
    assert f"LDN outcomes as of {TODAY}" in text
    assert f"the patients of {DEMO_CLINICIAN}" in text
    assert "Persistence with 90 days' grace" in text
    assert "Published: LDN for chronic pain at one pain center" in text


def test_an_analyst_sees_the_whole_clinic_with_small_groups_withheld_and_no_records(
    base_url: str, chromium: Any
) -> None:
    with signed_in(chromium, base_url, DEMO_ANALYST, r"/outcomes$") as page:
        _analyst_reads_and_downloads(page, base_url)


def _analyst_reads_and_downloads(page: Any, base_url: str) -> None:
    notice = page.get_by_role("note")
    assert "Groups of fewer than 5 patients are shown as <5" in notice.inner_text()
    main = page.inner_text("main")
    assert "the whole clinic" in main
    assert "<5" in main
    assert "Ana Ribeiro" not in page.content()
    assert page.get_by_role("link", name="Patients").count() == 0
    page.screenshot(path=str(SHOTS / "analyst-outcomes.png"), full_page=True)
    text = _downloaded_pdf_text(page)
    assert "Small groups withheld" in text
    assert "<5" in text
    assert "Ana Ribeiro" not in text
    response = page.goto(f"{base_url}/clinic/patients/1")
    assert response is not None
    assert response.status == 403
    assert "This page is not for your role." in page.inner_text("main")
