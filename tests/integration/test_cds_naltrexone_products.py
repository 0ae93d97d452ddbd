"""Every naltrexone product meets an opioid as a critical card, over real HTTP.

Naltrexone of any strength or product (compounded LDN, the standard 50 mg tablet sent by its
RxNorm code, the monthly extended-release injection, naltrexone-bupropion) ordered for a
patient with an active opioid precipitates withdrawal: the label contraindication. The same
holds the other way, an opioid ordered for a patient on any of them. Each card names the
product and why, with the sources that say so. The service runs in the real web app on uvicorn
(JWT checks off: they have their own tests); the FHIR payloads are R4 MedicationRequests.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from ldnkit.knowledge import knowledge_base
from ldnkit.settings import Settings
from ldnkit.web.server import background_server

RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
PATIENT = "naltrexone-products-patient"
OPIOID = {"text": "oxycodone 5 mg oral tablet"}
HOOKS = ["ldn-order-sign", "ldn-order-select"]


@dataclass(frozen=True)
class Product:
    """A naltrexone product as an EHR sends it, and what its card must say."""

    label: str
    medication: dict[str, Any]
    named: str  # the product as the card's summary names it
    why: str  # words of the product's own reason in the detail
    source: str  # the source id that says it


PRODUCTS = [
    Product(
        "LDN 4.5 mg, compounded",
        {"text": "naltrexone 4.5 mg compounded capsule"},
        "(LDN)",
        "even at low dose, blocks opioid analgesia",
        "seed-003",
    ),
    Product(
        "naltrexone 50 mg tablet, by its RxNorm code",
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
        "a full opioid blockade",
        "fda-revia-label",
    ),
    Product(
        "naltrexone 50 mg tablet, by its RxNorm code alone",
        {"coding": [{"system": RXNORM, "code": "1483744"}]},
        "standard-dose naltrexone",
        "a full opioid blockade",
        "fda-revia-label",
    ),
    Product(
        "Vivitrol 380 mg injection",
        {"text": "Vivitrol 380 mg extended-release injectable suspension"},
        "extended-release naltrexone injection",
        "given once a month and blocks opioids between doses",
        "vivitrol-label",
    ),
    Product(
        "Contrave",
        {"text": "Contrave 8 mg/90 mg extended-release tablet"},
        "naltrexone-bupropion",
        "contraindicates it with chronic opioid use",
        "contrave-label",
    ),
]


def medication_request(rid: str, medication: dict[str, Any], status: str) -> dict[str, Any]:
    return {
        "resourceType": "MedicationRequest",
        "id": rid,
        "status": status,
        "intent": "order",
        "subject": {"reference": f"Patient/{PATIENT}"},
        "medicationCodeableConcept": medication,
        "authoredOn": "2026-10-01",
    }


def hook_request(service: str, draft: dict[str, Any], taking: list[dict[str, Any]]) -> Any:
    """An order-sign or order-select call drafting `draft` for a patient on `taking`."""
    order = medication_request("draft-1", draft, "draft")
    context: dict[str, Any] = {
        "userId": "Practitioner/example",
        "patientId": PATIENT,
        "draftOrders": {"resourceType": "Bundle", "entry": [{"resource": order}]},
    }
    hook = "order-sign"
    if service == "ldn-order-select":
        hook, context["selections"] = "order-select", ["MedicationRequest/draft-1"]
    active = [medication_request(f"active-{i}", m, "active") for i, m in enumerate(taking)]
    return {
        "hook": hook,
        "hookInstance": str(uuid.uuid4()),
        "context": context,
        "prefetch": {
            "medications": {
                "resourceType": "Bundle",
                "type": "searchset",
                "entry": [{"resource": r} for r in active],
            }
        },
    }


@pytest.fixture(scope="module")
def cds(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    folder: Path = tmp_path_factory.mktemp("cds-products")
    settings = Settings(cds_auth="off", database_url=f"sqlite:///{folder / 'cds.db'}")
    with background_server(settings) as url:
        yield url


def cards(url: str, service: str, body: Any) -> list[dict[str, Any]]:
    response = httpx.post(f"{url}/cds-services/{service}", json=body, timeout=10)
    assert response.status_code == 200, response.text
    found: list[dict[str, Any]] = response.json()["cards"]
    for card in found:
        assert 0 < len(card["summary"]) < 140
    return found


def assert_names_the_product_and_why(card: dict[str, Any], product: Product) -> None:
    assert card["indicator"] == "critical"
    assert product.named.lower() in card["summary"].lower()
    detail = card["detail"]
    assert product.why in detail
    # The reason's source is cited, numbered, with the citation the knowledge base gives it.
    assert "**Sources**" in detail
    assert knowledge_base().sources[product.source].citation in detail


@pytest.mark.parametrize("service", HOOKS)
@pytest.mark.parametrize("product", PRODUCTS, ids=lambda p: p.label)
def test_each_naltrexone_product_ordered_for_a_patient_on_an_opioid_is_critical(
    cds: str, service: str, product: Product
) -> None:
    found = cards(cds, service, hook_request(service, product.medication, [OPIOID]))
    assert len(found) == 1
    assert_names_the_product_and_why(found[0], product)
    assert "oxycodone" in found[0]["summary"]
    removal = found[0]["suggestions"][0]["actions"][0]
    assert (removal["type"], removal["resourceId"]) == ("delete", "MedicationRequest/draft-1")


@pytest.mark.parametrize("service", HOOKS)
@pytest.mark.parametrize("product", PRODUCTS, ids=lambda p: p.label)
def test_an_opioid_ordered_for_a_patient_on_each_naltrexone_product_is_critical(
    cds: str, service: str, product: Product
) -> None:
    found = cards(cds, service, hook_request(service, OPIOID, [product.medication]))
    assert len(found) == 1
    assert_names_the_product_and_why(found[0], product)
    assert found[0]["summary"].startswith("Oxycodone 5 mg: opioid ordered")


@pytest.mark.parametrize("product", PRODUCTS, ids=lambda p: p.label)
def test_each_naltrexone_product_without_an_opioid_gets_no_card(cds: str, product: Product) -> None:
    ibuprofen = {"text": "ibuprofen 400 mg oral tablet"}
    body = hook_request("ldn-order-sign", product.medication, [ibuprofen])
    assert cards(cds, "ldn-order-sign", body) == []
