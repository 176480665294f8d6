"""Basic Access Control, ICAO 9303-11 §4.3 and §9.7-9.8: key derivation, 3DES, the retail MAC, mutual authentication.

Both sides of BAC are here as pure functions over bytes so that the reader and the project's chip emulator compute the
same things, and so that the worked example of ICAO 9303-11 Appendix D checks them (tests/devices/card/test_bac.py).
"""

from __future__ import annotations

import hashlib
import hmac
import threading
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES
from cryptography.hazmat.primitives.ciphers import Cipher, modes

from station.devices.card.errors import CardAuthError

#: Key-derivation counters of ICAO 9303-11 §9.7.1: c = 1 for the encryption key, 2 for the MAC key.
ENC_COUNTER = 1
MAC_COUNTER = 2
BLOCK = 8  # DES block size, bytes
_ZERO_IV = bytes(BLOCK)


def adjust_parity(key: bytes) -> bytes:
    """Set the DES odd-parity bit (least significant) of every key byte, as §9.7.1 asks."""
    out = bytearray()
    for byte in key:
        high = byte & 0xFE
        out.append(high | ((bin(high).count("1") + 1) % 2))
    return bytes(out)


def derive_key(seed: bytes, counter: int) -> bytes:
    """A 16-byte 2-key 3DES key from a 16-byte seed (SHA-1 of seed || counter, first 16 bytes, parity adjusted)."""
    digest = hashlib.sha1(seed + counter.to_bytes(4, "big")).digest()
    return adjust_parity(digest[:16])


def key_seed(mrz_information: str) -> bytes:
    """K_seed: the first 16 bytes of SHA-1 over the MRZ information (number, birth, expiry with check digits)."""
    return hashlib.sha1(mrz_information.encode("ascii")).digest()[:16]


def _ede_key(key: bytes) -> bytes:
    # 2-key 3DES (K1 K2 K1) is written out as 24 bytes: cryptography refuses short keys in future releases.
    return key[:8] + key[8:16] + key[:8]


def pad(data: bytes) -> bytes:
    """ISO/IEC 9797-1 padding method 2: 0x80 then zeros to a whole block."""
    data = data + b"\x80"
    return data + bytes(-len(data) % BLOCK)


def unpad(data: bytes) -> bytes:
    """Remove padding method 2; raises ``ValueError`` when there is none."""
    end = data.rstrip(b"\x00")
    if not end or end[-1] != 0x80:
        raise ValueError("no ISO 9797-1 method 2 padding")
    return end[:-1]


def encrypt(key: bytes, data: bytes, iv: bytes = _ZERO_IV) -> bytes:
    """3DES-CBC encryption with a zero IV (ICAO 9303-11 §9.8.6.1); ``data`` must be whole blocks."""
    enc = Cipher(TripleDES(_ede_key(key)), modes.CBC(iv)).encryptor()
    return enc.update(data) + enc.finalize()


def decrypt(key: bytes, data: bytes, iv: bytes = _ZERO_IV) -> bytes:
    """3DES-CBC decryption with a zero IV; ``data`` must be whole blocks."""
    if len(data) % BLOCK:
        raise ValueError("3DES ciphertext is not a whole number of blocks")
    dec = Cipher(TripleDES(_ede_key(key)), modes.CBC(iv)).decryptor()
    return dec.update(data) + dec.finalize()


_local = threading.local()


def _ecb(key24: bytes) -> Any:
    """A reusable ECB encryptor for one 24-byte key, cached per thread (cipher contexts are not shared across
    threads; building one costs far more than a block)."""
    cache: dict[bytes, Any] | None = getattr(_local, "ecb", None)
    if cache is None:
        cache = _local.ecb = {}
    enc = cache.get(key24)
    if enc is None:
        if len(cache) > 16:  # a handful of live sessions at most; old keys are dropped
            cache.clear()
        enc = cache[key24] = Cipher(TripleDES(key24), modes.ECB()).encryptor()
    return enc


def mac(key: bytes, data: bytes) -> bytes:
    """ISO/IEC 9797-1 MAC algorithm 3 (retail MAC) with DES, padding method 2, 8-byte result.

    Single-DES CBC under K_a over all blocks but the last, then the last block under 2-key 3DES (K_a, K_b, K_a),
    which is the same as the standard's final decrypt-with-K_b / encrypt-with-K_a step. CBC is chained here over
    cached ECB contexts (a DES block is 8 bytes; ECB of one block is the block cipher itself).
    """
    padded = pad(data)
    single = _ecb(key[:8] * 3)
    chain = 0
    for i in range(0, len(padded) - BLOCK, BLOCK):
        block = int.from_bytes(padded[i : i + BLOCK], "big") ^ chain
        chain = int.from_bytes(single.update(block.to_bytes(BLOCK, "big")), "big")
    last = (int.from_bytes(padded[-BLOCK:], "big") ^ chain).to_bytes(BLOCK, "big")
    return bytes(_ecb(_ede_key(key)).update(last))


def mac_equal(a: bytes, b: bytes) -> bool:
    """Constant-time comparison of two MACs."""
    return hmac.compare_digest(a, b)


@dataclass(frozen=True)
class SessionKeys:
    """Secure-messaging keys and the starting send sequence counter (ICAO 9303-11 §9.8.2)."""

    ks_enc: bytes
    ks_mac: bytes
    ssc: int


def access_keys(mrz_information: str) -> tuple[bytes, bytes]:
    """K_enc and K_mac for BAC from the MRZ information."""
    seed = key_seed(mrz_information)
    return derive_key(seed, ENC_COUNTER), derive_key(seed, MAC_COUNTER)


def session_keys(k_ifd: bytes, k_ic: bytes, rnd_ic: bytes, rnd_ifd: bytes) -> SessionKeys:
    """KS_enc, KS_mac from K_IFD xor K_IC, and SSC = last 4 bytes of RND.IC || last 4 bytes of RND.IFD."""
    seed = bytes(a ^ b for a, b in zip(k_ifd, k_ic, strict=True))
    ssc = int.from_bytes(rnd_ic[-4:] + rnd_ifd[-4:], "big")
    return SessionKeys(derive_key(seed, ENC_COUNTER), derive_key(seed, MAC_COUNTER), ssc)


def terminal_authenticate_data(
    k_enc: bytes, k_mac: bytes, rnd_ic: bytes, rnd_ifd: bytes, k_ifd: bytes
) -> bytes:
    """The EXTERNAL AUTHENTICATE data of the terminal: E_IFD = 3DES(S), then M_IFD = MAC(E_IFD) (§4.3.3.1 step 1)."""
    e_ifd = encrypt(k_enc, rnd_ifd + rnd_ic + k_ifd)
    return e_ifd + mac(k_mac, e_ifd)


def terminal_check_response(
    k_enc: bytes, k_mac: bytes, response: bytes, rnd_ic: bytes, rnd_ifd: bytes, k_ifd: bytes
) -> SessionKeys:
    """Check the chip's answer (E_IC || M_IC), recover K_IC and return the session keys; refuse a wrong chip."""
    if len(response) != 40:
        raise CardAuthError(f"the chip's authentication answer has {len(response)} bytes, expected 40")
    e_ic, m_ic = response[:32], response[32:]
    if not mac_equal(mac(k_mac, e_ic), m_ic):
        raise CardAuthError(
            "the chip's authentication answer fails its MAC: the MRZ keys do not match this chip"
        )
    plain = decrypt(k_enc, e_ic)
    if plain[:8] != rnd_ic or plain[8:16] != rnd_ifd:
        raise CardAuthError("the chip did not return our challenge: the MRZ keys do not match this chip")
    return session_keys(k_ifd, plain[16:32], rnd_ic, rnd_ifd)
