"""The server's side of field sync: a technician's laptop registers, brings down what it needs to
verify on site with no network, reserves certificate numbers, and uploads its runs and chained rows.

How the hash chain continues across an upload. A laptop's readings, results and certificates are
chained in the laptop's own database (labs.chain), from the genesis hash. The server cannot keep
those hashes as its own: its chains hold other rows in between, and the laptop's rows name the
laptop's ids. So, per table, in labs.chain's order (readings, results, certificates):

1. The server accepts the laptop's rows only as a continuation of what it already received from
   that laptop: the first new row's prev_hash is the hash of the last row received (the genesis
   hash at first), each next row's prev_hash the hash of the row before it, and each row's hash is
   recomputed from the content sent. A row deleted, changed or reordered on the laptop before the
   upload breaks this, and the batch is refused, naming the row.
2. The server appends the row, with its own ids, to its own chain (a new hash over the server's
   previous row), and appends a receipt (FieldRecord, itself chained) holding the laptop's content,
   the laptop's prev_hash and hash, and the server row's id. The laptop's chain stays verifiable
   from the receipts (sha256(prev_hash + content) == hash, row after row), and the server's chain
   vouches for the receipts: `labs audit verify` passes on both sides, and a receipt changed later
   breaks the server's chain.

Idempotency: a row is keyed by (laptop, table, the laptop's id). A row received again with the
same hash is acknowledged and not stored twice; with another hash it is refused and reported (409,
`conflicts`), as is a result for a run that already has one or a certificate number the server
holds for another certificate. A refused batch writes nothing.

Certificate numbers come from blocks the server reserves for each laptop (numbers from
FIELD_NUMBERS_FROM up, labs.verification.service), so a certificate handed over on site bears its
final number, and an uploaded certificate must bear a number from its laptop's blocks.
"""
from __future__ import annotations

import datetime as dt
import json

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from labs import audit, chain
from labs.accounts.models import User
from labs.accounts.service import require_role
from labs.catalog.models import lab_technicians
from labs.db import utcnow
from labs.dispatch import service as dispatch
from labs.dispatch.domain import OPEN as OPEN_ORDERS
from labs.dispatch.models import Assignment, WorkOrder
from labs.errors import Conflict, Forbidden, Invalid, NotFound
from labs.field import domain
from labs.field.models import FieldDevice, FieldRecord, FieldRun
from labs.i18n import N_, render
from labs.verification import domain as vdomain, service as verification
from labs.verification.models import (Certificate, CertificateBlock, Procedure, Reading, Result, Rig,
                                      Verification, VerifiedInstrument)

CHAINS = {"readings": Reading, "verification_results": Result, "certificates": Certificate}  # labs.chain order
PENDING = ("queued", "running")
WORK_ORDER_DAYS = 14  # how far ahead a laptop takes the technician's work orders (and their instruments)


def _technician(actor: User | None) -> User:
    return require_role(actor, "technician")


def _device(session: Session, actor: User | None, key: str, lock: bool = False) -> FieldDevice:
    """The technician's own laptop; another's is not found (its existence is theirs). `lock` holds
    its row until the transaction ends (PostgreSQL; SQLite's BEGIN IMMEDIATE already does)."""
    technician = _technician(actor)
    query = select(FieldDevice).where(FieldDevice.key == str(key))
    device = session.scalar(query.with_for_update() if lock else query)
    if device is None or device.technician_id != technician.id:
        raise NotFound(N_("no laptop %(key)s of yours: register it first"), code="field_device_unknown",
                       params={"key": str(key)})
    return device


def register_device(session: Session, actor: User | None, key: str, name: str) -> dict:
    """Register the technician's laptop (again: idempotent) and tell it what the server holds of it."""
    technician = _technician(actor)
    device = session.scalar(select(FieldDevice).where(FieldDevice.key == str(key)))
    if device is not None and device.technician_id != technician.id:
        raise Conflict(N_("this laptop's database belongs to another technician"), code="field_device_taken")
    if device is None:
        device = FieldDevice(key=str(key), technician_id=technician.id, name=name)
        session.add(device)
        session.flush()
        audit.record(session, technician.id, "field.device.register", "field_device", device.id, None,
                     {"key": device.key, "name": name})
    device.name, device.synced_at = name, utcnow()
    return device_status(session, device)


def device_status(session: Session, device: FieldDevice) -> dict:
    runs = session.execute(select(FieldRun.local_id, Verification.state)
                           .join(Verification, Verification.id == FieldRun.verification_id)
                           .where(FieldRun.device_id == device.id))
    chains = {}
    for table in CHAINS:
        last = _last_received(session, device, table)
        if last is not None:
            chains[table] = {"local_id": last.local_id, "hash": last.local_hash}
    return {"key": device.key, "name": device.name, "technician": device.technician,
            "runs": {str(local_id): state for local_id, state in runs}, "chains": chains}


def _last_received(session: Session, device: FieldDevice, table: str) -> FieldRecord | None:
    return session.scalar(select(FieldRecord).where(FieldRecord.device_id == device.id,
                                                    FieldRecord.table_name == table)
                          .order_by(FieldRecord.local_id.desc()).limit(1))


def field_rigs(session: Session, technician: User) -> list[Rig]:
    """The rigs a technician takes on site: the bureau's (no lab), their own labs', and the portable
    rigs assigned with them to an open work order."""
    own_labs = select(lab_technicians.c.lab_id).where(lab_technicians.c.user_id == technician.id)
    their_orders = select(Assignment.work_order_id).where(Assignment.technician_id == technician.id,
                                                          Assignment.active)
    assigned = select(Assignment.rig_id).join(WorkOrder).where(
        Assignment.work_order_id.in_(their_orders), Assignment.active, WorkOrder.state.in_(OPEN_ORDERS))
    return list(session.scalars(select(Rig).where(
        Rig.active, or_(Rig.lab_id.is_(None), Rig.lab_id.in_(own_labs), Rig.id.in_(assigned))).order_by(Rig.code)))


def catalog(session: Session, actor: User | None, key: str) -> dict:
    """What the laptop needs to verify with no network: the technician's open work orders of the
    next WORK_ORDER_DAYS days with their instruments, the procedures, the technician's rigs with
    their standards' certificates, and the laptop's certificate number blocks."""
    device = _device(session, actor, key)
    today = dispatch.local_today()
    orders = dispatch.work_orders_for(session, device.technician, today,
                                      today + dt.timedelta(days=WORK_ORDER_DAYS - 1))
    instruments = {i.id: i for order in orders for i in order.instruments}
    return {"technician": device.technician, "instruments": [instruments[i] for i in sorted(instruments)],
            "procedures": list(session.scalars(select(Procedure).order_by(Procedure.id))),
            "rigs": field_rigs(session, device.technician), "blocks": _blocks(session, device),
            "work_orders": orders}


def _blocks(session: Session, device: FieldDevice) -> list[CertificateBlock]:
    return list(session.scalars(select(CertificateBlock).where(CertificateBlock.device_key == device.key)
                                .order_by(CertificateBlock.year, CertificateBlock.first)))


def reserve_block(session: Session, actor: User | None, key: str, year: int) -> CertificateBlock:
    """Reserve the next block of certificate numbers of `year` for the laptop."""
    device = _device(session, actor, key)
    chain.lock(session, Certificate)  # numbering and reserving are serialised together
    taken = [domain.Block(b.year, b.first, b.last) for b in session.scalars(
        select(CertificateBlock).where(CertificateBlock.year == year))]
    block = domain.next_block(year, taken, verification.FIELD_NUMBERS_FROM)
    if block is None:
        raise Conflict(N_("no certificate numbers of %(year)s are left to reserve"), code="field_numbers_exhausted",
                       params={"year": year})
    row = CertificateBlock(year=year, first=block.first, last=block.last, device_key=device.key, here=False)
    session.add(row)
    session.flush()
    audit.record(session, device.technician_id, "field.block.reserve", "field_device", device.id, None,
                 {"year": year, "first": block.first, "last": block.last})
    return row


# --- upload -------------------------------------------------------------------------------------

class _Refusal(Exception):
    """One row refused; the batch's 409 lists each, in the reader's language."""

    def __init__(self, table: str, local_id: int, code: str, message: str, **params):
        super().__init__(message)
        self.conflict = {"table": table, "local_id": local_id, "code": code,
                         "detail": render(message, {"table": table, "local_id": local_id, **params})}


def upload(session: Session, actor: User | None, key: str, batch: dict) -> dict:
    """Store one batch (see the module's docstring); all of it, or nothing with the conflicts named.
    One batch of a laptop at a time: a batch sent again while the server still stores the first
    (the laptop's sync killed and started again) waits for it, then finds its rows held."""
    device = _device(session, actor, key, lock=True)
    for run in sorted(batch["runs"], key=lambda r: r["local_id"]):
        _store_run(session, device, run)
    acks, conflicts = {}, []
    for table, model in CHAINS.items():
        acks[table] = {"stored": 0, "held": 0}
        tail = _last_received(session, device, table)
        tail_hash = tail.local_hash if tail is not None else chain.GENESIS
        for row in sorted(batch[table], key=lambda r: r["local_id"]):
            try:
                if _receive(session, device, table, model, row, tail_hash):
                    acks[table]["stored"] += 1
                    tail_hash = row["hash"]
                else:
                    acks[table]["held"] += 1
            except _Refusal as refusal:
                conflicts.append(refusal.conflict)
                break  # the rows after it cannot continue the chain
    if conflicts:
        raise Conflict(N_("the server refused rows of this upload: nothing of it was stored"),
                       code="field_upload_refused", conflicts=conflicts)
    device.synced_at = utcnow()
    audit.record(session, device.technician_id, "field.upload", "field_device", device.id, None,
                 {"runs": len(batch["runs"]), **{t: a["stored"] for t, a in acks.items()}})
    return {"runs": len(batch["runs"]), **acks}


def _run_of(session: Session, device: FieldDevice, local_id: int) -> FieldRun | None:
    return session.scalar(select(FieldRun).where(FieldRun.device_id == device.id, FieldRun.local_id == local_id))


def _store_run(session: Session, device: FieldDevice, run: dict) -> None:
    """Create the server's run for a laptop's run, or bring its state up to date. A run still open on
    the laptop is stored as failed, saying so, so that no runner here drives its rig."""
    technician = device.technician
    instrument = session.scalar(select(VerifiedInstrument).where(
        VerifiedInstrument.kind == run["instrument_kind"],
        VerifiedInstrument.serial_number == run["instrument_serial_number"]))
    rig = session.scalar(select(Rig).where(Rig.code == run["rig_code"]))
    code, _, version = run["procedure"].rpartition("-")
    procedure = session.scalar(select(Procedure).where(Procedure.code == code, Procedure.version == version))
    errors = {}
    if instrument is None:
        errors["instrument_serial_number"] = [N_("no instrument of this kind with serial number %(serial_number)s")]
    if procedure is None:
        errors["procedure"] = [N_("no procedure %(procedure)s")]
    if rig is None:
        errors["rig_code"] = [N_("no rig %(rig)s")]
    if errors:
        raise Invalid(N_("run %(local_id)s names what the server does not hold"), errors,
                      code="field_run_unknown", params={"local_id": run["local_id"], "rig": run["rig_code"],
                                                        "serial_number": run["instrument_serial_number"],
                                                        "procedure": run["procedure"]})
    if rig not in field_rigs(session, technician):
        raise Forbidden(N_("rig %(rig)s is not one of your rigs"), code="field_rig_not_yours",
                        params={"rig": rig.code})
    if procedure.instrument_kind != instrument.kind or procedure.rig_kind != rig.kind:
        raise Invalid(N_("run %(local_id)s: the procedure does not fit the instrument or the rig"),
                      {"procedure": [N_("%(procedure)s verifies a %(kind)s on a %(rig_kind)s rig")]},
                      code="field_run_misfit", params={"local_id": run["local_id"], "procedure": procedure.name,
                                                       "kind": procedure.instrument_kind,
                                                       "rig_kind": procedure.rig_kind.upper()})
    as_found_id = None
    if run.get("as_found_local_id") is not None:
        as_found = _run_of(session, device, run["as_found_local_id"])
        if as_found is None:
            raise Invalid(N_("run %(local_id)s: its as-found run was not uploaded"),
                          {"as_found_local_id": [N_("upload the as-found run first")]}, code="field_run_unknown",
                          params={"local_id": run["local_id"]})
        as_found_id = as_found.verification_id
    state, problem = run["state"], run.get("problem")
    if state in PENDING:
        state, problem = "failed", f"still open on laptop {device.name or device.key} when it synced"
    known = _run_of(session, device, run["local_id"])
    if known is not None:
        v = session.get(Verification, known.verification_id)
        if (v.instrument_id, v.rig_id, v.procedure_id, v.nozzle, v.plan) != (
                instrument.id, rig.id, procedure.id, run.get("nozzle"), run["plan"]):
            raise Conflict(N_("run %(local_id)s differs from the run the server holds for it"),
                           code="field_run_differs", params={"local_id": run["local_id"]},
                           conflicts=[{"table": "verifications", "local_id": run["local_id"],
                                       "code": "field_run_differs"}])
        v.state, v.problem, v.started_at, v.finished_at = state, problem, run.get("started_at"), run.get("finished_at")
        return
    v = Verification(instrument_id=instrument.id, rig_id=rig.id, procedure_id=procedure.id,
                     technician_id=technician.id, nozzle=run.get("nozzle"), state=state, plan=run["plan"],
                     problem=problem, as_found_id=as_found_id, adjustment=run.get("adjustment"),
                     seal_number=run.get("seal_number"), created_at=run["created_at"],
                     started_at=run.get("started_at"), finished_at=run.get("finished_at"))
    session.add(v)
    session.flush()
    session.add(FieldRun(device_id=device.id, local_id=run["local_id"], verification_id=v.id))
    audit.record(session, technician.id, "verification.field_upload", "verification", v.id, None,
                 {"device": device.key, "local_id": run["local_id"], "state": state})


def _receive(session: Session, device: FieldDevice, table: str, model: type, row: dict, tail_hash: str) -> bool:
    """Store one sealed row; False when the server already holds it, identical."""
    local_id, content = row["local_id"], row["content"]
    held = session.scalar(select(FieldRecord).where(FieldRecord.device_id == device.id,
                                                    FieldRecord.table_name == table,
                                                    FieldRecord.local_id == local_id))
    if held is not None:
        if held.local_hash == row["hash"]:
            return False
        raise _Refusal(table, local_id, "field_row_differs",
                       N_("the server holds a different %(table)s row %(local_id)s from this laptop"))
    if domain.break_in([domain.Sealed(local_id, row["prev_hash"], row["hash"])], tail_hash) is not None:
        raise _Refusal(table, local_id, "field_chain_broken",
                       N_("%(table)s row %(local_id)s does not follow the last row received from this laptop: "
                          "a row was removed or changed on the laptop"))
    sealed = model(**content)
    if chain._digest(row["prev_hash"], sealed) != row["hash"]:
        raise _Refusal(table, local_id, "field_hash_mismatch",
                       N_("%(table)s row %(local_id)s: its hash does not match its content"))
    as_laptop = chain.canonical(sealed)  # the content exactly as hashed, before the ids are the server's
    server_row = chain.append(session, model(**_server_content(session, device, table, content, local_id)))
    chain.append(session, FieldRecord(device_id=device.id, table_name=table, local_id=local_id,
                                      local_prev_hash=row["prev_hash"], local_hash=row["hash"],
                                      content=json.loads(as_laptop), row_id=server_row.id, at=utcnow()))
    # As when a run concludes on the server (labs.verification.service.conclude):
    if table == "verification_results":
        server_row.verification.instrument.next_due = server_row.next_due
    if table == "certificates":
        for hook in verification.CONCLUDED:  # e.g. the request that waits on the instrument
            hook(session, server_row)
    return True


def _server_content(session: Session, device: FieldDevice, table: str, content: dict, local_id: int) -> dict:
    """The laptop's content with the server's ids, checked against what the server holds."""
    if table == "certificates":
        received = session.scalar(select(FieldRecord).where(
            FieldRecord.device_id == device.id, FieldRecord.table_name == "verification_results",
            FieldRecord.local_id == content["result_id"]))
        if received is None:
            raise _Refusal(table, local_id, "field_row_unknown",
                           N_("certificate %(number)s: its result was not uploaded"), number=content["number"])
        if not any(domain.Block(b.year, b.first, b.last).holds(content["number"]) for b in _blocks(session, device)):
            raise _Refusal(table, local_id, "field_number_not_reserved",
                           N_("certificate %(number)s: not a number reserved for this laptop"),
                           number=content["number"])
        if session.scalar(select(Certificate.id).where(Certificate.number == content["number"])) is not None:
            raise _Refusal(table, local_id, "field_number_taken",
                           N_("the server holds another certificate numbered %(number)s"), number=content["number"])
        if _public_differs(content, session.get(Result, received.row_id)):
            raise _Refusal(table, local_id, "field_public_differs",
                           N_("certificate %(number)s: its public particulars do not match its run"),
                           number=content["number"])
        return {**content, "result_id": received.row_id}
    run = _run_of(session, device, content["verification_id"])
    if run is None:
        raise _Refusal(table, local_id, "field_row_unknown",
                       N_("%(table)s row %(local_id)s: its run %(run)s was not uploaded"),
                       run=content["verification_id"])
    if table == "verification_results":
        verification_row = session.get(Verification, run.verification_id)
        if verification.result_of(session, run.verification_id) is not None:
            raise _Refusal(table, local_id, "field_result_differs",
                           N_("the server holds another result for run %(run)s"), run=content["verification_id"])
        if content["procedure_name"] != verification_row.procedure.name:
            raise _Refusal(table, local_id, "field_row_differs",
                           N_("result %(local_id)s names %(procedure)s, its run %(run_procedure)s"),
                           procedure=content["procedure_name"], run_procedure=verification_row.procedure.name)
        if (content["verdict"], content["evaluation"]) != _evaluated(session, verification_row):
            raise _Refusal(table, local_id, "field_result_unproven",
                           N_("result %(local_id)s does not follow from the readings uploaded for its run"))
        return {**content, "verification_id": run.verification_id, "procedure_id": verification_row.procedure_id}
    return {**content, "verification_id": run.verification_id}


def _public_differs(content: dict, result: Result) -> bool:
    """Whether the certificate disagrees with its result (a certificate for a pass, a notice of
    failure otherwise) or what the public page would show disagrees with the server's run: the
    number, the kind, the instrument and its owner."""
    kind = "certificate" if result.verdict == "pass" else "failure_notice"
    public, instrument = content["public"], result.verification.instrument
    try:
        shown = (public["number"], public["kind"], public["verdict"], public["instrument"]["kind"],
                 public["instrument"]["serial_number"], public["owner"]["credit_code"], public["owner"]["name"])
    except (KeyError, TypeError):
        return True
    return (content["kind"] != kind or not content["number"].startswith(verification.CERTIFICATE_PREFIX[kind])
            or shown != (content["number"], kind, result.verdict, instrument.kind, instrument.serial_number,
                         instrument.enterprise.credit_code, instrument.enterprise.name))


def _evaluated(session: Session, run: Verification) -> tuple[str, dict] | None:
    """The verdict and evaluation the server computes from the run's readings it holds, as the
    engine concludes (labs.verification.engine): what an uploaded result must say. None when the
    run's plan cannot be evaluated against its instrument."""
    readings: dict[int, list[dict]] = {}
    for reading in verification.readings_of(session, run.id):
        if not reading.problem:
            readings.setdefault(reading.point_index, []).append(reading.values)
    try:
        evaluation = vdomain.evaluate(run.procedure.data, run.instrument.nameplate, verification.plan_points(run),
                                      readings)
    except (ValueError, KeyError, TypeError, ArithmeticError, IndexError):
        return None
    return evaluation.verdict, json.loads(json.dumps(evaluation.as_dict()))
