"""Card feedback as the store keeps it: what clinicians accepted or overrode, for later review.

The EHR's feedback items (CDS Hooks wire format) become `CardOutcome` records; the store keeps
them in its `cds_feedback` table, one row per item, each POST whole or not at all.
"""

from __future__ import annotations

from collections.abc import Iterable

from ldnkit.cdshooks.models import FeedbackItem
from ldnkit.store.records import CardOutcome


def card_outcomes(
    service_id: str, items: Iterable[FeedbackItem], client: str | None
) -> list[CardOutcome]:
    """The feedback items of one POST to `service_id`, from `client` (the JWT issuer)."""
    return [
        CardOutcome(
            service_id=service_id,
            card_uuid=item.card,
            outcome=item.outcome,
            accepted_suggestions=tuple(s.id for s in item.acceptedSuggestions or ()),
            override_reason=(
                item.overrideReason.model_dump(mode="json", exclude_none=True)
                if item.overrideReason
                else None
            ),
            outcome_timestamp=item.outcomeTimestamp,
            client=client,
        )
        for item in items
    ]
