"""The JSON API under /api/v1: bearer tokens, the same scoping and audit as the pages."""

from __future__ import annotations

import datetime as dt
from functools import partial
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Form, HTTPException, Path, Request, Response
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from ldnkit.domain.diary import DiaryEntry
from ldnkit.domain.plan_gate import OVERRIDE_REASON_MAX
from ldnkit.domain.response import ResponseAssessment
from ldnkit.domain.titration import EARLIEST, PlanRequest
from ldnkit.jsoninput import parse_json, size
from ldnkit.services import diary as diary_service
from ldnkit.services import plans
from ldnkit.services.accounts import AccountDisabled
from ldnkit.services.progress import patient_view
from ldnkit.store.records import Actor, PatientRecord, SavedPlan
from ldnkit.validation import InputError, nul_problems
from ldnkit.web.deps import ApiActor, StoreDep, WrongRole
from ldnkit.web.forms import parse
from ldnkit.web.limits import API_BODY_LIMIT
from ldnkit.web.security import TOKEN_LIFETIME, LoginRequired, authenticate, clinic_today

router = APIRouter(prefix="/api/v1", tags=["api"])
# Request bodies read by hand (bounded, in a worker thread); ldnkit.web.openapi puts their
# schemas under components by these names.
DIARY_BODY = "DiaryEntryIn"
DAY_BODY = "DiaryDayIn"
PLAN_BODY = "PlanIn"
_SCHEMAS = "#/components/schemas/"


class ProblemOut(BaseModel):
    """One thing wrong with the input: where, what came, what was expected, and all in words."""

    field: str
    received: str
    expected: str
    msg: str


class Problems(BaseModel):
    """Every problem found in a request (422 bad input; 413 and 400 refusals use it too)."""

    detail: list[ProblemOut]


class Message(BaseModel):
    detail: str


class Conflict(BaseModel):
    """The day already has an entry: the stored one, so the caller can choose how to merge."""

    detail: str
    existing: DiaryEntry


Responses = dict[int | str, dict[str, Any]]
UNAUTHORIZED: Responses = {
    401: {
        "model": Message,
        "description": "Not signed in (missing, wrong or expired bearer token)",
        "headers": {"WWW-Authenticate": {"schema": {"type": "string"}}},
    }
}
NOT_YOURS: Responses = {
    404: {"model": Message, "description": "No such patient, or not one this account may see"}
}
BAD_INPUT: Responses = {422: {"model": Problems, "description": "Bad input: one problem per field"}}
# Record ids are 64-bit integers in the database; a larger number names no record.
PatientId = Annotated[int, Path(ge=1, le=2**63 - 1, description="The patient record's id")]


class Token(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"  # noqa: S105 (the OAuth2 token type, not a secret)
    expires_in: int


class Me(BaseModel):
    role: Literal["clinician", "patient", "analyst"]
    email: str
    patient_id: int | None = None


class PatientOut(BaseModel):
    id: int
    name: str
    profile: dict[str, Any]
    created_at: dt.datetime
    current_plan: list[dict[str, Any]] | None = None
    latest_screening: dict[str, Any] | None = None


class AssessmentOut(BaseModel):
    patient_id: int
    status: Literal["no_plan"] | str
    assessment: ResponseAssessment | None


class PlanIn(PlanRequest):
    """A plan to save: a protocol (custom with its numbers), a start, and an optional override."""

    override_reason: str | None = Field(
        default=None,
        description="A clinician's reason for starting against the safety screen (1 to "
        f"{OVERRIDE_REASON_MAX} characters). Needed only when the screen does not allow the "
        "start: a contraindicated patient, a start before the earliest start, or no start date.",
    )


class PlanScreenOut(BaseModel):
    """The safety screen the plan's start was checked against (made for `screened_on`)."""

    screened_on: dt.date
    verdict: str
    earliest_start: dt.date | None
    start_allowed: bool = Field(description="Whether the screen allowed the start by itself")
    explanation: str = Field(description="Why the screen did not allow the start (else empty)")
    findings: list[dict[str, Any]]


class OverrideOut(BaseModel):
    """A clinician's decision to start the plan against the safety screen."""

    reason: str
    by: str | None
    at: dt.datetime


class PlanOut(BaseModel):
    patient_id: int
    created_at: dt.datetime
    protocol: str
    start: dt.date
    request: dict[str, Any]
    steps: list[dict[str, Any]]
    screen: PlanScreenOut | None = Field(
        description="Null for plans saved before plans were checked against the screen"
    )
    override: OverrideOut | None


def _plan_out(saved: SavedPlan) -> PlanOut:
    check, override = saved.check, saved.override
    return PlanOut(
        patient_id=saved.patient_id,
        created_at=saved.created_at,
        protocol=saved.protocol,
        start=saved.start,
        request=saved.request,
        steps=saved.steps,
        screen=PlanScreenOut.model_validate(check.model_dump()) if check else None,
        override=OverrideOut.model_validate(override.model_dump()) if override else None,
    )


def _clinician(actor: ApiActor) -> Actor:
    if actor.role != "clinician":
        raise WrongRole
    return actor


ClinicianActor = Annotated[Actor, Depends(_clinician)]


def _patient_out(record: PatientRecord, **extra: Any) -> PatientOut:
    return PatientOut(
        id=record.id,
        name=record.name,
        profile=record.profile,
        created_at=record.created_at,
        **extra,
    )


@router.post(
    "/token",
    response_model=Token,
    responses={
        **BAD_INPUT,
        401: {
            "model": Message,
            "description": "Wrong email or password",
            "headers": {"WWW-Authenticate": {"schema": {"type": "string"}}},
        },
        429: {
            "model": Message,
            "description": "Too many failed attempts",
            "headers": {"Retry-After": {"schema": {"type": "integer"}}},
        },
    },
)
def token(
    request: Request,
    store: StoreDep,
    username: Annotated[str, Form(description="The account's email")],
    password: Annotated[str, Form()],
) -> Token:
    """Exchange email and password for a bearer token (OAuth2 password form fields)."""
    try:
        account = authenticate(store, request.app.state.limiter, request, username, password)
    except AccountDisabled:
        raise HTTPException(
            401, "This account is switched off.", headers={"WWW-Authenticate": "Bearer"}
        ) from None
    if account is None:
        raise LoginRequired
    secret, _csrf = store.open_session(account, "bearer", TOKEN_LIFETIME)
    return Token(access_token=secret, expires_in=int(TOKEN_LIFETIME.total_seconds()))


@router.get("/me", response_model=Me, responses=UNAUTHORIZED)
def me(actor: ApiActor) -> Me:
    """Who the token belongs to: the role, and the patient record for a patient."""
    return Me(role=actor.role, email=actor.email, patient_id=actor.patient_id)


@router.get("/patients", response_model=list[PatientOut], responses=UNAUTHORIZED)
def patients(actor: ApiActor, store: StoreDep) -> list[PatientOut]:
    """The patients this account may see: a clinician's own, or a patient's own record."""
    return [_patient_out(r) for r in store.patients(actor)]


@router.get(
    "/patients/{patient_id}",
    response_model=PatientOut,
    responses={**UNAUTHORIZED, **NOT_YOURS, **BAD_INPUT},
)
def patient(patient_id: PatientId, actor: ApiActor, store: StoreDep) -> PatientOut:
    """One patient with their current plan steps and latest screening."""
    record = store.patient(actor, patient_id)
    plan = store.current_plan(actor, patient_id)
    screenings = store.screenings(actor, patient_id)
    return _patient_out(
        record,
        current_plan=plan.steps if plan else None,
        latest_screening=screenings[0].result if screenings else None,
    )


@router.get(
    "/patients/{patient_id}/diary",
    response_model=list[DiaryEntry],
    responses={**UNAUTHORIZED, **NOT_YOURS, **BAD_INPUT},
)
def diary(patient_id: PatientId, actor: ApiActor, store: StoreDep) -> list[DiaryEntry]:
    """The diary, oldest day first."""
    return store.diary(actor, patient_id)


@router.post(
    "/patients/{patient_id}/diary",
    response_model=DiaryEntry,
    status_code=201,
    responses={
        **UNAUTHORIZED,
        **NOT_YOURS,
        **BAD_INPUT,
        409: {
            "model": Conflict,
            "description": "The day has an entry; send again with ?how=keep|replace|combine",
        },
    },
    openapi_extra={
        "requestBody": {
            "required": True,
            "description": f"One day's entry (JSON, at most {size(API_BODY_LIMIT)})",
            "content": {"application/json": {"schema": {"$ref": f"{_SCHEMAS}{DIARY_BODY}"}}},
        }
    },
)
async def record(
    patient_id: PatientId,
    request: Request,
    actor: ApiActor,
    store: StoreDep,
    how: Literal["keep", "replace", "combine"] | None = None,
) -> DiaryEntry:
    """Record a day's entry (backdating allowed); a second entry for a day needs `how`."""
    # The body (at most 64 kB, bounded as it arrived) is parsed and validated in a worker
    # thread like the write itself: none of it holds the event loop other requests share.
    entry = await run_in_threadpool(_entry_from_body, await request.body())
    saved: DiaryEntry = await run_in_threadpool(
        partial(diary_service.record_entry, today=clinic_today(request)),
        store, actor, patient_id, entry, how,
    )  # fmt: skip
    return saved


# An ISO day in a path: the calendar's bounds are the diary's; a later day is refused in words.
DiaryDay = Annotated[
    dt.date,
    Path(description=f"The day, YYYY-MM-DD, from {EARLIEST} to today in the clinic"),
]
NO_DAY: Responses = {
    404: {
        "model": Message,
        "description": "No entry for that day, or no such patient (or not one this account "
        "may see)",
    }
}


@router.put(
    "/patients/{patient_id}/diary/{day}",
    response_model=DiaryEntry,
    responses={
        **UNAUTHORIZED,
        **NOT_YOURS,
        422: {
            "model": Problems,
            "description": "Bad input, one problem per field; a day after today in the clinic "
            "(field `day`); or a body whose `day` is not the day in the path",
        },
    },
    openapi_extra={
        "requestBody": {
            "required": True,
            "description": "What the day holds from now on (JSON, at most "
            f"{size(API_BODY_LIMIT)}); `day` may be left out, and must otherwise be the "
            "day in the path",
            "content": {"application/json": {"schema": {"$ref": f"{_SCHEMAS}{DAY_BODY}"}}},
        }
    },
)
async def replace_day(
    patient_id: PatientId, day: DiaryDay, request: Request, actor: ApiActor, store: StoreDep
) -> DiaryEntry:
    """Set what a day holds (a new day, or a correction): the version it replaces is kept with
    its author, and the change is audited. A day after today in the clinic is refused."""
    entry = await run_in_threadpool(_day_entry_from_body, await request.body(), day)
    saved: DiaryEntry = await run_in_threadpool(
        partial(diary_service.record_entry, today=clinic_today(request)),
        store, actor, patient_id, entry, "replace",
    )  # fmt: skip
    return saved


@router.delete(
    "/patients/{patient_id}/diary/{day}",
    status_code=204,
    responses={**UNAUTHORIZED, **NO_DAY, **BAD_INPUT},
)
def delete_day(patient_id: PatientId, day: DiaryDay, actor: ApiActor, store: StoreDep) -> Response:
    """Delete a day's entry: it is kept as an earlier version marked deleted (nothing is lost),
    and the deletion is audited. 404 when the day has no entry."""
    if diary_service.delete_day(store, actor, patient_id, day) is None:
        raise HTTPException(404, f"There is no diary entry for {day.isoformat()}.")
    return Response(status_code=204)


def _json_body(body: bytes) -> Any:
    """A request body (bounded as it arrived) as JSON; not JSON, too deep or NUL: bad input."""
    data = parse_json(body, "body", expected="a JSON object")
    problems = nul_problems(data)
    if problems:
        raise InputError(problems)
    return data


def _entry_from_body(body: bytes) -> DiaryEntry:
    return parse(DiaryEntry, _json_body(body))


def _day_entry_from_body(body: bytes, day: dt.date) -> DiaryEntry:
    data = _json_body(body)
    if isinstance(data, dict):
        sent = data.setdefault("day", day.isoformat())
        if sent != day.isoformat():
            raise InputError.single("day", sent, f"{day.isoformat()}, the day in the path")
    return parse(DiaryEntry, data)


def _plan_from_body(body: bytes) -> PlanIn:
    return parse(PlanIn, _json_body(body))


@router.get(
    "/patients/{patient_id}/plan",
    response_model=PlanOut,
    responses={
        **UNAUTHORIZED,
        404: {
            "model": Message,
            "description": "No plan yet, or no such patient (or not one this account may see)",
        },
        **BAD_INPUT,
    },
)
def current_plan(patient_id: PatientId, actor: ApiActor, store: StoreDep) -> PlanOut:
    """The current plan: steps, the safety screen its start was checked against, any override."""
    saved = store.current_plan(actor, patient_id)
    if saved is None:
        raise HTTPException(404, "This patient has no plan yet.")
    return _plan_out(saved)


@router.post(
    "/patients/{patient_id}/plan",
    response_model=PlanOut,
    status_code=201,
    responses={
        **UNAUTHORIZED,
        **NOT_YOURS,
        403: {
            "model": Message,
            "description": "Not a clinician's token: only clinicians make plans",
        },
        422: {
            "model": Problems,
            "description": "Bad input, one problem per field with its path; or a start the "
            "safety screen does not allow (field `start`: a start on or after the earliest "
            "start; field `override_reason`: contraindicated, or no start date yet) without "
            "an override_reason",
        },
    },
    openapi_extra={
        "requestBody": {
            "required": True,
            "description": f"The plan (JSON, at most {size(API_BODY_LIMIT)})",
            "content": {"application/json": {"schema": {"$ref": f"{_SCHEMAS}{PLAN_BODY}"}}},
        }
    },
)
async def save_plan(
    patient_id: PatientId, request: Request, actor: ClinicianActor, store: StoreDep
) -> PlanOut:
    """Save a new current plan once the patient's safety screen allows its start.

    The patient's saved profile is screened for the plan's start day. A contraindicated
    patient, a start before the earliest start, or a screen that cannot give a start date yet
    is refused (422) unless `override_reason` records the clinician's decision; the override is
    kept with the plan and audited.
    """
    body: PlanIn = await run_in_threadpool(_plan_from_body, await request.body())
    plan_request = PlanRequest.model_validate(body.model_dump(exclude={"override_reason"}))
    try:
        saved: SavedPlan = await run_in_threadpool(
            plans.save_plan, store, actor, patient_id, plan_request, body.override_reason
        )
    except plans.PlanRefused as exc:
        raise InputError([exc.check.problem("start", "override_reason")]) from None
    return _plan_out(saved)


@router.get(
    "/patients/{patient_id}/response",
    response_model=AssessmentOut,
    responses={**UNAUTHORIZED, **NOT_YOURS, **BAD_INPUT},
)
def response(patient_id: PatientId, actor: ApiActor, store: StoreDep) -> AssessmentOut:
    """The response assessment as of today (status `no_plan` before a plan has started)."""
    view = patient_view(store, actor, patient_id)
    a = view.assessment
    return AssessmentOut(patient_id=patient_id, status=a.status if a else "no_plan", assessment=a)
