"""Loading a verified package into the kit's store (``shailoo station load``), and opening sealed biometrics."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from datetime import UTC, date, datetime

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import delete

from station import audit
from station.errors import ListPackageError, VoterListError
from station.list_package.build import NONCE_BYTES
from station.list_package.format import open_package, seal_aad
from station.store import KitInfo, KitStore, NationalIndexEntry, Voter, VoterBiometrics
from station.voter_list import refuse_if_voting_started


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
    try:
        for row in contents.voters:
            blob = base64.b64decode(row["sealed"])
            nonce, sealed = blob[:NONCE_BYTES], blob[NONCE_BYTES:]
            unseal_biometrics(list_key, info.election_id, info.station_id, row["personal_number"], nonce, sealed)
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
    when = datetime.now(UTC)
    key = store.signing_key()
    with store.transaction() as session:
        try:
            refuse_if_voting_started(session)
        except VoterListError as exc:
            raise ListPackageError(str(exc)) from exc
        session.execute(delete(VoterBiometrics))
        session.execute(delete(NationalIndexEntry))
        session.execute(delete(Voter))
        session.add_all(voters)
        session.flush()
        session.add_all(sealed_rows)
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
            {"digest": contents.digest, "voters": len(voters), "built_at": header["built_at"]},
            when,
        )
    return len(voters)
