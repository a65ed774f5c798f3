"""Spot-check draw and public pages benchmark. Prints ratios against baselines measured in the same run:

1. the draw over N registry entities (default 1,000,000; two regions, three risk levels, one fuel
   dispenser each, ~50 inspectors), `service.draw` in process (seed, entity order, instruments,
   inspectors with recusals, the tasks and the published selection, committed), against the
   bare computation it cannot avoid: `hmac.new(seed, code, sha256).digest()` over the same frozen
   snapshot's codes, plus sorting them by digest. Ratio baseline/draw, target >= 0.5. The baseline
   is measured before and after the draw (their mean is used, so drift in the machine's load hits
   both). Freeze's time (the snapshot query and its SHA-256) is printed too, beside a bare
   `SELECT credit_code ... ORDER BY credit_code` and the hash of the codes.
2. public results served per second by `labs serve` (gunicorn, its worker class and settings)
   against a one-route Flask app served by gunicorn with the same options, both on the same
   machine, driven by `wrk` (or, without it, a threaded Python client) from another process, a few
   seconds each, alternated: `/api/v1/spotchecks/results` (a plain GET and a conditional one with
   the ETag) and the public page `/spotchecks` where it exists. Target >= 0.5.

    .venv/bin/python bench/spotchecks/draw_and_pages.py [--entities 1000000] [--results 300]
        [--database postgresql://postgres@127.0.0.1:5432/postgres] [--skip-draw] [--skip-pages]

SQLite always; PostgreSQL too when --database is given (a database of its own is made and dropped).
"""
from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import hmac
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import requests
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from labs import chain  # noqa: E402
from labs.accounts.service import SYSTEM  # noqa: E402
from labs.app import create_app  # noqa: E402
from labs.cli import upgrade  # noqa: E402
from labs.db import normalise_url, session_scope, utcnow  # noqa: E402
from labs.spotchecks import domain, service  # noqa: E402
from labs.spotchecks.models import (RISK_LEVELS, PublishedResult, Region, RegistryEntity,  # noqa: E402
                                    RegistryInspector, Task)

DB_NAME = "labs_bench_spotchecks_draw"
REGIONS = (("320100", "南京市"), ("320200", "无锡市"))
AFFILIATIONS = ("", "中国石化销售股份有限公司江苏石油分公司", "", "中国石油天然气股份有限公司江苏销售分公司", "")
SHARES = {"high": "0.05", "medium": "0.03", "low": "0.01"}
SECRETS = ("discipline officer's secret 7f3a", "enterprises' observer's secret 91c2")
LABS_BIN = Path(sys.executable).with_name("labs")
CHUNK = 50_000


def check_char(base: str) -> str:
    from stdnum.cn.uscc import calc_check_digit
    return calc_check_digit(base)


class Database:
    """A fresh, migrated database and the app over it."""

    def __init__(self, backend: str, admin_url: str | None):
        self.backend, self.admin_url = backend, admin_url
        self.folder = tempfile.TemporaryDirectory(prefix="labs-bench-")
        if backend == "sqlite":
            self.url = f"sqlite:///{self.folder.name}/labs.sqlite3"
        else:
            admin = create_engine(normalise_url(admin_url), isolation_level="AUTOCOMMIT")
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)'))
                conn.execute(text(f'CREATE DATABASE "{DB_NAME}"'))
            admin.dispose()
            self.url = make_url(admin_url).set(database=DB_NAME).render_as_string(hide_password=False)
        self.app = create_app({"DATABASE_URL": self.url})
        upgrade(self.app)
        self.engine = self.app.extensions["labs.engine"]

    def close(self):
        self.engine.dispose()
        if self.backend != "sqlite":
            admin = create_engine(normalise_url(self.admin_url), isolation_level="AUTOCOMMIT")
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)'))
            admin.dispose()
        self.folder.cleanup()


# --- 1. the draw -----------------------------------------------------------------------------------

def entity_rows(count: int):
    for i in range(1, count + 1):
        region = REGIONS[i % 2][0]
        base = f"91{region}{i:09d}"
        yield (i, base + check_char(base), f"某某加油站有限公司第{i}号", "fuel_station", region,
               RISK_LEVELS[i % 3], AFFILIATIONS[i % len(AFFILIATIONS)])


def _bulk(conn, backend: str, table: str, columns: tuple[str, ...], rows) -> None:
    if backend == "postgresql":
        with conn.connection.driver_connection.cursor() as cursor, \
                cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        return
    statement = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
    batch = []
    for row in rows:
        batch.append(row)
        if len(batch) == CHUNK:
            conn.exec_driver_sql(statement, batch)
            batch = []
    if batch:
        conn.exec_driver_sql(statement, batch)


def fill(db: Database, count: int, inspectors: int) -> list[str]:
    """N entities with one fuel dispenser each, and the inspectors; the codes of some entities, for
    declared conflicts."""
    with session_scope(db.app) as session:
        for code, name in REGIONS:
            session.merge(Region(code=code, name=name))
    with db.engine.begin() as conn:
        _bulk(conn, db.backend, "registry_entities",
              ("id", "credit_code", "name", "kind", "region", "risk_level", "affiliation"), entity_rows(count))
        _bulk(conn, db.backend, "registry_instruments", ("id", "entity_id", "kind", "serial_number", "description"),
              ((i, i, "fuel_dispenser", f"JYJ{i:09d}-1", "1 号岛 1 号枪") for i in range(1, count + 1)))
        if db.backend == "postgresql":
            conn.exec_driver_sql("SELECT setval('registry_entities_id_seq', (SELECT max(id) FROM registry_entities))")
            conn.exec_driver_sql(
                "SELECT setval('registry_instruments_id_seq', (SELECT max(id) FROM registry_instruments))")
            conn.exec_driver_sql("ANALYZE")
        else:
            conn.exec_driver_sql("ANALYZE")
    with session_scope(db.app) as session:
        some = list(session.scalars(select(RegistryEntity.credit_code).order_by(RegistryEntity.id).limit(200)))
        session.add_all([RegistryInspector(
            name=f"检查员{n}", email=f"inspector{n}@bench.example", qualifications=["fuel_dispenser"],
            affiliation=AFFILIATIONS[n % len(AFFILIATIONS)] or f"区局{n % 7}",
            conflicts=some[n::inspectors][:3]) for n in range(inspectors)])
    return some


def frozen_plan(db: Database) -> tuple[int, float]:
    """A plan over everything, two witnesses, frozen (timed) and revealed: (plan id, freeze seconds)."""
    with session_scope(db.app) as session:
        plan = service.create_plan(session, SYSTEM, {
            "name": "bench round", "instrument_kind": "fuel_dispenser", "regions": [c for c, _ in REGIONS],
            "entity_kinds": ["fuel_station"], "shares": SHARES, "inspectors_per_task": 2,
            "instruments_per_entity": 1, "draw_date": dt.date.today()})
        for name, secret in zip(("discipline officer", "observer for the enterprises"), SECRETS):
            service.add_witness(session, SYSTEM, plan.id, name, domain.commitment(secret))
        plan_id = plan.id
    started = time.perf_counter()
    with session_scope(db.app) as session:
        service.freeze(session, SYSTEM, plan_id)
    freeze_s = time.perf_counter() - started
    with session_scope(db.app) as session:
        for position, secret in enumerate(SECRETS, start=1):
            service.reveal(session, SYSTEM, plan_id, position, secret)
    return plan_id, freeze_s


def bare_snapshot(db: Database) -> float:
    """Seconds for the scope's codes in order and their hash, with nothing else."""
    started = time.perf_counter()
    with db.engine.connect() as conn:
        codes = list(conn.execute(select(RegistryEntity.credit_code).order_by(RegistryEntity.credit_code)).scalars())
    hashlib.sha256("\n".join(codes).encode()).hexdigest()
    return time.perf_counter() - started


def baseline(seed: str, codes: list[str]) -> float:
    """hmac.new(seed, code, sha256).digest() over every code, then the codes sorted by digest."""
    started = time.perf_counter()
    key = seed.encode()
    digests = [hmac.new(key, code.encode(), hashlib.sha256).digest() for code in codes]
    order = sorted(range(len(codes)), key=digests.__getitem__)
    assert len(order) == len(codes)
    return time.perf_counter() - started


def bench_draw(db: Database, count: int, inspectors: int) -> None:
    started = time.perf_counter()
    fill(db, count, inspectors)
    print(f"  filled {count:,} entities, {count:,} instruments, {inspectors} inspectors in "
          f"{time.perf_counter() - started:.1f} s", flush=True)
    bare = bare_snapshot(db)
    plan_id, freeze_s = frozen_plan(db)
    with session_scope(db.app) as session:
        plan = service.get_plan(session, plan_id)
        codes = [code for level in plan.snapshot.values() for code in level]
        seed = domain.seed_from_reveals([w.commitment for w in plan.witnesses], [w.secret for w in plan.witnesses])
    print(f"  freeze (scope query, snapshot, SHA-256, stored): {freeze_s:.2f} s for {len(codes):,} codes; "
          f"bare ordered SELECT of the codes + SHA-256 {bare:.2f} s: ratio {bare / freeze_s:.3f}", flush=True)
    before = baseline(seed, codes)
    started = time.perf_counter()
    with session_scope(db.app) as session:
        service.draw(session, SYSTEM, plan_id)
    draw_s = time.perf_counter() - started
    after = baseline(seed, codes)
    with session_scope(db.app) as session:
        tasks = session.scalar(select(func.count()).select_from(Task).where(Task.plan_id == plan_id))
    base = (before + after) / 2
    print(f"  draw ({tasks:,} tasks, shares {SHARES}): {draw_s:.2f} s; baseline hmac.new(...).digest() over "
          f"the snapshot's codes + sort by digest {before:.2f} s before, {after:.2f} s after: "
          f"ratio baseline/draw {base / draw_s:.3f} (target >= 0.5)", flush=True)
    started = time.perf_counter()
    with session_scope(db.app) as session:
        confirmed = service.confirm_draw(session, plan_id)["confirmed"]
    print(f"  (the public re-run, confirm_draw: {time.perf_counter() - started:.2f} s, confirmed {confirmed})",
          flush=True)


# --- 2. public pages per second ---------------------------------------------------------------------

PLAIN_APP = '''
from flask import Flask, jsonify
app = Flask(__name__)

@app.get("/")
def index():
    return jsonify(ok=True)
'''

SERVE_PLAIN = '''
import sys
from gunicorn.app.base import BaseApplication
from labs.server import options

class Plain(BaseApplication):
    def __init__(self, opts):
        self.opts = opts
        super().__init__()

    def load_config(self):
        for key, value in self.opts.items():
            self.cfg.set(key, value)

    def load(self):
        sys.path.insert(0, sys.argv[3])
        from plain_app import app
        return app

Plain(options("127.0.0.1", 0, int(sys.argv[2]), int(sys.argv[1]), int(sys.argv[4]))).run()
'''


def publish_results(db: Database, count: int) -> None:
    """`count` published results (a task each), appended to the chain as results.publish does."""
    with session_scope(db.app) as session:
        plan = service.create_plan(session, SYSTEM, {
            "name": "published round", "instrument_kind": "fuel_dispenser", "regions": [REGIONS[0][0]],
            "entity_kinds": ["fuel_station"], "shares": {"high": "1"}, "draw_date": dt.date.today()})
        entities = list(session.execute(select(RegistryEntity.id, RegistryEntity.credit_code, RegistryEntity.name)
                                        .order_by(RegistryEntity.id.desc()).limit(count)))
        today = dt.date.today()
        for entity_id, code, name in entities:
            task = Task(plan_id=plan.id, entity_id=entity_id, origin="drawn", inspector_ids=[1, 2],
                        concluded_on=today, publish_by=today)
            session.add(task)
            session.flush()
            errors = [{"point": f"Q{k}", "label": f"Q{k} 大流量", "rounded_pct": 0.12 * k, "mpe_low_pct": -0.3,
                       "mpe_high_pct": 0.3, "passed": True} for k in (1, 2, 3)]
            content = {"plan": plan.name, "origin": "drawn",
                       "entity": {"credit_code": code, "name": name, "region": REGIONS[0][0]},
                       "instruments": [{"kind": "fuel_dispenser", "serial_number": f"JYJ{entity_id:09d}-1",
                                        "description": "1 号岛 1 号枪", "conclusion": "pass", "measured_verdict": "pass",
                                        "errors": errors, "rectify_by": None}],
                       "concluded_on": today.isoformat(), "verdict": "pass"}
            row = chain.append(session, PublishedResult(task_id=task.id, plan_id=plan.id, content=content,
                                                        published_on=today, at=utcnow()))
            task.published_at = row.at


def _listener() -> socket.socket:
    return socket.create_server(("127.0.0.1", 0))


class Server:
    """A gunicorn server on a socket bound here and handed over, its log in the bench's folder."""

    def __init__(self, argv: list[str], env: dict, listener: socket.socket, log: Path):
        self.port = listener.getsockname()[1]
        with open(log, "w") as out:
            self.proc = subprocess.Popen(argv, env=env, stdout=out, stderr=subprocess.STDOUT,
                                         pass_fds=[listener.fileno()])
        listener.close()
        self.base = f"http://127.0.0.1:{self.port}"

    def wait(self, path: str) -> None:
        requests.get(self.base + path, timeout=120)

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=30)


def start_labs(db: Database, workers: int, threads: int) -> Server:
    listener = _listener()
    env = {**os.environ, "LABS_DATABASE_URL": db.url, "LABS_INSTANCE_PATH": f"{db.folder.name}/instance",
           "LABS_SECRET_KEY": "bench-server-key-of-at-least-32-bytes-long"}
    server = Server([str(LABS_BIN), "serve", "--fd", str(listener.fileno()), "--workers", str(workers),
                     "--threads", str(threads)], env, listener, Path(db.folder.name) / "labs-serve.log")
    server.wait("/api/v1/spotchecks/results")
    return server


def start_plain(folder: Path, workers: int, threads: int) -> Server:
    (folder / "plain_app.py").write_text(PLAIN_APP)
    (folder / "serve_plain.py").write_text(SERVE_PLAIN)
    listener = _listener()
    server = Server([sys.executable, str(folder / "serve_plain.py"), str(listener.fileno()), str(workers),
                     str(folder), str(threads)], {**os.environ, "PYTHONPATH": str(ROOT)}, listener,
                    folder / "plain-serve.log")
    server.wait("/")
    return server


def _wrk(url: str, seconds: float, connections: int, headers: dict) -> float:
    argv = ["wrk", "-t2", f"-c{connections}", f"-d{seconds:g}s", "--latency"]
    for name, value in headers.items():
        argv += ["-H", f"{name}: {value}"]
    out = subprocess.run(argv + [url], capture_output=True, text=True, check=True).stdout
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if bad:
        raise SystemExit(f"{url}: {bad.group(1)} responses were errors\n{out}")
    return float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))


def _threaded(url: str, seconds: float, connections: int, headers: dict) -> float:
    """Fallback load: `connections` threads of a keep-alive session each, in a process of their own."""
    code = f'''
import threading, time, requests
url, headers, deadline, counts = {url!r}, {headers!r}, time.perf_counter() + {seconds}, []
def work():
    s, n = requests.Session(), 0
    while time.perf_counter() < deadline:
        r = s.get(url, headers=headers)
        assert r.status_code in (200, 304), r.status_code
        n += 1
    counts.append(n)
started = time.perf_counter()
ts = [threading.Thread(target=work) for _ in range({connections})]
[t.start() for t in ts]; [t.join() for t in ts]
print(sum(counts) / (time.perf_counter() - started))
'''
    return float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout)


def load(url: str, seconds: float, connections: int, headers: dict | None = None) -> float:
    return (_wrk if shutil.which("wrk") else _threaded)(url, seconds, connections, headers or {})


def bench_pages(db: Database, results_count: int, workers: int, threads: int, seconds: float, rounds: int) -> None:
    with session_scope(db.app) as session:
        have = session.scalar(select(func.count()).select_from(PublishedResult))
    if have < results_count:
        publish_results(db, results_count - have)
    tool = "wrk" if shutil.which("wrk") else "a threaded Python client"
    labs_server = start_labs(db, workers, threads)
    plain = start_plain(Path(db.folder.name), workers, threads)
    try:
        api = labs_server.base + "/api/v1/spotchecks/results"
        first = requests.get(api)
        assert first.status_code == 200, first.text
        etag = first.headers["ETag"]
        assert requests.get(api, headers={"If-None-Match": etag}).status_code == 304
        page = requests.get(labs_server.base + "/spotchecks")
        targets = [("GET /api/v1/spotchecks/results", api, {}),
                   ("GET /api/v1/spotchecks/results with If-None-Match (304)", api, {"If-None-Match": etag})]
        if page.status_code == 200:
            targets.append(("GET /spotchecks (public HTML page)", labs_server.base + "/spotchecks", {}))
        connections = workers * threads
        for label, url, headers in targets:
            ours, theirs = [], []
            for _ in range(rounds):  # alternated, so drift in the machine's load hits both alike
                theirs.append(load(plain.base + "/", seconds, connections, {}))
                ours.append(load(url, seconds, connections, headers))
            o, t = statistics.median(ours), statistics.median(theirs)
            print(f"  {label}: {o:,.0f} req/s, one-route Flask app {t:,.0f} req/s: ratio {o / t:.3f} "
                  f"(target >= 0.5; {len(first.content):,} bytes a full answer)", flush=True)
        if page.status_code != 200:
            print(f"  GET /spotchecks: not measured, it answers {page.status_code} (no public page yet)", flush=True)
        print(f"  ({results_count} published results; both servers: gunicorn, labs.server options, {workers} "
              f"workers x {threads} threads; load: {tool}, {connections} connections, {seconds:g} s x {rounds} "
              f"rounds each, medians)", flush=True)
    finally:
        labs_server.stop()
        plain.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database", default=None,
                        help="a PostgreSQL URL (its server's admin database); a database is made and dropped")
    parser.add_argument("--entities", type=int, default=1_000_000)
    parser.add_argument("--inspectors", type=int, default=50)
    parser.add_argument("--results", type=int, default=300, help="published results for the pages")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=5)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--skip-draw", action="store_true")
    parser.add_argument("--skip-pages", action="store_true")
    parser.add_argument("--sqlite", action=argparse.BooleanOptionalAction, default=True)
    args = parser.parse_args()
    backends = ([("sqlite", None)] if args.sqlite else []) + ([("postgresql", args.database)] if args.database else [])
    for backend, url in backends:
        print(f"{backend}:", flush=True)
        db = Database(backend, url)
        try:
            if not args.skip_draw:
                bench_draw(db, args.entities, args.inspectors)
            elif not args.skip_pages:
                fill(db, max(args.results, 1000), args.inspectors)
            if not args.skip_pages:
                bench_pages(db, args.results, args.workers, args.threads, args.seconds, args.rounds)
        finally:
            db.close()
    if not args.database:
        print("postgresql: not measured (give --database)")


if __name__ == "__main__":
    main()
