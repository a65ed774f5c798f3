"""marshmallow's (and webargs') own messages, in the reader's language: they come out of a schema
already formatted in English ("Must be greater than or equal to 1."), so each is matched against
the library's message templates, kept here as msgids, and rendered from the values it holds."""
from __future__ import annotations

import re

from labs.i18n import N_, render

MESSAGES = (
    N_("Missing data for required field."), N_("Field may not be null."), N_("Invalid value."),
    N_("Invalid type."), N_("Invalid input."), N_("Invalid input type."), N_("Unknown field."),
    N_("Not a valid string."), N_("Not a valid utf-8 string."), N_("Not a valid integer."),
    N_("Not a valid number."), N_("Number too large."),
    N_("Special numeric values (nan or infinity) are not permitted."), N_("Not a valid boolean."),
    N_("Not a valid date."), N_("Not a valid time."), N_("Not a valid datetime."),
    N_("Not a valid aware datetime."), N_("Not a valid naive datetime."), N_("Not a valid period of time."),
    N_("Not a valid list."), N_("Not a valid tuple."), N_("Not a valid mapping type."),
    N_("Not a valid email address."), N_("Not a valid URL."), N_("Not a valid UUID."),
    N_("Not a valid IP address."), N_("Not a valid IP interface."), N_("Not a valid IPv4 address."),
    N_("Not a valid IPv4 interface."), N_("Not a valid IPv6 address."), N_("Not a valid IPv6 interface."),
    N_("String does not match expected pattern."),
    N_("Shorter than minimum length %(min)s."), N_("Longer than maximum length %(max)s."),
    N_("Length must be between %(min)s and %(max)s."), N_("Length must be %(equal)s."),
    N_("Must be one of: %(choices)s."), N_("Must be equal to %(other)s."),
    N_("One or more of the choices you made was not in: %(choices)s."),
    N_("One or more of the choices you made was in: %(values)s."),
    N_("Must be greater than or equal to %(min)s."), N_("Must be greater than %(min)s."),
    N_("Must be less than or equal to %(max)s."), N_("Must be less than %(max)s."),
    N_("Must be greater than or equal to %(min)s and less than or equal to %(max)s."),
    N_("Must be greater than or equal to %(min)s and less than %(max)s."),
    N_("Must be greater than %(min)s and less than or equal to %(max)s."),
    N_("Must be greater than %(min)s and less than %(max)s."),
    N_("Invalid JSON body."),
)


def _pattern(msgid: str) -> re.Pattern:
    parts = re.split(r"%\((\w+)\)s", msgid)  # text, name, text, name, ..., text
    return re.compile("".join(re.escape(part) if i % 2 == 0 else f"(?P<{part}>.+?)"
                              for i, part in enumerate(parts)) + r"\Z", re.DOTALL)


# Templates without values first: a fixed text never has to be tried against the patterns.
_FIXED = {msgid for msgid in MESSAGES if "%(" not in msgid}
# Longest first: "Must be greater than %(min)s." would also match the text of "... and less than %(max)s.".
_PATTERNS = [(_pattern(msgid), msgid) for msgid in sorted(MESSAGES, key=len, reverse=True) if "%(" in msgid]


def translate(text: str) -> str:
    """A message from a schema in the current language: the library's own from the table above,
    our own (N_ in labs' schemas) from the catalogs, anything else as it is."""
    if text in _FIXED:
        return render(text)
    for pattern, msgid in _PATTERNS:
        found = pattern.match(text)
        if found:
            return render(msgid, found.groupdict())
    return render(text)
