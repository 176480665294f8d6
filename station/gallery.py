"""The station's biometric data in memory: opened from the store with the list key, never written back in clear."""

from __future__ import annotations

from sqlalchemy import select

from station.list_package.load import Biometrics, unseal_biometrics
from station.store import KitStore, VoterBiometrics

_EMPTY = Biometrics(photo=b"", templates={})


class Gallery:
    """Opens voters' sealed photos and templates on demand (1:1) or all at once (for the 1:N search form)."""

    def __init__(self, store: KitStore, list_key: bytes | None) -> None:
        self.store = store
        self.list_key = list_key
        info = store.kit_info()
        self._election, self._station = info.election_id, info.station_id

    def biometrics(self, personal_number: str) -> Biometrics:
        """One voter's photo and templates (empty when none were enrolled or no list key is loaded)."""
        if self.list_key is None:
            return _EMPTY
        with self.store.transaction() as session:
            row = session.get(VoterBiometrics, personal_number)
            if row is None:
                return _EMPTY
            nonce, sealed = row.nonce, row.sealed
        return unseal_biometrics(self.list_key, self._election, self._station, personal_number, nonce, sealed)

    def all_templates(self) -> dict[str, dict[int, bytes]]:
        """Every voter's templates (for the 1:N search form)."""
        if self.list_key is None:
            return {}
        with self.store.transaction() as session:
            rows = [(r.personal_number, r.nonce, r.sealed) for r in session.scalars(select(VoterBiometrics))]
        out = {}
        for pin, nonce, sealed in rows:
            templates = unseal_biometrics(self.list_key, self._election, self._station, pin, nonce, sealed).templates
            if templates:
                out[pin] = templates
        return out
