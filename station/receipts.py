"""Opening, hourly and closing receipts: the kit's counters, signed with its key, printed with a QR code.

An observer scans the QR code (compact JSON: election, station, kit, kind, time, counters, the kit's public key and
an Ed25519 signature over the canonical JSON of everything else) and checks it against the CEC's published figures
for that station; :func:`verify_receipt_payload` is the check.
"""

from __future__ import annotations

import base64
import enum
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from station import audit
from station.counters import Counters, counters
from station.devices.printer import Slip
from station.errors import StationError
from station.signing import public_from_hex, public_hex, verify
from station.store import KitStore

#: Asia/Bishkek has been UTC+6 all year since 2005 (no daylight saving): receipts show local time.
BISHKEK = timezone(timedelta(hours=6), "Asia/Bishkek")


class ReceiptKind(enum.StrEnum):
    """Which receipt: opening (all zero), hourly, or closing."""

    OPENING = "opening"
    HOURLY = "hourly"
    CLOSING = "closing"


@dataclass(frozen=True)
class Receipt:
    """A signed receipt: the payload (what is signed) and the signature."""

    payload: dict[str, Any]
    signature: str

    def qr_text(self) -> str:
        """What the QR code holds: compact JSON of the payload plus the signature (base64)."""
        body = dict(self.payload)
        body["sig"] = base64.b64encode(bytes.fromhex(self.signature)).decode()
        return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)

    def lines(self) -> list[str]:
        """The printed lines, local time, one counter per line."""
        p = self.payload
        c = p["counters"]
        at = datetime.fromisoformat(p["at"]).astimezone(BISHKEK)
        out = [
            f"Election {p['election']}",
            f"Station {p['station']}  kit {p['kit']}",
            f"{at:%Y-%m-%d %H:%M} (UTC+6)",
            f"Identified here: {c['identified']}",
        ]
        out += [f"  path {k}: {v}" for k, v in c["by_path"].items()]
        out += [f"  sex {k}: {v}" for k, v in c["by_sex"].items()]
        out += [f"  typed, {k}: {v}" for k, v in c["manual_by_reason"].items()]
        out += [
            f"Mobile box: {c['mobile']}",
            f"Overrides: {c['overrides']}  undone: {c['undone']}  reprints: {c['reprints']}",
            f"Failure to acquire: {c['failure_to_acquire']}  to match: {c['failure_to_match']}",
            f"ID cards refused (forged or copied chip): {c.get('cards_refused', 0)}",
            f"Station total (all kits): {c['station_identified']}  conflicts: {c['conflicts']}",
            f"Key {p['key'][:16]}",
        ]
        return out


def _canonical(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def make_receipt(store: KitStore, kind: ReceiptKind, now: datetime | None = None) -> Receipt:
    """Sign the current counters as a receipt and log it; an opening receipt is refused unless all are zero."""
    info = store.kit_info()
    key = store.signing_key()
    when = now or datetime.now(UTC)
    snapshot: Counters = counters(store)
    if kind is ReceiptKind.OPENING and (snapshot.identified or snapshot.station_identified):
        raise StationError(
            "an opening receipt is only printed before the first identification; print an hourly receipt instead"
        )
    payload = {
        "v": 1,
        "kind": kind.value,
        "election": info.election_id,
        "station": info.station_id,
        "kit": info.kit_id,
        "at": when.isoformat(),
        "counters": snapshot.as_dict(),
        "key": public_hex(key),
    }
    signature = key.sign(_canonical(payload)).hex()
    with store.transaction() as session:
        audit.append(session, key, "receipt", {"kind": kind.value, "counters": payload["counters"]}, when)
    return Receipt(payload=payload, signature=signature)


def verify_receipt_payload(qr_text: str, expected_key_hex: str | None = None) -> dict[str, Any]:
    """Check a scanned receipt QR; returns its payload, raises :class:`StationError` when it does not verify.

    ``expected_key_hex`` is the kit's key as registered at the CEC; without it only self-consistency is checked.
    """
    try:
        body = json.loads(qr_text)
        signature = base64.b64decode(body.pop("sig"))
    except (ValueError, KeyError) as exc:
        raise StationError(f"not a Shailoo receipt code: {exc}") from exc
    if expected_key_hex is not None and body.get("key") != expected_key_hex:
        raise StationError("the receipt was signed by another key than this kit's registered key")
    if not verify(public_from_hex(body["key"]), signature, _canonical(body)):
        raise StationError("the receipt's signature does not verify: its figures were altered")
    return dict(body)


def receipt_slip(receipt: Receipt, training: bool = False) -> Slip:
    """The receipt as a slip for the kit's printer: the counters as text and the signed QR code."""
    titles = {"opening": "АЧЫЛЫШ / ОТКРЫТИЕ", "hourly": "СААТ / ЧАС", "closing": "ЖАБЫЛЫШ / ЗАКРЫТИЕ"}
    return Slip(
        title=(titles[receipt.payload["kind"]],),
        lines=tuple(receipt.lines()),
        qr_payload=receipt.qr_text(),
        training=training,
    )
