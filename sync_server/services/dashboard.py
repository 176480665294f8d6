"""The dashboard's state: turnout, the reference curve, kit health and the anomaly feed, in parts that age differently.

The live page gets a small state pushed (national and oblast figures, the curve, kit health, anomalies: a few KB
whatever the number of stations) and reads the station table a page at a time (:func:`station_page`), so its first
paint does not wait for thousands of rows. The server keeps each part in a cache (``sync_server/dashboard_cache.py``)
refreshed at most every few seconds, so a hundred open dashboards cost the database what one does.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from sync_server import parameters as P
from sync_server.models import Identification, Kit, Station
from sync_server.services.anomalies import find_anomalies
from sync_server.services.turnout import reference_curve, turnout_summary

#: Kits listed by name on the dashboard: those with a problem first, at most this many.
MAX_KITS_LISTED = 200
#: Station table columns the page may sort by.
SORT_KEYS = ("station_id", "oblast", "district", "registered", "identified", "percent", "manual")
#: Most station rows in one page of the table.
MAX_PAGE_ROWS = 500


def dashboard_turnout(session: Session, area: str | None) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The turnout part of the pushed state (without per-station rows) and the station rows for the table."""
    summary = turnout_summary(session, area)
    stations = summary.pop("stations")
    summary["stations_count"] = len(stations)
    summary.pop("by_district", None)  # the table and the open data carry districts; the push does not need them
    return summary, stations


def dashboard_kits(session: Session, area: str | None, now: datetime | None = None) -> dict[str, Any]:
    """Kit health: counts of active, revoked, silent and faulty kits, and the problem kits first (at most
    MAX_KITS_LISTED), with their identifications in the last hour. Plain rows: 20,000 kits in tens of ms."""
    now = now or datetime.now(UTC)
    t = Kit.__table__
    query = select(t.c.station_id, t.c.kit_id, t.c.status, t.c.training, t.c.last_seen_at, t.c.devices_json,
                   t.c.pending, t.c.paper_low)
    if area:
        query = query.where(t.c.station_id.in_(
            select(Station.station_id).where(or_(Station.oblast == area, Station.district == area))))
    kits = []
    silent = faulty = pending = active = revoked = 0
    for station_id, kit_id, status, training, seen, devices_json, waiting, paper_low in session.execute(query):
        devices = json.loads(devices_json or "{}")
        since = round((now - seen).total_seconds(), 1) if seen else None
        is_faulty = paper_low or any(v not in ("ready", "busy") for v in devices.values())
        is_silent = status == "active" and (since is None or since > P.SILENT_AFTER_S)
        active += status == "active"
        revoked += status == "revoked"
        silent += is_silent
        faulty += is_faulty
        pending += waiting
        kits.append((not (is_faulty or is_silent), station_id, kit_id, {
            "station_id": station_id, "kit_id": kit_id, "status": status, "training": training,
            "last_seen_at": seen.isoformat() if seen else None, "seconds_since_seen": since, "devices": devices,
            "pending": waiting, "paper_low": paper_low, "identified_last_hour": 0,
        }))
    kits.sort(key=lambda k: k[:3])
    listed = [k[3] for k in kits[:MAX_KITS_LISTED]]
    if listed:
        hour_ago = datetime.fromtimestamp(now.timestamp() - 3600, UTC)
        wanted = {(k["station_id"], k["kit_id"]): k for k in listed}
        for s, k, n in session.execute(
            select(Identification.station_id, Identification.kit_id, func.count())
            .where(Identification.station_id.in_(sorted({s for s, _ in wanted})),
                   Identification.identified_at >= hour_ago)
            .group_by(Identification.station_id, Identification.kit_id)
        ):
            if (s, k) in wanted:
                wanted[(s, k)]["identified_last_hour"] = int(n)
    return {"total": len(kits), "active": active, "revoked": revoked, "silent": silent, "device_faults": faulty,
            "pending": pending, "listed": listed}


def dashboard_state(
    session: Session, area: str | None, opening_hour: int = 7, closing_hour: int = 20, now: datetime | None = None
) -> dict[str, Any]:
    """What the live page is pushed, limited to ``area`` for a territorial commission, computed now in one go."""
    now = now or datetime.now(UTC)
    turnout, _stations = dashboard_turnout(session, area)
    return {
        "generated_at": now.isoformat(),
        "turnout": turnout,
        "reference": reference_curve(session),
        "kits": dashboard_kits(session, area, now),
        "anomalies": find_anomalies(session, now, area, opening_hour, closing_hour),
    }


def station_page(rows: list[dict[str, Any]], offset: int = 0, limit: int = 100, sort: str = "station_id",
                 descending: bool = False, query: str = "") -> dict[str, Any]:
    """One page of the station table: rows filtered by ``query`` (station id, oblast or district), sorted by
    ``sort`` (empty values last whatever the direction), ``limit`` rows from ``offset``; with the filtered count."""
    if sort not in SORT_KEYS:
        raise ValueError(f"sort must be one of {', '.join(SORT_KEYS)}")
    q = query.strip().lower()
    if q:
        rows = [r for r in rows if q in f"{r['station_id']} {r['oblast']} {r['district']}".lower()]
    present = [r for r in rows if r[sort] is not None]
    missing = [r for r in rows if r[sort] is None]
    present.sort(key=lambda r: (r[sort], r["station_id"]), reverse=descending)
    ordered = present + missing
    limit = max(1, min(limit, MAX_PAGE_ROWS))
    offset = max(0, offset)
    return {"total": len(ordered), "offset": offset, "limit": limit, "sort": sort,
            "dir": "desc" if descending else "asc", "rows": ordered[offset:offset + limit]}
