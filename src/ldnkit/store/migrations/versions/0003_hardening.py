"""hardening: diary authors and versions, sign-in attempts, session idle time

Revision ID: 0003_hardening
Revises: 0003 (plan overrides)

- diary_entries.entered_by / entered_role: who entered the day (null for older days: unknown);
- diary_entry_versions: every version of a day that a later change replaced;
- login_attempts: sign-in attempts per email and per client address, shared by every worker;
- sessions.last_seen_at: for the idle timeout (existing sessions start from their creation).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_hardening"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("diary_entries", schema=None) as batch_op:
        batch_op.add_column(sa.Column("entered_by", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("entered_role", sa.String(length=20), nullable=True))
        batch_op.create_foreign_key(
            "fk_diary_entries_entered_by_accounts", "accounts", ["entered_by"], ["id"]
        )

    op.create_table(
        "diary_entry_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("entry", sa.JSON(), nullable=False),
        sa.Column("entered_by", sa.Integer(), nullable=True),
        sa.Column("entered_role", sa.String(length=20), nullable=True),
        sa.Column("entered_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("replaced_by", sa.Integer(), nullable=True),
        sa.Column("replaced_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["patient_id"], ["patients.id"]),
        sa.ForeignKeyConstraint(["entered_by"], ["accounts.id"]),
        sa.ForeignKeyConstraint(["replaced_by"], ["accounts.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "diary_entry_versions_patient_day", "diary_entry_versions", ["patient_id", "day"]
    )

    op.create_table(
        "login_attempts",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("last_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )

    with op.batch_alter_table("sessions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=True))
    op.execute("UPDATE sessions SET last_seen_at = created_at")
    with op.batch_alter_table("sessions", schema=None) as batch_op:
        batch_op.alter_column("last_seen_at", existing_type=sa.DateTime(timezone=True),
                              nullable=False)  # fmt: skip


def downgrade() -> None:
    with op.batch_alter_table("sessions", schema=None) as batch_op:
        batch_op.drop_column("last_seen_at")
    op.drop_table("login_attempts")
    op.drop_index("diary_entry_versions_patient_day", table_name="diary_entry_versions")
    op.drop_table("diary_entry_versions")
    with op.batch_alter_table("diary_entries", schema=None) as batch_op:
        batch_op.drop_constraint("fk_diary_entries_entered_by_accounts", type_="foreignkey")
        batch_op.drop_column("entered_role")
        batch_op.drop_column("entered_by")
