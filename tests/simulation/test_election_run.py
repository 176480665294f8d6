"""One small election day end to end: light kits over CURVE to a real `shailoo server run` process on SQLite."""

from __future__ import annotations

import json
from pathlib import Path

from shailoo.cli import main
from simulation.election.turnout import DAY_SECONDS


def test_small_day_every_identification_counted_and_faults_flagged(tmp_path: Path) -> None:
    out = tmp_path / "day.json"
    # Six stations (the default fault file names positions 0..5), the day plus the late stuffing in ~15 s.
    code = main(["sim", "election", "--stations", "6", "--voters-per-station", "150",
                 "--speed", str((DAY_SECONDS + 3600) / 15), "--var", str(tmp_path), "--json", str(out),
                 "--drain", "60"])
    result = json.loads(out.read_text())
    assert code == 0
    assert result["sent"] > 300
    assert result["ingested"] == result["sent"] and result["difference"] == 0 and result["unacknowledged"] == 0
    assert result["not_identified_silent_stations"] > 0
    # Every injected fault is flagged by the server's own detectors, and nothing else is.
    assert result["injected_total"] == 5
    assert [i for i in result["injected"] if not i["flagged"]] == []
    assert result["flagged_unexpected"] == []
    # The kit that was offline 10:00-13:00 reconnected and delivered everything, in sequence order.
    offline = result["offline_kits"][0]
    assert offline["reconnections"] == 1
    assert offline["acknowledged"] == offline["committed"] > 0
    assert offline["acknowledged_out_of_order"] == 0
    # The server's hourly counts follow the plan's local hours (Bishkek time), stuffing after 20:00 included.
    hours = {h["hour"]: h["identified"] for h in result["by_hour"]}
    assert min(h for h, n in hours.items() if n) >= 7 and hours.get(20, 0) >= 300
    assert sum(hours.values()) == result["ingested"]


def test_kits_split_over_two_worker_processes_lose_nothing(tmp_path: Path) -> None:
    """The full-size day needs several kit processes (open-file limit); the split must not change the count."""
    out = tmp_path / "day.json"
    code = main(["sim", "election", "--stations", "8", "--voters-per-station", "120", "--workers", "2",
                 "--speed", str((DAY_SECONDS + 3600) / 12), "--var", str(tmp_path), "--json", str(out),
                 "--drain", "60"])
    result = json.loads(out.read_text())
    assert code == 0
    assert result["worker_processes"] == 2 and sum(result["kits_per_worker"]) == result["kits"]
    assert min(result["kits_per_worker"]) >= 1
    assert result["sent"] > 300 and result["difference"] == 0 and result["unacknowledged"] == 0
    assert result["kit_workers_cpu_s"] > 0
    assert [i for i in result["injected"] if not i["flagged"]] == []


def test_worker_split_follows_the_open_file_limit() -> None:
    from simulation.election.workers import FDS_PER_KIT, FDS_RESERVE, split_kits, workers_needed

    # 5,045 kits (the full country) cannot share one process under a hard limit of 20,000 files.
    assert workers_needed(5045, 20_000) == 2
    assert workers_needed(100, 20_000) == 1
    per = (20_000 - FDS_RESERVE) // FDS_PER_KIT
    assert workers_needed(per, 20_000) == 1 and workers_needed(per + 1, 20_000) == 2
    ranges = split_kits(5045, 2)
    assert [len(r) for r in ranges] in ([2522, 2523], [2523, 2522])
    assert ranges[0].start == 0 and ranges[-1].stop == 5045 and ranges[0].stop == ranges[1].start
