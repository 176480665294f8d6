"""Emulators as separate processes, driven by a trainer's fault commands on stdin."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator

import pytest

from emulators.printer import PrinterEmulator
from emulators.serve import apply_command
from station.devices.errors import DeviceError
from station.devices.health import ErrorCode
from station.devices.r30x import R30xScanner
from tests.devices.conftest import quick


@pytest.fixture
def r30x_process() -> Iterator[tuple[subprocess.Popen[str], str]]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "emulators.r30x", "--profile", "r307"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None and proc.stderr is not None
    path = proc.stdout.readline().strip()
    assert proc.stderr.readline().strip() == f"serial://{path}?profile=r307"
    yield proc, path
    proc.terminate()
    assert proc.wait(10) == 0


def command(proc: subprocess.Popen[str], line: str) -> str:
    assert proc.stdin is not None and proc.stderr is not None
    proc.stdin.write(line + "\n")
    proc.stdin.flush()
    return proc.stderr.readline().strip()


def test_trainer_turns_the_finger_off_and_on(r30x_process: tuple[subprocess.Popen[str], str]) -> None:
    proc, path = r30x_process
    profile = quick("r307")
    scanner = R30xScanner(path, profile)
    scanner.open()
    assert command(proc, "set finger_present false") == "finger_present=False"
    with pytest.raises(DeviceError) as err:
        scanner.capture(0.3)
    assert err.value.code == ErrorCode.SCANNER_NO_FINGER
    assert command(proc, "set finger_present true") == "finger_present=True"
    assert command(proc, "set stray_before_next 55") == "stray_before_next=b'U'"
    assert scanner.capture(3).pixels.shape == (288, 256)
    assert command(proc, "unplug") == "unplugged"
    time.sleep(0.1)
    with pytest.raises(DeviceError):
        scanner.capture(1)
    scanner.close()


def test_commands_answer_mistakes_instead_of_failing() -> None:
    with PrinterEmulator("escpos58") as emu:
        assert apply_command(emu, "set paper_out maybe").startswith("cannot set paper_out")
        assert apply_command(emu, "set toner_low true").startswith("unknown fault 'toner_low'")
        assert apply_command(emu, "set paper_left_mm 12.5") == "paper_left_mm=12.5"
        assert apply_command(emu, "set paper_left_mm none") == "paper_left_mm=None"
        assert "cover_open=False" in apply_command(emu, "show")
        assert apply_command(emu, "dance").startswith("commands:")
