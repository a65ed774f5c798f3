"""Typed errors of rig operations: each names the rig, the link and what was tried."""
from __future__ import annotations


class RigError(Exception):
    def __init__(self, rig: str, link: str, action: str, detail: str):
        super().__init__(f"{rig} on {link}: {action}: {detail}")
        self.rig, self.link, self.action, self.detail = rig, link, action, detail


class RigTimeout(RigError):
    """No valid reply in time: silence, no connection, or only frames failing their CRC/checksum."""


class RigUnreachable(RigError):
    """The link cannot be used at all: its device refuses this user or these settings."""


class RigWrongKind(RigError):
    """The rig at the link is not of the kind its driver speaks to."""


class RigBadReply(RigError):
    """A reply that passed its CRC/checksum but does not fit the request."""


class RigExceptionReply(RigError):
    """The rig refused the request (Modbus exception or TMR ERR)."""

    def __init__(self, rig: str, link: str, action: str, detail: str, code: int):
        super().__init__(rig, link, action, detail)
        self.code = code


class RigBusy(RigExceptionReply):
    """The rig cannot take the command now (Modbus exception 6, TMR busy)."""


class RigFault(RigError):
    """The rig reports a fault status."""

    def __init__(self, rig: str, link: str, action: str, detail: str, fault_code: int):
        super().__init__(rig, link, action, detail)
        self.fault_code = fault_code
