"""Accounts that last, on SQLite and PostgreSQL: one-time codes a clinician makes for a patient
(shown once, stored hashed, used once, expiring, audited), a login given to a patient record made
without one, logins switched off and on, and the `ldnkit users` commands for them."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, text

from ldnkit.cli import main
from ldnkit.settings import Settings
from ldnkit.store.passwords import hash_password, verify_password
from ldnkit.store.repository import Store
from ldnkit.web import server
from ldnkit.web.server import background_server, csrf_from, sign_in

PASSWORD = "lifecycle-pass-1"
DOCTOR = "doc@life.test"
OTHER_DOCTOR = "other-doc@life.test"


@dataclass(frozen=True)
class Site:
    url: str
    db_url: str
    with_login: int
    without_login: int
    elsewhere: int


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def site(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    fresh_database: Callable[[str, Path], AbstractContextManager[str]],
) -> Iterator[Site]:
    with fresh_database(request.param, tmp_path_factory.mktemp("life")) as db_url:
        store = Store.open(db_url)
        store.upgrade()
        doctor = store.create_clinician(DOCTOR, hash_password(PASSWORD), "Dr Life")
        other = store.create_clinician(OTHER_DOCTOR, hash_password(PASSWORD), "Dr Other")
        with_login = store.create_patient(
            doctor.actor,
            "Wanda",
            {},
            email="wanda@life.test",
            password_hash=hash_password(PASSWORD),
        )
        without_login = store.create_patient(doctor.actor, "Nora", {})
        elsewhere = store.create_patient(other.actor, "Elsa", {})
        store.close()
        with background_server(Settings(database_url=db_url)) as url:
            yield Site(url, db_url, with_login.id, without_login.id, elsewhere.id)


@pytest.fixture
def cli_database(site: Site, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("LDNKIT_DATABASE_URL", site.db_url)
    monkeypatch.chdir(tmp_path)


def _browser(
    site: Site, email: str = DOCTOR, password: str = PASSWORD
) -> AbstractContextManager[httpx.Client]:
    return server.signed_in(site.url, email, password)


def _make_code(doctor: httpx.Client, patient_id: int, email: str = "") -> str:
    page = doctor.get(f"/clinic/patients/{patient_id}/login").text
    form = {"csrf_token": csrf_from(page), "email": email}
    shown = doctor.post(f"/clinic/patients/{patient_id}/login", data=form)
    assert shown.status_code == 200, shown.text
    found = re.search(r'<p class="code">([A-Z0-9-]+)</p>', shown.text)
    assert found is not None
    assert f"/account/reset?code={found.group(1)}" in shown.text
    return found.group(1)


def _reset(site: Site, code: str, password: str, again: str | None = None) -> httpx.Response:
    with httpx.Client(base_url=site.url, follow_redirects=False) as anyone:
        page = anyone.get(f"/account/reset?code={code}").text
        assert f'value="{code}"' in page  # the link fills the code in
        form = {"csrf_token": csrf_from(page), "code": code, "password": password,
                "password_again": again or password}  # fmt: skip
        return anyone.post("/account/reset", data=form)


def _sql(site: Site, query: str, **params: object) -> list[tuple[object, ...]]:
    engine = create_engine(site.db_url)
    try:
        with engine.begin() as connection:
            result = connection.execute(text(query), params)
            return [tuple(r) for r in result] if result.returns_rows else []
    finally:
        engine.dispose()


def test_a_one_time_code_sets_a_new_password_once_and_ends_the_old_sessions(site: Site) -> None:
    new_password = "a brand new phrase"
    with _browser(site, "wanda@life.test") as old_session, _browser(site) as doctor:
        code = _make_code(doctor, site.with_login)
        # Only the hash is stored: the code itself is nowhere in the database.
        hashes = [str(r[0]) for r in _sql(site, "SELECT code_hash FROM password_resets")]
        assert code not in hashes
        assert all(len(h) == 64 for h in hashes)
        done = _reset(site, code.lower().replace("-", " "), new_password)  # typed loosely
        assert done.status_code == 303
        assert done.headers["location"] == "/me/today"  # signed in
        assert old_session.get("/me/today").status_code == 303  # the old session has ended
        again = _reset(site, code, "yet another phrase")
        assert again.status_code == 422
        assert "Code: please enter the code from your clinic" in again.text
    with _browser(site, "wanda@life.test", new_password):
        pass
    store = Store.open(site.db_url)
    trail = [(e.what, e.email) for e in store.audit_trail(site.with_login)]
    store.close()
    assert ("one-time password code issued", DOCTOR) in trail
    assert ("password", "wanda@life.test") in trail
    _set_password(site, "wanda@life.test", PASSWORD)


def _set_password(site: Site, email: str, password: str) -> None:
    store = Store.open(site.db_url)
    account = store.account_by_email(email)
    assert account is not None
    store.set_password_hash(account.id, hash_password(password))
    store.close()


def test_a_newer_code_voids_the_older_one_and_an_expired_code_does_nothing(site: Site) -> None:
    with _browser(site) as doctor:
        older = _make_code(doctor, site.with_login)
        newer = _make_code(doctor, site.with_login)
    refused = _reset(site, older, "an older code phrase")
    assert refused.status_code == 422
    _sql(site, "UPDATE password_resets SET expires_at = :t WHERE used_at IS NULL",
         t=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1))  # fmt: skip
    assert _reset(site, newer, "an expired code phrase").status_code == 422
    with _browser(site, "wanda@life.test"):
        pass  # the password is still the old one


def test_a_new_password_chosen_with_a_code_follows_the_password_rules(site: Site) -> None:
    with _browser(site) as doctor:
        code = _make_code(doctor, site.with_login)
    short = _reset(site, code, "short")
    assert short.status_code == 422
    assert "New password: a password of 5 characters cannot be used" in short.text
    mismatch = _reset(site, code, "a long enough phrase", "a long enough phrasf")
    assert "New password again: please type the same new password twice." in mismatch.text
    assert _reset(site, code, "the code still works").status_code == 303  # not spent by errors
    _set_password(site, "wanda@life.test", PASSWORD)


def test_a_patient_record_without_a_login_is_given_one_and_its_owner_chooses_the_password(
    site: Site,
) -> None:
    with _browser(site) as doctor:
        page = doctor.get(f"/clinic/patients/{site.without_login}/login").text
        assert "has no login yet" in page
        code = _make_code(doctor, site.without_login, "nora@life.test")
        assert doctor.get(f"/clinic/patients/{site.without_login}/login").text.count(
            "nora@life.test"
        )
    assert _reset(site, code, "nora chose this").status_code == 303
    with _browser(site, "nora@life.test", "nora chose this") as nora:
        assert nora.get("/me/today").status_code == 200
    store = Store.open(site.db_url)
    account = store.account_for_patient(site.without_login)
    assert account is not None
    assert [p.id for p in store.patients(account.actor)] == [site.without_login]
    store.close()


def test_a_clinician_cannot_make_codes_for_another_clinicians_patient(site: Site) -> None:
    with _browser(site) as doctor:
        assert doctor.get(f"/clinic/patients/{site.elsewhere}/login").status_code == 404
        csrf = csrf_from(doctor.get("/clinic").text)
        made = doctor.post(f"/clinic/patients/{site.elsewhere}/login", data={"csrf_token": csrf})
        assert made.status_code == 404
    codes = (
        "SELECT count(*) FROM password_resets p JOIN accounts a ON a.id = p.account_id "
        "WHERE a.patient_id = :p"
    )
    assert _sql(site, codes, p=site.elsewhere) == [(0,)]


def test_a_switched_off_login_cannot_sign_in_until_switched_on(
    site: Site, cli_database: None, capsys: pytest.CaptureFixture[str]
) -> None:
    with _browser(site, "wanda@life.test") as browser:
        assert main(["users", "disable", "wanda@life.test", "--json"]) == 0
        said = json.loads(capsys.readouterr().out)
        assert said == {"email": "wanda@life.test", "disabled": True, "sessions_ended": 1}
        assert browser.get("/me/today").status_code == 303
    with httpx.Client(base_url=site.url, follow_redirects=False) as anyone:
        refused = sign_in(anyone, "wanda@life.test", PASSWORD)
        assert refused.status_code == 403
        assert "This account is switched off" in refused.text
        token = anyone.post("/api/v1/token",
                            data={"username": "wanda@life.test", "password": PASSWORD})  # fmt: skip
        assert token.status_code == 401
    with _browser(site) as doctor:
        code = _make_code(doctor, site.with_login)
    assert _reset(site, code, "switched off phrase").status_code == 422  # no way around it
    assert main(["users", "enable", "wanda@life.test"]) == 0
    assert "Switched wanda@life.test on" in capsys.readouterr().out
    with _browser(site, "wanda@life.test"):
        pass


def test_users_create_gives_an_existing_record_its_login_without_a_second_record(
    site: Site, cli_database: None, capsys: pytest.CaptureFixture[str]
) -> None:
    before = _sql(site, "SELECT count(*) FROM patients")
    args = ["users", "create", "--role", "patient", "--email", "elsa@life.test", "--password",
            "elsa pass phrase", "--patient", str(site.elsewhere), "--json"]  # fmt: skip
    assert main(args) == 0
    created = json.loads(capsys.readouterr().out)
    assert created["patient_id"] == site.elsewhere
    assert _sql(site, "SELECT count(*) FROM patients") == before
    store = Store.open(site.db_url)
    account = store.account_by_email("elsa@life.test")
    assert account is not None
    assert verify_password(account.password_hash, "elsa pass phrase")
    store.close()
    # A record that has a login already, and one that does not exist: one line each, exit 2.
    again = ["users", "create", "--role", "patient", "--email", "elsa2@life.test",
             "--password", "elsa pass phrase", "--patient", str(site.elsewhere)]  # fmt: skip
    assert main(again) == 2
    assert capsys.readouterr().err.strip() == (
        f"error: patient: got {site.elsewhere}; expected a patient record that has no login yet"
    )
    missing = [*again[:-1], "999999"]
    assert main(missing) == 2
    assert capsys.readouterr().err.strip() == (
        "error: patient: got 999999; expected the id of a patient record"
    )


def test_users_disable_of_an_unknown_email_is_one_line_and_exit_2(
    site: Site, cli_database: None, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["users", "disable", "nobody@life.test"]) == 2
    assert capsys.readouterr().err.strip() == (
        'error: email: got "nobody@life.test"; expected the email of an existing account'
    )
