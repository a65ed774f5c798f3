"""accounts that can be ended: sign-in failures for throttling, session generations, token
revocation and last use, deactivation and forced password change

Revision ID: 0005
Revises: 0004
"""
from alembic import op
import sqlalchemy as sa


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('users') as batch_op:
        batch_op.add_column(sa.Column('must_change_password', sa.Boolean(), server_default=sa.false(),
                                      nullable=False))
    with op.batch_alter_table('api_tokens') as batch_op:
        batch_op.add_column(sa.Column('last_used_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index(batch_op.f('ix_api_tokens_expires_at'), ['expires_at'], unique=False)
    op.create_table('user_sessions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('secret_sha256', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_user_sessions_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_user_sessions')),
    sa.UniqueConstraint('secret_sha256', name=op.f('uq_user_sessions_secret_sha256'))
    )
    with op.batch_alter_table('user_sessions') as batch_op:
        batch_op.create_index(batch_op.f('ix_user_sessions_user_id'), ['user_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_user_sessions_expires_at'), ['expires_at'], unique=False)
    op.create_table('sign_in_failures',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('address', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sign_in_failures'))
    )
    with op.batch_alter_table('sign_in_failures') as batch_op:
        batch_op.create_index(batch_op.f('ix_sign_in_failures_at'), ['at'], unique=False)
        batch_op.create_index(batch_op.f('ix_sign_in_failures_email'), ['email'], unique=False)
        batch_op.create_index(batch_op.f('ix_sign_in_failures_address'), ['address'], unique=False)


def downgrade() -> None:
    op.drop_table('sign_in_failures')
    op.drop_table('user_sessions')
    with op.batch_alter_table('api_tokens') as batch_op:
        batch_op.drop_index(batch_op.f('ix_api_tokens_expires_at'))
        batch_op.drop_column('last_used_at')
    with op.batch_alter_table('users') as batch_op:
        batch_op.drop_column('must_change_password')
