"""Device profiles: every shipped file loads; broken files are refused with the file and key named."""

from __future__ import annotations

from pathlib import Path

import pytest

from station.devices.errors import ProfileError
from station.devices.health import ErrorCode
from station.devices.profiles import (
    PrinterProfile,
    ScannerProfile,
    available_profiles,
    load_printer_profile,
    load_profile,
    load_scanner_profile,
)

GOOD_SCANNER = (
    Path(__file__).resolve().parents[2] / "firmware_configs" / "scanners" / "r307.toml"
).read_text()


def test_every_shipped_profile_loads() -> None:
    names = set(available_profiles())
    assert {"r307", "as608", "r503", "gt521f52", "gt521f32", "escpos58", "escpos80"} <= names
    for name in names:
        profile = load_profile(name)
        assert profile.model == name


def test_profile_values_are_those_of_the_module() -> None:
    r307 = load_scanner_profile("r307")
    assert (r307.protocol, r307.baud, r307.image_width, r307.image_height, r307.dpi) == (
        "r30x",
        57600,
        256,
        288,
        500,
    )
    assert r307.packet_size == 128 and r307.led == "none"
    assert load_scanner_profile("r503").led == "aura"
    gt = load_scanner_profile("gt521f52")
    assert (gt.protocol, gt.baud, gt.fast_baud, gt.image_width, gt.image_height) == (
        "gt521",
        9600,
        115200,
        258,
        202,
    )
    p58, p80 = load_printer_profile("escpos58"), load_printer_profile("escpos80")
    assert (p58.dots_per_line, p58.chars_per_line, p58.code_page) == (384, 32, "cp866")
    assert (p80.dots_per_line, p80.chars_per_line) == (576, 48)
    assert isinstance(p58, PrinterProfile) and isinstance(gt, ScannerProfile)


@pytest.mark.parametrize(
    ("old", "new", "complaint"),
    [
        ("baud = 57600", "baud = 57601", "'serial.baud' must be one of"),
        ("baud = 57600", 'baud = "fast"', "'serial.baud' must be one of"),
        ("baud = 57600\n", "", "'serial.baud' is missing"),
        ("dpi = 500", "dpi = 5000", "'image.dpi' must be between 250 and 1000"),
        ("dpi = 500", "dpi = 500.5", "'image.dpi' must be an integer"),
        ("packet_size = 128", "packet_size = 100", "'protocol.packet_size' must be one of"),
        ("bits_per_pixel = 4", "bits_per_pixel = 8", "must be 4 for the r30x protocol"),
        ('protocol = "r30x"', 'protocol = "zfm"', "'device.protocol' must be one of"),
        ('kind = "scanner"', 'kind = "toaster"', "'device.kind' must be one of"),
        ('model = "r307"', 'model = "r308"', "must match the file name"),
        ('control = "none"', "control = true", "'led.control' must be one of"),
        ("capture_s = 15.0", "capture_s = -1", "'timeouts.capture_s' must be between"),
        ("[image]", "[image", "is not valid TOML"),
    ],
)
def test_broken_scanner_profiles_are_refused_naming_file_and_key(
    tmp_path: Path, old: str, new: str, complaint: str
) -> None:
    assert old in GOOD_SCANNER
    path = tmp_path / "r307.toml"
    path.write_text(GOOD_SCANNER.replace(old, new, 1))
    with pytest.raises(ProfileError, match=complaint) as err:
        load_profile(str(path))
    assert str(path) in str(err.value)
    assert err.value.code == ErrorCode.DEVICE_PROFILE_INVALID


def test_printer_profile_checks(tmp_path: Path) -> None:
    text = (
        Path(__file__).resolve().parents[2] / "firmware_configs" / "printers" / "escpos58.toml"
    ).read_text()
    path = tmp_path / "escpos58.toml"
    path.write_text(text.replace("chars_per_line = 32", "chars_per_line = 48"))
    with pytest.raises(ProfileError, match="needs 576 dots"):
        load_profile(str(path))
    path.write_text(text.replace('code_page = "cp866"', 'code_page = "latin-1"'))
    with pytest.raises(ProfileError, match="holds Cyrillic"):
        load_profile(str(path))


def test_unknown_names_and_wrong_kinds() -> None:
    with pytest.raises(ProfileError, match="known profiles: .*r307"):
        load_profile("r999")
    with pytest.raises(ProfileError, match="not a fingerprint scanner"):
        load_scanner_profile("escpos58")
    with pytest.raises(ProfileError, match="not a slip printer"):
        load_printer_profile("r307")
    with pytest.raises(ProfileError, match="cannot be read"):
        load_profile("/nonexistent/x.toml")
