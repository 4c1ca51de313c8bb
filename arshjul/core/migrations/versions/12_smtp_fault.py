"""mail configuration faults: the relay refused the configuration in use

Revision ID: i12_smtp_fault
Revises: i13_step_links
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "i12_smtp_fault"
down_revision = "i13_step_links"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "smtp_fault",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("configuration", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("message", sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False),
        sa.Column("since", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("retry_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_smtp_fault")),
        sa.UniqueConstraint("configuration", name=op.f("uq_smtp_fault_configuration")),
    )


def downgrade() -> None:
    op.drop_table("smtp_fault")
