"""Screening a patient and keeping the result: at intake, after a corrected profile, on request.

The clinician's intake and edit pages, the "screen again" button and the demo clinic all come
through here, so a saved screening is always the domain's screen of the profile saved with it,
stamped with the knowledge-base version that made it.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import ValidationError

from ldnkit.domain.profile import PatientProfile
from ldnkit.domain.screening import screen
from ldnkit.knowledge import knowledge_base
from ldnkit.services.accounts import Login, add_patient
from ldnkit.store.records import Actor, PatientRecord, SavedScreening
from ldnkit.store.repository import AlreadyAdmitted, Store
from ldnkit.validation import input_error


def current_profile(
    store: Store, actor: Actor, patient_id: int, today: dt.date | None = None
) -> PatientProfile:
    """The patient's saved profile, as of today: what is known about them now."""
    record = store.patient(actor, patient_id)
    day = today or dt.date.today()
    try:
        return PatientProfile.model_validate({**record.profile, "as_of": day.isoformat()})
    except ValidationError as exc:
        raise input_error(exc) from None


def screen_and_save(
    store: Store, actor: Actor, patient_id: int, profile: PatientProfile
) -> SavedScreening:
    """Screen the profile and keep the result with the knowledge-base version it was made with."""
    return store.save_screening(
        actor,
        patient_id,
        profile.model_dump(mode="json"),
        screen(profile).model_dump(mode="json"),
        knowledge_base().version,
    )


def admit(
    store: Store,
    clinician: Actor,
    name: str,
    profile: PatientProfile,
    *,
    intake: dict[str, Any] | None = None,
    login: Login | None = None,
    intake_token: str | None = None,
) -> tuple[PatientRecord, SavedScreening]:
    """A new patient (with their own login when one is given), screened at once.

    An intake form sent twice (`intake_token` seen before) adds nobody: the patient the form
    created first is returned with their screening.
    """
    try:
        record = add_patient(
            store,
            clinician,
            name,
            profile.model_dump(mode="json"),
            intake=intake,
            login=login,
            intake_token=intake_token,
        )
    except AlreadyAdmitted as exc:
        earlier = store.screenings(clinician, exc.record.id)
        if earlier:
            return exc.record, earlier[0]
        record = exc.record  # created, but its screening was never saved: screen it now
    return record, screen_and_save(store, clinician, record.id, profile)


def correct(
    store: Store,
    actor: Actor,
    patient_id: int,
    name: str,
    profile: PatientProfile,
    *,
    intake: dict[str, Any] | None = None,
) -> SavedScreening:
    """Save a corrected name and profile (and intake scores, when given), then screen again."""
    store.update_patient(
        actor, patient_id, name=name, profile=profile.model_dump(mode="json"), intake=intake
    )
    return screen_and_save(store, actor, patient_id, profile)


def rescreen(
    store: Store, actor: Actor, patient_id: int, today: dt.date | None = None
) -> SavedScreening:
    """Screen the saved profile again as of today (the knowledge base may have changed)."""
    return screen_and_save(
        store, actor, patient_id, current_profile(store, actor, patient_id, today)
    )
