"""The eMRTD ID-card emulator on the real ``vpcd`` reader driver, and the pcscd process helper.

``personalisation`` builds a chip's files and its EF.SOD signed by a TEST document signer; ``chip`` answers APDUs
like an ICAO 9303 chip (BAC, secure messaging, faults); ``vpcd`` plugs a chip into pcscd's virtual reader;
``pcscd`` starts and stops the daemon for tests, benchmarks and trainers.
"""

from emulators.card.chip import ChipFaults, EmrtdChip
from emulators.card.personalisation import CardHolder, ChipFiles, TestPki, make_test_pki, personalise
from emulators.card.vpcd import VirtualCard

__all__ = [
    "CardHolder",
    "ChipFaults",
    "ChipFiles",
    "EmrtdChip",
    "TestPki",
    "VirtualCard",
    "make_test_pki",
    "personalise",
]
