"""Serial devices opened with the reason a technician can act on when one cannot be opened."""
from __future__ import annotations

import errno
import os
import re
import termios

import serial

_WINDOWS_PORT = re.compile(r"COM[1-9][0-9]*", re.IGNORECASE)


class PortError(OSError):
    """A serial device that cannot be opened. `lasting`: trying again will not help (permission,
    settings); a busy or vanished device may come back."""

    def __init__(self, path: str, cause: str, lasting: bool):
        super().__init__(f"cannot open {path}: {cause}")
        self.path, self.cause, self.lasting = path, cause, lasting


def is_windows_port(path: str) -> bool:
    return bool(_WINDOWS_PORT.fullmatch(path))


def device_of(path: str) -> str:
    """One name for one device: symbolic links (/dev/serial/by-id/...) resolved, COM ports in capitals."""
    return path.upper() if is_windows_port(path) else os.path.realpath(path)


def diagnose(path: str, settings: str, exc: BaseException) -> PortError:
    """What went wrong opening `path` with `settings` (e.g. "9600 baud 8E1"), from pyserial's exception."""
    if isinstance(exc, PortError):
        return exc
    code = getattr(exc, "errno", None)
    text = str(exc)
    if isinstance(exc, (termios.error, ValueError)) or "Could not configure port" in text or code in (
            errno.ENOTTY, errno.EINVAL):
        detail = exc.args[-1] if isinstance(exc, termios.error) and exc.args else text
        return PortError(path, f"settings refused ({settings}: {detail})", lasting=True)
    if code in (errno.EACCES, errno.EPERM):
        return PortError(path, "permission denied (the user running this must be allowed to use the device: "
                               "the dialout group on most Linux systems)", lasting=True)
    if code in (errno.EBUSY, errno.EAGAIN) or "exclusively lock" in text:
        return PortError(path, "busy: another program has it open", lasting=False)
    if code in (errno.ENOENT, errno.ENODEV, errno.ENXIO, errno.EIO):
        return PortError(path, "gone: no such device (unplugged, or named otherwise now)", lasting=False)
    return PortError(path, text, lasting=False)


def settings_text(baud: int, parity: str, stopbits: int) -> str:
    return f"{baud} baud 8{parity}{stopbits}"


def open_port(path: str, baud: int, parity: str, stopbits: int, timeout: float | None = None,
              as_pymodbus: bool = False) -> serial.Serial:
    """The device at `path`, opened for this program only; PortError says why it could not be.

    `as_pymodbus`: set the timeout after opening, as pymodbus does: some devices (ptys) refuse
    settings applied a second time, and this is how to learn why pymodbus could not open one."""
    port = None
    try:
        port = serial.Serial(path, baud, parity=parity, stopbits=stopbits, bytesize=8, exclusive=True,
                             timeout=None if as_pymodbus else timeout)
        if as_pymodbus:
            port.timeout = timeout
        return port
    except (serial.SerialException, OSError, termios.error, ValueError) as exc:
        if port is not None:
            port.close()
        raise diagnose(path, settings_text(baud, parity, stopbits), exc) from None
