"""The kit's sender against a bare CURVE ROUTER on 127.0.0.1 standing in for the CEC: resend after silence with
backoff, no resend while acknowledgements flow (until an entry is stale), heartbeats."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
import zmq

from link import sender as sender_module
from link.keys import KeyPair, KitKeys
from link.messages import Ack, Heartbeat, IdentificationEvent, decode, encode
from link.sender import OutboxSender
from sync_server.testing.kits import MemoryOutbox, event_bytes, make_event


@pytest.fixture
def cec() -> Iterator[tuple[zmq.Socket[bytes], KitKeys, zmq.Context[zmq.Socket[bytes]], str]]:
    ctx: zmq.Context[zmq.Socket[bytes]] = zmq.Context()
    server, kit = KeyPair.generate(), KeyPair.generate()
    router = ctx.socket(zmq.ROUTER)
    router.curve_server = True
    router.curve_secretkey = server.secret.encode()
    router.setsockopt(zmq.LINGER, 0)
    router.bind_to_random_port("tcp://127.0.0.1")
    yield router, KitKeys("3152", "1", kit.public, kit.secret, server.public), ctx, server.secret
    ctx.destroy(linger=0)  # closes the sender's socket too when a test failed before closing it


def _endpoint(router: zmq.Socket[bytes]) -> str:
    return router.getsockopt_string(zmq.LAST_ENDPOINT)


def _receive(router: zmq.Socket[bytes], seconds: float, sender: OutboxSender) -> list[tuple[bytes, object]]:
    got: list[tuple[bytes, object]] = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        sender.run_once(0.01)
        while router.poll(0):
            identity, payload = router.recv_multipart()
            got.append((identity, decode(payload)))
    return got


def test_unanswered_entry_is_resent_when_stale_with_backoff(cec: tuple, monkeypatch: pytest.MonkeyPatch) -> None:
    router, keys, ctx, server_secret = cec
    monkeypatch.setattr(sender_module, "FIRST_RESEND_S", 0.2)
    monkeypatch.setattr(sender_module, "STALE_RESEND_S", 0.3)
    outbox = MemoryOutbox()
    outbox.add(event_bytes(make_event("3152", "1", 1)))
    sender = OutboxSender(outbox, _endpoint(router), keys, context=ctx)
    got = [m for _, m in _receive(router, 1.7, sender)]
    # sent at ~0, resent at ~0.3, ~0.7, ~1.5 (waits 0.3, 0.4, 0.8): 4 copies, not one per poll
    assert 3 <= len(got) <= 5 and all(isinstance(m, IdentificationEvent) and m.seq == 1 for m in got)
    assert sender.resent_total == len(got) - 1
    sender.close()


@pytest.mark.parametrize("stale_s", [60.0, 0.5])
def test_no_resend_while_a_slow_cec_acknowledges_in_order(
    cec: tuple, monkeypatch: pytest.MonkeyPatch, stale_s: float
) -> None:
    router, keys, ctx, server_secret = cec
    monkeypatch.setattr(sender_module, "FIRST_RESEND_S", 0.3)
    # Also with a backlog older than the stale limit: acknowledgements still flow, so nothing is stale.
    monkeypatch.setattr(sender_module, "STALE_RESEND_S", stale_s)
    outbox = MemoryOutbox()
    sender = OutboxSender(outbox, _endpoint(router), keys, context=ctx)
    # The CEC falls behind: it answers in order, ever later (up to 0.8 s after receipt, well past the 0.3 s timeout).
    queue: list[tuple[float, bytes, int]] = []
    started = time.monotonic()
    seq = 0
    while time.monotonic() - started < 2.5:
        seq += 1
        outbox.add(event_bytes(make_event("3152", "1", seq)))
        for identity, message in _receive(router, 0.05, sender):
            assert isinstance(message, IdentificationEvent)
            queue.append((time.monotonic() + min(0.8, 0.02 * message.seq), identity, message.seq))
        while queue and queue[0][0] <= time.monotonic():
            _, identity, acked = queue.pop(0)
            router.send_multipart([identity, encode(Ack("3152", "1", acked))])
    assert sender.delivered_total > 20
    assert sender.resent_total == 0, "resent entries the CEC was still working through"
    sender.close()


def test_entry_overtaken_by_acknowledged_ones_is_resent_at_its_timeout(
    cec: tuple, monkeypatch: pytest.MonkeyPatch
) -> None:
    router, keys, ctx, server_secret = cec
    monkeypatch.setattr(sender_module, "FIRST_RESEND_S", 0.2)
    outbox = MemoryOutbox()
    sender = OutboxSender(outbox, _endpoint(router), keys, context=ctx)
    outbox.add(event_bytes(make_event("3152", "1", 1)))
    copies_of_1 = 0
    started = time.monotonic()
    seq = 1
    while 1 not in outbox.delivered and time.monotonic() - started < 5:
        seq += 1
        outbox.add(event_bytes(make_event("3152", "1", seq)))
        for identity, message in _receive(router, 0.05, sender):
            assert isinstance(message, IdentificationEvent)
            if message.seq == 1:
                copies_of_1 += 1
                if copies_of_1 == 1:
                    continue  # lost, as if sent into a server that was then killed
            router.send_multipart([identity, encode(Ack("3152", "1", message.seq))])
    assert 1 in outbox.delivered and time.monotonic() - started < 1.5
    sender.close()


def test_heartbeats_carry_devices_and_outbox_size(cec: tuple) -> None:
    router, keys, ctx, server_secret = cec
    outbox = MemoryOutbox()
    for seq in range(1, 4):
        outbox.add(event_bytes(make_event("3152", "1", seq)))
    sender = OutboxSender(outbox, _endpoint(router), keys, context=ctx, health=lambda: {"scanner": "ready"},
                          heartbeat_s=0.3)
    beats = [m for _, m in _receive(router, 1.0, sender) if isinstance(m, Heartbeat)]
    assert len(beats) >= 2
    assert beats[0].devices == {"scanner": "ready"} and beats[0].pending == 3
    sender.close()


def test_entries_in_flight_are_resent_at_once_after_a_reconnect(cec: tuple) -> None:
    router, keys, ctx, server_secret = cec
    endpoint = _endpoint(router)
    outbox = MemoryOutbox()
    for seq in (1, 2):
        outbox.add(event_bytes(make_event("3152", "1", seq)))
    sender = OutboxSender(outbox, endpoint, keys, context=ctx)
    assert len(_receive(router, 0.5, sender)) == 2  # received, never acknowledged: then the CEC dies
    secret = server_secret.encode()
    router.close(0)
    time.sleep(0.3)
    reborn = ctx.socket(zmq.ROUTER)
    reborn.curve_server = True
    reborn.curve_secretkey = secret
    reborn.setsockopt(zmq.LINGER, 0)
    reborn.bind(endpoint)
    started = time.monotonic()
    got = [m for _, m in _receive(reborn, 1.5, sender)]
    assert sorted(m.seq for m in got if isinstance(m, IdentificationEvent)) == [1, 2]
    assert time.monotonic() - started < 2.0 and sender.resent_total == 2
    sender.close()


def test_acknowledgement_fast_path_accepts_only_this_kits_acks(
    cec: tuple[zmq.Socket[bytes], KitKeys, zmq.Context[zmq.Socket[bytes]], str],
) -> None:
    router, keys, ctx, _ = cec
    sender = OutboxSender(MemoryOutbox(), _endpoint(router), keys, context=ctx)
    parse = sender._parse_ack
    assert parse(encode(Ack("3152", "1", 42))) == 42
    assert parse(encode(Ack("3152", "1", 2**40))) == 2**40
    # Another kit's ack, another station's, a zero or padded sequence, trailing bytes, garbage: refused.
    for frame in (encode(Ack("3152", "2", 5)), encode(Ack("315", "1", 5)), b'{"v":1,"type":"ack","station_id":'
                  b'"3152","kit_id":"1","seq":0}', b'{"v":1,"type":"ack","station_id":"3152","kit_id":"1","seq":07}',
                  encode(Ack("3152", "1", 5)) + b"x", b"\xff\x00", b'{"v":1,"type":"ack"}'):
        assert parse(frame) is None
    # Same content written differently (spaces) goes through the full decoder and is accepted.
    assert parse(b'{"v": 1, "type": "ack", "station_id": "3152", "kit_id": "1", "seq": 9}') == 9
    sender.close()
