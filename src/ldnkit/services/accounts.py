"""Logins: creating one, setting a password, signing in and out, ending sessions.

Every path that creates a login or sets a password (the clinician's intake form, `ldnkit users
create` and `set-password`, the demo clinic) comes through here, so the rules are the same
everywhere:

- email: a well-formed address (checked by email-validator), kept in lower case;
- password: 12 to 1024 characters, not one of the common passwords in `data/`, not the email;
  kept exactly as typed, never stripped or normalised (what the person types at sign-in has to
  match it), and never echoed back in an error.

Sign-in attempts are counted in the store before the password is checked (see
`ldnkit.store.attempts`), so the limit holds for concurrent attempts, across worker processes
and across restarts.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
import secrets
from dataclasses import dataclass
from importlib import resources
from typing import Annotated, Any, Literal, TypeVar

from email_validator import EmailNotValidError, validate_email
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
)

from ldnkit.services.password_rules import MAX_PASSWORD_CHARS, MIN_PASSWORD_CHARS
from ldnkit.store.attempts import AttemptLimit
from ldnkit.store.database import secret_hash
from ldnkit.store.passwords import hash_password, verify_password
from ldnkit.store.records import Account, Actor, PatientRecord
from ldnkit.store.repository import Store, normalise_email
from ldnkit.validation import InputError, Problem, problems_from

EMAIL_MAX_CHARS = 320

# Wrong passwords one email may try before each further attempt has to wait; a client address
# gets more room, since several people may share a clinic's network address.
FREE_ATTEMPTS_PER_EMAIL = 5
FREE_ATTEMPTS_PER_ADDRESS = 30

PASSWORD_RULE = (
    f"a password of {MIN_PASSWORD_CHARS} to {MAX_PASSWORD_CHARS} characters that is not a "
    "common password and not the email (a few words together are easy to remember)"
)


@functools.cache
def common_passwords() -> frozenset[str]:
    """The common-password list (lower case), read once."""
    text = resources.files("ldnkit.services").joinpath("data/common-passwords.txt")
    return frozenset(text.read_text(encoding="utf-8").split("\n")) - {""}


# A common password with digits or punctuation added at the end ("password1234!") is still
# the common password to anyone guessing.
_TRAILING_DECORATION = re.compile(r"[\d\W_]+$")


def password_problem(password: str, email: str | None = None) -> str | None:
    """Why a new password cannot be used (words for the person choosing it), or None."""
    if not MIN_PASSWORD_CHARS <= len(password) <= MAX_PASSWORD_CHARS:
        return f"a password of {len(password)} characters"
    if "\x00" in password:
        return "a password with a NUL character"
    lowered = password.lower()
    stem = _TRAILING_DECORATION.sub("", lowered)
    common = common_passwords()
    if lowered in common or (stem != lowered and stem in common) or len(set(lowered)) == 1:
        return "a common password"
    if email and lowered in {email.lower(), email.lower().partition("@")[0]}:
        return "the email as the password"
    return None


def check_password(password: str, email: str | None = None) -> None:
    """Raise InputError (field "password", the password itself never shown) when unusable."""
    problem = password_problem(password, email)
    if problem is not None:
        raise InputError([Problem("password", problem, PASSWORD_RULE)])


def _email(value: str) -> str:
    if len(value) > EMAIL_MAX_CHARS:
        raise ValueError(f"an email address of at most {EMAIL_MAX_CHARS} characters")
    try:
        # No DNS look-up (clinics may run offline); the demo clinic's .test domain is allowed.
        checked = validate_email(value.strip(), check_deliverability=False, test_environment=True)
    except EmailNotValidError as exc:
        raise ValueError(f"an email address like name@example.org ({exc})") from None
    return normalise_email(checked.normalized)


Email = Annotated[str, AfterValidator(_email)]


class Login(BaseModel):
    """An email and a password, both checked by the rules above."""

    model_config = ConfigDict(extra="forbid")

    email: Email
    password: str

    @field_validator("password")
    @classmethod
    def _usable(cls, value: str, info: ValidationInfo) -> str:
        problem = password_problem(value, info.data.get("email"))
        if problem is not None:
            raise ValueError(problem)
        return value

    def password_hash(self) -> str:
        return hash_password(self.password)


class NewAccount(Login):
    """What `ldnkit users create` needs: a login and its role. A patient's login comes with a
    new patient record under the named clinician, or belongs to an existing record (`patient`,
    its id) made without a login. An analyst sees the clinic's outcomes in aggregate and no
    patient's record."""

    role: Literal["clinician", "patient", "analyst"]
    name: Annotated[str, Field(max_length=200)] = ""
    patient: Annotated[int, Field(ge=1, le=2**31 - 1)] | None = None
    clinician: Email | None = Field(default=None, validate_default=True)

    @field_validator("name")
    @classmethod
    def _trimmed(cls, value: str) -> str:
        return value.strip()

    @field_validator("patient")
    @classmethod
    def _patients_only(cls, value: int | None, info: ValidationInfo) -> int | None:
        if value is not None and info.data.get("role") != "patient":
            raise ValueError("no patient record for a clinician's login")
        return value

    @field_validator("clinician")
    @classmethod
    def _patient_needs_clinician(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None and info.data.get("role") == "patient" and not info.data.get("patient"):
            raise ValueError(
                "the email of the patient's clinician, or the id of their patient record"
            )
        if value is not None and info.data.get("role") == "analyst":
            raise ValueError("no clinician for an analyst (an analyst sees the whole clinic)")
        return value


M = TypeVar("M", bound=Login)


def parse_login(model: type[M], data: dict[str, Any]) -> M:
    """Validate a login form, with every problem found; a password is described, never shown."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problems = []
        for p in problems_from(exc):
            if p.field == "password":
                typed = str(data.get("password", ""))
                problem = password_problem(typed, str(data.get("email") or ""))
                p = Problem("password", problem or "an unusable password", PASSWORD_RULE)
            problems.append(p)
        raise InputError(problems) from None


def create_account(store: Store, new: NewAccount) -> Account:
    """Create the login (and for a patient, the patient record under their clinician).

    An analyst's login belongs to no clinician and no patient record."""
    name = new.name or new.email.split("@")[0]
    if new.role == "clinician":
        return store.create_clinician(new.email, new.password_hash(), name)
    if new.role == "analyst":
        return store.create_analyst(new.email, new.password_hash())
    if new.patient is not None:
        return store.attach_patient_login(None, new.patient, new.email, new.password_hash())
    assert new.clinician is not None  # checked by the model
    clinician = store.account_by_email(new.clinician)
    if clinician is None or clinician.role != "clinician":
        raise InputError.single("clinician", new.clinician, "the email of a clinician account")
    patient = add_patient(store, clinician.actor, name, {}, login=new)
    account = store.account_for_patient(patient.id)
    assert account is not None  # created in the same call
    return account


def add_patient(
    store: Store,
    clinician: Actor,
    name: str,
    profile: dict[str, Any],
    *,
    intake: dict[str, Any] | None = None,
    login: Login | None = None,
    intake_token: str | None = None,
) -> PatientRecord:
    """A patient record under the clinician, with the patient's own login when one is given.

    `intake_token` names the intake form: sent again, it raises AlreadyAdmitted (see the store).
    """
    return store.create_patient(
        clinician,
        name,
        profile,
        intake=intake,
        email=login.email if login else None,
        password_hash=login.password_hash() if login else None,
        intake_token=intake_token,
    )


def _account(store: Store, email: str) -> Account:
    account = store.account_by_email(email)
    if account is None:
        raise InputError.single("email", email, "the email of an existing account")
    return account


def set_password(store: Store, email: str, password: str) -> int:
    """Give an account a new password; every session and API token it had ends (returned)."""
    account = _account(store, email)
    check_password(password, account.email)
    return store.set_password_hash(account.id, hash_password(password))


def change_password(
    store: Store, actor: Actor, current: str, new: str, address: str, limits: SignInLimits
) -> int:
    """The signed-in person's own change: the current password is checked as a sign-in is
    (counted against the same limits), then `set_password`. Returns the sessions ended."""
    if sign_in(store, actor.email, current, address, limits) is None:
        raise InputError([Problem("current_password", "a password that is not right",
                                  "the password you sign in with now")])  # fmt: skip
    return set_password(store, actor.email, new)


def set_disabled(store: Store, email: str, disabled: bool) -> int:
    """Switch a login off (it cannot sign in; every session and token ends: returned) or on."""
    return store.set_disabled(_account(store, email).id, disabled)


# -- one-time codes: a forgotten password, or a patient's first one ------------------------

RESET_CODE_LIFETIME = dt.timedelta(hours=48)
# No 0/O or 1/I: the code is read out over the phone or copied from paper.
_CODE_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
_CODE_GROUPS = 3
_CODE_GROUP_CHARS = 4


@dataclass(frozen=True)
class OneTimeCode:
    """A code shown once to the clinician who made it (the store keeps only its hash)."""

    code: str
    expires_at: dt.datetime


def _new_code() -> str:
    groups = (
        "".join(secrets.choice(_CODE_ALPHABET) for _ in range(_CODE_GROUP_CHARS))
        for _ in range(_CODE_GROUPS)
    )
    return "-".join(groups)


def _code_key(code: str) -> str:
    """What is hashed: the code's letters and digits in capitals, however it was typed."""
    return secret_hash("reset:" + "".join(ch for ch in code.upper() if ch.isalnum()))


def issue_reset_code(store: Store, clinician: Actor, patient_id: int) -> OneTimeCode:
    """A one-time code with which the patient chooses a new password (48 hours, used once);
    any earlier code of theirs stops working. Audited."""
    code = _new_code()
    expires = store.issue_reset_code(clinician, patient_id, _code_key(code), RESET_CODE_LIFETIME)
    return OneTimeCode(code, expires)


def give_login(store: Store, clinician: Actor, patient_id: int, email: str) -> OneTimeCode:
    """A login for the clinician's patient whose record has none, and the one-time code with
    which the patient chooses its password (nobody else ever knows it)."""
    checked = parse_login(Login, {"email": email, "password": secrets.token_urlsafe(32)})
    store.attach_patient_login(clinician, patient_id, checked.email, checked.password_hash())
    return issue_reset_code(store, clinician, patient_id)


CODE_EXPECTED = (
    "the code from your clinic, as it was given (it works once, for 48 hours; ask for a new "
    "one if it has expired)"
)


def redeem_reset_code(
    store: Store, code: str, password: str, address: str, limits: SignInLimits
) -> Account:
    """Choose a new password with a one-time code; every session of the login ends.

    Guesses are counted against the client address like sign-in attempts (TooManyAttempts).
    """
    address_key = f"address:{address}"
    store.reserve_login_attempt({address_key: limits.address})
    owner = store.reset_code_account(_code_key(code)) if 0 < len(code) <= 64 else None
    if owner is None:
        raise InputError.single("code", code[:64], CODE_EXPECTED)
    store.give_back_login_attempt([address_key])
    check_password(password, owner.email)
    account = store.redeem_reset_code(_code_key(code), hash_password(password))
    if account is None:  # used or expired in the meantime
        raise InputError.single("code", code[:64], CODE_EXPECTED)
    return account


class AccountDisabled(Exception):
    """The password is right, but the login is switched off."""


def revoke(store: Store, email: str) -> int:
    """End every browser session and API token of an account; returns how many ended."""
    return store.end_sessions(_account(store, email).id)


def sign_out(store: Store, actor: Actor, token: str) -> None:
    """End this browser session and every API token of the account."""
    store.close_session(token)
    store.end_sessions(actor.account_id, ("bearer",))


@dataclass(frozen=True)
class SignInLimits:
    """How long sign-ins wait after failures: per email, and per client address."""

    email: AttemptLimit
    address: AttemptLimit

    @classmethod
    def waiting(cls, first_wait: dt.timedelta, max_wait: dt.timedelta) -> SignInLimits:
        return cls(
            AttemptLimit(FREE_ATTEMPTS_PER_EMAIL, first_wait, max_wait),
            AttemptLimit(FREE_ATTEMPTS_PER_ADDRESS, first_wait, max_wait),
        )


def sign_in(
    store: Store, email: str, password: str, address: str, limits: SignInLimits
) -> Account | None:
    """The account when the password is right, else None; every attempt is audited.

    The attempt is reserved before the password is looked at (TooManyAttempts when the email
    or the address must wait first) and given back when the password is right.
    """
    email_key = f"email:{normalise_email(email)}"
    address_key = f"address:{address}"
    store.reserve_login_attempt({email_key: limits.email, address_key: limits.address})
    account = store.account_by_email(email)
    # No stored password is longer than the maximum: a longer one is wrong without hashing it.
    fits = len(password) <= MAX_PASSWORD_CHARS
    ok = fits and verify_password(account.password_hash if account else None, password)
    if ok and account is not None and account.disabled:
        store.log_login(email, account, False, "account switched off")
        raise AccountDisabled(email)
    store.log_login(email, account, ok)
    if not ok:
        return None
    store.give_back_login_attempt([address_key], forget=[email_key])
    return account


def clean_up(store: Store, idle: dt.timedelta, limits: SignInLimits) -> int:
    """Remove ended sessions, forgotten sign-in counts and forms kept past their time;
    returns how many sessions went."""
    store.remove_quiet_login_attempts(max(limits.email.forget_after, limits.address.forget_after))
    store.remove_expired_pending_forms()
    return store.remove_ended_sessions(idle)
