"""The CDS Hooks service over real HTTP: published request payloads, a loopback FHIR server
serving Synthea records, real JWTs, feedback stored in SQLite.

Payloads come from tests/fixtures/cds (origins in its README). Where a test changes one, it
changes a copy and says why: usually to give this service its own prefetch keys, or to point
`fhirServer` at the loopback FHIR server started here.
"""

from __future__ import annotations

import contextlib
import copy
import json
import logging
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import jwt
import pytest
import uvicorn
from cryptography.hazmat.primitives.asymmetric import ec
from fastapi import APIRouter, FastAPI
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ldnkit.bootstrap import cds_app, web_app
from ldnkit.cdshooks.service import AUTH_OFF_BANNER, create_router
from ldnkit.settings import Settings
from ldnkit.store.records import CardOutcome
from ldnkit.store.repository import Store
from ldnkit.validation import InputError

FIXTURES = Path(__file__).parent.parent / "fixtures" / "cds"
SYNTHEA = Path(__file__).resolve().parents[1] / "fixtures" / "synthea-bulk-10"
IBUPROFEN_PATIENT = "ca15b832-01e4-41dd-6a52-97bd3e5510cb"  # Synthea: active ibuprofen only
TOKEN = "some-opaque-fhir-access-token"  # the spec example's fhirAuthorization token


def fixture(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIXTURES / name).read_text())
    return data


def spec_context_request(name: str, hook: str) -> dict[str, Any]:
    """A hook definition's published example context, inside the request fields it omits."""
    return {"hook": hook, "hookInstance": str(uuid.uuid4()), **fixture(name)}


def med_request(rid: str, patient: str, text: str, status: str = "active") -> dict[str, Any]:
    return {
        "resourceType": "MedicationRequest",
        "id": rid,
        "status": status,
        "intent": "order",
        "subject": {"reference": f"Patient/{patient}"},
        "medicationCodeableConcept": {"text": text},
        "authoredOn": "2026-10-01",
    }


def searchset(*resources: dict[str, Any], next_url: str | None = None) -> dict[str, Any]:
    bundle: dict[str, Any] = {
        "resourceType": "Bundle",
        "type": "searchset",
        "entry": [{"resource": r} for r in resources],
    }
    if next_url:
        bundle["link"] = [{"relation": "next", "url": next_url}]
    return bundle


# --- servers ---------------------------------------------------------------------------------


class LiveServer:
    """An ASGI app served by uvicorn on a loopback port, in a thread."""

    def __init__(self, app: FastAPI) -> None:
        config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", ws="none")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> str:
        self.thread.start()
        while not self.server.started:
            time.sleep(0.01)
        port = self.server.servers[0].sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}"

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=5)


@dataclass
class FhirData:
    """What the loopback FHIR server holds, and what it was asked."""

    resources: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    pages: dict[str, dict[str, Any]] = field(default_factory=dict)
    token: str | None = None
    delay: float = 0.0
    status: int = 200
    requests: list[tuple[str, str | None]] = field(default_factory=list)

    def add(self, resource: dict[str, Any]) -> None:
        self.resources.setdefault(resource["resourceType"], {})[resource["id"]] = resource

    def search(self, kind: str, query: dict[str, list[str]]) -> dict[str, Any]:
        patient = query.get("patient", [""])[0]
        status = query.get("status", [None])[0]
        found = [
            r
            for r in self.resources.get(kind, {}).values()
            if (r.get("subject") or {}).get("reference") == f"Patient/{patient}"
            and (status is None or r.get("status") == status)
        ]
        return searchset(*found)


def load_synthea(data: FhirData) -> None:
    """A copy, in memory, of the Synthea bulk export's patients, medications and conditions."""
    for kind in ("Patient", "MedicationRequest", "Condition"):
        for line in (SYNTHEA / f"{kind}.000.ndjson").read_text().splitlines():
            if line.strip():
                data.add(json.loads(line))


class FhirServer:
    """A tiny FHIR R4 read/search server on loopback: Patient/<id>, <Type>?patient=..."""

    def __init__(self, data: FhirData) -> None:
        self.data = data
        data_ref = data

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                data_ref.requests.append((self.path, self.headers.get("Authorization")))
                if data_ref.delay:
                    time.sleep(data_ref.delay)
                if (
                    data_ref.token
                    and self.headers.get("Authorization") != f"Bearer {data_ref.token}"
                ):
                    return self.reply(401, {"resourceType": "OperationOutcome", "issue": []})
                if data_ref.status != 200:
                    return self.reply(data_ref.status, {"resourceType": "OperationOutcome"})
                parts = urlsplit(self.path)
                segments = parts.path.strip("/").split("/")[1:]  # after "fhir"
                if self.path in data_ref.pages:
                    return self.reply(200, data_ref.pages[self.path])
                if len(segments) == 2:
                    found = data_ref.resources.get(segments[0], {}).get(segments[1])
                    return self.reply(200, found) if found else self.reply(404, {})
                if len(segments) == 1:
                    return self.reply(200, data_ref.search(segments[0], parse_qs(parts.query)))
                return self.reply(404, {})

            def reply(self, status: int, body: dict[str, Any]) -> None:
                payload = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/fhir+json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                # The caller may have given up waiting: what the slow-server test is about.
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    self.wfile.write(payload)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> str:
        self.thread.start()
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/fhir"

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


@pytest.fixture(scope="module")
def db_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    return f"sqlite:///{tmp_path_factory.mktemp('cds') / 'cds.db'}"


def _outcomes(url: str, service_id: str | None = None) -> list[CardOutcome]:
    """The card outcomes the store at `url` holds (what the feedback endpoints kept)."""
    with contextlib.closing(Store.open(url)) as store:
        return store.card_outcomes(service_id)


def _router(settings_: Settings) -> APIRouter:
    """The CDS routes alone, over a store for the settings' database (closed once built)."""
    with contextlib.closing(Store.open(settings_.database_url)) as store:
        return create_router(settings_, store)


@pytest.fixture(scope="module")
def cds(db_url: str) -> Iterator[str]:
    """The service with JWT checks off (they have their own tests below)."""
    with LiveServer(cds_app(Settings(cds_auth="off", database_url=db_url))) as url:
        yield url


@pytest.fixture(scope="module")
def fhir() -> Iterator[tuple[str, FhirData]]:
    data = FhirData()
    load_synthea(data)
    with FhirServer(data) as url:
        yield url, data


@pytest.fixture
def fhir_data(fhir: tuple[str, FhirData]) -> Iterator[FhirData]:
    """The loopback server's data for one test; what a test adds is gone afterwards."""
    data = fhir[1]
    saved = copy.deepcopy(data.resources)
    yield data
    data.resources, data.pages, data.token, data.delay, data.status = saved, {}, None, 0.0, 200
    data.requests.clear()


def post(url: str, service: str, body: Any, **kwargs: Any) -> httpx.Response:
    return httpx.post(f"{url}/cds-services/{service}", json=body, timeout=10, **kwargs)


def cards_of(response: httpx.Response) -> list[dict[str, Any]]:
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"cards"}
    for card in body["cards"]:
        assert_spec_card(card)
    cards: list[dict[str, Any]] = body["cards"]
    return cards


def assert_spec_card(card: dict[str, Any]) -> None:
    """The CDS Hooks 2.0 card rules, on the wire."""
    assert set(card) <= {
        "uuid",
        "summary",
        "detail",
        "indicator",
        "source",
        "suggestions",
        "selectionBehavior",
        "overrideReasons",
        "links",
    }
    assert 0 < len(card["summary"]) < 140
    assert card["indicator"] in {"info", "warning", "critical"}
    assert card["source"]["label"]
    assert all(value not in (None, "", [], {}) for value in card.values())
    for reason in card.get("overrideReasons", []):
        assert reason["code"]
        assert reason["display"]  # the spec: a display for every override reason
    suggestions = card.get("suggestions", [])
    if suggestions:
        assert card["selectionBehavior"] in {"at-most-one", "any"}
    ids = [card["uuid"]] + [s["uuid"] for s in suggestions]
    assert len(set(ids)) == len(ids)
    for suggestion in suggestions:
        for action in suggestion["actions"]:
            assert action["type"] in {"create", "update", "delete"}
            assert action["description"]


def call_log(caplog: pytest.LogCaptureFixture) -> str:
    """The one line the service logged about what the call held that it read past."""
    lines = [
        r.getMessage()
        for r in caplog.records
        if r.name == "ldnkit.cdshooks" and r.getMessage().startswith("CDS Hooks call")
    ]
    assert len(lines) == 1, lines
    return lines[0]


def refusal(response: httpx.Response, status: int) -> str:
    assert response.status_code == status, response.text
    outcome = response.json()
    assert outcome["resourceType"] == "OperationOutcome"
    return " | ".join(issue["diagnostics"] for issue in outcome["issue"])


# --- discovery --------------------------------------------------------------------------------


def test_discovery_lists_three_services_with_the_contract_prefetch(cds: str) -> None:
    services = httpx.get(f"{cds}/cds-services").json()["services"]
    assert {s["hook"] for s in services} == {"patient-view", "order-select", "order-sign"}
    for service in services:
        assert service["description"]
        assert service["prefetch"] == {
            "patient": "Patient/{{context.patientId}}",
            "medications": "MedicationRequest?patient={{context.patientId}}&status=active",
            "conditions": "Condition?patient={{context.patientId}}",
        }


# --- published opioid CDS requests --------------------------------------------------------------


def test_opioid_cds_order_sign_for_patient_on_ldn_gets_a_critical_card(
    cds: str, fhir: tuple[str, FhirData], fhir_data: FhirData
) -> None:
    request = fixture("opioid-cds-rec-04-long-acting-opioid.json")
    patient = "example-rec-04-long-acting-opioid"
    fhir_data.add(request["prefetch"]["item3"]["resource"])
    fhir_data.add(med_request("ldn", patient, "naltrexone 4.5 mg oral capsule"))
    request["fhirServer"] = fhir[0]  # the published localhost:8080 is the loopback server here
    cards = cards_of(post(cds, "ldn-order-sign", request))
    assert [c["indicator"] for c in cards] == ["critical"]
    assert "Oxycodone" in cards[0]["summary"]
    removal = cards[0]["suggestions"][0]["actions"][0]
    assert removal == {
        "type": "delete",
        "description": removal["description"],
        "resourceId": "MedicationRequest/example-rec-04-long-acting-opioid-context",
    }
    # The patientId came as "Patient/<id>": the fetch asked for the bare id.
    assert any(f"patient={patient}&status=active" in path for path, _ in fhir_data.requests)


def test_opioid_cds_order_sign_without_naltrexone_gets_no_card(
    cds: str, fhir: tuple[str, FhirData], fhir_data: FhirData
) -> None:
    request = fixture("opioid-cds-rec-04-long-acting-opioid.json")
    request["fhirServer"] = fhir[0]
    assert cards_of(post(cds, "ldn-order-sign", request)) == []


def test_opioid_cds_request_as_published_answers_412_when_its_fhir_server_is_down(
    cds: str,
) -> None:
    request = fixture("opioid-cds-rec-04-long-acting-opioid.json")
    request["fhirServer"] = f"http://127.0.0.1:{closed_port()}/fhir"  # nothing listens there
    reason = refusal(post(cds, "ldn-order-sign", request), 412)
    assert "MedicationRequest?patient=example-rec-04-long-acting-opioid" in reason


def test_fentanyl_for_patient_on_naloxone_gets_no_card(cds: str) -> None:
    request = fixture("opioid-cds-rec-08-on-naloxone.json")
    # This service's own prefetch key, holding the medication the published request prefetched.
    request["prefetch"]["medications"] = searchset(request["prefetch"]["item2"]["resource"])
    assert cards_of(post(cds, "ldn-order-sign", request)) == []


def test_fentanyl_for_patient_on_naloxone_and_ldn_gets_a_critical_card(cds: str) -> None:
    request = fixture("opioid-cds-rec-08-on-naloxone.json")
    ldn = med_request("ldn", "example-rec-08-on-naloxone", "LDN 3 mg capsule")
    request["prefetch"]["medications"] = searchset(request["prefetch"]["item2"]["resource"], ldn)
    cards = cards_of(post(cds, "ldn-order-sign", request))
    assert [c["indicator"] for c in cards] == ["critical"]
    assert "Fentanyl" in cards[0]["summary"]


def test_order_select_oxycodone_for_patient_on_flurazepam_gets_no_card(cds: str) -> None:
    request = fixture("opioid-cds-rec-11-opioid-trigger-with-benzo.json")
    request["prefetch"]["medications"] = searchset(request["prefetch"]["item4"]["resource"])
    assert cards_of(post(cds, "ldn-order-select", request)) == []


def test_order_select_oxycodone_for_patient_on_ldn_gets_a_critical_card(cds: str) -> None:
    request = fixture("opioid-cds-rec-11-opioid-trigger-with-benzo.json")
    ldn = med_request("ldn", "example-rec-11-opioid-trigger-with-benzo", "naltrexone 1.5 mg")
    request["prefetch"]["medications"] = searchset(request["prefetch"]["item4"]["resource"], ldn)
    cards = cards_of(post(cds, "ldn-order-select", request))
    assert [c["indicator"] for c in cards] == ["critical"]


def test_ldn_ordered_for_the_opioid_cds_patient_on_oxycodone_is_critical(cds: str) -> None:
    # rec-10's patient takes oxycodone ER and fentanyl; an LDN draft is signed for them.
    request = fixture("opioid-cds-rec-10-patient-view-illicit-drugs.json")
    medications = request["prefetch"]["item2"]["resource"]
    patient = "example-rec-10-illicit-drugs"
    sign = {
        "hook": "order-sign",
        "hookInstance": str(uuid.uuid4()),
        "context": {
            "userId": "Practitioner/example",
            "patientId": f"Patient/{patient}",
            "draftOrders": {
                "resourceType": "Bundle",
                "entry": [{"resource": med_request("ldn-draft", patient, "LDN 1.5 mg", "draft")}],
            },
        },
        "prefetch": {"medications": medications},
    }
    cards = cards_of(post(cds, "ldn-order-sign", sign))
    assert [c["indicator"] for c in cards] == ["critical"]
    assert cards[0]["suggestions"][0]["actions"][0]["resourceId"] == "MedicationRequest/ldn-draft"


def test_patient_view_for_opioid_cds_patient_without_naltrexone_gets_no_card(cds: str) -> None:
    request = fixture("opioid-cds-rec-10-patient-view-illicit-drugs.json")
    prefetch = request["prefetch"]
    request["prefetch"] = {
        "patient": prefetch["item1"]["resource"],
        "medications": prefetch["item2"]["resource"],
        "conditions": None,  # the EHR has none
    }
    assert cards_of(post(cds, "ldn-patient-view", request)) == []


def test_patient_view_for_patient_on_ldn_and_opioids_shows_the_screen(cds: str) -> None:
    request = fixture("opioid-cds-rec-10-patient-view-illicit-drugs.json")
    prefetch = request["prefetch"]
    bundle = prefetch["item2"]["resource"]
    bundle["entry"].append(
        {"resource": med_request("ldn", "example-rec-10-illicit-drugs", "LDN 4.5 mg")}
    )
    request["prefetch"] = {
        "patient": prefetch["item1"]["resource"],
        "medications": bundle,
        "conditions": None,
    }
    cards = cards_of(post(cds, "ldn-patient-view", request))
    assert len(cards) == 1
    assert cards[0]["indicator"] == "warning"  # critical is kept for the order hooks
    assert cards[0]["summary"] == (
        "On naltrexone 4.5 mg: LDN safety screen says contraindicated (Active opioid)"
    )
    assert "opioid" in cards[0]["detail"].lower()
    assert "**Sources**" in cards[0]["detail"]


# --- published spec examples -------------------------------------------------------------------


def test_spec_order_sign_example_gets_no_card(cds: str) -> None:
    request = spec_context_request("spec-order-sign-context.json", "order-sign")
    request["prefetch"] = {"medications": searchset()}
    assert cards_of(post(cds, "ldn-order-sign", request)) == []


def test_spec_order_select_example_on_ldn_asks_only_to_confirm_its_unknown_code(cds: str) -> None:
    request = spec_context_request("spec-order-select-context.json", "order-select")
    ldn = med_request("ldn", "1288992", "naltrexone 4.5 mg")
    request["prefetch"] = {"medications": searchset(ldn)}
    # Amoxicillin by name, but RxNorm 617993 is not in the lexicon: the same medication the
    # screen calls "not fully recognised" is not waved through at order time either.
    [card] = cards_of(post(cds, "ldn-order-select", request))
    assert card["indicator"] == "warning"
    assert "not fully recognised" in card["summary"]
    assert "RxNorm code 617993" in card["detail"]


def test_spec_order_select_example_gets_no_card_without_naltrexone(cds: str) -> None:
    request = spec_context_request("spec-order-select-context.json", "order-select")
    request["prefetch"] = {"medications": searchset()}
    assert cards_of(post(cds, "ldn-order-select", request)) == []


def test_spec_patient_view_fetches_with_the_lent_token(
    cds: str, fhir: tuple[str, FhirData], fhir_data: FhirData
) -> None:
    request = fixture("spec-patient-view-request.json")
    fhir_data.add(request["prefetch"]["patientToGreet"])
    fhir_data.add(med_request("ldn", "1288992", "naltrexone 4.5 mg capsule"))
    fhir_data.token = TOKEN
    request["fhirServer"] = fhir[0]
    cards = cards_of(post(cds, "ldn-patient-view", request))
    assert len(cards) == 1
    assert cards[0]["summary"] == "On naltrexone 4.5 mg: LDN safety screen says eligible"
    assert cards[0]["indicator"] == "info"
    # patientToGreet is not one of this service's keys: all three were fetched, with the token.
    paths = sorted(path.split("?")[0] for path, _ in fhir_data.requests)
    assert paths == ["/fhir/Condition", "/fhir/MedicationRequest", "/fhir/Patient/1288992"]
    assert {auth for _, auth in fhir_data.requests} == {f"Bearer {TOKEN}"}


# --- fetching from the EHR's FHIR server -------------------------------------------------------


def synthea_order_sign(fhir_url: str, patient: str = IBUPROFEN_PATIENT) -> dict[str, Any]:
    """The opioid CDS rec-04 oxycodone draft, signed for a Synthea patient."""
    request = fixture("opioid-cds-rec-04-long-acting-opioid.json")
    request["context"]["patientId"] = patient
    request["fhirServer"] = fhir_url
    request["fhirAuthorization"] = {
        "access_token": TOKEN,
        "token_type": "Bearer",
        "expires_in": 300,
        "scope": "user/*.read",
        "subject": "ldn",
    }
    del request["prefetch"]
    return request


def test_synthea_patient_fetched_from_fhir_server_gets_no_card(
    cds: str, fhir: tuple[str, FhirData], fhir_data: FhirData
) -> None:
    assert cards_of(post(cds, "ldn-order-sign", synthea_order_sign(fhir[0]))) == []
    assert [a for _, a in fhir_data.requests] == [f"Bearer {TOKEN}"]


def test_synthea_patient_with_ldn_added_gets_a_critical_card(
    cds: str, fhir: tuple[str, FhirData], fhir_data: FhirData
) -> None:
    fhir_data.add(med_request("ldn", IBUPROFEN_PATIENT, "Low dose naltrexone 4.5 mg capsule"))
    cards = cards_of(post(cds, "ldn-order-sign", synthea_order_sign(fhir[0])))
    assert [c["indicator"] for c in cards] == ["critical"]


def test_next_pages_of_prefetched_medications_are_fetched(
    cds: str, fhir: tuple[str, FhirData], fhir_data: FhirData
) -> None:
    request = synthea_order_sign(fhir[0])
    page2 = f"{fhir[0]}/MedicationRequest?patient={IBUPROFEN_PATIENT}&status=active&page=2"
    fhir_data.pages["/fhir/" + page2.split("/fhir/")[1]] = searchset(
        med_request("ldn", IBUPROFEN_PATIENT, "naltrexone 3 mg")
    )
    request["prefetch"] = {"medications": searchset(next_url=page2)}
    cards = cards_of(post(cds, "ldn-order-sign", request))
    assert [c["indicator"] for c in cards] == ["critical"]


def test_fhir_server_refusing_the_token_gives_412(
    cds: str, fhir: tuple[str, FhirData], fhir_data: FhirData
) -> None:
    fhir_data.token = "another-token"
    reason = refusal(post(cds, "ldn-order-sign", synthea_order_sign(fhir[0])), 412)
    assert "HTTP 401" in reason


def test_slow_fhir_server_gives_412_once_and_is_not_asked_again_at_once(cds: str) -> None:
    slow = FhirData(delay=2.5)  # beyond the 2 s read timeout; a server of its own, since the
    with FhirServer(slow) as url:  # service leaves a failed server alone for a while after
        first = post(cds, "ldn-order-sign", synthea_order_sign(url))
        assert "ReadTimeout" in refusal(first, 412)
        second = post(cds, "ldn-order-sign", synthea_order_sign(url))
        assert "failed moments ago" in refusal(second, 412)
    assert len(slow.requests) == 1  # one attempt, no retries, no second call


def test_orders_the_rules_do_not_read_need_no_patient_data(cds: str) -> None:
    # The spec's order-sign example (a diet and amoxicillin) with no prefetch, no fhirServer.
    # Its RxNorm code is not in the lexicon (an unknown the rule would have to weigh against the
    # record), so the order names its drug by text alone here: fully read, no opioid.
    request = spec_context_request("spec-order-sign-context.json", "order-sign")
    for entry in request["context"]["draftOrders"]["entry"]:
        concept = entry["resource"].get("medicationCodeableConcept")
        if concept:
            concept.pop("coding")
    assert cards_of(post(cds, "ldn-order-sign", request)) == []


def test_an_order_with_an_unknown_code_needs_the_record_to_be_weighed(cds: str) -> None:
    # The same example as published: RxNorm 617993 is unknown, so the rule must see whether the
    # patient takes naltrexone; with no prefetch and no fhirServer it cannot, and says so.
    request = spec_context_request("spec-order-sign-context.json", "order-sign")
    reason = refusal(post(cds, "ldn-order-sign", request), 412)
    assert "no fhirServer" in reason


def test_missing_prefetch_without_fhir_server_gives_412_naming_the_query(cds: str) -> None:
    request = fixture("opioid-cds-rec-04-long-acting-opioid.json")
    del request["fhirServer"]
    reason = refusal(post(cds, "ldn-order-sign", request), 412)
    assert "'medications'" in reason
    assert "no fhirServer" in reason


def test_prefetch_answered_with_an_error_outcome_is_fetched_instead(
    cds: str, fhir: tuple[str, FhirData], fhir_data: FhirData
) -> None:
    fhir_data.add(med_request("ldn", IBUPROFEN_PATIENT, "naltrexone 4.5 mg"))
    request = synthea_order_sign(fhir[0])
    request["prefetch"] = {
        "medications": {
            "resourceType": "OperationOutcome",
            "issue": [{"severity": "error", "code": "timeout"}],
        }
    }
    assert [c["indicator"] for c in cards_of(post(cds, "ldn-order-sign", request))] == ["critical"]


# --- malformed requests: 400/404 with a reason, never 500 ---------------------------------------


def test_malformed_json_is_400_with_a_reason(cds: str) -> None:
    response = httpx.post(
        f"{cds}/cds-services/ldn-order-sign",
        content=b"{not json",
        headers={"Content-Type": "application/json"},
    )
    assert "invalid JSON at line 1 column 2" in refusal(response, 400)


def test_nan_is_not_json_and_is_400(cds: str) -> None:
    body = b'{"hook": "order-sign", "hookInstance": "x", "context": {"patientId": NaN}}'
    response = httpx.post(f"{cds}/cds-services/ldn-order-sign", content=body)
    assert "NaN and Infinity are not JSON" in refusal(response, 400)


def test_missing_hook_fields_are_each_named(cds: str) -> None:
    reason = refusal(post(cds, "ldn-order-sign", {"fhirServer": "https://ehr.example.org"}), 400)
    for name in ("hook:", "context:"):
        assert name in reason
    # hookInstance names the call, but the service can act without it: no reason to refuse.
    assert "hookInstance" not in reason


def test_wrong_hook_for_the_service_is_400(cds: str) -> None:
    request = spec_context_request("spec-order-sign-context.json", "patient-view")
    assert "expected 'order-sign'" in refusal(post(cds, "ldn-order-sign", request), 400)


def test_order_select_without_selections_checks_every_draft(
    cds: str, caplog: pytest.LogCaptureFixture
) -> None:
    # Which drafts were selected is unknown: all are checked, a check too many rather than one
    # missed (the contract: a 400 only when the service cannot act).
    request = spec_context_request("spec-order-select-context.json", "order-select")
    del request["context"]["selections"]
    draft = request["context"]["draftOrders"]["entry"][1]["resource"]
    draft["medicationCodeableConcept"] = {"text": "oxycodone 5 mg tablet"}
    request["prefetch"] = {"medications": searchset(med_request("ldn", "1288992", "LDN 4.5 mg"))}
    with caplog.at_level(logging.INFO, logger="ldnkit.cdshooks"):
        cards = cards_of(post(cds, "ldn-order-select", request))
    assert [c["indicator"] for c in cards] == ["critical"]
    assert "context.selections: got nothing" in call_log(caplog)


def test_patient_id_that_is_no_fhir_id_is_400(cds: str) -> None:
    request = spec_context_request("spec-order-sign-context.json", "order-sign")
    request["context"]["patientId"] = "../../admin?x=1"
    assert "context.patientId" in refusal(post(cds, "ldn-order-sign", request), 400)


def test_draft_order_whose_medication_cannot_be_read_gets_a_card_saying_it_was_not_checked(
    cds: str, caplog: pytest.LogCaptureFixture
) -> None:
    request = spec_context_request("spec-order-sign-context.json", "order-sign")
    request["prefetch"] = {"medications": searchset()}
    request["context"]["draftOrders"]["entry"][1]["resource"]["medicationCodeableConcept"] = 7
    with caplog.at_level(logging.INFO, logger="ldnkit.cdshooks"):
        cards = cards_of(post(cds, "ldn-order-sign", request))
    assert [c["indicator"] for c in cards] == ["warning"]
    assert "not checked" in cards[0]["summary"]
    assert "smart-MedicationRequest-103" in cards[0]["detail"]
    logged = call_log(caplog)
    assert "context.draftOrders.entry[1].resource.medicationCodeableConcept: got 7" in logged


def test_misspelled_top_level_field_is_ignored_and_logged(
    cds: str, caplog: pytest.LogCaptureFixture
) -> None:
    request = spec_context_request("spec-order-sign-context.json", "order-sign")
    request["prefetch"] = {"medications": searchset()}  # the record: no naltrexone
    request["hookInstanse"] = request.pop("hookInstance")
    with caplog.at_level(logging.INFO, logger="ldnkit.cdshooks"):
        assert cards_of(post(cds, "ldn-order-sign", request)) == []
    logged = call_log(caplog)
    assert "ignored 1 member(s): hookInstanse" in logged
    assert "hookInstance: got nothing" in logged


def test_unknown_service_is_404(cds: str) -> None:
    assert "no CDS service" in refusal(post(cds, "opioid-helper", {}), 404)


def test_body_larger_than_the_limit_is_413(cds: str) -> None:
    big = b'{"hook": "' + b"x" * (6 * 1024 * 1024) + b'"}'
    response = httpx.post(f"{cds}/cds-services/ldn-order-sign", content=big, timeout=10)
    assert "at most" in refusal(response, 413)


JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=12,
)
# Where a mangled value goes: top-level fields, hook context, prefetch, the draft order itself.
PLACES = [
    ("hook",), ("hookInstance",), ("context",), ("prefetch",), ("fhirServer",),
    ("fhirAuthorization",), ("context", "patientId"), ("context", "draftOrders"),
    ("context", "selections"), ("context", "draftOrders", "entry"),
    ("context", "draftOrders", "entry", 1), ("context", "draftOrders", "entry", 1, "resource"),
    ("context", "draftOrders", "entry", 1, "resource", "medicationCodeableConcept"),
    ("context", "draftOrders", "entry", 1, "resource", "dosageInstruction"),
    ("context", "draftOrders", "entry", 1, "resource", "contained"),
    ("prefetch", "medications"), ("prefetch", "medications", "entry"), ("prefetch", "patient"),
]  # fmt: skip


@settings(
    max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    value=JSON,
    place=st.sampled_from(PLACES),
    service=st.sampled_from(["ldn-order-sign", "ldn-order-select", "ldn-patient-view"]),
)
def test_no_mangled_request_gets_a_500(
    cds: str, value: Any, place: tuple[Any, ...], service: str
) -> None:
    request = spec_context_request("spec-order-sign-context.json", service.removeprefix("ldn-"))
    request["context"]["selections"] = ["MedicationRequest/smart-MedicationRequest-103"]
    # An opioid draft, so the order hooks read the patient's record too.
    draft = request["context"]["draftOrders"]["entry"][1]["resource"]
    draft["medicationCodeableConcept"] = {"text": "oxycodone 5 mg tablet"}
    ldn = med_request("ldn", "1288992", "naltrexone 4.5 mg")
    request["prefetch"] = {"patient": None, "conditions": None, "medications": searchset(ldn)}
    target: Any = request
    for key in place[:-1]:
        target = target[key]
    target[place[-1]] = value
    assert post(cds, service, request).status_code in {200, 400, 412}
    assert post(cds, service, value).status_code in {200, 400, 412}


# The review found 500s here: an object where a code belongs, a lone surrogate in an id, and JSON
# nested 500 to 980 deep. Each is now a 400 OperationOutcome naming the field.
def _sign_with_draft(**changes: Any) -> dict[str, Any]:
    request = spec_context_request("spec-order-sign-context.json", "order-sign")
    request["prefetch"] = {"medications": searchset()}
    request["context"]["draftOrders"]["entry"][1]["resource"].update(changes)
    return request


def _post_text(url: str, service: str, text: str) -> httpx.Response:
    """POST JSON text as written (json.dumps escapes lone surrogates as \\ud800)."""
    headers = {"Content-Type": "application/json"}
    return httpx.post(f"{url}/cds-services/{service}", content=text, headers=headers, timeout=10)


@pytest.mark.parametrize("value", [{"coding": []}, ["active"], 7])
def test_an_opioid_draft_whose_status_is_no_code_is_still_read_as_ordered(
    cds: str, value: Any
) -> None:
    # A draft is an order being placed whatever its status says, so a mistyped status must
    # neither crash the call nor hide the opioid from the rule.
    request = _sign_with_draft(status=value, medicationCodeableConcept={"text": "oxycodone 5 mg"})
    request["prefetch"]["medications"] = searchset(med_request("ldn", "1288992", "LDN 4.5 mg"))
    cards = cards_of(post(cds, "ldn-order-sign", request))
    assert [c["indicator"] for c in cards] == ["critical"]


@pytest.mark.parametrize("value", [{"text": "MedicationRequest"}, ["MedicationRequest"]])
def test_a_prefetched_resource_type_that_is_no_text_is_not_a_500(cds: str, value: Any) -> None:
    request = _sign_with_draft(medicationCodeableConcept={"text": "oxycodone 5 mg tablet"})
    ldn = med_request("ldn", "1288992", "naltrexone 4.5 mg")
    request["prefetch"]["medications"] = searchset(ldn, {**ldn, "id": "x", "resourceType": value})
    response = post(cds, "ldn-order-sign", request)
    assert response.status_code in {200, 400}, response.text
    if response.status_code == 400:
        assert "resourceType" in refusal(response, 400)


def test_a_lone_surrogate_in_a_draft_id_is_read_past_and_logged_escaped(
    cds: str, caplog: pytest.LogCaptureFixture
) -> None:
    # An id that is no FHIR id does not change which drug is ordered: the order is read, the id
    # left out (it would otherwise reach the card and fail to encode), the problem logged.
    request = _sign_with_draft(id="\ud800", medicationCodeableConcept={"text": "oxycodone 5 mg"})
    request["prefetch"]["medications"] = searchset(med_request("ldn", "1288992", "LDN 4.5 mg"))
    text = json.dumps(request)  # ensure_ascii: "\ud800" as JSON writes it
    with caplog.at_level(logging.INFO, logger="ldnkit.cdshooks"):
        cards = cards_of(_post_text(cds, "ldn-order-sign", text))
    assert [c["indicator"] for c in cards] == ["critical"]
    logged = call_log(caplog)
    assert "context.draftOrders.entry[1].resource.id" in logged
    assert "\\ud800" in logged


def test_a_lone_surrogate_in_a_field_name_is_ignored_and_logged_escaped(
    cds: str, caplog: pytest.LogCaptureFixture
) -> None:
    request = _sign_with_draft()
    request["hook\udc00"] = "x"
    with caplog.at_level(logging.INFO, logger="ldnkit.cdshooks"):
        assert cards_of(_post_text(cds, "ldn-order-sign", json.dumps(request))) == []
    assert "ignored 1 member(s): hook\\udc00" in call_log(caplog)


@pytest.mark.parametrize("depth", [500, 700, 980, 1000, 100_000])
def test_deeply_nested_json_is_400_with_an_operation_outcome(cds: str, depth: int) -> None:
    request = json.dumps(_sign_with_draft())
    text = request[:-1] + ', "extension": {"x": ' + "[" * depth + "]" * depth + "}}"
    reason = refusal(_post_text(cds, "ldn-order-sign", text), 400)
    assert "nested more than 64 levels deep" in reason


def test_a_5000_digit_number_is_400_with_an_operation_outcome(cds: str) -> None:
    text = json.dumps(_sign_with_draft()).replace(
        '"draftOrders"', '"n": ' + "9" * 5000 + ', "draftOrders"'
    )
    assert "longer than 4300 digits" in refusal(_post_text(cds, "ldn-order-sign", text), 400)


CDC = FIXTURES.parent / "cdc-cds-requests"
PUBLISHED = {
    path.name: data
    for path in sorted([*CDC.glob("*.json"), *FIXTURES.glob("*.json")])
    if isinstance(data := json.loads(path.read_text()), dict) and "hook" in data
}
SERVICE_FOR = {"patient-view": "ldn-patient-view", "order-select": "ldn-order-select"}


def _resources_in(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict) and node.get("resourceType") == "Bundle":
        for entry in node.get("entry") or []:
            if isinstance(entry, dict):
                yield from _resources_in(entry.get("resource"))
    elif isinstance(node, dict) and "resourceType" in node:
        yield node


def as_this_service_reads_it(published: dict[str, Any]) -> dict[str, Any]:
    """A published request with this service's prefetch keys, filled from the resources the
    file carries, so a mangled value reaches the FHIR reading and the rules, not just the
    envelope (the published files use their own prefetch keys and extra members)."""
    keys = ("hook", "hookInstance", "context")
    request: dict[str, Any] = {k: published[k] for k in keys if k in published}
    found: dict[tuple[str, Any], dict[str, Any]] = {}
    for key, value in published.items():
        if key == "prefetch" or key.startswith("item"):
            for held in (value or {}).values() if key == "prefetch" else [value]:
                for resource in _resources_in(held):
                    found.setdefault((resource["resourceType"], resource.get("id")), resource)
    resources = list(found.values())
    patients = [r for r in resources if r["resourceType"] == "Patient"]
    request["prefetch"] = {
        "patient": patients[0] if patients else None,
        "medications": searchset(
            *(r for r in resources if r["resourceType"] == "MedicationRequest")
        ),
        "conditions": searchset(*(r for r in resources if r["resourceType"] == "Condition")),
    }
    orders = request["context"].get("draftOrders")
    if isinstance(orders, dict) and orders.get("resourceType") != "Bundle":
        request["context"]["draftOrders"] = searchset(orders)  # two files send it bare
    return request


def _positions(node: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield path
    if isinstance(node, dict):
        for key, child in node.items():
            yield from _positions(child, (*path, key))
    elif isinstance(node, list):
        for index, child in enumerate(node):
            yield from _positions(child, (*path, index))


HUGE = "__a 5000-digit integer__"  # written into the JSON text as digits (json.dumps cannot)
WRONG_TYPES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=6),
    st.sampled_from(["\ud800", "x\udfffy", HUGE, "", " "]),
    st.lists(st.integers() | st.text(max_size=3), max_size=2),
    st.dictionaries(st.text(max_size=4), st.integers() | st.none(), max_size=2),
)


# What a service cannot act without (DESIGN.md, CDS Hooks): only a value or a missing member
# there may be refused. A wrong type anywhere else is read past: 200, or 412 when the patient's
# data can no longer be had.
CANNOT_ACT_WITHOUT = {
    (),
    ("hook",),
    ("context",),
    ("context", "patientId"),
    ("context", "draftOrders"),
    ("context", "draftOrders", "entry"),
}


def may_be_refused(place: tuple[Any, ...], value: Any) -> bool:
    # JSON the service cannot parse at all is refused wherever it stands: a 5000-digit number,
    # a NUL character (kept out at the door, as for every body ldnkit reads).
    unparsable = value == HUGE or "\\u0000" in json.dumps(value)
    return unparsable or place in CANNOT_ACT_WITHOUT


@settings(
    max_examples=300,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_no_wrong_type_anywhere_in_a_real_request_gets_a_500_or_an_undue_400(
    cds: str, data: st.DataObject
) -> None:
    name = data.draw(st.sampled_from(sorted(PUBLISHED)), label="file")
    request = copy.deepcopy(PUBLISHED[name])
    if data.draw(st.booleans(), label="with this service's prefetch keys"):
        request = as_this_service_reads_it(request)
    elif "fhirServer" in request:
        request["fhirServer"] = f"http://127.0.0.1:{closed_port()}/fhir"  # never a real server
    positions = list(_positions(request))
    place = data.draw(st.sampled_from(positions), label="position")
    value = data.draw(WRONG_TYPES, label="value")
    rename = data.draw(st.booleans(), label="also a lone surrogate in the key")
    if not place:
        request = value
    else:
        parent = request
        for key in place[:-1]:
            parent = parent[key]
        parent[place[-1]] = value
        if rename and isinstance(parent, dict):
            parent["\udc00" + place[-1]] = parent.pop(place[-1])
    text = json.dumps(request).replace(json.dumps(HUGE), "9" * 5000)
    service = SERVICE_FOR.get(str(PUBLISHED[name]["hook"]), "ldn-order-sign")
    response = _post_text(cds, service, text)
    assert response.status_code in {200, 400, 412}, response.text
    if not may_be_refused(place, value):
        assert response.status_code != 400, response.text
    body = response.json()
    if response.status_code == 200:
        assert set(body) == {"cards"}
    else:
        assert body["resourceType"] == "OperationOutcome"
        assert all(issue["diagnostics"] for issue in body["issue"])


# --- real EHR payloads read for what they hold ---------------------------------------------------
# The CDC's published requests (tests/fixtures/cdc-cds-requests), given this service's prefetch
# keys where a test says so: the quirks under test are the CDC's own.


def cdc(name: str) -> dict[str, Any]:
    return copy.deepcopy(PUBLISHED[name])


def test_prefetched_medications_sent_as_a_bare_resource_are_read_as_a_bundle(
    cds: str, caplog: pytest.LogCaptureFixture
) -> None:
    request = cdc("request-example-rec-07-seven-of-past-ten-days.json")
    # Its prefetch item1 is the patient's active oxycodone, a bare MedicationRequest: here it
    # goes under `medications` as it is. The draft is now LDN, itself a bare resource too.
    request["prefetch"]["medications"] = request["prefetch"]["item1"]
    patient = "example-rec-07-seven-of-past-ten-days"
    request["context"]["draftOrders"] = med_request("ldn", patient, "LDN 1.5 mg", "draft")
    del request["fhirServer"]  # nothing can be fetched: the prefetch alone must tell
    with caplog.at_level(logging.INFO, logger="ldnkit.cdshooks"):
        cards = cards_of(post(cds, "ldn-order-sign", request))
    assert [c["indicator"] for c in cards] == ["critical"]
    assert "oxycodone" in cards[0]["summary"].lower()
    logged = call_log(caplog)
    assert 'prefetch.medications: got a bare "MedicationRequest"' in logged
    assert "context.draftOrders: got a bare MedicationRequest" in logged
    assert "ignored" in logged  # the CDC's own keys and members: item1 ... item14


def test_prefetched_patient_sent_as_a_bundle_entry_is_read(
    cds: str, caplog: pytest.LogCaptureFixture
) -> None:
    request = cdc("request-example-rec-10-patient-view-2-illicit-drugs.json")
    prefetch = request["prefetch"]
    patient = "example-rec-10-patient-view-2-illicit-drugs"
    medications = prefetch["item2"]  # oxycodone ER and fentanyl, active
    medications["entry"].append({"resource": med_request("ldn", patient, "LDN 4.5 mg")})
    # item1 is `{"response": ..., "resource": Patient}`: a Bundle entry, sent as it is.
    request["prefetch"] = {"patient": prefetch["item1"], "medications": medications}
    request["prefetch"]["conditions"] = None
    with caplog.at_level(logging.INFO, logger="ldnkit.cdshooks"):
        cards = cards_of(post(cds, "ldn-patient-view", request))
    assert [c["summary"] for c in cards] == [
        "On naltrexone 4.5 mg: LDN safety screen says contraindicated (Active opioid)"
    ]
    assert "prefetch.patient: got a Bundle entry" in call_log(caplog)


def test_a_record_medication_that_names_no_drug_is_shown_as_unrecognised(cds: str) -> None:
    request = cdc("request-example-rec-10-patient-view-no-screenings-by-reference.json")
    patient = "example-rec-10-no-screenings"
    unreadable = request["item2"]["entry"][1]["resource"]  # oxycodone, by medicationReference
    del unreadable["medicationReference"]["display"]  # now nothing says which drug it is
    request["prefetch"] = {
        "patient": request["prefetch"]["item1"],
        "medications": searchset(unreadable, med_request("ldn", patient, "LDN 4.5 mg")),
        "conditions": None,
    }
    cards = cards_of(post(cds, "ldn-patient-view", request))
    assert len(cards) == 1
    assert cards[0]["indicator"] == "warning"  # never the "eligible" of a clean record
    assert "Unnamed medication: the screen could not read" in cards[0]["detail"]


def test_a_prefetched_medication_missing_subject_and_intent_is_still_read(
    cds: str, caplog: pytest.LogCaptureFixture
) -> None:
    request = cdc("request-example-rec-04-05-mme-greater-than-fifty.json")  # a fentanyl draft
    ldn = med_request("ldn", "example-rec-05-mme-greater-than-fifty", "LDN 3 mg capsule")
    del ldn["subject"], ldn["intent"]
    request["prefetch"]["medications"] = searchset(ldn)
    with caplog.at_level(logging.INFO, logger="ldnkit.cdshooks"):
        cards = cards_of(post(cds, "ldn-order-sign", request))
    assert [c["indicator"] for c in cards] == ["critical"]
    assert "Fentanyl" in cards[0]["summary"]
    assert "MedicationRequest/ldn.subject: got nothing" in call_log(caplog)


def test_an_unusable_fhir_server_matters_only_when_data_must_be_fetched(cds: str) -> None:
    request = cdc("HelloWorld.json")  # fhirServer is the template "{{fhirServerUrl}}"
    reason = refusal(post(cds, "ldn-patient-view", request), 412)
    assert "no fhirServer to fetch Patient/hello-world-patient from" in reason
    request["prefetch"] = {"patient": None, "medications": None, "conditions": None}
    assert cards_of(post(cds, "ldn-patient-view", request)) == []


# --- feedback -----------------------------------------------------------------------------------


def test_feedback_outcomes_are_stored(cds: str, db_url: str) -> None:
    card = str(uuid.uuid4())
    feedback: dict[str, Any] = {
        "feedback": [
            {
                "card": card,
                "outcome": "accepted",
                "acceptedSuggestions": [{"id": "s-1"}],
                "outcomeTimestamp": "2026-11-23T10:05:31Z",
            },
            {
                "card": card,
                "outcome": "overridden",
                "outcomeTimestamp": "2026-11-23T10:06:00Z",
                "overrideReason": {
                    "reason": {
                        "code": "stopped",
                        "system": "https://ehr.example.org/r",
                        "display": "Opioid already stopped",
                    },
                    "userComment": "last dose 12 days ago",
                },
            },
        ]
    }
    response = httpx.post(f"{cds}/cds-services/ldn-order-sign/feedback", json=feedback)
    assert response.json() == {"stored": 2}
    stored = [o for o in _outcomes(db_url, "ldn-order-sign") if o.card_uuid == card]
    assert [(o.outcome, o.accepted_suggestions) for o in stored] == [
        ("accepted", ("s-1",)),
        ("overridden", ()),
    ]
    assert stored[1].override_reason == feedback["feedback"][1]["overrideReason"]
    assert stored[0].outcome_timestamp.isoformat() == "2026-11-23T10:05:31+00:00"


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    item=st.fixed_dictionaries(
        {
            "card": st.text(max_size=5),
            "outcome": st.sampled_from(["accepted", "overridden", "x"]),
            "outcomeTimestamp": st.datetimes(timezones=st.timezones()).map(lambda d: d.isoformat())
            | st.text(max_size=12),
        },
        optional={"acceptedSuggestions": JSON, "overrideReason": JSON},
    )
)
def test_no_feedback_gets_a_500(cds: str, item: dict[str, Any]) -> None:
    response = httpx.post(f"{cds}/cds-services/ldn-order-sign/feedback", json={"feedback": [item]})
    assert response.status_code in {200, 400}


def test_thousands_of_feedback_items_in_one_call_are_400_and_store_nothing(
    cds: str, db_url: str
) -> None:
    before = len(_outcomes(db_url))
    item = {"card": "c3", "outcome": "overridden", "outcomeTimestamp": "2026-11-23T10:05:31Z"}
    response = httpx.post(
        f"{cds}/cds-services/ldn-order-sign/feedback", json={"feedback": [item] * 5000}
    )
    assert "feedback: got" in refusal(response, 400)
    assert "at most 100 items" in refusal(response, 400)
    assert len(_outcomes(db_url)) == before


@pytest.mark.parametrize(
    ("item", "expected"),
    [
        (
            {"card": "c", "outcome": "accepted", "outcomeTimestamp": "2026-11-23T10:05:31Z"},
            "acceptedSuggestions with an accepted outcome",
        ),
        (
            {"card": "c", "outcome": "overridden", "outcomeTimestamp": "2026-11-23T10:05:31"},
            "feedback[1].outcomeTimestamp: got",
        ),
        (
            {"card": "c", "outcome": "overridden", "outcomeTimestamp": "0001-01-01T00:00:00+05:00"},
            "within the calendar once moved to UTC",
        ),
        (
            {"card": "c", "outcome": "ignored", "outcomeTimestamp": "2026-11-23T10:05:31Z"},
            'feedback[1].outcome: got "ignored"; expected one of accepted or overridden',
        ),
        (
            # The card column holds 100 characters; PostgreSQL refuses more (a 500 there).
            {
                "card": "c" * 101,
                "outcome": "overridden",
                "outcomeTimestamp": "2026-11-23T10:05:31Z",
            },
            "feedback[1].card: got",
        ),
        (
            {
                "card": "c",
                "outcome": "accepted",
                "outcomeTimestamp": "2026-11-23T10:05:31Z",
                "acceptedSuggestions": [{"id": "s"}] * 101,
            },
            "feedback[1].acceptedSuggestions: got",
        ),
        (
            {"card": "c\x00", "outcome": "overridden", "outcomeTimestamp": "2026-11-23T10:05:31Z"},
            'feedback[1].card: got "c\\u0000"; expected text without NUL (0x00) characters',
        ),
    ],
)
def test_bad_feedback_is_400_and_stores_nothing(
    cds: str, db_url: str, item: dict[str, Any], expected: str
) -> None:
    before = len(_outcomes(db_url))
    ok = {"card": "c2", "outcome": "overridden", "outcomeTimestamp": "2026-11-23T10:05:31Z"}
    response = httpx.post(
        f"{cds}/cds-services/ldn-order-sign/feedback", json={"feedback": [ok, item]}
    )
    assert expected in refusal(response, 400)
    assert len(_outcomes(db_url)) == before


# --- authentication on the wire -----------------------------------------------------------------

EHR = "https://ehr.example.org"
EHR_KEY = ec.generate_private_key(ec.SECP384R1())


def jwks(key: Any, kid: str) -> dict[str, Any]:
    public = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(key.public_key()))
    return {"keys": [{**public, "kid": kid, "alg": "ES384", "use": "sig"}]}


def signed(aud: str, jti: str | None = None, jku: str | None = None, **claims: Any) -> str:
    now = int(time.time())
    payload = {
        "iss": EHR,
        "aud": aud,
        "iat": now,
        "exp": now + 60,
        "jti": jti or str(uuid.uuid4()),
        **claims,
    }
    headers = {"kid": "ehr-1", **({"jku": jku} if jku else {})}
    return jwt.encode(payload, EHR_KEY, algorithm="ES384", headers=headers)


def secured(tmp_path: Path, clients: list[dict[str, Any]], **options: Any) -> LiveServer:
    path = tmp_path / "clients.json"
    path.write_text(json.dumps(clients))
    if "public_url" not in options:
        options.setdefault("trusted_hosts", ("127.0.0.1",))  # the loopback host tests call
    settings_ = Settings(
        cds_clients=path, database_url=f"sqlite:///{tmp_path / 'fb.db'}", **options
    )
    return LiveServer(cds_app(settings_))


def sign_request() -> dict[str, Any]:
    request = spec_context_request("spec-order-sign-context.json", "order-sign")
    request["prefetch"] = {"medications": searchset()}
    return request


def test_calls_need_a_valid_jwt_for_the_endpoint_they_reach(tmp_path: Path) -> None:
    with secured(tmp_path, [{"iss": EHR, "jwks": jwks(EHR_KEY, "ehr-1")}]) as url:
        endpoint = f"{url}/cds-services/ldn-order-sign"
        ok = post(
            url,
            "ldn-order-sign",
            sign_request(),
            headers={"Authorization": f"Bearer {signed(endpoint)}"},
        )
        assert cards_of(ok) == []
        none = post(url, "ldn-order-sign", sign_request())
        assert "no Authorization header" in refusal(none, 401)
        assert none.headers["WWW-Authenticate"].startswith("Bearer")
        elsewhere = signed(f"{url}/cds-services/ldn-patient-view")
        wrong_aud = post(
            url, "ldn-order-sign", sign_request(), headers={"Authorization": f"Bearer {elsewhere}"}
        )
        assert "aud" in refusal(wrong_aud, 401)
        once = signed(endpoint)
        post(url, "ldn-order-sign", sign_request(), headers={"Authorization": f"Bearer {once}"})
        replay = post(
            url, "ldn-order-sign", sign_request(), headers={"Authorization": f"Bearer {once}"}
        )
        assert "replay" in refusal(replay, 401)
        feedback = httpx.post(f"{endpoint}/feedback", json={"feedback": []})
        assert refusal(feedback, 401)
        item = {
            "card": "c-auth",
            "outcome": "overridden",
            "outcomeTimestamp": "2026-11-23T10:00:00Z",
        }
        sent = httpx.post(
            f"{endpoint}/feedback",
            json={"feedback": [item]},
            headers={"Authorization": f"Bearer {signed(endpoint + '/feedback')}"},
        )
        assert sent.json() == {"stored": 1}
        stored = _outcomes(f"sqlite:///{tmp_path / 'fb.db'}")
        assert [(o.card_uuid, o.client) for o in stored] == [("c-auth", EHR)]
        # Discovery names services and prefetch only: open, so integrators can read it.
        assert httpx.get(f"{url}/cds-services").status_code == 200


def test_aud_is_checked_against_the_public_url_when_set(tmp_path: Path) -> None:
    public = "https://cds.example.net/ldn"
    with secured(
        tmp_path, [{"iss": EHR, "jwks": jwks(EHR_KEY, "ehr-1")}], public_url=public + "/"
    ) as url:
        local = signed(f"{url}/cds-services/ldn-order-sign")
        refused = post(
            url, "ldn-order-sign", sign_request(), headers={"Authorization": f"Bearer {local}"}
        )
        assert f"{public}/cds-services/ldn-order-sign" in refusal(refused, 401)
        proper = signed(f"{public}/cds-services/ldn-order-sign")
        accepted = post(
            url, "ldn-order-sign", sign_request(), headers={"Authorization": f"Bearer {proper}"}
        )
        assert cards_of(accepted) == []


def test_a_token_minted_for_another_deployment_is_refused_whatever_host_is_claimed(
    tmp_path: Path,
) -> None:
    # The review: with no public URL, aud was checked against the request's Host header, so a
    # caller naming another deployment's host could replay that deployment's tokens here.
    with secured(tmp_path, [{"iss": EHR, "jwks": jwks(EHR_KEY, "ehr-1")}]) as url:
        assert 'Host: got "ldn.other-clinic.example"' in refusal(_as_other_clinic(url), 400)
        honest_host = _as_other_clinic(url, claim_host=False)
        assert "aud does not name this endpoint" in refusal(honest_host, 401)


OTHER_CLINIC = "ldn.other-clinic.example"


def _as_other_clinic(url: str, *, claim_host: bool = True) -> httpx.Response:
    """A call with a token minted for another deployment, claiming to be it when asked."""
    token = signed(f"http://{OTHER_CLINIC}/cds-services/ldn-order-sign")
    headers = {"Authorization": f"Bearer {token}", **({"Host": OTHER_CLINIC} if claim_host else {})}
    return post(url, "ldn-order-sign", sign_request(), headers=headers)


def test_the_router_alone_still_takes_no_audience_from_an_unlisted_host(tmp_path: Path) -> None:
    # Mounted in an app without the host check, the service checks the host itself.
    path = tmp_path / "clients.json"
    path.write_text(json.dumps([{"iss": EHR, "jwks": jwks(EHR_KEY, "ehr-1")}]))
    bare = FastAPI()
    settings_ = Settings(
        cds_clients=path, trusted_hosts=("127.0.0.1",), database_url=f"sqlite:///{tmp_path}/b.db"
    )
    bare.include_router(_router(settings_))
    with LiveServer(bare) as url:
        assert "not one of LDNKIT_TRUSTED_HOSTS" in refusal(_as_other_clinic(url), 401)


def test_trusted_clients_without_public_url_or_hosts_stop_the_service_at_start(
    tmp_path: Path,
) -> None:
    path = tmp_path / "clients.json"
    path.write_text(json.dumps([{"iss": EHR, "jwks": jwks(EHR_KEY, "ehr-1")}]))
    for hosts in (None, ("*",)):
        with pytest.raises(InputError, match="LDNKIT_PUBLIC_URL: got nothing"):
            _router(
                Settings(
                    cds_clients=path,
                    trusted_hosts=hosts,
                    database_url=f"sqlite:///{tmp_path}/x.db",
                )
            )


def test_keys_from_an_allowlisted_jku_are_fetched_once_and_cached(tmp_path: Path) -> None:
    data = FhirData()
    with FhirServer(data) as base:
        jku = base.replace("/fhir", "") + "/fhir/Keys/ehr"
        data.add({"resourceType": "Keys", "id": "ehr", **jwks(EHR_KEY, "ehr-1")})
        with secured(tmp_path, [{"iss": EHR, "jku": jku}]) as url:
            endpoint = f"{url}/cds-services/ldn-order-sign"
            for _ in range(3):
                response = post(
                    url,
                    "ldn-order-sign",
                    sign_request(),
                    headers={"Authorization": f"Bearer {signed(endpoint, jku=jku)}"},
                )
                assert cards_of(response) == []
            other = "https://evil.example.com/jwks.json"
            pointed = post(
                url,
                "ldn-order-sign",
                sign_request(),
                headers={"Authorization": f"Bearer {signed(endpoint, jku=other)}"},
            )
            assert "not allowlisted" in refusal(pointed, 401)
    assert len(data.requests) == 1


def test_bad_clients_file_stops_the_service_at_start(tmp_path: Path) -> None:
    path = tmp_path / "clients.json"
    path.write_text(json.dumps([{"iss": EHR, "jwks": {"keys": [{"kty": "EC", "kid": "k"}]}}]))
    with pytest.raises(InputError, match="usable public JWK"):
        _router(Settings(cds_clients=path, database_url=f"sqlite:///{tmp_path}/x.db"))


def test_auth_off_is_announced_loudly_at_start(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="ldnkit.cdshooks"):
        _router(Settings(cds_auth="off", database_url=f"sqlite:///{tmp_path}/x.db"))
    assert AUTH_OFF_BANNER.strip() in capsys.readouterr().err
    assert any("not authenticated" in r.getMessage() for r in caplog.records)
    assert all(r.levelno == logging.WARNING for r in caplog.records)


def test_re_signed_order_that_stops_an_opioid_gets_no_card(cds: str) -> None:
    request = fixture("opioid-cds-rec-08-on-naloxone.json")
    request["context"]["draftOrders"]["entry"][0]["resource"]["status"] = "stopped"
    ldn = med_request("ldn", "example-rec-08-on-naloxone", "LDN 3 mg capsule")
    request["prefetch"]["medications"] = searchset(ldn)
    assert cards_of(post(cds, "ldn-order-sign", request)) == []


def test_unreachable_jku_is_401_and_not_fetched_again_at_once(tmp_path: Path) -> None:
    jku = f"http://127.0.0.1:{closed_port()}/jwks.json"
    with secured(tmp_path, [{"iss": EHR, "jku": jku}]) as url:
        endpoint = f"{url}/cds-services/ldn-order-sign"
        reasons = [
            refusal(
                post(url, "ldn-order-sign", sign_request(),
                     headers={"Authorization": f"Bearer {signed(endpoint, jku=jku)}"}),
                401,
            )
            for _ in range(2)
        ]  # fmt: skip
    assert "could not fetch the key set" in reasons[0]
    assert "not tried again" in reasons[1]


@pytest.mark.parametrize("where", ["bundle", "contained"])
def test_draft_naming_its_drug_by_medication_reference_is_read(cds: str, where: str) -> None:
    oxycodone = {
        "resourceType": "Medication",
        "id": "m1",
        "code": {"text": "oxycodone 5 mg tablet"},
    }
    order = med_request("rx1", "1288992", "ignored", "draft")
    del order["medicationCodeableConcept"]
    entries: list[dict[str, Any]] = []
    if where == "bundle":
        order["medicationReference"] = {"reference": "Medication/m1"}
        entries.append({"resource": oxycodone})
    else:
        order["medicationReference"] = {"reference": "#m1"}
        order["contained"] = [oxycodone]
    request = {
        "hook": "order-sign",
        "hookInstance": str(uuid.uuid4()),
        "context": {
            "patientId": "1288992",
            "draftOrders": {"resourceType": "Bundle", "entry": [{"resource": order}, *entries]},
        },
        "prefetch": {"medications": searchset(med_request("ldn", "1288992", "LDN 1.5 mg"))},
    }
    cards = cards_of(post(cds, "ldn-order-sign", request))
    assert [c["summary"].split(":")[0] for c in cards] == ["Oxycodone 5 mg"]


def test_the_web_app_serves_cds_hooks_beside_the_pages(tmp_path: Path) -> None:
    config = Settings(database_url=f"sqlite:///{tmp_path / 'web.db'}", cds_auth="on")
    with LiveServer(web_app(config)) as url, httpx.Client(base_url=url) as client:
        services = client.get("/cds-services").json()["services"]
        assert {s["hook"] for s in services} == {"patient-view", "order-select", "order-sign"}
        # No JWT: refused as JSON (an OperationOutcome), not redirected to the sign-in page.
        refused = client.post("/cds-services/ldn-order-sign", json={})
        assert refused.status_code == 401
        assert refused.json()["resourceType"] == "OperationOutcome"
