"""Refused ID cards: a chip that failed passive or active authentication is counted and written to the audit log.

A forged or copied card is evidence of an attempt at fraud, so it is kept like a failed attempt (an ``attempts`` row
of kind :data:`FORGED_CARD`, which the FTA/FTM counters do not count) with a signed, hash-chained audit entry in the
same transaction; the chair's report and the observers can then see how many cards were refused, when, and why.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import func, select

from station import audit
from station.counters import FORGED_CARD
from station.store import Attempt, KitStore


def record_refused_card(store: KitStore, path: str, problem: str, cloned: bool, document_number: str = "") -> None:
    """Count one refused card and log why (``problem`` is the authentication failure as the card layer put it)."""
    when = datetime.now(UTC)
    key = store.signing_key()
    with store.transaction() as session:
        session.add(Attempt(at=when, path=path, kind=FORGED_CARD))
        audit.append(
            session, key, "card_refused",
            {"path": path, "problem": problem, "cloned": cloned, "document_number": document_number}, when,
        )


def refused_cards(store: KitStore) -> int:
    """Cards refused at this kit so far."""
    with store.transaction() as session:
        return int(session.scalar(select(func.count()).select_from(Attempt).where(Attempt.kind == FORGED_CARD)) or 0)
