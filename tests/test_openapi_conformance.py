"""Schemathesis against /api/openapi.json: every operation, anonymously and with bearer tokens of an
admin and of an enterprise user, never answers 5xx and always answers as the document says."""
from __future__ import annotations

import datetime as dt
import traceback

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from tests.conftest import booking_body, next_working_day

MAX_EXAMPLES = 30
# Schema-valid data may still break a rule no OpenAPI schema can state (a credit code's check
# character, opening hours, a range of at most 62 days): the API answers those with 422 and
# per-field messages, which is documented for every operation that takes input. Every other
# check runs as shipped, and this one still refuses 400, 405, 415 or any other rejection.
CONFIG = schemathesis.Config.from_dict({"checks": {"positive_data_acceptance": {
    "expected-statuses": ["2xx", "3xx", "401", "403", "404", "409", "422", "429", "5xx"]}}})


@pytest.fixture
def seeded(world):
    """Ids 1 exist: a lab with an instrument, a booking, users of each kind."""
    manager_id, _ = world.user("lab_manager")
    _, admin = world.user("admin")
    _, enterprise = world.user("enterprise", enterprise=0)
    lab = world.lab(manager_ids=[manager_id], bays=3,
                    instruments=[{"code": "CT-1", "name": "industrial CT", "certificate_no": "C1",
                                  "calibration_valid_until": dt.date.today() + dt.timedelta(days=400)}])
    tokens = {"anonymous": {}, "admin": world.token(admin), "enterprise": world.token(enterprise)}
    r = world.client.post("/api/v1/bookings", json=booking_body(lab, next_working_day()), headers=tokens["enterprise"])
    assert r.status_code == 201, r.json
    return tokens


def test_api_conforms_to_its_openapi_document_and_never_answers_5xx(app, seeded):
    schema = schemathesis.openapi.from_wsgi("/api/openapi.json", app, config=CONFIG)
    operations = [result.ok() for result in schema.get_all_operations()]
    documented = sum(len(rule.methods - {"HEAD", "OPTIONS"}) for rule in app.url_map.iter_rules()
                     if rule.rule.startswith("/api/v1/"))
    assert len(operations) == documented
    # Operations that end a caller's access (its token revoked, a user deactivated, a password
    # reset or changed) run last, and the admin, who may end the others' access, goes last: so every
    # other operation is exercised with a token that still works.
    ends_access = ("DELETE /api/v1/auth/token", "/deactivate", "/reset-password", "/password")
    operations.sort(key=lambda op: any(marker in op.label for marker in ends_access))
    failures = []
    for caller in ("anonymous", "enterprise", "admin"):
        headers = seeded[caller]
        for operation in operations:
            @settings(max_examples=MAX_EXAMPLES, deadline=None, derandomize=True, database=None,
                      suppress_health_check=list(HealthCheck))
            @given(case=operation.as_strategy())
            def exercise(case):
                case.call_and_validate(headers=headers)

            try:
                exercise()
            except (Exception, BaseExceptionGroup) as exc:  # collect every operation's failure, not just the first
                failures.append(f"{caller} {operation.label}: " + "".join(traceback.format_exception(exc))[-4000:])
    assert failures == [], "\n\n".join(failures)
