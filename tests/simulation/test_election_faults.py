"""The fault file parser: the default file loads, malformed files give errors that name the entry and field."""

from __future__ import annotations

from pathlib import Path

import pytest

from simulation.election import DEFAULT_FAULTS, FaultFileError, load_faults, parse_faults


def test_default_file_loads_every_kind() -> None:
    plan = load_faults(Path(DEFAULT_FAULTS))
    assert plan.offline[0].start_s == 3 * 3600 and plan.offline[0].end_s == 6 * 3600
    assert plan.silent[0].station == 5
    assert plan.stuffing[0].count == 300 and plan.stuffing[0].start_s == 13 * 3600 + 600
    assert plan.same_person[0].voter_station == 1


def test_station_by_number() -> None:
    plan = parse_faults('[[silent]]\nstation = "1001"\n')
    assert plan.silent[0].station == "1001"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[[offline]\nstation = 0", "not valid TOML"),
        ("[[holiday]]\nstation = 0\n", "unknown section"),
        ("[silent]\nstation = 0\n", "array of tables"),
        ("[[silent]]\nstaton = 0\n", "unknown field"),
        ("[[silent]]\n", "'station' is required"),
        ('[[silent]]\nstation = "12"\n', "four-digit"),
        ("[[silent]]\nstation = -1\n", "0 or more"),
        ('[[offline]]\nstation = 0\nfrom = "12:00"\nuntil = "11:00"\n', "'until' must be after"),
        ('[[offline]]\nstation = 0\nfrom = "9:00"\nuntil = "11:00"\n', '"HH:MM"'),
        ('[[offline]]\nstation = 0\nkit = 1\nfrom = "09:00"\nuntil = "11:00"\n', "quoted kit number"),
        ('[[stuffing]]\nstation = 0\nat = "20:10"\ncount = 0\ninterval_s = 4\n', "'count'"),
        ('[[stuffing]]\nstation = 0\nat = "20:10"\ncount = 10\ninterval_s = true\n', "'interval_s'"),
        ('[[same_person]]\nvoter_station = 1\nat_station = 1\nat = "15:00"\n', "must differ"),
    ],
)
def test_malformed_files_say_what_to_fix(text: str, message: str) -> None:
    with pytest.raises(FaultFileError, match=message) as info:
        parse_faults(text, "trainer.toml")
    assert "trainer.toml" in str(info.value)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(FaultFileError, match="cannot read"):
        load_faults(tmp_path / "absent.toml")
