"""dispatch: a work order may name the verification request (on site) it carries out

Revision ID: 0016
Revises: 0015
"""
from alembic import op
import sqlalchemy as sa


revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('work_orders', schema=None) as batch_op:
        batch_op.add_column(sa.Column('service_request_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_work_orders_service_request_id'), ['service_request_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_work_orders_service_request_id_service_requests'),
                                    'service_requests', ['service_request_id'], ['id'])


def downgrade() -> None:
    with op.batch_alter_table('work_orders', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_work_orders_service_request_id_service_requests'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_work_orders_service_request_id'))
        batch_op.drop_column('service_request_id')
