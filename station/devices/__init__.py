"""Device layer of the kit: fingerprint scanners, the ID-card reader and the slip printer.

Devices speak in events (``station.devices.health``); the agent and the screen consume them. The kit opens devices by
URL (``open_device("serial:///dev/ttyUSB0?profile=r307")``, ``emulated://r307``, ``pcsc://...``) and uses them through
two interfaces: :class:`FingerprintScanner` (``capture() -> CapturedImage``) and :class:`Printer`
(``print_slip(Slip)``); it never builds device bytes itself.
"""

from station.devices.errors import DeviceDisconnected, DeviceError, DeviceTimeout, ProfileError, ProtocolError
from station.devices.escpos import PrinterStatus
from station.devices.health import DeviceKind, DeviceState, ErrorCode, HealthEvent
from station.devices.printer import Printer, PrintResult, Slip
from station.devices.profiles import available_profiles, load_profile
from station.devices.scanner import CapturedImage, FingerprintScanner
from station.devices.urls import open_device, register_emulated, register_scheme
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

__all__ = [
    "CaptureFailed",
    "CapturedImage",
    "DeviceEvent",
    "FingerCaptured",
    "HealthBoard",
    "PrintFailed",
    "PrinterWorker",
    "ScannerWorker",
    "SlipPrinted",
    "DeviceDisconnected",
    "DeviceError",
    "DeviceKind",
    "DeviceState",
    "DeviceTimeout",
    "ErrorCode",
    "FingerprintScanner",
    "HealthEvent",
    "PrintResult",
    "Printer",
    "PrinterStatus",
    "ProfileError",
    "ProtocolError",
    "Slip",
    "available_profiles",
    "load_profile",
    "open_device",
    "register_emulated",
    "register_scheme",
]
