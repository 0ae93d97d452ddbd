"""clinic pages: one patient per intake form, archived patients

Revision ID: 0007_clinic_pages
Revises: 0006_accounts_diary

- patients.intake_token: the token of the intake form that created the record, unique per
  clinician (a unique index), so the same form posted twice (a double click, a resent
  request) makes one patient;
- patients.archived_at: when the record was archived (hidden from the list, kept whole).

Columns are added in place (no table copy): other tables refer to patients, and SQLite's
batch mode would have to drop the table they point to.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007_clinic_pages"
down_revision = "0006_accounts_diary"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("patients", sa.Column("intake_token", sa.String(length=64), nullable=True))
    op.add_column("patients", sa.Column("archived_at", sa.DateTime(timezone=True), nullable=True))
    op.create_index(
        "one_patient_per_intake_form", "patients", ["clinician_id", "intake_token"], unique=True
    )


def downgrade() -> None:
    op.drop_index("one_patient_per_intake_form", table_name="patients")
    op.drop_column("patients", "archived_at")
    op.drop_column("patients", "intake_token")
