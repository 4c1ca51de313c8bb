"""cycle identity: part of the flow runs' idempotency keys

Revision ID: 0002
Revises: 0001
"""

import uuid

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("cycle", schema=None) as batch_op:
        batch_op.add_column(sa.Column("identity", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True))
    cycle = sa.table("cycle", sa.column("id", sa.Integer), sa.column("identity", sa.String))
    connection = op.get_bind()
    for (cycle_id,) in connection.execute(sa.select(cycle.c.id)).all():
        connection.execute(cycle.update().where(cycle.c.id == cycle_id).values(identity=uuid.uuid4().hex))
    with op.batch_alter_table("cycle", schema=None) as batch_op:
        batch_op.alter_column("identity", existing_type=sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False)


def downgrade() -> None:
    with op.batch_alter_table("cycle", schema=None) as batch_op:
        batch_op.drop_column("identity")
