"""laptops on site: field devices, their uploaded runs, receipts of their chained rows (append-only),
and certificate numbers reserved in blocks for them

Revision ID: 0010
Revises: 0009
"""
from alembic import op
import sqlalchemy as sa


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('field_devices',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=36), nullable=False),
    sa.Column('technician_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('server_url', sa.String(length=300), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('synced_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['technician_id'], ['users.id'], name=op.f('fk_field_devices_technician_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_field_devices')),
    sa.UniqueConstraint('key', name=op.f('uq_field_devices_key'))
    )
    with op.batch_alter_table('field_devices', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_field_devices_technician_id'), ['technician_id'], unique=False)

    op.create_table('field_runs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('device_id', sa.Integer(), nullable=False),
    sa.Column('local_id', sa.Integer(), nullable=False),
    sa.Column('verification_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['device_id'], ['field_devices.id'], name=op.f('fk_field_runs_device_id_field_devices')),
    sa.ForeignKeyConstraint(['verification_id'], ['verifications.id'], name=op.f('fk_field_runs_verification_id_verifications')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_field_runs')),
    sa.UniqueConstraint('device_id', 'local_id', name=op.f('uq_field_runs_device_id')),
    sa.UniqueConstraint('verification_id', name=op.f('uq_field_runs_verification_id'))
    )
    op.create_table('field_records',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('device_id', sa.Integer(), nullable=False),
    sa.Column('table_name', sa.String(length=40), nullable=False),
    sa.Column('local_id', sa.Integer(), nullable=False),
    sa.Column('local_prev_hash', sa.String(length=64), nullable=False),
    sa.Column('local_hash', sa.String(length=64), nullable=False),
    sa.Column('content', sa.JSON(), nullable=False),
    sa.Column('row_id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('prev_hash', sa.String(length=64), nullable=False),
    sa.Column('hash', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['device_id'], ['field_devices.id'], name=op.f('fk_field_records_device_id_field_devices')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_field_records')),
    sa.UniqueConstraint('device_id', 'table_name', 'local_id', name=op.f('uq_field_records_device_id')),
    sa.UniqueConstraint('hash', name=op.f('uq_field_records_hash'))
    )
    with op.batch_alter_table('field_records', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_field_records_device_id'), ['device_id'], unique=False)

    op.create_table('certificate_blocks',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('first', sa.Integer(), nullable=False),
    sa.Column('last', sa.Integer(), nullable=False),
    sa.Column('device_key', sa.String(length=36), nullable=False),
    sa.Column('here', sa.Boolean(), nullable=False),
    sa.Column('reserved_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_certificate_blocks')),
    sa.UniqueConstraint('year', 'first', name=op.f('uq_certificate_blocks_year'))
    )
    with op.batch_alter_table('certificate_blocks', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_certificate_blocks_device_key'), ['device_key'], unique=False)

    _append_only()


def downgrade() -> None:
    _drop_append_only()
    with op.batch_alter_table('certificate_blocks', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_certificate_blocks_device_key'))
    op.drop_table('certificate_blocks')
    with op.batch_alter_table('field_records', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_field_records_device_id'))
    op.drop_table('field_records')
    op.drop_table('field_runs')
    with op.batch_alter_table('field_devices', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_field_devices_technician_id'))
    op.drop_table('field_devices')


def _append_only() -> None:
    """The receipts of uploaded rows are never changed or removed (0004's function on PostgreSQL)."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE TRIGGER field_records_append_only BEFORE UPDATE OR DELETE "
                   "ON field_records FOR EACH ROW EXECUTE FUNCTION labs_append_only()")
        return
    for operation in ("UPDATE", "DELETE"):
        op.execute(f"CREATE TRIGGER field_records_no_{operation.lower()} BEFORE {operation} "
                   f"ON field_records BEGIN SELECT RAISE(ABORT, "
                   f"'field_records rows are append-only: {operation} refused'); END")


def _drop_append_only() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS field_records_append_only ON field_records")
        return
    for operation in ("update", "delete"):
        op.execute(f"DROP TRIGGER IF EXISTS field_records_no_{operation}")
