"""The accounts package's scheduled work: expired tokens and sessions, and sign-in failures too old
to count, are deleted. Idempotent: a second run finds nothing to delete."""
from __future__ import annotations

from labs.accounts.service import purge_sign_in_records

JOBS = [
    (purge_sign_in_records, {"trigger": "interval", "minutes": 30}),
]
