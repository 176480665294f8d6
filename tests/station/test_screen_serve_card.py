"""``shailoo station serve --card-reader emulated://emrtd`` as a process: the screen comes up with the ID-card reader
wired in (pcscd + vpcd), shows it on the device status, and a card read with no card on the reader says to put the card
on it (not a crash, nothing recorded). Run under ``flock /tmp/shailoo-card.lock`` (one pcscd per machine)."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import httpx
import pytest

from emulators.card.pcscd import missing_card_stack
from station.staff import Role, add_worker
from station.store import KitStore
from tests.conftest import REPO, free_port, shailoo_command
from tests.station.conftest import ELECTION, STATION

pytestmark = [
    pytest.mark.pcsc,
    pytest.mark.slow,
    pytest.mark.skipif(missing_card_stack() is not None, reason=str(missing_card_stack())),
]


def test_serve_wires_the_card_reader_into_the_screen(tmp_path: Path) -> None:
    db = tmp_path / "kit.db"
    store = KitStore(db)
    store.set_kit_info(ELECTION, STATION, "1")
    add_worker(store, "op1", "Айгүл", Role.OPERATOR, "1111")
    store.close()
    port = free_port()
    proc = subprocess.Popen(
        shailoo_command("station", "--db", str(db), "serve", "--port", str(port), "--card-reader", "emulated://emrtd"),
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        with httpx.Client(base_url=url, timeout=30) as client:
            deadline = time.monotonic() + 60
            while True:
                try:
                    if client.get("/login").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
                assert time.monotonic() < deadline, "the kit's screen did not come up"
                time.sleep(0.2)
            client.post("/login", data={"pin": "1111"})
            assert client.get("/api/status").json()["devices"]["card_reader"] == "ready"
            client.post("/flow/start", data={"kind": "card"})
            client.cookies.set("shailoo_lang", "en")
            page = client.get("/flow").text
            assert 'data-state="await_card"' in page and "No card on the reader yet" in page
            client.post("/flow/card", data={"document": "AN1234567", "birth": "900215", "expiry": "340101"})
            flow = client.get("/api/flow", params={"wait": 15}).json()
            assert flow["state"] == "await_card" and flow["notice"] == "card_none", flow
            assert "Place the card flat on the reader" in client.get("/flow").text
            assert client.get("/api/status").json()["counters"]["identified"] == 0
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
