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


def national_list(per_station: int = 5) -> list[ListVoter]:
    """Voters of station 3152 and 1001, each with a tiny photo and two opaque templates."""
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
                    templates={1: b"tpl1" + pin.encode(), 6: b"tpl6" + pin.encode()},
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
