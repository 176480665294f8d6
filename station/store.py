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

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import (
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    create_engine,
    event,
    func,
    select,
    text,
    update,
)
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker

from link.sender import OutboxEntry
from shailoo.dbtypes import UTCDateTime
from station.errors import StoreError
from station.signing import generate_key_file, key_path_for, load_key_file, public_hex


class Base(DeclarativeBase):
    """Base of the kit's tables."""


class KitInfo(Base):
    """Which election, station and kit this store belongs to (one row)."""

    __tablename__ = "kit_info"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    election_id: Mapped[str] = mapped_column(String(64))
    station_id: Mapped[str] = mapped_column(String(16))
    kit_id: Mapped[str] = mapped_column(String(16))
    #: The kit's Ed25519 public key (hex), recorded at init so a replaced key file is noticed.
    public_key: Mapped[str] = mapped_column(String(64), default="")
    #: The loaded station list package: its digest and when it was built at the CEC (empty for a development CSV).
    list_digest: Mapped[str] = mapped_column(String(64), default="")


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
    address: Mapped[str] = mapped_column(String(200), default="")
    #: On the home-voting list (mobile ballot box).
    home_voting: Mapped[bool] = mapped_column(Boolean, default=False)
    #: Number of enrolled fingers (the templates themselves are in ``biometrics``, encrypted).
    finger_count: Mapped[int] = mapped_column(Integer, default=0)


class VoterBiometrics(Base):
    """A voter's photo and enrolled templates, sealed with AES-256-GCM under the list key (never stored in clear)."""

    __tablename__ = "voter_biometrics"
    personal_number: Mapped[str] = mapped_column(ForeignKey("voters.personal_number"), primary_key=True)
    nonce: Mapped[bytes] = mapped_column(LargeBinary)
    sealed: Mapped[bytes] = mapped_column(LargeBinary)


class SearchGallery(Base):
    """The station's packed 1:N gallery from the list package (``native.Gallery.to_bytes``), sealed like the
    templates it is made of (AES-256-GCM under the list key); at most one row. Added in schema version 2."""

    __tablename__ = "search_gallery"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: ``native.gallery.FORMAT_VERSION`` the blob was written in, as the signed package states it.
    format: Mapped[int] = mapped_column(Integer)
    #: ``native.gallery.parameter_digest()`` (hex) of the cylinder parameters the CEC built it with.
    parameters: Mapped[str] = mapped_column(String(32))
    #: Gallery rows (one per enrolled finger).
    templates: Mapped[int] = mapped_column(Integer)
    #: Digest of the package it came with (``KitInfo.list_digest``): a gallery left behind by another list is unused.
    list_digest: Mapped[str] = mapped_column(String(64))
    nonce: Mapped[bytes] = mapped_column(LargeBinary)
    sealed: Mapped[bytes] = mapped_column(LargeBinary)


class SchemaVersion(Base):
    """Which version of this schema the file holds (one row); see :mod:`station.store_upgrades`."""

    __tablename__ = "schema_version"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version: Mapped[int] = mapped_column(Integer)


class NationalIndexEntry(Base):
    """Where a voter not on this list is registered: keyed by a hash of the personal number, station number."""

    __tablename__ = "national_index"
    pin_hash: Mapped[str] = mapped_column(String(32), primary_key=True)
    station_id: Mapped[str] = mapped_column(String(16))
    address: Mapped[str] = mapped_column(String(200), default="")


class IdentificationRecord(Base):
    """A voter identified at this kit.

    At most one *active* mark per voter: a partial unique index makes the database itself refuse a second one. An undo
    or a supervisor override deactivates the earlier mark (kept, with who and why) instead of deleting it.
    """

    __tablename__ = "identifications"
    __table_args__ = (
        Index(
            "one_active_mark_per_voter", "personal_number", unique=True, sqlite_where=text("active = 1")
        ),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    personal_number: Mapped[str] = mapped_column(ForeignKey("voters.personal_number"))
    #: ``card_finger``, ``finger`` or ``manual`` (local path names; the wire maps both finger paths to biometric).
    path: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(String(32), default="")
    operator: Mapped[str] = mapped_column(String(32), default="")
    second_member: Mapped[str] = mapped_column(String(32), default="")
    identified_at: Mapped[datetime] = mapped_column(UTCDateTime)
    kit_id: Mapped[str] = mapped_column(String(16))
    seq: Mapped[int] = mapped_column(Integer)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    #: Identified by the kit taken to the voter's home (mobile ballot box).
    mobile: Mapped[bool] = mapped_column(Boolean, default=False)
    #: A supervisor overrode an "already voted" refusal: who and why (flagged for audit).
    override: Mapped[bool] = mapped_column(Boolean, default=False)
    supervisor: Mapped[str] = mapped_column(String(32), default="")
    override_reason: Mapped[str] = mapped_column(String(200), default="")
    undone_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    undo_reason: Mapped[str] = mapped_column(String(200), default="")
    #: Match confidence (0..1) for the finger paths; 0 for manual.
    score: Mapped[float] = mapped_column(default=0.0)
    printed: Mapped[bool] = mapped_column(Boolean, default=False)
    reprints: Mapped[int] = mapped_column(Integer, default=0)


class PeerMark(Base):
    """A mark made by another kit of this station, learnt over the local network; (origin kit, origin id) is unique."""

    __tablename__ = "peer_marks"
    __table_args__ = (UniqueConstraint("origin_kit", "origin_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    origin_kit: Mapped[str] = mapped_column(String(16))
    origin_id: Mapped[int] = mapped_column(Integer)
    personal_number: Mapped[str] = mapped_column(String(14), index=True)
    path: Mapped[str] = mapped_column(String(16))
    sex: Mapped[str] = mapped_column(String(1), default="")
    identified_at: Mapped[datetime] = mapped_column(UTCDateTime)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)


class PeerCursor(Base):
    """How far this kit has applied each peer's audit log (the peer's audit sequence number)."""

    __tablename__ = "peer_cursors"
    kit_id: Mapped[str] = mapped_column(String(16), primary_key=True)
    audit_seq: Mapped[int] = mapped_column(Integer, default=0)
    #: The peer's Ed25519 public key (hex), pinned at first contact: a later reply under another key is refused.
    public_key: Mapped[str] = mapped_column(String(64), default="")


class Worker(Base):
    """A poll worker who may log in to the operator screen: role ``operator`` or ``supervisor`` (the chair)."""

    __tablename__ = "workers"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(80))
    role: Mapped[str] = mapped_column(String(16))
    pin_salt: Mapped[bytes] = mapped_column(LargeBinary)
    pin_hash: Mapped[bytes] = mapped_column(LargeBinary)


class Attempt(Base):
    """A failed attempt, counted apart: ``fta`` (no usable image after N tries) or ``ftm`` (no match)."""

    __tablename__ = "attempts"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    path: Mapped[str] = mapped_column(String(16))
    kind: Mapped[str] = mapped_column(String(8))
    personal_number: Mapped[str] = mapped_column(String(14), default="")
    sex: Mapped[str] = mapped_column(String(1), default="")


class AuditEntry(Base):
    """One entry of the hash-chained, signed audit log (see :mod:`station.audit`)."""

    __tablename__ = "audit_log"
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    kind: Mapped[str] = mapped_column(String(32))
    body: Mapped[str] = mapped_column(Text)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))
    signature: Mapped[str] = mapped_column(String(128))


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

    def __init__(self, path: Path | str, key_path: Path | str | None = None) -> None:
        self.path = Path(path)
        self.key_path = Path(key_path) if key_path else key_path_for(self.path)
        self._signing_key: Ed25519PrivateKey | None = None
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.engine = create_engine(f"sqlite:///{self.path}", connect_args={"timeout": 30})
        event.listen(self.engine, "connect", _pragmas)
        event.listen(self.engine, "begin", _begin_immediate)
        from station.store_upgrades import upgrade

        #: (version found in the file, version now): equal unless this open upgraded an older kit's store.
        self.schema_upgrade = upgrade(self.engine, Base.metadata)
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

    def signing_key(self) -> Ed25519PrivateKey:
        """The kit's Ed25519 key (loaded once); refused when it is not the key recorded at init."""
        if self._signing_key is None:
            key = load_key_file(self.key_path)
            recorded = self.kit_info().public_key
            if recorded and recorded != public_hex(key):
                raise StoreError(
                    f"the signing key {self.key_path} is not this kit's key (recorded {recorded[:16]}...): "
                    "restore the kit's own key file"
                )
            self._signing_key = key
        return self._signing_key

    def set_kit_info(self, election_id: str, station_id: str, kit_id: str) -> None:
        """Set up (or confirm) which election, station and kit this store is for; makes the signing key once."""
        with self.transaction() as session:
            existing = session.get(KitInfo, 1)
            if existing is None:
                key = load_key_file(self.key_path) if self.key_path.exists() else generate_key_file(self.key_path)
                session.add(
                    KitInfo(
                        id=1,
                        election_id=election_id,
                        station_id=station_id,
                        kit_id=kit_id,
                        public_key=public_hex(key),
                    )
                )
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

    def outbox_state(self) -> tuple[int, datetime | None, datetime | None]:
        """Messages waiting for the CEC, when the oldest of them was written, and the last acknowledgement's time."""
        with self._sessions() as session:
            waiting, oldest = session.execute(
                select(func.count(), func.min(OutboxMessage.created_at)).where(OutboxMessage.delivered_at.is_(None))
            ).one()
            last = session.scalar(select(func.max(OutboxMessage.delivered_at)))
        return int(waiting or 0), oldest, last

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
