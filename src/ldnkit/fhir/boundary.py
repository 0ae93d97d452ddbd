"""Validation at the FHIR boundary: every resource is checked against the R4 models first.

fhir.resources 8 ships FHIR R5 as its default models; R4 lives on as `fhir.resources.R4B`,
which is wire-compatible with R4 for every resource ldnkit reads or writes (Patient, Condition,
MedicationRequest, MedicationStatement, Medication, Observation, Procedure, ServiceRequest,
AllergyIntolerance, QuestionnaireResponse, Bundle). So R4B is the model set used here.

A bad resource becomes an `InputError` whose problems name the resource and the field
(`MedicationRequest/abc.authoredOn: got "yesterday"; expected a FHIR dateTime ...`).
"""

from __future__ import annotations

from typing import Any, get_args

from fhir.resources.R4B import get_fhir_model_class
from pydantic import ValidationError

from ldnkit.domain.outcomes.course import ObservationStatus, RequestStatus
from ldnkit.validation import InputError, Problem, problems_from, show

FHIR_VERSION = "4.0.1"

# Value sets the models leave as plain `code` strings; checked here because a misspelled
# status must not silently mean "not active". The two that clinic outcomes read are the
# outcome records' own types.
STATUS_VALUES: dict[str, frozenset[str]] = {
    "MedicationRequest": frozenset(get_args(RequestStatus)),
    "MedicationStatement": frozenset(
        {
            "active",
            "completed",
            "entered-in-error",
            "intended",
            "stopped",
            "on-hold",
            "unknown",
            "not-taken",
        }
    ),
    "Procedure": frozenset(
        {
            "preparation",
            "in-progress",
            "not-done",
            "on-hold",
            "stopped",
            "completed",
            "entered-in-error",
            "unknown",
        }
    ),
    "ServiceRequest": frozenset(
        {"draft", "active", "on-hold", "revoked", "completed", "entered-in-error", "unknown"}
    ),
    "Observation": frozenset(get_args(ObservationStatus)),
}

# fhir.resources reports its own primitive-type failures as a bare message; users need the form.
_PRIMITIVE_HINTS = {
    "DateTime": "a FHIR dateTime (YYYY, YYYY-MM, YYYY-MM-DD or YYYY-MM-DDThh:mm:ss+zz:zz)",
    "Date": "a FHIR date (YYYY, YYYY-MM or YYYY-MM-DD)",
    "Decimal": "a number",
    "Integer": "a whole number",
    "Boolean": "true or false",
}


def label(resource: Any) -> str:
    """How a resource is named in messages: `Type/id`, or just the type when it has no id."""
    if not isinstance(resource, dict):
        return "resource"
    kind = str(resource.get("resourceType") or "resource")
    rid = resource.get("id")
    return f"{kind}/{rid}" if rid else kind


def _problem(where: str, problem: Problem) -> Problem:
    expected = problem.expected
    if expected.startswith("value for the field"):
        return Problem(f"{where}.{problem.field}", "nothing", "a value (this field is required)")
    for prefix, hint in _PRIMITIVE_HINTS.items():
        if expected.startswith(f"{prefix} value"):
            expected = hint
            break
    return Problem(f"{where}.{problem.field}", problem.received, expected)


def resource_problems(resource: Any, where: str | None = None) -> list[Problem]:
    """Everything wrong with one resource (empty when it is valid FHIR R4)."""
    if not isinstance(resource, dict):
        return [Problem(where or "resource", show(resource), "a FHIR resource (a JSON object)")]
    where = where or label(resource)
    kind = resource.get("resourceType")
    if not isinstance(kind, str) or not kind:
        return [Problem(f"{where}.resourceType", "nothing", "a FHIR resource type")]
    try:
        model = get_fhir_model_class(kind)
    except (KeyError, ValueError):
        return [Problem(f"{where}.resourceType", show(kind), "a FHIR R4 resource type")]
    problems: list[Problem] = []
    try:
        model.model_validate(resource)
    except ValidationError as exc:
        problems.extend(_problem(where, p) for p in problems_from(exc))
    allowed = STATUS_VALUES.get(kind)
    status = resource.get("status")
    if allowed is not None and isinstance(status, str) and status not in allowed:
        problems.append(
            Problem(f"{where}.status", show(status), "one of " + ", ".join(sorted(allowed)))
        )
    return problems


def validated(resource: Any, where: str | None = None) -> dict[str, Any]:
    """Return the resource unchanged if it is valid FHIR R4, else raise InputError."""
    problems = resource_problems(resource, where)
    if problems:
        raise InputError(problems)
    assert isinstance(resource, dict)  # resource_problems reports anything else
    return resource
