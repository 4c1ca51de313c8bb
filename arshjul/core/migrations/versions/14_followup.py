"""follow-up of goals: each cycle's goal structure, the statuses per period and item, the
analyses per period and unit

Revision ID: i14_followup
Revises: i13_step_links
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "i14_followup"
down_revision = "i12_smtp_fault"
branch_labels = None
depends_on = None


def _key_columns() -> list[sa.Column]:
    return [
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organisation", sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("mode", sa.String(length=12), nullable=False),
    ]


def upgrade() -> None:
    op.create_table(
        "goal_plan",
        *_key_columns(),
        sa.Column("digest", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("structure", sa.JSON(), nullable=False),
        sa.Column("stored_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_goal_plan")),
        sa.UniqueConstraint("organisation", "year", "mode", name=op.f("uq_goal_plan_organisation_year_mode")),
    )
    op.create_table(
        "goal_status",
        *_key_columns(),
        sa.Column("period", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("item_key", sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("comment", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("value", sa.Float(), nullable=True),
        sa.Column("reported_by", sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
        sa.Column("reported_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("source", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_goal_status")),
        sa.UniqueConstraint(
            "organisation",
            "year",
            "mode",
            "period",
            "item_key",
            name=op.f("uq_goal_status_organisation_year_mode_period_item_key"),
        ),
    )
    op.create_table(
        "followup_analysis",
        *_key_columns(),
        sa.Column("period", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("target", sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
        sa.Column("text", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("reported_by", sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
        sa.Column("reported_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("source", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_followup_analysis")),
        sa.UniqueConstraint(
            "organisation",
            "year",
            "mode",
            "period",
            "target",
            name=op.f("uq_followup_analysis_organisation_year_mode_period_target"),
        ),
    )


def downgrade() -> None:
    op.drop_table("followup_analysis")
    op.drop_table("goal_status")
    op.drop_table("goal_plan")
