"""The native core's error family: one base class, one helper that turns kernel status codes into exceptions."""

from __future__ import annotations


class NativeError(Exception):
    """Base of every error raised by the native matching core."""


class GalleryError(NativeError):
    """A gallery blob or a gallery's input is unusable (corrupt, wrong version, built with other parameters)."""


class KernelError(NativeError):
    """A compiled kernel reported a failure (its status code is in the message)."""


#: Status codes returned by the kernels in native/_mcc_cy.pyx (they never raise inside nogil).
_STATUS = {
    -1: "out of memory for the matcher's scratch buffers: close other programs or search a smaller gallery",
    -2: "inconsistent arrays or parameters were passed to the kernel (a bug in native/: report it)",
}


def check(status: int) -> None:
    """Raise :class:`KernelError` for a non-zero kernel status."""
    if status != 0:
        raise KernelError(f"native matcher failed (status {status}): {_STATUS.get(status, 'unknown status')}")
