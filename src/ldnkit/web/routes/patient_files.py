"""What a patient takes away: their diary as CSV, their record as FHIR R4 JSON, and the visit
brief PDF for a doctor. Each download is audited (the reads behind it, and a line of its own)."""

from __future__ import annotations

import json

from fastapi import APIRouter, Request
from fastapi.responses import Response

from ldnkit.services.export import diary_spreadsheet, fhir_bundle
from ldnkit.services.visit_brief import visit_brief_pdf
from ldnkit.web.deps import PatientSession, StoreDep
from ldnkit.web.security import clinic_today

router = APIRouter(prefix="/me", include_in_schema=False)


def _own(session: PatientSession) -> int:
    assert session.actor.patient_id is not None
    return session.actor.patient_id


def _attachment(body: str | bytes, media_type: str, filename: str) -> Response:
    return Response(
        body,
        media_type=media_type,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@router.get("/diary.csv")
def my_diary_csv(store: StoreDep, session: PatientSession) -> Response:
    return _attachment(
        diary_spreadsheet(store, session.actor, _own(session)), "text/csv", "my-ldn-diary.csv"
    )


@router.get("/record.json")
def my_record(store: StoreDep, session: PatientSession) -> Response:
    bundle = fhir_bundle(store, session.actor, _own(session))
    return _attachment(
        json.dumps(bundle, ensure_ascii=False, indent=1),
        "application/fhir+json",
        "my-ldn-record.fhir.json",
    )


@router.get("/visit-brief.pdf")
def my_visit_brief(request: Request, store: StoreDep, session: PatientSession) -> Response:
    pdf = visit_brief_pdf(store, session.actor, _own(session), clinic_today(request))
    return _attachment(pdf, "application/pdf", "ldn-visit-brief.pdf")
