"""The device side of a pty pair: a driver opens ``slave_path`` with pyserial, the emulator talks on the master.

A pty moves bytes at memory speed; with ``pace_baud`` set, both directions are slowed to the real line rate
(10 bits per 8N1 byte), so driver timeouts that would only show on hardware show here too. Like a real UART, output
that nobody reads for a while is dropped rather than blocking the device. ``unplug()`` closes the pty: the driver's
next read fails as it would when a USB-serial adapter is pulled.
"""

from __future__ import annotations

import abc
import contextlib
import errno
import os
import select
import termios
import threading
import time
import tty
from typing import Self

#: Bits per byte on an 8N1 line.
BITS_PER_BYTE = 10
#: Output nobody reads for this long is dropped (a real UART never waits for the other side).
STALL_DROP_S = 2.0
#: termios speed constants -> bits per second.
_SPEEDS = {
    getattr(termios, f"B{rate}"): rate
    for rate in (1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200, 230400)
    if hasattr(termios, f"B{rate}")
}


class PtyPort:
    """Master side of a pty pair with optional pacing at a baud rate."""

    def __init__(self, pace_baud: int | None = None) -> None:
        self._master, self._slave = os.openpty()
        tty.setraw(self._slave)
        os.set_blocking(self._master, False)
        self.slave_path = os.ttyname(self._slave)
        self.pace_baud = pace_baud
        self._tx_free_at = 0.0
        self._rx_free_at = 0.0
        self.closed = False
        self._write_lock = threading.Lock()

    def fileno(self) -> int:
        """The master file descriptor (for select)."""
        return self._master

    def _pace(self, nbytes: int, free_at: float) -> float:
        if not self.pace_baud:
            return 0.0
        start = max(time.monotonic(), free_at)
        end = start + nbytes * BITS_PER_BYTE / self.pace_baud
        delay = end - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        return end

    def peer_baud(self) -> int | None:
        """The line rate the driver set on its end (pyserial writes it into the pty's termios), or None."""
        if self.closed:
            return None
        try:
            speed = termios.tcgetattr(self._slave)[5]
        except (termios.error, OSError):
            return None
        return _SPEEDS.get(speed)

    def read(self, max_bytes: int, timeout_s: float) -> bytes:
        """Up to ``max_bytes`` the driver sent, waiting at most ``timeout_s``; b"" on timeout or after unplug."""
        if self.closed:
            return b""
        try:
            ready, _, _ = select.select([self._master], [], [], timeout_s)
        except (OSError, ValueError):
            return b""
        if not ready:
            return b""
        # Paced reads take one byte at a time so that each byte arrives when the line would deliver it.
        limit = 1 if self.pace_baud else max_bytes
        try:
            data = os.read(self._master, limit)
        except OSError as exc:
            if exc.errno in (errno.EAGAIN, errno.EIO):
                return b""
            raise
        self._rx_free_at = self._pace(len(data), self._rx_free_at)
        return data

    def write(self, data: bytes) -> None:
        """Send bytes to the driver at the paced rate; dropped if nobody reads them (or after unplug)."""
        with self._write_lock:
            chunk = max(1, (self.pace_baud or 0) // BITS_PER_BYTE // 100) if self.pace_baud else 4096
            view = memoryview(data)
            while view and not self.closed:
                piece = view[:chunk]
                self._tx_free_at = self._pace(len(piece), self._tx_free_at)
                stalled_since = time.monotonic()
                while piece and not self.closed:
                    try:
                        sent = os.write(self._master, piece)
                    except BlockingIOError:
                        sent = 0
                    except OSError:
                        return
                    piece = piece[sent:]
                    if piece:
                        if time.monotonic() - stalled_since > STALL_DROP_S:
                            return
                        try:
                            select.select([], [self._master], [], 0.05)
                        except (OSError, ValueError):
                            return
                    else:
                        stalled_since = time.monotonic()
                view = view[chunk:]

    def unplug(self) -> None:
        """Close both ends: the driver sees the port vanish."""
        if self.closed:
            return
        self.closed = True
        for fd in (self._master, self._slave):
            with contextlib.suppress(OSError):
                os.close(fd)

    close = unplug


class SerialEmulator(abc.ABC):
    """A device emulator on a pty: a thread reads what the driver sends and calls :meth:`handle` with the buffer."""

    def __init__(self, pace_baud: int | None = None) -> None:
        self.port = PtyPort(pace_baud)
        self._buffer = bytearray()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=type(self).__name__, daemon=True)
        self.error: BaseException | None = None
        #: Silence (seconds) after which an incomplete request is dropped.
        self.frame_gap_s = 0.1

    @property
    def path(self) -> str:
        """What the driver opens (``/dev/pts/N``)."""
        return self.port.slave_path

    def start(self) -> Self:
        """Start serving in a background thread; returns self."""
        self._thread.start()
        return self

    def _run(self) -> None:
        last = time.monotonic()
        try:
            while not self._stop.is_set() and not self.port.closed:
                data = self.port.read(4096, 0.05)
                if data:
                    last = time.monotonic()
                    self._buffer += data
                    self.handle(self._buffer)
                elif self._buffer and time.monotonic() - last > self.frame_gap_s:
                    # Like a module's receive timer: a half frame followed by silence is dropped, so that one
                    # garbled byte cannot swallow the next good command.
                    self._buffer.clear()
        except BaseException as exc:  # kept for tests to inspect; an emulator bug must not pass silently
            self.error = exc

    @abc.abstractmethod
    def handle(self, buffer: bytearray) -> None:
        """Consume complete requests from the front of ``buffer`` and answer them with ``self.send``."""

    def send(self, data: bytes) -> None:
        """Answer the driver."""
        self.port.write(data)

    def set_pace(self, baud: int | None) -> None:
        """Change the pacing rate (after a baud-rate change command)."""
        self.port.pace_baud = baud

    def unplug(self) -> None:
        """Fault: the device is pulled out."""
        self.port.unplug()

    def stop(self) -> None:
        """Stop the thread and close the pty."""
        self._stop.set()
        self.port.close()
        if self._thread.is_alive() and threading.current_thread() is not self._thread:
            self._thread.join(5)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
