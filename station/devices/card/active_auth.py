"""Active Authentication, ICAO 9303-11 §6.1: the chip proves it holds the private key whose public half is in DG15.

Passive authentication proves the data are genuine but not the chip: a byte-for-byte copy passes it. The AA private
key cannot be read out of a genuine chip, so a clone cannot answer a fresh challenge. ECDSA answers are the plain
r || s form (BSI TR-03111 §5.2.1) over SHA-256 (the kit's profile of DG14's ActiveAuthenticationInfo); RSA answers
are ISO/IEC 9796-2 digital signature scheme 1 with message recovery, the hash given by the trailer.
"""

from __future__ import annotations

import hashlib
import hmac

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from station.devices.card.errors import CloneError

#: ISO/IEC 10118-3 hash identifiers used in the two-byte 9796-2 trailer (``xx CC``).
_TRAILER_HASHES = {0x33: "sha1", 0x34: "sha256", 0x35: "sha512", 0x36: "sha384", 0x38: "sha224"}


def verify(public_key_der: bytes, challenge: bytes, signature: bytes) -> str:
    """Check the chip's answer to ``challenge``; returns ``"ecdsa"`` or ``"rsa"``, raises :class:`CloneError`."""
    try:
        key = serialization.load_der_public_key(public_key_der)
    except (ValueError, UnsupportedAlgorithm) as exc:
        raise CloneError(f"DG15 holds no usable public key ({exc}); the chip is refused") from exc
    if isinstance(key, ec.EllipticCurvePublicKey):
        size = (key.curve.key_size + 7) // 8
        if len(signature) != 2 * size:
            raise CloneError("the chip's active-authentication answer has the wrong length: refuse the card")
        der = encode_dss_signature(int.from_bytes(signature[:size], "big"), int.from_bytes(signature[size:], "big"))
        try:
            key.verify(der, challenge, ec.ECDSA(hashes.SHA256()))
        except InvalidSignature:
            raise CloneError(
                "the chip failed active authentication: it is not the chip this card was issued with (a clone)"
            ) from None
        return "ecdsa"
    if isinstance(key, rsa.RSAPublicKey):
        _verify_rsa_9796(key, challenge, signature)
        return "rsa"
    raise CloneError("DG15's key type is not RSA or EC; the chip is refused")


def _verify_rsa_9796(key: rsa.RSAPublicKey, challenge: bytes, signature: bytes) -> None:
    numbers = key.public_numbers()
    size = (numbers.n.bit_length() + 7) // 8
    value = int.from_bytes(signature, "big")
    if not 0 < value < numbers.n:
        raise CloneError("the chip's active-authentication answer is out of range: refuse the card")
    recovered = pow(value, numbers.e, numbers.n).to_bytes(size, "big")
    if recovered[-1] == 0xBC:
        name, trailer = "sha1", 1
    elif recovered[-1] == 0xCC and recovered[-2] in _TRAILER_HASHES:
        name, trailer = _TRAILER_HASHES[recovered[-2]], 2
    else:
        raise CloneError("the chip failed active authentication (bad ISO 9796-2 trailer): refuse the card")
    digest_size = hashlib.new(name).digest_size
    if recovered[0] != 0x6A or size < digest_size + trailer + 2:
        raise CloneError("the chip failed active authentication (bad ISO 9796-2 header): refuse the card")
    m1 = recovered[1 : -(digest_size + trailer)]
    digest = recovered[-(digest_size + trailer) : -trailer]
    if not hmac.compare_digest(hashlib.new(name, m1 + challenge).digest(), digest):
        raise CloneError("the chip failed active authentication: it is a clone or not genuine; refuse the card")
