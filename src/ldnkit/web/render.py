"""Jinja2 templates (autoescaped) and the helpers every page uses."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from functools import cache
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, Response
from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup

from ldnkit.knowledge.limits import limits
from ldnkit.validation import Problem


def _source_list(ids: Iterable[str]) -> list[dict[str, str]]:
    """Sources by id, as citation and link, for the 'Sources' lines under clinical text."""
    from ldnkit.knowledge import knowledge_base  # late: loading the YAML is the slow part

    kb = knowledge_base()
    out: list[dict[str, str]] = []
    for source_id in ids:
        source = kb.sources.get(source_id)
        if source is None:
            out.append({"id": source_id, "citation": source_id, "href": ""})
            continue
        href = source.url or (f"https://doi.org/{source.doi}" if source.doi else "")
        if not href and source.pmid:
            href = f"https://pubmed.ncbi.nlm.nih.gov/{source.pmid}/"
        out.append({"id": source_id, "citation": source.citation, "href": href})
    return out


def _effect_name(effect_id: str) -> str:
    """A side effect by its name (the id only if the knowledge base no longer knows it)."""
    from ldnkit.knowledge import knowledge_base

    try:
        return knowledge_base().side_effect(effect_id).name
    except KeyError:
        return effect_id.replace("-", " ").replace("_", " ")


def _clinical_number(name: str) -> object:
    """A number of limits.yaml by the name texts use for it, read when the page is drawn, so a
    page states the window or threshold the decisions on it used."""
    return limits().parameters()[name]


@cache
def environment() -> Environment:
    env = Environment(
        loader=PackageLoader("ldnkit.web", "templates"),
        # Every template is HTML: escape everything, whatever the file name says.
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals["sources"] = _source_list
    env.globals["csrf_input"] = csrf_input
    env.globals["effect_name"] = _effect_name
    env.globals["clinical_number"] = _clinical_number
    env.filters["mg"] = lambda v: "" if v is None else f"{float(v):g} mg"
    return env


def problems_by_field(problems: Iterable[Problem]) -> dict[str, str]:
    """The first problem for each field (top-level name), as the form shows it beside the field."""
    out: dict[str, str] = {}
    for problem in problems:
        key = problem.field.split(".")[0].split("[")[0]
        out.setdefault(key, str(problem))
    return out


def page(
    request: Request,
    template: str,
    context: Mapping[str, Any] | None = None,
    *,
    status_code: int = 200,
    headers: Mapping[str, str] | None = None,
) -> HTMLResponse:
    """Render a page with what every page needs: who is signed in and the CSRF token."""
    session = getattr(request.state, "session", None)
    values: dict[str, Any] = {
        "request": request,
        "actor": session.actor if session else None,
        "csrf": session.csrf if session else getattr(request.state, "pre_csrf", ""),
        "errors": {},
        "values": {},
        "message": None,
    }
    values.update(context or {})
    html = environment().get_template(template).render(values)
    return HTMLResponse(html, status_code=status_code, headers=dict(headers or {}))


def csrf_input(token: str) -> Markup:
    return Markup('<input type="hidden" name="csrf_token" value="{}">').format(token)


def calendar_file(ics: str) -> Response:
    """A plan's calendar as a download (the clinician's and the patient's pages)."""
    return Response(
        ics,
        media_type="text/calendar",
        headers={"Content-Disposition": 'attachment; filename="ldn-plan.ics"'},
    )
