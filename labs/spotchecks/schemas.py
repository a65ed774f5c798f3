"""The marshmallow schemas the spot-check API and its pages share."""
from __future__ import annotations

import marshmallow as ma

from labs.api import CalendarDate, Id, Line, Text, Whole
from labs.spotchecks import domain
from labs.spotchecks.models import ENTITY_KINDS, PLAN_STATES, RISK_LEVELS
from labs.spotchecks.models import INSTRUMENT_KINDS as REGISTRY_INSTRUMENT_KINDS
from labs.verification.models import INSTRUMENT_KINDS
from labs.verification.schemas import VERDICTS

SHARE = r"^(0(\.[0-9]{1,4})?|1(\.0{1,4})?)$"  # a share of a risk level's entities, 0 to 1
TASK_ORIGINS = ("drawn", "nominated")  # what Task.origin holds: drawn by lot, or nominated by the public
LEVELS = ", ".join(RISK_LEVELS)


def _is(description: str) -> dict:
    return {"description": description}


class PlanIn(ma.Schema):
    name = Line(required=True, validate=ma.validate.Length(min=1, max=200), metadata=_is("the plan's name, as "
                                                                                          "published"))
    instrument_kind = ma.fields.String(required=True, validate=ma.validate.OneOf(INSTRUMENT_KINDS),
                                       metadata=_is("the kind of instrument checked"))
    regions = ma.fields.List(Line(validate=ma.validate.Regexp(r"^[0-9]{6}$")), required=True,
                             validate=ma.validate.Length(min=1, max=500),
                             metadata=_is("the administrative divisions in scope (six-digit GB/T 2260 codes)"))
    entity_kinds = ma.fields.List(ma.fields.String(validate=ma.validate.OneOf(ENTITY_KINDS)),
                                  required=True, validate=ma.validate.Length(min=1, max=len(ENTITY_KINDS)),
                                  metadata=_is("the kinds of registry entity in scope, as the registry names them "
                                               "(a kind it does not know would draw nothing)"))
    shares = ma.fields.Dict(keys=ma.fields.String(validate=ma.validate.OneOf(RISK_LEVELS)),
                            values=Line(validate=ma.validate.Regexp(
                                SHARE, error="a share from 0 to 1, at most four decimals (0.05 is 5 %)")),
                            required=True, metadata={
                                "description": f"per risk level ({LEVELS}), the share of its entities in scope "
                                               "drawn, 0 to 1 as a decimal string: max(1, ceil(share × n)) of n; "
                                               "at least one level above 0",
                                "example": {"high": "0.05", "medium": "0.03", "low": "0.01"}})
    inspectors_per_task = Whole(load_default=2, validate=ma.validate.Range(min=2, max=10),
                                metadata=_is("inspectors drawn for each entity, at least two"))
    instruments_per_entity = Whole(load_default=1, validate=ma.validate.Range(min=1, max=100),
                                   metadata=_is("instruments drawn at each entity (all it has, if fewer)"))
    draw_date = CalendarDate(required=True, metadata=_is("the day the draw is to take place"))
    publication_working_days = Whole(load_default=20, validate=ma.validate.Range(min=1, max=60),
                                     metadata=_is("working days after a task concludes within which its "
                                                  "result is published"))
    previous_plan_id = Id(allow_none=True, metadata=_is("the previous round: its inspectors do not check the same "
                                                        "entities again (rotation); null: none"))


class PlanPatch(PlanIn):
    """Only the fields sent change; the scope (all but name, draw_date, publication_working_days) only
    while the plan is open."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **{**kwargs, "partial": True})


class PlanOut(PlanIn):
    id = ma.fields.Integer(metadata=_is("the plan's id"))
    state = ma.fields.String(validate=ma.validate.OneOf(PLAN_STATES),
                             metadata=_is("open: the scope may change, witnesses commit; frozen: the scope's "
                                          "snapshot is taken, secrets are revealed; drawn; stopped: a revealed "
                                          "secret did not match its commitment"))
    snapshot_sha256 = ma.fields.String(allow_none=True, metadata=_is("SHA-256 (hex) of the sorted credit codes in "
                                                                     "scope joined by newlines; null until frozen"))
    seed = ma.fields.String(allow_none=True, metadata=_is("SHA-256 (hex) of the revealed secrets joined by "
                                                          "newlines, in witness order; null until drawn"))
    frozen_at = ma.fields.AwareDateTime(allow_none=True, metadata=_is("when the scope was frozen, UTC; null: not "
                                                                      "yet"))
    drawn_at = ma.fields.AwareDateTime(allow_none=True, metadata=_is("when the draw ran, UTC; null: not yet"))


class WitnessIn(ma.Schema):
    name = Line(required=True, validate=ma.validate.Length(min=1, max=100),
                metadata=_is("who witnesses, as published (the discipline officer, an observer for the "
                             "enterprises)"))
    commitment = ma.fields.String(required=True, validate=ma.validate.Length(equal=64),
                                  metadata=_is("SHA-256 (hex) of the secret the witness will reveal after the "
                                               "freeze"))


class RevealIn(ma.Schema):
    secret = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=1000),
                              metadata=_is("the secret committed to: its SHA-256 of the UTF-8 text must be the "
                                           "commitment, or the draw stops"))


class WitnessOut(ma.Schema):
    position = ma.fields.Integer(metadata=_is("the witness's place in the published order, from 1"))
    name = ma.fields.String(metadata=_is("who witnesses"))
    commitment = ma.fields.String(metadata=_is("SHA-256 (hex, lower case) of the witness's secret"))
    revealed_at = ma.fields.AwareDateTime(allow_none=True, metadata=_is("when the secret was revealed, UTC; null: "
                                                                        "not yet"))


class DrawOut(ma.Schema):
    """A plan's draw as published: everything needed to re-run it."""

    plan = ma.fields.Integer(metadata=_is("the plan's id"))
    name = ma.fields.String(metadata=_is("the plan's name"))
    state = ma.fields.String(validate=ma.validate.OneOf(PLAN_STATES), metadata=_is("the plan's state"))
    algorithm = ma.fields.String(metadata=_is(f"the draw's algorithm ({domain.ALGORITHM})"))
    algorithm_version = ma.fields.String(metadata=_is("its version"))
    rules = ma.fields.String(metadata=_is("the algorithm in words: enough to re-run the draw"))
    instrument_kind = ma.fields.String(validate=ma.validate.OneOf(INSTRUMENT_KINDS),
                                       metadata=_is("the kind of instrument checked"))
    shares = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.String(),
                            metadata=_is(f"per risk level ({LEVELS}), the share drawn, a decimal string"))
    instruments_per_entity = ma.fields.Integer(metadata=_is("instruments drawn at each entity"))
    inspectors_per_task = ma.fields.Integer(metadata=_is("inspectors drawn for each entity"))
    witnesses = ma.fields.List(ma.fields.Dict(), metadata=_is("position, name, commitment and secret (null until "
                                                              "drawn or stopped) of each witness, in order"))
    snapshot_sha256 = ma.fields.String(allow_none=True, metadata=_is("SHA-256 (hex) of the snapshot's sorted "
                                                                     "credit codes joined by newlines; null until "
                                                                     "frozen"))
    snapshot = ma.fields.Dict(allow_none=True, metadata=_is("per risk level, the sorted credit codes in scope; "
                                                            "null until frozen"))
    seed = ma.fields.String(allow_none=True, metadata=_is("SHA-256 (hex) of the revealed secrets; null until drawn"))
    selection = ma.fields.Dict(allow_none=True, metadata=_is("entities (per risk level, in draw order), "
                                                             "inspector_pool (ids) and tasks (credit code, "
                                                             "candidate and drawn serials, inspectors drawn and "
                                                             "skipped with why); null until drawn"))
    frozen_at = ma.fields.AwareDateTime(allow_none=True, metadata=_is("when the scope was frozen, UTC"))
    drawn_at = ma.fields.AwareDateTime(allow_none=True, metadata=_is("when the draw ran, UTC"))


class ConfirmOut(ma.Schema):
    plan = ma.fields.Integer(metadata=_is("the plan's id"))
    confirmed = ma.fields.Boolean(metadata=_is("every check holds: the re-run gives the published draw"))
    checks = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.Boolean(),
                            metadata=_is("snapshot_sha256, seed, entities, tasks: whether each matches"))


class TaskInstrumentOut(ma.Schema):
    id = ma.fields.Integer(metadata=_is("the task instrument's id"))
    instrument_id = ma.fields.Integer(metadata=_is("the registry instrument's id"))
    serial_number = ma.fields.String(attribute="instrument.serial_number", metadata=_is("its serial number"))
    description = ma.fields.String(attribute="instrument.description",
                                   metadata=_is("where it is, as the registry says (island and nozzle, an "
                                                "address)"))
    verification_id = ma.fields.Integer(allow_none=True, metadata=_is("the verification run attached; null: none "
                                                                      "yet"))
    conclusion = ma.fields.String(validate=ma.validate.OneOf(VERDICTS), allow_none=True,
                                  metadata=_is("the first inspector's conclusion; null: not reviewed"))
    conclusion_note = ma.fields.String(metadata=_is("the first inspector's note; may be empty"))
    reviewed_by = ma.fields.Integer(allow_none=True, metadata=_is("the user who concluded; null: nobody yet"))
    countersigned_by = ma.fields.Integer(allow_none=True, metadata=_is("the second inspector (a user); null: not "
                                                                       "countersigned"))
    rectify_by = ma.fields.Date(allow_none=True, metadata=_is("a failure's rectification deadline; null: none"))
    out_of_use = ma.fields.Boolean(metadata=_is("failed: out of use until a passing re-verification is attached"))


class TaskOut(ma.Schema):
    id = ma.fields.Integer(metadata=_is("the task's id"))
    plan_id = ma.fields.Integer(metadata=_is("the plan it belongs to"))
    origin = ma.fields.String(validate=ma.validate.OneOf(TASK_ORIGINS),
                              metadata=_is("drawn: by lot; nominated: by the public (你点我查)"))
    credit_code = ma.fields.String(attribute="entity.credit_code", metadata=_is("the entity's unified social "
                                                                                "credit code"))
    entity = ma.fields.String(attribute="entity.name", metadata=_is("the entity's name"))
    inspector_ids = ma.fields.List(ma.fields.Integer(), metadata=_is("the registry inspectors drawn for it"))
    instruments = ma.fields.List(ma.fields.Nested(TaskInstrumentOut), metadata=_is("its instruments to check"))
    due_on = ma.fields.Date(allow_none=True, metadata=_is("the day it is due; its inspectors are reminded as it "
                                                          "nears; null: no date"))
    concluded_on = ma.fields.Date(allow_none=True, metadata=_is("the day its last instrument was countersigned; "
                                                                "null: open"))
    publish_by = ma.fields.Date(allow_none=True, metadata=_is("the last day to publish its result; null: open"))
    published_at = ma.fields.AwareDateTime(allow_none=True, metadata=_is("when its result was published, UTC; "
                                                                         "null: not yet"))


class AttachIn(ma.Schema):
    verification_id = Id(required=True, metadata=_is("a finished verification run of the same instrument (kind, "
                                                     "serial number and owner's credit code)"))


class ReviewIn(ma.Schema):
    conclusion = ma.fields.String(required=True, validate=ma.validate.OneOf(VERDICTS),
                                  metadata=_is("the inspector's conclusion on the instrument"))
    note = Text(load_default="", validate=ma.validate.Length(max=1000),
                metadata=_is("why, or what was seen"))


class NominatedTasksIn(ma.Schema):
    top = Whole(required=True, validate=ma.validate.Range(min=1, max=100),
                metadata=_is("how many of the most nominated instruments of the plan's kind, not yet taken "
                             "by a plan, join it"))


class NominationIn(ma.Schema):
    instrument_id = Id(required=True, metadata=_is("the registry instrument nominated: a fuel dispenser or an "
                                                   "electricity meter"))
    reason = Line(required=True, validate=ma.validate.Length(min=2, max=500), metadata=_is("why it should be "
                                                                                           "checked"))
    phone = ma.fields.String(required=True, validate=ma.validate.Length(min=11, max=20),
                             metadata=_is("the nominator's mainland mobile number (11 digits; +86, spaces and "
                                          "dashes allowed); kept only as a keyed hash: one person counts once"))


class NominationCountOut(ma.Schema):
    instrument_id = ma.fields.Integer(metadata=_is("the registry instrument's id"))
    kind = ma.fields.String(validate=ma.validate.OneOf(REGISTRY_INSTRUMENT_KINDS),
                            metadata=_is("its kind (only fuel dispensers and electricity meters are nominated)"))
    serial_number = ma.fields.String(metadata=_is("its serial number"))
    description = ma.fields.String(metadata=_is("where it is, as the registry says"))
    entity = ma.fields.String(metadata=_is("the entity's name"))
    credit_code = ma.fields.String(metadata=_is("the entity's unified social credit code"))
    count = ma.fields.Integer(metadata=_is("how many people nominated it"))
    plan_id = ma.fields.Integer(allow_none=True, metadata=_is("the plan that took it as a nominated task; null: "
                                                              "none yet"))


class NominatedOut(ma.Schema):
    instrument_id = ma.fields.Integer(metadata=_is("the registry instrument nominated"))
    count = ma.fields.Integer(metadata=_is("how many people have nominated it, this one included"))


class ResultsQuery(ma.Schema):
    plan_id = Id(metadata=_is("only this plan's results"))
    before = Id(metadata=_is("only results published before this one (its id): the next page"))
    limit = Whole(load_default=20, validate=ma.validate.Range(min=1, max=200),
                  metadata=_is("results per page, newest first (1 to 200, default 20)"))


class PublishedOut(ma.Schema):
    id = ma.fields.Integer(metadata=_is("the published result's id"))
    task_id = ma.fields.Integer(metadata=_is("the task it concludes"))
    plan_id = ma.fields.Integer(metadata=_is("the plan"))
    published_on = ma.fields.Date(metadata=_is("the day it was published, in the service's time zone"))
    content = ma.fields.Dict(metadata=_is("as published: plan, origin, entity (credit code, name, region), "
                                          "instruments (conclusion, measured verdict, errors in % with the MPE "
                                          "band, rectification deadline), concluded_on, verdict"))


class ReviewSheetOut(ma.Schema):
    task_instrument = ma.fields.Integer(metadata=_is("the task instrument's id"))
    entity = ma.fields.String(metadata=_is("the entity's name"))
    serial_number = ma.fields.String(metadata=_is("the instrument's serial number"))
    kind = ma.fields.String(validate=ma.validate.OneOf(REGISTRY_INSTRUMENT_KINDS),
                            metadata=_is("the instrument's kind"))
    conclusion = ma.fields.String(validate=ma.validate.OneOf(VERDICTS), allow_none=True,
                                  metadata=_is("the first inspector's conclusion; null: not reviewed"))
    verdict = ma.fields.String(validate=ma.validate.OneOf(VERDICTS), allow_none=True,
                               metadata=_is("the attached run's measured verdict; absent: no run attached"))
    points = ma.fields.List(ma.fields.Dict(), metadata=_is("per point: errors in % (each reading, mean, rounded), "
                                                           "the MPE band (%), passed, and x with x_unit: flow "
                                                           "(L/min), current (A), speed (km/h) or time (s)"))
    history = ma.fields.List(ma.fields.Dict(), metadata=_is("the same instrument's earlier results, newest first: "
                                                            "verified_on, verdict, procedure, verification_id"))
