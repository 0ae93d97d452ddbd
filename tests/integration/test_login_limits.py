"""Sign-in limits that hold: under a concurrent burst, across workers and restarts, on SQLite and
PostgreSQL; a growing wait after five failures instead of a lockout."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable, Iterator
from contextlib import ExitStack

import httpx
import pytest
from argon2 import PasswordHasher

from ldnkit.services.accounts import NewAccount, create_account
from ldnkit.settings import Settings
from ldnkit.store import passwords
from ldnkit.store.attempts import AttemptLimit, TooManyAttempts
from ldnkit.store.repository import Store
from ldnkit.web.server import background_server

PASSWORD = "limits-pass-12"
EMAIL = "doc@limits.test"
BURST = 40
FREE = 5  # wrong passwords an email may try before it has to wait


@pytest.fixture
def clinic_url(database_url: str) -> str:
    """The database with one clinician's account."""
    store = Store.open(database_url)
    store.upgrade()
    create_account(store, NewAccount(role="clinician", email=EMAIL, password=PASSWORD))
    store.close()
    return database_url


class CountingHasher:
    """The argon2 hasher, counting the password verifications the server really performs."""

    def __init__(self, hasher: PasswordHasher) -> None:
        self._hasher = hasher
        self._lock = threading.Lock()
        self.count = 0

    def verify(self, hash: str | bytes, password: str | bytes) -> bool:
        with self._lock:
            self.count += 1
        return self._hasher.verify(hash, password)

    def hash(self, password: str | bytes) -> str:
        return self._hasher.hash(password)


@pytest.fixture
def checks(monkeypatch: pytest.MonkeyPatch) -> CountingHasher:
    counting = CountingHasher(passwords._hasher)
    monkeypatch.setattr(passwords, "_hasher", counting)
    return counting


def _warm(url: str) -> None:
    """One request that builds the app's routes (422: no form, no sign-in attempt).

    FastAPI builds its routes on the first request, inside `warnings.catch_warnings()`, which is
    not thread-safe: two apps in one test process building at once can lose its warning filter.
    Real workers are separate processes; warming up first keeps the test about sign-ins.
    """
    assert httpx.post(f"{url}/api/v1/token").status_code == 422


Together = Callable[[int, Callable[[int], None]], None]


def _burst(together: Together, urls: list[str], password: str = "wrong-password-1") -> list[int]:
    """BURST sign-ins at once (spread over the servers given); their status codes."""
    for url in urls:
        _warm(url)
    codes: list[int] = []
    lock = threading.Lock()

    def attempt(i: int) -> None:
        response = httpx.post(
            f"{urls[i % len(urls)]}/api/v1/token",
            data={"username": EMAIL, "password": password},
            timeout=60,
        )
        with lock:
            codes.append(response.status_code)

    together(BURST, attempt)
    return sorted(codes)


def test_a_burst_of_wrong_passwords_gets_no_more_checks_than_the_limit(
    clinic_url: str, checks: CountingHasher, together: Together
) -> None:
    with background_server(Settings(database_url=clinic_url)) as url:
        codes = _burst(together, [url])
    assert checks.count <= FREE, f"{checks.count} password checks for {BURST} attempts"
    assert codes == [401] * checks.count + [429] * (BURST - checks.count)


def test_the_limit_holds_across_workers_and_restarts(
    clinic_url: str, checks: CountingHasher, together: Together
) -> None:
    settings = Settings(database_url=clinic_url)
    with ExitStack() as servers:
        # Two workers of one deployment: two apps sharing the database.
        urls = [servers.enter_context(background_server(settings)) for _ in range(2)]
        codes = _burst(together, urls)
    assert checks.count <= FREE, f"{checks.count} password checks for {BURST} attempts"
    assert codes == [401] * checks.count + [429] * (BURST - checks.count), codes
    with background_server(settings) as restarted:
        again = httpx.post(
            f"{restarted}/api/v1/token", data={"username": EMAIL, "password": PASSWORD}
        )
    assert again.status_code == 429
    assert int(again.headers["retry-after"]) > 0
    assert checks.count <= FREE


# -- the waiting schedule, with the clock in the test's hands -------------------------------

LIMIT = AttemptLimit(
    free=FREE,
    first_wait=dt.timedelta(seconds=30),
    max_wait=dt.timedelta(minutes=15),
    forget_after=dt.timedelta(hours=24),
)
T0 = dt.datetime(2026, 5, 1, 8, 0, tzinfo=dt.UTC)


@pytest.fixture
def store(clinic_url: str) -> Iterator[Store]:
    s = Store.open(clinic_url)
    yield s
    s.close()


def _try(store: Store, at: dt.datetime, key: str = "email:pat@x.test") -> int | None:
    """None when the attempt may go ahead, else the seconds it was told to wait."""
    try:
        store.reserve_login_attempt({key: LIMIT}, now=at)
    except TooManyAttempts as exc:
        return exc.retry_after
    return None


def test_after_five_failures_each_attempt_waits_twice_as_long_up_to_a_cap(store: Store) -> None:
    for _ in range(FREE):
        assert _try(store, T0) is None
    assert _try(store, T0 + dt.timedelta(seconds=10)) == 20
    # A refused attempt does not push the wait further: it was never counted.
    assert _try(store, T0 + dt.timedelta(seconds=29)) == 1
    at = T0 + dt.timedelta(seconds=30)
    waits = []
    for _ in range(8):
        assert _try(store, at) is None
        waits.append(_try(store, at))
        at += dt.timedelta(seconds=waits[-1] or 0)
    assert waits == [60, 120, 240, 480, 900, 900, 900, 900]


def test_a_right_password_gives_its_attempt_back_and_clears_the_email(store: Store) -> None:
    for _ in range(FREE):
        assert _try(store, T0) is None
    assert _try(store, T0) == 30
    store.give_back_login_attempt([], forget=["email:pat@x.test"])
    assert _try(store, T0) is None


def test_one_address_trying_many_emails_is_held_back_too(store: Store) -> None:
    address = AttemptLimit(free=30, first_wait=LIMIT.first_wait, max_wait=LIMIT.max_wait)
    for i in range(30):
        store.reserve_login_attempt(
            {f"email:p{i}@x.test": LIMIT, "address:10.0.0.7": address}, now=T0
        )
    with pytest.raises(TooManyAttempts):
        store.reserve_login_attempt(
            {"email:new@x.test": LIMIT, "address:10.0.0.7": address}, now=T0
        )
    # Refused as a whole: the new email was not charged for the address's wait.
    assert _try(store, T0, "email:new@x.test") is None


def test_a_key_left_quiet_for_a_day_starts_again_and_its_row_can_be_cleaned_up(
    store: Store,
) -> None:
    for _ in range(FREE + 1):
        _try(store, T0)
    assert _try(store, T0 + dt.timedelta(seconds=1)) is not None
    assert _try(store, T0 + dt.timedelta(hours=24, seconds=1)) is None
    removed = store.remove_quiet_login_attempts(
        dt.timedelta(hours=24), now=T0 + dt.timedelta(days=3)
    )
    assert removed == 1
