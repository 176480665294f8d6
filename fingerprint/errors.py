"""The fingerprint engine's one error family.

Every error the engine raises derives from :class:`FingerprintError`; messages say what the operator or the caller
should do next. A poor or blank image is *not* an error: it gets a quality verdict (see ``quality.py``).
"""

from __future__ import annotations


class FingerprintError(Exception):
    """Base class of every error raised by ``fingerprint``."""


class ImageError(FingerprintError):
    """The array handed to the engine is not a greyscale fingerprint image it can read (wrong shape, dtype, dpi)."""


class TemplateError(FingerprintError):
    """A stored template (ours or an ISO/IEC 19794-2 record) is corrupt, truncated or of an unknown version."""
