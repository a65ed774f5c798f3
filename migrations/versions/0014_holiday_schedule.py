"""holiday schedule: a year's holidays and make-up working days entered by an admin (they override
chinese-calendar and the statutory fallback for that year); instruments can be retired

Revision ID: 0014
Revises: 0013
"""
from alembic import op
import sqlalchemy as sa


revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('holiday_days',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('working', sa.Boolean(), nullable=False),
    sa.Column('holiday', sa.String(length=40), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_holiday_days')),
    sa.UniqueConstraint('day', name=op.f('uq_holiday_days_day'))
    )
    op.create_index(op.f('ix_holiday_days_year'), 'holiday_days', ['year'], unique=False)
    with op.batch_alter_table('instruments') as batch_op:
        batch_op.add_column(sa.Column('retired_on', sa.Date(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('instruments') as batch_op:
        batch_op.drop_column('retired_on')
    op.drop_index(op.f('ix_holiday_days_year'), table_name='holiday_days')
    op.drop_table('holiday_days')
