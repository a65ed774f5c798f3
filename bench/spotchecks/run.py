"""Registry import benchmark. Prints ratios against a baseline measured in the same run:

`labs spotcheck import entities` (the service function, in process: validation of every row, then
the write) of N generated entities with valid credit codes, against a bare load of the same CSV
rows (parsed by the csv module) into an empty copy of the table with the same unique key, foreign
key and indexes: COPY on PostgreSQL, executemany INSERT in one transaction on SQLite. The ratio is the
import's rows per second over the bare load's (target at least 0.3).

    .venv/bin/python bench/spotchecks/run.py [--entities 1000000] [--database postgresql://postgres@127.0.0.1:5432/test]

SQLite always; PostgreSQL too when --database is given (a database of its own is made and dropped).
"""
from __future__ import annotations

import argparse
import csv
import tempfile
import time
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from stdnum.cn.uscc import calc_check_digit

from labs.accounts.service import SYSTEM
from labs.app import create_app
from labs.cli import upgrade
from labs.db import normalise_url, session_scope
from labs.spotchecks.models import ENTITY_KINDS, RISK_LEVELS
from labs.spotchecks.registry import import_registry, shipped_regions

DB_NAME = "labs_bench_spotchecks"
COLUMNS = ("credit_code", "name", "kind", "region", "risk_level", "affiliation")
BATCH = 10_000


def generate(path: Path, count: int) -> None:
    regions = [code for code, _ in shipped_regions()]
    with open(path, "w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(COLUMNS)
        for i in range(count):
            region = regions[i % len(regions)]
            base = f"91{region}{i:09d}"
            writer.writerow((base + calc_check_digit(base), f"江苏某某加油站有限公司第{i}号", ENTITY_KINDS[i % 3],
                             region, RISK_LEVELS[i % 3], "中国石化销售股份有限公司江苏石油分公司" if i % 2 else ""))


def csv_rows(path: Path):
    with open(path, encoding="utf-8-sig", newline="") as f:
        reader = csv.reader(f)
        next(reader)
        yield from reader


def bare_load(engine, path: Path) -> float:
    """Seconds to load the CSV's rows into an empty copy of registry_entities, nothing checked."""
    names = ", ".join(COLUMNS)
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.exec_driver_sql("DROP TABLE IF EXISTS bench_entities")
            conn.exec_driver_sql("CREATE TABLE bench_entities (LIKE registry_entities INCLUDING ALL)")
            conn.exec_driver_sql("ALTER TABLE bench_entities ADD FOREIGN KEY (region) REFERENCES regions (code)")
        else:
            conn.exec_driver_sql("DROP TABLE IF EXISTS bench_entities")
            conn.exec_driver_sql(
                "CREATE TABLE bench_entities (id INTEGER PRIMARY KEY, credit_code VARCHAR(18) NOT NULL UNIQUE, "
                "name VARCHAR(200) NOT NULL, kind VARCHAR(40) NOT NULL, region VARCHAR(6) NOT NULL REFERENCES regions (code), "
                "risk_level VARCHAR(8) NOT NULL, affiliation VARCHAR(200) NOT NULL)")
            conn.exec_driver_sql("CREATE INDEX ix_bench_kind ON bench_entities (kind)")
            conn.exec_driver_sql("CREATE INDEX ix_bench_region ON bench_entities (region)")
    started = time.perf_counter()
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            with conn.connection.driver_connection.cursor() as cursor, \
                    cursor.copy(f"COPY bench_entities ({names}) FROM STDIN") as copy:
                for row in csv_rows(path):
                    copy.write_row(row)
        else:
            batch = []
            insert = f"INSERT INTO bench_entities ({names}) VALUES (?, ?, ?, ?, ?, ?)"
            for row in csv_rows(path):
                batch.append(tuple(row))
                if len(batch) == BATCH:
                    conn.exec_driver_sql(insert, batch)
                    batch = []
            if batch:
                conn.exec_driver_sql(insert, batch)
    return time.perf_counter() - started


def service_import(app, path: Path) -> tuple[float, float, int]:
    """Seconds of the whole import and of its first pass (checking every row), and rows added."""
    started = time.perf_counter()
    checked = []

    def progress(phase, _rows, _read):
        if phase == "writing" and not checked:
            checked.append(time.perf_counter() - started)
    with app.app_context(), session_scope(app) as session:
        result = import_registry(session, SYSTEM, "entities", lambda: open(path, "rb"), progress)
    return time.perf_counter() - started, checked[0], result.added


def measure(label: str, url: str, path: Path, count: int) -> None:
    app = create_app({"DATABASE_URL": url})
    upgrade(app)
    engine = app.extensions["labs.engine"]
    bare = bare_load(engine, path)
    ours, checking, added = service_import(app, path)
    assert added == count, (added, count)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM registry_entities")).scalar() == count
    engine.dispose()
    print(f"{label}: {count:,} entities")
    print(f"  bare load         {bare:8.1f} s  {count / bare:12,.0f} rows/s")
    print(f"  labs import       {ours:8.1f} s  {count / ours:12,.0f} rows/s  "
          f"(checking {checking:.1f} s, writing {ours - checking:.1f} s)")
    print(f"  ratio (import / bare throughput): {bare / ours:.2f}  (target >= 0.3)")


def fresh_pg(admin_url: str) -> tuple[str, object]:
    admin = create_engine(normalise_url(admin_url), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{DB_NAME}"'))
    return make_url(admin_url).set(database=DB_NAME).render_as_string(hide_password=False), admin


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--entities", type=int, default=1_000_000)
    parser.add_argument("--database", help="a PostgreSQL URL (its server makes the bench's own database)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "entities.csv"
        started = time.perf_counter()
        generate(path, args.entities)
        print(f"generated {args.entities:,} entities ({path.stat().st_size / 1e6:.0f} MB) in "
              f"{time.perf_counter() - started:.1f} s")
        measure("SQLite", f"sqlite:///{Path(tmp) / 'bench.sqlite3'}", path, args.entities)
        if args.database:
            url, admin = fresh_pg(args.database)
            try:
                measure("PostgreSQL", url, path, args.entities)
            finally:
                with admin.connect() as conn:
                    conn.execute(text(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)'))
                admin.dispose()


if __name__ == "__main__":
    main()
