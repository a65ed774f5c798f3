"""verification: instruments under verification, rigs, procedure versions, runs, and the
append-only, hash-chained readings, results and certificates; the technicians of each lab

Revision ID: 0004
Revises: 0003
"""
from alembic import op
import sqlalchemy as sa


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('rigs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('kind', sa.String(length=8), nullable=False),
    sa.Column('link', sa.String(length=300), nullable=False),
    sa.Column('serial_number', sa.String(length=64), nullable=False),
    sa.Column('lab_id', sa.Integer(), nullable=True),
    sa.Column('restricted', sa.Boolean(), nullable=False),
    sa.Column('settings', sa.JSON(), nullable=False),
    sa.Column('standard_name', sa.String(length=200), nullable=False),
    sa.Column('standard_certificate_no', sa.String(length=64), nullable=False),
    sa.Column('standard_valid_until', sa.Date(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('leased_by', sa.String(length=100), nullable=True),
    sa.Column('lease_until', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['lab_id'], ['labs.id'], name=op.f('fk_rigs_lab_id_labs')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_rigs')),
    sa.UniqueConstraint('code', name=op.f('uq_rigs_code'))
    )
    with op.batch_alter_table('rigs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_rigs_lab_id'), ['lab_id'], unique=False)

    op.create_table('verified_instruments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('serial_number', sa.String(length=64), nullable=False),
    sa.Column('enterprise_id', sa.Integer(), nullable=False),
    sa.Column('model', sa.String(length=100), nullable=False),
    sa.Column('manufacturer', sa.String(length=200), nullable=False),
    sa.Column('nameplate', sa.JSON(), nullable=False),
    sa.Column('location', sa.String(length=300), nullable=False),
    sa.Column('plate_number', sa.String(length=20), nullable=True),
    sa.Column('next_due', sa.Date(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['enterprise_id'], ['enterprises.id'], name=op.f('fk_verified_instruments_enterprise_id_enterprises')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_verified_instruments')),
    sa.UniqueConstraint('kind', 'serial_number', name=op.f('uq_verified_instruments_kind'))
    )
    with op.batch_alter_table('verified_instruments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_verified_instruments_enterprise_id'), ['enterprise_id'], unique=False)

    op.create_table('lab_technicians',
    sa.Column('lab_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['lab_id'], ['labs.id'], name=op.f('fk_lab_technicians_lab_id_labs'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_lab_technicians_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('lab_id', 'user_id', name=op.f('pk_lab_technicians'))
    )
    op.create_table('procedures',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('version', sa.String(length=32), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('instrument_kind', sa.String(length=20), nullable=False),
    sa.Column('rig_kind', sa.String(length=8), nullable=False),
    sa.Column('in_force', sa.Boolean(), nullable=False),
    sa.Column('data', sa.JSON(), nullable=False),
    sa.Column('created_by', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['created_by'], ['users.id'], name=op.f('fk_procedures_created_by_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_procedures')),
    sa.UniqueConstraint('code', 'version', name=op.f('uq_procedures_code'))
    )
    op.create_table('verifications',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('instrument_id', sa.Integer(), nullable=False),
    sa.Column('rig_id', sa.Integer(), nullable=False),
    sa.Column('procedure_id', sa.Integer(), nullable=False),
    sa.Column('technician_id', sa.Integer(), nullable=True),
    sa.Column('nozzle', sa.Integer(), nullable=True),
    sa.Column('state', sa.String(length=12), nullable=False),
    sa.Column('plan', sa.JSON(), nullable=False),
    sa.Column('problem', sa.Text(), nullable=True),
    sa.Column('live', sa.JSON(), nullable=True),
    sa.Column('as_found_id', sa.Integer(), nullable=True),
    sa.Column('adjustment', sa.String(length=500), nullable=True),
    sa.Column('seal_number', sa.String(length=64), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['as_found_id'], ['verifications.id'], name=op.f('fk_verifications_as_found_id_verifications')),
    sa.ForeignKeyConstraint(['instrument_id'], ['verified_instruments.id'], name=op.f('fk_verifications_instrument_id_verified_instruments')),
    sa.ForeignKeyConstraint(['procedure_id'], ['procedures.id'], name=op.f('fk_verifications_procedure_id_procedures')),
    sa.ForeignKeyConstraint(['rig_id'], ['rigs.id'], name=op.f('fk_verifications_rig_id_rigs')),
    sa.ForeignKeyConstraint(['technician_id'], ['users.id'], name=op.f('fk_verifications_technician_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_verifications'))
    )
    with op.batch_alter_table('verifications', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_verifications_instrument_id'), ['instrument_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_verifications_rig_id'), ['rig_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_verifications_state'), ['state'], unique=False)

    op.create_table('readings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('verification_id', sa.Integer(), nullable=False),
    sa.Column('point_index', sa.Integer(), nullable=False),
    sa.Column('values', sa.JSON(), nullable=False),
    sa.Column('problem', sa.String(length=300), nullable=True),
    sa.Column('manual', sa.Boolean(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('prev_hash', sa.String(length=64), nullable=False),
    sa.Column('hash', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['verification_id'], ['verifications.id'], name=op.f('fk_readings_verification_id_verifications')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_readings')),
    sa.UniqueConstraint('hash', name=op.f('uq_readings_hash'))
    )
    with op.batch_alter_table('readings', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_readings_verification_id'), ['verification_id'], unique=False)

    op.create_table('verification_results',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('verification_id', sa.Integer(), nullable=False),
    sa.Column('procedure_id', sa.Integer(), nullable=False),
    sa.Column('procedure_name', sa.String(length=70), nullable=False),
    sa.Column('evaluation', sa.JSON(), nullable=False),
    sa.Column('verdict', sa.String(length=4), nullable=False),
    sa.Column('verified_on', sa.Date(), nullable=False),
    sa.Column('next_due', sa.Date(), nullable=True),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('prev_hash', sa.String(length=64), nullable=False),
    sa.Column('hash', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['procedure_id'], ['procedures.id'], name=op.f('fk_verification_results_procedure_id_procedures')),
    sa.ForeignKeyConstraint(['verification_id'], ['verifications.id'], name=op.f('fk_verification_results_verification_id_verifications')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_verification_results')),
    sa.UniqueConstraint('hash', name=op.f('uq_verification_results_hash')),
    sa.UniqueConstraint('verification_id', name=op.f('uq_verification_results_verification_id'))
    )
    op.create_table('certificates',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('number', sa.String(length=32), nullable=False),
    sa.Column('result_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('issued_on', sa.Date(), nullable=False),
    sa.Column('valid_until', sa.Date(), nullable=True),
    sa.Column('public', sa.JSON(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('prev_hash', sa.String(length=64), nullable=False),
    sa.Column('hash', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['result_id'], ['verification_results.id'], name=op.f('fk_certificates_result_id_verification_results')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_certificates')),
    sa.UniqueConstraint('hash', name=op.f('uq_certificates_hash')),
    sa.UniqueConstraint('number', name=op.f('uq_certificates_number')),
    sa.UniqueConstraint('result_id', name=op.f('uq_certificates_result_id'))
    )
    _append_only()


def downgrade() -> None:
    _drop_append_only()
    op.drop_table('certificates')
    op.drop_table('verification_results')
    with op.batch_alter_table('readings', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_readings_verification_id'))

    op.drop_table('readings')
    with op.batch_alter_table('verifications', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_verifications_state'))
        batch_op.drop_index(batch_op.f('ix_verifications_rig_id'))
        batch_op.drop_index(batch_op.f('ix_verifications_instrument_id'))

    op.drop_table('verifications')
    op.drop_table('procedures')
    op.drop_table('lab_technicians')
    with op.batch_alter_table('verified_instruments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_verified_instruments_enterprise_id'))

    op.drop_table('verified_instruments')
    with op.batch_alter_table('rigs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_rigs_lab_id'))

    op.drop_table('rigs')


# Readings, results and certificates are never changed or removed once written: the database
# refuses it, whoever asks (a role with DDL rights can drop the triggers; the hash chain still
# tells, see `labs audit verify`).
APPEND_ONLY = ("readings", "verification_results", "certificates")


def _append_only() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("""
            CREATE FUNCTION labs_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                RAISE EXCEPTION '% rows are append-only: % refused', TG_TABLE_NAME, TG_OP
                    USING ERRCODE = 'insufficient_privilege';
            END $$""")
        for table in APPEND_ONLY:
            op.execute(f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                       f"FOR EACH ROW EXECUTE FUNCTION labs_append_only()")
        return
    for table in APPEND_ONLY:
        for operation in ("UPDATE", "DELETE"):
            op.execute(f"CREATE TRIGGER {table}_no_{operation.lower()} BEFORE {operation} ON {table} "
                       f"BEGIN SELECT RAISE(ABORT, '{table} rows are append-only: {operation} refused'); END")


def _drop_append_only() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in APPEND_ONLY:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
        op.execute("DROP FUNCTION IF EXISTS labs_append_only()")
        return
    for table in APPEND_ONLY:
        for operation in ("update", "delete"):
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_{operation}")
