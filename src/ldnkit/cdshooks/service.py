"""The CDS Hooks 2.0 service: discovery, three hook services and their feedback endpoints.

`create_router(settings, store)` gives the routes to mount in the web app; `create_cds_app`
wraps them in an app of their own (tests, benchmarks, a CDS-only deployment). Both are built by
`ldnkit.bootstrap`, which reads the settings and opens the store. Every refusal is an
OperationOutcome with a reason: 400 a request the service cannot act on (not JSON; no hook or
another hook than the service's; no context; no usable patientId; draftOrders that hold no
orders at all), 401 untrusted caller, 404 unknown service, 412 patient data neither prefetched
nor fetchable, 413 body (or record) too large. Anything else in a request is read for what it
holds (`ldnkit.cdshooks.models`): an EHR that gets a 400 shows no card, so the check would
silently not happen. What a call ignored or read past is logged, one line per call.
"""

from __future__ import annotations

import datetime as dt
import logging
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

from anyio.to_thread import run_sync as to_thread
from fastapi import APIRouter, FastAPI, Request
from pydantic import BaseModel, ValidationError
from starlette.responses import JSONResponse, Response
from starlette.types import Scope

from ldnkit.cdshooks.auth import (
    AuthError,
    Caller,
    ReplayMemory,
    StoredReplayGuard,
    TrustedClient,
    Verifier,
    load_clients,
)
from ldnkit.cdshooks.cards import order_cards, patient_view_cards, unreadable_order_card
from ldnkit.cdshooks.errors import CdsError, error_response
from ldnkit.cdshooks.feedback import card_outcomes
from ldnkit.cdshooks.models import Card, FeedbackRequest, HookRequest, read_hook_request
from ldnkit.cdshooks.orders import Drafts, active_drugs, draft_drugs, patient_profile
from ldnkit.cdshooks.prefetch import PREFETCH_TEMPLATES, Fetcher, PatientData
from ldnkit.cdshooks.tolerance import Tolerated
from ldnkit.domain.rules import order_findings, order_rule_reads
from ldnkit.domain.screening import screen
from ldnkit.jsoninput import parse_json
from ldnkit.settings import Settings, host_allowed
from ldnkit.store.repository import Store
from ldnkit.validation import InputError, Problem, nul_problems, problems_from
from ldnkit.web.hosts import TrustedHosts, host_not_listed
from ldnkit.web.limits import BodyLimit, body_too_large

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
            needs=("medications",),
        ),
    )
}


class _Guard:
    """Checks each call's JWT, or lets every call through when checking is off."""

    def __init__(self, settings: Settings, replay: ReplayMemory) -> None:
        self.public_url = settings.public_url
        self.hosts = settings.trusted_hosts or ()
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
        if clients and not self.public_url and (not self.hosts or "*" in self.hosts):
            # The spec: aud is the endpoint the EHR called. Without a configured address the
            # only guess is the request's own Host header, which the caller chooses.
            raise InputError(
                [
                    Problem(
                        "LDNKIT_PUBLIC_URL",
                        "nothing",
                        "the address EHRs call this service at (such as "
                        "https://ldn.clinic.example), or LDNKIT_TRUSTED_HOSTS naming its host "
                        "names: each call's JWT aud is checked against it",
                    )
                ]
            )
        self.verifier = Verifier(clients, replay=replay)

    def audience(self, request: Request) -> str:
        """The endpoint URL a token must name: never taken from a Host that is not trusted."""
        if self.public_url:
            return self.public_url + request.url.path
        host = request.url.hostname or ""
        if self.hosts and not host_allowed(host, self.hosts):
            raise AuthError(f"this service was called as {host!r}, not one of LDNKIT_TRUSTED_HOSTS")
        return str(request.url.replace(query=None, fragment=None))

    async def check(self, request: Request) -> Caller | None:
        """The caller, its token checked and claimed in one step (the feedback endpoint)."""
        if self.verifier is None:
            return None
        try:
            return await self.verifier.verify(
                request.headers.get("authorization"), self.audience(request)
            )
        except AuthError as exc:
            raise self._refused(request, exc) from exc

    async def authenticate(self, request: Request) -> tuple[Caller, float] | None:
        """The caller and its token's exp once the signature checks out; None when checking is
        off. The token is not yet claimed: `claim` must follow, in a worker thread."""
        if self.verifier is None:
            return None
        try:
            return await self.verifier.authenticate(
                request.headers.get("authorization"), self.audience(request)
            )
        except AuthError as exc:
            raise self._refused(request, exc) from exc

    def claim(self, request: Request, token: tuple[Caller, float] | None) -> None:
        """Claim an authenticated token's jti (blocking: the memory is the store)."""
        if self.verifier is None or token is None:
            return
        try:
            self.verifier.claim(*token)
        except AuthError as exc:
            raise self._refused(request, exc) from exc

    @staticmethod
    def _refused(request: Request, exc: AuthError) -> CdsError:
        # Kept for the audit trail: who was turned away and why (never the token itself).
        log.warning("CDS Hooks call to %s refused: %s", request.url.path, exc)
        return CdsError(
            401, [str(exc)], headers={"WWW-Authenticate": 'Bearer error="invalid_token"'}
        )


def _json_body(body: bytes) -> dict[str, Any]:
    """The request body as a JSON object (the size was bounded as it arrived)."""
    if not body.strip():
        raise CdsError(400, ["body: got nothing; expected a JSON object"])
    try:
        # JSON (RFC 8259) has no NaN or Infinity, though Python's json would read them.
        parsed = parse_json(body, "body", expected="a JSON object", allow_constants=False)
    except InputError as exc:
        raise CdsError.bad_request(exc) from None
    if not isinstance(parsed, dict):
        raise CdsError(400, [f"body: got {type(parsed).__name__}; expected a JSON object"])
    problems = nul_problems(parsed)
    if problems:
        raise CdsError(400, [str(p) for p in problems])
    return parsed


def too_large(_scope: Scope, limit: int) -> Response:
    """The 413 for a body over the limit, as an OperationOutcome (see ldnkit.web.limits)."""
    return error_response(CdsError(413, [str(body_too_large(limit))]))


def unknown_host(_scope: Scope, host: str) -> Response:
    """The 400 for a Host not listed, as an OperationOutcome (see ldnkit.web.hosts)."""
    return error_response(CdsError(400, [str(host_not_listed(host))]))


M = TypeVar("M", bound=BaseModel)


def _read(model: type[M], body: bytes) -> M:
    try:
        return model.model_validate(_json_body(body))
    except ValidationError as exc:
        raise CdsError(400, [str(p) for p in problems_from(exc)]) from exc


def _read_call(service: ServiceInfo, body: bytes, notes: Tolerated) -> tuple[HookRequest, Drafts]:
    """The request, and (for order hooks) its draft orders as the order rule reads them."""
    request = read_hook_request(_json_body(body), service.hook, notes)
    if request.draft_orders is None:
        return request, Drafts([], [], [])
    return request, draft_drugs(request.draft_orders, request.selections, notes)


def _patient_view(
    data: PatientData, patient_id: str, today: dt.date, notes: Tolerated
) -> list[Card]:
    profile = patient_profile(data.resources(), patient_id, today, notes)
    naltrexone = [d for d in active_drugs(profile) if d.is_naltrexone]
    if not naltrexone:
        return []
    return patient_view_cards(screen(profile), naltrexone, today.isoformat())


def _order_cards(
    drafts: Drafts, data: PatientData | None, patient_id: str, today: dt.date, notes: Tolerated
) -> list[Card]:
    active = []
    if data is not None:
        active = active_drugs(patient_profile(data.resources(), patient_id, today, notes))
    findings = order_findings(drafts.ordered, drafts.pending, active)
    return [*order_cards(findings), *(unreadable_order_card(u) for u in drafts.unreadable)]


async def _cards(
    service: ServiceInfo, request: HookRequest, drafts: Drafts, fetcher: Fetcher, notes: Tolerated
) -> list[Card]:
    # Validating FHIR and screening are CPU work: they run in worker threads, so a large call
    # never holds the event loop that every other request shares. Only the fetch stays here.
    today = dt.datetime.now(dt.UTC).date()
    if service.hook == "patient-view":
        data = await fetcher.patient_data(request, service.needs, notes)
        return await to_thread(_patient_view, data, request.patient_id, today, notes)
    record = None
    if any(order_rule_reads(d) for d in drafts.ordered):
        record = await fetcher.patient_data(request, service.needs, notes)
    # Else nothing ordered that the rules read: the patient's record is not needed, so a call
    # without prefetch is answered at once instead of reaching out to the FHIR server.
    return await to_thread(_order_cards, drafts, record, request.patient_id, today, notes)


def create_router(settings: Settings, store: Store) -> APIRouter:
    """The CDS Hooks routes under /cds-services, configured from `settings`; card feedback and
    the tokens already used are kept in `store`."""
    guard = _Guard(settings, StoredReplayGuard(store))
    fetcher = Fetcher()
    router = APIRouter(tags=["CDS Hooks"])

    @router.get("/cds-services")
    async def discovery() -> JSONResponse:
        # Open to all: it names the services and their prefetch, nothing about any patient.
        return JSONResponse({"services": [s.discovery() for s in SERVICES.values()]})

    @router.post("/cds-services/{service_id}")
    async def call_service(service_id: str, request: Request) -> Response:
        notes = Tolerated()
        instance: str | None = None
        try:
            service = SERVICES.get(service_id)
            if service is None:
                raise CdsError(404, [f"no CDS service {service_id!r}; see GET /cds-services"])
            token = await guard.authenticate(request)
            body = await request.body()

            def claimed_and_read() -> tuple[HookRequest, Drafts]:
                # One trip to a worker thread: the token claimed in the store, then the call read.
                guard.claim(request, token)
                return _read_call(service, body, notes)

            call, drafts = await to_thread(claimed_and_read)
            instance = call.hook_instance
            cards = await _cards(service, call, drafts, fetcher, notes)
        except CdsError as error:
            return error_response(error)
        finally:
            notes.log(log, service_id, instance)
        return JSONResponse({"cards": [card.wire() for card in cards]})

    @router.post("/cds-services/{service_id}/feedback")
    async def feedback(service_id: str, request: Request) -> Response:
        try:
            if service_id not in SERVICES:
                raise CdsError(404, [f"no CDS service {service_id!r}; see GET /cds-services"])
            caller = await guard.check(request)
            body = await to_thread(_read, FeedbackRequest, await request.body())
            outcomes = card_outcomes(service_id, body.feedback, caller.iss if caller else None)
            stored = await to_thread(store.record_card_outcomes, outcomes)
        except CdsError as error:
            return error_response(error)
        return JSONResponse({"stored": stored})

    return router


def create_cds_app(settings: Settings, store: Store) -> FastAPI:
    """An app serving only the CDS Hooks service, over `store` (closed when the app stops)."""

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        store.close()

    app = FastAPI(
        title="ldnkit CDS Hooks service", docs_url=None, redoc_url=None, lifespan=lifespan
    )
    app.include_router(create_router(settings, store))
    app.add_middleware(BodyLimit, limit_for=lambda _scope: MAX_BODY_BYTES, refusal=too_large)
    app.add_middleware(TrustedHosts, allowed=settings.allowed_hosts(), refusal=unknown_host)
    return app
