"""Driver for R30x / AS608 / R503 modules ("EF01" protocol) over pyserial.

open: password check (VfyPwd, the portable liveness check) then ReadSysPara for the packet size; capture: GenImg
polled until a finger is on the sensor, then UpImage and the 4-bit image unpacked to 8 bit. Every wait is bounded by
the time the bytes need on the wire at the profile's line rate plus the profile's margin.
"""

from __future__ import annotations

import struct
import time

import numpy as np

from station.devices.errors import DeviceError, DeviceTimeout, ProtocolError
from station.devices.health import DeviceState, ErrorCode
from station.devices.profiles import ScannerProfile
from station.devices.r30x_protocol import (
    PREFIX_LEN,
    Command,
    PacketId,
    SystemParameters,
    describe_confirm,
    encode_command,
    read_packet,
    unpack_image_4bit,
)
from station.devices.scanner import FingerprintScanner
from station.devices.serial_link import OwnsSerialLink, SerialLink, wire_time_s

#: Frame overhead around a payload: prefix (9) + checksum (2).
FRAME_OVERHEAD = PREFIX_LEN + 2
#: How many times a command is resent after a garbled or lost answer (checksum error, stray bytes, silence).
RETRIES = 2
#: Aura LED (R503 command 0x35) control codes and colour index.
AURA_ON, AURA_OFF, AURA_BLUE = 3, 4, 2


#: Fraction of the image upload's wire time allowed as extra slack for the whole transfer (dimensionless).
IMAGE_UPLOAD_SLACK = 0.15


class R30xScanner(OwnsSerialLink, FingerprintScanner):
    """One EF01-family module on a serial port."""

    def __init__(self, port: str, profile: ScannerProfile, name: str | None = None) -> None:
        super().__init__(name or f"{profile.model}@{port}")
        self.port = port
        self.profile = profile
        self.packet_size = profile.packet_size
        self.parameters: SystemParameters | None = None
        self._link: SerialLink | None = None

    # -- plumbing -------------------------------------------------------------------------------------------------
    def _timeout(self, nbytes: int) -> float:
        """Wire time of ``nbytes`` at the profile's rate plus the module's processing margin."""
        return wire_time_s(nbytes, self.profile.baud) + self.profile.command_margin_s

    def _drain(self) -> None:
        """Wait until the line is quiet, then drop what arrived (the tail of a frame we gave up on)."""
        quiet_s = max(0.05, 3 * wire_time_s(self.packet_size + FRAME_OVERHEAD, self.profile.baud))
        self.link.drain(quiet_s, 2.0 + wire_time_s(40_000, self.profile.baud))

    def _command(
        self, command: int, params: bytes = b"", answer_len: int = 1, work_s: float = 0.0
    ) -> tuple[int, bytes]:
        """Send a command and return (confirm code, rest of the acknowledge payload); resends on a garbled answer."""
        frame = encode_command(command, params, self.profile.address)
        for attempt in range(RETRIES + 1):
            self.link.write(frame)
            try:
                packet = read_packet(
                    self.link,
                    self._timeout(len(frame) + answer_len + FRAME_OVERHEAD) + work_s,
                    self.profile.address,
                )
                if packet.pid != PacketId.ACK or not packet.payload:
                    raise ProtocolError(
                        f"{self.name}: expected an acknowledge, got packet id 0x{packet.pid:02X}",
                        int(ErrorCode.SCANNER_PROTOCOL),
                    )
                return packet.payload[0], packet.payload[1:]
            except (ProtocolError, DeviceTimeout):
                # A garbled or lost frame (noise can swallow a header byte): let the line go quiet, then resend.
                if attempt == RETRIES:
                    raise
                self._drain()
        raise AssertionError("unreachable")

    def _check(self, code: int, doing: str) -> None:
        if code != 0:
            message, error = describe_confirm(code)
            raise DeviceError(f"{self.name}: {doing}: {message}", int(error))

    # -- public face ----------------------------------------------------------------------------------------------
    def open(self) -> None:
        """Open the port, verify the password, read the system parameters; reports READY."""
        try:
            self._link = SerialLink(self.port, self.profile.baud, self.name)
            self.link.discard_input()
            code, _ = self._command(Command.VFY_PWD, struct.pack(">I", self.profile.password))
            self._check(code, "password check")
            code, data = self._command(Command.READ_SYS_PARA, answer_len=17)
            self._check(code, "reading system parameters")
            self.parameters = SystemParameters.parse(data)
            # The module's own setting wins over the profile: it is what it will actually send.
            self.packet_size = self.parameters.packet_size
        except DeviceError as exc:
            self._report_error(exc)
            self.close(report=False)
            raise
        self._report(DeviceState.READY, message=f"{self.profile.model} ready")

    def set_led(self, on: bool) -> bool:
        """Aura LED ring on R503-type modules; others light their own LED during GenImg (returns False)."""
        if self.profile.led != "aura":
            return False
        code, _ = self._command(Command.AURA_LED, bytes([AURA_ON if on else AURA_OFF, 0, AURA_BLUE, 0]))
        self._check(code, "switching the LED")
        return True

    def _read_finger(self, deadline: float, limit_s: float) -> np.ndarray:
        """GenImg until a finger is placed, then UpImage (4-bit pixels unpacked to 8)."""
        while True:
            # GenImg answers only once the sensor has been read: the profile's image time (datasheet: < 1 s).
            code, _ = self._command(Command.GEN_IMG, work_s=self.profile.image_s)
            if code == 0x00:
                return self._upload_image()
            message, error = describe_confirm(code)
            if error != ErrorCode.SCANNER_NO_FINGER:
                raise DeviceError(f"{self.name}: taking the image: {message}", int(error))
            if time.monotonic() + self.profile.finger_poll_s >= deadline:
                raise self._no_finger(limit_s)
            time.sleep(self.profile.finger_poll_s)

    def _is_open(self) -> bool:
        return self._link is not None

    def _release(self) -> None:
        self.close(report=False)

    def _upload_image(self) -> np.ndarray:
        """UpImage: acknowledge, then data packets (id 02) ending with an end packet (id 08); one retry on noise."""
        width, height = self.profile.image_width, self.profile.image_height
        expected = width * height // 2
        for attempt in range(RETRIES + 1):
            try:
                return unpack_image_4bit(self._receive_image(expected), width, height)
            except ProtocolError:
                if attempt == RETRIES:
                    raise
                self._drain()
        raise AssertionError("unreachable")

    def _receive_image(self, expected: int) -> bytes:
        code, _ = self._command(Command.UP_IMAGE)
        self._check(code, "uploading the image")
        packet_time = self._timeout(self.packet_size + FRAME_OVERHEAD)
        packets = -(-expected // self.packet_size)
        upload_s = self._timeout(expected + packets * FRAME_OVERHEAD)
        # 15% slack over the ~7 s upload at 57600 baud: USB-serial adapters deliver in bursts and a busy kit may
        # schedule the reader late; a dead line is still caught within each packet's own timeout.
        overall = time.monotonic() + upload_s * (1.0 + IMAGE_UPLOAD_SLACK) + packet_time
        data = bytearray()
        while True:
            remaining = overall - time.monotonic()
            if remaining <= 0:
                raise DeviceTimeout(
                    f"{self.name}: the image did not arrive in time ({len(data)} of {expected} bytes); "
                    "check the cable and the profile's baud rate",
                    int(ErrorCode.DEVICE_TIMEOUT),
                )
            packet = read_packet(self.link, min(packet_time, remaining), self.profile.address)
            if packet.pid not in (PacketId.DATA, PacketId.END_DATA):
                raise ProtocolError(
                    f"{self.name}: unexpected packet id 0x{packet.pid:02X} during the image upload",
                    int(ErrorCode.SCANNER_PROTOCOL),
                )
            data += packet.payload
            if len(data) > expected:
                raise ProtocolError(
                    f"{self.name}: the module sent more image data than {expected} bytes; check image size in "
                    "the profile",
                    int(ErrorCode.SCANNER_PROTOCOL),
                )
            if packet.pid == PacketId.END_DATA:
                return bytes(data)

    def close(self, report: bool = True) -> None:
        """Close the port (safe twice); reports NOT_READY."""
        if self._link is not None:
            self._link.close()
            self._link = None
            if report:
                self._report(DeviceState.NOT_READY, message="closed")
        self._stop_emulator()
