"""What CDS Hooks keeps: the outcomes of its cards, and the tokens EHRs have already used.

Both go through the store's transactions (and SQLite's write lock) like every other write.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Sequence
from functools import cache
from typing import Any, cast

from sqlalchemy import Table, bindparam, delete, insert, select
from sqlalchemy.orm import Session

from ldnkit.store.database import Transactions, affected, aware, dialect_insert, secret_hash
from ldnkit.store.models import CdsTokenUseRow, cds_feedback, utcnow
from ldnkit.store.records import CardOutcome

# How often one process sweeps out tokens past their expiry, as part of a claim: tokens live
# five minutes, so the table stays at about the tokens of the last few minutes.
TOKEN_SWEEP_SECONDS = 60.0


@cache
def _claim_statement(dialect: str) -> Any:
    """INSERT a claim; on a key already there, take it over only when that claim has expired."""
    table = cast(Table, CdsTokenUseRow.__table__)
    claim = dialect_insert(dialect, table).values(
        key=bindparam("key"), expires_at=bindparam("keep_until")
    )
    claim = claim.on_conflict_do_update(
        index_elements=["key"],
        set_={"expires_at": claim.excluded.expires_at},
        where=table.c.expires_at <= bindparam("now", type_=table.c.expires_at.type),
    )
    return claim.returning(table.c.key)


def _remove_expired(s: Session, now: dt.datetime) -> int:
    return affected(s.execute(delete(CdsTokenUseRow).where(CdsTokenUseRow.expires_at <= now)))


class CdsRecords(Transactions):
    """Card outcomes posted to the feedback endpoints, and the tokens EHRs have used."""

    _next_token_sweep = 0.0  # monotonic seconds; per store, so per worker process

    def first_token_use(
        self, iss: str, jti: str, keep_until: dt.datetime, now: dt.datetime | None = None
    ) -> bool:
        """Claim a token's (iss, jti) until `keep_until`; False when it is claimed already.

        One statement decides, atomically, whichever worker process runs it: an INSERT that on
        a key already there takes it over only when that claim has expired. Two workers given
        the same token at the same moment get True once and False once.
        """
        now = now or utcnow()
        key = secret_hash(json.dumps([iss, jti]))
        # One statement, built once, on its own: this runs once per CDS call.
        values = {"key": key, "keep_until": keep_until, "now": now}
        # RETURNING names the row only when this statement inserted or took it over.
        claimed = bool(self._write_alone(_claim_statement(self.engine.dialect.name), values))
        if time.monotonic() >= self._next_token_sweep:
            self._next_token_sweep = time.monotonic() + TOKEN_SWEEP_SECONDS
            self.remove_expired_token_uses(now)
        return claimed

    def remove_expired_token_uses(self, now: dt.datetime | None = None) -> int:
        """Forget tokens past their expiry (they are refused as expired anyway)."""
        with self._tx() as s:
            return _remove_expired(s, now or utcnow())

    def record_card_outcomes(self, outcomes: Sequence[CardOutcome]) -> int:
        """Keep one feedback POST's outcomes, all of them or none; returns how many."""
        received = utcnow()
        rows = [
            {
                "service_id": o.service_id,
                "card_uuid": o.card_uuid,
                "outcome": o.outcome,
                "accepted_suggestions": json.dumps(list(o.accepted_suggestions)),
                "override_reason": (
                    None if o.override_reason is None else json.dumps(o.override_reason)
                ),
                "outcome_timestamp": o.outcome_timestamp,
                "received_at": received,
                "client": o.client,
            }
            for o in outcomes
        ]
        if rows:
            with self._tx() as s:
                s.execute(insert(cds_feedback), rows)
        return len(rows)

    def card_outcomes(self, service_id: str | None = None) -> list[CardOutcome]:
        """Stored outcomes in the order received, for one service or all."""
        query = select(cds_feedback).order_by(cds_feedback.c.id)
        if service_id is not None:
            query = query.where(cds_feedback.c.service_id == service_id)
        with self._read() as s:
            rows = s.execute(query).mappings().all()
        return [
            CardOutcome(
                service_id=row["service_id"],
                card_uuid=row["card_uuid"],
                outcome=row["outcome"],
                accepted_suggestions=tuple(json.loads(row["accepted_suggestions"])),
                override_reason=(
                    None if row["override_reason"] is None else json.loads(row["override_reason"])
                ),
                outcome_timestamp=aware(row["outcome_timestamp"]),
                client=row["client"],
            )
            for row in rows
        ]
