"""the audit log is append-only: a trigger refuses UPDATE and DELETE on audit_log, as on the
chained verification tables (0004); on PostgreSQL the service's role is also granted no more than
INSERT and SELECT on it (`labs db grant-service-role`)

Revision ID: 0006
Revises: 0005
"""
from alembic import op


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        # labs_append_only() is 0004's: it raises insufficient_privilege naming the table and operation.
        op.execute("CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log "
                   "FOR EACH ROW EXECUTE FUNCTION labs_append_only()")
        return
    for operation in ("UPDATE", "DELETE"):
        op.execute(f"CREATE TRIGGER audit_log_no_{operation.lower()} BEFORE {operation} ON audit_log "
                   f"BEGIN SELECT RAISE(ABORT, 'audit_log rows are append-only: {operation} refused'); END")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_log_append_only ON audit_log")
        return
    for operation in ("update", "delete"):
        op.execute(f"DROP TRIGGER IF EXISTS audit_log_no_{operation}")
