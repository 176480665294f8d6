"""Fingerprint engine: greyscale image and resolution in, quality and minutiae template out; reference matcher.

Pure computation: no file, device, database or network access happens in this package.

Public face:

- values: :class:`Minutia`, :class:`MinutiaKind`, :class:`Template` (positions in px at 500 dpi, angles in rad);
- stored forms: :func:`dumps` / :func:`loads` (the engine's versioned binary), :func:`to_iso` / :func:`from_iso`
  (ISO/IEC 19794-2:2005);
- matching: :func:`compare` (0..1, higher = more similar), and its two steps :func:`cylinders` (search form of a
  template) and :func:`compare_cylinders`;
- errors: :class:`FingerprintError` and its subclasses.
"""

from fingerprint.errors import FingerprintError, ImageError, TemplateError
from fingerprint.iso19794 import from_iso, to_iso
from fingerprint.matcher import Cylinders, compare, compare_cylinders, cylinders
from fingerprint.model import Minutia, MinutiaKind, Template
from fingerprint.template_format import dumps, loads

__all__ = [
    "Cylinders",
    "FingerprintError",
    "ImageError",
    "Minutia",
    "MinutiaKind",
    "Template",
    "TemplateError",
    "compare",
    "compare_cylinders",
    "cylinders",
    "dumps",
    "from_iso",
    "loads",
    "to_iso",
]
