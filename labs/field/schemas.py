"""The marshmallow schemas of the field API: a laptop's registration, what it brings down, and the
batches it uploads (each chained row with its content exactly as the laptop hashed it)."""
from __future__ import annotations

import marshmallow as ma

from labs.api import CalendarDate, Id, Line, Moment
from labs.dispatch.domain import STATES as WORK_ORDER_STATES
from labs.field.domain import BLOCK_SIZE
from labs.field.service import WORK_ORDER_DAYS
from labs.verification.domain import FAIL, PASS, READING_FIELDS
from labs.verification.models import INSTRUMENT_KINDS, RUN_STATES
from labs.verification.schemas import OwnerOut, ProcedureOut, RigOut, VerifiedInstrumentOut
from labs.verification.service import CERTIFICATE_PREFIX

MAX_BATCH = 200  # rows per upload request: a few hundred kilobytes, well inside the body limit
HASH = ma.validate.Regexp(r"^[0-9a-f]{64}$")
RUN_STATE = "the run's state on the laptop; a run still queued or running is stored as failed, saying so"
LOCAL_RUN = "the laptop's id of the run (its `local_id`), uploaded in this batch or before"


def _line(max_length: int, **kw) -> ma.fields.String:
    return Line(validate=ma.validate.Length(max=max_length), **kw)


class DeviceIn(ma.Schema):
    key = ma.fields.UUID(required=True, metadata={"description": "a UUID the laptop made for itself"})
    name = _line(100, load_default="", metadata={"description": "what the technician calls the laptop"})


class TechnicianOut(ma.Schema):
    email = ma.fields.String(metadata={"description": "the technician's e-mail address"})
    name = ma.fields.String(metadata={"description": "the technician's name"})


class ChainTailOut(ma.Schema):
    local_id = ma.fields.Integer(metadata={"description": "the laptop's id of the last row received"})
    hash = ma.fields.String(metadata={"description": "its hash as the laptop sealed it: the next row's `prev_hash`"})


class DeviceOut(ma.Schema):
    key = ma.fields.String(metadata={"description": "the UUID the laptop made for itself"})
    name = ma.fields.String(metadata={"description": "what the technician calls the laptop"})
    technician = ma.fields.Nested(TechnicianOut)
    runs = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.String(validate=ma.validate.OneOf(RUN_STATES)),
                          metadata={"description": "the laptop's run ids the server holds, with their state"})
    chains = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.Nested(ChainTailOut),
                            metadata={"description": "per chained table, the last row received from the laptop"})


class BlockIn(ma.Schema):
    year = ma.fields.Integer(required=True, validate=ma.validate.Range(min=2000, max=2199),
                             metadata={"description": "the year of the certificates to number"})


class BlockOut(ma.Schema):
    year = ma.fields.Integer(metadata={"description": "the year of the numbers (JD2026-..., TZ2026-...)"})
    first = ma.fields.Integer(
        metadata={"description": f"the block's first number, the six digits after the year; {BLOCK_SIZE} a block"})
    last = ma.fields.Integer(metadata={"description": "its last number, included"})


class WorkOrderInstrumentOut(ma.Schema):
    kind = ma.fields.String(validate=ma.validate.OneOf(INSTRUMENT_KINDS), metadata={"description": "what it is"})
    serial_number = ma.fields.String(metadata={"description": "its serial number; with `kind`, names it"})


class FieldWorkOrderOut(ma.Schema):
    """A work order as the laptop keeps it: named by what both sides know, nobody else's details."""

    id = ma.fields.Integer(metadata={"description": "the work order's id"})
    owner = ma.fields.Nested(OwnerOut, attribute="enterprise")
    site = ma.fields.String(metadata={"description": "where the instruments are: the site's address"})
    day = ma.fields.Date(metadata={"description": "the day of the work, local time"})
    starts_at = ma.fields.AwareDateTime(metadata={"description": "when the work begins, with its UTC offset"})
    ends_at = ma.fields.AwareDateTime(metadata={"description": "when it ends, with its UTC offset"})
    state = ma.fields.String(validate=ma.validate.OneOf(WORK_ORDER_STATES), metadata={
        "description": "planned or in_progress (the laptop takes only these); done; cancelled"})
    note = ma.fields.String(metadata={"description": "what the technicians should know; empty: nothing"})
    instruments = ma.fields.List(ma.fields.Nested(WorkOrderInstrumentOut),
                                 metadata={"description": "the instruments to verify there"})
    rigs = ma.fields.Function(lambda o: [r.code for r in o.rigs], metadata={
        "type": "array", "items": {"type": "string"}, "description": "the codes of the rigs assigned to it"})


class CatalogOut(ma.Schema):
    technician = ma.fields.Nested(TechnicianOut)
    instruments = ma.fields.List(ma.fields.Nested(VerifiedInstrumentOut),
                                 metadata={"description": "the instruments of `work_orders`, by id"})
    procedures = ma.fields.List(ma.fields.Nested(ProcedureOut), metadata={"description": "every procedure, by id"})
    rigs = ma.fields.List(ma.fields.Nested(RigOut), metadata={
        "description": "the rigs the technician may use on site: the bureau's, their labs' and the portable "
                       "rigs assigned with them to an open work order"})
    blocks = ma.fields.List(ma.fields.Nested(BlockOut),
                            metadata={"description": "the certificate numbers reserved for the laptop"})
    work_orders = ma.fields.Nested(FieldWorkOrderOut, many=True, metadata={
        "description": f"the technician's open work orders from today for {WORK_ORDER_DAYS} days"})


class PointIn(ma.Schema):
    """A point of a run's plan, as labs.verification.domain.Point holds it."""

    index = ma.fields.Integer(required=True, validate=ma.validate.Range(min=0, max=1000),
                              metadata={"description": "its place in the plan, from 0"})
    key = _line(64, required=True, metadata={"description": "its stable name (Q1, Imax PF1, starting, creep, ...)"})
    label = _line(200, required=True, metadata={"description": "its short description, for the certificate"})
    operation = ma.fields.String(required=True, validate=ma.validate.OneOf(tuple(READING_FIELDS)), metadata={
        "description": "what the rig does: delivery (a fuel dispenser's volume); error, starting, creep (an "
                       "electricity meter's pulses); distance, standing (a taxi meter)"})
    settings = ma.fields.Dict(required=True, keys=ma.fields.String(validate=ma.validate.Length(max=64)),
                              metadata={"description": "what the rig is commanded with, as the procedure says"})
    repetitions = ma.fields.Integer(required=True, validate=ma.validate.Range(min=1, max=100),
                                    metadata={"description": "the readings the point needs, at least"})


class RunIn(ma.Schema):
    """A run as the laptop holds it, named by what both sides know (serial numbers, codes)."""

    local_id = Id(required=True, metadata={"description": "the run's id on the laptop"})
    instrument_kind = ma.fields.String(required=True, validate=ma.validate.OneOf(INSTRUMENT_KINDS),
                                       metadata={"description": "the kind of instrument verified"})
    instrument_serial_number = _line(64, required=True,
                                     metadata={"description": "its serial number; with the kind, names it"})
    rig_code = _line(32, required=True, metadata={"description": "the rig used, one of the technician's"})
    procedure = _line(70, required=True, metadata={"description": "code-version, e.g. JJG 443-2023"})
    nozzle = ma.fields.Integer(allow_none=True, validate=ma.validate.Range(min=1, max=99),
                               metadata={"description": "the fuel dispenser's nozzle verified; null: not a dispenser"})
    state = ma.fields.String(required=True, validate=ma.validate.OneOf(RUN_STATES),
                             metadata={"description": RUN_STATE})
    plan = ma.fields.List(ma.fields.Nested(PointIn), required=True, validate=ma.validate.Length(max=100),
                          metadata={"description": "the points, fixed when the run was made"})
    problem = _line(2000, allow_none=True, metadata={"description": "why it failed or stalled; null: nothing"})
    as_found_local_id = Id(allow_none=True, metadata={
        "description": "the laptop's id of the as-found run this one repeats after an adjustment, uploaded "
                       "first; null: this is not an as-left run"})
    adjustment = _line(500, allow_none=True,
                       metadata={"description": "what was adjusted after the as-found run; null: nothing"})
    seal_number = _line(64, allow_none=True, metadata={"description": "the seal put on the instrument; null: none"})
    created_at = Moment(required=True, metadata={"description": "when the run was made on the laptop"})
    started_at = Moment(allow_none=True, metadata={"description": "when the rig started; null: not started"})
    finished_at = Moment(allow_none=True, metadata={"description": "when it finished; null: not finished"})


class _Sealed(ma.Schema):
    local_id = Id(required=True, metadata={"description": "the row's id on the laptop; a table's rows go in this "
                                                          "order"})
    prev_hash = Line(required=True, validate=HASH, metadata={
        "description": "the `hash` of the laptop's row before it in the table (the genesis hash for the first), "
                       "64 hexadecimal digits"})
    hash = Line(required=True, validate=HASH, metadata={
        "description": "SHA-256 of `prev_hash` followed by `content` as canonical JSON (sorted keys, no "
                       "spaces, UTF-8), 64 hexadecimal digits"})


class ReadingContent(ma.Schema):
    verification_id = Id(required=True, metadata={"description": LOCAL_RUN})
    point_index = ma.fields.Integer(required=True, validate=ma.validate.Range(min=0, max=1000),
                                    metadata={"description": "the `index` of the plan's point read"})
    values = ma.fields.Dict(required=True, keys=ma.fields.String(validate=ma.validate.Length(max=64)),
                            validate=ma.validate.Length(max=64),
                            metadata={"description": "the values read, named by the point's operation "
                                                     "(reference_volume, dut_pulses, meter_distance_m, ...)"})
    problem = ma.fields.String(allow_none=True, validate=ma.validate.Length(max=300),
                               metadata={"description": "why the reading does not count; null: it counts"})
    manual = ma.fields.Boolean(required=True, metadata={"description": "typed in by the technician, not read "
                                                                       "from the rig"})
    at = Moment(required=True, metadata={"description": "when it was read"})


class ResultContent(ma.Schema):
    verification_id = Id(required=True, metadata={"description": LOCAL_RUN})
    procedure_id = Id(required=True, metadata={"description": "the procedure's id as the laptop holds it; the "
                                                              "server records its run's"})
    procedure_name = _line(70, required=True, metadata={"description": "code-version of the run's procedure"})
    evaluation = ma.fields.Dict(required=True, metadata={
        "description": "each point's errors and verdict, as the engine evaluates the run's readings; must be "
                       "what the server computes from the readings uploaded"})
    verdict = ma.fields.String(required=True, validate=ma.validate.OneOf((PASS, FAIL)),
                               metadata={"description": "pass only when every point passed"})
    verified_on = CalendarDate(required=True, metadata={"description": "the day verified, local time"})
    next_due = CalendarDate(allow_none=True, metadata={"description": "when the next verification is due; null: "
                                                                      "none (a fail)"})
    at = Moment(required=True, metadata={"description": "when the result was made"})


class CertificateContent(ma.Schema):
    number = Line(required=True, validate=ma.validate.Regexp(r"^(JD|TZ)[0-9]{4}-[0-9]{6}$"), metadata={
        "description": "JD (a certificate) or TZ (a notice of failure), the year and six digits, from one of the "
                       "laptop's blocks"})
    result_id = Id(required=True, metadata={"description": "the laptop's id of its result, uploaded first"})
    kind = ma.fields.String(required=True, validate=ma.validate.OneOf(tuple(CERTIFICATE_PREFIX)), metadata={
        "description": "certificate for a pass, failure_notice for a fail"})
    issued_on = CalendarDate(required=True, metadata={"description": "the day issued, local time"})
    valid_until = CalendarDate(allow_none=True, metadata={"description": "the last day it is valid: the result's "
                                                                         "`next_due`; null: none (a fail)"})
    public = ma.fields.Dict(required=True, metadata={
        "description": "what the public page shows (number, kind, verdict, instrument, owner, ...); must "
                       "match the server's run"})
    at = Moment(required=True, metadata={"description": "when it was issued"})


class SealedReading(_Sealed):
    content = ma.fields.Nested(ReadingContent, required=True)


class SealedResult(_Sealed):
    content = ma.fields.Nested(ResultContent, required=True)


class SealedCertificate(_Sealed):
    content = ma.fields.Nested(CertificateContent, required=True)


class UploadIn(ma.Schema):
    """One batch: runs first, then each chain's rows in the laptop's order (readings, results,
    certificates, as labs.chain orders the tables)."""

    runs = ma.fields.List(ma.fields.Nested(RunIn), load_default=list,
                          metadata={"description": "new runs, and runs whose state changed"})
    readings = ma.fields.List(ma.fields.Nested(SealedReading), load_default=list,
                              metadata={"description": "readings, continuing the laptop's chain"})
    verification_results = ma.fields.List(ma.fields.Nested(SealedResult), load_default=list,
                                          metadata={"description": "results, continuing the laptop's chain"})
    certificates = ma.fields.List(ma.fields.Nested(SealedCertificate), load_default=list,
                                  metadata={"description": "certificates and notices of failure, continuing the "
                                                           "laptop's chain"})

    @ma.validates_schema
    def _size(self, data, **kwargs):
        if sum(len(v) for v in data.values()) > MAX_BATCH:
            raise ma.ValidationError(f"at most {MAX_BATCH} runs and rows in one batch", "_body")


class TableAckOut(ma.Schema):
    stored = ma.fields.Integer(metadata={"description": "rows stored"})
    held = ma.fields.Integer(metadata={"description": "rows the server already held, identical: not stored again"})


class UploadOut(ma.Schema):
    runs = ma.fields.Integer(metadata={"description": "runs received (created or brought up to date)"})
    readings = ma.fields.Nested(TableAckOut)
    verification_results = ma.fields.Nested(TableAckOut)
    certificates = ma.fields.Nested(TableAckOut)
