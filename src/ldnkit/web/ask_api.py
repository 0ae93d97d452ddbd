"""`POST /api/v1/ask`: a cited answer to a question, for either role."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from ldnkit.domain.ask.model import MAX_QUESTION_CHARS, Answer
from ldnkit.services.ask import ask as answer_question
from ldnkit.web.deps import ApiActor

router = APIRouter(prefix="/api/v1", tags=["api"])


class AskIn(BaseModel):
    """A question about LDN."""

    model_config = ConfigDict(extra="forbid")

    question: str = Field(
        description="The question as a person would ask it. Empty or blank questions are "
        f"refused (422); questions longer than {MAX_QUESTION_CHARS:,} characters get an "
        "`out_of_scope` answer saying so.",
        examples=["Can I take LDN with levothyroxine?"],
    )


_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {"description": "Not signed in (missing, wrong or expired bearer token)"},
    422: {"description": "No question: empty or blank, missing, or not JSON"},
}


@router.post("/ask", response_model=Answer, responses=_RESPONSES)
def ask(body: AskIn, _actor: ApiActor) -> Answer:
    """Answer a question with knowledge-base records only, most relevant first.

    `status` is `answered`, `no_answer` (about LDN, but the knowledge base has no statement
    covering it; `message` says what is not covered) or `out_of_scope` (not about LDN and what
    surrounds it; `message` says so). Every source id cited by a statement or a conflict is in
    `sources`; the same question on the same knowledge base gives the same answer.
    """
    return answer_question(body.question)
