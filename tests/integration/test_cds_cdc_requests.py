"""Every CDS Hooks request the CDC publishes, sent to both order services over real HTTP.

The 67 requests in tests/fixtures/cdc-cds-requests are genuine third-party payloads (origin in
its README): members the CDS Hooks request does not define, prefetch under the CDC's own keys
(`item1`, `item2`...), `draftOrders` as a bare MedicationRequest, `patientId` as `Patient/<id>`.
Each goes, as published, to `ldn-order-select` and `ldn-order-sign`, in eight variants: as
published; with a naltrexone order added; with an active opioid added to the patient's record;
both; and one order for each naltrexone product with the opioid in the record.

What the test changes, on a copy in memory, and nothing else:
- `hook` is the hook of the service called (a service answers its own hook only; sending a
  patient-view request to order-sign as it is would rightly be a 400);
- `fhirServer` is the loopback FHIR server started here (the published one is
  localhost:8080, or a template placeholder in HelloWorld.json);
- the variant's naltrexone draft goes into `draftOrders` (a Bundle is made when the request has
  none, or had a bare resource) and, when the request names `selections`, into them too;
- the variant's opioid goes into the record the FHIR server holds.

The patient's record: the published prefetch keys are not ldnkit's (`patient`, `medications`,
`conditions`), so the service fetches the record from `fhirServer`, as it does for an EHR that
does not prefetch. The loopback FHIR server holds the resources each request itself carries
(under `prefetch` and in the extra top-level `item*` members): the record the CDC meant the
service to see. That keeps every request body as published and runs the fetch path a real EHR
exercises; mapping the CDC keys onto ldnkit's would have rewritten the very members under test.

Which orders and medications are opioids is read from the CDC's own opioid value sets
(tests/fixtures/cdc-opioid-valuesets) plus the two opioid products the requests hold that those
analgesic lists leave out (named below), never from ldnkit's recogniser. No request holds
naltrexone, so naltrexone is present exactly when a variant adds it. Calls are authenticated:
each carries a fresh ES384 JWT from a client listed in a test JWKS.
"""

from __future__ import annotations

import copy
import json
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from ldnkit.settings import Settings
from ldnkit.web.server import background_server

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
CDC_REQUESTS = FIXTURES / "cdc-cds-requests"
CDC_VALUESETS = FIXTURES / "cdc-opioid-valuesets"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
SPEC_MEMBERS = {"hook", "hookInstance", "fhirServer", "fhirAuthorization", "context", "prefetch"}
SERVICES = {"ldn-order-select": "order-select", "ldn-order-sign": "order-sign"}
DRAFT_ID = "ldnkit-test-naltrexone-draft"

REQUESTS: dict[str, dict[str, Any]] = {
    path.name: json.loads(path.read_text()) for path in sorted(CDC_REQUESTS.glob("*.json"))
}


def _valueset(name: str) -> list[dict[str, Any]]:
    contains: list[dict[str, Any]] = json.loads((CDC_VALUESETS / name).read_text())["expansion"][
        "contains"
    ]
    return contains


# Opioids as the CDC lists them: every medication value set but naloxone's (naloxone is no
# opioid agonist; the buprenorphine-naloxone products it also lists are in the buprenorphine
# sets), by RxNorm code and by RxNorm name (a medicationReference may carry the name alone).
OPIOID_ENTRIES = [
    entry
    for path in sorted(CDC_VALUESETS.glob("*.json"))
    if path.name.endswith(("-medications.json", "-misuse-potential.json"))
    and path.name != "naloxone-medications.json"
    for entry in _valueset(path.name)
]
OPIOID_CODES = {e["code"] for e in OPIOID_ENTRIES}
OPIOID_NAMES = {e["display"].lower() for e in OPIOID_ENTRIES}
# Opioid products in the requests that the CDC's analgesic lists do not hold, read by hand.
OPIOIDS_BY_HAND = {
    "892495": "Morphine Sulfate 10 MG [Kadian]: morphine, an opioid agonist",
    "1012727": "carbinoxamine / hydrocodone / pseudoephedrine oral solution: hydrocodone, an "
    "opioid agonist (a cough preparation; the naltrexone label names these too)",
}


@dataclass(frozen=True)
class Product:
    """A naltrexone product as an EHR orders it, and how its card names it."""

    label: str
    medication: dict[str, Any]
    named: str


LDN_START = Product("LDN 1.5 mg", {"text": "Low dose naltrexone 1.5 mg oral capsule"}, "(ldn)")
PRODUCTS = [
    Product("LDN 4.5 mg", {"text": "naltrexone 4.5 mg compounded capsule"}, "(ldn)"),
    Product(
        "naltrexone 50 mg",
        {
            "coding": [
                {
                    "system": RXNORM,
                    "code": "1483744",
                    "display": "naltrexone hydrochloride 50 MG Oral Tablet",
                }
            ]
        },
        "standard-dose naltrexone",
    ),
    Product(
        "Vivitrol 380 mg",
        {"text": "Vivitrol 380 mg extended-release injectable suspension"},
        "extended-release naltrexone injection",
    ),
    Product(
        "Contrave",
        {"text": "Contrave 8 mg/90 mg extended-release tablet"},
        "naltrexone-bupropion",
    ),
]
HYDROMORPHONE = {
    "coding": [
        {
            "system": RXNORM,
            "code": "897696",
            "display": "hydromorphone hydrochloride 2 MG Oral Tablet",
        }
    ]
}


@dataclass(frozen=True)
class Variant:
    name: str
    order: Product | None  # a naltrexone draft added to draftOrders
    opioid_in_record: bool  # an active hydromorphone order added to the record


VARIANTS = [
    Variant("as published", None, False),
    Variant("LDN ordered", LDN_START, False),
    Variant("opioid in the record", None, True),
    Variant("LDN ordered, opioid in the record", LDN_START, True),
    *(Variant(f"{p.label} ordered, opioid in the record", p, True) for p in PRODUCTS),
]


# --- what a request carries ------------------------------------------------------------------


def resources_in(value: Any) -> Iterator[dict[str, Any]]:
    """FHIR resources in a value: itself, a Bundle's entries, or a bare `{"resource": ...}`."""
    if not isinstance(value, dict):
        return
    if value.get("resourceType") == "Bundle":
        for entry in value.get("entry") or []:
            yield from resources_in(entry)
    elif "resourceType" in value:
        yield value
    elif "resource" in value:
        yield from resources_in(value["resource"])


def carried_record(request: dict[str, Any]) -> list[dict[str, Any]]:
    """The resources a published request carries about its patient (not its draft orders)."""
    prefetched = list((request.get("prefetch") or {}).values())
    extra = [v for k, v in request.items() if k not in SPEC_MEMBERS]
    return [r for value in [*prefetched, *extra] for r in resources_in(value)]


def patient_of(request: dict[str, Any]) -> str:
    return str(request["context"]["patientId"]).removeprefix("Patient/")


def drafts_of(request: dict[str, Any]) -> list[dict[str, Any]]:
    orders = request["context"].get("draftOrders")
    return [r for r in resources_in(orders) if r.get("resourceType") == "MedicationRequest"]


def is_opioid(resource: dict[str, Any]) -> bool:
    """An opioid by the CDC's lists (or the hand-read table): its code, or its name alone."""
    concept = resource.get("medicationCodeableConcept") or {}
    codings = concept.get("coding") or []
    codes = {str(c.get("code")) for c in codings}
    names = [c.get("display") for c in codings]
    names += [concept.get("text"), (resource.get("medicationReference") or {}).get("display")]
    return bool(codes & (OPIOID_CODES | set(OPIOIDS_BY_HAND))) or any(
        isinstance(n, str) and n.lower() in OPIOID_NAMES for n in names
    )


def about(resource: dict[str, Any], patient: str) -> bool:
    """Whether a FHIR search `?patient=<id>` finds the resource: its subject is the patient
    (a reference `Patient/<id>`, or the bare `<id>` one CDC request writes)."""
    return (resource.get("subject") or {}).get("reference") in (f"Patient/{patient}", patient)


def medication_request(rid: str, patient: str, medication: dict[str, Any], status: str) -> Any:
    return {
        "resourceType": "MedicationRequest",
        "id": rid,
        "status": status,
        "intent": "order",
        "subject": {"reference": f"Patient/{patient}"},
        "medicationCodeableConcept": medication,
        "authoredOn": "2026-10-01",
    }


# --- the EHR's FHIR server -------------------------------------------------------------------


class RecordServer:
    """A FHIR R4 server on loopback holding one patient's record at a time: it answers
    `Patient/<id>` and `<Type>?patient=<id>[&status=<code>]` as a FHIR server would."""

    def __init__(self) -> None:
        self.record: list[dict[str, Any]] = []
        self.asked: list[str] = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                owner.asked.append(self.path)
                status, body = owner.answer(self.path)
                payload = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/fhir+json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/fhir"

    def answer(self, path: str) -> tuple[int, dict[str, Any]]:
        parts = urlsplit(path)
        segments = parts.path.removeprefix("/fhir/").split("/")
        if len(segments) == 2:  # a read
            for resource in self.record:
                if [resource.get("resourceType"), resource.get("id")] == segments:
                    return 200, resource
            return 404, {"resourceType": "OperationOutcome", "issue": []}
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        found = [
            r
            for r in self.record
            if r.get("resourceType") == segments[0]
            and about(r, query.get("patient", ""))
            and query.get("status", r.get("status")) == r.get("status")
        ]
        bundle = {"resourceType": "Bundle", "type": "searchset", "total": len(found)}
        return 200, {**bundle, "entry": [{"resource": r} for r in found]}

    def __enter__(self) -> RecordServer:
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


# --- the service, with JWT checks on ---------------------------------------------------------

EHR = "https://ehr.cdc-requests.example"
EHR_KEY = ec.generate_private_key(ec.SECP384R1())


def bearer(audience: str) -> dict[str, str]:
    """A fresh signed JWT for one call, as a CDS client sends it."""
    now = int(time.time())
    claims = {"iss": EHR, "aud": audience, "iat": now, "exp": now + 60, "jti": str(uuid.uuid4())}
    token = jwt.encode(claims, EHR_KEY, algorithm="ES384", headers={"kid": "cdc-test"})
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture(scope="module")
def cds(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    folder = tmp_path_factory.mktemp("cdc-requests")
    public = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(EHR_KEY.public_key()))
    key = {**public, "kid": "cdc-test", "alg": "ES384", "use": "sig"}
    clients = folder / "clients.json"
    clients.write_text(json.dumps([{"iss": EHR, "jwks": {"keys": [key]}}]))
    settings = Settings(
        cds_clients=clients,
        trusted_hosts=("127.0.0.1",),
        database_url=f"sqlite:///{folder / 'cds.db'}",
    )
    with background_server(settings) as url:
        yield url


@pytest.fixture(scope="module")
def ehr_fhir() -> Iterator[RecordServer]:
    with RecordServer() as server:
        yield server


# --- one call --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Call:
    """A request as sent, the record the FHIR server held, and the card it must get."""

    body: dict[str, Any]
    record: list[dict[str, Any]]
    critical: bool


def prepare(name: str, service: str, variant: Variant, fhir_url: str) -> Call:
    request = copy.deepcopy(REQUESTS[name])
    request["hook"] = SERVICES[service]
    request["fhirServer"] = fhir_url
    patient = patient_of(request)
    context = request["context"]
    record = carried_record(request)
    if variant.opioid_in_record:
        record.append(medication_request("ldnkit-test-opioid", patient, HYDROMORPHONE, "active"))
    if variant.order is not None:
        draft = medication_request(DRAFT_ID, patient, variant.order.medication, "draft")
        published = [{"resource": r} for r in resources_in(context.get("draftOrders"))]
        bundle = context.get("draftOrders")
        if not isinstance(bundle, dict) or bundle.get("resourceType") != "Bundle":
            bundle = context["draftOrders"] = {"resourceType": "Bundle", "type": "collection"}
        bundle["entry"] = [*published, {"resource": draft}]
        if "selections" in context:
            context["selections"] = [*context["selections"], f"MedicationRequest/{DRAFT_ID}"]
    return Call(request, record, expects_critical(request, service, record))


def expects_critical(request: dict[str, Any], service: str, record: list[dict[str, Any]]) -> bool:
    """Naltrexone and an opioid meet in an order: computed from what the request holds."""
    drafts = drafts_of(request)
    selections = request["context"].get("selections")
    acted_on = [
        d
        for d in drafts
        if service == "ldn-order-sign"
        or selections is None
        or f"MedicationRequest/{d.get('id')}" in selections
    ]
    # The patient's active medications: what the FHIR server answers to the service's search.
    patient = patient_of(request)
    active = [
        r
        for r in record
        if r.get("resourceType") == "MedicationRequest"
        and r.get("status") == "active"
        and about(r, patient)
    ]

    def naltrexone(resource: dict[str, Any]) -> bool:
        return resource.get("id") == DRAFT_ID  # no published request holds naltrexone

    for order in acted_on:
        others = [r for r in [*active, *drafts] if r is not order]
        if is_opioid(order) and any(naltrexone(r) for r in others):
            return True
        if naltrexone(order) and any(is_opioid(r) for r in others):
            return True
    return False


@pytest.fixture(scope="module")
def ehr() -> Iterator[httpx.Client]:
    """The EHR's HTTP client: one for all calls, as an EHR keeps its connections."""
    with httpx.Client(timeout=30) as client:
        yield client


def send(ehr: httpx.Client, cds: str, service: str, body: dict[str, Any]) -> httpx.Response:
    endpoint = f"{cds}/cds-services/{service}"
    return ehr.post(endpoint, json=body, headers=bearer(endpoint))


# --- the CDS Hooks card, as the spec defines it ------------------------------------------------

CARD_FIELDS = {
    "uuid", "summary", "detail", "indicator", "source", "suggestions", "selectionBehavior",
    "overrideReasons", "links",
}  # fmt: skip


def assert_spec_card(card: dict[str, Any]) -> None:
    """CDS Hooks 2.0, Card attributes: required fields, types, and no empty optional value."""
    assert set(card) <= CARD_FIELDS, set(card) - CARD_FIELDS
    assert uuid.UUID(card["uuid"])
    assert isinstance(card["summary"], str)
    assert 0 < len(card["summary"]) < 140
    assert card["indicator"] in {"info", "warning", "critical"}
    assert isinstance(card["source"]["label"], str)
    assert card["source"]["label"]
    for value in card.values():
        assert value not in (None, "", [], {})  # the spec: omit an optional field, never empty
    suggestions = card.get("suggestions", [])
    if suggestions:
        assert card["selectionBehavior"] in {"at-most-one", "any"}
    for suggestion in suggestions:
        assert isinstance(suggestion["label"], str)
        assert suggestion["label"]
        assert uuid.UUID(suggestion["uuid"])
        for action in suggestion.get("actions", []):
            assert action["type"] in {"create", "update", "delete"}
            assert action["description"]
            if action["type"] == "delete":
                assert action["resourceId"]
    for reason in card.get("overrideReasons", []):
        assert reason["code"]
        assert reason["system"]
        assert reason["display"]
    for link in card.get("links", []):
        assert link["label"]
        assert link["url"].startswith("https://")
        assert link["type"] in {"absolute", "smart"}
    ids = [card["uuid"], *(s["uuid"] for s in suggestions)]
    assert len(set(ids)) == len(ids)


# --- the tests -------------------------------------------------------------------------------


def test_the_fixtures_hold_all_67_published_requests_and_no_naltrexone() -> None:
    assert len(REQUESTS) == 67
    text = json.dumps(REQUESTS).lower()
    # The expectation counts naltrexone only where a variant adds it.
    assert "naltrexone" not in text
    assert "vivitrol" not in text
    assert "contrave" not in text
    # And the requests do hold opioids on both sides: drafts and records.
    assert any(is_opioid(d) for r in REQUESTS.values() for d in drafts_of(r))
    assert any(is_opioid(m) for r in REQUESTS.values() for m in carried_record(r))


@pytest.mark.parametrize("variant", VARIANTS, ids=lambda v: v.name)
@pytest.mark.parametrize("service", sorted(SERVICES))
@pytest.mark.parametrize("name", sorted(REQUESTS))
def test_every_cdc_request_gets_200_and_a_critical_card_exactly_when_naltrexone_meets_an_opioid(
    cds: str, ehr: httpx.Client, ehr_fhir: RecordServer, name: str, service: str, variant: Variant
) -> None:
    call = prepare(name, service, variant, ehr_fhir.url)
    ehr_fhir.record = call.record
    response = send(ehr, cds, service, call.body)
    assert response.status_code == 200, f"{response.status_code} {response.text[:500]}"
    body = response.json()
    assert set(body) == {"cards"}
    cards = body["cards"]
    for card in cards:
        assert_spec_card(card)
    # Beside the critical cards, naltrexone meeting a drug ldnkit cannot recognise gets a
    # warning asking to confirm it is not an opioid (unknown is never "no"); nothing else.
    critical = [c for c in cards if c["indicator"] == "critical"]
    confirm = [
        c for c in cards if c["indicator"] == "warning" and "not fully recognised" in c["summary"]
    ]
    assert len(critical) + len(confirm) == len(cards), [c["summary"] for c in cards]
    if variant.order is None:
        assert cards == []  # no naltrexone anywhere: nothing to say
        return
    if not call.critical:
        assert critical == []
        return
    assert critical, "no card where naltrexone meets an opioid"
    for card in critical:
        assert variant.order.named in card["summary"].lower(), card["summary"]
        assert "**Sources**" in card["detail"]
