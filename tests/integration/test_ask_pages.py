"""The Ask page on a real server: one answer, worded for the patient or for the clinician."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from contextlib import AbstractContextManager

import httpx
import pytest
from markupsafe import escape

from ldnkit.knowledge import knowledge_base
from ldnkit.knowledge.ask import page_words
from ldnkit.services.accounts import NewAccount, create_account
from ldnkit.settings import Settings
from ldnkit.store.repository import Store
from ldnkit.web import server
from ldnkit.web.server import background_server, csrf_from

PASSWORD = "ask-pages-12"
DOCTOR = "doc@askpages.test"
PATIENT = "pat@askpages.test"


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    db_url = f"sqlite:///{tmp_path_factory.mktemp('askpages')}/pages.db"
    store = Store.open(db_url)
    store.upgrade()
    create_account(store, NewAccount(role="clinician", email=DOCTOR, password=PASSWORD))
    create_account(
        store, NewAccount(role="patient", email=PATIENT, password=PASSWORD, clinician=DOCTOR)
    )
    store.close()
    with background_server(Settings(database_url=db_url)) as url:
        yield url


def signed_in(site: str, email: str) -> AbstractContextManager[httpx.Client]:
    return server.signed_in(site, email, PASSWORD)


def ask(client: httpx.Client, question: str, **headers: str) -> httpx.Response:
    token = csrf_from(client.get("/ask").text)
    return client.post("/ask", data={"question": question, "csrf_token": token}, headers=headers)


@pytest.mark.parametrize("email", [DOCTOR, PATIENT])
def test_both_navigations_link_to_the_ask_page(site: str, email: str) -> None:
    with signed_in(site, email) as client:
        home = client.get("/ask")
    assert home.status_code == 200
    assert '<a href="/ask">Ask</a>' in home.text
    assert 'name="question"' in home.text


def test_the_patient_reads_plain_words_with_sources_folded_and_the_disagreement(site: str) -> None:
    with signed_in(site, PATIENT) as client:
        page = ask(client, "Is LDN safe in pregnancy?").text
    assert "What ldnkit's sources say" in html.unescape(page)
    assert "<summary>Sources</summary>" in page
    assert "Sources disagree: LDN in pregnancy" in page
    assert "talk to your clinician" in page
    assert "[1]" not in page
    assert str(escape(knowledge_base().source("fda-revia-label").citation)) in page


def test_the_clinician_reads_numbered_citations_and_references(site: str) -> None:
    with signed_in(site, DOCTOR) as client:
        page = ask(client, "Can I take LDN with Norco?").text
    assert "Norco contains hydrocodone, an opioid (short-acting)" in page
    assert "[1]" in page
    assert "<h3>References</h3>" in page
    assert "https://www.accessdata.fda.gov/" in page
    assert knowledge_base().version in page


def test_an_htmx_question_gets_only_the_answer(site: str) -> None:
    with signed_in(site, PATIENT) as client:
        response = ask(client, "What happens if I miss a dose of LDN?", **{"HX-Request": "true"})
    assert response.status_code == 200
    assert "<html" not in response.text
    assert 'data-status="answered"' in response.text
    assert "missed dose" in response.text


@pytest.mark.parametrize(
    ("question", "says"),
    [
        ("What is the capital of France?", "ldnkit answers questions about low-dose naltrexone"),
        ("Does LDN cause hair loss?", "say nothing about &#34;hair loss&#34;"),
    ],
)
def test_refusals_and_uncovered_questions_say_so(site: str, question: str, says: str) -> None:
    with signed_in(site, PATIENT) as client:
        page = ask(client, question).text
    assert says in page


def test_an_empty_question_comes_back_with_what_to_do(site: str) -> None:
    with signed_in(site, PATIENT) as client:
        response = ask(client, "   ")
    assert response.status_code == 422
    assert "Please type a question first" in response.text
    assert 'name="question"' in response.text


def test_a_question_without_the_forms_token_is_refused(site: str) -> None:
    with signed_in(site, PATIENT) as client:
        response = client.post("/ask", data={"question": "What is LDN?"})
    assert response.status_code == 403


def test_signed_out_visitors_are_sent_to_sign_in(site: str) -> None:
    response = httpx.get(f"{site}/ask", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/login"


def _visible(page: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split())


@pytest.mark.parametrize(
    "question",
    [
        "",  # the empty page, before a question
        "Will my insurance cover LDN?",  # about LDN, not covered
        "What is the capital of France?",  # not about LDN
        "Quelle est la dose de LDN ?",  # not in English
        "   ",  # nothing typed
    ],
)
def test_the_patient_page_and_its_refusals_speak_plainly(site: str, question: str) -> None:
    words = page_words(for_patient=True)
    with signed_in(site, PATIENT) as client:
        page = ask(client, question).text if question else client.get("/ask").text
    shown = _visible(page)
    assert f"<h1>{escape(words.heading)}</h1>" in page
    assert f'placeholder="{escape(words.example)}"' in page
    for clinical in ("prescriber", "contraindicat", "seed", "rule:", "knowledge base version"):
        assert clinical not in shown.lower(), clinical
    if question.strip():
        assert "clinician or pharmacist" in shown
    elif question:
        assert words.empty.format(example=words.example) in shown


def test_the_clinician_page_keeps_the_clinicians_words(site: str) -> None:
    words = page_words(for_patient=False)
    with signed_in(site, DOCTOR) as client:
        empty = _visible(ask(client, "   ").text)
        answered = _visible(ask(client, "Can I take LDN with Norco?").text)
    assert words.heading in empty
    assert words.intro in empty
    assert words.empty.format(example=words.example) in empty
    assert f"Knowledge base version {knowledge_base().version}. {words.next_step}" in answered
