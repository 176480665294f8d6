"""ZAP handler (ZeroMQ RFC 27) for the ingest socket: admits a CURVE client only if its public key belongs to an
active kit (and, during the real election, not to a training kit). The kit's public key becomes the connection's
User-Id, which the ingest loop reads on every message to check the kit named inside it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Hashable

import zmq
from zmq.utils.z85 import encode as z85_encode

from sync_server.services.ingest import KitIdentity

log = logging.getLogger(__name__)

ZAP_ENDPOINT = "inproc://zeromq.zap.01"
#: Seconds between full reloads of the kit registry (revocations reach open connections within this time).
REFRESH_S = 2.0
#: At most one extra reload per this many seconds for keys not in the cache (a kit provisioned a moment ago),
#: so a flood of unknown keys cannot turn into a flood of database reads.
MISS_REFRESH_S = 1.0
#: One refusal log line per key per this many seconds: a revoked kit retries every few seconds.
LOG_EVERY_S = 60.0


class KitRegistryCache:
    """Kits by Z85 public key, reloaded from the database by ``loader``."""

    def __init__(self, loader: Callable[[], list[KitIdentity]],
                 version: Callable[[], Hashable] | None = None) -> None:
        self._loader = loader
        #: A cheap fingerprint of the registry (:func:`sync_server.services.ingest.registry_version`): when given, a
        #: due refresh reloads only if it changed, so 20,000 kits are not re-read every REFRESH_S.
        self._version = version
        self._seen_version: Hashable = None
        self._by_key: dict[str, KitIdentity] = {}
        self._loaded_at = float("-inf")
        self._miss_at = float("-inf")

    def refresh_if_due(self, now: float | None = None) -> None:
        """Reload when REFRESH_S has passed."""
        now = time.monotonic() if now is None else now
        if now - self._loaded_at >= REFRESH_S:
            if self._version is not None and self._version() == self._seen_version:
                self._loaded_at = now
                return
            self.reload(now)

    def reload(self, now: float | None = None) -> None:
        """Reload every kit now."""
        version = self._version() if self._version is not None else None
        self._by_key = {k.public_key: k for k in self._loader()}
        self._seen_version = version
        self._loaded_at = time.monotonic() if now is None else now

    def lookup(self, public_key: str) -> KitIdentity | None:
        """The kit owning ``public_key``; reloads once (rate-limited) on a miss."""
        kit = self._by_key.get(public_key)
        if kit is None:
            now = time.monotonic()
            if now - self._miss_at >= MISS_REFRESH_S:
                self._miss_at = now
                self.reload(now)
                kit = self._by_key.get(public_key)
        return kit


class ZapHandler:
    """Answers ZAP requests on ``inproc://zeromq.zap.01``; call :meth:`handle` when its socket is readable."""

    def __init__(self, context: zmq.Context[zmq.Socket[bytes]], cache: KitRegistryCache, election_mode: str) -> None:
        self.socket = context.socket(zmq.REP)
        self.socket.setsockopt(zmq.LINGER, 0)
        self.socket.bind(ZAP_ENDPOINT)
        self._cache = cache
        self._election_mode = election_mode
        self._logged: dict[str, float] = {}
        #: (reason, peer address) of refused handshakes since the last :meth:`drain_refusals`.
        self.refusals: list[tuple[str, str, str]] = []

    def handle(self) -> None:
        """Answer every waiting request."""
        while True:
            try:
                frames = self.socket.recv_multipart(zmq.NOBLOCK)
            except zmq.Again:
                return
            self.socket.send_multipart(self._reply(frames))

    def _reply(self, frames: list[bytes]) -> list[bytes]:
        if len(frames) < 6:
            return [b"1.0", b"", b"500", b"malformed ZAP request", b"", b""]
        version, request_id, _domain, address, _identity, mechanism = frames[:6]
        credentials = frames[6:]
        if version != b"1.0":
            return [b"1.0", request_id, b"500", b"unsupported ZAP version", b"", b""]
        if mechanism != b"CURVE" or len(credentials) != 1 or len(credentials[0]) != 32:
            return self._refuse(request_id, "unauthenticated", address.decode(errors="replace"), "")
        key = z85_encode(credentials[0]).decode("ascii")
        kit = self._cache.lookup(key)
        peer = address.decode(errors="replace")
        if kit is None:
            return self._refuse(request_id, "unknown_key", peer, key)
        if kit.status != "active":
            return self._refuse(request_id, "revoked", peer, key, kit.user_id)
        if kit.training and self._election_mode == "real":
            return self._refuse(request_id, "training", peer, key, kit.user_id)
        return [b"1.0", request_id, b"200", b"OK", key.encode("ascii"), b""]

    def _refuse(self, request_id: bytes, reason: str, peer: str, key: str, who: str = "") -> list[bytes]:
        now = time.monotonic()
        tag = key or peer
        if now - self._logged.get(tag, float("-inf")) >= LOG_EVERY_S:
            self._logged[tag] = now
            log.warning("refused a %s link from %s (key %s...)", reason, who or peer, key[:8])
            self.refusals.append((reason, who, f"handshake refused from {peer}, key {key[:8]}..."))
        return [b"1.0", request_id, b"400", reason.encode(), b"", b""]

    def drain_refusals(self) -> list[tuple[str, str, str]]:
        """Refusals not yet stored, as (kind, peer, detail)."""
        out, self.refusals = self.refusals, []
        return out

    def close(self) -> None:
        """Unbind the handler."""
        self.socket.close(0)
