"""The station's biometric data in memory: opened from the store with the list key, never written back in clear.

The 1:N search form comes from the station list package when it carries one (``native.Gallery`` bytes, sealed):
opening it costs milliseconds, where building it from 30,000 templates costs a minute or more at every start. The
kit builds it from the templates instead when the package predates packed galleries, when the packed one is in a
format or built with matcher parameters this software does not read (after a kit upgrade, say), or when the matcher
is the pure-Python reference; each case says so in the log.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import func, select

from station.errors import ListPackageError
from station.list_package.format import gallery_aad
from station.list_package.load import Biometrics, unseal_biometrics
from station.matching import Matcher, NativeMatcher
from station.store import KitStore, SearchGallery, Voter, VoterBiometrics

if TYPE_CHECKING:
    import native

log = logging.getLogger(__name__)
_EMPTY = Biometrics(photo=b"", templates={})


class Gallery:
    """Opens voters' sealed photos and templates on demand (1:1) or all at once (for the 1:N search form)."""

    def __init__(self, store: KitStore, list_key: bytes | None) -> None:
        self.store = store
        self.list_key = list_key
        info = store.kit_info()
        self._election, self._station = info.election_id, info.station_id
        #: How the matcher's 1:N form was last prepared: ``packed`` (from the package) or ``built``, and seconds.
        self.search_source = ""
        self.search_prepare_s = 0.0

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

    def packed(self) -> native.Gallery | None:
        """The package's packed 1:N gallery, opened, or None (with the reason in the log) when it cannot be used."""
        if self.list_key is None:
            return None
        info = self.store.kit_info()
        with self.store.transaction() as session:
            row = session.get(SearchGallery, 1)
            enrolled = int(session.scalar(select(func.coalesce(func.sum(Voter.finger_count), 0))) or 0)
            if row is not None:
                session.expunge(row)
        if row is None:
            log.info("no packed 1:N gallery in the store (the list package predates it): building it from the templates")
            return None
        if row.list_digest != info.list_digest or row.templates != enrolled:
            log.warning("the stored packed gallery belongs to another list (%d rows, %d templates enrolled): "
                        "building it from the templates", row.templates, enrolled)
            return None
        try:
            from native.errors import GalleryError
            from native.gallery import FORMAT_VERSION, parameter_digest
            from native.gallery import Gallery as NativeGallery
        except ImportError as exc:
            log.warning("native matching core unavailable (%s): the packed gallery is not used", exc)
            return None
        if row.format != FORMAT_VERSION or row.parameters != parameter_digest().hex():
            log.warning(
                "the packed gallery is in format %s (parameters %s), this kit reads format %s (parameters %s): "
                "building it from the templates (about a minute per 30,000)",
                row.format, row.parameters[:8], FORMAT_VERSION, parameter_digest().hex()[:8],
            )
            return None
        try:
            plain = AESGCM(self.list_key).decrypt(row.nonce, row.sealed, gallery_aad(self._election, self._station))
        except InvalidTag as exc:
            raise ListPackageError(
                "the list key does not open this list's biometric data: load the key delivered with this list"
            ) from exc
        try:
            return NativeGallery.from_bytes(plain)
        except GalleryError as exc:
            # It was checked at load: damage since then is the store's; the templates still give a correct gallery.
            log.error("the stored packed gallery is damaged (%s): building it from the templates", exc)
            return None

    def prepare(self, matcher: Matcher) -> str:
        """Give ``matcher`` its 1:N search form: the packed gallery when usable, else built from the templates.

        Returns ``packed`` or ``built`` (also kept in :attr:`search_source`, the seconds in :attr:`search_prepare_s`).
        """
        started = time.perf_counter()
        packed = self.packed() if isinstance(matcher, NativeMatcher) else None
        if packed is not None:
            assert isinstance(matcher, NativeMatcher)
            matcher.use_gallery(packed)
            self.search_source = "packed"
        else:
            matcher.load_gallery(self.all_templates())
            self.search_source = "built"
        self.search_prepare_s = time.perf_counter() - started
        log.info("1:N gallery %s in %.3f s", "opened from the list package" if packed is not None else
                 "built from the templates", self.search_prepare_s)
        return self.search_source
