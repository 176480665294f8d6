"""``shailoo devices``: the technician's commands through the real command line and emulated devices."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from PIL import Image


def shailoo(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "shailoo", "devices", *args], capture_output=True, text=True, timeout=60
    )


def test_profiles_probe_capture_and_test_slip(tmp_path: Path) -> None:
    listed = shailoo("profiles")
    assert listed.returncode == 0 and "r307" in listed.stdout and "INVALID" not in listed.stdout
    probe = shailoo("probe", "emulated://r307")
    assert probe.returncode == 0 and json.loads(probe.stdout)["state"] == "ready"
    out = tmp_path / "finger.png"
    assert shailoo("capture", "emulated://r307", "--out", str(out)).returncode == 0
    with Image.open(out) as png:
        assert png.size == (256, 288)
    slip = shailoo("test-slip", f"emulated://escpos80?out={tmp_path}")
    assert slip.returncode == 0 and (tmp_path / "slip-0001.png").exists()


def test_errors_are_numbered_and_exit_non_zero() -> None:
    bad = shailoo("probe", "serial:///dev/nonexistent-tty?profile=r307")
    assert bad.returncode == 1 and bad.stderr.startswith("error 902:") and "cannot open" in bad.stderr
    wrong = shailoo("capture", "emulated://escpos58")
    assert wrong.returncode == 2 and "not a fingerprint scanner" in wrong.stderr
