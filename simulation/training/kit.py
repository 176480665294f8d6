"""A training kit built the way a real one is: the scenario station's synthetic list (and one neighbouring station's,
so "not on this list" names the voter's own station) in a signed list package under throw-away training CEC keys,
loaded into a kit store under the training election id, with three staff PINs for the trainee, the second member
and the chair.

Only the voters of the queue get enrolled fingers (master + enrolment impression, extracted by the project's own
engine) and a face placeholder: drawing 6,000 fingers for a whole list takes many CPU minutes (``bench synthetic
--full-station``), and nobody else comes to the training table.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from emulators.card.personalisation import TestPki, make_test_pki
from simulation.population import SyntheticVoter, generate_country, station_voters
from simulation.training.errors import TrainingError
from simulation.training.scenario import Scenario
from station.list_package import (
    ListVoter,
    build_package,
    generate_cec_keys,
    load_cec_public,
    load_cec_signing_key,
    load_list_key,
    load_package,
)
from station.staff import Role, add_worker
from station.store import KitStore

#: Staff of the training kit: (worker id, name, role, PIN). The trainee logs in as the operator; the trainer plays
#: the second member and the chair.
STAFF = (
    ("trainee", "Trainee / Окуучу", Role.OPERATOR, "1111"),
    ("second", "Second member / Экинчи мүчө", Role.OPERATOR, "2222"),
    ("chair", "Chair / Төрага", Role.SUPERVISOR, "9999"),
)
#: Kit number of the training kit at its station.
KIT_ID = "T1"


@dataclass(frozen=True)
class TrainingKitFiles:
    """What :func:`build_training_kit` made: the store file, the list key, who is on the list and who comes."""

    db: Path
    list_key: bytes
    by_number: dict[int, SyntheticVoter]
    outsiders: list[SyntheticVoter]
    election_id: str
    station_id: str
    #: The training CSCA and Document Signer that sign the queue's ID cards: throw-away keys made for this session
    #: (never written to the repository, never on a real kit's CSCA list), so a real card fails passive
    #: authentication on the training kit and a training card fails it on a real kit.
    card_pki: TestPki | None = None


def queue_voter(scenario_voter_number: int, situation: str, files: TrainingKitFiles) -> SyntheticVoter:
    """The person who comes to the table for a queue entry (a neighbouring station's voter when at the wrong one)."""
    if situation == "wrong_station":
        return files.outsiders[scenario_voter_number % len(files.outsiders)]
    return files.by_number[scenario_voter_number]


def _list_voter(v: SyntheticVoter, station_id: str, enrol: bool) -> ListVoter:
    templates: dict[int, bytes] = {}
    if enrol:
        from fingerprint import dumps
        from fingerprint.extract import extract

        for finger in v.fingers:
            # Enrolment impression 0; the scanner later serves impressions 1, 2, ... of the same finger.
            templates[finger.position] = dumps(extract(v.impression(finger.position, 0).image, 500.0).template)
    return ListVoter(
        station_id=station_id, personal_number=v.personal_number, list_number=v.list_number,
        surname=v.name.surname, given_name=v.name.given_name, patronymic=v.name.patronymic, sex=v.sex,
        birth_date=v.birth_date, address=v.address, photo=v.face_png() if enrol else b"", templates=templates,
    )


def build_training_kit(scenario: Scenario, work: Path) -> TrainingKitFiles:
    """Build the training kit's store in ``work`` (which must not hold one yet)."""
    db = work / "kit.db"
    if db.exists():
        raise TrainingError(f"{db} exists: every session starts from a new training kit; choose an empty folder")
    work.mkdir(parents=True, exist_ok=True)
    country = generate_country(seed=scenario.seed)
    try:
        station = country.station(scenario.station)
    except Exception as exc:
        raise TrainingError(f"{scenario.source}: station {scenario.station} is not in the synthetic country") from exc
    listed = list(station_voters(country, station))
    by_number = {v.list_number: v for v in listed}
    missing = [c.list_number for c in scenario.voters if c.list_number not in by_number]
    if missing:
        raise TrainingError(f"{scenario.source}: station {station.number} has {len(listed)} voters; list numbers "
                            f"{missing} do not exist")
    neighbour = next(s for s in country.stations if s.number != station.number)
    outsiders = list(station_voters(country, neighbour))
    files = TrainingKitFiles(db=db, list_key=b"", by_number=by_number, outsiders=outsiders,
                             election_id=scenario.election_id, station_id=station.number)
    coming = {queue_voter(c.list_number, c.situation, files).personal_number for c in scenario.voters}
    national = [_list_voter(v, station.number, v.personal_number in coming) for v in listed]
    national += [_list_voter(v, neighbour.number, v.personal_number in coming) for v in outsiders]
    signing, public, list_key_path = generate_cec_keys(work / "training-cec-keys")
    list_key = load_list_key(list_key_path)
    package = build_package(national, scenario.election_id, station.number, load_cec_signing_key(signing), list_key)
    store = KitStore(db)
    try:
        store.set_kit_info(scenario.election_id, station.number, KIT_ID)
        load_package(store, package, load_cec_public(public), list_key)
        for worker_id, name, role, pin in STAFF:
            add_worker(store, worker_id, name, role, pin)
    finally:
        store.close()
    card_pki = make_test_pki(label="TRAINING")
    # The training CSCA certificate beside the kit, for a trainer who wants to look at it (public part only).
    (work / "training-csca.pem").write_bytes(card_pki.csca_pem())
    return TrainingKitFiles(db=db, list_key=list_key, by_number=by_number, outsiders=outsiders,
                            election_id=scenario.election_id, station_id=station.number, card_pki=card_pki)
