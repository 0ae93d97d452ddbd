"""More than one worker process on one database (SQLite file and PostgreSQL): what one worker
accepts or counts, every other knows.

Two `ldnkit serve` processes on two ports stand for two workers behind one address (a proxy
sends each call to either): a CDS Hooks token used at one is refused at the other, and wrong
passwords sent to both count against one limit. `ldnkit serve --workers 2` runs such workers
behind one port itself.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from ldnkit.services.accounts import NewAccount, create_account
from ldnkit.store.repository import Store
from ldnkit.web.server import wait_until_serving

pytestmark = pytest.mark.slow

EHR = "https://ehr.example.org"
EHR_KEY = ec.generate_private_key(ec.SECP384R1())
# The address EHRs call the service at (the proxy's); each token's aud names it.
PUBLIC_URL = "https://ldn.clinic.test"
SERVICE = "/cds-services/ldn-order-sign"
EMAIL = "doc@workers.test"
PASSWORD = "workers-pass-12"
FREE = 5  # wrong passwords an email may try before it has to wait


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture
def deployment(database_url: str, tmp_path: Path) -> dict[str, str]:
    """The environment of one deployment: its database (with a clinician) and a trusted EHR."""
    store = Store.open(database_url)
    store.upgrade()
    create_account(store, NewAccount(role="clinician", email=EMAIL, password=PASSWORD))
    store.close()
    public = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(EHR_KEY.public_key()))
    clients = tmp_path / "clients.json"
    key = {**public, "kid": "ehr-1", "alg": "ES384", "use": "sig"}
    clients.write_text(json.dumps([{"iss": EHR, "jwks": {"keys": [key]}}]))
    return {
        "LDNKIT_DATABASE_URL": database_url,
        "LDNKIT_CDS_CLIENTS": str(clients),
        "LDNKIT_PUBLIC_URL": PUBLIC_URL,
    }


@contextmanager
def ldnkit_serve(
    env: dict[str, str], log: Path, *options: str
) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """`ldnkit serve` in a process of its own, waited on until it answers; yields its URL."""
    port = _free_port()
    code = "import sys; from ldnkit.cli import main; sys.exit(main(sys.argv[1:]))"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [sys.executable, "-c", code, "serve", "--port", str(port), *options],
            env={**os.environ, **env},
            cwd=log.parent,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_serving(url, seconds=30)
        yield url, process
    finally:
        if process.poll() is None:
            process.terminate()
        process.wait(timeout=30)


def _token(jti: str | None = None) -> str:
    now = int(time.time())
    claims = {
        "iss": EHR,
        "aud": PUBLIC_URL + SERVICE,
        "iat": now,
        "exp": now + 60,
        "jti": jti or str(uuid.uuid4()),
    }
    return jwt.encode(claims, EHR_KEY, algorithm="ES384", headers={"kid": "ehr-1"})


def _order_sign(url: str, token: str) -> httpx.Response:
    """An order for ibuprofen: no card, and no patient record needed to say so."""
    order = {
        "resourceType": "MedicationRequest",
        "id": "draft-1",
        "status": "draft",
        "intent": "order",
        "subject": {"reference": "Patient/p-1"},
        "medicationCodeableConcept": {"text": "ibuprofen 400 mg"},
    }
    body: dict[str, Any] = {
        "hook": "order-sign",
        "hookInstance": str(uuid.uuid4()),
        "context": {
            "userId": "Practitioner/1",
            "patientId": "p-1",
            "draftOrders": {"resourceType": "Bundle", "type": "collection",
                            "entry": [{"resource": order}]},
        },
    }  # fmt: skip
    return httpx.post(
        url + SERVICE, json=body, headers={"Authorization": f"Bearer {token}"}, timeout=30
    )


def _sign_in(url: str, password: str) -> httpx.Response:
    return httpx.post(
        f"{url}/api/v1/token", data={"username": EMAIL, "password": password}, timeout=30
    )


Serve = Callable[..., str]


@pytest.fixture
def serve(deployment: dict[str, str], tmp_path: Path) -> Iterator[Serve]:
    """Starts `ldnkit serve` processes of the deployment; all stopped after the test."""
    with ExitStack() as running:

        def start(*options: str) -> str:
            log = tmp_path / f"serve-{uuid.uuid4().hex[:6]}.log"
            url, _process = running.enter_context(ldnkit_serve(deployment, log, *options))
            return url

        yield start


def test_a_cds_token_used_at_one_worker_is_refused_at_the_other(serve: Serve) -> None:
    first, second = serve(), serve()
    token = _token()
    accepted = _order_sign(first, token)
    assert accepted.status_code == 200, accepted.text
    assert accepted.json() == {"cards": []}
    for worker in (second, first):
        replayed = _order_sign(worker, token)
        assert replayed.status_code == 401, replayed.text
        assert "already used (replay)" in replayed.text
    # A new token is welcome at either.
    assert _order_sign(second, _token()).status_code == 200


def test_a_cds_token_used_before_a_restart_is_refused_after_it(
    deployment: dict[str, str], tmp_path: Path
) -> None:
    token = _token()
    with ldnkit_serve(deployment, tmp_path / "before.log") as (url, _):
        assert _order_sign(url, token).status_code == 200
    with ldnkit_serve(deployment, tmp_path / "after.log") as (url, _):
        assert _order_sign(url, token).status_code == 401


def test_wrong_passwords_sent_to_two_workers_count_against_one_limit(serve: Serve) -> None:
    workers = [serve(), serve()]
    # Five wrong passwords in all: three at one worker, two at the other.
    codes = [_sign_in(workers[i % 2], "wrong-password-1").status_code for i in range(FREE)]
    assert codes == [401] * FREE
    # Each worker has seen fewer than five; together they have seen the limit.
    for worker in workers:
        refused = _sign_in(worker, PASSWORD)
        assert refused.status_code == 429, refused.text
        assert int(refused.headers["retry-after"]) > 0


def _worker_processes(pid: int) -> list[int]:
    """The worker processes uvicorn started under `pid` (Linux: read from /proc)."""
    children: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        children += [int(c) for c in (task / "children").read_text().split()]
    return [
        child
        for child in children
        if b"multiprocessing.spawn" in Path(f"/proc/{child}/cmdline").read_bytes()
    ]


def test_serve_with_two_workers_runs_two_processes_that_share_what_they_accept(
    deployment: dict[str, str], tmp_path: Path
) -> None:
    with ldnkit_serve(deployment, tmp_path / "workers.log", "--workers", "2") as (url, process):
        deadline = time.monotonic() + 30
        while len(_worker_processes(process.pid)) < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert len(_worker_processes(process.pid)) == 2
        tokens = [_token() for _ in range(20)]
        # Whichever worker each call reaches: every token once, every replay refused.
        assert [_order_sign(url, t).status_code for t in tokens] == [200] * 20
        assert [_order_sign(url, t).status_code for t in tokens] == [401] * 20
        assert _sign_in(url, PASSWORD).status_code == 200
