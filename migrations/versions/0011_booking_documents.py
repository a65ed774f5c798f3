"""booking as a booking system: documents uploaded for 容缺受理 and their receipt, the idempotency key
of a request, the lab's time step, notices that name their booking, the audit trail by entity

Revision ID: 0011
Revises: 0010
"""
from alembic import op
import sqlalchemy as sa


revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('booking_documents',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('booking_id', sa.Integer(), nullable=False),
    sa.Column('uploaded_by', sa.Integer(), nullable=False),
    sa.Column('uploaded_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('filename', sa.String(length=200), nullable=False),
    sa.Column('content_type', sa.String(length=64), nullable=False),
    sa.Column('size_bytes', sa.Integer(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('stored_as', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['booking_id'], ['bookings.id'], name=op.f('fk_booking_documents_booking_id_bookings')),
    sa.ForeignKeyConstraint(['uploaded_by'], ['users.id'], name=op.f('fk_booking_documents_uploaded_by_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_booking_documents')),
    sa.UniqueConstraint('stored_as', name=op.f('uq_booking_documents_stored_as')),
    )
    with op.batch_alter_table('booking_documents') as batch_op:
        batch_op.create_index(batch_op.f('ix_booking_documents_booking_id'), ['booking_id'], unique=False)
    with op.batch_alter_table('bookings') as batch_op:
        batch_op.add_column(sa.Column('documents_received_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('documents_received_by', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('request_key', sa.String(length=64), nullable=True))
        batch_op.create_foreign_key(op.f('fk_bookings_documents_received_by_users'), 'users',
                                    ['documents_received_by'], ['id'])
        batch_op.create_index('ix_bookings_enterprise_request_key', ['enterprise_id', 'request_key'], unique=False)
    with op.batch_alter_table('labs') as batch_op:
        batch_op.add_column(sa.Column('slot_step_minutes', sa.Integer(), server_default='30', nullable=False))
    with op.batch_alter_table('notifications') as batch_op:
        batch_op.add_column(sa.Column('booking_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(op.f('fk_notifications_booking_id_bookings'), 'bookings', ['booking_id'], ['id'])
        batch_op.create_index('ix_notifications_user_unread', ['user_id', 'read_at'], unique=False)
    with op.batch_alter_table('audit_log') as batch_op:
        batch_op.create_index('ix_audit_log_entity', ['entity', 'entity_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('audit_log') as batch_op:
        batch_op.drop_index('ix_audit_log_entity')
    with op.batch_alter_table('notifications') as batch_op:
        batch_op.drop_index('ix_notifications_user_unread')
        batch_op.drop_constraint(op.f('fk_notifications_booking_id_bookings'), type_='foreignkey')
        batch_op.drop_column('booking_id')
    with op.batch_alter_table('labs') as batch_op:
        batch_op.drop_column('slot_step_minutes')
    with op.batch_alter_table('bookings') as batch_op:
        batch_op.drop_index('ix_bookings_enterprise_request_key')
        batch_op.drop_constraint(op.f('fk_bookings_documents_received_by_users'), type_='foreignkey')
        batch_op.drop_column('request_key')
        batch_op.drop_column('documents_received_by')
        batch_op.drop_column('documents_received_at')
    op.drop_table('booking_documents')
