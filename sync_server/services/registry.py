"""Station registry: import of the administrative structure, kit provisioning and revocation."""

from __future__ import annotations

import csv
import hashlib
import io
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from link.keys import KeyPair, KitKeys
from sync_server.errors import NotFoundError, RegistryError
from sync_server.models import Commission, Kit, Station

REGISTRY_COLUMNS = (
    "station_id", "name", "address", "oblast", "district", "commission_id", "commission_name", "registered_voters",
)
_IDENT_RE = re.compile(r"[0-9A-Za-z_.-]{1,16}")


@dataclass(frozen=True)
class StationRow:
    """One line of the administrative structure: a station with its district, oblast and commission."""

    station_id: str
    name: str
    address: str
    oblast: str
    district: str
    commission_id: str
    commission_name: str
    registered_voters: int


def parse_registry_csv(text: str) -> list[StationRow]:
    """Parse and check the registry CSV; every problem is reported with its line number, nothing is half-read."""
    reader = csv.DictReader(io.StringIO(text))
    missing = [c for c in REGISTRY_COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        raise RegistryError(f"registry CSV lacks columns {missing}; expected {', '.join(REGISTRY_COLUMNS)}")
    rows: list[StationRow] = []
    errors: list[str] = []
    seen: set[str] = set()
    for line, record in enumerate(reader, start=2):
        values = {k: (record.get(k) or "").strip() for k in REGISTRY_COLUMNS}
        problems = []
        if not _IDENT_RE.fullmatch(values["station_id"]):
            problems.append("station_id must be 1-16 letters, digits, '.', '_' or '-'")
        elif values["station_id"] in seen:
            problems.append(f"station {values['station_id']} appears twice")
        if not _IDENT_RE.fullmatch(values["commission_id"]):
            problems.append("commission_id must be 1-16 letters, digits, '.', '_' or '-'")
        for name in ("name", "oblast", "district"):
            if not values[name]:
                problems.append(f"{name} is empty")
        try:
            voters = int(values["registered_voters"])
            if voters < 0:
                raise ValueError
        except ValueError:
            problems.append("registered_voters must be a whole number >= 0")
            voters = 0
        if problems:
            errors.append(f"line {line}: " + "; ".join(problems))
            continue
        seen.add(values["station_id"])
        rows.append(StationRow(**{**values, "registered_voters": voters}))  # type: ignore[arg-type]
    if errors:
        shown = "\n".join(errors[:20])
        raise RegistryError(f"registry CSV refused, nothing imported ({len(errors)} bad lines):\n{shown}")
    if not rows:
        raise RegistryError("registry CSV has no stations")
    return rows


def import_registry(session: Session, rows: list[StationRow]) -> int:
    """Insert or update commissions and stations (by their stable ids); returns how many stations.

    The rows already stored are loaded in a few queries (not one per row), so a country's 2,500 stations import in
    about a second."""
    commissions = _load(session, Commission, Commission.commission_id, {r.commission_id for r in rows})
    stations = _load(session, Station, Station.station_id, {r.station_id for r in rows})
    for row in rows:
        values = {"name": row.commission_name or row.commission_id, "oblast": row.oblast, "district": row.district}
        commission = commissions.get(row.commission_id)
        if commission is None:
            commissions[row.commission_id] = commission = Commission(commission_id=row.commission_id, **values)
            session.add(commission)
        else:
            for key, value in values.items():
                setattr(commission, key, value)
        station_values: dict[str, Any] = {"name": row.name, "address": row.address, "oblast": row.oblast, "district": row.district,
                          "commission_id": row.commission_id, "registered_voters": row.registered_voters}
        station = stations.get(row.station_id)
        if station is None:
            stations[row.station_id] = station = Station(station_id=row.station_id, **station_values)
            session.add(station)
        else:
            for name, new in station_values.items():
                setattr(station, name, new)
    return len(rows)


def _load(session: Session, model: Any, column: Any, ids: set[str]) -> dict[str, Any]:
    wanted = sorted(ids)
    found: dict[str, Any] = {}
    for start in range(0, len(wanted), 1000):
        for obj in session.scalars(select(model).where(column.in_(wanted[start:start + 1000]))):
            found[getattr(obj, column.key)] = obj
    return found


def provision_kit(
    session: Session, station_id: str, kit_id: str, server_public: str, training: bool = False
) -> KitKeys:
    """Register a new kit for a station with a fresh CURVE key pair; returns the kit's key file contents.

    The secret key leaves the CEC only in the returned key file; the database keeps the public key alone.
    """
    if not _IDENT_RE.fullmatch(kit_id):
        raise RegistryError("kit id must be 1-16 letters, digits, '.', '_' or '-'")
    if session.get(Station, station_id) is None:
        raise RegistryError(f"station {station_id} is not in the registry: import the administrative structure first")
    existing = session.scalar(select(Kit).where(Kit.station_id == station_id, Kit.kit_id == kit_id))
    if existing is not None:
        raise RegistryError(
            f"kit {station_id}/{kit_id} is already provisioned ({existing.status}); give a replacement kit a new id"
        )
    pair = KeyPair.generate()
    session.add(
        Kit(station_id=station_id, kit_id=kit_id, public_key=pair.public, status="active", training=training,
            provisioned_at=datetime.now(UTC), devices_json="{}", pending=0, paper_low=False, revoke_reason="")
    )
    return KitKeys(station_id=station_id, kit_id=kit_id, public=pair.public, secret=pair.secret,
                   server_public=server_public, training=training)


def revoke_kit(session: Session, station_id: str, kit_id: str, reason: str) -> None:
    """Refuse a lost or stolen kit from now on: new connections fail at ZAP, open ones have messages refused."""
    kit = session.scalar(select(Kit).where(Kit.station_id == station_id, Kit.kit_id == kit_id))
    if kit is None:
        raise NotFoundError(f"no kit {station_id}/{kit_id} is provisioned")
    if not reason.strip():
        raise RegistryError("give a reason for the revocation (it is kept for the audit)")
    kit.status = "revoked"
    kit.revoked_at = datetime.now(UTC)
    kit.revoke_reason = reason[:200]


def front_endpoints(endpoint: str, fronts: int) -> list[str]:
    """The kits' endpoints of ``fronts`` ingest fronts: front ``i`` listens on ``endpoint``'s port plus ``i``.

    ``tcp://HOST:PORT`` only (a kit reaches the CEC over TCP); one front keeps ``endpoint`` as it is (also ``*``).
    """
    if fronts < 1:
        raise RegistryError("the server needs at least one ingest front")
    if fronts == 1:
        return [endpoint]
    head, _, port = endpoint.rpartition(":")
    if not endpoint.startswith("tcp://") or not port.isdigit():
        raise RegistryError(f"several ingest fronts need a tcp://HOST:PORT endpoint with a fixed port, not {endpoint}")
    return [f"{head}:{int(port) + i}" for i in range(fronts)]


def kit_front(station_id: str, kit_id: str, fronts: int) -> int:
    """Which ingest front a kit connects to: a stable hash of (station, kit), so the assignment needs no table, never
    changes while the number of fronts does not, and spreads a registry's kits evenly."""
    digest = hashlib.sha256(f"{station_id}/{kit_id}".encode()).digest()
    return int.from_bytes(digest[:4], "big") % max(1, fronts)


def kit_endpoint(endpoint: str, fronts: int, station_id: str, kit_id: str) -> str:
    """The endpoint a kit is given at provisioning: its front's (see :func:`front_endpoints`, :func:`kit_front`)."""
    return front_endpoints(endpoint, fronts)[kit_front(station_id, kit_id, fronts)]


def provision_kits(
    session: Session, kits: list[tuple[str, str]], server_public: str, training: bool = False
) -> list[KitKeys]:
    """:func:`provision_kit` for many (station, kit) pairs at once (a whole oblast's kits): the same checks, three
    queries in all instead of two per kit. Nothing is provisioned if any pair is refused."""
    for _station_id, kit_id in kits:
        if not _IDENT_RE.fullmatch(kit_id):
            raise RegistryError(f"kit id {kit_id[:20]!r} must be 1-16 letters, digits, '.', '_' or '-'")
    if len(set(kits)) != len(kits):
        raise RegistryError("the same kit is listed twice")
    wanted = sorted({s for s, _ in kits})
    known: set[str] = set()
    existing: set[tuple[str, str]] = set()
    for start in range(0, len(wanted), 1000):
        chunk = wanted[start:start + 1000]
        known |= set(session.scalars(select(Station.station_id).where(Station.station_id.in_(chunk))))
        existing |= {(s, k) for s, k in session.execute(
            select(Kit.station_id, Kit.kit_id).where(Kit.station_id.in_(chunk)))}
    missing = [s for s in wanted if s not in known]
    if missing:
        raise RegistryError(f"stations not in the registry: {', '.join(missing[:10])}: import the structure first")
    taken = [f"{s}/{k}" for s, k in kits if (s, k) in existing]
    if taken:
        raise RegistryError(f"kits already provisioned: {', '.join(taken[:10])}; give replacement kits new ids")
    now = datetime.now(UTC)
    out = []
    rows = []
    for station_id, kit_id in kits:
        pair = KeyPair.generate()
        rows.append({"station_id": station_id, "kit_id": kit_id, "public_key": pair.public, "status": "active",
                     "training": training, "provisioned_at": now, "devices_json": "{}", "pending": 0,
                     "paper_low": False, "revoke_reason": ""})
        out.append(KitKeys(station_id=station_id, kit_id=kit_id, public=pair.public, secret=pair.secret,
                           server_public=server_public, training=training))
    # One executemany without RETURNING (the row ids are not needed here): 20,000 kits in seconds.
    session.execute(insert(Kit), rows)
    return out
