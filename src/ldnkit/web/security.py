"""Sign-in, sessions and CSRF for the web app and the JSON API.

Sessions live in the database (only a hash of the token is stored), so signing out or deleting an
account ends them at once and every worker process sees the same sessions. Browser sessions ride
in an HttpOnly, SameSite=Lax cookie (Secure when the request came over https); API clients send
`Authorization: Bearer <token>` from POST /api/v1/token. Every form carries a CSRF token: the
session's own token when signed in, a double-submit cookie on the sign-in form.
"""

from __future__ import annotations

import datetime as dt
import hmac
import secrets
from dataclasses import dataclass

from fastapi import Request, Response

from ldnkit.services.accounts import SignInLimits, sign_in
from ldnkit.store.records import Account, Actor
from ldnkit.store.repository import Store
from ldnkit.validation import InputError, nul_problems

SESSION_COOKIE = "ldnkit_session"
PRE_SESSION_COOKIE = "ldnkit_csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
SESSION_LIFETIME = dt.timedelta(hours=12)
TOKEN_LIFETIME = dt.timedelta(hours=1)


class LoginRequired(Exception):
    """No valid session: pages redirect to the sign-in page, the API answers 401."""


class CsrfRejected(Exception):
    """A form came without the CSRF token of the session that rendered it."""


@dataclass(frozen=True)
class Session:
    actor: Actor
    csrf: str
    token: str


def client_address(request: Request) -> str:
    """The client's address: the peer, or behind a trusted proxy the one it forwarded.

    uvicorn rewrites the peer from X-Forwarded-For only for proxies listed in
    FORWARDED_ALLOW_IPS, so a client elsewhere cannot pick its own address (see the README).
    """
    return request.client.host if request.client else "unknown"


def authenticate(
    store: Store, limits: SignInLimits, request: Request, email: str, password: str
) -> Account | None:
    """The account when the password is right (see `ldnkit.services.accounts.sign_in`)."""
    problems = nul_problems({"email": email, "password": password})
    if problems:  # the API's token form does not come through posted_form
        raise InputError(problems)
    return sign_in(store, email, password, client_address(request), limits)


def idle_timeout(request: Request) -> dt.timedelta:
    """How long a session or token may go unused before it ends (LDNKIT_SESSION_IDLE_MINUTES)."""
    return dt.timedelta(minutes=request.app.state.settings.session_idle_minutes)


def is_https(request: Request) -> bool:
    return request.url.scheme == "https"


def _set_secret_cookie(response: Response, request: Request, name: str, value: str) -> None:
    """An HttpOnly, SameSite=Lax cookie for the whole site, living as long as a session."""
    response.set_cookie(
        name,
        value,
        max_age=int(SESSION_LIFETIME.total_seconds()),
        httponly=True,
        samesite="lax",
        secure=is_https(request),
        path="/",
    )


def set_session_cookie(response: Response, request: Request, token: str) -> None:
    _set_secret_cookie(response, request, SESSION_COOKIE, token)


def clear_session_cookie(response: Response, request: Request) -> None:
    response.delete_cookie(
        SESSION_COOKIE, httponly=True, samesite="lax", secure=is_https(request), path="/"
    )


def pre_session_token(request: Request) -> str:
    """The sign-in form's CSRF token: the double-submit cookie's value (new if none yet)."""
    token = request.cookies.get(PRE_SESSION_COOKIE)
    return token if token and len(token) >= 32 else secrets.token_urlsafe(32)


def set_pre_session_cookie(response: Response, request: Request, token: str) -> None:
    response.set_cookie(
        PRE_SESSION_COOKIE,
        token,
        httponly=True,
        samesite="lax",
        secure=is_https(request),
        path="/",
    )


def check_csrf(expected: str | None, sent: str | None) -> None:
    if not expected or not sent or not hmac.compare_digest(expected, sent):
        raise CsrfRejected


def browser_session(store: Store, request: Request) -> Session | None:
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    found = store.session(token, "cookie", idle_timeout(request))
    return Session(found[0], found[1], token) if found else None


def bearer_actor(store: Store, request: Request) -> Actor:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise LoginRequired
    found = store.session(token.strip(), "bearer", idle_timeout(request))
    if found is None:
        raise LoginRequired
    return found[0]


# -- the clinic's day, and a form kept across an ended session -------------------------------

RESUME_COOKIE = "ldnkit_resume"


def clinic_today(request: Request) -> dt.date:
    """Today in the clinic's time zone (LDNKIT_TIME_ZONE): the last day a diary may record."""
    today: dt.date = request.app.state.settings.today()
    return today


def set_resume_cookie(response: Response, request: Request, token: str) -> None:
    """The one-time token of a form kept while its owner signs in again."""
    _set_secret_cookie(response, request, RESUME_COOKIE, token)
