"""Courses of LDN: dispenses, a clinician's stop, and analyst logins

Revision ID: 0005_courses
Revises: 0004_cds_token_uses

- dispenses: LDN handed to a patient for a plan (day, days' supply); marked entered in error,
  never deleted;
- ldn_stops: a clinician's stop of LDN (day, reason, note), one per plan;
- accounts: a third role, analyst, linked to neither a clinician nor a patient (the role check
  changed in place: on SQLite, copying the accounts table would lose its sessions).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_courses"
down_revision = "0004_cds_token_uses"
branch_labels = None
depends_on = None

_CLINICIAN_OR_PATIENT = (
    "(role = 'clinician' AND clinician_id IS NOT NULL AND patient_id IS NULL) OR "
    "(role = 'patient' AND patient_id IS NOT NULL AND clinician_id IS NULL)"
)
_WITH_ANALYST = (
    _CLINICIAN_OR_PATIENT + " OR (role = 'analyst' AND clinician_id IS NULL AND patient_id IS NULL)"
)


def upgrade() -> None:
    op.create_table(
        "dispenses",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("plan_id", sa.Integer(), nullable=False),
        sa.Column("dispensed_on", sa.Date(), nullable=False),
        sa.Column("days_supply", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("recorded_by", sa.Integer(), nullable=True),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("corrected_by", sa.Integer(), nullable=True),
        sa.Column("corrected_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("days_supply >= 1", name="dispense_days_supply"),
        sa.CheckConstraint("status IN ('completed', 'entered-in-error')", name="dispense_status"),
        sa.ForeignKeyConstraint(["patient_id"], ["patients.id"]),
        sa.ForeignKeyConstraint(["plan_id"], ["plans.id"]),
        sa.ForeignKeyConstraint(["recorded_by"], ["accounts.id"]),
        sa.ForeignKeyConstraint(["corrected_by"], ["accounts.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("dispenses_patient_day", "dispenses", ["patient_id", "dispensed_on"])
    op.create_table(
        "ldn_stops",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("plan_id", sa.Integer(), nullable=False),
        sa.Column("stopped_on", sa.Date(), nullable=False),
        sa.Column("reason", sa.String(length=20), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("recorded_by", sa.Integer(), nullable=True),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "reason IN ('side_effects', 'no_benefit', 'cost', 'patient_choice', 'other')",
            name="ldn_stop_reason",
        ),
        sa.ForeignKeyConstraint(["patient_id"], ["patients.id"]),
        sa.ForeignKeyConstraint(["plan_id"], ["plans.id"]),
        sa.ForeignKeyConstraint(["recorded_by"], ["accounts.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("plan_id", name="one_stop_per_plan"),
    )
    op.create_index("ix_ldn_stops_patient_id", "ldn_stops", ["patient_id"])
    _role_link(_CLINICIAN_OR_PATIENT, _WITH_ANALYST)


def downgrade() -> None:
    analysts = (
        op.get_bind()
        .execute(sa.text("SELECT count(*) FROM accounts WHERE role = 'analyst'"))
        .scalar()
    )
    if analysts:
        # Their audit entries point at them: the accounts cannot be dropped without losing who
        # read what, and the older schema has no place for them.
        raise RuntimeError(
            f"{analysts} analyst account(s) exist; the schema before 0005_courses cannot hold "
            "them. Keep this revision, or restore a backup from before it."
        )
    _role_link(_WITH_ANALYST, _CLINICIAN_OR_PATIENT)
    op.drop_index("ix_ldn_stops_patient_id", table_name="ldn_stops")
    op.drop_table("ldn_stops")
    op.drop_index("dispenses_patient_day", table_name="dispenses")
    op.drop_table("dispenses")


def _role_link(old: str, new: str) -> None:
    """Replace the accounts' role check `old` by `new` (every existing row satisfies `new`)."""
    bind = op.get_bind()
    if bind.dialect.name != "sqlite":
        op.drop_constraint("account_role_link", "accounts", type_="check")
        op.create_check_constraint("account_role_link", "accounts", new)
        return
    # SQLite cannot alter a constraint, and copying the table (batch mode) would drop the old
    # one with foreign keys on: its sessions deleted by cascade, its audit trail refused. A
    # check constraint lives only in the table's CREATE text, so it is changed there, by the
    # procedure SQLite documents for changing CHECK constraints (ALTER TABLE, section 7).
    sql = bind.exec_driver_sql(
        "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'accounts'"
    ).scalar_one()
    written = f"CONSTRAINT account_role_link CHECK ({old})"
    if written not in sql:
        raise RuntimeError("the accounts table does not have the role check this revision expects")
    version = bind.exec_driver_sql("PRAGMA schema_version").scalar_one()
    bind.exec_driver_sql("PRAGMA writable_schema = ON")
    bind.exec_driver_sql(
        "UPDATE sqlite_master SET sql = ? WHERE type = 'table' AND name = 'accounts'",
        (sql.replace(written, f"CONSTRAINT account_role_link CHECK ({new})"),),
    )
    bind.exec_driver_sql(f"PRAGMA schema_version = {int(version) + 1}")
    bind.exec_driver_sql("PRAGMA writable_schema = OFF")
