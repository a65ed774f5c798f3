"""The services package's scheduled work. Each job is idempotent: running it twice changes nothing."""
from __future__ import annotations

from labs.services import service

JOBS = [(service.stop_clocks_for_overdue_documents, {"trigger": "interval", "minutes": 10})]
