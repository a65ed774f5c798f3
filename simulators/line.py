"""The TMR line protocol served on a wire, with fault injection."""
from __future__ import annotations

import asyncio
import os

from devices.maps import tmr_checksum, tmr_frame
from simulators.faults import FaultPlan
from simulators.physics import TmrModel
from simulators.wire import Wire

MAX_LINE = 256


class LineServer:
    def __init__(self, wire: Wire, model: TmrModel, faults: FaultPlan | None = None):
        self.wire, self.model = wire, model
        self.faults = faults or FaultPlan()
        self._buffer = b""
        self._start = 0.0
        self._queue: asyncio.Queue = asyncio.Queue()

    async def serve(self) -> None:
        loop = asyncio.get_running_loop()
        loop.add_reader(self.wire.fd, self._readable)
        try:
            while True:
                line, start = await self._queue.get()
                await self._handle(line, start)
        finally:
            loop.remove_reader(self.wire.fd)

    def _readable(self) -> None:
        try:
            data = os.read(self.wire.fd, 4096)
        except (BlockingIOError, OSError):
            return
        if not self._buffer:
            self._start = self.wire.receive_start(asyncio.get_running_loop().time())
        self._buffer += data
        while b"\r\n" in self._buffer:
            line, self._buffer = self._buffer.split(b"\r\n", 1)
            self._queue.put_nowait((line, self._start))
        if len(self._buffer) > MAX_LINE:
            self._buffer = b""  # noise without a line end

    async def _handle(self, line: bytes, start: float) -> None:
        fault = self.faults.next_request()
        if fault in ("no-reply", "drop"):
            return
        if fault == "exception":
            reply = tmr_frame("ERR 6 BUSY")
        else:
            reply = tmr_frame(self.model.command(line.decode("ascii", "replace")))
            if fault == "corrupt":
                body = reply[:-5]
                reply = body + b"*%02X\r\n" % (tmr_checksum(body) ^ 0x21)
        await self.wire.send(reply, start, len(line) + 2)
