"""Anomaly rules over the ingested events: each returns plain records for the feed, the API and the audit.

Thresholds live in :mod:`sync_server.parameters`. Rules read the counters where they can and the events only where
they must (too-fast identifications, overrides, the same person at two stations).
"""

from __future__ import annotations

import statistics
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import case, func, or_, select
from sqlalchemy.orm import Session

from sync_server import parameters as P
from sync_server.models import Identification, Kit, Station, TurnoutCounter
from sync_server.services.turnout import turnout_summary


def _record(kind: str, station_id: str, detail: str, kit_id: str = "", **extra: Any) -> dict[str, Any]:
    return {"kind": kind, "station_id": station_id, "kit_id": kit_id, "detail": detail, **extra}


def find_anomalies(
    session: Session,
    now: datetime | None = None,
    area: str | None = None,
    opening_hour: int = 7,
    closing_hour: int = 20,
) -> list[dict[str, Any]]:
    """Every anomaly of every kind, limited to ``area`` (oblast or district) when given."""
    now = now or datetime.now(UTC)
    allowed: set[str] | None = None
    if area:
        allowed = set(session.scalars(
            select(Station.station_id).where(or_(Station.oblast == area, Station.district == area))
        ))
    found = (
        silent_stations(session, now)
        + too_fast(session)
        + outside_hours(session, opening_hour, closing_hour)
        + manual_bursts(session)
        + far_from_peers(session)
        + repeated_overrides(session)
        + same_person_twice(session)
    )
    if allowed is not None:
        found = [a for a in found if a["station_id"] in allowed or set(a.get("stations", [])) & allowed]
    return found


def silent_stations(session: Session, now: datetime) -> list[dict[str, Any]]:
    """Stations whose every active kit has been quiet longer than SILENT_AFTER_S (or never spoke)."""
    last: dict[str, datetime | None] = {}
    for kit in session.scalars(select(Kit).where(Kit.status == "active")):
        seen = kit.last_seen_at
        prev = last.get(kit.station_id)
        last[kit.station_id] = seen if prev is None or (seen is not None and seen > prev) else prev
    out = []
    for station_id, seen in sorted(last.items()):
        quiet = None if seen is None else (now - seen).total_seconds()
        if quiet is None or quiet > P.SILENT_AFTER_S:
            detail = "never connected" if quiet is None else f"no message for {int(quiet // 60)} min"
            out.append(_record("silent_station", station_id, detail))
    return out[: P.MAX_PER_KIND]


def _seconds_between(session: Session, later: Any, earlier: Any) -> Any:
    if session.get_bind().dialect.name == "postgresql":
        return func.extract("epoch", later - earlier)
    return (func.julianday(later) - func.julianday(earlier)) * 86400.0


def too_fast(session: Session) -> list[dict[str, Any]]:
    """Kits with at least FAST_INTERVALS_TO_FLAG gaps shorter than MIN_SECONDS_PER_VOTER between identifications."""
    previous = func.lag(Identification.identified_at).over(
        partition_by=(Identification.station_id, Identification.kit_id), order_by=Identification.identified_at
    )
    gaps = select(
        Identification.station_id.label("station_id"), Identification.kit_id.label("kit_id"),
        Identification.identified_at.label("at"), previous.label("prev"),
    ).subquery()
    seconds = _seconds_between(session, gaps.c.at, gaps.c.prev)
    rows = session.execute(
        select(gaps.c.station_id, gaps.c.kit_id, func.count())
        .where(gaps.c.prev.is_not(None), seconds < P.MIN_SECONDS_PER_VOTER)
        .group_by(gaps.c.station_id, gaps.c.kit_id)
        .having(func.count() >= P.FAST_INTERVALS_TO_FLAG)
        .order_by(func.count().desc())
        .limit(P.MAX_PER_KIND)
    ).all()
    return [
        _record("too_fast", s, f"{n} identifications less than {P.MIN_SECONDS_PER_VOTER:.0f} s after the previous",
                kit_id=k, count=int(n))
        for s, k, n in rows
    ]


def outside_hours(session: Session, opening_hour: int, closing_hour: int) -> list[dict[str, Any]]:
    """Stations with identifications before opening or after closing (local time)."""
    rows = session.execute(
        select(TurnoutCounter.station_id, func.sum(TurnoutCounter.count))
        .where(or_(TurnoutCounter.hour_local < opening_hour, TurnoutCounter.hour_local >= closing_hour))
        .group_by(TurnoutCounter.station_id)
        .order_by(func.sum(TurnoutCounter.count).desc())
        .limit(P.MAX_PER_KIND)
    ).all()
    return [
        _record("outside_hours", s, f"{int(n)} identifications outside {opening_hour:02d}:00-{closing_hour:02d}:00",
                count=int(n))
        for s, n in rows
    ]


def manual_bursts(session: Session) -> list[dict[str, Any]]:
    """Stations whose manual-fallback share is above MANUAL_SHARE_TO_FLAG."""
    total = func.sum(TurnoutCounter.count)
    manual = func.sum(case((TurnoutCounter.path == "manual", TurnoutCounter.count), else_=0))
    rows = session.execute(
        select(TurnoutCounter.station_id, total, manual).group_by(TurnoutCounter.station_id)
        .having(total >= P.MANUAL_MIN_IDENTIFIED)
    ).all()
    out = []
    for station_id, n, m in rows:
        share = int(m) / int(n)
        if share > P.MANUAL_SHARE_TO_FLAG:
            out.append(_record("manual_burst", station_id, f"{share:.0%} of {int(n)} identified by manual fallback",
                               share=round(share, 3)))
    out.sort(key=lambda a: -a["share"])
    return out[: P.MAX_PER_KIND]


def far_from_peers(session: Session) -> list[dict[str, Any]]:
    """Stations whose turnout percentage is far (robust z-score) from the other stations of their oblast."""
    summary = turnout_summary(session)
    by_oblast: dict[str, list[tuple[str, float]]] = {}
    for row in summary["stations"]:
        if row["percent"] is not None:
            by_oblast.setdefault(row["oblast"], []).append((row["station_id"], row["percent"]))
    out = []
    for oblast, rows in by_oblast.items():
        if len(rows) < P.PEER_MIN_COUNT:
            continue
        values = [p for _, p in rows]
        median = statistics.median(values)
        mad = statistics.median(abs(v - median) for v in values) * 1.4826
        for station_id, percent in rows:
            gap = percent - median
            z = gap / mad if mad > 0 else (float("inf") if gap else 0.0)
            if abs(gap) >= P.PEER_MIN_GAP_PERCENT and abs(z) >= P.PEER_Z_TO_FLAG:
                out.append(_record("far_from_peers", station_id,
                                   f"turnout {percent:.1f}% against a median of {median:.1f}% in {oblast}",
                                   gap=round(gap, 1)))
    out.sort(key=lambda a: -abs(a["gap"]))
    return out[: P.MAX_PER_KIND]


def repeated_overrides(session: Session) -> list[dict[str, Any]]:
    """Stations where supervisors overrode "already voted" OVERRIDES_TO_FLAG times or more."""
    rows = session.execute(
        select(Identification.station_id, func.count())
        .where(Identification.override.is_(True))
        .group_by(Identification.station_id)
        .having(func.count() >= P.OVERRIDES_TO_FLAG)
        .order_by(func.count().desc())
        .limit(P.MAX_PER_KIND)
    ).all()
    return [_record("repeated_overrides", s, f"{int(n)} supervisor overrides of 'already voted'", count=int(n))
            for s, n in rows]


def same_person_twice(session: Session) -> list[dict[str, Any]]:
    """Voters (by pseudonym) identified at more than one station."""
    refs = (
        select(Identification.voter_ref)
        .group_by(Identification.voter_ref)
        .having(func.count(func.distinct(Identification.station_id)) > 1)
        .limit(P.MAX_PER_KIND)
        .subquery()
    )
    rows = session.execute(
        select(Identification.voter_ref, Identification.station_id, Identification.kit_id)
        .where(Identification.voter_ref.in_(select(refs.c.voter_ref)))
        .order_by(Identification.voter_ref, Identification.identified_at)
    ).all()
    stations: dict[str, list[str]] = {}
    for ref, station_id, kit_id in rows:
        stations.setdefault(ref, []).append(f"{station_id}/{kit_id}")
    return [
        _record("same_person_twice", places[0].split("/")[0], f"voter {ref[:12]}... identified at {', '.join(places)}",
                stations=sorted({p.split('/')[0] for p in places}))
        for ref, places in stations.items()
    ]
