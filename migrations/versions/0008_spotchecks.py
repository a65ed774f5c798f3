"""spot-checks: regions, the registries of entities, their instruments and inspectors; plans with
their witnesses, frozen snapshot, seed and draw; tasks

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
    op.create_table('spotcheck_tasks',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('plan_id', sa.Integer(), nullable=False),
    sa.Column('entity_id', sa.Integer(), nullable=False),
    sa.Column('origin', sa.String(length=10), nullable=False),
    sa.Column('inspector_ids', sa.JSON(), nullable=False),
    sa.Column('instrument_ids', sa.JSON(), nullable=False),
    sa.Column('due_on', sa.Date(), nullable=True),
    sa.Column('concluded_on', sa.Date(), nullable=True),
    sa.Column('publish_by', sa.Date(), nullable=True),
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



def downgrade() -> None:
    with op.batch_alter_table('spotcheck_witnesses', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_spotcheck_witnesses_plan_id'))

    op.drop_table('spotcheck_witnesses')
    with op.batch_alter_table('spotcheck_tasks', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_spotcheck_tasks_plan_id'))
        batch_op.drop_index(batch_op.f('ix_spotcheck_tasks_entity_id'))

    op.drop_table('spotcheck_tasks')
    op.drop_table('spotcheck_plans')
    with op.batch_alter_table('registry_instruments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_registry_instruments_entity_id'))

    op.drop_table('registry_instruments')
    op.drop_table('registry_inspectors')
    with op.batch_alter_table('registry_entities', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_registry_entities_region'))
        batch_op.drop_index(batch_op.f('ix_registry_entities_kind'))

    op.drop_table('registry_entities')
    op.drop_table('regions')
