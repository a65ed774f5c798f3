"""PostgreSQL: plans and published results tell listeners when they change (labs.db.read_outside_transaction
keeps what the public pages check until then, rather than asking at every request)

Revision ID: 0017
Revises: 0016
"""
from alembic import op


revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None

TABLES = ('spotcheck_plans', 'spotcheck_published_results')  # what the public spot-check pages show


def upgrade() -> None:
    if op.get_bind().dialect.name != 'postgresql':
        return  # SQLite readers ask the file's data version instead
    op.execute("""
        CREATE FUNCTION labs_change_notice() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            PERFORM pg_notify('labs_change', TG_TABLE_NAME);
            RETURN NULL;
        END $$""")
    for table in TABLES:
        op.execute(f"CREATE TRIGGER labs_change_notice AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON {table} "
                   "FOR EACH STATEMENT EXECUTE FUNCTION labs_change_notice()")


def downgrade() -> None:
    if op.get_bind().dialect.name != 'postgresql':
        return
    for table in TABLES:
        op.execute(f"DROP TRIGGER labs_change_notice ON {table}")
    op.execute("DROP FUNCTION labs_change_notice()")
