"""Building one station's package at the CEC from the national list (``shailoo server shard build``)."""

from __future__ import annotations

import base64
import csv
import json
import os
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from station.errors import ListPackageError
from station.identify import pin_hash
from station.list_package.format import FORMAT_VERSION, gallery_aad, pack, seal_aad
from station.voter_list import PIN_RE

#: AES-GCM nonce length (96 bits, NIST SP 800-38D §8.2 recommends it); random per voter and package.
NONCE_BYTES = 12
NATIONAL_COLUMNS = ("station_id", "personal_number", "list_number", "surname", "given_name", "patronymic", "sex",
                    "birth_date", "address", "home_voting")


@dataclass(frozen=True)
class ListVoter:
    """A voter of the national list, with their photo (PNG/JPEG bytes) and templates by finger position (1-10)."""

    station_id: str
    personal_number: str
    list_number: int
    surname: str
    given_name: str
    patronymic: str
    sex: str
    birth_date: date
    address: str = ""
    home_voting: bool = False
    photo: bytes = b""
    templates: dict[int, bytes] = field(default_factory=dict)


def read_national_csv(path: Path, biometrics_dir: Path | None = None) -> list[ListVoter]:
    """The national list (CSV with :data:`NATIONAL_COLUMNS`); biometrics from ``<pin>.png`` and ``<pin>.f<N>.tpl``."""
    voters = []
    try:
        with path.open(encoding="utf-8", newline="") as handle:
            reader = csv.DictReader(handle)
            missing = [c for c in NATIONAL_COLUMNS if c not in (reader.fieldnames or [])]
            if missing:
                raise ListPackageError(f"{path}: missing columns {', '.join(missing)}")
            for line, row in enumerate(reader, start=2):
                pin = row["personal_number"].strip()
                if not PIN_RE.match(pin) or row["sex"] not in ("F", "M"):
                    raise ListPackageError(f"{path}:{line}: bad personal number or sex")
                photo, templates = b"", {}
                if biometrics_dir is not None:
                    photo_path = biometrics_dir / f"{pin}.png"
                    photo = photo_path.read_bytes() if photo_path.exists() else b""
                    for tpl in biometrics_dir.glob(f"{pin}.f*.tpl"):
                        templates[int(tpl.name.split(".f")[1].split(".")[0])] = tpl.read_bytes()
                voters.append(
                    ListVoter(
                        station_id=row["station_id"].strip(),
                        personal_number=pin,
                        list_number=int(row["list_number"]),
                        surname=row["surname"].strip(),
                        given_name=row["given_name"].strip(),
                        patronymic=row["patronymic"].strip(),
                        sex=row["sex"],
                        birth_date=date.fromisoformat(row["birth_date"]),
                        address=row["address"].strip(),
                        home_voting=row["home_voting"].strip() in ("1", "true", "yes"),
                        photo=photo,
                        templates=templates,
                    )
                )
    except (OSError, ValueError) as exc:
        raise ListPackageError(f"cannot read the national list {path}: {exc}") from exc
    return voters


def _seal(aes: AESGCM, aad: bytes, voter: ListVoter) -> str:
    plain = json.dumps(
        {
            "photo": base64.b64encode(voter.photo).decode(),
            "templates": {str(k): base64.b64encode(v).decode() for k, v in sorted(voter.templates.items())},
        }
    ).encode()
    nonce = os.urandom(NONCE_BYTES)
    return base64.b64encode(nonce + aes.encrypt(nonce, plain, aad)).decode()


def packed_gallery(voters: list[ListVoter]) -> tuple[bytes, int, int, str]:
    """The native 1:N gallery of ``voters``' templates: (blob, format version, rows, parameter digest hex).

    One row per enrolled finger, in list-number then finger order. Costs the bit cylinders of every template (a few
    ms each), paid once here at the CEC instead of at every start of every kit.
    """
    from fingerprint import TemplateError, loads

    try:
        from native.gallery import FORMAT_VERSION as GALLERY_FORMAT
        from native.gallery import Gallery, parameter_digest
    except ImportError as exc:
        raise ListPackageError(f"cannot pack the 1:N gallery: {exc}") from exc
    rows = []
    for voter in voters:
        for finger, data in sorted(voter.templates.items()):
            try:
                rows.append((voter.personal_number, finger, loads(data)))
            except TemplateError as exc:
                raise ListPackageError(
                    f"voter {voter.personal_number} finger {finger}: the enrolled template cannot be read ({exc}); "
                    "fix the national list before building packages"
                ) from exc
    from native.errors import NativeError

    try:
        blob = Gallery.build(rows).to_bytes()
    except NativeError as exc:  # e.g. a template over ISO/IEC 19794-2's 255 minutiae
        raise ListPackageError(f"cannot pack the 1:N gallery: {exc}; fix the national list before building packages") from exc
    return blob, GALLERY_FORMAT, len(rows), parameter_digest().hex()


def build_package(
    national: list[ListVoter],
    election_id: str,
    station_id: str,
    cec_key: Ed25519PrivateKey,
    list_key: bytes,
    now: datetime | None = None,
    with_gallery: bool = True,
) -> bytes:
    """The signed package of one station: its voters (biometrics sealed) and the national index for all others.

    With ``with_gallery`` (format 2) the station's packed 1:N gallery travels sealed inside the signed content, so the
    kit opens it in milliseconds instead of building it from the templates; without it the package is format 1, as
    built before the gallery was packed (kits then build the gallery at start).
    """
    mine = [v for v in national if v.station_id == station_id]
    if not mine:
        raise ListPackageError(f"station {station_id} has no voters on the national list")
    aes = AESGCM(list_key)
    voters = [
        {
            "personal_number": v.personal_number,
            "list_number": v.list_number,
            "surname": v.surname,
            "given_name": v.given_name,
            "patronymic": v.patronymic,
            "sex": v.sex,
            "birth_date": v.birth_date.isoformat(),
            "address": v.address,
            "home_voting": v.home_voting,
            "fingers": len(v.templates),
            "sealed": _seal(aes, seal_aad(election_id, station_id, v.personal_number), v),
        }
        for v in sorted(mine, key=lambda v: v.list_number)
    ]
    # Voters of other stations appear only as a hash of their number -> their station and its address: enough to
    # send a voter to the right place, useless for listing the nation's personal numbers.
    index = {pin_hash(election_id, v.personal_number): [v.station_id, ""] for v in national if v.station_id != station_id}
    header = {
        "format": FORMAT_VERSION if with_gallery else 1,
        "election": election_id,
        "station": station_id,
        "built_at": (now or datetime.now(UTC)).isoformat(),
        "voters": len(voters),
    }
    content: dict[str, object] = {"header": header, "voters": voters, "national_index": index}
    if with_gallery:
        blob, version, rows, parameters = packed_gallery(sorted(mine, key=lambda v: v.list_number))
        nonce = os.urandom(NONCE_BYTES)
        sealed = nonce + aes.encrypt(nonce, blob, gallery_aad(election_id, station_id))
        content["gallery"] = {
            "format": version,
            "parameters": parameters,
            "templates": rows,
            "sealed": base64.b64encode(sealed).decode(),
        }
    return pack(content, cec_key)
