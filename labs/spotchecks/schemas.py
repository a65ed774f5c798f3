"""The marshmallow schemas the spot-check API and its pages share."""
from __future__ import annotations

import marshmallow as ma

from labs.api import CalendarDate, Id
from labs.spotchecks.models import RISK_LEVELS
from labs.verification.models import INSTRUMENT_KINDS

NO_CONTROL = ma.validate.Regexp(r"^[^\x00-\x1f\x7f]*$", error="control characters are not allowed")


class PlanIn(ma.Schema):
    name = ma.fields.String(required=True, validate=[ma.validate.Length(min=1, max=200), NO_CONTROL])
    instrument_kind = ma.fields.String(required=True, validate=ma.validate.OneOf(INSTRUMENT_KINDS))
    regions = ma.fields.List(ma.fields.String(validate=ma.validate.Regexp(r"^[0-9]{6}$")), required=True,
                             validate=ma.validate.Length(min=1, max=500))
    entity_kinds = ma.fields.List(ma.fields.String(validate=[ma.validate.Length(min=1, max=40), NO_CONTROL]),
                                  required=True, validate=ma.validate.Length(min=1, max=50))
    shares = ma.fields.Dict(keys=ma.fields.String(validate=ma.validate.OneOf(RISK_LEVELS)),
                            values=ma.fields.Decimal(places=4, as_string=True,
                                                     validate=ma.validate.Range(min=0, max=1)),
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
    state = ma.fields.String()
    snapshot_sha256 = ma.fields.String(allow_none=True)
    seed = ma.fields.String(allow_none=True)
    frozen_at = ma.fields.AwareDateTime(allow_none=True)
    drawn_at = ma.fields.AwareDateTime(allow_none=True)


class WitnessIn(ma.Schema):
    name = ma.fields.String(required=True, validate=[ma.validate.Length(min=1, max=100), NO_CONTROL])
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
    state = ma.fields.String()
    algorithm = ma.fields.String()
    algorithm_version = ma.fields.String()
    rules = ma.fields.String()
    instrument_kind = ma.fields.String()
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
