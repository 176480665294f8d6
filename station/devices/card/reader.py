"""The ID-card reader as a kit device: one thread per reader turning PC/SC state changes into typed events.

The thread waits on SCardGetStatusChange; a card put on the reader gives :class:`CardInserted`, and if the agent has
supplied the MRZ (typed or photographed) the chip is read at once, giving :class:`CardReadDone` or
:class:`CardReadFailed`; a pulled card gives :class:`CardRemoved`. A "card was reset" during a read is recovered by
reconnecting and reading again (``timeouts.attempts`` in the profile). Health events follow every change.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
import time
from dataclasses import dataclass

from station.devices.card.emrtd import CardRead, read_document
from station.devices.card.errors import CardError, CardRemovedError, NoCardError, NoReaderError
from station.devices.card.mrz import Mrz
from station.devices.card.passive_auth import TrustStore
from station.devices.card.pcsc import CardConnection, PcscContext, scard
from station.devices.card.profile import ReaderProfile
from station.devices.device import Device
from station.devices.errors import DeviceError
from station.devices.health import DeviceKind, DeviceState, ErrorCode

log = logging.getLogger(__name__)

#: Seconds to keep retrying a connection that reports "no card" (see CardReader._connect).
SETTLE_S = 0.5


@dataclass(frozen=True)
class CardInserted:
    """A card was put on the reader."""

    device: str
    atr: bytes


@dataclass(frozen=True)
class CardRemoved:
    """The card left the reader."""

    device: str


@dataclass(frozen=True)
class CardReadDone:
    """The chip was read and passed passive authentication; ``elapsed_ms`` counts from the insertion."""

    device: str
    result: CardRead
    elapsed_ms: float


@dataclass(frozen=True)
class CardReadFailed:
    """The chip could not be read or was refused; ``code`` says why (CARD_AUTH_FAILED, CARD_FORGED, ...)."""

    device: str
    code: ErrorCode
    message: str


CardEvent = CardInserted | CardRemoved | CardReadDone | CardReadFailed


def _code(exc: DeviceError) -> ErrorCode:
    try:
        return ErrorCode(exc.code)
    except ValueError:
        return ErrorCode.CARD_READ_FAILED


class CardReader(Device):
    """A PC/SC reader named ``reader`` (exact name or unique prefix), reading ICAO 9303 chips."""

    kind = DeviceKind.CARD_READER

    def __init__(
        self,
        reader: str,
        profile: ReaderProfile,
        trust: TrustStore,
        events: queue.Queue[object] | None = None,
    ) -> None:
        super().__init__(reader)
        self.profile = profile
        self.trust = trust
        self.events: queue.Queue[object] = events if events is not None else queue.Queue()
        self._mrz: Mrz | None = None
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._context: PcscContext | None = None
        self.present = False
        self._event_count = -1
        self._read_lock = threading.Lock()
        self._inserted_at = 0.0

    # --- life cycle ----------------------------------------------------------------------------------------------
    def open(self) -> None:
        """Find the reader and start its thread; a missing reader raises :class:`NoReaderError`."""
        try:
            self._context = PcscContext()
            self.name = self._resolve(self._context.readers())
        except NoReaderError as exc:
            self._report_error(exc)
            raise
        self._report(DeviceState.READY, ErrorCode.NONE, "no card")
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name=f"card-reader:{self.name}", daemon=True)
        self._thread.start()

    def _resolve(self, readers: list[str]) -> str:
        if self.name in readers:
            return self.name
        matches = [r for r in readers if r.startswith(self.name)]
        if len(matches) != 1:
            raise NoReaderError(
                f"card reader {self.name!r} not found (readers: {', '.join(readers) or 'none'});"
                " check its USB cable"
            )
        return matches[0]

    def close(self) -> None:
        """Stop the thread and release PC/SC (safe twice)."""
        self._stop.set()
        if self._context is not None:
            self._context.cancel()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(self.profile.read_s + 2.0)
        self._thread = None
        if self._context is not None:
            self._context.close()
            self._context = None
        self._stop_emulator()

    # --- requests from the agent ---------------------------------------------------------------------------------
    def expect(self, mrz: Mrz | None) -> None:
        """Read the next card (or the one on the reader now) with the keys from ``mrz``; None stops reading."""
        self._mrz = mrz
        self._wake.set()
        if self._context is not None:
            self._context.cancel()

    def read_now(self, mrz: Mrz) -> CardRead:
        """Read the card on the reader in the calling thread (own PC/SC context); raises a :class:`CardError`.

        Reads are serialised with the reader thread's (the chip holds one secure-messaging session); still, use
        either this or :meth:`expect` for one card, or the card is read twice.
        """
        context = PcscContext()
        try:
            return self._read(context, mrz)
        finally:
            context.close()

    def mrz_from_camera(self, frames: int = 30) -> Mrz:
        """Photograph the card's MRZ with the profile's camera; :class:`CardError` when none is configured."""
        if self.profile.camera is None:
            raise CardError(f"no camera is configured for {self.name!r}; type the MRZ instead")
        from station.devices.card.camera_mrz import read_mrz_camera

        source = self.profile.camera
        return read_mrz_camera(int(source) if source.isdigit() else source, frames)

    # --- the thread ----------------------------------------------------------------------------------------------
    def _reacquire(self) -> PcscContext | None:
        """After the reader or pcscd went away: a fresh context, once the reader is listed again (else None)."""
        try:
            context = PcscContext()
        except DeviceError:
            return None
        try:
            self.name = self._resolve(context.readers())
        except DeviceError:
            context.close()
            return None
        if self._context is not None:
            self._context.close()
        self._context = context
        self._report(DeviceState.READY, ErrorCode.NONE, "card reader back")
        return context

    def _run(self) -> None:
        assert self._context is not None
        context = self._context
        states = [(self.name, scard.SCARD_STATE_UNAWARE)]
        lost = False
        while not self._stop.is_set():
            if lost:
                again = self._reacquire()
                if again is None:
                    self._stop.wait(self.profile.poll_ms / 1000.0)
                    continue
                context, lost = again, False
                states = [(self.name, scard.SCARD_STATE_UNAWARE)]
            try:
                new = context.wait_change(states, self.profile.poll_ms)
            except DeviceError as exc:
                # Whatever PC/SC says here (no service, invalid handle, access denied after a restart), the reader
                # cannot be watched: report it lost and reconnect when it is listed again.
                if not isinstance(exc, NoReaderError):
                    exc = NoReaderError(f"the card reader stopped answering ({exc}); check its USB cable")
                self._lost(exc)
                lost = True
                continue
            if new is not None:
                name, state, atr = new[0]
                states = [(name, state & ~scard.SCARD_STATE_CHANGED)]
                present = bool(state & scard.SCARD_STATE_PRESENT) and not state & scard.SCARD_STATE_MUTE
                if state & (scard.SCARD_STATE_UNAVAILABLE | scard.SCARD_STATE_UNKNOWN):
                    self._lost(
                        NoReaderError(f"card reader {self.name!r} is unavailable; check its USB cable")
                    )
                    lost = True
                    continue
                # pcsc-lite counts card events in the high word of the state: a card pulled and put back between
                # two polls of the driver shows only as a new count, never as "absent".
                count = (state >> 16) & 0xFFFF
                reinserted = present and self.present and count != self._event_count
                self._event_count = count
                if reinserted:
                    self.events.put(CardRemoved(self.name))
                if present and (not self.present or reinserted):
                    self.present = True
                    self._inserted_at = time.perf_counter()
                    self.events.put(CardInserted(self.name, atr))
                    self._report(DeviceState.BUSY, ErrorCode.NONE, "card on the reader")
                    self._wake.set()
                elif not present and self.present:
                    self.present = False
                    self.events.put(CardRemoved(self.name))
                    self._report(DeviceState.READY, ErrorCode.NONE, "no card")
            if self._wake.is_set() and self.present and self._mrz is not None:
                self._wake.clear()
                self._read_event(context, self._mrz)

    def _lost(self, exc: DeviceError) -> None:
        self._report_error(exc)
        if self.present:
            self.present = False
            self.events.put(CardRemoved(self.name))
        self._stop.wait(self.profile.poll_ms / 1000.0)

    def _read_event(self, context: PcscContext, mrz: Mrz) -> None:
        try:
            result = self._read(context, mrz)
        except CardError as exc:
            self.events.put(CardReadFailed(self.name, _code(exc), str(exc)))
            self._report(DeviceState.NOT_READY if self.present else DeviceState.READY, _code(exc), str(exc))
            return
        elapsed = (time.perf_counter() - self._inserted_at) * 1000.0
        self.events.put(CardReadDone(self.name, result, elapsed))
        self._report(DeviceState.BUSY, ErrorCode.NONE, "card read")

    def _connect(self, context: PcscContext) -> CardConnection:
        """Connect to the card; "no card" just after an insertion is retried briefly (a card still settling in the
        field, or a virtual reader still powering it), for at most :data:`SETTLE_S`."""
        deadline = time.monotonic() + SETTLE_S
        while True:
            try:
                return CardConnection(context, self.name)
            except NoCardError:
                if time.monotonic() >= deadline:
                    raise
                time.sleep(0.05)

    def _read(self, context: PcscContext, mrz: Mrz) -> CardRead:
        with self._read_lock:
            return self._read_locked(context, mrz)

    def _read_locked(self, context: PcscContext, mrz: Mrz) -> CardRead:
        last: CardError | None = None
        for _ in range(self.profile.attempts):
            connection = self._connect(context)
            connection.deadline = time.monotonic() + self.profile.read_s
            try:
                return read_document(
                    connection.transmit,
                    mrz,
                    self.trust,
                    read_face=self.profile.read_face,
                    read_details=self.profile.read_details,
                    timeout_s=self.profile.read_s,
                )
            except CardRemovedError as exc:
                last = exc  # pulled or reset: try again if the card is (back) on the reader
            finally:
                connection.close()
            with contextlib.suppress(CardError):
                context.wait_card(self.name, present=True, timeout_s=0.0)
                continue
            break
        assert last is not None
        raise last
