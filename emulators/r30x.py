"""Emulator of an R30x / AS608 / R503 module ("EF01" protocol) on a pty, with injectable faults.

Run for trainers: ``python -m emulators.r30x --profile r307 --images DIR --pace`` prints the port to open.
The frames come from ``station.devices.r30x_protocol``; the tests pin those bytes against the module manual.
"""

from __future__ import annotations

import argparse
import struct
from dataclasses import dataclass, field
from pathlib import Path

from emulators.images import ImageSource, fit_to_sensor, make_source
from emulators.pty_port import SerialEmulator
from station.devices.profiles import ScannerProfile, load_scanner_profile
from station.devices.r30x_protocol import (
    CHECKSUM_LEN,
    HEADER,
    MAX_PAYLOAD,
    PREFIX_LEN,
    Command,
    PacketId,
    SystemParameters,
    checksum,
    encode_packet,
    pack_image_4bit,
)

#: Confirm codes the emulator answers with.
OK, RECEIVE_ERROR, NO_FINGER, IMAGE_FAIL, NO_IMAGE, WRONG_PASSWORD, MUST_VERIFY = (
    0x00,
    0x01,
    0x02,
    0x03,
    0x15,
    0x13,
    0x21,
)
#: Byte a module sends after power-up and after SoftReset.
READY_BYTE = b"\x55"


@dataclass
class R30xFaults:
    """Faults to inject; tests and training scenarios set these while the emulator runs."""

    #: GenImg answers "no finger" this many more times before a finger is there.
    no_finger_polls: int = 0
    #: False: nobody ever places a finger.
    finger_present: bool = True
    #: GenImg answers "could not take image" this many more times.
    genimg_failures: int = 0
    #: Bytes sent before the next answer (0x55 after a spontaneous reset, line noise).
    stray_before_next: bytes = b""
    #: This many more answers go out with a wrong checksum.
    corrupt_answers: int = 0
    #: This many more image data packets go out with a wrong checksum.
    corrupt_data_packets: int = 0
    #: This many more commands get no answer at all.
    silent_answers: int = 0
    #: Commands received, by code (for tests and the trainer's scorecard).
    received: list[int] = field(default_factory=list)


class R30xEmulator(SerialEmulator):
    """An EF01-family module serving fingerprint images from a source."""

    def __init__(
        self,
        profile: ScannerProfile | str = "r307",
        images: str | Path | ImageSource | None = None,
        pace: bool | int = False,
        password: int = 0,
        packet_size: int | None = None,
    ) -> None:
        self.profile = load_scanner_profile(profile) if isinstance(profile, str) else profile
        baud = self.profile.baud if pace is True else (int(pace) or None)
        super().__init__(pace_baud=baud)
        self.source = make_source(images, self.profile.image_width, self.profile.image_height)
        self.password = password
        self.verified = password == 0
        self.packet_size = packet_size or self.profile.packet_size
        self.faults = R30xFaults()
        self.led_on = False
        self.image: bytes | None = None
        self.images_served = 0

    # -- framing -------------------------------------------------------------------------------------------------
    def handle(self, buffer: bytearray) -> None:
        while True:
            start = buffer.find(HEADER)
            if start < 0:
                del buffer[: max(0, len(buffer) - 1)]  # keep a possible first header byte
                return
            del buffer[:start]
            if len(buffer) < PREFIX_LEN:
                return
            address, pid, length = struct.unpack(">IBH", bytes(buffer[2:PREFIX_LEN]))
            if not CHECKSUM_LEN < length <= MAX_PAYLOAD + CHECKSUM_LEN:
                del buffer[:2]  # not a real frame: resynchronise after this header
                continue
            if len(buffer) < PREFIX_LEN + length:
                return
            payload = bytes(buffer[PREFIX_LEN : PREFIX_LEN + length - CHECKSUM_LEN])
            (got,) = struct.unpack(
                ">H", bytes(buffer[PREFIX_LEN + length - CHECKSUM_LEN : PREFIX_LEN + length])
            )
            del buffer[: PREFIX_LEN + length]
            if address != self.profile.address:
                continue  # a module ignores frames for another address
            if got != checksum(pid, payload) or pid != PacketId.COMMAND or not payload:
                self._answer(RECEIVE_ERROR)
                continue
            self._command(payload[0], payload[1:])

    def _frame(self, pid: int, payload: bytes, corrupt: bool = False) -> bytes:
        frame = encode_packet(pid, payload, self.profile.address)
        if corrupt:
            frame = frame[:-1] + bytes([frame[-1] ^ 0xFF])
        return frame

    def _answer(self, confirm: int, data: bytes = b"") -> None:
        faults = self.faults
        if faults.silent_answers > 0:
            faults.silent_answers -= 1
            return
        corrupt = faults.corrupt_answers > 0
        if corrupt:
            faults.corrupt_answers -= 1
        stray, faults.stray_before_next = faults.stray_before_next, b""
        self.send(stray + self._frame(PacketId.ACK, bytes([confirm]) + data, corrupt))

    # -- commands ------------------------------------------------------------------------------------------------
    def _command(self, code: int, params: bytes) -> None:
        self.faults.received.append(code)
        if code == Command.VFY_PWD:
            ok = len(params) == 4 and struct.unpack(">I", params)[0] == self.password
            self.verified = self.verified or ok
            self._answer(OK if ok else WRONG_PASSWORD)
        elif code == Command.HANDSHAKE:
            self._answer(OK)
        elif not self.verified:
            self._answer(MUST_VERIFY)
        elif code == Command.READ_SYS_PARA:
            params_out = SystemParameters(
                status=0,
                system_id=0x0009,
                library_size=1000,
                security_level=3,
                address=self.profile.address,
                packet_size=self.packet_size,
                baud=self.profile.baud,
            )
            self._answer(OK, params_out.pack())
        elif code == Command.GEN_IMG:
            self._gen_img()
        elif code == Command.UP_IMAGE:
            self._up_image()
        elif code == Command.AURA_LED and self.profile.led == "aura" and len(params) == 4:
            self.led_on = params[0] in (1, 2, 3, 5)
            self._answer(OK)
        elif code == Command.SOFT_RESET:
            self._answer(OK)
            self.image = None
            self.verified = self.password == 0
            self.send(READY_BYTE)
        elif code == Command.TEMPLATE_NUM:
            self._answer(OK, struct.pack(">H", 0))
        else:
            self._answer(RECEIVE_ERROR)  # what these modules answer to an instruction they do not know

    def _gen_img(self) -> None:
        faults = self.faults
        if not faults.finger_present:
            self._answer(NO_FINGER)
        elif faults.no_finger_polls > 0:
            faults.no_finger_polls -= 1
            self._answer(NO_FINGER)
        elif faults.genimg_failures > 0:
            faults.genimg_failures -= 1
            self._answer(IMAGE_FAIL)
        else:
            image = fit_to_sensor(self.source(), self.profile.image_width, self.profile.image_height)
            self.image = pack_image_4bit(image)
            self.images_served += 1
            self._answer(OK)

    def _up_image(self) -> None:
        if self.image is None:
            self._answer(NO_IMAGE)
            return
        self._answer(OK)
        data, size = self.image, self.packet_size
        frames = []
        for offset in range(0, len(data), size):
            last = offset + size >= len(data)
            corrupt = self.faults.corrupt_data_packets > 0
            if corrupt:
                self.faults.corrupt_data_packets -= 1
            frames.append(
                self._frame(
                    PacketId.END_DATA if last else PacketId.DATA, data[offset : offset + size], corrupt
                )
            )
        self.send(b"".join(frames))


def main(argv: list[str] | None = None) -> int:
    """Serve one emulated module until interrupted; prints the port path for the kit or a trainer."""
    from emulators.serve import serve_until_interrupted

    parser = argparse.ArgumentParser(prog="python -m emulators.r30x", description=__doc__)
    parser.add_argument("--profile", default="r307", help="scanner profile (r307, as608, r503)")
    parser.add_argument(
        "--images", type=Path, help="folder of fingerprint images, or synthetic:SEED for a synthetic finger (default: a built-in pattern)"
    )
    parser.add_argument(
        "--pace", nargs="?", type=int, const=-1, default=0, help="pace output at BAUD (default: profile's)"
    )
    parser.add_argument("--password", type=lambda s: int(s, 0), default=0, help="module password")
    args = parser.parse_args(argv)
    pace: bool | int = True if args.pace == -1 else args.pace
    emulator = R30xEmulator(args.profile, args.images, pace=pace, password=args.password)
    return serve_until_interrupted(emulator, f"serial://{emulator.path}?profile={emulator.profile.model}")


if __name__ == "__main__":
    raise SystemExit(main())
