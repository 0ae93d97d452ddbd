"""Durability: `ldnkit serve` killed with SIGKILL during a burst of diary writes from several
clients; after a restart every acknowledged entry is there, whole, and nothing is half-written."""

from __future__ import annotations

import datetime as dt
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from ldnkit.services.accounts import NewAccount, create_account
from ldnkit.store.repository import Store
from ldnkit.web.server import api_token, wait_until_serving

PASSWORD = "durable-pass-1"
CLIENTS = 4
FIRST_DAY = dt.date(2025, 1, 1)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextmanager
def ldnkit_serve(db_url: str, port: int) -> Iterator[subprocess.Popen[bytes]]:
    """`ldnkit serve` in its own process, waited on until it answers."""
    code = "import sys; from ldnkit.cli import main; sys.exit(main(sys.argv[1:]))"
    process = subprocess.Popen(
        [sys.executable, "-c", code, "serve", "--port", str(port)],
        env={**os.environ, "LDNKIT_DATABASE_URL": db_url},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_until_serving(f"http://127.0.0.1:{port}", seconds=15)
        yield process
    finally:
        if process.poll() is None:
            process.terminate()
        process.wait(timeout=15)


def _entry(client: int, n: int) -> dict[str, object]:
    return {
        "day": (FIRST_DAY + dt.timedelta(days=n)).isoformat(),
        "dose_mg": 1.5,
        "pain": n % 11,
        "fatigue": (n * 3) % 11,
        "sleep_quality": (n * 7) % 11,
        "note": f"client {client} entry {n} " + "x" * (n % 50),
    }


def _writer(
    url: str,
    token: str,
    patient: int,
    client: int,
    acked: list[dict[str, object]],
    stop: threading.Event,
) -> None:
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=url, headers=headers, timeout=5) as http:
        for n in range(5000):
            if stop.is_set():
                return
            entry = _entry(client, n)
            try:
                response = http.post(f"/api/v1/patients/{patient}/diary", json=entry)
            except httpx.TransportError:
                return  # the server is gone: this write was never acknowledged
            if response.status_code == 201:
                acked.append(entry)


def test_acknowledged_entries_survive_a_sigkill_during_a_write_burst(tmp_path: Path) -> None:
    db_path = tmp_path / "durable.db"
    db_url = f"sqlite:///{db_path}"
    store = Store.open(db_url)
    store.upgrade()
    create_account(store, NewAccount(role="clinician", email="doc@d.test", password=PASSWORD))
    patients = [
        create_account(
            store,
            NewAccount(
                role="patient", email=f"p{i}@d.test", password=PASSWORD, clinician="doc@d.test"
            ),
        ).patient_id
        for i in range(CLIENTS)
    ]
    store.close()
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    acked: list[list[dict[str, object]]] = [[] for _ in range(CLIENTS)]
    with ldnkit_serve(db_url, port) as server:
        tokens = [api_token(url, f"p{i}@d.test", PASSWORD) for i in range(CLIENTS)]
        stop = threading.Event()
        writers = [
            threading.Thread(target=_writer, args=(url, tokens[i], patients[i], i, acked[i], stop))
            for i in range(CLIENTS)
        ]
        for w in writers:
            w.start()
        # Kill once every client has had writes acknowledged, mid-burst (bounded wait).
        deadline = time.monotonic() + 20
        while min(len(a) for a in acked) < 25 and time.monotonic() < deadline:
            time.sleep(0.01)
        os.kill(server.pid, signal.SIGKILL)
        server.wait(timeout=10)
        stop.set()
        for w in writers:
            w.join(timeout=10)
    assert min(len(a) for a in acked) >= 25, "every client had writes acknowledged before the kill"

    with sqlite3.connect(db_path) as raw:
        assert raw.execute("PRAGMA integrity_check").fetchone() == ("ok",)

    with ldnkit_serve(db_url, port):
        for i, patient in enumerate(patients):
            token = api_token(url, f"p{i}@d.test", PASSWORD)
            stored = httpx.get(
                f"{url}/api/v1/patients/{patient}/diary",
                headers={"Authorization": f"Bearer {token}"},
            ).json()
            by_day = {e["day"]: e for e in stored}
            for sent in acked[i]:
                kept = by_day.get(str(sent["day"]))
                assert kept is not None, f"acknowledged entry {sent['day']} of client {i} is lost"
                for field in ("pain", "fatigue", "sleep_quality", "note", "dose_mg"):
                    assert kept[field] == sent[field]
            # Anything stored beyond the acknowledged entries is whole too (the last write may
            # have committed just before the kill, without its answer reaching the client).
            for extra in stored:
                n = (dt.date.fromisoformat(extra["day"]) - FIRST_DAY).days
                assert extra["note"] == _entry(i, n)["note"]
