"""audit origin: where an action came from beyond its source (the OS user of a CLI
command, the operator who acted in the Prefect form, a link's token id and client)

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A plain ADD COLUMN on both backends: the audit table is never rebuilt (its
    # append-only triggers stay where they are).
    op.add_column("audit_entry", sa.Column("origin", sa.JSON(), nullable=True))


def downgrade() -> None:
    op.drop_column("audit_entry", "origin")
