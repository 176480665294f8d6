"""The training kit's ID-card reader and CEC link, end to end in a real headless Chromium: the queue's synthetic ID
cards lie on the vpcd reader through the machine's pcscd (the project's card emulator, signed by the session's
training CSCA), the kit's real card driver reads them; the kit's real sender delivers its outbox over CURVE/ZeroMQ
on 127.0.0.1 to a local training CEC (``sync_server`` on SQLite).

- an ordinary voter: card (typed MRZ) then finger, identified on the card path;
- ``card_unreadable``: the chip answers garbage, the screen says the card could not be read; the trainee wrongly
  refuses the voter (the scorecard marks it an error);
- ``forged_card``: DG1 altered, passive authentication fails: the kit refuses the card, counts and audits it; the
  trainee refuses the ballot (correct);
- ``network_down``: the training CEC stops; the screen shows the link offline and the waiting message; the trainee
  identifies by finger (correct); the trainer brings the network back and the waiting message is delivered, exactly
  once (the training CEC's count equals the kit's).

Run under ``flock /tmp/shailoo-card.lock`` (one pcscd per machine).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from sqlalchemy import select

from emulators.card.pcscd import missing_card_stack
from simulation.training import parse_scenario
from simulation.training.serve import training_server
from station.store import AuditEntry
from tests.browser import CHROMIUM, FLAGS, SHOTS
from tests.simulation.training_pages import TrainingPages

pytestmark = [
    pytest.mark.browser,
    pytest.mark.pcsc,
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which(CHROMIUM) is None, reason="Debian chromium not installed (apt-get install chromium)"),
    pytest.mark.skipif(missing_card_stack() is not None, reason=str(missing_card_stack())),
]

SCENARIO = """
[training]
title = "Card and link test"
station = "1001"
seed = 1

[[voter]]
list_number = 4
situation = "normal"

[[voter]]
list_number = 3
situation = "card_unreadable"

[[voter]]
list_number = 2
situation = "forged_card"

[[voter]]
list_number = 7
situation = "network_down"
"""
# Voters 4 and 7 match by finger on the R307's window (see test_training_screen.py); 3 and 2 need no finger here.


def test_card_reader_and_cec_link_on_the_training_screen(tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    scenario = parse_scenario(SCENARIO, "card-link-test.toml")
    SHOTS.mkdir(parents=True, exist_ok=True)
    with training_server(scenario, tmp_path / "kit", trainee="Aibek") as (url, session), sync_playwright() as pw:
        assert session.card_missing == "" and session.card is not None, session.card_missing
        assert session.link is not None, session.link_missing
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        trainer = browser.new_page(viewport={"width": 1000, "height": 800})
        kit = browser.new_page(viewport={"width": 1280, "height": 900})

        pages = TrainingPages(url, trainer, kit)
        wait_state, trainer_action, done = pages.wait_state, pages.trainer_action, pages.done

        def call_next() -> str:
            pages.call_next()
            return trainer.locator("#voter-mrz").inner_text().strip()

        def read_card(mrz: str) -> str:
            # The trainee types the MRZ from the back of the card (shown on the trainer's page).
            kit.goto(f"{url}/")
            kit.click("#start-card")
            wait_state({"await_card"})
            kit.click("form.mrz details > summary")
            kit.fill("#mrz-lines", mrz)
            kit.click("#read-card")
            kit.wait_for_selector('#flow:not([data-busy])', timeout=30_000)
            return wait_state({"await_card", "await_finger", "refused"})

        def scan_and_confirm() -> str:
            got = pages.scan()
            assert got == "confirm", got
            return pages.confirm()

        def link_shown() -> tuple[str | None, str | None]:
            link = kit.locator("#link")
            return link.get_attribute("data-online"), link.get_attribute("data-waiting")

        kit.goto(f"{url}/lang/en")
        pages.login("1111")
        assert "TRAINING" in kit.locator(".training").inner_text()
        kit.wait_for_function("document.querySelector('#link').dataset.online === '1'", timeout=20_000)
        assert kit.locator("#dev-card_reader b").get_attribute("data-state") == "ready"

        # 1. The voter's own training card: read with the typed MRZ, then the finger 1:1.
        mrz = call_next()
        assert session.card.reader is not None and session.card.reader.present
        assert read_card(mrz) == "await_finger"
        assert scan_and_confirm() == "printed"
        done()

        # 2. The chip does not answer: the screen says the card could not be read; the trainee refuses (wrong).
        mrz = call_next()
        assert read_card(mrz) == "await_card"
        assert kit.locator("#flow").get_attribute("data-notice") == "card_read_failed"
        assert kit.locator("#notice").inner_text().strip()
        kit.click("#next-voter")  # "Cancel" while the card is awaited
        kit.wait_for_url(f"{url}/")
        trainer_action("refuse")
        done()

        # 3. A forged chip (DG1 altered): the kit refuses it, counts it; the trainee refuses the ballot.
        mrz = call_next()
        assert read_card(mrz) == "refused"
        assert kit.locator("#flow").get_attribute("data-notice") == "card_forged"
        kit.screenshot(path=str(SHOTS / "training-forged-card.png"), full_page=True)
        kit.click("#next-voter")
        kit.wait_for_url(f"{url}/")
        assert kit.locator("#c-refused-cards").inner_text() == "1"
        trainer_action("refuse")
        done()

        # 4. Network down: the screen shows the link offline; the trainee keeps identifying (finger path); the
        #    identification waits in the outbox until the trainer brings the network back.
        call_next()
        assert not session.link.up
        kit.goto(f"{url}/")
        kit.wait_for_function("document.querySelector('#link').dataset.online === '0'", timeout=20_000)
        assert "OFFLINE" in kit.locator("#link").inner_text()
        kit.click("#start-finger")
        assert scan_and_confirm() == "printed"
        kit.goto(f"{url}/")
        kit.wait_for_function("document.querySelector('#link').dataset.waiting === '1'", timeout=20_000)
        assert link_shown() == ("0", "1")
        assert "1" in kit.locator("#link").inner_text()
        kit.screenshot(path=str(SHOTS / "training-network-down.png"), full_page=True)
        trainer.goto(f"{url}/training")
        assert trainer.locator("#link-state").get_attribute("data-up") == "0"
        trainer_action("network_back")
        assert "1 messages waiting" in trainer.locator("#message").inner_text()
        # The live status (every 2 s) turns the link back online and the waiting count to 0, without a reload.
        kit.wait_for_function("document.querySelector('#link').dataset.online === '1'"
                              " && document.querySelector('#link').dataset.waiting === '0'", timeout=30_000)
        done()

        trainer.goto(f"{url}/training")
        trainer.click("#scorecard-link")
        card = trainer.locator("body").inner_text()
        browser.close()

    decisions = [(r.case.situation, r.decision, r.correct) for r in session.records]
    assert decisions == [
        ("normal", "card_finger", True),
        ("card_unreadable", "refuse", False),
        ("forged_card", "refuse", True),
        ("network_down", "finger", True),
    ]
    assert "3 of 4" in card and "ERROR" in card and "TRAINING" in card
    forged = session.records[2]
    assert "refused the card 1 time" in forged.kit_outcome, forged
    # The link: one message waited while the network was down and was delivered after; the training CEC holds each
    # of the kit's identifications once.
    assert ("CEC link: 1 messages waited while the network was down, 1 delivered after it came back; the training "
            "CEC holds 2 identifications, the kit made 2 (exactly once)") in card, card
    assert "CEC link: network cut (0 messages waiting)" in card
    # What the kit committed and audited (its store file, read after the session).
    from station.store import KitStore

    store = KitStore(tmp_path / "kit" / "kit.db")
    try:
        with store.transaction() as s:
            refused = [json.loads(e.body) for e in s.scalars(select(AuditEntry).where(AuditEntry.kind == "card_refused"))]
        assert len(refused) == 1 and "DG1" in refused[0]["problem"], refused
        assert refused[0]["document_number"] == session.files.by_number[2].id_card.document_number, refused
        assert list(store.pending(10)) == []  # every identification acknowledged by the training CEC
    finally:
        store.close()
