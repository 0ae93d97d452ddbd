"""A clinician's page for their patient's login: give a patient without one a login, or make a
one-time code with which the patient chooses a new password (shown once, used once, 48 hours)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from ldnkit.services.accounts import OneTimeCode, give_login, issue_reset_code
from ldnkit.validation import InputError
from ldnkit.web.deps import CheckedForm, ClinicianSession, StoreDep
from ldnkit.web.render import page
from ldnkit.web.words import said_by_field

router = APIRouter(prefix="/clinic", include_in_schema=False)


def _login_page(
    request: Request,
    store: StoreDep,
    session: ClinicianSession,
    patient_id: int,
    *,
    code: OneTimeCode | None = None,
    errors: dict[str, str] | None = None,
    email: str = "",
    status_code: int = 200,
) -> Response:
    record = store.patient(session.actor, patient_id)
    account = store.account_for_patient(patient_id)
    link = None
    if code is not None:
        base = request.app.state.settings.public_url or str(request.base_url).rstrip("/")
        link = f"{base}/account/reset?code={code.code}"
    context = {
        "record": record,
        "account": account,
        "code": code,
        "link": link,
        "errors": errors or {},
        "values": {"email": email},
    }
    return page(request, "patient_login.html", context, status_code=status_code)


@router.get("/patients/{patient_id}/login")
def login_page(
    request: Request, store: StoreDep, session: ClinicianSession, patient_id: int
) -> Response:
    return _login_page(request, store, session, patient_id)


@router.post("/patients/{patient_id}/login")
def make_code(
    request: Request,
    store: StoreDep,
    session: ClinicianSession,
    patient_id: int,
    form: CheckedForm,
) -> Response:
    """A one-time code for the patient's login, or a new login and its code when an email is
    given for a patient who has none."""
    email = form.get("email").strip()
    try:
        if email:
            code = give_login(store, session.actor, patient_id, email)
        else:
            code = issue_reset_code(store, session.actor, patient_id)
    except InputError as exc:
        errors = said_by_field(exc.problems)
        return _login_page(request, store, session, patient_id, errors=errors, email=email,
                           status_code=422)  # fmt: skip
    return _login_page(request, store, session, patient_id, code=code)
