"""spot-checks: regions, the registries of entities, their instruments and inspectors; plans with
their witnesses, frozen snapshot, seed and draw; tasks and their instruments under review; public
nominations; published results (append-only, hash-chained); the weekly credit-system exports

Revision ID: 0008
Revises: 0007
"""
from alembic import op
import sqlalchemy as sa


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('regions',
    sa.Column('code', sa.String(length=6), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.PrimaryKeyConstraint('code', name=op.f('pk_regions'))
    )
    op.create_table('spotcheck_credit_exports',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('week', sa.String(length=8), nullable=False),
    sa.Column('csv_path', sa.String(length=500), nullable=False),
    sa.Column('json_path', sa.String(length=500), nullable=False),
    sa.Column('rows', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_spotcheck_credit_exports')),
    sa.UniqueConstraint('week', name=op.f('uq_spotcheck_credit_exports_week'))
    )
    op.create_table('registry_entities',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('credit_code', sa.String(length=18), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('region', sa.String(length=6), nullable=False),
    sa.Column('risk_level', sa.String(length=8), nullable=False),
    sa.Column('affiliation', sa.String(length=200), nullable=False),
    sa.ForeignKeyConstraint(['region'], ['regions.code'], name=op.f('fk_registry_entities_region_regions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_registry_entities')),
    sa.UniqueConstraint('credit_code', name=op.f('uq_registry_entities_credit_code'))
    )
    with op.batch_alter_table('registry_entities', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_registry_entities_kind'), ['kind'], unique=False)
        batch_op.create_index(batch_op.f('ix_registry_entities_region'), ['region'], unique=False)

    op.create_table('registry_inspectors',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('qualifications', sa.JSON(), nullable=False),
    sa.Column('affiliation', sa.String(length=200), nullable=False),
    sa.Column('conflicts', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_registry_inspectors_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_registry_inspectors')),
    sa.UniqueConstraint('user_id', name=op.f('uq_registry_inspectors_user_id'))
    )
    op.create_table('registry_instruments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('entity_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('serial_number', sa.String(length=64), nullable=False),
    sa.Column('description', sa.String(length=200), nullable=False),
    sa.ForeignKeyConstraint(['entity_id'], ['registry_entities.id'], name=op.f('fk_registry_instruments_entity_id_registry_entities')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_registry_instruments')),
    sa.UniqueConstraint('entity_id', 'kind', 'serial_number', name=op.f('uq_registry_instruments_entity_id'))
    )
    with op.batch_alter_table('registry_instruments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_registry_instruments_entity_id'), ['entity_id'], unique=False)

    op.create_table('spotcheck_plans',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('instrument_kind', sa.String(length=20), nullable=False),
    sa.Column('regions', sa.JSON(), nullable=False),
    sa.Column('entity_kinds', sa.JSON(), nullable=False),
    sa.Column('shares', sa.JSON(), nullable=False),
    sa.Column('inspectors_per_task', sa.Integer(), nullable=False),
    sa.Column('instruments_per_entity', sa.Integer(), nullable=False),
    sa.Column('draw_date', sa.Date(), nullable=False),
    sa.Column('publication_working_days', sa.Integer(), nullable=False),
    sa.Column('previous_plan_id', sa.Integer(), nullable=True),
    sa.Column('state', sa.String(length=8), nullable=False),
    sa.Column('snapshot', sa.JSON(), nullable=True),
    sa.Column('snapshot_sha256', sa.String(length=64), nullable=True),
    sa.Column('seed', sa.String(length=64), nullable=True),
    sa.Column('selection', sa.JSON(), nullable=True),
    sa.Column('frozen_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('drawn_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_by', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['created_by'], ['users.id'], name=op.f('fk_spotcheck_plans_created_by_users')),
    sa.ForeignKeyConstraint(['previous_plan_id'], ['spotcheck_plans.id'], name=op.f('fk_spotcheck_plans_previous_plan_id_spotcheck_plans')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_spotcheck_plans'))
    )
    op.create_table('spotcheck_nominations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('instrument_id', sa.Integer(), nullable=False),
    sa.Column('reason', sa.String(length=500), nullable=False),
    sa.Column('phone_hash', sa.String(length=64), nullable=False),
    sa.Column('address_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('plan_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['instrument_id'], ['registry_instruments.id'], name=op.f('fk_spotcheck_nominations_instrument_id_registry_instruments')),
    sa.ForeignKeyConstraint(['plan_id'], ['spotcheck_plans.id'], name=op.f('fk_spotcheck_nominations_plan_id_spotcheck_plans')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_spotcheck_nominations')),
    sa.UniqueConstraint('instrument_id', 'phone_hash', name=op.f('uq_spotcheck_nominations_instrument_id'))
    )
    with op.batch_alter_table('spotcheck_nominations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_spotcheck_nominations_address_hash'), ['address_hash'], unique=False)
        batch_op.create_index(batch_op.f('ix_spotcheck_nominations_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_spotcheck_nominations_instrument_id'), ['instrument_id'], unique=False)

    op.create_table('spotcheck_tasks',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('plan_id', sa.Integer(), nullable=False),
    sa.Column('entity_id', sa.Integer(), nullable=False),
    sa.Column('origin', sa.String(length=10), nullable=False),
    sa.Column('inspector_ids', sa.JSON(), nullable=False),
    sa.Column('due_on', sa.Date(), nullable=True),
    sa.Column('concluded_on', sa.Date(), nullable=True),
    sa.Column('publish_by', sa.Date(), nullable=True),
    sa.Column('published_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['entity_id'], ['registry_entities.id'], name=op.f('fk_spotcheck_tasks_entity_id_registry_entities')),
    sa.ForeignKeyConstraint(['plan_id'], ['spotcheck_plans.id'], name=op.f('fk_spotcheck_tasks_plan_id_spotcheck_plans')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_spotcheck_tasks')),
    sa.UniqueConstraint('plan_id', 'entity_id', name=op.f('uq_spotcheck_tasks_plan_id'))
    )
    with op.batch_alter_table('spotcheck_tasks', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_spotcheck_tasks_entity_id'), ['entity_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_spotcheck_tasks_plan_id'), ['plan_id'], unique=False)

    op.create_table('spotcheck_witnesses',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('plan_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('commitment', sa.String(length=64), nullable=False),
    sa.Column('secret', sa.Text(), nullable=True),
    sa.Column('committed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('revealed_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['plan_id'], ['spotcheck_plans.id'], name=op.f('fk_spotcheck_witnesses_plan_id_spotcheck_plans')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_spotcheck_witnesses')),
    sa.UniqueConstraint('plan_id', 'position', name=op.f('uq_spotcheck_witnesses_plan_id'))
    )
    with op.batch_alter_table('spotcheck_witnesses', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_spotcheck_witnesses_plan_id'), ['plan_id'], unique=False)

    op.create_table('spotcheck_published_results',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('task_id', sa.Integer(), nullable=False),
    sa.Column('plan_id', sa.Integer(), nullable=False),
    sa.Column('content', sa.JSON(), nullable=False),
    sa.Column('published_on', sa.Date(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('prev_hash', sa.String(length=64), nullable=False),
    sa.Column('hash', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['plan_id'], ['spotcheck_plans.id'], name=op.f('fk_spotcheck_published_results_plan_id_spotcheck_plans')),
    sa.ForeignKeyConstraint(['task_id'], ['spotcheck_tasks.id'], name=op.f('fk_spotcheck_published_results_task_id_spotcheck_tasks')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_spotcheck_published_results')),
    sa.UniqueConstraint('hash', name=op.f('uq_spotcheck_published_results_hash')),
    sa.UniqueConstraint('task_id', name=op.f('uq_spotcheck_published_results_task_id'))
    )
    with op.batch_alter_table('spotcheck_published_results', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_spotcheck_published_results_plan_id'), ['plan_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_spotcheck_published_results_published_on'), ['published_on'], unique=False)

    op.create_table('spotcheck_task_instruments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('task_id', sa.Integer(), nullable=False),
    sa.Column('instrument_id', sa.Integer(), nullable=False),
    sa.Column('verification_id', sa.Integer(), nullable=True),
    sa.Column('conclusion', sa.String(length=4), nullable=True),
    sa.Column('conclusion_note', sa.String(length=1000), nullable=False),
    sa.Column('reviewed_by', sa.Integer(), nullable=True),
    sa.Column('reviewed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('countersigned_by', sa.Integer(), nullable=True),
    sa.Column('countersigned_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('rectify_by', sa.Date(), nullable=True),
    sa.Column('out_of_use', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['countersigned_by'], ['users.id'], name=op.f('fk_spotcheck_task_instruments_countersigned_by_users')),
    sa.ForeignKeyConstraint(['instrument_id'], ['registry_instruments.id'], name=op.f('fk_spotcheck_task_instruments_instrument_id_registry_instruments')),
    sa.ForeignKeyConstraint(['reviewed_by'], ['users.id'], name=op.f('fk_spotcheck_task_instruments_reviewed_by_users')),
    sa.ForeignKeyConstraint(['task_id'], ['spotcheck_tasks.id'], name=op.f('fk_spotcheck_task_instruments_task_id_spotcheck_tasks')),
    sa.ForeignKeyConstraint(['verification_id'], ['verifications.id'], name=op.f('fk_spotcheck_task_instruments_verification_id_verifications')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_spotcheck_task_instruments')),
    sa.UniqueConstraint('task_id', 'instrument_id', name=op.f('uq_spotcheck_task_instruments_task_id'))
    )
    with op.batch_alter_table('spotcheck_task_instruments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_spotcheck_task_instruments_task_id'), ['task_id'], unique=False)

    _append_only()


def downgrade() -> None:
    _drop_append_only()
    with op.batch_alter_table('spotcheck_task_instruments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_spotcheck_task_instruments_task_id'))

    op.drop_table('spotcheck_task_instruments')
    with op.batch_alter_table('spotcheck_published_results', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_spotcheck_published_results_published_on'))
        batch_op.drop_index(batch_op.f('ix_spotcheck_published_results_plan_id'))

    op.drop_table('spotcheck_published_results')
    with op.batch_alter_table('spotcheck_witnesses', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_spotcheck_witnesses_plan_id'))

    op.drop_table('spotcheck_witnesses')
    with op.batch_alter_table('spotcheck_tasks', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_spotcheck_tasks_plan_id'))
        batch_op.drop_index(batch_op.f('ix_spotcheck_tasks_entity_id'))

    op.drop_table('spotcheck_tasks')
    with op.batch_alter_table('spotcheck_nominations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_spotcheck_nominations_instrument_id'))
        batch_op.drop_index(batch_op.f('ix_spotcheck_nominations_created_at'))
        batch_op.drop_index(batch_op.f('ix_spotcheck_nominations_address_hash'))

    op.drop_table('spotcheck_nominations')
    op.drop_table('spotcheck_plans')
    with op.batch_alter_table('registry_instruments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_registry_instruments_entity_id'))

    op.drop_table('registry_instruments')
    op.drop_table('registry_inspectors')
    with op.batch_alter_table('registry_entities', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_registry_entities_region'))
        batch_op.drop_index(batch_op.f('ix_registry_entities_kind'))

    op.drop_table('registry_entities')
    op.drop_table('spotcheck_credit_exports')
    op.drop_table('regions')


def _append_only() -> None:
    """Published results are never changed or removed (0004's function on PostgreSQL)."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE TRIGGER spotcheck_published_results_append_only BEFORE UPDATE OR DELETE "
                   "ON spotcheck_published_results FOR EACH ROW EXECUTE FUNCTION labs_append_only()")
        return
    for operation in ("UPDATE", "DELETE"):
        op.execute(f"CREATE TRIGGER spotcheck_published_results_no_{operation.lower()} BEFORE {operation} "
                   f"ON spotcheck_published_results BEGIN SELECT RAISE(ABORT, "
                   f"'spotcheck_published_results rows are append-only: {operation} refused'); END")


def _drop_append_only() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS spotcheck_published_results_append_only ON spotcheck_published_results")
        return
    for operation in ("update", "delete"):
        op.execute(f"DROP TRIGGER IF EXISTS spotcheck_published_results_no_{operation}")
