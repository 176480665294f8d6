"""The dashboard's state in one read: turnout, the reference curve, kit health and the anomaly feed."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session

from sync_server import parameters as P
from sync_server.services.anomalies import find_anomalies
from sync_server.services.turnout import kit_status, reference_curve, turnout_summary

#: Kits listed by name on the dashboard: those with a problem first, at most this many.
MAX_KITS_LISTED = 200


def dashboard_state(
    session: Session, area: str | None, opening_hour: int = 7, closing_hour: int = 20, now: datetime | None = None
) -> dict[str, Any]:
    """What the live page shows, limited to ``area`` for a territorial commission."""
    now = now or datetime.now(UTC)
    kits = kit_status(session, area, now)
    faulty = [k for k in kits if any(v not in ("ready", "busy") for v in k["devices"].values()) or k["paper_low"]]
    silent = [k for k in kits if k["status"] == "active"
              and (k["seconds_since_seen"] is None or k["seconds_since_seen"] > P.SILENT_AFTER_S)]
    problem_ids = {(k["station_id"], k["kit_id"]) for k in faulty + silent}
    listed = sorted(kits, key=lambda k: ((k["station_id"], k["kit_id"]) not in problem_ids,
                                         k["station_id"], k["kit_id"]))[:MAX_KITS_LISTED]
    return {
        "generated_at": now.isoformat(),
        "turnout": turnout_summary(session, area),
        "reference": reference_curve(session),
        "kits": {
            "total": len(kits),
            "active": sum(k["status"] == "active" for k in kits),
            "revoked": sum(k["status"] == "revoked" for k in kits),
            "silent": len(silent),
            "device_faults": len(faulty),
            "pending": sum(k["pending"] for k in kits),
            "listed": listed,
        },
        "anomalies": find_anomalies(session, now, area, opening_hour, closing_hour),
    }
