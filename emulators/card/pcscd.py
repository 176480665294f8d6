"""Starting and stopping ``pcscd`` for tests, benchmarks and trainers' demos (no systemd needed).

There is one pcscd per machine (its socket path ``/run/pcscd/pcscd.comm`` is fixed). :class:`PcscDaemon` reuses a
daemon that already answers, starts ``pcscd --foreground`` otherwise, waits until the vpcd readers are listed, and on
stop terminates only a daemon it started itself (SIGTERM, then SIGKILL and removal of the stale files).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

RUN_DIR = Path("/run/pcscd")
SOCKET = RUN_DIR / "pcscd.comm"


#: Where Debian's vsmartcard-vpcd package puts the virtual reader's driver (pcscd loads it from reader.conf.d).
VPCD_DRIVER = Path("/usr/lib/pcsc/drivers/serial/libifdvpcd.so")


class PcscdError(RuntimeError):
    """pcscd could not be started or does not list the expected readers."""


def missing_card_stack() -> str | None:
    """Why this machine cannot run the emulated card stack (pcscd with the vpcd reader), or None when it can.

    Tests skip with this sentence; a trainer's kit says it and carries on without a card reader."""
    if shutil.which("pcscd") is None and not Path("/usr/sbin/pcscd").exists():
        return "pcscd is not installed (apt-get install pcscd vsmartcard-vpcd; make test does it)"
    if not VPCD_DRIVER.exists():
        return "the vpcd reader driver is not installed (apt-get install vsmartcard-vpcd; make test does it)"
    return None


def list_readers() -> list[str] | None:
    """The reader names pcscd lists now, or None when no daemon answers."""
    from smartcard import scard

    hresult, context = scard.SCardEstablishContext(scard.SCARD_SCOPE_USER)
    if hresult != scard.SCARD_S_SUCCESS:
        return None
    try:
        hresult, readers = scard.SCardListReaders(context, [])
        if hresult == scard.SCARD_E_NO_READERS_AVAILABLE:
            return []
        return list(readers) if hresult == scard.SCARD_S_SUCCESS else None
    finally:
        scard.SCardReleaseContext(context)


def remove_stale_files() -> None:
    """Remove what a killed pcscd leaves behind in /run/pcscd, so that a new daemon can start."""
    if RUN_DIR.exists():
        for entry in RUN_DIR.iterdir():
            with contextlib.suppress(OSError):
                entry.unlink()


_RESERVED_PORTS = Path("/proc/sys/net/ipv4/ip_local_reserved_ports")


def reserve_vpcd_ports(first: int = 35963, last: int = 35964) -> bool:
    """Keep vpcd's TCP ports out of the kernel's ephemeral range, so no client socket can take them.

    vpcd's ports lie inside Linux's default ephemeral range (32768-60999): any outgoing connection on the machine may
    be given one, and vpcd then cannot listen and offers no reader. Reserving them (root only; best effort) removes
    that race for tests and trainers' machines. Returns True when the ports are reserved.
    """
    wanted = f"{first}-{last}"
    try:
        current = _RESERVED_PORTS.read_text().strip()
        if wanted in current.split(","):
            return True
        _RESERVED_PORTS.write_text(f"{current},{wanted}" if current else wanted)
    except OSError:
        return False
    return True


class PcscDaemon:
    """A pcscd for the current process; ``config_dir`` is a private reader.conf.d folder (``pcscd -c``)."""

    def __init__(self, config_dir: Path | None = None, log_path: Path | None = None) -> None:
        self.config_dir = config_dir
        self.log_path = log_path
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def owned(self) -> bool:
        """True when this object started the daemon (and will stop it)."""
        return self.proc is not None

    def start(self, reader: str = "Virtual PCD 00 00", timeout_s: float = 10.0, attempts: int = 3) -> list[str]:
        """Make sure a pcscd runs and lists ``reader``; returns the reader names.

        A daemon started here that does not list the reader is stopped again before anything is raised (never left
        behind), and started afresh up to ``attempts`` times: vpcd's ports (35963, 35964) lie in Linux's ephemeral
        port range, so a client socket of another program can hold one for a while and vpcd then offers no reader.
        """
        for attempt in range(attempts):
            try:
                return self._start_once(reader, timeout_s / attempts if attempt < attempts - 1 else timeout_s)
            except PcscdError:
                if not self.owned or attempt == attempts - 1:
                    self.stop()
                    raise
                self.stop()
        raise AssertionError("unreachable")

    def _start_once(self, reader: str, timeout_s: float) -> list[str]:
        readers = list_readers()
        if readers is None and (self.proc is None or self.proc.poll() is not None):
            binary = shutil.which("pcscd") or "/usr/sbin/pcscd"
            if not Path(binary).exists():
                raise PcscdError("pcscd is not installed: apt-get install pcscd vsmartcard-vpcd")
            remove_stale_files()
            reserve_vpcd_ports()
            args = [binary, "--foreground"]
            if self.config_dir is not None:
                args += ["-c", str(self.config_dir)]
            log = self.log_path.open("ab") if self.log_path else subprocess.DEVNULL
            self.proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + timeout_s
        while True:
            readers = list_readers()
            if readers is not None and any(r.startswith(reader) for r in readers):
                return readers
            if self.proc is not None and self.proc.poll() is not None:
                raise PcscdError(f"pcscd exited with status {self.proc.returncode} while starting")
            if time.monotonic() > deadline:
                owner = "started here" if self.owned else "already running, not started here"
                raise PcscdError(
                    f"pcscd ({owner}) does not list the reader {reader!r} (readers: {readers}); is vsmartcard-vpcd"
                    " installed, and are TCP ports 35963/35964 free (ss -tanp | grep 3596)?"
                )
            time.sleep(0.05)

    def stop(self, timeout_s: float = 5.0) -> None:
        """Stop the daemon if this object started it: SIGTERM, then SIGKILL and stale-file cleanup."""
        proc, self.proc = self.proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout_s)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout_s)
            remove_stale_files()

    def __enter__(self) -> PcscDaemon:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
