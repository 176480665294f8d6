"""A station's gallery: every enrolled finger's bit cylinders in contiguous struct-of-arrays buffers.

Storage types, chosen once here (Cappelli, Ferrara, Maltoni 2010 §5 for the bit cylinder):

- ``cells`` uint64 (N_D, C), bin-major: row k holds direction bin k of every cylinder, 8 x 8 spatial cells as the bits
  of one word (MCC8b). Bin-major so that the search loads one bin of 8 consecutive gallery cylinders as one 512-bit
  vector (and the screening pass streams each bin's row);
- ``valid`` uint64 (C,): the cylinder's spatial validity mask, one bit per cell, ANDed onto each bin's word;
- ``x``, ``y`` int16 (C,): minutia position in px at 500 dpi; templates carry integers below 2^14, so exact;
- ``angle`` uint16 (C,): direction in 1/65536 turn, the template's own quantum, so exact (no accuracy cost);
- ``offsets`` int64 (T+1,): template t owns cylinders offsets[t]:offsets[t+1];
- ``voter`` bytes (T,) fixed width (the personal number, ASCII) and ``finger`` uint8 (T,), ISO finger position 1-10:
  the mapping from gallery row to voter and finger;
- ``ex``, ``ey`` int16 and ``eangle`` uint16 (E,), ``eoffsets`` int64 (T+1,): the template's minutiae that carry no
  bit cylinder, in template order (same exact types as the cylinders'). With the cylinders' own they are every
  minutia of the template: the input of the compiled float reference that rescores identify's best candidates.

Only the bit cells are a quantisation of the float reference (its accuracy cost is measured in native/README.md),
and they only rank: the final scores are the float reference's. A cylinder costs 6 words + 6 bytes = 54 bytes, another
minutia 6 bytes; ``native.forms.stored_cylinder_cap`` keeps fewer cylinders in a template with many minutiae so that
a template, row data included, stays within ``GALLERY_TEMPLATE_BYTES`` (2 KiB).

The blob (:meth:`Gallery.to_bytes`): a 64-byte header (magic, format version, counts, a digest of the cylinder
parameters it was built with, CRC-32 of the body), then the arrays in the order above, each 8-byte aligned, read back
with ``numpy.frombuffer`` views (no per-template Python object).
"""

from __future__ import annotations

import hashlib
import struct
import typing
import zlib
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from fingerprint import mcc_bits
from fingerprint import parameters as p
from fingerprint.model import Template
from native.errors import GalleryError
from native.forms import SearchForm, extra_minutiae, stored_form

MAGIC = b"SHGALRY\x00"
#: Version of the blob layout; bump when a field, its type or its order changes (2: cells bin-major (N_D, C); 3: the
#: minutiae without a cylinder, for the float rescoring).
FORMAT_VERSION = 3
# magic, version, n_d, voter width, reserved, templates, cylinders, other minutiae, parameter digest (16 bytes), body
# CRC-32, padding: 64 bytes
_HEADER = struct.Struct("<8sHHHHQQQ16sI4x")
_HEADER_BYTES = 64


def parameter_digest() -> bytes:
    """Digest of every value the bit cylinders depend on: a gallery built with other values is refused."""
    values = (
        mcc_bits.BITS_SPATIAL_CELLS, mcc_bits.BITS_DIRECTION_CELLS, mcc_bits.MAX_CYLINDERS, p.MCC_RADIUS_PX,
        p.MCC_SIGMA_SPATIAL_PX, p.MCC_SIGMA_DIRECTION_RAD, p.MCC_PSI_MU, p.MCC_HULL_MARGIN_PX,
        p.MCC_MIN_VALID_CELLS_FRACTION, p.MCC_MIN_NEIGHBOURS, p.GALLERY_TEMPLATE_BYTES, p.GALLERY_ROW_ALLOWANCE_BYTES,
    )
    return hashlib.sha256(repr(values).encode()).digest()[:16]


def _pad8(n: int) -> int:
    return (n + 7) & ~7


@dataclass(frozen=True)
class Gallery:
    """Contiguous struct-of-arrays gallery (see module doc for the types); build with :meth:`build`."""

    offsets: npt.NDArray[np.int64]
    x: npt.NDArray[np.int16]
    y: npt.NDArray[np.int16]
    angle: npt.NDArray[np.uint16]
    cells: npt.NDArray[np.uint64]
    valid: npt.NDArray[np.uint64]
    voter: npt.NDArray[np.bytes_]
    finger: npt.NDArray[np.uint8]
    eoffsets: npt.NDArray[np.int64]
    ex: npt.NDArray[np.int16]
    ey: npt.NDArray[np.int16]
    eangle: npt.NDArray[np.uint16]

    def __len__(self) -> int:
        return int(self.offsets.shape[0] - 1)

    @classmethod
    def from_cylinders(cls, entries: Iterable[tuple[str, int, mcc_bits.BitCylinders | SearchForm]]) -> Gallery:
        """Pack already-built forms, one ``(voter id, finger position, form)`` per gallery row.

        A :class:`~native.forms.SearchForm` brings its minutiae (use :func:`~native.forms.stored_form` to respect the
        byte budget); bare bit cylinders have none beyond the cylinders' own (test and benchmark galleries).
        """
        voters: list[bytes] = []
        fingers: list[int] = []
        parts: list[mcc_bits.BitCylinders] = []
        extras: list[tuple[npt.NDArray[np.int16], npt.NDArray[np.int16], npt.NDArray[np.uint16]]] = []
        none = (np.zeros(0, np.int16), np.zeros(0, np.int16), np.zeros(0, np.uint16))
        for voter, finger, form in entries:
            if isinstance(form, SearchForm):
                cyl = form.bits
                extras.append(extra_minutiae(form))
            else:
                cyl = form
                extras.append(none)
            try:
                encoded = voter.encode("ascii")
            except UnicodeEncodeError as error:
                raise GalleryError(f"voter id {voter!r} is not ASCII: use the personal number") from error
            if not 1 <= int(finger) <= 10:
                raise GalleryError(f"finger position {finger} for voter {voter} is outside 1..10 (ISO 19794-2)")
            if len(cyl) > 255:
                raise GalleryError(f"voter {voter} finger {finger}: {len(cyl)} cylinders, at most 255")
            voters.append(encoded)
            fingers.append(int(finger))
            parts.append(cyl)
        counts = np.fromiter((len(c) for c in parts), dtype=np.int64, count=len(parts))
        offsets = np.zeros(len(parts) + 1, dtype=np.int64)
        np.cumsum(counts, out=offsets[1:])
        nd = mcc_bits.BITS_DIRECTION_CELLS

        def cat(name: str, dtype: type, shape: tuple[int, ...]) -> npt.NDArray[np.generic]:
            if not parts:
                return np.zeros(shape, dtype=dtype)
            return np.ascontiguousarray(np.concatenate([getattr(c, name) for c in parts]), dtype=dtype)

        width = max((len(v) for v in voters), default=1) or 1
        ecounts = np.fromiter((len(e[0]) for e in extras), dtype=np.int64, count=len(extras))
        eoffsets = np.zeros(len(extras) + 1, dtype=np.int64)
        np.cumsum(ecounts, out=eoffsets[1:])

        def ecat(k: int, dtype: type) -> npt.NDArray[np.generic]:
            if not extras:
                return np.zeros(0, dtype=dtype)
            return np.ascontiguousarray(np.concatenate([e[k] for e in extras]), dtype=dtype)

        return cls(
            offsets=offsets,
            x=cat("x", np.int16, (0,)),  # type: ignore[arg-type]
            y=cat("y", np.int16, (0,)),  # type: ignore[arg-type]
            angle=cat("angle", np.uint16, (0,)),  # type: ignore[arg-type]
            cells=np.ascontiguousarray(cat("cells", np.uint64, (0, nd)).reshape(-1, nd).T),
            valid=cat("valid", np.uint64, (0,)),  # type: ignore[arg-type]
            voter=np.asarray(voters, dtype=f"S{width}") if voters else np.zeros(0, dtype="S1"),
            finger=np.asarray(fingers, dtype=np.uint8),
            eoffsets=eoffsets,
            ex=ecat(0, np.int16),  # type: ignore[arg-type]
            ey=ecat(1, np.int16),  # type: ignore[arg-type]
            eangle=ecat(2, np.uint16),  # type: ignore[arg-type]
        )

    @classmethod
    def build(cls, entries: Iterable[tuple[str, int, Template]]) -> Gallery:
        """Build from ``(voter id, finger position 1-10, template)`` rows (numpy cylinder construction, ~2 ms each)."""
        return cls.from_cylinders((voter, finger, stored_form(t)) for voter, finger, t in entries)

    def row(self, index: int) -> tuple[str, int]:
        """The (voter id, finger position) of gallery row ``index``."""
        return self.voter[index].decode("ascii"), int(self.finger[index])

    def template_cylinders(self, index: int) -> mcc_bits.BitCylinders:
        """Row ``index`` as a :class:`~fingerprint.mcc_bits.BitCylinders` (views; the cells a small copy back to (n, N_D))."""
        a, b = int(self.offsets[index]), int(self.offsets[index + 1])
        cells = np.ascontiguousarray(self.cells[:, a:b].T)
        return mcc_bits.BitCylinders(self.x[a:b], self.y[a:b], self.angle[a:b], cells, self.valid[a:b])

    def template_minutiae(
        self, index: int
    ) -> tuple[npt.NDArray[np.int16], npt.NDArray[np.int16], npt.NDArray[np.uint16]]:
        """Every stored minutia of row ``index``: its cylinders' minutiae, then the others (the float kernel's order)."""
        a, b = int(self.offsets[index]), int(self.offsets[index + 1])
        c, d = int(self.eoffsets[index]), int(self.eoffsets[index + 1])
        return (
            np.concatenate([self.x[a:b], self.ex[c:d]]),
            np.concatenate([self.y[a:b], self.ey[c:d]]),
            np.concatenate([self.angle[a:b], self.eangle[c:d]]),
        )

    def template_bytes(self) -> npt.NDArray[np.int64]:
        """Bytes each row holds in the blob's arrays: its cylinders (cells, validity, minutia), its other minutiae,
        its two offsets, finger and voter id (the 2 KiB budget of ``GALLERY_TEMPLATE_BYTES`` applies to these)."""
        per_cylinder = 8 * (int(self.cells.shape[0]) + 1) + 6
        cylinders = np.diff(self.offsets)
        others = np.diff(self.eoffsets)
        return per_cylinder * cylinders + 6 * others + 2 * 8 + 1 + int(self.voter.dtype.itemsize)

    @property
    def nbytes(self) -> int:
        """Bytes held by the arrays (what a kit keeps in memory for the search)."""
        return sum(
            int(a.nbytes)
            for a in (
                self.offsets, self.x, self.y, self.angle, self.cells, self.valid, self.voter, self.finger,
                self.eoffsets, self.ex, self.ey, self.eangle,
            )
        )

    def to_bytes(self) -> bytes:
        """The versioned binary blob (see module doc)."""
        n_t, n_c = len(self), int(self.x.shape[0])
        nd = int(self.cells.shape[0])
        width = int(self.voter.dtype.itemsize)
        chunks = []
        arrays = (
            self.cells, self.valid, self.offsets, self.x, self.y, self.angle, self.voter, self.finger, self.eoffsets,
            self.ex, self.ey, self.eangle,
        )
        for arr in arrays:
            raw = np.ascontiguousarray(arr).tobytes()
            chunks.append(raw + b"\x00" * (_pad8(len(raw)) - len(raw)))
        body = b"".join(chunks)
        header = _HEADER.pack(
            MAGIC, FORMAT_VERSION, nd, width, 0, n_t, n_c, int(self.ex.shape[0]), parameter_digest(), zlib.crc32(body)
        )
        return header.ljust(_HEADER_BYTES, b"\x00") + body

    @classmethod
    def from_bytes(cls, buf: bytes | bytearray | memoryview) -> Gallery:
        """Open a blob made by :meth:`to_bytes`: validated, then read through ``numpy.frombuffer`` views."""
        view = memoryview(buf).cast("B")
        if len(view) < _HEADER_BYTES:
            raise GalleryError("gallery blob is truncated (no header): rebuild the station list package")
        magic, version, nd, width, _, n_t, n_c, n_e, digest, crc = _HEADER.unpack_from(view, 0)
        if magic != MAGIC:
            raise GalleryError("not a Shailoo gallery blob (bad magic): load the gallery from the station list package")
        if version != FORMAT_VERSION:
            raise GalleryError(
                f"gallery format version {version} is not supported (this kit reads {FORMAT_VERSION}): update the kit "
                "software or rebuild the package"
            )
        if nd != mcc_bits.BITS_DIRECTION_CELLS or digest != parameter_digest():
            raise GalleryError(
                "the gallery was built with other matcher parameters than this kit's: rebuild the station list "
                "package with the same software version"
            )
        sizes: list[tuple[np.dtype[typing.Any], tuple[int, ...]]] = [
            (np.dtype(np.uint64), (nd, n_c)), (np.dtype(np.uint64), (n_c,)), (np.dtype(np.int64), (n_t + 1,)),
            (np.dtype(np.int16), (n_c,)), (np.dtype(np.int16), (n_c,)), (np.dtype(np.uint16), (n_c,)),
            (np.dtype(f"S{max(width, 1)}"), (n_t,)), (np.dtype(np.uint8), (n_t,)), (np.dtype(np.int64), (n_t + 1,)),
            (np.dtype(np.int16), (n_e,)), (np.dtype(np.int16), (n_e,)), (np.dtype(np.uint16), (n_e,)),
        ]
        expected = _HEADER_BYTES + sum(_pad8(dt.itemsize * int(np.prod(shape))) for dt, shape in sizes)
        if len(view) != expected:
            raise GalleryError(f"gallery blob has {len(view)} bytes, its header says {expected}: the file is damaged")
        if zlib.crc32(view[_HEADER_BYTES:]) != crc:
            raise GalleryError("gallery blob fails its CRC-32 check: the file is damaged, reload the package")
        arrays = []
        at = _HEADER_BYTES
        for dt, shape in sizes:
            count = int(np.prod(shape))
            arrays.append(np.frombuffer(view, dtype=dt, count=count, offset=at).reshape(shape))
            at += _pad8(dt.itemsize * count)
        cells, valid, offsets, x, y, angle, voter, finger, eoffsets, ex, ey, eangle = arrays
        spans = np.diff(offsets)
        if offsets[0] != 0 or offsets[-1] != n_c or (spans < 0).any() or (spans > 255).any():
            raise GalleryError("gallery blob has inconsistent template offsets: the file is damaged")
        espans = np.diff(eoffsets)
        if eoffsets[0] != 0 or eoffsets[-1] != n_e or (espans < 0).any() or (spans + espans > 255).any():
            raise GalleryError("gallery blob has inconsistent minutia offsets: the file is damaged")
        if n_t and ((finger < 1) | (finger > 10)).any():
            raise GalleryError("gallery blob has a finger position outside 1..10: the file is damaged")
        return cls(offsets, x, y, angle, cells, valid, voter, finger, eoffsets, ex, ey, eangle)
