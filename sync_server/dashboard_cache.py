"""Cached dashboard snapshots: each part of the live page's state is recomputed at most every few seconds, whatever
the number of open pages, so the dashboard costs the database the same with one viewer or a hundred, and a page that
opens gets the current snapshot at once instead of waiting for a fresh computation.

Turnout (counters) refreshes every TURNOUT_S, kit health every KITS_S, anomalies (which scan the events) every
ANOMALIES_S. A part being recomputed is computed once: other callers wait for it (per area) rather than start
their own. Kit health and anomalies are served stale while a background thread refreshes them, so a push never
waits for the slow parts once they have been computed once (the server warms the national snapshot at start).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import sessionmaker

from sync_server.config import ServerSettings
from sync_server.services.anomalies import find_anomalies
from sync_server.services.dashboard import dashboard_kits, dashboard_turnout
from sync_server.services.turnout import reference_curve

#: Seconds a part of the snapshot may be old: turnout is what people watch (the push runs every second), kit
#: health changes with heartbeats (every 10 s), anomalies need minutes of data to mean anything.
TURNOUT_S = 1.0
KITS_S = 5.0
ANOMALIES_S = 15.0


@dataclass
class _Part:
    value: Any = None
    at: float = float("-inf")
    lock: threading.Lock = field(default_factory=threading.Lock)


class DashboardCache:
    """Snapshots per area (``""`` = national), thread-safe; call from worker threads, never the event loop."""

    def __init__(self, sessions: sessionmaker[Any], settings: ServerSettings) -> None:
        self._sessions = sessions
        self._settings = settings
        self._parts: dict[tuple[str, str], _Part] = {}
        self._guard = threading.Lock()
        self._json: dict[str, tuple[tuple[float, ...], str]] = {}

    def _part(self, kind: str, area: str, max_age_s: float, compute: Callable[[], Any],
              stale_ok: bool = False) -> tuple[Any, float]:
        with self._guard:
            part = self._parts.setdefault((kind, area), _Part())
        if time.monotonic() - part.at < max_age_s:
            return part.value, part.at
        if stale_ok and part.value is not None:
            if part.lock.acquire(blocking=False):  # one refresh at a time; meanwhile everyone gets the old value
                threading.Thread(target=self._refresh, args=(part, compute), daemon=True,
                                 name=f"dashboard-{kind}").start()
            return part.value, part.at
        with part.lock:
            if time.monotonic() - part.at >= max_age_s:  # nobody refreshed it while this thread waited
                part.value = compute()
                part.at = time.monotonic()
            return part.value, part.at

    @staticmethod
    def _refresh(part: _Part, compute: Callable[[], Any]) -> None:
        try:
            part.value = compute()
            part.at = time.monotonic()
        finally:
            part.lock.release()

    def turnout(self, area: str) -> tuple[tuple[dict[str, Any], list[dict[str, Any]], dict[str, Any]], float]:
        """(pushed turnout, station rows, reference curve) and when they were computed."""
        def compute() -> tuple[dict[str, Any], list[dict[str, Any]], dict[str, Any]]:
            with self._sessions() as session:
                head, rows = dashboard_turnout(session, area or None)
                return head, rows, reference_curve(session)

        value, at = self._part("turnout", area, TURNOUT_S, compute)
        return value, at

    def stations(self, area: str) -> list[dict[str, Any]]:
        """The station rows of the table (at most TURNOUT_S old)."""
        (_head, rows, _ref), _at = self.turnout(area)
        return rows

    def state_json(self, area: str) -> str:
        """The pushed state as JSON text (serialised once per change, shared by every open page)."""
        (head, _rows, ref), t_at = self.turnout(area)

        def kits() -> dict[str, Any]:
            with self._sessions() as session:
                return dashboard_kits(session, area or None)

        def anomalies() -> list[dict[str, Any]]:
            with self._sessions() as session:
                return find_anomalies(session, None, area or None, self._settings.opening_hour,
                                      self._settings.closing_hour)

        kit_value, k_at = self._part("kits", area, KITS_S, kits, stale_ok=True)
        anomaly_value, a_at = self._part("anomalies", area, ANOMALIES_S, anomalies, stale_ok=True)
        stamp = (t_at, k_at, a_at)
        cached = self._json.get(area)
        if cached is not None and cached[0] == stamp:
            return cached[1]
        body = json.dumps({"generated_at": datetime.now(UTC).isoformat(), "turnout": head, "reference": ref,
                           "kits": kit_value, "anomalies": anomaly_value}, ensure_ascii=False)
        self._json[area] = (stamp, body)
        return body
