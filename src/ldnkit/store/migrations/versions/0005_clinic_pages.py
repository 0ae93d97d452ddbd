"""clinic pages: one patient per intake form, archived patients

Revision ID: 0005_clinic_pages
Revises: 0004_cds_token_uses

- patients.intake_token: the token of the intake form that created the record, unique per
  clinician, so the same form posted twice (a double click, a resent request) makes one patient;
- patients.archived_at: when the record was archived (hidden from the list, kept whole).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_clinic_pages"
down_revision = "0004_cds_token_uses"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("patients", schema=None) as batch_op:
        batch_op.add_column(sa.Column("intake_token", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("archived_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_unique_constraint(
            "one_patient_per_intake_form", ["clinician_id", "intake_token"]
        )


def downgrade() -> None:
    with op.batch_alter_table("patients", schema=None) as batch_op:
        batch_op.drop_constraint("one_patient_per_intake_form", type_="unique")
        batch_op.drop_column("archived_at")
        batch_op.drop_column("intake_token")
