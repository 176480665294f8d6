"""Synthetic population: MRZ check digits against ICAO's published specimens, personal-number structure and national
uniqueness, age and sex distributions, station layout, determinism and streaming."""

from __future__ import annotations

import re
import types
from collections import Counter
from datetime import date
from functools import lru_cache

import numpy as np
import pytest

from simulation.population import (
    Country,
    PopulationError,
    SyntheticVoter,
    build_td1,
    check_digit,
    format_pin,
    generate_country,
    parse_pin,
    station_voters,
    verify_td1,
)
from simulation.population.demography import age_on, band_shares, female_share
from simulation.population.geography import OBLASTS
from simulation.population.mrz import transliterate
from simulation.population.voters import identity_keys

#: ICAO Doc 9303 part 5, the TD1 specimen (fictitious state Utopia).
ICAO_TD1 = (
    "I<UTOD231458907<<<<<<<<<<<<<<<",
    "7408122F1204159UTO<<<<<<<<<<<6",
    "ERIKSSON<<ANNA<MARIA<<<<<<<<<<",
)


@lru_cache(maxsize=4)
def country(seed: int = 1, stations: int = 2492) -> Country:
    return generate_country(seed, stations)


@lru_cache(maxsize=32)
def voters(number: str, seed: int = 1) -> tuple[SyntheticVoter, ...]:
    return tuple(station_voters(country(seed), number))


def sample_voters() -> list[SyntheticVoter]:
    """Voters of ten stations spread over the oblasts (about 17,000 people)."""
    stations = country().stations[::250]
    return [v for s in stations for v in voters(s.number)]


# --- MRZ ---------------------------------------------------------------------------------------------------------


def test_check_digits_of_icao_specimens() -> None:
    # ICAO 9303 part 3/4 TD3 specimen: document L898902C3 -> 6, birth 740812 -> 2, expiry 120415 -> 9; part 5 TD1.
    assert check_digit("L898902C3") == "6"
    assert check_digit("740812") == "2"
    assert check_digit("120415") == "9"
    assert check_digit("D23145890") == "7"
    assert check_digit("<<<<") == "0"


def test_build_td1_reproduces_the_icao_specimen() -> None:
    mrz = build_td1(
        "D23145890",
        date(1974, 8, 12),
        "F",
        date(2012, 4, 15),
        "Eriksson",
        "Anna Maria",
        document_code="I",
        issuing_state="UTO",
        nationality="UTO",
    )
    assert mrz.lines == ICAO_TD1
    verify_td1(ICAO_TD1)


@pytest.mark.parametrize(("line", "column"), [(0, 14), (1, 6), (1, 14), (1, 29), (0, 20), (1, 3)])
def test_a_changed_character_breaks_a_check_digit(line: int, column: int) -> None:
    lines = list(ICAO_TD1)
    old = lines[line][column]
    new = "1" if old != "1" else "2"
    lines[line] = lines[line][:column] + new + lines[line][column + 1 :]
    with pytest.raises(PopulationError, match="check digit"):
        verify_td1(lines)


def test_transliteration_of_kyrgyz_and_russian_names() -> None:
    assert transliterate("Жээнбеков") == "ZHEENBEKOV"
    assert transliterate("Чыңгыз") == "CHYNGYZ"
    assert transliterate("Үсөн") == "USON"
    assert transliterate("Фёдорова-Щукина") == "FEDOROVA<SHCHUKINA"
    assert transliterate("Бакыт уулу") == "BAKYT<UULU"
    with pytest.raises(PopulationError):
        transliterate("Ŝ")


def test_every_card_of_a_station_has_a_valid_kyrgyz_td1_mrz() -> None:
    station = country().stations[10]
    numbers = set()
    for v in voters(station.number):
        card = v.id_card
        lines = card.mrz.lines
        verify_td1(lines)
        assert lines[0][:5] == "IDKGZ" and lines[1][15:18] == "KGZ"
        assert re.fullmatch(r"ID\d{7}", card.document_number) and lines[0][5:14] == card.document_number
        assert lines[0][15:29] == v.personal_number == card.personal_number
        assert lines[1][7] == v.sex and lines[1][0:6] == f"{v.birth_date:%y%m%d}"
        assert card.issue_date < country().election_day < card.expiry_date
        assert lines[2].startswith(transliterate(v.name.surname) + "<<")
        numbers.add(card.document_number)
    assert len(numbers) == station.voters


# --- personal numbers --------------------------------------------------------------------------------------------


def test_pin_structure_round_trips() -> None:
    pin = format_pin("F", date(1990, 3, 7), 42)
    assert pin == "10703199000042"
    parsed = parse_pin(pin)
    assert (parsed.sex, parsed.birth_date, parsed.serial) == ("F", date(1990, 3, 7), 42)
    assert str(parsed) == pin
    assert parse_pin("22912200099999").sex == "M"


@pytest.mark.parametrize(
    "bad", ["30703199000042", "1070319900004", "10703199000042x", "13104199000042", "12902199100001"]
)
def test_malformed_pins_are_refused(bad: str) -> None:
    with pytest.raises(PopulationError):
        parse_pin(bad)


def test_voter_pins_carry_their_sex_and_birth_date() -> None:
    for v in voters(country().stations[400].number):
        parsed = parse_pin(v.personal_number)
        assert parsed.sex == v.sex and parsed.birth_date == v.birth_date


def test_pins_are_unique_across_a_whole_country() -> None:
    small = country(7, 600)
    ordinals = np.arange(small.total_voters, dtype=np.int64)
    female, offsets, serials = identity_keys(small, ordinals, np.random.default_rng(3).random(len(ordinals)))
    keys = (female.astype(np.int64) * 100_000 + offsets) * 100_000 + serials
    assert small.total_voters > 900_000
    assert len(np.unique(keys)) == len(keys)


def test_pins_and_cards_are_unique_between_stations() -> None:
    pins = [v.personal_number for v in sample_voters()]
    cards = [v.id_card.document_number for v in sample_voters()]
    assert len(set(pins)) == len(pins) and len(set(cards)) == len(cards)


# --- distributions -----------------------------------------------------------------------------------------------


def test_sex_and_age_follow_the_census_shares() -> None:
    people = sample_voters()
    election = country().election_day
    ages = np.array([age_on(v.birth_date, election) for v in people])
    assert ages.min() >= 18 and ages.max() <= 100
    assert all(v.age == a for v, a in zip(people, ages, strict=True))
    women = np.mean([v.sex == "F" for v in people])
    assert women == pytest.approx(female_share(), abs=0.015)
    for band, share in band_shares().items():
        lo, hi = (int(x) for x in band.split("-"))
        observed = float(np.mean((ages >= lo) & (ages <= hi)))
        assert observed == pytest.approx(share, abs=max(0.01, 0.15 * share)), band
    old = [v for v in people if v.age >= 75]
    assert np.mean([v.sex == "F" for v in old]) > 0.58


def test_names_are_cyrillic_and_agree_with_sex() -> None:
    people = sample_voters()
    cyrillic = re.compile(r"^[А-Яа-яЁёҢңӨөҮү -]+$")
    forms: Counter[str] = Counter()
    for v in people:
        assert cyrillic.match(v.name.surname) and cyrillic.match(v.name.given_name), v.name
        if v.name.surname.endswith(("уулу", "кызы")):
            assert v.name.surname.endswith("кызы" if v.sex == "F" else "уулу")
            assert v.name.patronymic == ""
            forms["traditional"] += 1
        else:
            assert v.name.patronymic.endswith("вна" if v.sex == "F" else "вич"), v.name
            if v.sex == "F" and not v.name.surname.endswith("ко"):
                assert v.name.surname.endswith("а"), v.name
            forms["surname"] += 1
    assert 0.05 < forms["traditional"] / len(people) < 0.35


def test_russian_names_are_commoner_in_the_north() -> None:
    def people(code: str) -> list[SyntheticVoter]:
        stations = [s for s in country().stations if s.oblast_code == code][:3]
        return [v for s in stations for v in voters(s.number)]

    russian_given = {
        "Александр",
        "Сергей",
        "Андрей",
        "Дмитрий",
        "Елена",
        "Ольга",
        "Татьяна",
        "Наталья",
        "Ирина",
    }
    in_chuy = np.mean([v.name.given_name in russian_given for v in people("chuy")])
    in_osh = np.mean([v.name.given_name in russian_given for v in people("osh")])
    assert in_chuy > 0.03
    assert in_chuy > 3 * in_osh


# --- stations ----------------------------------------------------------------------------------------------------


def test_station_layout_has_real_shape() -> None:
    c = country()
    assert len(c.stations) == 2492
    sizes = np.array([s.voters for s in c.stations])
    assert sizes.min() >= 1000 and sizes.max() <= 3000
    assert sizes.mean() == pytest.approx(1723, abs=60)
    assert c.total_voters == pytest.approx(4_294_243, rel=0.05)
    numbers = [s.number for s in c.stations]
    assert len(set(numbers)) == len(numbers) and all(re.fullmatch(r"[1-9]\d{3}", n) for n in numbers)
    total_share = sum(o.voter_share for o in OBLASTS)
    for oblast in OBLASTS:
        mine = [s for s in c.stations if s.oblast_code == oblast.code]
        assert {s.number[0] for s in mine} == {str(oblast.station_prefix)}
        assert {s.district for s in mine} == {d.name for d in oblast.districts}
        share = sum(s.voters for s in mine) / c.total_voters
        assert share == pytest.approx(oblast.voter_share / total_share, abs=0.01), oblast.name
    assert c.station("3001").oblast == "Иссык-Кульская область"
    assert c.stations[-1].first_ordinal + c.stations[-1].voters == c.total_voters


def test_same_seed_same_country_and_voters_other_seed_differs() -> None:
    a, b = generate_country(5, 300), generate_country(5, 300)
    assert a.stations == b.stations
    first = [v.list_row() for v in station_voters(a, a.stations[3])]
    again = [v.list_row() for v in station_voters(b, b.stations[3])]
    assert first == again
    other = generate_country(6, 300)
    assert [v.list_row() for v in station_voters(other, other.stations[3])] != first


def test_voters_are_streamed_one_at_a_time() -> None:
    c = country()
    stream = station_voters(c, c.stations[0])
    assert isinstance(stream, types.GeneratorType)
    first = next(stream)
    assert first.list_number == 1 and first.station == c.stations[0].number


def test_station_voters_are_complete_rows_for_the_kit_list() -> None:
    station = country().stations[2000]
    people = voters(station.number)
    assert len(people) == station.voters
    assert [v.list_number for v in people] == list(range(1, station.voters + 1))
    row = people[0].list_row()
    assert set(row) >= {
        "personal_number",
        "list_number",
        "surname",
        "given_name",
        "patronymic",
        "sex",
        "birth_date",
    }
    assert all(station.settlement in v.address for v in people)


def test_enrolled_fingers_and_skin() -> None:
    people = sample_voters()
    two_index = np.mean([tuple(f.position for f in v.fingers) == (2, 7) for v in people])
    assert 0.97 < two_index < 1.0
    seeds = [f.seed for v in people for f in v.fingers]
    assert len(set(seeds)) == len(seeds)
    old = [v.skin for v in people if v.age >= 60]
    young = [v.skin for v in people if v.age < 40]
    assert old.count("worn") / len(old) > 2 * young.count("worn") / len(young)


def test_an_enrolled_finger_draws_its_master_on_demand() -> None:
    finger = voters(country().stations[0].number)[0].fingers[0]
    assert finger.master().seed == finger.seed


def test_a_worn_voter_prints_worn_impressions() -> None:
    worn = next(v for v in sample_voters() if v.skin == "worn")
    impression = worn.impression(worn.fingers[0].position, 0)
    assert impression.condition.value == "worn" and impression.finger_seed == worn.fingers[0].seed
    with pytest.raises(PopulationError, match="no enrolled finger"):
        worn.impression(10, 0)


def test_face_placeholder_is_deterministic_and_personal() -> None:
    a, b = voters(country().stations[0].number)[:2]
    assert a.face().shape == (128, 96, 3) and a.face().dtype == np.uint8
    assert np.array_equal(a.face(), a.face())
    assert not np.array_equal(a.face(), b.face())
    assert a.face_png().startswith(b"\x89PNG\r\n\x1a\n")


@pytest.mark.parametrize(
    "call",
    [
        lambda: generate_country(-1),
        lambda: generate_country(1, stations=20),
        lambda: station_voters(country(), "0000"),
        lambda: format_pin("X", date(2000, 1, 1), 1),
        lambda: format_pin("F", date(2000, 1, 1), 100_000),
    ],
)
def test_bad_arguments_raise_population_error(call: object) -> None:
    with pytest.raises(PopulationError):
        call()  # type: ignore[operator]


def test_card_holder_records_personalise_the_card_emulator_with_the_same_mrz() -> None:
    """Cross-check with the card emulator's own MRZ builder: both must print the same three lines."""
    personalisation = pytest.importorskip("emulators.card.personalisation")
    checked = 0
    for v in voters(country().stations[5].number)[:300]:
        fields = v.card_holder()
        if len(f"{fields['surname']}<<{fields['given_names']}") > 30:
            continue  # the emulator refuses names it would have to truncate; ours truncates as ICAO 9303-3 allows
        holder = personalisation.CardHolder(**fields)
        assert holder.mrz().split("\n") == list(v.id_card.mrz.lines)
        checked += 1
    assert checked > 250
