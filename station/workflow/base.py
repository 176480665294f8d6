"""What every identification path shares: explicit states with allowed transitions, confirm-commit-print.

Each path is a small state machine (one module each). A method called in a state that does not allow it raises
:class:`WorkflowError` instead of guessing. The identification is committed before the slip prints; a failed print
leaves the committed record and ends in ``PRINT_FAILED``, from which a supervisor reprints.
"""

from __future__ import annotations

import enum
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime

from station.devices.errors import DeviceError
from station.devices.printer import Slip
from station.errors import StoreError, WorkflowError
from station.identify import IdentificationResult, Outcome, Path, mark, record_attempt, record_print
from station.matching import Matcher, Probe
from station.receipts import BISHKEK
from station.store import IdentificationRecord, KitStore, Voter
from station.workflow.capture import advice_notice, capture_probe
from station.workflow.ports import Scanner, SlipPrinter

#: Tries for a usable image before "failure to acquire" (MOSIP allows 3 capture attempts per finger by default).
MAX_ACQUIRE_TRIES = 3
#: Fingers tried (1:1) or captures searched (1:N) before "failure to match".
MAX_MATCH_TRIES = 3


class State(enum.StrEnum):
    """States of the identification paths (each path uses a subset)."""

    IDLE = "idle"
    AWAIT_CARD = "await_card"
    AWAIT_NUMBER = "await_number"
    AWAIT_FINGER = "await_finger"
    CHOOSE = "choose"
    CONFIRM = "confirm"
    REFUSED = "refused"
    FAILED_ACQUIRE = "failed_acquire"
    FAILED_MATCH = "failed_match"
    NO_TEMPLATES = "no_templates"
    DEVICE_FAULT = "device_fault"
    PRINTED = "printed"
    PRINT_FAILED = "print_failed"
    CANCELLED = "cancelled"


#: Final states: the flow is over (a new voter starts a new flow).
FINAL = frozenset(
    {State.REFUSED, State.FAILED_ACQUIRE, State.FAILED_MATCH, State.NO_TEMPLATES, State.PRINTED, State.PRINT_FAILED,
     State.CANCELLED, State.DEVICE_FAULT}
)


@dataclass
class Flow:
    """Base of a path: the store, the printer, the state and what the screen needs to show."""

    store: KitStore
    printer: SlipPrinter | None
    operator: str
    mobile: bool = False
    training: bool = False
    state: State = State.IDLE
    voter: Voter | None = None
    photo: bytes = b""
    score: float = 0.0
    result: IdentificationResult | None = None
    record: IdentificationRecord | None = None
    message: str = ""
    #: Catalogue key (``notice.*``) of the advice the screen shows with the current state, or "" for none.
    notice: str = ""
    print_error: str = ""
    history: list[State] = field(default_factory=list)
    started: float = field(default_factory=time.monotonic)
    #: Seconds from the flow's start to "identified" (committed), for queue telemetry and the bench.
    identified_after_s: float | None = None

    path: Path = Path.MANUAL
    transitions: dict[State, frozenset[State]] = field(default_factory=dict)
    #: Poor images in a row on a finger path (reset by a usable one).
    acquire_tries: int = 0

    def start(self) -> None:
        """Leave IDLE for the path's first step (each path defines it)."""
        raise NotImplementedError

    def _go(self, new: State, message: str = "", notice: str = "") -> None:
        allowed = self.transitions.get(self.state, frozenset())
        if new not in allowed:
            raise WorkflowError(f"cannot go from {self.state} to {new} on the {self.path} path")
        self.history.append(self.state)
        self.state = new
        self.message = message
        self.notice = notice

    def _acquire(self, scanner: Scanner, matcher: Matcher, timeout_s: float, cancel: threading.Event | None,
                 give_up: str, personal_number: str = "", sex: str = "") -> Probe | None:
        """One capture on a finger path. A usable image returns its probe. Otherwise the state says why and None is
        returned: a scanner fault, no finger yet (the voter has not placed it), or a poor image with its advice; the
        MAX_ACQUIRE_TRIES-th poor image in a row counts a failure to acquire and ends in FAILED_ACQUIRE with
        ``give_up`` (what the operator does next)."""
        got = capture_probe(scanner, matcher, timeout_s, cancel)
        if got.fault:
            self._go(State.DEVICE_FAULT, f"scanner fault: {got.fault}", "scanner_fault")
            return None
        if got.no_finger:
            self._go(State.AWAIT_FINGER, got.advice, "no_finger")
            return None
        if got.probe is None:
            self.acquire_tries += 1
            if self.acquire_tries >= MAX_ACQUIRE_TRIES:
                record_attempt(self.store, "fta", self.path, personal_number, sex)
                self._go(State.FAILED_ACQUIRE, give_up)
            else:
                self._go(State.AWAIT_FINGER, got.advice, advice_notice(got.advice))
            return None
        self.acquire_tries = 0
        return got.probe

    def _require(self, *states: State) -> None:
        if self.state not in states:
            raise WorkflowError(f"not possible now: the {self.path} path is in state {self.state}")

    def cancel(self) -> None:
        """Abandon this voter (nothing committed)."""
        if self.state in FINAL:
            raise WorkflowError("this voter's flow is already over")
        self.history.append(self.state)
        self.state = State.CANCELLED
        self.notice = ""

    def _refuse(self, result: IdentificationResult) -> None:
        self.result = result
        self.voter = result.voter
        gallery = getattr(self, "gallery", None)
        if gallery is not None and result.voter is not None:
            # The refusal shows the photo too, so the operator can tell a false "already voted" from a real one.
            self.photo = gallery.biometrics(result.voter.personal_number).photo
        self._go(State.REFUSED, result.describe())

    def _commit(self, reason: str = "", second_member: str = "") -> None:
        """Commit the mark (with audit entry and outbox message), then print the slip."""
        assert self.voter is not None
        try:
            result = mark(
                self.store, self.voter.personal_number, self.path, self.operator, score=self.score,
                mobile=self.mobile, reason=reason, second_member=second_member,
            )
        except StoreError as exc:
            # Full disk or similar: nothing was committed; the operator is told and may try again or use paper.
            self.message = str(exc)
            raise
        self.result = result
        if result.outcome is not Outcome.IDENTIFIED:
            self._go(State.REFUSED, result.describe())
            return
        self.record = result.record
        self.identified_after_s = time.monotonic() - self.started
        self._print(reprint=False)

    def _print(self, reprint: bool) -> None:
        assert self.record is not None and self.voter is not None
        if self.printer is None:
            self.print_error = "no printer connected"
            record_print(self.store, self.record.id, ok=False, reprint=reprint, by=self.operator,
                         error=self.print_error)
            self._go(State.PRINT_FAILED, self.print_error)
            return
        try:
            self.printer.print_slip(slip_for(self.store, self.record, self.voter, reprint, self.training))
        except DeviceError as exc:
            self.print_error = str(exc)
            record_print(self.store, self.record.id, ok=False, reprint=reprint, by=self.operator,
                         error=self.print_error)
            self._go(State.PRINT_FAILED, f"identified, but the slip did not print: {exc}")
            return
        record_print(self.store, self.record.id, ok=True, reprint=reprint, by=self.operator)
        self._go(State.PRINTED, self.result.describe() if self.result else "")


def slip_for(store: KitStore, record: IdentificationRecord, voter: Voter, reprint: bool, training: bool) -> Slip:
    """The slip the voter exchanges for a ballot: station, kit, list number, local time; no name, no number."""
    info = store.kit_info()
    local = record.identified_at.astimezone(BISHKEK)
    return Slip(
        title=("ШАЙЛОО ID", f"№ {info.station_id}"),
        lines=(
            f"Тизме / Список: {voter.list_number}",
            f"{local:%Y-%m-%d %H:%M:%S}",
            f"Kit {info.kit_id} · #{record.seq}",
        ),
        qr_payload=f"{info.election_id}/{info.station_id}/{info.kit_id}/{record.seq}",
        training=training,
        reprint=reprint,
    )


def reprint(
    store: KitStore, printer: SlipPrinter | None, record_id: int, supervisor: str, training: bool = False
) -> None:
    """Supervisor-only reprint of a committed identification's slip (marked REPRINT, logged; TRAINING on a training
    kit like every other slip)."""
    with store.transaction() as session:
        record = session.get(IdentificationRecord, record_id)
        voter = session.get(Voter, record.personal_number) if record is not None else None
    if record is None or voter is None or not record.active:
        raise WorkflowError(f"identification {record_id} is not an active mark on this kit: nothing to reprint")
    if printer is None:
        raise WorkflowError("no printer connected: connect the printer, then reprint")
    try:
        printer.print_slip(slip_for(store, record, voter, reprint=True, training=training))
    except DeviceError as exc:
        record_print(store, record_id, ok=False, reprint=True, by=supervisor, error=str(exc))
        raise WorkflowError(f"the reprint failed too: {exc}") from exc
    record_print(store, record_id, ok=True, reprint=True, by=supervisor)


def now_utc() -> datetime:
    """The current time, UTC (identification times are stored in UTC)."""
    return datetime.now(UTC)
