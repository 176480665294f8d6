"""A running kit: the store, the devices, the matcher, the peers and the one identification flow on screen.

The operator screen (``station.ui``) and the bench drive the same object, so what is measured is what the operator
gets. Device objects are optional: a kit without a printer still identifies (and every slip waits for a reprint).
"""

from __future__ import annotations

import contextlib
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import select

from station.counters import Counters, counters
from station.devices.errors import DeviceError
from station.gallery import Gallery
from station.matching import Matcher
from station.peers import PeerNode
from station.receipts import BISHKEK, Receipt, ReceiptKind, make_receipt, receipt_slip
from station.store import AuditEntry, IdentificationRecord, KitStore
from station.workflow import (
    CardFingerFlow,
    CardReader,
    FingerOnlyFlow,
    Flow,
    ManualFlow,
    Scanner,
    SlipPrinter,
)


class LinkState(Protocol):
    """The kit's CEC link as the screen shows it (the training kit's link; a kit without one shows nothing)."""

    def status(self) -> dict[str, Any]:
        """``{"online": bool, "waiting": int}``: connected to the CEC, and outbox messages not yet delivered."""
        ...


#: Throughput windows on the screen (minutes), as in VxPollbook's 15/30/60 minute charts.
THROUGHPUT_WINDOWS_MIN = (15, 30, 60)


@dataclass
class KitRuntime:
    """Everything one kit runs."""

    store: KitStore
    gallery: Gallery
    matcher: Matcher | None = None
    scanner: Scanner | None = None
    printer: SlipPrinter | None = None
    card_reader: CardReader | None = None
    peers: PeerNode | None = None
    training: bool = False
    link: LinkState | None = None
    flow: Flow | None = None
    lock: threading.RLock = field(default_factory=threading.RLock)

    def start_flow(self, kind: str, operator: str, mobile: bool = False) -> Flow:
        """Begin a new voter on path ``kind`` (``card``, ``finger`` or ``manual``)."""
        common: dict[str, Any] = {"mobile": mobile, "training": self.training}
        flow: Flow
        if kind == "card":
            flow = CardFingerFlow(self.store, self.printer, operator, scanner=self.scanner, matcher=self.matcher,
                                  gallery=self.gallery, **common)
        elif kind == "finger":
            flow = FingerOnlyFlow(self.store, self.printer, operator, scanner=self.scanner, matcher=self.matcher,
                                  gallery=self.gallery, **common)
        elif kind == "manual":
            flow = ManualFlow(self.store, self.printer, operator, gallery=self.gallery, **common)
        else:
            raise ValueError(f"unknown identification path {kind!r}")
        flow.start()
        self.flow = flow
        return flow

    def device_status(self) -> dict[str, str]:
        """State of each device: its driver's last health event, or ``absent``."""
        out = {}
        for name, device in (("scanner", self.scanner), ("card_reader", self.card_reader), ("printer", self.printer)):
            health = getattr(device, "health", None)
            out[name] = "absent" if device is None else (str(health.state) if health is not None else "ready")
        return out

    def connected_peers(self) -> int:
        """Peer kits heard from in the last two seconds."""
        return self.peers.connected_peers() if self.peers is not None else 0

    def counters(self) -> Counters:
        """The kit's counters now."""
        return counters(self.store)

    def throughput(self, now: datetime | None = None) -> dict[int, int]:
        """Identifications committed here in the last 15, 30 and 60 minutes."""
        now = now or datetime.now(UTC)
        since = now - timedelta(minutes=max(THROUGHPUT_WINDOWS_MIN))
        with self.store.transaction() as session:
            times = list(
                session.scalars(
                    select(IdentificationRecord.identified_at).where(IdentificationRecord.identified_at >= since)
                )
            )
        return {w: sum(1 for t in times if t >= now - timedelta(minutes=w)) for w in THROUGHPUT_WINDOWS_MIN}

    def maybe_hourly_receipt(self, now: datetime | None = None) -> Receipt | None:
        """Print the hourly receipt when a new local hour has begun since the last receipt (after the opening one).

        Called every few seconds by ``shailoo station serve``; returns the receipt made, if any. The receipts' own
        audit entries say when the last one was made, so a restarted kit neither skips nor repeats an hour.
        """
        now = now or datetime.now(UTC)
        with self.store.transaction() as session:
            rows = session.execute(
                select(AuditEntry.at, AuditEntry.body).where(AuditEntry.kind == "receipt").order_by(AuditEntry.seq)
            ).all()
        if not rows or not any('"opening"' in body for _, body in rows):
            return None  # voting has not been opened on this kit
        last = rows[-1][0].astimezone(BISHKEK)
        local = now.astimezone(BISHKEK)
        if '"closing"' in rows[-1][1] or local.replace(minute=0, second=0, microsecond=0) <= last:
            return None
        receipt = make_receipt(self.store, ReceiptKind.HOURLY, now=now)
        if self.printer is not None:
            # A print failure is reported by the driver's health event; the receipt stays in the audit log and on
            # the supervisor's screen, and can be printed again from there.
            with contextlib.suppress(DeviceError):
                self.printer.print_slip(receipt_slip(receipt, self.training))
        return receipt

    def recent(self, limit: int = 20) -> list[IdentificationRecord]:
        """The latest identifications (for the supervisor's reprint and undo)."""
        with self.store.transaction() as session:
            return list(
                session.scalars(select(IdentificationRecord).order_by(IdentificationRecord.id.desc()).limit(limit))
            )
