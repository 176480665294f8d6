"""Open data for observers: per-station hourly turnout as CSV and JSON with stable station ids, and a signed
snapshot (Ed25519, RFC 8032) that anyone can check against the CEC's published public key."""

from __future__ import annotations

import base64
import csv
import io
import json
from datetime import UTC, datetime
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from sync_server.models import Station, TurnoutCounter

OPEN_COLUMNS = ("station_id", "oblast", "district", "registered", "hour", "identified", "cumulative")


def hourly_rows(session: Session) -> list[dict[str, Any]]:
    """One row per station and local hour with identifications, plus the running total per station."""
    counts = session.execute(
        select(TurnoutCounter.station_id, TurnoutCounter.hour_local, func.sum(TurnoutCounter.count))
        .group_by(TurnoutCounter.station_id, TurnoutCounter.hour_local)
        .order_by(TurnoutCounter.station_id, TurnoutCounter.hour_local)
    ).all()
    stations = {s.station_id: s for s in session.scalars(select(Station))}
    rows = []
    running: dict[str, int] = {}
    for station_id, hour, n in counts:
        running[station_id] = running.get(station_id, 0) + int(n)
        st = stations.get(station_id)
        rows.append({
            "station_id": station_id, "oblast": st.oblast if st else "", "district": st.district if st else "",
            "registered": st.registered_voters if st else 0, "hour": int(hour), "identified": int(n),
            "cumulative": running[station_id],
        })
    return rows


def hourly_csv(rows: list[dict[str, Any]]) -> str:
    """The rows as CSV with a header line."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=OPEN_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def signed_snapshot(session: Session, key: Ed25519PrivateKey) -> dict[str, str]:
    """The hourly rows as canonical JSON, its Ed25519 signature and the public key (all base64 where binary).

    Verify with: Ed25519 public key ``public_key`` over the UTF-8 bytes of ``payload`` gives ``signature``.
    """
    payload = json.dumps(
        {"generated_at": datetime.now(UTC).isoformat(), "rows": hourly_rows(session)},
        ensure_ascii=False, sort_keys=True, separators=(",", ":"),
    )
    signature = key.sign(payload.encode("utf-8"))
    public = key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    return {
        "algorithm": "Ed25519",
        "payload": payload,
        "signature": base64.b64encode(signature).decode("ascii"),
        "public_key": base64.b64encode(public).decode("ascii"),
    }
