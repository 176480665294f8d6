"""The kit's view of fingerprint matching: a small :class:`Matcher` protocol and its adapter to the engine.

The workflows only need: turn an image into a probe (with the quality verdict for the operator), compare a probe with
one voter's enrolled fingers (1:1), and search the station's gallery (1:N). :class:`EngineMatcher` does this with the
``fingerprint`` package (extractor, MCC reference matcher); :class:`NativeMatcher` plugs the compiled core in behind
the same methods. Both give the reference matcher's own score (float MCC with LSS-R, ``fingerprint.matcher.compare``;
the native core computes it in C, equal within the 1e-7 stated in native/README.md), so one pair of measured
thresholds serves both.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

# Decision thresholds of both matchers on the reference matcher's 0..1 similarity (dimensionless; float MCC with
# LSS-R, ``fingerprint.matcher.compare``: EngineMatcher computes it in Python, NativeMatcher in C for verify and for
# the final ranking of identify), from `shailoo bench kit-thresholds` (bench/results/kit-thresholds.json,
# 2026-11-23): the kit's extractor on all 1,176 impressions of 147 real fingers (FVC2000 and FVC2002 "B", CrossMatch
# sample, UPEK), 4,116 genuine and 673,984 impostor pairs. Impostor scores: median 0.0147, 99.99th percentile 0.030,
# max 0.0485; genuine: median 0.135, 10th percentile 0.039. Tail beyond what was observed: generalised Pareto fit of
# the 2,000 largest impostor scores (above 0.0225: shape 0.060, scale 0.0020; Coles 2001 ch. 4). One run; the
# extraction and the scores are deterministic. (The bit scores the native core used to return, measured the same way,
# gave 0.040 and 0.081 with FNMR 15.6% and 35%: the float reference separates these fingers better.)

#: 1:1 (card, then finger). Target: false-match rate 1/10,000 per voter's attempt sequence. One attempt compares the
#: probe with up to 10 enrolled fingers, and the kit allows 3 tries (workflow MAX_MATCH_TRIES): 30 comparisons, so
#: 1e-4 / 30 = 3.3e-6 per comparison. Observed: 2 of 673,984 impostors (3.0e-6) score >= 0.040 (0.042, 0.0485); the
#: tail fit puts 3.3e-6 at 0.0396. False non-match rate of one comparison at 0.040: 10.3% (retries on other fingers
#: recover part).
VERIFY_THRESHOLD = 0.040
#: 1:N (finger alone). Target: false-positive identification rate 1/10,000 per search of a 30,000-template station
#: (3,000 voters x 10 fingers). FPIR = 1 - (1 - FMR)^N ~ N x FMR, so FMR <= 1e-4 / 30,000 = 3.3e-9 per comparison:
#: far below what 6.7e5 impostor pairs can show (rule of three: 4.5e-6), so it rests on the tail fit: 0.0659, set at
#: 0.066 (fitted FMR there 3.3e-9; no impostor observed above 0.0485). False non-match rate of one comparison there:
#: 21.0%. Looser targets the operator's photo check might justify: FPIR 1/1,000 -> 0.056 (17%), 1/100 -> 0.0485
#: (14%: the largest observed impostor, above the fit's 0.047) (one_to_n_by_fpir).
IDENTIFY_THRESHOLD = 0.066


@dataclass(frozen=True)
class Probe:
    """A captured finger ready for matching: the quality score (0..100), whether it is usable, and advice."""

    quality: int
    acceptable: bool
    advice: str
    search: Any


@dataclass(frozen=True)
class Candidate:
    """A gallery entry that matched: whose, which finger (ISO finger position 1..10), how strongly (0..1)."""

    personal_number: str
    finger: int
    score: float


class Matcher(Protocol):
    """What the workflows need from the fingerprint engine."""

    #: 1:1 decision threshold (0..1 score): a voter's finger is accepted at or above it.
    threshold: float
    #: 1:N decision threshold (0..1 score): :meth:`identify` returns only candidates at or above it.
    identify_threshold: float

    def probe(self, pixels: np.ndarray, dpi: int) -> Probe:
        """Extract a probe from an image."""
        ...

    def verify(self, probe: Probe, enrolled: Mapping[int, bytes]) -> Candidate | None:
        """Best-scoring enrolled finger of one voter (1:1), or None when they have none."""
        ...

    def load_gallery(self, templates: Mapping[str, Mapping[int, bytes]]) -> None:
        """Prepare the station's search form (rebuilt at start-up, never stored)."""
        ...

    def identify(self, probe: Probe, top_k: int) -> list[Candidate]:
        """Best ``top_k`` voters at or above ``identify_threshold`` (one entry per voter, best finger), best first."""
        ...


class EngineMatcher:
    """The ``fingerprint`` package behind the :class:`Matcher` protocol (pure Python reference matcher)."""

    def __init__(self, threshold: float = VERIFY_THRESHOLD, identify_threshold: float = IDENTIFY_THRESHOLD) -> None:
        self.threshold = threshold
        self.identify_threshold = identify_threshold
        self._gallery: list[tuple[str, int, Any]] = []

    def probe(self, pixels: np.ndarray, dpi: int) -> Probe:
        """Extract the template and quality verdict; the search form is built only for usable images."""
        from fingerprint import cylinders
        from fingerprint.extract import extract

        result = extract(pixels, dpi)
        ok = result.quality.acceptable and len(result.template.minutiae) > 0
        return Probe(
            quality=result.quality.score,
            acceptable=ok,
            advice=result.quality.verdict.value,
            search=cylinders(result.template) if ok else None,
        )

    @staticmethod
    def _search_form(data: bytes) -> Any:
        from fingerprint import cylinders, loads

        return cylinders(loads(data))

    def verify(self, probe: Probe, enrolled: Mapping[int, bytes]) -> Candidate | None:
        """Compare with the enrolled fingers in finger-position order, stopping at the first accepted one.

        The kit asks for the voter's first enrolled finger first (finger-position order), so a genuine attempt
        usually needs one comparison; a non-match is compared with every finger and the best score returned.
        """
        from fingerprint import compare_cylinders

        best: Candidate | None = None
        for finger in sorted(enrolled):
            score = float(compare_cylinders(probe.search, self._search_form(enrolled[finger])))
            if best is None or score > best.score:
                best = Candidate("", finger, score)
            if score >= self.threshold:
                break
        return best

    def load_gallery(self, templates: Mapping[str, Mapping[int, bytes]]) -> None:
        """Build the search form of every enrolled finger."""
        self._gallery = [
            (pin, finger, self._search_form(data)) for pin, fingers in templates.items() for finger, data in fingers.items()
        ]

    def identify(self, probe: Probe, top_k: int) -> list[Candidate]:
        """Exhaustive 1:N with the reference matcher (linear in the gallery: the native core replaces this loop)."""
        from fingerprint import compare_cylinders

        best: dict[str, Candidate] = {}
        for pin, finger, form in self._gallery:
            score = float(compare_cylinders(probe.search, form))
            if score >= self.identify_threshold and (pin not in best or score > best[pin].score):
                best[pin] = Candidate(pin, finger, score)
        return sorted(best.values(), key=lambda c: -c.score)[:top_k]


class NativeMatcher(EngineMatcher):
    """The engine's extractor with the native core (``native.search``) for the gallery search and 1:1.

    Same protocol and same scores as :class:`EngineMatcher` (the reference's, compiled), hence the same thresholds;
    the gallery is packed once at start-up (``native.gallery.Gallery``, opened from the list package or built from the
    stored templates). Importing fails with the native package's own message
    (how to build it) when the compiled kernels are missing.
    """

    def __init__(self, threshold: float = VERIFY_THRESHOLD, identify_threshold: float = IDENTIFY_THRESHOLD) -> None:
        super().__init__(threshold, identify_threshold)
        import native.search  # noqa: F401  (fail early, with the build instructions, when the core is missing)

        self._native_gallery: Any = None

    def probe(self, pixels: np.ndarray, dpi: int) -> Probe:
        """Extract; the search form is the native ``SearchForm`` (bit cylinders to rank, minutiae to score)."""
        from fingerprint.extract import extract
        from native.search import search_form

        result = extract(pixels, dpi)
        ok = result.quality.acceptable and len(result.template.minutiae) > 0
        return Probe(result.quality.score, ok, result.quality.verdict.value,
                     search_form(result.template) if ok else None)

    def verify(self, probe: Probe, enrolled: Mapping[int, bytes]) -> Candidate | None:
        """1:1 with the native float kernel, first accepted finger wins (as :meth:`EngineMatcher.verify`)."""
        from fingerprint import loads
        from native.search import compare_forms, float_form

        # The probe's float cylinders are built once for all the voter's fingers (about 1 ms each).
        mine = float_form(probe.search)
        best: Candidate | None = None
        for finger in sorted(enrolled):
            score = compare_forms(mine, float_form(loads(enrolled[finger])))
            if best is None or score > best.score:
                best = Candidate("", finger, score)
            if score >= self.threshold:
                break
        return best

    def load_gallery(self, templates: Mapping[str, Mapping[int, bytes]]) -> None:
        """Pack every enrolled finger into the native gallery."""
        from fingerprint import loads
        from native.gallery import Gallery

        self._native_gallery = Gallery.build(
            (pin, finger, loads(data)) for pin, fingers in templates.items() for finger, data in fingers.items()
        )

    def use_gallery(self, gallery: Any) -> None:
        """Search this already packed ``native.Gallery`` (opened from the station list package)."""
        self._native_gallery = gallery

    def identify(self, probe: Probe, top_k: int) -> list[Candidate]:
        """Native 1:N (bit screen, bit score of a shortlist, the reference's float score for the best of it, which
        ranks them and is the score returned); one entry per voter, best finger."""
        from native.search import identify

        if self._native_gallery is None:
            return []
        best: dict[str, Candidate] = {}
        for c in identify(probe.search, self._native_gallery, top_k=top_k * 3):
            if c.score >= self.identify_threshold and c.voter not in best:
                best[c.voter] = Candidate(c.voter, c.finger, c.score)
        return list(best.values())[:top_k]
