"""marshmallow's own messages are read in the reader's language: every default message of its fields
and validators has a template in labs.schema_messages (a marshmallow upgrade that adds one fails
here), and a formatted message is matched back to its template with its values."""
from __future__ import annotations

import inspect
import re

import marshmallow as ma
import pytest
from flask_babel import force_locale

from labs.schema_messages import MESSAGES, translate


def _defaults() -> set[str]:
    """marshmallow's message templates, as msgids: {x} becomes %(x)s; Range's comparisons spelled out."""
    found = set()
    for _name, cls in inspect.getmembers(ma.fields, inspect.isclass):
        if issubclass(cls, ma.fields.Field):
            for klass in cls.__mro__:
                found.update(m for k, m in getattr(klass, "default_error_messages", {}).items() if k != "format")
    for _name, cls in inspect.getmembers(ma.validate, inspect.isclass):
        found.update(v for k, v in vars(cls).items() if isinstance(v, str) and k in ("default_message", "message_min",
                                                                                      "message_max", "message_all",
                                                                                      "message_equal"))
    found.update(ma.Schema.error_messages.values() if isinstance(ma.Schema.error_messages, dict) else ())
    found.update({"Invalid input type.", "Unknown field."})
    expanded = set()
    ops = {"min_op": ("greater than or equal to", "greater than"), "max_op": ("less than or equal to", "less than")}
    for template in found:
        variants = [template]
        for key, values in ops.items():
            variants = [v.replace("{" + key + "}", op) for v in variants for op in values] \
                if "{" + key + "}" in template else variants
        for v in variants:
            v = v.replace("{{", "{").replace("}}", "}")
            if "{obj_type}" in v or "{awareness}" in v:
                expanded.update({"Not a valid datetime.", "Not a valid aware datetime.",
                                 "Not a valid naive datetime."} if "{awareness}" in v else
                                {"Not a valid datetime.", "Not a valid date.", "Not a valid time."})
            else:
                expanded.add(re.sub(r"\{(\w+)\}", r"%(\1)s", v))
    return expanded


def test_every_default_message_of_marshmallow_has_a_template():
    assert _defaults() - set(MESSAGES) == set()


@pytest.mark.parametrize("locale, text, expected", [
    ("zh_Hans_CN", "Missing data for required field.", "缺少必填项。"),
    ("zh_Hant_TW", "Not a valid integer.", "不是有效的整數。"),
    ("zh_Hans_CN", "Must be greater than or equal to 1 and less than or equal to 2147483647.",
     "必须大于或等于 1 且小于或等于 2147483647。"),
    ("zh_Hans_CN", "Longer than maximum length 100.", "长度不能超过 100。"),
    ("zh_Hant_TW", "Must be one of: manager, instant.", "必須是以下之一：manager, instant。"),
    ("en", "Must be greater than 0.", "Must be greater than 0."),
    ("zh_Hans_CN", "something of our own that is not catalogued", "something of our own that is not catalogued"),
])
def test_a_formatted_message_is_read_back_in_the_readers_language(app, locale, text, expected):
    with app.app_context(), force_locale(locale):
        assert translate(text) == expected
