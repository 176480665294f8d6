"""Reading an eMRTD chip, a recipe in ICAO 9303-11 order: select the application, BAC, EF.COM, DG1, (DG2), (DG11),
EF.SOD, passive authentication.

Works over any ``transmit(bytes) -> bytes`` function (a PC/SC connection, or anything else that speaks APDUs), so
the same code is exercised through pcscd + vpcd and by the fuzz tests. Every answer is bounded: files longer than
:data:`MAX_FILE_BYTES` and reads that do not progress are refused.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from station.devices.card import active_auth, apdu, bac, lds, status_words
from station.devices.card.apdu import Command, Response
from station.devices.card.errors import CardAuthError, CardStatusError, CardTimeout, LdsError
from station.devices.card.mrz import Mrz
from station.devices.card.passive_auth import PassiveAuthResult, TrustStore
from station.devices.card.secure_messaging import SecureChannel
from station.devices.card.tlv import header_size

Transmit = Callable[[bytes], bytes]

#: Largest LDS file the kit will read (bytes): DG2 face images are 15 to 30 KB; anything far larger is hostile.
MAX_FILE_BYTES = 65535
#: READ BINARY length per command under BAC secure messaging: 0xDF bytes of data keep the protected answer (DO87 with
#: padding, DO99, DO8E, status word) inside a short 256-byte response.
READ_CHUNK = 0xDF


@dataclass(frozen=True)
class CardRead:
    """Everything read from one chip, after passive authentication passed."""

    mrz: Mrz
    personal_number: str
    com: lds.Com
    face: lds.FaceImage | None
    details: lds.PersonalDetails | None
    authentication: PassiveAuthResult
    #: ``"ecdsa"`` or ``"rsa"`` when the chip proved its key (Active Authentication), ``"absent"`` without DG15.
    chip_authentication: str
    timings_ms: dict[str, float] = field(default_factory=dict)


class ChipSession:
    """One conversation with a chip; create a new one after a reset or re-insertion."""

    def __init__(self, transmit: Transmit, deadline: float | None = None) -> None:
        self._transmit = transmit
        self.deadline = deadline
        self.channel: SecureChannel | None = None

    def _send(self, command: Command) -> Response:
        if self.deadline is not None and time.monotonic() > self.deadline:
            raise CardTimeout("reading the card took too long; remove the card and put it back")
        return Response.from_bytes(self._transmit(command.to_bytes()))

    def _expect_ok(self, response: Response, doing: str) -> Response:
        if response.ok:
            return response
        if status_words.is_auth_failure(response.sw):
            raise CardAuthError(
                f"the chip refused access while {doing}: {status_words.text(response.sw)};"
                " check the document number, birth and expiry dates"
            )
        raise CardStatusError(f"the chip answered {status_words.text(response.sw)} while {doing}", response.sw)

    def select_application(self) -> None:
        """SELECT the eMRTD application (ICAO 9303-10 §3.6.2)."""
        self._expect_ok(self._send(apdu.select_application()), "selecting the ID application")

    def authenticate(self, mrz: Mrz) -> None:
        """Basic Access Control with keys from ``mrz`` (ICAO 9303-11 §4.3.3.1); opens secure messaging."""
        k_enc, k_mac = bac.access_keys(mrz.bac_seed_text())
        rnd_ic = self._expect_ok(self._send(apdu.get_challenge()), "asking for a challenge").data
        if len(rnd_ic) != 8:
            raise CardAuthError(f"the chip's challenge has {len(rnd_ic)} bytes, expected 8")
        rnd_ifd, k_ifd = os.urandom(8), os.urandom(16)
        data = bac.terminal_authenticate_data(k_enc, k_mac, rnd_ic, rnd_ifd, k_ifd)
        answer = self._expect_ok(self._send(apdu.external_authenticate(data)), "authenticating with the MRZ keys")
        self.channel = SecureChannel(bac.terminal_check_response(k_enc, k_mac, answer.data, rnd_ic, rnd_ifd, k_ifd))

    def secure(self, command: Command, doing: str) -> Response:
        """Send one command under secure messaging and check its answer."""
        if self.channel is None:
            raise CardAuthError("secure messaging is not open: authenticate first")
        protected = self.channel.wrap(command)
        answer = self.channel.unwrap(self._send(protected))
        if answer.sw == 0x6282 and answer.data:
            return Response(answer.data, status_words.SW_OK)  # end of file reached: the data are still valid
        return self._expect_ok(answer, doing)

    def read_file(self, file: lds.LdsFile) -> bytes:
        """SELECT and READ BINARY a whole file, its size taken from its own TLV header."""
        self.secure(apdu.select_file(file.fid), f"opening {file.name}")
        first = self.secure(apdu.read_binary(0, READ_CHUNK), f"reading {file.name}").data
        if len(first) < 2:
            raise LdsError(f"{file.name} is empty")
        try:
            head, length = header_size(first)
        except LdsError as exc:
            raise LdsError(f"{file.name} does not start with a TLV header ({exc})") from exc
        total = head + length
        if total > MAX_FILE_BYTES:
            raise LdsError(f"{file.name} claims {total} bytes, more than the {MAX_FILE_BYTES} allowed")
        data = bytearray(first[:total])
        while len(data) < total:
            chunk = self.secure(
                apdu.read_binary(len(data), min(READ_CHUNK, total - len(data))), f"reading {file.name}"
            ).data
            if not chunk:
                raise LdsError(f"{file.name} ended after {len(data)} of {total} bytes")
            data += chunk[: total - len(data)]
        return bytes(data)


def read_document(
    transmit: Transmit,
    mrz: Mrz,
    trust: TrustStore,
    *,
    read_face: bool = True,
    read_details: bool = True,
    timeout_s: float = 10.0,
) -> CardRead:
    """Read and authenticate one chip; raises a :class:`CardError` subclass saying what failed and what to do."""
    start = time.perf_counter()
    timings: dict[str, float] = {}

    def lap(name: str) -> None:
        timings[name] = (time.perf_counter() - start) * 1000.0

    session = ChipSession(transmit, time.monotonic() + timeout_s)
    session.select_application()
    session.authenticate(mrz)
    lap("bac")
    com = lds.parse_com(session.read_file(lds.EF_COM))
    if 1 not in com.data_groups:
        raise LdsError("EF.COM does not list DG1; this is not a usable ID chip")
    groups: dict[int, bytes] = {1: session.read_file(lds.DG1)}
    chip_mrz = lds.parse_dg1(groups[1])
    lap("dg1")
    face = details = None
    if read_face and 2 in com.data_groups:
        groups[2] = session.read_file(lds.DG2)
        face = lds.parse_dg2(groups[2])
    if read_details and 11 in com.data_groups:
        groups[11] = session.read_file(lds.DG11)
        details = lds.parse_dg11(groups[11])
    lap("data_groups")
    if 15 in com.data_groups:
        groups[15] = session.read_file(lds.DG15)
    sod = session.read_file(lds.EF_SOD)
    result = trust.verify(sod, groups)
    lap("passive_auth")
    chip_auth = "absent"
    if 15 in groups:
        # DG15's hash was checked above, so the key is the issuer's; a fresh challenge defeats replay.
        challenge = os.urandom(8)
        answer = session.secure(apdu.internal_authenticate(challenge), "proving the chip is genuine")
        chip_auth = active_auth.verify(lds.parse_dg15(groups[15]), challenge, answer.data)
        lap("active_auth")
    personal = chip_mrz.personal_number or (details.personal_number if details else "")
    return CardRead(chip_mrz, personal, com, face, details, result, chip_auth, timings)
