"""Card, then finger: the chip gives the personal number, the finger is compared 1:1 with that voter's fingers.

IDLE -> AWAIT_CARD -> (card read) AWAIT_FINGER -> (match) CONFIRM -> (operator confirms) PRINTED | PRINT_FAILED
Side exits: REFUSED (already voted, not on the list, card not authentic), NO_TEMPLATES (nobody enrolled: use the typed
fallback), FAILED_ACQUIRE (no usable image after N tries), FAILED_MATCH (N fingers tried), DEVICE_FAULT.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from station.devices.errors import DeviceError
from station.gallery import Gallery
from station.identify import IdentificationResult, Outcome, Path, lookup, record_attempt
from station.matching import Matcher
from station.workflow.base import FINAL, MAX_ACQUIRE_TRIES, MAX_MATCH_TRIES, Flow, State
from station.workflow.capture import CAPTURE_TIMEOUT_S, capture_probe
from station.workflow.ports import CardData, CardReader, Scanner

_S = State
TRANSITIONS = {
    _S.IDLE: frozenset({_S.AWAIT_CARD}),
    _S.AWAIT_CARD: frozenset({_S.AWAIT_FINGER, _S.REFUSED, _S.NO_TEMPLATES, _S.DEVICE_FAULT}),
    _S.AWAIT_FINGER: frozenset({_S.AWAIT_FINGER, _S.CONFIRM, _S.FAILED_ACQUIRE, _S.FAILED_MATCH, _S.DEVICE_FAULT}),
    _S.CONFIRM: frozenset({_S.PRINTED, _S.PRINT_FAILED, _S.REFUSED}),
}


@dataclass
class CardFingerFlow(Flow):
    """The card-then-finger path for one voter."""

    scanner: Scanner | None = None
    matcher: Matcher | None = None
    gallery: Gallery | None = None
    acquire_tries: int = 0
    match_tries: int = 0
    tried_fingers: list[int] = field(default_factory=list)
    _templates: dict[int, bytes] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.path = Path.CARD_FINGER
        self.transitions = TRANSITIONS

    def start(self) -> None:
        """Ask for the card."""
        self._go(_S.AWAIT_CARD, "present the ID card to the reader")

    def read_card(self, reader: CardReader, timeout_s: float | None = None) -> None:
        """Read the card from the reader (blocking) and continue with :meth:`card_read`."""
        self._require(_S.AWAIT_CARD)
        try:
            card = reader.read_card(timeout_s)
        except DeviceError as exc:
            self._go(_S.DEVICE_FAULT, f"the card could not be read: {exc}")
            return
        self.card_read(card)

    def card_read(self, card: CardData) -> None:
        """The chip was read: find the voter, refuse or ask for a finger."""
        self._require(_S.AWAIT_CARD)
        if not card.authentic:
            self._refuse_text("the card's chip failed passive authentication: do not accept it; call the chair")
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

    def _refuse_text(self, text: str) -> None:
        self.result = IdentificationResult(Outcome.NOT_ON_LIST)
        self._go(_S.REFUSED, text)

    def capture(self, timeout_s: float = CAPTURE_TIMEOUT_S) -> None:
        """Capture and compare 1:1; stays in AWAIT_FINGER with advice, or moves on."""
        self._require(_S.AWAIT_FINGER)
        assert self.scanner is not None and self.matcher is not None and self.voter is not None
        got = capture_probe(self.scanner, self.matcher, timeout_s)
        if got.fault:
            self._go(_S.DEVICE_FAULT, f"scanner fault: {got.fault}")
            return
        if got.probe is None:
            self.acquire_tries += 1
            if self.acquire_tries >= MAX_ACQUIRE_TRIES:
                record_attempt(self.store, "fta", self.path, self.voter.personal_number, self.voter.sex)
                self._go(_S.FAILED_ACQUIRE, "no usable image: use the typed fallback (worn prints) with a second member")
            else:
                self._go(_S.AWAIT_FINGER, got.advice)
            return
        self.acquire_tries = 0
        best = self.matcher.verify(got.probe, self._templates)
        if best is not None and best.score >= self.matcher.threshold:
            self.score = best.score
            self._go(_S.CONFIRM, "check the photo and the name, then confirm")
            return
        self.match_tries += 1
        if self.match_tries >= MAX_MATCH_TRIES:
            record_attempt(self.store, "ftm", self.path, self.voter.personal_number, self.voter.sex)
            self._go(_S.FAILED_MATCH, "the fingers do not match: use the typed fallback with a second member")
        else:
            self._go(_S.AWAIT_FINGER, "no match: try another finger")

    def confirm(self) -> None:
        """The operator saw the photo and name: commit, then print."""
        self._require(_S.CONFIRM)
        self._commit()

    @property
    def done(self) -> bool:
        """True once the flow reached a final state."""
        return self.state in FINAL
