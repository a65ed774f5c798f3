"""services: verification requests (容缺受理, deadlines in working days), their pauses, their
append-only, hash-chained steps, the services' deadlines, and the taxi-meter queue

Revision ID: 0013
Revises: 0012
"""
from alembic import op
import sqlalchemy as sa


revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None



def upgrade() -> None:
    op.create_table('service_settings',
    sa.Column('mode', sa.String(length=20), nullable=False),
    sa.Column('acceptance_days', sa.Integer(), nullable=False),
    sa.Column('conclusion_days', sa.Integer(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('mode', name=op.f('pk_service_settings'))
    )
    op.create_table('service_requests',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('enterprise_id', sa.Integer(), nullable=False),
    sa.Column('requested_by', sa.Integer(), nullable=False),
    sa.Column('mode', sa.String(length=20), nullable=False),
    sa.Column('address', sa.String(length=300), nullable=False),
    sa.Column('preferred_dates', sa.JSON(), nullable=False),
    sa.Column('contact_name', sa.String(length=100), nullable=False),
    sa.Column('contact_phone', sa.String(length=40), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('missing_documents', sa.Text(), nullable=False),
    sa.Column('commitment_signed', sa.Boolean(), nullable=False),
    sa.Column('documents_due', sa.Date(), nullable=True),
    sa.Column('state', sa.String(length=12), nullable=False),
    sa.Column('refusal_reason', sa.Text(), nullable=True),
    sa.Column('acceptance_days', sa.Integer(), nullable=False),
    sa.Column('conclusion_days', sa.Integer(), nullable=False),
    sa.Column('paused_days', sa.Integer(), nullable=False),
    sa.Column('submitted_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('submitted_on', sa.Date(), nullable=False),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('decided_on', sa.Date(), nullable=True),
    sa.Column('concluded_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('concluded_on', sa.Date(), nullable=True),
    sa.ForeignKeyConstraint(['enterprise_id'], ['enterprises.id'], name=op.f('fk_service_requests_enterprise_id_enterprises')),
    sa.ForeignKeyConstraint(['requested_by'], ['users.id'], name=op.f('fk_service_requests_requested_by_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_service_requests'))
    )
    with op.batch_alter_table('service_requests', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_service_requests_enterprise_id'), ['enterprise_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_service_requests_mode'), ['mode'], unique=False)
        batch_op.create_index(batch_op.f('ix_service_requests_state'), ['state'], unique=False)
        batch_op.create_index(batch_op.f('ix_service_requests_submitted_on'), ['submitted_on'], unique=False)

    op.create_table('service_request_instruments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('request_id', sa.Integer(), nullable=False),
    sa.Column('instrument_id', sa.Integer(), nullable=False),
    sa.Column('certificate_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['request_id'], ['service_requests.id'], name=op.f('fk_service_request_instruments_request_id_service_requests')),
    sa.ForeignKeyConstraint(['instrument_id'], ['verified_instruments.id'], name=op.f('fk_service_request_instruments_instrument_id_verified_instruments')),
    sa.ForeignKeyConstraint(['certificate_id'], ['certificates.id'], name=op.f('fk_service_request_instruments_certificate_id_certificates')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_service_request_instruments')),
    sa.UniqueConstraint('request_id', 'instrument_id', name=op.f('uq_service_request_instruments_request_id'))
    )
    with op.batch_alter_table('service_request_instruments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_service_request_instruments_request_id'), ['request_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_service_request_instruments_instrument_id'), ['instrument_id'], unique=False)

    op.create_table('service_pauses',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('request_id', sa.Integer(), nullable=False),
    sa.Column('reason', sa.String(length=30), nullable=False),
    sa.Column('note', sa.String(length=500), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('started_on', sa.Date(), nullable=False),
    sa.Column('started_by', sa.Integer(), nullable=True),
    sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('ended_on', sa.Date(), nullable=True),
    sa.Column('ended_by', sa.Integer(), nullable=True),
    sa.Column('working_days', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['request_id'], ['service_requests.id'], name=op.f('fk_service_pauses_request_id_service_requests')),
    sa.ForeignKeyConstraint(['started_by'], ['users.id'], name=op.f('fk_service_pauses_started_by_users')),
    sa.ForeignKeyConstraint(['ended_by'], ['users.id'], name=op.f('fk_service_pauses_ended_by_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_service_pauses'))
    )
    with op.batch_alter_table('service_pauses', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_service_pauses_request_id'), ['request_id'], unique=False)

    op.create_table('service_steps',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('request_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=30), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('actor_name', sa.String(length=200), nullable=False),
    sa.Column('detail', sa.JSON(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('prev_hash', sa.String(length=64), nullable=False),
    sa.Column('hash', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['request_id'], ['service_requests.id'], name=op.f('fk_service_steps_request_id_service_requests')),
    sa.ForeignKeyConstraint(['actor_id'], ['users.id'], name=op.f('fk_service_steps_actor_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_service_steps')),
    sa.UniqueConstraint('hash', name=op.f('uq_service_steps_hash'))
    )
    with op.batch_alter_table('service_steps', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_service_steps_request_id'), ['request_id'], unique=False)

    op.create_table('taxi_tickets',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('token', sa.String(length=64), nullable=False),
    sa.Column('plate_number', sa.String(length=20), nullable=False),
    sa.Column('meter_serial', sa.String(length=64), nullable=False),
    sa.Column('address_hash', sa.String(length=64), nullable=False),
    sa.Column('state', sa.String(length=12), nullable=False),
    sa.Column('instrument_id', sa.Integer(), nullable=True),
    sa.Column('verification_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('called_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('called_by', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['instrument_id'], ['verified_instruments.id'], name=op.f('fk_taxi_tickets_instrument_id_verified_instruments')),
    sa.ForeignKeyConstraint(['verification_id'], ['verifications.id'], name=op.f('fk_taxi_tickets_verification_id_verifications')),
    sa.ForeignKeyConstraint(['called_by'], ['users.id'], name=op.f('fk_taxi_tickets_called_by_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_taxi_tickets')),
    sa.UniqueConstraint('day', 'number', name=op.f('uq_taxi_tickets_day')),
    sa.UniqueConstraint('token', name=op.f('uq_taxi_tickets_token'))
    )
    with op.batch_alter_table('taxi_tickets', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_taxi_tickets_day'), ['day'], unique=False)
        batch_op.create_index(batch_op.f('ix_taxi_tickets_state'), ['state'], unique=False)
        batch_op.create_index(batch_op.f('ix_taxi_tickets_address_hash'), ['address_hash'], unique=False)
        batch_op.create_index(batch_op.f('ix_taxi_tickets_created_at'), ['created_at'], unique=False)

    _append_only()


def downgrade() -> None:
    _drop_append_only()
    op.drop_table('taxi_tickets')
    op.drop_table('service_steps')
    op.drop_table('service_pauses')
    op.drop_table('service_request_instruments')
    op.drop_table('service_requests')
    op.drop_table('service_settings')


def _append_only() -> None:
    """A request's steps are its legal trail: never changed or removed (0004's function on PostgreSQL)."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE TRIGGER service_steps_append_only BEFORE UPDATE OR DELETE "
                   "ON service_steps FOR EACH ROW EXECUTE FUNCTION labs_append_only()")
        return
    for operation in ("UPDATE", "DELETE"):
        op.execute(f"CREATE TRIGGER service_steps_no_{operation.lower()} BEFORE {operation} "
                   f"ON service_steps BEGIN SELECT RAISE(ABORT, "
                   f"'service_steps rows are append-only: {operation} refused'); END")


def _drop_append_only() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS service_steps_append_only ON service_steps")
        return
    for operation in ("update", "delete"):
        op.execute(f"DROP TRIGGER IF EXISTS service_steps_no_{operation}")
