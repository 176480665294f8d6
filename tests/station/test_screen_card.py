"""Card, then finger, on the operator screen in a real headless Chromium, with the real card stack: an emulated eMRTD
chip on vpcd through a real pcscd (BAC, secure messaging, passive and active authentication), the R307 emulator on a
pty with FVC2002 fingerprints, the ESC/POS printer emulator.

In Kyrgyz the operator types the card's three BAC fields (a mistyped document number first: the chip refuses it and
the screen says what to check); in Russian the MRZ camera reads a photograph of the card's back. Both then see the
voter from the list with the list photo beside the chip's photo, scan the finger (1:1) and confirm. A card shown
twice is refused as already voted; a chip whose DG1 was altered (passive authentication) and a copied chip (active
authentication) are refused with next steps, counted and audited. Screenshots go to artifacts/screenshots/.

Run under ``flock /tmp/shailoo-card.lock`` (one pcscd per machine).
"""

from __future__ import annotations

import io
import json
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image, ImageDraw
from sqlalchemy import select

from emulators.printer import PrinterEmulator
from emulators.r30x import R30xEmulator
from shailoo.settings import fingerprint_data_dir
from station.gallery import Gallery
from station.list_package import (
    build_package,
    generate_cec_keys,
    load_cec_public,
    load_cec_signing_key,
    load_list_key,
    load_package,
)
from station.matching import EngineMatcher
from station.runtime import KitRuntime
from station.staff import Role, add_worker
from station.store import AuditEntry, KitStore
from station.ui.app import create_app
from station.ui.sessions import Sessions
from tests.browser import CHROMIUM, FLAGS, SHOTS
from tests.station.conftest import ELECTION, STATION, national_list
from tests.station.served import printer_on_pty, scanner_on_pty, serve_app

FVC = fingerprint_data_dir() / "FVC2002" / "DB1_B"
READER = "Virtual PCD 00 00"
BLANK = np.full((288, 256), 255, np.uint8)
pytestmark = [
    pytest.mark.browser,
    pytest.mark.pcsc,
    pytest.mark.data,
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which(CHROMIUM) is None, reason="Debian chromium not installed (apt-get install chromium)"),
    pytest.mark.skipif(not FVC.exists(), reason=f"FVC2002 DB1_B not found in {FVC} (set SHAILOO_FINGERPRINT_DATA)"),
]


def _photo(seed: int) -> bytes:
    img = Image.new("RGB", (180, 220), (200 - seed * 20, 220, 235))
    draw = ImageDraw.Draw(img)
    draw.ellipse((55, 30, 125, 110), fill=(120, 90, 70))
    draw.rectangle((35, 120, 145, 220), fill=(40, 60, 110))
    out = io.BytesIO()
    img.save(out, "PNG")
    return out.getvalue()


@dataclass
class CardKit:
    url: str
    kit: KitRuntime
    device: Any  # station.devices.card.CardReader with its EmulatedCardStation
    holders: list[Any]
    feed: list[np.ndarray]
    printer_emu: PrinterEmulator
    scanner_emu: R30xEmulator
    camera_dir: Path


@pytest.fixture
def card_kit(tmp_path: Path) -> Iterator[CardKit]:
    from emulators.card.pcscd import PcscDaemon, missing_card_stack
    from emulators.card.personalisation import CardHolder
    from emulators.images import load_grey
    from fingerprint import dumps
    from fingerprint.extract import extract
    from station.devices.card import CardInserted  # noqa: F401  (registers emulated://emrtd)
    from station.devices.urls import open_device
    from station.workflow.chip_card import ChipCardReader

    if (why := missing_card_stack()) is not None:
        pytest.skip(why)
    daemon = PcscDaemon(log_path=tmp_path / "pcscd.log")
    daemon.start(READER)
    holders = [
        CardHolder(),
        CardHolder(document_number="AN7654321", birth_date="850704", expiry_date="331231", sex="F",
                   surname="OSMONOVA", given_names="AIGUL", personal_number="20407198500456",
                   full_name="Осмонова Айгүл"),
    ]
    voters = [replace(v, photo=_photo(i)) for i, v in enumerate(national_list())]
    for i, holder in enumerate(holders):
        born = date(int("19" + holder.birth_date[:2]), int(holder.birth_date[2:4]), int(holder.birth_date[4:]))
        voters[i] = replace(voters[i], personal_number=holder.personal_number, birth_date=born,
                            surname=holder.full_name.split()[0], given_name=holder.full_name.split()[1],
                            templates={1: dumps(extract(load_grey(FVC / f"{101 + i}_1.tif"), 500).template)})
    signing, public, list_key = generate_cec_keys(tmp_path / "cec")
    data = build_package(voters, ELECTION, STATION, load_cec_signing_key(signing), load_list_key(list_key))
    store = KitStore(tmp_path / "kit.db")
    store.set_kit_info(ELECTION, STATION, "1")
    load_package(store, data, load_cec_public(public), load_list_key(list_key))
    add_worker(store, "op1", "Айгүл Осмонова", Role.OPERATOR, "1111")
    feed: list[np.ndarray] = []
    device = open_device("emulated://emrtd")
    camera_dir = tmp_path / "camera"
    camera_dir.mkdir()
    # The MRZ camera: OpenCV reads numbered frames from this folder (an image-sequence "camera").
    device.profile = replace(device.profile, camera=str(camera_dir / "frame_%02d.png"))  # type: ignore[attr-defined]
    try:
        with printer_on_pty() as (printer, p_emu), \
                scanner_on_pty(lambda: feed.pop(0) if feed else BLANK) as (scanner, s_emu):
            gallery = Gallery(store, load_list_key(list_key))
            matcher = EngineMatcher()
            matcher.load_gallery(gallery.all_templates())
            kit = KitRuntime(store, gallery, printer=printer, scanner=scanner, matcher=matcher,
                             card_reader=ChipCardReader(device))  # type: ignore[arg-type]
            with serve_app(create_app(kit, Sessions(300))) as url:
                yield CardKit(url, kit, device, holders, feed, p_emu, s_emu, camera_dir)
    finally:
        device.close()
        store.close()
        daemon.stop()


def _put_card(ck: CardKit, files: Any, faults: Any = None) -> None:
    """Take the card off the reader, put ``files``' chip in it (with ``faults``), and put it back; wait until pcscd
    reports it."""
    station = ck.device.emulator
    station.remove()
    deadline = time.monotonic() + 10
    while ck.device.present and time.monotonic() < deadline:
        time.sleep(0.05)
    station.load(files, faults)
    station.insert()
    while not ck.device.present:
        assert time.monotonic() < deadline, "the emulated card never appeared on the reader"
        time.sleep(0.05)


def test_card_then_finger_on_the_screen_in_kyrgyz_and_russian(card_kit: CardKit) -> None:
    import cv2
    from playwright.sync_api import sync_playwright

    from emulators.card.card_photo import photograph, render_card_back
    from emulators.card.personalisation import clone, forge_personal_number, personalise
    from emulators.images import load_grey

    ck = card_kit
    pki = ck.device.emulator.pki
    cards = [personalise(h, pki) for h in ck.holders]
    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900})

        def shot(name: str) -> None:
            page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)

        def flow_state(state: str, notice: str | None = None) -> None:
            selector = f'#flow[data-state="{state}"]:not([data-busy])'
            if notice is not None:
                selector = selector.replace("]:not", f'][data-notice="{notice}"]:not')
            page.wait_for_selector(selector, timeout=30000)

        def start_card() -> None:
            page.goto(f"{ck.url}/")
            page.click("#start-card")
            flow_state("await_card")

        def type_fields(document: str, birth: str, expiry: str) -> None:
            page.fill("#mrz-document", document)
            page.fill("#mrz-birth", birth)
            page.fill("#mrz-expiry", expiry)
            page.click("#read-card")

        def finger_and_confirm(lang: str, subject: int) -> None:
            assert page.locator("#voter-name").inner_text().startswith(ck.holders[subject].full_name.split()[0])
            for img in ("#list-photo", "#chip-photo"):
                assert page.locator(img).evaluate("i => i.naturalWidth") > 0, img
            shot(f"{lang}-15-card-voter")
            # The voter is slow to put the finger down: the screen shows the wait (and Cancel), then moves on by
            # itself once the finger is there.
            ck.scanner_emu.faults.finger_present = False
            page.click("#scan")
            page.wait_for_selector('#flow[data-busy="capture"] #cancel-job')
            page.wait_for_function("document.getElementById('busy-seconds').textContent >= '1'")
            assert page.locator("#dev-scanner").get_attribute("class") == "dev busy"
            shot(f"{lang}-19-finger-waiting")
            ck.feed.append(load_grey(FVC / f"{101 + subject}_2.tif"))
            started = time.perf_counter()
            ck.scanner_emu.faults.finger_present = True
            flow_state("confirm")
            # Finger down to the match on screen: image upload over the pty, extraction, 1:1, the page's reload.
            print(f"finger placed -> match on screen: {(time.perf_counter() - started) * 1000:.0f} ms")
            shot(f"{lang}-16-card-finger-matched")
            page.click("#confirm")
            flow_state("printed")
            shot(f"{lang}-17-card-identified")

        page.goto(f"{ck.url}/lang/ky")
        page.goto(f"{ck.url}/login")
        page.fill("#pin", "1111")
        page.keyboard.press("Enter")
        page.wait_for_url(f"{ck.url}/")

        # Kyrgyz: the three BAC fields typed, the first time with a wrong document number.
        holder = ck.holders[0]
        _put_card(ck, cards[0])
        start_card()
        assert page.locator("#card-here").inner_text().strip()
        shot("ky-13-card-mrz")
        type_fields("AN0000000", "15.02.1990", "01.01.2034")
        flow_state("await_card", "card_bac")
        assert "номерин" in page.locator("#notice").inner_text()
        shot("ky-14-card-wrong-mrz")
        started = time.perf_counter()
        type_fields(holder.document_number, "15.02.1990", "01.01.2034")
        flow_state("await_finger")
        # Press "Read card" to the voter on screen: chip read (BAC, DG1/DG2/DG11/DG15, passive and active
        # authentication), list look-up, page reload in Chromium.
        print(f"read card -> voter on screen: {(time.perf_counter() - started) * 1000:.0f} ms")
        finger_and_confirm("ky", 0)

        # The same card again: already voted, with when and where.
        start_card()
        type_fields(holder.document_number, holder.birth_date, holder.expiry_date)
        flow_state("refused")
        assert "МУРДА ДОБУШ БЕРГЕН" in page.locator("#next").inner_text()

        # A chip whose DG1 was altered to another voter's number: passive authentication fails.
        forged = forge_personal_number(cards[0], ck.holders[1].personal_number)
        _put_card(ck, forged)
        start_card()
        page.click("form.mrz details > summary")  # open the "whole MRZ" box, as an operator would
        page.fill("#mrz-lines", forged.mrz)
        page.click("#read-card")
        flow_state("refused", "card_forged")
        assert "ЧЫНЫГЫ ЭМЕС" in page.locator("#next").inner_text()
        assert page.locator("#c-refused-cards").inner_text() == "1"
        shot("ky-18-card-forged")

        # Russian: the MRZ camera photographs the card's back.
        page.goto(f"{ck.url}/lang/ru")
        holder = ck.holders[1]
        ck.device.emulator.remove()
        start_card()
        page.wait_for_selector("#card-here[data-present='0']")
        _put_card(ck, cards[1])  # the voter puts the card down: the open page notices without a reload
        page.wait_for_selector("#card-here[data-present='1']", timeout=10000)
        cv2.imwrite(str(ck.camera_dir / "frame_00.png"), photograph(render_card_back(holder.mrz()), angle_deg=2.0))
        shot("ru-13-card-mrz")
        page.click("#read-camera")
        flow_state("await_finger")
        finger_and_confirm("ru", 1)

        # A copied chip (same files, its own Active Authentication key): refused as a copy.
        _put_card(ck, clone(cards[1]))
        start_card()
        page.click("#read-camera")
        flow_state("refused", "card_cloned")
        assert "КОПИЯ" in page.locator("#next").inner_text()
        shot("ru-18-card-cloned")
        page.click("#next-voter")
        page.wait_for_url(f"{ck.url}/")
        assert page.locator("#c-refused-cards").inner_text() == "2"

        # Cancel while the scanner waits for a finger: back to the start within a scanner slice, nothing recorded.
        ck.scanner_emu.faults.finger_present = False
        page.click("#start-finger")
        page.click("#scan")
        page.wait_for_selector('#flow[data-busy="capture"] #cancel-job')
        page.click("#cancel-job")
        page.wait_for_url(f"{ck.url}/", timeout=10000)
        assert ck.kit.flow is None
        browser.close()

    c = ck.kit.counters()
    assert c.identified == 2 and c.by_path == {"card_finger": 2}
    assert len(ck.printer_emu.slips) == 2
    with ck.kit.store.transaction() as session:
        refused = [json.loads(e.body) for e in session.scalars(select(AuditEntry).where(AuditEntry.kind == "card_refused"))]
    assert [r["cloned"] for r in refused] == [False, True]
    assert "DG1" in refused[0]["problem"] and "active authentication" in refused[1]["problem"]


def test_a_hung_chip_tells_the_operator_to_take_the_card_off(card_kit: CardKit) -> None:
    """A chip that stops answering mid-read holds the PC/SC call until the card leaves the reader: the screen keeps
    answering, tells the operator (after the reader's read limit) to take the card off, and once it is off either
    drops the voter (Cancel was pressed) or asks to read the card again; nothing is recorded."""
    import httpx

    from emulators.card.chip import ChipFaults
    from emulators.card.personalisation import personalise

    ck = card_kit
    ck.device.profile = replace(ck.device.profile, read_s=1.5)  # the chip's whole read, bounded (s)
    holder = ck.holders[0]
    card = personalise(holder, ck.device.emulator.pki)
    fields = {"document": holder.document_number, "birth": holder.birth_date, "expiry": holder.expiry_date}
    station = ck.device.emulator
    try:
        with httpx.Client(base_url=ck.url, timeout=30) as client:
            client.post("/login", data={"pin": "1111"})
            client.cookies.set("shailoo_lang", "en")
            for cancel in (True, False):
                _put_card(ck, card, ChipFaults(silent_after=6))  # the chip stops answering in the middle
                client.post("/flow/start", data={"kind": "card"})
                assert client.post("/flow/card", data=fields).headers["location"] == "/flow"
                busy = client.get("/api/flow").json()["busy"]
                assert busy is not None and busy["kind"] == "card" and busy["cancellable"], busy
                assert client.get("/api/status").json()["devices"]["card_reader"] == "busy"
                if cancel:
                    client.post("/flow/cancel")
                time.sleep(1.5 + 1.6)  # past the read limit and the margin
                page = client.get("/flow").text
                assert 'data-busy="card"' in page and "Take the card off the reader" in page
                assert 'id="busy-hint" data-after' in page and "hidden>" not in page.split('id="busy-hint"')[1][:80]
                station.remove()  # the operator takes the card off: the stuck call returns
                flow = client.get("/api/flow", params={"wait": 15}).json()
                assert flow["busy"] is None, flow
                if cancel:
                    assert flow["state"] in (None, "cancelled"), flow
                else:
                    assert flow["state"] == "await_card" and flow["notice"] in ("card_slow", "card_removed"), flow
                    assert "put it back" in client.get("/flow").text
                client.post("/flow/cancel")
            assert client.get("/api/status").json()["refused_cards"] == 0
    finally:
        station.remove()  # never leave a hung chip in the field: closing the reader would wait for it
    assert ck.kit.counters().identified == 0
