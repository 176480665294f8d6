"""A synthetic camera photo of an ID card's back (the MRZ side), for testing the camera MRZ reader.

The card (85.6 x 54 mm, ISO/IEC 7810 ID-1) is drawn at about 10 px/mm with its MRZ in OCR-B, laid on a table,
turned by a small angle, blurred and given sensor noise, as a cheap document camera would see it.
"""

from __future__ import annotations

import io

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

from station.devices.card.camera_mrz import font_path

CARD_W, CARD_H = 856, 540  # pixels, ID-1 at 10 px/mm


def render_card_back(mrz: str) -> Image.Image:
    """The card's back: some printed text, a barcode-like strip, and the MRZ lines at the bottom."""
    card = Image.new("L", (CARD_W, CARD_H), 225)
    draw = ImageDraw.Draw(card)
    lines = mrz.split("\n")
    width = len(lines[0])
    size = 40
    font = ImageFont.truetype(str(font_path()), size)
    while font.getlength("<" * width) > CARD_W * 0.9:
        size -= 1
        font = ImageFont.truetype(str(font_path()), size)
    small = ImageFont.truetype("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", 18)
    draw.text((40, 30), "KYRGYZ REPUBLIC / КЫРГЫЗ РЕСПУБЛИКАСЫ", font=small, fill=60)
    draw.text((40, 60), "Place of birth: KARAKOL", font=small, fill=70)
    for x in range(40, 400, 7):
        draw.rectangle((x, 100, x + (x % 3) + 1, 150), fill=40)
    line_h = int(size * 1.25)
    top = CARD_H - 30 - line_h * len(lines)
    for i, text in enumerate(lines):
        draw.text((int((CARD_W - font.getlength(text)) / 2), top + i * line_h), text, font=font, fill=20)
    return card


def photograph(card: Image.Image, angle_deg: float = 3.0, noise: float = 8.0, seed: int = 0,
               jpeg_quality: int = 85) -> np.ndarray:
    """The card on a darker table, rotated by ``angle_deg``, blurred, with Gaussian noise (sigma in grey levels)."""
    rng = np.random.default_rng(abs(seed))
    table = Image.new("L", (CARD_W + 240, CARD_H + 220), 90)
    table.paste(card, (120, 110))
    turned = table.rotate(angle_deg, resample=Image.Resampling.BICUBIC, fillcolor=90)
    blurred = turned.filter(ImageFilter.GaussianBlur(0.8))
    pixels = np.asarray(blurred, dtype=np.float32) + rng.normal(0.0, noise, (blurred.height, blurred.width))
    noisy = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))
    out = io.BytesIO()
    noisy.save(out, "JPEG", quality=jpeg_quality)
    out.seek(0)
    return np.asarray(Image.open(out).convert("RGB"))[:, :, ::-1].copy()  # BGR, as OpenCV cameras deliver
