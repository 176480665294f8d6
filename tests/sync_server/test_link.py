"""The link end to end over real CURVE sockets on 127.0.0.1, on SQLite and PostgreSQL: exact totals through
reordering, duplicates and outages; forged, replayed, malformed, oversized, revoked and training traffic refused
and logged while other kits carry on."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace

import pytest
import zmq
from sqlalchemy import func, select

from link.keys import KeyPair, KitKeys, apply_client_keys
from link.messages import Heartbeat, decode, encode
from link.sender import OutboxSender
from sync_server.in_process import InProcessServer
from sync_server.models import Identification, Kit, Rejection
from sync_server.services.registry import revoke_kit
from sync_server.services.turnout import turnout_by_station
from sync_server.testing.kits import MemoryOutbox, event_bytes, make_event


def _wait(condition: Callable[[], bool], timeout_s: float = 15.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError("condition not reached in time")


def _pump(senders: list[OutboxSender], until: Callable[[], bool], timeout_s: float = 20.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        for sender in senders:
            sender.run_once(0.01)
        if until():
            return
    raise AssertionError("kits did not deliver in time")


def _count(cec: InProcessServer, *where: object) -> int:
    with cec.sessions() as session:
        return int(session.scalar(select(func.count()).select_from(Identification).where(*where)) or 0)  # type: ignore[arg-type]


def _rejections(cec: InProcessServer) -> list[tuple[str, str]]:
    with cec.sessions() as session:
        return [(r.kind, r.peer) for r in session.scalars(select(Rejection).order_by(Rejection.id))]


def _raw_socket(ctx: zmq.Context[zmq.Socket[bytes]], endpoint: str, keys: KitKeys) -> zmq.Socket[bytes]:
    sock = ctx.socket(zmq.DEALER)
    sock.setsockopt(zmq.LINGER, 0)
    apply_client_keys(sock, keys)
    sock.connect(endpoint)
    return sock


def _acks(sock: zmq.Socket[bytes], expected: int, timeout_s: float = 10.0) -> list[int]:
    seqs: list[int] = []
    deadline = time.monotonic() + timeout_s
    while len(seqs) < expected and time.monotonic() < deadline:
        if sock.poll(100):
            message = decode(sock.recv())
            seqs.append(message.seq)  # type: ignore[union-attr]
    return seqs


def test_kits_deliver_with_exact_totals_and_heartbeats(cec: InProcessServer) -> None:
    kits = [cec.provision(station, "1") for station in ("1001", "3002", "5003")]
    outboxes = [MemoryOutbox() for _ in kits]
    ctx: zmq.Context[zmq.Socket[bytes]] = zmq.Context()
    senders = [OutboxSender(o, cec.endpoint, k, context=ctx, health=lambda: {"scanner": "ready", "printer": "not_ready"})
               for o, k in zip(outboxes, kits, strict=True)]
    for outbox, keys in zip(outboxes, kits, strict=True):
        for seq in range(1, 41):
            outbox.add(event_bytes(make_event(keys.station_id, keys.kit_id, seq)))
    _pump(senders, lambda: all(len(o) == 0 for o in outboxes))
    assert turnout_by_station(cec.sessions())["total"] == 120
    assert [sorted(o.delivered) for o in outboxes] == [list(range(1, 41))] * 3
    with cec.sessions() as session:
        kit = session.scalar(select(Kit).where(Kit.station_id == "1001"))
        assert kit is not None and kit.last_seen_at is not None
        assert '"printer": "not_ready"' in kit.devices_json
    for sender in senders:
        sender.close()
    ctx.term()


def test_reordered_and_duplicated_messages_count_once(cec: InProcessServer) -> None:
    keys = cec.provision("2004", "1")
    ctx: zmq.Context[zmq.Socket[bytes]] = zmq.Context()
    sock = _raw_socket(ctx, cec.endpoint, keys)
    events = {seq: event_bytes(make_event("2004", "1", seq)) for seq in range(1, 31)}
    order = list(reversed(range(1, 31))) + list(range(1, 31, 3)) + [7, 7, 7]
    for seq in order:
        sock.send(events[seq])
    acks = _acks(sock, len(order))
    assert sorted(set(acks)) == list(range(1, 31))  # every event acknowledged, resends acknowledged again
    assert _count(cec, Identification.station_id == "2004") == 30
    assert turnout_by_station(cec.sessions())["total"] == 30
    sock.close()
    ctx.term()


def test_unknown_key_is_refused_at_handshake(cec: InProcessServer) -> None:
    real = cec.provision("1001", "1")
    pair = KeyPair.generate()
    forged = replace(real, public=pair.public, secret=pair.secret)
    ctx: zmq.Context[zmq.Socket[bytes]] = zmq.Context()
    sock = _raw_socket(ctx, cec.endpoint, forged)
    sock.send(event_bytes(make_event("1001", "1", 1)))
    assert _acks(sock, 1, timeout_s=1.5) == []
    assert _count(cec) == 0
    _wait(lambda: ("unknown_key", "") in _rejections(cec))
    sock.close()
    ctx.term()


def test_message_naming_another_kit_is_forged_and_others_carry_on(cec: InProcessServer) -> None:
    honest = cec.provision("1001", "1")
    liar = cec.provision("1002", "1")
    ctx: zmq.Context[zmq.Socket[bytes]] = zmq.Context()
    honest_sock = _raw_socket(ctx, cec.endpoint, honest)
    liar_sock = _raw_socket(ctx, cec.endpoint, liar)
    liar_sock.send(event_bytes(make_event("1001", "1", 1, voter="f" * 64)))  # speaks as the honest kit
    for seq in range(1, 6):
        honest_sock.send(event_bytes(make_event("1001", "1", seq)))
    assert sorted(_acks(honest_sock, 5)) == [1, 2, 3, 4, 5]
    assert _acks(liar_sock, 1, timeout_s=0.5) == []
    assert _count(cec) == 5
    with cec.sessions() as session:
        stored = session.scalar(select(Identification.voter_ref).where(Identification.seq == 1))
    assert stored != "f" * 64
    _wait(lambda: ("forged", "1002/1") in _rejections(cec))
    honest_sock.close()
    liar_sock.close()
    ctx.term()


def test_replay_with_other_content_is_refused_and_original_kept(cec: InProcessServer) -> None:
    keys = cec.provision("3001", "1")
    ctx: zmq.Context[zmq.Socket[bytes]] = zmq.Context()
    sock = _raw_socket(ctx, cec.endpoint, keys)
    original = make_event("3001", "1", 1, path="biometric")
    sock.send(event_bytes(original))
    assert _acks(sock, 1) == [1]
    sock.send(event_bytes(replace(original, path="manual", voter_ref="e" * 64)))
    assert _acks(sock, 1, timeout_s=1.0) == []
    sock.send(event_bytes(original))  # a faithful resend is acknowledged again
    assert _acks(sock, 1) == [1]
    with cec.sessions() as session:
        rows = session.execute(select(Identification.path, Identification.voter_ref)).all()
    assert rows == [("biometric", original.voter_ref)]
    _wait(lambda: ("replayed", "3001/1") in _rejections(cec))
    sock.close()
    ctx.term()


def test_malformed_and_oversized_are_logged_without_disturbing_others(cec: InProcessServer) -> None:
    bad = cec.provision("4001", "1")
    good = cec.provision("4002", "1")
    ctx: zmq.Context[zmq.Socket[bytes]] = zmq.Context()
    bad_sock = _raw_socket(ctx, cec.endpoint, bad)
    good_sock = _raw_socket(ctx, cec.endpoint, good)
    bad_sock.send(b"not json at all")
    bad_sock.send(b'{"v": 99, "type": "identification"}')
    bad_sock.send(b"{" + b" " * 20_000 + b"}")  # above the message limit: read and refused
    bad_sock.send(b"x" * 200_000)  # above the socket limit: libzmq drops the connection
    for seq in range(1, 11):
        good_sock.send(event_bytes(make_event("4002", "1", seq)))
    assert sorted(_acks(good_sock, 10)) == list(range(1, 11))
    _wait(lambda: sum(kind == "malformed" for kind, _ in _rejections(cec)) >= 3)
    assert _count(cec) == 10
    bad_sock.close()
    good_sock.close()
    ctx.term()


def test_revoked_kit_is_refused_on_open_and_new_connections(cec: InProcessServer) -> None:
    keys = cec.provision("5001", "1")
    ctx: zmq.Context[zmq.Socket[bytes]] = zmq.Context()
    sock = _raw_socket(ctx, cec.endpoint, keys)
    sock.send(event_bytes(make_event("5001", "1", 1)))
    assert _acks(sock, 1) == [1]
    with cec.sessions.begin() as session:
        revoke_kit(session, "5001", "1", "lost on the way to the station")
    time.sleep(2.5)  # the ingest reloads the registry every 2 s
    sock.send(event_bytes(make_event("5001", "1", 2)))
    assert _acks(sock, 1, timeout_s=1.0) == []
    fresh = _raw_socket(ctx, cec.endpoint, keys)
    fresh.send(event_bytes(make_event("5001", "1", 3)))
    assert _acks(fresh, 1, timeout_s=1.0) == []
    assert _count(cec) == 1
    _wait(lambda: ("revoked", "5001/1") in _rejections(cec))
    sock.close()
    fresh.close()
    ctx.term()


def test_training_keys_refused_in_real_election_accepted_in_training(db_url: str, tmp_path: object) -> None:
    from pathlib import Path

    for mode, expected in (("real", 0), ("training", 1)):
        server = InProcessServer(db_url, Path(str(tmp_path)) / "keys", election_mode=mode)
        server.start()
        try:
            station = "6001" if mode == "real" else "6002"
            keys = server.provision(station, "1", training=True)
            ctx: zmq.Context[zmq.Socket[bytes]] = zmq.Context()
            sock = _raw_socket(ctx, server.endpoint, keys)
            sock.send(event_bytes(make_event(station, "1", 1, training=True)))
            assert len(_acks(sock, 1, timeout_s=1.5)) == expected
            sock.close()
            ctx.term()
        finally:
            server.close()


def test_kit_partitioned_for_a_while_delivers_everything_in_order(cec: InProcessServer) -> None:
    keys = cec.provision("7001", "1")
    other = cec.provision("7002", "1")
    outbox, other_outbox = MemoryOutbox(), MemoryOutbox()
    ctx: zmq.Context[zmq.Socket[bytes]] = zmq.Context()
    sender = OutboxSender(outbox, cec.endpoint, keys, context=ctx)
    other_sender = OutboxSender(other_outbox, cec.endpoint, other, context=ctx)
    for seq in range(1, 11):
        outbox.add(event_bytes(make_event("7001", "1", seq)))
    _pump([sender], lambda: len(outbox) == 0)
    cec.stop()  # the CEC goes away (or the kit's network does): identifications go on being committed
    for seq in range(11, 301):
        outbox.add(event_bytes(make_event("7001", "1", seq)))
        if seq % 3 == 0:
            other_outbox.add(event_bytes(make_event("7002", "1", other_outbox.next_seq)))
    for _ in range(20):
        sender.run_once(0.05)
        other_sender.run_once(0.05)
    assert len(outbox) == 290
    cec.start()
    _pump([sender, other_sender], lambda: len(outbox) == 0 and len(other_outbox) == 0, timeout_s=40)
    assert _count(cec, Identification.station_id == "7001") == 300
    assert _count(cec, Identification.station_id == "7002") == 97
    with cec.sessions() as session:
        seqs = list(session.scalars(
            select(Identification.seq).where(Identification.station_id == "7001").order_by(Identification.id)
        ))
    assert seqs == sorted(seqs), "events were stored out of order"
    sender.close()
    other_sender.close()
    ctx.term()


def test_heartbeat_replay_does_not_roll_back_health(cec: InProcessServer) -> None:
    from datetime import UTC, datetime, timedelta

    keys = cec.provision("8001", "1")
    ctx: zmq.Context[zmq.Socket[bytes]] = zmq.Context()
    sock = _raw_socket(ctx, cec.endpoint, keys)
    now = datetime.now(UTC)
    sock.send(encode(Heartbeat("8001", "1", now, {"scanner": "ready"}, pending=3)))
    sock.send(encode(Heartbeat("8001", "1", now - timedelta(minutes=5), {"scanner": "error"}, pending=99)))

    def stored() -> tuple[str, int] | None:
        with cec.sessions() as session:
            kit = session.scalar(select(Kit).where(Kit.station_id == "8001"))
            return (kit.devices_json, kit.pending) if kit and kit.heartbeat_at else None

    _wait(lambda: stored() is not None)
    time.sleep(0.5)
    assert stored() == ('{"scanner": "ready"}', 3)
    sock.close()
    ctx.term()


@pytest.mark.parametrize("field", ["station_id", "kit_id"])
def test_heartbeat_naming_another_kit_is_refused(cec: InProcessServer, field: str) -> None:
    from datetime import UTC, datetime

    keys = cec.provision("9001", "1")
    ctx: zmq.Context[zmq.Socket[bytes]] = zmq.Context()
    sock = _raw_socket(ctx, cec.endpoint, keys)
    beat = Heartbeat("9001", "1", datetime.now(UTC), {"scanner": "ready"})
    forged = replace(beat, station_id="9") if field == "station_id" else replace(beat, kit_id="9")
    sock.send(encode(forged))
    _wait(lambda: ("forged", "9001/1") in _rejections(cec))
    sock.close()
    ctx.term()
