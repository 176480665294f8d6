"""Without the compiled extension, importing native fails with an error that says how to build it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

_HIDE = """
import importlib.abc, sys
class Hide(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name == "native.%s":
            raise ImportError("hidden by the test")
        return None
sys.meta_path.insert(0, Hide())
try:
    import native
except ImportError as error:
    print(error)
    sys.exit(3)
sys.exit(0)
"""


@pytest.mark.parametrize("extension", ["_mcc_cy", "_float_cy"])
def test_missing_extension_says_how_to_build_it(extension: str) -> None:
    done = subprocess.run(
        [sys.executable, "-c", _HIDE % extension], cwd=REPO, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 3, done.stderr
    assert f"native/{extension}" in done.stdout and "pip install -e ." in done.stdout and "make setup" in done.stdout
