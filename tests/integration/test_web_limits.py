"""Bounded work per request: no body, however large or however shaped, can hold the server.

Against the demo clinic served by uvicorn on loopback. Each hostile request runs while another
patient uses the app, and the test checks what both got: the hostile one refused (413 for a
body over its route's limit, 422 for a list longer than the knowledge base allows), the other
answered as usual. Speed is measured in bench/, not here.
"""

from __future__ import annotations

import json
import select
import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from ldnkit.domain.diary import known_side_effect_ids
from ldnkit.services.demo import DEMO_CLINICIAN, DEMO_PASSWORD, seed_demo
from ldnkit.settings import Settings
from ldnkit.store.repository import Store
from ldnkit.web.limits import API_BODY_LIMIT, FORM_BODY_LIMIT
from ldnkit.web.server import api_token, background_server, csrf_from, sign_in

ANA, BEN = "ana@demo.ldnkit.test", "ben@demo.ldnkit.test"
MIB = 1024 * 1024


@dataclass(frozen=True)
class Clinic:
    url: str
    ana: httpx.Client  # the patient sending hostile bodies
    ana_id: int
    ben: httpx.Client  # another patient, using the app as usual meanwhile
    ben_id: int


@pytest.fixture(scope="module")
def clinic(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Clinic]:
    db_url = f"sqlite:///{tmp_path_factory.mktemp('limits')}/demo.db"
    store = Store.open(db_url)
    store.upgrade()
    seed_demo(store)
    store.close()
    # CDS Hooks checks off, so a CDS body reaches the limit rather than the JWT check first.
    with background_server(Settings(database_url=db_url, cds_auth="off")) as url:
        clients = {}
        for email in (ANA, BEN):
            token = api_token(url, email, DEMO_PASSWORD)
            clients[email] = httpx.Client(
                base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=60
            )
        ids = {email: clients[email].get("/api/v1/me").json()["patient_id"] for email in clients}
        yield Clinic(url, clients[ANA], ids[ANA], clients[BEN], ids[BEN])
        for client in clients.values():
            client.close()


def _entry(day: str, **extra: Any) -> dict[str, Any]:
    return {"day": day, "pain": 4, "fatigue": 5, "sleep_quality": 6, **extra}


def _meanwhile(clinic: Clinic, hostile: Callable[[], Any]) -> tuple[Any, httpx.Response]:
    """Run `hostile` while Ben records a diary day; both results, once both are done."""
    results: dict[str, Any] = {}

    def attack() -> None:
        results["hostile"] = hostile()

    thread = threading.Thread(target=attack)
    thread.start()
    ben = clinic.ben.post(
        f"/api/v1/patients/{clinic.ben_id}/diary",
        json=_entry("2026-01-02", note="a normal evening"),
        params={"how": "replace"},
    )
    thread.join(timeout=120)
    assert not thread.is_alive()
    return results["hostile"], ben


def _post_diary_text(clinic: Clinic, body: str) -> httpx.Response:
    """Ana's diary POST of a JSON text as written."""
    return clinic.ana.post(
        f"/api/v1/patients/{clinic.ana_id}/diary",
        content=body,
        headers={"content-type": "application/json"},
    )


def _rss_mb() -> int:
    """Resident memory of this process (the server runs in one of its threads)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) // 1024
    raise LookupError("VmRSS")


def test_a_diary_body_of_40000_side_effects_is_refused_while_another_patient_saves(
    clinic: Clinic,
) -> None:
    # The review's body: 625 kB with 40,000 side-effect entries took 11.7 s to refuse, on the
    # event loop, and other users waited as long.
    body = json.dumps(_entry("2026-01-01", side_effects=[{"id": "insomnia"}] * 40_000))
    assert len(body) > API_BODY_LIMIT

    refused, ben = _meanwhile(clinic, lambda: _post_diary_text(clinic, body))
    assert refused.status_code == 413
    (problem,) = refused.json()["detail"]
    assert problem["field"] == "body"
    assert problem["expected"] == "a body of at most 64 kB"
    assert ben.status_code == 201, ben.text


def test_a_side_effect_list_longer_than_the_knowledge_base_is_422_within_the_size_limit(
    clinic: Clinic,
) -> None:
    known = len(known_side_effect_ids())
    reports = [{"id": "insomnia"}] * 3000
    body = json.dumps(_entry("2026-01-01", side_effects=reports))
    assert len(body) < API_BODY_LIMIT

    refused, ben = _meanwhile(clinic, lambda: _post_diary_text(clinic, body))
    assert refused.status_code == 422
    (problem,) = refused.json()["detail"]
    assert problem["field"] == "side_effects"
    assert f"at most {known} side effects" in problem["expected"]
    assert ben.status_code == 201, ben.text


def test_every_side_effect_the_knowledge_base_knows_fits_in_one_day(clinic: Clinic) -> None:
    reports = [{"id": i, "severity": "mild"} for i in sorted(known_side_effect_ids())]
    saved = clinic.ana.post(
        f"/api/v1/patients/{clinic.ana_id}/diary",
        json=_entry("2026-01-03", side_effects=reports),
        params={"how": "replace"},
    )
    assert saved.status_code == 201, saved.text
    assert len(saved.json()["side_effects"]) == len(reports)


def _stream(url: str, path: str, headers: dict[str, str], total: int) -> tuple[bytes, int]:
    """POST a chunked body of up to `total` bytes; stop sending once an answer arrives.

    Returns the answer's first bytes and how many body bytes were sent before it came.
    """
    parts = urlsplit(url)
    head = f"POST {path} HTTP/1.1\r\nHost: {parts.hostname}:{parts.port}\r\n"
    head += "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    head += "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
    chunk = b"[" * 65536
    framed = f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n"
    sent, answer = 0, b""
    with socket.create_connection((parts.hostname, parts.port)) as sock:
        sock.sendall(head.encode())
        try:
            while sent < total and not answer:
                sock.settimeout(None)
                sock.sendall(framed)
                sent += len(chunk)
                # Has the server answered yet? (without waiting for it)
                readable, _, _ = select.select([sock], [], [], 0)
                if readable:
                    answer = sock.recv(4096)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server answered and closed while we were still sending
        sock.settimeout(30)
        while b"\r\n\r\n" not in answer:
            more = sock.recv(4096)
            if not more:
                break
            answer += more
    return answer, sent


@pytest.mark.parametrize(
    ("path", "limit"),
    [("/api/v1/patients/{id}/diary", API_BODY_LIMIT), ("/cds-services/ldn-order-sign", 5 * MIB)],
)
def test_a_200_mb_chunked_body_is_refused_as_it_arrives(
    clinic: Clinic, path: str, limit: int
) -> None:
    token = clinic.ana.headers["Authorization"]
    before = _rss_mb()

    def hostile() -> tuple[bytes, int]:
        route = path.format(id=clinic.ana_id)
        return _stream(clinic.url, route, {"Authorization": token}, 200 * MIB)

    (answer, sent), ben = _meanwhile(clinic, hostile)
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    # Refused once the limit was passed: far from all 200 MB was sent, none of it was kept.
    assert sent < limit + 8 * MIB
    assert _rss_mb() - before < 64
    assert ben.status_code == 201, ben.text


def test_a_declared_length_over_the_limit_is_refused_before_any_body_is_read(
    clinic: Clinic,
) -> None:
    parts = urlsplit(clinic.url)
    head = (
        f"POST /api/v1/token HTTP/1.1\r\nHost: {parts.hostname}:{parts.port}\r\n"
        "Content-Type: application/x-www-form-urlencoded\r\n"
        f"Content-Length: {10 * 1024 * MIB}\r\n\r\n"
    )
    with socket.create_connection((parts.hostname, parts.port), timeout=30) as sock:
        sock.sendall(head.encode())  # the headers only: not one byte of the 10 GB body
        answer = sock.recv(4096)
    assert answer.startswith(b"HTTP/1.1 413")


@pytest.mark.parametrize("depth", [500, 1000, 100_000])
def test_deeply_nested_json_to_the_diary_api_is_422_naming_the_body(
    clinic: Clinic, depth: int
) -> None:
    body = '{"day": "2026-01-01", "pain": 1, "fatigue": 1, "sleep_quality": 1, "note": '
    body += "[" * depth + "]" * depth + "}"
    response = _post_diary_text(clinic, body)
    if len(body) > API_BODY_LIMIT:
        assert response.status_code == 413
        return
    assert response.status_code == 422, response.text
    (problem,) = response.json()["detail"]
    assert problem["field"] == "body"
    assert "nested more than 64 levels deep" in problem["received"]


def test_a_5000_digit_number_to_the_diary_api_is_422_naming_the_body(clinic: Clinic) -> None:
    body = '{"day": "2026-01-01", "pain": ' + "9" * 5000 + ', "fatigue": 1, "sleep_quality": 1}'
    response = _post_diary_text(clinic, body)
    assert response.status_code == 422, response.text
    assert "longer than 4300 digits" in response.json()["detail"][0]["received"]


def test_a_form_over_the_limit_gets_a_page_saying_what_to_do(clinic: Clinic) -> None:
    with httpx.Client(base_url=clinic.url, timeout=60) as browser:
        assert sign_in(browser, DEMO_CLINICIAN, DEMO_PASSWORD).status_code == 303
        page = browser.get("/clinic/patients/new")
        form = {"csrf_token": csrf_from(page.text), "name": "x" * (FORM_BODY_LIMIT + 1)}
        refused = browser.post("/clinic/patients/new", data=form)
    assert refused.status_code == 413
    assert "text/html" in refused.headers["content-type"]
    assert "too large" in refused.text
