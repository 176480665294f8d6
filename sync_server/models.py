"""Tables of the CEC server (SQLAlchemy 2.0 declarative models)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Integer, String, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shailoo.dbtypes import UTCDateTime


class Base(DeclarativeBase):
    """Base of every server table."""


class Identification(Base):
    """One identification reported by a kit; (station, kit, seq) is unique so ingest is idempotent."""

    __tablename__ = "identifications"
    __table_args__ = (UniqueConstraint("station_id", "kit_id", "seq", name="uq_identification_origin"),)

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
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    training: Mapped[bool] = mapped_column(Boolean, default=False)
