"""What kits of one station tell each other: their mark changes, read straight from their audit logs.

A kit answers "changes after audit entry N" with its ``identified`` and ``undone`` entries after N. The receiver
applies them to ``peer_marks`` keyed by (origin kit, origin record id) and moves its cursor for that kit in the same
transaction, so a crash or a partition never loses or doubles a mark: the next request simply resumes from the
cursor. A voter marked at two kits during a partition keeps both records; the counters count the voter once and flag
the conflict (Clone pattern of the ZeroMQ guide, with the audit log as the ordered update stream).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, update

from station.audit import entry_hash
from station.signing import public_from_hex, verify
from station.store import AuditEntry, KitStore, PeerCursor, PeerMark

#: Largest batch per reply: keeps a reconnecting kit's first reply small (~200 bytes per change).
MAX_CHANGES = 500
_KINDS = ("identified", "undone")


def changes_since(store: KitStore, after: int) -> dict[str, Any]:
    """This kit's mark changes after audit entry ``after`` (reply body of the peer protocol)."""
    info = store.kit_info()
    with store.transaction() as session:
        rows = session.scalars(
            select(AuditEntry)
            .where(AuditEntry.seq > after, AuditEntry.kind.in_(_KINDS))
            .order_by(AuditEntry.seq)
            .limit(MAX_CHANGES)
        ).all()
        last = session.scalar(select(AuditEntry.seq).order_by(AuditEntry.seq.desc()).limit(1)) or 0
    changes = []
    for row in rows:
        body = json.loads(row.body)
        changes.append({"seq": row.seq, "kind": row.kind, "at": row.at.isoformat(), "body": body,
                        "prev_hash": row.prev_hash, "hash": row.hash, "signature": row.signature})
    # When a full batch came back, the cursor may only move to the last change sent, not to the log's end.
    upto = rows[-1].seq if len(rows) == MAX_CHANGES else last
    return {"election": info.election_id, "station": info.station_id, "kit": info.kit_id, "key": info.public_key,
            "changes": changes, "upto": upto}


def apply_changes(store: KitStore, reply: dict[str, Any]) -> int:
    """Apply a peer's reply (idempotent); returns how many new marks were learnt."""
    info = store.kit_info()
    if (reply.get("election"), reply.get("station")) != (info.election_id, info.station_id):
        raise ValueError(f"peer {reply.get('kit')} belongs to station {reply.get('station')}, not this one")
    kit = str(reply["kit"])
    if kit == info.kit_id:
        raise ValueError("a peer claims this kit's own number: two kits set up with the same kit number")
    public = public_from_hex(str(reply.get("key", "")))
    for change in reply["changes"]:
        # Each change is an entry of the peer's signed audit log: recompute its hash and check the signature, so a
        # machine on the LAN cannot inject marks (or undo them) in a kit's name.
        at = datetime.fromisoformat(change["at"])
        digest = entry_hash(change["prev_hash"], int(change["seq"]), at, change["kind"], change["body"])
        if digest != change["hash"] or not verify(public, bytes.fromhex(change["signature"]), bytes.fromhex(digest)):
            raise ValueError(f"peer kit {kit} sent an entry ({change['seq']}) whose signature does not verify")
    learnt = 0
    now = datetime.now(UTC)
    with store.transaction() as session:
        cursor = session.get(PeerCursor, kit)
        if cursor is None:
            cursor = PeerCursor(kit_id=kit, audit_seq=0, public_key=str(reply["key"]))
            session.add(cursor)
        elif cursor.public_key and cursor.public_key != reply["key"]:
            raise ValueError(
                f"peer kit {kit} now presents another signing key than at first contact: check that kit; its marks "
                "are not accepted"
            )
        for change in reply["changes"]:
            if change["seq"] <= cursor.audit_seq:
                continue
            body = change["body"]
            if change["kind"] == "identified":
                if body.get("replaces") is not None:
                    _deactivate(session, kit, int(body["replaces"]))
                exists = session.scalar(
                    select(PeerMark.id).where(PeerMark.origin_kit == kit, PeerMark.origin_id == int(body["record"]))
                )
                if exists is None:
                    session.add(
                        PeerMark(
                            origin_kit=kit,
                            origin_id=int(body["record"]),
                            personal_number=body["personal_number"],
                            path=body["path"],
                            sex=body.get("sex", ""),
                            identified_at=datetime.fromisoformat(change["at"]),
                            active=True,
                            received_at=now,
                        )
                    )
                    learnt += 1
            else:
                _deactivate(session, kit, int(body["record"]))
        cursor.audit_seq = max(cursor.audit_seq, int(reply["upto"]))
    return learnt


def _deactivate(session: Any, kit: str, record_id: int) -> None:
    session.execute(
        update(PeerMark).where(PeerMark.origin_kit == kit, PeerMark.origin_id == record_id).values(active=False)
    )


def cursor_of(store: KitStore, kit: str) -> int:
    """The last audit entry of ``kit`` applied here."""
    with store.transaction() as session:
        row = session.get(PeerCursor, kit)
        return row.audit_seq if row is not None else 0
