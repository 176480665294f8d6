"""The real headless Chromium every screen test drives (Debian's package, through Playwright), and where the
screenshots kept as test artefacts go."""

from __future__ import annotations

from tests.conftest import REPO

#: Debian's chromium; the tests skip with an install hint when it is absent.
CHROMIUM = "/usr/bin/chromium"
#: Headless, and nothing that reaches out to the network or updates itself during a test.
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run"]
#: Screenshots of each main screen, kept by CI as artefacts.
SHOTS = REPO / "artifacts" / "screenshots"
