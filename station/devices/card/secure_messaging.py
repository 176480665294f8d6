"""Secure messaging after BAC, ICAO 9303-11 §9.8 (3DES, retail MAC, send sequence counter).

The terminal side: protect each command (DO87 encrypted data, DO97 expected length, DO8E MAC) and check each answer
(DO87, DO99 status, DO8E). The counter grows by one per command and one per response; any MAC failure ends the
session because the chip's answer can no longer be trusted.
"""

from __future__ import annotations

from station.devices.card import bac, status_words, tlv
from station.devices.card.apdu import Command, Response
from station.devices.card.errors import CardStatusError, LdsError, SecureMessagingError

SM_CLA = 0x0C  # CLA bits for "secure messaging, header authenticated" (ISO/IEC 7816-4 §5.4.1)


class SecureChannel:
    """Wraps commands and unwraps responses under one BAC session."""

    def __init__(self, keys: bac.SessionKeys) -> None:
        self.ks_enc = keys.ks_enc
        self.ks_mac = keys.ks_mac
        self.ssc = keys.ssc

    def _next_ssc(self) -> bytes:
        self.ssc = (self.ssc + 1) % (1 << 64)
        return self.ssc.to_bytes(8, "big")

    def wrap(self, command: Command) -> Command:
        """The protected form of ``command`` (§9.8.6.1)."""
        header = bytes((command.cla | SM_CLA, command.ins, command.p1, command.p2))
        body = b""
        if command.data:
            body += tlv.encode(0x87, b"\x01" + bac.encrypt(self.ks_enc, bac.pad(command.data)))
        if command.le is not None:
            body += tlv.encode(0x97, bytes((command.le & 0xFF,)))
        mac = bac.mac(self.ks_mac, self._next_ssc() + bac.pad(header) + body)
        body += tlv.encode(0x8E, mac)
        return Command(header[0], header[1], header[2], header[3], body, 0)

    def unwrap(self, response: Response) -> Response:
        """Check and decrypt a protected response; raises on a bad MAC or a missing object."""
        ssc = self._next_ssc()
        if not response.data:
            # The chip answers an error in plain when it refuses the protected command (ISO/IEC 7816-4 §6).
            raise CardStatusError(
                f"the chip refused a protected command: {status_words.text(response.sw)}", response.sw
            )
        try:
            objects = tlv.decode(response.data)
        except LdsError as exc:
            raise SecureMessagingError(
                f"secure-messaging answer does not parse ({exc}); read the card again"
            ) from exc
        found = dict(objects)
        if 0x8E not in found or 0x99 not in found:
            raise SecureMessagingError(
                "secure-messaging answer lacks its MAC or status object; read the card again"
            )
        covered = b"".join(tlv.encode(tag, value) for tag, value in objects if tag in (0x87, 0x99))
        if not bac.mac_equal(bac.mac(self.ks_mac, ssc + covered), found[0x8E]):
            raise SecureMessagingError(
                "secure-messaging answer fails its MAC: the channel is disturbed or the chip is not genuine;"
                " remove the card and read it again"
            )
        sw_bytes = found[0x99]
        if len(sw_bytes) != 2:
            raise SecureMessagingError("secure-messaging status object is not two bytes")
        data = b""
        if 0x87 in found:
            encrypted = found[0x87]
            if not encrypted or encrypted[0] != 0x01 or (len(encrypted) - 1) % bac.BLOCK:
                raise SecureMessagingError("secure-messaging data object is malformed")
            try:
                data = bac.unpad(bac.decrypt(self.ks_enc, encrypted[1:]))
            except ValueError as exc:
                raise SecureMessagingError(f"secure-messaging data does not decrypt ({exc})") from exc
        return Response(data, int.from_bytes(sw_bytes, "big"))
