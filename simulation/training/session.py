"""A training session on the real operator screen: the training kit runs (store, emulated devices, matcher, the
station's own screen app in training mode), the queue's voters come one at a time, each situation is set up on the
emulated devices, and the trainee's decision is read back from what they did.

Where a decision is read from:

- what the kit committed for this voter while they were at the table (the identification's path and fallback
  reason): ``card_finger``, ``finger``, ``manual:<reason>``;
- what the trainee did with their hands, pressed on the trainer's page because no screen records it: refuse the
  ballot, send the voter to their own station, load a new paper roll, plug the scanner back in, press the power
  button after a power cut.

The ID card is real too when the machine has pcscd and the vpcd reader: the voter's synthetic card, signed by
the session's training CSCA, lies on the emulated reader while they are at the table (a chip that does not answer
for ``card_unreadable``, a chip whose DG1 was altered for ``forged_card``, which the kit refuses, counts and audits).
The kit's CEC link goes to a local training CEC; ``network_down`` stops it for that voter, the outbox keeps the
messages, and the trainer brings the network back (the scorecard says how many waiting messages then arrived).

A power cut is a real one for the kit: the store is closed, the drivers close, the screen answers nothing until the
trainee presses the power button; the kit then restarts from its store (everyone is logged out, as after any
restart) and the scorecard says how many identifications survived.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
from sqlalchemy import func, select

from simulation.population import SyntheticVoter
from simulation.training.devices import TrainingCardReader, TrainingDevices
from simulation.training.errors import TrainingError
from simulation.training.kit import TrainingKitFiles, queue_voter
from simulation.training.link import TrainingLink
from simulation.training.runner import SIGNS, DecisionRecord
from simulation.training.scenario import Scenario, VoterCase
from station.identify import Path as KitPath
from station.identify import mark
from station.store import AuditEntry, IdentificationRecord, KitStore

#: Physical actions on the trainer's page, and the decision each one stands for.
ACTIONS = {
    "refuse": "refuse",
    "redirect": "redirect",
    "reload_paper": "reload_paper",
    "plug_scanner": "plug_scanner",
    "restart": "restart",
    "network_back": "network_back",
}
#: Situations the training kit has no device for: the trainee reads the signs on the trainer's page instead. Every
#: situation now acts on a real device; the card ones fall back to signs only on a machine without pcscd/vpcd
#: (CARD_SITUATIONS), and network_down only when the kit runs without its training CEC.
SIGN_ONLY: set[str] = set()
#: Situations that need the card reader on the training kit.
CARD_SITUATIONS = {"card_unreadable", "forged_card"}
#: The unreadable chip: every answer after the first APDU is garbage (ISO 7816 "6F": no precise diagnosis), so the
#: kit's read fails at once with "the card could not be read" (a silent chip would hold the PC/SC call until the
#: card is taken off, which a trainee cannot see happen on the emulated reader).
UNREADABLE_AFTER_APDUS = 0
#: Impression of the voter's finger the scanner serves first (0 was used for enrolment), and how many different
#: impressions the voter's presses cycle through.
FIRST_LIVE_IMPRESSION = 1
LIVE_IMPRESSIONS = 3


@dataclass
class CaseState:
    """The voter at the table: who, since when, what the trainee did by hand."""

    case: VoterCase
    voter: SyntheticVoter
    started: float
    last_record_id: int
    last_audit_id: int = 0
    actions: list[str] = field(default_factory=list)
    presses: int = 0


class ScreenSession:
    """Plays a scenario on a running training kit; the screen app and the trainer's page call into it."""

    def __init__(self, scenario: Scenario, files: TrainingKitFiles, devices: TrainingDevices,
                 make_screen: Callable[[Any], Any], clock: Callable[[], float] = time.monotonic,
                 card: TrainingCardReader | None = None, card_missing: str = "",
                 link: TrainingLink | None = None, link_missing: str = "") -> None:
        self.scenario = scenario
        self.files = files
        self.devices = devices
        self._make_screen = make_screen
        self._clock = clock
        self.lock = threading.RLock()
        self.records: list[DecisionRecord] = []
        self.current: CaseState | None = None
        self.kit: Any = None
        self.screen: Any = None
        self.powered = False
        self.restarts: list[str] = []
        #: The card reader (None when the machine cannot provide one, and ``card_missing`` says why).
        self.card = card
        self.card_missing = card_missing
        #: The CEC link to the training CEC (None when it could not be started, and ``link_missing`` says why).
        self.link = link
        self.link_missing = link_missing
        #: What happened to the link (cut, back, delivered), for the trainer's page and the scorecard.
        self.link_events: list[str] = []
        #: Messages waiting when the network came back, summed over the session (delivered after it came back).
        self.waited_for_link = 0

    # -- the kit ----------------------------------------------------------------------------------------------------
    def power_on(self) -> None:
        """Start (or restart) the kit: open the store, the drivers, the matcher, and a fresh operator screen."""
        from station.gallery import Gallery
        from station.matching import EngineMatcher
        from station.runtime import KitRuntime

        store = KitStore(self.files.db)
        self.devices.open_drivers()
        gallery = Gallery(store, self.files.list_key)
        matcher = EngineMatcher()
        gallery.prepare(matcher)
        card_reader = None
        if self.card is not None and self.card.reader is not None:
            from station.workflow.chip_card import ChipCardReader

            card_reader = ChipCardReader(self.card.reader)
        self.kit = KitRuntime(store, gallery, matcher=matcher, scanner=self.devices.scanner,
                              printer=self.devices.printer, card_reader=card_reader, link=self.link, training=True)
        self.screen = self._make_screen(self.kit)
        self.powered = True

    def power_off(self) -> None:
        """The power cut: the store closes (what was committed stays on disk), drivers close, the screen goes dark."""
        self.powered = False
        if self.kit is not None:
            self.kit.store.close()
        self.devices.close_drivers()
        self.kit = None
        self.screen = None

    def identified_count(self) -> int:
        """Identifications in the kit's store (read from the file, so it also works while the kit is off)."""
        store = KitStore(self.files.db)
        try:
            with store.transaction() as session:
                return int(session.scalar(select(func.count()).select_from(IdentificationRecord)) or 0)
        finally:
            store.close()

    # -- the queue --------------------------------------------------------------------------------------------------
    @property
    def finished(self) -> bool:
        """Every voter of the queue has been handled."""
        return len(self.records) == len(self.scenario.voters)

    def begin_next(self) -> CaseState | None:
        """Call the next voter to the table and set their situation up on the kit and devices."""
        with self.lock:
            if self.current is not None:
                raise TrainingError("finish the voter at the table first")
            if self.finished:
                return None
            case = self.scenario.voters[len(self.records)]
            voter = queue_voter(case.list_number, case.situation, self.files)
            if not self.powered:
                self.power_on()
            state = CaseState(case, voter, self._clock(), self._last_record_id(), self._last_audit_id())
            self.current = state
            self.devices.press(self._finger(state))
            self._put_card(state)
            if case.situation == "network_down" and self.link is not None:
                waiting = self.link.cut()
                self.link_events.append(f"CEC link: network cut ({waiting} messages waiting)")
            if case.situation == "already_voted":
                # Identified earlier today on this kit: the kit's own mark, so its refusal is the real one.
                mark(self.kit.store, voter.personal_number, KitPath.FINGER, "earlier-operator")
            elif case.situation == "scanner_unplugged":
                # The kit keeps its driver: the screen shows what the driver reports when its port has vanished.
                self.devices.unplug_scanner()
            elif case.situation == "paper_out":
                self.devices.paper_out()
            elif case.situation == "power_cut":
                self.power_off()
            return state

    def _put_card(self, state: CaseState) -> None:
        """The voter's ID card on the reader: their synthetic card signed by the training CSCA, with the chip of
        their situation (a chip that does not answer, one whose DG1 was altered)."""
        if self.card is None or self.card.reader is None or self.files.card_pki is None:
            return
        from emulators.card.chip import ChipFaults
        from emulators.card.personalisation import CardHolder, forge_personal_number, personalise

        chip = personalise(CardHolder(**state.voter.card_holder()), self.files.card_pki)  # type: ignore[arg-type]
        faults = None
        situation = state.case.situation
        if situation == "card_unreadable":
            faults = ChipFaults(garble_after=UNREADABLE_AFTER_APDUS)
        elif situation == "forged_card":
            # Someone else's personal number written into DG1, the genuine EF.SOD kept: passive authentication fails.
            other = next(v for v in self.files.by_number.values() if v.personal_number != state.voter.personal_number)
            chip = forge_personal_number(chip, other.personal_number)
        self.card.put(chip, faults)
        self.devices.log.add("card", f"{state.voter.id_card.document_number} on the reader",
                             situation if situation in CARD_SITUATIONS else "genuine training card")

    def _finger(self, state: CaseState) -> Callable[[], npt.NDArray[np.uint8]]:
        """The voter's finger on the scanner: impressions drawn now, when the voter sits down, because drawing one
        takes longer than the driver waits for an image upload; the voter presses them in turn, again and again."""
        from simulation.fingerprints import generate_impression

        finger = state.voter.fingers[0]
        master = finger.master()
        condition = "worn" if state.case.situation == "worn_finger" else None
        if condition is None and state.voter.skin in ("worn", "dry"):
            condition = state.voter.skin
        images = [np.asarray(generate_impression(master, FIRST_LIVE_IMPRESSION + k, condition).image)
                  for k in range(LIVE_IMPRESSIONS)]

        def press() -> npt.NDArray[np.uint8]:
            image = images[state.presses % len(images)]
            state.presses += 1
            return image

        return press

    def act(self, action: str) -> str:
        """A physical action of the trainee; returns what happened."""
        if action not in ACTIONS:
            raise TrainingError(f"unknown action {action!r}; actions: {', '.join(ACTIONS)}")
        with self.lock:
            state = self.current
            if state is None:
                raise TrainingError("no voter at the table: call the next voter first")
            state.actions.append(action)
            if action == "reload_paper":
                self.devices.load_paper()
                return "a new paper roll is in the printer"
            if action == "plug_scanner":
                if self.devices.scanner_plugged:
                    return "the scanner was already plugged in"
                scanner = self.devices.plug_scanner()
                if self.kit is not None:
                    self.kit.scanner = scanner
                return "the scanner is plugged back in"
            if action == "network_back":
                return self.network_back()
            if action == "restart":
                if self.powered:
                    return "the kit is already on"
                before = self.identified_count()
                self.power_on()
                after = self.identified_count()
                self.restarts.append(f"restarted: {after} of {before} identifications kept")
                return self.restarts[-1]
            return {"refuse": "the voter leaves without a ballot",
                    "redirect": "the voter is sent to their own station"}[action]

    def network_back(self) -> str:
        """The trainer plugs the network back in: the training CEC answers again and the kit's sender delivers
        what waited in its outbox."""
        if self.link is None:
            return "the kit has no CEC link in this session"
        if self.link.up:
            return "the network is already up"
        waiting = self.link.restore()
        self.waited_for_link += waiting
        self.link_events.append(f"CEC link: network back, {waiting} messages waiting")
        return self.link_events[-1]

    def link_summary(self, wait_s: float = 10.0) -> str:
        """Delivery after the network came back, for the scorecard: the messages that waited, how many of them the
        training CEC now holds (waits up to ``wait_s`` for the sender), and the CEC's count against the kit's."""
        if self.link is None:
            return ""
        kit_count = self.identified_count()
        deadline = self._clock() + wait_s
        while self.link.up and self.link.cec_identifications() < kit_count and self._clock() < deadline:
            time.sleep(0.1)
        cec_count = self.link.cec_identifications()
        delivered = self.waited_for_link - max(0, kit_count - cec_count) if self.waited_for_link else 0
        exact = "exactly once" if cec_count == kit_count else "NOT all delivered"
        return (f"CEC link: {self.waited_for_link} messages waited while the network was down, {max(delivered, 0)} "
                f"delivered after it came back; the training CEC holds {cec_count} identifications, the kit made "
                f"{kit_count} ({exact})")

    def events(self) -> list[str]:
        """Everything the scorecard lists besides decisions: device commands, restarts, the link and its delivery."""
        summary = self.link_summary()
        return self.devices.log.lines + self.restarts + self.link_events + ([summary] if summary else [])

    def finish_current(self) -> DecisionRecord:
        """The trainee is done with the voter at the table: read the decision, score it, reset the devices."""
        with self.lock:
            state = self.current
            if state is None:
                raise TrainingError("no voter at the table")
            seconds = self._clock() - state.started
            committed = self._records_since(state)
            decision, outcome = self._decision(state, committed)
            record = DecisionRecord(state.case, decision, decision in state.case.expect, outcome, round(seconds, 1))
            self.records.append(record)
            self.current = None
            self.devices.press(None)
            if self.card is not None:
                self.card.put(None)  # the voter takes their card back
            if self.link is not None and not self.link.up:
                self.network_back()  # the next voter finds the network up, whatever the trainee did
            # The next voter finds working devices, whatever this one's fault was.
            if not self.devices.scanner_plugged:
                scanner = self.devices.plug_scanner()
                if self.kit is not None:
                    self.kit.scanner = scanner
            if state.case.situation == "paper_out" and "reload_paper" not in state.actions:
                self.devices.load_paper()
            return record

    def _decision(self, state: CaseState, committed: list[tuple[str, str, bool]]) -> tuple[str, str]:
        situation = state.case.situation
        kit = "; ".join(f"identified on the {path} path" + (f" ({reason})" if reason else "") +
                        (", slip printed" if printed else ", no slip") for path, reason, printed in committed)
        kit = kit or "no identification"
        if situation == "power_cut" and "restart" in state.actions:
            return "restart", f"{self.restarts[-1] if self.restarts else 'restarted'}; {kit}"
        if situation == "paper_out" and "reload_paper" in state.actions:
            return "reload_paper", f"{kit}; paper reloaded"
        if situation == "forged_card" and self.card is not None and self.card.reader is not None:
            refused = self._card_refusals_since(state)
            kit = f"{kit}; the kit refused the card {refused} time(s)" if refused else f"{kit}; the card was not read"
        if committed:
            path, reason, _ = committed[-1]
            return (f"manual:{reason}" if path == KitPath.MANUAL.value else path), kit
        for action in reversed(state.actions):
            if action in ("refuse", "redirect"):
                return action, kit
        if situation == "power_cut" and not self.powered:
            return "none", "the kit stayed off"
        return "none", kit

    def _last_audit_id(self) -> int:
        with self.kit.store.transaction() as session:
            return int(session.scalar(select(func.max(AuditEntry.seq))) or 0)

    def _card_refusals_since(self, state: CaseState) -> int:
        """Cards the kit refused (forged or copied chip: counted and audited) since the voter sat down."""
        store = self.kit.store if self.powered else KitStore(self.files.db)
        try:
            with store.transaction() as session:
                return int(session.scalar(select(func.count()).select_from(AuditEntry)
                                          .where(AuditEntry.seq > state.last_audit_id,
                                                 AuditEntry.kind == "card_refused")) or 0)
        finally:
            if not self.powered:
                store.close()

    def _last_record_id(self) -> int:
        with self.kit.store.transaction() as session:
            return int(session.scalar(select(func.max(IdentificationRecord.id))) or 0)

    def _records_since(self, state: CaseState) -> list[tuple[str, str, bool]]:
        store = self.kit.store if self.powered else KitStore(self.files.db)
        try:
            with store.transaction() as session:
                rows = session.execute(
                    select(IdentificationRecord.path, IdentificationRecord.reason, IdentificationRecord.printed)
                    .where(IdentificationRecord.id > state.last_record_id,
                           IdentificationRecord.personal_number == state.voter.personal_number,
                           IdentificationRecord.operator != "earlier-operator")
                    .order_by(IdentificationRecord.id)
                ).all()
        finally:
            if not self.powered:
                store.close()
        return [(str(p), str(r), bool(printed)) for p, r, printed in rows]

    def signs(self) -> str:
        """What the trainer's page tells the trainee about the voter at the table (only what no device shows)."""
        state = self.current
        if state is None:
            return ""
        situation = state.case.situation
        if situation in SIGN_ONLY:
            return SIGNS[situation]
        if situation in CARD_SITUATIONS and (self.card is None or self.card.reader is None):
            return f"{SIGNS[situation]} (Told here: {self.card_missing or 'the kit has no card reader'}.)"
        if situation == "network_down" and self.link is None:
            return f"{SIGNS[situation]} (Told here: {self.link_missing or 'the kit has no CEC link'}.)"
        return ""

    def stop(self) -> None:
        """Switch the kit off and stop the emulators."""
        with self.lock:
            if self.powered:
                self.power_off()
            self.devices.stop()
            if self.card is not None:
                self.card.stop()
            if self.link is not None:
                self.link.stop()
