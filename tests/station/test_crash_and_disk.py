"""Killing the kit at any moment loses no committed identification and duplicates none; a full disk is refused
cleanly and loses nothing."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from simulation.kit_model import demo_voters
from station.audit import verify_log
from station.errors import StoreError
from station.identify import FallbackReason, Outcome, identify_manual
from station.store import IdentificationRecord, KitStore, OutboxMessage
from station.voter_list import load_voters
from tests.conftest import REPO

VOTERS = 400


def _store_with_list(path: Path, voters: int) -> tuple[KitStore, list[str]]:
    store = KitStore(path)
    store.set_kit_info("e-2026", "3152", "1")
    people = demo_voters("3152", voters, seed=7)
    load_voters(store, people)
    return store, [v.personal_number for v in people]


@pytest.mark.slow
def test_sigkill_loop_loses_and_doubles_nothing(tmp_path: Path) -> None:
    db = tmp_path / "kit.db"
    store, _ = _store_with_list(db, VOTERS)
    store.close()
    reported: list[str] = []
    rng = random.Random(3)
    kills = 0
    deadline = time.monotonic() + 25
    finished = False
    while time.monotonic() < deadline and not finished:
        proc = subprocess.Popen(
            [sys.executable, "-m", "tests.station.kill_worker", str(db)],
            cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        )
        lines: list[str] = []
        first = threading.Event()

        def read(p: subprocess.Popen[str] = proc, out: list[str] = lines, ev: threading.Event = first) -> None:
            assert p.stdout is not None
            for line in p.stdout:
                out.append(line.strip())
                ev.set()

        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        first.wait(15)
        time.sleep(rng.uniform(0.0, 0.4))  # kill at a random moment while it is committing
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
            kills += 1
        proc.wait(10)
        reader.join(5)
        finished = "done" in lines
        reported += [line.split()[1] for line in lines if line.startswith("committed ")]
    assert kills >= 5, "the loop should have killed the kit several times"
    store = KitStore(db)
    with store.transaction() as session:
        marked = list(session.scalars(select(IdentificationRecord.personal_number)))
        outbox = session.scalar(select(func.count()).select_from(OutboxMessage))
        seqs = sorted(session.scalars(select(OutboxMessage.seq)))
    assert len(marked) == len(set(marked)), "a voter was marked twice"
    assert len(reported) == len(set(reported)), "the kit reported a voter committed twice"
    missing = set(reported) - set(marked)
    assert not missing, f"{len(missing)} identifications reported committed were lost"
    # At most one commit per kill can have landed after its line was lost with the process.
    assert len(marked) - len(reported) <= kills
    assert outbox == len(marked) and seqs == list(range(1, len(seqs) + 1))
    report = verify_log(store, store.signing_key().public_key())
    assert report.ok, report.problems


@pytest.fixture
def small_disk(tmp_path: Path):
    mount = tmp_path / "small"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=600k", "tmpfs", str(mount)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here ({done.stderr.decode().strip()}); run as root")
    yield mount
    subprocess.run(["umount", "-l", str(mount)], check=False)


def test_full_disk_refuses_new_identifications_cleanly(small_disk: Path) -> None:
    store, pins = _store_with_list(small_disk / "kit.db", 300)
    committed: list[str] = []
    error: StoreError | None = None
    # Fill the disk beside the store so the next commits cannot be written.
    filler = small_disk / "filler"
    try:
        with filler.open("wb") as handle:
            while True:
                handle.write(b"\0" * 4096)
                handle.flush()
    except OSError:
        pass  # the disk is full now
    for pin in pins:
        try:
            result = identify_manual(store, pin, FallbackReason.INJURY, "op", "chair")
        except StoreError as exc:
            error = exc
            break
        assert result.outcome is Outcome.IDENTIFIED
        committed.append(pin)
    assert error is not None and "disk is full" in str(error)
    # Nothing committed is lost, nothing half-written: free space and the store carries on.
    filler.unlink()
    with store.transaction() as session:
        marked = set(session.scalars(select(IdentificationRecord.personal_number)))
    assert marked == set(committed)
    after = identify_manual(store, pins[len(committed)], FallbackReason.INJURY, "op", "chair")
    assert after.outcome is Outcome.IDENTIFIED
    assert verify_log(store, store.signing_key().public_key()).ok
    store.close()
