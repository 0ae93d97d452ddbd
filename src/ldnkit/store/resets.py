"""One-time codes for choosing a new password: issued by a clinician for their patient, used
once, worth nothing once expired. Only the SHA-256 of a code is stored."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from ldnkit.store.access import Access, audit
from ldnkit.store.accounts import account_of, end_account_sessions
from ldnkit.store.models import AccountRow, PasswordResetRow, utcnow
from ldnkit.store.records import Account, Actor
from ldnkit.validation import InputError


class ResetCodes(Access):
    """Password reset codes."""

    def issue_reset_code(
        self, actor: Actor, patient_id: int, code_hash: str, lifetime: dt.timedelta
    ) -> dt.datetime:
        """Keep a new code for the patient's login (their clinician only); returns its expiry.

        Every earlier unused code of that login stops working: only the newest one shown counts.
        """
        with self._patient_tx(
            actor, patient_id, "write", "one-time password code issued", clinician_only=True
        ) as (s, _):
            account = s.scalar(select(AccountRow).where(AccountRow.patient_id == patient_id))
            if account is None:
                raise InputError.single(
                    "patient", patient_id, "a patient who has a login (give them one first)"
                )
            now = utcnow()
            _void_codes(s, account.id, now)
            expires = now + lifetime
            s.add(
                PasswordResetRow(
                    account_id=account.id,
                    code_hash=code_hash,
                    issued_by=actor.account_id,
                    created_at=now,
                    expires_at=expires,
                )
            )
            return expires

    def reset_code_account(self, code_hash: str) -> Account | None:
        """The login a usable code (unused, unexpired, login not switched off) belongs to."""
        with self._read() as s:
            account = s.scalar(
                select(AccountRow)
                .join(PasswordResetRow, PasswordResetRow.account_id == AccountRow.id)
                .where(
                    PasswordResetRow.code_hash == code_hash,
                    PasswordResetRow.used_at.is_(None),
                    PasswordResetRow.expires_at > utcnow(),
                    AccountRow.disabled_at.is_(None),
                )
            )
            return account_of(account) if account else None

    def redeem_reset_code(self, code_hash: str, password_hash: str) -> Account | None:
        """Set the password of the code's login, if the code is unused, unexpired and its
        login is not switched off; the code is spent and every session of the login ends.
        None when the code cannot be used (nothing changes)."""
        now = utcnow()
        with self._tx() as s:
            row = s.scalar(
                select(PasswordResetRow)
                .where(
                    PasswordResetRow.code_hash == code_hash,
                    PasswordResetRow.used_at.is_(None),
                    PasswordResetRow.expires_at > now,
                )
                .with_for_update()
            )
            if row is None:
                return None
            account = s.get(AccountRow, row.account_id)
            if account is None or account.disabled_at is not None:
                return None
            row.used_at = now
            account.password_hash = password_hash
            _void_codes(s, account.id, now)
            end_account_sessions(s, account.id, ("cookie", "bearer"))
            audit(
                s,
                account_of(account).actor,
                "write",
                account.patient_id,
                "password",
                "chosen with a one-time code",
            )
            return account_of(account)


def _void_codes(s: Session, account_id: int, now: dt.datetime) -> None:
    s.execute(
        update(PasswordResetRow)
        .where(PasswordResetRow.account_id == account_id, PasswordResetRow.used_at.is_(None))
        .values(used_at=now)
    )
