"""An emulated ID-card station for trainers and ``emulated://emrtd`` URLs: pcscd, a vpcd slot, a TEST-signed card.

The card is not on the reader until :meth:`EmulatedCardStation.insert`; trainers pull it with :meth:`remove`, swap in
a forged or foreign-signed card with :meth:`load`, and inject chip faults through ``station.chip.faults``.
"""

from __future__ import annotations

from emulators.card.chip import ChipFaults, EmrtdChip
from emulators.card.pcscd import PcscDaemon
from emulators.card.personalisation import CardHolder, ChipFiles, TestPki, make_test_pki, personalise
from emulators.card.vpcd import VPCD_PORT, VirtualCard

READER_NAMES = {0: "Virtual PCD 00 00", 1: "Virtual PCD 00 01"}


class EmulatedCardStation:
    """pcscd (reused if running), one vpcd slot and one personalised card under a fresh TEST PKI."""

    def __init__(self, holder: CardHolder | None = None, slot: int = 0, pki: TestPki | None = None) -> None:
        self.pki = pki or make_test_pki()
        self.holder = holder or CardHolder()
        self.reader = READER_NAMES[slot]
        self.daemon = PcscDaemon()
        self.daemon.start(self.reader)
        self.files = personalise(self.holder, self.pki)
        self.chip = EmrtdChip(self.files)
        self.card = VirtualCard(self.chip, port=VPCD_PORT + slot)

    def load(self, files: ChipFiles, faults: ChipFaults | None = None) -> None:
        """Put another chip in the (removed) card: a forged DG1, a foreign signer, faults."""
        self.files = files
        self.chip = EmrtdChip(files, faults)
        self.card = VirtualCard(self.chip, port=self.card.port)

    def insert(self) -> None:
        """Put the card on the reader."""
        self.card.insert()

    def remove(self) -> None:
        """Pull the card."""
        self.card.remove()

    def stop(self) -> None:
        """Pull the card and stop pcscd if this station started it."""
        self.card.remove()
        self.daemon.stop()
