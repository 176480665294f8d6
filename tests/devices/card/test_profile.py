"""Reader profiles: the shipped files load; a broken file is refused naming the file and the key."""

from __future__ import annotations

from pathlib import Path

import cv2
import pytest

from emulators.card.card_photo import photograph, render_card_back
from emulators.card.personalisation import CardHolder, TestPki
from station.devices.card import CardReader, TrustStore, load_reader_profile
from station.devices.card.errors import CardError
from station.devices.card.profile import READER_DIR, parse_reader_profile, profile_for_reader
from station.devices.errors import ProfileError


def test_shipped_profiles_load() -> None:
    names = sorted(p.stem for p in READER_DIR.glob("*.toml"))
    assert "vpcd" in names
    for name in names:
        assert load_reader_profile(name).model == name
    assert profile_for_reader("Virtual PCD 00 01").model == "vpcd"
    assert load_reader_profile("acr1252u").camera == "0"


@pytest.mark.parametrize(
    ("change", "key"),
    [
        (("read_s = 5.0", "read_s = 500.0"), "timeouts.read_s"),
        (("poll_ms = 250", 'poll_ms = "fast"'), "timeouts.poll_ms"),
        (('kind = "card_reader"', 'kind = "scanner"'), "device.kind"),
        (("face = true", "face = 1"), "read.face"),
        (('model = "vpcd"', 'model = "other"'), "device.model"),
        (("attempts = 2\n", ""), "timeouts.attempts"),
    ],
)
def test_broken_profile_names_the_key(change: tuple[str, str], key: str) -> None:
    path = READER_DIR / "vpcd.toml"
    text = path.read_text(encoding="utf-8")
    assert change[0] in text
    with pytest.raises(ProfileError, match=key.replace(".", r"\.")):
        parse_reader_profile(path, text.replace(change[0], change[1]))


def test_unknown_profile_and_reader() -> None:
    with pytest.raises(ProfileError, match="known readers"):
        load_reader_profile("nosuch")
    with pytest.raises(ProfileError, match="no reader profile"):
        profile_for_reader("Some Other Reader 00 00")
    with pytest.raises(ProfileError, match="not valid TOML"):
        parse_reader_profile(Path("x.toml"), "[device")


def test_camera_from_profile(tmp_path: Path, pki: TestPki) -> None:
    import dataclasses

    holder = CardHolder()
    cv2.imwrite(str(tmp_path / "f_00.png"), photograph(render_card_back(holder.mrz()), angle_deg=1.5))
    profile = dataclasses.replace(load_reader_profile("vpcd"), camera=str(tmp_path / "f_%02d.png"))
    reader = CardReader("Virtual PCD 00 00", profile, TrustStore([pki.csca_cert]))
    assert reader.mrz_from_camera().document_number == holder.document_number
    without = CardReader("Virtual PCD 00 00", load_reader_profile("vpcd"), TrustStore([pki.csca_cert]))
    with pytest.raises(CardError, match="no camera"):
        without.mrz_from_camera()
