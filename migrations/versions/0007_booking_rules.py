"""booking rules: a lab may limit the hours one enterprise books in it per week

Revision ID: 0007
Revises: 0006
"""
from alembic import op
import sqlalchemy as sa


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('labs') as batch_op:
        batch_op.add_column(sa.Column('max_weekly_hours_per_enterprise', sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('labs') as batch_op:
        batch_op.drop_column('max_weekly_hours_per_enterprise')
