"""Password hashing with argon2id (argon2-cffi's recommended parameters)."""

from __future__ import annotations

from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()


@cache
def _dummy_hash() -> str:
    """The hash checked when the email is unknown (same cost, so timing hides which exist).

    Made on first use, not at import: hashing costs a quarter of a second, which every command
    line call would otherwise pay.
    """
    return _hasher.hash("ldnkit-no-such-account")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """True when `password` matches; an unknown account (None) still spends the hashing time."""
    try:
        matched = _hasher.verify(password_hash or _dummy_hash(), password)
        return matched and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False
