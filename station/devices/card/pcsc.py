"""PC/SC access through pyscard's ``scard`` layer: one context, one card connection, results turned into exceptions.

pyscard's ``scard`` functions return PC/SC result codes; :func:`_check` turns them into the card error family at this
one boundary. A card that another program (or a stale connection) reset gives ``SCARD_W_RESET_CARD``: the connection
reconnects once and the caller starts the read again; a pulled card gives ``SCARD_W_REMOVED_CARD``.
"""

from __future__ import annotations

import contextlib
import queue
import threading
import time
from collections.abc import Callable, Sequence

from station.devices.card.errors import CardError, CardRemovedError, CardTimeout, NoCardError, NoReaderError

try:
    from smartcard import scard
except ImportError as exc:  # pragma: no cover - depends on the machine
    raise ImportError(
        "pyscard is missing: apt-get install libpcsclite-dev pcscd, then .venv/bin/pip install pyscard"
    ) from exc

_PROTOCOLS = scard.SCARD_PROTOCOL_T0 | scard.SCARD_PROTOCOL_T1


def _u32(code: int) -> int:
    return code & 0xFFFFFFFF


def error_text(hresult: int) -> str:
    """PC/SC's own text for a result code, with the code in hex."""
    try:
        text = scard.SCardGetErrorMessage(hresult)
    except Exception:  # only used for a message
        text = "unknown PC/SC error"
    return f"{text.strip()} (0x{_u32(hresult):08X})"


_REMOVED = {_u32(scard.SCARD_W_REMOVED_CARD)}
_NO_READER = {
    _u32(scard.SCARD_E_NO_SERVICE),
    _u32(scard.SCARD_E_SERVICE_STOPPED),
    _u32(scard.SCARD_E_UNKNOWN_READER),
    _u32(scard.SCARD_E_READER_UNAVAILABLE),
    _u32(scard.SCARD_E_NO_READERS_AVAILABLE),
}
RESET = _u32(scard.SCARD_W_RESET_CARD)


def _check(hresult: int, doing: str) -> None:
    code = _u32(hresult)
    if code == 0:
        return
    if code in _REMOVED:
        raise CardRemovedError(f"the card was removed while {doing}; put it back on the reader")
    if code == _u32(scard.SCARD_E_NO_SMARTCARD):
        raise NoCardError(f"no card on the reader while {doing}")
    if code in _NO_READER:
        raise NoReaderError(
            f"the card reader is not available while {doing}: {error_text(hresult)}; check its cable"
            " (and that the pcscd service runs)"
        )
    if code in (RESET, _u32(scard.SCARD_E_NOT_TRANSACTED)):
        # A reset, or a transfer cut because the card left the field and came back: the read can be retried.
        raise CardRemovedError(f"the card was reset or moved while {doing}; hold it still on the reader")
    raise CardError(f"PC/SC failed while {doing}: {error_text(hresult)}")


class PcscContext:
    """A PC/SC context (one per thread that calls it)."""

    def __init__(self) -> None:
        hresult, context = scard.SCardEstablishContext(scard.SCARD_SCOPE_USER)
        _check(hresult, "connecting to the smart-card service")
        self.handle = context
        self._closed = False

    def readers(self) -> list[str]:
        """Names of the readers pcscd lists now (may be empty)."""
        hresult, readers = scard.SCardListReaders(self.handle, [])
        if _u32(hresult) == _u32(scard.SCARD_E_NO_READERS_AVAILABLE):
            return []
        _check(hresult, "listing card readers")
        return list(readers)

    def wait_change(
        self, states: Sequence[tuple[str, int]], timeout_ms: int
    ) -> list[tuple[str, int, bytes]] | None:
        """SCardGetStatusChange: the new states, or None after ``timeout_ms`` without a change or on cancel."""
        hresult, new = scard.SCardGetStatusChange(self.handle, timeout_ms, list(states))
        if _u32(hresult) in (_u32(scard.SCARD_E_TIMEOUT), _u32(scard.SCARD_E_CANCELLED)):
            return None
        _check(hresult, "waiting for a card")
        return [(name, int(state), bytes(atr)) for name, state, atr in new]

    def wait_card(self, reader: str, present: bool = True, timeout_s: float = 5.0) -> bytes:
        """Block until a card is (or is no longer) in ``reader``; returns the ATR; :class:`NoCardError` on timeout."""
        deadline = time.monotonic() + timeout_s
        states = [(reader, scard.SCARD_STATE_UNAWARE)]
        while True:
            remaining_ms = int((deadline - time.monotonic()) * 1000)
            new = self.wait_change(states, max(0, remaining_ms))
            if new is not None:
                name, state, atr = new[0]
                if bool(state & scard.SCARD_STATE_PRESENT) == present and not state & scard.SCARD_STATE_MUTE:
                    return atr
                states = [(name, state & ~scard.SCARD_STATE_CHANGED)]
            if time.monotonic() >= deadline:
                word = "put on" if present else "removed from"
                raise NoCardError(f"no card was {word} the reader {reader!r} within {timeout_s:.0f} s")

    def cancel(self) -> None:
        """Wake a :meth:`wait_change` blocked in another thread."""
        with contextlib.suppress(Exception):
            scard.SCardCancel(self.handle)

    def close(self) -> None:
        """Release the context."""
        if not self._closed:
            self._closed = True
            with contextlib.suppress(Exception):
                scard.SCardReleaseContext(self.handle)


class _Worker:
    """One daemon thread that runs blocking PC/SC calls, so that the caller can stop waiting at a deadline."""

    def __init__(self, function: Callable[[bytes], bytes]) -> None:
        self._function = function
        self._requests: queue.Queue[bytes | None] = queue.Queue()
        self._results: queue.Queue[tuple[bytes | None, BaseException | None]] = queue.Queue()
        threading.Thread(target=self._run, name="pcsc-transmit", daemon=True).start()

    def _run(self) -> None:
        while (request := self._requests.get()) is not None:
            try:
                self._results.put((self._function(request), None))
            except BaseException as exc:  # handed to the caller's thread
                self._results.put((None, exc))

    def call(self, request: bytes, timeout_s: float) -> bytes:
        """Run the function on the worker; ``TimeoutError`` when it does not return within ``timeout_s``."""
        self._requests.put(request)
        try:
            result, error = self._results.get(timeout=timeout_s)
        except queue.Empty:
            raise TimeoutError from None
        if error is not None:
            raise error
        assert result is not None
        return result

    def stop(self) -> None:
        """Let the thread end after its current call."""
        self._requests.put(None)


class CardConnection:
    """A connection to the card in one reader; transmit() sends raw APDU bytes and returns the raw answer."""

    def __init__(self, context: PcscContext, reader: str) -> None:
        self.reader = reader
        self._lock = threading.Lock()
        hresult, card, protocol = scard.SCardConnect(
            context.handle, reader, scard.SCARD_SHARE_SHARED, _PROTOCOLS
        )
        _check(hresult, f"connecting to the card in {reader!r}")
        self.card = card
        self.protocol = protocol
        self._open = True
        #: time.monotonic() after which transmit() gives up; a hung chip or driver blocks pcscd indefinitely.
        self.deadline: float | None = None
        self._worker: _Worker | None = None

    def transmit(self, apdu: bytes) -> bytes:
        """Send one command APDU; a card reset raises :class:`CardRemovedError` after reconnecting once.

        With a :attr:`deadline`, the call runs on a helper thread and :class:`CardTimeout` is raised when the chip
        does not answer in time; the stuck call is abandoned (it ends when the card leaves the reader) and the
        connection is marked unusable.
        """
        if self.deadline is None:
            return self._transmit(apdu)
        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            raise CardTimeout("the card did not finish in time; remove it and put it back")
        if self._worker is None:
            self._worker = _Worker(self._transmit)
        try:
            return self._worker.call(apdu, remaining)
        except TimeoutError:
            self._open = False
            self._worker = None  # abandoned: its daemon thread ends when pcscd returns
            raise CardTimeout(
                f"the card did not answer within the time limit; remove it from {self.reader!r} and put it back"
            ) from None

    def _transmit(self, apdu: bytes) -> bytes:
        with self._lock:
            if not self._open:
                raise CardRemovedError("the card connection is closed; put the card back on the reader")
            hresult, response = scard.SCardTransmit(self.card, self.protocol, list(apdu))
            if _u32(hresult) == RESET:
                self.reconnect()
            _check(hresult, "talking to the card")
            return bytes(response)

    def reconnect(self) -> None:
        """Re-open the connection after "card was reset" (the chip restarts: any BAC session is gone)."""
        hresult, protocol = scard.SCardReconnect(
            self.card, scard.SCARD_SHARE_SHARED, _PROTOCOLS, scard.SCARD_LEAVE_CARD
        )
        if _u32(hresult) == 0:
            self.protocol = protocol

    def close(self) -> None:
        """Disconnect explicitly: a stale connection collected later would reset the next card (HARDWARE notes)."""
        if self._worker is not None:
            self._worker.stop()
            self._worker = None
        if not self._lock.acquire(timeout=0.5):
            return  # a transmit is stuck in pcscd: disconnecting would block too; it ends when the card leaves
        try:
            self._open = False
            with contextlib.suppress(Exception):
                scard.SCardDisconnect(self.card, scard.SCARD_LEAVE_CARD)
        finally:
            self._lock.release()

    def __enter__(self) -> CardConnection:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
