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


#: Wrong PINs in a row before the login screen makes everyone wait (a 4-digit PIN has only 10,000 values).
MAX_BAD_PINS = 5
#: Seconds the login screen refuses every PIN after :data:`MAX_BAD_PINS` wrong ones (then one more try is allowed;
#: at most about 6 guesses a minute, so guessing a 4-digit PIN would take days in front of the commission).
PIN_LOCKOUT_S = 30.0


class LoginGuard:
    """Slows PIN guessing at the kit's one screen: after :data:`MAX_BAD_PINS` wrong PINs, a pause for everyone."""

    def __init__(self, max_bad: int = MAX_BAD_PINS, lockout_s: float = PIN_LOCKOUT_S) -> None:
        self.max_bad = max_bad
        self.lockout_s = lockout_s
        self._bad = 0
        self._until = 0.0
        self._lock = threading.Lock()

    def wait_s(self) -> float:
        """Seconds before the next PIN is accepted (0 when a PIN may be tried now)."""
        with self._lock:
            return max(0.0, self._until - time.monotonic())

    def failed(self) -> None:
        """A wrong PIN: count it; the :data:`MAX_BAD_PINS`-th in a row starts the pause."""
        with self._lock:
            self._bad += 1
            if self._bad >= self.max_bad:
                self._until = time.monotonic() + self.lockout_s
                self._bad = self.max_bad - 1  # after the pause, one wrong PIN starts the next pause

    def succeeded(self) -> None:
        """A right PIN: the count starts again."""
        with self._lock:
            self._bad = 0
            self._until = 0.0
