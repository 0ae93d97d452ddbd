"""The OpenAPI document of /api/v1, complete enough for tools to generate clients and tests.

FastAPI builds most of it from the routes. Added here what it cannot see: the diary and plan
bodies (read by hand, in a worker thread) with their schemas under components, every `$ref`
resolving there; the refusals that come before any route (413 for a body over the limit, 400
for an unknown host) on every operation; and no trace of FastAPI's own 422 shape, which this
API never sends.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel

from ldnkit.domain.diary import DiaryEntry
from ldnkit.jsoninput import size
from ldnkit.web.api import DAY_BODY, DIARY_BODY, PLAN_BODY, PlanIn
from ldnkit.web.limits import API_BODY_LIMIT

_REF = "#/components/schemas/{model}"
PROBLEMS_REF = {"$ref": "#/components/schemas/Problems"}


def api_document(app: FastAPI) -> dict[str, Any]:
    """The app's OpenAPI document (built once, then kept)."""
    if app.openapi_schema:
        return app.openapi_schema
    document = get_openapi(
        title=app.title,
        version=app.version,
        description=app.description,
        routes=app.routes,
    )
    schemas: dict[str, Any] = document.setdefault("components", {}).setdefault("schemas", {})
    bodies: dict[str, type[BaseModel]] = {DIARY_BODY: DiaryEntry, PLAN_BODY: PlanIn}
    for body_name, model in bodies.items():
        body = model.model_json_schema(ref_template=_REF, mode="validation")
        for name, schema in body.pop("$defs", {}).items():
            schemas.setdefault(name, schema)
        body["title"] = body_name
        schemas[body_name] = body
    # A day sent to its own path (PUT .../diary/{day}): the same entry, its `day` optional.
    day_body = {**schemas[DIARY_BODY], "title": DAY_BODY}
    day_body["required"] = [f for f in day_body.get("required", []) if f != "day"]
    schemas[DAY_BODY] = day_body
    for operations in document["paths"].values():
        for operation in operations.values():
            _before_any_route(operation)
    # FastAPI's default validation error: not what this API answers, so not in its document.
    for unused in ("HTTPValidationError", "ValidationError"):
        schemas.pop(unused, None)
    app.openapi_schema = document
    return document


def _before_any_route(operation: dict[str, Any]) -> None:
    responses = operation.setdefault("responses", {})
    problems = {"application/json": {"schema": PROBLEMS_REF}}
    responses.setdefault(
        "400", {"description": "The request named a host this server does not answer to"}
    )["content"] = problems
    if "requestBody" in operation:
        responses["413"] = {
            "description": f"Body larger than {size(API_BODY_LIMIT)}",
            "content": problems,
        }
