"""Tables of the CEC server (SQLAlchemy 2.0 declarative models). The schema is created by the Alembic migrations in
``sync_server/migrations``; a test checks that the migrated schema equals these models."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Float, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shailoo.dbtypes import UTCDateTime


class Base(DeclarativeBase):
    """Base of every server table."""


class Commission(Base):
    """A territorial election commission (TEC): the level that supervises a district's stations."""

    __tablename__ = "commissions"
    commission_id: Mapped[str] = mapped_column(String(16), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    oblast: Mapped[str] = mapped_column(String(64), index=True)
    district: Mapped[str] = mapped_column(String(64))


class Station(Base):
    """A polling station; ``station_id`` is the CEC's stable 4-digit number, used in every feed."""

    __tablename__ = "stations"
    station_id: Mapped[str] = mapped_column(String(16), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    address: Mapped[str] = mapped_column(String(300))
    oblast: Mapped[str] = mapped_column(String(64), index=True)
    district: Mapped[str] = mapped_column(String(64), index=True)
    commission_id: Mapped[str] = mapped_column(String(16))
    registered_voters: Mapped[int] = mapped_column(Integer)


class Kit(Base):
    """A provisioned kit: its CURVE public key is its identity on the link; revoked kits are refused."""

    __tablename__ = "kits"
    __table_args__ = (UniqueConstraint("station_id", "kit_id", name="uq_kit_identity"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    station_id: Mapped[str] = mapped_column(String(16))
    kit_id: Mapped[str] = mapped_column(String(16))
    #: Z85 CURVE public key (40 characters).
    public_key: Mapped[str] = mapped_column(String(40), unique=True)
    #: ``active`` or ``revoked``.
    status: Mapped[str] = mapped_column(String(16))
    training: Mapped[bool] = mapped_column(Boolean)
    provisioned_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    revoke_reason: Mapped[str] = mapped_column(String(200), default="")
    #: Last message of any kind from this kit (server clock).
    last_seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    #: The latest heartbeat: device states as JSON, outbox size, paper near-end.
    devices_json: Mapped[str] = mapped_column(Text, default="{}")
    pending: Mapped[int] = mapped_column(Integer, default=0)
    paper_low: Mapped[bool] = mapped_column(Boolean, default=False)
    heartbeat_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class Identification(Base):
    """One identification reported by a kit; (station, kit, seq) is unique so ingest is idempotent."""

    __tablename__ = "identifications"
    __table_args__ = (
        UniqueConstraint("station_id", "kit_id", "seq", name="uq_identification_origin"),
        Index("ix_identifications_kit_time", "station_id", "kit_id", "identified_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    election_id: Mapped[str] = mapped_column(String(64), index=True)
    station_id: Mapped[str] = mapped_column(String(16), index=True)
    kit_id: Mapped[str] = mapped_column(String(16))
    seq: Mapped[int] = mapped_column(Integer)
    voter_ref: Mapped[str] = mapped_column(String(128), index=True)
    sex: Mapped[str] = mapped_column(String(1))
    birth_year: Mapped[int] = mapped_column(Integer)
    path: Mapped[str] = mapped_column(String(16))
    identified_at: Mapped[datetime] = mapped_column(UTCDateTime)
    #: Hour of ``identified_at`` on Bishkek time (UTC+6, no daylight saving since 2005), 0..23.
    hour_local: Mapped[int] = mapped_column(Integer)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    training: Mapped[bool] = mapped_column(Boolean, default=False)
    fallback_reason: Mapped[str] = mapped_column(String(32), default="")
    override: Mapped[bool] = mapped_column(Boolean, default=False)
    #: SHA-256 (hex) of the canonical message: a resend must match it, or it is a replay with other content.
    content_hash: Mapped[str] = mapped_column(String(64))


class TurnoutCounter(Base):
    """Identifications per (station, local hour, sex, path), incremented in the same transaction as the insert.

    Every turnout read and the dashboard use these few thousand rows instead of scanning millions of events.
    """

    __tablename__ = "turnout_counters"
    station_id: Mapped[str] = mapped_column(String(16), primary_key=True)
    hour_local: Mapped[int] = mapped_column(Integer, primary_key=True)
    sex: Mapped[str] = mapped_column(String(1), primary_key=True)
    path: Mapped[str] = mapped_column(String(16), primary_key=True)
    count: Mapped[int] = mapped_column(Integer)


class Rejection(Base):
    """A message refused at ingest (malformed, oversized, forged, replayed, from a revoked or training kit)."""

    __tablename__ = "rejections"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    #: ``malformed``, ``forged``, ``replayed``, ``revoked``, ``training``, ``unexpected``.
    kind: Mapped[str] = mapped_column(String(16))
    #: The sender as authenticated by CURVE ("station/kit"), or empty when unknown.
    peer: Mapped[str] = mapped_column(String(40), default="")
    detail: Mapped[str] = mapped_column(String(300))


class ApiToken(Base):
    """A bearer token of the HTTP API; only its SHA-256 is stored."""

    __tablename__ = "api_tokens"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    #: ``admin``, ``monitor``, ``territorial`` or ``observer``.
    role: Mapped[str] = mapped_column(String(16))
    #: For ``territorial``: the oblast or district the token may read; empty otherwise.
    area: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)


class AuditEntry(Base):
    """Who read or changed what, for every API request."""

    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    actor: Mapped[str] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(16))
    method: Mapped[str] = mapped_column(String(8))
    path: Mapped[str] = mapped_column(String(200))
    query: Mapped[str] = mapped_column(String(300), default="")
    status: Mapped[int] = mapped_column(Integer)


class ReferenceCurve(Base):
    """A previous election's national turnout curve: cumulative percent at the end of each local hour."""

    __tablename__ = "reference_curves"
    label: Mapped[str] = mapped_column(String(64), primary_key=True)
    hour_local: Mapped[int] = mapped_column(Integer, primary_key=True)
    cumulative_percent: Mapped[float] = mapped_column(Float)
