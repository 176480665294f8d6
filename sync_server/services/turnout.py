"""Turnout reads: national, by hour, oblast, district, station, sex and identification path; kit status.

Every figure comes from the turnout counters, which ingest bumps in the same transaction as it stores events, so a
read costs the same at 9:00 and at 20:00.
"""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from link.messages import IDENTIFICATION_PATHS, SEXES
from sync_server.models import Identification, Kit, ReferenceCurve, Station, TurnoutCounter

#: Stations that reported identifications but are missing from the registry are grouped under this oblast, so the
#: national total is always the sum of what was ingested.
UNREGISTERED = "unregistered"


def _percent(part: int, whole: int) -> float | None:
    return round(100.0 * part / whole, 2) if whole else None


def _stations(session: Session, area: str | None) -> dict[str, Station]:
    query = select(Station)
    if area:
        query = query.where(or_(Station.oblast == area, Station.district == area))
    return {s.station_id: s for s in session.scalars(query)}


def turnout_by_station(session: Session) -> dict[str, Any]:
    """Identifications counted per station, with the national total (the public feed of the thin path)."""
    rows = session.execute(
        select(TurnoutCounter.station_id, func.sum(TurnoutCounter.count))
        .group_by(TurnoutCounter.station_id)
        .order_by(TurnoutCounter.station_id)
    ).all()
    stations = [{"station_id": station, "identified": int(count)} for station, count in rows]
    return {
        "generated_at": datetime.now(UTC).isoformat(),
        "total": sum(s["identified"] for s in stations),
        "stations": stations,
    }


def turnout_summary(session: Session, area: str | None = None) -> dict[str, Any]:
    """Everything the dashboard shows about turnout, limited to ``area`` (an oblast or district) when given."""
    stations = _stations(session, area)
    counters = session.execute(
        select(TurnoutCounter.station_id, TurnoutCounter.hour_local, TurnoutCounter.sex, TurnoutCounter.path,
               TurnoutCounter.count)
    ).all()
    by_hour = [0] * 24
    by_sex = dict.fromkeys(SEXES, 0)
    by_path = dict.fromkeys(IDENTIFICATION_PATHS, 0)
    per_station: dict[str, dict[str, int]] = defaultdict(lambda: {"identified": 0, "manual": 0})
    for station_id, hour, sex, path, count in counters:
        if area and station_id not in stations:
            continue
        by_hour[hour] += count
        by_sex[sex] = by_sex.get(sex, 0) + count
        by_path[path] = by_path.get(path, 0) + count
        per_station[station_id]["identified"] += count
        if path == "manual":
            per_station[station_id]["manual"] += count
    registered = sum(s.registered_voters for s in stations.values())
    total = sum(by_hour)
    cumulative = 0
    hours = []
    for hour, count in enumerate(by_hour):
        cumulative += count
        hours.append({"hour": hour, "identified": count, "cumulative": cumulative,
                      "cumulative_percent": _percent(cumulative, registered)})
    station_rows = []
    groups: dict[str, dict[str, dict[str, int]]] = {"oblast": {}, "district": {}}
    for station_id in sorted(set(stations) | set(per_station)):
        st = stations.get(station_id)
        counts = per_station.get(station_id, {"identified": 0, "manual": 0})
        reg = st.registered_voters if st else 0
        oblast = st.oblast if st else UNREGISTERED
        district = st.district if st else UNREGISTERED
        station_rows.append({
            "station_id": station_id, "name": st.name if st else "", "oblast": oblast, "district": district,
            "registered": reg, "identified": counts["identified"], "percent": _percent(counts["identified"], reg),
            "manual": counts["manual"],
        })
        for level, key in (("oblast", oblast), ("district", district)):
            g = groups[level].setdefault(key, {"registered": 0, "identified": 0, "stations": 0})
            g["registered"] += reg
            g["identified"] += counts["identified"]
            g["stations"] += 1
    return {
        "generated_at": datetime.now(UTC).isoformat(),
        "area": area or "",
        "total": total,
        "registered": registered,
        "percent": _percent(total, registered),
        "by_hour": hours,
        "by_sex": by_sex,
        "by_path": by_path,
        "by_oblast": [{"oblast": k, **v, "percent": _percent(v["identified"], v["registered"])}
                      for k, v in sorted(groups["oblast"].items())],
        "by_district": [{"district": k, **v, "percent": _percent(v["identified"], v["registered"])}
                        for k, v in sorted(groups["district"].items())],
        "stations": station_rows,
    }


def station_counts(session: Session, station_ids: list[str]) -> dict[str, int]:
    """Identifications counted for each of ``station_ids`` (cheap: used by the benchmark's visibility probe)."""
    rows = session.execute(
        select(TurnoutCounter.station_id, func.sum(TurnoutCounter.count))
        .where(TurnoutCounter.station_id.in_(station_ids))
        .group_by(TurnoutCounter.station_id)
    ).all()
    counts = dict.fromkeys(station_ids, 0)
    counts.update({s: int(n) for s, n in rows})
    return counts


def kit_status(session: Session, area: str | None = None, now: datetime | None = None) -> list[dict[str, Any]]:
    """Every kit with last contact, devices, outbox size and its identifications in the last hour (throughput)."""
    now = now or datetime.now(UTC)
    stations = _stations(session, area) if area else None
    hour_ago = now.timestamp() - 3600
    recent = dict(
        ((s, k), int(n))
        for s, k, n in session.execute(
            select(Identification.station_id, Identification.kit_id, func.count())
            .where(Identification.identified_at >= datetime.fromtimestamp(hour_ago, UTC))
            .group_by(Identification.station_id, Identification.kit_id)
        )
    )
    result = []
    for kit in session.scalars(select(Kit).order_by(Kit.station_id, Kit.kit_id)):
        if stations is not None and kit.station_id not in stations:
            continue
        result.append({
            "station_id": kit.station_id, "kit_id": kit.kit_id, "status": kit.status, "training": kit.training,
            "last_seen_at": kit.last_seen_at.isoformat() if kit.last_seen_at else None,
            "seconds_since_seen": round((now - kit.last_seen_at).total_seconds(), 1) if kit.last_seen_at else None,
            "devices": json.loads(kit.devices_json or "{}"), "pending": kit.pending, "paper_low": kit.paper_low,
            "identified_last_hour": recent.get((kit.station_id, kit.kit_id), 0),
        })
    return result


def reference_curve(session: Session) -> dict[str, Any]:
    """The previous election's curve (the most recently named label), or an empty one."""
    rows = session.execute(
        select(ReferenceCurve.label, ReferenceCurve.hour_local, ReferenceCurve.cumulative_percent)
        .order_by(ReferenceCurve.label, ReferenceCurve.hour_local)
    ).all()
    if not rows:
        return {"label": "", "points": []}
    label = max(r[0] for r in rows)
    return {"label": label, "points": [{"hour": h, "cumulative_percent": p} for lab, h, p in rows if lab == label]}


def load_reference_curve(session: Session, label: str, points: dict[int, float]) -> None:
    """Store (or replace) a previous election's curve: local hour -> cumulative percent."""
    for hour, percent in points.items():
        if not 0 <= hour <= 23 or not 0 <= percent <= 100:
            raise ValueError(f"hour {hour} / percent {percent} out of range")
        session.merge(ReferenceCurve(label=label, hour_local=hour, cumulative_percent=percent))
