"""MRZ parsing (ICAO 9303-3/-4/-5): the standard's specimens, check digits, keyboard entry, and fuzzed input."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from station.devices.card.errors import MrzError
from station.devices.card.mrz import build_td1, check_digit, mrz_from_fields, parse_mrz

# Specimens of ICAO 9303-5 Appendix A (TD1) and 9303-4 Appendix A (TD3).
TD1 = "I<UTOD231458907<<<<<<<<<<<<<<<\n7408122F1204159UTO<<<<<<<<<<<6\nERIKSSON<<ANNA<MARIA<<<<<<<<<<"
TD3 = "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<\nL898902C36UTO7408122F1204159ZE184226B<<<<<10"


def test_check_digits_of_the_specimens() -> None:
    assert check_digit("D23145890") == "7"
    assert check_digit("740812") == "2"
    assert check_digit("120415") == "9"
    assert check_digit("L898902C3") == "6"
    assert check_digit("<<<<") == "0"


def test_td1_specimen() -> None:
    mrz = parse_mrz(TD1)
    assert (mrz.format, mrz.document_number, mrz.birth_date, mrz.expiry_date) == ("TD1", "D23145890", "740812", "120415")
    assert (mrz.surname, mrz.given_names, mrz.sex, mrz.nationality) == ("ERIKSSON", "ANNA MARIA", "F", "UTO")
    assert mrz.bac_seed_text() == "D23145890774081221204159"
    assert mrz.birth().year == 1974


def test_td3_specimen_and_bac_seed() -> None:
    mrz = parse_mrz(TD3)
    assert mrz.format == "TD3" and mrz.personal_number == "ZE184226B"
    assert mrz.bac_seed_text() == "L898902C3674081221204159"


def test_kyrgyz_card_personal_number_from_optional_data() -> None:
    text = build_td1(
        document_number="ID0123456", birth_date="851130", expiry_date="320501", sex="F",
        surname="TOKTOGULOVA", given_names="AIGUL", personal_number="13011198500789",
    )
    mrz = parse_mrz(text.lower())  # case is forgiven: the camera or keyboard may give lower case
    assert mrz.personal_number == "13011198500789"
    assert (mrz.surname, mrz.given_names) == ("TOKTOGULOVA", "AIGUL")


def test_long_document_number_continues_in_optional_data() -> None:
    number = "D23145890AB1"
    l1 = "I<UTO" + number[:9] + "<" + number[9:] + check_digit(number) + "<" * 11
    l2 = "7408122F1204159UTO<<<<<<<<<<<"
    l2 += check_digit(l1[5:30] + l2[0:7] + l2[8:15] + l2[18:29])
    mrz = parse_mrz("\n".join([l1, l2, "ERIKSSON<<ANNA<MARIA<<<<<<<<<<"]))
    assert mrz.document_number == number


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        (TD1.replace("D231458907", "D231458908"), "document number"),
        (TD1.replace("7408122F", "7408123F"), "birth date"),
        (TD1.replace("1204159UTO", "1204158UTO"), "expiry date"),
        (TD1.replace("<<<<<<<<<<<6\n", "<<<<<<<<<<<5\n"), "composite"),
        (TD1.replace("\n", "", 1), "line lengths"),
        (TD1.replace("ERIKSSON", "ERIKSSÖN"), "not allowed"),
        (TD3.replace("7408122F", "7413012F").replace("ZE184226B<<<<<10", "ZE184226B<<<<<10"), "birth date"),
    ],
)
def test_bad_mrz_names_the_field(text: str, needle: str) -> None:
    with pytest.raises(MrzError, match=needle):
        parse_mrz(text)


def test_keyboard_entry() -> None:
    mrz = mrz_from_fields(" an 1234567 ", "900215", "340101")
    assert mrz.format == "keyboard" and mrz.document_number == "AN1234567"
    assert mrz.bac_seed_text() == "AN1234567" + check_digit("AN1234567") + "9002155" + "3401011"
    for bad in (("", "900215", "340101"), ("AN1", "901315", "340101"), ("AN1", "900215", "3401"),
                ("AN-1", "900215", "340101"), ("AN1", "9002I5", "340101")):
        with pytest.raises(MrzError):
            mrz_from_fields(*bad)


@given(st.text(max_size=120))
def test_any_text_parses_or_raises_mrz_error(text: str) -> None:
    with contextlib.suppress(MrzError):
        parse_mrz(text)


@given(st.lists(st.text(alphabet="ABCXYZ0123456789<", min_size=28, max_size=46), min_size=2, max_size=3))
def test_mrz_shaped_noise_parses_or_raises_mrz_error(lines: list[str]) -> None:
    try:
        mrz = parse_mrz("\n".join(lines))
    except MrzError:
        return
    assert len(mrz.bac_seed_text()) == len(mrz.document_number.ljust(9, "<")) + 15


@given(st.integers(0, len(TD1) - 1), st.sampled_from("0123456789"))
def test_single_digit_changes_are_caught(pos: int, ch: str) -> None:
    """Changing one digit of the number or dates is always caught: 7, 3 and 1 are prime to 10. (A letter whose value
    differs by a multiple of 10, or '<' for '0', is not: ICAO 9303-3 accepts that weakness.)"""
    text = TD1[:pos] + ch + TD1[pos + 1 :]
    if text == TD1 or not TD1[pos].isdigit():
        return
    line, col = divmod(pos, 31)
    guarded = (line == 0 and 5 <= col <= 14) or (line == 1 and (col <= 6 or 8 <= col <= 14))
    if guarded:
        with pytest.raises(MrzError):
            parse_mrz(text)
    else:
        with contextlib.suppress(MrzError):
            parse_mrz(text)
