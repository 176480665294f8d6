"""Card, then finger: the chip gives the personal number, the finger is compared 1:1 with that voter's fingers.

IDLE -> AWAIT_CARD -> (card read) AWAIT_FINGER -> (match) CONFIRM -> (operator confirms) PRINTED | PRINT_FAILED
A card that cannot be read yet (no card on the reader, MRZ that does not open the chip, card moved, slow chip) keeps
AWAIT_CARD with a notice saying what to do; after :data:`MAX_CARD_TRIES` such reads the notice suggests the typed
fallback ("card unreadable").
Side exits: REFUSED (already voted, not on the list, card not authentic: counted and audited), NO_TEMPLATES (nobody
enrolled: use the typed fallback), FAILED_ACQUIRE (no usable image after N tries), FAILED_MATCH (N fingers tried),
DEVICE_FAULT (the reader or the scanner is gone).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from station.devices.errors import DeviceError
from station.devices.health import ErrorCode
from station.gallery import Gallery
from station.identify import IdentificationResult, Outcome, Path, lookup, record_attempt
from station.matching import Matcher
from station.workflow.base import FINAL, MAX_MATCH_TRIES, Flow, State
from station.workflow.capture import CAPTURE_TIMEOUT_S
from station.workflow.ports import CardData, CardReader, Scanner
from station.workflow.refusals import record_refused_card

_S = State
TRANSITIONS = {
    _S.IDLE: frozenset({_S.AWAIT_CARD}),
    _S.AWAIT_CARD: frozenset({_S.AWAIT_CARD, _S.AWAIT_FINGER, _S.REFUSED, _S.NO_TEMPLATES, _S.DEVICE_FAULT}),
    _S.AWAIT_FINGER: frozenset({_S.AWAIT_FINGER, _S.CONFIRM, _S.FAILED_ACQUIRE, _S.FAILED_MATCH, _S.DEVICE_FAULT}),
    _S.CONFIRM: frozenset({_S.PRINTED, _S.PRINT_FAILED, _S.REFUSED}),
}
#: Unsuccessful card reads before the screen suggests the typed fallback (same budget as finger captures).
MAX_CARD_TRIES = 3
#: A card read that failed in a way the operator can fix: the error code's notice (``notice.*`` in the catalogues).
CARD_NOTICES = {
    ErrorCode.CARD_NO_CARD: "card_none",
    ErrorCode.CARD_AUTH_FAILED: "card_bac",
    ErrorCode.CARD_REMOVED: "card_removed",
    ErrorCode.DEVICE_TIMEOUT: "card_slow",
    ErrorCode.CARD_READ_FAILED: "card_read_failed",
}


@dataclass
class CardFingerFlow(Flow):
    """The card-then-finger path for one voter."""

    scanner: Scanner | None = None
    matcher: Matcher | None = None
    gallery: Gallery | None = None
    match_tries: int = 0
    card_tries: int = 0
    tried_fingers: list[int] = field(default_factory=list)
    #: What the chip said (after authentication), for the screen: the chip's face next to the list's photo.
    card: CardData | None = None
    _templates: dict[int, bytes] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.path = Path.CARD_FINGER
        self.transitions = TRANSITIONS

    def start(self) -> None:
        """Ask for the card."""
        self._go(_S.AWAIT_CARD, "present the ID card to the reader")

    def read_card(self, reader: CardReader, timeout_s: float | None = None, mrz: Any = None) -> None:
        """Read the card from the reader (blocking) with the access keys of ``mrz``; continue with
        :meth:`card_read`, or :meth:`card_failed` when the chip could not be read."""
        self._require(_S.AWAIT_CARD)
        try:
            card = reader.read_card(timeout_s, mrz=mrz)
        except DeviceError as exc:
            self.card_failed(exc)
            return
        self.card_read(card)

    def card_failed(self, exc: DeviceError) -> None:
        """A read that gave no chip data: stay for another try with a notice, or a device fault (no reader)."""
        self._require(_S.AWAIT_CARD)
        try:
            code = ErrorCode(exc.code)
        except ValueError:
            code = ErrorCode.CARD_READ_FAILED
        notice = CARD_NOTICES.get(code)
        if notice is None:
            self._go(_S.DEVICE_FAULT, f"the card reader does not work: {exc}", "card_reader_fault")
            return
        self.card_tries += 1
        if self.card_tries >= MAX_CARD_TRIES:
            notice = "card_unreadable"
        self._go(_S.AWAIT_CARD, f"the card could not be read: {exc}", notice)

    def mrz_unreadable(self, exc: Exception) -> None:
        """The MRZ camera gave no valid MRZ (or there is none): stay for the typed MRZ."""
        self._require(_S.AWAIT_CARD)
        self._go(_S.AWAIT_CARD, f"the MRZ could not be photographed: {exc}", "mrz_camera")

    def card_read(self, card: CardData) -> None:
        """The chip was read: refuse a card that is not authentic, find the voter, refuse or ask for a finger."""
        self._require(_S.AWAIT_CARD)
        self.card = card
        if not card.authentic:
            record_refused_card(self.store, self.path.value, card.problem, card.cloned, card.document_number)
            self.result = IdentificationResult(Outcome.NOT_ON_LIST)
            self._go(_S.REFUSED, f"the card's chip failed authentication ({card.problem}): do not accept it; "
                     "call the chair", "card_cloned" if card.cloned else "card_forged")
            return
        found = lookup(self.store, card.personal_number)
        if isinstance(found, IdentificationResult):
            self._refuse(found)
            return
        self.voter = found
        assert self.gallery is not None
        bio = self.gallery.biometrics(found.personal_number)
        self.photo = bio.photo or card.face
        self._templates = dict(bio.templates)
        if not self._templates:
            self._go(_S.NO_TEMPLATES, "no fingerprints enrolled for this voter: use the typed fallback (no prints)")
            return
        self._go(_S.AWAIT_FINGER, "place a finger on the scanner")

    def capture(self, timeout_s: float = CAPTURE_TIMEOUT_S, cancel: threading.Event | None = None) -> None:
        """Capture and compare 1:1; stays in AWAIT_FINGER with advice, or moves on.

        ``cancel`` lets the operator stop the wait for a finger (raises ``CaptureCancelled``, state unchanged)."""
        self._require(_S.AWAIT_FINGER)
        assert self.scanner is not None and self.matcher is not None and self.voter is not None
        probe = self._acquire(self.scanner, self.matcher, timeout_s, cancel,
                              "no usable image: use the typed fallback (worn prints) with a second member",
                              self.voter.personal_number, self.voter.sex)
        if probe is None:
            return
        best = self.matcher.verify(probe, self._templates)
        if best is not None and best.score >= self.matcher.threshold:
            self.score = best.score
            self._go(_S.CONFIRM, "check the photo and the name, then confirm")
            return
        self.match_tries += 1
        if self.match_tries >= MAX_MATCH_TRIES:
            record_attempt(self.store, "ftm", self.path, self.voter.personal_number, self.voter.sex)
            self._go(_S.FAILED_MATCH, "the fingers do not match: use the typed fallback with a second member")
        else:
            self._go(_S.AWAIT_FINGER, "no match: try another finger", "no_match")

    def confirm(self) -> None:
        """The operator saw the photo and name: commit, then print."""
        self._require(_S.CONFIRM)
        self._commit()

    @property
    def done(self) -> bool:
        """True once the flow reached a final state."""
        return self.state in FINAL
