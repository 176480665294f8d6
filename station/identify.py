"""Identification of a voter and the refusal of a second one.

This module holds the rule every path shares: look the voter up, refuse if already marked (saying when, where and
how), otherwise commit the mark and the CEC message together.
"""

from __future__ import annotations

import enum
import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from link.messages import IdentificationEvent, encode
from station.store import IdentificationRecord, KitStore, OutboxMessage, Voter


class FallbackReason(enum.StrEnum):
    """Why a voter was identified by typed personal number instead of a fingerprint (reason-coded ledger)."""

    NO_FINGERPRINTS = "no_fingerprints"
    WORN_PRINTS = "worn_prints"
    INJURY = "injury"
    DEVICE_FAULT = "device_fault"
    CARD_UNREADABLE = "card_unreadable"


class Outcome(enum.StrEnum):
    """What the screen shows after an identification attempt."""

    IDENTIFIED = "identified"
    ALREADY_VOTED = "already_voted"
    NOT_ON_LIST = "not_on_list"


@dataclass(frozen=True)
class IdentificationResult:
    """The outcome, the voter (when found) and, for a refusal, the earlier identification."""

    outcome: Outcome
    voter: Voter | None = None
    record: IdentificationRecord | None = None

    def describe(self) -> str:
        """One line for the operator."""
        if self.outcome is Outcome.NOT_ON_LIST:
            return "Not on this station's list: check the personal number, or send the voter to their station."
        assert self.voter is not None and self.record is not None
        name = f"{self.voter.surname} {self.voter.given_name}"
        if self.outcome is Outcome.IDENTIFIED:
            return f"Identified: {name}, list no. {self.voter.list_number}. Print the slip."
        return (
            f"ALREADY VOTED: {name} was identified at {self.record.identified_at:%H:%M:%S} on kit "
            f"{self.record.kit_id} by {self.record.path}. Do not issue a ballot; call the chair if disputed."
        )


def voter_ref(election_id: str, personal_number: str) -> str:
    """Pseudonym of a voter for the CEC: the same person gives the same reference at any station of one election.

    SHA-256 over the election id and the personal number; the CEC learns no personal numbers but can spot one person
    identified at two stations.
    """
    return hashlib.sha256(f"{election_id}:{personal_number}".encode()).hexdigest()


def identify_manual(
    store: KitStore,
    personal_number: str,
    reason: FallbackReason,
    operator: str,
    second_member: str,
    now: datetime | None = None,
) -> IdentificationResult:
    """Identify by typed personal number (the supervised fallback), or refuse a second identification."""
    if not second_member or second_member == operator:
        raise ValueError("a typed identification needs a second commission member's confirmation")
    return _mark(store, personal_number, "manual", reason.value, operator, second_member, now)


def _mark(
    store: KitStore,
    personal_number: str,
    path: str,
    reason: str,
    operator: str,
    second_member: str,
    now: datetime | None,
) -> IdentificationResult:
    info = store.kit_info()
    when = now or datetime.now(UTC)
    try:
        with store.transaction() as session:
            voter = session.get(Voter, personal_number)
            if voter is None:
                return IdentificationResult(Outcome.NOT_ON_LIST)
            earlier = session.scalar(
                select(IdentificationRecord).where(IdentificationRecord.personal_number == personal_number)
            )
            if earlier is not None:
                return IdentificationResult(Outcome.ALREADY_VOTED, voter, earlier)
            seq = (session.scalar(select(func.max(OutboxMessage.seq))) or 0) + 1
            event = IdentificationEvent(
                election_id=info.election_id,
                station_id=info.station_id,
                kit_id=info.kit_id,
                seq=seq,
                voter_ref=voter_ref(info.election_id, personal_number),
                sex=voter.sex,
                birth_year=voter.birth_date.year,
                path=path,
                identified_at=when,
            )
            record = IdentificationRecord(
                personal_number=personal_number,
                path=path,
                reason=reason,
                operator=operator,
                second_member=second_member,
                identified_at=when,
                kit_id=info.kit_id,
                seq=seq,
            )
            session.add(record)
            session.add(OutboxMessage(seq=seq, payload=encode(event), created_at=when))
    except IntegrityError:
        # The unique mark is the last line of defence: if another writer got there first, report its mark.
        with store.transaction() as session:
            voter = session.get(Voter, personal_number)
            earlier = session.scalar(
                select(IdentificationRecord).where(IdentificationRecord.personal_number == personal_number)
            )
        if earlier is None:
            raise
        return IdentificationResult(Outcome.ALREADY_VOTED, voter, earlier)
    return IdentificationResult(Outcome.IDENTIFIED, voter, record)
