"""The operator screen's languages: Kyrgyz, Russian and English, one JSON catalogue each, switchable any time."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

LANGUAGES = ("ky", "ru", "en")
DEFAULT_LANGUAGE = "ky"
_DIR = Path(__file__).parent


@cache
def catalogue(lang: str) -> dict[str, str]:
    """All strings of one language (falls back to the default language for an unknown code)."""
    code = lang if lang in LANGUAGES else DEFAULT_LANGUAGE
    return dict(json.loads((_DIR / f"{code}.json").read_text(encoding="utf-8")))


def translate(lang: str, key: str, **values: object) -> str:
    """The string ``key`` in ``lang`` with ``values`` filled in; an unknown key shows itself (never crashes)."""
    text = catalogue(lang).get(key) or catalogue("en").get(key) or key
    try:
        return text.format(**values)
    except (KeyError, IndexError):
        return text
