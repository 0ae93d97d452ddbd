"""The web application: clinician and patient pages, the JSON API, static files, error pages."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect
from starlette.types import Scope

from ldnkit import __version__
from ldnkit.cdshooks.service import MAX_BODY_BYTES as CDS_MAX_BODY_BYTES
from ldnkit.cdshooks.service import create_router
from ldnkit.cdshooks.service import too_large as cds_too_large
from ldnkit.cdshooks.service import unknown_host as cds_unknown_host
from ldnkit.domain.diary import MergeConflict
from ldnkit.jsoninput import size
from ldnkit.services.accounts import SignInLimits, clean_up
from ldnkit.settings import Settings
from ldnkit.store.attempts import TooManyAttempts
from ldnkit.store.repository import Forbidden, NotFound, Store
from ldnkit.validation import _EXPECTED as EXPECTED_WORDS
from ldnkit.validation import InputError, Problem, show
from ldnkit.web import api, ask_api
from ldnkit.web.deps import WrongRole
from ldnkit.web.headers import SecurityHeaders
from ldnkit.web.hosts import TrustedHosts, host_not_listed
from ldnkit.web.limits import API_BODY_LIMIT, FORM_BODY_LIMIT, BodyLimit, body_too_large
from ldnkit.web.openapi import api_document
from ldnkit.web.render import page
from ldnkit.web.routes import (
    ask,
    auth,
    clinic,
    install,
    learn,
    outcomes,
    patient,
    patient_files,
    patient_login,
    reminders,
)
from ldnkit.web.security import CsrfRejected, LoginRequired
from ldnkit.web.words import said_all

log = logging.getLogger("ldnkit.web")


def _is_api(request: Request) -> bool:
    # JSON callers (the API and EHRs calling CDS Hooks) get JSON errors, never HTML pages.
    return request.url.path.startswith(("/api/", "/cds-services"))


def _problem_json(problems: list[Problem], status: int = 422) -> JSONResponse:
    return JSONResponse(
        {
            "detail": [
                {"field": p.field, "received": p.received, "expected": p.expected, "msg": str(p)}
                for p in problems
            ]
        },
        status_code=status,
    )


def _error_page(request: Request, status: int, title: str, text: str) -> Response:
    if _is_api(request):
        return JSONResponse({"detail": text}, status_code=status)
    return page(request, "error.html", {"title": title, "text": text}, status_code=status)


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(LoginRequired)
    async def _login(request: Request, _exc: LoginRequired) -> Response:
        if _is_api(request):
            return JSONResponse(
                {"detail": "not signed in"},
                status_code=401,
                headers={"WWW-Authenticate": "Bearer"},
            )
        return RedirectResponse("/login", status_code=303)

    @app.exception_handler(CsrfRejected)
    async def _csrf(request: Request, _exc: CsrfRejected) -> Response:
        return _error_page(
            request,
            403,
            "Form expired",
            "This form was not accepted (its security token is missing or out of date). "
            "Go back, reload the page and send it again.",
        )

    @app.exception_handler(WrongRole)
    async def _role(request: Request, _exc: WrongRole) -> Response:
        return _error_page(request, 403, "Not for this account", "This page is not for your role.")

    @app.exception_handler(Forbidden)
    async def _forbidden(request: Request, _exc: Forbidden) -> Response:
        return _error_page(request, 403, "Not allowed", "Your account cannot do this.")

    @app.exception_handler(NotFound)
    async def _not_found(request: Request, _exc: NotFound) -> Response:
        return _error_page(request, 404, "Not found", "There is no such record.")

    @app.exception_handler(TooManyAttempts)
    async def _too_many(request: Request, exc: TooManyAttempts) -> Response:
        text = f"Too many failed sign-ins. Try again in {exc.retry_after} seconds."
        headers = {"Retry-After": str(exc.retry_after)}
        if _is_api(request):
            return JSONResponse({"detail": text}, status_code=429, headers=headers)
        return page(request, "login.html", {"message": text}, status_code=429, headers=headers)

    @app.exception_handler(InputError)
    async def _input(request: Request, exc: InputError) -> Response:
        if _is_api(request):
            return _problem_json(exc.problems)
        return _error_page(request, 422, "Please check the input", said_all(exc.problems))

    @app.exception_handler(MergeConflict)
    async def _conflict(request: Request, exc: MergeConflict) -> Response:
        return JSONResponse(
            {"detail": str(exc), "existing": exc.existing.model_dump(mode="json")},
            status_code=409,
        )

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> Response:
        problems = problems_from_request(exc)
        if _is_api(request):
            return _problem_json(problems)
        return _error_page(request, 422, "Please check the input", said_all(problems))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        titles = {404: "Not found", 405: "Not allowed", 401: "Sign in needed"}
        response = _error_page(
            request, exc.status_code, titles.get(exc.status_code, "Error"), str(exc.detail)
        )
        # The exception's headers are part of the answer: Allow on a 405 names the methods.
        response.headers.update(exc.headers or {})
        return response

    @app.exception_handler(ClientDisconnect)
    async def _gone(request: Request, _exc: ClientDisconnect) -> Response:
        # The client hung up mid-request; nobody is left to read an answer.
        return Response(status_code=400)

    @app.exception_handler(Exception)
    async def _crash(request: Request, exc: Exception) -> Response:
        # The traceback goes to the server log, never to the user.
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return _error_page(
            request,
            500,
            "Something went wrong",
            "The request could not be completed. Nothing was half-saved; please try again.",
        )


def _body_limit(scope: Scope) -> int:
    path = str(scope.get("path", ""))
    if path.startswith("/cds-services"):
        return CDS_MAX_BODY_BYTES
    return API_BODY_LIMIT if path.startswith("/api/") else FORM_BODY_LIMIT


def _refusal(scope: Scope, status: int, problem: Problem, title: str, text: str) -> Response:
    """A refusal made before any route runs, in the caller's own format."""
    request = Request(scope)
    if _is_api(request):
        return _problem_json([problem], status)
    return page(request, "error.html", {"title": title, "text": text}, status_code=status)


def _too_large(scope: Scope, limit: int) -> Response:
    if str(scope.get("path", "")).startswith("/cds-services"):
        return cds_too_large(scope, limit)
    return _refusal(
        scope,
        413,
        body_too_large(limit),
        "Too much to send at once",
        f"What this form sent is too large (more than {size(limit)}). Shorten the longest "
        "text in it, then go back and send it again.",
    )


def _unknown_host(scope: Scope, host: str) -> Response:
    if str(scope.get("path", "")).startswith("/cds-services"):
        return cds_unknown_host(scope, host)
    return _refusal(
        scope,
        400,
        host_not_listed(host),
        "Unknown address",
        "This server does not answer to the address in your browser. Use the address your "
        "clinic gave you.",
    )


def problems_from_request(exc: RequestValidationError) -> list[Problem]:
    """FastAPI's own checks (path ids, token form fields) as problems with the field path."""
    problems = []
    for err in exc.errors():
        loc = [str(part) for part in err.get("loc", ())]
        if loc and loc[0] in {"body", "query", "path", "form"}:
            loc = loc[1:]
        kind = str(err.get("type", ""))
        received = "nothing" if kind == "missing" else show(err.get("input"))
        # The same words as everywhere else for the same mistake (ldnkit.validation's table).
        expected = EXPECTED_WORDS.get(kind) or str(err.get("msg", "a valid value")).removeprefix(
            "Input should be "
        )
        problems.append(Problem(".".join(loc) or "input", received, expected))
    return problems


HOUSEKEEPING_EVERY = dt.timedelta(hours=1)


async def _every(
    period: dt.timedelta, store: Store, idle: dt.timedelta, limits: SignInLimits
) -> None:
    """Remove ended sessions, forgotten sign-in counts and expired CDS tokens while the app
    runs (sign-ins and token checks also do it); a failure is logged and tried again next
    time, never fatal."""
    while True:
        try:
            await run_in_threadpool(clean_up, store, idle, limits)
            await run_in_threadpool(store.remove_expired_token_uses)
        except Exception:
            log.exception("housekeeping of sessions and tokens failed; trying again later")
        await asyncio.sleep(period.total_seconds())


def create_app(settings: Settings, store: Store) -> FastAPI:
    """The whole web app over `store`, which it closes when it shuts down.

    Built by `ldnkit.bootstrap.web_app`, which reads the settings and opens the store.
    """

    limits = SignInLimits.waiting(
        dt.timedelta(seconds=settings.login_wait_seconds),
        dt.timedelta(seconds=settings.login_max_wait_seconds),
    )
    idle = dt.timedelta(minutes=settings.session_idle_minutes)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        housekeeping = asyncio.create_task(_every(HOUSEKEEPING_EVERY, store, idle, limits))
        yield
        housekeeping.cancel()
        store.close()

    app = FastAPI(
        title="ldnkit",
        version=__version__,
        description="Low-dose naltrexone therapy: patients, diaries, plans, responses and "
        "cited answers to questions.",
        openapi_url="/api/v1/openapi.json",
        # The interactive docs page loads its scripts from a CDN; the JSON document is enough.
        docs_url=None,
        redoc_url=None,
        lifespan=lifespan,
    )
    # Added innermost first: security headers on every answer, then the Host check (so no
    # redirect is built from an untrusted Host), then the body limit.
    app.add_middleware(BodyLimit, limit_for=_body_limit, refusal=_too_large)
    app.add_middleware(TrustedHosts, allowed=settings.allowed_hosts(), refusal=_unknown_host)
    app.add_middleware(SecurityHeaders)
    app.openapi = lambda: api_document(app)  # type: ignore[method-assign]
    app.state.store = store
    app.state.settings = settings
    app.state.limiter = limits
    _install_error_handlers(app)
    app.mount("/static", StaticFiles(packages=[("ldnkit.web", "static")]), name="static")
    app.include_router(auth.router)
    app.include_router(patient.router)
    app.include_router(patient_files.router)
    app.include_router(reminders.router)
    app.include_router(patient_login.router)
    app.include_router(install.router)
    for router in clinic.routers:
        app.include_router(router)
    app.include_router(learn.router)
    app.include_router(outcomes.router)
    app.include_router(ask.router)
    app.include_router(api.router)
    app.include_router(ask_api.router)
    # CDS Hooks for EHRs: its own JWT checks, no session or CSRF (see ldnkit.cdshooks). EHRs
    # learn its services from GET /cds-services, so it stays out of the API's OpenAPI document.
    app.include_router(create_router(settings, store), include_in_schema=False)
    return app
