"""The ingest pipeline's parts on SQLite and PostgreSQL: set-based idempotent inserts (PostgreSQL through unnest()),
newest-heartbeat-wins in one batch, bulk provisioning, the kit-to-front assignment, and a real ``shailoo server run
--fronts 2`` (two front processes, one writer) delivering exact totals to kits spread over both fronts."""

from __future__ import annotations

import subprocess
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
import zmq
from sqlalchemy import select

from link.messages import Heartbeat
from link.sender import OutboxSender
from shailoo.ports import free_ports
from sync_server.db import make_engine, make_sessionmaker, migrate
from sync_server.errors import RegistryError
from sync_server.in_process import InProcessServer
from sync_server.keys import ensure_server_keys
from sync_server.models import Kit, TurnoutCounter
from sync_server.sample_registry import sample_registry
from sync_server.services import ingest as svc
from sync_server.services.registry import (
    front_endpoints,
    import_registry,
    kit_endpoint,
    kit_front,
    provision_kits,
)
from sync_server.testing.kits import MemoryOutbox, event_bytes, make_event
from tests.conftest import REPO, free_port, shailoo_command

MORNING = datetime(2026, 11, 29, 3, 0, tzinfo=UTC)  # 09:00 Bishkek time


@pytest.fixture
def store(db_url: str, tmp_path: Path) -> InProcessServer:
    return InProcessServer(db_url, tmp_path / "keys", stations_per_region=5)


def test_rows_are_stored_once_and_replays_with_other_content_refused(store: InProcessServer) -> None:
    first = [svc.event_row(make_event("1001", "1", seq, MORNING)) for seq in range(1, 6)]
    forged = svc.event_row(make_event("1001", "1", 3, MORNING, path="manual"))
    with store.sessions.begin() as session:
        # A batch holding a resend of its own row (same content) and a replay with other content of another.
        assert svc.ingest_rows(session, [*first, first[0], forged]) == "nnnnndc"
    with store.sessions.begin() as session:  # the kit resends everything: acknowledged again, counted once
        assert svc.ingest_rows(session, [*first, svc.event_row(make_event("1001", "1", 6, MORNING))]) == "dddddn"
    with store.sessions() as session:
        counters = session.execute(select(TurnoutCounter.hour_local, TurnoutCounter.path, TurnoutCounter.count)).all()
    assert counters == [(9, "biometric", 6)]


def test_newest_heartbeat_in_a_batch_wins_and_older_ones_change_nothing(store: InProcessServer) -> None:
    store.provision("2001", "1")
    with store.sessions() as session:
        kit_row = session.scalar(select(Kit.id).where(Kit.station_id == "2001"))
    assert kit_row is not None
    now = datetime.now(UTC)
    beats = [Heartbeat("2001", "1", now - timedelta(seconds=20), {"scanner": "error"}, pending=9),
             Heartbeat("2001", "1", now, {"scanner": "ready"}, pending=1),
             Heartbeat("2001", "1", now - timedelta(seconds=10), {"scanner": "absent"}, pending=5)]
    with store.sessions.begin() as session:
        assert svc.record_heartbeats(session, [svc.heartbeat_row(kit_row, b) for b in beats]) == 1
    with store.sessions.begin() as session:  # a replayed older beat in a later batch
        assert svc.record_heartbeats(session, [svc.heartbeat_row(kit_row, beats[0])]) == 0
    with store.sessions() as session:
        kit = session.get(Kit, kit_row)
        assert kit is not None and (kit.devices_json, kit.pending) == ('{"scanner": "ready"}', 1)
        assert kit.last_seen_at is not None


def test_bulk_provisioning_checks_everything_first(store: InProcessServer) -> None:
    with store.sessions.begin() as session:
        keys = provision_kits(session, [("1001", "1"), ("1002", "1"), ("1002", "2")], store.keys.curve.public)
    assert len({k.public for k in keys}) == 3
    for bad, message in (([("1001", "1")], "already provisioned"), ([("9999", "1")], "not in the registry"),
                         ([("1003", "1"), ("1003", "1")], "twice"), ([("1003", "bad id")], "kit id")):
        with pytest.raises(RegistryError, match=message), store.sessions.begin() as session:
            provision_kits(session, bad, store.keys.curve.public)
    with store.sessions() as session:
        assert len(session.scalars(select(Kit)).all()) == 3


def test_kits_are_spread_over_fronts_stably() -> None:
    assert front_endpoints("tcp://127.0.0.1:5570", 3) == [f"tcp://127.0.0.1:{p}" for p in (5570, 5571, 5572)]
    assert front_endpoints("tcp://127.0.0.1:*", 1) == ["tcp://127.0.0.1:*"]
    with pytest.raises(RegistryError):
        front_endpoints("tcp://127.0.0.1:*", 2)
    spread = Counter(kit_front(f"{s:04d}", "1", 4) for s in range(2000))
    assert set(spread) == {0, 1, 2, 3} and min(spread.values()) > 400
    assert kit_endpoint("tcp://h:7000", 4, "1234", "2") == kit_endpoint("tcp://h:7000", 4, "1234", "2")


@pytest.mark.slow
def test_server_with_two_front_processes_counts_exactly(db_url: str, tmp_path: Path) -> None:
    keys_dir = tmp_path / "keys"
    server_keys = ensure_server_keys(keys_dir)
    engine = make_engine(db_url)
    migrate(engine)
    stations = [r.station_id for r in sample_registry(5)][:12]
    with make_sessionmaker(engine).begin() as session:
        import_registry(session, sample_registry(5))
        kits = provision_kits(session, [(s, "1") for s in stations], server_keys.curve.public)
    engine.dispose()
    http_port, zmq_port = free_port(), free_ports(2)
    base = f"tcp://127.0.0.1:{zmq_port}"
    assert {kit_front(k.station_id, k.kit_id, 2) for k in kits} == {0, 1}  # both fronts get kits
    log = (tmp_path / "server.log").open("wb")
    server = subprocess.Popen(
        shailoo_command("server", "run", "--db", db_url, "--keys", str(keys_dir), "--port", str(http_port),
                        "--zmq", base, "--fronts", "2"), cwd=REPO, stdout=log, stderr=subprocess.STDOUT)
    ctx: zmq.Context[zmq.Socket[bytes]] = zmq.Context()
    senders: list[OutboxSender] = []
    try:
        url = f"http://127.0.0.1:{http_port}"
        deadline = time.monotonic() + 180  # three Python processes start; a loaded 2-core machine is slow at it
        while True:
            assert server.poll() is None, (tmp_path / "server.log").read_text()[-2000:]
            try:
                if httpx.get(f"{url}/api/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "the server did not start"
            time.sleep(0.2)
        outboxes = []
        for keys in kits:
            outbox = MemoryOutbox()
            for seq in range(1, 21):
                outbox.add(event_bytes(make_event(keys.station_id, keys.kit_id, seq, MORNING)))
            outboxes.append(outbox)
            senders.append(OutboxSender(outbox, kit_endpoint(base, 2, keys.station_id, keys.kit_id), keys,
                                        context=ctx, health=lambda: {"scanner": "ready"}))
        deadline = time.monotonic() + 60
        while any(len(o) for o in outboxes) and time.monotonic() < deadline:
            for sender in senders:
                sender.run_once(0.01)
        assert [len(o) for o in outboxes] == [0] * len(kits)
        turnout = httpx.get(f"{url}/api/turnout", timeout=10).json()
        assert turnout["total"] == 20 * len(kits)
        health = httpx.get(f"{url}/api/health", timeout=10).json()["ingest"]
        assert health["ingested"] == 20 * len(kits) and set(health["fronts"]) == {"0", "1"}

        # A front process dies (SIGKILL): the server restarts it on the same port; its kits reconnect and resend.
        fronts = subprocess.run(["pgrep", "-P", str(server.pid), "-f", "spawn_main"], capture_output=True,
                                text=True).stdout.split()
        assert len(fronts) == 2
        subprocess.run(["kill", "-9", fronts[1]], check=True)
        for keys, outbox in zip(kits, outboxes, strict=True):
            for seq in range(21, 41):
                outbox.add(event_bytes(make_event(keys.station_id, keys.kit_id, seq, MORNING)))
        deadline = time.monotonic() + 120
        while any(len(o) for o in outboxes) and time.monotonic() < deadline:
            for sender in senders:
                sender.run_once(0.01)
        assert [len(o) for o in outboxes] == [0] * len(kits)
        assert httpx.get(f"{url}/api/turnout", timeout=10).json()["total"] == 40 * len(kits)
        assert "restarting it" in (tmp_path / "server.log").read_text()
    finally:
        for sender in senders:
            sender.close()
        ctx.term()
        server.terminate()
        server.wait(30)
        log.close()
    # SIGTERM stops the fronts with the server: no front process is left behind.
    leftovers = subprocess.run(["pgrep", "-f", f"{keys_dir}"], capture_output=True, text=True).stdout.split()
    assert leftovers == []
