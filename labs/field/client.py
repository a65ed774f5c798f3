"""The laptop's side of field sync (`labs field sync`): upload what was verified on site, then bring
down what the next days on site need, into the laptop's own database. The server's side and what
"the chain continues" means are in labs.field.service.

What it tells the technician (progress, why a sync stopped) are messages (labs.i18n) the command
renders in the terminal's language; the server is asked for its refusals in that language too."""
from __future__ import annotations

import datetime as dt
import json
import socket
import uuid
from typing import Callable

import requests
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session, sessionmaker

from labs import chain
from labs.accounts.models import User
from labs.accounts.service import get_or_create_enterprise
from labs.db import utcnow
from labs.dispatch.models import Assignment, WorkOrder, work_order_instruments
from labs.field import domain
from labs.field.models import FieldDevice
from labs.field.schemas import MAX_BATCH
from labs.field.service import CHAINS, PENDING
from labs.i18n import TAGS, Message, N_, language
from labs.verification.models import (Certificate, CertificateBlock, Procedure, Rig, Verification,
                                      VerifiedInstrument)
from labs.verification.service import CERTIFICATE_PREFIX, local_today

TIMEOUT_S = 60
RIG_FIELDS = ("kind", "link", "serial_number", "restricted", "portable", "settings", "standard_name",
              "standard_certificate_no", "active")


class SyncError(Exception):
    """The sync stopped: why (a message with its params, rendered where it is shown), and the rows
    the server refused (if it refused any, each with its reason in the language asked for)."""

    def __init__(self, message: Message, conflicts: list[dict] | None = None):
        super().__init__(message)
        self.message = message
        self.conflicts = conflicts or []


class Server:
    """The field API of one server, with the technician's bearer token; its refusals come in the
    current language (labs.i18n.language: the terminal's, for `labs field sync`)."""

    def __init__(self, url: str, token: str):
        self.base = url.rstrip("/") + "/api/v1/field"
        self.http = requests.Session()
        self.http.headers["Authorization"] = f"Bearer {token}"
        self.http.headers["Accept-Language"] = TAGS[language()]

    def call(self, method: str, path: str, body: dict | None = None) -> dict:
        try:
            response = self.http.request(method, self.base + path, json=body, timeout=TIMEOUT_S)
        except requests.RequestException as exc:
            raise SyncError(N_("the server cannot be reached (%(error)s): what is on this laptop stays here until "
                               "the next sync") % {"error": exc.__class__.__name__}) from None
        if response.ok:
            return response.json()
        try:
            problem = response.json()
        except ValueError:
            problem = {"detail": response.text[:200]}
        raise SyncError(N_("the server refused %(request)s: %(status)s %(detail)s")
                        % {"request": f"{method} {path}", "status": response.status_code,
                           "detail": problem.get("detail", "")}, problem.get("conflicts"))


def sync(factory: sessionmaker, server: Server, server_url: str, report: Callable[[Message], None],
         batch_size: int = MAX_BATCH) -> dict:
    """Up, then down; what was done, for the terminal (`report` is told each step as a message)."""
    with factory() as session:
        if session.scalar(select(FieldDevice.id).where(FieldDevice.server_url.is_(None)).limit(1)) is not None:
            # Blocks held here would make the server number certificates as a laptop does.
            raise SyncError(N_("this database is a server's (it holds the laptops that sync with it), not a "
                               "laptop's: set %(variable)s to the laptop's own database")
                            % {"variable": "LABS_DATABASE_URL"})
        device = session.scalar(select(FieldDevice))
        key = device.key if device is not None else str(uuid.uuid4())
    status = server.call("POST", "/devices", {"key": key, "name": socket.gethostname()[:100]})
    with factory() as session, session.begin():
        technician = _local_technician(session, status["technician"])
        device = session.scalar(select(FieldDevice))
        if device is None:
            device = FieldDevice(key=key, technician_id=technician.id, name=status["name"])
            session.add(device)
        device.server_url = server_url
    uploaded = upload(factory, server, key, status, report, batch_size)
    today = local_today()
    # In December the next year's numbers come too: a laptop may be on site over the new year.
    years = [today.year] + ([today.year + 1] if today.month == 12 else [])
    with factory() as session:
        for year in years:
            if _free_numbers(session, year) < domain.BLOCK_SIZE // 2:
                server.call("POST", f"/devices/{key}/blocks", {"year": year})
    catalog = server.call("GET", f"/devices/{key}/catalog")
    with factory() as session, session.begin():
        counts = store_catalog(session, key, catalog)
        session.scalar(select(FieldDevice)).synced_at = utcnow()
        free = _free_numbers(session, today.year)
    return {"uploaded": uploaded, **counts, "certificate_numbers_left": free}


# --- up -----------------------------------------------------------------------------------------

def _run_json(v: Verification) -> dict:
    def at(moment):
        return moment.isoformat() if moment else None
    return {"local_id": v.id, "instrument_kind": v.instrument.kind,
            "instrument_serial_number": v.instrument.serial_number, "rig_code": v.rig.code,
            "procedure": v.procedure.name, "nozzle": v.nozzle, "state": v.state, "plan": v.plan,
            "problem": v.problem, "as_found_local_id": v.as_found_id, "adjustment": v.adjustment,
            "seal_number": v.seal_number, "created_at": at(v.created_at), "started_at": at(v.started_at),
            "finished_at": at(v.finished_at)}


def pending_upload(session: Session, status: dict) -> list[tuple[str, dict]]:
    """What the server lacks, in upload order: runs it does not hold or holds in another state, then
    each chain's rows after the last it received, as (table, row). Where the server's last row is
    not this laptop's (a database put back from an older copy), everything goes: the server
    acknowledges the rows it holds as they are and refuses, naming them, the ones it holds otherwise."""
    rows, diverged = [], False
    for table, model in CHAINS.items():
        tail = status["chains"].get(table)
        after = 0
        if tail is not None:
            mine = session.get(model, tail["local_id"])
            if mine is not None and mine.hash == tail["hash"]:
                after = tail["local_id"]
            else:
                diverged = True
        for row in session.scalars(select(model).where(model.id > after).order_by(model.id)):
            rows.append((table, {"local_id": row.id, "prev_hash": row.prev_hash, "hash": row.hash,
                                 "content": json.loads(chain.canonical(row))}))
    held_runs = status["runs"]
    runs = [("runs", _run_json(v)) for v in session.scalars(select(Verification).order_by(Verification.id))
            if diverged or held_runs.get(str(v.id)) != ("failed" if v.state in PENDING else v.state)]
    return runs + rows


def upload(factory: sessionmaker, server: Server, key: str, status: dict, report: Callable[[Message], None],
           batch_size: int = MAX_BATCH) -> dict:
    """Upload in batches; each acknowledged batch is on the server, so a sync cut short (a lost
    network, a killed process) resumes after the last acknowledged batch, and a batch sent again
    is acknowledged without being stored twice."""
    with factory() as session:
        rows = pending_upload(session, status)
    totals = {"runs": 0, **{table: 0 for table in CHAINS}}
    for n, start in enumerate(range(0, len(rows), batch_size), 1):
        batch: dict[str, list] = {"runs": [], **{table: [] for table in CHAINS}}
        for table, row in rows[start:start + batch_size]:
            batch[table].append(row)
        ack = server.call("POST", f"/devices/{key}/uploads", batch)
        totals["runs"] += ack["runs"]
        for table in CHAINS:
            totals[table] += ack[table]["stored"]
        report(N_("batch %(n)s acknowledged: %(runs)s runs, %(readings)s readings, %(results)s results, "
                  "%(certificates)s certificates")
               % {"n": n, "runs": len(batch["runs"]), "readings": len(batch["readings"]),
                  "results": len(batch["verification_results"]), "certificates": len(batch["certificates"])})
    return totals


# --- down ---------------------------------------------------------------------------------------

def _local_technician(session: Session, technician: dict) -> User:
    """The technician as a local user, for `labs verify run --technician`; never signs in here."""
    user = session.scalar(select(User).where(User.email == technician["email"]))
    if user is None:
        user = User(email=technician["email"], role="technician", password_hash="!")
        session.add(user)
    user.name = technician["name"]
    session.flush()
    return user


def store_catalog(session: Session, key: str, catalog: dict) -> dict:
    """Bring the laptop's copy up to date; rows are matched by what both sides know (serial numbers,
    codes), never by id, and nothing the laptop's runs refer to is removed."""
    technician = _local_technician(session, catalog["technician"])
    procedures = {(p.code, p.version): p for p in session.scalars(select(Procedure))}
    for doc in catalog["procedures"]:
        known = procedures.get((doc["code"], doc["version"]))
        if known is None:
            session.add(Procedure(code=doc["code"], version=doc["version"], title=doc["title"],
                                  instrument_kind=doc["instrument_kind"], rig_kind=doc["rig_kind"],
                                  in_force=doc["in_force"], data=doc["data"]))
        else:
            known.in_force = doc["in_force"]  # a version's content never changes; whether it is in force does
    for doc in catalog["instruments"]:
        owner = get_or_create_enterprise(session, doc["owner"]["credit_code"], doc["owner"]["name"])
        instrument = session.scalar(select(VerifiedInstrument).where(
            VerifiedInstrument.kind == doc["kind"], VerifiedInstrument.serial_number == doc["serial_number"]))
        if instrument is None:
            instrument = VerifiedInstrument(kind=doc["kind"], serial_number=doc["serial_number"])
            session.add(instrument)
        instrument.enterprise = owner
        for name in ("model", "manufacturer", "nameplate", "location", "plate_number"):
            setattr(instrument, name, doc[name])
        instrument.next_due = dt.date.fromisoformat(doc["next_due"]) if doc["next_due"] else None
    for doc in catalog["rigs"]:
        rig = session.scalar(select(Rig).where(Rig.code == doc["code"]))
        if rig is None:
            rig = Rig(code=doc["code"])
            session.add(rig)
        for name in RIG_FIELDS:
            setattr(rig, name, doc[name])
        rig.standard_valid_until = dt.date.fromisoformat(doc["standard_valid_until"])
    _store_work_orders(session, technician, catalog["work_orders"])
    held = {(b.year, b.first) for b in session.scalars(select(CertificateBlock))}
    for block in catalog["blocks"]:
        if (block["year"], block["first"]) not in held:
            session.add(CertificateBlock(year=block["year"], first=block["first"], last=block["last"],
                                         device_key=key, here=True))
    session.flush()
    return {"instruments": len(catalog["instruments"]), "procedures": len(catalog["procedures"]),
            "rigs": len(catalog["rigs"]), "work_orders": len(catalog["work_orders"])}


def _store_work_orders(session: Session, technician: User, orders: list[dict]) -> None:
    """The technician's work orders as the server has them now, replacing the laptop's copy; each
    holds the technician and its rigs (colleagues stay on the server)."""
    session.execute(delete(Assignment))
    session.execute(delete(work_order_instruments))
    session.execute(delete(WorkOrder))
    for doc in orders:
        order = WorkOrder(
            enterprise=get_or_create_enterprise(session, doc["owner"]["credit_code"], doc["owner"]["name"]),
            site=doc["site"], day=dt.date.fromisoformat(doc["day"]), state=doc["state"], note=doc["note"],
            starts_at=dt.datetime.fromisoformat(doc["starts_at"]), ends_at=dt.datetime.fromisoformat(doc["ends_at"]),
            instruments=[session.scalar(select(VerifiedInstrument).where(
                VerifiedInstrument.kind == i["kind"], VerifiedInstrument.serial_number == i["serial_number"]))
                for i in doc["instruments"]])
        session.add(order)
        session.flush()
        rigs = session.scalars(select(Rig.id).where(Rig.code.in_(doc["rigs"])))
        for holder in [{"technician_id": technician.id}, *({"rig_id": rig_id} for rig_id in rigs)]:
            session.add(Assignment(work_order_id=order.id, starts_at=order.starts_at, ends_at=order.ends_at,
                                   active=True, **holder))


def _free_numbers(session: Session, year: int) -> int:
    """Certificate numbers of `year` this laptop may still issue, of the kind it has fewer of."""
    blocks = list(session.scalars(select(CertificateBlock).where(CertificateBlock.here,
                                                                 CertificateBlock.year == year)))
    size = sum(b.last - b.first + 1 for b in blocks)
    free = size
    for prefix in CERTIFICATE_PREFIX.values():
        used = sum(session.scalar(select(func.count()).select_from(Certificate).where(
            Certificate.number.between(f"{prefix}{year}-{b.first:06d}", f"{prefix}{year}-{b.last:06d}")))
            for b in blocks)
        free = min(free, size - used)
    return free
