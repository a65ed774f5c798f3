"""Serial ends for simulators: a pseudo-terminal linked at a path, or a serial device, paced like a wire."""
from __future__ import annotations

import asyncio
import os
import stat
import tty

import serial


def bits_per_char(parity: str, stopbits: int) -> int:
    return 1 + 8 + (parity != "N") + stopbits


class Wire:
    """The simulator's end of a serial line.

    If `path` names an existing character device (a USB adapter, one end of a socat pair) it is
    opened; otherwise a pseudo-terminal pair is made and its far end linked at `path`.
    With `pace`, bytes take the time they would on a line at `baud`: a request occupies the line
    for its length, a reply starts 3.5 characters after it and the next frame 3.5 after that.
    """

    def __init__(self, path: str, baud: int = 9600, parity: str = "N", stopbits: int = 1, pace: bool = False):
        self.path, self.pace = path, pace
        self.char_s = bits_per_char(parity, stopbits) / baud
        self._port = None
        self._slave = None
        if os.path.exists(path) and stat.S_ISCHR(os.stat(path).st_mode):
            self._port = serial.Serial(path, baud, parity=parity, stopbits=stopbits, timeout=0)
            self.fd = self._port.fileno()
        else:
            self.fd, self._slave = os.openpty()
            tty.setraw(self._slave)  # no echo, no CR/LF translation: a pty behaves like a wire
            os.set_blocking(self.fd, False)
            os.symlink(os.ttyname(self._slave), path)
        self.free_at = 0.0  # loop time when the line is silent again

    def receive_start(self, now: float) -> float:
        """When a frame whose first byte arrives now began on the line."""
        return max(now, self.free_at) if self.pace else now

    async def send(self, data: bytes, request_start: float = 0.0, request_len: int = 0) -> None:
        loop = asyncio.get_running_loop()
        if not self.pace:
            self._write(data)
            return
        start = max(request_start + (request_len + 3.5) * self.char_s, loop.time())
        sent = 0
        while sent < len(data):
            due = min(len(data), int((loop.time() - start) / self.char_s))
            if due > sent:
                self._write(data[sent:due])
                sent = due
            else:
                await asyncio.sleep(start + (sent + 1) * self.char_s - loop.time())
        self.free_at = start + (len(data) + 3.5) * self.char_s

    def _write(self, data: bytes) -> None:
        try:
            os.write(self.fd, data)
        except (BlockingIOError, OSError):
            pass  # nobody is reading the far end: bytes on an idle wire are lost

    def close(self) -> None:
        if self._port is not None:
            self._port.close()
        else:
            if os.path.islink(self.path):
                os.unlink(self.path)
            os.close(self.fd)
            os.close(self._slave)


class WireServer:
    """Answers requests arriving on a wire one at a time, in order; subclasses frame and answer them."""

    def __init__(self, wire: Wire):
        self.wire = wire
        self._queue: asyncio.Queue = asyncio.Queue()

    async def serve(self) -> None:
        loop = asyncio.get_running_loop()
        loop.add_reader(self.wire.fd, self._readable)
        try:
            while True:
                request, start = await self._queue.get()
                await self.answer(request, start)
        finally:
            loop.remove_reader(self.wire.fd)

    def _readable(self) -> None:
        try:
            data = os.read(self.wire.fd, 4096)
        except (BlockingIOError, OSError):
            return
        self.receive(data, asyncio.get_running_loop().time())

    def receive(self, data: bytes, now: float) -> None:
        """Take bytes off the wire; queue each whole request with the time it began on the line."""
        raise NotImplementedError

    async def answer(self, request: bytes, start: float) -> None:
        raise NotImplementedError
