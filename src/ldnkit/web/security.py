"""Sign-in, sessions, CSRF and login rate limiting for the web app and the JSON API.

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
import threading
import time
from collections import deque
from dataclasses import dataclass

from fastapi import Request, Response

from ldnkit.store.passwords import verify_password
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


class TooManyAttempts(Exception):
    def __init__(self, retry_after: int) -> None:
        self.retry_after = retry_after
        super().__init__(f"too many failed sign-ins; try again in {retry_after} s")


@dataclass(frozen=True)
class Session:
    actor: Actor
    csrf: str
    token: str


class LoginLimiter:
    """Failed sign-ins allowed per email and per client address within a sliding window.

    A client address gets more room than one email: several people may share a clinic's
    network address. Kept in memory: one process serves the app (SQLite has one writer anyway);
    a restart forgets the counts, which only gives an attacker a fresh window of a few attempts.
    """

    def __init__(self, per_email: int = 5, per_address: int = 30, window_s: float = 300.0) -> None:
        self.limits = {"email": per_email, "address": per_address}
        self.window_s = window_s
        self._failures: dict[tuple[str, str], deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, key: tuple[str, str], now: float) -> deque[float]:
        times = self._failures.setdefault(key, deque())
        while times and times[0] <= now - self.window_s:
            times.popleft()
        return times

    def check(self, email: str, address: str) -> None:
        """Raise TooManyAttempts when the email or the address has used up its failures."""
        now = time.monotonic()
        with self._lock:
            for key in (("email", email), ("address", address)):
                times = self._recent(key, now)
                if len(times) >= self.limits[key[0]]:
                    raise TooManyAttempts(int(times[0] + self.window_s - now) + 1)

    def failed(self, email: str, address: str) -> None:
        now = time.monotonic()
        with self._lock:
            for key in (("email", email), ("address", address)):
                self._recent(key, now).append(now)

    def succeeded(self, email: str) -> None:
        with self._lock:
            self._failures.pop(("email", email), None)


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def authenticate(
    store: Store, limiter: LoginLimiter, request: Request, email: str, password: str
) -> Account | None:
    """The account when the password is right; counts failures and audits every attempt."""
    problems = nul_problems({"email": email, "password": password})
    if problems:  # the API's token form does not come through posted_form
        raise InputError(problems)
    email_key = email.strip().lower()
    address = client_address(request)
    limiter.check(email_key, address)
    account = store.account_by_email(email)
    ok = verify_password(account.password_hash if account else None, password)
    store.log_login(email, account, ok)
    if not ok:
        limiter.failed(email_key, address)
        return None
    limiter.succeeded(email_key)
    return account


def is_https(request: Request) -> bool:
    return request.url.scheme == "https"


def set_session_cookie(response: Response, request: Request, token: str) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=int(SESSION_LIFETIME.total_seconds()),
        httponly=True,
        samesite="lax",
        secure=is_https(request),
        path="/",
    )


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
    found = store.session(token, "cookie")
    return Session(found[0], found[1], token) if found else None


def bearer_actor(store: Store, request: Request) -> Actor:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise LoginRequired
    found = store.session(token.strip(), "bearer")
    if found is None:
        raise LoginRequired
    return found[0]
