"""Logged-in poll workers: a random token per login in a cookie, locked after a quiet spell."""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass

#: Seconds of inactivity before the screen locks (VxPollbook locks poll-worker sessions when idle too).
DEFAULT_LOCK_AFTER_S = 120.0


@dataclass
class Session:
    """One login: who, with which role, and when they last did something."""

    worker_id: str
    name: str
    role: str
    last_active: float


class Sessions:
    """Tokens in memory only: a kit restart logs everyone out, which is the safe default."""

    def __init__(self, lock_after_s: float = DEFAULT_LOCK_AFTER_S) -> None:
        self.lock_after_s = lock_after_s
        self._by_token: dict[str, Session] = {}
        self._lock = threading.Lock()

    def open(self, worker_id: str, name: str, role: str) -> str:
        """A new token for this worker."""
        token = secrets.token_urlsafe(24)
        with self._lock:
            self._by_token[token] = Session(worker_id, name, role, time.monotonic())
        return token

    def get(self, token: str | None, touch: bool = True) -> Session | None:
        """The live session of ``token``, or None when absent or idle too long (then it is closed).

        ``touch=False`` for the screen's background status polling, which is not the worker doing something.
        """
        if not token:
            return None
        with self._lock:
            session = self._by_token.get(token)
            if session is None:
                return None
            now = time.monotonic()
            if now - session.last_active > self.lock_after_s:
                del self._by_token[token]
                return None
            if touch:
                session.last_active = now
            return session

    def close(self, token: str | None) -> None:
        """Lock the screen for this token."""
        with self._lock:
            self._by_token.pop(token or "", None)
