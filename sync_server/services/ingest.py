"""Ingest services: store identifications idempotently, record heartbeats and refusals. The ZeroMQ loop calls these
and nothing else; each runs in the caller's transaction, so the loop acknowledges only what is committed."""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select, tuple_, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from link.messages import Heartbeat, IdentificationEvent, encode
from sync_server.models import Identification, Kit, Rejection, TurnoutCounter

#: Bishkek time is UTC+6 all year (Kyrgyzstan has had no daylight saving since 2005); hours are counted locally
#: because the CEC announces turnout at 10:00, 12:00, ... local time.
LOCAL_UTC_OFFSET = timedelta(hours=6)


@dataclass(frozen=True)
class KitIdentity:
    """A registered kit as the link knows it: the key's owner and whether it may speak."""

    row_id: int
    station_id: str
    kit_id: str
    public_key: str
    status: str
    training: bool

    @property
    def user_id(self) -> str:
        """The ZAP User-Id the server gives this kit's connections: ``station/kit``."""
        return f"{self.station_id}/{self.kit_id}"


@dataclass
class IngestResult:
    """What happened to a batch: new events counted, resends acknowledged again, conflicting replays refused."""

    new: list[IdentificationEvent] = field(default_factory=list)
    duplicates: list[IdentificationEvent] = field(default_factory=list)
    conflicts: list[IdentificationEvent] = field(default_factory=list)

    @property
    def acknowledged(self) -> list[IdentificationEvent]:
        """Events the kit may mark delivered: stored now or before with the same content."""
        return self.new + self.duplicates


def local_hour(moment: datetime) -> int:
    """The hour (0..23) of ``moment`` on Bishkek time."""
    return (moment.astimezone(UTC) + LOCAL_UTC_OFFSET).hour


def content_hash(event: IdentificationEvent) -> str:
    """SHA-256 of the canonical encoding: equal for a faithful resend, different for a forged replay."""
    return hashlib.sha256(encode(event)).hexdigest()


def origin_refusal(identity: KitIdentity, station_id: str, kit_id: str, training: bool, election_mode: str) -> str | None:
    """Why a message from the authenticated ``identity`` claiming (station, kit) must be refused, or None.

    The CURVE key is the kit's identity: a message naming another kit is forged, whatever its content.
    """
    if identity.status != "active":
        return "revoked"
    if (identity.station_id, identity.kit_id) != (station_id, kit_id):
        return "forged"
    if election_mode == "real" and (training or identity.training):
        return "training"
    return None


def _insert(session: Session) -> Any:
    return postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert


def ingest_identifications(
    session: Session, events: Sequence[IdentificationEvent], now: datetime | None = None
) -> IngestResult:
    """Store events idempotently in the caller's transaction and bump the turnout counters for the new ones.

    A resent (station, kit, seq) with the same content is ignored by the unique constraint (INSERT ... ON CONFLICT DO
    NOTHING) and acknowledged again; one with different content is a replay and is refused, never overwriting.
    """
    result = IngestResult()
    if not events:
        return result
    now = now or datetime.now(UTC)
    hashes: dict[tuple[str, str, int], str] = {}
    unique: list[IdentificationEvent] = []
    for event in events:
        key = (event.station_id, event.kit_id, event.seq)
        digest = content_hash(event)
        if key in hashes:
            (result.duplicates if hashes[key] == digest else result.conflicts).append(event)
            continue
        hashes[key] = digest
        unique.append(event)
    rows = [
        {
            "election_id": e.election_id,
            "station_id": e.station_id,
            "kit_id": e.kit_id,
            "seq": e.seq,
            "voter_ref": e.voter_ref,
            "sex": e.sex,
            "birth_year": e.birth_year,
            "path": e.path,
            "identified_at": e.identified_at,
            "hour_local": local_hour(e.identified_at),
            "received_at": now,
            "training": e.training,
            "fallback_reason": e.fallback_reason,
            "override": e.override,
            "content_hash": hashes[(e.station_id, e.kit_id, e.seq)],
        }
        for e in unique
    ]
    table = Identification.__table__
    # One compiled statement run with many parameter sets ("insertmanyvalues" batches them into multi-row INSERTs
    # with RETURNING on both SQLite and PostgreSQL); RETURNING lists only the rows actually inserted.
    stmt = (
        _insert(session)(table)
        .on_conflict_do_nothing(index_elements=["station_id", "kit_id", "seq"])
        .returning(table.c.station_id, table.c.kit_id, table.c.seq)
    )
    inserted = {(s, k, q) for s, k, q in session.connection().execute(stmt, rows).all()}
    existing_keys = [key for key in hashes if key not in inserted]
    stored: dict[tuple[str, str, int], str] = {}
    if existing_keys:
        for s, k, q, digest in session.execute(
            select(
                Identification.station_id, Identification.kit_id, Identification.seq, Identification.content_hash
            ).where(tuple_(Identification.station_id, Identification.kit_id, Identification.seq).in_(existing_keys))
        ):
            stored[(s, k, q)] = digest
    for event in unique:
        key = (event.station_id, event.kit_id, event.seq)
        if key in inserted:
            result.new.append(event)
        elif stored.get(key) == hashes[key]:
            result.duplicates.append(event)
        else:
            result.conflicts.append(event)
    _bump_counters(session, result.new)
    return result


def _bump_counters(session: Session, events: Iterable[IdentificationEvent]) -> None:
    counts = Counter((e.station_id, local_hour(e.identified_at), e.sex, e.path) for e in events)
    if not counts:
        return
    table = TurnoutCounter.__table__
    stmt = _insert(session)(table)
    stmt = stmt.on_conflict_do_update(
        index_elements=["station_id", "hour_local", "sex", "path"],
        set_={"count": table.c.count + stmt.excluded["count"]},
    )
    session.connection().execute(
        stmt, [{"station_id": s, "hour_local": h, "sex": x, "path": p, "count": n} for (s, h, x, p), n in counts.items()]
    )


def mark_seen(session: Session, kit_row_ids: Iterable[int], now: datetime | None = None) -> None:
    """Record that these kits spoke just now (one statement for a whole batch)."""
    ids = sorted(set(kit_row_ids))
    if ids:
        session.execute(update(Kit).where(Kit.id.in_(ids)).values(last_seen_at=now or datetime.now(UTC)))


def record_heartbeat(session: Session, kit_row_id: int, beat: Heartbeat, now: datetime | None = None) -> bool:
    """Keep the kit's latest device health; an older (replayed or reordered) heartbeat changes nothing."""
    now = now or datetime.now(UTC)
    kit = session.get(Kit, kit_row_id)
    if kit is None:
        return False
    kit.last_seen_at = now
    if kit.heartbeat_at is not None and beat.sent_at <= kit.heartbeat_at:
        return False
    kit.heartbeat_at = beat.sent_at
    kit.devices_json = json.dumps(beat.devices, sort_keys=True)
    kit.pending = beat.pending
    kit.paper_low = beat.paper_low
    return True


def record_rejections(
    session: Session, rejections: Sequence[tuple[str, str, str]], now: datetime | None = None
) -> None:
    """Log refused messages as (kind, peer, detail) for the anomaly feed and the audit."""
    if rejections:
        at = now or datetime.now(UTC)
        session.add_all(
            Rejection(at=at, kind=kind, peer=peer[:40], detail=detail[:300]) for kind, peer, detail in rejections
        )


def load_kit_identities(session: Session) -> list[KitIdentity]:
    """Every provisioned kit with its key and status, for the ZAP handler's cache."""
    return [
        KitIdentity(row_id=k.id, station_id=k.station_id, kit_id=k.kit_id, public_key=k.public_key,
                    status=k.status, training=k.training)
        for k in session.scalars(select(Kit))
    ]
