"""The operator screen in a real headless Chromium (Debian's /usr/bin/chromium through Playwright): login by PIN,
the typed-number path with a second member, "already voted", wrong station, supervisor reprint and closing receipt,
language switching, the idle lock. Screenshots of each main screen in Kyrgyz and Russian go to
artifacts/screenshots/."""

from __future__ import annotations

import io
import shutil
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

from emulators.printer import PrinterEmulator
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
from station.store import KitStore
from station.ui.app import create_app
from station.ui.sessions import Sessions
from tests.browser import CHROMIUM, FLAGS, SHOTS
from tests.station.conftest import ELECTION, STATION, national_list
from tests.station.served import printer_on_pty, scanner_on_pty, serve_app

FVC = fingerprint_data_dir() / "FVC2002" / "DB1_B"
BLANK = np.full((288, 256), 255, np.uint8)
pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which(CHROMIUM) is None, reason="Debian chromium not installed (apt-get install chromium)"),
]


def _photo(seed: int) -> bytes:
    img = Image.new("RGB", (180, 220), (210 - seed * 10, 220, 235))
    draw = ImageDraw.Draw(img)
    draw.ellipse((55, 30, 125, 110), fill=(120, 90, 70))
    draw.rectangle((35, 120, 145, 220), fill=(40, 60, 110))
    out = io.BytesIO()
    img.save(out, "PNG")
    return out.getvalue()


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, KitRuntime, Sessions, PrinterEmulator]]:
    voters = [replace(v, photo=_photo(i), templates={}) for i, v in enumerate(national_list())]
    if FVC.exists():
        from emulators.images import load_grey
        from fingerprint import dumps
        from fingerprint.extract import extract

        # Voters 2 and 3 enrolled from FVC2002 subjects 103 and 104 for the finger-alone screens.
        for i in (2, 3):
            voters[i] = replace(voters[i], templates={1: dumps(extract(load_grey(FVC / f"{101 + i}_1.tif"), 500).template)})
    signing, public, list_key = generate_cec_keys(tmp_path / "cec")
    data = build_package(voters, ELECTION, STATION, load_cec_signing_key(signing), load_list_key(list_key))
    store = KitStore(tmp_path / "kit.db")
    store.set_kit_info(ELECTION, STATION, "1")
    load_package(store, data, load_cec_public(public), load_list_key(list_key))
    add_worker(store, "op1", "Айгүл Осмонова", Role.OPERATOR, "1111")
    add_worker(store, "m2", "Нурлан Сыдыков", Role.OPERATOR, "2222")
    add_worker(store, "chair", "Бакыт Асанов", Role.SUPERVISOR, "9999")
    feed: list[np.ndarray] = []
    with printer_on_pty() as (printer, p_emu), \
            scanner_on_pty(lambda: feed.pop(0) if feed else BLANK) as (scanner, _):
        gallery = Gallery(store, load_list_key(list_key))
        matcher = EngineMatcher()
        matcher.load_gallery(gallery.all_templates())
        kit = KitRuntime(store, gallery, printer=printer, scanner=scanner, matcher=matcher)
        kit.feed = feed  # type: ignore[attr-defined]
        sessions = Sessions(lock_after_s=120)
        try:
            with serve_app(create_app(kit, sessions)) as url:
                yield url, kit, sessions, p_emu
        finally:
            store.close()

def flow_state(page: object, state: str, timeout_ms: float = 20000) -> None:
    """Wait until the flow shows ``state`` with no device job running (device steps run in the background)."""
    page.wait_for_selector(f'#flow[data-state="{state}"]:not([data-busy])', timeout=timeout_ms)  # type: ignore[attr-defined]


def test_screens_in_kyrgyz_and_russian(server: tuple[str, KitRuntime, Sessions, PrinterEmulator]) -> None:
    from playwright.sync_api import expect, sync_playwright

    url, kit, sessions, printer_emu = server
    SHOTS.mkdir(parents=True, exist_ok=True)
    pins = [v.personal_number for v in national_list() if v.station_id == STATION]
    elsewhere = next(v.personal_number for v in national_list() if v.station_id != STATION)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900})

        def shot(name: str) -> None:
            page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)

        def login(pin: str) -> None:
            page.goto(f"{url}/login")
            for digit in pin:
                page.click(f".keypad button[data-key='{digit}']")
            page.click("#login")
            page.wait_for_url(f"{url}/")

        def typed(pin: str, reason: str) -> None:
            page.goto(f"{url}/")
            page.click("#start-manual")
            page.fill("#number", pin)
            page.check(f"#reason-{reason}")
            page.click("#lookup")

        for n, lang in enumerate(("ky", "ru")):
            page.goto(f"{url}/lang/{lang}")
            page.goto(f"{url}/login")
            assert page.locator("html").get_attribute("lang") == lang
            shot(f"{lang}-01-login")
            login("1111")
            assert page.locator("#peers").is_visible(), page.content()[:2000]
            shot(f"{lang}-02-home")
            page.click("#start-manual")
            shot(f"{lang}-03-typed-number")
            page.goto(f"{url}/")
            typed(pins[n], "worn_prints")
            flow_state(page, "confirm")
            assert page.locator("#voter-name").inner_text().startswith(national_list()[n].surname)
            assert page.locator("img.photo").evaluate("img => img.naturalWidth") == 180
            shot(f"{lang}-04-confirm-photo")
            page.fill("#second-pin", "1111")  # the operator cannot be their own second member
            page.click("#confirm")
            assert page.locator("#error").is_visible()
            page.fill("#second-pin", "2222")
            page.click("#confirm")
            flow_state(page, "printed")
            shot(f"{lang}-05-identified")
            typed(pins[n], "injury")
            flow_state(page, "refused")
            text = page.locator("#next").inner_text()
            assert ("МУРДА ДОБУШ БЕРГЕН" if lang == "ky" else "УЖЕ ПРОГОЛОСОВАЛ") in text
            shot(f"{lang}-06-already-voted")
            typed(elsewhere, "injury")
            assert "1001" in page.locator("#next").inner_text()
            shot(f"{lang}-07-wrong-station")
            if FVC.exists():
                from emulators.images import load_grey

                page.goto(f"{url}/")
                page.click("#start-finger")
                shot(f"{lang}-10-finger-place")
                kit.feed.append(load_grey(FVC / f"{103 + n}_2.tif"))  # type: ignore[attr-defined]
                page.click("#scan")
                flow_state(page, "choose")
                shot(f"{lang}-11-finger-candidates")
                page.locator("button.candidate").first.click()
                flow_state(page, "confirm")
                page.click("#confirm")
                flow_state(page, "printed")
                page.goto(f"{url}/")
                page.click("#start-card")
                page.click("#read-card")
                assert page.locator("#error").is_visible()  # no card reader on this kit: says what to do
                shot(f"{lang}-12-card-no-reader")
            page.goto(f"{url}/lock")
            login("9999")
            page.goto(f"{url}/supervisor")
            shot(f"{lang}-08-supervisor")
            before = len(printer_emu.slips)
            page.click("#reprint-" + str(kit.recent()[0].id))
            assert page.locator("#done").is_visible() and len(printer_emu.slips) == before + 1
            page.click("#receipt-closing" if n else "#receipt-hourly")
            assert page.locator("#receipt-qr").is_visible()
            shot(f"{lang}-09-receipt")
            page.goto(f"{url}/lock")
        # Both identifications counted once each; the reprints logged.
        c = kit.counters()
        fingers = 2 if FVC.exists() else 0
        assert c.identified == 2 + fingers and c.reprints == 2 and c.manual_by_reason == {"worn_prints": 2}
        # The screen locks itself when idle.
        sessions.lock_after_s = 1.5
        login("1111")
        # Polled, not awaited as one navigation: on a loaded machine the idle lock's redirect can abort the page's own
        # navigation first ("frame was detached"), and the kit still ends on the login screen, which is what counts.
        expect(page).to_have_url(f"{url}/login", timeout=8000)
        browser.close()
