"""initial schema

Revision ID: 0001
Revises: 
"""

from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('absence',
    sa.Column('organisation', sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
    sa.Column('person_key', sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
    sa.Column('start', sa.Date(), nullable=False),
    sa.Column('end', sa.Date(), nullable=False),
    sa.Column('note', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
    sa.Column('source', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_absence'))
    )
    with op.batch_alter_table('absence', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_absence_person_key'), ['person_key'], unique=False)

    op.create_table('audit_entry',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('actor', sqlmodel.sql.sqltypes.AutoString(length=254), nullable=False),
    sa.Column('actor_role', sqlmodel.sql.sqltypes.AutoString(length=80), nullable=True),
    sa.Column('source', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('action', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('cycle_id', sa.Integer(), nullable=True),
    sa.Column('instance_id', sa.Integer(), nullable=True),
    sa.Column('before', sa.JSON(), nullable=True),
    sa.Column('after', sa.JSON(), nullable=True),
    sa.Column('comment', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('flow_run_id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=True),
    sa.Column('prev_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_entry')),
    sa.UniqueConstraint('hash', name=op.f('uq_audit_entry_hash'))
    )
    with op.batch_alter_table('audit_entry', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_entry_action'), ['action'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_entry_at'), ['at'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_entry_cycle_id'), ['cycle_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_entry_instance_id'), ['instance_id'], unique=False)

    op.create_table('cycle',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('organisation', sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('mode', sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
    sa.Column('definition_digest', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_cycle')),
    sa.UniqueConstraint('organisation', 'year', 'mode', name=op.f('uq_cycle_organisation_year_mode'))
    )
    op.create_table('person',
    sa.Column('organisation', sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
    sa.Column('key', sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
    sa.Column('email', sqlmodel.sql.sqltypes.AutoString(length=254), nullable=False),
    sa.Column('title', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
    sa.Column('reports_to', sqlmodel.sql.sqltypes.AutoString(length=80), nullable=True),
    sa.Column('standin', sqlmodel.sql.sqltypes.AutoString(length=80), nullable=True),
    sa.Column('digest', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_person')),
    sa.UniqueConstraint('organisation', 'key', name=op.f('uq_person_organisation_key'))
    )
    with op.batch_alter_table('person', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_person_email'), ['email'], unique=False)
        batch_op.create_index(batch_op.f('ix_person_organisation'), ['organisation'], unique=False)

    op.create_table('unit',
    sa.Column('organisation', sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
    sa.Column('key', sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
    sa.Column('level', sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
    sa.Column('parent_key', sqlmodel.sql.sqltypes.AutoString(length=80), nullable=True),
    sa.Column('manager_key', sqlmodel.sql.sqltypes.AutoString(length=80), nullable=True),
    sa.Column('is_body', sa.Boolean(), nullable=False),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_unit')),
    sa.UniqueConstraint('organisation', 'key', name=op.f('uq_unit_organisation_key'))
    )
    with op.batch_alter_table('unit', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_unit_organisation'), ['organisation'], unique=False)

    op.create_table('step_instance',
    sa.Column('key', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
    sa.Column('step', sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
    sa.Column('period', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=True),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('process', sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
    sa.Column('level', sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
    sa.Column('unit', sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
    sa.Column('unit_name', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
    sa.Column('owner_role', sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
    sa.Column('owner', sqlmodel.sql.sqltypes.AutoString(length=80), nullable=True),
    sa.Column('decided_by', sqlmodel.sql.sqltypes.AutoString(length=80), nullable=True),
    sa.Column('decided_by_kind', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=True),
    sa.Column('decider', sqlmodel.sql.sqltypes.AutoString(length=80), nullable=True),
    sa.Column('meeting', sa.Date(), nullable=True),
    sa.Column('opens', sa.Date(), nullable=False),
    sa.Column('due', sa.Date(), nullable=False),
    sa.Column('nominal_due', sa.Date(), nullable=True),
    sa.Column('reminders', sa.JSON(), nullable=False),
    sa.Column('escalation', sa.JSON(), nullable=False),
    sa.Column('description', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('uid', sqlmodel.sql.sqltypes.AutoString(length=400), nullable=False),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('cycle_id', sa.Integer(), nullable=False),
    sa.Column('opens_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('state', sa.String(length=20), nullable=False),
    sa.Column('sequence', sa.Integer(), nullable=False),
    sa.Column('input_round', sa.Integer(), nullable=False),
    sa.Column('submitted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('submitted_by', sqlmodel.sql.sqltypes.AutoString(length=80), nullable=True),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('decided_by_person', sqlmodel.sql.sqltypes.AutoString(length=80), nullable=True),
    sa.Column('diarienummer', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
    sa.Column('last_comment', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('flow_run_id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['cycle_id'], ['cycle.id'], name=op.f('fk_step_instance_cycle_id_cycle')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_step_instance')),
    sa.UniqueConstraint('cycle_id', 'key', name=op.f('uq_step_instance_cycle_id_key'))
    )
    with op.batch_alter_table('step_instance', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_step_instance_cycle_id'), ['cycle_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_step_instance_due'), ['due'], unique=False)
        batch_op.create_index(batch_op.f('ix_step_instance_flow_run_id'), ['flow_run_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_step_instance_owner'), ['owner'], unique=False)
        batch_op.create_index('ix_step_instance_state_due', ['state', 'due'], unique=False)
        batch_op.create_index(batch_op.f('ix_step_instance_step'), ['step'], unique=False)
        batch_op.create_index(batch_op.f('ix_step_instance_unit'), ['unit'], unique=False)

    op.create_table('outbox',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sqlmodel.sql.sqltypes.AutoString(length=400), nullable=False),
    sa.Column('instance_id', sa.Integer(), nullable=True),
    sa.Column('cycle_id', sa.Integer(), nullable=True),
    sa.Column('mode', sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=30), nullable=False),
    sa.Column('stage', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('recipient_key', sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
    sa.Column('recipient', sqlmodel.sql.sqltypes.AutoString(length=254), nullable=False),
    sa.Column('on_behalf_of', sqlmodel.sql.sqltypes.AutoString(length=80), nullable=True),
    sa.Column('context', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('state', sa.String(length=10), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('message_id', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
    sa.Column('subject', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
    sa.Column('last_error', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.ForeignKeyConstraint(['instance_id'], ['step_instance.id'], name=op.f('fk_outbox_instance_id_step_instance')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_outbox')),
    sa.UniqueConstraint('key', name=op.f('uq_outbox_key'))
    )
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_outbox_cycle_id'), ['cycle_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_outbox_instance_id'), ['instance_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_outbox_recipient_key'), ['recipient_key'], unique=False)
        batch_op.create_index('ix_outbox_state_next', ['mode', 'state', 'next_attempt_at'], unique=False)

    op.create_table('step_dependency',
    sa.Column('instance_id', sa.Integer(), nullable=False),
    sa.Column('depends_on_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['depends_on_id'], ['step_instance.id'], name=op.f('fk_step_dependency_depends_on_id_step_instance')),
    sa.ForeignKeyConstraint(['instance_id'], ['step_instance.id'], name=op.f('fk_step_dependency_instance_id_step_instance')),
    sa.PrimaryKeyConstraint('instance_id', 'depends_on_id', name=op.f('pk_step_dependency'))
    )
    with op.batch_alter_table('step_dependency', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_step_dependency_depends_on_id'), ['depends_on_id'], unique=False)


    # APScheduler's job store (the service clock of `arshjul serve`), in the layout its
    # SQLAlchemyJobStore expects, so that Alembic owns every table of the app database.
    op.create_table('apscheduler_jobs',
    sa.Column('id', sa.Unicode(length=191), nullable=False),
    sa.Column('next_run_time', sa.Float(precision=25), nullable=True),
    sa.Column('job_state', sa.LargeBinary(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_apscheduler_jobs'))
    )
    op.create_index('ix_apscheduler_jobs_next_run_time', 'apscheduler_jobs', ['next_run_time'], unique=False)

    _make_audit_log_append_only()


def _make_audit_log_append_only() -> None:
    """The audit log refuses UPDATE and DELETE at the database level."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE FUNCTION audit_entry_append_only() RETURNS trigger AS $$ "
            "BEGIN RAISE EXCEPTION 'audit_entry is append-only'; END; $$ LANGUAGE plpgsql"
        )
        op.execute(
            "CREATE TRIGGER audit_entry_no_change BEFORE UPDATE OR DELETE ON audit_entry "
            "FOR EACH ROW EXECUTE FUNCTION audit_entry_append_only()"
        )
        op.execute(
            "CREATE TRIGGER audit_entry_no_truncate BEFORE TRUNCATE ON audit_entry "
            "FOR EACH STATEMENT EXECUTE FUNCTION audit_entry_append_only()"
        )
    else:
        for statement in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER audit_entry_no_{statement.lower()} BEFORE {statement} ON audit_entry "
                "BEGIN SELECT RAISE(ABORT, 'audit_entry is append-only'); END"
            )


def downgrade() -> None:
    op.drop_index('ix_apscheduler_jobs_next_run_time', table_name='apscheduler_jobs')
    op.drop_table('apscheduler_jobs')
    with op.batch_alter_table('step_dependency', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_step_dependency_depends_on_id'))

    op.drop_table('step_dependency')
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_state_next')
        batch_op.drop_index(batch_op.f('ix_outbox_recipient_key'))
        batch_op.drop_index(batch_op.f('ix_outbox_instance_id'))
        batch_op.drop_index(batch_op.f('ix_outbox_cycle_id'))

    op.drop_table('outbox')
    with op.batch_alter_table('step_instance', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_step_instance_unit'))
        batch_op.drop_index(batch_op.f('ix_step_instance_step'))
        batch_op.drop_index('ix_step_instance_state_due')
        batch_op.drop_index(batch_op.f('ix_step_instance_owner'))
        batch_op.drop_index(batch_op.f('ix_step_instance_flow_run_id'))
        batch_op.drop_index(batch_op.f('ix_step_instance_due'))
        batch_op.drop_index(batch_op.f('ix_step_instance_cycle_id'))

    op.drop_table('step_instance')
    with op.batch_alter_table('unit', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_unit_organisation'))

    op.drop_table('unit')
    with op.batch_alter_table('person', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_person_organisation'))
        batch_op.drop_index(batch_op.f('ix_person_email'))

    op.drop_table('person')
    op.drop_table('cycle')
    with op.batch_alter_table('audit_entry', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_audit_entry_instance_id'))
        batch_op.drop_index(batch_op.f('ix_audit_entry_cycle_id'))
        batch_op.drop_index(batch_op.f('ix_audit_entry_at'))
        batch_op.drop_index(batch_op.f('ix_audit_entry_action'))

    op.drop_table('audit_entry')
    with op.batch_alter_table('absence', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_absence_person_key'))

    op.drop_table('absence')
