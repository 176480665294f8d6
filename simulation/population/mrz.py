"""TD1 (ID card) machine-readable zone: ICAO Doc 9303 part 5 (TD1 MRZ) and part 3 (check digits, Cyrillic
transliteration).

Three lines of 30 characters:

    line 1: document code (2) | issuing state (3) | document number (9) | check digit | optional data (15)
    line 2: birth YYMMDD | check | sex | expiry YYMMDD | check | nationality (3) | optional data (11) | composite
    line 3: SURNAME<<GIVEN<NAMES

The Kyrgyz card carries the 14-digit personal number in the optional data of line 1.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from simulation.population.errors import PopulationError

_WEIGHTS = (7, 3, 1)
_LINE = 30

#: Cyrillic to Latin, the ICAO 9303 part 3 table for Russian letters; the Kyrgyz letters ң, ө, ү, which that
#: table does not list, take the plain Latin letters Kyrgyz documents use (N, O, U).
_TRANSLIT = {
    "А": "A", "Б": "B", "В": "V", "Г": "G", "Д": "D", "Е": "E", "Ё": "E", "Ж": "ZH", "З": "Z", "И": "I",
    "Й": "I", "К": "K", "Л": "L", "М": "M", "Н": "N", "О": "O", "П": "P", "Р": "R", "С": "S", "Т": "T",
    "У": "U", "Ф": "F", "Х": "KH", "Ц": "TS", "Ч": "CH", "Ш": "SH", "Щ": "SHCH", "Ъ": "IE", "Ы": "Y", "Ь": "",
    "Э": "E", "Ю": "IU", "Я": "IA", "Ң": "N", "Ө": "O", "Ү": "U",
}  # fmt: skip


def char_value(char: str) -> int:
    """Value of one MRZ character for the check digit: digits as is, A=10 .. Z=35, filler '<' = 0."""
    if char.isdigit():
        return int(char)
    if "A" <= char <= "Z":
        return ord(char) - ord("A") + 10
    if char == "<":
        return 0
    raise PopulationError(f"{char!r} cannot appear in an MRZ (only A-Z, 0-9 and '<')")


def check_digit(field: str) -> str:
    """ICAO 9303-3 check digit: weights 7, 3, 1 repeated, sum modulo 10."""
    return str(sum(char_value(c) * _WEIGHTS[i % 3] for i, c in enumerate(field)) % 10)


def transliterate(text: str) -> str:
    """A Cyrillic (or Latin) name as MRZ characters: upper case A-Z, spaces and hyphens become '<'."""
    out = []
    for char in text.upper():
        if char in _TRANSLIT:
            out.append(_TRANSLIT[char])
        elif "A" <= char <= "Z":
            out.append(char)
        elif char in " -'":
            out.append("<")
        else:
            raise PopulationError(f"cannot transliterate {char!r} in {text!r} to MRZ characters")
    return "".join(out)


def _field(value: str, width: int, name: str) -> str:
    if len(value) > width:
        raise PopulationError(f"MRZ {name} {value!r} is longer than its {width} characters")
    for char in value:
        char_value(char)
    return value.ljust(width, "<")


def name_field(surname: str, given_names: str) -> str:
    """Line 3: SURNAME<<GIVEN<NAMES, truncated to 30 characters as ICAO 9303-3 allows."""
    return f"{transliterate(surname)}<<{transliterate(given_names)}"[:_LINE].ljust(_LINE, "<")


@dataclass(frozen=True, slots=True)
class Td1Mrz:
    """The three lines of a TD1 MRZ and the fields they were built from."""

    document_code: str
    issuing_state: str
    document_number: str
    optional_data_1: str
    birth_date: date
    sex: str
    expiry_date: date
    nationality: str
    optional_data_2: str
    surname: str
    given_names: str
    lines: tuple[str, str, str]

    @property
    def text(self) -> str:
        """The MRZ as printed: three lines joined by newlines."""
        return "\n".join(self.lines)


def build_td1(
    document_number: str,
    birth_date: date,
    sex: str,
    expiry_date: date,
    surname: str,
    given_names: str,
    optional_data_1: str = "",
    optional_data_2: str = "",
    document_code: str = "ID",
    issuing_state: str = "KGZ",
    nationality: str = "KGZ",
) -> Td1Mrz:
    """A TD1 MRZ with all four check digits (ICAO 9303-5 §4.2.2); names are given in Cyrillic or Latin."""
    if sex not in ("F", "M", "<"):
        raise PopulationError(f"MRZ sex must be F, M or '<', not {sex!r}")
    number = _field(document_number, 9, "document number")
    upper = _field(document_code, 2, "document code") + _field(issuing_state, 3, "issuing state")
    line1 = upper + number + check_digit(number) + _field(optional_data_1, 15, "optional data")
    born, expires = f"{birth_date:%y%m%d}", f"{expiry_date:%y%m%d}"
    middle = born + check_digit(born) + sex + expires + check_digit(expires) + _field(nationality, 3, "nationality")
    middle += _field(optional_data_2, 11, "optional data")
    # Composite: line 1 after the issuing state, birth date and expiry with their check digits, line-2 optional data.
    composite = line1[5:30] + middle[0:7] + middle[8:15] + middle[18:29]
    line2 = middle + check_digit(composite)
    line3 = name_field(surname, given_names)
    return Td1Mrz(
        document_code=document_code,
        issuing_state=issuing_state,
        document_number=document_number,
        optional_data_1=optional_data_1,
        birth_date=birth_date,
        sex=sex,
        expiry_date=expiry_date,
        nationality=nationality,
        optional_data_2=optional_data_2,
        surname=transliterate(surname),
        given_names=transliterate(given_names),
        lines=(line1, line2, line3),
    )


def verify_td1(lines: tuple[str, str, str] | list[str]) -> None:
    """Raise :class:`PopulationError` unless ``lines`` are a well-formed TD1 MRZ with four correct check digits."""
    if len(lines) != 3 or any(len(line) != _LINE for line in lines):
        raise PopulationError("a TD1 MRZ is exactly 3 lines of 30 characters")
    line1, line2, _line3 = lines
    for char in "".join(lines):
        char_value(char)
    checks = {
        "document number": (line1[5:14], line1[14]),
        "birth date": (line2[0:6], line2[6]),
        "expiry date": (line2[8:14], line2[14]),
        "composite": (line1[5:30] + line2[0:7] + line2[8:15] + line2[18:29], line2[29]),
    }
    for name, (field, digit) in checks.items():
        if check_digit(field) != digit:
            raise PopulationError(f"MRZ {name} check digit is {digit}, expected {check_digit(field)}")
