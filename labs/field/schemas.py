"""The marshmallow schemas of the field API: a laptop's registration, what it brings down, and the
batches it uploads (each chained row with its content exactly as the laptop hashed it)."""
from __future__ import annotations

import marshmallow as ma

from labs.api import CalendarDate, Id, Line, Moment
from labs.dispatch.domain import STATES as WORK_ORDER_STATES
from labs.verification.domain import READING_FIELDS
from labs.verification.models import INSTRUMENT_KINDS, RUN_STATES
from labs.verification.schemas import OwnerOut, ProcedureOut, RigOut, VerifiedInstrumentOut

MAX_BATCH = 200  # rows per upload request: a few hundred kilobytes, well inside the body limit
HASH = ma.validate.Regexp(r"^[0-9a-f]{64}$")


def _line(max_length: int, **kw) -> ma.fields.String:
    return Line(validate=ma.validate.Length(max=max_length), **kw)


class DeviceIn(ma.Schema):
    key = ma.fields.UUID(required=True, metadata={"description": "a UUID the laptop made for itself"})
    name = _line(100, load_default="")


class TechnicianOut(ma.Schema):
    email = ma.fields.String()
    name = ma.fields.String()


class ChainTailOut(ma.Schema):
    local_id = ma.fields.Integer()
    hash = ma.fields.String()


class DeviceOut(ma.Schema):
    key = ma.fields.String()
    name = ma.fields.String()
    technician = ma.fields.Nested(TechnicianOut)
    runs = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.String(),
                          metadata={"description": "the laptop's run ids the server holds, with their state"})
    chains = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.Nested(ChainTailOut),
                            metadata={"description": "per chained table, the last row received from the laptop"})


class BlockIn(ma.Schema):
    year = ma.fields.Integer(required=True, validate=ma.validate.Range(min=2000, max=2199))


class BlockOut(ma.Schema):
    year = ma.fields.Integer()
    first = ma.fields.Integer()
    last = ma.fields.Integer()


class FieldWorkOrderOut(ma.Schema):
    """A work order as the laptop keeps it: named by what both sides know, nobody else's details."""

    id = ma.fields.Integer()
    owner = ma.fields.Nested(OwnerOut, attribute="enterprise")
    site = ma.fields.String()
    day = ma.fields.Date()
    starts_at = ma.fields.AwareDateTime()
    ends_at = ma.fields.AwareDateTime()
    state = ma.fields.String(validate=ma.validate.OneOf(WORK_ORDER_STATES))
    note = ma.fields.String()
    instruments = ma.fields.Function(lambda o: [{"kind": i.kind, "serial_number": i.serial_number}
                                                for i in o.instruments])
    rigs = ma.fields.Function(lambda o: [r.code for r in o.rigs], metadata={"description": "the rigs' codes"})


class CatalogOut(ma.Schema):
    technician = ma.fields.Nested(TechnicianOut)
    instruments = ma.fields.List(ma.fields.Nested(VerifiedInstrumentOut))
    procedures = ma.fields.List(ma.fields.Nested(ProcedureOut))
    rigs = ma.fields.List(ma.fields.Nested(RigOut))
    blocks = ma.fields.List(ma.fields.Nested(BlockOut))
    work_orders = ma.fields.Nested(FieldWorkOrderOut, many=True)


class PointIn(ma.Schema):
    """A point of a run's plan, as labs.verification.domain.Point holds it."""

    index = ma.fields.Integer(required=True, validate=ma.validate.Range(min=0, max=1000))
    key = _line(64, required=True)
    label = _line(200, required=True)
    operation = ma.fields.String(required=True, validate=ma.validate.OneOf(tuple(READING_FIELDS)))
    settings = ma.fields.Dict(required=True, keys=ma.fields.String(validate=ma.validate.Length(max=64)))
    repetitions = ma.fields.Integer(required=True, validate=ma.validate.Range(min=1, max=100))


class RunIn(ma.Schema):
    """A run as the laptop holds it, named by what both sides know (serial numbers, codes)."""

    local_id = Id(required=True)
    instrument_kind = ma.fields.String(required=True, validate=ma.validate.OneOf(INSTRUMENT_KINDS))
    instrument_serial_number = _line(64, required=True)
    rig_code = _line(32, required=True)
    procedure = _line(70, required=True, metadata={"description": "code-version, e.g. JJG 443-2023"})
    nozzle = ma.fields.Integer(allow_none=True, validate=ma.validate.Range(min=1, max=99))
    state = ma.fields.String(required=True, validate=ma.validate.OneOf(RUN_STATES))
    plan = ma.fields.List(ma.fields.Nested(PointIn), required=True, validate=ma.validate.Length(max=100))
    problem = _line(2000, allow_none=True)
    as_found_local_id = Id(allow_none=True)
    adjustment = _line(500, allow_none=True)
    seal_number = _line(64, allow_none=True)
    created_at = Moment(required=True)
    started_at = Moment(allow_none=True)
    finished_at = Moment(allow_none=True)


class _Sealed(ma.Schema):
    local_id = Id(required=True)
    prev_hash = ma.fields.String(required=True, validate=HASH)
    hash = ma.fields.String(required=True, validate=HASH)


class ReadingContent(ma.Schema):
    verification_id = Id(required=True)
    point_index = ma.fields.Integer(required=True, validate=ma.validate.Range(min=0, max=1000))
    values = ma.fields.Dict(required=True, keys=ma.fields.String(validate=ma.validate.Length(max=64)),
                            validate=ma.validate.Length(max=64))
    problem = ma.fields.String(allow_none=True, validate=ma.validate.Length(max=300))
    manual = ma.fields.Boolean(required=True)
    at = Moment(required=True)


class ResultContent(ma.Schema):
    verification_id = Id(required=True)
    procedure_id = Id(required=True)
    procedure_name = _line(70, required=True)
    evaluation = ma.fields.Dict(required=True)
    verdict = ma.fields.String(required=True, validate=ma.validate.OneOf(("pass", "fail")))
    verified_on = CalendarDate(required=True)
    next_due = CalendarDate(allow_none=True)
    at = Moment(required=True)


class CertificateContent(ma.Schema):
    number = ma.fields.String(required=True, validate=ma.validate.Regexp(r"^(JD|TZ)[0-9]{4}-[0-9]{6}$"))
    result_id = Id(required=True)
    kind = ma.fields.String(required=True, validate=ma.validate.OneOf(("certificate", "failure_notice")))
    issued_on = CalendarDate(required=True)
    valid_until = CalendarDate(allow_none=True)
    public = ma.fields.Dict(required=True)
    at = Moment(required=True)


class SealedReading(_Sealed):
    content = ma.fields.Nested(ReadingContent, required=True)


class SealedResult(_Sealed):
    content = ma.fields.Nested(ResultContent, required=True)


class SealedCertificate(_Sealed):
    content = ma.fields.Nested(CertificateContent, required=True)


class UploadIn(ma.Schema):
    """One batch: runs first, then each chain's rows in the laptop's order (readings, results,
    certificates, as labs.chain orders the tables)."""

    runs = ma.fields.List(ma.fields.Nested(RunIn), load_default=list)
    readings = ma.fields.List(ma.fields.Nested(SealedReading), load_default=list)
    verification_results = ma.fields.List(ma.fields.Nested(SealedResult), load_default=list)
    certificates = ma.fields.List(ma.fields.Nested(SealedCertificate), load_default=list)

    @ma.validates_schema
    def _size(self, data, **kwargs):
        if sum(len(v) for v in data.values()) > MAX_BATCH:
            raise ma.ValidationError(f"at most {MAX_BATCH} runs and rows in one batch", "_body")


class TableAckOut(ma.Schema):
    stored = ma.fields.Integer()
    held = ma.fields.Integer(metadata={"description": "rows the server already held, identical: not stored again"})


class UploadOut(ma.Schema):
    runs = ma.fields.Integer()
    readings = ma.fields.Nested(TableAckOut)
    verification_results = ma.fields.Nested(TableAckOut)
    certificates = ma.fields.Nested(TableAckOut)
