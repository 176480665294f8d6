"""Running an emulator as its own process for trainers: print where to connect, serve until Ctrl-C."""

from __future__ import annotations

import signal
import sys
import threading

from emulators.pty_port import SerialEmulator


def serve_until_interrupted(emulator: SerialEmulator, url: str) -> int:
    """Start ``emulator``, print its port and device URL on one line each, stop cleanly on SIGINT or SIGTERM."""
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    emulator.start()
    print(emulator.path, flush=True)
    print(url, file=sys.stderr, flush=True)
    try:
        while not done.wait(0.5):
            if emulator.error is not None:
                print(f"emulator failed: {emulator.error!r}", file=sys.stderr)
                return 1
    except KeyboardInterrupt:
        pass
    finally:
        emulator.stop()
    return 0
