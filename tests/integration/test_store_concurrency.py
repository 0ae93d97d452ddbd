"""Concurrent writes to one record lose nothing that was acknowledged, on SQLite and PostgreSQL.

Ten clients each send five `combine` merges of the same diary day (which starts empty, so the
first writes race too); every merge adds its own note line and every client its own side effect.
Whatever was acknowledged must be in the stored day afterwards.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import httpx
import pytest

from ldnkit.domain.diary import DiaryEntry, known_side_effect_ids
from ldnkit.services.accounts import NewAccount, create_account
from ldnkit.services.diary import record_entry
from ldnkit.settings import Settings
from ldnkit.store.passwords import hash_password
from ldnkit.store.records import Actor
from ldnkit.store.repository import Store
from ldnkit.validation import InputError
from ldnkit.web.server import api_token, background_server

PASSWORD = "concurrent-pass-1"
CLIENTS = 10
MERGES_EACH = 5
DAY = dt.date(2026, 3, 14)
EFFECTS = sorted(known_side_effect_ids())[:CLIENTS]


@dataclass
class Clinic:
    store: Store
    patient: Actor
    patient_id: int
    doctor: Actor


@pytest.fixture
def clinic(database_url: str) -> Iterator[Clinic]:
    store = Store.open(database_url)
    store.upgrade()
    doctor = create_account(
        store, NewAccount(role="clinician", email="doc@race.test", password=PASSWORD)
    )
    patient = create_account(
        store,
        NewAccount(role="patient", email="pat@race.test", password=PASSWORD,
                   clinician="doc@race.test"),
    )  # fmt: skip
    assert patient.patient_id is not None
    yield Clinic(store, patient.actor, patient.patient_id, doctor.actor)
    store.close()


def _merge(client: int, n: int) -> DiaryEntry:
    return DiaryEntry.model_validate(
        {
            "day": DAY,
            "pain": (client + n) % 11,
            "fatigue": 5,
            "sleep_quality": 5,
            "side_effects": [{"id": EFFECTS[client], "severity": "mild"}],
            "note": f"client {client} merge {n}",
        }
    )


@dataclass
class Outcome:
    acknowledged: list[tuple[int, int]] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def ack(self, client: int, n: int) -> None:
        with self.lock:
            self.acknowledged.append((client, n))

    def refuse(self, why: str) -> None:
        with self.lock:
            self.refused.append(why)


def _lost(stored: DiaryEntry, outcome: Outcome) -> list[tuple[int, int]]:
    lines = set(stored.note.split("\n"))
    effects = {s.id for s in stored.side_effects}
    return [
        (c, n)
        for c, n in outcome.acknowledged
        if f"client {c} merge {n}" not in lines or EFFECTS[c] not in effects
    ]


Together = Callable[[int, Callable[[int], None]], None]


def _each_client_merges(send: Callable[[int, int], None]) -> Callable[[int], None]:
    def client(i: int) -> None:
        for n in range(MERGES_EACH):
            send(i, n)

    return client


def test_concurrent_combine_merges_of_one_day_lose_no_acknowledged_merge(
    clinic: Clinic, together: Together
) -> None:
    outcome = Outcome()

    def send(client: int, n: int) -> None:
        try:
            record_entry(clinic.store, clinic.patient, clinic.patient_id, _merge(client, n),
                                      "combine")  # fmt: skip
        except Exception as exc:  # any refusal is counted, and must not happen
            outcome.refuse(repr(exc))
        else:
            outcome.ack(client, n)

    together(CLIENTS, _each_client_merges(send))
    (stored,) = clinic.store.diary(clinic.patient, clinic.patient_id)
    lost = _lost(stored, outcome)
    sent = CLIENTS * MERGES_EACH
    figures = f"sent {sent}, acknowledged {len(outcome.acknowledged)}, lost {len(lost)}"
    assert outcome.refused == [], figures
    assert lost == [], figures
    assert len(outcome.acknowledged) == sent


def test_concurrent_combine_merges_through_the_api_lose_no_acknowledged_merge(
    clinic: Clinic, database_url: str, together: Together
) -> None:
    outcome = Outcome()
    with background_server(Settings(database_url=database_url)) as url:
        token = api_token(url, "pat@race.test", PASSWORD)
        headers = {"Authorization": f"Bearer {token}"}
        path = f"/api/v1/patients/{clinic.patient_id}/diary?how=combine"

        def send(client: int, n: int) -> None:
            body = _merge(client, n).model_dump(mode="json")
            with httpx.Client(base_url=url, headers=headers, timeout=60) as http:
                response = http.post(path, json=body)
            if response.status_code == 201:
                outcome.ack(client, n)
            else:
                outcome.refuse(f"{response.status_code} {response.text[:200]}")

        together(CLIENTS, _each_client_merges(send))
        stored_json = httpx.get(
            f"{url}/api/v1/patients/{clinic.patient_id}/diary", headers=headers
        ).json()
    stored = DiaryEntry.model_validate(stored_json[0])
    lost = _lost(stored, outcome)
    sent = CLIENTS * MERGES_EACH
    figures = f"sent {sent}, acknowledged {len(outcome.acknowledged)}, lost {len(lost)}"
    assert outcome.refused == [], figures
    assert lost == [], figures


def _creator(
    store: Store, email: str, password_hash: str, outcome: Outcome
) -> Callable[[int], None]:
    """One client's work: create a clinician with `email`, noting what came of it."""

    def create(_client: int) -> None:
        try:
            store.create_clinician(email, password_hash, "Dr Same")
        except InputError as exc:
            outcome.refuse(f"refused: {exc.problems[0].field}")
        except Exception as exc:
            outcome.refuse(f"crashed: {exc!r}"[:200])
        else:
            outcome.ack(0, 0)

    return create


def test_accounts_created_at_once_with_one_email_give_one_account_and_one_clear_error(
    clinic: Clinic, together: Together
) -> None:
    password_hash = hash_password(PASSWORD)
    for round_ in range(5):
        outcome = Outcome()
        together(4, _creator(clinic.store, f"same{round_}@race.test", password_hash, outcome))
        assert len(outcome.acknowledged) == 1
        assert outcome.refused == ["refused: email"] * 3
