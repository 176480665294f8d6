"""A kit's peer node: serves its changes on a ROUTER socket and polls every peer with a DEALER (Lazy Pirate).

Polling every :data:`POLL_S` means a voter identified at one kit is refused at the others within about
``POLL_S`` + one round trip (well under a second on a station's LAN). A peer that does not answer within
:data:`REPLY_TIMEOUT_S` gets a fresh socket (the Lazy Pirate pattern: drop the request, reconnect, ask again from the
stored cursor), so a partition heals by itself. ``connected_peers`` counts peers heard from in the last
:data:`CONNECTED_WITHIN_S`.
"""

from __future__ import annotations

import json
import logging
import threading
import time

import zmq

from station.peers.protocol import apply_changes, changes_since, cursor_of
from station.store import KitStore

log = logging.getLogger(__name__)

POLL_S = 0.2
REPLY_TIMEOUT_S = 0.8
CONNECTED_WITHIN_S = 2.0


class PeerNode:
    """Share this kit's marks with the peers at ``peer_endpoints`` and learn theirs."""

    def __init__(
        self,
        store: KitStore,
        bind: str,
        peer_endpoints: list[str],
        curve: tuple[str, str] | None = None,
    ) -> None:
        """``peer_endpoints`` are ``tcp://host:port``, or ``tcp://host:port#SERVERKEY`` (Z85) with ``curve``.

        With ``curve`` (this kit's CURVE public and secret key, Z85, e.g. from its link key file) the ROUTER is a
        CURVE server and every DEALER encrypts to its peer's key, so personal numbers never cross the station's
        LAN in clear (RFC 26 CurveZMQ); the marks themselves are authenticated by the kits' Ed25519 signatures.
        """
        self.store = store
        self.bind = bind
        self.curve = curve
        self.peer_endpoints = []
        self._server_keys: dict[str, str] = {}
        for item in peer_endpoints:
            endpoint, _, key = item.partition("#")
            if curve is not None and not key:
                raise ValueError(f"peer {endpoint}: give its CURVE public key as {endpoint}#KEY")
            self.peer_endpoints.append(endpoint)
            if key:
                self._server_keys[endpoint] = key
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._last_seen: dict[str, float] = {}
        self._peer_kit: dict[str, str] = {}
        self.errors: list[str] = []
        self.ready = threading.Event()

    def start(self) -> PeerNode:
        """Run in a background thread until :meth:`stop`."""
        self._thread = threading.Thread(target=self._run, name="peers", daemon=True)
        self._thread.start()
        self.ready.wait(5)
        return self

    def stop(self) -> None:
        """Stop the thread and close the sockets."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)

    def connected_peers(self) -> int:
        """Peers that answered within the last :data:`CONNECTED_WITHIN_S` seconds."""
        now = time.monotonic()
        return sum(1 for seen in self._last_seen.values() if now - seen <= CONNECTED_WITHIN_S)

    def _dealer(self, ctx: zmq.Context[zmq.Socket[bytes]], endpoint: str) -> zmq.Socket[bytes]:
        sock = ctx.socket(zmq.DEALER)
        sock.setsockopt(zmq.LINGER, 0)
        if self.curve is not None:
            sock.curve_publickey = self.curve[0].encode()
            sock.curve_secretkey = self.curve[1].encode()
            sock.curve_serverkey = self._server_keys[endpoint].encode()
        sock.connect(endpoint)
        return sock

    def _run(self) -> None:
        ctx: zmq.Context[zmq.Socket[bytes]] = zmq.Context()
        router = ctx.socket(zmq.ROUTER)
        router.setsockopt(zmq.LINGER, 0)
        if self.curve is not None:
            router.curve_server = True
            router.curve_publickey = self.curve[0].encode()
            router.curve_secretkey = self.curve[1].encode()
        router.bind(self.bind)
        dealers = {ep: self._dealer(ctx, ep) for ep in self.peer_endpoints}
        sent_at: dict[str, float] = {}
        poller = zmq.Poller()
        poller.register(router, zmq.POLLIN)
        for sock in dealers.values():
            poller.register(sock, zmq.POLLIN)
        self.ready.set()
        next_poll = 0.0
        try:
            while not self._stop.is_set():
                now = time.monotonic()
                if now >= next_poll:
                    next_poll = now + POLL_S
                    for ep, sock in list(dealers.items()):
                        if ep in sent_at and now - sent_at[ep] < REPLY_TIMEOUT_S:
                            continue  # still waiting for the last answer
                        if ep in sent_at:  # no answer in time: Lazy Pirate, new socket
                            poller.unregister(sock)
                            sock.close()
                            sock = dealers[ep] = self._dealer(ctx, ep)
                            poller.register(sock, zmq.POLLIN)
                        kit = self._peer_kit.get(ep)
                        after = cursor_of(self.store, kit) if kit else 0
                        sock.send(json.dumps({"op": "since", "after": after}).encode())
                        sent_at[ep] = now
                events = dict(poller.poll(timeout=50))
                if router in events:
                    self._serve(router)
                for ep, sock in dealers.items():
                    if sock in events:
                        self._receive(ep, sock)
                        sent_at.pop(ep, None)
        finally:
            router.close()
            for sock in dealers.values():
                sock.close()
            ctx.term()

    def _serve(self, router: zmq.Socket[bytes]) -> None:
        while True:
            try:
                ident, raw = router.recv_multipart(zmq.NOBLOCK)
            except zmq.Again:
                return
            try:
                request = json.loads(raw)
                reply = changes_since(self.store, int(request["after"]))
            except Exception as exc:  # a bad request or a busy store must not stop the node
                log.warning("peer request failed: %s", exc)
                reply = {"error": str(exc)}
            router.send_multipart([ident, json.dumps(reply, ensure_ascii=False).encode()])

    def _receive(self, ep: str, sock: zmq.Socket[bytes]) -> None:
        raw = sock.recv()
        try:
            reply = json.loads(raw)
            if "error" in reply:
                raise ValueError(reply["error"])
            # The first request to a peer asks from 0 (its kit number is not known yet); apply_changes skips what the
            # stored cursor already covers, so a restart re-reads but never doubles.
            self._peer_kit[ep] = str(reply["kit"])
            apply_changes(self.store, reply)
            self._last_seen[ep] = time.monotonic()
        except Exception as exc:
            message = f"peer {ep}: {exc}"
            if not self.errors or self.errors[-1] != message:
                self.errors.append(message)
            log.warning("%s", message)
