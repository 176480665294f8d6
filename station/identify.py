"""Identification of a voter and the refusal of a second one.

This module holds the rule every path shares: look the voter up, refuse if already marked here or at a peer kit
(saying when, where and how), otherwise commit the mark, its audit entry and the CEC message in one transaction.
Undo, supervisor override and print bookkeeping live here too, so each change and its audit entry commit together.
"""

from __future__ import annotations

import enum
import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from link.messages import IdentificationEvent, encode
from station import audit
from station.errors import WorkflowError
from station.store import (
    Attempt,
    IdentificationRecord,
    KitStore,
    NationalIndexEntry,
    OutboxMessage,
    PeerMark,
    Voter,
)


class FallbackReason(enum.StrEnum):
    """Why a voter was identified by typed personal number instead of a fingerprint (reason-coded ledger)."""

    NO_FINGERPRINTS = "no_fingerprints"
    WORN_PRINTS = "worn_prints"
    INJURY = "injury"
    DEVICE_FAULT = "device_fault"
    CARD_UNREADABLE = "card_unreadable"


class Path(enum.StrEnum):
    """How the voter was identified at this kit."""

    CARD_FINGER = "card_finger"
    FINGER = "finger"
    MANUAL = "manual"


#: The wire protocol names both finger paths "biometric" (link.messages.IDENTIFICATION_PATHS).
WIRE_PATH = {Path.CARD_FINGER: "biometric", Path.FINGER: "biometric", Path.MANUAL: "manual"}


class Outcome(enum.StrEnum):
    """What the screen shows after an identification attempt."""

    IDENTIFIED = "identified"
    ALREADY_VOTED = "already_voted"
    NOT_ON_LIST = "not_on_list"


@dataclass(frozen=True)
class EarlierMark:
    """The mark that makes a second identification a refusal: when, at which kit, by which path."""

    identified_at: datetime
    kit_id: str
    path: str
    peer: bool


@dataclass(frozen=True)
class IdentificationResult:
    """The outcome, the voter (when found) and, for a refusal, the earlier identification."""

    outcome: Outcome
    voter: Voter | None = None
    record: IdentificationRecord | None = None
    earlier: EarlierMark | None = None
    #: For a voter not on this list: the station the national index names (empty when unknown nationally).
    right_station: str = ""
    right_address: str = ""

    def describe(self) -> str:
        """One line for the operator (English; the screen uses its own catalogues)."""
        if self.outcome is Outcome.NOT_ON_LIST:
            if self.right_station:
                return (
                    f"Not on this station's list: the voter is registered at station {self.right_station}"
                    f"{' (' + self.right_address + ')' if self.right_address else ''}; send them there."
                )
            return "Not on this station's list: check the personal number, or send the voter to their station."
        assert self.voter is not None
        name = f"{self.voter.surname} {self.voter.given_name}"
        if self.outcome is Outcome.IDENTIFIED:
            assert self.record is not None
            return f"Identified: {name}, list no. {self.voter.list_number}. Print the slip."
        assert self.earlier is not None
        return (
            f"ALREADY VOTED: {name} was identified at {self.earlier.identified_at:%H:%M:%S} on kit "
            f"{self.earlier.kit_id} by {self.earlier.path}. Do not issue a ballot; call the chair if disputed."
        )


def voter_ref(election_id: str, personal_number: str) -> str:
    """Pseudonym of a voter for the CEC: the same person gives the same reference at any station of one election.

    SHA-256 over the election id and the personal number; the CEC learns no personal numbers but can spot one person
    identified at two stations.
    """
    return hashlib.sha256(f"{election_id}:{personal_number}".encode()).hexdigest()


def pin_hash(election_id: str, personal_number: str) -> str:
    """Key of the national index: the first 128 bits of :func:`voter_ref` (collisions negligible at 10^7 voters)."""
    return voter_ref(election_id, personal_number)[:32]


def identify_manual(
    store: KitStore,
    personal_number: str,
    reason: FallbackReason,
    operator: str,
    second_member: str,
    now: datetime | None = None,
    mobile: bool = False,
) -> IdentificationResult:
    """Identify by typed personal number (the supervised fallback), or refuse a second identification."""
    if not second_member or second_member == operator:
        raise ValueError("a typed identification needs a second commission member's confirmation")
    return mark(
        store,
        personal_number,
        Path.MANUAL,
        operator,
        reason=reason.value,
        second_member=second_member,
        now=now,
        mobile=mobile,
    )


def earlier_mark(session: Session, personal_number: str) -> tuple[IdentificationRecord | None, EarlierMark | None]:
    """The active mark of this voter here, or else at a peer kit of this station (None, None when not voted)."""
    local = session.scalar(
        select(IdentificationRecord).where(
            IdentificationRecord.personal_number == personal_number, IdentificationRecord.active.is_(True)
        )
    )
    if local is not None:
        return local, EarlierMark(local.identified_at, local.kit_id, local.path, peer=False)
    peer = session.scalar(
        select(PeerMark)
        .where(PeerMark.personal_number == personal_number, PeerMark.active.is_(True))
        .order_by(PeerMark.identified_at)
        .limit(1)
    )
    if peer is not None:
        return None, EarlierMark(peer.identified_at, peer.origin_kit, peer.path, peer=True)
    return None, None


def lookup(store: KitStore, personal_number: str) -> IdentificationResult | Voter:
    """The voter, or the result to show instead (not on list with the right station, or already voted)."""
    info = store.kit_info()
    with store.transaction() as session:
        voter = session.get(Voter, personal_number)
        if voter is None:
            return _not_on_list(session, info.election_id, personal_number)
        record, earlier = earlier_mark(session, personal_number)
        if earlier is not None:
            return IdentificationResult(Outcome.ALREADY_VOTED, voter, record, earlier)
        return voter


def _not_on_list(session: Session, election_id: str, personal_number: str) -> IdentificationResult:
    entry = session.get(NationalIndexEntry, pin_hash(election_id, personal_number))
    if entry is None:
        return IdentificationResult(Outcome.NOT_ON_LIST)
    return IdentificationResult(Outcome.NOT_ON_LIST, right_station=entry.station_id, right_address=entry.address)


def mark(
    store: KitStore,
    personal_number: str,
    path: Path,
    operator: str,
    *,
    reason: str = "",
    second_member: str = "",
    score: float = 0.0,
    now: datetime | None = None,
    mobile: bool = False,
    override_by: str = "",
    override_reason: str = "",
) -> IdentificationResult:
    """Commit one identification with its audit entry and CEC message, or refuse a second one.

    With ``override_by`` (a supervisor) and ``override_reason``, an earlier *local* mark is deactivated and the new
    one is flagged; an earlier peer mark is kept and the new mark is flagged as a conflict by the counters.
    """
    info = store.kit_info()
    key = store.signing_key()
    when = now or datetime.now(UTC)
    try:
        with store.transaction() as session:
            voter = session.get(Voter, personal_number)
            if voter is None:
                return _not_on_list(session, info.election_id, personal_number)
            if mobile and not voter.home_voting:
                # The mobile ballot box serves only voters who applied to vote at home (a separate list).
                raise WorkflowError(
                    f"{voter.surname} {voter.given_name} is not on the home-voting list: they vote at the station"
                )
            local, earlier = earlier_mark(session, personal_number)
            if earlier is not None and not override_by:
                return IdentificationResult(Outcome.ALREADY_VOTED, voter, local, earlier)
            if override_by and earlier is None:
                raise WorkflowError("there is no earlier mark to override: identify the voter normally")
            if local is not None:
                local.active = False
                session.flush()
            seq = (session.scalar(select(func.max(OutboxMessage.seq))) or 0) + 1
            event = IdentificationEvent(
                election_id=info.election_id,
                station_id=info.station_id,
                kit_id=info.kit_id,
                seq=seq,
                voter_ref=voter_ref(info.election_id, personal_number),
                sex=voter.sex,
                birth_year=voter.birth_date.year,
                path=WIRE_PATH[path],
                identified_at=when,
                fallback_reason=reason,
                override=bool(override_by),
            )
            record = IdentificationRecord(
                personal_number=personal_number,
                path=path.value,
                reason=reason,
                operator=operator,
                second_member=second_member,
                identified_at=when,
                kit_id=info.kit_id,
                seq=seq,
                active=True,
                mobile=mobile,
                override=bool(override_by),
                supervisor=override_by,
                override_reason=override_reason,
                score=score,
            )
            session.add(record)
            session.add(OutboxMessage(seq=seq, payload=encode(event), created_at=when))
            session.flush()
            audit.append(
                session,
                key,
                "identified",
                {
                    "record": record.id,
                    "personal_number": personal_number,
                    "path": path.value,
                    "reason": reason,
                    "operator": operator,
                    "second_member": second_member,
                    "mobile": mobile,
                    "override_by": override_by,
                    "override_reason": override_reason,
                    "replaces": local.id if local is not None else None,
                    "outbox_seq": seq,
                    "sex": voter.sex,
                },
                when,
            )
    except IntegrityError:
        # The unique active mark is the last line of defence: if another writer got there first, report its mark.
        with store.transaction() as session:
            voter = session.get(Voter, personal_number)
            local, earlier = earlier_mark(session, personal_number)
        if earlier is None:
            raise
        return IdentificationResult(Outcome.ALREADY_VOTED, voter, local, earlier)
    return IdentificationResult(Outcome.IDENTIFIED, voter, record)


def record_attempt(store: KitStore, kind: str, path: Path, personal_number: str = "", sex: str = "") -> None:
    """Count a failure to acquire (``fta``) or to match (``ftm``), with its audit entry."""
    if kind not in ("fta", "ftm"):
        raise ValueError(f"unknown attempt kind {kind!r}")
    when = datetime.now(UTC)
    key = store.signing_key()
    with store.transaction() as session:
        session.add(Attempt(at=when, path=path.value, kind=kind, personal_number=personal_number, sex=sex))
        audit.append(
            session, key, kind, {"path": path.value, "personal_number": personal_number}, when
        )


def undo(store: KitStore, record_id: int, supervisor: str, reason: str) -> IdentificationRecord:
    """Deactivate a mark (supervisor only, with a reason); kept in the store and logged, never deleted."""
    if not reason.strip():
        raise WorkflowError("an undo needs a reason")
    when = datetime.now(UTC)
    key = store.signing_key()
    with store.transaction() as session:
        record = session.get(IdentificationRecord, record_id)
        if record is None or not record.active:
            raise WorkflowError(f"identification {record_id} is not an active mark on this kit")
        record.active = False
        record.undone_at = when
        record.undo_reason = reason
        audit.append(
            session,
            key,
            "undone",
            {"record": record_id, "personal_number": record.personal_number, "by": supervisor, "reason": reason},
            when,
        )
    return record


def record_print(store: KitStore, record_id: int, ok: bool, reprint: bool, by: str, error: str = "") -> None:
    """Log a slip print (or its failure); a reprint counts on the record. The mark itself is never touched."""
    when = datetime.now(UTC)
    key = store.signing_key()
    with store.transaction() as session:
        record = session.get(IdentificationRecord, record_id)
        if record is None:
            raise WorkflowError(f"no identification {record_id} on this kit")
        if ok:
            record.printed = True
            if reprint:
                record.reprints += 1
        audit.append(
            session,
            key,
            "reprint" if reprint else "print",
            {"record": record_id, "ok": ok, "by": by, "error": error},
            when,
        )
