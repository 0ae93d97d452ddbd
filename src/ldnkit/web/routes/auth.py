"""Sign in, sign out, change password, and the front door that sends each role home."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response

from ldnkit.services.accounts import change_password, clean_up, sign_out
from ldnkit.validation import InputError, Problem
from ldnkit.web.deps import AnySession, CheckedForm, StoreDep, posted_form
from ldnkit.web.forms import Form
from ldnkit.web.render import page, problems_by_field
from ldnkit.web.security import (
    CSRF_FIELD,
    PRE_SESSION_COOKIE,
    SESSION_LIFETIME,
    authenticate,
    browser_session,
    check_csrf,
    clear_session_cookie,
    client_address,
    idle_timeout,
    pre_session_token,
    set_pre_session_cookie,
    set_session_cookie,
)

router = APIRouter(include_in_schema=False)


def home_for(role: str) -> str:
    return {"clinician": "/clinic", "analyst": "/outcomes"}.get(role, "/me/today")


@router.get("/")
def front_door(request: Request, store: StoreDep) -> Response:
    session = browser_session(store, request)
    return RedirectResponse(home_for(session.actor.role) if session else "/login", status_code=303)


def _login_page(
    request: Request, message: str | None = None, email: str = "", status_code: int = 200
) -> Response:
    token = pre_session_token(request)
    request.state.pre_csrf = token
    response = page(
        request,
        "login.html",
        {"message": message, "values": {"email": email}},
        status_code=status_code,
    )
    set_pre_session_cookie(response, request, token)
    return response


@router.get("/login")
def login_form(request: Request, store: StoreDep) -> Response:
    session = browser_session(store, request)
    if session is not None:
        return RedirectResponse(home_for(session.actor.role), status_code=303)
    return _login_page(request)


@router.post("/login")
def login(
    request: Request, store: StoreDep, form: Annotated[Form, Depends(posted_form)]
) -> Response:
    check_csrf(request.cookies.get(PRE_SESSION_COOKIE), form.get(CSRF_FIELD))
    email = form.get("email").strip()
    account = authenticate(store, request.app.state.limiter, request, email, form.get("password"))
    if account is None:
        return _login_page(request, "Email or password is not right.", email, status_code=401)
    clean_up(store, idle_timeout(request), request.app.state.limiter)
    token, _csrf = store.open_session(account, "cookie", SESSION_LIFETIME)
    response = RedirectResponse(home_for(account.role), status_code=303)
    set_session_cookie(response, request, token)
    response.delete_cookie(PRE_SESSION_COOKIE, path="/")
    return response


@router.post("/logout")
def logout(request: Request, store: StoreDep, session: AnySession, _form: CheckedForm) -> Response:
    """Sign out: this browser's session ends, and so does every API token of the account."""
    sign_out(store, session.actor, session.token)
    response = RedirectResponse("/login", status_code=303)
    clear_session_cookie(response, request)
    return response


@router.get("/account/password")
def password_form(request: Request, session: AnySession) -> Response:
    return page(request, "password.html")


@router.post("/account/password")
def change_password_page(
    request: Request, store: StoreDep, session: AnySession, form: CheckedForm
) -> Response:
    """A new password; every other session and API token of the account ends with the old one."""
    try:
        if form.get("password") != form.get("password_again"):
            raise InputError(
                [Problem("password_again", "a different password", "the new password again")]
            )
        change_password(
            store,
            session.actor,
            form.get("current_password"),
            form.get("password"),
            client_address(request),
            request.app.state.limiter,
        )
    except InputError as exc:
        errors = problems_by_field(exc.problems)
        return page(request, "password.html", {"errors": errors}, status_code=422)
    account = store.account_by_email(session.actor.email)
    assert account is not None  # the signed-in account
    token, _csrf = store.open_session(account, "cookie", SESSION_LIFETIME)
    response = RedirectResponse(home_for(account.role), status_code=303)
    set_session_cookie(response, request, token)
    return response
