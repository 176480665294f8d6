"""Access: roles, bearer tokens and the audit of who read what.

Roles: ``admin`` (CEC administrator: everything, including kits and tokens), ``monitor`` (CEC monitor: reads
everything), ``territorial`` (a territorial commission: reads its own oblast or district), ``observer`` (the public
feed; also what a request without a token is).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from sync_server.errors import RegistryError
from sync_server.models import ApiToken, AuditEntry

ROLES = ("admin", "monitor", "territorial", "observer")


@dataclass(frozen=True)
class Principal:
    """Who is asking: a token's name, its role and, for a territorial commission, its area."""

    name: str
    role: str
    area: str = ""

    @property
    def scope_area(self) -> str | None:
        """The area reads are limited to, or None for the whole country."""
        return self.area if self.role == "territorial" else None


ANONYMOUS = Principal(name="anonymous", role="observer")


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def create_token(session: Session, name: str, role: str, area: str = "") -> str:
    """Create a token; the clear token is returned once and only its hash is stored."""
    if role not in ROLES:
        raise RegistryError(f"role must be one of {ROLES}")
    if role == "territorial" and not area:
        raise RegistryError("a territorial commission's token needs its area (an oblast or district)")
    if session.scalar(select(ApiToken).where(ApiToken.name == name)) is not None:
        raise RegistryError(f"a token named {name!r} exists already")
    token = secrets.token_urlsafe(32)
    session.add(ApiToken(name=name, token_sha256=_digest(token), role=role, area=area,
                         created_at=datetime.now(UTC), revoked=False))
    return token


def authenticate(session: Session, token: str | None, bootstrap_admin_token: str) -> Principal | None:
    """The principal of ``token``; ANONYMOUS without a token; None for an unknown or revoked token."""
    if not token:
        return ANONYMOUS
    if hmac.compare_digest(token.encode(), bootstrap_admin_token.encode()):
        return Principal(name="bootstrap-admin", role="admin")
    row = session.scalar(select(ApiToken).where(ApiToken.token_sha256 == _digest(token)))
    if row is None or row.revoked:
        return None
    return Principal(name=row.name, role=row.role, area=row.area)


def audit(session: Session, principal: Principal, method: str, path: str, query: str, status: int) -> None:
    """Record one request in the audit log (in the caller's transaction)."""
    session.add(AuditEntry(at=datetime.now(UTC), actor=principal.name[:64], role=principal.role, method=method[:8],
                           path=path[:200], query=query[:300], status=status))


def audit_log(session: Session, limit: int = 200) -> list[dict[str, object]]:
    """The newest audit entries first."""
    rows = session.scalars(select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit))
    return [{"at": r.at.isoformat(), "actor": r.actor, "role": r.role, "method": r.method, "path": r.path,
             "query": r.query, "status": r.status} for r in rows]


#: Seconds audit entries may wait in memory before they are written in one transaction. Writing each request's entry
#: at once would contend with ingest for SQLite's single writer lock at peak; a crash loses at most this much audit.
AUDIT_FLUSH_S = 1.0


class AuditBuffer:
    """Collects audit entries from request handlers and writes them in batches."""

    def __init__(self, sessions: sessionmaker[Any]) -> None:
        self._sessions = sessions
        self._entries: list[AuditEntry] = []
        self._lock = threading.Lock()
        self._flushed_at = time.monotonic()

    def add(self, principal: Principal, method: str, path: str, query: str, status: int) -> None:
        """Queue one request's entry."""
        entry = AuditEntry(at=datetime.now(UTC), actor=principal.name[:64], role=principal.role, method=method[:8],
                           path=path[:200], query=query[:300], status=status)
        with self._lock:
            self._entries.append(entry)

    def due(self) -> bool:
        """Whether the oldest queued entry has waited long enough."""
        return bool(self._entries) and time.monotonic() - self._flushed_at >= AUDIT_FLUSH_S

    def flush(self) -> None:
        """Write every queued entry now."""
        with self._lock:
            entries, self._entries = self._entries, []
            self._flushed_at = time.monotonic()
        if entries:
            with self._sessions.begin() as session:
                session.add_all(entries)
