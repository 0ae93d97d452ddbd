"""Accounts on a served app, SQLite and PostgreSQL: one set of rules for every login, passwords
kept as typed, sign-out and password changes ending API tokens, sessions revoked, cleaned up
and ended when idle."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, text

from ldnkit.cli import main
from ldnkit.settings import Settings
from ldnkit.store.passwords import hash_password
from ldnkit.store.repository import Store
from ldnkit.web import server
from ldnkit.web.server import background_server, csrf_from

PASSWORD = "accounts-pass-12"
DOCTOR = "doc@accounts.test"
PATIENT = "pat@accounts.test"


@dataclass(frozen=True)
class Site:
    url: str
    db_url: str


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def site(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    fresh_database: Callable[[str, Path], AbstractContextManager[str]],
) -> Iterator[Site]:
    with fresh_database(request.param, tmp_path_factory.mktemp("accounts")) as db_url:
        store = Store.open(db_url)
        store.upgrade()
        doctor = store.create_clinician(DOCTOR, hash_password(PASSWORD), "Dr Accounts")
        store.create_patient(
            doctor.actor, "Pat", {}, email=PATIENT, password_hash=hash_password(PASSWORD)
        )
        store.close()
        settings = Settings(database_url=db_url, session_idle_minutes=5)
        with background_server(settings) as url:
            yield Site(url, db_url)


@pytest.fixture
def cli_database(site: Site, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LDNKIT_DATABASE_URL", site.db_url)


def _browser(
    site: Site, email: str = PATIENT, password: str = PASSWORD
) -> AbstractContextManager[httpx.Client]:
    return server.signed_in(site.url, email, password)


def _token(site: Site, email: str = PATIENT, password: str = PASSWORD) -> dict[str, str]:
    response = httpx.post(
        f"{site.url}/api/v1/token", data={"username": email, "password": password}
    )
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def _api_works(site: Site, bearer: dict[str, str]) -> bool:
    return httpx.get(f"{site.url}/api/v1/me", headers=bearer).status_code == 200


def _page_works(client: httpx.Client) -> bool:
    return client.get("/me/today").status_code == 200


def _sql(site: Site, query: str, **params: object) -> list[tuple[object, ...]]:
    engine = create_engine(site.db_url)
    try:
        with engine.begin() as connection:
            result = connection.execute(text(query), params)
            return [tuple(r) for r in result] if result.returns_rows else []
    finally:
        engine.dispose()


# -- one set of rules for every login -------------------------------------------------------


@pytest.mark.parametrize(
    ("email", "password", "problem"),
    [
        # The page names the field by its label and says what to do, in words.
        ("not-an-email", "a-fine-pass-phrase", "Patient login, email: “not-an-email” cannot"),
        ("new1@accounts.test", "password", "Patient login, password: a password of 8 characters"),
        ("new2@accounts.test", " " * 8, "Patient login, password: a password of 8 characters"),
        ("new3@accounts.test", "password1234", "Patient login, password: a common password"),
        ("new4@accounts.test", " " * 12, "Patient login, password: a common password"),
    ],
)
def test_the_intake_form_refuses_a_bad_email_or_a_weak_password_and_saves_nothing(
    site: Site, email: str, password: str, problem: str
) -> None:
    with _browser(site, DOCTOR) as doctor:
        before = doctor.get("/clinic").text.count("/clinic/patients/")
        form = {
            "csrf_token": csrf_from(doctor.get("/clinic/patients/new").text),
            "name": "New Patient",
            "email": email,
            "password": password,
        }
        response = doctor.post("/clinic/patients/new", data=form)
        assert response.status_code == 422
        assert problem in response.text
        if len(password.strip()) >= 12:
            assert password not in response.text  # never sent back, not even into the form
        assert doctor.get("/clinic").text.count("/clinic/patients/") == before


def test_a_password_with_spaces_from_the_cli_signs_in_exactly_as_typed(
    site: Site, cli_database: None
) -> None:
    spaced = "  three words here  "
    args = ["users", "create", "--role", "patient", "--email", "spaces@accounts.test"]
    assert main([*args, "--password", spaced, "--clinician", DOCTOR]) == 0
    _token(site, "spaces@accounts.test", spaced)
    refused = httpx.post(
        f"{site.url}/api/v1/token",
        data={"username": "spaces@accounts.test", "password": spaced.strip()},
    )
    assert refused.status_code == 401


def test_the_cli_refuses_a_common_password_without_showing_it(
    site: Site, cli_database: None, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["users", "create", "--role", "clinician", "--email", "weak@accounts.test"]
    assert main([*args, "--password", "qwerty123456"]) == 2
    err = capsys.readouterr().err
    assert "password: got a common password" in err
    assert "qwerty123456" not in err


# -- ending sessions and tokens -------------------------------------------------------------


def test_signing_out_ends_the_accounts_api_tokens_too(site: Site) -> None:
    bearer = _token(site)
    with _browser(site) as browser:
        assert _api_works(site, bearer)
        csrf = csrf_from(browser.get("/me/today").text)
        assert browser.post("/logout", data={"csrf_token": csrf}).status_code == 303
        assert not _page_works(browser)
    assert not _api_works(site, bearer)


def test_users_revoke_ends_every_session_and_token_of_the_account(
    site: Site, cli_database: None
) -> None:
    bearer = _token(site)
    with _browser(site) as browser, _browser(site, DOCTOR) as doctor:
        assert _page_works(browser)
        assert main(["users", "revoke", PATIENT]) == 0
        assert not _page_works(browser)
        assert not _api_works(site, bearer)
        assert doctor.get("/clinic").status_code == 200  # other accounts are untouched


def test_a_new_password_ends_the_old_sessions_and_tokens(site: Site, cli_database: None) -> None:
    bearer = _token(site, DOCTOR)
    with _browser(site, DOCTOR) as browser:
        assert main(["users", "set-password", DOCTOR, "--password", "a new pass phrase"]) == 0
        assert browser.get("/clinic").status_code == 303
        assert not _api_works(site, bearer)
    _token(site, DOCTOR, "a new pass phrase")
    assert main(["users", "set-password", DOCTOR, "--password", PASSWORD]) == 0


def test_expired_sessions_are_removed_when_someone_signs_in(site: Site) -> None:
    store = Store.open(site.db_url)
    account = store.account_by_email(PATIENT)
    assert account is not None
    store.open_session(account, "cookie", dt.timedelta(seconds=-1))
    store.close()
    expired = "SELECT count(*) FROM sessions WHERE expires_at < :now"
    assert _sql(site, expired, now=dt.datetime.now(dt.UTC)) == [(1,)]
    with _browser(site):
        pass
    assert _sql(site, expired, now=dt.datetime.now(dt.UTC)) == [(0,)]


def test_a_session_unused_for_longer_than_the_idle_timeout_has_ended(site: Site) -> None:
    with _browser(site) as browser:
        assert _page_works(browser)
        long_ago = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=6)
        account = "(SELECT id FROM accounts WHERE email = :email)"
        _sql(site, f"UPDATE sessions SET last_seen_at = :t, created_at = :t "
                   f"WHERE account_id = {account}", t=long_ago, email=PATIENT)  # fmt: skip
        response = browser.get("/me/today")
        assert response.status_code == 303
        assert response.headers["location"] == "/login"


def test_changing_the_password_on_the_web_ends_the_other_sessions_and_api_tokens(
    site: Site,
) -> None:
    store = Store.open(site.db_url)
    store.create_clinician("changer@accounts.test", hash_password(PASSWORD), "Dr Changer")
    store.close()
    new_password = "a fresh pass phrase"
    bearer = _token(site, "changer@accounts.test")
    with (
        _browser(site, "changer@accounts.test") as here,
        _browser(site, "changer@accounts.test") as elsewhere,
    ):
        form = {
            "csrf_token": csrf_from(here.get("/account/password").text),
            "current_password": "not the password",
            "password": new_password,
            "password_again": new_password,
        }
        wrong = here.post("/account/password", data=form)
        assert wrong.status_code == 422
        assert "the password you sign in with now" in wrong.text
        form["current_password"] = PASSWORD
        form["password_again"] = "a fresh pass phrasf"
        assert here.post("/account/password", data=form).status_code == 422
        form["password_again"] = new_password
        changed = here.post("/account/password", data=form)
        assert changed.status_code == 303
        assert here.get("/clinic").status_code == 200  # this browser carries on
        assert elsewhere.get("/clinic").status_code == 303  # the other one has to sign in
    assert not _api_works(site, bearer)
    _token(site, "changer@accounts.test", new_password)
