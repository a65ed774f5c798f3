"""/api/v1: instruments under verification, rigs, procedures, verification runs, certificates."""
from __future__ import annotations

from labs.accounts.auth import current_user
from labs.api import Blueprint, committed
from labs.db import get_session
from labs.verification import schemas, service

blp = Blueprint("verification", __name__, url_prefix="/api/v1", description="Verification of instruments")
BEARER = [{"bearerAuth": []}]



@blp.route("/instruments", methods=["GET"])
@blp.arguments(schemas.VerifiedInstrumentQuery, location="query")
@blp.response(200, schemas.VerifiedInstrumentOut(many=True))
@blp.errors(401, 403)
@blp.doc(security=BEARER)
def list_instruments(query):
    """Staff see every instrument under verification; an enterprise its own."""
    return service.list_instruments(get_session(), current_user(), **query)


@blp.route("/instruments", methods=["POST"])
@blp.arguments(schemas.VerifiedInstrumentIn)
@blp.response(201, schemas.VerifiedInstrumentOut)
@blp.errors(401, 403, 409)
@blp.doc(security=BEARER)
def register_instrument(body):
    """Register an instrument; its owner is created on first use (credit code and name)."""
    return committed(service.register_instrument(get_session(), current_user(), body))


@blp.route("/instruments/<int:instrument_id>", methods=["GET"])
@blp.response(200, schemas.VerifiedInstrumentOut)
@blp.errors(401, 403, 404)
@blp.doc(security=BEARER)
def get_instrument(instrument_id):
    """One instrument under verification, with its nameplate and owner."""
    return service.get_instrument(get_session(), current_user(), instrument_id)


@blp.route("/instruments/<int:instrument_id>", methods=["PATCH"])
@blp.arguments(schemas.VerifiedInstrumentPatch)
@blp.response(200, schemas.VerifiedInstrumentOut)
@blp.errors(401, 403, 404)
@blp.doc(security=BEARER)
def update_instrument(body, instrument_id):
    """Change an instrument's particulars (only the fields sent)."""
    return committed(service.update_instrument(get_session(), current_user(), instrument_id, body))


@blp.route("/instruments/<int:instrument_id>/results", methods=["GET"])
@blp.response(200, schemas.ResultOut(many=True))
@blp.errors(401, 403, 404)
@blp.doc(security=BEARER)
def instrument_history(instrument_id):
    """The instrument's verification history, newest first."""
    return service.instrument_history(get_session(), current_user(), instrument_id)


@blp.route("/rigs", methods=["GET"])
@blp.response(200, schemas.RigOut(many=True))
@blp.errors(401, 403)
@blp.doc(security=BEARER)
def list_rigs():
    """The calibration rigs, with their links and reference standards."""
    return service.list_rigs(get_session(), current_user())


@blp.route("/rigs", methods=["POST"])
@blp.arguments(schemas.RigIn)
@blp.response(201, schemas.RigOut)
@blp.errors(401, 403, 409)
@blp.doc(security=BEARER)
def register_rig(body):
    """Register a rig with its link and its reference standard's certificate."""
    return committed(service.register_rig(get_session(), current_user(), body))


@blp.route("/rigs/<int:rig_id>", methods=["GET"])
@blp.response(200, schemas.RigOut)
@blp.errors(401, 403, 404)
@blp.doc(security=BEARER)
def get_rig(rig_id):
    """One rig, with its link and reference standard."""
    return service.get_rig(get_session(), current_user(), rig_id)


@blp.route("/rigs/<int:rig_id>", methods=["PATCH"])
@blp.arguments(schemas.RigPatch)
@blp.response(200, schemas.RigOut)
@blp.errors(401, 403, 404, 409)
@blp.doc(security=BEARER)
def update_rig(body, rig_id):
    """Change a rig's link, standard or restrictions (only the fields sent)."""
    return committed(service.update_rig(get_session(), current_user(), rig_id, body))


@blp.route("/procedures", methods=["GET"])
@blp.response(200, schemas.ProcedureOut(many=True))
@blp.errors(401, 403)
@blp.doc(security=BEARER)
def list_procedures():
    """The verification procedures (JJG) with their versions, the one in force marked."""
    return service.list_procedures(get_session(), current_user())


@blp.route("/procedures", methods=["POST"])
@blp.arguments(schemas.ProcedureIn)
@blp.response(201, schemas.ProcedureOut)
@blp.errors(401, 403, 409)
@blp.doc(security=BEARER)
def add_procedure_version(body):
    """A corrected or new version of a procedure (lab managers); results keep the version they used."""
    return committed(service.add_procedure_version(get_session(), current_user(), body))


@blp.route("/procedures/<int:procedure_id>", methods=["GET"])
@blp.response(200, schemas.ProcedureOut)
@blp.errors(401, 403, 404)
@blp.doc(security=BEARER)
def get_procedure(procedure_id):
    """One procedure version: its points, errors and maximum permissible errors."""
    return service.get_procedure(get_session(), current_user(), procedure_id)


@blp.route("/verifications", methods=["GET"])
@blp.arguments(schemas.VerificationQuery, location="query")
@blp.response(200, schemas.VerificationOut(many=True))
@blp.errors(401, 403)
@blp.doc(security=BEARER)
def list_verifications(query):
    """Verification runs the caller may see, optionally only those in one state."""
    return service.list_verifications(get_session(), current_user(), **query)


@blp.route("/verifications", methods=["POST"])
@blp.arguments(schemas.VerificationIn)
@blp.response(201, schemas.VerificationDetailOut)
@blp.errors(401, 403, 404)
@blp.doc(security=BEARER)
def request_verification(body):
    """Queue a run; `labs runner` executes it. Refused when the standard's certificate has expired or
    the rig is kept to its lab's technicians."""
    db = get_session()
    verification = committed(service.request_verification(db, current_user(), **body))
    return service.verification_detail(db, current_user(), verification.id)


@blp.route("/verifications/<int:verification_id>", methods=["GET"])
@blp.response(200, schemas.VerificationDetailOut)
@blp.errors(401, 403, 404)
@blp.doc(security=BEARER)
def get_verification(verification_id):
    """The run with its live values, readings, result and certificate (poll it to follow a run)."""
    return service.verification_detail(get_session(), current_user(), verification_id)


@blp.route("/verifications/<int:verification_id>/cancel", methods=["POST"])
@blp.response(200, schemas.VerificationOut)
@blp.errors(401, 403, 404, 409)
@blp.doc(security=BEARER)
def cancel_verification(verification_id):
    """Cancel a run that has not finished; its readings stay on record."""
    return committed(service.cancel_verification(get_session(), current_user(), verification_id))


@blp.route("/verifications/<int:verification_id>/retry", methods=["POST"])
@blp.response(200, schemas.VerificationOut)
@blp.errors(401, 403, 404, 409)
@blp.doc(security=BEARER)
def retry_verification(verification_id):
    """A failed run queued again; it resumes at its first unfinished point."""
    return committed(service.retry_verification(get_session(), current_user(), verification_id))


@blp.route("/verifications/<int:verification_id>/readings", methods=["POST"])
@blp.arguments(schemas.ManualReadingIn)
@blp.response(201, schemas.ReadingOut)
@blp.errors(401, 403, 404, 409)
@blp.doc(security=BEARER)
def record_manual_reading(body, verification_id):
    """A reading entered by hand, where the procedure allows it (marked manual)."""
    return committed(service.record_manual_reading(get_session(), current_user(), verification_id, **body))


@blp.route("/certificates/<certificate_number:number>", methods=["GET"])
@blp.response(200, schemas.CertificateOut)
@blp.errors(404)
def confirm_certificate(number):
    """Anyone may confirm a certificate or notice of failure by its number (no login)."""
    return service.public_certificate(get_session(), number)
