"""The marshmallow schemas the spot-check API and its pages share."""
from __future__ import annotations

import marshmallow as ma

from labs.api import CalendarDate, Id, Line
from labs.spotchecks.models import PLAN_STATES, RISK_LEVELS
from labs.verification.models import INSTRUMENT_KINDS

SHARE = r"^(0(\.[0-9]{1,4})?|1(\.0{1,4})?)$"  # a share of a risk level's entities, 0 to 1


class PlanIn(ma.Schema):
    name = Line(required=True, validate=ma.validate.Length(min=1, max=200))
    instrument_kind = ma.fields.String(required=True, validate=ma.validate.OneOf(INSTRUMENT_KINDS))
    regions = ma.fields.List(ma.fields.String(validate=ma.validate.Regexp(r"^[0-9]{6}$")), required=True,
                             validate=ma.validate.Length(min=1, max=500))
    entity_kinds = ma.fields.List(Line(validate=ma.validate.Length(min=1, max=40)),
                                  required=True, validate=ma.validate.Length(min=1, max=50))
    shares = ma.fields.Dict(keys=ma.fields.String(validate=ma.validate.OneOf(RISK_LEVELS)),
                            values=ma.fields.String(validate=ma.validate.Regexp(
                                SHARE, error="a share from 0 to 1, at most four decimals (0.05 is 5 %)")),
                            required=True, metadata={"example": {"high": "0.05", "medium": "0.03", "low": "0.01"}})
    inspectors_per_task = ma.fields.Integer(load_default=2, validate=ma.validate.Range(min=2, max=10))
    instruments_per_entity = ma.fields.Integer(load_default=1, validate=ma.validate.Range(min=1, max=100))
    draw_date = CalendarDate(required=True)
    publication_working_days = ma.fields.Integer(load_default=20, validate=ma.validate.Range(min=1, max=60))
    previous_plan_id = Id(allow_none=True, metadata={"description": "the previous round (inspector rotation)"})


class PlanPatch(PlanIn):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **{**kwargs, "partial": True})


class PlanOut(PlanIn):
    id = ma.fields.Integer()
    state = ma.fields.String(validate=ma.validate.OneOf(PLAN_STATES))
    snapshot_sha256 = ma.fields.String(allow_none=True)
    seed = ma.fields.String(allow_none=True)
    frozen_at = ma.fields.AwareDateTime(allow_none=True)
    drawn_at = ma.fields.AwareDateTime(allow_none=True)


class WitnessIn(ma.Schema):
    name = Line(required=True, validate=ma.validate.Length(min=1, max=100))
    commitment = ma.fields.String(required=True, validate=ma.validate.Length(equal=64),
                                  metadata={"description": "SHA-256 (hex) of the secret the witness will reveal"})


class RevealIn(ma.Schema):
    secret = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=1000))


class WitnessOut(ma.Schema):
    position = ma.fields.Integer()
    name = ma.fields.String()
    commitment = ma.fields.String()
    revealed_at = ma.fields.AwareDateTime(allow_none=True)


class DrawOut(ma.Schema):
    """A plan's draw as published: everything needed to re-run it."""

    plan = ma.fields.Integer()
    name = ma.fields.String()
    state = ma.fields.String(validate=ma.validate.OneOf(PLAN_STATES))
    algorithm = ma.fields.String()
    algorithm_version = ma.fields.String()
    rules = ma.fields.String()
    instrument_kind = ma.fields.String(validate=ma.validate.OneOf(INSTRUMENT_KINDS))
    shares = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.String())
    instruments_per_entity = ma.fields.Integer()
    inspectors_per_task = ma.fields.Integer()
    witnesses = ma.fields.List(ma.fields.Dict())
    snapshot_sha256 = ma.fields.String(allow_none=True)
    snapshot = ma.fields.Dict(allow_none=True)
    seed = ma.fields.String(allow_none=True)
    selection = ma.fields.Dict(allow_none=True)
    frozen_at = ma.fields.AwareDateTime(allow_none=True)
    drawn_at = ma.fields.AwareDateTime(allow_none=True)


class ConfirmOut(ma.Schema):
    plan = ma.fields.Integer()
    confirmed = ma.fields.Boolean()
    checks = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.Boolean())


class TaskInstrumentOut(ma.Schema):
    id = ma.fields.Integer()
    instrument_id = ma.fields.Integer()
    serial_number = ma.fields.String(attribute="instrument.serial_number")
    description = ma.fields.String(attribute="instrument.description")
    verification_id = ma.fields.Integer(allow_none=True)
    conclusion = ma.fields.String(validate=ma.validate.OneOf(("pass", "fail")), allow_none=True)
    conclusion_note = ma.fields.String()
    reviewed_by = ma.fields.Integer(allow_none=True)
    countersigned_by = ma.fields.Integer(allow_none=True)
    rectify_by = ma.fields.Date(allow_none=True)
    out_of_use = ma.fields.Boolean()


class TaskOut(ma.Schema):
    id = ma.fields.Integer()
    plan_id = ma.fields.Integer()
    origin = ma.fields.String()
    credit_code = ma.fields.String(attribute="entity.credit_code")
    entity = ma.fields.String(attribute="entity.name")
    inspector_ids = ma.fields.List(ma.fields.Integer())
    instruments = ma.fields.List(ma.fields.Nested(TaskInstrumentOut))
    due_on = ma.fields.Date(allow_none=True)
    concluded_on = ma.fields.Date(allow_none=True)
    publish_by = ma.fields.Date(allow_none=True)
    published_at = ma.fields.AwareDateTime(allow_none=True)


class AttachIn(ma.Schema):
    verification_id = Id(required=True)


class ReviewIn(ma.Schema):
    conclusion = ma.fields.String(required=True, validate=ma.validate.OneOf(("pass", "fail")))
    note = ma.fields.String(load_default="", validate=[ma.validate.Length(max=1000)])


class NominatedTasksIn(ma.Schema):
    top = ma.fields.Integer(required=True, validate=ma.validate.Range(min=1, max=100))


class NominationIn(ma.Schema):
    instrument_id = Id(required=True)
    reason = Line(required=True, validate=ma.validate.Length(min=2, max=500))
    phone = ma.fields.String(required=True, validate=ma.validate.Length(min=11, max=20),
                             metadata={"description": "kept only as a keyed hash: one person counts once"})


class NominationCountOut(ma.Schema):
    instrument_id = ma.fields.Integer()
    kind = ma.fields.String()
    serial_number = ma.fields.String()
    description = ma.fields.String()
    entity = ma.fields.String()
    credit_code = ma.fields.String()
    count = ma.fields.Integer()
    plan_id = ma.fields.Integer(allow_none=True)


class NominatedOut(ma.Schema):
    instrument_id = ma.fields.Integer()
    count = ma.fields.Integer()


class ResultsQuery(ma.Schema):
    plan_id = Id()
    before = Id(metadata={"description": "only results published before this one (its id): the next page"})
    limit = ma.fields.Integer(load_default=20, validate=ma.validate.Range(min=1, max=200),
                              metadata={"description": "results per page, newest first (1 to 200, default 20)"})


class PublishedOut(ma.Schema):
    id = ma.fields.Integer()
    task_id = ma.fields.Integer()
    plan_id = ma.fields.Integer()
    published_on = ma.fields.Date()
    content = ma.fields.Dict()


class ReviewSheetOut(ma.Schema):
    task_instrument = ma.fields.Integer()
    entity = ma.fields.String()
    serial_number = ma.fields.String()
    kind = ma.fields.String()
    conclusion = ma.fields.String(validate=ma.validate.OneOf(("pass", "fail")), allow_none=True)
    verdict = ma.fields.String(validate=ma.validate.OneOf(("pass", "fail")), allow_none=True)
    points = ma.fields.List(ma.fields.Dict())
    history = ma.fields.List(ma.fields.Dict())
