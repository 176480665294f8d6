"""Device workers: captures and prints happen on the device's thread; the agent reads typed events from a queue."""

from __future__ import annotations

import queue
import time

from emulators.printer import PrinterEmulator
from emulators.r30x import R30xEmulator
from station.devices.health import DeviceState, ErrorCode, HealthEvent
from station.devices.printer import EscPosPrinter, Slip
from station.devices.profiles import load_printer_profile
from station.devices.r30x import R30xScanner
from station.devices.workers import (
    CaptureFailed,
    DeviceEvent,
    FingerCaptured,
    HealthBoard,
    PrinterWorker,
    PrintFailed,
    ScannerWorker,
    SlipPrinted,
)
from tests.devices.conftest import quick


def next_of(events: queue.Queue[DeviceEvent], kind: type, timeout_s: float = 5.0) -> DeviceEvent:
    deadline = time.monotonic() + timeout_s
    while True:
        event = events.get(timeout=max(0.01, deadline - time.monotonic()))
        if isinstance(event, kind):
            return event


def test_scanner_worker_posts_the_capture_and_health_events() -> None:
    profile = quick("r307")
    events: queue.Queue[DeviceEvent] = queue.Queue()
    with R30xEmulator(profile) as emu:
        scanner = R30xScanner(emu.path, profile)
        scanner.open()
        worker = ScannerWorker(scanner, events).start()
        emu.faults.no_finger_polls = 10
        started = time.monotonic()
        worker.arm(5)
        assert time.monotonic() - started < 0.05  # arming never blocks the caller
        busy = next_of(events, HealthEvent)
        assert isinstance(busy, HealthEvent) and busy.state == DeviceState.BUSY
        captured = next_of(events, FingerCaptured)
        assert isinstance(captured, FingerCaptured) and captured.image.pixels.shape == (288, 256)
        emu.faults.finger_present = False
        worker.arm(0.3)
        failed = next_of(events, CaptureFailed)
        assert isinstance(failed, CaptureFailed) and failed.code == ErrorCode.SCANNER_NO_FINGER
        worker.stop()
    assert scanner.health.state == DeviceState.NOT_READY


def test_printer_worker_reports_each_slip_and_notices_paper_low_while_idle() -> None:
    profile = load_printer_profile("escpos58")
    events: queue.Queue[DeviceEvent] = queue.Queue()
    with PrinterEmulator(profile) as emu:
        printer = EscPosPrinter(emu.path, profile)
        printer.open()
        worker = PrinterWorker(printer, events, idle_poll_s=0.05).start()
        worker.print(Slip(title=("Бир",)), ref="seq-1")
        printed = next_of(events, SlipPrinted)
        assert isinstance(printed, SlipPrinted) and printed.ref == "seq-1"
        emu.faults.paper_near_end = True
        low = next_of(events, HealthEvent)
        assert isinstance(low, HealthEvent) and low.code == ErrorCode.PRINTER_PAPER_NEAR_END
        emu.faults.paper_out = True
        worker.print(Slip(title=("Эки",)), ref="seq-2")
        failed = next_of(events, PrintFailed)
        assert (
            isinstance(failed, PrintFailed)
            and failed.ref == "seq-2"
            and failed.code == ErrorCode.PRINTER_PAPER_OUT
        )
        worker.stop()


def test_health_board_keeps_the_latest_state_of_each_device_for_heartbeats() -> None:
    profile = load_printer_profile("escpos58")
    events: queue.Queue[DeviceEvent] = queue.Queue()
    board = HealthBoard()
    with PrinterEmulator(profile) as emu, R30xEmulator(quick("r307")) as scanner_emu:
        printer = EscPosPrinter(emu.path, profile, name="printer-1")
        scanner = R30xScanner(scanner_emu.path, quick("r307"), name="scanner-1")
        for device in (printer, scanner):
            device.subscribe(events.put)
            device.open()
        emu.faults.cover_open = True
        printer.status()
        while not events.empty():
            board.update(events.get())
        snapshot = board.snapshot()
        assert [(h["device"], h["state"], h["code"]) for h in snapshot] == [
            ("printer-1", "not_ready", 303),
            ("scanner-1", "ready", 0),
        ]
        assert [p.device for p in board.problems()] == ["printer-1"]
        printer.close()
        scanner.close()
