"""Settings shared by every component: where data lives, read from the environment with safe defaults.

Each setting is a function so that tests can change the environment and see the change.
"""

from __future__ import annotations

import os
from pathlib import Path

#: The repository (or installed source tree) root: the folder holding ``pyproject.toml``.
REPO_ROOT = Path(__file__).resolve().parents[1]


def fingerprint_data_dir() -> Path:
    """Folder of the real fingerprint databases (``SHAILOO_FINGERPRINT_DATA``).

    The databases are research data: they are read from the shared folder beside the repository and never copied
    into it.
    """
    value = os.environ.get("SHAILOO_FINGERPRINT_DATA")
    if value:
        return Path(value)
    return REPO_ROOT.parent / "shared" / "data" / "fingerprints"


def var_dir() -> Path:
    """Folder for run-time state of local demos (``SHAILOO_VAR_DIR``, default ``var/`` in the repository)."""
    value = os.environ.get("SHAILOO_VAR_DIR")
    return Path(value) if value else REPO_ROOT / "var"


def csca_dir() -> Path:
    """Folder of trusted Country Signing CA certificates (PEM/DER) for ID-card passive authentication
    (``SHAILOO_CSCA_DIR``, default ``var/csca``); a chip signed by anyone else is refused."""
    value = os.environ.get("SHAILOO_CSCA_DIR")
    return Path(value) if value else var_dir() / "csca"
