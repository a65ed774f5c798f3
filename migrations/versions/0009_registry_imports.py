"""spot-check registries: uploaded CSV files imported as jobs; an inspector's e-mail address

Revision ID: 0009
Revises: 0008
"""
from alembic import op
import sqlalchemy as sa


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('registry_imports',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=12), nullable=False),
    sa.Column('filename', sa.String(length=200), nullable=False),
    sa.Column('content', sa.LargeBinary(), nullable=False),
    sa.Column('size_bytes', sa.Integer(), nullable=False),
    sa.Column('state', sa.String(length=10), nullable=False),
    sa.Column('phase', sa.String(length=10), nullable=False),
    sa.Column('bytes_done', sa.Integer(), nullable=False),
    sa.Column('rows_done', sa.Integer(), nullable=False),
    sa.Column('added', sa.Integer(), nullable=False),
    sa.Column('updated', sa.Integer(), nullable=False),
    sa.Column('rejected', sa.Integer(), nullable=False),
    sa.Column('report', sa.JSON(), nullable=False),
    sa.Column('error', sa.Text(), nullable=False),
    sa.Column('created_by', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('heartbeat_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['created_by'], ['users.id'], name=op.f('fk_registry_imports_created_by_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_registry_imports'))
    )
    with op.batch_alter_table('registry_imports', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_registry_imports_state'), ['state'], unique=False)
    with op.batch_alter_table('registry_inspectors', schema=None) as batch_op:
        batch_op.add_column(sa.Column('email', sa.String(length=254), nullable=True))
        batch_op.create_unique_constraint(batch_op.f('uq_registry_inspectors_email'), ['email'])


def downgrade() -> None:
    with op.batch_alter_table('registry_inspectors', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_registry_inspectors_email'), type_='unique')
        batch_op.drop_column('email')
    with op.batch_alter_table('registry_imports', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_registry_imports_state'))
    op.drop_table('registry_imports')
