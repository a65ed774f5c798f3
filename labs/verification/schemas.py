"""The marshmallow schemas the verification API and its pages share."""
from __future__ import annotations

import marshmallow as ma

from labs.api import CalendarDate, Id, Line
from labs.verification.models import INSTRUMENT_KINDS, RIG_KINDS, RUN_STATES

def _text(max_length: int, required: bool = False, **kw) -> ma.fields.String:
    return Line(required=required, validate=ma.validate.Length(min=1 if required else 0, max=max_length), **kw)


class Partial:
    """Only the fields sent change (marshmallow has no `Meta.partial`: partial is per instance)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **{**kwargs, "partial": True})


class VerifiedInstrumentIn(ma.Schema):
    kind = ma.fields.String(required=True, validate=ma.validate.OneOf(INSTRUMENT_KINDS))
    serial_number = _text(64, required=True)
    owner_credit_code = ma.fields.String(required=True, validate=ma.validate.Length(equal=18))
    owner_name = _text(200, metadata={"description": "needed when the enterprise is new"})
    model = _text(100, load_default="")
    manufacturer = _text(200, load_default="")
    nameplate = ma.fields.Dict(required=True, keys=ma.fields.String(validate=ma.validate.Length(max=64)),
                               metadata={"description": "what the procedure needs: see the procedure's data"})
    location = _text(300, load_default="")
    plate_number = _text(20, allow_none=True)
    next_due = CalendarDate(allow_none=True)


class VerifiedInstrumentPatch(Partial, VerifiedInstrumentIn):
    pass


class OwnerOut(ma.Schema):
    credit_code = ma.fields.String()
    name = ma.fields.String()


class VerifiedInstrumentOut(ma.Schema):
    id = ma.fields.Integer()
    kind = ma.fields.String(validate=ma.validate.OneOf(INSTRUMENT_KINDS))
    serial_number = ma.fields.String()
    owner = ma.fields.Nested(OwnerOut, attribute="enterprise")
    model = ma.fields.String()
    manufacturer = ma.fields.String()
    nameplate = ma.fields.Dict()
    location = ma.fields.String()
    plate_number = ma.fields.String(allow_none=True)
    next_due = ma.fields.Date(allow_none=True)


class VerifiedInstrumentQuery(ma.Schema):
    kind = ma.fields.String(validate=ma.validate.OneOf(INSTRUMENT_KINDS))
    serial_number = _text(64)


class RigIn(ma.Schema):
    code = _text(32, required=True)
    kind = ma.fields.String(required=True, validate=ma.validate.OneOf(RIG_KINDS))
    link = _text(300, required=True, metadata={"example": "modbus+tcp://192.0.2.10:502?unit=1"})
    serial_number = _text(64, required=True, metadata={"description": "what the rig must identify as"})
    lab_id = Id(allow_none=True, load_default=None)
    restricted = ma.fields.Boolean(load_default=False, metadata={"description": "only the lab's technicians"})
    portable = ma.fields.Boolean(load_default=False, metadata={"description": "carried to sites (work orders)"})
    settings = ma.fields.Dict(load_default=dict, keys=ma.fields.String(validate=ma.validate.Length(max=64)),
                              metadata={"description": "EMB: reference_constant (imp/kWh of the reference meter)"})
    standard_name = _text(200, load_default="")
    standard_certificate_no = _text(64, required=True)
    standard_valid_until = CalendarDate(required=True)
    active = ma.fields.Boolean(load_default=True)


class RigPatch(Partial, RigIn):
    pass


class RigOut(RigIn):
    id = ma.fields.Integer()
    leased_by = ma.fields.String(allow_none=True, dump_only=True)


class ProcedureIn(ma.Schema):
    """A procedure document as shipped (see GET /procedures/{id} `data`); checked by the service."""

    class Meta:
        unknown = ma.INCLUDE


class ProcedureOut(ma.Schema):
    id = ma.fields.Integer()
    code = ma.fields.String()
    version = ma.fields.String()
    title = ma.fields.String()
    instrument_kind = ma.fields.String(validate=ma.validate.OneOf(INSTRUMENT_KINDS))
    rig_kind = ma.fields.String()
    in_force = ma.fields.Boolean()
    data = ma.fields.Dict()
    created_at = ma.fields.AwareDateTime()


class VerificationIn(ma.Schema):
    instrument_id = Id(required=True)
    rig_id = Id(required=True)
    procedure_id = Id(metadata={"description": "default: the version in force for the instrument's kind"})
    nozzle = ma.fields.Integer(validate=ma.validate.Range(min=1, max=99))
    as_found_id = Id(metadata={"description": "an as-left run: the as-found run of the same visit"})
    adjustment = _text(500, metadata={"description": "what was adjusted (as-left runs)"})
    seal_number = _text(64, metadata={"description": "the seal applied if the run passes"})


class ManualReadingIn(ma.Schema):
    point_index = ma.fields.Integer(required=True, validate=ma.validate.Range(min=0, max=999))
    values = ma.fields.Dict(required=True, keys=ma.fields.String(validate=ma.validate.Length(max=64)),
                            values=ma.fields.Float(allow_nan=False, validate=ma.validate.Range(min=-1e9, max=1e9)),
                            metadata={"description": "named as the rig names them, e.g. reference_volume"})


class VerificationQuery(ma.Schema):
    state = ma.fields.String(validate=ma.validate.OneOf(("queued", "running", "done", "failed", "cancelled")))


class ReadingOut(ma.Schema):
    id = ma.fields.Integer()
    point_index = ma.fields.Integer()
    values = ma.fields.Dict()
    problem = ma.fields.String(allow_none=True)
    manual = ma.fields.Boolean()
    at = ma.fields.AwareDateTime()


class ResultOut(ma.Schema):
    id = ma.fields.Integer()
    verdict = ma.fields.String(validate=ma.validate.OneOf(("pass", "fail")))
    procedure_name = ma.fields.String()
    verified_on = ma.fields.Date()
    next_due = ma.fields.Date(allow_none=True)
    evaluation = ma.fields.Dict()


class CertificateOut(ma.Schema):
    number = ma.fields.String()
    kind = ma.fields.String(validate=ma.validate.OneOf(("certificate", "failure_notice")))
    issued_on = ma.fields.Date()
    valid_until = ma.fields.Date(allow_none=True)
    public = ma.fields.Dict()


class VerificationOut(ma.Schema):
    id = ma.fields.Integer()
    state = ma.fields.String(validate=ma.validate.OneOf(RUN_STATES))
    instrument = ma.fields.Nested(VerifiedInstrumentOut)
    rig_id = ma.fields.Integer()
    rig_code = ma.fields.String(attribute="rig.code")
    procedure = ma.fields.String(attribute="procedure.name")
    nozzle = ma.fields.Integer(allow_none=True)
    technician_id = ma.fields.Integer(allow_none=True)
    plan = ma.fields.List(ma.fields.Dict())
    problem = ma.fields.String(allow_none=True)
    live = ma.fields.Dict(allow_none=True)
    as_found_id = ma.fields.Integer(allow_none=True)
    adjustment = ma.fields.String(allow_none=True)
    seal_number = ma.fields.String(allow_none=True)
    created_at = ma.fields.AwareDateTime()
    started_at = ma.fields.AwareDateTime(allow_none=True)
    finished_at = ma.fields.AwareDateTime(allow_none=True)


class VerificationDetailOut(VerificationOut):
    readings = ma.fields.List(ma.fields.Nested(ReadingOut))
    result = ma.fields.Nested(ResultOut, allow_none=True)
    certificate = ma.fields.Nested(CertificateOut, allow_none=True)
