"""``shailoo sim population`` and ``shailoo sim fingerprints`` through the real command line and the real readers:
the kit's voter-list loader and the evaluation's database reader."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from evaluation.database import protocol, samples
from evaluation.images import read_grey
from shailoo.cli import main
from simulation.population import verify_td1
from station.voter_list import parse_csv


def test_station_list_loads_in_the_kit_and_cards_carry_valid_mrz(tmp_path: Path) -> None:
    out, cards = tmp_path / "list.csv", tmp_path / "cards.jsonl"
    assert (
        main(
            [
                "sim",
                "population",
                "--stations",
                "300",
                "--station",
                "7001",
                "--out",
                str(out),
                "--cards",
                str(cards),
            ]
        )
        == 0
    )
    voters = parse_csv(out)
    records = [json.loads(line) for line in cards.read_text(encoding="utf-8").splitlines()]
    assert len(voters) == len(records) >= 1000
    for voter, record in zip(voters, records, strict=True):
        assert voter.personal_number == record["personal_number"] == record["mrz"][0][15:29]
        verify_td1(record["mrz"])


def test_population_command_refuses_to_overwrite(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "list.csv"
    out.write_text("keep me", encoding="utf-8")
    assert main(["sim", "population", "--station", "1001", "--out", str(out)]) == 2
    assert out.read_text(encoding="utf-8") == "keep me"
    assert "exists" in capsys.readouterr().out


def test_unknown_station_is_a_clear_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sim", "population", "--station", "0999"]) == 2
    assert "no polling station '0999'" in capsys.readouterr().out


def test_summary_lists_every_oblast(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sim", "population"]) == 0
    text = capsys.readouterr().out
    assert "Чуйская область" in text and "г. Бишкек" in text and "2492" in text


def test_fingerprints_command_writes_a_database_evaluation_reads(tmp_path: Path) -> None:
    folder = tmp_path / "db"
    assert main(["sim", "fingerprints", "--out", str(folder), "--fingers", "2", "--impressions", "2"]) == 0
    items = samples(folder)
    assert [(s.finger, s.impression) for s in items] == [("1", 1), ("1", 2), ("2", 1), ("2", 2)]
    assert len(protocol(items).genuine) == 2
    assert read_grey(items[0].path).shape == (480, 400)
    # A second run into the same folder would overwrite: refused.
    assert main(["sim", "fingerprints", "--out", str(folder), "--fingers", "1", "--impressions", "1"]) == 2
