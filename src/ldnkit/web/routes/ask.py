"""The Ask page, for patients and clinicians: a question, and the knowledge base's cited answer.

The same answer for both roles; the patient's page words it plainly, folds the sources behind a
"Sources" control and sends decisions to the clinician, the clinician's numbers the citations.
The page's own words for each reader are in knowledge/data/ask.yaml (`page`).
The question is posted (never put in the address, where it would end up in logs and history).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from ldnkit.domain.ask.model import MAX_QUESTION_CHARS, Answer
from ldnkit.knowledge.ask import page_words
from ldnkit.services.ask import ask as answer_question
from ldnkit.validation import InputError
from ldnkit.web.deps import AnySession, CheckedForm
from ldnkit.web.render import page

router = APIRouter(prefix="/ask", include_in_schema=False)


def _context(session: AnySession, answer: Answer | None = None, **extra: Any) -> dict[str, Any]:
    numbers = {s.id: n for n, s in enumerate(answer.sources, 1)} if answer else {}
    patient = session.actor.role == "patient"
    return {
        "answer": answer,
        "numbers": numbers,
        "patient": patient,
        "words": page_words(patient),
        "max_chars": MAX_QUESTION_CHARS,
        **extra,
    }


@router.get("")
def ask_page(request: Request, session: AnySession) -> Response:
    return page(request, "ask.html", _context(session))


@router.post("")
def ask_question(request: Request, session: AnySession, form: CheckedForm) -> Response:
    question = form.get("question")
    partial = request.headers.get("hx-request") == "true"
    try:
        answer = answer_question(question)
    except InputError:
        words = page_words(session.actor.role == "patient")
        empty = words.empty.format(example=words.example)
        context = _context(session, errors={"question": empty}, values={"question": ""})
        template = "_ask_answer.html" if partial else "ask.html"
        return page(request, template, context, status_code=422 if not partial else 200)
    context = _context(session, answer, values={"question": question})
    return page(request, "_ask_answer.html" if partial else "ask.html", context)
