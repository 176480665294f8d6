"""Service functions: the only place where the server's rules live. HTTP routes and the ZeroMQ ingest call these."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from link.messages import IdentificationEvent
from sync_server.models import Identification


def ingest_identifications(session: Session, events: Sequence[IdentificationEvent]) -> int:
    """Store events idempotently in the caller's transaction; returns how many were new.

    A resent (station, kit, seq) is ignored by the database's unique constraint (INSERT ... ON CONFLICT DO NOTHING),
    so the kit's resends after an outage never count twice.
    """
    if not events:
        return 0
    now = datetime.now(UTC)
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
            "received_at": now,
            "training": e.training,
        }
        for e in events
    ]
    dialect = session.get_bind().dialect.name
    insert: Any = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = insert(Identification).values(rows).on_conflict_do_nothing(
        index_elements=["station_id", "kit_id", "seq"]
    )
    result = session.execute(stmt)
    return int(getattr(result, "rowcount", 0) or 0)


def turnout_by_station(session: Session) -> dict[str, Any]:
    """Identifications counted per station, with the national total."""
    rows = session.execute(
        select(Identification.station_id, func.count())
        .group_by(Identification.station_id)
        .order_by(Identification.station_id)
    ).all()
    stations = [{"station_id": station, "identified": int(count)} for station, count in rows]
    return {
        "generated_at": datetime.now(UTC).isoformat(),
        "total": sum(s["identified"] for s in stations),
        "stations": stations,
    }
