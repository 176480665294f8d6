"""The camera MRZ reader on photos rendered by the project: turned, blurred, noisy, JPEG-compressed."""

from __future__ import annotations

import contextlib
from pathlib import Path

import cv2
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from emulators.card.card_photo import photograph, render_card_back
from emulators.card.chip import EmrtdChip
from emulators.card.personalisation import CardHolder, TestPki, personalise
from station.devices.card.camera_mrz import font_path, read_mrz_camera, read_mrz_image
from station.devices.card.emrtd import read_document
from station.devices.card.errors import CardError, MrzError
from station.devices.card.mrz import parse_mrz
from station.devices.card.passive_auth import TrustStore

HOLDERS = [
    CardHolder(),
    CardHolder(document_number="ID0012345", personal_number="10101195000011", surname="OMURBEKOVA",
               given_names="GULZAT", birth_date="501010", sex="F", expiry_date="300228"),
]


def test_font_is_ocr_b_when_installed() -> None:
    assert font_path().exists()


@pytest.mark.parametrize("angle", [0.0, 3.0, -4.0, 8.0])
@pytest.mark.parametrize("holder", HOLDERS, ids=["asanov", "omurbekova"])
def test_photo_gives_the_bac_fields(holder: CardHolder, angle: float) -> None:
    """Document number, birth and expiry dates (what BAC needs) come out exactly, check digits agreeing."""
    printed = parse_mrz(holder.mrz())
    image = photograph(render_card_back(holder.mrz()), angle_deg=angle, noise=12.0, seed=int(angle * 10) + 7)
    mrz = read_mrz_image(image)
    assert mrz.format == "TD1"
    assert mrz.bac_seed_text() == printed.bac_seed_text()
    assert mrz.surname == printed.surname


def test_most_photos_read_exactly() -> None:
    """The whole MRZ (optional data included, guarded only by the composite digit) on 12 photos: at least 10."""
    exact = 0
    for holder in HOLDERS:
        for angle, noise in ((0, 6), (3, 12), (-4, 20), (7, 12), (-8, 6), (12, 20)):
            image = photograph(render_card_back(holder.mrz()), angle_deg=angle, noise=noise, seed=angle + noise)
            exact += "\n".join(read_mrz_image(image).lines) == holder.mrz()
    assert exact >= 10


def test_photographed_mrz_opens_the_chip(pki: TestPki) -> None:
    """From photo to chip: the camera's BAC keys open the chip; the personal number then comes from DG1."""
    holder = HOLDERS[1]
    card = personalise(holder, pki)
    mrz = read_mrz_image(photograph(render_card_back(holder.mrz()), angle_deg=-3.0, noise=10.0))
    result = read_document(EmrtdChip(card).process, mrz, TrustStore([pki.csca_cert]))
    assert result.personal_number == holder.personal_number


def test_camera_source(tmp_path: Path) -> None:
    image = photograph(render_card_back(HOLDERS[0].mrz()), angle_deg=2.0)
    for i in range(2):
        cv2.imwrite(str(tmp_path / f"frame_{i:02d}.png"), image)
    assert read_mrz_camera(str(tmp_path / "frame_%02d.png")).document_number == HOLDERS[0].document_number
    with pytest.raises(CardError, match="camera"):
        read_mrz_camera(str(tmp_path / "missing_%02d.png"))


def test_pictures_without_an_mrz_are_refused() -> None:
    blank = np.full((400, 600), 200, np.uint8)
    with pytest.raises(MrzError):
        read_mrz_image(blank)
    with pytest.raises(MrzError):
        read_mrz_image(np.zeros((10, 10), np.uint8))
    with pytest.raises(MrzError):
        read_mrz_image(np.zeros((100, 100, 7), np.uint8))


@settings(max_examples=15)
@given(st.integers(0, 2**31 - 1), st.integers(40, 400), st.integers(40, 400))
def test_noise_images_never_crash(seed: int, height: int, width: int) -> None:
    rng = np.random.default_rng(seed)
    image = rng.integers(0, 256, (height, width), dtype=np.uint8)
    with contextlib.suppress(MrzError):
        read_mrz_image(image)
