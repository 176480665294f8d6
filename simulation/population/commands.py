"""``shailoo sim population``: the synthetic country's stations, or one station's voter list and ID cards."""

from __future__ import annotations

import argparse
import csv
import json
import sys
from pathlib import Path
from typing import Any


def add_command(subparsers: Any) -> None:
    """Register ``population`` under ``shailoo sim``."""
    parser = subparsers.add_parser(
        "population",
        help="synthetic voters: station summary, or one station's list (CSV) and ID cards (JSON lines)",
        description="Without --station: stations and voters per oblast. With --station: that station's voter list "
        "in the kit's development CSV format (plus address) and, with --cards, one JSON object per ID card (MRZ "
        "lines and fields) for the card emulator.",
    )
    parser.add_argument("--seed", type=int, default=1, help="seed of the synthetic country (default: %(default)s)")
    parser.add_argument("--stations", type=int, default=2492, help="number of stations (default: %(default)s)")
    parser.add_argument("--station", help="4-digit station number, e.g. 1001")
    parser.add_argument("--out", type=Path, help="CSV file for the station's list (default: standard output)")
    parser.add_argument("--cards", type=Path, help="JSON-lines file for the station's ID cards")
    parser.set_defaults(handler=_run)


def _run(args: argparse.Namespace) -> int:
    from simulation.population import PopulationError, generate_country, station_voters

    try:
        country = generate_country(args.seed, args.stations)
        if args.station is None:
            _summary(country)
            return 0
        for path in (args.out, args.cards):
            if path is not None and path.exists():
                print(f"error: {path} exists; give a new file name so nothing is overwritten")
                return 2
        voters = station_voters(country, args.station)
        out = args.out.open("w", encoding="utf-8", newline="") if args.out else sys.stdout
        cards = args.cards.open("w", encoding="utf-8") if args.cards else None
        try:
            writer: csv.DictWriter[str] | None = None
            for voter in voters:
                row = voter.list_row()
                if writer is None:
                    writer = csv.DictWriter(out, fieldnames=list(row))
                    writer.writeheader()
                writer.writerow(row)
                if cards is not None:
                    cards.write(json.dumps(_card_record(voter), ensure_ascii=False) + "\n")
        finally:
            if args.out:
                out.close()
            if cards is not None:
                cards.close()
    except PopulationError as error:
        print(f"error: {error}")
        return 2
    return 0


def _card_record(voter: Any) -> dict[str, Any]:
    card = voter.id_card
    mrz = card.mrz
    return {
        "personal_number": card.personal_number,
        "document_number": card.document_number,
        "issue_date": card.issue_date.isoformat(),
        "expiry_date": card.expiry_date.isoformat(),
        "birth_date": mrz.birth_date.isoformat(),
        "sex": mrz.sex,
        "surname": voter.name.surname,
        "given_name": voter.name.given_name,
        "patronymic": voter.name.patronymic,
        "mrz": list(mrz.lines),
        "face_seed": voter.face_seed,
        "fingers": [{"position": f.position, "seed": f.seed} for f in voter.fingers],
    }


def _summary(country: Any) -> None:
    by_oblast: dict[str, list[int]] = {}
    for station in country.stations:
        entry = by_oblast.setdefault(station.oblast, [0, 0, 9999, 0])
        entry[0] += 1
        entry[1] += station.voters
        entry[2] = min(entry[2], int(station.number))
        entry[3] = max(entry[3], int(station.number))
    print(f"{'oblast':<26} {'stations':>8} {'voters':>10} {'numbers':>11}")
    for name, (count, voters, low, high) in by_oblast.items():
        print(f"{name:<26} {count:>8} {voters:>10,} {low:>5}-{high:<5}")
    print(f"{'total':<26} {len(country.stations):>8} {country.total_voters:>10,}")
