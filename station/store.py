"""The kit's store: voters, identifications and the outbox in one SQLite file (SQLAlchemy, WAL, synchronous commits).

An identification and the outbox message that reports it to the CEC are written in one transaction, so the kit never
reports a voter it has not recorded, and never records one it will not report.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Date,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    create_engine,
    event,
    select,
    update,
)
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker

from link.sender import OutboxEntry
from shailoo.dbtypes import UTCDateTime
from station.errors import StoreError


class Base(DeclarativeBase):
    """Base of the kit's tables."""


class KitInfo(Base):
    """Which election, station and kit this store belongs to (one row)."""

    __tablename__ = "kit_info"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    election_id: Mapped[str] = mapped_column(String(64))
    station_id: Mapped[str] = mapped_column(String(16))
    kit_id: Mapped[str] = mapped_column(String(16))


class Voter(Base):
    """A voter on this station's list."""

    __tablename__ = "voters"
    personal_number: Mapped[str] = mapped_column(String(14), primary_key=True)
    list_number: Mapped[int] = mapped_column(Integer)
    surname: Mapped[str] = mapped_column(String(80))
    given_name: Mapped[str] = mapped_column(String(80))
    patronymic: Mapped[str] = mapped_column(String(80), default="")
    sex: Mapped[str] = mapped_column(String(1))
    birth_date: Mapped[date] = mapped_column(Date)


class IdentificationRecord(Base):
    """A voter identified at this kit. ``personal_number`` is unique: the database itself refuses a second mark."""

    __tablename__ = "identifications"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    personal_number: Mapped[str] = mapped_column(ForeignKey("voters.personal_number"), unique=True)
    path: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(String(32), default="")
    operator: Mapped[str] = mapped_column(String(32), default="")
    second_member: Mapped[str] = mapped_column(String(32), default="")
    identified_at: Mapped[datetime] = mapped_column(UTCDateTime)
    kit_id: Mapped[str] = mapped_column(String(16))
    seq: Mapped[int] = mapped_column(Integer)


class OutboxMessage(Base):
    """A message for the CEC; ``seq`` is the kit's sequence number on the wire, ``delivered_at`` set on ack."""

    __tablename__ = "outbox"
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    payload: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


def _pragmas(dbapi_connection: Any, _record: Any) -> None:
    # Let SQLAlchemy's "begin" event issue BEGIN IMMEDIATE itself (see _begin_immediate).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    # WAL: the sender reads while the operator's identifications write. synchronous=FULL: a commit is on disk before
    # the screen says "identified", so a power cut right after loses nothing.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def _begin_immediate(connection: Any) -> None:
    # Take the write lock at the start of every transaction: two processes identifying at once then run one after
    # the other, instead of both reading the same next sequence number and one failing at commit.
    connection.exec_driver_sql("BEGIN IMMEDIATE")


class KitStore:
    """Open (and create when missing) the kit's SQLite store at ``path``."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.engine = create_engine(f"sqlite:///{self.path}", connect_args={"timeout": 30})
        event.listen(self.engine, "connect", _pragmas)
        event.listen(self.engine, "begin", _begin_immediate)
        Base.metadata.create_all(self.engine)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """One atomic unit of work; a full disk or other write failure becomes :class:`StoreError`."""
        try:
            with self._sessions.begin() as session:
                yield session
        except OperationalError as exc:
            raise StoreError(f"the kit's store could not save (is the disk full?): {exc.orig}") from exc

    def kit_info(self) -> KitInfo:
        """The election, station and kit of this store; raises if the kit was never set up."""
        with self._sessions() as session:
            info = session.get(KitInfo, 1)
        if info is None:
            raise StoreError("this kit is not set up: run 'shailoo station init' first")
        return info

    def set_kit_info(self, election_id: str, station_id: str, kit_id: str) -> None:
        """Set up (or confirm) which election, station and kit this store is for."""
        with self.transaction() as session:
            existing = session.get(KitInfo, 1)
            if existing is None:
                session.add(KitInfo(id=1, election_id=election_id, station_id=station_id, kit_id=kit_id))
            elif (existing.election_id, existing.station_id, existing.kit_id) != (election_id, station_id, kit_id):
                raise StoreError(
                    f"this store belongs to election {existing.election_id}, station {existing.station_id}, "
                    f"kit {existing.kit_id}; use a new store for another"
                )

    # The outbox, as the link's sender sees it -------------------------------------------------------------------
    def pending(self, limit: int) -> Sequence[OutboxEntry]:
        """Undelivered outbox messages in sequence order."""
        with self._sessions() as session:
            rows = session.execute(
                select(OutboxMessage.seq, OutboxMessage.payload)
                .where(OutboxMessage.delivered_at.is_(None))
                .order_by(OutboxMessage.seq)
                .limit(limit)
            ).all()
        return [OutboxEntry(seq=seq, payload=payload) for seq, payload in rows]

    def mark_delivered(self, seqs: Sequence[int]) -> None:
        """Record the CEC's acknowledgement of these sequence numbers."""
        with self.transaction() as session:
            session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.seq.in_(list(seqs)), OutboxMessage.delivered_at.is_(None))
                .values(delivered_at=datetime.now(UTC))
            )

    def close(self) -> None:
        """Release the database file."""
        self.engine.dispose()
