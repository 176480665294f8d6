"""The kit's counters: this kit's identifications by path, sex and reason, failures apart, and the station's total.

The station total counts each voter once over this kit's active marks and those learnt from peer kits, so every kit of
a station closes with the same total once they have reconciled (see :mod:`station.peers`).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select

from station.store import Attempt, IdentificationRecord, KitStore, PeerMark, Voter

#: Attempt kinds: no usable image after N tries, no match, and an ID card refused for a forged or copied chip
#: (see :mod:`station.workflow.refusals`; the column holds 8 characters).
FAILURE_TO_ACQUIRE, FAILURE_TO_MATCH, FORGED_CARD = "fta", "ftm", "forged"


@dataclass(frozen=True)
class Counters:
    """A snapshot of the counters (every field an integer or a dict of integers, ready for a receipt)."""

    identified: int = 0
    by_path: dict[str, int] = field(default_factory=dict)
    by_sex: dict[str, int] = field(default_factory=dict)
    manual_by_reason: dict[str, int] = field(default_factory=dict)
    mobile: int = 0
    overrides: int = 0
    undone: int = 0
    reprints: int = 0
    failure_to_acquire: int = 0
    failure_to_match: int = 0
    #: ID cards refused because their chip failed passive or active authentication (forged or copied).
    cards_refused: int = 0
    station_identified: int = 0
    conflicts: int = 0

    def as_dict(self) -> dict[str, Any]:
        """Plain dict with sorted keys inside (stable for signing)."""
        return {k: (dict(sorted(v.items())) if isinstance(v, dict) else v) for k, v in asdict(self).items()}


def counters(store: KitStore, until: datetime | None = None) -> Counters:
    """Count everything committed up to ``until`` (default: now)."""
    with store.transaction() as session:
        query = select(IdentificationRecord, Voter.sex).join(
            Voter, Voter.personal_number == IdentificationRecord.personal_number
        )
        if until is not None:
            query = query.where(IdentificationRecord.identified_at <= until)
        rows = session.execute(query).all()
        attempts = list(session.scalars(select(Attempt)))
        peers = list(session.scalars(select(PeerMark).where(PeerMark.active.is_(True))))
    records = [r for r, _ in rows]
    active = [r for r in records if r.active]
    by_path = Counter(r.path for r in active)
    by_sex = Counter(sex for r, sex in rows if r.active)
    manual = Counter(r.reason for r in active if r.path == "manual")
    local_pins = {r.personal_number for r in active}
    peer_pins = Counter(p.personal_number for p in peers)
    conflicts = sum(1 for pin, n in peer_pins.items() if n > 1 or pin in local_pins)
    if until is not None:
        attempts = [a for a in attempts if a.at <= until]
    return Counters(
        identified=len(active),
        by_path=dict(by_path),
        by_sex=dict(by_sex),
        manual_by_reason=dict(manual),
        mobile=sum(1 for r in active if r.mobile),
        overrides=sum(1 for r in records if r.override),
        undone=sum(1 for r in records if r.undone_at is not None),
        reprints=sum(r.reprints for r in records),
        failure_to_acquire=sum(1 for a in attempts if a.kind == FAILURE_TO_ACQUIRE),
        failure_to_match=sum(1 for a in attempts if a.kind == FAILURE_TO_MATCH),
        cards_refused=sum(1 for a in attempts if a.kind == FORGED_CARD),
        station_identified=len(local_pins | set(peer_pins)),
        conflicts=conflicts,
    )
