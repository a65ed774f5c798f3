"""Links a technician types into a rig's record, e.g. `modbus+tcp://10.0.0.5:502?unit=1`."""
from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import parse_qsl, urlsplit

from devices.ports import is_windows_port
from devices.registers import WORD_ORDERS


class LinkError(ValueError):
    """A link string that cannot be used; the message says which part is wrong."""


RTU_BITS_PER_CHARACTER = 11  # start, 8 data, parity, stop (or 8N2): what Modbus RTU times are counted in


def rtu_character_s(baud: int) -> float:
    return RTU_BITS_PER_CHARACTER / baud


def rtu_silence_s(baud: int) -> float:
    """The silence that must part two Modbus RTU frames: 3.5 character times, and above 19200 baud
    the fixed 1.75 ms the Modbus serial line specification sets (character timers too short to keep)."""
    return 1.75e-3 if baud > 19200 else 3.5 * rtu_character_s(baud)


@dataclass(frozen=True)
class TcpLink:
    host: str
    port: int
    unit: int = 1
    word_order: str = "ABCD"

    @property
    def bus(self) -> tuple:  # links sharing a bus share one client
        return ("tcp", self.host, self.port)

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host  # an IPv6 address goes in brackets
        return f"modbus+tcp://{host}:{self.port}?unit={self.unit}&word_order={self.word_order}"


@dataclass(frozen=True)
class RtuLink:
    path: str
    baud: int = 9600
    parity: str = "E"
    stopbits: int = 1
    unit: int = 1
    word_order: str = "ABCD"
    # Extra quiet time before each request, for adapters or rigs slow to turn their RS-485
    # transceiver from sending to listening.
    turnaround_ms: float = 0

    @property
    def bus(self) -> tuple:
        return ("rtu", self.path)

    @property
    def silence_s(self) -> float:
        """How long the line must be quiet before a request: the RTU silence and the turnaround."""
        return rtu_silence_s(self.baud) + self.turnaround_ms / 1000

    def __str__(self) -> str:
        return (f"modbus+rtu://{self.path}?baud={self.baud}&parity={self.parity}"
                f"&stopbits={self.stopbits}&unit={self.unit}&word_order={self.word_order}"
                + (f"&turnaround_ms={self.turnaround_ms:g}" if self.turnaround_ms else ""))


@dataclass(frozen=True)
class SerialLink:
    path: str
    baud: int = 9600
    parity: str = "N"
    stopbits: int = 1

    @property
    def bus(self) -> tuple:
        return ("serial", self.path)

    def __str__(self) -> str:
        return f"serial://{self.path}?baud={self.baud}&parity={self.parity}&stopbits={self.stopbits}"


Link = TcpLink | RtuLink | SerialLink

_SCHEMES = {"modbus+tcp": TcpLink, "modbus+rtu": RtuLink, "serial": SerialLink}
_OPTIONS = {
    TcpLink: ("unit", "word_order"),
    RtuLink: ("baud", "parity", "stopbits", "unit", "word_order", "turnaround_ms"),
    SerialLink: ("baud", "parity", "stopbits"),
}


def _integer(name: str, text: str, low: int, high: int) -> int:
    if not text.isdigit() or not low <= int(text) <= high:
        raise LinkError(f"{name} must be a whole number from {low} to {high}, not {text!r}")
    return int(text)


def _option(name: str, text: str):
    if name == "turnaround_ms":
        try:
            value = float(text)
        except ValueError:
            value = -1.0
        if not 0 <= value <= 1000:
            raise LinkError(f"turnaround_ms must be a number of milliseconds from 0 to 1000, not {text!r}")
        return value
    if name == "baud":
        return _integer("baud", text, 50, 4_000_000)
    if name == "unit":
        return _integer("unit", text, 1, 247)
    if name == "stopbits":
        return _integer("stopbits", text, 1, 2)
    if name == "parity":
        if text.upper() not in ("N", "E", "O"):
            raise LinkError(f"parity must be N, E or O, not {text!r}")
        return text.upper()
    if text.upper() not in WORD_ORDERS:
        raise LinkError(f"word_order must be ABCD or CDAB, not {text!r}")
    return text.upper()


def parse_link(text: str) -> Link:
    """Parse a link string; LinkError says which part is wrong."""
    text = text.strip()
    scheme, sep, _ = text.partition("://")
    if not sep:
        raise LinkError(f"{text!r} has no scheme: start with modbus+tcp://, modbus+rtu:// or serial://")
    cls = _SCHEMES.get(scheme.lower())
    if cls is None:
        raise LinkError(f"scheme {scheme!r} is not one of modbus+tcp, modbus+rtu, serial")
    parts = urlsplit(text)
    if parts.fragment:
        raise LinkError(f"unexpected #{parts.fragment} at the end")
    pairs = parse_qsl(parts.query, keep_blank_values=True, separator="&")
    options: dict = {}
    for name, value in pairs:
        if name not in _OPTIONS[cls]:
            raise LinkError(f"option {name!r} is not known for {scheme}; known: {', '.join(_OPTIONS[cls])}")
        if name in options:
            raise LinkError(f"option {name!r} is given twice")
        options[name] = _option(name, value)
    if cls is TcpLink:
        if "@" in parts.netloc:
            raise LinkError(f"{parts.netloc!r} has a user name: write modbus+tcp://HOST:PORT")
        if not parts.hostname:
            raise LinkError("host is missing: write modbus+tcp://HOST:PORT")
        if parts.path not in ("", "/"):
            raise LinkError(f"modbus+tcp takes no path, got {parts.path!r}")
        try:
            port = parts.port
        except ValueError:
            raise LinkError(f"port in {parts.netloc!r} must be a number from 1 to 65535") from None
        if port is None:
            raise LinkError("port is missing: write modbus+tcp://HOST:PORT")
        if port == 0:
            raise LinkError("port must be a number from 1 to 65535, not 0")
        return TcpLink(parts.hostname, port, **options)
    if parts.netloc and is_windows_port(parts.netloc) and not parts.path:
        return cls(parts.netloc.upper(), **options)  # serial://COM3?baud=9600
    if parts.netloc:
        raise LinkError(f"{scheme} takes a device path after three slashes, e.g. {scheme}:///dev/ttyUSB0, "
                        f"or a Windows port, e.g. {scheme}://COM3")
    if not parts.path.startswith("/") or parts.path == "/":
        raise LinkError(f"device path is missing: write {scheme}:///dev/ttyUSB0")
    return cls(parts.path, **options)
