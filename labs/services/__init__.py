"""Verification as a service: requests and their clock in public view, the taxi-meter queue."""
from labs.services.service import on_certificate
from labs.verification import service as _verification

if on_certificate not in _verification.CONCLUDED:
    _verification.CONCLUDED.append(on_certificate)
