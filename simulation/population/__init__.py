"""A synthetic population of Kyrgyz voters: polling stations, voter lists, ID cards, enrolled fingers.

>>> country = generate_country(seed=1)                 # ~2,500 stations, built whole (small)
>>> for voter in station_voters(country, "1001"): ...  # one station's voters, streamed

Deterministic from the seed; nothing here reads or writes files.
"""

from simulation.population.errors import PopulationError
from simulation.population.mrz import Td1Mrz, build_td1, check_digit, verify_td1
from simulation.population.names import FullName
from simulation.population.pin import PersonalNumber, format_pin, parse_pin
from simulation.population.stations import Country, PollingStation, generate_country
from simulation.population.voters import EnrolledFinger, IdCard, SyntheticVoter, station_voters

__all__ = [
    "Country",
    "EnrolledFinger",
    "FullName",
    "IdCard",
    "PersonalNumber",
    "PollingStation",
    "PopulationError",
    "SyntheticVoter",
    "Td1Mrz",
    "build_td1",
    "check_digit",
    "format_pin",
    "generate_country",
    "parse_pin",
    "station_voters",
    "verify_td1",
]
