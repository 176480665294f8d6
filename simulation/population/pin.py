"""The 14-digit personal identification number (PIN, ПИН / ИНН) of Kyrgyz citizens.

Structure, as described in public explanations of the number and visible on every specimen ID card:

    S DDMMYYYY NNNNN
    | |        +- 5-digit serial (registration number among people born the same day)
    | +---------- date of birth
    +------------ sex: 1 female, 2 male

Uncertainty: we found no public official statement of how the 5-digit serial is assigned (some sources say its
leading digits code the registering office) nor whether it contains a check digit; we treat it as an opaque
00000-99999 serial, unique among people of the same sex born on the same day.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from simulation.population.errors import PopulationError

_PIN = re.compile(r"^[12]\d{13}$")


@dataclass(frozen=True, slots=True)
class PersonalNumber:
    """The parts of a PIN: sex ("F" or "M"), birth date and serial (0 to 99,999)."""

    sex: str
    birth_date: date
    serial: int

    def __str__(self) -> str:
        return format_pin(self.sex, self.birth_date, self.serial)


def format_pin(sex: str, birth_date: date, serial: int) -> str:
    """The 14-digit PIN of a person of ``sex`` ("F"/"M") born on ``birth_date`` with ``serial``."""
    if sex not in ("F", "M"):
        raise PopulationError(f"sex must be 'F' or 'M', not {sex!r}")
    if not 0 <= serial <= 99_999:
        raise PopulationError(f"PIN serial must be 0 to 99999, not {serial}")
    return f"{1 if sex == 'F' else 2}{birth_date:%d%m}{birth_date.year:04d}{serial:05d}"


def parse_pin(text: str) -> PersonalNumber:
    """The parts of a PIN; :class:`PopulationError` names the faulty part of a malformed one."""
    if not _PIN.match(text):
        raise PopulationError(
            f"personal number {text!r} must be 14 digits starting with 1 (female) or 2 (male); check the ID card"
        )
    try:
        born = date(int(text[5:9]), int(text[3:5]), int(text[1:3]))
    except ValueError:
        raise PopulationError(f"personal number {text!r} holds no valid birth date (DDMMYYYY in digits 2-9)") from None
    return PersonalNumber("F" if text[0] == "1" else "M", born, int(text[9:]))
