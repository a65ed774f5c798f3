"""Every message a person can see has its Simplified and Traditional Chinese translation (English is
the message id). The messages are extracted from the code and the templates as `pybabel extract`
would (labs/babel.cfg, with the N_ keyword of labs.i18n), into memory, and each one is looked up
in both catalogs."""
from __future__ import annotations

from pathlib import Path

import pytest
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("labs", "booking", "devices")
KEYWORDS = {**DEFAULT_KEYWORDS, "lazy_gettext": None, "N_": None}
LOCALES = ("zh_Hans_CN", "zh_Hant_TW")


def extracted() -> dict[str, list[str]]:
    """msgid -> where it is used ("labs/api.py:27")."""
    with open(ROOT / "labs" / "babel.cfg") as cfg:
        method_map, options_map = parse_mapping_cfg(cfg)
    used: dict[str, list[str]] = {}
    for package in PACKAGES:
        for filename, lineno, message, _comments, _context in extract_from_dir(
                ROOT / package, method_map, options_map, keywords=KEYWORDS):
            for msgid in message if isinstance(message, tuple) else (message,):
                if msgid:
                    used.setdefault(msgid, []).append(f"{package}/{filename}:{lineno}")
    return used


def test_the_extraction_sees_code_templates_and_n_marked_messages():
    used = extracted()
    assert "Beijing time" in used  # N_
    assert "Lab catalog" in used  # a template
    assert "Please log in." in used  # gettext in code


@pytest.mark.parametrize("locale", LOCALES)
def test_every_message_is_translated(locale):
    with open(ROOT / "labs" / "translations" / locale / "LC_MESSAGES" / "messages.po", "rb") as po:
        catalog = read_po(po)
    missing = []
    for msgid, places in sorted(extracted().items()):
        entry = catalog.get(msgid)
        strings = entry.string if entry is not None and isinstance(entry.string, tuple) else \
            (entry.string,) if entry is not None else ()
        why = "missing" if entry is None else "fuzzy" if entry.fuzzy else \
            "empty" if not all(strings) else None
        if why:
            missing.append(f"{why}: {msgid!r} ({', '.join(places[:3])}{', ...' if len(places) > 3 else ''})")
    assert not missing, f"{len(missing)} messages lack a {locale} translation:\n" + "\n".join(missing)
