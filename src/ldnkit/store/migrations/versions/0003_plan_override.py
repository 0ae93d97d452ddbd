"""Plans keep the safety screen they were checked against and any override of it

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_SCREEN_AND_OVERRIDE = (
    "screen_verdict",
    "screen_earliest_start",
    "screened_on",
    "screen_findings",
    "override_reason",
    "override_by",
    "override_at",
)


def upgrade() -> None:
    # Batch mode: SQLite adds a foreign key and a check constraint by copying the table.
    with op.batch_alter_table("plans", schema=None) as batch_op:
        batch_op.add_column(sa.Column("screen_verdict", sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column("screen_earliest_start", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("screened_on", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("screen_findings", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("override_reason", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("override_by", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("override_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_foreign_key(
            "fk_plans_override_by_accounts", "accounts", ["override_by"], ["id"]
        )
        batch_op.create_check_constraint(
            "plan_override_complete",
            "(override_reason IS NULL AND override_at IS NULL) OR "
            "(override_reason IS NOT NULL AND override_at IS NOT NULL)",
        )


def downgrade() -> None:
    with op.batch_alter_table("plans", schema=None) as batch_op:
        batch_op.drop_constraint("plan_override_complete", type_="check")
        batch_op.drop_constraint("fk_plans_override_by_accounts", type_="foreignkey")
        for column in reversed(_SCREEN_AND_OVERRIDE):
            batch_op.drop_column(column)
