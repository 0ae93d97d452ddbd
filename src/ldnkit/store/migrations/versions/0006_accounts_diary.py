"""Accounts that last and a diary that can be corrected

Revision ID: 0006_accounts_diary
Revises: 0005_courses

- accounts.disabled_at: an account switched off (`ldnkit users disable`) cannot sign in;
- password_resets: one-time codes for choosing a new password (only their hash kept);
- pending_forms: a diary form posted after its session ended, saved once its owner signs in;
- diary_entry_versions.change: "deleted" when a version was kept because its day was deleted;
- reminder_feeds: each patient's calendar feed of check-in reminders (secret URL, hashed).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006_accounts_diary"
down_revision = "0005_courses"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("accounts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("disabled_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("diary_entry_versions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("change", sa.String(length=10), nullable=True))

    op.create_table(
        "password_resets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("issued_by", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["issued_by"], ["accounts.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("code_hash"),
    )
    op.create_index(
        "ix_password_resets_account_id", "password_resets", ["account_id"], unique=False
    )

    op.create_table(
        "pending_forms",
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("path", sa.String(length=200), nullable=False),
        sa.Column("fields", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("token_hash"),
    )
    op.create_index("ix_pending_forms_account_id", "pending_forms", ["account_id"], unique=False)

    op.create_table(
        "reminder_feeds",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("secret_hash", sa.String(length=64), nullable=False),
        sa.Column("remind_at", sa.Time(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["created_by"], ["accounts.id"]),
        sa.ForeignKeyConstraint(["patient_id"], ["patients.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("secret_hash"),
    )
    op.create_index("ix_reminder_feeds_patient_id", "reminder_feeds", ["patient_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_reminder_feeds_patient_id", table_name="reminder_feeds")
    op.drop_table("reminder_feeds")
    op.drop_index("ix_pending_forms_account_id", table_name="pending_forms")
    op.drop_table("pending_forms")
    op.drop_index("ix_password_resets_account_id", table_name="password_resets")
    op.drop_table("password_resets")
    _drop_plain_column("diary_entry_versions", "change")
    _drop_plain_column("accounts", "disabled_at")


def _drop_plain_column(table: str, column: str) -> None:
    """Drop a column with no index or constraint of its own. SQLite (3.35 and newer) drops it in
    place: batch mode would copy the table, and dropping the old copy of `accounts` is refused
    with foreign keys on while sessions and audit entries point at it."""
    if op.get_bind().dialect.name == "sqlite":
        op.execute(f'ALTER TABLE "{table}" DROP COLUMN "{column}"')
    else:
        op.drop_column(table, column)
