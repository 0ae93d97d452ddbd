"""The repository: every read and write of clinic data, scoped to the actor and audited.

Nothing outside `ldnkit.store` sees SQLAlchemy. `Store` is one facade over the parts, one
concept each, sharing one engine and one write lock:

- `access`: the access check and audit entry of every patient record read or write;
- `accounts`: logins, sessions and API tokens, sign-in attempts;
- `clinic`: patients, screenings, plans, questionnaires, visit notes;
- `courses`: dispenses and stops of LDN, and whole courses for outcomes and exports;
- `diary`: diary days and their versions;
- `resets`, `pending`, `reminders`, `downloads`: one-time password codes, forms kept across
  an ended session, the patients' check-in reminder feeds, the audit line of a download;
- `cds`: what CDS Hooks keeps (card outcomes, tokens already used).

Each public method is one transaction.
"""

from __future__ import annotations

from ldnkit.store import migrate
from ldnkit.store.access import Forbidden, NotFound
from ldnkit.store.accounts import Accounts, normalise_email
from ldnkit.store.cds import CdsRecords
from ldnkit.store.clinic import AlreadyAdmitted, Clinic
from ldnkit.store.courses import Courses
from ldnkit.store.database import is_sqlite, make_engine
from ldnkit.store.diary import Diary
from ldnkit.store.downloads import Downloads
from ldnkit.store.pending import PendingForms
from ldnkit.store.records import Account, Actor, PatientRecord
from ldnkit.store.reminders import ReminderFeeds
from ldnkit.store.resets import ResetCodes


class Store(
    Accounts,
    Clinic,
    Courses,
    Diary,
    CdsRecords,
    ResetCodes,
    PendingForms,
    ReminderFeeds,
    Downloads,
):
    """The clinic's records behind one engine (SQLite file or PostgreSQL server)."""

    @classmethod
    def open(cls, url: str) -> Store:
        if is_sqlite(url):
            return cls(make_engine(url), make_engine(url, immediate=False))
        return cls(make_engine(url))

    def upgrade(self) -> None:
        """Apply every pending migration."""
        migrate.upgrade(self.engine)


__all__ = [
    "Account",
    "Actor",
    "AlreadyAdmitted",
    "Forbidden",
    "NotFound",
    "PatientRecord",
    "Store",
    "normalise_email",
]
