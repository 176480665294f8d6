"""Fixtures of the kit's tests: a set-up store, a small national list, CEC keys."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from station.list_package import (
    ListVoter,
    build_package,
    generate_cec_keys,
    load_cec_signing_key,
    load_list_key,
)
from station.store import KitStore

ELECTION = "e-2026"
STATION = "3152"


def synthetic_template(seed: str) -> bytes:
    """A valid stored template of random minutiae (deterministic in ``seed``): fills galleries, matches nobody."""
    import random

    from fingerprint import Minutia, Template, dumps

    rng = random.Random(seed)
    minutiae = tuple(
        Minutia(rng.randrange(20, 280), rng.randrange(20, 380), rng.uniform(0, 6.28)) for _ in range(rng.randint(25, 40))
    )
    return dumps(Template(300, 400, minutiae))


def national_list(per_station: int = 5) -> list[ListVoter]:
    """Voters of station 3152 and 1001, each with a tiny photo and two synthetic templates (fingers 1 and 6)."""
    voters = []
    for s, station in enumerate((STATION, "1001")):
        for i in range(per_station):
            pin = f"2{s}{i:02d}0319801234{i % 10}"[:14]
            voters.append(
                ListVoter(
                    station_id=station,
                    personal_number=pin,
                    list_number=i + 1,
                    surname="Асанов" if i % 2 else "Үмөталиева",
                    given_name="Бакыт" if i % 2 else "Айгүл",
                    patronymic="",
                    sex="M" if i % 2 else "F",
                    birth_date=date(1980, 3, 12),
                    address=f"Каракол, Ленина {i}",
                    home_voting=i == 0,
                    photo=b"\x89PNG fake photo " + pin.encode(),
                    templates={1: synthetic_template(f"{pin}.1"), 6: synthetic_template(f"{pin}.6")},
                )
            )
    return voters


@pytest.fixture
def cec_keys(tmp_path: Path) -> dict[str, Path]:
    signing, public, list_key = generate_cec_keys(tmp_path / "cec")
    return {"signing": signing, "public": public, "list": list_key}


@pytest.fixture
def package(cec_keys: dict[str, Path]) -> bytes:
    return build_package(
        national_list(), ELECTION, STATION, load_cec_signing_key(cec_keys["signing"]), load_list_key(cec_keys["list"])
    )


@pytest.fixture
def kit(tmp_path: Path) -> KitStore:
    store = KitStore(tmp_path / "kit" / "kit.db")
    store.set_kit_info(ELECTION, STATION, "1")
    return store
