"""CDS Hooks card feedback

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "cds_feedback",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("service_id", sa.String(length=100), nullable=False),
        sa.Column("card_uuid", sa.String(length=100), nullable=False),
        sa.Column("outcome", sa.String(length=20), nullable=False),
        sa.Column("accepted_suggestions", sa.Text(), nullable=False),
        sa.Column("override_reason", sa.Text(), nullable=True),
        sa.Column("outcome_timestamp", sa.DateTime(timezone=True), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("client", sa.String(length=500), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_cds_feedback_service_id", "cds_feedback", ["service_id"])
    op.create_index("ix_cds_feedback_card_uuid", "cds_feedback", ["card_uuid"])


def downgrade() -> None:
    op.drop_index("ix_cds_feedback_card_uuid", table_name="cds_feedback")
    op.drop_index("ix_cds_feedback_service_id", table_name="cds_feedback")
    op.drop_table("cds_feedback")
