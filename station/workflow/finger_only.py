"""Finger alone: a 1:N search over the station's templates, top candidates with confidence, the operator chooses.

IDLE -> AWAIT_FINGER -> (candidates) CHOOSE -> (operator picks one) CONFIRM -> (confirms) PRINTED | PRINT_FAILED
Side exits: REFUSED (the chosen voter already voted), FAILED_ACQUIRE, FAILED_MATCH, DEVICE_FAULT.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from station.gallery import Gallery
from station.identify import IdentificationResult, Path, lookup, record_attempt
from station.matching import Candidate, Matcher
from station.workflow.base import MAX_MATCH_TRIES, Flow, State
from station.workflow.capture import CAPTURE_TIMEOUT_S
from station.workflow.ports import Scanner

_S = State
#: Candidates shown to the operator.
TOP_K = 3
TRANSITIONS = {
    _S.IDLE: frozenset({_S.AWAIT_FINGER}),
    _S.AWAIT_FINGER: frozenset({_S.AWAIT_FINGER, _S.CHOOSE, _S.FAILED_ACQUIRE, _S.FAILED_MATCH, _S.DEVICE_FAULT}),
    _S.CHOOSE: frozenset({_S.CONFIRM, _S.REFUSED, _S.AWAIT_FINGER}),
    _S.CONFIRM: frozenset({_S.PRINTED, _S.PRINT_FAILED, _S.REFUSED}),
}


@dataclass
class FingerOnlyFlow(Flow):
    """The finger-alone path for one voter."""

    scanner: Scanner | None = None
    matcher: Matcher | None = None
    gallery: Gallery | None = None
    candidates: list[Candidate] = field(default_factory=list)
    match_tries: int = 0

    def __post_init__(self) -> None:
        self.path = Path.FINGER
        self.transitions = TRANSITIONS

    def start(self) -> None:
        """Ask for a finger."""
        self._go(_S.AWAIT_FINGER, "place a finger on the scanner")

    def capture(self, timeout_s: float = CAPTURE_TIMEOUT_S, cancel: threading.Event | None = None) -> None:
        """Capture and search 1:N; candidates above the threshold go to the operator.

        ``cancel`` lets the operator stop the wait for a finger (raises ``CaptureCancelled``, state unchanged)."""
        self._require(_S.AWAIT_FINGER)
        assert self.scanner is not None and self.matcher is not None
        probe = self._acquire(self.scanner, self.matcher, timeout_s, cancel,
                              "no usable image: use the card or the typed fallback")
        if probe is None:
            return
        found = [c for c in self.matcher.identify(probe, TOP_K) if c.score >= self.matcher.identify_threshold]
        if found:
            self.candidates = found
            self._go(_S.CHOOSE, "choose the voter whose photo and name match")
            return
        self.match_tries += 1
        if self.match_tries >= MAX_MATCH_TRIES:
            record_attempt(self.store, "ftm", self.path)
            self._go(_S.FAILED_MATCH, "no match on this station's list: use the card or the typed fallback")
        else:
            self._go(_S.AWAIT_FINGER, "no match: try another finger", "no_match")

    def choose(self, personal_number: str) -> None:
        """The operator picked a candidate (or none: back to the scanner with ``""``)."""
        self._require(_S.CHOOSE)
        if not personal_number:
            self._go(_S.AWAIT_FINGER, "place another finger on the scanner", "another_finger")
            return
        chosen = next((c for c in self.candidates if c.personal_number == personal_number), None)
        if chosen is None:
            raise ValueError("choose one of the candidates shown")
        found = lookup(self.store, personal_number)
        if isinstance(found, IdentificationResult):
            self._refuse(found)
            return
        self.voter = found
        self.score = chosen.score
        if self.gallery is not None:
            self.photo = self.gallery.biometrics(personal_number).photo
        self._go(_S.CONFIRM, "check the photo and the name, then confirm")

    def confirm(self) -> None:
        """Commit, then print."""
        self._require(_S.CONFIRM)
        self._commit()
