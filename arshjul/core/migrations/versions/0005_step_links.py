"""signed links: the step's state version and document reference, each person's link
generation (revoking), refused link attempts per client address

Revision ID: i13_step_links
Revises: 0004
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "i13_step_links"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("step_instance", schema=None) as batch_op:
        batch_op.add_column(sa.Column("state_version", sa.Integer(), nullable=False, server_default="0"))
        batch_op.add_column(
            sa.Column("document_reference", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=True)
        )
    op.create_table(
        "link_holder",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organisation", sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
        sa.Column("person_key", sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
        sa.Column("generation", sa.Integer(), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_link_holder")),
        sa.UniqueConstraint("organisation", "person_key", name=op.f("uq_link_holder_organisation_person_key")),
    )
    op.create_table(
        "link_failure",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("client", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_link_failure")),
    )
    op.create_index("ix_link_failure_client_at", "link_failure", ["client", "at"])


def downgrade() -> None:
    op.drop_index("ix_link_failure_client_at", table_name="link_failure")
    op.drop_table("link_failure")
    op.drop_table("link_holder")
    with op.batch_alter_table("step_instance", schema=None) as batch_op:
        batch_op.drop_column("document_reference")
        batch_op.drop_column("state_version")
