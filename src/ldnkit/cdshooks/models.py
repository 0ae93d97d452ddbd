"""CDS Hooks 2.0 wire models: the request an EHR sends, the cards and feedback that come back.

Field names follow the spec (camelCase). A request is read as the spec's robustness asks
(DESIGN.md, CDS Hooks): what the service cannot act without is refused with a 400 naming the
field (no `hook`, or another hook than the service answers; no `context`; no usable
`context.patientId`, which also goes into FHIR URLs); everything else is read for what it holds.
Members the spec does not define, at any level, are ignored; a `draftOrders` sent as a bare
resource is read as a one-entry Bundle; a malformed optional member (`fhirServer`,
`fhirAuthorization`, `hookInstance`, `selections`) is left unused. Each of those goes to the
call's one log line (`Tolerated`). Cards and feedback, which ldnkit writes or stores, stay strict.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from ldnkit.cdshooks.errors import CdsError
from ldnkit.cdshooks.tolerance import Tolerated
from ldnkit.validation import Problem, problems_from, show

Indicator = Literal["info", "warning", "critical"]
MAX_FEEDBACK_ITEMS = 100
NonEmpty = Annotated[str, Field(min_length=1)]

# FHIR logical ids: 1-64 of letters, digits, '-' and '.'; checked because they go into URLs.
_FHIR_ID = re.compile(r"^[A-Za-z0-9\-.]{1,64}$")
_HTTP_URL = re.compile(r"^https?://[^\s/?#]+[^\s?#]*$")

# What the spec defines; `extension` is reserved everywhere for additions. Anything else is
# ignored (and logged).
REQUEST_MEMBERS = frozenset(
    {"hook", "hookInstance", "fhirServer", "fhirAuthorization", "context", "prefetch", "extension"}
)
CONTEXT_MEMBERS = {
    "patient-view": frozenset({"userId", "patientId", "encounterId", "extension"}),
    "order-select": frozenset(
        {"userId", "patientId", "encounterId", "selections", "draftOrders", "extension"}
    ),
    "order-sign": frozenset({"userId", "patientId", "encounterId", "draftOrders", "extension"}),
}
AUTHORIZATION_MEMBERS = frozenset(
    {"access_token", "token_type", "expires_in", "scope", "subject", "patient", "extension"}
)
# FHIR R4 Bundle and Bundle.entry elements: a draftOrders or prefetch Bundle may hold these.
BUNDLE_MEMBERS = frozenset(
    {"resourceType", "id", "meta", "implicitRules", "language", "identifier", "type",
     "timestamp", "total", "link", "entry", "signature"}
)  # fmt: skip
ENTRY_MEMBERS = frozenset({"link", "fullUrl", "resource", "search", "request", "response"})


def _patient_id(value: Any) -> str | None:
    """`Patient/123` and `123` name the same patient; the bare id is what queries use."""
    if not isinstance(value, str):
        return None
    bare = value.strip().removeprefix("Patient/")
    return bare if _FHIR_ID.match(bare) else None


class FhirAuthorization(BaseModel):
    """The OAuth 2.0 bearer token the EHR lends the service for its FHIR server."""

    model_config = ConfigDict(extra="ignore", frozen=True)

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


@dataclass(frozen=True)
class DraftEntry:
    """One draft order: its resource, where it stood in the request, and its fullUrl."""

    resource: dict[str, Any]
    where: str  # `context.draftOrders.entry[2].resource`, for messages
    full_url: str | None = None


@dataclass(frozen=True)
class HookRequest:
    """A call to a CDS service, as far as the service reads it."""

    hook: str
    patient_id: str  # bare
    hook_instance: str | None = None
    fhir_server: str | None = None
    fhir_authorization: FhirAuthorization | None = None
    prefetch: dict[str, Any] = field(default_factory=dict)
    # Order hooks: the draft orders (None when the request holds none), and for order-select
    # the selected ones (None: read as all, the safe side when none can be matched).
    draft_orders: tuple[DraftEntry, ...] | None = None
    selections: tuple[str, ...] | None = None


def read_hook_request(data: dict[str, Any], hook: str, notes: Tolerated) -> HookRequest:
    """The request for a service answering `hook`; a 400 names every field it cannot act without."""
    refused: list[Problem] = []
    sent_hook = data.get("hook")
    if not isinstance(sent_hook, str) or sent_hook != hook:
        received = "nothing" if "hook" not in data else show(sent_hook)
        refused.append(Problem("hook", received, f"{hook!r}, the hook this service answers"))
    context = data.get("context")
    patient_id = None
    if not isinstance(context, dict):
        received = "nothing" if "context" not in data else show(context)
        refused.append(Problem("context", received, "an object holding the hook's context"))
    else:
        patient_id = _patient_id(context.get("patientId"))
        if patient_id is None:
            received = "nothing" if "patientId" not in context else show(context["patientId"])
            refused.append(
                Problem(
                    "context.patientId",
                    received,
                    "a FHIR Patient id (letters, digits, '-' or '.', up to 64), bare or "
                    "Patient/<id>",
                )
            )
    if refused:
        raise CdsError(400, [str(p) for p in refused])
    assert isinstance(context, dict)
    assert patient_id is not None
    notes.unknown("", data, REQUEST_MEMBERS)
    notes.unknown("context", context, CONTEXT_MEMBERS.get(hook, frozenset()))
    server = _fhir_server(data, notes)
    drafts = selections = None
    if hook in ("order-select", "order-sign"):
        drafts = read_draft_orders(context.get("draftOrders"), notes)
    if hook == "order-select":
        selections = _selections(context.get("selections"), notes)
    return HookRequest(
        hook=hook,
        patient_id=patient_id,
        hook_instance=_hook_instance(data, notes),
        fhir_server=server,
        fhir_authorization=_authorization(data, server, notes),
        prefetch=_prefetch(data, notes),
        draft_orders=drafts,
        selections=selections,
    )


def _hook_instance(data: dict[str, Any], notes: Tolerated) -> str | None:
    value = data.get("hookInstance")
    if isinstance(value, str) and value.strip():
        return value
    received = "nothing" if "hookInstance" not in data else show(value)
    notes.problem(str(Problem("hookInstance", received, "the call's UUID (the spec asks one)")))
    return None


def _fhir_server(data: dict[str, Any], notes: Tolerated) -> str | None:
    value = data.get("fhirServer")
    if value is None:
        return None
    if isinstance(value, str) and _HTTP_URL.match(value):
        return value.rstrip("/")
    notes.problem(str(Problem("fhirServer", show(value), "an http(s) base URL; not used")))
    return None


def _authorization(
    data: dict[str, Any], server: str | None, notes: Tolerated
) -> FhirAuthorization | None:
    value = data.get("fhirAuthorization")
    if value is None:
        return None
    if not isinstance(value, dict):
        notes.problem(str(Problem("fhirAuthorization", show(value), "an object; not used")))
        return None
    notes.unknown("fhirAuthorization", value, AUTHORIZATION_MEMBERS)
    try:
        token = FhirAuthorization.model_validate(value)
    except ValidationError as exc:
        for p in problems_from(exc):
            notes.problem(f"fhirAuthorization.{p}; the token is not used")
        return None
    if server is None:
        notes.problem("fhirAuthorization: got a token without a usable fhirServer; not used")
        return None
    return token


def _prefetch(data: dict[str, Any], notes: Tolerated) -> dict[str, Any]:
    value = data.get("prefetch")
    if value is None:
        return {}
    if isinstance(value, dict):
        return value
    notes.problem(str(Problem("prefetch", show(value), "an object; read as no prefetch")))
    return {}


def read_draft_orders(value: Any, notes: Tolerated) -> tuple[DraftEntry, ...] | None:
    """The draft orders: a Bundle's entries, a bare resource (or entry) as one, a list as entries.

    None when there are none to read (an order hook without draftOrders has nothing to check);
    a 400 when draftOrders holds something that cannot be read as orders at all.
    """
    where = "context.draftOrders"
    if value is None:
        notes.problem(f"{where}: got nothing; expected a Bundle of draft orders (none checked)")
        return None
    if (
        isinstance(value, dict)
        and "resourceType" not in value
        and isinstance(value.get("entry"), list)
    ):
        notes.problem(f"{where}.resourceType: got nothing; read as a Bundle by its entries")
        value = {**value, "resourceType": "Bundle"}
    if isinstance(value, dict) and value.get("resourceType") == "Bundle":
        notes.unknown(where, value, BUNDLE_MEMBERS)
        items = value.get("entry")
        if items is None:
            return ()
        if not isinstance(items, list):
            raise CdsError(400, [str(Problem(f"{where}.entry", show(items), "a list of entries"))])
        return tuple(_entries(items, f"{where}.entry", notes))
    if isinstance(value, dict) and ("resourceType" in value or "resource" in value):
        notes.problem(f"{where}: got a bare {_kind(value)}; read as a Bundle of one entry")
        return tuple(_entries([value], where, notes))
    if isinstance(value, list):
        notes.problem(f"{where}: got a list; read as the entries of a Bundle")
        return tuple(_entries(value, f"{where}.entry", notes))
    expected = "a FHIR Bundle of the draft orders (or one order resource)"
    raise CdsError(400, [str(Problem(where, show(value), expected))])


def _kind(value: dict[str, Any]) -> str:
    kind = value.get("resourceType")
    return kind if isinstance(kind, str) else "entry"


def _entries(items: list[Any], where: str, notes: Tolerated) -> list[DraftEntry]:
    found: list[DraftEntry] = []
    for index, item in enumerate(items):
        at = f"{where}[{index}]" if where.endswith(".entry") else where
        if isinstance(item, dict) and "resource" in item and "resourceType" not in item:
            notes.unknown(at, item, ENTRY_MEMBERS)
            resource, full_url = item["resource"], item.get("fullUrl")
            at += ".resource"
        else:
            resource, full_url = item, None
        if not isinstance(resource, dict):
            notes.problem(str(Problem(at, show(resource), "a FHIR resource; skipped")))
            continue
        url = full_url if isinstance(full_url, str) else None
        found.append(DraftEntry(resource=resource, where=at, full_url=url))
    return found


def _selections(value: Any, notes: Tolerated) -> tuple[str, ...] | None:
    """The selected orders' references; None (read as every draft) when none are usable."""
    usable = (
        tuple(s for s in value if isinstance(s, str) and s.strip())
        if isinstance(value, list)
        else ()
    )
    if usable and len(usable) == len(value):
        return usable
    received = "nothing" if value is None else show(value)
    notes.problem(
        str(Problem("context.selections", received, "references to the selected draft orders"))
        + (" (the unusable ones are left out)" if usable else "; every draft order is checked")
    )
    return usable or None


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
