"""What the operator-screen tests share: the kit's emulated scanner and printer with their real drivers open, and the
screen app served by uvicorn on a free 127.0.0.1 port in a background thread."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import uvicorn

from emulators.printer import PrinterEmulator
from emulators.r30x import R30xEmulator
from station.devices.printer import EscPosPrinter
from station.devices.profiles import load_printer_profile, load_scanner_profile
from station.devices.r30x import R30xScanner
from tests.conftest import free_port

#: Seconds uvicorn gets to start listening (a loaded 2-core CI machine needs a few).
START_S = 10.0


@contextlib.contextmanager
def serve_app(app: Any) -> Iterator[str]:
    """Serve ``app`` on 127.0.0.1 until the block ends; yields its base URL. Fails the test if it does not start."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + START_S
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    if not server.started:
        server.should_exit = True
        raise RuntimeError(f"the operator screen did not start on port {port} within {START_S:.0f} s")
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


@contextlib.contextmanager
def printer_on_pty() -> Iterator[tuple[EscPosPrinter, PrinterEmulator]]:
    """The 58 mm ESC/POS printer emulator with the kit's printer driver open on its pty."""
    with PrinterEmulator("escpos58") as emulator:
        printer = EscPosPrinter(emulator.path, load_printer_profile("escpos58"))
        printer.open()
        try:
            yield printer, emulator
        finally:
            printer.close()


@contextlib.contextmanager
def scanner_on_pty(images: str | Callable[[], np.ndarray]) -> Iterator[tuple[R30xScanner, R30xEmulator]]:
    """The R307 scanner emulator serving ``images`` with the kit's R30x driver open on its pty."""
    with R30xEmulator("r307", images=images) as emulator:
        scanner = R30xScanner(emulator.path, load_scanner_profile("r307"))
        scanner.open()
        try:
            yield scanner, emulator
        finally:
            scanner.close()
