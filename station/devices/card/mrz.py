"""Machine-readable zones of ICAO 9303-3/-4/-5: TD1 ID cards (3 x 30) and TD3 passports (2 x 44).

Parsing checks every check digit (weights 7-3-1, ICAO 9303-3 §4.9) and refuses what does not fit with an
:class:`MrzError` that names the line and field, so the operator knows what to retype. The personal number of a
Kyrgyz ID card sits in the optional data (TD1 line 1, positions 16-30); a TD3 passport has a personal-number field.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from station.devices.card.errors import MrzError

_ALLOWED = re.compile(r"^[A-Z0-9<]*$")
_WEIGHTS = (7, 3, 1)


def char_value(ch: str) -> int:
    """ICAO 9303-3 §4.9 value of one MRZ character: digits as themselves, A-Z as 10-35, the filler as 0."""
    if "0" <= ch <= "9":
        return ord(ch) - 48
    if "A" <= ch <= "Z":
        return ord(ch) - 55
    if ch == "<":
        return 0
    raise MrzError(f"character {ch!r} is not allowed in an MRZ (only A-Z, 0-9 and <)")


def check_digit(field: str) -> str:
    """The check digit of ``field``: sum of values times 7, 3, 1 repeating, modulo 10."""
    return str(sum(char_value(c) * _WEIGHTS[i % 3] for i, c in enumerate(field)) % 10)


def _checked(value: str, digit: str, name: str, where: str) -> None:
    # A filler as check digit is allowed only for an empty optional field (ICAO 9303-4 §4.2.2.2).
    if digit == "<" and value.strip("<") == "":
        return
    if not digit.isdigit():
        raise MrzError(
            f"{where}: check digit of the {name} must be a digit, got {digit!r}; retype the {name}"
        )
    if check_digit(value) != digit:
        raise MrzError(
            f"{where}: check digit of the {name} is wrong ({value!r} gives {check_digit(value)}, MRZ says {digit});"
            f" retype the {name} exactly as printed"
        )


def parse_date(yymmdd: str, name: str, *, future: bool) -> dt.date:
    """A YYMMDD date; the century is chosen so that birth dates lie in the past and expiry dates near today."""
    if len(yymmdd) != 6 or not yymmdd.isdigit():
        raise MrzError(f"the {name} must be six digits YYMMDD, got {yymmdd!r}")
    yy, mm, dd = int(yymmdd[:2]), int(yymmdd[2:4]), int(yymmdd[4:])
    this_year = dt.date.today().year % 100
    century = (2000 if yy <= this_year + 50 else 1900) if future else 2000 if yy <= this_year else 1900
    try:
        return dt.date(century + yy, mm, dd)
    except ValueError:
        raise MrzError(f"the {name} {yymmdd!r} is not a calendar date") from None


@dataclass(frozen=True)
class Mrz:
    """What the kit needs from an MRZ: the three BAC fields, names, and the personal number."""

    document_code: str
    issuing_state: str
    document_number: str
    birth_date: str  # YYMMDD, as in the MRZ and the BAC key seed
    sex: str
    expiry_date: str  # YYMMDD
    nationality: str
    surname: str
    given_names: str
    personal_number: str
    optional_data: str
    lines: tuple[str, ...] = ()

    @property
    def format(self) -> str:
        """``TD1`` (ID card, 3 lines), ``TD3`` (passport, 2 lines) or ``keyboard`` (only the BAC fields)."""
        return {3: "TD1", 2: "TD3"}.get(len(self.lines), "keyboard")

    def bac_seed_text(self) -> str:
        """The MRZ information of ICAO 9303-11 §9.7.1: number, birth and expiry dates, each with its check digit."""
        number = self.document_number.ljust(9, "<")
        return (
            number
            + check_digit(number)
            + self.birth_date
            + check_digit(self.birth_date)
            + self.expiry_date
            + check_digit(self.expiry_date)
        )

    def birth(self) -> dt.date:
        """The birth date as a date (century guessed: in the past)."""
        return parse_date(self.birth_date, "birth date", future=False)

    def expiry(self) -> dt.date:
        """The expiry date as a date."""
        return parse_date(self.expiry_date, "expiry date", future=True)


def _names(field: str) -> tuple[str, str]:
    surname, _, given = field.partition("<<")
    return surname.replace("<", " ").strip(), given.replace("<", " ").strip()


def _clean_lines(text: str) -> list[str]:
    lines = [line.strip().replace(" ", "") for line in text.strip().splitlines() if line.strip()]
    for i, line in enumerate(lines, 1):
        if not _ALLOWED.match(line):
            bad = sorted({c for c in line if not _ALLOWED.match(c)})
            raise MrzError(f"line {i} holds characters not allowed in an MRZ: {''.join(bad)!r}")
    return lines


def parse_mrz(text: str) -> Mrz:
    """Parse a TD1 (3 x 30) or TD3 (2 x 44) MRZ; raises :class:`MrzError` saying which line or field is wrong."""
    if not isinstance(text, str):
        raise MrzError("the MRZ must be text")
    lines = _clean_lines(text.upper())
    shape = [len(line) for line in lines]
    if shape == [30, 30, 30]:
        return _parse_td1(lines)
    if shape == [44, 44]:
        return _parse_td3(lines)
    raise MrzError(
        f"an MRZ has 3 lines of 30 characters (ID card) or 2 lines of 44 (passport); got line lengths {shape}"
    )


def _parse_td1(lines: list[str]) -> Mrz:
    l1, l2, l3 = lines
    number, number_cd, optional1 = l1[5:14], l1[14], l1[15:30]
    if number_cd == "<":
        # Document numbers longer than 9 characters continue in the optional data, followed by their check digit
        # and a filler (ICAO 9303-5 §4.2.2, note j).
        extra, sep, rest = optional1.partition("<")
        if not sep or len(extra) < 2:
            raise MrzError(
                "TD1 line 1: a long document number must continue in the optional data with its check digit"
            )
        number, number_cd, optional1 = number + extra[:-1], extra[-1], rest
    _checked(number, number_cd, "document number", "line 1")
    birth, birth_cd, sex, expiry, expiry_cd = l2[0:6], l2[6], l2[7], l2[8:14], l2[14]
    _checked(birth, birth_cd, "birth date", "line 2")
    _checked(expiry, expiry_cd, "expiry date", "line 2")
    composite = l1[5:30] + l2[0:7] + l2[8:15] + l2[18:29]
    _checked(composite, l2[29], "whole MRZ (composite)", "line 2")
    if sex not in "MFX<":
        raise MrzError(f"line 2: sex must be M, F or <, got {sex!r}")
    parse_date(birth, "birth date", future=False)
    parse_date(expiry, "expiry date", future=True)
    surname, given = _names(l3)
    optional2 = l2[18:29]
    personal = optional1.strip("<") or optional2.strip("<")
    return Mrz(
        document_code=l1[0:2].strip("<"),
        issuing_state=l1[2:5].strip("<"),
        document_number=number.rstrip("<"),
        birth_date=birth,
        sex=sex,
        expiry_date=expiry,
        nationality=l2[15:18].strip("<"),
        surname=surname,
        given_names=given,
        personal_number=personal.replace("<", ""),
        optional_data=(optional1 + optional2).strip("<"),
        lines=tuple(lines),
    )


def _parse_td3(lines: list[str]) -> Mrz:
    l1, l2 = lines
    number, number_cd = l2[0:9], l2[9]
    birth, birth_cd, sex, expiry, expiry_cd = l2[13:19], l2[19], l2[20], l2[21:27], l2[27]
    personal, personal_cd = l2[28:42], l2[42]
    _checked(number, number_cd, "document number", "line 2")
    _checked(birth, birth_cd, "birth date", "line 2")
    _checked(expiry, expiry_cd, "expiry date", "line 2")
    _checked(personal, personal_cd, "personal number", "line 2")
    _checked(l2[0:10] + l2[13:20] + l2[21:43], l2[43], "whole MRZ (composite)", "line 2")
    if sex not in "MFX<":
        raise MrzError(f"line 2: sex must be M, F or <, got {sex!r}")
    parse_date(birth, "birth date", future=False)
    parse_date(expiry, "expiry date", future=True)
    surname, given = _names(l1[5:44])
    return Mrz(
        document_code=l1[0:2].strip("<"),
        issuing_state=l1[2:5].strip("<"),
        document_number=number.rstrip("<"),
        birth_date=birth,
        sex=sex,
        expiry_date=expiry,
        nationality=l2[10:13].strip("<"),
        surname=surname,
        given_names=given,
        personal_number=personal.replace("<", ""),
        optional_data=personal.strip("<"),
        lines=tuple(lines),
    )


def mrz_from_fields(document_number: str, birth_date: str, expiry_date: str) -> Mrz:
    """Keyboard entry: the three BAC fields as typed by the operator, validated (dates as YYMMDD).

    Spaces are dropped and letters upper-cased; the letter O typed in a document number stays an O (the chip will
    refuse it if wrong: guessing would hide typing errors).
    """
    number = document_number.strip().upper().replace(" ", "")
    if not 1 <= len(number) <= 20 or not _ALLOWED.match(number) or number.strip("<") == "":
        raise MrzError(f"the document number must be 1 to 20 letters or digits, got {document_number!r}")
    birth = birth_date.strip().replace(" ", "")
    expiry = expiry_date.strip().replace(" ", "")
    parse_date(birth, "birth date", future=False)
    parse_date(expiry, "expiry date", future=True)
    return Mrz(
        document_code="",
        issuing_state="",
        document_number=number.rstrip("<"),
        birth_date=birth,
        sex="<",
        expiry_date=expiry,
        nationality="",
        surname="",
        given_names="",
        personal_number="",
        optional_data="",
    )


def build_td1(
    *,
    document_number: str,
    birth_date: str,
    expiry_date: str,
    sex: str,
    surname: str,
    given_names: str,
    personal_number: str,
    issuing_state: str = "KGZ",
    nationality: str = "KGZ",
    document_code: str = "ID",
) -> str:
    """The three lines of a TD1 MRZ for these fields, with correct check digits (used by emulators and tests)."""

    def field(value: str, size: int) -> str:
        value = value.upper().replace(" ", "<").replace("-", "<")
        if len(value) > size:
            raise MrzError(f"{value!r} does not fit in {size} MRZ characters")
        return value.ljust(size, "<")

    number = field(document_number, 9)
    l1 = (
        field(document_code, 2)
        + field(issuing_state, 3)
        + number
        + check_digit(number)
        + field(personal_number, 15)
    )
    l2 = birth_date + check_digit(birth_date) + sex + expiry_date + check_digit(expiry_date)
    l2 += field(nationality, 3) + "<" * 11
    l2 += check_digit(l1[5:30] + l2[0:7] + l2[8:15] + l2[18:29])
    name = field(surname, 30) if not given_names else (surname.upper() + "<<" + given_names.upper())
    l3 = field(name.replace(" ", "<"), 30)[:30]
    return "\n".join((l1, l2, l3))
