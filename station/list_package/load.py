"""Loading a verified package into the kit's store (``shailoo station load``), and opening sealed biometrics."""

from __future__ import annotations

import base64
import json
import logging
import random
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import delete

from station import audit
from station.errors import ListPackageError, VoterListError
from station.list_package.build import NONCE_BYTES
from station.list_package.format import PackageContents, gallery_aad, open_package, seal_aad
from station.store import KitInfo, KitStore, NationalIndexEntry, SearchGallery, Voter, VoterBiometrics
from station.voter_list import refuse_if_voting_started

if TYPE_CHECKING:
    from native.gallery import Gallery as NativeGallery

log = logging.getLogger(__name__)
#: Gallery rows whose stored form (bit cylinders and minutiae, ``native.forms.stored_form``) the kit recomputes from the
#: voter's own template at load and compares bit for bit: catches a CEC build that shifted rows against the voters
#: (the signature only proves the CEC sent it). About 10 ms each.
GALLERY_SPOT_CHECKS = 12


@dataclass(frozen=True)
class Biometrics:
    """A voter's photo and templates in memory (never written back in clear)."""

    photo: bytes
    templates: dict[int, bytes]


def unseal_biometrics(
    list_key: bytes, election_id: str, station_id: str, personal_number: str, nonce: bytes, sealed: bytes
) -> Biometrics:
    """Open one voter's sealed blob; a wrong key or altered blob is refused."""
    try:
        plain = AESGCM(list_key).decrypt(nonce, sealed, seal_aad(election_id, station_id, personal_number))
    except InvalidTag as exc:
        raise ListPackageError(
            "the list key does not open this list's biometric data: load the key delivered with this list"
        ) from exc
    body = json.loads(plain)
    return Biometrics(
        photo=base64.b64decode(body["photo"]),
        templates={int(k): base64.b64decode(v) for k, v in body["templates"].items()},
    )


def load_package(store: KitStore, data: bytes, cec_public: Ed25519PublicKey, list_key: bytes) -> int:
    """Verify, check election and station, open every sealed blob, then replace the list in one transaction.

    Every check runs before the store is touched, and the replacement is one transaction: a refused or interrupted
    load leaves the previous list exactly as it was.
    """
    info = store.kit_info()
    contents = open_package(data, cec_public)
    header = contents.header
    if header["election"] != info.election_id:
        raise ListPackageError(
            f"this list is for election {header['election']} but the kit is set up for {info.election_id}: "
            "load the list of the current election"
        )
    if header["station"] != info.station_id:
        raise ListPackageError(
            f"this list is for station {header['station']} but the kit is set up for station {info.station_id}"
        )
    voters: list[Voter] = []
    sealed_rows: list[VoterBiometrics] = []
    templates: dict[tuple[str, int], bytes] = {}
    try:
        for row in contents.voters:
            blob = base64.b64decode(row["sealed"])
            nonce, sealed = blob[:NONCE_BYTES], blob[NONCE_BYTES:]
            bio = unseal_biometrics(list_key, info.election_id, info.station_id, row["personal_number"], nonce, sealed)
            templates.update(((row["personal_number"], f), t) for f, t in bio.templates.items())
            voters.append(
                Voter(
                    personal_number=row["personal_number"],
                    list_number=int(row["list_number"]),
                    surname=row["surname"],
                    given_name=row["given_name"],
                    patronymic=row["patronymic"],
                    sex=row["sex"],
                    birth_date=date.fromisoformat(row["birth_date"]),
                    address=row["address"],
                    home_voting=bool(row["home_voting"]),
                    finger_count=int(row["fingers"]),
                )
            )
            sealed_rows.append(VoterBiometrics(personal_number=row["personal_number"], nonce=nonce, sealed=sealed))
    except (KeyError, ValueError) as exc:
        raise ListPackageError(f"a voter entry of the package is malformed: {exc}") from exc
    if len(voters) != header["voters"]:
        raise ListPackageError("the package's voter count does not match its header")
    search = checked_gallery(contents, info.election_id, info.station_id, list_key, templates)
    when = datetime.now(UTC)
    key = store.signing_key()
    with store.transaction() as session:
        try:
            refuse_if_voting_started(session)
        except VoterListError as exc:
            raise ListPackageError(str(exc)) from exc
        session.execute(delete(VoterBiometrics))
        session.execute(delete(SearchGallery))
        session.execute(delete(NationalIndexEntry))
        session.execute(delete(Voter))
        session.add_all(voters)
        session.flush()
        session.add_all(sealed_rows)
        if search is not None:
            session.add(search)
        session.add_all(
            NationalIndexEntry(pin_hash=h, station_id=v[0], address=v[1]) for h, v in contents.national_index.items()
        )
        kit = session.get(KitInfo, 1)
        assert kit is not None
        kit.list_digest = contents.digest
        audit.append(
            session,
            key,
            "list_loaded",
            {"digest": contents.digest, "voters": len(voters), "built_at": header["built_at"],
             "packed_gallery": search is not None},
            when,
        )
    return len(voters)


def _refuse_gallery(why: str) -> ListPackageError:
    return ListPackageError(
        f"the list package's 1:N gallery {why}: the package is damaged or inconsistent; do not load it, the previous "
        "list stays, ask the CEC for a new package"
    )


def checked_gallery(
    contents: PackageContents, election_id: str, station_id: str, list_key: bytes,
    templates: dict[tuple[str, int], bytes],
) -> SearchGallery | None:
    """The package's packed gallery as a store row after checking it against its voters, or None to build at start.

    ``templates`` holds every enrolled template of the package by (personal number, finger). A gallery this kit can
    read is opened (``native.Gallery.from_bytes``: header, sizes, CRC), its row map must list exactly those
    (voter, finger) pairs, and :data:`GALLERY_SPOT_CHECKS` rows must equal the stored form of their template (bit
    cylinders and every minutia); any failure refuses the whole package. A gallery in another format or built with
    other matcher parameters cannot be checked here nor used: it is dropped with a log line, and the kit builds its
    gallery from the templates.
    """
    entry = contents.gallery
    if entry is None:
        log.info("list package format %s carries no packed 1:N gallery: the kit will build it from the templates "
                 "at start", contents.header.get("format"))
        return None
    try:
        version, parameters, rows = int(entry["format"]), str(entry["parameters"]), int(entry["templates"])
        blob = base64.b64decode(entry["sealed"], validate=True)
    except (KeyError, TypeError, ValueError) as exc:
        raise _refuse_gallery(f"entry is malformed ({exc})") from exc
    if rows != len(templates):
        raise _refuse_gallery(f"has {rows} rows but the voters carry {len(templates)} templates")
    try:
        plain = AESGCM(list_key).decrypt(blob[:NONCE_BYTES], blob[NONCE_BYTES:], gallery_aad(election_id, station_id))
    except (InvalidTag, ValueError) as exc:
        raise _refuse_gallery("does not open with the list key") from exc
    try:
        from native.gallery import FORMAT_VERSION as GALLERY_FORMAT
        from native.gallery import Gallery, parameter_digest
    except ImportError:
        log.warning("the native matching core is not built: the package's packed gallery is not used")
        return None
    if version != GALLERY_FORMAT or parameters != parameter_digest().hex():
        log.warning(
            "the package's packed gallery is in format %s (parameters %s) but this kit reads format %s (parameters "
            "%s): it is not used, the kit will build its 1:N gallery from the templates at start",
            version, parameters[:8], GALLERY_FORMAT, parameter_digest().hex()[:8],
        )
        return None
    from native.errors import GalleryError

    try:
        gallery = Gallery.from_bytes(plain)
    except GalleryError as exc:
        raise _refuse_gallery(f"is damaged ({exc})") from exc
    mapped = [gallery.row(i) for i in range(len(gallery))]
    if sorted(mapped) != sorted(templates):
        raise _refuse_gallery("does not list the same voters and fingers as the voter list")
    _spot_check(gallery, mapped, templates, contents.digest)
    return SearchGallery(id=1, format=version, parameters=parameters, templates=rows, list_digest=contents.digest,
                         nonce=blob[:NONCE_BYTES], sealed=blob[NONCE_BYTES:])


def _spot_check(gallery: NativeGallery, mapped: list[tuple[str, int]], templates: dict[tuple[str, int], bytes],
                seed: str) -> None:
    import numpy as np

    from fingerprint import TemplateError, loads
    from native.errors import NativeError
    from native.forms import extra_minutiae, stored_form

    # Rows picked from the package digest: reproducible for one package, spread over the whole gallery.
    picks = random.Random(seed).sample(range(len(mapped)), min(GALLERY_SPOT_CHECKS, len(mapped)))
    for i in picks:
        try:
            expected = stored_form(loads(templates[mapped[i]]))
        except (TemplateError, NativeError) as exc:
            raise _refuse_gallery(f"row {i} belongs to an unreadable template ({exc})") from exc
        got = gallery.template_cylinders(i)
        bits = expected.bits
        same = len(got) == len(bits) and all(
            np.array_equal(getattr(got, name), getattr(bits, name)) for name in ("x", "y", "angle", "cells", "valid")
        )
        # The minutiae too: identify() gives its best candidates the float reference's score from every stored
        # minutia (the cylinders' own, then the extras without a cylinder), so a wrong extra changes the score.
        if same:
            extra = extra_minutiae(expected)
            want = (np.concatenate([bits.x, extra[0]]), np.concatenate([bits.y, extra[1]]),
                    np.concatenate([bits.angle, extra[2]]))
            same = all(np.array_equal(g, w) for g, w in zip(gallery.template_minutiae(i), want, strict=True))
        if not same:
            raise _refuse_gallery(
                f"row {i} ({mapped[i][0]} finger {mapped[i][1]}) is not that voter's template (or the CEC built it "
                "with other cylinder code than this kit's: a package built with --no-gallery avoids that)"
            )
