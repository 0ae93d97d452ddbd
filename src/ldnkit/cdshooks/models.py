"""CDS Hooks 2.0 wire models: the request an EHR sends, the cards and feedback that come back.

Field names follow the spec (camelCase). Requests forbid unknown top-level fields (the spec
reserves `extension` for additions) so a misspelled `hookInstanse` is a 400, not a silent miss;
hook contexts allow the extra fields other hooks and versions define.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

Indicator = Literal["info", "warning", "critical"]
MAX_FEEDBACK_ITEMS = 100
NonEmpty = Annotated[str, Field(min_length=1)]

# FHIR logical ids: 1-64 of letters, digits, '-' and '.'; checked because they go into URLs.
_FHIR_ID = re.compile(r"^[A-Za-z0-9\-.]{1,64}$")


def _patient_id(value: str) -> str:
    """`Patient/123` and `123` name the same patient; the bare id is what queries use."""
    bare = value.strip().removeprefix("Patient/")
    if not _FHIR_ID.match(bare):
        raise ValueError(
            "a FHIR Patient id (letters, digits, '-' or '.', up to 64), bare or Patient/<id>"
        )
    return bare


class FhirAuthorization(BaseModel):
    """The OAuth 2.0 bearer token the EHR lends the service for its FHIR server."""

    model_config = ConfigDict(extra="allow", frozen=True)

    access_token: NonEmpty
    token_type: str = "Bearer"  # noqa: S105 (a token kind, not a secret)
    expires_in: int | None = None
    scope: str | None = None
    subject: str | None = None
    patient: str | None = None

    @field_validator("token_type")
    @classmethod
    def _bearer(cls, value: str) -> str:
        if value.lower() != "bearer":
            raise ValueError("Bearer")
        return value


class HookRequest(BaseModel):
    """The body of a call to a CDS service."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    hook: NonEmpty
    hookInstance: NonEmpty
    fhirServer: str | None = None
    fhirAuthorization: FhirAuthorization | None = None
    context: dict[str, Any]
    prefetch: dict[str, Any] | None = None
    extension: dict[str, Any] | None = None

    @field_validator("fhirServer")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if not re.match(r"^https?://[^\s/?#]+[^\s?#]*$", value):
            raise ValueError("an http(s) base URL of the EHR's FHIR server")
        return value.rstrip("/")

    @model_validator(mode="after")
    def _server_for_token(self) -> HookRequest:
        if self.fhirAuthorization is not None and self.fhirServer is None:
            raise ValueError("fhirServer with fhirAuthorization (the spec requires both)")
        return self


class _Context(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True)

    userId: str | None = None
    patientId: str
    encounterId: str | None = None

    @field_validator("patientId")
    @classmethod
    def _bare_patient_id(cls, value: str) -> str:
        return _patient_id(value)


class PatientViewContext(_Context):
    """patient-view: the chart of one patient was opened."""


class DraftOrders(BaseModel):
    """A FHIR Bundle of the orders not yet signed."""

    model_config = ConfigDict(extra="allow", frozen=True)

    resourceType: Literal["Bundle"]
    entry: list[dict[str, Any]] = Field(default_factory=list)

    def resources(self) -> list[dict[str, Any]]:
        return [e["resource"] for e in self.entry if isinstance(e.get("resource"), dict)]


class OrderSignContext(_Context):
    """order-sign: the clinician is about to sign the draft orders."""

    draftOrders: DraftOrders


class OrderSelectContext(_Context):
    """order-select: the clinician picked orders (`selections`) among the drafts."""

    selections: list[NonEmpty] = Field(min_length=1)
    draftOrders: DraftOrders


class Coding(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    system: str | None = None
    code: NonEmpty
    display: str | None = None


class Source(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    label: NonEmpty
    url: str | None = None
    icon: str | None = None
    topic: Coding | None = None


class Action(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    type: Literal["create", "update", "delete"]
    description: NonEmpty
    resource: dict[str, Any] | None = None
    resourceId: str | None = None


class Suggestion(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    label: NonEmpty
    uuid: str | None = None
    isRecommended: bool | None = None
    actions: list[Action] | None = None


class Link(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    label: NonEmpty
    url: NonEmpty
    type: Literal["absolute", "smart"]
    appContext: str | None = None


class Card(BaseModel):
    """One piece of guidance, as the spec defines a card."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    uuid: str
    summary: Annotated[str, Field(min_length=1, max_length=139)]
    detail: str | None = None
    indicator: Indicator
    source: Source
    suggestions: list[Suggestion] | None = None
    selectionBehavior: Literal["at-most-one", "any"] | None = None
    overrideReasons: list[Coding] | None = None
    links: list[Link] | None = None

    @model_validator(mode="after")
    def _selection_with_suggestions(self) -> Card:
        if self.suggestions and self.selectionBehavior is None:
            raise ValueError("selectionBehavior whenever there are suggestions")
        return self

    def wire(self) -> dict[str, Any]:
        """The card as sent: optional fields without a value are left out, never null."""
        return self.model_dump(mode="json", exclude_none=True)


class AcceptedSuggestion(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: NonEmpty


class OverrideReason(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    reason: Coding | None = None
    userComment: str | None = None


class FeedbackItem(BaseModel):
    """What the clinician did with one card."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # Card ids are the UUIDs ldnkit sent; the store keeps up to 100 characters (PostgreSQL
    # refuses longer ones, which would otherwise be a 500 after validation passed).
    card: Annotated[str, Field(min_length=1, max_length=100)]
    outcome: Literal["accepted", "overridden"]
    acceptedSuggestions: Annotated[
        list[AcceptedSuggestion] | None, Field(max_length=MAX_FEEDBACK_ITEMS)
    ] = None
    overrideReason: OverrideReason | None = None
    outcomeTimestamp: dt.datetime

    @field_validator("outcomeTimestamp")
    @classmethod
    def _with_zone(cls, value: dt.datetime) -> dt.datetime:
        if value.tzinfo is None:
            raise ValueError(
                "an ISO 8601 date-time in UTC with its zone, e.g. 2026-11-23T10:05:31Z"
            )
        try:
            return value.astimezone(dt.UTC)
        except OverflowError as exc:  # year 1 or 9999 pushed past the calendar by the zone
            raise ValueError("a date-time within the calendar once moved to UTC") from exc

    @model_validator(mode="after")
    def _accepted_names_suggestions(self) -> FeedbackItem:
        if self.outcome == "accepted" and not self.acceptedSuggestions:
            raise ValueError("acceptedSuggestions with an accepted outcome")
        return self


class FeedbackRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    # Each item is a stored row: a few per card shown, never thousands in one call.
    feedback: list[FeedbackItem] = Field(min_length=1, max_length=MAX_FEEDBACK_ITEMS)
    extension: dict[str, Any] | None = None
