"""The JSON API's OpenAPI document, as tools read it, and the served API held to it.

Against the demo clinic served by uvicorn on loopback with a real bearer token: the document's
references resolve, it names its security scheme, its refusals have the shapes the API really
sends, and Schemathesis (bounded, seeded examples for every operation) finds no server error and
no answer that breaks the document.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode, checks
from schemathesis.specs.openapi import checks as openapi_checks

from ldnkit.services.demo import DEMO_PASSWORD, seed_demo
from ldnkit.settings import Settings
from ldnkit.store.repository import Store
from ldnkit.web.server import api_token, background_server


@dataclass(frozen=True)
class Served:
    url: str
    token: str
    document: dict[str, Any]


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    db_url = f"sqlite:///{tmp_path_factory.mktemp('openapi')}/demo.db"
    store = Store.open(db_url)
    store.upgrade()
    seed_demo(store)
    store.close()
    with background_server(Settings(database_url=db_url)) as url:
        token = api_token(url, "clinician@demo.ldnkit.test", DEMO_PASSWORD)
        document = httpx.get(f"{url}/api/v1/openapi.json").json()
        yield Served(url, token, document)


def _resolve(document: dict[str, Any], ref: str) -> Any:
    assert ref.startswith("#/"), ref
    node: Any = document
    for part in ref[2:].split("/"):
        node = node[part]
    return node


def test_every_reference_in_the_document_resolves(served: Served) -> None:
    refs = set(re.findall(r'"\$ref": "([^"]+)"', json.dumps(served.document)))
    assert refs
    for ref in refs:
        assert isinstance(_resolve(served.document, ref), dict), ref


def test_the_document_names_the_bearer_scheme_for_every_route_but_the_token(
    served: Served,
) -> None:
    schemes = served.document["components"]["securitySchemes"]
    assert schemes == {
        "bearer": {
            "type": "http",
            "scheme": "bearer",
            "description": schemes["bearer"]["description"],
        }
    }
    for path, operations in served.document["paths"].items():
        for method, operation in operations.items():
            expected: list[dict[str, list[str]]] = (
                [] if path == "/api/v1/token" else [{"bearer": []}]
            )
            assert operation.get("security", []) == expected, (method, path)


def test_the_documented_422_is_the_shape_the_api_sends(served: Served) -> None:
    path = "/api/v1/patients/{patient_id}/diary"
    documented = served.document["paths"][path]["post"]["responses"]["422"]
    ref = documented["content"]["application/json"]["schema"]["$ref"]
    problems = _resolve(served.document, ref)
    problem = _resolve(served.document, problems["properties"]["detail"]["items"]["$ref"])
    bad = httpx.post(
        f"{served.url}/api/v1/patients/1/diary",
        json={"day": "2026-01-01", "pain": 11, "fatigue": 1, "sleep_quality": 1},
        headers={"Authorization": f"Bearer {served.token}"},
    )
    assert bad.status_code == 422
    assert set(bad.json()) == set(problems["required"]) == {"detail"}
    for item in bad.json()["detail"]:
        assert set(item) == set(problem["required"]) == set(problem["properties"])
        assert all(isinstance(value, str) for value in item.values())
    assert "HTTPValidationError" not in served.document["components"]["schemas"]


def test_limits_are_in_the_schema(served: Served) -> None:
    schemas = served.document["components"]["schemas"]
    entry = schemas["DiaryEntryIn"]["properties"]
    dose = next(b for b in entry["dose_mg"]["anyOf"] if b.get("type") == "number")
    assert (dose["exclusiveMinimum"], dose["maximum"]) == (0, 12.0)
    assert "from 1900-01-01 to 2199-12-31" in entry["day"]["description"]
    assert entry["note"]["maxLength"] == 2000
    assert entry["side_effects"]["maxItems"] >= 10
    for score in ("pain", "fatigue", "sleep_quality"):
        assert (entry[score]["minimum"], entry[score]["maximum"]) == (0, 10)
    diary = served.document["paths"]["/api/v1/patients/{patient_id}/diary"]["post"]
    assert "at most 64 kB" in diary["requestBody"]["description"]
    assert "413" in diary["responses"]
    (patient_id,) = diary["parameters"][:1]
    assert patient_id["schema"]["minimum"] == 1


def test_a_method_a_route_does_not_have_is_405_naming_the_allowed_ones(served: Served) -> None:
    response = httpx.delete(
        f"{served.url}/api/v1/me", headers={"Authorization": f"Bearer {served.token}"}
    )
    assert response.status_code == 405
    assert response.headers["allow"] == "GET"


CHECKS = [
    checks.not_a_server_error,
    openapi_checks.status_code_conformance,
    openapi_checks.content_type_conformance,
    openapi_checks.response_headers_conformance,
    openapi_checks.response_schema_conformance,
    openapi_checks.negative_data_rejection,
    openapi_checks.ignored_auth,
    openapi_checks.allow_header_conformance,
]
OPERATIONS = [
    ("POST", "/api/v1/token"),
    ("GET", "/api/v1/me"),
    ("GET", "/api/v1/patients"),
    ("GET", "/api/v1/patients/{patient_id}"),
    ("GET", "/api/v1/patients/{patient_id}/diary"),
    ("POST", "/api/v1/patients/{patient_id}/diary"),
    ("PUT", "/api/v1/patients/{patient_id}/diary/{day}"),
    ("DELETE", "/api/v1/patients/{patient_id}/diary/{day}"),
    ("GET", "/api/v1/patients/{patient_id}/response"),
]
EXAMPLES = 25  # per operation and generation mode, with a fixed seed (derandomize)
COUNTED: dict[str, list[int]] = {}  # cases run and their statuses, for the closing figures


@pytest.mark.slow
@pytest.mark.parametrize("mode", list(GenerationMode), ids=str)
@pytest.mark.parametrize(("method", "path"), OPERATIONS)
def test_the_served_api_keeps_to_its_document(
    served: Served, method: str, path: str, mode: GenerationMode
) -> None:
    schema = schemathesis.openapi.from_url(f"{served.url}/api/v1/openapi.json")
    operation = schema[path][method]
    statuses = COUNTED.setdefault(f"{mode.value} {method} {path}", [])

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=EXAMPLES,
        derandomize=True,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def keeps_to_the_document(case: Any) -> None:
        response = case.call_and_validate(
            base_url=served.url,
            headers={"Authorization": f"Bearer {served.token}"},
            checks=CHECKS,
            timeout=30,
        )
        statuses.append(response.status_code)

    keeps_to_the_document()
    assert statuses
    assert all(status < 500 for status in statuses)
