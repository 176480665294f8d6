"""The printer's status, polled while it is idle, so "paper near end", "paper out" or "cover open" shows on the screen
before the next voter's slip, not during it (the scanner and the card reader report their own changes: the scanner on
every capture, the card reader from its PC/SC thread).
"""

from __future__ import annotations

import contextlib
import threading
from typing import Any

from station.devices.errors import DeviceError

#: Seconds between two status reads of an idle printer (VxPollbook-style paper-low warnings need no more; each read
#: is three one-byte DLE EOT requests, a few milliseconds on the line).
PRINTER_POLL_S = 5.0


class PrinterPoller:
    """A daemon thread reading ``printer.status()`` every ``every_s`` while nobody else holds ``lock``."""

    def __init__(self, printer: Any, lock: threading.Lock, every_s: float = PRINTER_POLL_S) -> None:
        self.printer = printer
        self.lock = lock
        self.every_s = every_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> PrinterPoller:
        """Start polling (only printers with a ``status`` method are polled); returns self."""
        if callable(getattr(self.printer, "status", None)):
            self._thread = threading.Thread(target=self._run, name="printer-status", daemon=True)
            self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.wait(self.every_s):
            self.poll_once()

    def poll_once(self) -> bool:
        """One status read if the printer is free (True), else nothing (False). A failure is reported by the driver's
        health event, which is what the screen shows."""
        if not self.lock.acquire(blocking=False):
            return False
        try:
            with contextlib.suppress(DeviceError):
                self.printer.status()
        finally:
            self.lock.release()
        return True

    def stop(self) -> None:
        """Stop polling (waits for a read in progress)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
