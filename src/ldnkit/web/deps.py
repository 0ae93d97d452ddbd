"""FastAPI dependencies: the store, the signed-in session, roles, posted forms and their CSRF."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from ldnkit.store.records import Actor
from ldnkit.store.repository import Store
from ldnkit.validation import InputError, nul_problems
from ldnkit.web.forms import Form
from ldnkit.web.security import (
    CSRF_FIELD,
    CSRF_HEADER,
    LoginRequired,
    Session,
    bearer_actor,
    browser_session,
    check_csrf,
)


class WrongRole(Exception):
    """Signed in, but this page is for the other role."""


def get_store(request: Request) -> Store:
    store: Store = request.app.state.store
    return store


StoreDep = Annotated[Store, Depends(get_store)]


def page_session(request: Request, store: StoreDep) -> Session:
    session = browser_session(store, request)
    if session is None:
        raise LoginRequired
    request.state.session = session
    return session


def clinician_session(session: Annotated[Session, Depends(page_session)]) -> Session:
    if session.actor.role != "clinician":
        raise WrongRole
    return session


def patient_session(session: Annotated[Session, Depends(page_session)]) -> Session:
    if session.actor.role != "patient":
        raise WrongRole
    return session


def outcomes_session(session: Annotated[Session, Depends(page_session)]) -> Session:
    """A clinician (their own patients' outcomes) or an analyst (the whole clinic's)."""
    if session.actor.role not in ("clinician", "analyst"):
        raise WrongRole
    return session


# Declared so the OpenAPI document names the scheme; the token itself is checked below, so a
# missing or wrong one gets this API's own 401 answer.
BEARER = HTTPBearer(
    auto_error=False,
    scheme_name="bearer",
    description="A token from POST /api/v1/token, sent as `Authorization: Bearer <token>`",
)


def api_actor(
    request: Request,
    store: StoreDep,
    _credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(BEARER)],
) -> Actor:
    return bearer_actor(store, request)


async def posted_form(request: Request) -> Form:
    form = await request.form()
    fields: dict[str, list[str]] = {}
    for key, value in form.multi_items():
        if isinstance(value, str):
            fields.setdefault(key, []).append(value)
    problems = [p for key, values in fields.items() for v in values for p in nul_problems(v, key)]
    if problems:
        raise InputError(problems)
    return Form(fields)


def checked_form(
    request: Request,
    form: Annotated[Form, Depends(posted_form)],
    session: Annotated[Session, Depends(page_session)],
) -> Form:
    """The posted form, once its CSRF token matches the session's (field or HTMX header)."""
    check_csrf(session.csrf, form.get(CSRF_FIELD) or request.headers.get(CSRF_HEADER))
    return form


ClinicianSession = Annotated[Session, Depends(clinician_session)]
PatientSession = Annotated[Session, Depends(patient_session)]
OutcomesSession = Annotated[Session, Depends(outcomes_session)]
AnySession = Annotated[Session, Depends(page_session)]
CheckedForm = Annotated[Form, Depends(checked_form)]
ApiActor = Annotated[Actor, Depends(api_actor)]
