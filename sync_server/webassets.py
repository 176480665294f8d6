"""The live page's files: its HTML shell and script from ``sync_server/static``, and the charting library.

Charts use plotly.js, served from the ``plotly`` Python package's own copy (``package_data/plotly.min.js``): polling
stations and tests have no internet, so nothing is loaded from a CDN, and no third-party JavaScript is committed here.
"""

from __future__ import annotations

import gzip
import importlib.util
from functools import cache
from pathlib import Path

from sync_server.errors import SettingsError

STATIC_DIR = Path(__file__).resolve().parent / "static"


@cache
def dashboard_html() -> str:
    """The dashboard page."""
    return (STATIC_DIR / "dashboard.html").read_text(encoding="utf-8")


@cache
def plotly_js_path() -> Path:
    """plotly.min.js inside the installed ``plotly`` package."""
    spec = importlib.util.find_spec("plotly")
    if spec is None or spec.origin is None:
        raise SettingsError("the plotly package is missing: pip install plotly (it ships plotly.min.js)")
    path = Path(spec.origin).parent / "package_data" / "plotly.min.js"
    if not path.exists():
        raise SettingsError(f"plotly.min.js not found at {path}: reinstall the plotly package")
    return path


@cache
def plotly_js_gzip() -> bytes:
    """plotly.min.js gzip-compressed (level 6, about a third of a second once per process)."""
    return gzip.compress(plotly_js_path().read_bytes(), compresslevel=6)
