"""The spot-checks' scheduled work: uploaded registry files are imported by `labs scheduler`."""
from __future__ import annotations

from labs.spotchecks.registry import run_queued_imports

JOBS = [(run_queued_imports, {"trigger": "interval", "seconds": 3})]
