"""The service's database role on PostgreSQL: it reads and writes the service's tables, but may only
insert and read the audit log and the chained verification records. Migrations run as the owner
role (LABS_MIGRATION_DATABASE_URL), the service as this one (LABS_DATABASE_URL); the triggers of
migrations 0004 and 0006 refuse UPDATE and DELETE on those tables to the owner too.

`labs db grant-service-role ROLE` runs `service_role_sql(ROLE)` as the owner; run it again after each
`labs db upgrade` (new tables are covered by the default privileges it sets, new append-only ones
need the revocation).
"""
from __future__ import annotations

import re

from sqlalchemy.engine import Engine

import labs.models  # noqa: F401  (every table, so every chained one is known)
from labs import chain

# Rows that are never changed or removed once written: the audit log and every hash-chained table
# (readings, verification results, certificates, published spot-check results).
APPEND_ONLY = ("audit_log", *chain.chained_tables())
_ROLE = re.compile(r"^[a-z_][a-z0-9_$]{0,62}$")


def service_role_sql(role: str, owner: str | None = None) -> list[str]:
    """The statements that give `role` what the service needs and no more. `owner` is the role that
    runs migrations (the default privileges are for the tables it creates later)."""
    if not _ROLE.fullmatch(role):
        raise ValueError(f"not a plain PostgreSQL role name (lower case, digits, _): {role!r}")
    creator = f" FOR ROLE {owner}" if owner else ""
    if owner is not None and not _ROLE.fullmatch(owner):
        raise ValueError(f"not a plain PostgreSQL role name: {owner!r}")
    statements = [
        f"GRANT USAGE ON SCHEMA public TO {role}",
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {role}",
        f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {role}",
        f"ALTER DEFAULT PRIVILEGES{creator} IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {role}",
        f"ALTER DEFAULT PRIVILEGES{creator} IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO {role}",
        # The schema's version is the migrations' business.
        f"REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON alembic_version FROM {role}",
    ]
    statements += [f"REVOKE UPDATE, DELETE, TRUNCATE ON {table} FROM {role}"
                   for table in APPEND_ONLY]
    statements += [f"GRANT SELECT, INSERT ON {table} TO {role}" for table in APPEND_ONLY]
    return statements


def grant_service_role(engine: Engine, role: str) -> list[str]:
    """Run service_role_sql(role) as the engine's (owner) role, in one transaction; the statements."""
    if engine.dialect.name != "postgresql":
        raise ValueError("database roles are PostgreSQL's: SQLite has none to grant")
    with engine.begin() as conn:
        owner = conn.exec_driver_sql("SELECT current_user").scalar()
        exists = conn.exec_driver_sql("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)).scalar()
        if not exists:
            raise ValueError(f"no role {role!r}: create it first (CREATE ROLE {role} LOGIN PASSWORD '...')")
        statements = service_role_sql(role, owner if _ROLE.fullmatch(owner) else None)
        for statement in statements:
            conn.exec_driver_sql(statement)
    return statements
