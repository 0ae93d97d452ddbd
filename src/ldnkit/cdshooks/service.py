"""The CDS Hooks 2.0 service: discovery, three hook services and their feedback endpoints.

`create_router(settings)` gives the routes to mount in the web app; `create_cds_app()` wraps
them in an app of their own (tests, benchmarks, a CDS-only deployment). Every refusal is an
OperationOutcome with a reason: 400 malformed request, 401 untrusted caller, 404 unknown
service, 412 patient data neither prefetched nor fetchable, 413 body too large.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import sys
from dataclasses import dataclass
from typing import Any, TypeVar

import anyio.to_thread
from fastapi import APIRouter, FastAPI, Request
from pydantic import BaseModel, ValidationError
from starlette.responses import JSONResponse, Response

from ldnkit.cdshooks.auth import AuthError, Caller, TrustedClient, Verifier, load_clients
from ldnkit.cdshooks.cards import order_cards, patient_view_cards
from ldnkit.cdshooks.errors import CdsError, error_response
from ldnkit.cdshooks.feedback import FeedbackStore
from ldnkit.cdshooks.models import (
    Card,
    FeedbackRequest,
    HookRequest,
    OrderSelectContext,
    OrderSignContext,
    PatientViewContext,
)
from ldnkit.cdshooks.orders import active_drugs, draft_drugs, patient_profile
from ldnkit.cdshooks.prefetch import PREFETCH_TEMPLATES, Fetcher
from ldnkit.domain.profile import PatientProfile
from ldnkit.domain.rules import order_findings, order_rule_reads
from ldnkit.domain.screening import screen
from ldnkit.settings import Settings, get_settings
from ldnkit.validation import Problem, nul_problems, problems_from

log = logging.getLogger("ldnkit.cdshooks")

MAX_BODY_BYTES = 5 * 1024 * 1024
AUTH_OFF_BANNER = """
************************************************************************
*  LDNKIT_CDS_AUTH=off: CDS Hooks calls are NOT authenticated.          *
*  Anyone who can reach /cds-services can call it. Local testing only.  *
************************************************************************
"""


@dataclass(frozen=True)
class ServiceInfo:
    id: str
    hook: str
    title: str
    description: str
    context: type[BaseModel]
    needs: tuple[str, ...]  # the prefetch keys this service cannot answer without

    def discovery(self) -> dict[str, Any]:
        return {
            "hook": self.hook,
            "id": self.id,
            "title": self.title,
            "description": self.description,
            "prefetch": dict(PREFETCH_TEMPLATES),
        }


SERVICES: dict[str, ServiceInfo] = {
    s.id: s
    for s in (
        ServiceInfo(
            id="ldn-patient-view",
            hook="patient-view",
            title="LDN safety screen",
            description=(
                "For a patient on naltrexone: the low-dose naltrexone safety screen's verdict "
                "and most severe findings (opioids, liver, kidney, pregnancy, thyroid...), cited."
            ),
            context=PatientViewContext,
            needs=("patient", "medications", "conditions"),
        ),
        ServiceInfo(
            id="ldn-order-select",
            hook="order-select",
            title="Naltrexone and opioid orders",
            description=(
                "A critical card when an opioid is selected for a patient on naltrexone, or "
                "naltrexone of any strength or product for a patient with an active opioid."
            ),
            context=OrderSelectContext,
            needs=("medications",),
        ),
        ServiceInfo(
            id="ldn-order-sign",
            hook="order-sign",
            title="Naltrexone and opioid orders",
            description=(
                "A critical card when an opioid is signed for a patient on naltrexone, or "
                "naltrexone of any strength or product for a patient with an active opioid; "
                "offers to remove the draft order."
            ),
            context=OrderSignContext,
            needs=("medications",),
        ),
    )
}


class _Guard:
    """Checks each call's JWT, or lets every call through when checking is off."""

    def __init__(self, settings: Settings) -> None:
        self.public_url = settings.public_url.rstrip("/") if settings.public_url else None
        self.verifier: Verifier | None = None
        if settings.cds_auth == "off":
            log.warning(
                "LDNKIT_CDS_AUTH=off: CDS Hooks calls are not authenticated; local testing only"
            )
            print(AUTH_OFF_BANNER, file=sys.stderr, flush=True)
            return
        clients: dict[str, TrustedClient] = {}
        if settings.cds_clients is None:
            log.warning("LDNKIT_CDS_CLIENTS is not set: every CDS Hooks call will be refused")
        else:
            clients = load_clients(settings.cds_clients)
            log.info("CDS Hooks: %d trusted client(s): %s", len(clients), ", ".join(clients))
        self.verifier = Verifier(clients)

    def audience(self, request: Request) -> str:
        if self.public_url:
            return self.public_url + request.url.path
        return str(request.url.replace(query=None, fragment=None))

    async def check(self, request: Request) -> Caller | None:
        if self.verifier is None:
            return None
        try:
            return await self.verifier.verify(
                request.headers.get("authorization"), self.audience(request)
            )
        except AuthError as exc:
            # Kept for the audit trail: who was turned away and why (never the token itself).
            log.warning("CDS Hooks call to %s refused: %s", request.url.path, exc)
            raise CdsError(
                401, [str(exc)], headers={"WWW-Authenticate": 'Bearer error="invalid_token"'}
            ) from exc


def _no_constant(name: str) -> Any:
    # Python's json accepts NaN and Infinity; JSON (RFC 8259) does not, and nor does this service.
    raise ValueError(f"{name} is not a JSON value")


async def _json_body(request: Request) -> dict[str, Any]:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise CdsError(413, [f"body: {declared} bytes; expected at most {MAX_BODY_BYTES}"])
    body = await request.body()
    if len(body) > MAX_BODY_BYTES:
        raise CdsError(413, [f"body: {len(body)} bytes; expected at most {MAX_BODY_BYTES}"])
    if not body.strip():
        raise CdsError(400, ["body: got nothing; expected a JSON object"])
    try:
        parsed = json.loads(body, parse_constant=_no_constant)
    except (ValueError, RecursionError) as exc:
        raise CdsError(400, [f"body: not valid JSON ({exc})"]) from exc
    if not isinstance(parsed, dict):
        raise CdsError(400, [f"body: got {type(parsed).__name__}; expected a JSON object"])
    problems = nul_problems(parsed)
    if problems:
        raise CdsError(400, [str(p) for p in problems])
    return parsed


M = TypeVar("M", bound=BaseModel)


def _parse(model: type[M], data: Any, prefix: str = "") -> M:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problems = problems_from(exc)
        raise CdsError(
            400, [str(Problem(prefix + p.field, p.received, p.expected)) for p in problems]
        ) from exc


async def _cards(service: ServiceInfo, hook: HookRequest, fetcher: Fetcher) -> list[Card]:
    if hook.hook != service.hook:
        raise CdsError(
            400, [f"hook: got {hook.hook!r}; expected {service.hook!r} for {service.id}"]
        )
    context = _parse(service.context, hook.context, "context.")
    patient_id: str = context.patientId  # type: ignore[attr-defined]
    today = dt.datetime.now(dt.UTC).date()
    if isinstance(context, PatientViewContext):
        profile = await _profile(hook, patient_id, service, fetcher, today)
        naltrexone = [d for d in active_drugs(profile) if d.is_naltrexone]
        if not naltrexone:
            return []
        return patient_view_cards(screen(profile), naltrexone, today.isoformat())
    if isinstance(context, OrderSelectContext):
        ordered, pending = draft_drugs(context.draftOrders, context.selections)
    elif isinstance(context, OrderSignContext):
        ordered, pending = draft_drugs(context.draftOrders, None)
    else:  # pragma: no cover - every service above has one of these contexts
        raise TypeError(type(context))
    if not any(order_rule_reads(d) for d in ordered):
        # Nothing ordered that the rules read: the patient's record is not needed, so a call
        # without prefetch is answered at once instead of reaching out to the FHIR server.
        return []
    profile = await _profile(hook, patient_id, service, fetcher, today)
    return order_cards(order_findings(ordered, pending, active_drugs(profile)))


async def _profile(
    hook: HookRequest, patient_id: str, service: ServiceInfo, fetcher: Fetcher, today: dt.date
) -> PatientProfile:
    data = await fetcher.patient_data(hook, patient_id, service.needs)
    return patient_profile(data.resources(), patient_id, today)


def create_router(settings: Settings) -> APIRouter:
    """The CDS Hooks routes under /cds-services, configured from `settings`."""
    guard = _Guard(settings)
    fetcher = Fetcher()
    store = FeedbackStore.from_url(settings.database_url)
    router = APIRouter(tags=["CDS Hooks"])

    @router.get("/cds-services")
    async def discovery() -> JSONResponse:
        # Open to all: it names the services and their prefetch, nothing about any patient.
        return JSONResponse({"services": [s.discovery() for s in SERVICES.values()]})

    @router.post("/cds-services/{service_id}")
    async def call_service(service_id: str, request: Request) -> Response:
        try:
            service = SERVICES.get(service_id)
            if service is None:
                raise CdsError(404, [f"no CDS service {service_id!r}; see GET /cds-services"])
            await guard.check(request)
            hook = _parse(HookRequest, await _json_body(request))
            cards = await _cards(service, hook, fetcher)
        except CdsError as error:
            return error_response(error)
        return JSONResponse({"cards": [card.wire() for card in cards]})

    @router.post("/cds-services/{service_id}/feedback")
    async def feedback(service_id: str, request: Request) -> Response:
        try:
            if service_id not in SERVICES:
                raise CdsError(404, [f"no CDS service {service_id!r}; see GET /cds-services"])
            caller = await guard.check(request)
            body = _parse(FeedbackRequest, await _json_body(request))
            stored = await anyio.to_thread.run_sync(
                store.record, service_id, body.feedback, caller.iss if caller else None
            )
        except CdsError as error:
            return error_response(error)
        return JSONResponse({"stored": stored})

    return router


def create_cds_app(settings: Settings | None = None) -> FastAPI:
    """An app serving only the CDS Hooks service."""
    app = FastAPI(title="ldnkit CDS Hooks service", docs_url=None, redoc_url=None)
    app.include_router(create_router(settings or get_settings()))
    return app
