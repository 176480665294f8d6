"""Several kits of one station share the voted set over ZeroMQ on 127.0.0.1: refusal within a second, partition and
reconciliation without losing or doubling a mark, equal closing counters."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from station.counters import counters
from station.identify import FallbackReason, Outcome, identify_manual, lookup, undo
from station.list_package import load_cec_public, load_list_key, load_package
from station.peers import PeerNode
from station.store import KitStore
from tests.conftest import free_port
from tests.station.conftest import ELECTION, STATION, national_list

PINS = [v.personal_number for v in national_list() if v.station_id == STATION]


def _kit(tmp_path: Path, kit_id: str, package: bytes, keys: dict[str, Path]) -> KitStore:
    store = KitStore(tmp_path / f"kit{kit_id}.db")
    store.set_kit_info(ELECTION, STATION, kit_id)
    load_package(store, package, load_cec_public(keys["public"]), load_list_key(keys["list"]))
    return store


def _wait(condition: Callable[[], bool], timeout_s: float) -> float:
    started = time.monotonic()
    while time.monotonic() - started < timeout_s:
        if condition():
            return time.monotonic() - started
        time.sleep(0.02)
    raise AssertionError("condition not met in time")


@pytest.fixture
def pair(tmp_path: Path, package: bytes, cec_keys: dict[str, Path]):
    a, b = _kit(tmp_path, "1", package, cec_keys), _kit(tmp_path, "2", package, cec_keys)
    pa, pb = free_port(), free_port()
    ea, eb = f"tcp://127.0.0.1:{pa}", f"tcp://127.0.0.1:{pb}"
    nodes = {"a": PeerNode(a, ea, [eb]).start(), "b": PeerNode(b, eb, [ea]).start()}
    yield a, b, nodes, (ea, eb)
    for node in nodes.values():
        node.stop()


def test_voter_identified_at_kit_1_is_refused_at_kit_2_within_a_second(pair) -> None:
    a, b, nodes, _ = pair
    _wait(lambda: nodes["a"].connected_peers() == 1 and nodes["b"].connected_peers() == 1, 5)
    assert identify_manual(a, PINS[0], FallbackReason.INJURY, "op", "chair").outcome is Outcome.IDENTIFIED
    took = _wait(lambda: _refused(b, PINS[0]), 2)
    assert took < 1.0
    second = identify_manual(b, PINS[0], FallbackReason.INJURY, "op", "chair")
    assert second.outcome is Outcome.ALREADY_VOTED and second.earlier is not None
    assert second.earlier.kit_id == "1" and second.earlier.peer and "kit 1" in second.describe()


def _refused(store: KitStore, pin: str) -> bool:
    found = lookup(store, pin)
    return getattr(found, "outcome", None) is Outcome.ALREADY_VOTED


def test_partition_then_reconcile_loses_and_doubles_nothing(pair) -> None:
    a, b, nodes, (ea, eb) = pair
    _wait(lambda: nodes["a"].connected_peers() == 1, 5)
    nodes["b"].stop()  # kit 2 off the network
    _wait(lambda: nodes["a"].connected_peers() == 0, 5)
    identify_manual(a, PINS[0], FallbackReason.INJURY, "op", "chair")
    identify_manual(a, PINS[1], FallbackReason.INJURY, "op", "chair")
    identify_manual(b, PINS[2], FallbackReason.INJURY, "op", "chair")
    # The same voter at both kits during the partition (the Armenian pilot's failure): both records are kept.
    identify_manual(a, PINS[3], FallbackReason.INJURY, "op", "chair")
    identify_manual(b, PINS[3], FallbackReason.INJURY, "op", "chair")
    wrong = identify_manual(b, PINS[4], FallbackReason.INJURY, "op", "chair")
    assert wrong.record is not None
    undo(b, wrong.record.id, "chair", "wrong voter")
    nodes["b"] = PeerNode(b, eb, [ea]).start()
    _wait(lambda: counters(a).station_identified == counters(b).station_identified == 4, 5)
    ca, cb = counters(a), counters(b)
    assert ca.conflicts == cb.conflicts == 1
    assert ca.identified + cb.identified == 5  # 3 + 2 local marks; voter 3 twice, counted once station-wide
    # Restart both nodes again: nothing is applied twice.
    for key in ("a", "b"):
        nodes[key].stop()
    nodes["a"] = PeerNode(a, ea, [eb]).start()
    nodes["b"] = PeerNode(b, eb, [ea]).start()
    _wait(lambda: nodes["a"].connected_peers() == 1 and nodes["b"].connected_peers() == 1, 5)
    time.sleep(0.5)
    assert counters(a) == ca and counters(b) == cb


def test_two_kits_racing_for_the_same_voter(pair) -> None:
    import threading

    a, b, nodes, _ = pair
    _wait(lambda: nodes["a"].connected_peers() == 1, 5)
    results = {}

    def go(store: KitStore, key: str) -> None:
        results[key] = identify_manual(store, PINS[1], FallbackReason.INJURY, "op", "chair").outcome

    threads = [threading.Thread(target=go, args=(s, k)) for s, k in ((a, "a"), (b, "b"))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    _wait(lambda: counters(a).station_identified == counters(b).station_identified == 1, 3)
    # Either one kit refused (the other's mark arrived first) or both marked inside one poll interval: then the
    # conflict is flagged on both and the voter still counts once.
    if list(results.values()).count(Outcome.IDENTIFIED) == 2:
        _wait(lambda: counters(a).conflicts == counters(b).conflicts == 1, 3)
    assert counters(a).station_identified == counters(b).station_identified == 1


def test_forged_or_rekeyed_peer_changes_are_refused(
    tmp_path: Path, package: bytes, cec_keys: dict[str, Path]
) -> None:
    from station.peers import apply_changes, changes_since

    a, b = _kit(tmp_path, "1", package, cec_keys), _kit(tmp_path, "2", package, cec_keys)
    identify_manual(a, PINS[0], FallbackReason.INJURY, "op", "chair")
    reply = changes_since(a, 0)
    forged = json.loads(json.dumps(reply))
    forged["changes"][-1]["body"]["personal_number"] = PINS[1]
    with pytest.raises(ValueError, match="does not verify"):
        apply_changes(b, forged)
    assert apply_changes(b, reply) == 1
    assert apply_changes(b, reply) == 0  # idempotent
    impostor = _kit(tmp_path / "x", "1", package, cec_keys)  # another machine claiming to be kit 1
    identify_manual(impostor, PINS[2], FallbackReason.INJURY, "op", "chair")
    with pytest.raises(ValueError, match="another signing key"):
        apply_changes(b, changes_since(impostor, 0))
    assert counters(b).station_identified == 1


def test_peers_over_curve_and_a_plaintext_listener_learns_nothing(
    tmp_path: Path, package: bytes, cec_keys: dict[str, Path]
) -> None:
    import zmq

    from link.keys import KeyPair

    a, b = _kit(tmp_path, "1", package, cec_keys), _kit(tmp_path, "2", package, cec_keys)
    ka, kb = KeyPair.generate(), KeyPair.generate()
    ea, eb = f"tcp://127.0.0.1:{free_port()}", f"tcp://127.0.0.1:{free_port()}"
    nodes = [
        PeerNode(a, ea, [f"{eb}#{kb.public}"], curve=(ka.public, ka.secret)).start(),
        PeerNode(b, eb, [f"{ea}#{ka.public}"], curve=(kb.public, kb.secret)).start(),
    ]
    try:
        identify_manual(a, PINS[0], FallbackReason.INJURY, "op", "chair")
        _wait(lambda: _refused(b, PINS[0]), 3)
        ctx: zmq.Context[zmq.Socket[bytes]] = zmq.Context.instance()
        plain = ctx.socket(zmq.DEALER)
        plain.setsockopt(zmq.LINGER, 0)
        plain.connect(ea)
        plain.send(json.dumps({"op": "since", "after": 0}).encode())
        assert plain.poll(1000) == 0  # no CURVE handshake, no answer
        plain.close()
    finally:
        for node in nodes:
            node.stop()
