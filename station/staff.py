"""Poll workers and their PINs: who may operate the kit and who may supervise (reprint, undo, override).

PINs are short, so they are stored only as scrypt hashes (RFC 7914; n=2**14, r=8, p=1: about 20 ms per check on a
kit laptop, which slows guessing without slowing a login) with a per-worker salt.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import os

from sqlalchemy import select

from station.errors import PermissionDenied, StationError
from station.store import KitStore, Worker


class Role(enum.StrEnum):
    """What a worker may do."""

    OPERATOR = "operator"
    SUPERVISOR = "supervisor"


def _hash(pin: str, salt: bytes) -> bytes:
    return hashlib.scrypt(pin.encode(), salt=salt, n=2**14, r=8, p=1, dklen=32)


def add_worker(store: KitStore, worker_id: str, name: str, role: Role, pin: str) -> None:
    """Register a worker; the PIN (4-8 digits) must differ from every other worker's, since it alone logs in."""
    if not pin.isdigit() or not 4 <= len(pin) <= 8:
        raise StationError("a PIN is 4 to 8 digits")
    if find_by_pin(store, pin) is not None:
        raise StationError("another worker already has this PIN: choose another")
    salt = os.urandom(16)
    with store.transaction() as session:
        if session.get(Worker, worker_id) is not None:
            raise StationError(f"worker {worker_id} already exists")
        session.add(Worker(id=worker_id, name=name, role=role.value, pin_salt=salt, pin_hash=_hash(pin, salt)))


def find_by_pin(store: KitStore, pin: str) -> Worker | None:
    """The worker with this PIN, or None."""
    with store.transaction() as session:
        workers = list(session.scalars(select(Worker)))
    for worker in workers:
        if hmac.compare_digest(_hash(pin, worker.pin_salt), worker.pin_hash):
            return worker
    return None


def require_supervisor(worker: Worker) -> None:
    """Raise :class:`PermissionDenied` unless ``worker`` is a supervisor."""
    if worker.role != Role.SUPERVISOR:
        raise PermissionDenied("only the chair or a supervisor may do this: ask them to log in")
