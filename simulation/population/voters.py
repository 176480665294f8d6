"""Synthetic voters of one polling station, generated as a stream (a station at a time, never the whole country).

Each voter: a 14-digit personal number, a name in Cyrillic, sex and birth date from the adult age structure, an
address near the station, enrolled fingers (finger positions and the seeds of their synthetic master prints, which
are drawn only when asked for), a face picture placeholder and an ID card with a TD1 MRZ.

Uniqueness without a national table: voter ``g`` (the national ordinal, see ``stations.py``) is mapped by a fixed
bijection g -> g' = (a·g + b) mod K·100000; its PIN serial is g' mod 100000 and its stratum is g' div 100000. Two
voters with the same serial have different strata, and each stratum owns a disjoint set of (sex, birth date) cells
(``demography.BirthCells``), so no two voters can share a PIN. Card numbers use a second bijection of g.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from simulation.population.demography import age_on, birth_cells
from simulation.population.errors import PopulationError
from simulation.population.face import face_jpeg, face_placeholder, face_png
from simulation.population.geography import STREETS, oblast_by_code
from simulation.population.mrz import Td1Mrz, build_td1
from simulation.population.names import FullName, draw_name
from simulation.population.pin import format_pin
from simulation.population.stations import Country, PollingStation

if TYPE_CHECKING:  # the fingerprint generator (OpenCV) is imported only when a finger is drawn
    from simulation.fingerprints import Impression, MasterFingerprint

#: ISO/IEC 19794-2 finger position codes: 1 right thumb, 2 right index, 3 right middle, 6 left thumb, 7 left
#: index, 8 left middle.
RIGHT_THUMB, RIGHT_INDEX, RIGHT_MIDDLE, LEFT_THUMB, LEFT_INDEX, LEFT_MIDDLE = 1, 2, 3, 6, 7, 8
#: Usual enrolment: both index fingers. A few voters are enrolled on other fingers (injury, amputation) and a very
#: few on one finger only.
OTHER_FINGERS_SHARE = 0.01
ONE_FINGER_SHARE = 0.003
#: Chance that a voter's skin is worn or dry when printed, by age: manual work and age wear ridges down
#: (DOMAIN.md: elderly voters and manual workers have worn prints).
WORN_SHARE_BY_AGE = ((40, 0.02), (60, 0.05), (200, 0.12))
DRY_SHARE = 0.10
#: The Kyrgyz ID card (2017 onward) is valid 10 years; cards were first issued in 2017.
CARD_VALIDITY_YEARS = 10
FIRST_CARD_ISSUE = date(2017, 9, 1)
_SERIALS = 100_000
_CARD_NUMBERS = 10_000_000


@dataclass(frozen=True, slots=True)
class EnrolledFinger:
    """An enrolled finger: ISO finger position and the seed of its synthetic master fingerprint."""

    position: int
    seed: int

    def master(self) -> MasterFingerprint:
        """The finger's master fingerprint, drawn on demand (a few tenths of a second)."""
        from simulation.fingerprints import generate_master

        return generate_master(self.seed)


@dataclass(frozen=True, slots=True)
class IdCard:
    """A national ID card as the card emulator serves it: number, dates and the TD1 MRZ (DG1)."""

    document_number: str
    issue_date: date
    expiry_date: date
    personal_number: str
    mrz: Td1Mrz


@dataclass(frozen=True, eq=False)
class SyntheticVoter:
    """One voter on a station's list."""

    personal_number: str
    list_number: int
    name: FullName
    sex: str
    birth_date: date
    age: int
    station: str
    settlement: str
    address: str
    fingers: tuple[EnrolledFinger, ...]
    skin: str
    face_seed: int
    id_card: IdCard

    def face(self) -> npt.NDArray[np.uint8]:
        """The face picture placeholder (BGR uint8, 128 x 96)."""
        return face_placeholder(self.face_seed, self.sex, self.age)

    def face_png(self) -> bytes:
        """The face picture placeholder as PNG bytes."""
        return face_png(self.face_seed, self.sex, self.age)

    def impression(self, position: int, index: int) -> Impression:
        """Impression number ``index`` of the enrolled finger at ISO ``position``, taken with the voter's skin
        (worn and dry skins print as such; ordinary skin gets the generator's usual mix of conditions)."""
        from simulation.fingerprints import generate_impression

        for finger in self.fingers:
            if finger.position == position:
                condition = self.skin if self.skin in ("worn", "dry") else None
                return generate_impression(finger.master(), index, condition)
        raise PopulationError(
            f"voter {self.personal_number} has no enrolled finger at position {position}; "
            f"enrolled: {[f.position for f in self.fingers]}"
        )

    def card_holder(self) -> dict[str, object]:
        """The ID card's data as the card emulator's holder record takes it (keyword arguments of
        ``emulators.card.personalisation.CardHolder``): MRZ dates YYMMDD, Latin MRZ names, the printed Cyrillic
        name, place of birth (taken as the home settlement), address and a JPEG face."""
        mrz = self.id_card.mrz
        return {
            "document_number": self.id_card.document_number,
            "birth_date": f"{self.birth_date:%y%m%d}",
            "expiry_date": f"{self.id_card.expiry_date:%y%m%d}",
            "sex": self.sex,
            "surname": mrz.surname,
            "given_names": mrz.given_names,
            "personal_number": self.personal_number,
            "full_name": str(self.name),
            "place_of_birth": self.settlement,
            "address": self.address,
            "face_jpeg": face_jpeg(self.face_seed, self.sex, self.age),
        }

    def list_row(self) -> dict[str, str]:
        """The voter as a row of the kit's development list format (``station/voter_list.py`` columns + address)."""
        return {
            "personal_number": self.personal_number,
            "list_number": str(self.list_number),
            "surname": self.name.surname,
            "given_name": self.name.given_name,
            "patronymic": self.name.patronymic,
            "sex": self.sex,
            "birth_date": self.birth_date.isoformat(),
            "address": self.address,
        }


@dataclass(frozen=True, slots=True)
class _Bijection:
    """g -> (a·g + b) mod m with gcd(a, m) = 1: a permutation of 0..m-1 that scatters consecutive ordinals."""

    a: int
    b: int
    m: int

    def __call__(self, g: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
        return (g * self.a + self.b) % self.m


def _bijection(m: int, seed: int, salt: int) -> _Bijection:
    rng = np.random.default_rng([seed, salt])
    a = int(m * 0.6180339887) + int(rng.integers(0, 1000))
    while math.gcd(a, m) != 1:
        a += 1
    return _Bijection(a, int(rng.integers(0, m)), m)


def _strata(country: Country) -> int:
    return max(1, math.ceil(country.total_voters / _SERIALS))


def identity_keys(
    country: Country, ordinals: npt.NDArray[np.int64], uniform: npt.NDArray[np.float64]
) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """(is_female, birth day offsets, PIN serials) of the voters with national ``ordinals``; ``uniform`` in [0, 1)
    picks each one's cell inside its stratum. Vectorised so that the whole country can be checked at once."""
    strata = _strata(country)
    scrambled = _bijection(strata * _SERIALS, country.seed, 0x919)(ordinals)
    female, offsets = birth_cells(country.election_day, strata).draw(scrambled // _SERIALS, uniform)
    return female, offsets, scrambled % _SERIALS


def station_voters(country: Country, station: PollingStation | str) -> Iterator[SyntheticVoter]:
    """The voters of ``station`` in list order, deterministic for (country seed, station); a generator, so a
    caller holds one voter at a time."""
    if isinstance(station, str):
        station = country.station(station)
    if country.total_voters > _CARD_NUMBERS:
        raise PopulationError(f"{country.total_voters} voters exceed the 7-digit card numbers; ask for fewer stations")
    return _stream(country, station)


def _stream(country: Country, station: PollingStation) -> Iterator[SyntheticVoter]:
    cells = birth_cells(country.election_day, _strata(country))
    rng = np.random.default_rng([country.seed, 0x7073, station.index])
    ordinals = station.first_ordinal + np.arange(station.voters, dtype=np.int64)
    female, offsets, serials = identity_keys(country, ordinals, rng.random(station.voters))
    card_numbers = _bijection(_CARD_NUMBERS, country.seed, 0xCA2D)(ordinals)
    russian_share = oblast_by_code(station.oblast_code).russian_name_share
    for i in range(station.voters):
        sex = "F" if female[i] else "M"
        birth = cells.birth_date(int(offsets[i]))
        yield _voter(rng, country, station, russian_share, i, sex, birth, int(serials[i]), int(card_numbers[i]))


def _voter(
    rng: np.random.Generator,
    country: Country,
    station: PollingStation,
    russian_share: float,
    i: int,
    sex: str,
    birth: date,
    serial: int,
    card_number: int,
) -> SyntheticVoter:
    age = age_on(birth, country.election_day)
    # The уулу/кызы form spread after independence: more frequent among those born since 1991.
    name = draw_name(rng, sex, rng.random() < russian_share, 0.25 if birth.year >= 1991 else 0.06)
    pin = format_pin(sex, birth, serial)
    fingers = _fingers(rng)
    worn_share = next(share for limit, share in WORN_SHARE_BY_AGE if age < limit)
    roll = rng.random()
    skin = "worn" if roll < worn_share else "dry" if roll < worn_share + DRY_SHARE else "normal"
    card = _card(rng, country.election_day, birth, sex, pin, card_number, name)
    return SyntheticVoter(
        personal_number=pin,
        list_number=i + 1,
        name=name,
        sex=sex,
        birth_date=birth,
        age=age,
        station=station.number,
        settlement=station.settlement,
        address=_address(rng, station),
        fingers=fingers,
        skin=skin,
        face_seed=int(rng.integers(0, 2**62)),
        id_card=card,
    )


def _fingers(rng: np.random.Generator) -> tuple[EnrolledFinger, ...]:
    roll = rng.random()
    if roll < ONE_FINGER_SHARE:
        positions: tuple[int, ...] = (int(rng.choice([RIGHT_INDEX, LEFT_INDEX, RIGHT_THUMB])),)
    elif roll < ONE_FINGER_SHARE + OTHER_FINGERS_SHARE:
        positions = (RIGHT_THUMB, LEFT_THUMB) if rng.random() < 0.5 else (RIGHT_MIDDLE, LEFT_MIDDLE)
    else:
        positions = (RIGHT_INDEX, LEFT_INDEX)
    return tuple(EnrolledFinger(p, int(rng.integers(0, 2**62))) for p in positions)


def _address(rng: np.random.Generator, station: PollingStation) -> str:
    street = STREETS[int(rng.integers(len(STREETS)))]
    house = int(rng.integers(1, 150))
    place = station.settlement
    prefix = place if station.oblast == place else f"{station.oblast}, {place}"
    if place.startswith("г.") and rng.random() < 0.55:
        return f"{prefix}, {street}, д. {house}, кв. {int(rng.integers(1, 120))}"
    return f"{prefix}, {street}, д. {house}"


def _card(
    rng: np.random.Generator, election_day: date, birth: date, sex: str, pin: str, number: int, name: FullName
) -> IdCard:
    earliest = max(FIRST_CARD_ISSUE, _add_years(birth, 16))
    latest = election_day - timedelta(days=1)
    issued = earliest + timedelta(days=int(rng.integers(0, max(1, (latest - earliest).days))))
    expires = _add_years(issued, CARD_VALIDITY_YEARS) - timedelta(days=1)
    document = f"ID{number:07d}"
    # The MRZ names the holder by surname and given name; the patronymic is printed in the visual zone only (our
    # reading of Kyrgyz specimen cards; ICAO 9303-3 leaves it to the issuer).
    mrz = build_td1(document, birth, sex, expires, name.surname, name.given_name, optional_data_1=pin)
    return IdCard(document, issued, expires, pin, mrz)


def _add_years(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)
