"""The JSON API: tokens, diary writes with field-path errors and conflicts, responses."""

from __future__ import annotations

import copy
import datetime as dt
import json
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ldnkit.demo.diaries import demo_diary
from ldnkit.domain.titration import PlanRequest, build_plan
from ldnkit.services.accounts import NewAccount, create_account
from ldnkit.services.diary import record_entry
from ldnkit.settings import Settings
from ldnkit.store.repository import Store
from ldnkit.web.server import api_token, background_server

PASSWORD = "api-pass-123"


@dataclass(frozen=True)
class Server:
    url: str
    db_url: str
    treated: int  # on the standard plan, 90 days of a responder's diary
    fresh: int  # no plan, no diary


# The whole API runs once on SQLite and once on PostgreSQL.
@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def server(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    fresh_database: Callable[[str, Path], AbstractContextManager[str]],
) -> Iterator[Server]:
    with fresh_database(request.param, tmp_path_factory.mktemp("api")) as db_url:
        yield from _serve_clinic(db_url)


def _serve_clinic(db_url: str) -> Iterator[Server]:
    store = Store.open(db_url)
    store.upgrade()
    doctor = create_account(
        store, NewAccount(role="clinician", email="doc@api.test", password=PASSWORD)
    )
    treated = create_account(
        store,
        NewAccount(role="patient", email="t@api.test", password=PASSWORD, clinician="doc@api.test"),
    ).patient_id
    fresh = create_account(
        store,
        NewAccount(role="patient", email="f@api.test", password=PASSWORD, clinician="doc@api.test"),
    ).patient_id
    assert treated is not None
    assert fresh is not None
    start = dt.date.today() - dt.timedelta(days=89)
    request = PlanRequest(protocol="standard", start=start)
    steps = [s.model_dump(mode="json") for s in build_plan(request).steps]
    store.save_plan(
        doctor.actor, treated, "standard", start, request.model_dump(mode="json"), steps
    )
    for entry in demo_diary("responder", start):
        if entry.day <= dt.date.today():
            record_entry(store, doctor.actor, treated, entry)
    store.close()
    with background_server(Settings(database_url=db_url)) as url:
        yield Server(url, db_url, treated, fresh)


def client(server: Server, email: str) -> httpx.Client:
    token = api_token(server.url, email, PASSWORD)
    return httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {token}"})


def test_a_token_needs_the_right_password(server: Server) -> None:
    wrong = httpx.post(
        f"{server.url}/api/v1/token", data={"username": "doc@api.test", "password": "nope-nope"}
    )
    assert wrong.status_code == 401
    missing = httpx.post(f"{server.url}/api/v1/token", data={"username": "doc@api.test"})
    assert missing.status_code == 422
    assert missing.json()["detail"][0]["field"] == "password"


def test_me_tells_the_role_and_a_patients_record(server: Server) -> None:
    with client(server, "doc@api.test") as doctor:
        assert doctor.get("/api/v1/me").json() == {
            "role": "clinician",
            "email": "doc@api.test",
            "patient_id": None,
        }
        ids = sorted(p["id"] for p in doctor.get("/api/v1/patients").json())
        assert ids == sorted([server.treated, server.fresh])
    with client(server, "f@api.test") as patient:
        assert patient.get("/api/v1/me").json()["patient_id"] == server.fresh


def test_a_diary_entry_is_written_read_back_and_a_duplicate_day_needs_how(server: Server) -> None:
    path = f"/api/v1/patients/{server.fresh}/diary"
    entry = {
        "day": "2026-10-05",
        "dose_mg": 1.5,
        "dose_time": "22:00",
        "pain": 6,
        "fatigue": 5,
        "sleep_quality": 4,
        "side_effects": [{"id": "vivid-dreams", "severity": "mild"}],
        "note": "first night",
    }
    with client(server, "f@api.test") as patient:
        created = patient.post(path, json=entry)
        assert created.status_code == 201, created.text
        assert created.json()["side_effects"] == [{"id": "vivid-dreams", "severity": "mild"}]
        again = patient.post(path, json={**entry, "pain": 2})
        assert again.status_code == 409
        assert again.json()["existing"]["pain"] == 6
        combined = patient.post(path, params={"how": "combine"}, json={**entry, "pain": 2})
        assert combined.status_code == 201
        assert combined.json()["pain"] == 4
        assert [e["pain"] for e in patient.get(path).json()] == [4]
        bad_how = patient.post(path, params={"how": "merge"}, json=entry)
        assert bad_how.status_code == 422
        assert bad_how.json()["detail"][0]["field"] == "how"


def test_bad_diary_input_is_422_with_one_problem_per_field_path(server: Server) -> None:
    path = f"/api/v1/patients/{server.fresh}/diary"
    bad = {
        "day": "2026-10-06",
        "pain": 11,
        "fatigue": 3,
        "sleep_quality": 5,
        "dose_mg": 50,
        "side_effects": [{"id": "dragon-scales"}],
        "pregnent": True,
    }
    with client(server, "f@api.test") as patient:
        response = patient.post(path, json=bad)
        assert response.status_code == 422
        problems = {p["field"]: p["msg"] for p in response.json()["detail"]}
        assert problems["pain"] == "pain: got 11; expected a number at most 10"
        assert "standard-dose naltrexone" in problems["dose_mg"]
        assert "side_effects[0].id" in problems
        assert problems["pregnent"].endswith("no such field (check the spelling)")
        not_json = patient.post(path, content=b"pain=3", headers={"content-type": "text/plain"})
        assert not_json.status_code == 422
        assert [e["day"] for e in patient.get(path).json()].count("2026-10-06") == 0
        not_an_id = patient.get("/api/v1/patients/abc/diary")
        assert not_an_id.status_code == 422
        assert (
            not_an_id.json()["detail"][0]["msg"] == 'patient_id: got "abc"; expected a whole number'
        )


def test_a_note_with_a_lone_surrogate_is_422_not_500(server: Server) -> None:
    # Valid JSON (the escape \ud800 is a lone surrogate) that no UTF-8 text can hold.
    path = f"/api/v1/patients/{server.fresh}/diary"
    body = b'{"day": "2026-10-07", "pain": 3, "fatigue": 3, "sleep_quality": 5, "note": "\\ud800"}'
    with client(server, "f@api.test") as patient:
        response = patient.post(path, content=body, headers={"content-type": "application/json"})
        assert response.status_code == 422
        (problem,) = response.json()["detail"]
        assert problem["field"] == "note"
        assert [e["day"] for e in patient.get(path).json()].count("2026-10-07") == 0


def test_text_with_a_nul_character_is_422_in_diary_and_token(server: Server) -> None:
    # PostgreSQL cannot store NUL in text: refused at the door on every database alike.
    path = f"/api/v1/patients/{server.fresh}/diary"
    entry = {"day": "2026-10-08", "pain": 3, "fatigue": 3, "sleep_quality": 5, "note": "a\x00b"}
    with client(server, "f@api.test") as patient:
        response = patient.post(path, json=entry)
        assert response.status_code == 422
        assert response.json()["detail"][0]["msg"] == (
            'note: got "a\\u0000b"; expected text without NUL (0x00) characters'
        )
        assert [e["day"] for e in patient.get(path).json()].count("2026-10-08") == 0
    token = httpx.post(
        f"{server.url}/api/v1/token", data={"username": "f\x00@api.test", "password": "x"}
    )
    assert token.status_code == 422
    assert token.json()["detail"][0]["field"] == "email"


def test_the_response_route_assesses_a_treated_patient_and_waits_for_a_plan(server: Server) -> None:
    with client(server, "doc@api.test") as doctor:
        treated = doctor.get(f"/api/v1/patients/{server.treated}/response").json()
        assert treated["status"] == "responding"
        assert treated["assessment"]["measures"]["pain"]["improvement_pct"] >= 30
        assert treated["assessment"]["sources"]
        fresh = doctor.get(f"/api/v1/patients/{server.fresh}/response").json()
        assert fresh == {"patient_id": server.fresh, "status": "no_plan", "assessment": None}
        record = doctor.get(f"/api/v1/patients/{server.treated}").json()
        assert record["current_plan"][0]["dose_mg"] == 1.5


def test_the_openapi_document_describes_every_api_route(server: Server) -> None:
    document = httpx.get(f"{server.url}/api/v1/openapi.json").json()
    assert set(document["paths"]) == {
        "/api/v1/token",
        "/api/v1/me",
        "/api/v1/patients",
        "/api/v1/patients/{patient_id}",
        "/api/v1/patients/{patient_id}/diary",
        "/api/v1/patients/{patient_id}/diary/{day}",
        "/api/v1/patients/{patient_id}/plan",
        "/api/v1/patients/{patient_id}/response",
        "/api/v1/ask",
    }
    post = document["paths"]["/api/v1/patients/{patient_id}/diary"]["post"]
    body = post["requestBody"]["content"]["application/json"]["schema"]
    assert body == {"$ref": "#/components/schemas/DiaryEntryIn"}
    assert "pain" in document["components"]["schemas"]["DiaryEntryIn"]["properties"]
    assert {"401", "404", "409", "422"} <= set(post["responses"])
    plan = document["paths"]["/api/v1/patients/{patient_id}/plan"]
    plan_body = plan["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert plan_body == {"$ref": "#/components/schemas/PlanIn"}
    fields = document["components"]["schemas"]["PlanIn"]["properties"]
    assert {"protocol", "start", "target_mg", "override_reason"} <= set(fields)
    assert "safety screen" in fields["override_reason"]["description"]
    assert {"401", "403", "404", "422"} <= set(plan["post"]["responses"])
    assert "override_reason" in plan["post"]["responses"]["422"]["description"]
    assert {"200", "401", "404"} <= set(plan["get"]["responses"])


@dataclass(frozen=True)
class PlanClinic:
    """A clinician of their own (the shared one's patient list stays as other tests expect)."""

    email: str
    tramadol: int
    percocet: int


def _plan_clinic(server: Server, name: str) -> PlanClinic:
    today = dt.date.today()
    store = Store.open(server.db_url)
    email = f"{name}@api.test"
    doctor = create_account(store, NewAccount(role="clinician", email=email, password=PASSWORD))
    base = {"liver": "normal", "kidney": "normal"}
    tramadol = store.create_patient(
        doctor.actor, "Tom", {**base, "medications": [{"name": "tramadol 50 mg"}]}
    )
    last_dose = (today - dt.timedelta(days=4)).isoformat()
    stopped = {"name": "Percocet 5/325", "status": "stopped", "last_dose": last_dose}
    percocet = store.create_patient(doctor.actor, "Pia", {**base, "medications": [stopped]})
    store.close()
    return PlanClinic(email, tramadol.id, percocet.id)


def test_a_plan_for_a_contraindicated_patient_is_422_until_an_override_reason_is_given(
    server: Server,
) -> None:
    clinic = _plan_clinic(server, "planner-tramadol")
    path = f"/api/v1/patients/{clinic.tramadol}/plan"
    today = dt.date.today().isoformat()
    with client(server, clinic.email) as doctor:
        assert doctor.get(path).status_code == 404
        assert doctor.get(path).json() == {"detail": "This patient has no plan yet."}
        refused = doctor.post(path, json={"protocol": "standard", "start": today})
        assert refused.status_code == 422
        [problem] = refused.json()["detail"]
        assert problem["field"] == "override_reason"
        assert problem["msg"] == (
            "override_reason: got nothing; expected the reason for starting against the safety "
            "screen, which says contraindicated (tramadol 50 mg) and gives no start date"
        )
        assert doctor.get(path).status_code == 404
        blank = doctor.post(
            path, json={"protocol": "standard", "start": today, "override_reason": " "}
        )
        assert blank.status_code == 422
        assert blank.json()["detail"][0]["field"] == "override_reason"
        reason = "Pain team stops tramadol today; naloxone challenge done."
        saved = doctor.post(
            path, json={"protocol": "gentle", "start": today, "override_reason": reason}
        )
        assert saved.status_code == 201, saved.text
        body = saved.json()
        assert body["override"]["reason"] == reason
        assert body["override"]["by"] == clinic.email
        assert body["screen"]["verdict"] == "contraindicated"
        assert body["screen"]["earliest_start"] is None
        assert body["screen"]["start_allowed"] is False
        assert "tramadol 50 mg" in body["screen"]["explanation"]
        assert body["steps"][0]["dose_mg"] == 0.5
        assert doctor.get(path).json() == body


def test_a_plan_before_the_washouts_end_is_422_on_start_and_saved_from_the_earliest_start(
    server: Server,
) -> None:
    clinic = _plan_clinic(server, "planner-percocet")
    path = f"/api/v1/patients/{clinic.percocet}/plan"
    earliest = dt.date.today() + dt.timedelta(days=3)
    day_before = (earliest - dt.timedelta(days=1)).isoformat()
    with client(server, clinic.email) as doctor:
        early = doctor.post(path, json={"protocol": "standard", "start": day_before})
        assert early.status_code == 422
        [problem] = early.json()["detail"]
        assert problem["field"] == "start"
        assert problem["received"] == f'"{day_before}"'
        assert problem["expected"].startswith(
            f"a start on or after {earliest}, the earliest start the safety screen allows "
            "(it says wait: Percocet 5/325); or override_reason"
        )
        saved = doctor.post(path, json={"protocol": "standard", "start": earliest.isoformat()})
        assert saved.status_code == 201, saved.text
        body = saved.json()
        assert body["override"] is None
        assert body["screen"]["start_allowed"] is True
        assert body["screen"]["screened_on"] == earliest.isoformat()
        assert body["steps"][0]["start"] == earliest.isoformat()


def test_plan_input_problems_are_422_with_their_field_paths(server: Server) -> None:
    clinic = _plan_clinic(server, "planner-input")
    path = f"/api/v1/patients/{clinic.percocet}/plan"
    with client(server, clinic.email) as doctor:
        bad = doctor.post(
            path, json={"protocol": "custom", "start": "2026-13-01", "target_mg": 50, "x": 1}
        )
        assert bad.status_code == 422
        fields = {p["field"] for p in bad.json()["detail"]}
        assert {"start", "x"} <= fields
        too_much = doctor.post(
            path,
            json={"protocol": "custom", "start": "2030-01-01", "start_dose_mg": 1,
                  "step_mg": 1, "interval_days": 7, "target_mg": 50},
        )  # fmt: skip
        assert too_much.status_code == 422
        assert too_much.json()["detail"][0]["field"] == "target_mg"
        assert "standard-dose naltrexone" in too_much.json()["detail"][0]["msg"]
        assert doctor.get(path).status_code == 404


def test_only_a_clinician_saves_a_plan_and_a_patient_reads_their_own(server: Server) -> None:
    path = f"/api/v1/patients/{server.treated}/plan"
    with client(server, "t@api.test") as patient:
        denied = patient.post(path, json={"protocol": "standard", "start": "2030-01-01"})
        assert denied.status_code == 403
        mine = patient.get(path)
        assert mine.status_code == 200
        assert mine.json()["steps"][0]["dose_mg"] == 1.5
        assert mine.json()["screen"] is None  # saved before plans were checked
    other = _plan_clinic(server, "planner-other")
    with client(server, other.email) as stranger:
        assert stranger.get(path).status_code == 404
        response = stranger.post(path, json={"protocol": "standard", "start": "2030-01-01"})
        assert response.status_code == 404


FULL_ENTRY: dict[str, Any] = {
    "day": "2026-10-09",
    "dose_mg": 1.5,
    "dose_time": "22:00",
    "pain": 6,
    "fatigue": 5,
    "sleep_quality": 4,
    "mood": 5,
    "side_effects": [{"id": "vivid-dreams", "severity": "mild"}],
    "note": "a night",
}


def _positions(node: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [path]
    if isinstance(node, dict | list):
        for key, child in node.items() if isinstance(node, dict) else enumerate(node):
            found += _positions(child, (*path, key))
    return found


HUGE = "__a 5000-digit integer__"  # written into the JSON text as digits (json.dumps cannot)
WRONG_TYPES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=6),
    st.sampled_from(["\ud800", HUGE, "", "2026-02-30", "25:99"]),
    st.lists(st.integers() | st.text(max_size=3), max_size=2),
    st.dictionaries(st.text(max_size=4), st.integers() | st.none(), max_size=2),
)


@pytest.fixture
def fresh_patient(server: Server) -> Iterator[httpx.Client]:
    with client(server, "f@api.test") as patient:
        yield patient


@settings(
    max_examples=120,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(place=st.sampled_from(_positions(FULL_ENTRY)), value=WRONG_TYPES)
def test_no_wrong_type_anywhere_in_a_diary_body_gets_a_500(
    server: Server, fresh_patient: httpx.Client, place: tuple[Any, ...], value: Any
) -> None:
    body: Any = copy.deepcopy(FULL_ENTRY)
    if not place:
        body = value
    else:
        parent = body
        for key in place[:-1]:
            parent = parent[key]
        parent[place[-1]] = value
    text = json.dumps(body).replace(json.dumps(HUGE), "9" * 5000)
    response = fresh_patient.post(
        f"/api/v1/patients/{server.fresh}/diary",
        params={"how": "replace"},
        content=text,
        headers={"content-type": "application/json"},
    )
    assert response.status_code in {201, 422}, response.text
    if response.status_code == 422:
        for problem in response.json()["detail"]:
            assert set(problem) == {"field", "received", "expected", "msg"}
