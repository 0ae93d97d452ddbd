"""Every page passes axe-core's WCAG 2.1 A and AA checks, on a phone and on a desktop.

The pages are found from the app's own routes (every GET route outside the JSON API, CDS
Hooks and static files), so a page added later is checked too; a route with a path parameter
this test has no value for fails, naming it, rather than going unchecked. Each page is opened
by every role that can see it (HTML answers only: downloads are not pages), and a few states
a route alone does not reach (a form with its problems, a calculator with its result, a plan
preview for a liquid) are checked as well. axe-core is vendored in tests/fixtures/axe-core/.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.routing import APIRoute

from ldnkit.services.demo import DEMO_CLINICIAN, DEMO_PASSWORD
from ldnkit.settings import Settings
from ldnkit.store.repository import Store
from ldnkit.web.app import create_app
from ldnkit.web.routes import learn
from ldnkit.web.routes.clinic.criteria import CRITERIA
from ldnkit.web.server import sign_in

pytestmark = pytest.mark.browser

AXE = Path(__file__).resolve().parents[1] / "fixtures" / "axe-core" / "axe.min.js"
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
PATIENT = "ana@demo.ldnkit.test"
ROLES = {"clinician": DEMO_CLINICIAN, "patient": PATIENT, "nobody": None}
VIEWPORTS = {"phone": {"width": 390, "height": 844}, "desktop": {"width": 1280, "height": 800}}
# Not pages: the API, CDS Hooks, static files and calendar feeds (an .ics behind a secret address).
NOT_PAGES = ("/api/", "/cds-services", "/static", "/feeds/")


def _walk(routes: list[Any]) -> Iterator[APIRoute]:
    for route in routes:
        if hasattr(route, "original_router"):  # an included router (FastAPI keeps it whole)
            yield from _walk(route.original_router.routes)
        elif isinstance(route, APIRoute):
            yield route


def page_routes() -> list[str]:
    """The path of every GET route that may render a page."""
    store = Store.open("sqlite://")  # only to build the app: nothing is read or written
    try:
        app = create_app(Settings(database_url="sqlite://"), store)
        paths = {
            route.path
            for route in _walk(app.routes)
            if "GET" in (route.methods or ()) and not route.path.startswith(NOT_PAGES)
        }
    finally:
        store.close()
    return sorted(paths)


def parameter_values(patient_id: int) -> dict[str, list[str]]:
    """Values for the path parameters of the routes, from the seeded demo clinic."""
    yesterday = dt.date.today() - dt.timedelta(days=1)
    return {
        "patient_id": [str(patient_id)],
        "name": list(CRITERIA),
        "slug": list(learn.PAGES),
        "day": [yesterday.isoformat()],
    }


def urls(patient_id: int) -> list[str]:
    """Every page path with its parameters filled in (one URL per value)."""
    values = parameter_values(patient_id)
    found: list[str] = []
    missing: set[str] = set()
    for path in page_routes():
        expanded = [path]
        for parameter in re.findall(r"\{(\w+)(?::\w+)?\}", path):
            if parameter not in values:
                missing.add(parameter)
                expanded = []
                break
            expanded = [
                re.sub(r"\{" + parameter + r"(?::\w+)?\}", value, url)
                for url in expanded
                for value in values[parameter]
            ]
        found += expanded
    assert not missing, f"no value for the path parameters {sorted(missing)}: add them above"
    return found


def test_every_page_route_is_found_and_filled() -> None:
    found = urls(7)
    for expected in (
        "/login",
        "/clinic",
        "/clinic/patients/new",
        "/clinic/patients/7",
        "/clinic/patients/7/plan",
        "/clinic/patients/7/summary",
        "/clinic/patients/7/audit",
        "/clinic/criteria/fiqr",
        "/me/today",
        "/me/progress",
    ):
        assert expected in found
    assert not any(u.startswith("/api/") for u in found)


@contextmanager
def _client(base_url: str, email: str | None) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=base_url, follow_redirects=True, timeout=30) as client:
        if email is not None:
            assert sign_in(client, email, DEMO_PASSWORD).status_code == 303
        yield client


def _html_pages(base_url: str, email: str | None, patient_id: int) -> list[str]:
    """The URLs that answer this role with an HTML page (200), in route order."""
    with _client(base_url, email) as client:
        return [
            url
            for url in urls(patient_id)
            if (answer := client.get(url)).status_code == 200
            and answer.headers.get("content-type", "").startswith("text/html")
        ]


def _violations(page: Any) -> list[dict[str, Any]]:
    page.evaluate(AXE.read_text(encoding="utf-8"))
    found: list[dict[str, Any]] = page.evaluate(
        """async (tags) => {
            const result = await axe.run(document, {runOnly: {type: "tag", values: tags}});
            return result.violations.map(v => ({
                id: v.id, impact: v.impact, help: v.help,
                nodes: v.nodes.slice(0, 3).map(n => n.target.join(" "))}));
        }""",
        WCAG_TAGS,
    )
    return found


def _sideways(page: Any, width: int) -> list[dict[str, Any]]:
    """The page as a violation when it is wider than the screen (WCAG 1.4.10, reflow):
    axe cannot see it, and on a phone it means scrolling sideways to read every line."""
    wide = int(page.evaluate("document.documentElement.scrollWidth"))
    if wide <= width:
        return []
    return [{"id": "reflow", "help": f"the page is {wide} px wide on a {width} px screen"}]


def _patient_id(base_url: str) -> int:
    with _client(base_url, DEMO_CLINICIAN) as client:
        found = re.search(r'href="/clinic/patients/(\d+)">Ana Ribeiro', client.get("/clinic").text)
    assert found is not None
    return int(found.group(1))


def _states(page: Any, base_url: str, patient_id: int) -> Iterator[str]:
    """Clinician pages in states no plain GET reaches; yields a name for each."""
    page.goto(f"{base_url}/clinic/patients/new")
    page.fill("input[name=intake_pain]", "11")
    page.fill("input[name=med_last_dose_1]", "2020-01-01")
    page.click("button[type=submit]")
    page.locator(".error-summary").wait_for()
    yield "intake with its problems"
    page.goto(f"{base_url}/clinic/criteria/acr2016")
    for area in ("neck", "upper_back", "lower_back", "hip_left", "hip_right", "upper_arm_left"):
        page.check(f"#area-{area}")
    for score in ("fatigue", "waking_unrefreshed", "cognitive"):
        page.select_option(f"select[name={score}]", "2")
    page.fill("input[name=duration_months]", "12")
    page.click("button[value=calculate]")
    page.locator(".verdict-box .headline").wait_for()
    page.locator(".result-details summary").click()
    yield "ACR 2016 with its result and details open"
    page.goto(f"{base_url}/clinic/patients/{patient_id}/plan")
    page.check("input[name=dose_form][value=liquid]")
    page.select_option("select[name=recipe]", "fawcett")
    page.locator("#preview h3").filter(has_text="Liquid").wait_for()
    yield "plan preview as a liquid"
    page.goto(f"{base_url}/clinic/patients/{patient_id}/audit?kind=write")
    yield "audit trail filtered"
    page.goto(f"{base_url}/clinic?archived=true")
    yield "archived patients"


@pytest.mark.parametrize("viewport", list(VIEWPORTS))
def test_every_page_has_no_wcag_21_a_or_aa_violation(
    chromium: Any, base_url: str, viewport: str
) -> None:
    patient_id = _patient_id(base_url)
    failures: dict[str, list[dict[str, Any]]] = {}
    checked = 0
    for role, email in ROLES.items():
        pages = _html_pages(base_url, email, patient_id)
        context = chromium.new_context(viewport=VIEWPORTS[viewport])
        page = context.new_page()
        if email is not None:
            page.goto(f"{base_url}/login")
            page.fill("input[name=email]", email)
            page.fill("input[name=password]", DEMO_PASSWORD)
            page.click("button[type=submit]")
            page.wait_for_load_state()
        for url in pages:
            page.goto(f"{base_url}{url}")
            checked += 1
            if found := _violations(page) + _sideways(page, VIEWPORTS[viewport]["width"]):
                failures[f"{role} {url}"] = found
        if role == "clinician":
            for state in _states(page, base_url, patient_id):
                checked += 1
                if found := _violations(page) + _sideways(page, VIEWPORTS[viewport]["width"]):
                    failures[f"{role} {state}"] = found
        context.close()
    assert checked >= 30, f"only {checked} pages were checked"
    assert failures == {}, json.dumps(failures, indent=1)


def test_the_progress_table_is_checked_on_a_phone(chromium: Any, base_url: str) -> None:
    # The patient's progress page holds the diary table that scrolls sideways on a phone.
    assert "/me/progress" in _html_pages(base_url, PATIENT, _patient_id(base_url))
    context = chromium.new_context(viewport=VIEWPORTS["phone"], is_mobile=True)
    page = context.new_page()
    page.goto(f"{base_url}/login")
    page.fill("input[name=email]", PATIENT)
    page.fill("input[name=password]", DEMO_PASSWORD)
    page.click("button[type=submit]")
    page.goto(f"{base_url}/me/progress")
    assert page.locator("table.diary tbody tr").count() > 10
    assert _violations(page) == []
    context.close()
