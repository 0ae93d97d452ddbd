"""A patient's record downloaded (diary CSV, FHIR record, visit brief): one audit line each,
beside the audited reads that made it, so the trail says what left the app and for whom."""

from __future__ import annotations

from ldnkit.store.access import Access
from ldnkit.store.records import Actor


class Downloads(Access):
    def record_download(self, actor: Actor, patient_id: int, what: str) -> None:
        with self._patient_tx(actor, patient_id, "read", f"download: {what}"):
            pass
