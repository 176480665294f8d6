"""A synthetic administrative structure for demos, tests and benchmarks (names of the real regions, invented
districts, commissions and stations). Station ids are four digits, the first one the region's code."""

from __future__ import annotations

import random

from sync_server.services.registry import StationRow

#: (code, region): the 7 oblasts and the 2 cities of republican significance. Codes are this project's own.
REGIONS: tuple[tuple[int, str], ...] = (
    (1, "Bishkek"), (2, "Chuy"), (3, "Issyk-Kul"), (4, "Naryn"), (5, "Talas"),
    (6, "Jalal-Abad"), (7, "Osh oblast"), (8, "Batken"), (9, "Osh"),
)
#: Districts per region in the synthetic structure.
DISTRICTS_PER_REGION = 4


def sample_registry(stations_per_region: int, seed: int = 2026) -> list[StationRow]:
    """``stations_per_region`` stations (at most 999) in each of the 9 regions, numbered ``R001``.. ``R999``."""
    if not 1 <= stations_per_region <= 999:
        raise ValueError("stations_per_region must be 1..999")
    rng = random.Random(seed)
    rows = []
    for code, region in REGIONS:
        for i in range(1, stations_per_region + 1):
            district_no = (i - 1) % DISTRICTS_PER_REGION + 1
            district = f"{region} district {district_no}"
            station_id = f"{code}{i:03d}"
            rows.append(
                StationRow(
                    station_id=station_id,
                    name=f"School No. {i}",
                    address=f"{region}, street {rng.randint(1, 120)}, {rng.randint(1, 90)}",
                    oblast=region,
                    district=district,
                    commission_id=f"TEC{code}{district_no:02d}",
                    commission_name=f"Territorial commission of {district}",
                    registered_voters=rng.randint(600, 2600),
                )
            )
    return rows


def registry_csv(rows: list[StationRow]) -> str:
    """The rows as registry CSV (the import format)."""
    from sync_server.services.registry import REGISTRY_COLUMNS

    lines = [",".join(REGISTRY_COLUMNS)]
    for r in rows:
        lines.append(
            ",".join(
                f'"{v}"' if "," in str(v) else str(v)
                for v in (r.station_id, r.name, r.address, r.oblast, r.district, r.commission_id,
                          r.commission_name, r.registered_voters)
            )
        )
    return "\n".join(lines) + "\n"
