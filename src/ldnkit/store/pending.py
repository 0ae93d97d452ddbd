"""Forms posted after their browser session ended, kept until their owner signs in again.

A form is kept only for the account whose ended session it came from (its CSRF token matched
that session's), under the SHA-256 of a one-time token the browser holds; taking it back needs
the token and the same account, and removes it.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import delete, select

from ldnkit.store.database import Transactions, affected, aware, secret_hash
from ldnkit.store.models import PendingFormRow, utcnow


class PendingForms(Transactions):
    """Forms waiting for their owner to sign in again."""

    def keep_pending_form(
        self,
        account_id: int,
        token: str,
        path: str,
        fields: dict[str, list[str]],
        lifetime: dt.timedelta,
    ) -> None:
        now = utcnow()
        with self._tx() as s:
            s.add(
                PendingFormRow(
                    token_hash=secret_hash(token),
                    account_id=account_id,
                    path=path,
                    fields=fields,
                    created_at=now,
                    expires_at=now + lifetime,
                )
            )

    def take_pending_form(
        self, token: str, account_id: int
    ) -> tuple[str, dict[str, Any], dt.datetime] | None:
        """The path, fields and time of the form kept under `token` for this account (then
        forgotten), or None: no such form, another account's, or expired."""
        with self._tx() as s:
            row = s.scalar(
                select(PendingFormRow)
                .where(PendingFormRow.token_hash == secret_hash(token))
                .with_for_update()
            )
            if row is None or row.account_id != account_id:
                return None
            s.delete(row)
            if aware(row.expires_at) <= utcnow():
                return None
            return row.path, dict(row.fields), aware(row.created_at)

    def remove_expired_pending_forms(self, now: dt.datetime | None = None) -> int:
        with self._tx() as s:
            return affected(
                s.execute(
                    delete(PendingFormRow).where(PendingFormRow.expires_at <= (now or utcnow()))
                )
            )
