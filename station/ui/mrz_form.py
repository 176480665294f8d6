"""The card's MRZ as the operator types it on the screen: the whole MRZ, or only the three fields BAC needs.

Basic Access Control keys derive from the document number, the birth date and the expiry date with their check
digits (ICAO 9303-11 §4.3.2), so typing just those three is enough and quicker than 90 characters of MRZ.
"""

from __future__ import annotations

from typing import Any


def mrz_from_form(form: dict[str, str]) -> Any:
    """The ``Mrz`` from the screen's card form: ``mrz`` (two or three lines), else ``document`` + ``birth`` +
    ``expiry`` (YYMMDD, or DD.MM.YY / DD.MM.YYYY as printed on the card's front).

    Raises ``MrzError`` (a ``ValueError``) with the field that is wrong.
    """
    from station.devices.card import MrzError, mrz_from_fields, parse_mrz

    text = form.get("mrz", "").strip()
    if text:
        return parse_mrz(text)
    document = form.get("document", "")
    birth, expiry = form.get("birth", ""), form.get("expiry", "")
    if not document.strip() or not birth.strip() or not expiry.strip():
        raise MrzError("type the MRZ, or the document number, the birth date and the expiry date")
    return mrz_from_fields(document, yymmdd(birth), yymmdd(expiry))


def yymmdd(typed: str) -> str:
    """A date as the MRZ holds it (YYMMDD) from YYMMDD, DD.MM.YY, DD.MM.YYYY or YYYY-MM-DD; anything else is returned as typed
    (and then refused by the MRZ check with its own message)."""
    text = typed.strip().replace(" ", "")
    for sep in (".", "/", "-"):
        parts = text.split(sep)
        if len(parts) == 3 and all(p.isdigit() for p in parts):
            day, month, year = parts
            if len(day) == 4:  # ISO order, YYYY-MM-DD
                year, day = day, year
            if len(day) <= 2 and len(month) <= 2 and len(year) in (2, 4):
                return f"{year[-2:]}{int(month):02d}{int(day):02d}"
    return text
