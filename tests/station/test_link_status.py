"""The operator screen's CEC-link line on a polling-station kit, judged from the kit's own outbox (a real store file):
messages waiting and how long since the CEC last acknowledged one."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from fastapi.testclient import TestClient

from station.gallery import Gallery
from station.link_status import LINK_QUIET_S, OutboxLink
from station.list_package import load_cec_public, load_list_key, load_package
from station.runtime import KitRuntime
from station.staff import Role, add_worker
from station.store import KitStore
from station.ui.app import create_app
from tests.station.conftest import STATION, national_list

PINS = [v.personal_number for v in national_list() if v.station_id == STATION]


def test_screen_says_offline_when_messages_wait_a_minute_unacknowledged(kit: KitStore, package: bytes,
                                                                        cec_keys: dict[str, Path]) -> None:
    load_package(kit, package, load_cec_public(cec_keys["public"]), load_list_key(cec_keys["list"]))
    add_worker(kit, "op1", "Айгүл", Role.OPERATOR, "1111")
    add_worker(kit, "m2", "Нурлан", Role.OPERATOR, "2222")
    now = [datetime.now(UTC)]
    link = OutboxLink(kit, clock=lambda: now[0])
    client = TestClient(create_app(KitRuntime(kit, Gallery(kit, None), link=link)))
    client.post("/login", data={"pin": "1111"})
    assert client.get("/api/status").json()["link"] == {"online": True, "waiting": 0}

    client.post("/flow/start", data={"kind": "manual"})
    client.post("/flow/number", data={"pin": PINS[0], "reason": "injury"})
    client.post("/flow/confirm", data={"second_pin": "2222"})
    waiting = len(kit.pending(100))
    assert waiting >= 1  # the identification is in the outbox for the CEC
    # Just written: the sender has had no time yet, so the screen does not cry wolf.
    assert client.get("/api/status").json()["link"] == {"online": True, "waiting": waiting}

    # A minute after the identification was written (timed from now: the steps above may take seconds on a slow
    # machine, and the rule counts from the message, not from the test's start).
    now[0] = datetime.now(UTC) + timedelta(seconds=LINK_QUIET_S + 1)
    assert client.get("/api/status").json()["link"] == {"online": False, "waiting": waiting}
    page = client.get("/").text
    assert 'id="link"' in page and 'data-online="0"' in page and f'data-waiting="{waiting}"' in page

    # The CEC acknowledges: nothing waits, the line is back online.
    kit.mark_delivered([entry.seq for entry in kit.pending(100)])
    assert client.get("/api/status").json()["link"] == {"online": True, "waiting": 0}


def test_a_recent_acknowledgement_keeps_a_backlog_online(kit: KitStore) -> None:
    """After an outage the backlog drains: old messages still wait, but the CEC acknowledges others, so the link is
    up (the backlog is shrinking), not offline."""
    from station.store import OutboxMessage

    start = datetime.now(UTC)
    with kit.transaction() as session:
        for i in range(3):
            session.add(OutboxMessage(payload=b"m%d" % i, created_at=start))
    now = [start + timedelta(minutes=10)]
    link = OutboxLink(kit, clock=lambda: now[0])
    assert link.status() == {"online": False, "waiting": 3}
    first = kit.pending(1)[0].seq
    kit.mark_delivered([first])
    now[0] = datetime.now(UTC)
    assert link.status() == {"online": True, "waiting": 2}
    now[0] += timedelta(seconds=LINK_QUIET_S + 1)
    assert link.status() == {"online": False, "waiting": 2}
