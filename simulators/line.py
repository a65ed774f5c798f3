"""The TMR line protocol served on a wire, with fault injection."""
from __future__ import annotations

from devices.maps import tmr_frame
from simulators.faults import FaultPlan
from simulators.physics import TmrModel
from simulators.wire import Wire, WireServer

MAX_LINE = 256


class LineServer(WireServer):
    def __init__(self, wire: Wire, model: TmrModel, faults: FaultPlan | None = None):
        super().__init__(wire)
        self.model = model
        self.faults = faults or FaultPlan()
        self._buffer = b""
        self._start = 0.0

    def receive(self, data: bytes, now: float) -> None:
        if not self._buffer:
            self._start = now
        self._buffer += data
        while b"\r\n" in self._buffer:
            line, self._buffer = self._buffer.split(b"\r\n", 1)
            self._queue.put_nowait((line, self._start))
        if len(self._buffer) > MAX_LINE:
            self._buffer = b""  # noise without a line end

    async def answer(self, line: bytes, start: float) -> None:
        fault = self.faults.next_request()
        if fault in ("no-reply", "drop"):
            return
        if fault == "exception":
            reply = tmr_frame("ERR 6 BUSY")
        else:
            reply = tmr_frame(self.model.command(line.decode("ascii", "replace")))
            if fault == "corrupt":
                # A bit flipped in the text, the checksum of the original kept: unchecked, it would parse.
                reply = self.faults.flip_bit(reply, 0, len(reply) - 5)
        await self.wire.send(reply, start, len(line) + 2)
