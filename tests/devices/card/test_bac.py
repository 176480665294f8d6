"""BAC and secure messaging against the worked example of ICAO 9303-11 Appendix D (values from the standard)."""

from __future__ import annotations

import pytest

from station.devices.card import apdu, bac
from station.devices.card.apdu import Response
from station.devices.card.errors import CardAuthError, CardStatusError, SecureMessagingError
from station.devices.card.secure_messaging import SecureChannel

MRZ_INFO = "L898902C<369080619406236"
RND_IC = bytes.fromhex("4608F91988702212")
RND_IFD = bytes.fromhex("781723860C06C226")
K_IFD = bytes.fromhex("0B795240CB7049B01C19B33E32804F0B")
CHIP_ANSWER = bytes.fromhex(
    "46B9342A41396CD7386BF5803104D7CEDC122B9132139BAF2EEDC94EE178534F2F2D235D074D7449"
)
KS_ENC = bytes.fromhex("979EC13B1CBFE9DCD01AB0FED307EAE5")
KS_MAC = bytes.fromhex("F1CB1F1FB5ADF208806B89DC579DC1F8")
SSC = 0x887022120C06C226


def test_key_derivation_matches_appendix_d() -> None:
    assert bac.key_seed(MRZ_INFO).hex().upper() == "239AB9CB282DAF66231DC5A4DF6BFBAE"
    k_enc, k_mac = bac.access_keys(MRZ_INFO)
    assert k_enc.hex().upper() == "AB94FDECF2674FDFB9B391F85D7F76F2"
    assert k_mac.hex().upper() == "7962D9ECE03D1ACD4C76089DCE131543"


def test_mutual_authentication_matches_appendix_d() -> None:
    k_enc, k_mac = bac.access_keys(MRZ_INFO)
    cryptogram = bac.terminal_authenticate_data(k_enc, k_mac, RND_IC, RND_IFD, K_IFD)
    assert cryptogram.hex().upper() == (
        "72C29C2371CC9BDB65B779B8E8D37B29ECC154AA56A8799FAE2F498F76ED92F25F1448EEA8AD90A7"
    )
    keys = bac.terminal_check_response(k_enc, k_mac, CHIP_ANSWER, RND_IC, RND_IFD, K_IFD)
    assert (keys.ks_enc, keys.ks_mac, keys.ssc) == (KS_ENC, KS_MAC, SSC)


def test_wrong_chip_answer_is_an_auth_failure() -> None:
    k_enc, k_mac = bac.access_keys(MRZ_INFO)
    tampered = CHIP_ANSWER[:5] + bytes([CHIP_ANSWER[5] ^ 1]) + CHIP_ANSWER[6:]
    with pytest.raises(CardAuthError):
        bac.terminal_check_response(k_enc, k_mac, tampered, RND_IC, RND_IFD, K_IFD)
    other_enc, other_mac = bac.access_keys("L898902C<369080619406245")
    with pytest.raises(CardAuthError):
        bac.terminal_check_response(other_enc, other_mac, CHIP_ANSWER, RND_IC, RND_IFD, K_IFD)


def test_secure_messaging_matches_appendix_d() -> None:
    channel = SecureChannel(bac.SessionKeys(KS_ENC, KS_MAC, SSC))
    protected = channel.wrap(apdu.select_file(0x011E)).to_bytes()
    assert protected.hex().upper() == "0CA4020C158709016375432908C044F68E08BF8B92D635FF24F800"
    assert channel.unwrap(Response.from_bytes(bytes.fromhex("990290008E08FA855A5D4C50A8ED9000"))).ok
    protected = channel.wrap(apdu.read_binary(0, 4)).to_bytes()
    assert protected.hex().upper() == "0CB000000D9701048E08ED6705417E96BA5500"
    answer = channel.unwrap(
        Response.from_bytes(bytes.fromhex("8709019FF0EC34F9922651990290008E08AD55CC17140B2DED9000"))
    )
    assert answer.data.hex().upper() == "60145F01"


def test_bad_response_mac_is_refused() -> None:
    channel = SecureChannel(bac.SessionKeys(KS_ENC, KS_MAC, SSC))
    channel.wrap(apdu.select_file(0x011E))
    with pytest.raises(SecureMessagingError):
        channel.unwrap(Response.from_bytes(bytes.fromhex("990290008E08FA855A5D4C50A8EE9000")))


def test_plain_error_answer_raises_with_status_word() -> None:
    channel = SecureChannel(bac.SessionKeys(KS_ENC, KS_MAC, SSC))
    channel.wrap(apdu.select_file(0x011E))
    with pytest.raises(CardStatusError) as info:
        channel.unwrap(Response(b"", 0x6988))
    assert info.value.sw == 0x6988


def test_parity_and_padding() -> None:
    assert all(bin(b).count("1") % 2 == 1 for b in bac.adjust_parity(bytes(range(256))))
    for n in range(20):
        data = bytes(range(n))
        assert len(bac.pad(data)) % 8 == 0
        assert bac.unpad(bac.pad(data)) == data
    with pytest.raises(ValueError):
        bac.unpad(bytes(8))
