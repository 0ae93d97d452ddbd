"""Recording a diary day: the patient's today form, a clinician's entry, the JSON API, the demo.

The merge policy is the domain's (`ldnkit.domain.diary.add_entry`): the very same entry sent
twice changes nothing, a different second entry for a day needs the caller's `how` (else
MergeConflict carrying the stored entry, so the user decides), and `how` merges as the domain
says. The store applies it with the day locked, so concurrent entries of one day all count.
"""

from __future__ import annotations

from ldnkit.domain.diary import DiaryEntry, MergePolicy, add_entry
from ldnkit.store.records import Actor
from ldnkit.store.repository import Store


def record_entry(
    store: Store, actor: Actor, patient_id: int, entry: DiaryEntry, how: MergePolicy | None = None
) -> DiaryEntry:
    """Save a day's entry (backdating allowed) and return what the day holds now."""

    def settle(existing: DiaryEntry | None) -> DiaryEntry:
        if existing is None:
            return entry
        (settled,) = add_entry([existing], entry, how)
        return settled

    return store.save_diary_day(actor, patient_id, entry.day, settle)
