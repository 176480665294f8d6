"""The screen by touch and by keyboard alone, in large type, with live device status, in a real headless Chromium.

Touch: the PIN is tapped on the keypad (a touch-screen context). Keyboard: a whole typed-number identification with
only the keys Tab, Space, Enter and digits, from login to the next voter. Large type: body text at least 20 CSS px
every button at least 48 px high and every check box 28 px (WCAG 2.2 §2.5.8 asks 24 px; a standing poll worker's finger wants twice that).
Device status: the printer runs out of paper while idle, and the open page says so, with what to do, without a reload;
then the paper is back. Screenshots of the paper-out status in Kyrgyz and Russian go to artifacts/screenshots/.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from emulators.printer import PrinterEmulator
from station.gallery import Gallery
from station.list_package import load_cec_public, load_list_key, load_package
from station.runtime import KitRuntime
from station.staff import Role, add_worker
from station.store import KitStore
from station.ui.app import create_app
from station.ui.sessions import Sessions
from tests.browser import CHROMIUM, FLAGS, SHOTS
from tests.station.conftest import STATION, national_list
from tests.station.served import printer_on_pty, serve_app

PINS = [v.personal_number for v in national_list() if v.station_id == STATION]
#: Smallest body text and button height the screen allows (CSS px).
MIN_TEXT_PX = 20
MIN_BUTTON_PX = 48
MIN_BOX_PX = 28
pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which(CHROMIUM) is None, reason="Debian chromium not installed (apt-get install chromium)"),
]


@dataclass
class Served:
    url: str
    kit: KitRuntime
    printer_emu: PrinterEmulator


@pytest.fixture
def served(kit: KitStore, package: bytes, cec_keys: dict[str, Path]) -> Iterator[Served]:
    load_package(kit, package, load_cec_public(cec_keys["public"]), load_list_key(cec_keys["list"]))
    add_worker(kit, "op1", "Айгүл", Role.OPERATOR, "1111")
    add_worker(kit, "m2", "Нурлан", Role.OPERATOR, "2222")
    with printer_on_pty() as (printer, p_emu):
        runtime = KitRuntime(kit, Gallery(kit, load_list_key(cec_keys["list"])), printer=printer)
        with serve_app(create_app(runtime, Sessions(300), printer_poll_s=0.5)) as url:
            yield Served(url, runtime, p_emu)

def test_touch_keyboard_large_type_and_live_device_status(served: Served) -> None:
    from playwright.sync_api import sync_playwright

    url = served.url
    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=FLAGS)

        # Touch: tap the PIN on the keypad.
        touch = browser.new_context(has_touch=True, viewport={"width": 1024, "height": 768})
        page = touch.new_page()
        page.goto(f"{url}/login")
        for digit in "1111":
            page.tap(f".keypad button[data-key='{digit}']")
        assert page.input_value("#pin") == "1111"  # a repeated tap on one key types it again
        page.tap("#login")
        page.wait_for_url(f"{url}/")

        # Large type and large targets on the home and flow pages.
        for path in ("/", "/flow"):
            if path == "/flow":
                page.tap("#start-manual")
                page.wait_for_selector('#flow[data-state="await_number"]')
            text_px = page.evaluate("parseFloat(getComputedStyle(document.body).fontSize)")
            assert text_px >= MIN_TEXT_PX, (path, text_px)
            heights = page.evaluate(
                "[...document.querySelectorAll('button')].filter(b => b.offsetParent)"
                ".map(b => [b.id || b.textContent.trim(), b.getBoundingClientRect().height])"
            )
            small = [(name, h) for name, h in heights if h < MIN_BUTTON_PX]
            assert heights and not small, (path, small)
            boxes = page.evaluate(
                "[...document.querySelectorAll('input[type=checkbox], input[type=radio]')].filter(b => b.offsetParent)"
                ".map(b => b.getBoundingClientRect().height)"
            )
            assert boxes and min(boxes) >= MIN_BOX_PX, (path, boxes)
        page.tap("#next-voter")
        page.wait_for_url(f"{url}/")

        # Device status, live: the printer runs out of paper while idle; the open page tells without a reload.
        for lang in ("ky", "ru"):
            page.goto(f"{url}/lang/{lang}")
            page.goto(f"{url}/")
            page.evaluate("window.sameDocument = true")
            served.printer_emu.faults.paper_out = True
            page.wait_for_selector("#dev-printer.not_ready #devcode-printer[data-code='302']", timeout=10000)
            assert page.evaluate("window.sameDocument") is True
            assert page.locator("#devcode-printer").inner_text().strip()
            page.screenshot(path=str(SHOTS / f"{lang}-20-printer-paper-out.png"), full_page=True)
            served.printer_emu.faults.paper_out = False
            page.wait_for_selector("#dev-printer.ready #devcode-printer[data-code='0']", state="attached", timeout=10000)
        touch.close()

        # Keyboard alone: log in, the typed-number path with a second member, the next voter.
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(f"{url}/lang/en")
        page.goto(f"{url}/login")
        page.keyboard.type("1111")
        assert page.input_value("#pin") == "1111"  # the PIN field has the keyboard from the start
        page.keyboard.press("Enter")
        page.wait_for_url(f"{url}/")
        assert page.evaluate("document.activeElement.id") == "start-card"  # Enter alone starts the card path
        page.keyboard.press("Tab")
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.id") == "start-manual"
        page.keyboard.press("Enter")
        page.wait_for_selector('#flow[data-state="await_number"]')
        assert page.evaluate("document.activeElement.id") == "number"
        page.keyboard.type(PINS[3])
        page.keyboard.press("Tab")
        page.keyboard.press("Space")  # the first reason of the group
        assert page.is_checked("#reason-no_fingerprints")
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.id") == "lookup"
        page.keyboard.press("Enter")
        page.wait_for_selector('#flow[data-state="confirm"]')
        assert page.evaluate("document.activeElement.id") == "second-pin"
        page.keyboard.type("2222")
        page.keyboard.press("Enter")
        page.wait_for_selector('#flow[data-state="printed"]:not([data-busy])', timeout=20000)
        assert page.evaluate("document.activeElement.id") == "next-voter"
        page.keyboard.press("Enter")
        page.wait_for_url(f"{url}/")
        browser.close()
    c = served.kit.counters()
    assert c.identified == 1 and c.manual_by_reason == {"no_fingerprints": 1}
    assert len(served.printer_emu.slips) == 1
