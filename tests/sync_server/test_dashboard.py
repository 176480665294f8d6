"""The live dashboard in a real headless Chromium (Debian's, driven by playwright): first paint, pushed updates
without reload, the three languages, table sorting; screenshots are kept in artifacts/screenshots/."""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import zmq

from link.sender import OutboxSender
from sync_server.api import create_app
from sync_server.config import DEV_ADMIN_TOKEN, ServerSettings
from sync_server.in_process import InProcessServer
from sync_server.services.ingest import ingest_identifications
from sync_server.services.turnout import load_reference_curve
from sync_server.testing.http import BackgroundHttp
from sync_server.testing.kits import MemoryOutbox, event_bytes, make_event
from tests.browser import CHROMIUM, FLAGS, SHOTS

MORNING = datetime(2026, 11, 29, 2, 0, tzinfo=UTC)  # 08:00 Bishkek time

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture
def live(tmp_path: Path) -> Iterator[tuple[InProcessServer, BackgroundHttp]]:
    if not Path(CHROMIUM).exists() or shutil.which("chromium") is None:
        pytest.skip("Debian's chromium is not installed (apt-get install chromium)")
    cec = InProcessServer(f"sqlite:///{tmp_path / 'cec.db'}", tmp_path / "keys", stations_per_region=30)
    cec.start()
    with cec.sessions.begin() as session:
        events = [make_event(f"{r}{s:03d}", "1", i, MORNING + timedelta(minutes=3 * i + s),
                             path="manual" if (s == 7 and r == 3) else "biometric", sex="FM"[i % 2])
                  for r in range(1, 10) for s in range(1, 31) for i in range(1, 3 + (r * s) % 40)]
        ingest_identifications(session, events)
        load_reference_curve(session, "2021-parliament", {8: 3.0, 10: 9.5, 12: 17.0, 14: 24.0, 16: 31.0, 18: 36.5,
                                                          20: 39.3})
    http = BackgroundHttp(create_app(cec.sessions, ServerSettings(), cec.keys, cec.loop.stats if cec.loop else None))
    http.start()
    yield cec, http
    http.stop()
    cec.close()


def test_dashboard_paints_updates_live_and_speaks_three_languages(live: tuple[InProcessServer, BackgroundHttp]) -> None:
    from playwright.sync_api import sync_playwright

    cec, http = live
    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1300})
        started = time.monotonic()
        page.goto(f"{http.url}/dashboard?token={DEV_ADMIN_TOKEN}&lang=en")
        page.wait_for_function("Number(document.body.dataset.updates) >= 1", timeout=20_000)
        first_paint_s = time.monotonic() - started
        total = int(page.evaluate("document.body.dataset.total"))
        assert total > 0
        assert page.locator("#kpi-total").inner_text().replace(",", "") == str(total)
        # Charts once the charting library has loaded; the station table a page (100 rows) at a time.
        page.wait_for_function("Number(document.body.dataset.charts) >= 1 && document.body.dataset.tableRows",
                               timeout=20_000)
        assert page.locator("#curve .main-svg").count() > 0 and page.locator("#map .main-svg").count() > 0
        assert "previous election" in page.locator("#curve").inner_text()
        assert page.locator("#stations tbody tr").count() == 100
        assert page.locator("#rows-note").inner_text() == "stations 1-100 of 270"
        assert page.locator(".anomaly[data-kind='manual_burst']").count() >= 1
        page.screenshot(path=str(SHOTS / "dashboard-en.png"), full_page=True)

        # Sorting (by the server): click "Turnout" (descending first), the first row has the highest percentage.
        page.locator("#stations th[data-key='percent']").click()
        page.wait_for_selector("#stations th[data-key='percent'].sorted-desc")
        cells = page.locator("#stations tbody tr td:nth-child(6)").all_inner_texts()
        percents = [float(c.rstrip("%")) for c in cells]
        assert percents == sorted(percents, reverse=True) and len(percents) == 100
        # Paging: the next page continues below the first page's lowest turnout.
        page.locator("#next").click()
        page.wait_for_function("document.getElementById('rows-note').textContent.includes('101-200')")
        second_page = [float(c.rstrip("%")) for c in page.locator("#stations tbody tr td:nth-child(6)").all_inner_texts()]
        assert max(second_page) <= min(percents)
        # Filtering by oblast: every row shown is in it.
        page.locator("#filter").fill("Naryn")
        page.wait_for_function("document.getElementById('rows-note').textContent.startsWith('stations 1-')")
        assert set(page.locator("#stations tbody tr td:nth-child(2)").all_inner_texts()) == {"Naryn"}

        # A kit sends 25 identifications over the real link: the page updates by itself.
        keys = cec.provision("1001", "7")
        outbox = MemoryOutbox()
        for seq in range(1, 26):
            outbox.add(event_bytes(make_event("1001", "7", seq, MORNING + timedelta(hours=3, minutes=seq))))
        ctx: zmq.Context[zmq.Socket[bytes]] = zmq.Context()
        sender = OutboxSender(outbox, cec.endpoint, keys, context=ctx, health=lambda: {"scanner": "not_ready"})
        sent_at = time.monotonic()
        while len(outbox):
            sender.run_once(0.02)
        page.wait_for_function(f"Number(document.body.dataset.total) === {total + 25}", timeout=15_000)
        update_s = time.monotonic() - sent_at
        sender.close()
        ctx.term()
        print(f"\ndashboard: first paint {first_paint_s:.2f} s, update visible {update_s:.2f} s after the commit")
        assert update_s < 10

        for lang, word in (("ru", "Явка"), ("ky", "Участоктор")):
            page.locator(f"#langs button[data-lang='{lang}']").click()
            assert word in page.locator("body").inner_text()
            assert page.evaluate("document.documentElement.lang") == lang
            page.screenshot(path=str(SHOTS / f"dashboard-{lang}.png"), full_page=True)
        browser.close()
