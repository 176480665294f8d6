"""Plugging an emulated chip into pcscd through the ``vpcd`` virtual reader driver (Debian ``vsmartcard-vpcd``).

vpcd listens on TCP 35963 ("Virtual PCD 00 00") and 35964 ("Virtual PCD 00 01"); an open connection is an inserted
card, a closed one a pulled card. Each message is a 2-byte big-endian length and a payload: one byte is a control code
(00 power off, 01 power on, 02 reset, 04 get ATR), anything longer is a command APDU answered by a response APDU.
``TCP_QUICKACK`` is set before every receive: vpcd writes length and payload separately, and with Nagle and delayed
ACK each APDU would otherwise cost about 40 ms.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import operator
import socket
import threading
import time

from emulators.card.chip import EmrtdChip

log = logging.getLogger(__name__)

VPCD_PORT = 35963  # slot 0; slot n listens on VPCD_PORT + n
#: ATR of a contactless ISO 14443-4 card as a PC/SC reader reports it (PC/SC part 3 §3.1.3.2.3): T=1, TCK last.
_ATR_BODY = bytes.fromhex("3B8880014D52544453484C44")
ATR = _ATR_BODY + bytes([functools.reduce(operator.xor, _ATR_BODY[1:], 0)])

CTRL_OFF, CTRL_ON, CTRL_RESET, CTRL_ATR = 0, 1, 2, 4


class VirtualCard:
    """An emulated card in a vpcd slot: :meth:`insert` connects, :meth:`remove` disconnects (pulls the card)."""

    def __init__(self, chip: EmrtdChip, host: str = "127.0.0.1", port: int = VPCD_PORT) -> None:
        self.chip = chip
        self.host = host
        self.port = port
        self._sock: socket.socket | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self.error: BaseException | None = None

    @property
    def inserted(self) -> bool:
        """True while the card is connected to vpcd."""
        return self._sock is not None

    def insert(self, timeout_s: float = 5.0) -> None:
        """Connect to vpcd (retrying while pcscd starts) and start answering; raises ``OSError`` after the timeout."""
        if self._sock is not None:
            return
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                sock = socket.create_connection((self.host, self.port), timeout=1.0)
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.settimeout(None)
        self.chip.removed.clear()
        self.chip.apdu_count = 0
        self.chip.reset()
        self._sock = sock
        self._thread = threading.Thread(target=self._serve, args=(sock,), name=f"vpcd-card:{self.port}", daemon=True)
        self._thread.start()

    def remove(self) -> None:
        """Pull the card: close the connection (vpcd reports the card absent)."""
        with self._lock:
            sock, self._sock = self._sock, None
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(2.0)
        self._thread = None

    def _recv_exact(self, sock: socket.socket, size: int) -> bytes:
        buf = b""
        while len(buf) < size:
            # Re-armed before every receive: Linux clears TCP_QUICKACK after it is used.
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_QUICKACK, 1)
            chunk = sock.recv(size - len(buf))
            if not chunk:
                raise ConnectionError("vpcd closed the connection")
            buf += chunk
        return buf

    def _serve(self, sock: socket.socket) -> None:
        try:
            while True:
                size = int.from_bytes(self._recv_exact(sock, 2), "big")
                payload = self._recv_exact(sock, size) if size else b""
                if len(payload) == 1:
                    answer = self._control(payload[0])
                    if answer is None:
                        continue
                else:
                    answer = self.chip.process(payload)
                    if self.chip.removed.is_set():
                        break  # pulled mid-command: no answer, as with a card leaving the field
                    if self.chip.faults.silent(self.chip.apdu_count):
                        continue  # a hung chip: the reader must give up on its own
                sock.sendall(len(answer).to_bytes(2, "big") + answer)
        except (OSError, ConnectionError) as exc:
            if self._sock is sock:
                self.error = exc
        finally:
            if self._sock is sock:
                threading.Thread(target=self.remove, daemon=True).start()

    def _control(self, code: int) -> bytes | None:
        if code in (CTRL_OFF, CTRL_ON, CTRL_RESET):
            self.chip.reset()
            return None
        if code == CTRL_ATR:
            return ATR
        log.warning("vpcd sent unknown control code %d", code)
        return None

    def __enter__(self) -> VirtualCard:
        self.insert()
        return self

    def __exit__(self, *exc: object) -> None:
        self.remove()
