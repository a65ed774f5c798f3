"""The marshmallow schemas the verification API and its pages share."""
from __future__ import annotations

import marshmallow as ma

from labs.api import CalendarDate, Id, Line
from labs.verification.domain import FAIL, PASS, READING_FIELDS
from labs.verification.models import INSTRUMENT_KINDS, RIG_KINDS, RUN_STATES
from labs.verification.service import CERTIFICATE_PREFIX

VERDICTS = (PASS, FAIL)
CERTIFICATE_KINDS = tuple(CERTIFICATE_PREFIX)  # a certificate (pass) or a notice of failure (fail)
# The raw values each kind of point's readings carry, as the rigs name them (labs.verification.domain).
READING_NAMES = "; ".join(f"{operation}: {', '.join(names)}" for operation, names in READING_FIELDS.items())


def _text(max_length: int, required: bool = False, **kw) -> ma.fields.String:
    return Line(required=required, validate=ma.validate.Length(min=1 if required else 0, max=max_length), **kw)


def _is(description: str) -> dict:
    return {"description": description}


class Partial:
    """Only the fields sent change (marshmallow has no `Meta.partial`: partial is per instance)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **{**kwargs, "partial": True})


class VerifiedInstrumentIn(ma.Schema):
    kind = ma.fields.String(required=True, validate=ma.validate.OneOf(INSTRUMENT_KINDS),
                            metadata=_is("what kind of instrument it is; fixed once registered"))
    serial_number = _text(64, required=True,
                          metadata=_is("its serial number, once per kind; fixed once registered"))
    owner_credit_code = ma.fields.String(required=True, validate=ma.validate.Length(equal=18),
                                         metadata=_is("the owner enterprise's unified social credit code "
                                                      "(18 characters, GB 32100)"))
    owner_name = _text(200, metadata=_is("the owner enterprise's name: needed when the enterprise is new"))
    model = _text(100, load_default="", metadata=_is("the maker's model designation"))
    manufacturer = _text(200, load_default="", metadata=_is("who made it"))
    nameplate = ma.fields.Dict(required=True, keys=ma.fields.String(validate=ma.validate.Length(max=64)),
                               metadata=_is("what the procedure in force needs, checked by planning a run: fuel "
                                            "dispenser: q_max_l_per_min, q_min_l_per_min (L/min), nozzles "
                                            "[{number, fuel}]; electricity meter: accuracy_class, connection "
                                            "(direct, ct), elements (single, 3p4w, 3p3w), un_v (V), ib_a, imax_a "
                                            "(A), constant_imp_per_kwh (imp/kWh), k_i, k_u (transformer ratios, "
                                            "default 1)"))
    location = _text(300, load_default="", metadata=_is("where it stands (a station's address, an island)"))
    plate_number = _text(20, allow_none=True, metadata=_is("a taxi meter's vehicle plate; null: none"))
    next_due = CalendarDate(allow_none=True, metadata=_is("when its next verification is due; set by each "
                                                          "passing run, null after a failure: not to be used"))


class VerifiedInstrumentPatch(Partial, VerifiedInstrumentIn):
    class Meta:
        # Kind and serial number name the instrument: sending them is refused as unknown fields (422),
        # not quietly ignored.
        exclude = ("kind", "serial_number")


class OwnerOut(ma.Schema):
    credit_code = ma.fields.String(metadata=_is("the owner enterprise's unified social credit code"))
    name = ma.fields.String(metadata=_is("the owner enterprise's name"))


class VerifiedInstrumentOut(ma.Schema):
    id = ma.fields.Integer(metadata=_is("the instrument's id"))
    kind = ma.fields.String(validate=ma.validate.OneOf(INSTRUMENT_KINDS), metadata=_is("what kind of instrument"))
    serial_number = ma.fields.String(metadata=_is("its serial number, once per kind"))
    owner = ma.fields.Nested(OwnerOut, attribute="enterprise")
    model = ma.fields.String(metadata=_is("the maker's model designation; empty: not given"))
    manufacturer = ma.fields.String(metadata=_is("who made it; empty: not given"))
    nameplate = ma.fields.Dict(metadata=_is("the nameplate data the procedures read (see the request body)"))
    location = ma.fields.String(metadata=_is("where it stands; empty: not given"))
    plate_number = ma.fields.String(allow_none=True, metadata=_is("a taxi meter's vehicle plate; null: none"))
    next_due = ma.fields.Date(allow_none=True, metadata=_is("when its next verification is due; null: never "
                                                            "passed, or failed its last run"))


class VerifiedInstrumentQuery(ma.Schema):
    kind = ma.fields.String(validate=ma.validate.OneOf(INSTRUMENT_KINDS), metadata=_is("only instruments of "
                                                                                        "this kind"))
    serial_number = _text(64, metadata=_is("only the instrument with this serial number"))


class RigIn(ma.Schema):
    code = _text(32, required=True, metadata=_is("the bureau's code for the rig, unique"))
    kind = ma.fields.String(required=True, validate=ma.validate.OneOf(RIG_KINDS),
                            metadata=_is("fdr: fuel dispenser rig; emb: electricity meter bench; tmr: taxi meter "
                                         "rig"))
    link = _text(300, required=True, metadata={
        "description": "how the runner reaches it: modbus+tcp://host:port, modbus+rtu:///dev/ttyUSB0 or "
                       "serial:///dev/ttyUSB0 (TMR), options after ? (unit, baud, parity, stopbits, word_order)",
        "example": "modbus+tcp://192.0.2.10:502?unit=1"})
    serial_number = _text(64, required=True, metadata=_is("what the rig must identify as: a run on a rig that "
                                                          "answers with another serial number fails"))
    lab_id = Id(allow_none=True, load_default=None,
                metadata=_is("the lab it belongs to, which its managers manage; null: no lab (administrators "
                             "only)"))
    restricted = ma.fields.Boolean(load_default=False, metadata=_is("only the lab's own technicians run it"))
    portable = ma.fields.Boolean(load_default=False, metadata=_is("carried to sites: it may be assigned to work "
                                                                  "orders"))
    settings = ma.fields.Dict(load_default=dict, keys=ma.fields.String(validate=ma.validate.Length(max=64)),
                              metadata=_is("what its runs need besides the procedure: EMB: reference_constant "
                                           "(imp/kWh of the reference meter)"))
    standard_name = _text(200, load_default="", metadata=_is("its reference standard's name"))
    standard_certificate_no = _text(64, required=True,
                                    metadata=_is("the number of its reference standard's calibration certificate"))
    standard_valid_until = CalendarDate(required=True, metadata=_is("the last day that certificate is valid: "
                                                                    "runs are refused after it"))
    active = ma.fields.Boolean(load_default=True, metadata=_is("in service; false: taken out of use"))


class RigPatch(Partial, RigIn):
    pass


class RigOut(RigIn):
    id = ma.fields.Integer(metadata=_is("the rig's id"))
    leased_by = ma.fields.String(allow_none=True, dump_only=True,
                                 metadata=_is("the runner that drives it now; null: none"))


class ProcedureIn(ma.Schema):
    """A procedure document as shipped (see GET /procedures/{id} `data`); checked by the service."""

    class Meta:
        unknown = ma.INCLUDE


class ProcedureOut(ma.Schema):
    id = ma.fields.Integer(metadata=_is("the procedure version's id"))
    code = ma.fields.String(metadata=_is("the regulation's code, e.g. JJG 443"))
    version = ma.fields.String(metadata=_is("the edition, e.g. 2023; once per code"))
    title = ma.fields.String(metadata=_is("the regulation's title"))
    instrument_kind = ma.fields.String(validate=ma.validate.OneOf(INSTRUMENT_KINDS),
                                       metadata=_is("the kind of instrument it verifies"))
    rig_kind = ma.fields.String(validate=ma.validate.OneOf(RIG_KINDS), metadata=_is("the kind of rig it runs on"))
    in_force = ma.fields.Boolean(metadata=_is("the version runs use unless told otherwise; one per code"))
    data = ma.fields.Dict(metadata=_is("the whole document: points, maximum permissible errors (%), rounding "
                                       "intervals, repetitions, verification period in months"))
    created_at = ma.fields.AwareDateTime(metadata=_is("when it was loaded, UTC"))


class VerificationIn(ma.Schema):
    instrument_id = Id(required=True, metadata=_is("the instrument to verify"))
    rig_id = Id(required=True, metadata=_is("the rig to run on: its kind must be the procedure's, its standard's "
                                            "certificate valid today"))
    procedure_id = Id(metadata=_is("the procedure version; default: the version in force for the instrument's "
                                   "kind"))
    nozzle = ma.fields.Integer(validate=ma.validate.Range(min=1, max=99),
                               metadata=_is("a fuel dispenser's nozzle to verify; default: every nozzle on its "
                                            "nameplate"))
    as_found_id = Id(metadata=_is("an as-left run: the as-found run of the same visit, of the same instrument"))
    adjustment = _text(500, metadata=_is("what was adjusted; required with as_found_id"))
    seal_number = _text(64, metadata=_is("the seal applied; on the certificate if the run passes"))


class ManualReadingIn(ma.Schema):
    point_index = ma.fields.Integer(required=True, validate=ma.validate.Range(min=0, max=999),
                                    metadata=_is("the point's index in the run's plan, from 0"))
    values = ma.fields.Dict(required=True, keys=ma.fields.String(validate=ma.validate.Length(max=64)),
                            values=ma.fields.Float(allow_nan=False, validate=ma.validate.Range(min=-1e9, max=1e9)),
                            metadata=_is("the raw values, named as the rig names them, per kind of point: "
                                         + READING_NAMES))


class VerificationQuery(ma.Schema):
    state = ma.fields.String(validate=ma.validate.OneOf(RUN_STATES), metadata=_is("only runs in this state"))


class ReadingOut(ma.Schema):
    id = ma.fields.Integer(metadata=_is("the reading's id"))
    point_index = ma.fields.Integer(metadata=_is("the point's index in the run's plan, from 0"))
    values = ma.fields.Dict(metadata=_is("the raw values as the rig reported them (volumes in L, temperatures in "
                                         "°C, pulses, distances in m, times in s)"))
    problem = ma.fields.String(allow_none=True, metadata=_is("why it does not count and the measurement is "
                                                             "repeated; null: it counts"))
    manual = ma.fields.Boolean(metadata=_is("entered by hand, not read from the rig"))
    at = ma.fields.AwareDateTime(metadata=_is("when it was stored, UTC"))


class ResultOut(ma.Schema):
    id = ma.fields.Integer(metadata=_is("the result's id"))
    verdict = ma.fields.String(validate=ma.validate.OneOf(VERDICTS),
                               metadata=_is("pass only when every point passed"))
    procedure_name = ma.fields.String(metadata=_is("the procedure version that produced it, e.g. JJG 443-2023"))
    verified_on = ma.fields.Date(metadata=_is("the day of the verification where the rig stands (its lab's time zone)"))
    next_due = ma.fields.Date(allow_none=True, metadata=_is("when the next verification is due; null: it failed"))
    evaluation = ma.fields.Dict(metadata=_is("per point: errors_pct (each valid reading, %), mean_pct, rounded_pct "
                                             "(the value judged), mpe_low_pct, mpe_high_pct, repeatability, "
                                             "passed, at_limit; decimals as strings"))


class CertificateOut(ma.Schema):
    number = ma.fields.String(metadata=_is("its number: JD… a certificate, TZ… a notice of failure, then the "
                                           "year and a count"))
    kind = ma.fields.String(validate=ma.validate.OneOf(CERTIFICATE_KINDS),
                            metadata=_is("certificate: the instrument passed; failure_notice: it failed"))
    issued_on = ma.fields.Date(metadata=_is("the day it was issued, where the rig stands"))
    valid_until = ma.fields.Date(allow_none=True, metadata=_is("the last day it is valid; null: a notice of "
                                                               "failure"))
    public = ma.fields.Dict(metadata=_is("what anyone may confirm: instrument, owner, procedure, verdict, dates, "
                                         "seal number; nothing private"))


class VerificationOut(ma.Schema):
    id = ma.fields.Integer(metadata=_is("the run's id"))
    state = ma.fields.String(validate=ma.validate.OneOf(RUN_STATES),
                             metadata=_is("queued: waits for the runner; running; done: it has its result; "
                                          "failed: see problem, may be retried; cancelled"))
    instrument = ma.fields.Nested(VerifiedInstrumentOut)
    rig_id = ma.fields.Integer(metadata=_is("the rig it runs on"))
    rig_code = ma.fields.String(attribute="rig.code", metadata=_is("that rig's code"))
    procedure = ma.fields.String(attribute="procedure.name", metadata=_is("the procedure version, e.g. JJG "
                                                                          "443-2023"))
    nozzle = ma.fields.Integer(allow_none=True, metadata=_is("the dispenser's nozzle verified; null: every nozzle, "
                                                             "or not a dispenser"))
    technician_id = ma.fields.Integer(allow_none=True, metadata=_is("the user who asked for the run"))
    plan = ma.fields.List(ma.fields.Dict(), metadata=_is("the points, fixed when the run was asked for: index, "
                                                         "key, label, operation, settings, repetitions"))
    problem = ma.fields.String(allow_none=True, metadata=_is("why it failed or stalled; null: no problem"))
    live = ma.fields.Dict(allow_none=True, metadata=_is("while it runs, the latest values from the rig and the "
                                                        "point and repetition under way; null before"))
    as_found_id = ma.fields.Integer(allow_none=True, metadata=_is("an as-left run's as-found run; null: not an "
                                                                  "as-left run"))
    adjustment = ma.fields.String(allow_none=True, metadata=_is("what was adjusted before an as-left run"))
    seal_number = ma.fields.String(allow_none=True, metadata=_is("the seal applied; null: none"))
    created_at = ma.fields.AwareDateTime(metadata=_is("when it was asked for, UTC"))
    started_at = ma.fields.AwareDateTime(allow_none=True, metadata=_is("when the rig started, UTC; null: not yet"))
    finished_at = ma.fields.AwareDateTime(allow_none=True, metadata=_is("when it ended, UTC; null: not yet"))


class VerificationDetailOut(VerificationOut):
    readings = ma.fields.List(ma.fields.Nested(ReadingOut), metadata=_is("every reading in the order stored, "
                                                                         "those that do not count too"))
    result = ma.fields.Nested(ResultOut, allow_none=True, metadata=_is("null until the run is done"))
    certificate = ma.fields.Nested(CertificateOut, allow_none=True, metadata=_is("null until the run is done"))
