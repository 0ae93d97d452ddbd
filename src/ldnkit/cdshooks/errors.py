"""Refusals the CDS service sends, as FHIR OperationOutcome bodies with a reason per issue.

The spec asks services to explain a non-2xx answer with an OperationOutcome; integrators read
these while wiring their EHR, so each issue says which field was wrong and what was expected.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from starlette.responses import JSONResponse

from ldnkit.validation import InputError, printable

# FHIR issue-type codes (http://hl7.org/fhir/issue-type) for the refusals this service makes.
_ISSUE_CODE = {
    400: "invalid",
    401: "security",
    404: "not-found",
    412: "processing",
    413: "too-long",
}


class CdsError(Exception):
    """A request the service cannot answer with cards; carries the HTTP status and reasons."""

    def __init__(
        self,
        status: int,
        reasons: Iterable[str],
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self.status = status
        # Reasons quote the request (ids, field paths): made printable so the answer encodes.
        self.reasons = [printable(r) for r in reasons if r] or ["request refused"]
        self.headers = dict(headers or {})
        super().__init__("; ".join(self.reasons))

    @classmethod
    def bad_request(cls, error: InputError) -> CdsError:
        return cls(400, [str(p) for p in error.problems])


def operation_outcome(status: int, reasons: Iterable[str]) -> dict[str, Any]:
    """An OperationOutcome with one error issue per reason."""
    code = _ISSUE_CODE.get(status, "processing")
    return {
        "resourceType": "OperationOutcome",
        "issue": [{"severity": "error", "code": code, "diagnostics": reason} for reason in reasons],
    }


def error_response(error: CdsError) -> JSONResponse:
    return JSONResponse(
        operation_outcome(error.status, error.reasons),
        status_code=error.status,
        headers=error.headers,
    )
