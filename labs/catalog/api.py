"""/api/v1: the lab catalog, closures and instruments."""
from __future__ import annotations

from labs.accounts.auth import current_user
from labs.api import Blueprint, committed
from labs.catalog import service
from labs.catalog.schemas import (ClosureIn, ClosureOut, InstrumentIn, InstrumentOut, InstrumentPatch, LabIn, LabOut,
                                  LabPatch)
from labs.db import get_session

blp = Blueprint("catalog", __name__, url_prefix="/api/v1", description="Labs and instruments")
BEARER = [{"bearerAuth": []}]


@blp.route("/labs", methods=["GET"])
@blp.response(200, LabOut(many=True))
def list_labs():
    """The public catalog."""
    return service.list_labs(get_session())


@blp.route("/labs", methods=["POST"])
@blp.arguments(LabIn)
@blp.response(201, LabOut)
@blp.errors(401, 403, 409)
@blp.doc(security=BEARER)
def create_lab(body):
    """Create a lab with its opening hours, instruments, managers and technicians (administrators)."""
    db = get_session()
    lab = service.create_lab(db, current_user(), body)
    db.commit()
    return lab


@blp.route("/labs/<int:lab_id>", methods=["GET"])
@blp.response(200, LabOut)
@blp.errors(404)
def get_lab(lab_id):
    """One lab of the catalog: its rules, fees, opening hours and instruments in service."""
    return service.get_lab(get_session(), lab_id)


@blp.route("/labs/<int:lab_id>", methods=["PATCH"])
@blp.arguments(LabPatch)
@blp.response(200, LabOut)
@blp.errors(401, 403, 404)
@blp.doc(security=BEARER)
def update_lab(body, lab_id):
    """Change a lab's rules, hours or people (its managers); only the fields sent change, and an
    empty change is refused."""
    db = get_session()
    lab = service.update_lab(db, current_user(), lab_id, body)
    db.commit()
    return lab


@blp.route("/labs/<int:lab_id>/closures", methods=["POST"])
@blp.arguments(ClosureIn)
@blp.response(201, ClosureOut)
@blp.errors(401, 403, 404)
@blp.doc(security=BEARER)
def add_closure(body, lab_id):
    """Close the lab for a time (maintenance, a holiday of its own)."""
    db = get_session()
    closure = service.add_closure(db, current_user(), lab_id, **body)
    db.commit()
    return closure


@blp.route("/labs/<int:lab_id>/instruments", methods=["POST"])
@blp.arguments(InstrumentIn)
@blp.response(201, InstrumentOut)
@blp.errors(401, 403, 404, 409)
@blp.doc(security=BEARER)
def add_instrument(body, lab_id):
    """Add an instrument with its calibration certificate, which must not have run out."""
    db = get_session()
    instrument = service.add_instrument(db, current_user(), lab_id, body)
    db.commit()
    return instrument


@blp.route("/labs/<int:lab_id>/instruments/<int:instrument_id>", methods=["PATCH"])
@blp.arguments(InstrumentPatch)
@blp.response(200, InstrumentOut)
@blp.errors(401, 403, 404, 409)
@blp.doc(security=BEARER)
def update_instrument(body, lab_id, instrument_id):
    """A lab's own instrument (a new calibration certificate). /api/v1/instruments are the
    instruments under verification."""
    db = get_session()
    instrument = service.update_instrument(db, current_user(), instrument_id, body, lab_id=lab_id)
    db.commit()
    return instrument


@blp.route("/labs/<int:lab_id>/closures/<int:closure_id>", methods=["DELETE"])
@blp.response(204)
@blp.errors(401, 403, 404)
@blp.doc(security=BEARER)
def remove_closure(lab_id, closure_id):
    """Remove a closure: the lab is open again in its hours."""
    committed(service.remove_closure(get_session(), current_user(), lab_id, closure_id))


@blp.route("/labs/<int:lab_id>/instruments/<int:instrument_id>/retire", methods=["POST"])
@blp.response(200, InstrumentOut)
@blp.errors(401, 403, 404, 409)
@blp.doc(security=BEARER)
def retire_instrument(lab_id, instrument_id):
    """Retire an instrument: it stays on record but is no longer offered or booked."""
    return committed(service.retire_instrument(get_session(), current_user(), lab_id, instrument_id))
