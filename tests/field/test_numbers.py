"""Certificate numbers with blocks: a laptop numbers from its own, the server below them all."""
from __future__ import annotations

import datetime as dt

import pytest

from labs.db import session_scope
from labs.errors import Conflict
from labs.verification import service
from labs.verification.models import CertificateBlock

DAY = dt.date(2026, 11, 20)


def test_blocks_reserved_for_laptops_do_not_change_the_servers_numbering(app):
    with session_scope(app) as session:
        assert service.next_certificate_number(session, "certificate", DAY) == "JD2026-000001"
        session.add(CertificateBlock(year=2026, first=900_000, last=900_049, device_key="k", here=False))
        session.flush()
        assert service.next_certificate_number(session, "certificate", DAY) == "JD2026-000001"


def test_a_laptop_numbers_from_its_blocks_and_says_when_they_are_used_up(app):
    with session_scope(app) as session:
        session.add(CertificateBlock(year=2026, first=900_100, last=900_101, device_key="k", here=True))
        session.flush()
        assert service.next_certificate_number(session, "certificate", DAY) == "JD2026-900100"
        assert service.next_certificate_number(session, "failure_notice", DAY) == "TZ2026-900100"
        with pytest.raises(Conflict) as refused:
            service.next_certificate_number(session, "certificate", dt.date(2027, 1, 4))
        assert refused.value.code == "field_numbers_used_up"
