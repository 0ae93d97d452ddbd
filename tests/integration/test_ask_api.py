"""`POST /api/v1/ask` on a real server: both roles, the contract, 422 only for no question."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest

from ldnkit.knowledge import knowledge_base
from ldnkit.services.accounts import NewAccount, create_account
from ldnkit.settings import Settings
from ldnkit.store.repository import Store
from ldnkit.web.server import api_token, background_server

PASSWORD = "ask-pass-123"


@dataclass(frozen=True)
class Server:
    url: str


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    db_url = f"sqlite:///{tmp_path_factory.mktemp('ask')}/ask.db"
    store = Store.open(db_url)
    store.upgrade()
    create_account(store, NewAccount(role="clinician", email="doc@ask.test", password=PASSWORD))
    create_account(
        store,
        NewAccount(
            role="patient", email="pat@ask.test", password=PASSWORD, clinician="doc@ask.test"
        ),
    )
    store.close()
    with background_server(Settings(database_url=db_url)) as url:
        yield Server(url)


def client(server: Server, email: str) -> httpx.Client:
    token = api_token(server.url, email, PASSWORD)
    return httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {token}"})


@pytest.mark.parametrize("email", ["doc@ask.test", "pat@ask.test"])
def test_both_roles_get_the_cited_answer(server: Server, email: str) -> None:
    with client(server, email) as api:
        response = api.post("/api/v1/ask", json={"question": "Can I take LDN with Norco?"})
    assert response.status_code == 200
    data = response.json()
    assert data["status"] == "answered"
    assert data["statements"][0]["id"] == "rule:opioid-active"
    assert "Norco contains hydrocodone" in data["statements"][0]["text"]
    assert data["knowledge_base"] == knowledge_base().version
    cited = {s for st in data["statements"] for s in st["sources"]}
    assert cited <= {s["id"] for s in data["sources"]}


def test_a_conflict_comes_with_every_side(server: Server) -> None:
    with client(server, "pat@ask.test") as api:
        data = api.post("/api/v1/ask", json={"question": "Is LDN safe in pregnancy?"}).json()
    conflict = next(c for c in data["conflicts"] if c["id"] == "pregnancy-safety")
    assert len(conflict["positions"]) == 3
    assert all(p["sources"] for p in conflict["positions"])


def test_without_a_token_the_answer_is_401(server: Server) -> None:
    response = httpx.post(f"{server.url}/api/v1/ask", json={"question": "What is LDN?"})
    assert response.status_code == 401


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"question": ""}, "question"),
        ({"question": "  \t "}, "question"),
        ({}, "question"),
        ({"question": "What is LDN?", "patient": 1}, "patient"),
        ({"question": 42}, "question"),
    ],
)
def test_no_question_is_422_naming_the_field(server: Server, body: object, field: str) -> None:
    with client(server, "doc@ask.test") as api:
        response = api.post("/api/v1/ask", json=body)
    assert response.status_code == 422
    assert [p["field"] for p in response.json()["detail"]] == [field]


def test_a_body_that_is_not_json_is_422(server: Server) -> None:
    with client(server, "doc@ask.test") as api:
        response = api.post(
            "/api/v1/ask", content=b"question=hello", headers={"content-type": "application/json"}
        )
    assert response.status_code == 422


@pytest.mark.parametrize(
    ("question", "status"),
    [
        ("LDN " * 300, "out_of_scope"),  # 1,200 characters: refused, saying how long it may be
        ("Can I take LDN\x00 with Norco?\x1b", "answered"),  # control characters read as spaces
        ("Можно ли принимать налтрексон при беременности?", "out_of_scope"),
        ("What is the capital of France?", "out_of_scope"),
        ("Does LDN cause hair loss?", "no_answer"),
    ],
)
def test_odd_questions_get_a_clear_answer_never_a_500(
    server: Server, question: str, status: str
) -> None:
    with client(server, "pat@ask.test") as api:
        response = api.post("/api/v1/ask", json={"question": question})
    assert response.status_code == 200
    assert response.json()["status"] == status
    assert response.json()["message"] or status == "answered"


def test_a_100_kb_question_is_refused_as_too_large_before_it_is_read(server: Server) -> None:
    with client(server, "pat@ask.test") as api:
        response = api.post("/api/v1/ask", json={"question": "LDN " * 25_600})
    assert response.status_code == 413
    [problem] = response.json()["detail"]
    assert problem["field"] == "body"
    assert problem["expected"] == "a body of at most 64 kB"


def test_the_openapi_document_describes_ask(server: Server) -> None:
    document = httpx.get(f"{server.url}/api/v1/openapi.json").json()
    post = document["paths"]["/api/v1/ask"]["post"]
    body = post["requestBody"]["content"]["application/json"]["schema"]
    schema = document["components"]["schemas"][body["$ref"].rsplit("/", 1)[1]]
    assert "question" in schema["properties"]
    assert {"200", "401", "422"} <= set(post["responses"])
    answer = document["components"]["schemas"]["Answer"]["properties"]
    assert {"question", "status", "statements", "conflicts", "sources", "knowledge_base"} <= set(
        answer
    )
