"""The clinic outcomes page, its PDF and its CSV: a clinician's own patients, or for an analyst
the whole clinic with small groups withheld (see `ldnkit.services.outcomes`)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from markupsafe import Markup

from ldnkit.domain.titration import EARLIEST, LATEST
from ldnkit.services.outcomes import ClinicReport, clinic_report
from ldnkit.validation import Problem
from ldnkit.web.deps import OutcomesSession, StoreDep
from ldnkit.web.forms import today
from ldnkit.web.render import page

router = APIRouter(include_in_schema=False)

GRACE_CHOICES = (30, 60, 90)
MAX_GRACE = 365  # an input bound, as on the command line


def _choices(request: Request) -> tuple[dt.date, int | None, dict[str, str]]:
    """The day to count to and the grace period asked for; problems in the page's words."""
    errors: dict[str, str] = {}
    raw_day = request.query_params.get("as_of", "").strip()
    day = today()
    if raw_day:
        try:
            day = dt.date.fromisoformat(raw_day)
        except ValueError:
            errors["as_of"] = str(Problem("Count up to", repr(raw_day), "a date YYYY-MM-DD"))
        else:
            if not EARLIEST <= day <= LATEST:
                errors["as_of"] = str(
                    Problem("Count up to", raw_day, f"a date from {EARLIEST} to {LATEST}")
                )
                day = today()
    raw_grace = request.query_params.get("grace_days", "").strip()
    grace = None
    if raw_grace:
        if raw_grace.isdecimal() and int(raw_grace) <= MAX_GRACE:
            grace = int(raw_grace)
        else:
            errors["grace_days"] = str(
                Problem("Grace period", repr(raw_grace), f"a number of days from 0 to {MAX_GRACE}")
            )
    return day, grace, errors


def _report(request: Request, store: StoreDep, session: OutcomesSession) -> tuple[
    ClinicReport, dict[str, str]
]:  # fmt: skip
    day, grace, errors = _choices(request)
    return clinic_report(store, session.actor, day, grace), errors


def _query(report: ClinicReport) -> str:
    figures = report.run.figures
    return f"as_of={figures.as_of.isoformat()}&grace_days={figures.grace_days}"


def _filename(report: ClinicReport, ending: str) -> str:
    return f"ldn-outcomes-{report.run.figures.as_of.isoformat()}.{ending}"


@router.get("/outcomes")
def outcomes_page(request: Request, store: StoreDep, session: OutcomesSession) -> Response:
    clinic, errors = _report(request, store, session)
    charts = clinic.charts()
    context: dict[str, Any] = {
        "clinic": clinic,
        "report": clinic.report(),
        # The SVG is built from escaped text (ldnkit.analytics.svg.esc) on the server.
        "persistence_chart": Markup(charts.persistence_svg),  # noqa: S704
        "persistence_text": charts.persistence_text,
        "responders_chart": Markup(charts.responders_svg),  # noqa: S704
        "responders_text": charts.responders_text,
        "query": _query(clinic),
        "grace_choices": GRACE_CHOICES,
        "errors": errors,
        "values": dict(request.query_params),
    }
    return page(request, "outcomes.html", context, status_code=422 if errors else 200)


def _download(clinic: ClinicReport, content: bytes | str, media_type: str, ending: str) -> Response:
    return Response(
        content,
        media_type=media_type,
        headers={"Content-Disposition": f'attachment; filename="{_filename(clinic, ending)}"'},
    )


@router.get("/outcomes.pdf")
def outcomes_pdf(request: Request, store: StoreDep, session: OutcomesSession) -> Response:
    clinic, _errors = _report(request, store, session)
    return _download(clinic, clinic.pdf(), "application/pdf", "pdf")


@router.get("/outcomes.csv")
def outcomes_csv(request: Request, store: StoreDep, session: OutcomesSession) -> Response:
    clinic, _errors = _report(request, store, session)
    return _download(clinic, clinic.csv(), "text/csv", "csv")
