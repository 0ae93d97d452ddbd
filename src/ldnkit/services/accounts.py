"""Creating logins: a clinician, or a patient (whose account comes with their patient record)."""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from ldnkit.store.passwords import MIN_PASSWORD_LENGTH, hash_password
from ldnkit.store.records import Account
from ldnkit.store.repository import Store
from ldnkit.validation import InputError

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def _email(value: str) -> str:
    if not _EMAIL.match(value) or len(value) > 320:
        raise ValueError("an email address like name@example.org")
    return value.lower()


Email = Annotated[str, AfterValidator(_email)]


class NewAccount(BaseModel):
    """What `ldnkit users create` (and the clinician's add-patient form) needs."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    role: Literal["clinician", "patient"]
    email: Email
    password: str
    name: Annotated[str, Field(max_length=200)] = ""
    clinician: Email | None = Field(default=None, validate_default=True)

    @field_validator("password")
    @classmethod
    def _long_enough(cls, value: str) -> str:
        if not MIN_PASSWORD_LENGTH <= len(value) <= 200:
            raise ValueError(f"a password of {MIN_PASSWORD_LENGTH} to 200 characters")
        return value

    @field_validator("clinician")
    @classmethod
    def _patient_needs_clinician(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None and info.data.get("role") == "patient":
            raise ValueError("the email of the patient's clinician")
        return value


def create_account(store: Store, new: NewAccount) -> Account:
    """Create the login (and for a patient, the patient record under their clinician)."""
    name = new.name or new.email.split("@")[0]
    if new.role == "clinician":
        return store.create_clinician(new.email, hash_password(new.password), name)
    assert new.clinician is not None  # checked by the model
    clinician = store.account_by_email(new.clinician)
    if clinician is None or clinician.role != "clinician":
        raise InputError.single("clinician", new.clinician, "the email of a clinician account")
    patient = store.create_patient(
        clinician.actor, name, {}, email=new.email, password_hash=hash_password(new.password)
    )
    account = store.account_for_patient(patient.id)
    assert account is not None  # created in the same call
    return account
