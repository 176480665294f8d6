"""Running an emulator as its own process for trainers: print where to connect, take fault commands on stdin.

Commands, one per line (answers go to stderr):
  ``set FIELD VALUE``  change a fault (``set paper_out true``, ``set no_finger_polls 20``, ``set stray_before_next 55``)
  ``show``             print the current faults
  ``unplug``           close the port, as if the cable were pulled
Values: true/false, integers, decimals, ``none``, or hex bytes for byte fields.
"""

from __future__ import annotations

import dataclasses
import signal
import sys
import threading
from typing import Any, TextIO

from emulators.pty_port import SerialEmulator


def parse_value(kind: str, text: str) -> Any:
    """Convert ``text`` to the type named by a dataclass field annotation (``bool``, ``int``, ``bytes``...)."""
    low = text.strip().lower()
    if low == "none" and "None" in kind:
        return None
    if kind.startswith("bool"):
        if low not in ("true", "false", "1", "0", "on", "off"):
            raise ValueError(f"expected true or false, got {text!r}")
        return low in ("true", "1", "on")
    if kind.startswith("bytes"):
        return bytes.fromhex(text.replace("0x", ""))
    if kind.startswith("int"):
        return int(text, 0)
    if kind.startswith("float"):
        return float(text)
    raise ValueError(f"fields of type {kind} cannot be set from the command line")


def apply_command(emulator: SerialEmulator, line: str) -> str:
    """Carry out one trainer command; returns the answer line (errors are answers too, never exceptions)."""
    faults = getattr(emulator, "faults", None)
    words = line.split()
    if not words:
        return ""
    if words[0] == "unplug":
        emulator.unplug()
        return "unplugged"
    if faults is None:
        return "this emulator has no faults to set"
    fields = {f.name: str(f.type) for f in dataclasses.fields(faults) if f.name != "received"}
    if words[0] == "show":
        return " ".join(f"{name}={getattr(faults, name)!r}" for name in fields)
    if words[0] == "set" and len(words) == 3:
        name, text = words[1], words[2]
        if name not in fields:
            return f"unknown fault {name!r}; faults: {', '.join(fields)}"
        try:
            setattr(faults, name, parse_value(fields[name], text))
        except ValueError as exc:
            return f"cannot set {name}: {exc}"
        return f"{name}={getattr(faults, name)!r}"
    return "commands: set FIELD VALUE | show | unplug"


def _read_commands(emulator: SerialEmulator, stream: TextIO) -> None:
    for line in stream:
        answer = apply_command(emulator, line)
        if answer:
            print(answer, file=sys.stderr, flush=True)


def serve_until_interrupted(emulator: SerialEmulator, url: str) -> int:
    """Start ``emulator``, print its port (stdout) and device URL (stderr), stop cleanly on SIGINT or SIGTERM."""
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    emulator.start()
    print(emulator.path, flush=True)
    print(url, file=sys.stderr, flush=True)
    threading.Thread(target=_read_commands, args=(emulator, sys.stdin), daemon=True).start()
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
