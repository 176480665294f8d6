"""Driver for GT-521F52 / GT-521F32 modules over pyserial.

open: Open (with the device-information block), then ChangeBaudRate to the profile's fast rate and reopen the port at
it (a full image needs about 54 s at 9600 baud, 4.5 s at 115200). capture: CMOS LED on (the sensor sees nothing in the
dark), IsPressFinger polled, CaptureFinger, GetImage (258 x 202, 8 bit), LED off. close: back to the power-up rate so
the next session finds the module where the profile says.
"""

from __future__ import annotations

import contextlib
import time

import numpy as np

from station.devices.errors import DeviceError, DeviceTimeout, ProtocolError
from station.devices.gt521_protocol import (
    DATA_OVERHEAD,
    DEVICE_INFO_LEN,
    PACKET_LEN,
    Command,
    describe_nack,
    encode_packet,
    read_data,
    read_response,
)
from station.devices.health import DeviceState
from station.devices.profiles import ScannerProfile
from station.devices.scanner import FingerprintScanner
from station.devices.serial_link import OwnsSerialLink, SerialLink, wire_time_s

#: Resends after a garbled or lost answer.
RETRIES = 2


class GT521Scanner(OwnsSerialLink, FingerprintScanner):
    """One GT-521Fxx module on a serial port."""

    def __init__(self, port: str, profile: ScannerProfile, name: str | None = None) -> None:
        super().__init__(name or f"{profile.model}@{port}")
        self.port = port
        self.profile = profile
        self.firmware: int | None = None
        self._link: SerialLink | None = None

    def _timeout(self, nbytes: int) -> float:
        """Wire time of ``nbytes`` at the port's current rate plus the profile's processing margin."""
        return wire_time_s(nbytes, self.link.baud) + self.profile.command_margin_s

    def _drain(self) -> None:
        self.link.drain(max(0.05, wire_time_s(64, self.link.baud)), 2.0 + wire_time_s(60_000, self.link.baud))

    def _command(
        self, command: int, param: int = 0, data_len: int = 0, work_s: float = 0.0
    ) -> tuple[int, bytes]:
        """Send a command; returns the ACK's param and, if ``data_len``, the data packet that follows.

        A NACK raises :class:`DeviceError` with the message from the NACK table; a garbled or lost answer is resent.
        """
        frame = encode_packet(command, param)
        for attempt in range(RETRIES + 1):
            self.link.write(frame)
            try:
                response = read_response(self.link, self._timeout(2 * PACKET_LEN) + work_s)
                if not response.ok:
                    message, error = describe_nack(response.param)
                    raise DeviceError(f"{self.name}: {message}", int(error))
                data = b""
                if data_len:
                    data = read_data(self.link, data_len, self._timeout(data_len + DATA_OVERHEAD))
                return response.param, data
            except (ProtocolError, DeviceTimeout):
                # A garbled or lost frame: let the line go quiet, then resend.
                if attempt == RETRIES:
                    raise
                self._drain()
        raise AssertionError("unreachable")

    def open(self) -> None:
        """Open the module (at the power-up rate, or the fast rate if a previous session left it there)."""
        try:
            self._link = SerialLink(self.port, self.profile.baud, self.name)
            self.link.discard_input()
            try:
                _, info = self._command(Command.OPEN, 1, DEVICE_INFO_LEN)
            except (DeviceTimeout, ProtocolError):
                # A module left at the fast rate by an earlier session hears garbage at the power-up rate.
                if not self.profile.fast_baud:
                    raise
                self.link.set_baud(self.profile.fast_baud)
                _, info = self._command(Command.OPEN, 1, DEVICE_INFO_LEN)
            self.firmware = int.from_bytes(info[:4], "little")
            fast = self.profile.fast_baud
            if fast and self.link.baud != fast:
                self._command(Command.CHANGE_BAUD_RATE, fast)
                self.link.set_baud(fast)
                self._command(Command.OPEN, 0)  # proves both sides now speak at the new rate
        except DeviceError as exc:
            self._report_error(exc)
            self._release()
            raise
        self._report(DeviceState.READY, message=f"{self.profile.model} ready at {self.link.baud} baud")

    def set_led(self, on: bool) -> bool:
        """Switch the CMOS LED (it must be on for IsPressFinger and CaptureFinger to see a finger)."""
        self._command(Command.CMOS_LED, 1 if on else 0)
        return True

    def _read_finger(self, deadline: float, limit_s: float) -> np.ndarray:
        """IsPressFinger until a finger is down, CaptureFinger, then GetImage (8-bit pixels)."""
        while True:
            pressed, _ = self._command(Command.IS_PRESS_FINGER)
            if pressed == 0:  # param 0 means a finger is pressed
                break
            if time.monotonic() + self.profile.finger_poll_s >= deadline:
                raise self._no_finger(limit_s)
            time.sleep(self.profile.finger_poll_s)
        # CaptureFinger answers after the sensor has been read and checked: the profile's image time.
        self._command(Command.CAPTURE_FINGER, 0, work_s=self.profile.image_s)
        _, data = self._command(Command.GET_IMAGE, 0, self.profile.image_width * self.profile.image_height)
        return np.frombuffer(data, dtype=np.uint8).reshape(self.profile.image_height, self.profile.image_width).copy()

    def _is_open(self) -> bool:
        return self._link is not None

    def _release(self) -> None:
        if self._link is not None:
            self._link.close()
            self._link = None
        self._stop_emulator()

    def close(self) -> None:
        """Put the module back to its power-up rate, send Close, release the port; reports NOT_READY."""
        if self._link is None:
            self._stop_emulator()
            return
        with contextlib.suppress(DeviceError):
            if self.link.baud != self.profile.baud:
                self._command(Command.CHANGE_BAUD_RATE, self.profile.baud)
                self.link.set_baud(self.profile.baud)
            self._command(Command.CLOSE)
        self._release()
        self._report(DeviceState.NOT_READY, message="closed")
