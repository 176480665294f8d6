"""Run a training scenario on a real kit store: the trainee's decisions go through the kit's own identification API
(``station.identify.mark``), so the kit's refusals (already voted, not on this list) are the real ones.

Device faults are stated to the trainee as the operator would see them (SIGNS) and their effect is applied here
(a power cut closes and reopens the store); the emulators' own fault commands are not driven from a scenario yet.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import func, select

from simulation.population import SyntheticVoter, generate_country, station_voters
from simulation.training.errors import TrainingError
from simulation.training.scenario import Scenario, VoterCase
from station.identify import Outcome, mark
from station.identify import Path as KitPath
from station.store import IdentificationRecord, KitStore, Voter
from station.voter_list import load_voters

#: What the operator sees at the table in each situation (the trainee is not told the situation's name).
SIGNS: dict[str, str] = {
    "normal": "Card read, photo matches the person. Finger scanner ready.",
    "worn_finger": "Card read, photo matches. Finger: no match after 3 tries, low quality ridges.",
    "card_unreadable": "Card reader: the chip does not answer (tried twice). The person gives a finger.",
    "wrong_station": "The voter's card is valid; the kit says: not on this station's list.",
    "already_voted": "Card read, photo matches. The kit says: ALREADY VOTED at 08:12 on kit 2.",
    "forged_card": "Card reader: signature check FAILED (passive authentication). Photo looks different.",
    "scanner_unplugged": "Card read, photo matches. Screen: fingerprint scanner disconnected.",
    "paper_out": "Identified; the printer reports: paper out, slip not printed.",
    "network_down": "Card read, photo matches. Screen: CEC link offline, 14 messages waiting.",
    "power_cut": "The kit's screen went black mid-identification (power cut); UPS light off.",
}

#: Trainee id and second member recorded on the training kit's marks.
OPERATOR, SECOND = "trainee", "trainer"


@dataclass(frozen=True)
class Prompt:
    """What the trainee is shown for one voter."""

    position: int
    total: int
    name: str
    personal_number: str
    signs: str


@dataclass(frozen=True)
class DecisionRecord:
    """One voter handled: the decision, whether it was right, what the kit did, how long it took (seconds)."""

    case: VoterCase
    decision: str
    correct: bool
    kit_outcome: str
    seconds: float


#: The trainee: shown a prompt, returns a decision (see scenario.DECISIONS).
Trainee = Callable[[Prompt], str]


def _station_voter(v: SyntheticVoter) -> Voter:
    return Voter(personal_number=v.personal_number, list_number=v.list_number, surname=v.name.surname,
                 given_name=v.name.given_name, patronymic=v.name.patronymic, sex=v.sex, birth_date=v.birth_date,
                 address=v.address)


def prepare_training_kit(scenario: Scenario, db: Path) -> tuple[KitStore, dict[int, SyntheticVoter],
                                                                  list[SyntheticVoter]]:
    """A training kit's store with the scenario station's list, under the training election id."""
    country = generate_country(seed=scenario.seed)
    station = country.station(scenario.station)
    listed = list(station_voters(country, station))
    by_number = {v.list_number: v for v in listed}
    missing = [c.list_number for c in scenario.voters if c.list_number not in by_number]
    if missing:
        raise TrainingError(f"{scenario.source}: station {station.number} has {len(listed)} voters; list numbers "
                            f"{missing} do not exist")
    others = [s for s in country.stations if s.number != station.number][:1]
    outsiders = list(station_voters(country, others[0])) if others else []
    store = KitStore(db)
    store.set_kit_info(scenario.election_id, scenario.station, "T1")
    load_voters(store, [_station_voter(v) for v in listed])
    return store, by_number, outsiders


def run_scenario(scenario: Scenario, trainee: Trainee, db: Path,
                 clock: Callable[[], float] = time.monotonic) -> list[DecisionRecord]:
    """Play the queue: set the situation up on the kit, ask the trainee, apply the decision through the kit."""
    store, by_number, outsiders = prepare_training_kit(scenario, db)
    records = []
    try:
        for case in scenario.voters:
            voter = by_number[case.list_number]
            pin = voter.personal_number
            if case.situation == "wrong_station":
                voter = outsiders[case.list_number % len(outsiders)]
                pin = voter.personal_number
            if case.situation == "already_voted":
                # Identified earlier today on this kit (the kit's own mark, so its refusal is the real one).
                mark(store, pin, KitPath.FINGER, "earlier-operator")
            if case.situation == "paper_out":
                mark(store, pin, KitPath.CARD_FINGER, OPERATOR)
            prompt = Prompt(case.position, len(scenario.voters), f"{voter.name.surname} {voter.name.given_name}", pin,
                            SIGNS[case.situation])
            started = clock()
            decision = trainee(prompt)
            seconds = clock() - started
            store, outcome = _apply(store, db, case, decision, pin)
            records.append(DecisionRecord(case, decision, decision in case.expect, outcome, round(seconds, 2)))
    finally:
        store.close()
    return records


def _apply(store: KitStore, db: Path, case: VoterCase, decision: str, pin: str) -> tuple[KitStore, str]:
    """Carry the decision out on the kit; returns the (possibly reopened) store and what the kit did."""
    if case.situation == "power_cut":
        if decision != "restart":
            return store, "kit is off: nothing happened"
        before = identified_count(store)
        store.close()
        store = KitStore(db)  # the restart: everything committed before the cut is still there
        after = identified_count(store)
        result = mark(store, pin, KitPath.CARD_FINGER, OPERATOR)
        return store, f"restarted, {after} of {before} identifications kept; {result.outcome.value}"
    if decision in ("card_finger", "finger"):
        if case.situation in ("worn_finger", "scanner_unplugged") or (
                case.situation == "card_unreadable" and decision == "card_finger"):
            return store, "not possible: " + SIGNS[case.situation]
        path = KitPath.CARD_FINGER if decision == "card_finger" else KitPath.FINGER
        return store, mark(store, pin, path, OPERATOR).outcome.value
    if decision == "card_photo" or decision.startswith("manual:"):
        # The kit has no card-photo-only path: it is recorded as the supervised fallback with the situation's reason.
        reason = decision.split(":", 1)[1] if ":" in decision else (
            "worn_prints" if case.situation == "worn_finger" else "device_fault")
        result = mark(store, pin, KitPath.MANUAL, OPERATOR, reason=reason, second_member=SECOND)
        return store, result.outcome.value
    if decision == "reload_paper":
        return store, "paper loaded, slip reprinted" if case.situation == "paper_out" else "nothing to reload"
    return store, {"refuse": "no ballot", "redirect": "sent to another station", "restart": "kit restarted"}.get(
        decision, "unknown decision")


def identified_count(store: KitStore) -> int:
    """Identifications in the kit's store."""
    with store.transaction() as session:
        return int(session.scalar(select(func.count()).select_from(IdentificationRecord)) or 0)


def identified(outcome: str) -> bool:
    """Whether the kit recorded an identification for this outcome."""
    return outcome == Outcome.IDENTIFIED.value or outcome.endswith(Outcome.IDENTIFIED.value)
