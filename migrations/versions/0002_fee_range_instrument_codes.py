"""booking fees up to 10**12; an instrument code once per lab

Revision ID: 0002
Revises: 0001
"""
from alembic import op
import sqlalchemy as sa


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A fee of 24 hours and 1000 batches at the highest rates (each < 10**8) is about 10**11, which
    # NUMERIC(12, 2) cannot hold. (SQLite does not enforce the precision; the declared type follows.)
    with op.batch_alter_table('bookings') as batch_op:
        batch_op.alter_column('fee', type_=sa.Numeric(precision=14, scale=2),
                              existing_type=sa.Numeric(precision=12, scale=2), existing_nullable=False)
    op.create_index('uq_instruments_lab_id_code', 'instruments', ['lab_id', 'code'], unique=True)


def downgrade() -> None:
    op.drop_index('uq_instruments_lab_id_code', table_name='instruments')
    with op.batch_alter_table('bookings') as batch_op:
        batch_op.alter_column('fee', type_=sa.Numeric(precision=12, scale=2),
                              existing_type=sa.Numeric(precision=14, scale=2), existing_nullable=False)
