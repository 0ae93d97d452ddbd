"""The patient's FHIR data for one call: from `prefetch` when the EHR sent it, else fetched.

Prefetch keys (DESIGN.md): `patient`, `medications` (active MedicationRequests), `conditions`.
A key sent as null means the EHR has no such data. A key left out, or answered with an error
OperationOutcome, is fetched from `fhirServer` with the lent `fhirAuthorization` token: one
attempt, short timeouts, and after a failure that server is not asked again for a few seconds,
so an EHR outage does not turn into a storm of waiting calls. Data that cannot be had is a 412.

What real EHRs send is read for what it holds (and noted in the call's log line): keys that are
not ldnkit's are ignored; a bare resource where a searchset Bundle is expected is read as a
Bundle of one entry, a Bundle where the Patient is expected as the Patient it holds, and a Bundle
entry (`{"resource": ...}`) as its resource.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import httpx

from ldnkit.cdshooks.errors import CdsError
from ldnkit.cdshooks.models import BUNDLE_MEMBERS, HookRequest
from ldnkit.cdshooks.tolerance import Tolerated
from ldnkit.validation import show

PREFETCH_TEMPLATES: dict[str, str] = {
    "patient": "Patient/{{context.patientId}}",
    "medications": "MedicationRequest?patient={{context.patientId}}&status=active",
    "conditions": "Condition?patient={{context.patientId}}",
}

FETCH_TIMEOUT = httpx.Timeout(2.0, connect=1.0)
FETCH_DEADLINE_SECONDS = 3.0  # all fetches of one call together
MAX_PAGES = 10  # a searchset longer than this is not read to the end: the call gets a 412
COOL_OFF_SECONDS = 10.0
MAX_RESPONSE_BYTES = 10 * 1024 * 1024


def query(key: str, patient_id: str) -> str:
    """The relative FHIR URL a prefetch template asks for, for one patient."""
    return PREFETCH_TEMPLATES[key].replace("{{context.patientId}}", patient_id)


@dataclass
class CoolOff:
    """FHIR servers that failed recently, and until when they are left alone."""

    seconds: float = COOL_OFF_SECONDS
    clock: Callable[[], float] = time.monotonic
    _until: dict[str, float] = field(default_factory=dict)

    def resting(self, server: str) -> bool:
        until = self._until.get(server)
        return until is not None and self.clock() < until

    def failed(self, server: str) -> None:
        self._until[server] = self.clock() + self.seconds


@dataclass(frozen=True)
class PatientData:
    """What the service reads about the patient; `None` patient means none was found."""

    patient: dict[str, Any] | None = None
    medications: tuple[dict[str, Any], ...] = ()
    conditions: tuple[dict[str, Any], ...] = ()

    def resources(self) -> list[dict[str, Any]]:
        found = [self.patient] if self.patient else []
        return [*found, *self.medications, *self.conditions]


class _Missing(Exception):
    """This key has to be fetched (why: in the message)."""


def _error_outcome(resource: dict[str, Any]) -> bool:
    return resource.get("resourceType") == "OperationOutcome" and any(
        isinstance(i, dict) and i.get("severity") in {"error", "fatal"}
        for i in resource.get("issue") or []
    )


def _entries(bundle: dict[str, Any], where: str, notes: Tolerated) -> list[dict[str, Any]]:
    notes.unknown(where, bundle, BUNDLE_MEMBERS)
    entries = bundle.get("entry") or []
    if not isinstance(entries, list):
        raise _Missing("its entry is not a list")
    found = []
    for index, entry in enumerate(entries):
        resource = entry.get("resource") if isinstance(entry, dict) else None
        if isinstance(resource, dict):
            found.append(resource)
        else:
            notes.problem(f"{where}.entry[{index}]: got no resource in it; skipped")
    if any(_error_outcome(r) for r in found):
        raise _Missing("the EHR reported an error in it")
    return [r for r in found if r.get("resourceType") != "OperationOutcome"]


def _from_prefetch(key: str, value: Any, notes: Tolerated) -> tuple[Any, str | None]:
    """What a prefetch key holds, and the next page of its search (if any)."""
    where = f"prefetch.{key}"
    if value is None:  # the EHR has nothing for this template
        return (None if key == "patient" else []), None
    if isinstance(value, dict) and "resourceType" not in value and "resource" in value:
        notes.problem(f"{where}: got a Bundle entry; read as the resource it holds")
        value = value["resource"]
    if not isinstance(value, dict):
        raise _Missing("its value is not a FHIR resource")
    kind = value.get("resourceType")
    if kind == "OperationOutcome":
        raise _Missing("the EHR answered it with an OperationOutcome")
    if key == "patient":
        if kind == "Bundle":
            held = _entries(value, where, notes)
            patients = [r for r in held if r.get("resourceType") == "Patient"]
            if len(patients) == 1:
                notes.problem(f"{where}: got a Bundle; read as the Patient it holds")
                return patients[0], None
        if kind != "Patient":
            raise _Missing(f"it holds a {show(kind)}, not a Patient")
        return value, None
    if kind != "Bundle":
        notes.problem(f"{where}: got a bare {show(kind)}; read as a searchset Bundle of one entry")
        return [value], None
    return _entries(value, where, notes), _next_link(value)


def _next_link(bundle: dict[str, Any]) -> str | None:
    for link in bundle.get("link") or []:
        if isinstance(link, dict) and link.get("relation") == "next" and link.get("url"):
            return str(link["url"])
    return None


class Fetcher:
    """Reads what the prefetch lacks from the EHR's FHIR server."""

    def __init__(self, cool_off: CoolOff | None = None) -> None:
        self.cool_off = cool_off or CoolOff()
        # Loading the CA bundle costs some 25 ms of CPU: once per service, not once per call.
        self.tls = httpx.create_ssl_context()

    async def patient_data(
        self, request: HookRequest, needed: Iterable[str], notes: Tolerated
    ) -> PatientData:
        """The prefetch keys in `needed`, each from the prefetch or else from fhirServer."""
        prefetch = request.prefetch
        notes.unknown("prefetch", prefetch, frozenset(PREFETCH_TEMPLATES))
        values: dict[str, Any] = {}
        to_fetch: dict[str, str] = {}
        pages: dict[str, str] = {}
        for key in needed:
            if key not in prefetch:
                to_fetch[key] = "not in the prefetch"
                continue
            try:
                values[key], next_page = _from_prefetch(key, prefetch[key], notes)
            except _Missing as why:
                to_fetch[key] = str(why)
                continue
            if next_page is not None:
                pages[key] = next_page
        if to_fetch or pages:
            values.update(await self._fetch_all(request, to_fetch, pages, values, notes))
        return PatientData(
            patient=values.get("patient"),
            medications=tuple(values.get("medications") or ()),
            conditions=tuple(values.get("conditions") or ()),
        )

    async def _fetch_all(
        self,
        request: HookRequest,
        to_fetch: dict[str, str],
        pages: dict[str, str],
        have: dict[str, Any],
        notes: Tolerated,
    ) -> dict[str, Any]:
        server = request.fhir_server
        patient_id = request.patient_id
        keys = sorted({*to_fetch, *pages})
        if server is None:
            raise CdsError(
                412,
                [
                    f"prefetch key {key!r} ({why}) and no fhirServer to fetch "
                    f"{query(key, patient_id)} from"
                    for key, why in sorted(to_fetch.items())
                ]
                or [f"prefetch key {k!r} has more pages and no fhirServer" for k in keys],
            )
        if self.cool_off.resting(server):
            raise CdsError(412, [f"the FHIR server {server} failed moments ago; try again shortly"])
        headers = {"Accept": "application/fhir+json"}
        if request.fhir_authorization is not None:
            headers["Authorization"] = f"Bearer {request.fhir_authorization.access_token}"
        async with httpx.AsyncClient(
            timeout=FETCH_TIMEOUT, headers=headers, follow_redirects=False, verify=self.tls
        ) as client:

            async def one(key: str) -> tuple[str, Any]:
                if key in pages:
                    more = await self._pages(client, server, pages[key], notes)
                    return key, [*have[key], *more]
                return key, await self._fetch(client, server, key, patient_id, notes)

            try:
                async with asyncio.timeout(FETCH_DEADLINE_SECONDS):
                    results = await asyncio.gather(*(one(key) for key in keys))
            except TimeoutError as exc:
                self.cool_off.failed(server)
                raise CdsError(412, [f"the FHIR server {server} did not answer in time"]) from exc
        return dict(results)

    async def _get(self, client: httpx.AsyncClient, server: str, url: str) -> dict[str, Any] | None:
        try:
            response = await client.get(url)
        except httpx.HTTPError as exc:
            self.cool_off.failed(server)
            raise CdsError(
                412, [f"could not read {url} from the FHIR server: {type(exc).__name__}"]
            ) from exc
        if response.status_code == 404:
            return None
        if response.status_code >= 500:
            self.cool_off.failed(server)
        if response.status_code != 200 or len(response.content) > MAX_RESPONSE_BYTES:
            raise CdsError(412, [f"the FHIR server answered HTTP {response.status_code} for {url}"])
        try:
            body = response.json()
        except ValueError as exc:
            raise CdsError(412, [f"the FHIR server sent no JSON for {url}"]) from exc
        if not isinstance(body, dict):
            raise CdsError(412, [f"the FHIR server sent no FHIR resource for {url}"])
        return body

    async def _fetch(
        self, client: httpx.AsyncClient, server: str, key: str, patient_id: str, notes: Tolerated
    ) -> Any:
        url = f"{server}/{query(key, patient_id)}"
        body = await self._get(client, server, url)
        if key == "patient":
            return body if body and body.get("resourceType") == "Patient" else None
        if body is None or body.get("resourceType") != "Bundle":
            raise CdsError(412, [f"the FHIR server sent no searchset Bundle for {url}"])
        try:
            found = _entries(body, url, notes)
        except _Missing as why:
            raise CdsError(412, [f"the FHIR server's answer to {url}: {why}"]) from why
        next_page = _next_link(body)
        if next_page is None:
            return found
        return [*found, *(await self._pages(client, server, next_page, notes))]

    async def _pages(
        self, client: httpx.AsyncClient, server: str, url: str, notes: Tolerated
    ) -> list[Any]:
        found: list[Any] = []
        next_page: str | None = url
        for _ in range(MAX_PAGES):
            if next_page is None:
                return found
            # The lent token goes only to the EHR's own server, never to a host a link names.
            if not next_page.startswith(server + "/") and not next_page.startswith(server + "?"):
                raise CdsError(412, [f"a next-page link leaves the FHIR server: {next_page}"])
            body = await self._get(client, server, next_page)
            if body is None or body.get("resourceType") != "Bundle":
                raise CdsError(412, [f"the FHIR server sent no Bundle for page {next_page}"])
            try:
                found.extend(_entries(body, next_page, notes))
            except _Missing as why:
                raise CdsError(412, [f"the FHIR server's page {next_page}: {why}"]) from why
            next_page = _next_link(body)
        if next_page is None:
            return found
        raise CdsError(412, [f"more than {MAX_PAGES} pages of results; too many to read in time"])
