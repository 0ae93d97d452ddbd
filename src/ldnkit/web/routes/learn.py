"""Plain-language pages for patients (and clinicians): what to expect and side effects, sourced."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from ldnkit.knowledge import knowledge_base
from ldnkit.web.deps import AnySession
from ldnkit.web.render import page

router = APIRouter(prefix="/learn", include_in_schema=False)

# Which knowledge-base topics each page gathers, in the order a patient asks about them.
PAGES = {
    "expect": ("What to expect", ("overview", "dosing", "timing", "response", "formulation")),
    "side-effects": ("Side effects and safety", ("side-effects", "safety", "interactions")),
}


@router.get("")
def learn_index(request: Request, _session: AnySession) -> Response:
    return page(request, "learn_index.html", {"pages": PAGES})


@router.get("/{slug}")
def learn_page(request: Request, _session: AnySession, slug: str) -> Response:
    from ldnkit.store.repository import NotFound

    if slug not in PAGES:
        raise NotFound(slug)
    title, topics = PAGES[slug]
    kb = knowledge_base()
    sections = [
        (topic, [s for s in kb.statements if s.topic == topic and s.condition is None])
        for topic in topics
    ]
    effects = kb.side_effects if slug == "side-effects" else ()
    return page(
        request,
        "learn.html",
        {"title": title, "sections": sections, "effects": effects, "pages": PAGES},
    )
