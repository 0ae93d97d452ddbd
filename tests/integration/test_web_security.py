"""Security of the web app and the API, against a real uvicorn server on a real SQLite file."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.routing import APIRoute
from markupsafe import escape

from ldnkit.bootstrap import web_app
from ldnkit.services.accounts import NewAccount, create_account
from ldnkit.settings import Settings
from ldnkit.store.repository import Store
from ldnkit.web import server
from ldnkit.web.server import background_server, csrf_from

PASSWORD = "correct-horse-9"
ANALYST = "analyst@clinic.test"
INJECTIONS = [
    "<script>alert('x')</script>",
    '"><img src=x onerror=alert(1)>',
    "'; DROP TABLE patients; --",
    "{{ 7*7 }} {% raw %}",
    "Robert'); DELETE FROM diary_entries;--",
]
# CDS Hooks discovery is open by the spec: it lists services and names no patient.
PUBLIC = {
    ("GET", "/login"),
    ("POST", "/login"),
    ("POST", "/api/v1/token"),
    ("GET", "/"),
    ("GET", "/cds-services"),
    # A new password with a one-time code from the clinic (the code is the credential).
    ("GET", "/account/reset"),
    ("POST", "/account/reset"),
    # Fetched by browsers and calendar apps without cookies; they hold no patient data.
    ("GET", "/manifest.webmanifest"),
    ("GET", "/feeds/checkin/{secret}.ics"),
}


@dataclass(frozen=True)
class Clinic:
    url: str
    db_url: str
    patient_a: int
    patient_b: int


def _account(store: Store, role: str, email: str, clinician: str | None = None) -> int | None:
    new = NewAccount(role=role, email=email, password=PASSWORD, clinician=clinician)
    return create_account(store, new).patient_id


@pytest.fixture(scope="module")
def clinic(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Clinic]:
    """Two clinicians, each with one patient who has a login; served on a free loopback port."""
    db_url = f"sqlite:///{tmp_path_factory.mktemp('web')}/clinic.db"
    store = Store.open(db_url)
    store.upgrade()
    _account(store, "clinician", "doc-a@clinic.test")
    _account(store, "clinician", "doc-b@clinic.test")
    a = _account(store, "patient", "pat-a@home.test", "doc-a@clinic.test")
    b = _account(store, "patient", "pat-b@home.test", "doc-b@clinic.test")
    _account(store, "analyst", ANALYST)
    store.close()
    assert a is not None
    assert b is not None
    with background_server(Settings(database_url=db_url)) as url:
        yield Clinic(url, db_url, a, b)


def browser(clinic: Clinic, email: str) -> AbstractContextManager[httpx.Client]:
    """A signed-in browser-like client (cookies kept, redirects not followed)."""
    return server.signed_in(clinic.url, email, PASSWORD)


@contextmanager
def api(clinic: Clinic, email: str) -> Iterator[httpx.Client]:
    response = httpx.post(
        f"{clinic.url}/api/v1/token", data={"username": email, "password": PASSWORD}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["token_type"] == "bearer"
    bearer = {"Authorization": f"Bearer {body['access_token']}"}
    with httpx.Client(base_url=clinic.url, headers=bearer) as client:
        yield client


def _api_routes(routes: Iterable[Any]) -> Iterator[APIRoute]:
    for route in routes:
        if isinstance(route, APIRoute):
            yield route
        # Included routers keep their own route list (the prefix is already in each path).
        inner = getattr(route, "original_router", None)
        if inner is not None:
            yield from _api_routes(inner.routes)


def _routes(patient_id: int) -> list[tuple[str, str]]:
    """Every page and API route of the app, with sample values for the path parameters."""
    app = web_app(Settings(database_url="sqlite://"))
    found: list[tuple[str, str]] = []
    for route in _api_routes(app.routes):
        path = (
            route.path.replace("{patient_id}", str(patient_id))
            .replace("{name}", "acr2016")
            .replace("{slug}", "expect")
            .replace("{service_id}", "ldn-order-sign")
            .replace("{day}", "2026-11-01")
        )
        assert route.methods is not None
        found.extend((method, path) for method in sorted(route.methods))
    return [r for r in found if r not in PUBLIC]


def test_every_page_and_api_route_is_refused_without_login(clinic: Clinic) -> None:
    routes = _routes(clinic.patient_a)
    assert len(routes) > 25
    with httpx.Client(base_url=clinic.url, follow_redirects=False) as anonymous:
        for method, path in routes:
            response = anonymous.request(
                method, path, data={"csrf_token": "x"} if method == "POST" else None
            )
            if path.startswith("/api/"):
                assert response.status_code == 401, (method, path)
                assert response.headers["www-authenticate"] == "Bearer"
            elif path.startswith("/cds-services/"):
                # EHR calls carry a signed JWT instead of a session (CDS Hooks).
                assert response.status_code == 401, (method, path, response.status_code)
            else:
                assert response.status_code == 303, (method, path, response.status_code)
                assert response.headers["location"] == "/login"


API_BODIES: dict[str, dict[str, object]] = {
    "/diary": {"day": "2026-11-01", "pain": 3, "fatigue": 3, "sleep_quality": 6},
    "/diary/2026-11-01": {"pain": 3, "fatigue": 3, "sleep_quality": 6},
    "/plan": {"protocol": "standard", "start": "2026-12-01"},
}


def _patient_route(path: str, patient_id: int) -> bool:
    """A page or API route that reads or writes patient records."""
    return (
        f"/{patient_id}" in path
        or path.startswith(("/clinic", "/me/", "/api/v1/patients"))
        or path == "/me"
    )


def test_an_analyst_is_refused_every_patient_page_and_api_route(clinic: Clinic) -> None:
    a = clinic.patient_a
    routes = [r for r in _routes(a) if _patient_route(r[1], a)]
    assert len(routes) > 20
    store = Store.open(clinic.db_url)
    before = {e.id for e in store.audit_trail()}
    store.close()
    with browser(clinic, ANALYST) as pages, api(clinic, ANALYST) as client:
        csrf = csrf_from(pages.get("/outcomes").text)
        for method, path in routes:
            if path.startswith("/api/"):
                # A well-formed body, so that the refusal is the account's, not the input's.
                body = next((b for end, b in API_BODIES.items() if path.endswith(end)), {})
                response = client.request(
                    method, path, json=body if method in ("POST", "PUT") else None
                )
            else:
                data = {"csrf_token": csrf} if method == "POST" else None
                response = pages.request(method, path, data=data)
            # Refused for the role (403) or as a record the account may not see (404).
            assert response.status_code in (403, 404), (method, path, response.status_code)
            assert "Pat" not in response.text, (method, path)
        assert client.get("/api/v1/me").json() == {
            "role": "analyst", "email": ANALYST, "patient_id": None,
        }  # fmt: skip
    store = Store.open(clinic.db_url)
    new = [e for e in store.audit_trail() if e.id not in before and e.patient_id is not None]
    store.close()
    # Nothing was read or written on any patient's record: only refusals.
    assert {e.action for e in new} <= {"denied"}


def test_a_wrong_or_expired_bearer_token_is_refused(clinic: Clinic) -> None:
    response = httpx.get(f"{clinic.url}/api/v1/me", headers={"Authorization": "Bearer not-a-token"})
    assert response.status_code == 401


def test_session_cookie_is_httponly_and_lax_and_secure_behind_https(clinic: Clinic) -> None:
    with httpx.Client(base_url=clinic.url) as client:
        token = csrf_from(client.get("/login").text)
        form = {"email": "pat-a@home.test", "password": PASSWORD, "csrf_token": token}
        plain = client.post("/login", data=form, follow_redirects=False)
        cookie = plain.headers["set-cookie"].lower()
        assert "ldnkit_session=" in cookie
        assert "httponly" in cookie
        assert "samesite=lax" in cookie
        assert "secure" not in cookie
    # Behind a TLS proxy the cookies are Secure; httpx will not send those over plain http,
    # so the sign-in form's cookie is passed along by hand, as a browser on https would.
    https = {"X-Forwarded-Proto": "https"}
    form_page = httpx.get(f"{clinic.url}/login", headers=https)
    assert "secure" in form_page.headers["set-cookie"].lower()
    pre = form_page.headers["set-cookie"].split(";")[0]
    form = {
        "email": "pat-a@home.test",
        "password": PASSWORD,
        "csrf_token": csrf_from(form_page.text),
    }
    behind_proxy = httpx.post(f"{clinic.url}/login", data=form, headers={**https, "Cookie": pre})
    assert behind_proxy.status_code == 303
    assert "secure" in behind_proxy.headers["set-cookie"].lower()


def test_patient_a_cannot_read_or_write_patient_b_through_the_api(clinic: Clinic) -> None:
    b = clinic.patient_b
    entry = {"day": "2026-11-01", "pain": 3, "fatigue": 3, "sleep_quality": 6}
    with api(clinic, "pat-a@home.test") as client:
        me = client.get("/api/v1/me").json()
        assert me == {"role": "patient", "email": "pat-a@home.test", "patient_id": clinic.patient_a}
        assert [p["id"] for p in client.get("/api/v1/patients").json()] == [clinic.patient_a]
        for path in (f"/api/v1/patients/{b}", f"/api/v1/patients/{b}/diary",
                     f"/api/v1/patients/{b}/response", "/api/v1/patients/999999"):  # fmt: skip
            assert client.get(path).status_code == 404, path
        assert client.post(f"/api/v1/patients/{b}/diary", json=entry).status_code == 404
    with api(clinic, "doc-a@clinic.test") as doctor:
        assert doctor.get(f"/api/v1/patients/{b}").status_code == 404
        assert doctor.post(f"/api/v1/patients/{b}/diary", json=entry).status_code == 404
    with api(clinic, "doc-b@clinic.test") as owner:
        assert owner.get(f"/api/v1/patients/{b}/diary").json() == []


def test_guessing_another_clinics_patient_in_the_pages_finds_nothing(clinic: Clinic) -> None:
    b = clinic.patient_b
    with browser(clinic, "doc-a@clinic.test") as doctor:
        csrf = csrf_from(doctor.get("/clinic").text)
        for path in (f"/clinic/patients/{b}", f"/clinic/patients/{b}/plan",
                     f"/clinic/patients/{b}/plan.ics", f"/clinic/patients/{b}/diary.csv",
                     f"/clinic/patients/{b}/summary"):  # fmt: skip
            assert doctor.get(path).status_code == 404, path
        note = doctor.post(f"/clinic/patients/{b}/notes", data={"csrf_token": csrf, "text": "x"})
        assert note.status_code == 404
    with browser(clinic, "pat-a@home.test") as patient:
        # A patient has no id-bearing pages at all; the clinician's are closed to the role.
        assert patient.get(f"/clinic/patients/{b}").status_code == 403
        assert patient.get(f"/clinic/patients/{clinic.patient_a}").status_code == 403
    store = Store.open(clinic.db_url)
    denied = [e for e in store.audit_trail(b) if e.action == "denied"]
    store.close()
    assert len(denied) >= 5


def test_forms_without_their_csrf_token_are_refused_and_change_nothing(clinic: Clinic) -> None:
    entry = {"day": "2026-10-01", "pain": "4", "fatigue": "4", "sleep_quality": "5", "note": "csrf"}
    with browser(clinic, "pat-a@home.test") as patient:
        good = csrf_from(patient.get("/me/today").text)
        assert patient.post("/me/today", data=entry).status_code == 403
        assert (
            patient.post("/me/today", data={**entry, "csrf_token": good[::-1]}).status_code == 403
        )
        assert patient.post("/logout", data={}).status_code == 403
        assert patient.get("/me/today").status_code == 200  # still signed in
    with httpx.Client(base_url=clinic.url) as anonymous:
        anonymous.get("/login")
        login = {"email": "pat-a@home.test", "password": PASSWORD}
        assert anonymous.post("/login", data=login, follow_redirects=False).status_code == 403
    with api(clinic, "pat-a@home.test") as client:
        days = [e["day"] for e in client.get(f"/api/v1/patients/{clinic.patient_a}/diary").json()]
        assert "2026-10-01" not in days


def test_repeated_wrong_passwords_are_rate_limited(clinic: Clinic) -> None:
    with httpx.Client(base_url=clinic.url) as client:
        codes = []
        for _ in range(6):
            token = csrf_from(client.get("/login").text)
            form = {"email": "doc-b@clinic.test", "password": "wrong-password", "csrf_token": token}
            codes.append(client.post("/login", data=form).status_code)
        assert codes == [401] * 5 + [429]
        token = csrf_from(client.get("/login").text)
        right = {"email": "doc-b@clinic.test", "password": PASSWORD, "csrf_token": token}
        refused = client.post("/login", data=right, follow_redirects=False)
        assert refused.status_code == 429
        assert "retry-after" in refused.headers
    api_try = httpx.post(f"{clinic.url}/api/v1/token",
                         data={"username": "doc-b@clinic.test", "password": PASSWORD})  # fmt: skip
    assert api_try.status_code == 429


@pytest.mark.parametrize("payload", INJECTIONS)
def test_injection_strings_are_stored_verbatim_and_shown_escaped(
    clinic: Clinic, payload: str
) -> None:
    with browser(clinic, "doc-a@clinic.test") as doctor:
        form = {
            "csrf_token": csrf_from(doctor.get("/clinic/patients/new").text),
            "name": payload, "conditions": payload, "med_name_0": payload, "allergies": payload,
            "proc_date_0": (dt.date.today() + dt.timedelta(days=40)).isoformat(),
            "proc_name_0": payload, "age": "50",
        }  # fmt: skip
        created = doctor.post("/clinic/patients/new", data=form)
        assert created.status_code == 303, created.text
        page_url = created.headers["location"].split("#")[0]
        pid = int(page_url.rsplit("/", 1)[1])
        csrf = csrf_from(doctor.get(page_url).text)
        doctor.post(f"{page_url}/notes", data={"csrf_token": csrf, "text": payload})
        for url in (page_url, "/clinic", f"{page_url}/summary"):
            shown = doctor.get(url).text
            # Shown exactly as typed, as text: escaped markup, unevaluated template syntax.
            assert str(escape(payload)) in shown, url
            if str(escape(payload)) != payload:
                assert payload not in shown, url
    with browser(clinic, "pat-a@home.test") as patient:
        csrf = csrf_from(patient.get("/me/today").text)
        entry = {"csrf_token": csrf, "day": "2026-09-01", "pain": "4", "fatigue": "4",
                 "sleep_quality": "5", "note": payload, "how": "replace"}  # fmt: skip
        assert patient.post("/me/today", data=entry).status_code == 303
        # The progress table only says a day has a note; the day itself shows it, in its field.
        shown = patient.get("/me/today?day=2026-09-01").text
        assert str(escape(payload)) in shown
        if str(escape(payload)) != payload:
            assert payload not in shown
    with api(clinic, "doc-a@clinic.test") as client:
        record = client.get(f"/api/v1/patients/{pid}").json()
        assert record["name"] == payload
        assert record["profile"]["conditions"] == [payload]
        assert record["profile"]["medications"][0]["name"] == payload
        assert record["profile"]["planned_procedures"][0]["name"] == payload
        diary = client.get(f"/api/v1/patients/{clinic.patient_a}/diary").json()
        assert [e["note"] for e in diary if e["day"] == "2026-09-01"] == [payload]


def test_pages_forbid_framing_and_caching_and_load_no_third_party_code(clinic: Clinic) -> None:
    with browser(clinic, "doc-a@clinic.test") as doctor:
        page = doctor.get("/clinic")
        assert page.headers["x-frame-options"] == "DENY"
        assert page.headers["cache-control"] == "no-store"
        assert "script-src 'self'" in page.headers["content-security-policy"]
        assert "//" not in "".join(
            line for line in page.text.splitlines() if "<script" in line or "stylesheet" in line
        )
        assert doctor.get("/static/htmx.min.js").status_code == 200


def test_a_redirect_never_points_at_a_host_the_request_made_up(clinic: Clinic) -> None:
    # /clinic/ redirects to /clinic; before the host allowlist that redirect was built from
    # whatever Host the request claimed, a ready-made link to someone else's site.
    with httpx.Client(base_url=clinic.url, follow_redirects=False) as client:
        forged = client.get("/clinic/", headers={"Host": "evil.example.com"})
        assert forged.status_code == 400
        assert "evil.example.com" not in forged.headers.get("location", "")
        port = clinic.url.rsplit(":", 1)[1]
        for name in ("127.0.0.1", "localhost"):
            # make run's addresses keep working, redirects included.
            own = client.get("/clinic/", headers={"Host": f"{name}:{port}"})
            assert own.status_code in {303, 307}, name
            assert client.get("/login", headers={"Host": f"{name}:{port}"}).status_code == 200


def test_trusted_hosts_name_the_hosts_a_deployment_answers_to(tmp_path: Path) -> None:
    settings = Settings(
        database_url=f"sqlite:///{tmp_path}/hosts.db",
        trusted_hosts="ldn.clinic.example, *.ldn.test",
    )
    with background_server(settings) as url, httpx.Client(base_url=url) as client:
        assert client.get("/login", headers={"Host": "ldn.clinic.example"}).status_code == 200
        assert client.get("/login", headers={"Host": "ward3.ldn.test"}).status_code == 200
        assert client.get("/login", headers={"Host": "evil.example.com"}).status_code == 400
        assert client.get("/login").status_code == 400  # 127.0.0.1 is not listed
