"""A light simulated kit: the real kit store and link, with identifications typed in by a script instead of a person.

It exercises exactly the code a real kit runs from "identify" onwards (store transaction, outbox, sender, CEC
ingest); only the devices and the operator are replaced by a paced loop. ``shailoo sim kit`` runs one.
"""

from __future__ import annotations

import random
import threading
import time
from dataclasses import dataclass
from datetime import date, timedelta

from link.keys import KitKeys
from link.sender import OutboxSender
from station.identify import FallbackReason, Outcome, identify_manual
from station.store import KitStore, Voter
from station.voter_list import load_voters

_SURNAMES = ("Асанов", "Токтогулов", "Жээнбеков", "Иванов", "Сыдыков", "Мамытов", "Абдыкадыров", "Петров")
_GIVEN_M = ("Бакыт", "Нурлан", "Азамат", "Эрлан", "Сергей", "Тимур", "Улан", "Канат")
_GIVEN_F = ("Айгүл", "Жылдыз", "Нуриза", "Мария", "Чолпон", "Гүлнара", "Айпери", "Елена")


def demo_voters(station_id: str, count: int, seed: int) -> list[Voter]:
    """A small deterministic list of plausible voters for demos (14-digit numbers: sex digit, birth date, serial)."""
    rng = random.Random(f"{seed}:{station_id}")
    voters = []
    for i in range(count):
        female = rng.random() < 0.52
        birth = date(1940, 1, 1) + timedelta(days=rng.randrange(0, 365 * 66))
        serial = rng.randrange(0, 100_000)
        pin = f"{1 if female else 2}{birth:%d%m%Y}{serial:05d}"
        surname = rng.choice(_SURNAMES) + ("а" if female else "")
        given = rng.choice(_GIVEN_F if female else _GIVEN_M)
        voters.append(
            Voter(
                personal_number=pin,
                list_number=i + 1,
                surname=surname,
                given_name=given,
                patronymic="",
                sex="F" if female else "M",
                birth_date=birth,
            )
        )
    # Personal numbers are unique on a real list; drop the rare synthetic collision.
    unique = {v.personal_number: v for v in voters}
    return list(unique.values())


@dataclass
class KitRunResult:
    """What a simulated kit did: identifications committed locally and acknowledged by the CEC."""

    identified: int
    delivered: int
    pending: int


#: Device states a simulated kit reports in its heartbeats.
SIMULATED_DEVICES = {"scanner": "ready", "card_reader": "ready", "printer": "ready"}


def run_simulated_kit(
    store: KitStore,
    endpoint: str,
    keys: KitKeys,
    rate_per_min: float,
    max_identifications: int,
    seconds: float,
    drain_seconds: float = 10.0,
    seed: int = 1,
    share: tuple[int, int] = (0, 1),
    stop: threading.Event | None = None,
) -> KitRunResult:
    """Identify voters at ``rate_per_min`` while a sender thread delivers the outbox; then drain the outbox."""
    info = store.kit_info()
    if (keys.station_id, keys.kit_id) != (info.station_id, info.kit_id):
        raise ValueError(f"key file of kit {keys.station_id}/{keys.kit_id} given to kit {info.station_id}/{info.kit_id}")
    stop = stop or threading.Event()
    rng = random.Random(seed)
    with store.transaction() as session:
        voters = [v.personal_number for v in session.query(Voter).order_by(Voter.list_number)]
    # Kits of one station split the queue (share = (index, count)) until kit-to-kit sync shares the voted set.
    voters = voters[share[0] :: share[1]]
    rng.shuffle(voters)
    sender = OutboxSender(store, endpoint, keys, health=lambda: SIMULATED_DEVICES)
    stop_sending = threading.Event()

    def _send() -> None:
        while not stop_sending.is_set():
            sender.run_once(0.1)

    thread = threading.Thread(target=_send, name="sender", daemon=True)
    thread.start()
    identified = 0
    reasons = list(FallbackReason)
    started = time.monotonic()
    interval = 60.0 / rate_per_min if rate_per_min > 0 else 0.0
    for pin in voters:
        if identified >= max_identifications or time.monotonic() - started >= seconds or stop.is_set():
            break
        result = identify_manual(store, pin, rng.choice(reasons), operator="sim-op", second_member="sim-chair")
        if result.outcome is Outcome.IDENTIFIED:
            identified += 1
        if interval:
            time.sleep(interval * rng.uniform(0.5, 1.5))
    deadline = time.monotonic() + drain_seconds
    while store.pending(1) and time.monotonic() < deadline and not stop.is_set():
        time.sleep(0.1)
    stop_sending.set()
    thread.join(5)
    return KitRunResult(identified=identified, delivered=sender.delivered_total, pending=len(store.pending(10**9)))


def prepare_kit(store: KitStore, election_id: str, station_id: str, kit_id: str, voters: int, seed: int) -> None:
    """Set up a store for a simulated kit and load a demo list when it has none."""
    store.set_kit_info(election_id, station_id, kit_id)
    with store.transaction() as session:
        has_list = session.query(Voter).first() is not None
    if not has_list:
        load_voters(store, demo_voters(station_id, voters, seed))
