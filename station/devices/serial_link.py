"""A serial port with bounded reads: every read has a deadline, every failure becomes a :class:`DeviceError`.

Public drivers for these modules are known to hang when a read times out half-way through a frame; here a read either
returns exactly the bytes asked for before its deadline or raises. Timeouts are sized from the line rate: an 8N1 byte
is 10 bits on the wire (start + 8 data + stop), so ``n`` bytes need ``n * 10 / baud`` seconds.
"""

from __future__ import annotations

import contextlib
import time

import serial

from station.devices.errors import DeviceDisconnected, DeviceTimeout, ProtocolError
from station.devices.health import ErrorCode

#: Bits per byte on an 8N1 line: start bit, 8 data bits, stop bit.
BITS_PER_BYTE = 10


def wire_time_s(nbytes: int, baud: int) -> float:
    """Seconds ``nbytes`` take on the wire at ``baud`` (8N1)."""
    return nbytes * BITS_PER_BYTE / baud


class SerialLink:
    """One open serial port (``serial://`` path or any pyserial URL) with deadline-bounded reads."""

    def __init__(self, port: str, baud: int, name: str) -> None:
        self.port = port
        self.name = name
        try:
            self._serial = serial.serial_for_url(port, baudrate=baud, timeout=0.05, write_timeout=5.0)
        except (serial.SerialException, OSError, ValueError) as exc:
            raise DeviceDisconnected(
                f"{name}: cannot open {port} ({exc}); check the cable and that no other program uses the port",
                int(ErrorCode.DEVICE_DISCONNECTED),
            ) from exc

    @property
    def baud(self) -> int:
        """The port's current line rate."""
        return int(self._serial.baudrate)

    def set_baud(self, baud: int) -> None:
        """Reconfigure the port's line rate (after the device agreed to change it)."""
        try:
            self._serial.baudrate = baud
        except (serial.SerialException, OSError, ValueError) as exc:
            raise self._lost(exc) from exc

    def _lost(self, exc: BaseException) -> DeviceDisconnected:
        return DeviceDisconnected(
            f"{self.name}: the port {self.port} stopped working ({exc}); check that the device is plugged in, "
            "then reconnect it",
            int(ErrorCode.DEVICE_DISCONNECTED),
        )

    def write(self, data: bytes) -> None:
        """Send bytes; a vanished port raises :class:`DeviceDisconnected`."""
        try:
            self._serial.write(data)
        except serial.SerialTimeoutException as exc:
            raise DeviceTimeout(
                f"{self.name}: the device does not accept data (flow control stuck); power-cycle it",
                int(ErrorCode.DEVICE_TIMEOUT),
            ) from exc
        except (serial.SerialException, OSError) as exc:
            raise self._lost(exc) from exc

    def read_exact(self, n: int, timeout_s: float, what: str = "an answer") -> bytes:
        """Exactly ``n`` bytes within ``timeout_s`` seconds, or :class:`DeviceTimeout` (never blocks longer)."""
        deadline = time.monotonic() + timeout_s
        buf = bytearray()
        while len(buf) < n:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise DeviceTimeout(
                    f"{self.name}: no complete {what} within {timeout_s:.2f} s ({len(buf)} of {n} bytes); "
                    "check the cable and the baud rate in the device profile",
                    int(ErrorCode.DEVICE_TIMEOUT),
                )
            try:
                self._serial.timeout = min(remaining, 0.25)
                chunk = self._serial.read(n - len(buf))
            except (serial.SerialException, OSError, TypeError) as exc:
                raise self._lost(exc) from exc
            buf += chunk
        return bytes(buf)

    def sync_to(self, start: bytes, deadline: float, what: str, max_skip: int) -> int:
        """Read until the packet start ``start`` has gone by; returns how many stray bytes preceded it.

        Both scanner protocols open every packet with a fixed two-byte start, so a driver resynchronises after line
        noise or a reset by sliding a window over the input. More than ``max_skip`` stray bytes means the line rate
        is wrong rather than noisy, which is a protocol error; ``deadline`` is a ``time.monotonic()`` instant.
        """
        window = b""
        read = 0
        while window != start:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise DeviceTimeout(
                    f"{self.name}: no {what} in time; check the cable and the profile's baud rate",
                    int(ErrorCode.DEVICE_TIMEOUT),
                )
            window = (window + self.read_exact(1, remaining, what))[-len(start):]
            read += 1
            if read - len(start) > max_skip:
                raise ProtocolError(
                    f"{self.name}: {read - len(start)} bytes without a {what} start; "
                    "check the baud rate in the profile",
                    int(ErrorCode.SCANNER_PROTOCOL),
                )
        return read - len(start)

    def read_available(self) -> bytes:
        """Whatever bytes are waiting now, without blocking."""
        try:
            waiting = self._serial.in_waiting
            return bytes(self._serial.read(waiting)) if waiting else b""
        except (serial.SerialException, OSError, TypeError) as exc:
            raise self._lost(exc) from exc

    def discard_input(self) -> None:
        """Drop stale input (a late answer to a timed-out command must not be taken for the next answer)."""
        try:
            self._serial.reset_input_buffer()
        except (serial.SerialException, OSError, TypeError) as exc:
            raise self._lost(exc) from exc

    def drain(self, quiet_s: float, max_s: float) -> None:
        """Wait until the line has been quiet for ``quiet_s`` (at most ``max_s``), then drop what arrived.

        After a garbled or timed-out answer the module may still be sending the tail of a frame; resending before the
        line is quiet would read that tail as the next answer.
        """
        deadline = time.monotonic() + max_s
        last = time.monotonic()
        while time.monotonic() < deadline and time.monotonic() - last < quiet_s:
            if self.read_available():
                last = time.monotonic()
            time.sleep(0.01)
        self.discard_input()

    def close(self) -> None:
        """Close the port; closing twice or closing a vanished port is harmless."""
        with contextlib.suppress(serial.SerialException, OSError):
            self._serial.close()


class OwnsSerialLink:
    """Mixin for a driver holding one :class:`SerialLink` in ``_link`` (None while closed)."""

    name: str
    _link: SerialLink | None

    @property
    def link(self) -> SerialLink:
        """The open link; using a closed driver is a clear device error, not an AttributeError."""
        if self._link is None:
            raise DeviceDisconnected(
                f"{self.name} is not open; open it first", int(ErrorCode.DEVICE_DISCONNECTED)
            )
        return self._link
