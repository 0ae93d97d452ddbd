"""PUT and DELETE /api/v1/patients/{id}/diary/{day} on SQLite and PostgreSQL: a day set and
corrected with every version kept, deleted and kept as a deleted version, a future day refused
(422), someone else's patient not found."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from ldnkit.domain.diary import DiaryEntry
from ldnkit.services.accounts import NewAccount, create_account
from ldnkit.settings import Settings
from ldnkit.store.repository import Store
from ldnkit.web.server import api_token, background_server

PASSWORD = "api-days-pass-1"


def today() -> dt.date:
    """Read at each use: a run that passes midnight must not compare with yesterday."""
    return dt.date.today()


@dataclass(frozen=True)
class Server:
    url: str
    db_url: str
    mine: int
    theirs: int


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def server(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    fresh_database: Callable[[str, Path], AbstractContextManager[str]],
) -> Iterator[Server]:
    with fresh_database(request.param, tmp_path_factory.mktemp("api-days")) as db_url:
        store = Store.open(db_url)
        store.upgrade()
        ids = []
        for doctor in ("a", "b"):
            email = f"doc-{doctor}@days.test"
            create_account(store, NewAccount(role="clinician", email=email, password=PASSWORD))
            patient = create_account(
                store,
                NewAccount(
                    role="patient",
                    email=f"pat-{doctor}@days.test",
                    password=PASSWORD,
                    clinician=email,
                ),
            )
            assert patient.patient_id is not None
            ids.append(patient.patient_id)
        store.close()
        with background_server(Settings(database_url=db_url)) as url:
            yield Server(url, db_url, ids[0], ids[1])


def _client(server: Server, email: str = "pat-a@days.test") -> httpx.Client:
    token = api_token(server.url, email, PASSWORD)
    return httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {token}"})


def _day(server: Server, patient: int, day: dt.date) -> str:
    return f"/api/v1/patients/{patient}/diary/{day.isoformat()}"


BODY = {"pain": 6, "fatigue": 5, "sleep_quality": 4, "dose_mg": 1.5}


def test_put_sets_a_day_then_corrects_it_keeping_the_version_it_replaced(server: Server) -> None:
    day = today() - dt.timedelta(days=2)
    with _client(server) as patient:
        first = patient.put(_day(server, server.mine, day), json=BODY)
        assert first.status_code == 200
        assert first.json()["day"] == day.isoformat()
        again = patient.put(_day(server, server.mine, day), json={**BODY, "day": day.isoformat()})
        assert again.status_code == 200  # the same day sent again changes nothing
        corrected = patient.put(_day(server, server.mine, day), json={**BODY, "pain": 2})
        assert corrected.json()["pain"] == 2
        diary = patient.get(f"/api/v1/patients/{server.mine}/diary").json()
        assert [(e["day"], e["pain"]) for e in diary if e["day"] == day.isoformat()] == [
            (day.isoformat(), 2)
        ]
    store = Store.open(server.db_url)
    account = store.account_by_email("pat-a@days.test")
    assert account is not None
    versions = store.diary_versions(account.actor, server.mine, day)
    assert [v.entry.pain for v in versions] == [6]
    assert "diary " + day.isoformat() in [e.what for e in store.audit_trail(server.mine)]
    store.close()


def test_put_refuses_a_body_for_another_day_and_a_bad_score_naming_the_field(
    server: Server,
) -> None:
    day = today() - dt.timedelta(days=3)
    with _client(server) as patient:
        other = patient.put(
            _day(server, server.mine, day),
            json={**BODY, "day": (day - dt.timedelta(1)).isoformat()},
        )
        assert other.status_code == 422
        assert [p["field"] for p in other.json()["detail"]] == ["day"]
        bad = patient.put(_day(server, server.mine, day), json={**BODY, "pain": 11})
        assert bad.status_code == 422
        assert bad.json()["detail"][0]["msg"] == "pain: got 11; expected a number at most 10"
        days = [e["day"] for e in patient.get(f"/api/v1/patients/{server.mine}/diary").json()]
        assert day.isoformat() not in days  # nothing half-written


@pytest.mark.parametrize("ahead", [2, 365])
def test_a_day_after_today_is_refused_by_put_and_post(server: Server, ahead: int) -> None:
    future = today() + dt.timedelta(days=ahead)
    with _client(server) as patient:
        put = patient.put(_day(server, server.mine, future), json=BODY)
        posted = patient.post(
            f"/api/v1/patients/{server.mine}/diary", json={**BODY, "day": future.isoformat()}
        )
        for answer in (put, posted):
            assert answer.status_code == 422
            (problem,) = answer.json()["detail"]
            assert problem["field"] == "day"
            assert problem["expected"].startswith(f"a day on or before today ({today()})")
        days = [e["day"] for e in patient.get(f"/api/v1/patients/{server.mine}/diary").json()]
        assert future.isoformat() not in days


def test_delete_removes_a_day_keeps_it_as_a_deleted_version_and_then_finds_nothing(
    server: Server,
) -> None:
    day = today() - dt.timedelta(days=5)
    with _client(server) as patient:
        assert patient.put(_day(server, server.mine, day), json=BODY).status_code == 200
        deleted = patient.delete(_day(server, server.mine, day))
        assert deleted.status_code == 204
        assert deleted.content == b""
        gone = patient.delete(_day(server, server.mine, day))
        assert gone.status_code == 404
        assert gone.json() == {"detail": f"There is no diary entry for {day.isoformat()}."}
    store = Store.open(server.db_url)
    account = store.account_by_email("pat-a@days.test")
    assert account is not None
    (kept,) = store.diary_versions(account.actor, server.mine, day)
    assert kept.deleted
    assert kept.entry == DiaryEntry.model_validate({**BODY, "day": day})
    assert f"diary {day.isoformat()} deleted" in [e.what for e in store.audit_trail(server.mine)]
    store.close()


def test_a_day_recorded_in_the_future_before_the_rule_can_still_be_deleted(server: Server) -> None:
    future = today() + dt.timedelta(days=400)
    store = Store.open(server.db_url)
    account = store.account_by_email("pat-a@days.test")
    assert account is not None
    # As an older version of ldnkit accepted it: written straight through the store.
    entry = DiaryEntry.model_validate({**BODY, "day": future})
    store.save_diary_day(account.actor, server.mine, future, lambda _: entry)
    store.close()
    with _client(server) as patient:
        assert patient.delete(_day(server, server.mine, future)).status_code == 204


def test_another_clinics_patient_is_not_found_for_put_and_delete(server: Server) -> None:
    day = today() - dt.timedelta(days=1)
    with _client(server, "doc-a@days.test") as doctor:
        assert doctor.put(_day(server, server.theirs, day), json=BODY).status_code == 404
        assert doctor.delete(_day(server, server.theirs, day)).status_code == 404
        # Their own patient's day, corrected by the clinician: allowed and attributed.
        assert doctor.put(_day(server, server.mine, day), json=BODY).status_code == 200
    with _client(server) as patient:
        assert patient.delete(_day(server, server.theirs, day)).status_code == 404
        assert patient.put(_day(server, server.mine, day), json=BODY).status_code == 200


def test_a_day_that_is_not_a_date_is_refused_naming_it(server: Server) -> None:
    with _client(server) as patient:
        bad = patient.put(f"/api/v1/patients/{server.mine}/diary/2026-02-30", json=BODY)
        assert bad.status_code == 422
        assert bad.json()["detail"][0]["field"] == "day"
        assert patient.delete(f"/api/v1/patients/{server.mine}/diary/yesterday").status_code == 422


def test_the_document_describes_put_and_delete_of_a_day(server: Server) -> None:
    document = httpx.get(f"{server.url}/api/v1/openapi.json").json()
    operations = document["paths"]["/api/v1/patients/{patient_id}/diary/{day}"]
    put, delete = operations["put"], operations["delete"]
    body = put["requestBody"]["content"]["application/json"]["schema"]
    assert body == {"$ref": "#/components/schemas/DiaryDayIn"}
    day_in = document["components"]["schemas"]["DiaryDayIn"]
    assert "day" not in day_in["required"]
    assert {"pain", "fatigue", "sleep_quality"} <= set(day_in["required"])
    assert {"200", "401", "404", "413", "422"} <= set(put["responses"])
    assert {"204", "401", "404", "422"} <= set(delete["responses"])
    (_, day) = put["parameters"][:2]
    assert (day["name"], day["schema"]["format"]) == ("day", "date")
