"""The demo clinic as a clinician sees it: verdicts, doses and response statuses in the list."""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest

from ldnkit.services.demo import DEMO_CLINICIAN, DEMO_PASSWORD, seed_demo
from ldnkit.settings import Settings
from ldnkit.store.repository import Store
from ldnkit.web.server import background_server, sign_in


@pytest.fixture(scope="module")
def doctor(tmp_path_factory: pytest.TempPathFactory) -> Iterator[httpx.Client]:
    db_url = f"sqlite:///{tmp_path_factory.mktemp('demo')}/demo.db"
    store = Store.open(db_url)
    store.upgrade()
    seed_demo(store)
    store.close()
    with (
        background_server(Settings(database_url=db_url)) as url,
        httpx.Client(base_url=url, follow_redirects=False) as client,
    ):
        assert sign_in(client, DEMO_CLINICIAN, DEMO_PASSWORD).status_code == 303
        yield client


def _rows(page: str) -> dict[str, list[str]]:
    """Patient name -> the text of the other cells of its row in the patient list."""
    rows = {}
    for row in re.findall(r"<tr>(.*?)</tr>", page, flags=re.S):
        cells = [
            re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td>(.*?)</td>", row, re.S)
        ]
        if cells:
            rows[cells[0]] = cells[1:]
    return rows


def test_the_patient_list_shows_each_demo_patients_verdict_dose_and_response(
    doctor: httpx.Client,
) -> None:
    rows = _rows(doctor.get("/clinic").text)
    assert set(rows) == {"Ana Ribeiro", "Ben Okafor", "Chloe Martin"}
    assert rows["Ana Ribeiro"][:3] == ["eligible", "4.5 mg", "responding"]
    assert rows["Ben Okafor"][2] == "not responding"
    assert all(int(cells[3]) >= 90 for cells in rows.values())


def test_persistent_sleep_side_effects_bring_the_cited_morning_dose_suggestion(
    doctor: httpx.Client,
) -> None:
    listing = doctor.get("/clinic").text
    chloe = re.search(r'href="/clinic/patients/(\d+)">Chloe Martin', listing)
    assert chloe is not None
    page = doctor.get(f"/clinic/patients/{chloe.group(1)}").text
    suggestion = re.search(r'<div class="suggestion">(.*?)</div>', page, flags=re.S)
    assert suggestion is not None
    assert "morning" in suggestion.group(1).lower()
    assert "Sources:" in suggestion.group(1)
