"""The kit's audit log: every entry carries the hash of the one before it and the kit's Ed25519 signature.

An entry's hash is SHA-256 over the previous entry's hash and the entry's canonical JSON (sorted keys, no spaces), so
altering, inserting or removing an entry breaks every later link; the signature over that hash means nobody without
the kit's key can rebuild a consistent chain. Removing the *last* entries leaves a valid shorter chain: that is caught
by cross-checking the identifications table, the signed receipts and the CEC's copy of the outbox (see
:func:`verify_log`).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from station.signing import verify
from station.store import AuditEntry, IdentificationRecord, KitStore

#: The hash before the first entry (64 zeros): the chain's anchor.
GENESIS_HASH = "0" * 64


def _canonical(seq: int, at: datetime, kind: str, body: dict[str, Any]) -> bytes:
    return json.dumps(
        {"seq": seq, "at": at.astimezone(UTC).isoformat(), "kind": kind, "body": body},
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    ).encode()


def entry_hash(prev_hash: str, seq: int, at: datetime, kind: str, body: dict[str, Any]) -> str:
    """SHA-256 (hex) of the previous hash followed by the entry's canonical JSON."""
    return hashlib.sha256(bytes.fromhex(prev_hash) + _canonical(seq, at, kind, body)).hexdigest()


def append(session: Session, key: Ed25519PrivateKey, kind: str, body: dict[str, Any], at: datetime) -> AuditEntry:
    """Add an entry inside the caller's transaction, so it commits (or not) with the change it records.

    The caller's transaction began with BEGIN IMMEDIATE, so no other writer can append between reading the last
    entry and adding this one.
    """
    last = session.execute(select(AuditEntry.seq, AuditEntry.hash).order_by(AuditEntry.seq.desc()).limit(1)).first()
    seq, prev = (last[0] + 1, last[1]) if last else (1, GENESIS_HASH)
    digest = entry_hash(prev, seq, at, kind, body)
    entry = AuditEntry(
        seq=seq,
        at=at,
        kind=kind,
        body=json.dumps(body, sort_keys=True, ensure_ascii=False),
        prev_hash=prev,
        hash=digest,
        signature=key.sign(bytes.fromhex(digest)).hex(),
    )
    session.add(entry)
    return entry


@dataclass
class LogReport:
    """What :func:`verify_log` found: ``ok`` only when every check passed."""

    entries: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when the chain, every signature and the cross-checks hold."""
        return not self.problems


def verify_log(store: KitStore, public: Ed25519PublicKey) -> LogReport:
    """Walk the whole log: sequence without gaps, each link, each hash, each signature; then cross-check marks.

    Every identification row must have its ``identified`` entry (same record id) and vice versa, so deleting a mark
    or forging one without its entry is reported too.
    """
    report = LogReport()
    prev = GENESIS_HASH
    logged_marks: set[int] = set()
    with store.transaction() as session:
        expected = 1
        for entry in session.scalars(select(AuditEntry).order_by(AuditEntry.seq)):
            report.entries += 1
            where = f"entry {entry.seq}"
            if entry.seq != expected:
                report.problems.append(f"{where}: expected entry {expected}; entries are missing")
            expected = entry.seq + 1
            try:
                body = json.loads(entry.body)
            except ValueError:
                report.problems.append(f"{where}: body is not JSON")
                continue
            if entry.prev_hash != prev:
                report.problems.append(f"{where}: does not follow the previous entry (chain broken)")
            digest = entry_hash(entry.prev_hash, entry.seq, entry.at, entry.kind, body)
            if digest != entry.hash:
                report.problems.append(f"{where}: content altered (hash mismatch)")
            if not verify(public, bytes.fromhex(entry.signature), bytes.fromhex(entry.hash)):
                report.problems.append(f"{where}: signature does not verify with the kit's key")
            prev = entry.hash
            if entry.kind == "identified":
                logged_marks.add(int(body["record"]))
        marks = set(session.scalars(select(IdentificationRecord.id)))
        count = session.scalar(select(func.count()).select_from(IdentificationRecord)) or 0
    for record_id in sorted(marks - logged_marks):
        report.problems.append(f"identification {record_id} has no audit entry (inserted behind the log's back)")
    for record_id in sorted(logged_marks - marks):
        report.problems.append(f"identification {record_id} is in the log but missing from the store (deleted)")
    if count != len(marks):
        report.problems.append("identification ids are not unique")
    return report
