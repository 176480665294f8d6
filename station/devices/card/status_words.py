"""Status words (SW1 SW2) of ISO/IEC 7816-4 §5.6 and ICAO 9303-11, decoded from this one table.

Every driver decision about a response goes through :func:`describe` and :func:`is_auth_failure`, so that a new card's
odd status word is added here once.
"""

from __future__ import annotations

from dataclasses import dataclass

SW_OK = 0x9000


@dataclass(frozen=True)
class StatusWord:
    """A decoded status word: what the chip meant, and whether it is a failed authentication."""

    sw: int
    meaning: str
    auth_failure: bool = False


#: Exact status words. Wrong BAC keys give 6300, 6982 or 6988 depending on the card (see docs/HARDWARE notes):
#: all three count as a failed authentication.
TABLE: dict[int, StatusWord] = {
    entry.sw: entry
    for entry in (
        StatusWord(0x9000, "success"),
        StatusWord(0x6282, "end of file reached before the requested length"),
        StatusWord(0x6300, "verification failed (wrong access keys)", auth_failure=True),
        StatusWord(0x6581, "memory failure"),
        StatusWord(0x6700, "wrong length"),
        StatusWord(0x6882, "secure messaging not supported"),
        StatusWord(0x6883, "last command of the chain expected"),
        StatusWord(0x6982, "security status not satisfied", auth_failure=True),
        StatusWord(0x6983, "authentication method blocked", auth_failure=True),
        StatusWord(0x6984, "reference data not usable"),
        StatusWord(0x6985, "conditions of use not satisfied (for example no challenge was requested)"),
        StatusWord(0x6986, "command not allowed (no current file)"),
        StatusWord(0x6987, "expected secure-messaging data objects missing"),
        StatusWord(0x6988, "incorrect secure-messaging data objects (bad MAC)", auth_failure=True),
        StatusWord(0x6A80, "incorrect parameters in the data field"),
        StatusWord(0x6A82, "file or application not found"),
        StatusWord(0x6A86, "incorrect parameters P1-P2"),
        StatusWord(0x6A88, "referenced data not found"),
        StatusWord(0x6B00, "wrong parameters (offset outside the file)"),
        StatusWord(0x6D00, "instruction not supported"),
        StatusWord(0x6E00, "class not supported"),
        StatusWord(0x6F00, "no precise diagnosis (chip error)"),
    )
}


def describe(sw: int) -> StatusWord:
    """The table entry for ``sw``, with the ISO 7816-4 families (61xx, 6Cxx, 63Cx) decoded when not listed."""
    if sw in TABLE:
        return TABLE[sw]
    sw1, sw2 = sw >> 8, sw & 0xFF
    if sw1 == 0x61:
        return StatusWord(sw, f"{sw2} more response bytes available")
    if sw1 == 0x6C:
        return StatusWord(sw, f"wrong Le: exact length is {sw2}")
    if sw1 == 0x63 and sw2 & 0xF0 == 0xC0:
        return StatusWord(sw, f"verification failed, {sw2 & 0x0F} tries left", auth_failure=True)
    if sw1 in (0x62, 0x63):
        return StatusWord(sw, "warning: state of memory unchanged or changed")
    return StatusWord(sw, "unknown status word")


def is_auth_failure(sw: int) -> bool:
    """True when ``sw`` means the access keys were wrong or the MAC did not verify."""
    return describe(sw).auth_failure


def text(sw: int) -> str:
    """``"6982 (security status not satisfied)"``: the form used in operator messages and logs."""
    return f"{sw:04X} ({describe(sw).meaning})"
