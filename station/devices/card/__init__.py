"""The ID-card reader: ICAO 9303 eMRTD chips through PC/SC (pyscard), BAC, secure messaging, passive authentication.

Public face: :class:`CardReader` (a device with a reader thread and card events), :func:`read_document` (one read
over any APDU transport), MRZ entry (:func:`parse_mrz`, :func:`mrz_from_fields`), :class:`TrustStore` (CSCA list)
and the :class:`CardError` family. Importing this package registers the ``pcsc://`` and ``emulated://emrtd`` device
URLs (``pcsc://Virtual PCD 00 00?profile=vpcd&csca=/path/to/folder``).
"""

from __future__ import annotations

from pathlib import Path

from shailoo.settings import csca_dir
from station.devices.card.emrtd import CardRead, read_document
from station.devices.card.errors import (
    CardAuthError,
    CardError,
    CardRemovedError,
    MrzError,
    NoCardError,
    NoReaderError,
    PassiveAuthError,
)
from station.devices.card.mrz import Mrz, mrz_from_fields, parse_mrz
from station.devices.card.passive_auth import PassiveAuthResult, TrustStore
from station.devices.card.profile import ReaderProfile, load_reader_profile, profile_for_reader
from station.devices.card.reader import (
    CardEvent,
    CardInserted,
    CardReadDone,
    CardReader,
    CardReadFailed,
    CardRemoved,
)
from station.devices.device import Device
from station.devices.urls import DeviceUrl, register_emulated, register_scheme


def _open_pcsc(url: DeviceUrl) -> Device:
    profile = (
        load_reader_profile(url.params["profile"])
        if "profile" in url.params
        else profile_for_reader(url.target)
    )
    trust = TrustStore.from_folder(Path(url.params["csca"]) if "csca" in url.params else csca_dir())
    reader = CardReader(url.target, profile, trust)
    reader.open()
    return reader


def _open_emulated(url: DeviceUrl) -> Device:
    from emulators.card.kit import EmulatedCardStation

    station = EmulatedCardStation(slot=int(url.params.get("slot", "0")))
    reader = CardReader(station.reader, load_reader_profile("vpcd"), TrustStore([station.pki.csca_cert]))
    reader.attach_emulator(station)
    try:
        reader.open()
    except CardError:
        station.stop()
        raise
    return reader


register_scheme("pcsc", _open_pcsc)
register_emulated("emrtd", _open_emulated)

__all__ = [
    "CardAuthError",
    "CardError",
    "CardEvent",
    "CardInserted",
    "CardRead",
    "CardReadDone",
    "CardReadFailed",
    "CardReader",
    "CardRemoved",
    "CardRemovedError",
    "Mrz",
    "MrzError",
    "NoCardError",
    "NoReaderError",
    "PassiveAuthError",
    "PassiveAuthResult",
    "ReaderProfile",
    "TrustStore",
    "load_reader_profile",
    "mrz_from_fields",
    "parse_mrz",
    "read_document",
]
