"""Sign in (and send a form kept across an ended session), sign out, change a password, choose
one with a one-time code, and the front door that sends each role home."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response

from ldnkit.services.accounts import (
    RESET_CODE_LIFETIME,
    AccountDisabled,
    change_password,
    clean_up,
    redeem_reset_code,
    sign_out,
)
from ldnkit.store.records import Account
from ldnkit.validation import InputError, Problem
from ldnkit.web.deps import AnySession, CheckedForm, StoreDep, posted_form
from ldnkit.web.forms import Form
from ldnkit.web.render import page
from ldnkit.web.routes.patient import resume_form
from ldnkit.web.security import (
    CSRF_FIELD,
    PRE_SESSION_COOKIE,
    RESUME_COOKIE,
    SESSION_LIFETIME,
    Session,
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
from ldnkit.web.words import said_by_field

router = APIRouter(include_in_schema=False)

DISABLED_MESSAGE = (
    "This account is switched off, so it cannot sign in. Ask your clinic to switch it on again."
)
RESET_HOURS = int(RESET_CODE_LIFETIME.total_seconds() // 3600)


def home_for(role: str) -> str:
    return {"clinician": "/clinic", "analyst": "/outcomes"}.get(role, "/me/today")


@router.get("/")
def front_door(request: Request, store: StoreDep) -> Response:
    session = browser_session(store, request)
    return RedirectResponse(home_for(session.actor.role) if session else "/login", status_code=303)


def _pre_session_page(
    request: Request, template: str, context: Mapping[str, object], status_code: int = 200
) -> Response:
    """A page with a form sent before signing in; its CSRF token is a double-submit cookie."""
    token = pre_session_token(request)
    request.state.pre_csrf = token
    response = page(request, template, context, status_code=status_code)
    set_pre_session_cookie(response, request, token)
    return response


def pre_session_form(request: Request, form: Annotated[Form, Depends(posted_form)]) -> Form:
    """A form sent before signing in (sign-in, a one-time code), once its CSRF token matches."""
    check_csrf(request.cookies.get(PRE_SESSION_COOKIE), form.get(CSRF_FIELD))
    return form


PreSessionForm = Annotated[Form, Depends(pre_session_form)]


def _login_page(
    request: Request, message: str | None = None, email: str = "", status_code: int = 200
) -> Response:
    context = {"message": message, "values": {"email": email}}
    return _pre_session_page(request, "login.html", context, status_code)


KEPT_MESSAGE = (
    "Your session had ended, so your diary entry has been kept. Sign in again and it will be saved."
)


@router.get("/login")
def login_form(request: Request, store: StoreDep, kept: str | None = None) -> Response:
    session = browser_session(store, request)
    if session is not None:
        return RedirectResponse(home_for(session.actor.role), status_code=303)
    return _login_page(request, KEPT_MESSAGE if kept else None)


def _signed_in(request: Request, store: StoreDep, account: Account) -> Response:
    """A new browser session for the account, then home, or the form it sent before its last
    session ended (saved now: see `ldnkit.services.resume`)."""
    clean_up(store, idle_timeout(request), request.app.state.limiter)
    token, csrf = store.open_session(account, "cookie", SESSION_LIFETIME)
    kept = request.cookies.get(RESUME_COOKIE)
    resumed = (
        resume_form(request, store, Session(account.actor, csrf, token), kept) if kept else None
    )
    response = resumed or RedirectResponse(home_for(account.role), status_code=303)
    set_session_cookie(response, request, token)
    response.delete_cookie(PRE_SESSION_COOKIE, path="/")
    response.delete_cookie(RESUME_COOKIE, path="/")
    return response


@router.post("/login")
def login(request: Request, store: StoreDep, form: PreSessionForm) -> Response:
    email = form.get("email").strip()
    try:
        account = authenticate(
            store, request.app.state.limiter, request, email, form.get("password")
        )
    except AccountDisabled:
        return _login_page(request, DISABLED_MESSAGE, email, status_code=403)
    if account is None:
        return _login_page(
            request,
            "The email or the password is not right. Check both and try again; if you have "
            "forgotten your password, ask your clinic for a one-time code.",
            email,
            status_code=401,
        )
    return _signed_in(request, store, account)


# -- a new password with a one-time code from the clinic -----------------------------------


def _reset_page(
    request: Request,
    code: str = "",
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    context = {"values": {"code": code}, "errors": errors or {}, "hours": RESET_HOURS}
    return _pre_session_page(request, "password_reset.html", context, status_code)


@router.get("/account/reset")
def reset_form(request: Request, code: str = "") -> Response:
    """Choose a new password with the one-time code (the clinic's link fills it in)."""
    return _reset_page(request, code[:64])


@router.post("/account/reset")
def reset_password(request: Request, store: StoreDep, form: PreSessionForm) -> Response:
    code = form.get("code").strip()
    try:
        if form.get("password") != form.get("password_again"):
            raise InputError([Problem("password_again", "a different password", "the same")])
        account = redeem_reset_code(
            store, code, form.get("password"), client_address(request), request.app.state.limiter
        )
    except InputError as exc:
        return _reset_page(request, code, said_by_field(exc.problems), status_code=422)
    return _signed_in(request, store, account)


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
        errors = said_by_field(exc.problems)
        return page(request, "password.html", {"errors": errors}, status_code=422)
    account = store.account_by_email(session.actor.email)
    assert account is not None  # the signed-in account
    token, _csrf = store.open_session(account, "cookie", SESSION_LIFETIME)
    response = RedirectResponse(home_for(account.role), status_code=303)
    set_session_cookie(response, request, token)
    return response
