"""CDS Hooks tokens already used, shared by every worker process

Revision ID: 0004_cds_token_uses
Revises: 0003_hardening

- cds_token_uses: each accepted JWT's (iss, jti), hashed, until the token expires; a replay
  is refused by whichever worker it reaches, and after a restart.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_cds_token_uses"
down_revision = "0003_hardening"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "cds_token_uses",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )
    op.create_index("ix_cds_token_uses_expires_at", "cds_token_uses", ["expires_at"])


def downgrade() -> None:
    op.drop_index("ix_cds_token_uses_expires_at", table_name="cds_token_uses")
    op.drop_table("cds_token_uses")
