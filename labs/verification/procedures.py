"""Verification procedures as data: the regulation versions shipped with the service, and the check
of a procedure document (a shipped file, or a corrected version a lab manager posts).

Every figure a verification computes with lives in these documents, none in code, so a figure
can be corrected without a release and each result keeps the version that produced it.

What is wrong with a field is a message (N_) with its params, shown in the reader's language; a
value from the document is quoted as JSON, the form the lab manager wrote it in.
"""
from __future__ import annotations

import json
import re
from decimal import Decimal, InvalidOperation
from pathlib import Path

from labs.errors import Invalid
from labs.i18n import N_

FOLDER = Path(__file__).with_name("procedures")

# method -> (instrument kind, rig kind, operations its points may have)
METHODS = {
    "dispenser_volume": ("fuel_dispenser", "fdr", ("delivery",)),
    "meter_pulse": ("electricity_meter", "emb", ("error", "starting", "creep")),
    "taxi_distance_time": ("taxi_meter", "tmr", ("distance", "standing")),
}
FUEL_KINDS = ("gasoline", "diesel", "kerosene")  # as the FDR rig names them
CONNECTIONS = ("direct", "ct")
ELEMENTS = ("single", "3p4w", "3p3w")
# "1", or a power factor below 1 with L (inductive) or C (capacitive): "0.5L", "0.8C"
POWER_FACTOR = re.compile(r"1|0\.\d*[1-9][LC]")
ABOVE = N_("must be above %(other)s")  # a bound that must exceed its pair


def shipped() -> list[dict]:
    """The procedure files shipped in the package, parsed and validated, in file-name order."""
    return [validate(json.loads(path.read_text(encoding="utf-8"))) for path in sorted(FOLDER.glob("*.json"))]


def validate(data: dict) -> dict:
    """The normalised procedure document, or Invalid naming each bad field by its path.

    Numbers may be given as JSON numbers or decimal strings; decimals come back as decimal
    strings (exact, trailing zeros kept: "0.30" says to what the figure is given), counts as ints.
    """
    errors: dict[str, list[str]] = {}
    method = data.get("method") if isinstance(data, dict) else None
    method = method if isinstance(method, str) else None  # a list or an object is no method (nor hashable)
    fields = dict(COMMON)
    if method in METHODS:
        fields.update(METHOD_FIELDS[method])
    elif isinstance(data, dict):
        # Without a known method there is no knowing which other fields belong: report the method only.
        fields.update({name: _optional(lambda value, path, errors: value) for name in data if name not in fields})
    result = _object(fields)(data, "", errors)
    if method in METHODS and not errors:
        _check_consistency(result, errors)
    if errors:
        raise Invalid(N_("the procedure document has %(n)s bad field(s): %(fields)s"), errors, code="invalid_procedure",
                      params={"n": len(errors), "fields": ", ".join(sorted(errors))})
    return result


# --- field checks: each takes (value, path, errors) and returns the normalised value ------------

def _fail(errors, path, message):
    errors.setdefault(path or "(document)", []).append(message)


def _quoted(value) -> str:
    """A value of the document as the message shows it: JSON, cut short."""
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= 60 else text[:59] + "…"


def _join(path, name):
    return f"{path}.{name}" if path else str(name)


def _decimal(*, positive=False):
    def check(value, path, errors):
        if isinstance(value, bool) or not isinstance(value, (int, float, str)):
            return _fail(errors, path, N_("must be a number or a decimal string"))
        try:
            number = Decimal(value.strip()) if isinstance(value, str) else Decimal(repr(value))
        except InvalidOperation:
            return _fail(errors, path, N_("%(value)s is not a decimal number") % {"value": _quoted(value)})
        if not number.is_finite():
            return _fail(errors, path, N_("must be finite"))
        if positive and number <= 0:
            return _fail(errors, path, N_("must be positive"))
        return format(number, "f")
    return check


def _integer(*, minimum):
    def check(value, path, errors):
        if isinstance(value, str) and value.strip().lstrip("-").isdigit():
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int):
            return _fail(errors, path, N_("must be a whole number"))
        if value < minimum:
            return _fail(errors, path, N_("must be at least %(minimum)s") % {"minimum": minimum})
        return value
    return check


def _text(*choices, pattern=None):
    def check(value, path, errors):
        if not isinstance(value, str) or not value.strip():
            return _fail(errors, path, N_("must be a non-empty string"))
        if choices and value not in choices:
            return _fail(errors, path, N_("must be %(choices)s, not %(value)s")
                         % {"choices": list(choices), "value": _quoted(value)})
        if pattern and not pattern.fullmatch(value):
            return _fail(errors, path, N_("%(value)s is not of the form %(pattern)s")
                         % {"value": _quoted(value), "pattern": pattern.pattern})
        return value
    return check


def _boolean(value, path, errors):
    if not isinstance(value, bool):
        return _fail(errors, path, N_("must be true or false"))
    return value


def _nullable(check):
    return lambda value, path, errors: None if value is None else check(value, path, errors)


def _list(item):
    def check(value, path, errors):
        if not isinstance(value, list) or not value:
            return _fail(errors, path, N_("must be a non-empty list"))
        return [item(v, f"{path}[{i}]", errors) for i, v in enumerate(value)]
    return check


def _object(fields: dict):
    """An object with the named fields (name: (check, required)); every object may carry a "note"."""
    def check(value, path, errors):
        if not isinstance(value, dict):
            return _fail(errors, path, N_("must be an object"))
        out = {}
        for name, (field_check, required) in fields.items():
            if name in value:
                out[name] = field_check(value[name], _join(path, name), errors)
            elif required:
                _fail(errors, _join(path, name), N_("is required"))
        for name in value:
            if name == "note":
                out["note"] = _text()(value["note"], _join(path, "note"), errors)
            elif name not in fields:
                _fail(errors, _join(path, name), N_("is not a field of this procedure"))
        return out
    return check


def _keyed(item, *, key_pattern=None):
    """An object keyed by names the data chooses (accuracy classes, numbers of runs), each value an `item`."""
    def check(value, path, errors):
        if not isinstance(value, dict) or not value:
            return _fail(errors, path, N_("must be a non-empty object"))
        out = {}
        for name, v in value.items():
            if key_pattern and not key_pattern.fullmatch(name):
                _fail(errors, _join(path, name), N_("%(value)s is not of the form %(pattern)s")
                      % {"value": _quoted(name), "pattern": key_pattern.pattern})
            else:
                out[name] = item(v, _join(path, name), errors)
        return out
    return check


def _required(check):
    return check, True


def _optional(check):
    return check, False


def _point(value, path, errors):
    """A point of the plan: its fields depend on its operation."""
    if not isinstance(value, dict):
        return _fail(errors, path, N_("must be an object"))
    operation = value.get("operation")
    if not isinstance(operation, str) or operation not in POINT_FIELDS:
        _fail(errors, _join(path, "operation"), N_("must be %(choices)s, not %(value)s")
              % {"choices": list(POINT_FIELDS), "value": _quoted(operation)})
        return None
    return _object({"key": _required(_text()), "operation": _required(_text()), **POINT_FIELDS[operation]})(
        value, path, errors)


POINT_FIELDS = {
    "delivery": {
        "flow_of": _required(_text("q_max", "q_min")),  # the nameplate flow the fraction applies to
        "flow_fraction": _required(_decimal(positive=True)),
        "volume_l": _required(_decimal(positive=True)),
        "repetitions": _required(_integer(minimum=1)),
    },
    "error": {
        "current_of": _required(_text("ib", "imax")),
        "current_multiple": _required(_decimal(positive=True)),
        "power_factor": _required(_text(pattern=POWER_FACTOR)),
        "pulses": _required(_integer(minimum=1)),
    },
    "starting": {},
    "creep": {},
    "distance": {
        "metres": _required(_decimal(positive=True)),
        "speed_km_h": _required(_decimal(positive=True)),
        "repetitions": _required(_integer(minimum=1)),
    },
    "standing": {
        "seconds": _required(_decimal(positive=True)),
        "repetitions": _required(_integer(minimum=1)),
    },
}

COMMON = {
    "code": _required(_text()),
    "version": _required(_text()),
    "title": _required(_text()),
    "instrument_kind": _required(_text(*(m[0] for m in METHODS.values()))),
    "rig_kind": _required(_text(*(m[1] for m in METHODS.values()))),
    "method": _required(_text(*METHODS)),
    "in_force": _required(_boolean),
    "period_months": _required(_integer(minimum=1)),
    "points": _required(_list(_point)),
    # Operations whose readings a technician may enter by hand (marked manual), e.g. a standard
    # measure read at its neck scale when the rig's own reading is not available.
    "manual_operations": _optional(_list(_text(*POINT_FIELDS))),
}

POSITIVE = _decimal(positive=True)

METHOD_FIELDS = {
    "dispenser_volume": {
        "mpe_pct": _required(POSITIVE),
        "error_interval_pct": _required(POSITIVE),
        "repeatability": _required(_object({
            "limit_pct": _required(POSITIVE),
            # d_n by the number of runs: E_n = (E_max - E_min) / d_n
            "d_n": _required(_keyed(POSITIVE, key_pattern=re.compile(r"[1-9][0-9]*"))),
        })),
        "temperature": _required(_object({
            "max_difference_c": _required(POSITIVE),
            "ambient_min_c": _required(_decimal()),
            "ambient_max_c": _required(_decimal()),
        })),
        "fuel_expansion_per_c": _required(_object({kind: _required(POSITIVE) for kind in FUEL_KINDS})),
        "standard_expansion_per_c": _optional(_object({
            "stainless_steel": _optional(POSITIVE),
            "carbon_steel": _optional(POSITIVE),
        })),
    },
    "meter_pulse": {
        "classes": _required(_keyed(_object({
            "rounding_interval_pct": _required(POSITIVE),  # 修约 interval: a tenth of the class
            "starting_current_of_ib": _required(_object({c: _required(POSITIVE) for c in CONNECTIONS})),
            "creep_k": _required(POSITIVE),
        }))),
        "elements_factor": _required(_object({e: _required(POSITIVE) for e in ELEMENTS})),
        "repetitions": _required(_object({
            "initial": _required(_integer(minimum=1)),
            "extra": _required(_integer(minimum=0)),
            "near_limit_low": _required(POSITIVE),
            "near_limit_high": _required(POSITIVE),
        })),
        "mpe_table": _required(_list(_object({
            "connection": _required(_text(*CONNECTIONS)),
            "load": _required(_text("balanced", "single")),
            "power_factors": _required(_list(_text(pattern=POWER_FACTOR))),
            "from_ib": _required(_decimal()),
            "below_ib": _required(_nullable(POSITIVE)),  # null: up to and including Imax
            "mpe_pct": _required(_keyed(POSITIVE)),  # by accuracy class
        }))),
        "starting_test": _required(_object({
            "time_constant_min": _required(POSITIVE),
            "power_factor": _required(_text(pattern=POWER_FACTOR)),
            "min_pulses": _required(_integer(minimum=1)),
        })),
        "creep_test": _required(_object({
            "time_constant_min": _required(POSITIVE),
            "voltage_factor": _required(POSITIVE),
            "power_factor": _required(_text(pattern=POWER_FACTOR)),  # the source's setting; no current flows
            "max_pulses": _required(_integer(minimum=0)),
        })),
    },
    "taxi_distance_time": {
        "distance": _required(_object({
            "mpe_low_pct": _required(_decimal()),
            "mpe_high_pct": _required(_decimal()),
            "rounding_interval_pct": _required(POSITIVE),
        })),
        "time": _required(_object({
            "mpe_pct": _required(POSITIVE),
            "mpe_min_s": _required(_decimal()),
            "rounding_interval_pct": _required(POSITIVE),
        })),
    },
}


def _check_consistency(doc: dict, errors: dict) -> None:
    """Rules across fields, once every field has the right shape."""
    method = doc["method"]
    instrument_kind, rig_kind, operations = METHODS[method]
    if doc["instrument_kind"] != instrument_kind:
        _fail(errors, "instrument_kind", N_("method %(method)s verifies %(kind)s")
              % {"method": method, "kind": instrument_kind})
    if doc["rig_kind"] != rig_kind:
        _fail(errors, "rig_kind", N_("method %(method)s runs on the %(rig)s rig") % {"method": method, "rig": rig_kind})
    keys = set()
    for i, point in enumerate(doc["points"]):
        if point["operation"] not in operations:
            _fail(errors, f"points[{i}].operation", N_("method %(method)s has only %(operations)s points")
                  % {"method": method, "operations": list(operations)})
        if point["key"] in keys:
            _fail(errors, f"points[{i}].key", N_("%(value)s is used twice") % {"value": _quoted(point["key"])})
        keys.add(point["key"])
    if method == "dispenser_volume":
        t = doc["temperature"]
        if Decimal(t["ambient_min_c"]) >= Decimal(t["ambient_max_c"]):
            _fail(errors, "temperature.ambient_max_c", ABOVE % {"other": "ambient_min_c"})
    elif method == "meter_pulse":
        r = doc["repetitions"]
        if Decimal(r["near_limit_low"]) >= Decimal(r["near_limit_high"]):
            _fail(errors, "repetitions.near_limit_high", ABOVE % {"other": "near_limit_low"})
        classes = set(doc["classes"])
        for i, row in enumerate(doc["mpe_table"]):
            for cls in classes - set(row["mpe_pct"]):
                _fail(errors, f"mpe_table[{i}].mpe_pct.{cls}", N_("is required: the procedure has this class"))
            for cls in set(row["mpe_pct"]) - classes:
                _fail(errors, f"mpe_table[{i}].mpe_pct.{cls}", N_("is not a class of this procedure"))
            if row["below_ib"] is not None and Decimal(row["below_ib"]) <= Decimal(row["from_ib"]):
                _fail(errors, f"mpe_table[{i}].below_ib", ABOVE % {"other": "from_ib"})
    elif method == "taxi_distance_time":
        d = doc["distance"]
        if not Decimal(d["mpe_low_pct"]) < 0 < Decimal(d["mpe_high_pct"]):
            _fail(errors, "distance", N_("%(low)s must be negative and %(high)s positive")
                  % {"low": "mpe_low_pct", "high": "mpe_high_pct"})
