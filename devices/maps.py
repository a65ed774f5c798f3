"""The register maps of the FDR and EMB rigs, and the TMR line protocol (specs/rigs.md)."""
from __future__ import annotations

import math
from functools import reduce

from devices.registers import HOLDING, INPUT, Field, RegisterMap

# Identification, common to the Modbus rigs.
IDENTITY = (
    Field("serial_number", 200, "ascii", INPUT, length=16),
    Field("firmware", 216, "u16", INPUT, scale=0.01),
)

FDR_STATUS = {0: "idle", 1: "running", 2: "done", 3: "fault"}
FDR_FAULTS = {0: "none", 1: "no flow", 2: "temperature sensor", 3: "pulser lost"}
FUEL_KINDS = {0: "gasoline", 1: "diesel", 2: "kerosene"}
FDR_COMMANDS = {"start": 1, "stop": 2, "reset": 3}

FDR = RegisterMap("fdr", (
    Field("status", 0, "u16", INPUT),
    Field("fault_code", 1, "u16", INPUT),
    Field("run_id", 2, "u32", INPUT),
    Field("reference_volume", 4, "f32", INPUT, "L"),
    Field("indicated_volume", 6, "f32", INPUT, "L"),
    Field("flow_rate", 8, "f32", INPUT, "L/min"),
    Field("rig_temperature", 10, "f32", INPUT, "°C"),
    Field("nozzle_temperature", 12, "f32", INPUT, "°C"),
    Field("ambient_temperature", 14, "f32", INPUT, "°C"),
    Field("elapsed", 16, "f32", INPUT, "s"),
    Field("standard_expansion", 18, "f32", INPUT, "1/°C"),
    *IDENTITY,
    Field("target_volume", 100, "f32", HOLDING, "L", "rw"),
    Field("target_flow", 102, "f32", HOLDING, "L/min", "rw"),
    Field("fuel_kind", 104, "u16", HOLDING, access="rw"),
    Field("nozzle", 105, "u16", HOLDING, access="rw", valid=range(1, 17)),
    Field("command", 106, "u16", HOLDING, access="rw"),
))

EMB_STATUS = {0: "idle", 1: "measuring", 2: "done", 3: "fault"}
EMB_FAULTS = {0: "none", 1: "no DUT pulses", 2: "source overload"}
EMB_COMMANDS = {"error": 1, "stop": 2, "creep": 3, "starting": 4, "reset": 5}

EMB = RegisterMap("emb", (
    Field("status", 0, "u16", INPUT),
    Field("fault_code", 1, "u16", INPUT),
    Field("measurement_id", 2, "u32", INPUT),
    Field("voltage", 4, "f32", INPUT, "V"),
    Field("current", 6, "f32", INPUT, "A"),
    Field("power_factor", 8, "f32", INPUT),
    Field("active_power", 10, "f32", INPUT, "W"),
    Field("frequency", 12, "f32", INPUT, "Hz"),
    Field("dut_pulses", 14, "u32", INPUT),
    Field("reference_pulses", 16, "u32", INPUT),
    Field("error", 18, "f32", INPUT, "%"),
    Field("elapsed", 20, "f32", INPUT, "s"),
    *IDENTITY,
    Field("voltage_setpoint", 100, "f32", HOLDING, "V", "rw"),
    Field("current_setpoint", 102, "f32", HOLDING, "A", "rw"),
    Field("power_factor_setpoint", 104, "f32", HOLDING, access="rw"),
    Field("dut_constant", 106, "u32", HOLDING, "imp/kWh", "rw"),
    Field("reference_constant", 108, "u32", HOLDING, "imp/kWh", "rw"),
    Field("pulses", 110, "u16", HOLDING, access="rw"),
    Field("command", 111, "u16", HOLDING, access="rw"),
    Field("test_duration", 112, "f32", HOLDING, "s", "rw"),
))

MODBUS_MAPS = {"fdr": FDR, "emb": EMB}
STATUS_NAMES = {"fdr": FDR_STATUS, "emb": EMB_STATUS}
# The live block a poller reads: every input field from status to elapsed, in one request.
LIVE_FIELDS = {"fdr": [f.name for f in FDR.table(INPUT) if f.address < 200],
               "emb": [f.name for f in EMB.table(INPUT) if f.address < 200]}


# --- TMR line protocol -------------------------------------------------------------------------
# Commands are ASCII lines ending CR LF; a reply is `<text>*hh` CR LF, hh the XOR of the bytes of
# <text> in upper-case hex.

TMR_COMMANDS = {"*IDN?": 0, "RUN": 2, "WAIT": 1, "STAT?": 0, "READ?": 0, "RESET": 0}  # name: numbers it takes
TMR_MAKE = "LABS,TMR-1"
TMR_STATES = ("IDLE", "RUNNING", "DONE", "FAULT")
TMR_FAULTS = {1: "roller slip", 2: "encoder lost", 3: "over-speed", 9: "other"}


def tmr_command(name: str, *numbers: float) -> str:
    """A command line's text, e.g. `RUN 2000 40`: plain decimals (to 1 mm, 1 ms), no exponent."""
    if TMR_COMMANDS.get(name) != len(numbers):
        raise ValueError(f"{name} takes {TMR_COMMANDS.get(name, 'no such command')} numbers, not {len(numbers)}")
    return " ".join([name, *(f"{n:.3f}".rstrip("0").rstrip(".") for n in numbers)])


def tmr_parse_command(text: str) -> tuple[str, list[float]]:
    """Name and numbers of a command line; LookupError if unknown, ValueError if its numbers are wrong."""
    words = text.split()
    name = words[0].upper() if words else ""
    if name not in TMR_COMMANDS:
        raise LookupError(f"unknown command {text!r}")
    try:
        numbers = [float(w) for w in words[1:]]
    except ValueError:
        numbers = []
    if len(numbers) != TMR_COMMANDS[name] or not all(n > 0 and math.isfinite(n) for n in numbers):
        raise ValueError(f"bad arguments for {name}")
    return name, numbers


def tmr_format_identity(serial_number: str, firmware: str) -> str:
    return f"{TMR_MAKE},{serial_number},{firmware}"


def tmr_parse_identity(text: str) -> tuple[str, str]:
    """(serial number, firmware) of an `*IDN?` reply."""
    parts = text.split(",")
    if len(parts) != 4 or ",".join(parts[:2]) != TMR_MAKE:
        raise ValueError(f"identification {text!r} is not {TMR_MAKE},<serial>,<firmware>")
    return parts[2], parts[3]


def tmr_format_status(state: str, fault_code: int = 0) -> str:
    return f"FAULT {fault_code}" if state == "FAULT" else state


def tmr_parse_status(text: str) -> tuple[str, int]:
    """(state, fault code) of a `STAT?` reply."""
    words = text.split()
    if not words or words[0] not in TMR_STATES or len(words) != (2 if words[0] == "FAULT" else 1) or (
            words[0] == "FAULT" and not words[1].isdigit()):
        raise ValueError(f"status {text!r} is not IDLE, RUNNING, DONE or FAULT <code>")
    return words[0], int(words[1]) if words[0] == "FAULT" else 0


def tmr_checksum(text: bytes) -> int:
    return reduce(lambda acc, b: acc ^ b, text, 0)


def tmr_frame(text: str) -> bytes:
    body = text.encode("ascii")
    return body + b"*%02X\r\n" % tmr_checksum(body)


class ChecksumError(ValueError):
    """A TMR reply whose checksum is missing or wrong: never parse it."""


def tmr_unframe(line: bytes) -> str:
    """The text of a checked reply line; a missing or wrong checksum raises ChecksumError."""
    body, star, check = line.rstrip(b"\r\n").rpartition(b"*")
    if not star or len(check) != 2 or not all(c in b"0123456789ABCDEF" for c in check):
        raise ChecksumError(f"reply {line!r} has no *hh checksum of two upper-case hex digits")
    if tmr_checksum(body) != int(check, 16):
        raise ChecksumError(f"reply {line!r} fails its checksum")
    try:
        return body.decode("ascii")
    except UnicodeDecodeError:
        raise ChecksumError(f"reply {line!r} is not ASCII") from None


def tmr_parse_read(text: str) -> dict[str, float]:
    """`D=<ref m>,<dut m>;T=<ref s>,<dut s>;F=<fare>` as named values."""
    try:
        parts = dict(part.split("=", 1) for part in text.split(";"))
        ref_m, dut_m = parts["D"].split(",")
        ref_s, dut_s = parts["T"].split(",")
        return {"reference_distance_m": float(ref_m), "meter_distance_m": float(dut_m),
                "reference_time_s": float(ref_s), "meter_time_s": float(dut_s),
                "fare": float(parts["F"])}
    except (KeyError, ValueError) as exc:
        raise ValueError(f"READ? reply {text!r} is not D=..,..;T=..,..;F=..") from exc


def tmr_format_read(values: dict[str, float]) -> str:
    return ("D={reference_distance_m:.2f},{meter_distance_m:.2f};"
            "T={reference_time_s:.2f},{meter_time_s:.2f};F={fare:.2f}").format(**values)
