"""notifications are mailed by the scheduler: when, and how many attempts

Revision ID: 0003
Revises: 0002
"""
from alembic import op
import sqlalchemy as sa


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('notifications') as batch_op:
        batch_op.add_column(sa.Column('mailed_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('mail_attempts', sa.Integer(), server_default='0', nullable=False))
    # Notices from before were mailed as they were made (or never will be): not again.
    op.execute("UPDATE notifications SET mailed_at = created_at")


def downgrade() -> None:
    with op.batch_alter_table('notifications') as batch_op:
        batch_op.drop_column('mail_attempts')
        batch_op.drop_column('mailed_at')
