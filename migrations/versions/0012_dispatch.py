"""dispatch: work orders (one site's instruments on one day), the technicians and portable rigs
assigned to them, staffed weekend days; a rig may be portable

Revision ID: 0012
Revises: 0011
"""
from alembic import op
import sqlalchemy as sa


revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('rigs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('portable', sa.Boolean(), server_default=sa.false(), nullable=False))

    op.create_table('staffed_weekend_days',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('declared_by', sa.Integer(), nullable=True),
    sa.Column('declared_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['declared_by'], ['users.id'], name=op.f('fk_staffed_weekend_days_declared_by_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_staffed_weekend_days')),
    sa.UniqueConstraint('day', name=op.f('uq_staffed_weekend_days_day'))
    )
    op.create_table('work_orders',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('enterprise_id', sa.Integer(), nullable=False),
    sa.Column('site', sa.String(length=300), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('starts_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ends_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('state', sa.String(length=12), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('created_by', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('ends_at > starts_at', name=op.f('ck_work_orders_ends_after_starts')),
    sa.ForeignKeyConstraint(['created_by'], ['users.id'], name=op.f('fk_work_orders_created_by_users')),
    sa.ForeignKeyConstraint(['enterprise_id'], ['enterprises.id'], name=op.f('fk_work_orders_enterprise_id_enterprises')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_work_orders'))
    )
    with op.batch_alter_table('work_orders', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_work_orders_day'), ['day'], unique=False)
        batch_op.create_index(batch_op.f('ix_work_orders_enterprise_id'), ['enterprise_id'], unique=False)

    op.create_table('work_order_instruments',
    sa.Column('work_order_id', sa.Integer(), nullable=False),
    sa.Column('instrument_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['instrument_id'], ['verified_instruments.id'], name=op.f('fk_work_order_instruments_instrument_id_verified_instruments')),
    sa.ForeignKeyConstraint(['work_order_id'], ['work_orders.id'], name=op.f('fk_work_order_instruments_work_order_id_work_orders'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('work_order_id', 'instrument_id', name=op.f('pk_work_order_instruments'))
    )
    op.create_table('work_order_assignments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('work_order_id', sa.Integer(), nullable=False),
    sa.Column('technician_id', sa.Integer(), nullable=True),
    sa.Column('rig_id', sa.Integer(), nullable=True),
    sa.Column('starts_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ends_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('assigned_by', sa.Integer(), nullable=True),
    sa.Column('assigned_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('(technician_id IS NULL) <> (rig_id IS NULL)', name=op.f('ck_work_order_assignments_technician_or_rig')),
    sa.CheckConstraint('ends_at > starts_at', name=op.f('ck_work_order_assignments_ends_after_starts')),
    sa.ForeignKeyConstraint(['assigned_by'], ['users.id'], name=op.f('fk_work_order_assignments_assigned_by_users')),
    sa.ForeignKeyConstraint(['rig_id'], ['rigs.id'], name=op.f('fk_work_order_assignments_rig_id_rigs')),
    sa.ForeignKeyConstraint(['technician_id'], ['users.id'], name=op.f('fk_work_order_assignments_technician_id_users')),
    sa.ForeignKeyConstraint(['work_order_id'], ['work_orders.id'], name=op.f('fk_work_order_assignments_work_order_id_work_orders')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_work_order_assignments'))
    )
    with op.batch_alter_table('work_order_assignments', schema=None) as batch_op:
        batch_op.create_index('ix_work_order_assignments_rig_start', ['rig_id', 'starts_at'], unique=False)
        batch_op.create_index('ix_work_order_assignments_technician_start', ['technician_id', 'starts_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_work_order_assignments_work_order_id'), ['work_order_id'], unique=False)

    if op.get_bind().dialect.name == "postgresql":
        # A technician or a rig is in one place at a time, as a lab bay is (0001): half-open ranges,
        # so back-to-back work orders pass. A row holds either a technician or a rig; the other
        # column is NULL, and NULL never equals anything, so each constraint sees only its own rows.
        op.execute("CREATE EXTENSION IF NOT EXISTS btree_gist")
        for column in ("technician_id", "rig_id"):
            op.execute(
                f"ALTER TABLE work_order_assignments ADD CONSTRAINT work_order_assignments_{column}_no_overlap "
                f"EXCLUDE USING gist ({column} WITH =, tstzrange(starts_at, ends_at, '[)') WITH &&) WHERE (active)")


def downgrade() -> None:
    with op.batch_alter_table('work_order_assignments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_work_order_assignments_work_order_id'))
        batch_op.drop_index('ix_work_order_assignments_technician_start')
        batch_op.drop_index('ix_work_order_assignments_rig_start')
    op.drop_table('work_order_assignments')
    op.drop_table('work_order_instruments')
    with op.batch_alter_table('work_orders', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_work_orders_enterprise_id'))
        batch_op.drop_index(batch_op.f('ix_work_orders_day'))
    op.drop_table('work_orders')
    op.drop_table('staffed_weekend_days')
    with op.batch_alter_table('rigs', schema=None) as batch_op:
        batch_op.drop_column('portable')
