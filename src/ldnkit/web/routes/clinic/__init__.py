"""The clinician's pages, by page family; every URL is under /clinic."""

from __future__ import annotations

from fastapi import APIRouter

from ldnkit.web.routes.clinic import course, criteria, patients, plan, record

# The patient list and intake first: /clinic/patients/new must not be read as a patient id.
routers: tuple[APIRouter, ...] = (
    patients.router,
    record.router,
    course.router,
    plan.router,
    criteria.router,
)
