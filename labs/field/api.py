"""/api/v1/field: a technician's laptop registers, brings down what it needs on site, reserves
certificate numbers and uploads its runs and chained rows (see labs.field.service)."""
from __future__ import annotations

from labs.accounts.auth import current_user
from labs.api import Blueprint, committed
from labs.db import get_session
from labs.field import schemas, service

blp = Blueprint("field", __name__, url_prefix="/api/v1/field", description="Laptops verifying on site")
BEARER = [{"bearerAuth": []}]


@blp.route("/devices", methods=["POST"])
@blp.arguments(schemas.DeviceIn)
@blp.response(200, schemas.DeviceOut)
@blp.errors(401, 403, 409)
@blp.doc(security=BEARER)
def register_device(body):
    """Register the technician's laptop (again, idempotent): what the server already holds of it."""
    return committed(service.register_device(get_session(), current_user(), body["key"], body["name"]))


@blp.route("/devices/<uuid:key>/catalog", methods=["GET"])
@blp.response(200, schemas.CatalogOut)
@blp.errors(401, 403, 404)
@blp.doc(security=BEARER)
def catalog(key):
    """Instruments, procedures, the technician's rigs and the laptop's certificate number blocks."""
    return service.catalog(get_session(), current_user(), key)


@blp.route("/devices/<uuid:key>/blocks", methods=["POST"])
@blp.arguments(schemas.BlockIn)
@blp.response(201, schemas.BlockOut)
@blp.errors(401, 403, 404, 409)
@blp.doc(security=BEARER)
def reserve_block(body, key):
    """Reserve the next block of certificate numbers of a year for the laptop."""
    return committed(service.reserve_block(get_session(), current_user(), key, body["year"]))


@blp.route("/devices/<uuid:key>/uploads", methods=["POST"])
@blp.arguments(schemas.UploadIn)
@blp.response(200, schemas.UploadOut)
@blp.errors(401, 403, 404, 409)
@blp.doc(security=BEARER)
def upload(body, key):
    """One batch of runs and chained rows; a row already held identically is acknowledged, not
    stored again; a row held differently refuses the batch (409, `conflicts`), which writes nothing."""
    return committed(service.upload(get_session(), current_user(), key, body))
