"""Typed personal number: the supervised fallback, with a reason code and a second member's confirmation.

IDLE -> AWAIT_NUMBER -> (number typed, voter found) CONFIRM -> (second member confirms) PRINTED | PRINT_FAILED
Side exit: REFUSED (not on list, with the right station when known; already voted).
"""

from __future__ import annotations

from dataclasses import dataclass

from station.errors import WorkflowError
from station.gallery import Gallery
from station.identify import FallbackReason, IdentificationResult, Path, lookup
from station.workflow.base import Flow, State

_S = State
TRANSITIONS = {
    _S.IDLE: frozenset({_S.AWAIT_NUMBER}),
    _S.AWAIT_NUMBER: frozenset({_S.CONFIRM, _S.REFUSED}),
    _S.CONFIRM: frozenset({_S.PRINTED, _S.PRINT_FAILED, _S.REFUSED}),
}


@dataclass
class ManualFlow(Flow):
    """The typed-number path for one voter."""

    gallery: Gallery | None = None
    reason: FallbackReason | None = None

    def __post_init__(self) -> None:
        self.path = Path.MANUAL
        self.transitions = TRANSITIONS

    def start(self) -> None:
        """Ask for the number and the reason."""
        self._go(_S.AWAIT_NUMBER, "type the 14-digit personal number and choose the reason")

    def enter(self, personal_number: str, reason: FallbackReason) -> None:
        """Look the voter up; show photo and name for confirmation."""
        self._require(_S.AWAIT_NUMBER)
        self.reason = reason
        found = lookup(self.store, personal_number.strip())
        if isinstance(found, IdentificationResult):
            self._refuse(found)
            return
        self.voter = found
        if self.gallery is not None:
            self.photo = self.gallery.biometrics(found.personal_number).photo
        self._go(_S.CONFIRM, "a second commission member must confirm the voter and the reason")

    def confirm(self, second_member: str) -> None:
        """The second member confirms (never the operator themselves): commit, then print."""
        self._require(_S.CONFIRM)
        if not second_member or second_member == self.operator:
            raise WorkflowError("a typed identification needs a second commission member's confirmation")
        assert self.reason is not None
        self._commit(reason=self.reason.value, second_member=second_member)
