"""Calendar feed routes: secret-token URLs that calendar programs subscribe to, no login."""
from __future__ import annotations

from flask import Blueprint, Response

from booking import calendar
from labs.db import get_session, utcnow

blp = Blueprint("feeds", __name__, url_prefix="/calendar")


@blp.get("/labs/<token>.ics")
def lab_feed(token: str):
    return Response(calendar.lab_feed(get_session(), token, utcnow()), mimetype="text/calendar")


@blp.get("/enterprises/<token>.ics")
def enterprise_feed(token: str):
    return Response(calendar.enterprise_feed(get_session(), token, utcnow()), mimetype="text/calendar")
