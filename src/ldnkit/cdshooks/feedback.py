"""Stored outcomes of CDS cards: what clinicians accepted or overrode, for later review.

One row per feedback item, in the `cds_feedback` table of the database named by
LDNKIT_DATABASE_URL; the store's migrations create it.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, insert, select

from ldnkit.cdshooks.models import FeedbackItem
from ldnkit.store.database import make_engine
from ldnkit.store.migrate import upgrade
from ldnkit.store.models import cds_feedback


@dataclass(frozen=True)
class StoredOutcome:
    service_id: str
    card_uuid: str
    outcome: str
    accepted_suggestions: tuple[str, ...]
    override_reason: dict[str, Any] | None
    outcome_timestamp: dt.datetime
    client: str | None


class FeedbackStore:
    """Writes and reads card outcomes; each POST is stored whole or not at all."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        # The table comes with the store's migrations, so the service also runs on its own.
        upgrade(engine)

    @classmethod
    def from_url(cls, url: str) -> FeedbackStore:
        return cls(make_engine(url))

    def record(self, service_id: str, items: Iterable[FeedbackItem], client: str | None) -> int:
        now = dt.datetime.now(dt.UTC)
        rows = [
            {
                "service_id": service_id,
                "card_uuid": item.card,
                "outcome": item.outcome,
                "accepted_suggestions": json.dumps([s.id for s in item.acceptedSuggestions or ()]),
                "override_reason": (
                    json.dumps(item.overrideReason.model_dump(mode="json", exclude_none=True))
                    if item.overrideReason
                    else None
                ),
                "outcome_timestamp": item.outcomeTimestamp,
                "received_at": now,
                "client": client,
            }
            for item in items
        ]
        with self._engine.begin() as connection:
            connection.execute(insert(cds_feedback), rows)
        return len(rows)

    def outcomes(self, service_id: str | None = None) -> list[StoredOutcome]:
        """Stored outcomes in the order received, for one service or all."""
        query = select(cds_feedback).order_by(cds_feedback.c.id)
        if service_id is not None:
            query = query.where(cds_feedback.c.service_id == service_id)
        with self._engine.connect() as connection:
            rows = connection.execute(query).mappings().all()
        return [
            StoredOutcome(
                service_id=row["service_id"],
                card_uuid=row["card_uuid"],
                outcome=row["outcome"],
                accepted_suggestions=tuple(json.loads(row["accepted_suggestions"])),
                override_reason=(
                    json.loads(row["override_reason"]) if row["override_reason"] else None
                ),
                outcome_timestamp=_utc(row["outcome_timestamp"]),
                client=row["client"],
            )
            for row in rows
        ]


def _utc(value: dt.datetime) -> dt.datetime:
    # SQLite hands back naive datetimes; they were written in UTC.
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)
