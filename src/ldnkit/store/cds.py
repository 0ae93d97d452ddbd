"""What CDS Hooks keeps: the outcomes of its cards, and the tokens EHRs have already used.

Both go through the store's transactions (and SQLite's write lock) like every other write.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from sqlalchemy import insert, select

from ldnkit.store.database import Transactions, aware
from ldnkit.store.models import cds_feedback, utcnow
from ldnkit.store.records import CardOutcome


class CdsRecords(Transactions):
    """Card outcomes posted to the feedback endpoints."""

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
