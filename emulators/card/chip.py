"""An ICAO 9303 eMRTD chip answering APDUs: SELECT, GET CHALLENGE, EXTERNAL AUTHENTICATE (BAC), READ BINARY under
secure messaging, with the faults a trainer or a test needs.

The chip side of ICAO 9303-11 §4.3 (BAC) and §9.8 (secure messaging). Files are readable only after BAC, as on a
BAC-protected card. A command whose MAC fails ends the session with 6988, like a real chip.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from emulators.card.personalisation import ChipFiles
from station.devices.card import bac, tlv
from station.devices.card.apdu import EMRTD_AID
from station.devices.card.errors import LdsError
from station.devices.card.mrz import parse_mrz
from station.devices.card.status_words import SW_OK

#: Short EF identifiers (ICAO 9303-10 Table 34) for READ BINARY with P1 bit 8 set.
SHORT_IDS = {0x1E: 0x011E, 0x1D: 0x011D, 0x01: 0x0101, 0x02: 0x0102, 0x0B: 0x010B, 0x0F: 0x010F}


@dataclass
class ChipFaults:
    """Faults to inject. ``wrong_key_sw``: the status word for a failed EXTERNAL AUTHENTICATE (6300, 6982, 6988);
    ``corrupt_response_mac``: every protected answer carries a wrong MAC; ``garble_after``: after this many APDUs
    every answer is replaced by ``garble_bytes``; ``remove_after``: the card is pulled after this many APDUs;
    ``silent_after``: after this many APDUs the chip stops answering but stays in the field (a hung chip)."""

    wrong_key_sw: int = 0x6300
    corrupt_response_mac: bool = False
    garble_after: int | None = None
    garble_bytes: bytes = b"\x6f"
    remove_after: int | None = None
    silent_after: int | None = None

    def silent(self, count: int) -> bool:
        """True when the APDU numbered ``count`` gets no answer."""
        return self.silent_after is not None and count > self.silent_after


def _sw(sw: int) -> bytes:
    return sw.to_bytes(2, "big")


class EmrtdChip:
    """The chip's state machine; :meth:`process` takes a command APDU and returns the response APDU."""

    def __init__(self, card: ChipFiles, faults: ChipFaults | None = None) -> None:
        self.card = card
        self.faults = faults or ChipFaults()
        self.k_enc, self.k_mac = bac.access_keys(parse_mrz(card.mrz).bac_seed_text())
        self.apdu_count = 0
        self.removed = threading.Event()
        self.reset()

    def reset(self) -> None:
        """Power-on state: no application, no session."""
        self.selected_app = False
        self.current: int | None = None
        self.rnd_ic: bytes | None = None
        self.session: bac.SessionKeys | None = None
        self.ssc = 0

    # --- dispatch -------------------------------------------------------------------------------------------------
    def process(self, command: bytes) -> bytes:
        """One APDU in, one APDU out; never raises (a malformed command gets an ISO 7816-4 error status word)."""
        self.apdu_count += 1
        if self.faults.remove_after is not None and self.apdu_count > self.faults.remove_after:
            self.removed.set()
        if self.faults.garble_after is not None and self.apdu_count > self.faults.garble_after:
            return self.faults.garble_bytes
        try:
            return self._process(command)
        except (LdsError, ValueError, IndexError):
            return _sw(0x6700)

    def _process(self, command: bytes) -> bytes:
        if len(command) < 4:
            return _sw(0x6700)
        cla, ins = command[0], command[1]
        if cla & 0x0C == 0x0C:
            return self._secure(command)
        if cla != 0x00:
            return _sw(0x6E00)
        data, le = _body(command)
        if ins == 0xA4 and command[2] == 0x04:
            self.reset()
            self.selected_app = data == EMRTD_AID
            return _sw(SW_OK if self.selected_app else 0x6A82)
        if not self.selected_app:
            return _sw(0x6985)
        if ins == 0x84:
            self.rnd_ic = os.urandom(8)
            return self.rnd_ic + _sw(SW_OK)
        if ins == 0x82:
            return self._external_authenticate(data)
        if ins in (0xA4, 0xB0):
            return _sw(0x6982)  # files need BAC
        return _sw(0x6D00)

    def _external_authenticate(self, data: bytes) -> bytes:
        rnd_ic, self.rnd_ic, self.session = self.rnd_ic, None, None
        if rnd_ic is None:
            return _sw(0x6985)
        if len(data) != 40:
            return _sw(0x6700)
        e_ifd, m_ifd = data[:32], data[32:]
        if not bac.mac_equal(bac.mac(self.k_mac, e_ifd), m_ifd):
            return _sw(self.faults.wrong_key_sw)
        plain = bac.decrypt(self.k_enc, e_ifd)
        rnd_ifd, k_ifd = plain[:8], plain[16:32]
        if plain[8:16] != rnd_ic:
            return _sw(self.faults.wrong_key_sw)
        k_ic = os.urandom(16)
        e_ic = bac.encrypt(self.k_enc, rnd_ic + rnd_ifd + k_ic)
        self.session = bac.session_keys(k_ifd, k_ic, rnd_ic, rnd_ifd)
        self.ssc = self.session.ssc
        return e_ic + bac.mac(self.k_mac, e_ic) + _sw(SW_OK)

    # --- secure messaging (chip side of ICAO 9303-11 §9.8.6) ------------------------------------------------------
    def _next_ssc(self) -> bytes:
        self.ssc = (self.ssc + 1) % (1 << 64)
        return self.ssc.to_bytes(8, "big")

    def _secure(self, command: bytes) -> bytes:
        session = self.session
        if session is None:
            return _sw(0x6982)
        body, _ = _body(command)
        try:
            objects = tlv.decode(body)
        except LdsError:
            self.session = None
            return _sw(0x6988)
        found = dict(objects)
        ssc = self._next_ssc()
        covered = b"".join(tlv.encode(t, v) for t, v in objects if t in (0x87, 0x97))
        if 0x8E not in found or not bac.mac_equal(bac.mac(session.ks_mac, ssc + bac.pad(command[:4]) + covered),
                                                  found[0x8E]):
            self.session = None  # a bad MAC ends the session (ICAO 9303-11 §9.8.4)
            return _sw(0x6988)
        data = b""
        if 0x87 in found:
            try:
                data = bac.unpad(bac.decrypt(session.ks_enc, found[0x87][1:]))
            except ValueError:
                self.session = None
                return _sw(0x6988)
        le = found[0x97][0] if 0x97 in found and found[0x97] else None
        if le == 0 and 0x97 in found:
            le = 256
        answer, sw = self._file_command(command[1], command[2], command[3], data, le)
        return self._protect(answer, sw)

    def _protect(self, data: bytes, sw: int) -> bytes:
        assert self.session is not None
        body = b""
        if data:
            body += tlv.encode(0x87, b"\x01" + bac.encrypt(self.session.ks_enc, bac.pad(data)))
        body += tlv.encode(0x99, _sw(sw))
        mac = bac.mac(self.session.ks_mac, self._next_ssc() + body)
        if self.faults.corrupt_response_mac:
            mac = bytes([mac[0] ^ 0x01]) + mac[1:]
        return body + tlv.encode(0x8E, mac) + _sw(SW_OK if sw == SW_OK else sw)

    def _file_command(self, ins: int, p1: int, p2: int, data: bytes, le: int | None) -> tuple[bytes, int]:
        if ins == 0xA4 and p1 == 0x02:
            fid = int.from_bytes(data, "big") if len(data) == 2 else -1
            if fid not in self.card.files:
                return b"", 0x6A82
            self.current = fid
            return b"", SW_OK
        if ins == 0xB0:
            if p1 & 0x80:
                fid = SHORT_IDS.get(p1 & 0x1F, -1)
                if fid not in self.card.files:
                    return b"", 0x6A82
                self.current, offset = fid, p2
            else:
                offset = (p1 << 8) | p2
            if self.current is None:
                return b"", 0x6986
            content = self.card.files[self.current]
            if offset >= len(content):
                return b"", 0x6B00
            return content[offset : offset + (le or 256)], SW_OK
        if ins == 0x88:
            return self._internal_authenticate(data)
        return b"", 0x6D00

    def _internal_authenticate(self, challenge: bytes) -> tuple[bytes, int]:
        """Active Authentication (ICAO 9303-11 §6.1) with ECDSA: the plain r || s signature (BSI TR-03111 §5.2.1)
        over the terminal's 8-byte challenge with SHA-256."""
        key = self.card.aa_key
        if key is None:
            return b"", 0x6D00
        if len(challenge) != 8:
            return b"", 0x6700
        der = key.sign(challenge, ec.ECDSA(hashes.SHA256()))
        r, s = decode_dss_signature(der)
        return r.to_bytes(32, "big") + s.to_bytes(32, "big"), SW_OK


def _body(command: bytes) -> tuple[bytes, int | None]:
    """Data and Le of a short APDU (cases 1-4)."""
    rest = command[4:]
    if not rest:
        return b"", None
    if len(rest) == 1:
        return b"", rest[0] or 256
    lc = rest[0]
    data = rest[1 : 1 + lc]
    if len(data) != lc:
        raise ValueError("Lc does not match the data")
    tail = rest[1 + lc :]
    return data, (tail[0] or 256) if tail else None
